"""The version of the package (one place: the dataset card and the wheel read it)."""

__version__ = "0.1.0"
