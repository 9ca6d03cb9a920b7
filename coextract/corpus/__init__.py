"""Corpus tagging, `coextract tag`: review files in, one result per record out.

- `readers`: records from .txt, .jsonl, .csv, .parquet, SemEval .xml or stdin, bad ones as errors.
- `writers`: the output schema (JSON record, CSV columns, parquet schema) and the
  resumable output files.
- `workers`: worker processes that each hold a tagger, and an ordered pool over them.
- `engine`: the tagging loop both engines run, and the local engine (`tag_files`).
- `dask_engine`: the Dask engine, one task per input file (`pip install 'coextract[dask]'`).
"""
