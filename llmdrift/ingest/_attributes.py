"""The attribute names llmdrift's readers look for, in one place.

Each spans column is filled from the first attribute of its list that a span
carries (earlier names win, whatever order the span lists them in). The OTel
GenAI names come first, then their older spellings, then OpenInference.

=========================  ==================================================
spans column               span attributes, in order of precedence
=========================  ==================================================
service                    resource ``service.name`` (``unknown_service`` when
                           absent, as the OTel SDK does)
provider                   ``gen_ai.provider.name``, ``gen_ai.system``,
                           ``llm.provider``, ``llm.system``
request_model              ``gen_ai.request.model``, the ``"model"`` key of the
                           JSON in ``llm.invocation_parameters``,
                           ``llm.model_name``
response_model             ``gen_ai.response.model``, ``llm.model_name``
operation                  ``gen_ai.operation.name``, else the span name
span_kind                  ``openinference.span.kind``, else
                           ``gen_ai.operation.name`` (see :data:`OPENINFERENCE_KINDS`
                           and :data:`GENAI_OPERATION_KINDS`), else ``llm`` when
                           a model attribute is present, else ``other``
input_tokens               ``gen_ai.usage.input_tokens``,
                           ``gen_ai.usage.prompt_tokens``,
                           ``llm.token_count.prompt``
output_tokens              ``gen_ai.usage.output_tokens``,
                           ``gen_ai.usage.completion_tokens``,
                           ``llm.token_count.completion``
cache_read_tokens          ``gen_ai.usage.cache_read.input_tokens``,
                           ``gen_ai.usage.cache_read_input_tokens``,
                           ``llm.token_count.prompt_details.cache_read``
cache_write_tokens         ``gen_ai.usage.cache_creation.input_tokens``,
                           ``gen_ai.usage.cache_write.input_tokens``,
                           ``gen_ai.usage.cache_creation_input_tokens``,
                           ``llm.token_count.prompt_details.cache_write``
reasoning_tokens           ``gen_ai.usage.reasoning.output_tokens``,
                           ``gen_ai.usage.output_tokens.reasoning``,
                           ``gen_ai.usage.reasoning_tokens``,
                           ``llm.token_count.completion_details.reasoning``
reported_cost_usd          ``gen_ai.usage.cost``, ``llm.cost.total``
intent                     ``intent_attributes`` (default
                           :data:`DEFAULT_INTENT_ATTRIBUTES`)
prompt_hash                ``prompt_hash_attributes`` (default
                           :data:`DEFAULT_PROMPT_HASH_ATTRIBUTES`), else
                           ``llmdrift.tracing.template_hash`` of the template in
                           ``prompt_template_attributes`` (default
                           :data:`DEFAULT_PROMPT_TEMPLATE_ATTRIBUTES`)
prompt_version             ``prompt_version_attributes`` (default
                           :data:`DEFAULT_PROMPT_VERSION_ATTRIBUTES`)
prompt_name                ``gen_ai.prompt.name``, ``llm.prompt_template.name``
status                     span ``status.code``: 0 unset, 1 ok, 2 error
error_type                 ``error.type``, else the ``exception.type`` of the
                           span's first ``exception`` event (error spans only)
finish_reason              ``gen_ai.response.finish_reasons`` (several joined
                           with ``","``)
flagged                    ``llmdrift.flagged``
retrieval_score            ``llmdrift.retrieval.score``, ``retrieval.score``,
                           else the highest
                           ``retrieval.documents.<i>.document.score``
                           (retrieval spans only)
=========================  ==================================================

Token columns keep the OTel GenAI meaning, which OpenInference shares:
``input_tokens`` includes the cache reads and writes, ``output_tokens``
includes the reasoning tokens. Raw numbers are never changed; where they
contradict that meaning (a cache count above the input count) the row gets
``usage_inconsistent = True``.

Contents (:func:`llmdrift.ingest.read_otlp_contents`) come from, in order:
input ``gen_ai.input.messages``, ``llm.input_messages.*``,
``gen_ai.prompt`` (or indexed ``gen_ai.prompt.<i>.*``), ``input.value``,
``input``; output ``gen_ai.output.messages``, ``llm.output_messages.*``,
``gen_ai.completion`` (or indexed ``gen_ai.completion.<i>.*``),
``output.value``, ``output``.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_INTENT_ATTRIBUTES",
    "DEFAULT_PROMPT_HASH_ATTRIBUTES",
    "DEFAULT_PROMPT_TEMPLATE_ATTRIBUTES",
    "DEFAULT_PROMPT_VERSION_ATTRIBUTES",
    "GENAI_OPERATION_KINDS",
    "OPENINFERENCE_KINDS",
    "SLOTS",
]

DEFAULT_INTENT_ATTRIBUTES = (
    "llmdrift.intent",
    "gen_ai.request.intent",
    "app.intent",
    "intent",
)
"""Attributes that may carry the request type, first found wins."""

DEFAULT_PROMPT_HASH_ATTRIBUTES = ("llmdrift.prompt.template_hash",)
"""Attributes that carry a ready-made prompt template hash."""

DEFAULT_PROMPT_TEMPLATE_ATTRIBUTES = ("llm.prompt_template.template",)
"""Attributes holding the template text, hashed when no hash attribute is set."""

DEFAULT_PROMPT_VERSION_ATTRIBUTES = (
    "gen_ai.prompt.version",
    "llm.prompt_template.version",
    "llmdrift.prompt.version",
)
"""Attributes holding the prompt template's version label."""

