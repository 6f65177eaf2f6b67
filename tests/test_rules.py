"""Rules as data: the shipped baseline, validation errors naming the rule and the feature,
safe parsing, the rules detector and rules combined with a model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from workbench.features.catalogue import CATALOGUE
from workbench.models.supervised import SupervisedDetector
from workbench.rules import (
    ACTIONS,
    RulesDetector,
    RulesModelDetector,
    load_rules,
    shipped_rule_sets,
)
from workbench.validation import InputError

FEATURES = [f.name for f in CATALOGUE]


def _frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=FEATURES)
    X["hour"] = rng.integers(0, 24, n).astype(float)
    X["amt_ratio_mean_30d"] = rng.exponential(2, n)
    X["bank_links_24h"] = rng.integers(0, 7, n).astype(float)
    X.loc[::17, "dist_home_km"] = np.nan  # missing values never fire a comparison
    return X


def test_baseline_ships_and_reads_catalogue_features_only():
    assert "baseline" in shipped_rule_sets()
    rules = load_rules("baseline", FEATURES)
    assert len(rules.rules) >= 8 and {r.action for r in rules.rules} <= set(ACTIONS)
    used = {f for r in rules.rules for f in r.features()}
    assert (
        used <= set(FEATURES)
        and {"bank_links_24h", "balance_zscore_30d", "dist_home_km", "hour"} <= used
    )
    assert all(0 < r.score <= 1 and r.description for r in rules.rules)


def _one(**rule) -> dict:
    return {
        "name": "t",
        "rules": [{"id": "r1", "when": "hour < 6", "score": 0.5, "action": "flag"} | rule],
    }


@pytest.mark.parametrize(
    "rule, param, words",
    [
        ({"when": "amount_to_avg > 5"}, "rules[r1].when", "unknown feature"),
        ({"when": "hour <"}, "rules[r1].when", "well-formed"),
        ({"when": "__import__('os').system('true')"}, "rules[r1].when", "comparisons"),
        ({"when": "hour.real > 1"}, "rules[r1].when", "feature names and numbers"),
        ({"when": "hour + 1 > 2"}, "rules[r1].when", "feature names and numbers"),
        ({"when": "hour in (1, 2)"}, "rules[r1].when", "comparisons with"),
        ({"score": 1.5}, "rules[r1].score", "0.0 to 1.0"),
        ({"action": "delete"}, "rules[r1].action", "flag, review, block"),
        ({"colour": "red"}, "rules[r1]", "only"),
    ],
)
def test_bad_rules_name_the_rule_and_the_problem(rule, param, words):
    with pytest.raises(InputError) as err:
        load_rules(_one(**rule), FEATURES)
    assert err.value.param == param and words in str(err.value), str(err.value)


def test_rule_set_shape_errors(tmp_path):
    with pytest.raises(InputError, match="rules.*once"):
        load_rules({"rules": [_one()["rules"][0], _one()["rules"][0]]}, FEATURES)
    with pytest.raises(InputError, match="missing"):
        load_rules({"rules": [{"id": "x", "when": "hour < 1"}]}, FEATURES)
    with pytest.raises(InputError, match="shipped rule set: baseline"):
        load_rules(tmp_path / "nope.yaml", FEATURES)
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [unclosed")
    with pytest.raises(InputError, match="valid YAML"):
        load_rules(bad, FEATURES)
    good = tmp_path / "mine.yaml"
    good.write_text(
        "name: mine\nrules:\n"
        "  - {id: late, when: 'hour >= 23 or not hour > 1', score: 0.4, action: flag}\n"
    )
    rules = load_rules(good, FEATURES)
    hours = np.zeros((4, len(FEATURES)))
    hours[:, FEATURES.index("hour")] = [0, 1, 12, 23]
    assert rules.fired(hours) == [["late"], ["late"], [], ["late"]]


def test_rules_detector_scores_the_highest_fired_rule():
    X = _frame()
    det = RulesDetector("baseline").fit(X)
    scores = det.score(X)
    rules = det.rule_set_
    fired = rules.matches(X.to_numpy())
    expected = np.where(
        fired.any(1), (fired * np.array([r.score for r in rules.rules])).max(1), 0.0
    )
    assert np.array_equal(scores, expected) and fired.any(1).sum() > 20
    night = (X["amt_ratio_mean_30d"] > 5) & (X["hour"] < 6)
    assert np.array_equal(fired[:, 0], night.to_numpy())
    links = X["bank_links_24h"] > 4
    assert (scores[links.to_numpy()] >= 0.9).all()
    # predict flags exactly the rows where a rule fires; sklearn conventions hold
    assert np.array_equal(det.predict(X), fired.any(1).astype(np.int8))
    assert clone(det).get_params() == {"rules": "baseline"}
    assert not fired[X["dist_home_km"].isna().to_numpy(), 3].any()
    with pytest.raises(InputError, match="unknown feature"):
        RulesDetector().fit(X.drop(columns="hour"))


def test_rules_with_a_model_override_and_features():
    X = _frame(600, 1)
    y = ((X["bank_links_24h"] > 4) | (X["amt_ratio_mean_30d"] > 4)).astype(int).to_numpy()
    model = SupervisedDetector(model="lr")
    over = RulesModelDetector(model, "baseline", "override").fit(X, y)
    alone = clone(model).fit(X, y).score(X)
    rules = RulesDetector().fit(X).score(X)
    assert np.array_equal(over.score(X), np.maximum(alone, rules))
    feats = RulesModelDetector(model, "baseline", "features").fit(X, y)
    assert feats.model_.features_[-len(feats.rule_set_.rules) :] == [
        f"rule:{r.id}" for r in feats.rule_set_.rules
    ]
    s = feats.score(X)
    assert s.shape == (len(X),) and ((0 <= s) & (s <= 1)).all() and feats.supervised
    with pytest.raises(InputError, match="mode"):
        RulesModelDetector(model, mode="both").fit(X, y)
