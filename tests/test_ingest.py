"""Tests of llmdrift.ingest: OTLP/JSON reading, contents, plain tables."""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import shared_path
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from otlp_fixtures import (
    T0,
    attributes_for_sdk,
    b64,
    first_span,
    hex_ids,
    one_span,
    proto3_default_json,
    request_of,
    sdk_spans,
    write_lines,
)

from llmdrift import schema
from llmdrift.ingest import (
    from_table,
    read_otlp,
    read_otlp_contents,
    spans_to_otlp_json,
    write_otlp_json,
)
from llmdrift.tracing import template_hash

# --- BR-05: int64 as strings, exact nanoseconds, hex ids -------------------------

BR05 = {
    "resourceSpans": [
        {
            "resource": {
                "attributes": [
                    {"key": "service.name", "value": {"stringValue": "support-bot"}}
                ]
            },
            "scopeSpans": [
                {
                    "scope": {"name": "demo"},
                    "spans": [
                        {
                            "traceId": "0af7651916cd43dd8448eb211c80319c",
                            "spanId": "b7ad6b7169203331",
                            "name": "chat model-x",
                            "startTimeUnixNano": "1718000000000000000",
                            "endTimeUnixNano": "1718000001250000123",
                            "attributes": [
                                {
                                    "key": "gen_ai.request.model",
                                    "value": {"stringValue": "model-x"},
                                },
                                {
                                    "key": "gen_ai.usage.input_tokens",
                                    "value": {"intValue": "25"},
                                },
                                {
                                    "key": "gen_ai.usage.output_tokens",
                                    "value": {"intValue": 7},
                                },
                            ],
                        }
                    ],
                }
            ],
        }
    ]
}
END_NS = 1718000001250000123


def _numbers_form(request: dict) -> dict:
    """The same request with every int64 written as a JSON number."""
    out = copy.deepcopy(request)
    span = first_span(out)
    span["startTimeUnixNano"] = int(span["startTimeUnixNano"])
    span["endTimeUnixNano"] = int(span["endTimeUnixNano"])
    for item in span["attributes"]:
        if "intValue" in item["value"]:
            item["value"]["intValue"] = int(item["value"]["intValue"])
    return out


@pytest.mark.parametrize("form", ["as_written", "numbers", "pretty_document"])
def test_br05_exact_values(tmp_path, form):
    request = _numbers_form(BR05) if form == "numbers" else BR05
    path = tmp_path / "br05.json"
    if form == "pretty_document":
        path.write_text(json.dumps(request, indent=2))
    else:
        write_lines(path, [request])
    spans = read_otlp(path)
    assert len(spans) == 1
    row = spans.iloc[0]
    assert row["input_tokens"] == 25 and row["output_tokens"] == 7
    assert row["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert row["span_id"] == "b7ad6b7169203331"
    assert row["service"] == "support-bot" and row["request_model"] == "model-x"
    # 1718000000 s after the epoch, computed with the standard library
    start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=1718000000)
    assert start == dt.datetime(2024, 6, 10, 6, 13, 20, tzinfo=dt.UTC)
    assert row["start_time"] == pd.Timestamp(start)
    assert row["end_time"] == pd.Timestamp("2024-06-10T06:13:21.250000123Z")
    assert row["end_time"].value == END_NS
    assert row["duration_ns"] == 1_250_000_123
    assert row["duration_ms"] == pytest.approx(1250.000123, abs=1e-9)
    assert str(spans["start_time"].dtype) == "datetime64[ns, UTC]"
    schema.validate(spans, "spans")


def test_br05_float_trap_is_avoided(tmp_path):
    """Through float the end time is 5 ns off; the reader must not do that."""
    through_float = int(float("1718000001250000123"))
    assert through_float == 1718000001250000128  # the trap is real
    spans = read_otlp(write_lines(tmp_path / "a.jsonl", [BR05]))
    assert spans["end_time"].iloc[0].value != through_float
    assert spans["duration_ns"].iloc[0] != through_float - 1718000000000000000
    assert spans["input_tokens"].iloc[0] != 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"stringValue": "25"}, 25),
        ({"intValue": "25"}, 25),
        ({"doubleValue": 25.0}, 25),
    ],
)
def test_token_value_forms_coerce(tmp_path, value, expected):
    request = copy.deepcopy(BR05)
    first_span(request)["attributes"] = [
        {"key": "llm.model_name", "value": {"stringValue": "m"}},
        {"key": "llm.token_count.prompt", "value": value},
    ]
    spans = read_otlp(write_lines(tmp_path / "a.jsonl", [request]))
    assert spans["input_tokens"].iloc[0] == expected


def test_token_text_not_a_number_becomes_na_with_report(tmp_path):
    request = copy.deepcopy(BR05)
    first_span(request)["attributes"] = [
        {"key": "llm.model_name", "value": {"stringValue": "m"}},
        {"key": "llm.token_count.prompt", "value": {"stringValue": "n/a"}},
        {"key": "llm.token_count.completion", "value": {"stringValue": "7"}},
    ]
    with pytest.warns(schema.LlmdriftWarning, match="unreadable") as caught:
        spans = read_otlp(write_lines(tmp_path / "a.jsonl", [request]))
    message = str(caught[0].message)
    assert "Reasons" not in message  # nothing was skipped
    assert "First example: {" in message and "'n/a'" in message
    assert pd.isna(spans["input_tokens"].iloc[0])  # NA, not 0
    assert spans["output_tokens"].iloc[0] == 7
    report = spans.attrs["ingest_report"]
    assert report["values_not_parsed"] == {"input_tokens": 1}
    assert report["value_examples"][0]["value"] == "'n/a'"
    assert report["spans_loaded"] == 1


