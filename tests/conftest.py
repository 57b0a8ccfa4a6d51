"""Shared fixtures.

Public data lives in ``../shared/data`` beside the project (or where
``LLMDRIFT_SHARED_DATA`` points). Tests that need it use the ``shared_data``
fixture: when the folder is absent they skip with the reason, except under
``CI=true``, where a missing folder is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("LLMDRIFT_SHARED_DATA", ROOT.parent / "shared" / "data")
)


def shared_path(*parts: str) -> Path:
    """Path inside the shared data folder; skip (or fail under CI) if absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        message = (
            f"public data {path} is absent; put the shared/ folder beside the "
            "project or set LLMDRIFT_SHARED_DATA"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def shared_data():
    """The function :func:`shared_path`, as a fixture."""
    return shared_path
