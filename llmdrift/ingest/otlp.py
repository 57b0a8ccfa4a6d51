"""Read OTLP/JSON trace files into spans and contents frames.

The readers stream: each line (one ``ExportTraceServiceRequest`` as the
Collector's file exporter writes it) is parsed with orjson, each span becomes
one tuple of plain Python values, and every 100,000 spans the tuples are
transposed into Arrow arrays. The pandas frame is built once at the end, so a
million spans load without per-row pandas work. Which attribute fills which
column is listed in :mod:`llmdrift.ingest._attributes`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from llmdrift import schema
from llmdrift.ingest import _attributes as names
from llmdrift.ingest._files import (
    LoadReport,
    Malformed,
    expand_paths,
    hex_id,
    iter_spans,
    status_of,
    unix_nanos,
)
from llmdrift.ingest._messages import render_input, render_output
from llmdrift.tracing import template_hash

__all__ = ["read_otlp", "read_otlp_contents", "usage_inconsistent"]

_CHUNK = 100_000
_BAD = object()  # a value that is present but cannot be read as its type
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

# output columns of the span reader, in row-tuple order, with their Arrow type
_ROW = (
    ("trace_id", "str"),
    ("span_id", "str"),
    ("parent_span_id", "str"),
    ("start_ns", "int"),
    ("end_ns", "int"),
    ("service", "str"),
    ("operation", "str"),
    ("span_kind", "str"),
    ("span_name", "str"),
    ("provider", "str"),
    ("request_model", "str"),
    ("response_model", "str"),
    ("intent", "str"),
    ("prompt_hash", "str"),
    ("prompt_version", "str"),
    ("prompt_name", "str"),
    ("input_tokens", "int"),
    ("output_tokens", "int"),
    ("cache_read_tokens", "int"),
    ("cache_write_tokens", "int"),
    ("reasoning_tokens", "int"),
    ("reported_cost_usd", "float"),
    ("status", "str"),
    ("error_type", "str"),
    ("finish_reason", "str"),
    ("flagged", "bool"),
    ("retrieval_score", "float"),
)
_ARROW = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
}


# --- attribute values ---------------------------------------------------------


def _scalar(value: dict):
    """Plain Python value of an OTLP ``AnyValue`` (arrays become lists)."""
    for kind, inner in value.items():
        if kind == "arrayValue":
            return [_scalar(v) for v in (inner or {}).get("values") or ()]
        if kind == "kvlistValue":
            return {
                kv.get("key"): _scalar(kv.get("value") or {})
                for kv in (inner or {}).get("values") or ()
            }
        return inner
    return None


def _to_int(x):
    # intValue arrives as a decimal string (proto3 JSON) or a number; token
    # counts sent as stringValue "25" are accepted too. Anything else, and a
    # number outside int64 (the OTLP type), is _BAD.
    if type(x) is str:
        try:
            x = int(x)
        except ValueError:
            try:
                f = float(x)
            except ValueError:
                return _BAD
            if not f.is_integer():
                return _BAD
            x = int(f)
    elif type(x) is float:
        if not x.is_integer():
            return _BAD
        x = int(x)
    if type(x) is int and _INT64_MIN <= x <= _INT64_MAX:
        return x
    return _BAD


def _to_float(x):
    # a cost or score must be finite: "1e999", "inf" or "NaN" is unreadable
    # (reported), not a number
    if type(x) is float or type(x) is int:
        x = float(x)
    elif type(x) is str:
        try:
            x = float(x)
        except ValueError:
            return _BAD
    else:
        return _BAD
    return x if math.isfinite(x) else _BAD


def _to_bool(x):
    if type(x) is bool:
        return x
    if type(x) is str and x.lower() in ("true", "false"):
        return x.lower() == "true"
    if type(x) is int and x in (0, 1):
        return bool(x)
    return _BAD


def _to_str(x):
    if type(x) is str:
        return x
    if isinstance(x, list):
        return ",".join(str(v) for v in x) if x else None
    if isinstance(x, dict):
        return orjson.dumps(x).decode()
    return str(x)


_CONVERT = {
    "str": _to_str,
    "list": _to_str,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
}


class _Slots:
    """The attribute -> slot lookup for one read, with the caller's options."""

    def __init__(self, intent, prompt_hash, prompt_template, prompt_version):
        table = dict(names.SLOTS)
        for slot, chosen in (
            ("intent", intent),
            ("prompt_hash", prompt_hash),
            ("prompt_template", prompt_template),
            ("prompt_version", prompt_version),
        ):
            table[slot] = ("str", _names_option(chosen, slot))
        self.names = list(table)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.convert = [_CONVERT[table[name][0]] for name in self.names]
        keymap: dict[str, list[tuple[int, int]]] = {}
        for i, name in enumerate(self.names):
            for prio, key in enumerate(table[name][1]):
                keymap.setdefault(key, []).append((i, prio))
        self.keymap = {key: tuple(v) for key, v in keymap.items()}
        self.keyset = frozenset(keymap)
        self.n = len(self.names)
        self.is_text = [table[name][0] == "str" for name in self.names]


