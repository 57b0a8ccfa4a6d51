"""Hostile but realistic input: each test pins one breakage found and fixed.

Every test builds its bad input by hand and states the right outcome: a clear
error naming what is wrong, or a reported-and-skipped record with the rest
loaded. Frames given to a function must come back unchanged.
"""

from __future__ import annotations

import json
import warnings

import pytest

from llmdrift import schema
from llmdrift.ingest import read_otlp, read_otlp_contents

TRACE = "0af7651916cd43dd8448eb211c80319c"


def _span(span_id: str, **extra) -> dict:
    span = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": "chat m",
        "startTimeUnixNano": "1718000000000000000",
        "endTimeUnixNano": "1718000001000000000",
        "attributes": [
            {"key": "gen_ai.request.model", "value": {"stringValue": "m"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "25"}},
        ],
    }
    span.update(extra)
    return span


def _line(*spans: dict) -> str:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]})


# --- read_otlp ----------------------------------------------------------------------


def test_span_name_that_is_not_text_is_reported_not_fatal(tmp_path):
    # a writer put a number in "name": it used to kill the whole load with an
    # ArrowTypeError; now that value is <NA>, counted, and the other span loads
    path = tmp_path / "spans.jsonl"
    path.write_text(
        _line(_span("00000000000000a1", name=5))
        + "\n"
        + _line(_span("00000000000000a2"))
    )
    with pytest.warns(schema.LlmdriftWarning, match="span_name"):
        spans = read_otlp(path)
    assert spans["span_id"].tolist() == ["00000000000000a1", "00000000000000a2"]
    assert spans["span_name"].isna().tolist() == [True, False]
    assert spans.attrs["ingest_report"]["values_not_parsed"] == {"span_name": 1}
    assert spans["request_model"].tolist() == ["m", "m"]


@pytest.mark.parametrize("reader", [read_otlp, read_otlp_contents])
def test_json_null_line_is_reported_not_silently_dropped(tmp_path, reader):
    # 'null' is valid JSON but not a request; it used to vanish without a word
    path = tmp_path / "spans.jsonl"
    path.write_text("null\n" + _line(_span("00000000000000b1")) + "\n")
    with pytest.warns(schema.LlmdriftWarning, match="1 line"):
        frame = reader(path)
    report = frame.attrs["ingest_report"]
    assert report["skipped_reasons"] == {"not an OTLP ExportTraceServiceRequest": 1}
    assert report["examples"][0]["line"] == 1
    if reader is read_otlp:
        assert frame["span_id"].tolist() == ["00000000000000b1"]


def test_utf8_byte_order_mark_is_read(tmp_path):
    # editors on Windows write a BOM; the file is valid UTF-8 and must load
    path = tmp_path / "spans.jsonl"
    text = _line(_span("00000000000000c1")) + "\n" + _line(_span("00000000000000c2"))
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spans = read_otlp(path)
    assert spans["span_id"].tolist() == ["00000000000000c1", "00000000000000c2"]


def test_bom_on_a_pretty_printed_document(tmp_path):
    path = tmp_path / "spans.json"
    doc = json.loads(_line(_span("00000000000000c3")))
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc, indent=2).encode())
    assert read_otlp(path)["span_id"].tolist() == ["00000000000000c3"]


def test_empty_path_string_is_an_error_not_the_working_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="empty path"):
        read_otlp("")


def test_none_inside_a_path_list_names_the_entry():
    with pytest.raises(TypeError, match="each path must be a str or a Path.*None"):
        read_otlp([None])
