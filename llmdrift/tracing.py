"""Instrumentation helpers: the prompt template hash and prompt attributes on spans.

The hash rule
-------------
:func:`template_hash` must give the same value for the same template in every
service, language and year, so its rule is fixed and small:

1. decode nothing, guess nothing: the input is the template *before* rendering,
   as a Python ``str``;
2. turn every CRLF (``\\r\\n``) and lone CR (``\\r``) into LF (``\\n``);
3. strip trailing whitespace (``str.rstrip()``) from every line;
4. drop trailing blank lines, so a final newline or its absence does not matter;
5. encode as UTF-8, take SHA-256, and keep the first 12 lowercase hex digits.

Nothing else is normalised: leading indentation, inner spaces, letter case and
Unicode form all count, because each can change what a model does. Re-implement
these five steps in any language and the hashes match.

Prompt attributes on spans
--------------------------
:func:`set_prompt_attributes` stamps the current OpenTelemetry span with the
prompt's name, version and template hash; :func:`prompt_context` does the same
for a block or a decorated function and remembers the prompt, so that model-call
spans started inside it (by llmdrift's anthropic wrapper, or by any other
instrumentation through :class:`PromptSpanProcessor`) carry it too. The
attribute names are the constants below:

========================================  =====================================
``gen_ai.prompt.name``                    :data:`PROMPT_NAME`
``gen_ai.prompt.version``                 :data:`PROMPT_VERSION`
``llmdrift.prompt.template_hash``         :data:`PROMPT_TEMPLATE_HASH`
``llmdrift.prompt.rendered_hash``         :data:`PROMPT_RENDERED_HASH` (opt-in)
========================================  =====================================

The OpenTelemetry GenAI conventions define a prompt name but no content hash,
so the hashes live under llmdrift's own ``llmdrift.`` namespace rather than
under a ``gen_ai.`` name the conventions might later define differently.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import math
import numbers
import types

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor

__all__ = [
    "HASH_LENGTH",
    "PROMPT_ATTRIBUTES",
    "PROMPT_NAME",
    "PROMPT_RENDERED_HASH",
    "PROMPT_TEMPLATE_HASH",
    "PROMPT_VERSION",
    "PromptSpanProcessor",
    "current_prompt",
    "normalize_template",
    "prompt_attributes",
    "prompt_context",
    "set_prompt_attributes",
    "template_hash",
]

HASH_LENGTH = 12
"""Hex digits kept from the SHA-256 digest (48 bits: a collision among 10,000
templates has a probability below 2e-7)."""


def normalize_template(template: str) -> str:
    """Apply the normalisation of the hash rule (steps 2-4) and return the text.

    Examples
    --------
    >>> normalize_template("Hi {name}.  \\r\\nBye\\r\\n\\r\\n")
    'Hi {name}.\\nBye'
    """
    if not isinstance(template, str):
        raise TypeError(
            f"template must be a str (the template before rendering), got "
            f"{type(template).__name__}"
        )
    text = template.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def template_hash(template: str) -> str:
    """Short, stable content hash of a prompt template.

    Parameters
    ----------
    template : str
        The template before rendering (placeholders such as ``{language}`` left
        in).

    Returns
    -------
    str
        12 lowercase hex digits; see the module docstring for the exact rule.

    Examples
    --------
    >>> a = template_hash("Reply in {language}.\\n")
    >>> a == template_hash("Reply in {language}.  \\r\\n")
    True
    >>> a == template_hash("Reply briefly in {language}.\\n")
    False
    >>> len(a)
    12
    """
    text = normalize_template(template)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"template holds a lone surrogate {text[error.start]!r} (character "
            f"{error.start} after normalising), which is not valid Unicode text (often a JSON escape cut "
            "in half); repair it, e.g. text.encode('utf-8', 'replace').decode()"
        ) from None
    return hashlib.sha256(data).hexdigest()[:HASH_LENGTH]


# --- prompt attributes on OpenTelemetry spans ---------------------------------

PROMPT_NAME = "gen_ai.prompt.name"
"""Span attribute: name of the prompt template (OTel GenAI convention)."""

PROMPT_VERSION = "gen_ai.prompt.version"
"""Span attribute: version label of the prompt template, as the team names it."""

PROMPT_TEMPLATE_HASH = "llmdrift.prompt.template_hash"
"""Span attribute: :func:`template_hash` of the template before rendering."""

PROMPT_RENDERED_HASH = "llmdrift.prompt.rendered_hash"
"""Span attribute (opt-in): :func:`template_hash` of the rendered prompt."""

PROMPT_ATTRIBUTES = (
    PROMPT_NAME,
    PROMPT_VERSION,
    PROMPT_TEMPLATE_HASH,
    PROMPT_RENDERED_HASH,
)
"""Every span attribute llmdrift's prompt instrumentation writes, in one place."""