def _names_option(value, slot: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        value = tuple(value)
    except TypeError:
        raise TypeError(
            f"{slot}_attributes must be a str or a sequence of attribute names, got "
            f"{type(value).__name__}"
        ) from None
    if not all(isinstance(v, str) for v in value):
        raise TypeError(f"{slot}_attributes must hold attribute names (str): {value!r}")
    if any(not v.strip() for v in value):
        raise ValueError(
            f"{slot}_attributes holds an empty attribute name: {value!r}; pass () "
            "to read no attribute for it"
        )
    return value


# --- one span -> one row ------------------------------------------------------


def _pick(span: dict, slots: _Slots, report: LoadReport, where) -> list:
    """Slot values of one span: the highest-precedence attribute, converted."""
    n = slots.n
    vals: list = [None] * n
    attributes = span.get("attributes")
    if not attributes:
        return vals
    given = {item["key"]: item.get("value") for item in attributes}
    hits = given.keys() & slots.keyset  # set work in C; few keys survive
    if not hits:
        return vals

    # precedence: per slot, the key with the lowest rank among those present
    rank = [n] * n
    picked: list = [None] * n
    keymap = slots.keymap
    for key in hits:
        for slot, prio in keymap[key]:
            if prio < rank[slot]:
                rank[slot] = prio
                picked[slot] = key

    # conversion: plain strings and ints take the fast path
    is_text = slots.is_text
    convert = slots.convert
    for slot in range(n):
        key = picked[slot]
        if key is None:
            continue
        value = given[key]
        if not value:
            continue
        if is_text[slot]:
            x = value.get("stringValue")
            if x is not None:
                vals[slot] = x
                continue
            x = _scalar(value)
        else:
            x = value.get("intValue")
            if type(x) is int and _INT64_MIN <= x <= _INT64_MAX:
                vals[slot] = x
                continue
            if x is None:
                x = _scalar(value)
        if x is None:
            continue
        x = convert[slot](x)
        if x is _BAD:
            file, line, index = where
            report.bad_value(
                {"file": file, "line": line, "span": index},
                slots.names[slot],
                _scalar(value),
            )
            x = None
        vals[slot] = x
    return vals


def _span_kind(oi_kind, operation, has_model) -> str:
    if oi_kind is not None:
        return names.OPENINFERENCE_KINDS.get(oi_kind.upper(), "other")
    if operation is not None:
        kind = names.GENAI_OPERATION_KINDS.get(operation.lower())
        if kind is not None:
            return kind
    return "llm" if has_model else "other"


def _exception_type(span: dict):
    for event in span.get("events") or ():
        if event.get("name") == "exception":
            for item in event.get("attributes") or ():
                if item.get("key") == "exception.type":
                    return _to_str(_scalar(item.get("value") or {}))
    return None


def _document_score(span: dict):
    # retrieval spans without an explicit score: the best document's score
    best = None
    for item in span.get("attributes") or ():
        key = item.get("key") or ""
        if key.startswith("retrieval.documents.") and key.endswith(".document.score"):
            score = _to_float(_scalar(item.get("value") or {}))
            if score is not _BAD and (best is None or score > best):
                best = score
    return best


class _ModelFromParameters:
    """``model`` from the JSON of ``llm.invocation_parameters``, cached."""

    def __init__(self):
        self.cache: dict[str, str | None] = {}

    def __call__(self, text: str):
        try:
            return self.cache[text]
        except KeyError:
            pass
        try:
            model = orjson.loads(text).get("model")
        except (orjson.JSONDecodeError, AttributeError):
            model = None
        model = model if isinstance(model, str) else None
        if len(self.cache) < 100_000:
            self.cache[text] = model
        return model


# --- frame assembly -------------------------------------------------------------


class _Columns:
    """Row tuples gathered in chunks and turned into Arrow arrays."""

    def __init__(self, spec):
        self.spec = spec
        self.rows: list[tuple] = []
        self.chunks: list[list] = [[] for _ in spec]

    def flush(self) -> None:
        if not self.rows:
            return
        for i, values in enumerate(zip(*self.rows, strict=True)):
            self.chunks[i].append(pa.array(values, type=_ARROW[self.spec[i][1]]))
        self.rows = []

    def arrays(self) -> dict[str, pa.ChunkedArray]:
        self.flush()
        return {
            name: pa.chunked_array(self.chunks[i], type=_ARROW[kind])
            for i, (name, kind) in enumerate(self.spec)
        }


def _to_pandas(array: pa.ChunkedArray, kind: str) -> pd.Series:
    if kind == "str":
        return array.to_pandas(types_mapper=lambda _: pd.StringDtype())
    if kind == "int":
        return array.to_pandas(types_mapper=lambda _: pd.Int64Dtype())
    if kind == "float":
        return array.to_pandas(types_mapper=lambda _: pd.Float64Dtype())
    return array.to_pandas(types_mapper=lambda _: pd.BooleanDtype())


def _spans_frame(columns: _Columns) -> pd.DataFrame:
    arrays = columns.arrays()
    start = arrays.pop("start_ns")
    end = arrays.pop("end_ns")
    utc = pa.timestamp("ns", tz="UTC")

    # times stay int64 nanoseconds end to end: never through float
    start_np = start.to_numpy()
    has_end = end.is_valid().to_numpy(zero_copy_only=False)
    end_np = end.fill_null(0).to_numpy()
    duration_ns = pd.arrays.IntegerArray(end_np - start_np, ~has_end)
    duration_ms = np.where(has_end, (end_np - start_np) / 1e6, np.nan)

    data = {
        "trace_id": _to_pandas(arrays.pop("trace_id"), "str"),
        "span_id": _to_pandas(arrays.pop("span_id"), "str"),
        "parent_span_id": _to_pandas(arrays.pop("parent_span_id"), "str"),
        "start_time": start.cast(utc).to_pandas(),
        "end_time": end.cast(utc).to_pandas(),
        "duration_ms": pd.Series(duration_ms, dtype="float64"),
        "duration_ns": pd.Series(duration_ns),
    }
    kinds = dict(_ROW)
    for name, array in arrays.items():
        data[name] = _to_pandas(array, kinds[name])
    frame = pd.DataFrame(data)
    frame["cost_usd"] = frame["reported_cost_usd"]
    frame["usage_inconsistent"] = usage_inconsistent(frame)
    return frame


def usage_inconsistent(frame: pd.DataFrame) -> pd.Series:
    """True where token counts contradict the OTel GenAI meaning.

    Contradictions: a negative count, cache reads plus cache writes above the
    (inclusive) input count, or reasoning tokens above the output count. A
    missing count contradicts nothing.
    """
    zero = pd.Series(0, index=frame.index, dtype="Int64")

    def col(name):
        if name in frame.columns:
            return frame[name].astype("Int64")
        return pd.Series(pd.NA, index=frame.index, dtype="Int64")

    tokens = {
        name: col(name)
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
        )
    }
    bad = zero.astype("boolean") & False
    for series in tokens.values():
        bad = bad | (series < 0).fillna(False)
    cached = tokens["cache_read_tokens"].fillna(0) + tokens[
        "cache_write_tokens"
    ].fillna(0)
    bad = bad | (cached > tokens["input_tokens"]).fillna(False)
    bad = bad | (tokens["reasoning_tokens"] > tokens["output_tokens"]).fillna(False)
    return bad.astype(bool)


