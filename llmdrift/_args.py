"""Checks of user-given arguments, shared by the analysis functions.

Each check raises ``ValueError`` (or ``TypeError`` for a value of the wrong
kind) with a message that names the argument, the value given and what is
accepted, so a caller can fix the call without reading the source.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd


class ArgumentTypeError(TypeError, ValueError):
    """A value of the wrong kind (text for a number, a bool for a count).

    Both a TypeError and a ValueError, so that callers who catch either, and
    functions documented to raise ValueError on bad input, see it.
    """


__all__ = [
    "ArgumentTypeError",
    "check_finite_values",
    "check_int",
    "check_number",
    "check_probability",
    "check_unique_rows",
    "checked",
]


def check_probability(name: str, value, *, closed: bool = False) -> float:
    """``value`` as a float strictly between 0 and 1 (or within [0, 1] if ``closed``).

    Examples
    --------
    >>> check_probability("alpha", 0.05)
    0.05
    >>> check_probability("alpha", 2)
    Traceback (most recent call last):
    ...
    ValueError: alpha must lie between 0 and 1 (exclusive); got 2.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(
            f"{name} must be a number between 0 and 1; got {type(value).__name__} "
            f"{value!r}."
        )
    number = float(value)
    inside = 0.0 <= number <= 1.0 if closed else 0.0 < number < 1.0
    if not inside:  # also False for NaN
        bounds = "inclusive" if closed else "exclusive"
        raise ValueError(f"{name} must lie between 0 and 1 ({bounds}); got {value!r}.")
    return number


def check_int(name: str, value, minimum: int | None = None) -> int:
    """``value`` as an int, at least ``minimum`` when given.

    A float with a whole value (``3.0``) is accepted; ``True``/``False``,
    text and fractional numbers are not.

    Examples
    --------
    >>> check_int("n_traces", 5, 1)
    5
    >>> check_int("n_traces", 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: n_traces must be an integer >= 1; got 0.
    """
    whole = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and float(value).is_integer()
    )
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not whole:
        floor = "" if minimum is None else f" >= {minimum}"
        raise ArgumentTypeError(f"{name} must be an integer{floor}; got {value!r}.")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return number


# Scores, costs and counts beyond this magnitude make squares and sums of
# squares overflow float64 (about 1.8e308) in variances and change-point costs.
MAX_MAGNITUDE = 1e150


def check_finite_values(frame: pd.DataFrame, column: str, what: str) -> None:
    """Refuse infinite values in ``frame[column]``, and values so large that
    their squares overflow (beyond ``MAX_MAGNITUDE``); NaN (missing) is allowed.

    The message gives the count and, when the frame has a ``span_id``
    column, the first span concerned.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> scores = pd.DataFrame({"span_id": ["a", "b"], "value": [1.0, np.inf]})
    >>> check_finite_values(scores, "value", "scores")
    Traceback (most recent call last):
    ...
    ValueError: scores column 'value' holds 1 infinite value (first at span_id 'b'); ...
    """
    if column not in frame.columns:
        return
    _check_numbers(frame, column, what)
    values = pd.to_numeric(frame[column], errors="coerce")
    numbers_ = values.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        infinite = np.isinf(numbers_)
        huge = ~infinite & (np.abs(numbers_) > MAX_MAGNITUDE)
    for bad, kind, fix in (
        (
            infinite,
            "infinite {plural}",
            "give finite numbers, or NaN where a value is missing"
            + (" (a scorer that failed)." if column == "value" else "."),
        ),
        (
            huge,
            "{plural} beyond +-" + f"{MAX_MAGNITUDE:.0e}" + " (their squares overflow)",
            "rescale them (e.g. divide by a constant) or give NaN where a "
            "value is missing.",
        ),
    ):
        count = int(bad.sum())
        if not count:
            continue
        where = ""
        if "span_id" in frame.columns:
            first = frame["span_id"].to_numpy()[bad.argmax()]
            where = f" (first at span_id {first!r})"
        plural = "value" if count == 1 else "values"
        raise ValueError(
            f"{what} column {column!r} holds {count} "
            + kind.format(plural=plural)
            + f"{where}; {fix}"
        )


