"""Detection models behind one interface: fit, score (higher = more suspicious, in [0, 1]),
predict at a threshold; packages, ensembles and stream scoring build on it."""