def _finish_report(report: LoadReport, who: str, extra: dict) -> dict:
    out = report.as_dict()
    out.update(extra)
    problems = []
    if report.lines_skipped:
        problems.append(f"{report.lines_skipped} line(s) skipped")
    if report.spans_skipped:
        problems.append(f"{report.spans_skipped} span(s) skipped")
    if extra.get("duplicate_spans_dropped"):
        problems.append(f"{extra['duplicate_spans_dropped']} duplicate span(s) dropped")
    if extra.get("usage_inconsistent"):
        problems.append(
            f"{extra['usage_inconsistent']} span(s) have contradictory token counts "
            "(negative, or cache/reasoning above their total; kept as given and "
            "flagged usage_inconsistent)"
        )
    if report.empty_files:
        shown = ", ".join(report.empty_files[:3])
        more = len(report.empty_files) - 3
        problems.append(
            f"{len(report.empty_files)} file(s) empty or blank ({shown}"
            + (f" and {more} more" if more > 0 else "")
            + "; an interrupted export or the wrong file?)"
        )
    n_bad = sum(report.values_not_parsed.values())
    if n_bad:
        problems.append(
            f"{n_bad} attribute value(s) unreadable and set to <NA> "
            f"({dict(report.values_not_parsed)})"
        )
    if problems:
        examples = report.examples or report.value_examples
        reasons = (
            f" Reasons: {dict(report.skipped_reasons)};"
            if report.skipped_reasons
            else ""
        )
        detail = f"{reasons} First example: {examples[0]}." if examples else reasons
        rest = "The rest loaded" if extra.get("spans_loaded") else "Nothing was loaded"
        warnings.warn(
            f"{who}: " + "; ".join(problems) + f".{detail} {rest}; see "
            ".attrs['ingest_report'] for details.",
            schema.LlmdriftWarning,
            stacklevel=3,
        )
    return out


