"""A fake Anthropic Messages API (and Message Batches API) on loopback.

The real ``anthropic`` SDK talks to it over HTTP, so tests exercise the SDK's
request building, error mapping and response parsing without a key or the
network. The server is the standard library's ``ThreadingHTTPServer`` in a
daemon thread, bound to 127.0.0.1 on a free port.

Scripting
---------
Every ``POST /v1/messages`` is answered by, in order of precedence:

1. the next :class:`Reply` queued with :meth:`FakeAnthropic.when` for a key
   that occurs in the request body (e.g. a span id in the judged text);
2. the next :class:`Reply` queued with :meth:`FakeAnthropic.script`;
3. ``FakeAnthropic.responder(body)``, a callable returning a :class:`Reply`
   (by default a short text answer).

A :class:`Reply` can answer well, slowly (``delay``), with an HTTP error and
headers (429 with ``retry-after``, 529, 500), with a malformed HTTP body
(``raw``), with any text (malformed verdict JSON) or with
``stop_reason="refusal"``. ``FakeAnthropic.hook(record)`` runs before each
reply (it may raise in the server thread or signal the test).

Every request is recorded in ``FakeAnthropic.requests`` (method, path,
headers, parsed JSON body, time), and every request inside a message batch in
``FakeAnthropic.batch_items``.

A request with ``"stream": true`` is answered with server-sent events in the
order the Messages API sends them (``message_start`` with the input usage,
one text block in chunks of 8 characters, ``message_delta`` with the stop
reason and the output usage, ``message_stop``); a reply with
``stream_error_after`` sends an ``error`` event part way instead.

Prompt caching is imitated: a system block with ``cache_control`` is counted
as ``cache_creation_input_tokens`` the first time its text is seen and as
``cache_read_input_tokens`` afterwards; tokens are ``len(text) // 4``.

Message batches
---------------
``POST /v1/messages/batches`` stores the requests; ``GET
/v1/messages/batches/{id}`` reports ``in_progress`` for
``batch_polls_before_end`` retrieves, then ``ended`` with a ``results_url``
on this server; ``GET .../results`` streams JSONL results computed with the
same scripting (HTTP errors become ``errored`` results; a reply with
``batch_result="expired"`` or ``"canceled"`` gives that result type).
"""

from __future__ import annotations

import collections
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

__all__ = ["FakeAnthropic", "Reply", "Recorded", "fake_anthropic_fixture"]

RESPONSE_MODEL = "claude-haiku-4-5-20251001"

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class Reply:
    """One scripted answer of the fake server."""

    text: str = "ok"
    status: int = 200
    stop_reason: str = "end_turn"
    delay: float = 0.0
    headers: dict = field(default_factory=dict)
    raw: bytes | None = None
    model: str | None = None
    usage: dict | None = None
    batch_result: str | None = None
    # for a streamed request: answer with an ``error`` event (this HTTP-like
    # status) after this many text chunks, as the API does when it is
    # overloaded part way through a stream
    stream_error_after: int | None = None
    stream_error_status: int = 529

    @classmethod
    def ok(cls, text: str, **kwargs) -> Reply:
        return cls(text=text, **kwargs)

    @classmethod
    def error(cls, status: int, *, retry_after: str | None = None, **kw) -> Reply:
        headers = dict(kw.pop("headers", {}))
        if retry_after is not None:
            headers["retry-after"] = retry_after
        # the SDK obeys x-should-retry; our judge must decide itself
        headers.setdefault("x-should-retry", "false")
        return cls(status=status, headers=headers, text="", **kw)

    @classmethod
    def refusal(cls, text: str = "") -> Reply:
        return cls(text=text, stop_reason="refusal")

    @classmethod
    def slow(cls, seconds: float, text: str = "ok") -> Reply:
        return cls(text=text, delay=seconds)


@dataclass
class Recorded:
    """One request the fake server received."""

    method: str
    path: str
    headers: dict  # names lower-cased
    body: object
    time: float

    @property
    def text(self) -> str:
        return json.dumps(self.body)