_PROMPT_KEY = otel_context.create_key("llmdrift.prompt")


def prompt_attributes(
    *,
    name: str,
    version: str | int | None = None,
    template: str | None = None,
    rendered: str | None = None,
    record_rendered_hash: bool = False,
) -> dict[str, str]:
    """The prompt span attributes as a dict, without touching any span.

    Parameters
    ----------
    name : str
        Name of the prompt template, e.g. ``"triage"``.
    version : str or int, optional
        The team's version label; stored as a string.
    template : str, optional
        The template before rendering; its :func:`template_hash` becomes
        ``llmdrift.prompt.template_hash``.
    rendered : str, optional
        The prompt after rendering. Used only when ``record_rendered_hash``.
    record_rendered_hash : bool, default=False
        Also store the hash of ``rendered`` (same rule as the template hash).
        Off by default: a rendered prompt varies per request, so its hash is
        useful only for deduplication and it is derived from user content.

    Returns
    -------
    dict of str to str
        Only the attributes that have a value.

    Raises
    ------
    ValueError
        If ``name`` is empty, or ``record_rendered_hash`` is set without
        ``rendered``.

    Examples
    --------
    >>> attrs = prompt_attributes(name="triage", version=3, template="Hi {x}\\n")
    >>> sorted(attrs)
    ['gen_ai.prompt.name', 'gen_ai.prompt.version', 'llmdrift.prompt.template_hash']
    >>> attrs["llmdrift.prompt.template_hash"] == template_hash("Hi {x}")
    True
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            f"name must be a non-empty str naming the prompt template, got {name!r}"
        )
    attrs = {PROMPT_NAME: name}
    if version is not None:
        number = isinstance(version, numbers.Real)
        if (
            isinstance(version, bool)
            or not (isinstance(version, str) or number)
            or (number and not math.isfinite(version))
        ):
            # str(True), str([1]) or str(nan) would become a version label
            raise TypeError(
                f"version must be a str or a number (e.g. 'v3' or 3), got "
                f"{type(version).__name__} {version!r}"
            )
        attrs[PROMPT_VERSION] = str(version)
    if template is not None:
        attrs[PROMPT_TEMPLATE_HASH] = template_hash(template)
    if record_rendered_hash:
        if rendered is None:
            raise ValueError(
                "record_rendered_hash=True needs the rendered prompt: pass "
                "rendered=<the prompt as sent>"
            )
        if not isinstance(rendered, str):
            raise TypeError(
                f"rendered must be a str (the prompt as sent), got "
                f"{type(rendered).__name__}"
            )
        attrs[PROMPT_RENDERED_HASH] = template_hash(rendered)
    return attrs


def set_prompt_attributes(
    span: trace.Span | None = None,
    *,
    name: str,
    version: str | int | None = None,
    template: str | None = None,
    rendered: str | None = None,
    record_rendered_hash: bool = False,
) -> dict[str, str]:
    """Put the prompt's name, version and template hash on a span.

    Parameters
    ----------
    span : opentelemetry.trace.Span, optional
        The span to stamp; by default the current span
        (``opentelemetry.trace.get_current_span()``). A span that is not
        recording (no SDK configured, or sampled out) is left alone.
    name, version, template, rendered, record_rendered_hash
        As in :func:`prompt_attributes`.

    Returns
    -------
    dict of str to str
        The attributes written (or that would have been written to a
        non-recording span).

    Examples
    --------
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> tracer = TracerProvider().get_tracer("doc")
    >>> with tracer.start_as_current_span("chat") as span:
    ...     _ = set_prompt_attributes(name="triage", version="v2",
    ...                               template="Reply in {language}.")
    >>> span.attributes["gen_ai.prompt.version"]
    'v2'
    >>> span.attributes["llmdrift.prompt.template_hash"] == template_hash(
    ...     "Reply in {language}.\\r\\n")
    True
    """
    attrs = prompt_attributes(
        name=name,
        version=version,
        template=template,
        rendered=rendered,
        record_rendered_hash=record_rendered_hash,
    )
    target = trace.get_current_span() if span is None else span
    if not hasattr(target, "is_recording") or not hasattr(target, "set_attributes"):
        raise TypeError(
            "span must be an OpenTelemetry span (or None for the current one), got "
            f"{type(span).__name__}"
        )
    if target.is_recording():
        target.set_attributes(attrs)
    return attrs


def current_prompt(context: otel_context.Context | None = None) -> dict[str, str]:
    """The prompt attributes of the innermost active :func:`prompt_context`.

    Parameters
    ----------
    context : opentelemetry.context.Context, optional
        Context to look in; the current one by default.

    Returns
    -------
    dict of str to str
        A copy of the attributes; empty outside any prompt context.

    Examples
    --------
    >>> current_prompt()
    {}
    >>> with prompt_context(name="triage", version="4"):
    ...     current_prompt()["gen_ai.prompt.version"]
    '4'
    """
    attrs = otel_context.get_value(_PROMPT_KEY, context)
    return dict(attrs) if attrs else {}


class prompt_context:  # noqa: N801 - used like a function, as contextlib's are
    """Context manager and decorator that marks the prompt in use.

    On entry the current span (if recording) gets the prompt attributes, and
    the prompt is remembered in the OpenTelemetry context until exit, so that
    spans started inside the block can carry it: llmdrift's anthropic wrapper
    reads it with :func:`current_prompt`, and :class:`PromptSpanProcessor`
    stamps it on the model-call spans of any other instrumentation. An inner
    ``prompt_context`` replaces the outer one until it exits.

    Parameters
    ----------
    name, version, template, rendered, record_rendered_hash
        As in :func:`prompt_attributes`. The hashes are computed once, when
        the context is created, so a decorated function pays nothing per call.
    stamp_current_span : bool, default=True
        Also stamp the span that is current on entry.

    Examples
    --------
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> tracer = TracerProvider().get_tracer("doc")
    >>> with tracer.start_as_current_span("handle ticket") as span:
    ...     with prompt_context(name="triage", version="3", template="Hi {x}."):
    ...         inside = current_prompt()["gen_ai.prompt.version"]
    >>> span.attributes["gen_ai.prompt.name"], inside, current_prompt()
    ('triage', '3', {})
    >>> @prompt_context(name="triage", version="3")
    ... def answer():
    ...     return current_prompt()["gen_ai.prompt.name"]
    >>> answer()
    'triage'
    """

    def __init__(
        self,
        *,
        name: str,
        version: str | int | None = None,
        template: str | None = None,
        rendered: str | None = None,
        record_rendered_hash: bool = False,
        stamp_current_span: bool = True,
    ) -> None:
        self.attributes = prompt_attributes(
            name=name,
            version=version,
            template=template,
            rendered=rendered,
            record_rendered_hash=record_rendered_hash,
        )
        self.stamp_current_span = stamp_current_span
        self._tokens: list[object] = []

    def __enter__(self) -> dict[str, str]:
        if self.stamp_current_span:
            span = trace.get_current_span()
            if span.is_recording():
                span.set_attributes(self.attributes)
        ctx = otel_context.set_value(_PROMPT_KEY, dict(self.attributes))
        self._tokens.append(otel_context.attach(ctx))
        return dict(self.attributes)

    def __exit__(self, *exc_info: object) -> None:
        otel_context.detach(self._tokens.pop())

    def _fresh(self) -> prompt_context:
        # a fresh instance per call keeps concurrent calls (threads, tasks)
        # from sharing one token stack
        clone = object.__new__(prompt_context)
        clone.attributes = self.attributes
        clone.stamp_current_span = self.stamp_current_span
        clone._tokens = []
        return clone

    def __call__(self, func):
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args, **kwargs):
                with self._fresh():
                    return await func(*args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return func(*args, **kwargs)

        return wrapper


class PromptSpanProcessor(SpanProcessor):
    """Span processor that stamps the active prompt on model-call spans.

    Add it to the ``TracerProvider`` when model calls are traced by another
    instrumentation (for example the official OpenTelemetry anthropic or
    OpenAI instrumentations): every span started inside a
    :func:`prompt_context` then carries the prompt attributes as well, without
    wrapping the client twice. Attributes the span already has are kept.

    Parameters
    ----------
    only_model_calls : bool, default=True
        Stamp only spans that look like model calls when they start: their
        start attributes include a ``gen_ai.`` or OpenInference ``llm.`` key.
        With False every span started in the context is stamped.

    Examples
    --------
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(PromptSpanProcessor())
    >>> tracer = provider.get_tracer("doc")
    >>> with prompt_context(name="triage", template="Reply in {x}."):
    ...     with tracer.start_as_current_span(
    ...         "chat m", attributes={"gen_ai.operation.name": "chat"}
    ...     ) as llm_span:
    ...         pass
    ...     with tracer.start_as_current_span("db query") as other:
    ...         pass
    >>> llm_span.attributes["gen_ai.prompt.name"], "gen_ai.prompt.name" in (
    ...     other.attributes)
    ('triage', False)
    """

    def __init__(self, *, only_model_calls: bool = True) -> None:
        self.only_model_calls = only_model_calls

    def on_start(self, span, parent_context=None) -> None:
        attrs = otel_context.get_value(_PROMPT_KEY, parent_context)
        if not attrs:
            return
        existing = span.attributes or {}
        if self.only_model_calls and not any(
            key.startswith(("gen_ai.", "llm.")) for key in existing
        ):
            return
        span.set_attributes(
            {key: value for key, value in attrs.items() if key not in existing}
        )

    def on_end(self, span) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


# --- anthropic client tracing (judge engineer) ---
#
# A thin tracer for ``client.messages.create`` of the ``anthropic`` SDK. Each
# call gets one OpenTelemetry CLIENT span with the GenAI attributes (operation,
# provider, request/response model, finish reasons, token usage in the OTel
# meaning) and the prompt attributes of the active ``prompt_context``.

__all__ += [
    "instrument_anthropic",
    "traced_messages_create",
    "uninstrument_anthropic",
]

_GENAI_OPERATION = "gen_ai.operation.name"
_MAX_TOKENS_PARAMS = {
    "max_tokens": "gen_ai.request.max_tokens",
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "stop_sequences": "gen_ai.request.stop_sequences",
}


def _anthropic_usage_attributes(usage) -> dict:
    """GenAI usage attributes from an Anthropic ``usage`` block.

    Anthropic's ``input_tokens`` counts only the input that was neither read
    from nor written to the prompt cache; the OpenTelemetry GenAI
    ``gen_ai.usage.input_tokens`` includes both cache buckets, so they are
    added here once (and reported apart under their own names as well).
    """
    if usage is None:
        return {}
    uncached = _token_count(getattr(usage, "input_tokens", None))
    cache_read = _token_count(getattr(usage, "cache_read_input_tokens", None)) or 0
    cache_write = _token_count(getattr(usage, "cache_creation_input_tokens", None)) or 0
    attrs = {
        "gen_ai.usage.cache_read.input_tokens": cache_read,
        "gen_ai.usage.cache_creation.input_tokens": cache_write,
    }
    if uncached is not None:
        attrs["gen_ai.usage.input_tokens"] = uncached + cache_read + cache_write
    output = _token_count(getattr(usage, "output_tokens", None))
    if output is not None:
        attrs["gen_ai.usage.output_tokens"] = output
    return attrs


def _token_count(value) -> int | None:
    """A token count as an int, or None for anything that is not one.

    The SDK gives ints; a proxy, compatibility layer or mock may give text,
    NaN or objects, which are left off the span rather than raised into the
    caller's code.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if not math.isfinite(value) or value < 0 or value != int(value):
        return None
    return int(value)