def _check_numbers(frame: pd.DataFrame, column: str, what: str) -> None:
    """Refuse a column holding text (or other non-numbers) where numbers belong.

    Numbers kept as text ("0.5", read from a CSV without dtypes) would
    otherwise reach arithmetic and fail with a pandas TypeError, or compare as
    strings. Missing values (None, NaN, <NA>) are allowed.
    """
    series = frame[column]
    if pd.api.types.is_numeric_dtype(series.dtype):
        return
    values = series.dropna()
    bad = [
        (index, v)
        for index, v in values.items()
        if not isinstance(v, numbers.Real) or isinstance(v, bool | np.bool_)
    ][:1]
    if not bad:
        return
    index, value = bad[0]
    where = f"row {index!r}"
    if "span_id" in frame.columns:
        where = f"span_id {frame.at[index, 'span_id']!r}"
    raise ArgumentTypeError(
        f"{what} column {column!r} must hold numbers, but it is of dtype "
        f"{series.dtype} and holds {value!r} ({type(value).__name__}) at {where}. "
        f"Convert it first, e.g. {what}[{column!r}] = pd.to_numeric("
        f"{what}[{column!r}]) (text that is not a number then raises, naming it)."
    )


def check_number(name: str, value, *, above: float | None = None) -> float:
    """``value`` as a finite float, greater than ``above`` when given.

    Examples
    --------
    >>> check_number("threshold", 3)
    3.0
    >>> check_number("alert_change", 0, above=0)
    Traceback (most recent call last):
    ...
    ValueError: alert_change must be a finite number > 0; got 0.
    """
    floor = "" if above is None else f" > {above:g}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(
            f"{name} must be a finite number{floor}; got {type(value).__name__} "
            f"{value!r}."
        )
    number = float(value)
    if not np.isfinite(number) or (above is not None and not number > above):
        raise ValueError(f"{name} must be a finite number{floor}; got {value!r}.")
    return number


def checked(where: str | None, check, *args, **kwargs):
    """Run one of the checks above, reporting any refusal as a ValueError.

    For functions whose contract is "bad input raises ValueError": a value of
    the wrong kind (the checks' TypeError) becomes a ValueError with the same
    words, prefixed with ``where`` (the function's name) when given.

    Examples
    --------
    >>> checked("agreement", check_int, "n_boot", 1.5, 0)
    Traceback (most recent call last):
    ...
    ValueError: agreement: n_boot must be an integer >= 0; got 1.5.
    """
    try:
        return check(*args, **kwargs)
    except (TypeError, ValueError) as err:
        prefix = f"{where}: " if where else ""
        raise ValueError(f"{prefix}{err}") from None


def check_unique_rows(frame: pd.DataFrame, key, what: str) -> None:
    """Refuse rows that repeat the same ``key`` values (a value given twice).

    Only the ``key`` columns present in ``frame`` are compared (e.g. scores
    without a ``scorer`` column are keyed by ``span_id, dimension``). The
    message gives the count, the first repeated key and the fix.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"span_id": ["a", "a"], "dimension": ["f", "f"],
    ...                        "scorer": ["j", "j"], "value": [1.0, 1.0]})
    >>> check_unique_rows(scores, ["span_id", "dimension", "scorer"], "scores")
    Traceback (most recent call last):
    ...
    ValueError: scores: 1 row(s) repeat a (span_id, dimension, scorer) already given, ...
    """
    columns = [c for c in key if c in frame.columns]
    if not columns or len(frame) < 2:
        return
    repeated = frame.duplicated(columns).to_numpy()
    if not repeated.any():
        return
    first = dict(
        zip(columns, frame.loc[repeated, columns].iloc[0].tolist(), strict=True)
    )
    raise ValueError(
        f"{what}: {int(repeated.sum())} row(s) repeat a ({', '.join(columns)}) "
        f"already given, e.g. {first}; each would be counted twice. Keep one "
        f"row each, e.g. {what}.drop_duplicates({columns}, keep='last')."
    )
