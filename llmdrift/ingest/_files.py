"""Finding OTLP/JSON files and walking their requests, resources and spans.

Shared by :func:`llmdrift.ingest.read_otlp` and
:func:`llmdrift.ingest.read_otlp_contents`. A file is either one
``ExportTraceServiceRequest`` per line (what the OpenTelemetry Collector's file
exporter writes) or a single JSON document (possibly pretty-printed over many
lines, possibly a JSON array of requests); gzip is recognised by its magic
bytes, whatever the file is called. The reader decides per file: when the first
non-blank line is a complete JSON value, or when the second line is, the file is
read line by line (streaming, so a file of any size fits in memory); otherwise
the whole file is parsed as one document.
"""

from __future__ import annotations

import base64
import glob
import gzip
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson

from llmdrift.ingest._attributes import STATUS_CODES

__all__ = ["LoadReport", "Malformed", "expand_paths", "iter_spans", "hex_id"]

OTLP_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz", ".gz")
MAX_EXAMPLES = 10
_INT64_MAX = 2**63 - 1
_BOM = b"\xef\xbb\xbf"
_UNPARSED = object()  # a head line that is not JSON (JSON null is a value)


class Malformed(ValueError):
    """A line, document or span that cannot be read; ``reason`` is its kind."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class LoadReport:
    """Counts and first examples of what a read skipped or could not parse."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.lines_read = 0
        self.requests = 0
        self.spans_seen = 0
        self.lines_skipped = 0
        self.spans_skipped = 0
        self.skipped_reasons: Counter = Counter()
        self.examples: list[dict] = []
        self.values_not_parsed: Counter = Counter()
        self.value_examples: list[dict] = []
        self.ids_from_base64 = 0
        self.empty_files: list[str] = []

    def skip(
        self, where: dict, error: Malformed, *, line: bool, counted: bool = False
    ) -> None:
        """Record one skipped line (``line=True``) or span.

        ``counted=True`` says the line was already counted as skipped (a
        second bad request in one JSON-array line): its reason and example
        are recorded, the line count is not raised again.
        """
        if line:
            self.lines_skipped += 0 if counted else 1
        else:
            self.spans_skipped += 1
        self.skipped_reasons[error.reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append({**where, "reason": str(error)})

    def bad_value(self, where: dict, column: str, value) -> None:
        self.values_not_parsed[column] += 1
        if len(self.value_examples) < MAX_EXAMPLES:
            self.value_examples.append(
                {**where, "column": column, "value": repr(value)[:80]}
            )

    def as_dict(self) -> dict:
        return {
            "files": list(self.files),
            "lines_read": self.lines_read,
            "requests": self.requests,
            "spans_seen": self.spans_seen,
            "lines_skipped": self.lines_skipped,
            "spans_skipped": self.spans_skipped,
            "skipped_reasons": dict(self.skipped_reasons),
            "examples": list(self.examples),
            "values_not_parsed": dict(self.values_not_parsed),
            "value_examples": list(self.value_examples),
            "ids_from_base64": self.ids_from_base64,
            "empty_files": list(self.empty_files),
        }


def expand_paths(paths) -> list[Path]:
    """Resolve a path, directory, glob pattern or list of them to files.

    A directory stands for the OTLP files directly in it (``*.json``,
    ``*.jsonl`` and their ``.gz``); a glob is expanded and sorted. Raises
    ``FileNotFoundError`` naming the entry that matched nothing.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    if not isinstance(paths, list | tuple):
        raise TypeError(
            "paths must be a str, a Path, a glob pattern or a list of them, got "
            f"{type(paths).__name__}"
        )
    files: list[Path] = []
    for entry in paths:
        if not isinstance(entry, str | os.PathLike):
            raise TypeError(
                "each path must be a str or a Path (a file, directory or glob), "
                f"got {entry!r} ({type(entry).__name__})"
            )
        text = os.fspath(entry)
        if not text.strip():
            raise FileNotFoundError(
                "an empty path was given; pass a file, a directory or a glob"
            )
        path = Path(text)
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.name.endswith(OTLP_SUFFIXES)
            )
            if not found:
                raise FileNotFoundError(
                    f"directory {text!r} holds no OTLP files (*.json, *.jsonl, *.gz)"
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif glob.has_magic(text):
            found = sorted(Path(p) for p in glob.glob(text, recursive=True))
            found = [p for p in found if p.is_file()]
            if not found:
                raise FileNotFoundError(f"glob pattern {text!r} matched no file")
            files.extend(found)
        else:
            raise FileNotFoundError(f"no such OTLP file or directory: {text!r}")
    if not files:
        raise FileNotFoundError("no paths given; pass a file, a glob or a list")
    return files


def hex_id(value, n_bytes: int, report: LoadReport, name: str) -> str | None:
    """Trace or span id as lowercase hex.

    OTLP/JSON writes ids as hex (any case). A producer that used the generic
    proto3 JSON mapping writes base64 of the raw bytes instead; the two cannot be
    confused because their lengths differ (32 hex digits or 24 base64
    characters for a trace id, 16 or 12 for a span id), so a base64 id is
    decoded to hex. An empty id is ``None`` (a root span's parent).
    """
    if not value:
        return None
    if not isinstance(value, str):
        raise Malformed(f"bad {name}", f"expected a hex string, got {value!r}")
    if len(value) == 2 * n_bytes:
        try:
            bytes.fromhex(value)
        except ValueError:
            raise Malformed(f"bad {name}", f"{value!r} is not hex") from None
        return value.lower()
    if len(value) == 4 * ((n_bytes + 2) // 3):
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raw = b""
        if len(raw) == n_bytes:
            report.ids_from_base64 += 1
            return raw.hex()
    raise Malformed(
        f"bad {name}",
        f"{value!r} is neither {2 * n_bytes} hex digits nor base64 of {n_bytes} bytes",
    )


def unix_nanos(value, name: str) -> int:
    """An OTLP fixed64 time: decimal string or JSON integer, kept exact."""
    if type(value) is int:
        nanos = value
    elif isinstance(value, str):
        try:
            nanos = int(value)
        except ValueError:
            raise Malformed(f"bad {name}", f"{value!r} is not an integer") from None
    elif isinstance(value, float) and value.is_integer():
        # already rounded by whoever wrote a float; the digits left are kept
        nanos = int(value)
    else:
        raise Malformed(f"bad {name}", f"{value!r} is not an integer")
    if not 0 < nanos <= _INT64_MAX:
        raise Malformed(f"bad {name}", f"{nanos} is outside 1..2**63-1 ns")
    return nanos


def status_of(span: dict) -> str:
    status = span.get("status")
    if not status:
        return "unset"
    code = status.get("code", 0)
    try:
        return STATUS_CODES[code]
    except (KeyError, TypeError):
        raise Malformed("bad status", f"status code {code!r}") from None


def _open(path: Path):
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return raw, gzip.GzipFile(fileobj=raw, mode="rb")
    return raw, raw


def _loads(data: bytes):
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        text = str(error)
        if "UTF-8" in text:
            # OTLP/JSON is UTF-8; a latin-1 or binary line cannot be read
            raise Malformed(
                "not UTF-8",
                "the line holds bytes that are not UTF-8; re-encode the file "
                "as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
            ) from None
        raise Malformed("invalid JSON", text[:120]) from None


def _looks_like_gzip_or_json(path: Path) -> bool:
    """Whether a file starts as gzip does, or as JSON text may (a misnamed file)."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head.startswith(b"\x1f\x8b"):
        return True
    text = head.removeprefix(_BOM).lstrip()
    return not text or text[:1] in (b"{", b"[")


def _requests(doc) -> list:
    if isinstance(doc, list):
        return doc
    return [doc]


def _documents(
    path: Path, report: LoadReport, on_bytes
) -> Iterator[tuple[int, object]]:
    """Yield ``(line_number, parsed JSON)``; bad lines are reported, skipped.

    A file that cannot be read to its end (a gzip stream cut short, bytes
    that are not gzip after a gzip header, an I/O error) is reported once,
    with the line where reading stopped; the lines before it are kept.
    """
    position = [0]
    if path.name.endswith(".gz") and not _looks_like_gzip_or_json(path):
        report.skip(
            {"file": str(path), "line": 1},
            Malformed(
                "not gzip",
                "the file is named .gz but is neither gzip-compressed nor JSON "
                "text (a partial download, or another format?)",
            ),
            line=True,
        )
        return
    try:
        yield from _documents_of(path, report, on_bytes, position)
    except (EOFError, OSError, zlib.error) as error:
        if isinstance(error, EOFError):
            reason = "truncated gzip"
            detail = (
                "the compressed stream ends early (an interrupted copy or "
                "write?); the lines before it loaded"
            )
        else:
            reason = "unreadable file"
            detail = f"{type(error).__name__}: {error}; the lines before it loaded"
        report.skip(
            {"file": str(path), "line": position[0] + 1},
            Malformed(reason, detail),
            line=True,
        )


def _documents_of(
    path: Path, report: LoadReport, on_bytes, position: list[int]
) -> Iterator[tuple[int, object]]:
    raw, stream = _open(path)
    name = str(path)
    with raw, stream:
        lines = iter(stream)
        head: list[tuple[int, bytes]] = []
        lineno = 0
        for line in lines:
            lineno += 1
            position[0] = lineno
            if lineno == 1 and line.startswith(_BOM):
                # a byte-order mark (Windows editors, PowerShell) is not JSON
                line = line[len(_BOM) :]
            if line.strip():
                head.append((lineno, line))
                if len(head) == 2:
                    break
        if not head:
            report.empty_files.append(name)
            return
        parsed = []
        for number, line in head:
            try:
                parsed.append((number, orjson.loads(line)))
            except orjson.JSONDecodeError:
                parsed.append((number, _UNPARSED))
        line_mode = parsed[0][1] is not _UNPARSED or (
            len(parsed) > 1 and parsed[1][1] is not _UNPARSED
        )
        if not line_mode and len(head) > 1:
            # one document over many lines: read the rest and parse it whole
            first = head[0][0]
            data = b"".join(line for _, line in head) + stream.read()
            on_bytes(raw.tell())
            try:
                doc = _loads(data)
            except Malformed as error:
                # Not one document after all: a JSON Lines file whose first
                # two lines are broken reads line by line, so its good lines
                # load and each bad one is reported on its own.
                yield from _lines_of(data, first, name, report, error)
                return
            report.lines_read += data.count(b"\n") + 1
            yield first, doc
            return
        for (number, line), (_, doc) in zip(head, parsed, strict=True):
            report.lines_read += 1
            if doc is _UNPARSED:
                try:
                    _loads(line)
                except Malformed as error:
                    report.skip({"file": name, "line": number}, error, line=True)
                continue
            yield number, doc
        for line in lines:
            lineno += 1
            position[0] = lineno
            if not line.strip():
                continue
            report.lines_read += 1
            try:
                doc = _loads(line)
            except Malformed as error:
                report.skip({"file": name, "line": lineno}, error, line=True)
                continue
            if lineno % 64 == 0:
                on_bytes(raw.tell())
            yield lineno, doc
        on_bytes(raw.tell())


def _lines_of(
    data: bytes, first: int, name: str, report: LoadReport, whole_error: Malformed
) -> Iterator[tuple[int, object]]:
    """Parse ``data`` (starting at line ``first``) line by line.

    Used when a file whose first two lines are not JSON also fails to parse as
    one document. If no line at all is a JSON value the file is reported once,
    as the single document it seemed to be (a pretty-printed document with a
    syntax error), instead of once per line.
    """
    parsed: list[tuple[int, object]] = []
    errors: list[tuple[int, Malformed]] = []
    for offset, line in enumerate(data.split(b"\n")):
        if not line.strip():
            continue
        try:
            parsed.append((first + offset, _loads(line)))
        except Malformed as error:
            errors.append((first + offset, error))
    if not parsed:
        report.lines_read += data.count(b"\n") + 1
        report.skip({"file": name, "line": first}, whole_error, line=True)
        return
    report.lines_read += len(parsed) + len(errors)
    for number, error in errors:
        report.skip({"file": name, "line": number}, error, line=True)
    yield from parsed


def _attribute_value(attributes, key: str):
    for item in attributes or ():
        if item.get("key") == key:
            value = item.get("value") or {}
            for kind, inner in value.items():
                if kind != "arrayValue" and kind != "kvlistValue":
                    return inner
    return None


def iter_spans(files: list[Path], report: LoadReport, progress: bool = False):
    """Yield ``(span, service, where)`` for every span of every request.

    ``where`` is ``(file, line, span index within the line)`` for error
    reports. Lines and resources that are not OTLP are
    reported and skipped here; span-level checks are the caller's.
    """
    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = sum(p.stat().st_size for p in files)
        bar = tqdm(total=total, unit="B", unit_scale=True, desc="read_otlp")
    done = [0, 0]  # bytes of finished files, position in the current one

    def on_bytes(position: int) -> None:
        if bar is not None:
            bar.update(done[0] + position - bar.n)
        done[1] = position

    try:
        for path in files:
            report.files.append(str(path))
            name = str(path)
            for lineno, doc in _documents(path, report, on_bytes):
                line_counted = False  # a line is skipped once, however many
                for request in _requests(doc):
                    if not isinstance(request, dict) or not isinstance(
                        request.get("resourceSpans"), list
                    ):
                        report.skip(
                            {"file": name, "line": lineno},
                            Malformed(
                                "not an OTLP ExportTraceServiceRequest",
                                "expected an object with a resourceSpans list",
                            ),
                            line=True,
                            counted=line_counted,
                        )
                        line_counted = True
                        continue
                    report.requests += 1
                    index = 0
                    for resource_spans in request["resourceSpans"]:
                        try:
                            resource = resource_spans.get("resource") or {}
                            service = _attribute_value(
                                resource.get("attributes"), "service.name"
                            )
                            scopes = resource_spans.get("scopeSpans")
                            if scopes is None:  # OTLP before 1.0
                                scopes = resource_spans.get(
                                    "instrumentationLibrarySpans", []
                                )
                            spans = [
                                s for scope in scopes for s in scope.get("spans") or ()
                            ]
                        except (AttributeError, TypeError) as error:
                            report.skip(
                                {"file": name, "line": lineno},
                                Malformed("bad resourceSpans", str(error)),
                                line=True,
                                counted=line_counted,
                            )
                            line_counted = True
                            continue
                        service = str(service) if service else "unknown_service"
                        for span in spans:
                            report.spans_seen += 1
                            yield span, service, (name, lineno, index)
                            index += 1
            done[0] += done[1]
            done[1] = 0
    finally:
        if bar is not None:
            bar.close()
