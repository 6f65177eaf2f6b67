"""Graph fraud-ring analysis: entity graphs from a dataset as of a time window, the
customer projection, three ring-detection families, ground-truth evaluation and
point-in-time graph features."""