def _request_attributes(kwargs: dict, client) -> dict:
    attrs = {
        _GENAI_OPERATION: "chat",
        "gen_ai.provider.name": "anthropic",
    }
    model = kwargs.get("model")
    if model is not None:
        attrs["gen_ai.request.model"] = str(model)
    for param, name in _MAX_TOKENS_PARAMS.items():
        value = kwargs.get(param)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attrs[name] = value
        elif param == "stop_sequences" and isinstance(value, list | tuple):
            attrs[name] = [str(v) for v in value]
    base_url = getattr(client, "base_url", None)
    host = getattr(base_url, "host", None)
    if host:
        attrs["server.address"] = str(host)
        port = getattr(base_url, "port", None)
        if port:
            attrs["server.port"] = int(port)
    attrs.update(current_prompt())
    return attrs


def _response_attributes(response) -> dict:
    attrs = {}
    model = getattr(response, "model", None)
    if model:
        attrs["gen_ai.response.model"] = str(model)
    response_id = getattr(response, "id", None)
    if response_id:
        attrs["gen_ai.response.id"] = str(response_id)
    stop = getattr(response, "stop_reason", None)
    if stop:
        attrs["gen_ai.response.finish_reasons"] = [str(stop)]
    attrs.update(_anthropic_usage_attributes(getattr(response, "usage", None)))
    return attrs


