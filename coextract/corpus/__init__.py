"""Corpus tagging, `coextract tag`: review files in, one result per record out.

- `readers`: records from .txt, .jsonl, .csv, .parquet, SemEval .xml or stdin, bad ones as errors.
- `field_check`, `csv_records`: the named fields exist; a stray CSV quote is one error.
- `preflight`: everything a run can get wrong, checked before it writes anything.
- `writers`: the output schema (JSON record, CSV columns, parquet schema).
- `identity`, `sinks`: what makes a run what it is; output files that survive a crash.
- `workers`: worker processes that each hold a tagger, and an ordered pool over them.
- `engine`: the tagging loop both engines run, and the local engine (`tag_files`).
- `dask_engine`: the Dask engine, one task per input file (`pip install 'coextract[dask]'`).
"""
