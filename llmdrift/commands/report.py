"""``llmdrift report``: write the shareable HTML page of an incident.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="llmdrift")
>>> _ = add_parser(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["report", "--source", "demo", "--out", "x.html"])
>>> args.source, args.out, args.include_contents, args.store
(['demo'], 'x.html', False, None)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
        default=None,
        metavar="SOURCE",
        help="'demo', 'chen2023', or OTLP/JSON file paths or globs "
        "(default: demo, unless --store is given)",
    )
    parser.add_argument(
        "--store",
        default=None,
        metavar="PATH",
        help="a span store instead of --source (see llmdrift ingest); its spans, "
        "scores and, when present, contents are read",
    )
    parser.add_argument(
        "--contents-store",
        default=None,
        metavar="PATH",
        help="the separate store holding prompts and answers, when `llmdrift "
        "ingest --contents-store` put them there (with --store)",
    )
    parser.add_argument(
        "--deployments",
        default=None,
        metavar="PATH",
        help="deployments: Parquet or CSV (with --store or OTLP sources, which "
        "hold none); without it every prompt change counts as unannounced",
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
        "--data",
        default=None,
        metavar="FOLDER",
        help="folder of the demo Parquet files or of the chen2023 CSVs; it must "
        "exist (default: data/demo, or the download cache)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an unexpected error, print the traceback (also LLMDRIFT_DEBUG=1); "
        "without it the error is one line and the exit code 2",
    )
    parser.set_defaults(func=run)
    return parser


def _from_store(path, contents_store=None):
    """Spans, scores, contents (or None) and no deployments from a span store."""
    from pathlib import Path

    from llmdrift.commands._options import reading_store
    from llmdrift.store import load_from_store, open_store

    for where, what in ((path, "store"), (contents_store, "contents store")):
        if where is not None and "://" not in str(where) and not Path(where).exists():
            raise FileNotFoundError(
                f"{what} {str(where)!r} does not exist; create it with "
                "`llmdrift ingest FILES --store PATH"
                + (" --contents-store PATH`" if what != "store" else "`")
            )
    # read-only: several readers (report, alerts) may share one DuckDB file;
    # a corrupt or locked file is a ValueError naming it
    store = open_store(path, contents=contents_store, read_only=True)
    try:
        with reading_store(path):
            tables = [t for t in ("spans", "scores", "contents") if store.has_table(t)]
            if "spans" not in tables or "scores" not in tables:
                raise ValueError(
                    f"store {str(path)!r} needs spans and scores tables, has {tables}"
                )
            frames = load_from_store(store, tables=tuple(tables))
    finally:
        store.close()
    return frames["spans"], frames["scores"], frames.get("contents"), None


def _no_contents_note(args, sources) -> str:
    """The note when --include-contents finds no texts to show."""
    if args.store is None:
        return (
            f"llmdrift report: note: --include-contents, but {' '.join(sources)} "
            "holds no prompt or answer texts, so the traces show '-'; record the "
            "texts in the spans (e.g. the gen_ai prompt and completion attributes)"
        )
    if args.contents_store is not None:
        return (
            f"llmdrift report: note: --include-contents, but the contents store "
            f"{args.contents_store!r} holds no prompt or answer texts, so the "
            "traces show '-'"
        )
    return (
        f"llmdrift report: note: --include-contents, but the store {args.store!r} "
        "holds no prompt or answer texts, so the traces show '-'; if `llmdrift "
        "ingest --contents-store PATH` kept them in their own store, add "
        "--contents-store PATH"
    )


def _data_problem(path, source: str) -> str | None:
    """Why ``--data path`` cannot serve ``source`` (None when it can).

    A folder that is missing, or that lacks the demo's ``spans.parquet``, was
    passed over and the demo generated instead.
    """
    from llmdrift.commands._options import InputError, existing_folder

    fix = (
        "write the demo there with `python -m llmdrift.datasets.demo --out "
        f"{path}`, or leave --data out to generate it"
        if source == "demo"
        else "give the folder of the chen2023 CSVs, or leave --data out to "
        "download them"
    )
    try:
        folder = existing_folder(path, "--data", fix)
    except InputError as exc:
        return str(exc)
    if source == "demo" and not (folder / "spans.parquet").is_file():
        return f"--data {str(path)!r} holds no spans.parquet; {fix}"
    return None


def run(args: argparse.Namespace) -> int:
    """Load the source, investigate, write the report; return the exit code."""
    import llmdrift
    from llmdrift.investigate import load_source
    from llmdrift.report import incident_report

    if args.source is not None and args.store is not None:
        print("llmdrift report: give --source or --store, not both", file=sys.stderr)
        return 2
    sources = list(args.source or ["demo"])
    named = len(sources) == 1 and sources[0] in ("demo", "chen2023")
    if args.data is not None and (args.store is not None or not named):
        print(
            "llmdrift report: --data applies to --source demo or chen2023 only",
            file=sys.stderr,
        )
        return 2
    if args.contents_store is not None and args.store is None:
        print("llmdrift report: --contents-store goes with --store", file=sys.stderr)
        return 2
    if args.deployments is not None and args.store is None and named:
        print(
            f"llmdrift report: --source {sources[0]} brings its own deployments; "
            "--deployments goes with --store or OTLP sources",
            file=sys.stderr,
        )
        return 2
    if args.data is not None:
        problem = _data_problem(args.data, sources[0])
        if problem:
            print(f"llmdrift report: {problem}", file=sys.stderr)
            return 2
    out = Path(args.out)
    if out.is_dir() or not out.parent.is_dir():
        print(
            f"llmdrift report: cannot write {args.out}: "
            + (
                "it is a folder; give a file name such as incident.html"
                if out.is_dir()
                else f"folder {str(out.parent)!r} does not exist; create it first"
            ),
            file=sys.stderr,
        )
        return 2
    given = None
    if args.deployments is not None:
        # the file first, and its errors as they are: they name the file, the
        # column and row, and the form accepted (not the store)
        from llmdrift.commands._options import InputError
        from llmdrift.commands.alerts import _read_table

        try:
            given = _read_table(args.deployments, "deployments")
        except InputError as err:
            print(f"llmdrift report: {err}", file=sys.stderr)
            return 2
    try:
        if args.store is not None:
            spans, scores, contents, deployments = _from_store(
                args.store, args.contents_store
            )
        else:
            data = load_source(sources[0] if named else sources, path=args.data)
            spans, scores = data.spans, data.scores
            contents, deployments = data.contents, data.deployments
        if given is not None:
            deployments = given
    except (FileNotFoundError, ValueError, ImportError) as err:
        where = args.store if args.store is not None else sources
        print(f"llmdrift report: cannot load {where}: {err}", file=sys.stderr)
        return 2
    where_from = args.store if args.store is not None else sources
    if len(spans) == 0 or len(scores) == 0:
        what = "spans" if len(spans) == 0 else "scores"
        print(
            f"llmdrift report: no {what} loaded from "
            f"{args.store if args.store is not None else sources}; nothing to report",
            file=sys.stderr,
        )
        return 2
    try:
        incident = llmdrift.investigate(spans, scores, deployments, contents=contents)
    except ValueError as err:  # SchemaError included: data the analysis refuses
        print(
            f"llmdrift report: cannot investigate {where_from}: {err}", file=sys.stderr
        )
        return 2
    if args.include_contents and (contents is None or len(contents) == 0):
        print(_no_contents_note(args, sources), file=sys.stderr)
    incident_report(incident, args.out, include_contents=args.include_contents)
    print(f"wrote {args.out}")
    return 0
