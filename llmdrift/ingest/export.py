"""Write finished OpenTelemetry SDK spans as OTLP/JSON, the way the Collector does.

The SDK's OTLP exporters speak protobuf; the Collector's file exporter writes
the same ``ExportTraceServiceRequest`` as JSON, one request per line. This
module makes that JSON from SDK spans: the SDK's own protobuf encoder
(``opentelemetry.exporter.otlp.proto.common.trace_encoder.encode_spans``),
then ``google.protobuf.json_format.MessageToDict``, then the two places where
OTLP/JSON departs from the generic proto3 JSON mapping: trace and span ids are
hex, not base64, and enums (span kind, status code) are integers. int64 values
(times, ``intValue``) stay decimal strings, as proto3 JSON writes them.
"""

from __future__ import annotations

import base64
import gzip
import os
from collections.abc import Iterable, Sequence

import orjson
import pandas as pd

__all__ = ["frame_to_otlp_json", "spans_to_otlp_json", "write_otlp_json"]

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _hex(value: str) -> str:
    return base64.b64decode(value).hex()


def _ids_to_hex(item: dict) -> None:
    for field in _ID_FIELDS:
        if item.get(field):
            item[field] = _hex(item[field])


def spans_to_otlp_json(spans: Sequence) -> dict:
    """OTLP/JSON ``ExportTraceServiceRequest`` of finished SDK spans.

    Parameters
    ----------
    spans : sequence of opentelemetry.sdk.trace.ReadableSpan
        E.g. ``InMemorySpanExporter().get_finished_spans()``.

    Returns
    -------
    dict
        ``{"resourceSpans": [...]}`` ready for ``json.dumps``: hex ids, integer
        enums, int64 as decimal strings, spans grouped by resource and scope
        as the SDK encoder groups them.

    Examples
    --------
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    ...     InMemorySpanExporter)
    >>> exporter = InMemorySpanExporter()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(exporter))
    >>> with provider.get_tracer("demo").start_as_current_span("chat m") as span:
    ...     span.set_attribute("gen_ai.usage.input_tokens", 25)
    >>> request = spans_to_otlp_json(exporter.get_finished_spans())
    >>> out = request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    >>> len(out["traceId"]), len(out["spanId"]), out["attributes"][0]["value"]
    (32, 16, {'intValue': '25'})
    """
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    message = encode_spans(list(spans))
    request = MessageToDict(message, use_integers_for_enums=True)
    for resource_spans in request.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                _ids_to_hex(span)
                for link in span.get("links", []):
                    _ids_to_hex(link)
    return request


def write_otlp_json(
    path: str | os.PathLike, requests: Iterable[dict], *, compress: bool | None = None
) -> None:
    """Write OTLP/JSON requests one per line (the Collector file-exporter layout).

    Parameters
    ----------
    path : str or path
        Output file; gzip-compressed when ``compress`` is true, or when it is
        ``None`` and the name ends with ``.gz``.
    requests : iterable of dict
        ``ExportTraceServiceRequest`` dicts, e.g. from
        :func:`spans_to_otlp_json`.
    compress : bool, optional

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.jsonl.gz"
    >>> write_otlp_json(path, [{"resourceSpans": []}])
    >>> import gzip; gzip.open(path).read()
    b'{"resourceSpans":[]}\\n'
    """
    if compress is None:
        compress = os.fspath(path).endswith(".gz")
    opener = gzip.open if compress else open
    with opener(path, "wb") as handle:
        for request in requests:
            handle.write(orjson.dumps(request) + b"\n")


# spans-contract column -> (OTLP attribute read back by read_otlp, value kind)
_FRAME_ATTRIBUTES = {
    "operation": ("gen_ai.operation.name", "str"),
    "provider": ("gen_ai.provider.name", "str"),
    "request_model": ("gen_ai.request.model", "str"),
    "response_model": ("gen_ai.response.model", "str"),
    "intent": ("llmdrift.intent", "str"),
    "prompt_name": ("gen_ai.prompt.name", "str"),
    "prompt_version": ("gen_ai.prompt.version", "str"),
    "prompt_hash": ("llmdrift.prompt.template_hash", "str"),
    "input_tokens": ("gen_ai.usage.input_tokens", "int"),
    "output_tokens": ("gen_ai.usage.output_tokens", "int"),
    "cache_read_tokens": ("gen_ai.usage.cache_read.input_tokens", "int"),
    "cache_write_tokens": ("gen_ai.usage.cache_creation.input_tokens", "int"),
    "reasoning_tokens": ("gen_ai.usage.reasoning.output_tokens", "int"),
    "reported_cost_usd": ("gen_ai.usage.cost", "float"),
    "error_type": ("error.type", "str"),
    "finish_reason": ("gen_ai.response.finish_reasons", "list"),
    "flagged": ("llmdrift.flagged", "bool"),
    "retrieval_score": ("llmdrift.retrieval.score", "float"),
}

_SPAN_KIND_NAMES = {
    "llm": "LLM",
    "embedding": "EMBEDDING",
    "retrieval": "RETRIEVER",
    "tool": "TOOL",
    "agent": "AGENT",
    "chain": "CHAIN",
    "other": "UNKNOWN",
}


