"""Plain tables (CSV, Parquet, a warehouse query) to a spans frame."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from llmdrift import schema
from llmdrift.ingest._attributes import GENAI_OPERATION_KINDS, OPENINFERENCE_KINDS
from llmdrift.ingest.otlp import usage_inconsistent

__all__ = ["from_table", "SOURCE_FORMATS"]

SOURCE_FORMATS = {
    "otel": "input_tokens includes cache reads and writes (OTel GenAI)",
    "openinference": "input_tokens includes cache reads and writes (as OTel)",
    "openai": "prompt_tokens includes cached_tokens (as OTel; no cache writes)",
    "anthropic": "input_tokens excludes cache reads and writes; they are added",
}
"""How the token columns of a table count cached input, per ``source_format``."""

_EXTRA_COLUMNS = ("duration_ns", "span_name", "prompt_name", "usage_inconsistent")
_TOKENS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
_TIME_UNITS = ("s", "ms", "us", "ns")
_NS_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
# a time of day followed by a zone: "...T06:13:20.5Z", "... 06:13+02:00"
_OFFSET = re.compile(
    r"[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(?:Z|z|[+-]\d\d(?::?\d\d)?)$"
)
_STATUS = {
    "ok": "ok", "error": "error", "unset": "unset", "status_code_ok": "ok",
    "status_code_error": "error", "status_code_unset": "unset", "0": "unset",
    "1": "ok", "2": "error", "success": "ok", "failure": "error", "failed": "error",
}  # fmt: skip


def _where(name: str, source: str) -> str:
    return f"column {source!r}" + (f" (mapped to {name!r})" if source != name else "")


def _utc_times(series: pd.Series, name: str, source: str, time_unit) -> pd.Series:
    dtype = series.dtype
    where = _where(name, source)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").astype(schema.UTC_DTYPE)
    if pd.api.types.is_datetime64_dtype(dtype):
        raise schema.SchemaError(
            f"from_table: {where} holds naive times (no time zone); llmdrift does "
            f"not guess zones. If they are UTC: df[{source!r}] = "
            f"df[{source!r}].dt.tz_localize('UTC'); if local: "
            f".dt.tz_localize('<zone>').dt.tz_convert('UTC')."
        )
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        if time_unit is None:
            raise ValueError(
                f"from_table: {where} holds numbers; say what they count with "
                "time_unit='s', 'ms', 'us' or 'ns' (epoch, UTC)."
            )
        numbers = pd.to_numeric(series)
        limit = np.iinfo(np.int64).max // _NS_PER_UNIT[time_unit]
        outside = numbers.notna() & ~(numbers.abs() <= limit)
        if outside.any():
            # scaling such a number to ns would wrap around int64 (silently
            # giving a wrong date) or is infinite: a wrong time_unit, mostly
            first = series[outside.to_numpy()]
            raise schema.SchemaError(
                f"from_table: {where} has {int(outside.sum())} epoch value(s) "
                f"too large for time_unit={time_unit!r}, e.g. {first.iloc[0]!r} "
                f"at row {first.index[0]!r} (beyond the year 2262). Check the "
                "unit (milliseconds given as seconds?) and drop infinite values."
            )
        if pd.api.types.is_integer_dtype(dtype):
            # integer epochs are scaled in int64 so nanoseconds stay exact
            values = series.astype("Int64")
            nanos = (
                values.to_numpy(dtype=np.int64, na_value=0) * _NS_PER_UNIT[time_unit]
            )
            out = pd.Series(nanos.view("datetime64[ns]"), index=series.index)
            out = out.dt.tz_localize("UTC")
            return out.where(values.notna().to_numpy())
        return pd.to_datetime(series, unit=time_unit, utc=True).astype(schema.UTC_DTYPE)
    values = series.dropna()
    if not len(values):
        # nothing to read (an empty table, or no value given): all missing
        return pd.Series(pd.NaT, index=series.index, dtype=schema.UTC_DTYPE)
    if all(isinstance(v, str) for v in values):
        parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
        unreadable = parsed.isna()
        if unreadable.any():
            raise schema.SchemaError(
                f"from_table: {where} has {int(unreadable.sum())} value(s) that "
                f"are not ISO 8601 times, e.g. {values[unreadable].iloc[0]!r} at "
                f"row {values.index[unreadable][0]!r}. Give times such as "
                "'2024-06-10T06:13:20Z'; epoch numbers stored as text need "
                f"pd.to_numeric(df[{source!r}]) and time_unit=."
            )
        naive = ~values.str.strip().str.contains(_OFFSET)
        if naive.any():
            raise schema.SchemaError(
                f"from_table: {where} has {int(naive.sum())} time string(s) "
                f"without a zone offset, e.g. {values[naive].iloc[0]!r}; llmdrift "
                "does not guess zones. Write them with 'Z' or '+00:00', or parse "
                "them yourself and tz_localize."
            )
        return parsed.reindex(series.index).astype(schema.UTC_DTYPE)
    aware = [getattr(v, "tzinfo", None) is not None for v in values]
    if all(aware):
        # tz-aware datetimes in several zones (a database driver's objects):
        # each names its instant, so converting to UTC guesses nothing
        try:
            return pd.to_datetime(series, utc=True).astype(schema.UTC_DTYPE)
        except (TypeError, ValueError):
            pass
    elif any(aware) and not all(isinstance(v, str) for v in values):
        naive = values[[not a for a in aware]]
        raise schema.SchemaError(
            f"from_table: {where} mixes tz-aware and naive times, e.g. "
            f"{naive.iloc[0]!r} at row {naive.index[0]!r} has no zone; llmdrift "
            "does not guess zones. Localise the naive ones first."
        )
    try:
        parsed = pd.to_datetime(series)
    except (TypeError, ValueError) as error:
        raise schema.SchemaError(
            f"from_table: {where} cannot be read as times ({error}); give "
            "tz-aware datetimes, ISO 8601 strings with an offset, or epoch "
            "numbers with time_unit=."
        ) from None
    return _utc_times(parsed, name, source, time_unit)


def _int64(series: pd.Series, name: str, source: str) -> tuple[pd.Series, int]:
    """Nullable Int64; text that is not a number becomes <NA> and is counted."""
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.astype("Int64"), 0
    if pd.api.types.is_bool_dtype(series.dtype):
        raise schema.SchemaError(
            f"from_table: {_where(name, source)} is boolean; token counts must be "
            "whole numbers."
        )
    numbers = pd.to_numeric(series, errors="coerce")
    # a count outside int64 (or infinite) is unreadable, like text: never wrap
    outside = numbers.notna() & ~(numbers.abs() < 2.0**63)
    numbers = numbers.where(~outside)
    n_bad = int((numbers.isna() & series.notna()).sum())
    fraction = numbers.notna() & (numbers != np.floor(numbers))
    if fraction.any():
        raise schema.SchemaError(
            f"from_table: {_where(name, source)} has fractional token counts, "
            f"e.g. {numbers[fraction].iloc[0]!r}; token counts are whole numbers."
        )
    return numbers.astype("Float64").astype("Int64"), n_bad


def _span_kinds(series: pd.Series, source: str) -> pd.Series:
    def one(value):
        if pd.isna(value):
            return pd.NA
        text = str(value)
        if text.lower() in schema.SPAN_KINDS:
            return text.lower()
        kind = OPENINFERENCE_KINDS.get(text.upper()) or GENAI_OPERATION_KINDS.get(
            text.lower()
        )
        if kind is None:
            raise schema.SchemaError(
                f"from_table: {_where('span_kind', source)} has value {text!r}; "
                f"expected one of {schema.SPAN_KINDS} (or an OpenInference kind "
                "such as LLM/TOOL/AGENT, or a GenAI operation such as chat)."
            )
        return kind

    # map distinct values once: a kind column has few of them
    lookup = {v: one(v) for v in series.dropna().unique()}
    return series.map(lookup).astype("string")


def _statuses(series: pd.Series, source: str) -> pd.Series:
    lookup = {}
    for value in series.dropna().unique():
        key = value
        if isinstance(value, float | np.floating) and float(value).is_integer():
            # OTel codes read from a CSV with gaps arrive as 0.0/1.0/2.0
            key = int(value)
        status = _STATUS.get(str(key).strip().lower())
        if status is None:
            raise schema.SchemaError(
                f"from_table: {_where('status', source)} has value {value!r}; "
                "expected ok/error/unset (or OTel codes 0/1/2, STATUS_CODE_*)."
            )
        lookup[value] = status
    return series.map(lookup).astype("string")


def _numbers(series: pd.Series, name: str, source: str) -> pd.Series:
    """A float column; text that is not a number is an error naming the value."""
    try:
        return pd.to_numeric(series).astype("float64")
    except (ValueError, TypeError):
        values = pd.to_numeric(series, errors="coerce")
        bad = series[values.isna() & series.notna()]
        raise schema.SchemaError(
            f"from_table: {_where(name, source)} must hold numbers, but has "
            f"{len(bad)} value(s) that are not, e.g. {bad.iloc[0]!r} at row "
            f"{bad.index[0]!r}. Convert it first, e.g. pd.to_numeric(df[{source!r}], "
            "errors='coerce') to make them missing."
        ) from None


def _text(series: pd.Series, name: str, source: str) -> pd.Series:
    """A string column; bytes that are not UTF-8 are an error naming the value."""
    try:
        return series.astype("string")
    except (UnicodeDecodeError, TypeError, ValueError):
        index, value = next(
            (
                (i, v)
                for i, v in series.items()
                if isinstance(v, bytes | bytearray) and not _is_utf8(v)
            ),
            (series.index[0], series.iloc[0]),
        )
        raise schema.SchemaError(
            f"from_table: {_where(name, source)} must hold text, but row "
            f"{index!r} holds {value!r:.60}, bytes that are not UTF-8. Decode them "
            f"first, e.g. df[{source!r}].str.decode('latin-1') or "
            ".str.decode('utf-8', errors='replace')."
        ) from None


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _warn_impossible(out: pd.DataFrame, sources) -> None:
    """Warn (rows kept, values unchanged) about values no real call can have."""
    found = {}
    if "end_time" in out.columns:
        before = (out["end_time"] < out["start_time"]).fillna(False)
        if before.any():
            found["end_time before start_time"] = before
    checks = [("duration_ms", "negative")]
    checks += [(name, "negative") for name in (*_TOKENS, "cost_usd")]
    for name, what in checks:
        if name in out.columns:
            bad = (out[name] < 0).fillna(False)
            if bad.any():
                found[f"{what} {_where(name, sources.get(name, name))}"] = bad
    if found:
        counts = {k: int(v.sum()) for k, v in found.items()}
        first = {k: int(np.flatnonzero(v.to_numpy())[0]) for k, v in found.items()}
        warnings.warn(
            "from_table: impossible values kept as given (rows, first position): "
            + "; ".join(f"{k}: {counts[k]} (position {first[k]})" for k in counts)
            + ". Token counts are flagged in usage_inconsistent; fix or drop "
            "these rows before cost and latency figures.",
            schema.LlmdriftWarning,
            stacklevel=3,
        )


def _no_missing(out: pd.DataFrame, df: pd.DataFrame, sources, names) -> None:
    """Every span needs an id and a start time: name the first row without."""
    for name in names:
        missing = out[name].isna().to_numpy()
        if missing.any():
            source = sources.get(name, name)
            first = df.index[int(np.flatnonzero(missing)[0])]
            raise schema.SchemaError(
                f"from_table: {_where(name, source)} has {int(missing.sum())} "
                f"missing value(s) (first at row {first!r}); every span needs "
                f"one. Drop those rows first, e.g. df.dropna(subset=[{source!r}])."
            )


def from_table(
    df: pd.DataFrame,
    columns: dict[str, str] | None = None,
    *,
    source_format: str = "otel",
    time_unit: str | None = None,
    defaults: dict[str, object] | None = None,
) -> pd.DataFrame:
    """Turn a plain table of model calls into a spans frame.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per model call (or retrieval step), e.g. read from CSV or
        Parquet. It is not modified.
    columns : dict, optional
        ``{spans column: column of df}``, e.g. ``{"start_time": "ts",
        "request_model": "model"}``. Columns of ``df`` already named as in the
        spans contract need no entry; one ``df`` column may feed several spans
        columns. Other columns of ``df`` are kept as extra columns.
    source_format : {"otel", "openinference", "openai", "anthropic"}
        How the token columns count cached input (see :data:`SOURCE_FORMATS`).
        With ``"anthropic"``, ``input_tokens`` holds only uncached input (as in
        Anthropic's usage block) and the cache reads and writes are added to it,
        so that the result has the OTel meaning.
    time_unit : {"s", "ms", "us", "ns"}, optional
        Unit of epoch numbers in the time columns; required when they are
        numbers.
    defaults : dict, optional
        Constant values for spans columns the table lacks, e.g.
        ``{"service": "support-api"}``.

    Returns
    -------
    pandas.DataFrame
        The ``spans`` frame of :mod:`llmdrift.schema`, every contract column
        present and typed (missing optional ones are <NA>), plus
        ``usage_inconsistent`` and the extra columns of ``df``.

    Raises
    ------
    SchemaError
        When a required column (``trace_id``, ``span_id``, ``start_time``,
        ``service``, ``request_model``) is missing, a time column is naive
        (naming the column), a token column has fractions, or ``span_kind`` /
        ``status`` hold unknown values.
    ValueError
        For an unknown spans column in ``columns``, a mapped column absent from
        ``df``, or epoch numbers without ``time_unit``.

    Warns
    -----
    LlmdriftWarning
        When token or cost values that are not readable numbers (text, a count
        outside int64, an infinite cost) were set to <NA>, with the count per
        column.

    Notes
    -----
    ``duration_ms`` is taken from the table, else computed from ``end_time``
    or ``duration_ns``, else left NaN. ``span_kind`` defaults to ``"llm"``
    (a table of model calls); OpenInference kinds (``LLM``, ``TOOL`` ...) and
    GenAI operations (``chat``, ``execute_tool`` ...) are translated. ``status``
    accepts ok/error/unset, OTel codes 0/1/2 and ``STATUS_CODE_*``. Ids are kept
    as given (not lower-cased), since a table's ids may be joined to other
    tables. ``cost_usd`` and ``reported_cost_usd`` are filled from each other.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({
    ...     "ts": ["2024-06-10T06:13:20Z"], "id": ["s1"], "model": ["m"],
    ...     "in": [7], "cache_read": [20000], "out": [400]})
    >>> spans = from_table(
    ...     table,
    ...     {"start_time": "ts", "span_id": "id", "trace_id": "id",
    ...      "request_model": "model", "input_tokens": "in",
    ...      "cache_read_tokens": "cache_read", "output_tokens": "out"},
    ...     source_format="anthropic", defaults={"service": "api"})
    >>> int(spans.loc[0, "input_tokens"]), str(spans.loc[0, "start_time"])
    (20007, '2024-06-10 06:13:20+00:00')
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"from_table expects a pandas DataFrame, got {type(df).__name__}"
        )
    if source_format not in SOURCE_FORMATS:
        raise ValueError(
            f"source_format must be one of {sorted(SOURCE_FORMATS)}, got "
            f"{source_format!r}"
        )
    if time_unit is not None and time_unit not in _TIME_UNITS:
        raise ValueError(f"time_unit must be one of {_TIME_UNITS}, got {time_unit!r}")
    if columns is not None and not isinstance(columns, dict):
        raise TypeError(
            "from_table: columns must be a dict {spans column: column of df}, "
            f"e.g. {{'start_time': 'ts'}}, got {type(columns).__name__}"
        )
    duplicated = df.columns[df.columns.duplicated()]
    if len(duplicated):
        raise ValueError(
            f"from_table: df has duplicated column names {list(duplicated)[:5]}; "
            "rename or drop them first, e.g. df.loc[:, ~df.columns.duplicated()]."
        )
    columns = dict(columns or {})
    known = [c.name for c in schema.SPANS] + list(_EXTRA_COLUMNS)
    for target, source in columns.items():
        try:
            hash(source)
        except TypeError:
            raise TypeError(
                f"from_table: columns maps {target!r} to {source!r}; give one "
                "column name of df per spans column."
            ) from None
        if target not in known:
            raise ValueError(
                f"from_table: {target!r} is not a spans column; map onto one of "
                f"{known}."
            )
        if source not in df.columns:
            raise ValueError(
                f"from_table: columns maps {target!r} to {source!r}, which df does "
                f"not have; df columns: {list(df.columns)[:20]}."
            )

    # assemble: mapped columns, then same-named ones, then extras and defaults
    sources = {name: name for name in known if name in df.columns}
    sources.update(columns)
    used = set(columns.values())
    out = {name: df[source] for name, source in sources.items()}
    for name in df.columns:
        if name not in out and name not in used:
            out[name] = df[name]
    out = pd.DataFrame(out, index=df.index).reset_index(drop=True)
    for name, value in (defaults or {}).items():
        if name not in known:
            raise ValueError(f"from_table: defaults has unknown spans column {name!r}")
        if name not in out.columns:
            out[name] = value
            sources[name] = name
    missing = [
        c.name
        for c in schema.SPANS
        if c.required and c.name not in out.columns and c.name != "duration_ms"
    ]
    if missing:
        raise schema.SchemaError(
            f"from_table: no column for {missing}; map them with columns="
            f"{{{missing[0]!r}: '<your column>'}} or give a constant with "
            f"defaults={{{missing[0]!r}: ...}}. df columns: {list(df.columns)[:20]}."
        )

    # times, durations, tokens, kinds
    for name in ("start_time", "end_time"):
        if name in out.columns:
            out[name] = _utc_times(out[name], name, sources.get(name, name), time_unit)
    if "duration_ms" not in out.columns:
        if "end_time" in out.columns:
            delta = out["end_time"] - out["start_time"]
            out["duration_ms"] = delta.dt.total_seconds() * 1e3
        elif "duration_ns" in out.columns:
            out["duration_ms"] = pd.to_numeric(out["duration_ns"]) / 1e6
        else:
            out["duration_ms"] = np.nan
    out["duration_ms"] = _numbers(
        out["duration_ms"], "duration_ms", sources.get("duration_ms", "duration_ms")
    )
    unreadable = {}
    for name in _TOKENS:
        if name in out.columns:
            out[name], n_bad = _int64(out[name], name, sources.get(name, name))
            if n_bad:
                unreadable[name] = n_bad
    for name in ("cost_usd", "reported_cost_usd"):
        if name in out.columns:
            costs = _numbers(out[name], name, sources.get(name, name))
            infinite = np.isinf(costs.to_numpy())
            if infinite.any():
                out[name] = costs.where(~infinite)
                unreadable[name] = int(infinite.sum())
    if unreadable:
        warnings.warn(
            f"from_table: values that are not readable numbers (text, infinite, "
            f"or a count outside int64) were set to <NA>: {unreadable} (per "
            "column).",
            schema.LlmdriftWarning,
            stacklevel=2,
        )
    if source_format == "anthropic" and "input_tokens" in out.columns:
        cached = sum(
            out[name].fillna(0)
            for name in ("cache_read_tokens", "cache_write_tokens")
            if name in out.columns
        )
        out["input_tokens"] = out["input_tokens"] + cached
    out["span_kind"] = (
        _span_kinds(out["span_kind"], sources.get("span_kind", "span_kind"))
        if "span_kind" in out.columns
        else pd.Series("llm", index=out.index, dtype="string")
    )
    if "status" in out.columns:
        out["status"] = _statuses(out["status"], sources.get("status", "status"))
    if "cost_usd" in out.columns and "reported_cost_usd" not in out.columns:
        out["reported_cost_usd"] = out["cost_usd"]
    elif "reported_cost_usd" in out.columns and "cost_usd" not in out.columns:
        out["cost_usd"] = out["reported_cost_usd"]
    for column in schema.SPANS:
        if column.dtype == "string" and column.name in out.columns:
            out[column.name] = _text(
                out[column.name], column.name, sources.get(column.name, column.name)
            )
    _no_missing(out, df, sources, ("span_id", "start_time"))
    out["usage_inconsistent"] = usage_inconsistent(out)
    _warn_impossible(out, sources)
    return schema.conform(out, "spans")