# --- public readers -------------------------------------------------------------


def read_otlp(
    paths,
    *,
    intent_attributes: str | Sequence[str] = names.DEFAULT_INTENT_ATTRIBUTES,
    prompt_hash_attributes: str | Sequence[str] = names.DEFAULT_PROMPT_HASH_ATTRIBUTES,
    prompt_template_attributes: str | Sequence[str] = (
        names.DEFAULT_PROMPT_TEMPLATE_ATTRIBUTES
    ),
    prompt_version_attributes: str | Sequence[str] = (
        names.DEFAULT_PROMPT_VERSION_ATTRIBUTES
    ),
    progress: bool = False,
) -> pd.DataFrame:
    """Read OTLP/JSON trace files into a spans frame.

    Parameters
    ----------
    paths : str, path, glob pattern, directory, or a list of them
        OTLP/JSON files: one ``ExportTraceServiceRequest`` per line (the
        Collector's file exporter) or one document per file (pretty-printed
        or not, or a JSON array of requests). ``.json``, ``.jsonl``; gzip is
        recognised by content, so ``.gz`` works. A directory stands for the
        ``*.json``/``*.jsonl``/``*.gz`` files in it.
    intent_attributes : str or sequence of str, default see Notes
        Span attributes that carry the intent, first present wins.
    prompt_hash_attributes : str or sequence of str
        Attributes that carry a prompt template hash.
    prompt_template_attributes : str or sequence of str
        Attributes that carry the template text; hashed with
        :func:`llmdrift.tracing.template_hash` when no hash attribute is set.
    prompt_version_attributes : str or sequence of str
        Attributes that carry the template's version label.
    progress : bool, default=False
        Show a ``tqdm`` bar over the bytes read.

    Returns
    -------
    pandas.DataFrame
        The ``spans`` frame of :mod:`llmdrift.schema` (every contract column,
        typed), one row per span of every kind, in file order, plus:
        ``span_kind`` (``llm``, ``embedding``, ``retrieval``, ``tool``,
        ``agent``, ``chain``, ``other``: only ``llm`` rows are model calls),
        ``duration_ns`` (Int64, exact), ``span_name``, ``prompt_name`` (string)
        and ``usage_inconsistent`` (bool: the token counts contradict each
        other; the raw counts are kept, never clamped). ``cost_usd`` equals
        ``reported_cost_usd`` until :func:`llmdrift.price_spans` recomputes it.
        ``.attrs["ingest_report"]`` holds the load report: files,
        ``lines_read``, ``requests``, ``spans_seen``, ``spans_loaded``,
        ``lines_skipped``, ``spans_skipped``, ``skipped_reasons`` (reason ->
        count), ``examples`` (first 10, with file, line and span index),
        ``values_not_parsed`` (column -> count of values set to <NA>),
        ``value_examples``, ``duplicate_spans_dropped``, ``ids_from_base64``,
        ``usage_inconsistent`` (count).

    Raises
    ------
    FileNotFoundError
        When a path, directory or glob matches no file.

    Warns
    -----
    LlmdriftWarning
        When a line or span was skipped, a duplicate span dropped or an
        attribute value could not be read (it becomes <NA>).

    Notes
    -----
    Encoding (proto3 JSON mapping, as OTLP/JSON uses it): int64 values and
    nanosecond times may be decimal strings or numbers; times are kept as int64
    nanoseconds and never pass through float, so ``start_time``, ``end_time``
    and ``duration_ns`` are exact. Ids are returned as lowercase hex; uppercase
    hex is lower-cased, and base64 ids (the generic proto3 bytes mapping) are
    decoded, told apart by their length (24 characters for a trace id, 12 for a
    span id, against 32 and 16 hex digits). A token attribute given as text
    (``"25"``) is read as a number; unreadable text (``"n/a"``), an integer
    outside int64 and a cost that is not finite become <NA>, never 0, and are
    counted in the report.

    Skipped, with reason and location in the report: lines that are not JSON,
    JSON that is not an ``ExportTraceServiceRequest``, lines that are not
    UTF-8, the rest of a gzip file cut short (the lines before the cut load),
    spans with a missing or malformed trace id, span id or start time, a bad
    end time (or one before the start) or status, and attributes without a
    key. A span id seen twice (a retried export) keeps its first row.

    Default attribute names (first present wins) are in the table of
    :mod:`llmdrift.ingest._attributes`; intent:
    ``llmdrift.intent``, ``gen_ai.request.intent``, ``app.intent``, ``intent``;
    prompt hash: ``llmdrift.prompt.template_hash``, else the hash of
    ``llm.prompt_template.template``; version: ``gen_ai.prompt.version``,
    ``llm.prompt_template.version``, ``llmdrift.prompt.version``.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> request = {"resourceSpans": [{"resource": {"attributes": [
    ...     {"key": "service.name", "value": {"stringValue": "bot"}}]},
    ...   "scopeSpans": [{"spans": [{
    ...     "traceId": "0AF7651916CD43DD8448EB211C80319C",
    ...     "spanId": "b7ad6b7169203331", "name": "chat m",
    ...     "startTimeUnixNano": "1718000000000000000",
    ...     "endTimeUnixNano": "1718000001250000123",
    ...     "attributes": [
    ...       {"key": "gen_ai.request.model", "value": {"stringValue": "m"}},
    ...       {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "25"}}]}]}]}]}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "spans.jsonl"
    >>> _ = path.write_text(json.dumps(request) + "\\n")
    >>> spans = read_otlp(path)
    >>> row = spans.iloc[0]
    >>> row["trace_id"], int(row["input_tokens"]), int(row["duration_ns"])
    ('0af7651916cd43dd8448eb211c80319c', 25, 1250000123)
    >>> row["span_kind"], spans.attrs["ingest_report"]["spans_loaded"]
    ('llm', 1)
    """
    slots = _Slots(
        intent_attributes,
        prompt_hash_attributes,
        prompt_template_attributes,
        prompt_version_attributes,
    )
    files = expand_paths(paths)
    report = LoadReport()
    columns = _Columns(_ROW)
    rows = columns.rows
    hashes: dict[str, str] = {}
    model_of = _ModelFromParameters()
    s = slots.index
    (
        i_provider,
        i_request,
        i_response,
        i_oi_model,
        i_invocation,
        i_operation,
        i_oi_kind,
        i_in,
        i_out,
        i_cread,
        i_cwrite,
        i_reason,
        i_cost,
        i_intent,
        i_hash,
        i_template,
        i_version,
        i_name,
        i_error,
        i_finish,
        i_flag,
        i_score,
    ) = (
        s[k]
        for k in (
            "provider",
            "request_model",
            "response_model",
            "oi_model",
            "invocation_parameters",
            "operation",
            "oi_kind",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
            "reported_cost_usd",
            "intent",
            "prompt_hash",
            "prompt_template",
            "prompt_version",
            "prompt_name",
            "error_type",
            "finish_reason",
            "flagged",
            "retrieval_score",
        )
    )

    for span, service, where in iter_spans(files, report, progress):
        try:
            trace_id = hex_id(span.get("traceId"), 16, report, "traceId")
            span_id = hex_id(span.get("spanId"), 8, report, "spanId")
            if trace_id is None or span_id is None:
                raise Malformed("missing id", "traceId and spanId are required")
            parent = hex_id(span.get("parentSpanId"), 8, report, "parentSpanId")
            start = span.get("startTimeUnixNano")
            if start is None:
                raise Malformed("missing startTimeUnixNano")
            start = unix_nanos(start, "startTimeUnixNano")
            end = span.get("endTimeUnixNano")
            end = None if end is None else unix_nanos(end, "endTimeUnixNano")
            if end is not None and end < start:
                raise Malformed(
                    "bad endTimeUnixNano",
                    f"end {end} is before start {start} (a clock or writer error)",
                )
            status = status_of(span)
            v = _pick(span, slots, report, where)
        except Malformed as error:
            file, line, index = where
            report.skip({"file": file, "line": line, "span": index}, error, line=False)
            continue
        except (KeyError, TypeError, AttributeError) as error:
            file, line, index = where
            report.skip(
                {"file": file, "line": line, "span": index},
                Malformed("malformed span", f"{type(error).__name__}: {error}"),
                line=False,
            )
            continue

        # derived values: request model fallbacks, kind, hash, error type
        name = span.get("name")
        if name is not None and type(name) is not str:
            # OTLP names are strings; a number or object here is a writer bug
            file, line, index = where
            report.bad_value(
                {"file": file, "line": line, "span": index}, "span_name", name
            )
            name = None
        oi_model = v[i_oi_model]
        request_model = v[i_request]
        if request_model is None:
            if v[i_invocation] is not None:
                request_model = model_of(v[i_invocation])
            if request_model is None:
                request_model = oi_model
        response_model = v[i_response] if v[i_response] is not None else oi_model
        operation = v[i_operation]
        kind = _span_kind(v[i_oi_kind], operation, request_model is not None)
        prompt_hash = v[i_hash]
        if prompt_hash is None and v[i_template] is not None:
            template = v[i_template]
            prompt_hash = hashes.get(template)
            if prompt_hash is None:
                prompt_hash = hashes[template] = template_hash(template)
        error_type = v[i_error]
        if error_type is None and status == "error":
            error_type = _exception_type(span)
        score = v[i_score]
        if score is None and kind == "retrieval":
            score = _document_score(span)
        rows.append((
            trace_id, span_id, parent, start, end, service,
            operation if operation is not None else name, kind, name,
            v[i_provider], request_model, response_model, v[i_intent], prompt_hash,
            v[i_version], v[i_name], v[i_in], v[i_out], v[i_cread], v[i_cwrite],
            v[i_reason], v[i_cost], status, error_type, v[i_finish], v[i_flag],
            score,
        ))  # fmt: skip
        if len(rows) >= _CHUNK:
            columns.flush()
            rows = columns.rows

    frame = _spans_frame(columns)
    duplicated = frame["span_id"].duplicated()
    n_duplicated = int(duplicated.sum())
    if n_duplicated:
        frame = frame.loc[~duplicated].reset_index(drop=True)
    frame = schema.conform(frame, "spans")
    frame.attrs["ingest_report"] = _finish_report(
        report,
        "read_otlp",
        {
            "spans_loaded": len(frame),
            "duplicate_spans_dropped": n_duplicated,
            "usage_inconsistent": int(frame["usage_inconsistent"].sum()),
        },
    )
    return frame


