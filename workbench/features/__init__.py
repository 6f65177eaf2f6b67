"""Point-in-time features, leakage-free splits and sequence datasets."""

from workbench._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "store": [
            "Source",
            "compute_features",
            "dataset_source",
            "table_source",
            "write_features",
        ],
        "catalogue": [
            "Feature",
            "all_features",
            "catalogue_frame",
            "register_feature",
            "unregister_feature",
        ],
        "consistency": ["check_registry"],
        "roles": ["column_roles", "feature_columns", "feature_names", "role"],
        "splits": ["Split", "prequential_folds", "time_split", "train_delay_test"],
        "sequences": ["LastRows", "Sequences", "build_sequences", "frame_sequences"],
        "external": ["EXAMPLE_MAPPING", "EXAMPLE_TABLE", "load_mapping"],
        "online": ["ONLINE_FEATURES", "OnlineState", "write_online_features"],
    },
)