def _error_type(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 400:
        return str(status)
    # an error event part way through a stream comes with the stream's HTTP
    # 200; the event names the error (e.g. "overloaded_error")
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return error["type"]
    return type(exc).__qualname__


def _is_genai_span(span) -> bool:
    attributes = getattr(span, "attributes", None) or {}
    return span.is_recording() and _GENAI_OPERATION in attributes


def _official_instrumentation_active(messages) -> bool:
    # OpenTelemetry instrumentations patch the SDK's resource class with
    # wrapt.wrap_function_wrapper, which leaves a wrapt proxy in the class
    # (the SDK's own decorators use functools.wraps, so ``__wrapped__`` alone
    # says nothing)
    try:
        import wrapt
    except ImportError:
        return False
    proxies = tuple(
        getattr(wrapt, name)
        for name in ("FunctionWrapper", "BaseObjectProxy", "ObjectProxy")
        if isinstance(getattr(wrapt, name, None), type)
    )
    for cls in type(messages).__mro__:
        if "create" in cls.__dict__:
            return isinstance(cls.__dict__["create"], proxies)
    return False


class _ModelCall:
    """Span bookkeeping of one ``messages.create`` call."""

    def __init__(self, tracer, client, kwargs: dict) -> None:
        self._tracer = tracer
        self._attrs = _request_attributes(kwargs, client)
        self._span = None
        self._own = False
        self._token = None
        current = trace.get_current_span()
        if _is_genai_span(current):
            # a GenAI client span is already open (the user's or another
            # instrumentation's): annotate it rather than nest a second one
            self._span = current
            current.set_attributes(
                {k: v for k, v in self._attrs.items() if k not in current.attributes}
            )
        else:
            model = self._attrs.get("gen_ai.request.model", "")
            self._span = tracer.start_span(
                f"chat {model}".strip(),
                kind=trace.SpanKind.CLIENT,
                attributes=self._attrs,
            )
            self._own = True
            self._token = otel_context.attach(trace.set_span_in_context(self._span))

    def annotate(self, response) -> None:
        """Set the response and usage attributes of ``response`` on the span.

        Telemetry never raises into the caller's code: a response whose
        fields cannot be read is left off the span.
        """
        if response is not None and self._span is not None:
            if self._span.is_recording():
                try:
                    attrs = _response_attributes(response)
                except Exception:
                    return
                self._span.set_attributes(attrs)

    def done(self, response) -> None:
        try:
            self.annotate(response)
        finally:
            self._end()

    def streaming(self) -> None:
        """The call returned a stream: the span stays open, no longer current."""
        if self._token is not None:
            otel_context.detach(self._token)
            self._token = None

    def wrap(self, stream):
        """``stream`` (sync or async) wrapped so that its end ends the span."""
        self.streaming()
        if hasattr(stream, "__aiter__"):
            return _TracedAsyncStream(stream, self)
        return _TracedStream(stream, self)

    def failed(self, exc: BaseException) -> None:
        try:
            if self._span is not None and self._span.is_recording():
                self._span.set_attribute("error.type", _error_type(exc))
                self._span.record_exception(exc)
                self._span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc)))
        finally:
            self._end()

    def _end(self) -> None:
        if self._token is not None:
            otel_context.detach(self._token)
            self._token = None
        if self._own and self._span is not None:
            self._span.end()
            self._own = False


