"""Column contracts for the frames llmdrift reads and writes.

Every llmdrift function takes and returns pandas DataFrames in one of five shapes:
``spans``, ``contents``, ``scores``, ``deployments`` and ``series``. This module
names each column once, with its dtype and meaning, and validates frames at the
public boundary so that a wrong input fails early with a message that names the
column, what was expected, what arrived and how to fix it.

Times are tz-aware UTC (``datetime64[ns, UTC]``). A naive time column is
rejected, never guessed: localise it first with
``df["start_time"] = df["start_time"].dt.tz_localize("UTC")`` if the naive
values are UTC, or ``.dt.tz_localize("Europe/Berlin").dt.tz_convert("UTC")`` if
they are local times.

Missing counts are ``<NA>`` (nullable ``Int64``), never 0: a span that did not
report its output tokens has ``output_tokens = <NA>``.

Examples
--------
>>> import pandas as pd
>>> from llmdrift import schema
>>> frame = schema.empty("deployments")
>>> list(frame.columns)
['time', 'service', 'version', 'note']
>>> schema.validate(frame, "deployments") is frame
True
>>> bad = pd.DataFrame({"time": pd.to_datetime(["2024-01-01"]), "service": ["a"]})
>>> schema.validate(bad, "deployments")
Traceback (most recent call last):
...
llmdrift.schema.SchemaError: deployments frame: column 'time' holds naive times ...
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "Column",
    "SCHEMAS",
    "SPANS",
    "CONTENTS",
    "SCORES",
    "DEPLOYMENTS",
    "SERIES",
    "SCORE_KINDS",
    "SPAN_KINDS",
    "SchemaError",
    "LlmdriftWarning",
    "describe",
    "empty",
    "conform",
    "validate",
]

UTC_DTYPE = "datetime64[ns, UTC]"


class SchemaError(ValueError):
    """A frame does not meet its llmdrift column contract."""


class LlmdriftWarning(UserWarning):
    """Base class of llmdrift's warnings: the data is usable but suspect."""


@dataclass(frozen=True)
class Column:
    """One column of a frame contract.

    Parameters
    ----------
    name : str
        Column name, snake_case with a unit suffix where it has one.
    dtype : str
        The pandas dtype the column has after :func:`conform`.
    meaning : str
        What a value means, in one sentence.
    required : bool, default=True
        Whether the column must be present. Optional columns are added, filled
        with missing values, by :func:`conform`.
    """

    name: str
    dtype: str
    meaning: str
    required: bool = True


SPAN_KINDS = ("llm", "embedding", "retrieval", "tool", "agent", "chain", "other")
"""Values of ``spans.span_kind``. Only ``llm`` spans are model calls."""

SCORE_KINDS = ("heuristic", "judge", "human")
"""Values of ``scores.kind``."""

