"""Building OTLP/JSON test files with the real OpenTelemetry SDK.

Spans are made by an SDK ``TracerProvider`` into an ``InMemorySpanExporter``
and serialised the way the Collector's file exporter writes them, through
``llmdrift.ingest.spans_to_otlp_json`` (the SDK's protobuf encoder, then
``MessageToDict``, then hex ids and integer enums).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import orjson
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from llmdrift.ingest import spans_to_otlp_json

T0 = 1_718_000_000_000_000_000  # 2024-06-10T06:13:20Z in ns


def sdk_spans(build: Callable, *, service: str = "support-bot") -> list:
    """Finished SDK spans made by ``build(tracer)``."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    build(provider.get_tracer("llmdrift-tests", "1.0"))
    provider.shutdown()
    return list(exporter.get_finished_spans())


def one_span(tracer, name: str, attributes: dict, *, start: int = T0, end=None, **kw):
    """Start and end one span with exact ns times; returns it."""
    span = tracer.start_span(name, attributes=attributes, start_time=start, **kw)
    span.end(end_time=end if end is not None else start + 1_250_000_123)
    return span


def hex_ids(span) -> tuple[str, str]:
    """(trace id, span id) of an SDK span as OTLP/JSON hex."""
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def write_lines(path: Path, requests: list[dict]) -> Path:
    """Collector file-exporter layout: one request per line."""
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in requests))
    return path


def request_of(spans: list) -> dict:
    return spans_to_otlp_json(spans)


def proto3_default_json(spans: list, *, enum_names: bool = False) -> dict:
    """The generic proto3 JSON mapping: base64 ids (a non-conforming producer)."""
    return MessageToDict(encode_spans(spans), use_integers_for_enums=not enum_names)


def b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def first_span(request: dict) -> dict:
    return request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]


def attributes_for_sdk(attributes: dict) -> dict:
    """Attribute map made acceptable to the SDK (dicts become JSON text)."""
    out = {}
    for key, value in attributes.items():
        if isinstance(value, dict) or (
            isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
        ):
            value = orjson.dumps(value).decode()
        elif value is None:
            continue
        out[key] = value
    return out
