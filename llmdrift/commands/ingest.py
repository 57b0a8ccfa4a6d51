"""``llmdrift ingest FILES... --store PATH``: load OTLP/JSON traces into a store.

Each file is read with :func:`llmdrift.read_otlp` (and its prompt and answer
texts with :func:`llmdrift.ingest.read_otlp_contents`) and appended to the
store in one transaction, so an interrupted run loses at most the file being
loaded and running the command again completes it: spans already in the
store are skipped, never duplicated.

The summary says how many spans were read and loaded, how many were already
in the store, what was skipped and why, the time range and the services.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="llmdrift")
>>> add_parser(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["ingest", "a.jsonl", "--store", "t.duckdb"])
>>> args.files, args.store, args.contents
(['a.jsonl'], 't.duckdb', True)
"""

from __future__ import annotations

import sys
import time
import warnings
from collections import Counter

__all__ = ["add_parser", "run_ingest"]


def add_parser(subparsers) -> None:
    """Register the ``ingest`` subcommand on an argparse ``subparsers``."""
    parser = subparsers.add_parser(
        "ingest",
        help="load OTLP/JSON trace files into a span store",
        description=(
            "Load OTLP/JSON trace files (Collector file exporter lines, single "
            "documents, .gz) into a store. Loading a file twice adds nothing."
        ),
    )
    parser.add_argument(
        "files", nargs="+", help="OTLP/JSON files, folders or glob patterns"
    )
    parser.add_argument(
        "--store",
        required=True,
        help="a .duckdb file, a folder (Parquet files) or a connection URL",
    )
    parser.add_argument(
        "--contents-store",
        default=None,
        help="keep prompts and answers in this separate store instead",
    )
    parser.add_argument(
        "--no-contents",
        dest="contents",
        action="store_false",
        help="do not load prompt and answer texts",
    )
    parser.add_argument(
        "--no-checks",
        dest="checks",
        action="store_false",
        help="do not score the answers with the default heuristic checks",
    )
    parser.add_argument(
        "--no-prices",
        dest="prices",
        action="store_false",
        help="do not price the spans (genai-prices) before storing them",
    )
    parser.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar",
    )
    parser.set_defaults(func=_main)


def run_ingest(
    files,
    store,
    *,
    contents=True,
    contents_store=None,
    progress=True,
    checks=True,
    prices=True,
) -> dict:
    """Load trace files into a store, one transaction per file.

    Parameters
    ----------
    files : sequence of str or path
        OTLP/JSON files, folders or glob patterns (as :func:`llmdrift.read_otlp`).
    store : str, path or Store
        Anything :func:`llmdrift.store.open_store` accepts.
    contents : bool, default=True
        Also load prompt and answer texts.
    contents_store : str, path or Store, optional
        A separate store for the texts.
    progress : bool, default=True
        Show a ``tqdm`` bar over the files.
    checks : bool, default=True
        Score every loaded answer with :func:`llmdrift.checks.default_checks`
        and store those heuristic scores, so the store can be analysed (and
        ``llmdrift alerts``/``report --store`` run) without a judge. Needs
        ``contents``.
    prices : bool, default=True
        Price the spans with :func:`llmdrift.price_spans` (``cost_usd``)
        before storing them; an unknown model keeps ``<NA>`` cost.

    Returns
    -------
    dict
        ``files``, ``spans_read``, ``spans_loaded``, ``spans_already_stored``,
        ``contents_loaded``, ``scores_loaded``, ``skipped`` (reason -> count of spans or lines
        the reader skipped), ``warnings`` (reader warnings, deduplicated),
        ``first_start``, ``last_start`` (UTC timestamps of the spans read, or
        None), ``services`` (service -> spans read), ``seconds``.
    """
    from tqdm.auto import tqdm

    from llmdrift.checks import run_checks
    from llmdrift.cost import price_spans
    from llmdrift.ingest import read_otlp, read_otlp_contents
    from llmdrift.ingest._files import expand_paths
    from llmdrift.store import open_store

    began = time.perf_counter()
    paths = expand_paths(list(files))
    store = open_store(store, contents=contents_store)
    summary = {
        "files": len(paths),
        "spans_read": 0,
        "spans_loaded": 0,
        "spans_already_stored": 0,
        "contents_loaded": 0,
        "scores_loaded": 0,
        "skipped": Counter(),
        "warnings": [],
        "first_start": None,
        "last_start": None,
        "services": Counter(),
    }
    for path in tqdm(paths, desc="ingest", unit="file", disable=not progress):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            spans = read_otlp(path)
            texts = read_otlp_contents(path) if contents else None
            if texts is not None and len(texts):
                # texts of spans the reader skipped (bad time, status...) would
                # be stored without their span
                orphan = ~texts["span_id"].isin(spans["span_id"])
                if orphan.any():
                    summary["skipped"]["text of a span the reader skipped"] += int(
                        orphan.sum()
                    )
                    texts = texts[~orphan]
            if prices and len(spans):
                spans = price_spans(spans)
            scores = None
            if checks and texts is not None and len(texts):
                scores = run_checks(texts, spans=spans)
        for item in caught:
            text = str(item.message)
            # both readers walk the same file and report the same bad lines
            twin = text.replace("read_otlp_contents: ", "read_otlp: ", 1)
            if text not in summary["warnings"] and twin not in summary["warnings"]:
                summary["warnings"].append(text)
        report = spans.attrs.get("ingest_report", {})
        summary["skipped"].update(report.get("skipped_reasons", {}))
        dropped = report.get("duplicate_spans_dropped", 0)
        if dropped:
            summary["skipped"]["duplicate span id in the file"] += dropped
        added = store.append(spans=spans, contents=texts, scores=scores)
        summary["spans_read"] += len(spans)
        summary["spans_loaded"] += added.get("spans", 0)
        summary["spans_already_stored"] += len(spans) - added.get("spans", 0)
        summary["contents_loaded"] += added.get("contents", 0)
        summary["scores_loaded"] += added.get("scores", 0)
        if len(spans):
            lo, hi = spans["start_time"].min(), spans["start_time"].max()
            first, last = summary["first_start"], summary["last_start"]
            summary["first_start"] = lo if first is None else min(first, lo)
            summary["last_start"] = hi if last is None else max(last, hi)
            summary["services"].update(
                spans["service"].fillna("<unknown>").value_counts().to_dict()
            )
    store.close()
    summary["skipped"] = dict(summary["skipped"])
    summary["services"] = dict(summary["services"])
    summary["seconds"] = time.perf_counter() - began
    return summary


