"""Customer analytics on a workbench dataset, measured against the simulator's truth.

* :mod:`~workbench.customers.catalogue`: the customer features and their definitions;
* :mod:`~workbench.customers.features`: features as of a cut-off time (DuckDB, point in time);
* :mod:`~workbench.customers.outcomes`: churn and spend after a cut-off, from the truth;
* :mod:`~workbench.customers.churn`: churn models on a time split against a naive baseline;
* :mod:`~workbench.customers.segments`: k-means and Gaussian-mixture segmentation;
* :mod:`~workbench.customers.forecast`: next-30-day spend against naive baselines;
* :mod:`~workbench.customers.explain`: tree-path reason codes and global importance;
* :mod:`~workbench.customers.fraud_reasons`: the same for a fraud detector;
* :mod:`~workbench.customers.report`: the study's JSON record.
"""

from workbench.customers.catalogue import catalogue_frame, customer_catalogue
from workbench.customers.churn import (ChurnStudy, campaign_curve, churn_cutoffs, churn_study,
                                        lift_at)
from workbench.customers.explain import boosted_model, global_importance, reason_codes, tree_contributions
from workbench.customers.features import customer_features, usable_horizon
from workbench.customers.forecast import Forecast, spend_forecast
from workbench.customers.fraud_reasons import FraudReasons, fraud_reasons
from workbench.customers.outcomes import churn_outcome, next_spend
from workbench.customers.report import study_record, write_study
from workbench.customers.segments import Segmentation, cluster_profile, segment_customers

__all__ = [
    "boosted_model", "ChurnStudy", "Forecast", "FraudReasons", "Segmentation", "campaign_curve",
    "catalogue_frame", "churn_cutoffs", "churn_outcome", "churn_study", "cluster_profile",
    "customer_catalogue", "customer_features", "fraud_reasons", "global_importance", "lift_at",
    "next_spend", "reason_codes", "segment_customers", "spend_forecast", "study_record",
    "tree_contributions", "usable_horizon", "write_study",
]