# --- SDK-built files --------------------------------------------------------------


def _genai_spans(tracer):
    one_span(
        tracer,
        "chat gpt-4",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4",
            "gen_ai.response.model": "gpt-4-0613",
            "gen_ai.usage.input_tokens": 4000,
            "gen_ai.usage.output_tokens": 100,
            "gen_ai.usage.cache_read.input_tokens": 3000,
            "gen_ai.usage.cache_creation.input_tokens": 900,
            "gen_ai.usage.reasoning.output_tokens": 40,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.usage.cost": 0.006075,
            "llmdrift.intent": "refund",
            "gen_ai.prompt.name": "triage",
            "gen_ai.prompt.version": "7",
            "llmdrift.prompt.template_hash": "abc123def456",
        },
    )


def test_sdk_genai_span_round_trip(tmp_path):
    spans_sdk = sdk_spans(_genai_spans)
    request = request_of(spans_sdk)
    span_json = first_span(request)
    trace_hex, span_hex = hex_ids(spans_sdk[0])
    assert span_json["traceId"] == trace_hex and span_json["spanId"] == span_hex
    assert span_json["startTimeUnixNano"] == str(T0)  # int64 as a decimal string
    assert span_json["kind"] == 1  # integer enum (INTERNAL)

    spans = read_otlp(write_lines(tmp_path / "t.jsonl", [request]))
    row = spans.iloc[0]
    assert (row["trace_id"], row["span_id"]) == (trace_hex, span_hex)
    assert row["service"] == "support-bot"
    assert row["span_kind"] == "llm" and row["operation"] == "chat"
    assert row["provider"] == "openai"
    assert (row["request_model"], row["response_model"]) == ("gpt-4", "gpt-4-0613")
    assert row["input_tokens"] == 4000 and row["output_tokens"] == 100
    assert row["cache_read_tokens"] == 3000 and row["cache_write_tokens"] == 900
    assert row["reasoning_tokens"] == 40
    assert row["finish_reason"] == "stop"
    assert row["reported_cost_usd"] == pytest.approx(0.006075)
    assert row["cost_usd"] == pytest.approx(0.006075)
    assert row["intent"] == "refund"
    assert (row["prompt_name"], row["prompt_version"]) == ("triage", "7")
    assert row["prompt_hash"] == "abc123def456"
    assert not row["usage_inconsistent"]
    assert row["duration_ns"] == 1_250_000_123
    assert row["start_time"].value == T0
    assert pd.isna(row["parent_span_id"])
    assert row["status"] == "unset"


def test_br04_aliases_and_inconsistent_guard(tmp_path):
    def build(tracer):
        one_span(
            tracer,
            "chat model-c",
            {
                "gen_ai.provider.name": "anthropic",
                "gen_ai.request.model": "model-c",
                "gen_ai.usage.input_tokens": 4000,
                "gen_ai.usage.cache_read_input_tokens": 3000,
                "gen_ai.usage.cache_creation_input_tokens": 900,
                "gen_ai.usage.output_tokens": 100,
            },
        )
        # a producer that put Anthropic's exclusive count into the OTel name
        one_span(
            tracer,
            "chat model-c",
            {
                "gen_ai.system": "anthropic",
                "gen_ai.request.model": "model-c",
                "gen_ai.usage.prompt_tokens": 5,
                "gen_ai.usage.cache_read.input_tokens": 3000,
                "gen_ai.usage.completion_tokens": 100,
            },
            start=T0 + 10**9,
        )

    spans = read_otlp(write_lines(tmp_path / "t.jsonl", [request_of(sdk_spans(build))]))
    first, second = spans.iloc[0], spans.iloc[1]
    assert (first["input_tokens"], first["cache_read_tokens"]) == (4000, 3000)
    assert first["cache_write_tokens"] == 900 and not first["usage_inconsistent"]
    assert first["input_tokens"] != 7900
    # the raw numbers are kept (never clamped) and the row is flagged
    assert (second["input_tokens"], second["cache_read_tokens"]) == (5, 3000)
    assert second["provider"] == "anthropic" and second["output_tokens"] == 100
    assert bool(second["usage_inconsistent"])
    assert spans.attrs["ingest_report"]["usage_inconsistent"] == 1


def test_error_status_and_error_type(tmp_path):
    def build(tracer):
        span = tracer.start_span(
            "chat m", attributes={"gen_ai.request.model": "m"}, start_time=T0
        )
        span.set_status(Status(StatusCode.ERROR, "boom"))
        span.set_attribute("error.type", "RateLimitError")
        span.end(end_time=T0 + 5)
        span = tracer.start_span(
            "chat m", attributes={"gen_ai.request.model": "m"}, start_time=T0
        )
        span.record_exception(TimeoutError("late"))
        span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=T0 + 5)
        span = tracer.start_span(
            "chat m", attributes={"gen_ai.request.model": "m"}, start_time=T0
        )
        span.set_status(Status(StatusCode.OK))
        span.end(end_time=T0 + 5)

    sdk = sdk_spans(build)
    for request in (request_of(sdk), proto3_default_json(sdk, enum_names=True)):
        spans = read_otlp(write_lines(tmp_path / "t.jsonl", [request]))
        assert spans["status"].tolist() == ["error", "error", "ok"]
        assert spans["error_type"].iloc[0] == "RateLimitError"
        assert spans["error_type"].iloc[1] == "TimeoutError"
        assert pd.isna(spans["error_type"].iloc[2])