class _StreamedMessage:
    """The response fields of a streamed message, gathered from its events.

    ``message_start`` carries the id, model and input usage;
    ``message_delta`` the stop reason and the output usage (and, from some
    API versions on, final input and cache counts), which replace the
    earlier values.
    """

    _USAGE = (
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
    )

    def __init__(self) -> None:
        self.id = None
        self.model = None
        self.stop_reason = None
        self._usage: dict = {}

    def see(self, event) -> None:
        kind = getattr(event, "type", None)
        if kind == "message_start":
            message = getattr(event, "message", None)
            self.id = getattr(message, "id", None)
            self.model = getattr(message, "model", None)
            self._merge(getattr(message, "usage", None))
        elif kind == "message_delta":
            stop = getattr(getattr(event, "delta", None), "stop_reason", None)
            if stop:
                self.stop_reason = stop
            self._merge(getattr(event, "usage", None))

    def _merge(self, usage) -> None:
        for name in self._USAGE:
            value = getattr(usage, name, None)
            if value is not None:
                self._usage[name] = value

    @property
    def usage(self):
        if not self._usage:
            return None
        return types.SimpleNamespace(**{**dict.fromkeys(self._USAGE), **self._usage})


class _TracedStream:
    """A sync ``anthropic.Stream`` whose span ends when the stream does.

    Iterating, ``next()``, ``close()`` and the ``with`` block behave as the
    stream's own; every other attribute is the stream's. The span gets the
    response attributes and usage seen in the events when the stream is read
    to its end, closed, or left (a ``break`` out of the loop ends it when the
    loop's iterator is collected), and the error if the stream fails part way.
    A stream that is never read nor closed leaves its span open.
    """

    def __init__(self, stream, call: _ModelCall) -> None:
        self._stream = stream
        self._call = call
        self._message = _StreamedMessage()
        self._ended = False

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def _finish(self) -> None:
        if not self._ended:
            self._ended = True
            self._call.done(self._message)

    def _fail(self, exc: BaseException) -> None:
        if not self._ended:
            self._ended = True
            self._call.annotate(self._message)  # what was seen before the error
            self._call.failed(exc)

    def __iter__(self):
        try:
            for event in self._stream:
                self._message.see(event)
                yield event
        except GeneratorExit:
            self._finish()
            raise
        except BaseException as exc:
            self._fail(exc)
            raise
        self._finish()

    def __next__(self):
        try:
            event = next(self._stream)
        except StopIteration:
            self._finish()
            raise
        except BaseException as exc:
            self._fail(exc)
            raise
        self._message.see(event)
        return event

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._finish()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class _TracedAsyncStream(_TracedStream):
    """The ``anthropic.AsyncStream`` counterpart of :class:`_TracedStream`."""

    async def __aiter__(self):
        try:
            async for event in self._stream:
                self._message.see(event)
                yield event
        except (GeneratorExit, asyncio.CancelledError):
            # left by the caller (a break, or asyncio closing an abandoned
            # loop at shutdown): a stream closed early, not a failed call
            self._finish()
            raise
        except BaseException as exc:
            self._fail(exc)
            raise
        self._finish()

    async def __anext__(self):
        try:
            event = await self._stream.__anext__()
        except (StopAsyncIteration, asyncio.CancelledError):
            self._finish()
            raise
        except BaseException as exc:
            self._fail(exc)
            raise
        self._message.see(event)
        return event

    async def close(self) -> None:
        try:
            await self._stream.close()
        finally:
            self._finish()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()


