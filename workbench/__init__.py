"""fraud-workbench: a notebook-first research workbench for financial fraud.

The names researchers use are here and in the subpackages' ``__all__`` (simulate, fraud,
dataset, features, graph, models, evaluate); ``workbench.notebook`` holds the notebooks' own
helpers. Everything is imported on first use, so ``import workbench`` is cheap.

This package is where the parts are put together: it registers the fraud scenario library as
the simulator's fraud layer (the simulator declares the hook and never imports fraud), so
every configuration with a fraud mix works however the simulator is imported.
"""

from workbench._lazy import lazy_exports
from workbench._version import __version__
from workbench.fraud.layer import SCENARIO_LIBRARY
from workbench.simulate.fraud_hook import register_fraud_layer

register_fraud_layer(SCENARIO_LIBRARY)

_names, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "simulate": ["SimulationConfig", "generate"],
        "dataset": ["open_dataset"],
        "features": ["dataset_source", "table_source", "write_features"],
        "graph": ["detect_rings", "graph_source"],
        "models": [
            "IsolationForestDetector",
            "SupervisedDetector",
            "feature_columns",
            "labels",
            "model_frame",
            "standard_split",
            "load_package",
            "save_package",
        ],
        "evaluate": [
            "EvaluationConfig",
            "comparison_table",
            "evaluate_scores",
            "prequential",
            "single_split",
        ],
        "report_builds": ["build_report", "sweep_conclusion", "sweep_files", "sweep_table"],
        "io": ["write_csv", "write_json", "write_parquet"],
    },
)
__all__ = [*_names, "__version__"]
