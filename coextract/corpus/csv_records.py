"""CSV rows with the line each starts on, where one stray quote cannot swallow the rest of the file.

A quoted CSV field may hold newlines, so a quote that is never closed makes a
plain CSV reader take every following line as part of one field. Here each
record may span at most `MAX_RECORD_LINES` lines and `MAX_RECORD_CHARS`
characters, and may not reach the end of the file inside quotes (the reader is
strict); a record that breaks a rule becomes an error naming the line where it
started, and reading goes on from the line after it.
"""

import csv
from collections import deque
from collections.abc import Iterable, Iterator

MAX_RECORD_LINES = 1000  # no review spans this many lines: a record that does holds a stray quote
MAX_RECORD_CHARS = 64 << 20  # characters, likewise


class RecordTooLong(Exception):
    """A record ran over `MAX_RECORD_LINES` or `MAX_RECORD_CHARS`."""


class LineFeed:
    """The lines a csv reader reads, numbered, counted per record, and able to go back."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = enumerate(lines, start=1)
        self.pending: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []  # the lines of the record being read
        self.chars = 0

    def __iter__(self) -> "LineFeed":
        return self

    def __next__(self) -> str:
        if len(self.taken) >= MAX_RECORD_LINES or self.chars > MAX_RECORD_CHARS:
            raise RecordTooLong
        number, line = self.pending.popleft() if self.pending else next(self.lines)
        self.taken.append((number, line))
        self.chars += len(line)
        return line

    def skip_record(self) -> None:
        """Give back every line of the failed record but its first, to be read again."""
        self.pending.extendleft(reversed(self.taken[1:]))
        self.taken, self.chars = [], 0


def csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """(line, fields, None) for each record, or (line, None, what was wrong) for a broken one."""
    feed = LineFeed(lines)
    reader = csv.reader(feed, strict=True)
    while True:
        feed.taken, feed.chars = [], 0
        try:
            row = next(reader)
        except StopIteration:
            return
        except RecordTooLong:
            yield (
                feed.taken[0][0],
                None,
                (
                    f"a record runs over {MAX_RECORD_LINES:,} lines or {MAX_RECORD_CHARS:,} characters "
                    "(a quote opened on this line and never closed?); skipped, reading goes on from the next line"
                ),
            )
        except csv.Error as err:
            closed = "unexpected end of data" not in str(err)
            problem = (
                f"not valid CSV ({err})"
                if closed
                else "a quote opened here is never closed (the file ends inside it)"
            )
            yield feed.taken[0][0], None, f"{problem}; skipped, reading goes on from the next line"
        else:
            yield feed.taken[0][0], row, None
            continue
        feed.skip_record()
        reader = csv.reader(feed, strict=True)  # a fresh reader: the failed one may be mid-field
