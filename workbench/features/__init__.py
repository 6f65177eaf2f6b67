"""Point-in-time features, leakage-free splits and sequence datasets."""
