"""Everything a run can get wrong before it tags, checked before it writes anything.

A run that cannot be trusted refuses to start, with one line saying what to do,
and leaves no `OUT.partial` behind: a missing or unreadable input, an unknown
format, a CSV header or parquet table without the named fields, a mistyped
field name (`field_check`), an output that is a folder, sits in a missing or
unwritable folder, or is one of the inputs, standard input named twice, or a
negative number of workers.
"""

import os
from collections.abc import Sequence
from contextlib import closing
from itertools import islice
from pathlib import Path

from coextract.corpus.field_check import RECORDS_CHECKED
from coextract.corpus.readers import read_records
from coextract.errors import CoextractError


def check_inputs(
    paths: Sequence[str], text_field: str, id_field: str | None, input_format: str | None
) -> None:
    """Read the first records of every input file now (standard input is checked as it is read)."""
    if list(paths).count("-") > 1:
        raise CoextractError("standard input ('-') is named more than once; it can be read only once")
    for path in paths:
        if path == "-":
            continue
        if Path(path).is_dir():
            raise CoextractError(f"{path}: is a folder, not a file of reviews")
        with closing(read_records(path, text_field, id_field, input_format)) as records:
            for _ in islice(records, RECORDS_CHECKED + 1):
                pass


def check_output_file(output: str, inputs: Sequence[str]) -> None:
    """An output file that can be written, in a folder that exists, and that is not an input."""
    if output == "-":
        return
    path = Path(output)
    if path.is_dir():
        raise CoextractError(
            f"{output} is a folder; --output names the file to write (a folder only with --engine dask)"
        )
    check_folder(path.parent)
    if path.exists() and any(p != "-" and Path(p).exists() and Path(p).samefile(path) for p in inputs):
        raise CoextractError(f"{output} is also an input; name another output file")


def check_folder(folder: Path) -> None:
    """A folder that exists and that this process may write into."""
    if not folder.is_dir():
        raise CoextractError(f"folder {folder} does not exist; create it first, or name another output")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CoextractError(f"folder {folder} is not writable; name another output")


def check_workers(workers: int | None) -> int:
    """The number of worker processes: `workers`, or all cores for None."""
    if workers is not None and workers < 1:
        raise CoextractError(
            f"--workers {workers}: give a number of processes of 1 or more (default: all cores)"
        )
    return workers or os.cpu_count() or 1
