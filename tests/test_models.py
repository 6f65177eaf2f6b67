"""Detectors: score direction (higher = more suspicious), range, thresholds, validation."""

from __future__ import annotations

import warnings

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
    det = IsolationForestDetector(contamination=contamination, n_estimators=100, seed=3).fit(
        normal
    )
    s_norm, s_out = det.score(normal), det.score(outliers)
    assert s_out.min() > np.quantile(
        s_norm, 0.99
    )  # the direction guard: sklearn's decision_function is the opposite
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
        det.score(normal.assign(a="text"))
    assert np.isfinite(
        det.score(normal.assign(a=np.nan))
    ).all()  # missing values take the training median


# ---------------------------------------------------------------- more detectors

from sklearn.datasets import make_classification  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402

from workbench.features.sequences import Sequences  # noqa: E402
from workbench.models.autoencoder import AutoencoderDetector  # noqa: E402
from workbench.models.ensemble import Stacker, weighted_average  # noqa: E402
from workbench.models.feedforward import FeedForwardDetector  # noqa: E402
from workbench.models.package import load_package, save_package  # noqa: E402
from workbench.models.sequence import SequenceDetector  # noqa: E402
from workbench.models.supervised import STRATEGIES, SupervisedDetector  # noqa: E402


def _imbalanced(n=6000, seed=0):
    X, y = make_classification(
        n_samples=n,
        n_features=8,
        n_informative=5,
        weights=[0.98],
        flip_y=0.0,
        class_sep=1.5,
        random_state=seed,
    )
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(8)]), y


def test_autoencoder_scores_outliers_higher():
    normal, outliers = _data()
    det = AutoencoderDetector(hidden=8, code=2, epochs=15, batch_size=128, seed=1).fit(normal)
    s_norm, s_out = det.score(normal), det.score(outliers)
    assert np.median(s_out) > np.quantile(s_norm, 0.99) and 0 <= s_norm.min() and s_out.max() < 1
    # trained on legitimate rows only: labelled outliers in the training frame are left out
    both = pd.concat([normal, outliers], ignore_index=True)
    y = np.r_[np.zeros(len(normal)), np.ones(len(outliers))]
    det2 = AutoencoderDetector(hidden=8, code=2, epochs=15, batch_size=128, seed=1).fit(both, y)
    assert roc_auc_score(y, det2.score(both)) > 0.99


@pytest.mark.parametrize(
    "model,strategy",
    [("lr", s) for s in STRATEGIES if s != "balanced_rf"]
    + [("rf", "balanced_rf"), ("hgb", "none"), ("hgb", "undersample"), ("lgbm", "class_weight")],
)
def test_supervised_strategies_rank_fraud_first(model, strategy):
    X, y = _imbalanced()
    train, test = slice(0, 4000), slice(4000, None)
    det = SupervisedDetector(model=model, strategy=strategy, seed=0).fit(X[train], y[train])
    s = det.score(X[test])
    assert average_precision_score(y[test], s) > 10 * y[test].mean()
    assert 0 <= s.min() and s.max() <= 1


def test_lightgbm_is_a_detector_with_its_parameters_and_the_same_bytes_per_seed():
    from sklearn.base import clone

    X, y = _imbalanced()
    det = SupervisedDetector("lgbm", "class_weight", n_estimators=60, num_leaves=15, seed=4)
    model = det._pipeline()[-1]
    assert (model.n_estimators, model.num_leaves, model.class_weight, model.random_state) == (
        60,
        15,
        "balanced",
        4,
    )
    assert model.n_jobs == 2 and model.verbose == -1  # documented defaults
    s = det.fit(X[:4000], y[:4000]).score(X[4000:])
    assert (
        average_precision_score(y[4000:], s) > 10 * y[4000:].mean()
        and det.name == "lgbm+class_weight"
    )
    assert np.array_equal(
        clone(det).fit(X[:4000], y[:4000]).score(X[4000:]), s
    )  # same seed, same scores
    assert np.allclose(det.score_values(X[4000:].to_numpy()), s)  # the stream's path
    with pytest.raises(InputError, match="estimator_params.leaves") as err:
        SupervisedDetector("lgbm", leaves=3)
    assert "num_leaves" in str(err.value)


def test_undersampling_is_calibrated_back():
    X, y = _imbalanced(n=20000, seed=2)
    raw = (
        SupervisedDetector(model="lr", strategy="undersample", calibrate=False).fit(X, y).score(X)
    )
    cal = SupervisedDetector(model="lr", strategy="undersample", calibrate=True).fit(X, y).score(X)
    assert raw.mean() > 3 * y.mean()  # undersampling inflates probabilities
    assert abs(cal.mean() - y.mean()) < 0.5 * y.mean()  # the prior correction brings them back
    assert (np.argsort(raw) == np.argsort(cal)).mean() > 0.99  # ranking unchanged