def format_summary(summary: dict, store: str) -> str:
    """The summary of :func:`run_ingest` as the lines the command prints."""
    lines = [
        f"store: {store}",
        f"files: {summary['files']}",
        f"spans read: {summary['spans_read']:,}",
        f"spans loaded: {summary['spans_loaded']:,}",
        f"spans already in the store (skipped): {summary['spans_already_stored']:,}",
    ]
    if summary["contents_loaded"]:
        lines.append(f"texts loaded: {summary['contents_loaded']:,}")
    if summary.get("scores_loaded"):
        lines.append(f"heuristic scores loaded: {summary['scores_loaded']:,}")
    if summary["skipped"]:
        lines.append("skipped by the reader:")
        for reason, count in sorted(summary["skipped"].items()):
            lines.append(f"  {count:,}  {reason}")
    else:
        lines.append("skipped by the reader: none")
    if summary["first_start"] is not None:
        lines.append(
            f"time range: {summary['first_start']:%Y-%m-%d %H:%M:%S} to "
            f"{summary['last_start']:%Y-%m-%d %H:%M:%S} UTC"
        )
    services = sorted(summary["services"].items(), key=lambda kv: -kv[1])
    if services:
        shown = ", ".join(f"{name} ({count:,})" for name, count in services[:10])
        more = f" and {len(services) - 10} more" if len(services) > 10 else ""
        lines.append(f"services: {shown}{more}")
    lines.append(f"took {summary['seconds']:.1f} s")
    return "\n".join(lines)


def format_warnings(summary: dict) -> str:
    """The reader's warnings (first five) as lines for standard error."""
    return "\n".join(f"warning: {text}" for text in summary["warnings"][:5])


def _main(args) -> int:
    try:
        summary = run_ingest(
            args.files,
            args.store,
            contents=args.contents,
            contents_store=args.contents_store,
            progress=args.progress,
            checks=args.checks,
            prices=args.prices,
        )
    except (FileNotFoundError, ValueError, ImportError) as err:
        print(f"llmdrift ingest: {err}", file=sys.stderr)
        return 2
    print(format_summary(summary, args.store))
    if summary["warnings"]:
        print(format_warnings(summary), file=sys.stderr)
    if not summary["spans_read"]:
        why = (
            "see 'skipped by the reader' above"
            if summary["skipped"]
            else "the files hold no spans: empty or null span lists"
        )
        print(
            f"llmdrift ingest: no span could be read from the files ({why}); "
            "are they OTLP/JSON trace exports?",
            file=sys.stderr,
        )
        return 2
    return 0