SPANS = (
    Column("trace_id", "string", "Trace id, 32 lowercase hex digits."),
    Column("span_id", "string", "Span id, 16 lowercase hex digits; unique."),
    Column(
        "parent_span_id",
        "string",
        "Id of the parent span, <NA> for a root span.",
        required=False,
    ),
    Column("start_time", UTC_DTYPE, "When the span started, UTC, exact to the ns."),
    Column(
        "end_time",
        UTC_DTYPE,
        "When the span ended, UTC, exact to the ns.",
        required=False,
    ),
    Column("duration_ms", "float64", "end_time - start_time in milliseconds."),
    Column("service", "string", "Emitting service (OTel resource service.name)."),
    Column(
        "operation",
        "string",
        "GenAI operation (chat, text_completion, embeddings, execute_tool, ...) "
        "or the span name when none is given.",
        required=False,
    ),
    Column(
        "span_kind",
        "string",
        "One of SPAN_KINDS; 'llm' marks a model call, the rest are kept but "
        "excluded from model-call analyses.",
        required=False,
    ),
    Column(
        "provider",
        "string",
        "Model provider (gen_ai.provider.name / gen_ai.system / llm.provider).",
        required=False,
    ),
    Column("request_model", "string", "Model name the caller asked for (an alias)."),
    Column(
        "response_model",
        "string",
        "Model name the provider says answered (a snapshot); <NA> if not reported.",
        required=False,
    ),
    Column("intent", "string", "Request type, e.g. 'summarise_ticket'.", False),
    Column("prompt_hash", "string", "Content hash of the prompt template.", False),
    Column("prompt_version", "string", "Version label of the prompt template.", False),
    Column(
        "input_tokens",
        "Int64",
        "All input tokens of the call, cached and uncached (OTel GenAI meaning: "
        "includes cache_read_tokens and cache_write_tokens).",
        required=False,
    ),
    Column(
        "output_tokens",
        "Int64",
        "All output tokens, reasoning included (OTel GenAI meaning).",
        required=False,
    ),
    Column(
        "cache_read_tokens",
        "Int64",
        "Input tokens read from the provider's prompt cache (part of input_tokens).",
        required=False,
    ),
    Column(
        "cache_write_tokens",
        "Int64",
        "Input tokens written to the provider's prompt cache (part of input_tokens).",
        required=False,
    ),
    Column(
        "reasoning_tokens",
        "Int64",
        "Reasoning tokens (part of output_tokens).",
        required=False,
    ),
    Column(
        "cost_usd",
        "Float64",
        "Cost of the call in USD: as recorded by the source after ingest, as "
        "computed from tokens and prices after price_spans; <NA> when unknown.",
        required=False,
    ),
    Column(
        "reported_cost_usd",
        "Float64",
        "Cost exactly as the source recorded it (llm.cost.total, "
        "gen_ai.usage.cost, a cost column); <NA> when the source had none.",
        required=False,
    ),
    Column("status", "string", "'ok', 'error' or 'unset'.", required=False),
    Column(
        "error_type", "string", "Error class or code when status is 'error'.", False
    ),
    Column(
        "finish_reason", "string", "Why generation stopped (stop, length, ...).", False
    ),
    Column(
        "flagged",
        "boolean",
        "A guardrail or user flagged the answer (e.g. as a hallucination).",
        required=False,
    ),
    Column(
        "retrieval_score",
        "Float64",
        "Relevance score of a retrieval step (retrieval spans), higher is better.",
        required=False,
    ),
)

CONTENTS = (
    Column("span_id", "string", "The span whose texts these are."),
    Column("input_text", "string", "The prompt as sent (rendered), or <NA>.", False),
    Column("output_text", "string", "The model's answer, or <NA>."),
)

SCORES = (
    Column("span_id", "string", "The span scored."),
    Column("trace_id", "string", "Trace of that span.", required=False),
    Column("time", UTC_DTYPE, "Time of the scored request (the span's start), UTC."),
    Column("dimension", "string", "What is scored: 'format', 'relevance', ..."),
    Column(
        "value",
        "float64",
        "The score; higher is better. 1-5 for judge rubrics, 0/1 for checks. NaN "
        "when the scorer failed (see 'error').",
    ),
    Column("scorer", "string", "Who scored: check name, judge model, annotator id."),
    Column("kind", "string", "One of SCORE_KINDS: heuristic, judge or human."),
    Column(
        "scorer_version",
        "string",
        "Version or content hash of the check or judge rubric.",
        required=False,
    ),
    Column(
        "inclusion_prob",
        "float64",
        "Probability the span was sampled for this scorer (1.0 for all traffic).",
        required=False,
    ),
    Column("error", "string", "Why the score is missing (parse error, ...).", False),
)

DEPLOYMENTS = (
    Column("time", UTC_DTYPE, "When the deployment took effect, UTC."),
    Column("service", "string", "The service that was deployed."),
    Column("version", "string", "Version or commit deployed.", required=False),
    Column("note", "string", "What the deployment intended to change.", False),
)

SERIES = (
    Column("window_start", UTC_DTYPE, "Start of the window, UTC."),
    Column("dimension", "string", "The score dimension."),
    Column("n", "int64", "Number of scores in the window (0 for an empty window)."),
    Column("mean", "float64", "Mean score in the window; NaN when n is 0."),
    Column("std", "float64", "Sample standard deviation (ddof=1); NaN when n < 2."),
    Column("sem", "float64", "Standard error of the mean, std / sqrt(n)."),
)

