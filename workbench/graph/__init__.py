"""Graph fraud-ring analysis: entity graphs from a dataset as of a time window, the
customer projection, three ring-detection families, ground-truth evaluation and
point-in-time graph features."""

from workbench._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "source": ["GraphSource", "graph_source"],
        "detect": ["RingConfig", "describe_evidence", "detect_rings"],
        "entity": ["degree_table", "entity_graph", "transfer_graph"],
        "_ring_metrics": [
            "best_matches",
            "fraud_customers",
            "planted_rings",
            "recall_by_size",
            "ring_metrics",
        ],
        "graph_features": ["GRAPH_FEATURES", "transaction_graph_features", "write_graph_features"],
        "sweep": ["ring_sweep"],
        "draw": ["NODE_COLOURS", "draw_ring"],
    },
)
