"""``llmdrift alerts``: evaluate the alert rules over spans and scores.

Reads spans and scores from files (``--spans`` OTLP/JSON or Parquet,
``--scores`` Parquet or CSV), from a span store (``--store``), or the demo
(``--source demo``), runs :func:`llmdrift.evaluate_alerts` and prints the
alerts as a table or as JSON (``--json``). The exit code is for cron and CI:

- 0: no alert fired;
- 1: at least one alert fired;
- 2: bad input (a missing, empty or unreadable file, a missing column, a
  time in a file that is not ISO 8601 with a zone or is empty, no span read
  from ``--spans``, a bad or empty rule table, every rule disabled, a store
  that cannot be opened or holds no spans, a ``--since``/``--until`` window
  that holds no data, data on which no enabled rule can be evaluated), with a message on stderr naming what is
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
import re
import sys
from pathlib import Path

from llmdrift.commands._options import (
    InputError,
    reading_store,
    time_range,
    time_zone,
)

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


# columns read as text from a CSV file (a version "1.0" stays "1.0", a span
# id "0001" stays "0001")
_TEXT_COLUMNS = (
    "span_id",
    "trace_id",
    "parent_span_id",
    "service",
    "version",
    "note",
    "intent",
    "dimension",
    "scorer",
    "kind",
    "scorer_version",
    "error",
    "prompt_hash",
    "prompt_version",
)
_TIME_COLUMNS = ("time", "start_time")
TIME_FORM = "ISO 8601 with a zone, e.g. 2026-02-20T06:00Z or 2026-02-20T07:00+01:00"
_DATE = r"\d{4}-\d{2}-\d{2}"
_CLOCK = r"(?:[T ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?)?"
_ZONE = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)"
# the columns of each table, for the messages
_NEEDED = {
    "scores": "span_id, time, dimension, value, scorer, kind",
    "deployments": "time, service (and optionally version, note)",
}


def _read_table(path, what):
    """A scores or deployments table from a Parquet or CSV file.

    Text columns of a CSV file are read as text; times must be ISO 8601 with
    a zone (offsets may differ from row to row; they are converted to UTC),
    or tz-aware times in a Parquet file. Every error names the file, the
    column and row at fault, and what is accepted.
    """
    import pandas as pd

    file = Path(path)
    name = f"{what} file {str(path)!r}"
    if not file.is_file():
        raise InputError(f"{name} does not exist.")
    suffix = "".join(file.suffixes[-2:]).lower()
    needed = _NEEDED.get(what, "a header row")
    if suffix.endswith(".parquet"):
        try:
            frame = pd.read_parquet(file)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds
            raise InputError(
                f"{name} is not a readable Parquet file ({type(exc).__name__}: "
                f"{exc}); write it with DataFrame.to_parquet, or give a CSV file "
                f"with the columns {needed}, times in {TIME_FORM}"
            ) from None
        rows = "row {}"
    elif suffix.endswith(".csv") or suffix.endswith(".csv.gz"):
        text = {c: "string" for c in (*_TEXT_COLUMNS, *_TIME_COLUMNS)}
        try:
            frame = pd.read_csv(file, dtype=text)
        except pd.errors.EmptyDataError:
            alone = " (a header alone: no deployments)" if what == "deployments" else ""
            raise InputError(
                f"{name} is empty (not even a header row); a {what} file has a "
                f"header row with the columns {needed}{alone}, times in {TIME_FORM}"
            ) from None
        except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
            raise InputError(
                f"{name} is not a CSV table ({exc}); give a CSV file with a header "
                f"row and the columns {needed}"
            ) from None
        # row 1 is on line 2, below the header
        rows = "row {} (line {})"
    else:
        raise InputError(f"{name}: unknown format; use .parquet or .csv.")
    for column in _TIME_COLUMNS:
        if column in frame.columns:
            frame[column] = _times(frame[column], name, column, rows)
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype("string")
    return frame


def _times(values, name, column, rows):
    """A file's time column as UTC times: ISO 8601 text with a zone (offsets
    may differ from row to row), or tz-aware times in a Parquet file; an
    empty column is an empty time column (a header-only file)."""
    import pandas as pd

    def where(i):
        return rows.format(i + 1, i + 2)

    fix = f"write times in {TIME_FORM}"
    if len(values) == 0:
        return pd.Series([], index=values.index, dtype="datetime64[ns, UTC]")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        times = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        raise InputError(
            f"{name}: column {column!r} holds times without a time zone (e.g. "
            f"{values.dropna().iloc[0] if values.notna().any() else 'NaT'}); "
            f"llmdrift does not guess zones: store tz-aware times, or {fix}"
        )
    elif pd.api.types.is_numeric_dtype(values.dtype):
        raise InputError(
            f"{name}: column {column!r} holds numbers (e.g. {values.iloc[0]!r}: "
            f"epoch seconds?), not times; {fix}"
        )
    else:
        times = _parse_times(values, name, column, where, fix)
    empty = times.isna().to_numpy()
    if empty.any():
        i = int(empty.argmax())
        raise InputError(
            f"{name}: column {column!r} is empty in {where(i)}; every row needs its "
            f"time, in {TIME_FORM}"
        )
    return times


def _parse_times(values, name, column, where, fix):
    """ISO 8601 text with a zone as UTC times (empty cells NaT)."""
    import pandas as pd

    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    given = text.notna().to_numpy()
    zoned = text.str.fullmatch(_DATE + _CLOCK + _ZONE).fillna(False).to_numpy(bool)
    wrong = given & ~zoned
    if wrong.any():
        i = int(wrong.argmax())
        value = text.iloc[i]
        if re.fullmatch(_DATE + _CLOCK, value):
            why = "has no time zone (llmdrift does not guess zones)"
        elif re.fullmatch(r"[+-]?\d+(?:\.\d*)?", value):
            why = "is a number (epoch seconds?), not an ISO 8601 time"
        else:
            why = "is not an ISO 8601 time"
        more = int(wrong.sum()) - 1
        also = f" ({more} more row(s) like it)" if more else ""
        raise InputError(
            f"{name}: column {column!r}, {where(i)}: {value!r} {why}{also}; {fix}"
        )
    # a date with a zone ('2026-02-20Z') is its midnight, as everywhere else
    from llmdrift.investigate import _midnight

    text = text.map(_midnight, na_action="ignore")
    times = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = given & times.isna().to_numpy()
    if bad.any():
        i = int(bad.argmax())
        raise InputError(
            f"{name}: column {column!r}, {where(i)}: {values.iloc[i]!r} is not a "
            f"valid time (a month, day or hour out of range?); {fix}"
        )
    return times


def _read_spans(paths):
    import warnings

    import pandas as pd

    problems = []
    if all(str(p).lower().endswith(".parquet") for p in paths):
        for p in paths:
            if not Path(p).is_file():
                raise InputError(f"spans file {str(p)!r} does not exist.")
        frames = []
        for p in paths:
            frame = pd.read_parquet(p)
            if "start_time" in frame.columns:
                where = f"spans file {str(p)!r}"
                frame["start_time"] = _times(
                    frame["start_time"], where, "start_time", "row {}"
                )
            frames.append(frame)
        spans = pd.concat(frames, ignore_index=True)
    else:
        from llmdrift.ingest import read_otlp

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                spans = read_otlp(list(paths))
            except FileNotFoundError as exc:
                raise InputError(f"spans: {exc}") from None
        problems = [str(w.message) for w in caught]
        if len(spans):
            # spans were read: the warnings go on as they came
            for w in caught:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if len(spans) == 0:
        # no span, no group: every score would be left out of every rule
        listed = " ".join(map(str, paths))
        # read_otlp's own warning, less its closing "Nothing was loaded; ..."
        why = f" ({problems[0].split(' Nothing was loaded')[0]})" if problems else ""
        raise InputError(
            f"no span was read from --spans {listed}{why}; give OTLP/JSON files "
            "or Parquet files of spans there (the scores go to --scores)"
        )
    return spans


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
        with reading_store(path):
            if not store.has_table("spans"):
                raise InputError(f"store {str(path)!r} holds no spans yet.")
            # the rules need span-level rows (hash changes, flags) in pandas: read
            # only the span columns they use (and the rules' group columns)
            present = set(store.table("spans").columns)
            wanted = list(dict.fromkeys([*_SPAN_COLUMNS, *extra_columns]))
            columns = {"spans": [c for c in wanted if c in present]}
            frames = load_from_store(store, tables=("spans", "scores"), columns=columns)
    finally:
        store.close()
    if len(frames["spans"]) == 0:
        # no span, no group: every score would be left out of every rule
        raise InputError(
            f"store {str(path)!r} holds no spans; load traces with `llmdrift "
            "ingest FILES --store PATH`"
        )
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
            # utf-8-sig: a byte-order mark is read past, as in a CSV file
            rules = _json_rules(json.loads(file.read_text(encoding="utf-8-sig")))
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


def _json_rules(data):
    """A rules file's JSON as a frame: a list of rule objects, a single rule
    object, or an object of columns (``DataFrame.to_json()``'s layout)."""
    import pandas as pd

    if isinstance(data, dict):
        if data and all(isinstance(v, (list, dict)) for v in data.values()):
            return pd.DataFrame(data)  # columns: {"rule": [...], ...}
        return pd.DataFrame([data])  # one rule
    if isinstance(data, list):
        return pd.DataFrame(data)
    raise ValueError(
        f"it holds a JSON {type(data).__name__} ({data!r:.40}), not rules; write a "
        'list of rule objects, e.g. [{"rule": "quality_drop", "enabled": true, '
        '"first_action": "..."}]'
    )


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
        action = row.first_action
        if not isinstance(action, str) or not action.strip():
            action = "(none in the rule table)"
        lines.append(f"    first action: {action}")
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
        f"so the rule(s) {', '.join(watching['rule'])}, watching judge scores by "
        f"default, did not run; add --score-kind {switch} to watch the "
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