# slot name -> (value type, attribute names in order of precedence). A slot is
# one value a reader picks from the span attributes; several slots feed one
# column (request_model falls back to the invocation parameters and then to
# llm.model_name). The configurable slots get their names per call.
SLOTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "provider": (
        "str",
        ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"),
    ),
    "request_model": ("str", ("gen_ai.request.model",)),
    "response_model": ("str", ("gen_ai.response.model",)),
    "oi_model": ("str", ("llm.model_name",)),
    "invocation_parameters": ("str", ("llm.invocation_parameters",)),
    "operation": ("str", ("gen_ai.operation.name",)),
    "oi_kind": ("str", ("openinference.span.kind",)),
    "input_tokens": (
        "int",
        (
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
        ),
    ),
    "output_tokens": (
        "int",
        (
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
        ),
    ),
    "cache_read_tokens": (
        "int",
        (
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
        ),
    ),
    "cache_write_tokens": (
        "int",
        (
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_write.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
            "llm.token_count.prompt_details.cache_write",
        ),
    ),
    "reasoning_tokens": (
        "int",
        (
            "gen_ai.usage.reasoning.output_tokens",
            "gen_ai.usage.output_tokens.reasoning",
            "gen_ai.usage.reasoning_tokens",
            "llm.token_count.completion_details.reasoning",
        ),
    ),
    "reported_cost_usd": ("float", ("gen_ai.usage.cost", "llm.cost.total")),
    "intent": ("str", DEFAULT_INTENT_ATTRIBUTES),
    "prompt_hash": ("str", DEFAULT_PROMPT_HASH_ATTRIBUTES),
    "prompt_template": ("str", DEFAULT_PROMPT_TEMPLATE_ATTRIBUTES),
    "prompt_version": ("str", DEFAULT_PROMPT_VERSION_ATTRIBUTES),
    "prompt_name": ("str", ("gen_ai.prompt.name", "llm.prompt_template.name")),
    "error_type": ("str", ("error.type",)),
    "finish_reason": ("list", ("gen_ai.response.finish_reasons",)),
    "flagged": ("bool", ("llmdrift.flagged",)),
    "retrieval_score": ("float", ("llmdrift.retrieval.score", "retrieval.score")),
}

OPENINFERENCE_KINDS = {
    "LLM": "llm",
    "EMBEDDING": "embedding",
    "RETRIEVER": "retrieval",
    "RERANKER": "retrieval",
    "TOOL": "tool",
    "AGENT": "agent",
    "CHAIN": "chain",
    "GUARDRAIL": "other",
    "EVALUATOR": "other",
    "PROMPT": "other",
    "UNKNOWN": "other",
}
"""``openinference.span.kind`` value (upper-cased) -> ``span_kind``."""

GENAI_OPERATION_KINDS = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "completion": "llm",
    "embeddings": "embedding",
    "embedding": "embedding",
    "execute_tool": "tool",
    "create_agent": "agent",
    "invoke_agent": "agent",
    "invoke_workflow": "chain",
    "retrieval": "retrieval",
    "retrieve": "retrieval",
}
"""``gen_ai.operation.name`` value (lower-cased) -> ``span_kind``. Any other
operation on a span that names a model is ``llm``, otherwise ``other``."""

STATUS_CODES = {
    0: "unset",
    1: "ok",
    2: "error",
    "STATUS_CODE_UNSET": "unset",
    "STATUS_CODE_OK": "ok",
    "STATUS_CODE_ERROR": "error",
}
"""OTLP status code (integer, or the enum name some writers use) -> status."""

# Content attributes: exact keys and flattened prefixes, in order of precedence.
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
OI_INPUT_PREFIX = "llm.input_messages."
OI_OUTPUT_PREFIX = "llm.output_messages."
GENAI_PROMPT = "gen_ai.prompt"
GENAI_COMPLETION = "gen_ai.completion"
OI_INPUT_VALUE = "input.value"
OI_OUTPUT_VALUE = "output.value"
PLAIN_INPUT = "input"
PLAIN_OUTPUT = "output"