def test_base64_ids_from_proto3_default_mapping(tmp_path):
    sdk = sdk_spans(_genai_spans)
    request = proto3_default_json(sdk)
    trace_hex, span_hex = hex_ids(sdk[0])
    assert first_span(request)["traceId"] == b64(trace_hex)  # base64, 24 chars
    spans = read_otlp(write_lines(tmp_path / "t.jsonl", [request]))
    assert (spans["trace_id"].iloc[0], spans["span_id"].iloc[0]) == (
        trace_hex,
        span_hex,
    )
    assert spans.attrs["ingest_report"]["ids_from_base64"] == 2


def test_canonical_otlp_example_uppercase_ids():
    path = shared_path("otel_traces", "otlp_proto_example", "trace.json")
    spans = read_otlp(path)
    assert len(spans) == 1
    row = spans.iloc[0]
    assert row["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert row["span_id"] == "eee19b7ec3c1b174"
    assert row["parent_span_id"] == "eee19b7ec3c1b173"
    assert row["service"] == "my.service"
    assert row["start_time"] == pd.Timestamp(
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=1544712660)
    )
    assert row["duration_ms"] == 1000.0
    # a SERVER span without GenAI attributes: kept, but not a model call
    assert row["span_kind"] == "other" and row["operation"] == "I'm a server span"
    assert pd.isna(row["request_model"])


# --- both conventions on the OpenInference fixtures --------------------------------

FIXTURES = (
    "otel_genai_client_span_tool_calls.json",
    "otel_genai_deprecated_client_span_tool_calls.json",
    "openinference_client_span_tool_calls.json",
    "openinference_client_span_input_output_only.json",
    "otel_genai_tool_execution_span.json",
)
ANSWER = "The weather in Paris is currently rainy with a temperature of 57°F."


@pytest.fixture
def convention_file(tmp_path):
    folder = shared_path("otel_traces", "openinference_genai_fixtures")
    maps = [json.loads((folder / name).read_text()) for name in FIXTURES]

    def build(tracer):
        for i, attributes in enumerate(maps):
            one_span(tracer, f"span {i}", attributes_for_sdk(attributes), start=T0 + i)

    return write_lines(tmp_path / "fixtures.jsonl", [request_of(sdk_spans(build))])


def test_both_conventions_give_same_model_and_tokens(convention_file):
    spans = read_otlp(convention_file)
    assert len(spans) == 5
    llm = spans.iloc[:4]
    assert llm["span_kind"].tolist() == ["llm"] * 4
    assert llm["input_tokens"].tolist() == [97] * 4
    assert llm["output_tokens"].tolist() == [52] * 4
    assert llm["request_model"].tolist() == ["gpt-4"] * 4
    assert llm["response_model"].tolist() == ["gpt-4-0613"] * 4
    assert llm["provider"].tolist() == ["openai"] * 4
    assert llm["finish_reason"].iloc[0] == "stop"
    tool = spans.iloc[4]
    assert tool["span_kind"] == "tool" and tool["operation"] == "execute_tool"
    assert pd.isna(tool["input_tokens"])


def test_contents_same_answer_from_both_conventions(convention_file):
    contents = read_otlp_contents(convention_file)
    spans = read_otlp(convention_file)
    assert contents["span_id"].tolist() == spans["span_id"].tolist()
    assert contents["output_text"].iloc[:4].tolist() == [ANSWER] * 4
    for text in contents["input_text"].iloc[:4]:
        assert "user: Weather in Paris?" in text
        assert "Absolutely! Let me check the weather for you." in text
    assert "get_weather" in contents["input_text"].iloc[0]  # tool call kept as JSON
    assert "New York" in contents["input_text"].iloc[4]
    assert "sunny" in contents["output_text"].iloc[4]
    assert set(contents.columns) >= {"span_id", "input_text", "output_text"}
    assert "input_tokens" not in contents.columns  # texts are kept apart


def test_contents_indexed_genai_prompt(tmp_path):
    def build(tracer):
        one_span(
            tracer,
            "chat",
            {
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.prompt.0.role": "system",
                "gen_ai.prompt.0.content": "Be brief.",
                "gen_ai.prompt.1.role": "user",
                "gen_ai.prompt.1.content": "Hi?",
                "gen_ai.completion.0.role": "assistant",
                "gen_ai.completion.0.content": '{"answer": "Hello"}',
            },
        )

    contents = read_otlp_contents(
        write_lines(tmp_path / "t.jsonl", [request_of(sdk_spans(build))])
    )
    assert contents["input_text"].iloc[0] == "system: Be brief.\nuser: Hi?"
    # a JSON answer is kept exactly as the model wrote it
    assert contents["output_text"].iloc[0] == '{"answer": "Hello"}'


# --- BR-07: agent/tool/LLM hierarchy keeps kinds and parents -----------------------