_CONTENT_KEYS = frozenset({
    names.INPUT_MESSAGES, names.OUTPUT_MESSAGES, names.GENAI_PROMPT,
    names.GENAI_COMPLETION, names.OI_INPUT_VALUE, names.OI_OUTPUT_VALUE,
    names.PLAIN_INPUT, names.PLAIN_OUTPUT, "input.mime_type", "output.mime_type",
})  # fmt: skip
_CONTENT_PREFIXES = (
    names.OI_INPUT_PREFIX,
    names.OI_OUTPUT_PREFIX,
    names.GENAI_PROMPT + ".",
    names.GENAI_COMPLETION + ".",
)


def _content_attributes(span: dict) -> dict:
    found: dict = {}
    for item in span.get("attributes") or ():
        key = item["key"]
        if type(key) is not str:
            # not an attribute name (as read_otlp, which ignores it too); the
            # span's other texts still load
            continue
        if key in _CONTENT_KEYS:
            found[key] = _scalar(item.get("value") or {})
        elif key.startswith(_CONTENT_PREFIXES):
            for prefix in _CONTENT_PREFIXES:
                if key.startswith(prefix):
                    suffix = key[len(prefix) :]
                    if suffix[:1].isdigit():
                        found.setdefault(prefix, {})[suffix] = _scalar(
                            item.get("value") or {}
                        )
                    break
    return found


