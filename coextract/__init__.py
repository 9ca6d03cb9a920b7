"""coextract: joint aspect and opinion term extraction with CMLA.

The public API is small: `load` a tagger, call it (or its `pipe`) on reviews, and
read `Extraction`s made of `Span`s; `summarize` them into one `Summary` of a corpus. Importing coextract never imports torch.

The package has three products, one sub-package each, and data flows one way
between them: `runtime` (torch-free tagging) <- `corpus` (`coextract tag` over
files, locally or on Dask) and `evaluation` (benchmarks and metrics) <-
`training` (torch: the model, training, export). `cli` drives them all.
"""

from coextract.runtime.spans import Extraction, Span
from coextract.runtime.tagger import Tagger, load
from coextract.summary import Summary, summarize
from coextract.version import __version__

__all__ = ["Extraction", "Span", "Summary", "Tagger", "load", "summarize", "__version__"]
