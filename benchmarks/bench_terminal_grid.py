"""Benchmark: detection quality on a terminal-grid dataset of the reference handbook's kind,
the handbook's 15 baseline features against the workbench's own default features.

    python benchmarks/bench_terminal_grid.py            # the handbook's size (~1.78M rows)
    python benchmarks/bench_terminal_grid.py --smoke    # a tiny run that checks the script works

Data: :func:`workbench.terminal_grid.terminal_grid_transactions` at the handbook's size
(5,000 customers, 10,000 terminals, 183 days from 2018-04-01, seed 0; a 7-day label delay).
Protocol: the reference's single split (:func:`workbench.terminal_grid.reference_split`):
train 7 days from 2018-07-25 (the handbook's baseline start), delay 7, test 7, test rows
of cards already known to be compromised removed; models train on the labels known when the
test block starts (with the 7-day delay: all of the training block's). Metrics on the test
block: ROC AUC, average precision and card precision@100 (per day the 100 cards with the
highest score, cards caught on earlier test days removed, averaged over the test days).

Feature sets: (a) ``reference``, the 15 baseline features computed from the handbook's
description (:func:`workbench.terminal_grid.baseline_features`); (b) ``workbench``, the
workbench's own default features computed by the feature store from the table through
the column mapping (:data:`workbench.terminal_grid.MAPPING`; the external path, as for any
table). Models, each with the workbench's defaults: logistic regression, random forest,
LightGBM (the field's gradient boosting), scikit-learn's histogram gradient boosting and the
default sequence model (an LSTM over each card's last 5 transactions of the same features,
the reference's length). Prints the two feature sets side by side and writes
benchmarks/results/bench_terminal_grid.json. ``--terminal-risk`` adds a third set, the
workbench's features plus the reference's six delayed terminal features. Measured with it:
33 minutes on the 2 shared cores (load about 10; the five LSTM fits are half of it).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import bench_parser, write_results  # noqa: E402

from workbench.evaluate.frame import external_frame  # noqa: E402
from workbench.evaluate.protocol import (
    EvaluationConfig,
    evaluate_scores,  # noqa: E402
    single_split,
)
from workbench.features.roles import feature_columns  # noqa: E402
from workbench.features.sequences import Sequences, iter_sequence_chunks  # noqa: E402
from workbench.models.sequence import SequenceDetector  # noqa: E402
from workbench.models.supervised import SupervisedDetector  # noqa: E402
from workbench.terminal_grid import (
    BASELINE_FEATURES,
    MAPPING,
    baseline_features,  # noqa: E402
    evaluation_frame,
    reference_split,
    terminal_grid_transactions,
)

FULL = {
    "customers": 5000,
    "terminals": 10_000,
    "days": 183,
    "seed": 0,
    "train_start": "2018-07-25",
}
SMOKE = {"customers": 300, "terminals": 600, "days": 60, "seed": 0, "train_start": "2018-05-05"}
SEQUENCE_STEPS = 5  # the reference's (and LastRows') sequence length
METRICS = ("average_precision", "roc_auc", "card_precision_at_k")
TABULAR = {
    "lr": lambda: SupervisedDetector("lr", "none"),
    "rf": lambda: SupervisedDetector("rf", "none"),
    "lgbm": lambda: SupervisedDetector("lgbm", "none"),
    "hgb": lambda: SupervisedDetector("hgb", "none"),
}
SEQUENCE = {"lstm": lambda: SequenceDetector()}


def feature_frames(
    tx: pd.DataFrame, terminal_risk: bool = False
) -> dict[str, tuple[pd.DataFrame, list[str]]]:
    """The evaluation frame with each feature set, and the set's columns; with
    ``terminal_risk`` also the workbench's features plus the reference's six delayed
    terminal features (the family the workbench's defaults lack)."""
    labels = evaluation_frame(tx)
    reference = labels.merge(
        baseline_features(tx).rename(columns={"TRANSACTION_ID": "txn_id"}),
        on="txn_id",
        validate="one_to_one",
    )
    ours = external_frame(tx, MAPPING)
    # the table's scenarios, which the external path cannot know, for recall per scenario
    ours = ours.drop(columns="fraud_type").merge(
        labels[["txn_id", "fraud_type"]], on="txn_id", validate="one_to_one"
    )
    sets = {
        "reference": (reference, list(BASELINE_FEATURES)),
        "workbench": (ours, feature_columns(ours)),
    }
    if terminal_risk:
        terminal = [c for c in BASELINE_FEATURES if c.startswith("TERMINAL_ID_")]
        both = ours.merge(reference[["txn_id", *terminal]], on="txn_id", validate="one_to_one")
        sets["workbench+terminal"] = (both, [*sets["workbench"][1], *terminal])
    return sets


def sequence_builder(
    frame: pd.DataFrame, columns: list[str], needed: np.ndarray, k: int = SEQUENCE_STEPS
) -> Callable[[np.ndarray], Sequences]:
    """The input builder of :class:`workbench.features.sequences.LastRows` (each row's card
    sequence: its last ``k`` transactions, the row included, histories from all earlier
    rows) holding only the ``needed`` rows' sequences, so memory is the split's size, not
    the whole table's (1.78M rows x k x features); the protocol aligns them by txn_id."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.register("frame", frame[["txn_id", "ts", "card_id", *columns]])
    wanted = frame.loc[needed, "txn_id"].to_numpy()
    xs, masks, ids = [], [], []
    for part in iter_sequence_chunks(con, "frame", columns, k, entity="card_id"):
        keep = np.isin(part.txn_id, wanted)
        xs.append(part.x[keep]), masks.append(part.mask[keep]), ids.append(part.txn_id[keep])
    kept = Sequences(np.concatenate(xs), np.concatenate(masks), np.concatenate(ids), list(columns))
    frame_ids = frame["txn_id"].to_numpy()
    return lambda rows: kept.aligned(frame_ids[rows], "rows")


def run_set(
    frame: pd.DataFrame,
    columns: list[str],
    start: str,
    config: EvaluationConfig,
    models: list[str],
) -> dict[str, dict]:
    """Every model on one feature set: its metrics, recall at the budget per scenario, and
    its fit and score seconds (inputs built outside them)."""
    split = reference_split(frame, start)
    build = sequence_builder(frame, columns, split.train | split.test)
    factories = {m: f for m, f in {**TABULAR, **SEQUENCE}.items() if m in models}
    out = {}
    for name, factory in factories.items():
        inputs = {name: build} if name in SEQUENCE else None
        test = single_split({name: factory}, frame, columns, split, inputs=inputs, progress=False)
        timing = test.attrs["timings"][name]
        seconds = timing["fit_seconds"] + timing["score_seconds"]
        e = evaluate_scores(test, [name], config, intervals=False, progress=False)[name]
        out[name] = {
            **{m: round(float(e.metrics[m]), 4) for m in METRICS},
            "recall_at_budget": round(float(e.metrics["recall_at_budget"]), 4),
            "recall_by_scenario": e.by_scenario["recall"].round(4).to_dict(),
            "fit_seconds": round(timing["fit_seconds"], 1),
            "score_seconds": round(timing["score_seconds"], 1),
        }
        print(
            f"  {name}: AP {out[name]['average_precision']:.3f}  AUC {out[name]['roc_auc']:.3f}"
            f"  CP@{config.k} {out[name]['card_precision_at_k']:.3f}  ({seconds:.0f} s)",
            flush=True,
        )
    sizes = {
        "train_rows": int(split.train.sum()),
        "test_rows": int(split.test.sum()),
        "test_frauds": int(frame.loc[split.test, "is_fraud"].sum()),
    }
    return out | {"_split": sizes}


def main() -> None:
    parser = bench_parser(__doc__, "bench_terminal_grid")
    parser.add_argument(
        "--terminal-risk",
        action="store_true",
        help="also the workbench's features plus the reference's six delayed terminal features",
    )
    choices = [*TABULAR, *SEQUENCE]
    parser.add_argument(
        "--models",
        default=",".join(choices),
        help="comma-separated models to run (default: all of " + ", ".join(choices) + ")",
    )
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models or set(models) - set(choices):
        parser.error(
            f"invalid --models={args.models!r}: allowed is a comma-separated list of "
            + ", ".join(choices)
        )
    p = SMOKE if args.smoke else FULL
    config = EvaluationConfig(k=100)
    started = time.perf_counter()
    tx = terminal_grid_transactions(p["customers"], p["terminals"], p["days"], seed=p["seed"])
    generated = time.perf_counter() - started
    scenario = tx["TX_FRAUD_SCENARIO"].value_counts().sort_index()
    print(
        f"{len(tx):,} transactions, {tx['TX_FRAUD'].mean():.2%} fraud "
        f"(per scenario {scenario.to_dict()}), generated in {generated:.1f} s",
        flush=True,
    )
    started = time.perf_counter()
    frames = feature_frames(tx, args.terminal_risk)
    featured = time.perf_counter() - started
    results = {}
    for name, (frame, columns) in frames.items():
        print(f"{name} features ({len(columns)}):", flush=True)
        results[name] = run_set(frame, columns, p["train_start"], config, models)
    splits = {name: r.pop("_split") for name, r in results.items()}
    models = list(results["reference"])
    heads = "".join(f" {f'{n} ({len(frames[n][1])})':>22}" for n in results)
    print(f"\n{'model':<6} {'metric':<20}{heads} {'workbench - reference':>22}")
    for m in models:
        for metric in METRICS:
            values = [results[n][m][metric] for n in results]
            gap = results["workbench"][m][metric] - results["reference"][m][metric]
            print(
                f"{m:<6} {metric:<20}"
                + "".join(f" {v:>22.3f}" for v in values)
                + f" {gap:>+22.3f}"
            )
    doc = {
        "parameters": {
            **p,
            "train_days": 7,
            "delay_days": 7,
            "test_days": 7,
            "k": config.k,
            "label_delay_days": 7,
            "sequence_steps": SEQUENCE_STEPS,
            "models": {
                "lr": "SupervisedDetector('lr', 'none')",
                "rf": "SupervisedDetector('rf', 'none')",
                "lgbm": "SupervisedDetector('lgbm', 'none') (LightGBM)",
                "hgb": "SupervisedDetector('hgb', 'none') (scikit-learn)",
                "lstm": f"SequenceDetector() over LastRows-style sequences, k={SEQUENCE_STEPS}",
            },
            "lstm_params": SEQUENCE["lstm"]().get_params(),
        },
        "dataset": {
            "transactions": len(tx),
            "fraud_rate": round(float(tx["TX_FRAUD"].mean()), 5),
            "by_scenario": {int(k): int(v) for k, v in scenario.items()},
            "generate_seconds": round(generated, 1),
            "features_seconds": round(featured, 1),
        },
        "feature_sets": {name: cols for name, (_, cols) in frames.items()},
        "splits": splits,
        "results": results,
        "difference_workbench_minus_reference": {
            m: {
                metric: round(results["workbench"][m][metric] - results["reference"][m][metric], 4)
                for metric in METRICS
            }
            for m in models
        },
    }
    print(f"wrote {write_results('bench_terminal_grid', doc, args.out)}")


if __name__ == "__main__":
    main()
