"""Evaluation: fraud-specific metrics (``ranking``, ``budget``, ``delay``, ``cost``,
``calibration``), evaluation frames (``frame``), protocols (``protocol``: single split and
prequential folds over any detector) and the report's computed conclusion (``report``)."""
