"""The Dask engine's public Python API, at the path the README gives: `from coextract.distributed import tag_dataframe`.

The engine itself is `coextract.corpus.dask_engine` and `coextract.corpus.dask_parts`.
"""

from coextract.corpus.dask_engine import tag_dataframe
from coextract.corpus.dask_parts import tag_files_on_dask

__all__ = ["tag_dataframe", "tag_files_on_dask"]