def read_otlp_contents(paths, *, progress: bool = False) -> pd.DataFrame:
    """Read the prompt and answer texts of OTLP/JSON spans into a contents frame.

    Texts are kept apart from the spans frame because they may hold personal
    data; join them on ``span_id`` when a check or the judge needs them.

    Parameters
    ----------
    paths : str, path, glob pattern, directory, or a list of them
        As for :func:`read_otlp`.
    progress : bool, default=False
        Show a ``tqdm`` bar over the bytes read.

    Returns
    -------
    pandas.DataFrame
        The ``contents`` frame: ``span_id``, ``input_text``, ``output_text``
        (string, <NA> when absent), one row per span that carries an input or
        an output text, any span kind, in file order. ``.attrs["ingest_report"]``
        holds the load report as in :func:`read_otlp`.

    Notes
    -----
    Sources, first present wins: input ``gen_ai.input.messages``,
    ``llm.input_messages.*``, ``gen_ai.prompt`` (plain, JSON or indexed
    ``gen_ai.prompt.<i>.*``), ``input.value``, ``input``; output
    ``gen_ai.output.messages``, ``llm.output_messages.*``, ``gen_ai.completion``,
    ``output.value``, ``output``. Input messages become ``role: text`` lines;
    the output is the answer text only. The full rules, including when a JSON
    value is opened and when it is kept verbatim, are in
    :mod:`llmdrift.ingest._messages`.

    A known limit: a model whose answer is itself a JSON object with a
    top-level ``text`` or ``content`` string, recorded only in
    ``gen_ai.completion``/``output.value`` (no message list), gets that field
    returned instead of the whole JSON answer. Message-list attributes are not
    affected.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> attrs = [{"key": "gen_ai.output.messages", "value": {"stringValue":
    ...     '[{"role": "assistant", "parts": [{"type": "text", "content": "Hi"}]}]'}}]
    >>> request = {"resourceSpans": [{"scopeSpans": [{"spans": [{
    ...     "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
    ...     "startTimeUnixNano": "1718000000000000000", "attributes": attrs}]}]}]}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "spans.json"
    >>> _ = path.write_text(json.dumps(request, indent=2))
    >>> read_otlp_contents(path)["output_text"].tolist()
    ['Hi']
    """
    files = expand_paths(paths)
    report = LoadReport()
    span_ids: list[str] = []
    inputs: list = []
    outputs: list = []
    for span, _service, where in iter_spans(files, report, progress):
        try:
            span_id = hex_id(span.get("spanId"), 8, report, "spanId")
            if span_id is None:
                raise Malformed("missing id", "spanId is required")
            found = _content_attributes(span)
            if not found:
                continue
            input_text = render_input(found)
            output_text = render_output(found)
        except Malformed as error:
            file, line, index = where
            report.skip({"file": file, "line": line, "span": index}, error, line=False)
            continue
        except (KeyError, TypeError, AttributeError) as error:
            file, line, index = where
            report.skip(
                {"file": file, "line": line, "span": index},
                Malformed("malformed span", f"{type(error).__name__}: {error}"),
                line=False,
            )
            continue
        if input_text is None and output_text is None:
            continue
        span_ids.append(span_id)
        inputs.append(input_text)
        outputs.append(output_text)

    frame = pd.DataFrame({
        "span_id": pd.array(span_ids, dtype="string"),
        "input_text": pd.array(inputs, dtype="string"),
        "output_text": pd.array(outputs, dtype="string"),
    })  # fmt: skip
    duplicated = frame["span_id"].duplicated()
    n_duplicated = int(duplicated.sum())
    if n_duplicated:
        frame = frame.loc[~duplicated].reset_index(drop=True)
    frame = schema.conform(frame, "contents")
    frame.attrs["ingest_report"] = _finish_report(
        report,
        "read_otlp_contents",
        {"spans_loaded": len(frame), "duplicate_spans_dropped": n_duplicated},
    )
    return frame