def test_br07_kinds_and_parent_ids(tmp_path):
    made = {}

    def tokens(kind, prompt, completion):
        return {
            "openinference.span.kind": kind,
            "llm.token_count.prompt": prompt,
            "llm.token_count.completion": completion,
            "llmdrift.intent": "refund",
        }

    def build(tracer):
        root = tracer.start_span(
            "R", attributes=tokens("AGENT", 800, 120), start_time=T0
        )
        ctx = trace.set_span_in_context(root)
        tool = tracer.start_span(
            "K", context=ctx, attributes=tokens("TOOL", 800, 120), start_time=T0 + 1
        )
        llm = tracer.start_span(
            "L",
            context=trace.set_span_in_context(tool),
            attributes={**tokens("LLM", 800, 120), "llm.model_name": "m"},
            start_time=T0 + 2,
        )
        for span in (llm, tool, root):
            span.end(end_time=T0 + 10)
        agent2 = tracer.start_span(
            "A2", attributes=tokens("AGENT", 300, 40), start_time=T0 + 20
        )
        agent2.end(end_time=T0 + 30)
        made.update(R=root, K=tool, L=llm, A2=agent2)

    request = request_of(sdk_spans(build))
    spans = read_otlp(write_lines(tmp_path / "t.jsonl", [request]))
    by_name = spans.set_index("span_name")
    ids = {name: hex_ids(span)[1] for name, span in made.items()}
    assert by_name.loc["R", "span_kind"] == "agent"
    assert by_name.loc["K", "span_kind"] == "tool"
    assert by_name.loc["L", "span_kind"] == "llm"
    assert by_name.loc["A2", "span_kind"] == "agent"
    assert pd.isna(by_name.loc["R", "parent_span_id"])
    assert by_name.loc["K", "parent_span_id"] == ids["R"]
    assert by_name.loc["L", "parent_span_id"] == ids["K"]
    assert pd.isna(by_name.loc["A2", "parent_span_id"])
    assert by_name.loc["R", "trace_id"] == by_name.loc["L", "trace_id"]
    assert by_name.loc["A2", "trace_id"] != by_name.loc["R", "trace_id"]
    # the raw token copies are kept on every span; the rollup is price/cost's job
    assert by_name["input_tokens"].tolist() == [800, 800, 800, 300]
    assert (by_name["intent"] == "refund").all()


# --- files: gzip, globs, directories, documents, malformed --------------------------


def _many_requests(n_spans: int, *, offset: int = 0) -> dict:
    def build(tracer):
        for i in range(n_spans):
            one_span(
                tracer,
                "chat m",
                {"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": offset + i},
                start=T0 + (offset + i) * 10**9,
            )

    return request_of(sdk_spans(build))


def test_gzip_equals_plain(tmp_path):
    request = _many_requests(5)
    plain = read_otlp(write_lines(tmp_path / "t.jsonl", [request]))
    write_otlp_json(tmp_path / "t.jsonl.gz", [request])
    with gzip.open(tmp_path / "t.jsonl.gz") as handle:
        assert handle.read().count(b"\n") == 1
    zipped = read_otlp(tmp_path / "t.jsonl.gz")
    pd.testing.assert_frame_equal(plain, zipped)
    # gzip is recognised by content, whatever the name
    (tmp_path / "renamed.json").write_bytes((tmp_path / "t.jsonl.gz").read_bytes())
    pd.testing.assert_frame_equal(plain, read_otlp(tmp_path / "renamed.json"))


