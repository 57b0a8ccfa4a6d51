"""Datasets: the built-in demo scenario and loaders for public annotated data.

Each loader takes ``path=None``: with a path it reads the files there, without
one it downloads them once with pooch into the user cache (see
:func:`cache_dir`) and reads them from there.
"""

from __future__ import annotations

import importlib

_PUBLIC = {
    "load_demo": "llmdrift.datasets.demo",
    "load_chen2023": "llmdrift.datasets.chen2023",
    "load_pandalm": "llmdrift.datasets.annotated",
    "load_topical_chat": "llmdrift.datasets.annotated",
    "load_llmbar": "llmdrift.datasets.annotated",
    "load_judgebench": "llmdrift.datasets.annotated",
    "load_calibration_source": "llmdrift.datasets.annotated",
    "AnnotatedSet": "llmdrift.datasets.annotated",
    "Dataset": "llmdrift.datasets.demo",
    "cache_dir": "llmdrift.datasets._cache",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    try:
        module = _PUBLIC[name]
    except KeyError:
        raise AttributeError(
            f"module 'llmdrift.datasets' has no attribute {name!r}"
        ) from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
