"""Turning the message attributes of a span into plain input and output text.

Rules (one place, so checks and the judge see the same text):

- A message list (``gen_ai.input.messages``, the older ``gen_ai.prompt`` when
  it holds JSON, OpenInference's flattened ``llm.input_messages.<i>.*``) is
  rendered one message per line as ``role: text``. A message's text is its
  ``text`` parts (``parts[].content``) or its ``content`` string; other parts
  (tool calls, tool results) are written as compact JSON so nothing is lost.
- An output is the answer only: the text of the output messages joined with a
  newline, without role prefixes. When the output has no text part at all (a
  pure tool call), its parts are written as JSON.
- A JSON object in ``gen_ai.completion``, ``output.value`` or ``output`` is
  opened when it has an obvious answer field: ``text`` or ``content`` (a
  string), ``choices[].message.content`` (an OpenAI response), a ``content``
  list of text blocks (an Anthropic response) or a ``messages`` list. Any other
  value, including JSON without those fields and values whose mime type is
  ``text/plain``, is kept exactly as recorded.
"""

from __future__ import annotations

import orjson

__all__ = ["render_input", "render_output", "unflatten"]


def _dumps(value) -> str:
    return orjson.dumps(value).decode()


def _message_parts(message: dict) -> tuple[list[str], list]:
    """(text pieces, other parts) of one message in any of the known shapes."""
    texts: list[str] = []
    others: list = []
    parts = message.get("parts")
    if isinstance(parts, list):
        for part in parts:
            if isinstance(part, dict) and part.get("type", "text") == "text":
                content = part.get("content", part.get("text"))
                if isinstance(content, str):
                    texts.append(content)
                    continue
            others.append(part)
    content = message.get("content")
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif isinstance(block, str):
                texts.append(block)
            else:
                others.append(block)
    for key in ("tool_calls", "tool_call_id"):
        if message.get(key):
            others.append({key: message[key]})
    return texts, others


def _render_messages(messages: list, *, roles: bool) -> str | None:
    lines = []
    fallback = []
    for message in messages:
        if not isinstance(message, dict):
            lines.append(str(message))
            continue
        texts, others = _message_parts(message)
        if roles:
            pieces = texts + [_dumps(o) for o in others]
            lines.append(f"{message.get('role', 'unknown')}: " + "\n".join(pieces))
        else:
            lines.extend(texts)
            fallback.extend(others)
    if not roles and not lines and fallback:
        return _dumps(fallback)
    return "\n".join(lines) if lines else None


def _open_json(text: str):
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        return orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return None


def _answer_of(value, *, roles: bool):
    """Text of a parsed JSON value when it has an obvious answer field."""
    if isinstance(value, list):
        if value and all(isinstance(m, dict) and "role" in m for m in value):
            return _render_messages(value, roles=roles)
        return None
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("messages"), list):
        return _render_messages(value["messages"], roles=roles)
    for key in ("text", "content"):
        if isinstance(value.get(key), str):
            return value[key]
    choices = value.get("choices")
    if isinstance(choices, list) and choices:
        messages = [c.get("message") for c in choices if isinstance(c, dict)]
        messages = [m for m in messages if isinstance(m, dict)]
        if messages:
            return _render_messages(messages, roles=False)
    content = value.get("content")
    if isinstance(content, list):
        return _render_messages(
            [{"role": "assistant", "content": content}], roles=False
        )
    return None


def _text(value, *, roles: bool, mime: str | None = None, messages: bool = False):
    if value is None:
        return None
    if not isinstance(value, str):
        if isinstance(value, list | dict):
            found = _answer_of(value, roles=roles)
            return found if found is not None else _dumps(value)
        return str(value)
    if mime is not None and "json" not in mime:
        return value
    parsed = _open_json(value)
    if parsed is None:
        return value
    found = _answer_of(parsed, roles=roles)
    if found is not None:
        return found
    return value if not messages else None


def unflatten(flat: dict[str, object]) -> list[dict]:
    """Messages from flattened keys ``<i>.message.role`` / ``<i>.role`` ...

    ``flat`` maps the key suffix after the list prefix (``"0.message.role"``)
    to the value. OpenInference nests under ``message.``; the older indexed
    GenAI keys (``gen_ai.prompt.0.content``) do not; both are read.
    """
    by_index: dict[int, dict] = {}
    for suffix, value in flat.items():
        head, _, rest = suffix.partition(".")
        if not head.isdigit():
            continue
        message = by_index.setdefault(int(head), {"parts": []})
        if rest.startswith("message."):
            rest = rest[len("message.") :]
        if rest == "role":
            message["role"] = value
        elif rest == "content":
            message["parts"].append((-1, {"type": "text", "content": value}))
        elif rest.startswith("contents."):
            j, _, field = rest[len("contents.") :].partition(".")
            if field in ("message_content.text", "text") and j.isdigit():
                message["parts"].append((int(j), {"type": "text", "content": value}))
        elif rest.startswith("tool_calls."):
            j, _, field = rest[len("tool_calls.") :].partition(".")
            if j.isdigit():
                field = field.removeprefix("tool_call.")
                calls = message.setdefault("calls", {})
                calls.setdefault(int(j), {"type": "tool_call"})[field] = value
        elif rest == "tool_call_id":
            message["tool_call_id"] = value
    messages = []
    for index in sorted(by_index):
        message = by_index[index]
        parts = [part for _, part in sorted(message.pop("parts"), key=lambda p: p[0])]
        for j in sorted(message.get("calls", {})):
            parts.append(message["calls"][j])
        message.pop("calls", None)
        message["parts"] = parts
        messages.append(message)
    return messages


def render_input(found: dict) -> str | None:
    """Input text from the content attributes of one span (see module rules)."""
    value = found.get("gen_ai.input.messages")
    if value is not None:
        text = _text(value, roles=True, messages=True)
        if text is not None:
            return text
    if found.get("llm.input_messages."):
        return _render_messages(unflatten(found["llm.input_messages."]), roles=True)
    if found.get("gen_ai.prompt.") and found.get("gen_ai.prompt") is None:
        return _render_messages(unflatten(found["gen_ai.prompt."]), roles=True)
    for key, mime in (
        ("gen_ai.prompt", None),
        ("input.value", found.get("input.mime_type")),
        ("input", None),
    ):
        value = found.get(key)
        if value is not None:
            return _text(value, roles=True, mime=mime)
    return None


def render_output(found: dict) -> str | None:
    """Output (answer) text from the content attributes of one span."""
    value = found.get("gen_ai.output.messages")
    if value is not None:
        text = _text(value, roles=False, messages=True)
        if text is not None:
            return text
    if found.get("llm.output_messages."):
        return _render_messages(unflatten(found["llm.output_messages."]), roles=False)
    if found.get("gen_ai.completion.") and found.get("gen_ai.completion") is None:
        return _render_messages(unflatten(found["gen_ai.completion."]), roles=False)
    for key, mime in (
        ("gen_ai.completion", None),
        ("output.value", found.get("output.mime_type")),
        ("output", None),
    ):
        value = found.get(key)
        if value is not None:
            return _text(value, roles=False, mime=mime)
    return None
