"""fraud-workbench: a notebook-first research workbench for financial fraud."""

__version__ = "0.1.0"