SCHEMAS: dict[str, tuple[Column, ...]] = {
    "spans": SPANS,
    "contents": CONTENTS,
    "scores": SCORES,
    "deployments": DEPLOYMENTS,
    "series": SERIES,
}

_FIXES = {
    "spans": "build spans with llmdrift.read_otlp(paths) or "
    "llmdrift.from_table(df, columns={...})",
    "contents": "give a frame with span_id and output_text (input_text optional)",
    "scores": "give long rows span_id, time, dimension, value, scorer, kind",
    "deployments": "give one row per deployment with time (UTC), service, "
    "version, note",
    "series": "build it with llmdrift.quality_series(spans, scores)",
}


def _columns(kind: str) -> tuple[Column, ...]:
    try:
        return SCHEMAS[kind]
    except KeyError:
        raise ValueError(
            f"unknown frame kind {kind!r}; expected one of {sorted(SCHEMAS)}"
        ) from None


def describe(kind: str) -> pd.DataFrame:
    """Table of the columns of one frame contract.

    Parameters
    ----------
    kind : {"spans", "contents", "scores", "deployments", "series"}

    Returns
    -------
    pandas.DataFrame
        Columns ``column, dtype, required, meaning``, one row per column.

    Examples
    --------
    >>> describe("deployments")["column"].tolist()
    ['time', 'service', 'version', 'note']
    """
    return pd.DataFrame(
        [
            {
                "column": c.name,
                "dtype": c.dtype,
                "required": c.required,
                "meaning": c.meaning,
            }
            for c in _columns(kind)
        ]
    )


def empty(kind: str) -> pd.DataFrame:
    """A frame of the given kind with no rows and every column typed.

    Examples
    --------
    >>> empty("scores").dtypes["time"]
    datetime64[ns, UTC]
    """
    return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in _columns(kind)})


def _is_utc(dtype) -> bool:
    return isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) in ("UTC", "utc")


def _check_time(df: pd.DataFrame, kind: str, name: str) -> None:
    dtype = df[name].dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return
    if pd.api.types.is_datetime64_dtype(dtype):
        raise SchemaError(
            f"{kind} frame: column {name!r} holds naive times (no time zone); "
            "llmdrift does not guess zones. If they are UTC, fix with "
            f"df[{name!r}] = df[{name!r}].dt.tz_localize('UTC'); if local, "
            f"df[{name!r}].dt.tz_localize('<zone>').dt.tz_convert('UTC')."
        )
    raise SchemaError(
        f"{kind} frame: column {name!r} must be tz-aware datetimes in UTC, got "
        f"dtype {dtype}. Fix with df[{name!r}] = pd.to_datetime(df[{name!r}], "
        "utc=True) if the values carry an offset or are UTC."
    )


def _check_dtype(df: pd.DataFrame, kind: str, col: Column) -> None:
    series = df[col.name]
    dtype = series.dtype
    if col.dtype == UTC_DTYPE:
        _check_time(df, kind, col.name)
        return
    ok = True
    if col.dtype in ("Int64", "int64"):
        ok = pd.api.types.is_integer_dtype(dtype) or (
            series.isna().all() and not pd.api.types.is_string_dtype(dtype)
        )
    elif col.dtype in ("Float64", "float64"):
        ok = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(
            dtype
        )
    elif col.dtype == "boolean":
        ok = pd.api.types.is_bool_dtype(dtype) or series.isna().all()
    elif col.dtype == "string":
        ok = (
            pd.api.types.is_string_dtype(dtype)
            or pd.api.types.is_object_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
            or series.isna().all()
        )
    if not ok:
        raise SchemaError(
            f"{kind} frame: column {col.name!r} should be {col.dtype} "
            f"({col.meaning}) but has dtype {dtype}. Convert it, e.g. "
            f"df[{col.name!r}] = df[{col.name!r}].astype({col.dtype!r})."
        )


