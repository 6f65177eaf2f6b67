"""The fraud scenario library, fraud rings, label delay and evaluation metadata."""
