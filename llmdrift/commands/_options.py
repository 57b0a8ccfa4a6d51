"""Checks of command-line option values shared by the subcommands.

Every check raises :class:`InputError` (a ``ValueError``) whose message names
the option, what it must look like and what arrived, so a subcommand prints
it and exits with code 2.

Examples
--------
>>> str(iso_time("2024-06-01T06:00Z", "--since"))
'2024-06-01 06:00:00+00:00'
>>> iso_time("yesterday", "--since")
Traceback (most recent call last):
...
llmdrift.commands._options.InputError: --since must be an ISO time such as 2024-06-01T00:00Z, got 'yesterday'
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime

__all__ = [
    "InputError",
    "iso_time",
    "time_range",
    "time_zone",
    "existing_folder",
    "reading_store",
]

ISO_EXAMPLE = "2024-06-01T00:00Z"


class InputError(ValueError):
    """Bad command-line input (exit code 2)."""


def iso_time(text, option: str):
    """An ISO 8601 time given on the command line, as a UTC ``pd.Timestamp``.

    A time without an offset is read as UTC; None stays None. Words such as
    ``today`` or ``yesterday`` and day-first dates are refused rather than
    guessed.

    Raises
    ------
    InputError
        Naming ``option`` and the expected form, e.g. ``--since must be an
        ISO time such as 2024-06-01T00:00Z, got 'yesterday'``.

    Examples
    --------
    >>> str(iso_time("2024-06-01+02:00", "--since"))
    '2024-05-31 22:00:00+00:00'
    >>> str(iso_time("2024-06-01Z", "--until"))
    '2024-06-01 00:00:00+00:00'
    """
    import pandas as pd

    from llmdrift.investigate import _midnight

    if text is None:
        return None
    try:
        # strict ISO 8601 (pd.Timestamp would also take 'today' or '1/2/2026');
        # a date with a zone is its midnight there (fromisoformat refuses
        # '2026-01-05Z' and reads '2026-01-05+01:00' as 01:00 with no zone)
        parsed = datetime.fromisoformat(_midnight(str(text).strip()))
    except ValueError:
        raise InputError(
            f"{option} must be an ISO time such as {ISO_EXAMPLE}, got {text!r}"
        ) from None
    stamp = pd.Timestamp(parsed)
    if stamp.tzinfo is None:
        return stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC")


def time_range(since, until, *, names=("--since", "--until")):
    """``(since, until)`` parsed with :func:`iso_time`; since must precede until.

    Examples
    --------
    >>> time_range("2024-06-02", "2024-06-01")
    Traceback (most recent call last):
    ...
    llmdrift.commands._options.InputError: --since (2024-06-02 00:00 UTC) must be before --until (2024-06-01 00:00 UTC)
    """
    start, end = iso_time(since, names[0]), iso_time(until, names[1])
    if start is not None and end is not None and start >= end:
        raise InputError(
            f"{names[0]} ({start:%Y-%m-%d %H:%M} UTC) must be before {names[1]} "
            f"({end:%Y-%m-%d %H:%M} UTC)"
        )
    return start, end


def time_zone(text, option: str = "--tz") -> str:
    """An IANA time zone name given on the command line, checked before any data.

    Examples
    --------
    >>> time_zone("Europe/Berlin")
    'Europe/Berlin'
    >>> time_zone("CET+1")
    Traceback (most recent call last):
    ...
    llmdrift.commands._options.InputError: --tz 'CET+1' is not a known IANA time zone; use a name such as UTC, Europe/Berlin or America/New_York
    """
    from llmdrift.series import check_tz

    name = str(text).strip()
    try:
        return check_tz(name)
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a known IANA time zone; use a name such as "
            "UTC, Europe/Berlin or America/New_York"
        ) from None


def existing_folder(path, option: str, fix: str = "give an existing folder"):
    """``path`` as a ``Path`` when it is an existing folder; None stays None.

    Examples
    --------
    >>> existing_folder("/no/such", "--data")
    Traceback (most recent call last):
    ...
    llmdrift.commands._options.InputError: --data '/no/such' does not exist; give an existing folder
    """
    from pathlib import Path

    if path is None:
        return None
    folder = Path(path)
    if not folder.exists():
        raise InputError(f"{option} {str(path)!r} does not exist; {fix}")
    if not folder.is_dir():
        raise InputError(f"{option} {str(path)!r} is a file, not a folder; {fix}")
    return folder


@contextmanager
def reading_store(path):
    """Turn the engine's own errors while reading store ``path`` into InputError.

    A damaged table or a file DuckDB cannot read is bad input (exit 2), not a
    crash; errors raised by llmdrift itself pass through unchanged.
    """
    try:
        yield
    except Exception as exc:
        if type(exc).__module__.split(".")[0].lstrip("_") not in ("duckdb", "ibis"):
            raise
        raise InputError(f"store {str(path)!r} could not be read: {exc}") from None