def test_glob_list_and_directory(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    for k in range(12):
        write_lines(folder / f"part-{k:02d}.jsonl", [_many_requests(3, offset=3 * k)])
    from_glob = read_otlp(str(folder / "part-*.jsonl"))
    assert len(from_glob) == 36
    assert sorted(from_glob["input_tokens"].tolist()) == list(range(36))
    assert from_glob["span_id"].is_unique
    from_list = read_otlp(sorted(folder.glob("*.jsonl")))
    pd.testing.assert_frame_equal(from_glob, from_list)
    assert len(read_otlp(folder)) == 36
    assert from_glob.attrs["ingest_report"]["files"][0].endswith("part-00.jsonl")
    with pytest.raises(FileNotFoundError, match="matched no file"):
        read_otlp(str(folder / "nothing-*.jsonl"))
    with pytest.raises(FileNotFoundError, match="no such OTLP file"):
        read_otlp(tmp_path / "absent.jsonl")


def test_single_document_array_and_many_lines(tmp_path):
    requests = [_many_requests(2), _many_requests(3, offset=2)]
    lines = read_otlp(write_lines(tmp_path / "lines.jsonl", requests))
    (tmp_path / "array.json").write_text(json.dumps(requests, indent=1))
    array = read_otlp(tmp_path / "array.json")
    pd.testing.assert_frame_equal(lines, array)
    assert len(lines) == 5 and lines.attrs["ingest_report"]["requests"] == 2


def test_malformed_lines_and_spans_reported_rest_loaded(tmp_path):
    good = _many_requests(3)
    bad_spans = copy.deepcopy(_many_requests(4, offset=10))
    spans_json = bad_spans["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans_json[1]["traceId"] = "xyz"
    del spans_json[2]["startTimeUnixNano"]
    spans_json[3]["attributes"].append({"value": {"stringValue": "no key"}})
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        json.dumps(good).encode()
        + b"\n{not json at all\n\n"
        + b'{"foo": 1}\n'
        + json.dumps(bad_spans).encode()
        + b"\n"
        + b'{"resourceSpans": [{"scopeSp'  # a truncated last line
    )
    with pytest.warns(schema.LlmdriftWarning, match="3 line\\(s\\) skipped"):
        spans = read_otlp(path)
    report = spans.attrs["ingest_report"]
    assert len(spans) == 4  # 3 good + 1 good span of the damaged request
    assert sorted(spans["input_tokens"].tolist()) == [0, 1, 2, 10]
    assert report["lines_read"] == 5 and report["lines_skipped"] == 3
    assert report["spans_seen"] == 7 and report["spans_skipped"] == 3
    assert report["spans_loaded"] == 4
    assert report["skipped_reasons"] == {
        "invalid JSON": 2,
        "not an OTLP ExportTraceServiceRequest": 1,
        "bad traceId": 1,
        "missing startTimeUnixNano": 1,
        "malformed span": 1,
    }
    lines = [(e["line"], e.get("span")) for e in report["examples"]]
    assert lines == [(2, None), (4, None), (5, 1), (5, 2), (5, 3), (6, None)]
    assert all(e["file"] == str(path) for e in report["examples"])


def test_duplicate_spans_dropped_and_reported(tmp_path):
    request = _many_requests(2)
    with pytest.warns(schema.LlmdriftWarning, match="duplicate"):
        spans = read_otlp(write_lines(tmp_path / "t.jsonl", [request, request]))
    assert len(spans) == 2
    assert spans.attrs["ingest_report"]["duplicate_spans_dropped"] == 2
    schema.validate(spans, "spans")


def test_clean_read_issues_no_warning_and_empty_file_is_named(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_otlp(write_lines(tmp_path / "t.jsonl", [_many_requests(2)]))
    (tmp_path / "empty.jsonl").write_text("\n  \n")
    with pytest.warns(schema.LlmdriftWarning, match="1 file\\(s\\) empty.*empty.jsonl"):
        empty = read_otlp(tmp_path / "empty.jsonl")
    assert len(empty) == 0
    assert empty.attrs["ingest_report"]["empty_files"] == [
        str(tmp_path / "empty.jsonl")
    ]
    schema.validate(empty, "spans")


def test_jsonl_whose_first_two_lines_are_broken_still_loads_the_rest(tmp_path):
    # a file that fails as one document is read line by line after all
    good = [_many_requests(2), _many_requests(3, offset=2)]
    path = tmp_path / "t.jsonl"
    path.write_bytes(
        b"{broken\n"
        + b'{"resourceSpans": [\n'
        + b"".join(json.dumps(r).encode() + b"\n" for r in good)
        + b"also broken\n"
    )
    with pytest.warns(schema.LlmdriftWarning, match="3 line\\(s\\) skipped"):
        spans = read_otlp(path)
    report = spans.attrs["ingest_report"]
    assert sorted(spans["input_tokens"].tolist()) == [0, 1, 2, 3, 4]
    assert report["lines_read"] == 5 and report["lines_skipped"] == 3
    assert [e["line"] for e in report["examples"]] == [1, 2, 5]


def test_pretty_printed_document_with_a_syntax_error_is_one_skip(tmp_path):
    text = json.dumps([_many_requests(2)], indent=1)
    (tmp_path / "doc.json").write_text(text.replace('"resourceSpans"', "resourceSpans"))
    with pytest.warns(schema.LlmdriftWarning, match="1 line\\(s\\) skipped"):
        spans = read_otlp(tmp_path / "doc.json")
    assert len(spans) == 0
    assert spans.attrs["ingest_report"]["skipped_reasons"] == {"invalid JSON": 1}


def test_array_line_with_two_bad_requests_counts_one_skipped_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(
        json.dumps([{"foo": 1}, _many_requests(2), {"bar": 2}]).encode() + b"\n"
    )
    with pytest.warns(schema.LlmdriftWarning, match="1 line\\(s\\) skipped"):
        spans = read_otlp(path)
    report = spans.attrs["ingest_report"]
    assert len(spans) == 2 and report["lines_read"] == 1
    assert report["lines_skipped"] == 1
    assert report["skipped_reasons"] == {"not an OTLP ExportTraceServiceRequest": 2}


# --- options: intent, prompt hash, retrieval -----------------------------------------


def test_prompt_hash_version_and_intent_options(tmp_path):
    template = "You are a triage assistant.\nReply in {language}.\n"

    def build(tracer):
        one_span(
            tracer,
            "llm",
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "m",
                "llm.prompt_template.template": template,
                "llm.prompt_template.version": "v3",
                "app.route": "billing",
            },
        )
        one_span(
            tracer,
            "llm",
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "m",
                "llm.prompt_template.template": template,
                "llmdrift.prompt.template_hash": "0123456789ab",
                "gen_ai.request.intent": "refund",
            },
            start=T0 + 1,
        )

    path = write_lines(tmp_path / "t.jsonl", [request_of(sdk_spans(build))])
    spans = read_otlp(path)
    assert spans["prompt_hash"].tolist() == [template_hash(template), "0123456789ab"]
    assert spans["prompt_version"].iloc[0] == "v3"
    assert pd.isna(spans["intent"].iloc[0]) and spans["intent"].iloc[1] == "refund"
    custom = read_otlp(path, intent_attributes="app.route", prompt_hash_attributes=())
    assert custom["intent"].tolist()[0] == "billing" and pd.isna(custom["intent"][1])
    assert custom["prompt_hash"].tolist() == [template_hash(template)] * 2
    with pytest.raises(TypeError, match="intent_attributes"):
        read_otlp(path, intent_attributes=3)


def test_retrieval_spans_and_scores(tmp_path):
    def build(tracer):
        one_span(
            tracer,
            "retrieve",
            {
                "openinference.span.kind": "RETRIEVER",
                "retrieval.documents.0.document.score": 0.2,
                "retrieval.documents.1.document.score": 0.9,
                "retrieval.documents.2.document.score": 0.5,
            },
        )
        one_span(
            tracer,
            "search",
            {"gen_ai.operation.name": "retrieval", "retrieval.score": 0.4},
            start=T0 + 1,
        )
        one_span(tracer, "embed", {"gen_ai.operation.name": "embeddings"}, start=T0 + 2)

    spans = read_otlp(write_lines(tmp_path / "t.jsonl", [request_of(sdk_spans(build))]))
    assert spans["span_kind"].tolist() == ["retrieval", "retrieval", "embedding"]
    assert spans["retrieval_score"].iloc[0] == pytest.approx(0.9)  # best document
    assert spans["retrieval_score"].iloc[1] == pytest.approx(0.4)
    assert pd.isna(spans["retrieval_score"].iloc[2])