def test_compiled_trees_equal_scikit_learn():
    """The stream's tree evaluator gives scikit-learn's raw scores bit for bit, missing values
    included, and the detector's fast path its scores; other models keep scikit-learn's path."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from workbench.models.trees import compile_hgb

    X, y = _imbalanced(n=5000, seed=3)
    values = X.to_numpy().copy()
    values[np.random.default_rng(0).random(values.shape) < 0.1] = np.nan
    hgb = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(values, y)
    trees = compile_hgb(hgb)
    assert len(trees.roots) == hgb.n_iter_
    assert np.array_equal(trees.raw(values), hgb._raw_predict(values).ravel())
    assert (
        compile_hgb(
            HistGradientBoostingClassifier(categorical_features=[0]).fit(values[:, :1].round(), y)
        )
        is None
    )
    det = SupervisedDetector(model="hgb", strategy="class_weight").fit(X, y)
    assert np.array_equal(
        det.score_values(values[:50]), det.score(pd.DataFrame(values[:50], columns=X.columns))
    )
    assert det._trees is not None and "_trees" not in det.__getstate__()
    lr = SupervisedDetector(model="lr").fit(X, y)
    # (logistic regression: the two paths can round the last bit of a product differently)
    assert np.allclose(
        lr.score_values(values[:50]),
        lr.score(pd.DataFrame(values[:50], columns=X.columns)),
        rtol=1e-12,
        atol=0,
    )
    assert lr._trees is None


def test_supervised_rejects_bad_input():
    X, y = _imbalanced(n=500)
    with pytest.raises(InputError, match="strategy"):
        SupervisedDetector(strategy="magic")
    with pytest.raises(InputError, match="strategy"):
        SupervisedDetector(model="lr", strategy="balanced_rf")
    with pytest.raises(InputError, match="y"):
        SupervisedDetector().fit(X, np.zeros(len(X)))


def test_ensembles():
    y = np.array([0, 0, 1, 1, 0, 1, 0, 0])
    a = np.array([0.1, 0.2, 0.8, 0.7, 0.3, 0.9, 0.2, 0.1])
    b = np.array([0.5, 0.1, 0.4, 0.9, 0.2, 0.6, 0.1, 0.3])
    avg = weighted_average({"a": a, "b": b}, {"a": 3, "b": 1})
    assert np.allclose(avg, 0.75 * a + 0.25 * b)
    with pytest.raises(InputError, match="weights"):
        weighted_average({"a": a}, {"c": 1.0})
    st = Stacker(["a", "b"]).fit({"a": a, "b": b}, y)
    assert roc_auc_score(y, st.score({"a": a, "b": b})) == 1.0


def _sequences(n=4000, k=6, seed=0):
    """Fraud = a burst: the last two steps are large. Histories have random lengths (padding)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, k, 3)).astype(np.float32)
    lengths = rng.integers(1, k + 1, n)
    mask = np.arange(k)[None, :] >= (k - lengths)[:, None]
    y = (rng.random(n) < 0.05).astype(int)
    x[y == 1, -2:, 0] += 4.0
    x[~mask] = 0.0
    return Sequences(x, mask, np.arange(n), ["a", "b", "c"]), y


@pytest.mark.parametrize("cell,attention", [("lstm", False), ("gru", True)])
def test_sequence_models_learn_and_ignore_padding(cell, attention):
    seqs, y = _sequences()
    val, yv = _sequences(seed=1)
    det = SequenceDetector(
        cell=cell,
        units=8,
        head_units=8,
        attention=attention,
        learning_rate=3e-3,
        epochs=8,
        batch_size=256,
        seed=0,
    ).fit(seqs, y, validation=(val, yv))
    s = det.score(val)
    assert roc_auc_score(yv, s) > 0.9 and len(det.history_["loss"]) >= 1
    garbage = Sequences(
        np.where(val.mask[..., None], val.x, 99.0).astype(np.float32),
        val.mask,
        val.txn_id,
        val.columns,
    )
    assert np.allclose(det.score(garbage), s, atol=1e-5)  # padded steps are masked out


