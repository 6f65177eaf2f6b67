"""Datasets on disk: the schema, atomic writing, reading and summaries."""