def test_spans_to_otlp_json_matches_collector_conventions():
    sdk = sdk_spans(_genai_spans)
    request = spans_to_otlp_json(sdk)
    span = first_span(request)
    assert span["traceId"] == span["traceId"].lower() and len(span["traceId"]) == 32
    resource = request["resourceSpans"][0]["resource"]["attributes"]
    assert {"key": "service.name", "value": {"stringValue": "support-bot"}} in resource
    assert request["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"] == (
        "llmdrift-tests"
    )


# --- real framework traces (Langfuse exports of OTel spans) -------------------------


def test_langfuse_framework_attributes_tokens_match_langfuse(tmp_path):
    """Raw OTel attributes kept by Langfuse, re-emitted with the SDK, read back.

    Langfuse's own usageDetails (computed at its ingestion) are the independent
    figures the reader must reproduce.
    """
    folder = shared_path("otel_traces", "langfuse_framework_traces")
    expected = []

    def build(tracer):
        for path in sorted(folder.glob("*.trace.json")):
            for obs in json.loads(path.read_text())["observations"]:
                metadata = obs.get("metadata") or {}
                if isinstance(metadata, str):
                    metadata = json.loads(metadata)
                attributes = metadata.get("attributes") or {}
                if isinstance(attributes, str):
                    attributes = json.loads(attributes)
                has_tokens = any(
                    k in attributes
                    for k in ("gen_ai.usage.input_tokens", "llm.token_count.prompt")
                )
                if obs["type"] != "GENERATION" or not has_tokens:
                    continue
                span = one_span(
                    tracer, obs["name"], attributes_for_sdk(attributes), start=T0
                )
                usage = obs["usageDetails"]
                expected.append((hex_ids(span)[1], usage["input"], usage["output"]))

    request = request_of(sdk_spans(build))
    spans = read_otlp(write_lines(tmp_path / "t.jsonl", [request])).set_index("span_id")
    assert len(expected) >= 10
    for span_id, n_in, n_out in expected:
        assert spans.loc[span_id, "input_tokens"] == n_in
        assert spans.loc[span_id, "output_tokens"] == n_out
        assert spans.loc[span_id, "span_kind"] == "llm"
        assert isinstance(spans.loc[span_id, "request_model"], str)


# --- from_table -----------------------------------------------------------------------


def _table():
    return pd.DataFrame(
        {
            "ts": ["2024-06-10T06:13:20Z", "2024-06-10T08:13:20+02:00"],
            "id": ["s1", "s2"],
            "trace": ["t1", "t1"],
            "model": ["model-a", "model-a"],
            "svc": ["api", "api"],
            "in": [7, 7],
            "cache_w": [20000, 0],
            "cache_r": [0, 20000],
            "out": ["400", "n/a"],
            "latency": [120.5, 80.0],
            "team": ["x", "y"],
        }
    )


MAPPING = {
    "start_time": "ts",
    "span_id": "id",
    "trace_id": "trace",
    "request_model": "model",
    "service": "svc",
    "input_tokens": "in",
    "cache_write_tokens": "cache_w",
    "cache_read_tokens": "cache_r",
    "output_tokens": "out",
    "duration_ms": "latency",
}


def test_from_table_maps_types_and_keeps_input():
    table = _table()
    before = table.copy(deep=True)
    with pytest.warns(schema.LlmdriftWarning, match="output_tokens"):
        spans = from_table(table, MAPPING, source_format="anthropic")
    pd.testing.assert_frame_equal(table, before)  # never mutated
    schema.validate(spans, "spans")
    # BR-01 totals: 7 + 20000 + 0 and 7 + 0 + 20000
    assert spans["input_tokens"].tolist() == [20007, 20007]
    assert spans["output_tokens"].iloc[0] == 400 and pd.isna(spans["output_tokens"][1])
    assert str(spans["input_tokens"].dtype) == "Int64"
    assert (spans["start_time"] == pd.Timestamp("2024-06-10T06:13:20Z")).all()
    assert spans["span_kind"].tolist() == ["llm", "llm"]
    assert spans["team"].tolist() == ["x", "y"]  # extra columns kept
    assert spans["duration_ms"].tolist() == [120.5, 80.0]
    otel = from_table(table.drop(columns="out"), MAPPING | {"output_tokens": "in"})
    assert otel["input_tokens"].tolist() == [7, 7]  # OTel meaning: taken as is
    assert otel["usage_inconsistent"].tolist() == [True, True]


def test_from_table_rejects_naive_times_naming_the_column():
    table = _table().assign(ts=pd.to_datetime(["2024-06-10 06:13:20"] * 2))
    with pytest.raises(schema.SchemaError, match="'ts'.*naive"):
        from_table(table, MAPPING)
    strings = _table().assign(ts=["2024-06-10 06:13:20", "2024-06-10T06:13:20Z"])
    with pytest.raises(schema.SchemaError, match="'ts'.*without a zone"):
        from_table(strings, MAPPING)


def test_from_table_epoch_numbers_need_a_unit_and_stay_exact():
    table = _table().assign(ts=[1718000000000000000, END_NS]).drop(columns="out")
    mapping = {k: v for k, v in MAPPING.items() if k != "output_tokens"}
    with pytest.raises(ValueError, match="time_unit"):
        from_table(table, mapping)
    spans = from_table(table, mapping, time_unit="ns")
    assert spans["start_time"].iloc[1].value == END_NS
    seconds = from_table(
        table.assign(ts=[1718000000, 1718000001]), mapping, time_unit="s"
    )
    assert seconds["start_time"].iloc[0] == pd.Timestamp("2024-06-10T06:13:20Z")


