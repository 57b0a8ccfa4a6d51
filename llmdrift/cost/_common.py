"""Helpers shared by the cost modules (not public)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from llmdrift.schema import LlmdriftWarning, SchemaError

# Span kinds that are model calls: their usage is counted in rollups.
LLM_LEVEL_KINDS = ("llm", "embedding")

# Canonical, non-overlapping token buckets (plus the two inclusive views).
BUCKETS = (
    "uncached_input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
)
TOKEN_COLUMNS = (
    "input_tokens",
    "uncached_input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)


def as_tuple(by) -> tuple[str, ...]:
    """``by`` given as None, a str or a sequence -> tuple of column names."""
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    out = tuple(by)
    for name in out:
        if not isinstance(name, str):
            raise TypeError(
                f"by must name columns as text, got {name!r} ({type(name).__name__}) "
                f"in {list(out)}"
            )
    repeated = sorted({name for name in out if out.count(name) > 1})
    if repeated:
        raise ValueError(
            f"by names {repeated} more than once ({list(out)}); give each column once"
        )
    return out


def require_frame(df, what: str = "spans") -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"expected a pandas DataFrame of {what}, got {type(df).__name__}"
        )


def require_columns(df: pd.DataFrame, columns, what: str, fix: str = "") -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        hint = f" {fix}" if fix else ""
        raise SchemaError(
            f"{what} frame: missing column(s) {missing}; present: "
            f"{list(df.columns)[:15]}.{hint}"
        )


def utc_times(series: pd.Series, name: str) -> pd.Series:
    """Check a time column is tz-aware and return it converted to UTC."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(dtype):
        raise SchemaError(
            f"column {name!r} holds naive times (no time zone); llmdrift does not "
            f"guess zones. If they are UTC: df[{name!r}] = "
            f"df[{name!r}].dt.tz_localize('UTC')."
        )
    if series.isna().all():
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]")
    raise SchemaError(
        f"column {name!r} must hold tz-aware UTC datetimes, got dtype {dtype}; "
        f"convert with pd.to_datetime(df[{name!r}], utc=True)."
    )


def window_start(times: pd.Series, freq: str) -> pd.Series:
    """Start (UTC) of the calendar window of length ``freq`` holding each time.

    Weeks ("W") start on Monday 00:00 UTC; days at 00:00 UTC.
    """
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None)
    try:
        periods = naive.dt.to_period(freq)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"freq={freq!r} is not a calendar frequency pandas understands "
            "(use e.g. 'h', 'D', 'W', 'MS')"
        ) from err
    return periods.dt.start_time.dt.tz_localize("UTC").astype("datetime64[ns, UTC]")


def to_float(series: pd.Series) -> np.ndarray:
    """Numeric column -> float64 array with NaN for missing."""
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def to_int64(values: np.ndarray) -> pd.Series:
    """Float array of whole numbers (NaN = missing) -> nullable Int64 values."""
    mask = np.isnan(values)
    out = np.where(mask, 0, values).astype(np.int64)
    return pd.arrays.IntegerArray(out, mask)


def warn(message: str) -> None:
    """Issue a LlmdriftWarning pointing at the first caller outside llmdrift.cost."""
    import sys
    from pathlib import Path

    here = str(Path(__file__).resolve().parent)
    level, frame = 2, sys._getframe(1)
    while frame is not None and str(
        Path(frame.f_code.co_filename).resolve()
    ).startswith(here):
        level += 1
        frame = frame.f_back
    warnings.warn(message, LlmdriftWarning, stacklevel=level)


def first_examples(values, k: int = 3) -> str:
    values = list(values)[:k]
    return ", ".join(repr(v) for v in values)


def strings_from_codes(codes: np.ndarray, labels) -> pd.arrays.ArrowStringArray:
    """String array from integer codes into ``labels`` (-1 = missing), fast."""
    import pyarrow as pa

    codes = np.asarray(codes)
    missing = codes < 0
    indices = pa.array(np.where(missing, 0, codes).astype(np.int32), mask=missing)
    dictionary = pa.array([str(label) for label in labels], type=pa.string())
    if len(dictionary) == 0:
        dictionary = pa.array([""], type=pa.string())
    array = pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())
    return pd.array(array, dtype="string")
