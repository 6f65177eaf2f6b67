"""Lazy public names of a package: ``import workbench`` (or a subpackage) imports nothing
heavy; a public name is imported from its module the first time it is used."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str,
    attributes: Mapping[str, Iterable[str]],
    modules: Iterable[str] = (),
    before: Callable[[], None] | None = None,
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for ``package``.

    ``attributes`` maps a module (dotted, relative to ``package``) to the public names it
    defines; ``modules`` are public submodules; ``before`` runs once before the first name is
    loaded (e.g. to register a plug-in the names rely on).
    """
    where = {name: module for module, names in attributes.items() for name in names}
    public_modules = set(modules)
    names = sorted([*where, *public_modules])
    if len(names) != len(where) + len(public_modules):
        raise ValueError(f"{package}: a public name is listed twice")

    def __getattr__(name: str) -> Any:
        if name in where:
            if before is not None:
                before()
            value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        elif name in public_modules:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(names) | set(vars(sys.modules[package])))

    return names, __getattr__, __dir__