def test_from_table_errors_and_kinds():
    table = _table().drop(columns="out")
    mapping = {k: v for k, v in MAPPING.items() if k != "output_tokens"}
    with pytest.raises(schema.SchemaError, match="service"):
        from_table(table, {k: v for k, v in mapping.items() if k != "service"})
    spans = from_table(
        table.drop(columns="svc"),
        {k: v for k, v in mapping.items() if k != "service"},
        defaults={"service": "api"},
    )
    assert spans["service"].tolist() == ["api", "api"]
    with pytest.raises(ValueError, match="not a spans column"):
        from_table(table, mapping | {"tokens": "in"})
    with pytest.raises(ValueError, match="'nope'"):
        from_table(table, mapping | {"intent": "nope"})
    kinds = from_table(
        table.assign(kind=["AGENT", "chat"], st=[2, "STATUS_CODE_OK"]),
        mapping | {"span_kind": "kind", "status": "st"},
    )
    assert kinds["span_kind"].tolist() == ["agent", "llm"]
    assert kinds["status"].tolist() == ["error", "ok"]
    with pytest.raises(schema.SchemaError, match="'weird'"):
        from_table(table.assign(kind=["weird", "LLM"]), mapping | {"span_kind": "kind"})
    with pytest.raises(schema.SchemaError, match="fractional"):
        from_table(table.assign(cache_r=[0.5, 1.0]), mapping)


def test_from_table_end_time_gives_duration():
    table = (
        _table()
        .drop(columns=["out", "latency"])
        .assign(end=["2024-06-10T06:13:21.250000123Z", "2024-06-10T06:13:20.5Z"])
    )
    mapping = {
        k: v for k, v in MAPPING.items() if k not in ("output_tokens", "duration_ms")
    }
    spans = from_table(table, mapping | {"end_time": "end"})
    assert spans["duration_ms"].tolist() == pytest.approx([1250.000123, 500.0])
    assert np.issubdtype(spans["duration_ms"].dtype, np.floating)


# --- bad input: damaged files and tables ----------------------------------------------


def test_truncated_gzip_is_reported_and_the_lines_before_it_load(tmp_path):
    requests = [_many_requests(2, offset=2 * k) for k in range(40)]
    write_otlp_json(tmp_path / "full.jsonl.gz", requests)
    full = read_otlp(tmp_path / "full.jsonl.gz")
    data = (tmp_path / "full.jsonl.gz").read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])  # an interrupted copy
    with pytest.warns(schema.LlmdriftWarning, match="truncated gzip"):
        spans = read_otlp(cut)
    report = spans.attrs["ingest_report"]
    assert report["skipped_reasons"] == {"truncated gzip": 1}
    assert report["examples"][0]["file"] == str(cut)
    assert report["examples"][0]["line"] == report["lines_read"] + 1
    # what loaded is exactly the first complete lines of the full file
    assert 0 < len(spans) < len(full) and len(spans) == 2 * report["lines_read"]
    assert spans["span_id"].tolist() == full["span_id"].tolist()[: len(spans)]
    # other files of the same read are unaffected
    plain = write_lines(tmp_path / "more.jsonl", [_many_requests(3, offset=100)])
    with pytest.warns(schema.LlmdriftWarning, match="truncated gzip"):
        both = read_otlp([cut, plain])
    assert len(both) == len(spans) + 3
    with pytest.warns(schema.LlmdriftWarning, match="truncated gzip"):
        contents = read_otlp_contents(cut)
    assert contents.attrs["ingest_report"]["skipped_reasons"] == {"truncated gzip": 1}


def test_a_gz_file_that_is_not_gzip_is_named_so(tmp_path):
    (tmp_path / "a.jsonl.gz").write_bytes(b"PK\x03\x04 a zip archive, not gzip\n")
    with pytest.warns(schema.LlmdriftWarning, match="1 line\\(s\\) skipped"):
        spans = read_otlp(tmp_path / "a.jsonl.gz")
    report = spans.attrs["ingest_report"]
    assert report["skipped_reasons"] == {"not gzip": 1}
    assert "named .gz but is neither" in report["examples"][0]["reason"]
    # plain JSON lines under a .gz name still load, as the content decides
    write_lines(tmp_path / "plain.jsonl.gz", [_many_requests(2)])
    assert len(read_otlp(tmp_path / "plain.jsonl.gz")) == 2


def test_corrupt_gzip_is_reported_as_unreadable(tmp_path):
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"\x1f\x8b" + b"not a deflate stream" * 5)
    with pytest.warns(schema.LlmdriftWarning, match="unreadable file"):
        spans = read_otlp(bad)
    assert len(spans) == 0
    schema.validate(spans, "spans")
    example = spans.attrs["ingest_report"]["examples"][0]
    assert example["file"] == str(bad) and "BadGzipFile" in example["reason"]


def test_lines_that_are_not_utf8_are_reported_and_skipped(tmp_path):
    good = json.dumps(_many_requests(2)).encode()
    latin1 = json.dumps(_many_requests(1, offset=50)).replace("support-bot", "caf\xe9")
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(good + b"\n" + latin1.encode("latin-1") + b"\n" + good + b"\n")
    with pytest.warns(schema.LlmdriftWarning, match="1 line\\(s\\) skipped"):
        spans = read_otlp(path)
    report = spans.attrs["ingest_report"]
    assert report["skipped_reasons"] == {"not UTF-8": 1}
    assert report["examples"][0]["line"] == 2
    assert "re-encode the file as UTF-8" in report["examples"][0]["reason"]
    assert len(spans) == 2  # the good line twice: its duplicate spans dropped
    # the same text written as UTF-8 loads
    path.write_bytes(latin1.encode("utf-8") + b"\n")
    assert read_otlp(path)["service"].tolist() == ["caf\xe9"]