class _TracedStreamManager:
    """``client.messages.stream(...)`` with a span around the ``with`` block.

    The span starts when the block is entered (that is when the request is
    sent) and ends when it is left, with the response attributes and usage
    of the message the stream accumulated, whichever way it was read
    (iterating, ``text_stream``, ``get_final_message()``), or with the error
    that left the block.
    """

    def __init__(self, manager, start) -> None:
        self._manager = manager
        self._start = start
        self._call = None
        self._stream = None

    def __getattr__(self, name):
        return getattr(self._manager, name)

    def _begin(self):
        self._call = self._start()

    def _snapshot(self):
        get = getattr(self._stream, "_current_snapshot_or_none", None)
        if get is not None:
            return get()
        try:
            return self._stream.current_message_snapshot
        except (AssertionError, AttributeError):
            return None

    def _end(self, exc) -> None:
        call, self._call = self._call, None
        if call is None:
            return
        snapshot = self._snapshot() if self._stream is not None else None
        if exc is not None:
            call.annotate(snapshot)
            call.failed(exc)
        else:
            call.done(snapshot)

    def __enter__(self):
        self._begin()
        try:
            self._stream = self._manager.__enter__()
        except BaseException as exc:
            self._end(exc)
            raise
        self._call.streaming()
        return self._stream

    def __exit__(self, exc_type, exc, tb):
        try:
            return self._manager.__exit__(exc_type, exc, tb)
        finally:
            self._end(exc)

    async def __aenter__(self):
        self._begin()
        try:
            self._stream = await self._manager.__aenter__()
        except BaseException as exc:
            self._end(exc)
            raise
        self._call.streaming()
        return self._stream

    async def __aexit__(self, exc_type, exc, tb):
        try:
            return await self._manager.__aexit__(exc_type, exc, tb)
        finally:
            self._end(exc)


