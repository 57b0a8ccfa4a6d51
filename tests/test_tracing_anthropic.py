"""Tracing of anthropic client calls, and the round trip to read_otlp.

The real ``anthropic`` SDK calls the fake Messages API on loopback; spans go
to the real ``opentelemetry-sdk`` (InMemorySpanExporter), are serialised as
OTLP/JSON and read back with ``llmdrift.read_otlp``.
"""

from __future__ import annotations

import asyncio
import base64
import json

import anthropic
import pytest
from fake_anthropic import (  # noqa: F401 - the fixture is used by name
    RESPONSE_MODEL,
    Reply,
    fake_anthropic_fixture,
)
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from llmdrift import read_otlp
from llmdrift.tracing import (
    PromptSpanProcessor,
    instrument_anthropic,
    prompt_context,
    template_hash,
    traced_messages_create,
    uninstrument_anthropic,
)

TEMPLATE = "You triage support tickets.\r\nAnswer in {language}.   \r\n"
SYSTEM = "You triage support tickets. " * 40  # long enough to show cache tokens


@pytest.fixture
def pipeline():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _call(client, text="Printer on fire", **extra):
    return client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=64,
        system=[
            {"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}
        ],
        messages=[{"role": "user", "content": text}],
        **extra,
    )


def _otlp_json(spans) -> dict:
    """OTLP/JSON of SDK spans: the ingest helper, or the same steps by hand."""
    try:
        from llmdrift.ingest import spans_to_otlp_json
    except ImportError:  # ingest not there yet: encoder + proto3 JSON + hex ids
        from google.protobuf.json_format import MessageToDict
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import (
            encode_spans,
        )

        request = MessageToDict(encode_spans(list(spans)), use_integers_for_enums=True)
        for resource in request["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if span.get(key):
                            span[key] = base64.b64decode(span[key]).hex()
        return request
    return spans_to_otlp_json(spans)


def test_span_attributes(fake_anthropic, pipeline):
    provider, exporter = pipeline
    fake_anthropic.responder = lambda body: Reply.ok("ticket: hardware")
    client = instrument_anthropic(fake_anthropic.client(), tracer_provider=provider)
    with prompt_context(name="triage", version="v3", template=TEMPLATE):
        first = _call(client, temperature_free := "first")  # noqa: F841
        second = _call(client, "second", stop_sequences=["END"])
    spans = exporter.get_finished_spans()
    assert len(spans) == 2
    a, b = (dict(s.attributes) for s in spans)
    assert spans[0].name == "chat claude-haiku-4-5"
    assert spans[0].kind == SpanKind.CLIENT
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "anthropic"
    assert a["gen_ai.request.model"] == "claude-haiku-4-5"
    assert a["gen_ai.request.max_tokens"] == 64
    assert a["gen_ai.response.model"] == RESPONSE_MODEL
    assert a["gen_ai.response.id"] == first.id
    assert a["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert b["gen_ai.request.stop_sequences"] == ("END",)
    assert a["server.address"] == "127.0.0.1"
    # the SDK's own usage block, re-expressed in the OTel meaning
    for attrs, message in ((a, first), (b, second)):
        usage = message.usage
        assert attrs["gen_ai.usage.input_tokens"] == (
            usage.input_tokens
            + usage.cache_read_input_tokens
            + usage.cache_creation_input_tokens
        )
        assert attrs["gen_ai.usage.output_tokens"] == usage.output_tokens
        assert attrs["gen_ai.usage.cache_read.input_tokens"] == (
            usage.cache_read_input_tokens
        )
        assert attrs["gen_ai.usage.cache_creation.input_tokens"] == (
            usage.cache_creation_input_tokens
        )
    assert a["gen_ai.usage.cache_creation.input_tokens"] == len(SYSTEM) // 4
    assert b["gen_ai.usage.cache_read.input_tokens"] == len(SYSTEM) // 4
    assert a["gen_ai.prompt.name"] == "triage"
    assert a["gen_ai.prompt.version"] == "v3"
    assert a["llmdrift.prompt.template_hash"] == template_hash(TEMPLATE)


def test_round_trip_through_otlp_json_and_read_otlp(fake_anthropic, pipeline, tmp_path):
    provider, exporter = pipeline
    fake_anthropic.responder = lambda body: Reply.ok("ticket: billing")
    client = instrument_anthropic(fake_anthropic.client(), tracer_provider=provider)
    messages = []
    with prompt_context(name="triage", version="v3", template=TEMPLATE):
        messages.append(_call(client, "first ticket"))
        messages.append(_call(client, "second ticket"))
    with prompt_context(name="triage", version="v4", template=TEMPLATE + "Be brief."):
        messages.append(_call(client, "third ticket"))

    path = tmp_path / "traces.jsonl"
    path.write_text(json.dumps(_otlp_json(exporter.get_finished_spans())) + "\n")
    spans = read_otlp(path).sort_values("start_time").reset_index(drop=True)

    assert len(spans) == 3
    assert spans.service.tolist() == ["support"] * 3
    assert spans.provider.tolist() == ["anthropic"] * 3
    assert spans.operation.tolist() == ["chat"] * 3
    assert spans.span_kind.tolist() == ["llm"] * 3
    assert spans.request_model.tolist() == ["claude-haiku-4-5"] * 3
    assert spans.response_model.tolist() == [RESPONSE_MODEL] * 3
    assert spans.prompt_version.tolist() == ["v3", "v3", "v4"]
    assert spans.prompt_hash.tolist() == [
        template_hash(TEMPLATE),
        template_hash(TEMPLATE),
        template_hash(TEMPLATE + "Be brief."),
    ]
    assert spans.finish_reason.tolist() == ["end_turn"] * 3
    for row, message in zip(spans.itertuples(), messages, strict=True):
        usage = message.usage
        assert row.input_tokens == (
            usage.input_tokens
            + usage.cache_read_input_tokens
            + usage.cache_creation_input_tokens
        )
        assert row.output_tokens == usage.output_tokens
        assert row.cache_read_tokens == usage.cache_read_input_tokens
        assert row.cache_write_tokens == usage.cache_creation_input_tokens
    assert spans.cache_write_tokens.tolist()[0] == len(SYSTEM) // 4
    assert spans.cache_read_tokens.tolist()[1:] == [len(SYSTEM) // 4] * 2


def test_failed_call_is_an_error_span(fake_anthropic, pipeline):
    provider, exporter = pipeline
    fake_anthropic.script(Reply.error(529))
    client = instrument_anthropic(fake_anthropic.client(), tracer_provider=provider)
    with pytest.raises(anthropic.OverloadedError):
        _call(client)
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "529"
    assert [e.name for e in span.events] == ["exception"]
    assert "gen_ai.usage.input_tokens" not in span.attributes


def test_existing_genai_span_is_annotated_not_duplicated(fake_anthropic, pipeline):
    provider, exporter = pipeline
    client = instrument_anthropic(fake_anthropic.client(), tracer_provider=provider)
    tracer = provider.get_tracer("user-code")
    with tracer.start_as_current_span(
        "my llm call", attributes={"gen_ai.operation.name": "chat"}
    ):
        with prompt_context(
            name="triage", version="v9", template=TEMPLATE, stamp_current_span=False
        ):
            message = _call(client)
    (span,) = exporter.get_finished_spans()
    assert span.name == "my llm call"
    assert span.attributes["gen_ai.response.model"] == RESPONSE_MODEL
    assert span.attributes["gen_ai.usage.output_tokens"] == message.usage.output_tokens
    assert span.attributes["gen_ai.prompt.version"] == "v9"


def test_non_genai_parent_gets_a_child_span(fake_anthropic, pipeline):
    provider, exporter = pipeline
    client = instrument_anthropic(fake_anthropic.client(), tracer_provider=provider)
    with provider.get_tracer("user-code").start_as_current_span("handle ticket"):
        _call(client)
    child, parent = exporter.get_finished_spans()
    assert child.name == "chat claude-haiku-4-5"
    assert child.parent.span_id == parent.context.span_id


def test_official_instrumentation_makes_the_only_span(
    fake_anthropic, pipeline, monkeypatch
):
    """An instrumentation that patches Messages.create with wrapt (as the
    OpenTelemetry instrumentations do) owns the span; PromptSpanProcessor
    adds the prompt attributes to it."""
    wrapt = pytest.importorskip("wrapt")
    provider, exporter = pipeline
    provider.add_span_processor(PromptSpanProcessor())
    tracer = provider.get_tracer("stand-in-official")
    messages_class = anthropic.resources.Messages

    def official(wrapped, instance, args, kwargs):
        with tracer.start_as_current_span(
            f"chat {kwargs['model']}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "anthropic",
            },
        ):
            return wrapped(*args, **kwargs)

    monkeypatch.setattr(
        messages_class,
        "create",
        wrapt.FunctionWrapper(messages_class.__dict__["create"], official),
    )
    client = instrument_anthropic(fake_anthropic.client(), tracer_provider=provider)
    with prompt_context(name="triage", version="v3", template=TEMPLATE):
        _call(client)
    (span,) = exporter.get_finished_spans()
    assert span.instrumentation_scope.name == "stand-in-official"
    assert span.attributes["llmdrift.prompt.template_hash"] == template_hash(TEMPLATE)


def test_idempotent_uninstrument_and_one_off_call(fake_anthropic, pipeline):
    provider, exporter = pipeline
    client = fake_anthropic.client()
    instrument_anthropic(client, tracer_provider=provider)
    instrument_anthropic(client, tracer_provider=provider)
    _call(client)
    assert len(exporter.get_finished_spans()) == 1
    uninstrument_anthropic(client)
    _call(client)
    assert len(exporter.get_finished_spans()) == 1
    other = fake_anthropic.client()  # never instrumented
    traced_messages_create(
        other,
        tracer_provider=provider,
        model="claude-haiku-4-5",
        max_tokens=8,
        messages=[{"role": "user", "content": "hi"}],
    )
    assert len(exporter.get_finished_spans()) == 2


def test_async_client_is_traced(fake_anthropic, pipeline):
    provider, exporter = pipeline
    client = instrument_anthropic(
        fake_anthropic.async_client(), tracer_provider=provider
    )

    async def main():
        with prompt_context(name="triage", version="v3", template=TEMPLATE):
            return await _call(client)

    message = asyncio.run(main())
    (span,) = exporter.get_finished_spans()
    assert span.attributes["gen_ai.response.id"] == message.id
    assert span.attributes["gen_ai.prompt.version"] == "v3"


def _usage_from_events(events):
    """Usage and response fields read straight from the SDK's stream events."""
    start = next(e for e in events if e.type == "message_start").message
    delta = next(e for e in events if e.type == "message_delta")
    return {
        "id": start.id,
        "model": start.model,
        "input": start.usage.input_tokens
        + start.usage.cache_read_input_tokens
        + start.usage.cache_creation_input_tokens,
        "cache_read": start.usage.cache_read_input_tokens,
        "cache_write": start.usage.cache_creation_input_tokens,
        "output": delta.usage.output_tokens,
        "stop": delta.delta.stop_reason,
    }


LONG_ANSWER = "The printer is on fire; unplug it and leave the room. " * 3


def test_streamed_call_gets_one_span_with_the_usage_of_its_events(
    fake_anthropic, pipeline
):
    provider, exporter = pipeline
    fake_anthropic.responder = lambda body: Reply.ok(LONG_ANSWER)
    client = instrument_anthropic(fake_anthropic.client(), tracer_provider=provider)
    with prompt_context(name="triage", version="v3", template=TEMPLATE):
        stream = _call(client, stream=True)
        # the request is sent, the stream not yet read: no span has ended,
        # and the open span is not left current for the caller's code
        assert exporter.get_finished_spans() == ()
        assert not trace.get_current_span().is_recording()
        events = list(stream)
    seen = _usage_from_events(events)
    (span,) = exporter.get_finished_spans()
    attrs = dict(span.attributes)
    assert attrs["gen_ai.response.id"] == seen["id"]
    assert attrs["gen_ai.response.model"] == seen["model"] == RESPONSE_MODEL
    assert attrs["gen_ai.response.finish_reasons"] == (seen["stop"],)
    assert attrs["gen_ai.usage.input_tokens"] == seen["input"]
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == seen["cache_write"]
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == len(SYSTEM) // 4
    # the final count of the message_delta event, not message_start's 1
    assert attrs["gen_ai.usage.output_tokens"] == seen["output"]
    assert seen["output"] == len(LONG_ANSWER) // 4
    assert attrs["gen_ai.prompt.version"] == "v3"
    assert span.status.status_code != StatusCode.ERROR
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == LONG_ANSWER


def test_streamed_call_left_early_or_read_with_next_ends_its_span(
    fake_anthropic, pipeline
):
    provider, exporter = pipeline
    fake_anthropic.responder = lambda body: Reply.ok(LONG_ANSWER)
    client = instrument_anthropic(fake_anthropic.client(), tracer_provider=provider)
    with _call(client, stream=True) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break
    (left,) = exporter.get_finished_spans()
    # message_start was read: its id and input usage are on the span
    assert left.attributes["gen_ai.response.id"].startswith("msg_fake_")
    assert "gen_ai.usage.input_tokens" in left.attributes
    assert left.status.status_code != StatusCode.ERROR

    stream = _call(client, "second", stream=True)
    events = []
    while True:
        try:
            events.append(next(stream))
        except StopIteration:
            break
    spans = exporter.get_finished_spans()
    assert len(spans) == 2
    assert (
        spans[1].attributes["gen_ai.usage.output_tokens"]
        == (_usage_from_events(events)["output"])
    )


def test_error_event_part_way_through_a_stream_fails_the_span(fake_anthropic, pipeline):
    provider, exporter = pipeline
    fake_anthropic.script(Reply(text=LONG_ANSWER, stream_error_after=2))
    client = instrument_anthropic(fake_anthropic.client(), tracer_provider=provider)
    stream = _call(client, stream=True)
    with pytest.raises(anthropic.APIStatusError):
        for _ in stream:
            pass
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    # the stream's HTTP status is 200; the error event names the error
    assert span.attributes["error.type"] == "overloaded_error"
    assert span.attributes["gen_ai.response.id"].startswith("msg_fake_")


def test_async_streamed_call_gets_a_span_with_usage(fake_anthropic, pipeline):
    provider, exporter = pipeline
    fake_anthropic.responder = lambda body: Reply.ok(LONG_ANSWER)
    client = instrument_anthropic(
        fake_anthropic.async_client(), tracer_provider=provider
    )

    async def main():
        stream = await _call(client, stream=True)
        return [event async for event in stream]

    events = asyncio.run(main())
    (span,) = exporter.get_finished_spans()
    seen = _usage_from_events(events)
    assert span.attributes["gen_ai.usage.output_tokens"] == seen["output"]
    assert span.attributes["gen_ai.usage.input_tokens"] == seen["input"]
    assert span.attributes["gen_ai.response.id"] == seen["id"]


def test_messages_stream_helper_is_traced_with_the_final_message(
    fake_anthropic, pipeline
):
    provider, exporter = pipeline
    fake_anthropic.responder = lambda body: Reply.ok(LONG_ANSWER)
    client = instrument_anthropic(fake_anthropic.client(), tracer_provider=provider)
    with prompt_context(name="triage", version="v5", template=TEMPLATE):
        with client.messages.stream(
            model="claude-haiku-4-5",
            max_tokens=64,
            messages=[{"role": "user", "content": "Printer on fire"}],
        ) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
    assert text == LONG_ANSWER
    (span,) = exporter.get_finished_spans()
    assert span.attributes["gen_ai.response.id"] == final.id
    assert span.attributes["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    assert span.attributes["gen_ai.usage.output_tokens"] == len(LONG_ANSWER) // 4
    assert span.attributes["gen_ai.prompt.version"] == "v5"
    assert uninstrument_anthropic(client).messages.stream.__name__ == "stream"
    assert not hasattr(client.messages.stream, "_llmdrift_traced")


def test_streamed_spans_reach_read_otlp_with_their_tokens(
    fake_anthropic, pipeline, tmp_path
):
    provider, exporter = pipeline
    fake_anthropic.responder = lambda body: Reply.ok(LONG_ANSWER)
    client = instrument_anthropic(fake_anthropic.client(), tracer_provider=provider)
    events = list(_call(client, stream=True))
    path = tmp_path / "traces.jsonl"
    path.write_text(json.dumps(_otlp_json(exporter.get_finished_spans())) + "\n")
    (row,) = read_otlp(path).itertuples()
    seen = _usage_from_events(events)
    assert row.output_tokens == seen["output"]
    assert row.input_tokens == seen["input"]
    assert row.response_model == RESPONSE_MODEL


def _stub_client(usage):
    from types import SimpleNamespace as NS

    def create(**kwargs):
        return NS(id="msg_1", model="m", stop_reason="end_turn", usage=usage)

    return NS(messages=NS(create=create))


@pytest.mark.parametrize(
    "bad",
    ["10", float("nan"), -3, 2.5, object()],
    ids=["text", "nan", "neg", "frac", "obj"],
)
def test_unreadable_usage_never_raises_into_the_caller_nor_leaks_the_span(
    pipeline, bad
):
    from types import SimpleNamespace as NS

    provider, exporter = pipeline
    odd = NS(
        input_tokens=bad,
        output_tokens=3,
        cache_read_input_tokens=None,
        cache_creation_input_tokens=None,
    )
    client = instrument_anthropic(_stub_client(odd), tracer_provider=provider)
    response = client.messages.create(model="m")  # no exception for the caller
    assert response.id == "msg_1"
    assert not trace.get_current_span().is_recording()  # nothing left current
    (span,) = exporter.get_finished_spans()
    assert "gen_ai.usage.input_tokens" not in span.attributes  # left off, not guessed
    assert span.attributes["gen_ai.usage.output_tokens"] == 3
    # later calls get spans of their own
    good = NS(
        input_tokens=5,
        output_tokens=1,
        cache_read_input_tokens=2,
        cache_creation_input_tokens=0,
    )
    instrument_anthropic(_stub_client(good), tracer_provider=provider).messages.create(
        model="m"
    )
    spans = exporter.get_finished_spans()
    assert len(spans) == 2
    assert spans[1].attributes["gen_ai.usage.input_tokens"] == 7


def test_instrumenting_something_that_is_not_a_client_names_it():
    from types import SimpleNamespace as NS

    for thing in (None, NS(messages=NS())):
        with pytest.raises(TypeError, match="needs an anthropic.Anthropic"):
            instrument_anthropic(thing)


def test_async_stream_left_at_the_end_of_asyncio_run_is_not_an_error(pipeline):
    """``async for ... break`` as a script's last step: asyncio cancels the
    abandoned stream at shutdown, which is a stream closed early, not a
    failed call (it was recorded as an ERROR span with CancelledError)."""
    from types import SimpleNamespace as NS

    provider, exporter = pipeline
    usage = NS(
        input_tokens=3,
        output_tokens=1,
        cache_read_input_tokens=0,
        cache_creation_input_tokens=0,
    )

    class Stream:
        async def _events(self):
            yield NS(type="message_start", message=NS(id="m1", model="m", usage=usage))
            for _ in range(5):
                await asyncio.sleep(0.01)
                yield NS(type="content_block_delta", delta=NS(text="x"))

        def __aiter__(self):
            return self._events()

        async def close(self):
            pass

    async def create(**kwargs):
        return Stream()

    client = instrument_anthropic(
        NS(messages=NS(create=create)), tracer_provider=provider
    )

    async def main():
        stream = await client.messages.create(model="m", stream=True)
        async for event in stream:
            if event.type == "content_block_delta":
                break

    asyncio.run(main())
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code != StatusCode.ERROR
    assert "error.type" not in span.attributes
    assert span.attributes["gen_ai.response.id"] == "m1"
