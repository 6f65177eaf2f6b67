"""Detection models behind one interface: fit, score (higher = more suspicious, in [0, 1]),
predict at a threshold; packages, ensembles and stream scoring build on it. The Keras
detectors need the ``deep`` extra and import TensorFlow only when first used."""

from workbench._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "base": ["Detector"],
        "data": ["feature_columns", "labels", "model_frame", "standard_split"],
        "isolation_forest": ["IsolationForestDetector"],
        "supervised": ["SupervisedDetector"],
        "autoencoder": ["AutoencoderDetector"],
        "feedforward": ["FeedForwardDetector"],
        "sequence": ["SequenceDetector"],
        "ensemble": ["Stacker", "weighted_average"],
        "package": ["load_package", "read_manifest", "save_package"],
        "scores": ["write_scores"],
        "search": ["grid_search"],
        "stream": ["replay", "stream_model"],
    },
)
