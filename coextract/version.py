"""The version of coextract, recorded in every run folder and model folder it writes."""

__version__ = "0.1.0"