def test_from_table_bad_values_name_column_row_and_fix():
    table = _table().drop(columns="out")
    mapping = {k: v for k, v in MAPPING.items() if k != "output_tokens"}
    before = table.copy(deep=True)
    with pytest.raises(schema.SchemaError, match="'model'.*row 1.*not UTF-8.*decode"):
        from_table(table.assign(model=["model-a", b"caf\xe9"]), mapping)
    with pytest.raises(schema.SchemaError, match="'latency'.*'fast' at row 0"):
        from_table(table.assign(latency=["fast", 3.0]), mapping)
    with pytest.raises(schema.SchemaError, match="'id'.*1 missing.*row 1.*dropna"):
        from_table(table.assign(id=["s1", None]), mapping)
    with pytest.raises(schema.SchemaError, match="'ts'.*1 missing.*row 0"):
        from_table(table.assign(ts=[None, "2024-06-10T06:13:20Z"]), mapping)
    with pytest.raises(schema.SchemaError, match="'span_id' must be unique.*'s1'"):
        from_table(table.assign(id=["s1", "s1"]), mapping)
    with pytest.raises(TypeError, match="pandas DataFrame"):
        from_table(table.to_dict(), mapping)
    pd.testing.assert_frame_equal(table, before)
    # bytes that are UTF-8 are text; NaN in optional columns stays missing
    spans = from_table(
        table.assign(model=[b"model-a", "model-b"], intent=[np.nan, None]), mapping
    )
    assert spans["request_model"].tolist() == ["model-a", "model-b"]
    assert spans["intent"].isna().all() and str(spans["intent"].dtype) == "string"
    empty = from_table(table.iloc[:0], mapping)
    assert len(empty) == 0
    schema.validate(empty, "spans")


@pytest.mark.parametrize(
    ("key", "value", "column"),
    [
        ("gen_ai.usage.input_tokens", {"intValue": "99999999999999999999"}, "input"),
        ("gen_ai.usage.input_tokens", {"intValue": 2**63}, "input"),
        ("gen_ai.usage.input_tokens", {"boolValue": True}, "input"),
        ("gen_ai.usage.cost", {"stringValue": "1e999"}, "reported_cost"),
        ("gen_ai.usage.cost", {"doubleValue": "Infinity"}, "reported_cost"),
        ("gen_ai.usage.cost", {"doubleValue": "NaN"}, "reported_cost"),
        ("gen_ai.usage.cost", {"stringValue": "nan"}, "reported_cost"),
    ],
)
def test_values_outside_their_type_become_na_and_are_reported(
    tmp_path, key, value, column
):
    request = copy.deepcopy(BR05)
    attributes = first_span(request)["attributes"]
    attributes[:] = [a for a in attributes if a["key"] != key]
    attributes.append({"key": key, "value": value})
    with pytest.warns(schema.LlmdriftWarning, match="unreadable and set to <NA>"):
        spans = read_otlp(write_lines(tmp_path / "t.jsonl", [request]))
    name = "input_tokens" if column == "input" else "reported_cost_usd"
    assert len(spans) == 1 and pd.isna(spans[name].iloc[0])
    assert spans.attrs["ingest_report"]["values_not_parsed"] == {name: 1}
    assert spans["output_tokens"].iloc[0] == 7  # the rest of the span loads


def test_span_ending_before_it_starts_is_reported_and_skipped(tmp_path):
    request = copy.deepcopy(BR05)
    first_span(request)["endTimeUnixNano"] = "1717999999000000000"
    with pytest.warns(schema.LlmdriftWarning, match="1 span\\(s\\) skipped"):
        spans = read_otlp(write_lines(tmp_path / "t.jsonl", [request, BR05]))
    report = spans.attrs["ingest_report"]
    assert report["skipped_reasons"] == {"bad endTimeUnixNano": 1}
    assert "before start" in report["examples"][0]["reason"]
    assert spans["duration_ns"].tolist() == [1250000123]  # the good copy loads


def test_from_table_counts_outside_int64_and_infinite_costs_become_na():
    table = _table().drop(columns="out")
    mapping = {k: v for k, v in MAPPING.items() if k != "output_tokens"}
    odd = table.assign(
        cache_r=pd.Series([2**70, 5], dtype=object), cost=[float("inf"), 0.25]
    )
    with pytest.warns(schema.LlmdriftWarning, match="cache_read_tokens.*cost_usd"):
        spans = from_table(odd, mapping | {"cost_usd": "cost"})
    # never wrapped round to a negative int64, never an infinite cost
    assert pd.isna(spans["cache_read_tokens"].iloc[0])
    assert spans["cache_read_tokens"].iloc[1] == 5
    assert pd.isna(spans["cost_usd"].iloc[0]) and spans["cost_usd"].iloc[1] == 0.25
    assert pd.isna(spans["reported_cost_usd"].iloc[0])


def test_a_file_of_only_bad_lines_does_not_say_the_rest_loaded(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("not json\n{broken\n")
    # no line is JSON: reported once, as the broken document it seemed to be
    with pytest.warns(schema.LlmdriftWarning, match="skipped.*Nothing was loaded") as w:
        spans = read_otlp(path)
    assert len(spans) == 0
    assert not any("The rest loaded" in str(x.message) for x in w)
