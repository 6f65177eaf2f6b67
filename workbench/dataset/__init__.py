"""Datasets on disk: the schema, atomic writing, reading, summaries and ground truth."""

from workbench._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "reader": ["Dataset", "format_summary", "open_dataset", "summary", "verify"],
        "schema": ["SCHEMA", "arrow_schema", "markdown"],
        "truth": ["label_frame"],
    },
)