def validate(
    df: pd.DataFrame, kind: str, *, require: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Check that ``df`` meets the ``kind`` contract; return it unchanged.

    Parameters
    ----------
    df : pandas.DataFrame
        The frame to check. It is not modified.
    kind : {"spans", "contents", "scores", "deployments", "series"}
    require : tuple of str, default=()
        Optional columns that the calling function needs as well.

    Returns
    -------
    pandas.DataFrame
        ``df`` itself, so that ``validate`` can be chained.

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame.
    SchemaError
        Naming the first missing or mistyped column and how to supply it.
        Naive time columns are rejected, never localised. A tz-aware time
        column in another zone passes; :func:`conform` converts it to UTC.

    Examples
    --------
    >>> import pandas as pd
    >>> validate(pd.DataFrame({"span_id": ["a"]}), "contents")
    Traceback (most recent call last):
    ...
    llmdrift.schema.SchemaError: contents frame: missing column 'output_text' ...
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"expected a pandas DataFrame of {kind}, got {type(df).__name__}"
        )
    columns = _columns(kind)
    needed = {c.name for c in columns if c.required} | set(require)
    for col in columns:
        if col.name not in df.columns:
            if col.name in needed:
                raise SchemaError(
                    f"{kind} frame: missing column {col.name!r} ({col.meaning}) "
                    f"- present: {list(df.columns)[:12]}; {_FIXES[kind]}."
                )
            continue
        _check_dtype(df, kind, col)
    for name in require:
        if name not in df.columns:
            raise SchemaError(
                f"{kind} frame: this function needs column {name!r}, which is "
                f"missing; present: {list(df.columns)[:12]}."
            )
    if kind == "scores" and "kind" in df.columns and len(df):
        bad = set(df["kind"].dropna().unique()) - set(SCORE_KINDS)
        if bad:
            raise SchemaError(
                f"scores frame: column 'kind' has values {sorted(bad)}; expected "
                f"one of {SCORE_KINDS}."
            )
    ids = df["span_id"].dropna() if "span_id" in df.columns else None
    if kind == "spans" and ids is not None and ids.duplicated().any():
        # missing ids are not repeats of each other; the callers needing ids
        # (the store) name them as missing
        dup = ids[ids.duplicated()].iloc[0]
        raise SchemaError(
            f"spans frame: column 'span_id' must be unique, but {dup!r} appears "
            "more than once; drop duplicates with df.drop_duplicates('span_id')."
        )
    return df


def conform(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Return a copy of ``df`` with every contract column present and typed.

    Missing optional columns are added filled with ``<NA>``; present columns are
    cast to the contract dtype; extra columns are kept after the contract ones.
    The input is validated first, so naive times still raise.

    Examples
    --------
    >>> import pandas as pd
    >>> out = conform(pd.DataFrame({"span_id": ["a"], "output_text": ["hi"]}),
    ...               "contents")
    >>> str(out.dtypes["input_text"])
    'string'
    """
    validate(df, kind)
    out = df.copy()
    for col in _columns(kind):
        if col.name not in out.columns:
            # the missing value of each dtype: NaT, NaN for numpy floats, <NA>
            missing = {UTC_DTYPE: pd.NaT, "float64": np.nan}.get(col.dtype, pd.NA)
            out[col.name] = pd.Series(missing, index=out.index, dtype=col.dtype)
        elif col.dtype != UTC_DTYPE and str(out[col.name].dtype) != col.dtype:
            if col.dtype == "string":
                out[col.name] = out[col.name].astype("string")
            elif col.dtype == "float64":
                out[col.name] = pd.to_numeric(out[col.name]).astype(np.float64)
            else:
                out[col.name] = out[col.name].astype(col.dtype)
        elif col.dtype == UTC_DTYPE and str(out[col.name].dtype) != UTC_DTYPE:
            out[col.name] = out[col.name].dt.tz_convert("UTC").astype(UTC_DTYPE)
    names = [c.name for c in _columns(kind)]
    extra = [c for c in out.columns if c not in names]
    return out[names + extra].reset_index(drop=True)
