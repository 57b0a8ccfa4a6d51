"""Benchmark: llmdrift.read_otlp against json + pandas.json_normalize.

Generates N OpenTelemetry GenAI spans (default 1,000,000) as OTLP/JSON in the
Collector's file-exporter layout (one ExportTraceServiceRequest per line, 1,000
spans per line) into ``benchmarks/_work/``, then, in the same run, loads that
file with each method in its own fresh Python subprocess:

- ``read_otlp``: ``llmdrift.read_otlp(path)``, the full spans frame.
- ``json_normalize`` (baseline): what a user would write: ``json.loads`` per
  line, ``pandas.json_normalize`` of ``resourceSpans -> scopeSpans -> spans``,
  the attribute lists exploded, normalised and pivoted to one column per
  attribute key, the service name taken from the resource, then times and
  token columns converted; the per-line frames concatenated at the end.

Time is wall time of the load inside the subprocess (``time.perf_counter``).
Peak memory is the subprocess's peak resident set size, read with
``resource.getrusage(resource.RUSAGE_SELF).ru_maxrss`` inside it after the
load (for a lone child this equals what the parent would read from
``RUSAGE_CHILDREN``); the RSS after imports, before loading, is shown too so
the increment can be seen. Both methods report their row count and token sum
as a cross-check.

Run: ``.venv/bin/python benchmarks/read_otlp.py [--spans N] [--reuse]``.
Writes ``benchmarks/results/read_otlp.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
RESULTS = HERE / "results" / "read_otlp.md"
T0 = 1_718_000_000_000_000_000

SERVICES = ("support-api", "search-api", "billing-api")
MODELS = (
    ("gpt-4o", "gpt-4o-2024-08-06"),
    ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
)
INTENTS = ("refund", "summarise_ticket", "triage", "translate", "faq", "escalate")


def _attr(key: str, kind: str, value) -> dict:
    return {"key": key, "value": {kind: value}}


def generate(path: Path, n_spans: int, per_line: int, seed: int = 0) -> None:
    """Write ``n_spans`` GenAI chat spans, ``per_line`` to a request line."""
    import orjson

    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(path, "wb") as handle:
        while written < n_spans:
            k = min(per_line, n_spans - written)
            service = SERVICES[(written // per_line) % len(SERVICES)]
            spans = []
            for i in range(k):
                n = written + i
                request_model, response_model = MODELS[n % 2]
                start = T0 + n * 86_400_000_000 + rng.randrange(10**6)
                input_tokens = rng.randrange(200, 6000)
                attributes = [
                    _attr("gen_ai.operation.name", "stringValue", "chat"),
                    _attr("gen_ai.provider.name", "stringValue",
                          "openai" if n % 2 == 0 else "anthropic"),
                    _attr("gen_ai.request.model", "stringValue", request_model),
                    _attr("gen_ai.response.model", "stringValue", response_model),
                    _attr("gen_ai.usage.input_tokens", "intValue", str(input_tokens)),
                    _attr("gen_ai.usage.output_tokens", "intValue",
                          str(rng.randrange(20, 800))),
                    _attr("gen_ai.usage.cache_read.input_tokens", "intValue",
                          str(input_tokens // 2)),
                    _attr("gen_ai.response.finish_reasons", "arrayValue",
                          {"values": [{"stringValue": "stop"}]}),
                    _attr("llmdrift.intent", "stringValue", INTENTS[n % len(INTENTS)]),
                    _attr("llmdrift.prompt.template_hash", "stringValue",
                          f"{(n % 12) * 1_000_003:012x}"),
                    _attr("gen_ai.prompt.version", "stringValue", str(n % 4)),
                    _attr("server.address", "stringValue", "api.example.com"),
                ]  # fmt: skip
                span = {
                    "traceId": f"{rng.getrandbits(128):032x}",
                    "spanId": f"{n + 1:016x}",
                    "parentSpanId": f"{rng.getrandbits(64):016x}",
                    "name": f"chat {request_model}",
                    "kind": 3,
                    "startTimeUnixNano": str(start),
                    "endTimeUnixNano": str(
                        start + rng.randrange(200_000_000, 4 * 10**9)
                    ),
                    "attributes": attributes,
                    "status": {"code": 2} if n % 100 == 0 else {},
                }
                spans.append(span)
            request = {
                "resourceSpans": [
                    {
                        "resource": {
                            "attributes": [
                                _attr("service.name", "stringValue", service)
                            ]
                        },
                        "scopeSpans": [
                            {"scope": {"name": "bench", "version": "1"}, "spans": spans}
                        ],
                    }
                ]
            }
            handle.write(orjson.dumps(request) + b"\n")
            written += k


# --- the two methods, each run in a fresh subprocess -------------------------------

CHILD = r"""
import json, resource, sys, time, warnings
import pandas as pd
method, path = sys.argv[1], sys.argv[2]
if method == "read_otlp":
    import llmdrift.ingest
rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if method == "read_otlp":
    df = llmdrift.ingest.read_otlp(path)
    tokens = int(df["input_tokens"].sum())
