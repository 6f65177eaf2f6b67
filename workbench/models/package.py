"""Model packages: a trained detector as a directory that can be verified before loading.

Layout: ``detector.joblib`` (the detector object: parameters, preprocessing, scikit-learn
models), ``model.keras`` for Keras detectors (Keras' native format; the joblib file then
holds everything else), ``features.json`` (the input features in order), ``metrics.json``,
and ``manifest.json`` (format version, detector class, package versions, the training
dataset's card reference with its content hash, and the SHA-256 of every other file). The
directory is written by :func:`workbench.products.writing` (locked, per-run temporary,
renamed into place; only a package directory is ever replaced).

Loading verifies every hash, the format version, the scikit-learn / imbalanced-learn / Keras
versions the package was written with (same major.minor) and, if given, the expected feature
list, and fails with a clear error otherwise. **``detector.joblib`` is a pickle: load packages
only from sources you trust** (a hash check catches accidents and tampering after writing, not
a malicious author).
"""

from __future__ import annotations

import json
import os
import platform
from importlib.metadata import version
from pathlib import Path
from typing import Any

import joblib

from workbench.dataset.reader import open_dataset
from workbench.models.base import Detector
from workbench.products import MARKER, Kind, check_target, register_kind, sha256_file, writing
from workbench.validation import InputError

FORMAT_VERSION = 1
CHECKED_PACKAGES = ("scikit-learn", "imbalanced-learn", "keras")
MANIFEST = "manifest.json"


def _versions() -> dict[str, str]:
    names = (
        "numpy",
        "pandas",
        "scikit-learn",
        "imbalanced-learn",
        "keras",
        "tensorflow",
        "fraud-workbench",
    )
    return {"python": platform.python_version(), **{n: version(n) for n in names}}


def save_package(
    detector: Detector,
    out: str | os.PathLike,
    dataset: str | os.PathLike | None = None,
    metrics: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``detector`` (fitted) as a package directory at ``out``; ``dataset`` is the
    training dataset whose card is referenced; ``metrics`` are stored alongside."""
    if not isinstance(detector, Detector) or getattr(detector, "features_", None) is None:
        raise InputError("detector", type(detector).__name__, "a fitted workbench Detector")
    path = check_target(out, overwrite, PACKAGE.name)
    card = open_dataset(dataset).card if dataset is not None else None
    with writing(path, overwrite=overwrite, kind=PACKAGE.name, checked=True) as tmp:
        attr = getattr(detector, "keras_attr", None)
        model = getattr(detector, attr) if attr else None
        if model is not None:
            model.save(tmp / "model.keras")
            setattr(detector, attr, None)
        try:
            joblib.dump(detector, tmp / "detector.joblib")
        finally:
            if model is not None:
                setattr(detector, attr, model)
        (tmp / "features.json").write_text(json.dumps(detector.features_, indent=1))
        (tmp / "metrics.json").write_text(json.dumps(metrics or {}, indent=2, default=float))
        files = sorted(p.name for p in tmp.iterdir())
        manifest = {
            "format_version": FORMAT_VERSION,
            "detector": f"{type(detector).__module__}.{type(detector).__qualname__}",
            "name": detector.name,
            "supervised": detector.supervised,
            "versions": _versions(),
            "params": detector.get_params(deep=False),
            "dataset": None
            if card is None
            else {
                "path": str(Path(dataset).resolve()),
                "name": card.get("name"),
                "seed": card.get("seed"),
                "created_at": card.get("created_at"),
                "config": card.get("config"),
                "fraud_mix": card.get("fraud_mix"),
                "content_hash": card.get("content_hash"),
            },
            "files": {f: sha256_file(tmp / f) for f in files},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    return path


def _package_entries(root: Path) -> set[str]:
    """The files a package written without a marker holds: its manifest and what it lists."""
    try:
        return {MANIFEST, *json.loads((root / MANIFEST).read_text())["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {MANIFEST}


PACKAGE = register_kind(Kind("package", MANIFEST, _package_entries))


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The package's manifest, after checking every file against its SHA-256 and the format
    and package versions; raises InputError naming what does not match."""
    root = Path(path)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        raise InputError(
            "package", str(root), f"a model package directory with a readable {MANIFEST}"
        ) from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise InputError(
            "package",
            str(root),
            f"a package of format version {FORMAT_VERSION} "
            f"(this one: {manifest.get('format_version')})",
        )
    present = sorted(p.name for p in root.iterdir() if p.name not in (MANIFEST, MARKER))
    if present != sorted(manifest["files"]):
        raise InputError(
            "package",
            str(root),
            f"exactly the files of its manifest ({sorted(manifest['files'])}; found {present})",
        )
    for name, digest in manifest["files"].items():
        if sha256_file(root / name) != digest:
            raise InputError(
                f"package file {name}",
                str(root / name),
                "a file whose SHA-256 matches the manifest (it was changed after writing)",
            )
    here = _versions()
    for pkg in CHECKED_PACKAGES:
        wrote, have = manifest["versions"].get(pkg, "?"), here[pkg]
        if wrote.split(".")[:2] != have.split(".")[:2]:
            raise InputError(
                "package",
                str(root),
                f"a package written with {pkg} {'.'.join(have.split('.')[:2])}.x "
                f"(it was written with {wrote})",
            )
    return manifest


def load_package(path: str | os.PathLike, features: list[str] | None = None) -> Detector:
    """Verify (see :func:`read_manifest`) and load a package; with ``features``, the package's
    feature list must equal it."""
    root = Path(path)
    read_manifest(root)
    stored = json.loads((root / "features.json").read_text())
    if features is not None and list(features) != stored:
        extra, missing = sorted(set(features) - set(stored)), sorted(set(stored) - set(features))
        raise InputError(
            "features",
            f"{len(features)} columns",
            f"the package's {len(stored)} features in order "
            f"(missing {missing[:5]}, extra {extra[:5]})",
        )
    detector = joblib.load(root / "detector.joblib")
    if (root / "model.keras").exists():
        # keras_parts registers the custom attention layer before the model is read
        from workbench.models.keras_parts import keras

        setattr(detector, detector.keras_attr, keras.models.load_model(root / "model.keras"))
    return detector
