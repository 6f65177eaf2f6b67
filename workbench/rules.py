"""Rules as data: YAML rule sets over catalogue features, a detector that scores with them,
and rules combined with a model.

A rule set is a mapping with ``name``, ``description`` and ``rules``, a list of rules, each
with an ``id``, a condition ``when`` (feature names, numbers, the comparisons ``< <= > >=
== !=``, ``and``, ``or``, ``not`` and parentheses, e.g. ``amt_ratio_mean_30d > 5 and hour <
6``), a ``score`` in [0, 1], an ``action`` (flag, review, block) and a ``description``.
Conditions are parsed into a small tree of those operations (Python's parser reads the
text; nothing is evaluated as code) and computed column-wise over a feature matrix. A
comparison with a missing value (NaN) is false. The shipped rule sets live in
``workbench/data/rules/`` (``baseline``: the seeds' hand-written rules).
"""

from __future__ import annotations

import ast
import operator
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.base import clone

from workbench.models.base import Detector
from workbench.validation import InputError, check_float

ACTIONS = ("flag", "review", "block")  # in rising severity; "allow" is below them all
DECISIONS = ("allow", *ACTIONS)
COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
           ast.Eq: operator.eq, ast.NotEq: operator.ne}
RULE_KEYS = {"id", "when", "score", "action", "description"}
SET_KEYS = {"name", "description", "rules"}


def shipped_rule_sets() -> list[str]:
    """Names of the rule sets shipped with the package (``workbench/data/rules``)."""
    folder = resources.files("workbench") / "data" / "rules"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def _compile(rule: str, text: Any, features: list[str]):
    """The condition ``text`` as a function of a {feature: column} mapping; errors name the
    rule and the offending part."""
    param = f"rules[{rule}].when"
    if not isinstance(text, str) or not text.strip():
        raise InputError(param, text, "a condition such as 'hour < 6 and amount > 1000'")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise InputError(param, text, f"a well-formed condition ({exc.msg} at column {exc.offset})") from None
    known = set(features)

    def build(node):
        if isinstance(node, ast.BoolOp):
            parts = [build(v) for v in node.values]
            join = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return lambda cols: _reduce(join, [p(cols) for p in parts])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = build(node.operand)
            return lambda cols: np.logical_not(inner(cols))
        if isinstance(node, ast.Compare):
            terms = [build_term(node.left)] + [build_term(c) for c in node.comparators]
            ops = []
            for op in node.ops:
                if type(op) not in COMPARE:
                    raise InputError(param, text, "comparisons with < <= > >= == != only")
                ops.append(COMPARE[type(op)])
            return lambda cols: _reduce(np.logical_and, [op(terms[i](cols), terms[i + 1](cols)) for i, op in enumerate(ops)])
        raise InputError(param, text, f"comparisons joined by and / or / not (not {ast.dump(node)[:40]})")

    def build_term(node):
        if isinstance(node, ast.Name):
            if node.id not in known:
                raise InputError(param, node.id, "a feature of the catalogue (unknown feature); e.g. "
                                 + ", ".join(sorted(known)[:8]))
            return lambda cols, name=node.id: cols[name]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            node = ast.Constant(-node.operand.value)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return lambda cols, value=float(node.value): value
        raise InputError(param, text, "feature names and numbers on either side of a comparison")

    return build(tree)


def _reduce(join, parts):
    out = parts[0]
    for p in parts[1:]:
        out = join(out, p)
    return out


@dataclass(frozen=True)
class Rule:
    """One rule: its id, condition text and compiled form, score, action, description."""

    id: str
    when: str
    score: float
    action: str
    description: str
    test: Any

    def features(self) -> list[str]:
        """The feature names the condition reads."""
        return sorted({n.id for n in ast.walk(ast.parse(self.when, mode="eval")) if isinstance(n, ast.Name)})


@dataclass(frozen=True)
class RuleSet:
    """A validated rule set over the feature columns ``columns``."""

    name: str
    description: str
    rules: tuple[Rule, ...]
    columns: tuple[str, ...]

    def matches(self, values: np.ndarray) -> np.ndarray:
        """Rows x rules: whether each rule fires on each row of ``values`` (columns: the
        rule set's ``columns``)."""
        values = np.asarray(values, np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.columns):
            raise InputError("values", values.shape, f"a (rows, {len(self.columns)}) matrix of the rule set's columns")
        cols = {c: values[:, i] for i, c in enumerate(self.columns)}
        out = np.zeros((len(values), len(self.rules)), dtype=bool)
        for j, rule in enumerate(self.rules):
            out[:, j] = rule.test(cols)
        return out

    def scores(self, values: np.ndarray) -> np.ndarray:
        """Per row the highest score of the rules that fire (0 when none does)."""
        weights = np.array([r.score for r in self.rules])
        return (self.matches(values) * weights).max(axis=1, initial=0.0)

    def fired(self, values: np.ndarray) -> list[list[str]]:
        """Per row the ids of the rules that fire, in the set's order."""
        ids = [r.id for r in self.rules]
        return [[ids[j] for j in np.flatnonzero(row)] for row in self.matches(values)]

    def decide(self, decision: str, fired: list[str]) -> str:
        """The more severe of a model's ``decision`` and the fired rules' actions."""
        actions = {r.id: r.action for r in self.rules}
        return max([decision, *(actions[f] for f in fired)], key=DECISIONS.index)

    def describe(self) -> dict:
        """The rule set as data (what the service's /model shows)."""
        return {"name": self.name, "description": self.description,
                "rules": [{"id": r.id, "when": r.when, "score": r.score, "action": r.action,
                           "description": r.description} for r in self.rules]}


