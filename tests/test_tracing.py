"""Tests of llmdrift.tracing: the template hash rule and prompt span attributes."""

from __future__ import annotations

import asyncio
import hashlib
import threading

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from llmdrift import tracing
from llmdrift.tracing import (
    PROMPT_ATTRIBUTES,
    PromptSpanProcessor,
    current_prompt,
    normalize_template,
    prompt_context,
    set_prompt_attributes,
    template_hash,
)

TEMPLATE = "You are a support triage assistant.\nReply in {language}.\n"


@pytest.fixture
def traced():
    """A real SDK tracer whose finished spans land in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(PromptSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("test"), exporter
    provider.shutdown()


# --- the hash rule ------------------------------------------------------------


def test_hash_is_sha256_of_the_normalised_text():
    text = "Line one  \r\nLine two\t\r\n\r\n"
    expected = hashlib.sha256(b"Line one\nLine two").hexdigest()[:12]
    assert normalize_template(text) == "Line one\nLine two"
    assert template_hash(text) == expected


@pytest.mark.parametrize(
    "variant",
    [
        TEMPLATE.replace("\n", "\r\n"),  # CRLF
        TEMPLATE.replace("\n", "\r"),  # old Mac CR
        TEMPLATE.rstrip("\n"),  # no final newline
        TEMPLATE + "\n\n  \n",  # trailing blank lines
        TEMPLATE.replace("assistant.", "assistant.   \t"),  # trailing whitespace
    ],
)
def test_meaningless_differences_do_not_change_the_hash(variant):
    assert template_hash(variant) == template_hash(TEMPLATE)


@pytest.mark.parametrize(
    "variant",
    [
        TEMPLATE.replace("Reply in", "Reply briefly in"),  # BR-08 negative control
        "  " + TEMPLATE,  # leading indentation
        TEMPLATE.replace("Reply", "reply"),  # letter case
        TEMPLATE.replace("a support", "a  support"),  # inner spaces
        "\n" + TEMPLATE,  # a leading blank line
        TEMPLATE.replace("{language}", "{lang}"),  # placeholder name
    ],
)
def test_meaningful_differences_change_the_hash(variant):
    assert template_hash(variant) != template_hash(TEMPLATE)


def test_hash_shape_and_type_error():
    value = template_hash(TEMPLATE)
    assert len(value) == tracing.HASH_LENGTH == 12
    assert value == value.lower() and int(value, 16) >= 0
    with pytest.raises(TypeError, match="template must be a str"):
        template_hash(b"bytes")


# --- attributes on spans ------------------------------------------------------------


def test_set_prompt_attributes_on_current_span(traced):
    tracer, exporter = traced
    with tracer.start_as_current_span("chat"):
        written = set_prompt_attributes(
            name="triage",
            version=7,
            template=TEMPLATE,
            rendered="Reply in French.",
        )
    (span,) = exporter.get_finished_spans()
    assert dict(span.attributes) == written
    assert span.attributes["gen_ai.prompt.name"] == "triage"
    assert span.attributes["gen_ai.prompt.version"] == "7"
    assert span.attributes["llmdrift.prompt.template_hash"] == template_hash(TEMPLATE)
    # the rendered hash is opt-in
    assert "llmdrift.prompt.rendered_hash" not in span.attributes


def test_rendered_hash_opt_in_and_explicit_span(traced):
    tracer, exporter = traced
    span = tracer.start_span("chat")
    set_prompt_attributes(
        span,
        name="triage",
        template=TEMPLATE,
        rendered="Reply in French.",
        record_rendered_hash=True,
    )
    span.end()
    (done,) = exporter.get_finished_spans()
    assert done.attributes["llmdrift.prompt.rendered_hash"] == template_hash(
        "Reply in French."
    )
    assert "gen_ai.prompt.version" not in done.attributes
    assert set(done.attributes) <= set(PROMPT_ATTRIBUTES)


def test_bad_arguments():
    with pytest.raises(ValueError, match="name must be a non-empty str"):
        set_prompt_attributes(name="  ")
    with pytest.raises(ValueError, match="needs the rendered prompt"):
        set_prompt_attributes(name="x", record_rendered_hash=True)


def test_no_sdk_span_is_left_alone():
    # outside any span the current span is the non-recording INVALID_SPAN
    written = set_prompt_attributes(name="triage", template=TEMPLATE)
    assert written["llmdrift.prompt.template_hash"] == template_hash(TEMPLATE)


def test_prompt_context_stamps_and_processor_reaches_child_model_spans(traced):
    tracer, exporter = traced
    with tracer.start_as_current_span("handle ticket"):
        with prompt_context(name="triage", version="3", template=TEMPLATE):
            with tracer.start_as_current_span(
                "chat model-x", attributes={"gen_ai.operation.name": "chat"}
            ):
                pass
            with tracer.start_as_current_span("db lookup"):
                pass
        with tracer.start_as_current_span(
            "chat after", attributes={"gen_ai.operation.name": "chat"}
        ):
            pass
    spans = {s.name: s for s in exporter.get_finished_spans()}
    expected = template_hash(TEMPLATE)
    assert spans["handle ticket"].attributes[tracing.PROMPT_TEMPLATE_HASH] == expected
    assert spans["chat model-x"].attributes[tracing.PROMPT_TEMPLATE_HASH] == expected
    assert spans["chat model-x"].attributes[tracing.PROMPT_VERSION] == "3"
    assert tracing.PROMPT_NAME not in spans["db lookup"].attributes
    assert tracing.PROMPT_NAME not in spans["chat after"].attributes


def test_processor_keeps_attributes_the_span_already_has(traced):
    tracer, exporter = traced
    with prompt_context(name="outer", version="1"):
        with tracer.start_as_current_span(
            "chat",
            attributes={"gen_ai.operation.name": "chat", "gen_ai.prompt.name": "own"},
        ):
            pass
    (span,) = exporter.get_finished_spans()
    assert span.attributes["gen_ai.prompt.name"] == "own"
    assert span.attributes["gen_ai.prompt.version"] == "1"


def test_nested_contexts_and_decorator():
    @prompt_context(name="summary", version="2")
    def summarise():
        return current_prompt()["gen_ai.prompt.name"]

    @prompt_context(name="async", version="1")
    async def later():
        await asyncio.sleep(0)
        return current_prompt()["gen_ai.prompt.name"]

    with prompt_context(name="outer") as attrs:
        assert attrs["gen_ai.prompt.name"] == "outer"
        assert summarise() == "summary"
        assert current_prompt()["gen_ai.prompt.name"] == "outer"
        assert asyncio.run(later()) == "async"
    assert current_prompt() == {}


def test_decorated_function_in_threads_keeps_contexts_apart():
    seen = []

    @prompt_context(name="threaded", version="5")
    def work():
        seen.append(current_prompt().get("gen_ai.prompt.version"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == ["5"] * 8
    assert current_prompt() == {}