def _tracer(tracer_provider):
    from llmdrift import __version__

    return trace.get_tracer(
        "llmdrift.tracing", __version__, tracer_provider=tracer_provider
    )


def instrument_anthropic(client, *, tracer_provider=None):
    """Trace ``client.messages.create`` of one anthropic client.

    Each call gets an OpenTelemetry CLIENT span named ``chat {model}`` with
    ``gen_ai.operation.name`` ("chat"), ``gen_ai.provider.name``
    ("anthropic"), ``gen_ai.request.model`` (and max_tokens, temperature,
    top_p, top_k, stop_sequences when given), ``gen_ai.response.model``,
    ``gen_ai.response.id``, ``gen_ai.response.finish_reasons``,
    ``gen_ai.usage.input_tokens`` (all input, cache included: Anthropic's
    uncached ``input_tokens`` + cache reads + cache writes),
    ``gen_ai.usage.output_tokens``, ``gen_ai.usage.cache_read.input_tokens``,
    ``gen_ai.usage.cache_creation.input_tokens``, ``server.address`` /
    ``server.port``, and the prompt attributes of the active
    :func:`prompt_context`. A failed call gets ``error.type`` (the HTTP status,
    or the exception class), the exception event and an ERROR status.

    Parameters
    ----------
    client : anthropic.Anthropic or anthropic.AsyncAnthropic
        Patched in place (this instance only; other clients are untouched).
        Instrumenting twice is harmless.
    tracer_provider : opentelemetry.trace.TracerProvider, optional
        The global provider by default.

    Returns
    -------
    The same client, for chaining.

    Notes
    -----
    Composing with other instrumentation:

    - If a GenAI span (one with ``gen_ai.operation.name``) is current when
      ``create`` is called, no second span is made: that span gets the
      missing request attributes, the prompt attributes and the response and
      usage attributes.
    - If an OpenTelemetry instrumentation already patches the SDK's
      ``Messages.create`` (with ``wrapt``, as OpenTelemetry instrumentations
      do), the client is returned unpatched, because that instrumentation makes the span; add
      :class:`PromptSpanProcessor` to the tracer provider so that its spans
      carry the prompt attributes.

    Streams are traced too. ``create(stream=True)`` returns the SDK's stream
    wrapped so that the span, started with the request, ends when the stream
    is read to its end, closed or left, with the id, model, stop reason and
    usage of its ``message_start`` and ``message_delta`` events (an error
    event part way marks the span failed, with what was seen before it). A
    stream that is neither read nor closed leaves its span open. For
    ``client.messages.stream(...)`` the span covers the ``with`` block and
    takes the usage of the message the stream accumulated. The wrapped
    stream is not an ``anthropic.Stream`` instance (it forwards every
    attribute to one), so code that checks ``isinstance`` sees the
    difference.

    Examples
    --------
    >>> import anthropic
    >>> client = instrument_anthropic(anthropic.Anthropic(api_key="x"))
    >>> getattr(client.messages.create, "_llmdrift_traced", False)
    True
    """
    messages = getattr(client, "messages", None)
    if not callable(getattr(messages, "create", None)):
        raise TypeError(
            "instrument_anthropic needs an anthropic.Anthropic or AsyncAnthropic "
            f"client (with .messages.create); got {type(client).__name__}."
        )
    if getattr(messages.create, "_llmdrift_traced", False):
        return client
    if _official_instrumentation_active(messages):
        return client
    original = messages.create
    tracer = _tracer(tracer_provider)

    # the SDK wraps its async methods in plain decorators: look underneath
    if inspect.iscoroutinefunction(inspect.unwrap(original)):

        @functools.wraps(original)
        async def create(*args, **kwargs):
            call = _ModelCall(tracer, client, kwargs)
            try:
                response = await original(*args, **kwargs)
            except BaseException as exc:
                call.failed(exc)
                raise
            if kwargs.get("stream"):
                return call.wrap(response)
            call.done(response)
            return response

    else:

        @functools.wraps(original)
        def create(*args, **kwargs):
            call = _ModelCall(tracer, client, kwargs)
            try:
                response = original(*args, **kwargs)
            except BaseException as exc:
                call.failed(exc)
                raise
            if kwargs.get("stream"):
                return call.wrap(response)
            call.done(response)
            return response

    create._llmdrift_traced = True
    # an instance attribute shadows the class method for this client only
    messages.create = create
    original_stream = getattr(messages, "stream", None)
    if original_stream is not None:

        @functools.wraps(original_stream)
        def stream(*args, **kwargs):
            manager = original_stream(*args, **kwargs)
            return _TracedStreamManager(
                manager, lambda: _ModelCall(tracer, client, kwargs)
            )

        stream._llmdrift_traced = True
        messages.stream = stream
    return client


