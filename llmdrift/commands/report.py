"""``llmdrift report``: write the shareable HTML page of an incident.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="llmdrift")
>>> _ = add_parser(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["report", "--source", "demo", "--out", "x.html"])
>>> args.source, args.out, args.include_contents
(['demo'], 'x.html', False)
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``report`` on the CLI's subparsers; returns its parser."""
    parser = subparsers.add_parser(
        "report",
        help="investigate an incident and write it as one self-contained HTML file",
        description=(
            "Investigate the quality incident in a source and write the summary, "
            "charts (SVG), ranked causes, alerts and before/after traces to one "
            "HTML file that opens offline. Prompt and answer texts are redacted "
            "unless --include-contents is given."
        ),
    )
    parser.add_argument(
        "--source",
        nargs="+",
        default=["demo"],
        metavar="SOURCE",
        help="'demo', 'chen2023', or OTLP/JSON file paths or globs (default: demo)",
    )
    parser.add_argument(
        "--out", required=True, help="HTML file to write, e.g. incident.html"
    )
    parser.add_argument(
        "--include-contents",
        action="store_true",
        help="show prompt and answer texts of the traces (may hold personal data)",
    )
    parser.add_argument(
        "--store",
        default=None,
        metavar="PATH",
        help="folder of the demo Parquet files or of the chen2023 CSVs "
        "(default: data/demo, or the download cache)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Load the source, investigate, write the report; return the exit code."""
    import llmdrift
    from llmdrift.investigate import load_source
    from llmdrift.report import incident_report

    sources = list(args.source)
    named = len(sources) == 1 and sources[0] in ("demo", "chen2023")
    source = sources[0] if named else sources
    if not named and args.store is not None:
        print(
            "llmdrift report: --store applies to --source demo or chen2023 only",
            file=sys.stderr,
        )
        return 2
    try:
        data = load_source(source, path=args.store)
    except (FileNotFoundError, ValueError) as err:
        print(f"llmdrift report: cannot load {sources}: {err}", file=sys.stderr)
        return 2
    incident = llmdrift.investigate(
        data.spans, data.scores, data.deployments, contents=data.contents
    )
    incident_report(incident, args.out, include_contents=args.include_contents)
    print(f"wrote {args.out}")
    return 0