def _any_value(value, kind: str) -> dict | None:
    """An OTLP ``AnyValue`` for one frame cell (None for a missing value)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if kind == "str":
        return {"stringValue": str(value)}
    if kind == "int":
        return {"intValue": str(int(value))}
    if kind == "float":
        return {"doubleValue": float(value)}
    if kind == "bool":
        return {"boolValue": bool(value)}
    return {"arrayValue": {"values": [{"stringValue": str(value)}]}}


def _nanos(value) -> str:
    return str(pd.Timestamp(value).value)


def frame_to_otlp_json(
    spans: pd.DataFrame,
    contents: pd.DataFrame | None = None,
    *,
    scope: str = "llmdrift.export",
) -> dict:
    """OTLP/JSON ``ExportTraceServiceRequest`` of a spans frame (the inverse of read_otlp).

    Each row becomes one span under a resource per ``service``, with the
    attributes :func:`llmdrift.read_otlp` reads (``gen_ai.*`` usage, models
    and operation, ``llmdrift.intent``, ``llmdrift.prompt.template_hash``,
    ``gen_ai.prompt.version``, ``error.type``, ...), ``openinference.span.kind``
    for the span kind, an ERROR status for ``status == "error"``, and, when
    ``contents`` is given, the prompt and answer as ``input.value`` and
    ``gen_ai.output.messages``. Missing values are left out. Use it to turn
    frames (the demo, a warehouse extract) into files for ``llmdrift ingest``.

    Parameters
    ----------
    spans : pandas.DataFrame
        Needs ``trace_id``, ``span_id``, ``start_time`` and ``end_time`` or
        ``duration_ms``; uses every other spans-contract column it finds.
    contents : pandas.DataFrame, optional
        ``span_id``, ``input_text``, ``output_text``.
    scope : str
        The instrumentation scope name written.

    Returns
    -------
    dict
        ``{"resourceSpans": [...]}``, ready for :func:`write_otlp_json`.

    Examples
    --------
    >>> import pandas as pd
    >>> spans = pd.DataFrame({"trace_id": ["ab" * 16], "span_id": ["cd" * 8],
    ...     "start_time": pd.to_datetime(["2026-03-01 10:00"], utc=True),
    ...     "duration_ms": [1200.0], "service": ["chat"], "span_kind": ["llm"],
    ...     "operation": ["chat"], "request_model": ["m"], "intent": ["refund"],
    ...     "input_tokens": pd.array([25], dtype="Int64"), "status": ["ok"]})
    >>> request = frame_to_otlp_json(spans)
    >>> span = request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    >>> span["name"], span["endTimeUnixNano"]
    ('chat m', '1772359201200000000')
    >>> {a["key"]: a["value"] for a in span["attributes"]}["gen_ai.usage.input_tokens"]
    {'intValue': '25'}
    """
    missing = [c for c in ("trace_id", "span_id", "start_time") if c not in spans]
    if missing:
        raise ValueError(
            f"spans needs the columns {missing} to be written as OTLP; it has "
            f"{list(spans.columns)}."
        )
    texts = {}
    if contents is not None and len(contents):
        for row in contents.to_dict("records"):
            texts[row["span_id"]] = row
    by_service: dict[str, list] = {}
    columns = [c for c in _FRAME_ATTRIBUTES if c in spans.columns]
    for row in spans.to_dict("records"):
        start = pd.Timestamp(row["start_time"])
        if (
            "end_time" in row
            and row["end_time"] is not None
            and row["end_time"] is not pd.NaT
        ):
            end = pd.Timestamp(row["end_time"])
        else:
            duration = row.get("duration_ms")
            duration = 0.0 if duration is None or duration != duration else duration
            end = start + pd.Timedelta(milliseconds=float(duration))
        attributes = []
        kind = row.get("span_kind")
        if isinstance(kind, str) and kind:
            attributes.append(
                {
                    "key": "openinference.span.kind",
                    "value": {"stringValue": _SPAN_KIND_NAMES.get(kind, "UNKNOWN")},
                }
            )
        for column in columns:
            key, value_kind = _FRAME_ATTRIBUTES[column]
            value = _any_value(row[column], value_kind)
            if value is not None:
                attributes.append({"key": key, "value": value})
        text = texts.get(row["span_id"])
        if text is not None:
            if isinstance(text.get("input_text"), str):
                attributes.append(
                    {"key": "input.value", "value": {"stringValue": text["input_text"]}}
                )
            if isinstance(text.get("output_text"), str):
                message = [
                    {
                        "role": "assistant",
                        "parts": [{"type": "text", "content": text["output_text"]}],
                    }
                ]
                attributes.append(
                    {
                        "key": "gen_ai.output.messages",
                        "value": {"stringValue": orjson.dumps(message).decode()},
                    }
                )
        operation = row.get("operation")
        model = row.get("request_model")
        name = (
            " ".join(str(v) for v in (operation, model) if isinstance(v, str) and v)
            or "span"
        )
        span = {
            "traceId": str(row["trace_id"]),
            "spanId": str(row["span_id"]),
            "name": name,
            "kind": 3 if kind in ("llm", "embedding") else 1,
            "startTimeUnixNano": _nanos(start),
            "endTimeUnixNano": _nanos(end),
            "attributes": attributes,
        }
        parent = row.get("parent_span_id")
        if isinstance(parent, str) and parent:
            span["parentSpanId"] = parent
        if row.get("status") == "error":
            message = row.get("error_type")
            span["status"] = {"code": 2, **({"message": message} if message else {})}
        elif row.get("status") == "ok":
            span["status"] = {"code": 1}
        else:
            span["status"] = {"code": 0}
        service = row.get("service")
        by_service.setdefault(service if isinstance(service, str) else "", []).append(
            span
        )
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": (
                        [{"key": "service.name", "value": {"stringValue": service}}]
                        if service
                        else []
                    )
                },
                "scopeSpans": [{"scope": {"name": scope}, "spans": group}],
            }
            for service, group in by_service.items()
        ]
    }