def uninstrument_anthropic(client):
    """Undo :func:`instrument_anthropic` on this client; returns it.

    Examples
    --------
    >>> import anthropic
    >>> client = instrument_anthropic(anthropic.Anthropic(api_key="x"))
    >>> hasattr(uninstrument_anthropic(client).messages.create, "_llmdrift_traced")
    False
    """
    client.messages.__dict__.pop("create", None)
    client.messages.__dict__.pop("stream", None)
    return client


def traced_messages_create(client, /, *, tracer_provider=None, **kwargs):
    """One traced ``client.messages.create(**kwargs)`` without patching.

    Same span and attributes as :func:`instrument_anthropic`; for a sync
    client (await ``client.messages.create`` yourself after
    :func:`instrument_anthropic` for an async one).

    Returns
    -------
    anthropic.types.Message

    Examples
    --------
    Needs a reachable API, so it is not run here:

    >>> with prompt_context(name="triage", version="3", template=TEMPLATE):
    ...     message = traced_messages_create(
    ...         client, model="claude-haiku-4-5", max_tokens=256,
    ...         messages=[{"role": "user", "content": ticket}],
    ...     )  # doctest: +SKIP
    """
    call = _ModelCall(_tracer(tracer_provider), client, kwargs)
    try:
        response = client.messages.create(**kwargs)
    except BaseException as exc:
        call.failed(exc)
        raise
    if kwargs.get("stream"):
        return call.wrap(response)
    call.done(response)
    return response
