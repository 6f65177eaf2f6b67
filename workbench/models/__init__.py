"""Detection models behind one interface: fit, score (higher = more suspicious, in [0, 1]),
predict at a threshold. More detectors, packages and stream scoring follow (issue 6)."""
