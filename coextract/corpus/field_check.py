"""Named fields that no record has: a mistyped `--text-field` or `--id-field` is an error, not a file of errors.

Without this, a typo in `--id-field` gave every record a null id with exit
status 0, and a typo in `--text-field` made every JSONL line an error record.
A field that none of a file's first `RECORDS_CHECKED` objects has stops the
run with a message listing the fields they do have.
"""

from collections.abc import Iterable

from coextract.errors import CoextractError

RECORDS_CHECKED = 100


class FieldCheck:
    """Watches the first objects of one file for the fields the run reads."""

    def __init__(self, path: str, text_field: str, id_field: str | None) -> None:
        self.path = path
        self.wanted = {"--text-field": text_field, **({"--id-field": id_field} if id_field else {})}
        self.seen: dict[str, None] = {}  # field names, in the order first seen
        self.checked = 0

    def add(self, obj: object) -> None:
        """Note an object's fields; after RECORDS_CHECKED objects, fail if a wanted field never appeared."""
        if self.checked >= RECORDS_CHECKED or not isinstance(obj, dict):
            return
        self.seen.update(dict.fromkeys(map(str, obj)))
        self.checked += 1
        if self.checked == RECORDS_CHECKED:
            self.finish()

    def finish(self) -> None:
        """At the end of the file (or of the objects checked): fail if a wanted field never appeared."""
        if self.checked:
            check_names(
                self.path, self.wanted, self.seen, f"none of the first {self.checked} records has a field"
            )


def check_names(path: str, wanted: dict[str, str], found: Iterable[str], missing: str) -> None:
    """Fail, naming the flag, if a wanted field is not among `found`."""
    found = list(found)
    for flag, name in wanted.items():
        if name not in found:
            listed = ", ".join(map(repr, found[:20])) + (", ..." if len(found) > 20 else "")
            raise CoextractError(f"{path}: {missing} {name!r} ({flag}); found: {listed or 'none'}")
