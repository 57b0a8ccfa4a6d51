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

__all__ = ["spans_to_otlp_json", "write_otlp_json"]

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
