"""The records a summary counts: `coextract tag`'s output read back (`corpus.tagged`), with each review's
text taken, where the output lacks it, from the files that were tagged (`--source`).

`tag` writes one record per input record, in input order, so the two streams
are walked side by side; an id that differs, or one stream ending first, means
the source is not what was tagged, and that is an error, not a guess.
"""

from collections.abc import Iterator, Sequence
from dataclasses import replace
from itertools import chain, zip_longest

from coextract.corpus.readers import read_records
from coextract.corpus.tagged import TaggedRecord, read_tagged
from coextract.errors import CoextractError


def with_source_text(
    tagged: Iterator[TaggedRecord],
    sources: Sequence[str],
    text_field: str = "text",
    id_field: str | None = None,
    input_format: str | None = None,
) -> Iterator[TaggedRecord]:
    """`tagged`, each good record given the text of the source record it was tagged from."""
    source_records = chain.from_iterable(read_records(p, text_field, id_field, input_format) for p in sources)
    for item, source in zip_longest(tagged, source_records):
        if item is None or source is None:
            shorter = "tagged output" if item is None else "source"
            raise CoextractError(
                f"--source has {'more' if item is None else 'fewer'} records than the tagged output "
                f"(the {shorter} ended first): not the files that were tagged"
            )
        if item.record is None:
            yield item
            continue
        if str(item.record.get("id")) != str(source.id):
            raise CoextractError(
                f"{item.source}:{item.line}: id {item.record.get('id')!r}, but record {source.source}:"
                f"{source.line} of --source has id {source.id!r}: not the files that were tagged "
                "(or not read with the same --text-field, --id-field, --input-format)"
            )
        yield replace(item, record={**item.record, "text": source.text})


def tagged_records(
    inputs: Sequence[str],
    sources: Sequence[str] = (),
    text_field: str = "text",
    id_field: str | None = None,
    input_format: str | None = None,
) -> Iterator[TaggedRecord]:
    """What `tag` wrote to `inputs`, in order, with texts from `sources` when given."""
    records = read_tagged(inputs)
    return with_source_text(records, sources, text_field, id_field, input_format) if sources else records