class FakeAnthropic:
    """The fake server; use as a context manager or through the fixture."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.batch_items: list[dict] = []
        self.batches: dict[str, dict] = {}
        self.batch_polls_before_end = 1
        self.responder = lambda body: Reply()
        self.hook = None
        self._keyed: dict[str, collections.deque] = {}
        self._queue: collections.deque = collections.deque()
        self._cached_systems: set[str] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                return None

            def _body(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    return json.loads(raw) if raw else None
                except ValueError:
                    return raw.decode("utf-8", "replace")

            def _handle(self, method: str) -> None:
                body = self._body() if method == "POST" else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                record = Recorded(method, self.path, headers, body, time.monotonic())
                with fake._lock:
                    fake.requests.append(record)
                try:
                    status, headers, payload = fake._dispatch(record)
                except Exception as exc:  # a hook that raises: answer 500
                    status, headers, payload = 500, {}, _error_body(500, repr(exc))
                try:
                    self.send_response(status)
                    content_type = headers.pop("content-type", "application/json")
                    self.send_header("content-type", content_type)
                    self.send_header("content-length", str(len(payload)))
                    self.send_header("request-id", f"req_fake_{next(fake._ids)}")
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout); nothing to answer

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self._handle("POST")

            def do_GET(self) -> None:  # noqa: N802
                self._handle("GET")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"

    # -- scripting ---------------------------------------------------------

    def when(self, key: str, *replies: Reply) -> None:
        """Queue replies for requests whose JSON body contains ``key``."""
        with self._lock:
            self._keyed.setdefault(key, collections.deque()).extend(replies)

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, whatever they contain."""
        with self._lock:
            self._queue.extend(replies)

    def message_requests(self) -> list[Recorded]:
        """The ``POST /v1/messages`` requests received, in arrival order."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == "POST" and r.path.split("?")[0] == "/v1/messages"
            ]

    def count(self, key: str, *, batches: bool = True) -> int:
        """How many message requests (and batch items) mention ``key``."""
        n = sum(key in r.text for r in self.message_requests())
        if batches:
            with self._lock:
                n += sum(key in json.dumps(item) for item in self.batch_items)
        return n

    def client(self, **kwargs):
        """A real ``anthropic.Anthropic`` pointed at this server."""
        import anthropic

        kwargs.setdefault("max_retries", 0)
        return anthropic.Anthropic(api_key="test-key", base_url=self.url, **kwargs)

    def async_client(self, **kwargs):
        import anthropic

        kwargs.setdefault("max_retries", 0)
        return anthropic.AsyncAnthropic(api_key="test-key", base_url=self.url, **kwargs)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeAnthropic:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- serving -----------------------------------------------------------

    def _choose(self, body) -> Reply:
        text = json.dumps(body)
        with self._lock:
            for key, queue in self._keyed.items():
                if queue and key in text:
                    return queue.popleft()
            if self._queue:
                return self._queue.popleft()
        return self.responder(body)

    def _dispatch(self, record: Recorded):
        if self.hook is not None:
            self.hook(record)
        path = record.path.split("?")[0]
        if record.method == "POST" and path == "/v1/messages":
            reply = self._choose(record.body)
            if reply.delay:
                time.sleep(reply.delay)
            return self._message_reply(reply, record.body)
        if record.method == "POST" and path == "/v1/messages/batches":
            return 200, {}, json.dumps(self._create_batch(record.body)).encode()
        parts = path.strip("/").split("/")
        if record.method == "GET" and parts[:3] == ["v1", "messages", "batches"]:
            batch_id = parts[3] if len(parts) > 3 else None
            if batch_id not in self.batches:
                return 404, {}, _error_body(404, f"no batch {batch_id}")
            if len(parts) == 5 and parts[4] == "results":
                return (
                    200,
                    {"content-type": "application/binary"},
                    self._results(batch_id),
                )
            return 200, {}, json.dumps(self._retrieve(batch_id)).encode()
        return 404, {}, _error_body(404, f"fake has no route {record.method} {path}")

    def _usage(self, body, reply: Reply) -> dict:
        if reply.usage is not None:
            return dict(reply.usage)
        cache_write = cache_read = 0
        uncached = 0
        system = body.get("system") if isinstance(body, dict) else None
        blocks = system if isinstance(system, list) else []
        if isinstance(system, str):
            uncached += len(system) // 4
        for block in blocks:
            size = len(block.get("text", "")) // 4
            if block.get("cache_control"):
                with self._lock:
                    seen = block["text"] in self._cached_systems
                    self._cached_systems.add(block["text"])
                if seen:
                    cache_read += size
                else:
                    cache_write += size
            else:
                uncached += size
        for message in body.get("messages", []) if isinstance(body, dict) else []:
            content = message.get("content")
            if isinstance(content, str):
                uncached += len(content) // 4
            else:
                uncached += sum(len(b.get("text", "")) // 4 for b in content or [])
        return {
            "input_tokens": max(uncached, 1),
            "output_tokens": max(len(reply.text) // 4, 1),
            "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": cache_read,
        }

    def _message(self, reply: Reply, body) -> dict:
        content = [{"type": "text", "text": reply.text}] if reply.text else []
        return {
            "id": f"msg_fake_{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": reply.model or RESPONSE_MODEL,
            "content": content,
            "stop_reason": reply.stop_reason,
            "stop_sequence": None,
            "usage": self._usage(body, reply),
        }

    def _message_reply(self, reply: Reply, body):
        headers = dict(reply.headers)
        if reply.raw is not None:
            return reply.status, headers, reply.raw
        if reply.status != 200:
            return reply.status, headers, _error_body(reply.status, "scripted")
        if isinstance(body, dict) and body.get("stream"):
            headers["content-type"] = "text/event-stream"
            return 200, headers, self._event_stream(reply, body)
        return 200, headers, json.dumps(self._message(reply, body)).encode()

    def _event_stream(self, reply: Reply, body) -> bytes:
        """The whole server-sent-event body of one streamed message."""
        message = self._message(reply, body)
        usage = message["usage"]
        start = dict(message, content=[], stop_reason=None)
        start["usage"] = dict(usage, output_tokens=1)
        events = [("message_start", {"type": "message_start", "message": start})]
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        chunks = [reply.text[i : i + 8] for i in range(0, len(reply.text), 8)]
        for k, chunk in enumerate(chunks):
            if reply.stream_error_after is not None and k == reply.stream_error_after:
                status = reply.stream_error_status
                error = {
                    "type": "error",
                    "error": {
                        "type": _ERROR_TYPES.get(status, "api_error"),
                        "message": "scripted, part way through the stream",
                    },
                }
                events.append(("error", error))
                return _sse(events)
            delta = {"type": "text_delta", "text": chunk}
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 0, "delta": delta},
                )
            )
        events.append(
            ("content_block_stop", {"type": "content_block_stop", "index": 0})
        )
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": usage["output_tokens"]},
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return _sse(events)

    def _create_batch(self, body) -> dict:
        batch_id = f"msgbatch_fake_{next(self._ids)}"
        requests = list(body.get("requests", []))
        with self._lock:
            self.batch_items.extend(requests)
            self.batches[batch_id] = {
                "requests": requests,
                "retrieves": 0,
                "created": datetime.now(UTC),
            }
        return self._batch_json(batch_id, ended=False)

    def _retrieve(self, batch_id: str) -> dict:
        with self._lock:
            state = self.batches[batch_id]
            state["retrieves"] += 1
            ended = state["retrieves"] > self.batch_polls_before_end
        return self._batch_json(batch_id, ended=ended)

    def _batch_json(self, batch_id: str, *, ended: bool) -> dict:
        state = self.batches[batch_id]
        n = len(state["requests"])
        counts = {
            "processing": 0 if ended else n,
            "succeeded": n if ended else 0,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        }
        created = state["created"]
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": created.isoformat(),
            "expires_at": (created + timedelta(days=1)).isoformat(),
            "ended_at": datetime.now(UTC).isoformat() if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": (
                f"{self.url}/v1/messages/batches/{batch_id}/results" if ended else None
            ),
        }

    def _results(self, batch_id: str) -> bytes:
        lines = []
        for item in self.batches[batch_id]["requests"]:
            params = item.get("params", {})
            reply = self._choose(params)
            if reply.batch_result in ("expired", "canceled"):
                result = {"type": reply.batch_result}
            elif reply.status != 200:
                result = {
                    "type": "errored",
                    "error": json.loads(_error_body(reply.status, "scripted")),
                }
            else:
                result = {"type": "succeeded", "message": self._message(reply, params)}
            lines.append(json.dumps({"custom_id": item["custom_id"], "result": result}))
        return ("\n".join(lines) + "\n").encode()


def _sse(events) -> bytes:
    return "".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events
    ).encode()


def _error_body(status: int, message: str) -> bytes:
    kind = _ERROR_TYPES.get(status, "api_error")
    return json.dumps(
        {"type": "error", "error": {"type": kind, "message": message}}
    ).encode()


@pytest.fixture(name="fake_anthropic")
def fake_anthropic_fixture():
    """A running :class:`FakeAnthropic`, shut down after the test."""
    with FakeAnthropic() as fake:
        yield fake
