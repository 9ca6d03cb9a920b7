"""coextract: joint aspect and opinion term extraction with CMLA."""

__version__ = "0.1.0"
