"""`coextract summarize`: a tagged corpus on one page, which aspects people mention and how they judge them.

- `aspect_names`: one group per aspect (spaCy's lemmatizer; the user's synonyms).
- `counts`: what is counted per group; the Wilson interval of the net score; examples.
- `corpus_summary`: `Summary` (add, merge, its forms) and `summarize`, the Python API.
- `inputs`: `coextract tag`'s output read back, with texts from the tagged files (`--source`).
- `reports`, `html_report`: JSON, CSV, DataFrame, text table; the self-contained HTML page.
"""

from coextract.summary.corpus_summary import Summary, summarize, summarize_dataframe

__all__ = ["Summary", "summarize", "summarize_dataframe"]
