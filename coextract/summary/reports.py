"""A summary's plain forms, from its JSON-ready data (`Summary.to_dict`): JSON, CSV, a DataFrame and a
text table for the terminal. (The HTML page is `html_report`.)"""

import csv
import io
import json

from coextract.summary.counts import SENTIMENTS

COLUMNS = (
    "name",
    "mentions",
    "reviews",
    *SENTIMENTS,
    *(f"{s}_share" for s in SENTIMENTS),
    "net_score",
    "net_low",
    "net_high",
    "opinions",
    "forms",
)


def json_text(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def group_row(group: dict) -> dict:
    """A group as one flat row of `COLUMNS`: the net interval split in two, opinions and forms as
    JSON objects ({term: count}, most frequent first)."""
    low, high = group["net_interval"] or (None, None)
    return {
        "name": group["name"],
        "mentions": group["mentions"],
        "reviews": group["reviews"],
        **group["sentiments"],
        **{f"{s}_share": group["shares"][s] for s in SENTIMENTS},
        "net_score": group["net_score"],
        "net_low": low,
        "net_high": high,
        "opinions": json.dumps(group["opinions"], ensure_ascii=False),
        "forms": json.dumps(group["forms"], ensure_ascii=False),
    }


def csv_text(data: dict) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(group_row(group) for group in data["groups"])
    return out.getvalue()


def data_frame(data: dict):
    import pandas as pd

    return pd.DataFrame([group_row(group) for group in data["groups"]], columns=list(COLUMNS))


def signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.2f}"


def printable(text: str, width: int) -> str:
    """`text` cut to `width` characters with control characters shown as '?': a review's words must
    not move a terminal's cursor or change its colours."""
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return clean if len(clean) <= width else clean[: width - 1] + "…"


def text_table(data: dict) -> str:
    header = f"{'aspect':<24} {'mentions':>8} {'reviews':>7} {'pos':>5} {'neg':>5} {'neu':>5} {'none':>5} {'net [95% CI]':>20}  opinions"
    lines = [
        f"{data['records']} records ({data['errors']} with errors), {data['mentions']} aspect mentions "
        f"in {data['aspect_groups']} groups; the {len(data['groups'])} most mentioned:",
        header,
    ]
    for g in data["groups"]:
        s = g["sentiments"]
        net = (
            f"{signed(g['net_score'])} [{signed(g['net_interval'][0])}, {signed(g['net_interval'][1])}]"
            if g["net_interval"]
            else ""
        )
        opinions = ", ".join(f"{term} ({n})" for term, n in list(g["opinions"].items())[:4])
        lines.append(
            f"{printable(g['name'], 24):<24} {g['mentions']:>8} {g['reviews']:>7} {s['positive']:>5} {s['negative']:>5} "
            f"{s['neutral']:>5} {s['none']:>5} {net:>20}  {printable(opinions, 60)}"
        )
    return "\n".join(lines) + "\n"