def test_deep_detectors_take_every_training_choice_as_a_parameter():
    seqs, y = _sequences(n=1200)
    det = SequenceDetector(
        units=4,
        head_units=0,
        dropout=0.0,
        epochs=3,
        patience=1,
        learning_rate=3e-3,
        class_weight=5.0,
        transform="standard",
        holdout=0.25,
        monitor="loss",
        seed=2,
    ).fit(seqs, y)
    layers = [type(layer).__name__ for layer in det.model_.layers]
    assert "Dropout" not in layers and layers.count("Dense") == 1  # no head, no dropout
    assert det.model_.optimizer.learning_rate.numpy() == pytest.approx(3e-3)
    # early stopping watches the held-out quarter's loss, weighted as the training loss is
    held = seqs.take(slice(900, None))
    p = np.clip(det.score(held), 1e-7, 1 - 1e-7)
    w = np.where(y[900:] == 1, 5.0, 1.0)
    bce = -(y[900:] * np.log(p) + (1 - y[900:]) * np.log(1 - p))
    assert min(det.history_["val_loss"]) == pytest.approx((w * bce).mean(), rel=1e-3)
    assert "val_pr_auc" in det.history_
    # the standardisation comes from the rows trained on, not the held-out ones
    trained = seqs.take(slice(0, 900))
    assert det.mean_ == pytest.approx(trained.x[trained.mask].mean(axis=0), abs=1e-5)
    full = SequenceDetector(units=4, epochs=2).fit(seqs, y)
    assert (
        "val_loss" not in full.history_ and len(full.history_["loss"]) == 2
    )  # no holdout: no rows lost
    from workbench.models.training import class_weights

    legit, fraud = class_weights(np.r_[np.zeros(90), np.ones(10)], "balanced")
    assert (legit, fraud) == pytest.approx((100 / 180, 100 / 20))
    assert class_weights(y, "none") == (1.0, 1.0) and class_weights(y, 7) == (1.0, 7.0)
    for bad in (
        {"learning_rate": 0},
        {"holdout": 0.9},
        {"monitor": "auc"},
        {"transform": "rank"},
        {"class_weight": "heavy"},
        {"dropout": 1.5},
        {"head_units": -1},
    ):
        with pytest.raises(InputError, match=next(iter(bad))):
            SequenceDetector(**bad)
    with pytest.raises(InputError, match="hidden"):
        FeedForwardDetector(hidden=())


def test_feedforward_network_learns_and_stops_on_a_validation_block():
    X, y = _imbalanced()
    train, val, test = slice(0, 3000), slice(3000, 4500), slice(4500, None)
    det = FeedForwardDetector(
        hidden=(32,), learning_rate=1e-3, epochs=15, patience=2, class_weight="balanced", seed=0
    )
    det.fit(X[train], y[train], validation=(X[val], y[val]))
    s = det.score(X[test])
    assert (
        average_precision_score(y[test], s) > 10 * y[test].mean() and 0 <= s.min() <= s.max() <= 1
    )
    assert "val_pr_auc" in det.history_ and det.name == "feedforward"
    logged = FeedForwardDetector(hidden=(8,), epochs=1, transform="log").fit(X[train], y[train])
    assert np.isfinite(
        logged.score(X[test].assign(f0=np.nan))
    ).all()  # the training median fills gaps


def test_models_import_without_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, workbench.models.sequence, workbench.models.feedforward, "
        "workbench.models.autoencoder, workbench.models.package, workbench.features.sequences; "
        "print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_packages_round_trip_and_refuse_tampering(tmp_path):
    X, y = _imbalanced(n=1500)
    for det in (
        SupervisedDetector(model="hgb", strategy="class_weight").fit(X, y),
        IsolationForestDetector(n_estimators=30).fit(X),
        AutoencoderDetector(hidden=4, code=2, epochs=2).fit(X, y),
        FeedForwardDetector(hidden=(4,), epochs=1).fit(X, y),
    ):
        path = save_package(det, tmp_path / det.name, metrics={"ap": 0.5})
        again = load_package(path, features=list(X.columns))
        assert np.allclose(again.score(X), det.score(X))
    seqs, ys = _sequences(n=600)
    lstm = SequenceDetector(units=4, head_units=4, attention=True, epochs=1).fit(seqs, ys)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # Keras warns when a layer is loaded unbuilt
        loaded = load_package(save_package(lstm, tmp_path / "lstm"))
    assert np.allclose(loaded.score(seqs), lstm.score(seqs), atol=1e-6)
    pkg = tmp_path / "hgb+class_weight"
    with pytest.raises(InputError, match="features"):
        load_package(pkg, features=list(X.columns)[::-1])
    with pytest.raises(InputError, match="out"):
        save_package(IsolationForestDetector(n_estimators=30).fit(X), pkg)
    (pkg / "metrics.json").write_text('{"ap": 0.99}')
    with pytest.raises(InputError, match="SHA-256"):
        load_package(pkg)
    iso = tmp_path / "isolation_forest"
    import json

    manifest = json.loads((iso / "manifest.json").read_text())
    manifest["versions"]["scikit-learn"] = "0.1.0"
    (iso / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="scikit-learn"):
        load_package(iso)


