"""coextract: joint aspect and opinion term extraction with CMLA.

The public API is small: `load` a tagger, call it (or its `pipe`) on reviews, and
read `Extraction`s made of `Span`s. Importing coextract never imports torch.
"""

__version__ = "0.1.0"

from coextract.runtime import Extraction, Span, Tagger, load  # noqa: E402

__all__ = ["Extraction", "Span", "Tagger", "load", "__version__"]
