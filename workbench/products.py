"""Writing products safely: one mechanism shared by every writer of the workbench.

A product (a dataset, a report, a model package, a feature file, a JSON or table file) is
written by :func:`writing`:

* the target is checked first: an empty path is refused, an existing target needs
  ``overwrite``, and an existing *directory* is replaced only when the workbench wrote it
  (it carries the marker file :data:`MARKER` listing its entries, or it has the layout of
  its kind, e.g. a dataset card) and holds nothing else; anything else is refused;
* an exclusive ``fcntl`` lock is taken on ``.<name>.lock`` beside the target for the whole
  write; a second writer is refused with a message naming the running one (pid, command,
  start time);
* the product is written into a per-run temporary ``.<name>.wb-tmp-<pid>-<random>`` beside
  the target (same file system, so the final rename is atomic), which only its own run
  removes; under the lock, leftovers of crashed runs (their temporaries and half-replaced
  old copies) are removed before writing;
* on success the marker is written and the temporary renamed into place; on any error the
  temporary is removed and the target is untouched.

Temporary work files of a run (scratch space of a tool) go to :func:`scratch_dir`, a
directory under the product's own temporary directory, removed on exit.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.validation import InputError

MARKER = ".workbench-product.json"
TMP_TAG, OLD_TAG = ".wb-tmp-", ".wb-old-"
LEGACY_TAGS = (".tmp-", ".old-")  # what earlier versions of the writers left after a crash


@dataclass(frozen=True)
class Kind:
    """A kind of directory product: its name, the file that identifies a directory of this
    kind written without a marker, and the entry names such a directory may hold."""

    name: str
    signature: str
    entries: Callable[[Path], set[str]]


KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> Kind:
    """Make a directory kind known to :func:`writing` (datasets, reports, packages)."""
    KINDS[kind.name] = kind
    return kind


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _refused(path: Path, allowed: str) -> InputError:
    return InputError("out", str(path), allowed)


def _unwritable(path: Path, exc: OSError) -> InputError:
    return _refused(path, f"a path inside a writable directory ({exc.strerror})")


def check_target(out: str | os.PathLike, overwrite: bool, kind: str | None = None) -> Path:
    """Validate an output path before any work: not empty, inside a writable directory, and
    an existing target only with ``overwrite`` and only if it is ours to replace
    (``kind`` names a directory product; None means a single file)."""
    if out is None or str(out).strip() == "":
        raise InputError("out", out, "a non-empty output path")
    path = Path(out)
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise _refused(
                path, "a path that does not exist yet (or pass overwrite / --overwrite)"
            )
        if kind is None and not path.is_file():
            raise _refused(path, "a file path (a directory or special file is in the way)")
        if kind is not None:
            _check_ours(path, kind)
    probe = path.absolute().parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise _refused(path, "a path inside a writable directory")
    try:  # access() says yes to root everywhere: try it (a /proc or read-only mount says no)
        tempfile.TemporaryFile(dir=probe).close()
    except OSError as exc:
        raise _unwritable(path, exc) from None
    return path


def _check_ours(path: Path, kind: str) -> None:
    """Raise unless ``path`` is a directory this workbench wrote, holding only its own entries."""
    allowed = (
        "a new path, or a directory the workbench wrote (it is replaced; nothing else is deleted)"
    )
    if path.is_symlink() or not path.is_dir():
        raise InputError("out", str(path), allowed + "; a file is in the way")
    present = {p.name for p in path.iterdir()}
    marker = path / MARKER
    if marker.is_file():
        try:
            own = set(json.loads(marker.read_text())["entries"]) | {MARKER}
        except (OSError, ValueError, KeyError, TypeError):
            raise InputError("out", str(path), allowed + f"; its {MARKER} is unreadable") from None
    else:
        spec = KINDS.get(kind)
        if spec is None or spec.signature not in present:
            raise _refused(path, allowed + f"; it has no {MARKER} (not written by the workbench)")
        own = spec.entries(path)
    foreign = sorted(present - own)
    if foreign:
        names = ", ".join(foreign[:5])
        raise _refused(path, allowed + f"; it holds files the workbench did not write: {names}")


def _describe(holder: str) -> str:
    try:
        info = json.loads(holder)
        return f"pid {info['pid']} ({info['command']}, since {info['started']})"
    except (ValueError, KeyError, TypeError):
        return "another run"


@contextmanager
def target_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (the file ``.<name>.lock`` beside it) for the block;
    raise InputError naming the holder when another run has it."""
    lock = path.parent / f".{path.name}.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(path, exc) from None
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _unwritable(path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 4096, 0).decode(errors="replace")
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            who = _describe(holder)
            raise _refused(path, f"a path no other run is writing: {who} is writing it") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the lock file as we opened it: take the new one
    try:
        command = " ".join(sys.argv)[:200] or "python"
        info = {"pid": os.getpid(), "command": command, "started": _now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_leftovers(path: Path) -> list[Path]:
    """Remove what crashed runs left beside ``path`` (per-run temporaries, old copies);
    call only while holding the target's lock. Returns what was removed."""
    tags = (TMP_TAG, OLD_TAG, *LEGACY_TAGS)
    stale = [p for tag in tags for p in path.parent.glob(f".{path.name}{tag}*")]
    for p in stale:
        _remove(p)
    return stale


def _marker(tmp: Path, kind: str) -> None:
    entries = sorted(p.name for p in tmp.iterdir() if p.name != MARKER)
    doc = {"kind": kind, "entries": entries, "written_by": "fraud-workbench", "created_at": _now()}
    (tmp / MARKER).write_text(json.dumps(doc, indent=1) + "\n")


def _install(tmp: Path, path: Path, directory: bool) -> None:
    """Move the finished temporary into place (a directory replaces the old one after it is
    moved aside, so the old copy is kept until the new one is in place)."""
    if directory and path.exists():
        old = path.parent / f".{path.name}{OLD_TAG}{uuid.uuid4().hex[:8]}"
        path.rename(old)
        tmp.rename(path)
        _remove(old)
    else:
        os.replace(tmp, path)


@contextmanager
def writing(
    out: str | os.PathLike,
    *,
    overwrite: bool = False,
    kind: str | None = None,
    checked: bool = False,
) -> Iterator[Path]:
    """Yield a per-run temporary path beside ``out`` under an exclusive lock on ``out``; on
    success move it into place (with the marker for a directory ``kind``).

    ``kind`` None writes one file (the yielded path does not exist yet); a kind name writes
    a directory (the yielded directory exists and is empty). ``checked`` skips the target
    check when the caller already ran :func:`check_target` before costly work; it is run
    again under the lock either way.
    """
    path = Path(out) if checked else check_target(out, overwrite, kind)
    with target_lock(path):
        check_target(path, overwrite, kind)
        clean_leftovers(path)
        tmp = path.parent / f".{path.name}{TMP_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        if kind is None:  # tools that pick a format by the name (papermill, pandas) see it
            tmp = tmp.with_name(tmp.name + path.suffix)
        try:
            if kind is not None:
                _io(path, tmp.mkdir)
            yield tmp
            if kind is not None:
                _io(path, lambda: _marker(tmp, kind))
            _io(path, lambda: _install(tmp, path, kind is not None))
        finally:
            if tmp.exists() or tmp.is_symlink():
                _remove(tmp)


def _io(path: Path, step: Callable[[], Any]) -> Any:
    """Run a file-system step of writing ``path``; an OSError becomes an InputError on ``out``."""
    try:
        return step()
    except OSError as exc:
        reason = exc.strerror or exc
        raise _refused(path, f"a path the product can be written to ({reason})") from None


def write_file(
    path: str | os.PathLike, write: Callable[[Path], Any], overwrite: bool = True
) -> Path:
    """Call ``write`` on a per-run temporary of the file ``path`` and rename it into place."""
    with writing(path, overwrite=overwrite) as tmp:
        write(tmp)
    return Path(path)


SCRATCH = Path(tempfile.gettempdir()) / "fraud-workbench"


def _new_scratch(prefix: str, base: str | os.PathLike | None) -> Path:
    """A fresh ``<prefix>-<pid>-<random>`` directory under ``base`` (default
    :data:`SCRATCH`), after removing those of runs that are no longer alive."""
    root = Path(base) if base is not None else SCRATCH
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f"{prefix}-*"):
        pid = stale.name[len(prefix) + 1 :].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            _remove(stale)
    path = root / f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return path


@contextmanager
def scratch_dir(prefix: str, base: str | os.PathLike | None = None) -> Iterator[Path]:
    """A scratch directory for one block under ``base`` (default: the workbench's own
    temporary directory), removed on exit; a rerun removes scratch of dead runs."""
    path = _new_scratch(prefix, base)
    try:
        yield path
    finally:
        _remove(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
