"""feedpub: dated plain-text articles to valid, stable feeds."""

__version__ = "0.1.0"
