"""The training choices the deep supervised detectors share (sequence models and the
feed-forward network), checked in one place, and what follows from them: the class weights,
the input transform and the rows held out for early stopping. No TensorFlow here.

Defaults follow the field's reference recipe for fraud networks: batches of 64, 20 epochs, dropout
0.2 (the learning rates are each detector's, tuned on the terminal-grid benchmark); no class
weighting (the binary cross-entropy on the data's prior); no rows held back from training unless
asked (``holdout``): early stopping runs only on a validation block (``fit(..., validation=...)``,
which the protocols pass) or a holdout.
"""

from __future__ import annotations

import numpy as np

from workbench.validation import InputError, check_choice, check_float, check_int

TRANSFORMS = ("log", "standard", "none")
MONITORS = ("loss", "pr_auc")
CLASS_WEIGHTS = ("none", "balanced")


def check_training(det) -> None:
    """Validate the shared training parameters of ``det`` (each error names the parameter,
    its value and what is allowed); the values stay as given (scikit-learn's ``clone``
    needs them unchanged)."""
    check_float("learning_rate", det.learning_rate, 1e-7, 1.0)
    check_float("dropout", det.dropout, 0.0, 0.9)
    check_int("batch_size", det.batch_size, 1, 1 << 20)
    check_int("epochs", det.epochs, 1, 1000)
    check_int("patience", det.patience, 0, 1000)
    check_choice("transform", det.transform, TRANSFORMS)
    check_float("holdout", det.holdout, 0.0, 0.5)
    check_choice("monitor", det.monitor, MONITORS)
    check_int("seed", det.seed, 0)
    cw = det.class_weight
    if isinstance(cw, (str, bool)):
        if cw not in CLASS_WEIGHTS:
            raise InputError("class_weight", cw, "'none', 'balanced' or a positive fraud weight")
    else:
        check_float("class_weight", cw, 1e-6, 1e6)


def class_weights(y: np.ndarray, class_weight: str | float) -> tuple[float, float]:
    """(legitimate, fraud) sample weights: 1 and 1 for ``"none"``; scikit-learn's
    ``"balanced"`` (n / (2 n_class), so both classes weigh half of the total); for a number,
    1 and that number."""
    if class_weight == "none":
        return 1.0, 1.0
    if class_weight == "balanced":
        pos = min(max(float(np.mean(y)), 1e-6), 1 - 1e-6)
        return 0.5 / (1 - pos), 0.5 / pos
    return 1.0, float(class_weight)


def squash(x: np.ndarray) -> np.ndarray:
    """sign(x) * log1p(|x|): seconds since the previous row, amounts, distances and counts are
    heavy-tailed; standardising them raw leaves most rows near zero."""
    return np.sign(x) * np.log1p(np.abs(x))


def pre_transform(x: np.ndarray, transform: str) -> np.ndarray:
    """The transform before standardisation: ``"log"`` squashes (:func:`squash`);
    ``"standard"`` and ``"none"`` leave values as they are (``"none"`` then skips the
    standardisation too)."""
    return squash(x) if transform == "log" else x


def training_rows(
    y: np.ndarray, holdout: float, validation_given: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """(rows trained on, rows held out for early stopping or None). A validation block
    wins over the holdout; with ``holdout`` > 0 the last share of the rows (the latest in
    time when rows are in time order) is held out; with neither, every row trains and there
    is no early stopping."""
    rows = np.arange(len(y))
    if validation_given or holdout == 0:
        return rows, None
    cut = int(round(len(y) * (1 - holdout)))
    if len(np.unique(y[:cut])) != 2 or cut == len(y):
        raise InputError(
            "holdout",
            holdout,
            f"a share leaving both classes in the first rows "
            f"and at least one row held out ({len(y)} rows)",
        )
    return rows[:cut], rows[cut:]


def check_labels(y: np.ndarray | None, n: int, param: str = "y") -> np.ndarray:
    """``y`` as float32 labels, one per row and with both classes."""
    if y is None or len(y) != n or len(np.unique(np.asarray(y))) != 2:
        raise InputError(param, None if y is None else len(y), f"{n} labels with both classes")
    return np.asarray(y, np.float32)
