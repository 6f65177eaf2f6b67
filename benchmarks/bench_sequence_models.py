"""Benchmark: the default sequence model against feed-forward networks on the same inputs,
on a terminal-grid dataset of the reference handbook's kind, in prequential folds.

    python benchmarks/bench_sequence_models.py                    # every model, 3 folds
    python benchmarks/bench_sequence_models.py --models lstm,ffn  # a subset
    python benchmarks/bench_sequence_models.py --smoke            # a tiny run that checks
                                                                  # the script works

Data: :func:`workbench.terminal_grid.terminal_grid_transactions`, by default with the
handbook's 5,000 customers and 10,000 terminals (``--customers``, ``--terminals``; ``--days``
days from 2018-04-01, seed 0, a 7-day label delay) and its 15 baseline features.
Protocol: the reference's (train 7 days, delay 7, test 7; test rows of cards already known
to be compromised removed), as ``--folds``
prequential folds shifted by a week (:func:`workbench.evaluate.protocol.prequential`; no
validation block: the deep models train their ``epochs`` on every training row). Inputs: the
feed-forward networks and the gradient-boosting baseline take each transaction's 15
features; the sequence models each card's last ``--k`` transactions of the same 15
(:class:`workbench.features.sequences.LastRows`). Prints AP, AUC and card precision@100 as
mean ± standard deviation over folds (and seeds, ``--seeds``), with fit and score seconds,
and writes benchmarks/results/bench_sequence_models.json.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import bench_parser, write_results  # noqa: E402

from workbench.evaluate.protocol import EvaluationConfig, prequential  # noqa: E402
from workbench.features.sequences import LastRows  # noqa: E402
from workbench.features.splits import drop_known_compromised, prequential_folds  # noqa: E402
from workbench.models.feedforward import FeedForwardDetector  # noqa: E402
from workbench.models.sequence import SequenceDetector  # noqa: E402
from workbench.models.supervised import SupervisedDetector  # noqa: E402
from workbench.terminal_grid import (
    BASELINE_FEATURES,
    baseline_features,  # noqa: E402
    evaluation_frame,
    terminal_grid_transactions,
)

# name -> (factory of a seed, takes sequences); the "ffn" rows are the feed-forward grid the
# tuned network is picked from, the "lstm" rows the default and one change at a time
MODELS = {
    "lgbm": (lambda s: SupervisedDetector("lgbm", "none", seed=s), False),
    "ffn": (lambda s: FeedForwardDetector(seed=s), False),
    "ffn_lr1e-4": (lambda s: FeedForwardDetector(learning_rate=1e-4, seed=s), False),
    "ffn_100": (lambda s: FeedForwardDetector(hidden=(100,), seed=s), False),
    "ffn_log": (lambda s: FeedForwardDetector(transform="log", seed=s), False),
    "lstm": (lambda s: SequenceDetector(seed=s), True),
    "lstm_log": (lambda s: SequenceDetector(transform="log", seed=s), True),
    "lstm_lr1e-4": (lambda s: SequenceDetector(learning_rate=1e-4, seed=s), True),
    "lstm_lr2e-3": (lambda s: SequenceDetector(learning_rate=2e-3, seed=s), True),
    "lstm_lr1e-3": (lambda s: SequenceDetector(learning_rate=1e-3, seed=s), True),
    "lstm_balanced": (lambda s: SequenceDetector(class_weight="balanced", seed=s), True),
    "lstm_head500": (lambda s: SequenceDetector(head_units=500, seed=s), True),
    "lstm_lr1e-4_e40": (lambda s: SequenceDetector(learning_rate=1e-4, epochs=40, seed=s), True),
}
METRICS = ("average_precision", "roc_auc", "card_precision_at_k", "fit_seconds", "score_seconds")


def main() -> None:
    parser = bench_parser(__doc__, "bench_sequence_models")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated names")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seeds", default="0", help="comma-separated model seeds")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--terminals", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=80)
    parser.add_argument("--k", type=int, default=5, help="transactions per sequence")
    args = parser.parse_args()
    names = args.models.split(",")
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"--models: unknown {unknown}; allowed: {', '.join(MODELS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    size = (
        (300, 600, 60, 1)
        if args.smoke
        else (args.customers, args.terminals, args.days, args.folds)
    )
    started = time.perf_counter()
    tx = terminal_grid_transactions(size[0], size[1], size[2], seed=0)
    features = baseline_features(tx).rename(columns={"TRANSACTION_ID": "txn_id"})
    frame = evaluation_frame(tx).merge(features, on="txn_id", validate="one_to_one")
    columns = list(BASELINE_FEATURES)
    prepared = time.perf_counter() - started
    folds = prequential_folds(frame["ts"], size[3], train_days=7, gap_days=7, test_days=7)
    folds = [
        (
            train,
            drop_known_compromised(
                test,
                frame["ts"],
                frame["card_id"],
                frame["fraud_confirmed_at"],
                frame["is_fraud"],
                frame.loc[train, "ts"].min().normalize(),
            ),
        )
        for train, test in folds
    ]
    windows = LastRows(frame, columns, k=args.k, entity="card_id")
    print(
        f"{len(frame):,} transactions, {frame['is_fraud'].mean():.2%} fraud, prepared in "
        f"{prepared:.0f} s; {len(folds)} folds of ~{int(folds[0][0].sum()):,} training rows",
        flush=True,
    )
    config = EvaluationConfig(k=100)
    rows = []
    for name in names:
        factory, sequential = MODELS[name]
        for seed in seeds:
            per_fold, _ = prequential(
                {name: lambda f=factory, s=seed: f(s)},
                frame,
                columns,
                folds,
                config,
                inputs={name: windows} if sequential else None,
                progress=False,
            )
            rows += [{**r, "seed": seed} for r in per_fold.to_dict("records")]
            ap = per_fold["average_precision"]
            print(
                f"  {name} seed {seed}: AP per fold {ap.round(3).tolist()}, fit "
                f"{per_fold['fit_seconds'].mean():.0f} s per fold",
                flush=True,
            )
    table = pd.DataFrame(rows)
    summary = table.groupby("model")[list(METRICS)].agg(["mean", "std"]).loc[names]
    print(f"\n{'model':<16} {'AP':>15} {'AUC':>15} {'CP@100':>15} {'fit s':>7}")
    for name, r in summary.iterrows():
        cells = [f"{r[(m, 'mean')]:.3f} ± {r[(m, 'std')]:.3f}" for m in METRICS[:3]]
        print(
            f"{name:<16} {cells[0]:>15} {cells[1]:>15} {cells[2]:>15} "
            f"{r[('fit_seconds', 'mean')]:>7.0f}"
        )
    doc = {
        "parameters": {
            "customers": size[0],
            "terminals": size[1],
            "days": size[2],
            "folds": size[3],
            "seeds": seeds,
            "k": args.k,
            "train_days": 7,
            "delay_days": 7,
            "test_days": 7,
            "cards_per_day": config.k,
        },
        "transactions": len(frame),
        "prepare_seconds": round(prepared, 1),
        "per_fold": table[["model", "seed", "fold", *METRICS]].round(4).to_dict("records"),
        "summary": {
            name: {
                f"{m}_{s}": round(float(r[(m, s)]), 4) for m in METRICS for s in ("mean", "std")
            }
            for name, r in summary.iterrows()
        },
    }
    print(f"wrote {write_results('bench_sequence_models', doc, args.out)}")


if __name__ == "__main__":
    main()