# ---------------------------------------------------------------- scikit-learn conventions


def test_every_parameter_reaches_the_estimator_and_unknown_ones_are_named():
    rf = SupervisedDetector("rf", max_features=0.1, criterion="entropy")._pipeline()[-1]
    assert rf.max_features == 0.1 and rf.criterion == "entropy"
    assert rf.n_estimators == 200  # a documented default
    shape = {"max_depth": 12, "min_samples_leaf": 5}
    brf = SupervisedDetector("rf", "balanced_rf", estimator_params=shape)._pipeline()
    assert (brf.max_depth, brf.min_samples_leaf, brf.sampling_strategy) == (12, 5, "all")
    smote = SupervisedDetector("lr", "smote", sampler_params={"k_neighbors": 3})._pipeline()
    assert smote[0].k_neighbors == 3 and smote[-1].max_iter == 1000
    bag = SupervisedDetector("rf", "balanced_bagging", estimator_params={"max_depth": 4})
    bag = bag._pipeline()
    assert bag.estimator.max_depth == 4
    assert bag.estimator.n_estimators == 20  # a tenth of the forest per bag
    iso = IsolationForestDetector(n_estimators=20, estimator_params={"max_features": 0.5})
    assert iso.fit(_data()[0]).model_.max_features == 0.5
    with pytest.raises(InputError, match="estimator_params.foo") as err:
        SupervisedDetector("lr", foo=1)  # not a raw TypeError
    assert "C, " in str(err.value) and "max_iter" in str(err.value)  # the allowed names are listed
    with pytest.raises(InputError, match="estimator_params.class_weight"):  # the strategy sets it
        SupervisedDetector("hgb", "class_weight", estimator_params={"class_weight": None})
    with pytest.raises(InputError, match="sampler_params"):
        SupervisedDetector("lr", "none", sampler_params={"k_neighbors": 3})
    with pytest.raises(InputError, match="estimator_params.bootstrapped"):
        IsolationForestDetector(estimator_params={"bootstrapped": True})


def test_detectors_clone_and_refit():
    from sklearn.base import clone

    X, y = _imbalanced(n=1200)
    seqs, ys = _sequences(n=400, k=3)
    rf, small = {"n_estimators": 20, "max_features": 0.5}, {"n_estimators": 20}
    boot = {"bootstrap": True}
    families = [
        (SupervisedDetector("rf", "smote", estimator_params=rf), X, y),
        (SupervisedDetector("rf", "balanced_rf", estimator_params=small), X, y),
        (SupervisedDetector("lr", "undersample", C=0.5), X, y),
        (SupervisedDetector("hgb", "class_weight", max_iter=20), X, y),
        (IsolationForestDetector(n_estimators=20, estimator_params=boot), X, y),
        (AutoencoderDetector(hidden=4, code=2, epochs=1), X, y),
        (SequenceDetector(units=4, head_units=4, epochs=1, batch_size=128), seqs, ys),
        (FeedForwardDetector(hidden=(8,), epochs=1, batch_size=128), X, y),
    ]
    for det, data, target in families:
        fitted = det.fit(data, target)
        twin = clone(fitted)
        assert twin.get_params() == det.get_params() and twin.threshold_ is None  # unfitted
        refit = twin.fit(data, target).score(data)
        assert np.allclose(refit, fitted.score(data), atol=1e-6), det.name
    lr = SupervisedDetector("lr").set_params(strategy="class_weight", estimator_params={"C": 0.2})
    model = lr._pipeline()[-1]
    assert lr.name == "lr+class_weight" and model.C == 0.2 and model.class_weight == "balanced"


def test_grid_search_cv_tunes_a_detector():
    from sklearn.model_selection import GridSearchCV

    X, y = _imbalanced(n=1500)
    grid = {
        "estimator_params": [{"C": 0.01}, {"C": 1.0}],
        "strategy": ["class_weight", "undersample"],
    }
    ap = lambda det, Xs, ys: average_precision_score(ys, det.score(Xs))  # noqa: E731
    search = GridSearchCV(SupervisedDetector("lr"), grid, cv=3, scoring=ap).fit(X, y)
    assert set(search.best_params_) == {"estimator_params", "strategy"}
    assert search.best_estimator_.pipeline_ is not None and len(search.cv_results_["params"]) == 4