def load_rules(source: str | os.PathLike | dict, columns: list[str]) -> RuleSet:
    """A rule set from a shipped name (see :func:`shipped_rule_sets`), a YAML path or a
    mapping, validated against the feature ``columns``; errors name the rule and what is
    wrong (an unknown feature, a bad score or action, a malformed condition)."""
    if isinstance(source, dict):
        data, where = source, "rules"
    else:
        text = str(source)
        path = Path(text)
        if text in shipped_rule_sets():
            path = Path(str(resources.files("workbench") / "data" / "rules" / f"{text}.yaml"))
        if not path.is_file():
            raise InputError("rules", text, "a YAML rule-set file or a shipped rule set: " + ", ".join(shipped_rule_sets()))
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise InputError("rules", text, f"valid YAML ({str(exc).splitlines()[0]})") from None
        where = text
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list) or not data["rules"]:
        raise InputError("rules", where, "a mapping with name, description and a non-empty list 'rules'")
    extra = sorted(set(data) - SET_KEYS)
    if extra:
        raise InputError(f"rules.{extra[0]}", data[extra[0]], "only the keys " + ", ".join(sorted(SET_KEYS)))
    rules, seen = [], set()
    for i, item in enumerate(data["rules"]):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise InputError(f"rules[{i}]", item, "a mapping with a string id")
        rid = item["id"]
        unknown = sorted(set(item) - RULE_KEYS)
        missing = sorted(RULE_KEYS - {"description"} - set(item))
        if unknown or missing:
            raise InputError(f"rules[{rid}]", unknown or missing, "the keys " + ", ".join(sorted(RULE_KEYS))
                             + (" (missing)" if missing else " only"))
        if rid in seen:
            raise InputError(f"rules[{rid}].id", rid, "an id used once in the set")
        seen.add(rid)
        score = check_float(f"rules[{rid}].score", item["score"], 0.0, 1.0)
        if item["action"] not in ACTIONS:
            raise InputError(f"rules[{rid}].action", item["action"], "one of " + ", ".join(ACTIONS))
        test = _compile(rid, item["when"], list(columns))
        rules.append(Rule(rid, item["when"], score, item["action"], str(item.get("description", "")), test))
    return RuleSet(str(data.get("name", where)), str(data.get("description", "")), tuple(rules), tuple(columns))


class RulesDetector(Detector):
    """A rule set as a detector: a row's score is the highest score of the rules that fire
    on it (0 when none does); ``predict`` flags rows where any rule fires. ``fit`` learns
    nothing from the rows but checks the rules against their columns."""

    name = "rules"
    supervised = False

    def __init__(self, rules: str | dict = "baseline") -> None:
        self.rules = rules

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> RulesDetector:
        """Validate the rules against the columns of ``X``."""
        if not isinstance(X, pd.DataFrame):
            raise InputError("X", type(X).__name__, "a pandas DataFrame of features")
        self.features_ = list(X.columns)
        self.rule_set_ = load_rules(self.rules, self.features_)
        self.threshold_ = min(r.score for r in self.rule_set_.rules)
        return self

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """The rules' score per row (see the class docstring)."""
        if list(X.columns) != self.features_:
            raise InputError("X.columns", list(X.columns)[:5], f"the fitted columns in order ({self.features_[:5]}...)")
        return self.score_values(X.to_numpy(np.float64, na_value=np.nan))

    def score_values(self, values: np.ndarray) -> np.ndarray:
        """:meth:`score` of a matrix of the fitted columns."""
        return self.rule_set_.scores(values)


class RulesModelDetector(Detector):
    """A model and a rule set together. ``mode="override"``: the score is the higher of the
    model's and the rules' (a firing rule can raise a score, never lower it);
    ``mode="features"``: the model is trained with one extra 0/1 column per rule
    (``rule:<id>``), so it learns how much each rule is worth."""

    name = "rules+model"

    def __init__(self, model: Detector | None = None, rules: str | dict = "baseline", mode: str = "override") -> None:
        self.model = model
        self.rules = rules
        self.mode = mode

    @property
    def supervised(self) -> bool:  # type: ignore[override]
        return bool(getattr(self.model, "supervised", False))

    def _with_rules(self, X: pd.DataFrame) -> pd.DataFrame:
        fired = self.rule_set_.matches(X.to_numpy(np.float64, na_value=np.nan)).astype(np.float64)
        return X.assign(**{f"rule:{r.id}": fired[:, j] for j, r in enumerate(self.rule_set_.rules)})

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> RulesModelDetector:
        """Fit a clone of ``model`` (on ``X``, or with the rule columns in features mode)."""
        if not isinstance(self.model, Detector):
            raise InputError("model", type(self.model).__name__, "a workbench Detector")
        if self.mode not in ("override", "features"):
            raise InputError("mode", self.mode, "one of features, override")
        self.features_ = list(X.columns)
        self.rule_set_ = load_rules(self.rules, self.features_)
        self.model_ = clone(self.model)
        self.model_.fit(self._with_rules(X) if self.mode == "features" else X, y)
        self.threshold_ = self.model_.threshold_
        return self

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """The combined score per row (see the class docstring)."""
        if list(X.columns) != self.features_:
            raise InputError("X.columns", list(X.columns)[:5], f"the fitted columns in order ({self.features_[:5]}...)")
        if self.mode == "features":
            return self.model_.score(self._with_rules(X))
        return np.maximum(self.model_.score(X), self.rule_set_.scores(X.to_numpy(np.float64, na_value=np.nan)))