else:
    frames = []
    with open(path, "rb") as handle:
        for line in handle:
            doc = json.loads(line)
            for resource_spans in doc["resourceSpans"]:
                service = next(
                    a["value"]["stringValue"]
                    for a in resource_spans["resource"]["attributes"]
                    if a["key"] == "service.name"
                )
                spans = pd.json_normalize(
                    resource_spans, record_path=["scopeSpans", "spans"]
                )
                attrs = spans[["spanId", "attributes"]].explode(
                    "attributes", ignore_index=True
                )
                flat = pd.json_normalize(attrs["attributes"].tolist())
                flat["spanId"] = attrs["spanId"].to_numpy()
                value = flat["value.stringValue"]
                for col in ("value.intValue", "value.doubleValue", "value.boolValue"):
                    if col in flat.columns:
                        value = value.fillna(flat[col])
                flat["value"] = value
                wide = flat.pivot(index="spanId", columns="key", values="value")
                spans["service.name"] = service
                spans = spans.drop(columns=["attributes"])
                frames.append(spans.merge(wide, left_on="spanId", right_index=True))
    df = pd.concat(frames, ignore_index=True)
    for col in ("startTimeUnixNano", "endTimeUnixNano"):
        df[col] = pd.to_datetime(df[col].astype("int64"), unit="ns", utc=True)
    for col in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
                "gen_ai.usage.cache_read.input_tokens"):
        df[col] = pd.to_numeric(df[col]).astype("Int64")
    tokens = int(df["gen_ai.usage.input_tokens"].sum())
seconds = time.perf_counter() - t
rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "rss_imports_kib": rss_imports,
                  "rss_peak_kib": rss_peak, "rows": len(df),
                  "columns": df.shape[1], "input_tokens_sum": tokens}))
"""


def run_method(method: str, path: Path) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, method, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--per-line", type=int, default=1_000)
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the file if present"
    )
    parser.add_argument("--no-write", action="store_true", help="do not write results")
    args = parser.parse_args(argv)

    path = WORK / f"genai_spans_{args.spans}.jsonl"
    if not (args.reuse and path.exists()):
        t = time.perf_counter()
        generate(path, args.spans, args.per_line)
        print(f"generated {args.spans:,} spans in {time.perf_counter() - t:.1f} s")
    size_mb = path.stat().st_size / 1e6
    print(f"file: {path} ({size_mb:,.0f} MB, {args.per_line} spans per line)")

    results = {m: run_method(m, path) for m in ("read_otlp", "json_normalize")}
    ours, base = results["read_otlp"], results["json_normalize"]
    if (
        ours["rows"] != base["rows"]
        or ours["input_tokens_sum"] != base["input_tokens_sum"]
    ):
        raise SystemExit(f"methods disagree: {ours} vs {base}")

    def mib(kib):
        return kib / 1024

    rows = [
        "| method | load time (s) | peak RSS (MiB) | RSS after imports (MiB) | "
        "increment (MiB) | rows | columns |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        label = (
            "llmdrift.read_otlp"
            if name == "read_otlp"
            else ("json.loads + pandas.json_normalize (baseline)")
        )
        rows.append(
            f"| {label} | {r['seconds']:.1f} | {mib(r['rss_peak_kib']):,.0f} | "
            f"{mib(r['rss_imports_kib']):,.0f} | "
            f"{mib(r['rss_peak_kib'] - r['rss_imports_kib']):,.0f} | "
            f"{r['rows']:,} | {r['columns']} |"
        )
    speed = base["seconds"] / ours["seconds"]
    memory = base["rss_peak_kib"] / ours["rss_peak_kib"]
    increment = (base["rss_peak_kib"] - base["rss_imports_kib"]) / max(
        1, ours["rss_peak_kib"] - ours["rss_imports_kib"]
    )
    summary = (
        f"read_otlp is {speed:.1f}x faster than the baseline and peaks at "
        f"{1 / memory:.2f}x its memory (baseline / read_otlp peak RSS = "
        f"{memory:.2f}; increment over imports ratio {increment:.2f}). Both read "
        f"{ours['rows']:,} spans with input-token sum {ours['input_tokens_sum']:,}."
    )
    table = "\n".join(rows)
    print(table)
    print(summary)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            "# read_otlp benchmark\n\n"
            f"Generated by `benchmarks/read_otlp.py` on {time.strftime('%Y-%m-%d')}: "
            f"{args.spans:,} OTel GenAI chat spans (12 attributes each), "
            f"{args.per_line:,} spans per ExportTraceServiceRequest line, "
            f"{size_mb:,.0f} MB of OTLP/JSON. Python {platform.python_version()}, "
            f"{platform.machine()}, each method in its own subprocess; peak RSS from "
            "`resource.getrusage(RUSAGE_SELF).ru_maxrss` inside that subprocess.\n\n"
            f"{table}\n\n{summary}\n\n"
            "The baseline flattens the attributes to one column per key but does "
            "not apply the GenAI/OpenInference semantics (aliases, kinds, hashes, "
            "validation), which read_otlp also does in its time.\n"
        )
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
