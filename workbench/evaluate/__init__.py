"""Evaluation: fraud-specific metrics (ranking, alert budget, detection delay, cost,
calibration), evaluation frames, protocols (single split and prequential folds over any
detector) and the report's computed conclusion."""

from workbench._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "protocol": [
            "EvaluationConfig",
            "ModelEvaluation",
            "comparison_table",
            "evaluate_model",
            "evaluate_scores",
            "prequential",
            "single_split",
        ],
        "ranking": ["average_precision", "bootstrap_ci", "recall_at_fpr", "roc_auc"],
        "budget": [
            "card_precision_at_k_daily",
            "daily_alerts",
            "precision_at_k_daily",
            "recall_at_budget",
        ],
        "delay": ["delay_summary", "detection_delay"],
        "cost": ["alert_cost", "cost_curve"],
        "calibration": ["brier", "reliability"],
        "frame": ["external_frame", "label_frame", "model_names", "read_scores", "scores_frame"],
        "conclusions": ["conclusion", "metrics_document", "report_parameters"],
        "tables": ["budget_view", "prequential_view", "ranking_view"],
        "ablation": ["ablation", "recall_at_top", "sequence_against_tabular"],
        "study": ["EvaluationInputs", "default_folds", "evaluation_inputs"],
    },
)
