"""A summary as one self-contained HTML page: a stacked bar chart (inline SVG), a sortable table and
example sentences, from the summary's JSON-ready data (`Summary.to_dict`).

Review text is untrusted: every string that came from a review (aspect names,
forms, opinions, examples, ids) is HTML-escaped where it is written, and the
page's Content-Security-Policy lets only its own script run (by hash) and loads
nothing from anywhere, so a review holding `<script>` or `</style>` shows as text.
"""

import base64
import hashlib
from html import escape

from coextract.summary.counts import SENTIMENTS

COLOURS = {"positive": "#2e7d32", "negative": "#c62828", "neutral": "#9e9e9e", "none": "#cfd8dc"}
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
table{border-collapse:collapse;width:100%}th,td{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:right}
th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}th:first-child,td:first-child,td.opinions{text-align:left}
mark.aspect{background:#fff2a8}mark.opinion{background:#cde7ff}.note{color:#666}
.positive{color:#2e7d32}.negative{color:#c62828}.neutral{color:#757575}.none{color:#90a4ae}
"""
SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th, column) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], rows = Array.from(body.rows);
    var down = th.dataset.order !== "down"; th.dataset.order = down ? "down" : "up";
    rows.sort(function (a, b) {
      var x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
      var c = isNaN(x) || isNaN(y) ? x.localeCompare(y) : x - y;
      return down ? -c : c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
document.body.dataset.ready = "yes";
"""
ROW_HEIGHT, LABEL_WIDTH, BAR_WIDTH = 22, 190, 520


def policy() -> str:
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    return f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"


def chart(groups: list[dict]) -> str:
    """Horizontal bars, one per group, split by sentiment, scaled to the most mentioned."""
    most = max((g["mentions"] for g in groups), default=1)
    height = ROW_HEIGHT * len(groups) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{LABEL_WIDTH + BAR_WIDTH + 60}" '
             f'height="{height}" aria-label="aspects by mentions and sentiment">']  # fmt: skip
    for row, g in enumerate(groups):
        y, x = row * ROW_HEIGHT, LABEL_WIDTH
        name = escape(g["name"] if len(g["name"]) <= 28 else g["name"][:27] + "…")
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{name}</text>')
        for sentiment in SENTIMENTS:
            width = BAR_WIDTH * g["sentiments"][sentiment] / most
            if width:
                parts.append(f'<rect class="bar" x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{ROW_HEIGHT - 6}" '
                             f'fill="{COLOURS[sentiment]}"><title>{sentiment}: {g["sentiments"][sentiment]}</title></rect>')  # fmt: skip
            x += width
        parts.append(f'<text x="{x + 5:.1f}" y="{y + 15}">{g["mentions"]}</text>')
    legend = "".join(
        f'<rect x="{LABEL_WIDTH + 110 * i}" y="{height - 18}" width="12" height="12" fill="{COLOURS[s]}"/>'
        f'<text x="{LABEL_WIDTH + 110 * i + 16}" y="{height - 8}">{s}</text>'
        for i, s in enumerate(SENTIMENTS)
    )
    return "".join(parts) + legend + "</svg>"


def table(groups: list[dict]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("aspect", "mentions", "reviews", *SENTIMENTS, "net score", "95 % interval", "paired opinions"))  # fmt: skip
    rows = []
    for i, g in enumerate(groups):
        net = g["net_score"]
        low, high = g["net_interval"] or (None, None)
        opinions = ", ".join(f"{escape(term)} ({n})" for term, n in list(g["opinions"].items())[:6])
        cells = [
            f'<td data-value="{escape(g["name"])}"><a href="#group-{i}">{escape(g["name"])}</a></td>',
            f'<td data-value="{g["mentions"]}">{g["mentions"]}</td>',
            f'<td data-value="{g["reviews"]}">{g["reviews"]}</td>',
            *(f'<td class="{s}" data-value="{g["shares"][s]:.4f}">{100 * g["shares"][s]:.0f} %</td>' for s in SENTIMENTS),
            f'<td data-value="{-9 if net is None else net:.4f}">{"" if net is None else f"{net:+.2f}"}</td>',
            f'<td data-value="{-9 if low is None else low:.4f}">{"" if low is None else f"[{low:+.2f}, {high:+.2f}]"}</td>',
            f'<td class="opinions" data-value="{len(g["opinions"])}">{opinions}</td>',
        ]  # fmt: skip
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def marked(text: str, marks: list) -> str:
    """`text` escaped, with its aspect and opinion spans in <mark>s (a span overlapping an earlier one is
    left unmarked)."""
    out, at = [], 0
    for start, end, kind in marks:
        if start < at:
            continue
        out += [escape(text[at:start]), f'<mark class="{kind}">{escape(text[start:end])}</mark>']
        at = end
    return "".join(out) + escape(text[at:])


def examples(groups: list[dict]) -> str:
    sections = []
    for i, g in enumerate(groups):
        items = "".join(
            f'<li class="{s}"><b>{s}</b>: {marked(e["text"], e["marks"])}</li>'
            for s in SENTIMENTS
            for e in g["examples"].get(s, [])
        )
        forms = ", ".join(escape(form) for form in list(g["forms"])[:8])
        sections.append(f'<section id="group-{i}"><h3>{escape(g["name"])}</h3><p class="note">written as: {forms}</p>'
                        f'<ul>{items or "<li class=note>no example: no review text</li>"}</ul></section>')  # fmt: skip
    return "".join(sections)


def html_page(data: dict) -> str:
    groups = data["groups"]
    texts = (
        ""
        if data["records_with_text"]
        else '<p class="note">No review text in the input, so no examples: tag with --include-text, or '
        "give summarize --source (the files that were tagged).</p>"
    )
    if data["mentions"] and all(g["sentiments"]["none"] == g["mentions"] for g in groups):
        texts += (
            '<p class="note">No sentiments: the model that tagged these reviews has no sentiment head.</p>'
        )

    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy()}">
<title>coextract summary</title><style>{STYLE}</style></head>
<body><h1>What the reviews say, by aspect</h1>
<p>{data["records"]} records ({data["errors"]} with errors), {data["mentions"]} aspect mentions in
{data["aspect_groups"]} groups; the {len(groups)} most mentioned below. Net score: (positive &minus; negative)
/ (positive + negative) mentions, with the 95 % interval of Wilson's score interval for the positive share.</p>
{texts}<h2>Most mentioned aspects</h2>{chart(groups)}
<h2>All of them</h2><p class="note">Click a column to sort.</p>{table(groups)}
<h2>In the reviewers' words</h2>{examples(groups)}
<script>{SCRIPT}</script></body></html>
"""
