"""Command line: ``python -m workbench generate|stats|verify|schema|features|report|book``."""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Sequence
from dataclasses import fields

from workbench._extras import MissingExtra
from workbench.validation import InputError


def _defaults(function) -> dict:
    """The keyword defaults of ``function``."""
    return {
        k: p.default
        for k, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _options(parser: argparse.ArgumentParser, defaults: dict, options: dict[str, str]) -> None:
    """Add ``options`` (flag -> help) whose defaults are ``defaults[name]`` (``--shard-size``
    reads ``shard_size``)."""
    for flag, text in options.items():
        parser.add_argument(flag, default=defaults[flag[2:].replace("-", "_")], help=text)


def _parser() -> argparse.ArgumentParser:
    from workbench.report_builds import check_report_parameters
    from workbench.simulate import BACKENDS, SimulationConfig, available_markets, generate

    # the defaults are those of the config and of the functions the commands call
    sim = {f.name: f.default for f in fields(SimulationConfig)}
    report = _defaults(check_report_parameters)
    parser = argparse.ArgumentParser(
        prog="python -m workbench", description="fraud-workbench command line"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="generate a synthetic dataset")
    _options(
        gen,
        sim,
        {
            "--customers": "number of customers (default %(default)s)",
            "--days": "length of the window in days (default %(default)s)",
            "--start": "first day, YYYY-MM-DD (default %(default)s)",
            "--seed": "random seed (default %(default)s)",
            "--market": f"market profile: {', '.join(available_markets())} or a YAML path",
            "--shard-size": "customers per shard (default %(default)s)",
            "--scenarios": "fraud mix: default, none, or a mix YAML file",
            "--fraud-rate": "rescale the mix's scenario prevalences to this total share of "
            "customers (rings keep the mix's rates; 0: no fraud at all)",
        },
    )
    gen.add_argument("--out", required=True, help="output dataset directory")
    gen.add_argument(
        "--overwrite", action="store_true", help="replace an existing dataset at --out"
    )
    gen.add_argument(
        "--backend",
        default=_defaults(generate)["backend"],
        help=f"where shards run: {', '.join(BACKENDS)}",
    )
    gen.add_argument("--workers", default=None, help="parallel workers (default: CPU count)")
    gen.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    st = sub.add_parser("stats", help="print a summary of a dataset")
    st.add_argument("path", help="dataset directory")
    ver = sub.add_parser(
        "verify", help="check every part of a dataset against the SHA-256 its card records"
    )
    ver.add_argument("path", help="dataset directory")
    sub.add_parser("schema", help="print the dataset schema as Markdown")
    fe = sub.add_parser("features", help="compute point-in-time features to a Parquet file")
    src = fe.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", help="a workbench dataset directory")
    src.add_argument(
        "--table", help="an external CSV or Parquet transaction table (needs --mapping)"
    )
    fe.add_argument(
        "--mapping", help="YAML mapping of canonical input names to the table's columns"
    )
    fe.add_argument("--out", required=True, help="output Parquet file")
    fe.add_argument("--overwrite", action="store_true", help="replace an existing file at --out")
    fe.add_argument(
        "--engine",
        default="auto",
        help=(
            "auto (default), online (the compiled state; a workbench dataset) "
            "or duckdb (the SQL windows)"
        ),
    )
    fe.add_argument(
        "--labels",
        action="store_true",
        help="with --table: also write the labels and evaluation columns (is_fraud, "
        "fraud_confirmed_at, loss, ...) so the file can be evaluated as it is",
    )
    fe.add_argument(
        "--label-delay-days",
        default=None,
        help="label delay of the delayed risk features (default: the dataset's "
        "label delay, 7 for a table)",
    )
    rep = sub.add_parser("report", help="build an evaluation report (papermill) for one setting")
    rep.add_argument(
        "--out", required=True, help="output report directory (evaluation.html, metrics.json)"
    )
    _options(
        rep,
        {**report, "folds": report["n_folds"]},
        {
            "--customers": "customers of the generated dataset (default %(default)s)",
            "--days": "days of the generated dataset (default %(default)s)",
            "--seed": "random seed (default %(default)s)",
            "--fraud-rate": "share of customers with a fraud episode (default %(default)s)",
            "--scenarios": "fraud mix: default, none, or a mix YAML file",
            "--label-delay-days": "mean label delay in days (default: the mix's)",
            "--k": "daily alert budget (default %(default)s)",
            "--fee": "investigation cost per alert (default %(default)s)",
            "--replicates": "bootstrap replicates (default %(default)s)",
            "--folds": "prequential folds (default %(default)s)",
        },
    )
    rep.add_argument(
        "--overwrite", action="store_true", help="replace an existing report directory at --out"
    )
    book = sub.add_parser(
        "book", help="build the tutorial book: the pipeline's executed notebooks as a static site"
    )
    book.add_argument(
        "--pipeline",
        default=None,
        help="Ploomber pipeline file (default: the project's pipeline.yaml)",
    )
    book.add_argument(
        "--out",
        default=None,
        help="book directory (default build/book); the site is OUT/_build/html",
    )
    book.add_argument(
        "--rerun",
        action="store_true",
        help="execute notebooks again even when their executed copy is newer",
    )
    book.add_argument(
        "--screenshot",
        default=None,
        help="also save a PNG of the book's first page (headless Chromium)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 on bad input, with the reason on stderr)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "generate":
            from workbench.simulate import SimulationConfig, generate

            config = SimulationConfig(
                customers=args.customers,
                days=args.days,
                start=args.start,
                seed=args.seed,
                market=args.market,
                shard_size=args.shard_size,
                scenarios=args.scenarios,
                fraud_rate=args.fraud_rate,
            )
            path = generate(
                config,
                args.out,
                overwrite=args.overwrite,
                backend=args.backend,
                workers=args.workers,
                progress=not args.no_progress,
            )
            from workbench.dataset.reader import open_dataset

            card = open_dataset(path).card
            print(
                f"wrote {path}: {card['row_counts']['transactions']:,} transactions in "
                f"{card['generation_seconds']:.1f} s "
                f"({card['transactions_per_second']:,} per second)"
            )
        elif args.command == "stats":
            from workbench.dataset.reader import format_summary, summary

            print(format_summary(summary(args.path)))
        elif args.command == "verify":
            from workbench.dataset.reader import verify

            result = verify(args.path)
            print(
                f"verified {result['path']}: {result['parts']} parts, "
                f"{result['bytes']:,} bytes match the card "
                f"(content {result['content_hash'][:16]})"
            )
        elif args.command == "features":
            from workbench.features.external import load_mapping
            from workbench.features.store import dataset_source, table_source, write_features

            if args.table and not args.mapping:
                raise InputError("mapping", None, "a mapping file when --table is given")
            if args.labels and not args.table:
                raise InputError(
                    "labels",
                    True,
                    "--labels with --table only (a dataset keeps "
                    "its labels and evaluation columns)",
                )
            delay = args.label_delay_days
            if args.dataset:
                source = dataset_source(args.dataset, label_delay_days=delay)
            else:
                params = {} if delay is None else {"label_delay_days": delay}
                source = table_source(args.table, load_mapping(args.mapping), params)
            result = write_features(
                source, args.out, overwrite=args.overwrite, engine=args.engine, labels=args.labels
            )
            skipped = "; ".join(f"{k}: {v}" for k, v in result["skipped"].items())
            print(
                f"wrote {result['path']}: {result['rows']:,} rows, "
                f"{result['features']} features ({result['engine']} engine)"
                + (", with labels and evaluation columns" if result["labels"] else "")
                + (f"; skipped: {skipped}" if skipped else "")
            )
            for note in result["notes"]:
                print(f"note: {note}")
        elif args.command == "report":
            from workbench.report_builds import build_report

            out = build_report(
                args.out,
                overwrite=args.overwrite,
                customers=args.customers,
                days=args.days,
                seed=args.seed,
                fraud_rate=args.fraud_rate,
                scenarios=args.scenarios,
                label_delay_days=args.label_delay_days,
                k=args.k,
                fee=args.fee,
                replicates=args.replicates,
                n_folds=args.folds,
            )
            print(f"wrote {out / 'evaluation.html'} and {out / 'metrics.json'}")
        elif args.command == "book":
            from workbench.book import OUT, PIPELINE, build_book

            index = build_book(args.pipeline or PIPELINE, args.out or OUT, rerun=args.rerun)
            print(f"wrote {index.parent} (open {index})")
            if args.screenshot:
                from workbench.browser import screenshot

                remote = screenshot(index.as_uri(), args.screenshot)
                if remote:
                    raise RuntimeError(f"the book loads from the internet: {remote}")
                print(f"wrote {args.screenshot}")
        else:
            from workbench.dataset.schema import markdown

            print(markdown())
    except (InputError, MissingExtra) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
