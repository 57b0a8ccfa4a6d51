"""``llmdrift alerts``: evaluate the alert rules over spans and scores.

Reads spans and scores from files (``--spans`` OTLP/JSON or Parquet,
``--scores`` Parquet or CSV), from a span store (``--store``), or the demo
(``--source demo``), runs :func:`llmdrift.evaluate_alerts` and prints the
alerts as a table or as JSON (``--json``). The exit code is for cron and CI:

- 0: no alert fired;
- 1: at least one alert fired;
- 2: bad input (a missing file or column, naive times, a bad or empty rule
  table, every rule disabled, a store that cannot be opened, a
  ``--since``/``--until`` window that holds no data, data on which no
  enabled rule can be evaluated), with a message on stderr naming what is
  wrong and how to fix it; also an unexpected error (a bug), as one line
  asking to report it (``--debug`` or ``LLMDRIFT_DEBUG=1`` adds the
  traceback), so 1 always means "alerts fired".

A rule that cannot be evaluated (its columns are absent, or the history is
shorter than its baseline) is listed as "not evaluated" with the reason;
when no alert fired the first line then reads "no alerts from the rules
that ran: ..." rather than "no alerts". A rule that ran for some groups
only (an intent added 10 days ago, say) is listed as "partly evaluated".

The default rules watch judge scores (``quality_drop``, ``cost_per_quality``);
``--score-kind heuristic`` (or ``all``) makes them watch the heuristic checks
that ``llmdrift ingest`` stores. When the scores hold no judge scores and the
option is not given, a note on stderr says so.

Known shortcomings: with ``--store`` the span columns the rules use are
read into pandas (prompt-hash changes and flag counts are computed in
pandas), so memory grows with the history; a store holds no deployments,
so pass ``--deployments`` or every prompt change counts as unannounced.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="llmdrift")
>>> add_parser(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["alerts", "--source", "demo", "--json"])
>>> args.source, args.json, args.disable, args.score_kind, args.debug
('demo', True, [], None, False)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from llmdrift.commands._options import InputError, time_range, time_zone

__all__ = ["add_parser", "load_inputs", "format_table", "SCORE_KINDS"]

# --score-kind value -> the rules' ``kind`` cell (None: every kind)
SCORE_KINDS = {"judge": "judge", "heuristic": "heuristic", "all": None}
# the rules that read the scores frame (and so its kind)
_SCORE_RULES = ("quality_drop", "cost_per_quality")

_SPAN_COLUMNS = (
    "span_id",
    "trace_id",
    "start_time",
    "service",
    "intent",
    "span_kind",
    "prompt_hash",
    "prompt_version",
    "flagged",
    "retrieval_score",
    "cost_usd",
    "status",
)


def add_parser(subparsers) -> None:
    """Register the ``alerts`` subcommand on an argparse ``subparsers``."""
    parser = subparsers.add_parser(
        "alerts",
        help="evaluate the alert rules; exit 1 when any fires",
        description=(
            "Evaluate the alert rules (quality drop, unannounced prompt-hash "
            "change, retrieval drop, hallucination spike, cost per quality) over "
            "a history of spans and scores. Exit 0: no alert; 1: alerts fired; "
            "2: bad input."
        ),
    )
    source = parser.add_argument_group("input (one of)")
    source.add_argument(
        "--source",
        choices=["demo"],
        help="the built-in demo scenario (data/demo if written, else generated)",
    )
    source.add_argument(
        "--spans",
        nargs="+",
        metavar="PATH",
        help="spans: Parquet file(s), or OTLP/JSON files, folders or globs",
    )
    source.add_argument(
        "--store", metavar="PATH", help="a span store (see llmdrift ingest)"
    )
    parser.add_argument(
        "--scores", metavar="PATH", help="scores: Parquet or CSV (with --spans)"
    )
    parser.add_argument(
        "--deployments",
        metavar="PATH",
        help="deployments: Parquet or CSV; without it every prompt change is "
        "unannounced",
    )
    parser.add_argument(
        "--rules",
        metavar="PATH",
        help="a rule table (CSV or JSON) in the layout of default_rules()",
    )
    parser.add_argument(
        "--score-kind",
        choices=sorted(SCORE_KINDS),
        default=None,
        help="scores the default quality_drop and cost_per_quality rules watch: "
        "judge (default), heuristic (the checks llmdrift ingest stores; those "
        "where higher is worse, such as looks_like_refusal, are left out, as the "
        "rules watch drops) or all",
    )
    parser.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="RULE",
        help="skip a rule (repeatable), e.g. --disable cost_per_quality",
    )
    parser.add_argument("--tz", default="UTC", help="time zone of the daily windows")
    parser.add_argument(
        "--since",
        metavar="TIME",
        help="report only alerts at or after this ISO time, e.g. "
        "2024-06-01T00:00Z (UTC unless it says; history before it still sets "
        "the baselines)",
    )
    parser.add_argument(
        "--until",
        metavar="TIME",
        help="report only alerts before this ISO time, e.g. 2024-06-08T00:00Z",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an unexpected error, print the traceback (also LLMDRIFT_DEBUG=1)",
    )
    parser.set_defaults(func=_main)


def _read_table(path, what):
    import pandas as pd

    file = Path(path)
    if not file.is_file():
        raise InputError(f"{what} file {str(path)!r} does not exist.")
    suffix = "".join(file.suffixes[-2:]).lower()
    if suffix.endswith(".parquet"):
        frame = pd.read_parquet(file)
    elif suffix.endswith(".csv") or suffix.endswith(".csv.gz"):
        frame = pd.read_csv(file)
        for column in ("time", "start_time"):
            if column in frame.columns:
                frame[column] = pd.to_datetime(frame[column], format="ISO8601")
        for column in frame.columns:
            if frame[column].dtype == object:
                frame[column] = frame[column].astype("string")
    else:
        raise InputError(
            f"{what} file {str(path)!r}: unknown format; use .parquet or .csv."
        )
    return frame


def _read_spans(paths):
    import pandas as pd

    if all(str(p).lower().endswith(".parquet") for p in paths):
        for p in paths:
            if not Path(p).is_file():
                raise InputError(f"spans file {str(p)!r} does not exist.")
        return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    from llmdrift.ingest import read_otlp

    try:
        return read_otlp(list(paths))
    except FileNotFoundError as exc:
        raise InputError(f"spans: {exc}") from None


def _from_store(path, extra_columns=()):
    try:
        from llmdrift.store import load_from_store, open_store
    except ImportError:
        raise InputError(
            "--store needs llmdrift.store, which this installation lacks; read "
            "files with --spans/--scores instead."
        ) from None
    if "://" not in str(path) and not Path(path).exists():
        raise InputError(
            f"store {str(path)!r} does not exist; create it with "
            "`llmdrift ingest FILES --store PATH`."
        )
    # read-only: several readers (alerts, report) may share one DuckDB file;
    # a corrupt or locked file is a ValueError naming it (exit 2)
    store = open_store(path, read_only=True)
    try:
        if not store.has_table("spans"):
            raise InputError(f"store {str(path)!r} holds no spans yet.")
        # the rules need span-level rows (hash changes, flags) in pandas: read
        # only the span columns they use (and the rules' group columns)
        present = set(store.table("spans").columns)
        wanted = list(dict.fromkeys([*_SPAN_COLUMNS, *extra_columns]))
        columns = {"spans": [c for c in wanted if c in present]}
        frames = load_from_store(store, tables=("spans", "scores"), columns=columns)
    except Exception as exc:
        # the engine's own errors (a damaged table, say) are bad input too
        if type(exc).__module__.split(".")[0].lstrip("_") not in ("duckdb", "ibis"):
            raise
        raise InputError(f"store {str(path)!r} could not be read: {exc}") from None
    finally:
        store.close()
    return frames["spans"], frames["scores"], None


def load_inputs(args, rules=None):
    """The spans, scores and deployments frames named by parsed arguments.

    Returns
    -------
    tuple
        ``(spans, scores, deployments)``; deployments may be None.

    Raises
    ------
    InputError
        When no or several sources are given, or a file is missing.
    """
    chosen = [a for a in ("source", "spans", "store") if getattr(args, a)]
    if len(chosen) != 1:
        raise InputError(
            "give exactly one input: --source demo, --spans FILES --scores FILE, "
            f"or --store PATH (got {chosen or 'none'})."
        )
    deployments = None
    if args.source == "demo":
        from llmdrift.datasets import load_demo

        folder = Path("data/demo")
        demo = load_demo(path=folder if folder.is_dir() else None)
        spans, scores, deployments = demo.spans, demo.scores, demo.deployments
    elif args.store:
        by = set()
        if rules is not None and "by" in rules.columns:
            for cell in rules["by"].dropna():
                by.update(c.strip() for c in str(cell).split(",") if c.strip())
        spans, scores, deployments = _from_store(args.store, sorted(by))
    else:
        if not args.scores:
            raise InputError("--spans needs --scores FILE (Parquet or CSV).")
        spans = _read_spans(args.spans)
        scores = _read_table(args.scores, "scores")
    if args.deployments:
        deployments = _read_table(args.deployments, "deployments")
    return spans, scores, deployments


def _read_rules(path):
    """The rule table in a CSV or JSON file, checked; errors name the file."""
    import pandas as pd

    from llmdrift.alerts import RULE_COLUMNS, _check_rules

    file = Path(path)
    if not file.is_file():
        raise InputError(f"rules file {str(path)!r} does not exist.")
    hint = (
        'write the default table with `python -c "import llmdrift; '
        "llmdrift.default_rules().to_csv('rules.csv', index=False)\"` and edit it"
    )
    try:
        if file.suffix.lower() == ".json":
            rules = pd.DataFrame(json.loads(file.read_text(encoding="utf-8")))
        else:
            # enabled as text: true/false, 1/0 and yes/no all read alike
            rules = pd.read_csv(file, dtype={"enabled": "string"})
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(
            f"rules file {str(path)!r} is not a CSV or JSON table ({exc}); {hint}."
        ) from None
    if len(rules) == 0:
        raise InputError(
            f"rules file {str(path)!r} holds no rules (no rows below the header); "
            f"list at least one rule, or leave --rules out for the default rules; "
            f"{hint}."
        )
    needed = ("rule", "enabled", "first_action")
    missing = [c for c in needed if c not in rules.columns]
    if missing:
        raise InputError(
            f"rules file {str(path)!r} lacks column(s) {missing} (it has "
            f"{list(rules.columns)[:12]}); a rule table needs {list(needed)} and "
            f"may set any of {list(RULE_COLUMNS)}; {hint}."
        )
    rules = rules.copy()
    rules["enabled"] = [
        _yes_no(value, name, i, path)
        for i, (value, name) in enumerate(
            zip(rules["enabled"], rules["rule"], strict=True)
        )
    ]
    try:
        return _check_rules(rules)
    except (ValueError, TypeError) as exc:
        raise InputError(f"rules file {str(path)!r}: {exc}") from None


_YES = ("true", "1", "yes")
_NO = ("false", "0", "no")


def _yes_no(value, rule, row, path) -> bool:
    """A rules file's ``enabled`` cell as a bool: true/false, 1/0 or yes/no in
    any case (JSON true/false and 1/0 too); anything else names the rule.

    Examples
    --------
    >>> [_yes_no(v, "quality_drop", 0, "r.csv") for v in ("TRUE", "0", "Yes", 1)]
    [True, False, True, True]
    """
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    text = value.strip().lower() if isinstance(value, str) else None
    if text in _YES:
        return True
    if text in _NO:
        return False
    import pandas as pd

    who = f"rule {rule!r}" if isinstance(rule, str) else f"row {row + 1}"
    given = (
        "is empty"
        if value is None or value is pd.NA or value != value
        else (f"is {value!r}")
    )
    raise InputError(
        f"rules file {str(path)!r}: {who}: enabled {given}; write true or false "
        "(1/0 and yes/no, in any case, also work)"
    )


def _rules(args):
    from llmdrift.alerts import default_rules

    if args.rules and args.score_kind:
        raise InputError(
            f"--score-kind applies to the default rules; with --rules "
            f"{args.rules!r} set the 'kind' column of quality_drop and "
            "cost_per_quality in that file instead."
        )
    rules = _read_rules(args.rules) if args.rules else default_rules()
    if args.score_kind:
        rules = rules.copy()
        rules["kind"] = rules["kind"].astype(object)
        watch = rules["rule"].isin(_SCORE_RULES)
        rules.loc[watch, "kind"] = SCORE_KINDS[args.score_kind]
    unknown = sorted(set(args.disable) - set(rules["rule"]))
    if unknown:
        raise InputError(
            f"--disable {unknown}: no such rule; rules: {list(rules['rule'])}."
        )
    rules = rules.copy()
    rules.loc[rules["rule"].isin(args.disable), "enabled"] = False
    if not rules["enabled"].astype(bool).any():
        # nothing would be checked: say so before reading any data
        how = "--disable" if args.disable else ""
        if args.rules:
            how = f"{how} and " if how else ""
            how += f"the 'enabled' column of {args.rules!r}"
        raise InputError(
            f"every alert rule is disabled (by {how}): rules "
            f"{list(rules['rule'])}; enable at least one"
        )
    return rules


def format_table(alerts) -> str:
    """Alerts as a plain-text table, each followed by its evidence and action.

    Examples
    --------
    >>> import pandas as pd
    >>> from llmdrift.alerts import ALERT_COLUMNS
    >>> print(format_table(pd.DataFrame(columns=list(ALERT_COLUMNS))))
    no alerts
    """
    if len(alerts) == 0:
        return "no alerts"
    lines = []
    for i, row in enumerate(alerts.itertuples(index=False), start=1):
        size = ""
        if row.observed == row.observed and row.baseline == row.baseline:
            size = f" {row.observed:.4g} vs baseline {row.baseline:.4g}"
            if row.change_pct == row.change_pct:
                size += f" ({row.change_pct:+.1%})"
        lines.append(
            f"[{i}] {row.time:%Y-%m-%d %H:%M} UTC  {row.rule}  {row.group}  "
            f"{row.dimension}{size}"
        )
        lines.append(f"    evidence: {row.evidence}")
        lines.append(f"    first action: {row.first_action}")
    return "\n".join(lines)


def _to_json(alerts, status) -> str:
    records = []
    for row in alerts.to_dict(orient="records"):
        out = {}
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                value = value.isoformat() if value == value else None
            elif isinstance(value, float) and value != value:
                value = None
            out[key] = value
        records.append(out)
    return json.dumps(
        {"alerts": records, "status": status.to_dict(orient="records")}, indent=2
    )


def _window_label(since, until) -> str:
    if since is not None and until is not None:
        return (
            f"--since {since:%Y-%m-%d %H:%M} UTC to --until {until:%Y-%m-%d %H:%M} UTC"
        )
    if since is not None:
        return f"from --since {since:%Y-%m-%d %H:%M} UTC on"
    return f"before --until {until:%Y-%m-%d %H:%M} UTC"


def _check_window(spans, since, until) -> None:
    """Refuse a --since/--until window without spans ("no alerts" would mislead)."""
    import pandas as pd

    if since is None and until is None or "start_time" not in spans.columns:
        return
    times = spans["start_time"]
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        return  # evaluate_alerts names the column and the fix
    times = times.dropna()
    if times.empty:
        return
    inside = pd.Series(True, index=times.index)
    if since is not None:
        inside &= times >= since
    if until is not None:
        inside &= times < until
    if not inside.any():
        lo, hi = times.min().tz_convert("UTC"), times.max().tz_convert("UTC")
        raise InputError(
            f"the window {_window_label(since, until)} holds no data: the spans "
            f"run from {lo:%Y-%m-%d %H:%M} to {hi:%Y-%m-%d %H:%M} UTC; give "
            "--since/--until within that range"
        )


def _watch_kind(rules, scores, score_kind):
    """With --score-kind heuristic or all, the score rules watch the dimensions
    of those kinds where higher is better (they watch drops only)."""
    from llmdrift.checks import default_checks

    if score_kind not in ("heuristic", "all"):
        return rules
    worse = sorted(
        c.score_dimension for c in default_checks() if not c.higher_is_better
    )
    kind = SCORE_KINDS[score_kind]
    chosen = scores if kind is None else scores[scores["kind"] == kind]
    present = set(chosen["dimension"].dropna().astype(str))
    dims = sorted(present - set(worse))
    if not present:
        return rules  # the rules' status says there are none
    if not dims:
        raise InputError(
            f"--score-kind {score_kind}: the scores hold only {sorted(present)}, "
            f"where higher is worse ({worse}); the rules watch drops, so they have "
            "nothing to watch; give judge scores or a check where higher is better"
        )
    rules = rules.copy()
    rules["dimension"] = rules["dimension"].astype(object)
    empty = rules["dimension"].isna()
    rules.loc[rules["rule"].isin(_SCORE_RULES) & empty, "dimension"] = ",".join(dims)
    return rules


def _kind_note(args, rules, scores) -> str | None:
    """One line when the score rules watch judge scores that the data lacks."""
    if args.score_kind or args.rules or len(scores) == 0:
        return None
    watching = rules[rules["rule"].isin(_SCORE_RULES) & rules["enabled"].astype(bool)]
    if watching.empty or (scores["kind"] == "judge").any():
        return None
    kinds = sorted(map(str, scores["kind"].dropna().unique()))
    switch = "heuristic" if "heuristic" in kinds else "all"
    return (
        f"llmdrift alerts: note: the scores hold no judge scores (only {kinds}), "
        f"so {' and '.join(watching['rule'])}, which watch judge scores by "
        f"default, do not run; add --score-kind {switch} to watch the "
        f"{'heuristic checks' if switch == 'heuristic' else 'scores there are'}"
    )


def _main(args) -> int:
    import warnings

    import pandas as pd

    from llmdrift.alerts import evaluate_alerts
    from llmdrift.schema import LlmdriftWarning, SchemaError

    try:
        # options first: a typo should not wait for the data to load
        since, until = time_range(args.since, args.until)
        tz = time_zone(args.tz)
        rules = _rules(args)
        spans, scores, deployments = load_inputs(args, rules)
        _check_window(spans, since, until)
        if "kind" in scores.columns and "dimension" in scores.columns:
            rules = _watch_kind(rules, scores, args.score_kind)
            note = _kind_note(args, rules, scores)
        else:
            note = None  # evaluate_alerts names the missing column
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LlmdriftWarning)
            alerts = evaluate_alerts(spans, scores, deployments, rules, tz=tz)
        status = alerts.attrs["status"]
        if since is not None:
            alerts = alerts[alerts["time"] >= since]
        if until is not None:
            alerts = alerts[alerts["time"] < until]
        alerts = alerts.reset_index(drop=True)
    except (SchemaError, ValueError, TypeError, KeyError, OSError, ImportError) as exc:
        print(f"llmdrift alerts: error: {exc}", file=sys.stderr)
        return 2
    if note:
        print(note, file=sys.stderr)
    # count the alerts shown, not those of the whole history
    shown = alerts["rule"].value_counts()
    status = pd.DataFrame(status, columns=["rule", "status", "n_alerts", "detail"])
    status["n_alerts"] = [int(shown.get(rule, 0)) for rule in status["rule"]]
    ran = status["status"] == "ran"
    if len(alerts) == 0 and not ran.any():
        # nothing was checked: "no alerts" would read as "all is well"
        print(_nothing_ran(status), file=sys.stderr)
        return 2
    if args.json:
        print(_to_json(alerts, status))
    else:
        skipped = ~ran & (status["status"] != "disabled")
        if len(alerts) == 0 and skipped.any():
            print(
                f"no alerts from the rules that ran: {', '.join(status['rule'][ran])}"
            )
        else:
            print(format_table(alerts))
        for row in status.itertuples(index=False):
            if row.status not in ("ran", "disabled"):
                print(f"not evaluated: {row.rule} ({row.status})")
            elif row.detail:
                print(f"partly evaluated: {row.rule}: {row.detail}")
    return 1 if len(alerts) else 0


def _nothing_ran(status) -> str:
    """The error when no enabled rule could be evaluated, with each reason."""
    tried = status[status["status"] != "disabled"]
    lines = ["llmdrift alerts: error: no alert rule could run on this data:"]
    lines += [f"  {row.rule}: {row.status}" for row in tried.itertuples(index=False)]
    fixes = []
    if tried["status"].str.startswith("not enough history").any():
        fixes.append("a longer history (more days of spans and scores)")
    if tried["status"].str.startswith("no ").any():
        fixes.append(
            "the data the rules read: scores (llmdrift ingest scores the answers "
            "with the heuristic checks; see --score-kind), prompt hashes, flags "
            "or costs"
        )
    if fixes:
        lines.append("  give " + ", or ".join(fixes))
    return "\n".join(lines)
