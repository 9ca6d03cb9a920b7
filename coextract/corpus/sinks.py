"""Where `coextract tag` writes: files that are never half-written and survive a crash, or stdout.

Crash safety (`ResumableOutput`): output goes to `OUT.partial`; after every chunk
is written and flushed to disk, `OUT.partial.state` records how many input
records and bytes are done (written atomically), and the run's identity
(`identity`). On resume the partial file is truncated to the last recorded size
and that many input records are skipped, so every record appears exactly once,
whatever killed the run (Ctrl-C, SIGTERM, kill -9). The finished file is
renamed into place at the end: `OUT` never looks complete when it is not.
"""

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from coextract.corpus.identity import changes
from coextract.corpus.writers import CONVERTERS
from coextract.errors import CoextractError


def write_atomically(path: Path, text: str) -> None:
    """Write `text` beside `path`, then rename: the file is there whole or not at all."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class ResumableOutput:
    """Appends chunks to OUT.partial, records progress after each, renames to OUT when done.

    `identity` (`identity.run_identity`) is recorded in the state file; resuming
    a run whose identity differs is refused, naming what changed.
    """

    def __init__(self, path: Path, resume: bool, overwrite: bool, identity: dict) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.state_path = path.with_name(path.name + ".partial.state")
        self.identity = identity
        if path.exists() and not (overwrite or resume):
            raise CoextractError(
                f"{path} exists; pass --overwrite to replace it or --resume to continue a run"
            )
        self.done, self.errors, size = 0, 0, 0
        if resume and self.state_path.exists():
            self.done, self.errors, size = self.resumed_state()
        elif resume and path.exists():
            raise CoextractError(f"{path} is already complete; nothing to resume")
        try:
            self.file = open(self.partial, "r+b" if size else "wb")  # noqa: SIM115 (closed in finish/close)
        except OSError as err:
            raise CoextractError(f"{self.partial}: cannot be written ({err.strerror})") from None
        self.file.truncate(size)
        self.file.seek(size)

    def resumed_state(self) -> tuple[int, int, int]:
        """Records, errors and bytes done by the interrupted run, if it is this run."""
        try:
            state = json.loads(self.state_path.read_text())
            before = state["identity"]
        except (OSError, ValueError, KeyError):
            raise CoextractError(
                f"{self.state_path}: not a state file this version can check; start again with --overwrite"
            ) from None
        if found := changes(before, self.identity):
            raise CoextractError(
                f"--resume refused: this is not the run that was interrupted ({'; '.join(found)}); "
                "rerun it exactly as it was, or start again with --overwrite"
            )
        return state["records"], state["errors"], state["bytes"]

    def write(self, lines: Sequence[str], n_records: int, n_errors: int) -> None:
        self.file.write("".join(lines).encode("utf-8"))
        self.file.flush()
        os.fsync(self.file.fileno())
        self.done += n_records
        self.errors += n_errors
        state = {
            "identity": self.identity,
            "records": self.done,
            "errors": self.errors,
            "bytes": self.file.tell(),
        }
        write_atomically(self.state_path, json.dumps(state))

    def finish(self, output_format: str = "jsonl") -> None:
        """Move the complete output into place, converted from JSON Lines if asked."""
        self.file.close()
        if output_format == "jsonl":
            os.replace(self.partial, self.path)
        else:
            converted = self.path.with_name(self.path.name + ".converting")
            CONVERTERS[output_format](self.partial, converted)
            os.replace(converted, self.path)
            self.partial.unlink()
        self.state_path.unlink(missing_ok=True)

    def close(self) -> None:
        self.file.close()

    def discard_if_empty(self) -> None:
        """Remove the partial output of a run that stopped before writing a record (nothing to resume)."""
        if self.done == 0:
            self.discard()

    def discard(self) -> None:
        """Remove the partial output and its state: for a run that no resume could finish."""
        self.file.close()
        self.partial.unlink(missing_ok=True)
        self.state_path.unlink(missing_ok=True)


class StdoutOutput:
    """Output to standard output: streamed, not resumable."""

    done = errors = 0

    def write(self, lines: Sequence[str], n_records: int, n_errors: int) -> None:
        sys.stdout.write("".join(lines))
        sys.stdout.flush()

    def finish(self, output_format: str = "jsonl") -> None:
        pass

    def close(self) -> None:
        pass

    def discard_if_empty(self) -> None:
        pass

    def discard(self) -> None:
        pass


def open_output(output: str, resume: bool, overwrite: bool, identity: dict):
    """Standard output for `-`, else a resumable output file."""
    return StdoutOutput() if output == "-" else ResumableOutput(Path(output), resume, overwrite, identity)
