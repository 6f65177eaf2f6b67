"""Detectors: score direction (higher = more suspicious), range, thresholds, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.models.isolation_forest import IsolationForestDetector
from workbench.validation import InputError


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    normal = pd.DataFrame(rng.normal(0, 1, (2000, 4)), columns=list("abcd"))
    outliers = pd.DataFrame(rng.normal(6, 1, (20, 4)), columns=list("abcd"))
    return normal, outliers


@pytest.mark.parametrize("contamination", [0.005, 0.01, 0.05])
def test_isolation_forest_scores_outliers_higher(contamination):
    normal, outliers = _data()
    det = IsolationForestDetector(contamination=contamination, n_estimators=100, seed=3).fit(normal)
    s_norm, s_out = det.score(normal), det.score(outliers)
    assert s_out.min() > np.quantile(s_norm, 0.99)  # the direction guard: sklearn's decision_function is the opposite
    assert 0 <= s_norm.min() and s_out.max() <= 1
    assert det.predict(outliers).all()
    assert abs(det.predict(normal).mean() - contamination) < 0.01
    assert (det.predict(normal, threshold=1.0) == (s_norm >= 1.0)).all()


def test_isolation_forest_is_seeded():
    normal, outliers = _data()
    a = IsolationForestDetector(n_estimators=50, seed=1).fit(normal).score(outliers)
    b = IsolationForestDetector(n_estimators=50, seed=1).fit(normal).score(outliers)
    assert np.array_equal(a, b)


def test_bad_inputs_name_the_parameter():
    normal, _ = _data()
    with pytest.raises(InputError, match="contamination"):
        IsolationForestDetector(contamination=0.9)
    det = IsolationForestDetector(n_estimators=20).fit(normal)
    with pytest.raises(InputError, match="X.columns"):
        det.score(normal[["b", "a", "c", "d"]])
    with pytest.raises(InputError, match="threshold"):
        det.predict(normal, threshold=2)
    with pytest.raises(InputError, match="X"):
        det.score(normal.assign(a=np.nan))
