"""``llmdrift alerts``: exit codes for cron/CI, table and JSON output, inputs."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from llmdrift.cli import main


@pytest.fixture(scope="module")
def small_demo():
    from llmdrift.datasets.demo import load_demo

    return load_demo(days=56, requests_per_day=1500)


@pytest.fixture(scope="module")
def demo_files(small_demo, tmp_path_factory):
    from llmdrift.datasets.demo import write_demo

    folder = tmp_path_factory.mktemp("demo")
    write_demo(folder, small_demo)
    return folder


def _quiet_files(tmp_path, days=35):
    """A steady history: no rule can fire."""
    rng = np.random.default_rng(0)
    t0 = pd.Timestamp("2026-01-05", tz="UTC")
    n = days * 50
    times = t0 + pd.to_timedelta(np.sort(rng.uniform(0, days * 86400, n)), unit="s")
    ids = pd.array([f"{i:016x}" for i in range(n)], dtype="string")
    spans = pd.DataFrame(
        {
            "span_id": ids,
            "trace_id": ids,
            "start_time": times,
            "service": pd.array(["api"] * n, dtype="string"),
            "intent": pd.array(["a"] * n, dtype="string"),
            "prompt_hash": pd.array(["h1"] * n, dtype="string"),
        }
    )
    scores = pd.DataFrame(
        {
            "span_id": ids,
            "time": times,
            "dimension": pd.array(["format"] * n, dtype="string"),
            "value": rng.choice([3.0, 4.0, 5.0], n),
            "scorer": pd.array(["judge-1"] * n, dtype="string"),
            "kind": pd.array(["judge"] * n, dtype="string"),
        }
    )
    spans.to_parquet(tmp_path / "spans.parquet")
    scores.to_parquet(tmp_path / "scores.parquet")
    return spans, scores


def _files(folder, *, deployments=False) -> list[str]:
    """``--spans``/``--scores`` (and ``--deployments``) options for a folder."""
    options = [
        "--spans",
        str(folder / "spans.parquet"),
        "--scores",
        str(folder / "scores.parquet"),
    ]
    if deployments:
        options += ["--deployments", str(folder / "deployments.parquet")]
    return options


@pytest.fixture
def run_alerts(capsys):
    """Run ``llmdrift alerts OPTIONS``; the exit code, stdout and stderr."""

    def run(*options):
        code = main(["alerts", *(str(o) for o in options)])
        captured = capsys.readouterr()
        return SimpleNamespace(code=code, out=captured.out, err=captured.err)

    return run


def test_demo_files_fire_and_exit_1(demo_files, small_demo, run_alerts):
    result = run_alerts(*_files(demo_files, deployments=True), "--json")
    assert result.code == 1
    out = json.loads(result.out)
    rules = {a["rule"] for a in out["alerts"]}
    assert "prompt_hash_change" in rules
    hash_alert = next(a for a in out["alerts"] if a["rule"] == "prompt_hash_change")
    assert small_demo.truth.new_hash in hash_alert["evidence"]
    assert pd.Timestamp(hash_alert["time"]) >= small_demo.truth.change_time
    assert {s["rule"] for s in out["status"]} >= {"quality_drop", "retrieval_drop"}


def test_source_demo_and_disable(monkeypatch, small_demo, tmp_path, run_alerts):
    import llmdrift.datasets

    monkeypatch.setattr(llmdrift.datasets, "load_demo", lambda path=None: small_demo)
    monkeypatch.chdir(tmp_path)  # no data/demo here
    result = run_alerts(
        "--source",
        "demo",
        "--disable",
        "prompt_hash_change",
        "--disable",
        "quality_drop",
        "--disable",
        "cost_per_quality",
    )
    assert result.code == 0
    out = result.out.strip().splitlines()
    # the rules that could not run are named, so "no alerts" is not read as
    # "all checked and well"
    assert out[0] == "no alerts from the rules that ran: hallucination_spike"
    assert out[1:] == ["not evaluated: retrieval_drop (no retrieval scores)"]


def test_quiet_history_exits_0_with_table(tmp_path, run_alerts):
    _quiet_files(tmp_path)
    result = run_alerts(*_files(tmp_path))
    assert result.code == 0
    out = result.out.strip().splitlines()
    assert (
        out[0] == "no alerts from the rules that ran: quality_drop, prompt_hash_change"
    )
    assert "not evaluated: cost_per_quality (no cost_usd in spans)" in out


def test_no_rule_able_to_run_exits_2(tmp_path, run_alerts):
    _quiet_files(tmp_path)
    result = run_alerts(
        *_files(tmp_path),
        "--disable",
        "quality_drop",
        "--disable",
        "prompt_hash_change",
    )
    assert result.code == 2
    assert "no alert rule could run" in result.err
    # only the error: a "no alerts" on stdout beside it contradicted it
    assert result.out == ""
    assert "  retrieval_drop: no retrieval_score column" in result.err.splitlines()


def test_since_filters_but_keeps_history(demo_files, small_demo, run_alerts):
    later = small_demo.truth.change_time + pd.Timedelta("3D")
    result = run_alerts(
        *_files(demo_files, deployments=True), "--since", later.isoformat(), "--json"
    )
    out = json.loads(result.out)
    assert all(pd.Timestamp(a["time"]) >= later for a in out["alerts"])
    assert result.code == (1 if out["alerts"] else 0)


def test_until_filters_and_keeps_history(demo_files, small_demo, run_alerts):
    everything = json.loads(
        run_alerts(*_files(demo_files, deployments=True), "--json").out
    )["alerts"]
    assert everything, "the demo's change must fire an alert"
    # a bound just after the first alert keeps exactly the alerts before it
    first = pd.Timestamp(everything[0]["time"])
    until = first + pd.Timedelta("1s")
    result = run_alerts(
        *_files(demo_files, deployments=True), "--until", until.isoformat(), "--json"
    )
    kept = json.loads(result.out)["alerts"]
    expected = [a for a in everything if pd.Timestamp(a["time"]) < until]
    assert kept == expected and len(kept) >= 1
    assert result.code == 1


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--since", "yesterday"], "--since"),
        (["--until", "today"], "--until"),
        (["--since", "1/2/2026"], "--since"),
    ],
)
def test_bad_time_option_exits_2_naming_option(tmp_path, run_alerts, options, named):
    _quiet_files(tmp_path)
    result = run_alerts(*_files(tmp_path), *options)
    assert result.code == 2
    assert (
        f"{named} must be an ISO time such as 2024-06-01T00:00Z, got "
        f"{options[1]!r}" in result.err
    )
    assert result.out == ""


def test_since_after_until_exits_2(tmp_path, run_alerts):
    _quiet_files(tmp_path)
    result = run_alerts(
        *_files(tmp_path), "--since", "2026-02-01", "--until", "2026-01-01T00:00Z"
    )
    assert result.code == 2
    assert "--since (2026-02-01 00:00 UTC) must be before --until" in result.err


def test_missing_file_exits_2(tmp_path, run_alerts):
    result = run_alerts(
        "--spans", tmp_path / "nope.parquet", "--scores", tmp_path / "nope2.parquet"
    )
    assert result.code == 2
    assert "nope.parquet" in result.err and "does not exist" in result.err


def test_naive_times_exit_2_with_fix(tmp_path, run_alerts):
    spans, scores = _quiet_files(tmp_path)
    scores = scores.assign(time=scores["time"].dt.tz_localize(None))
    scores.to_csv(tmp_path / "scores.csv", index=False)
    result = run_alerts(
        "--spans", tmp_path / "spans.parquet", "--scores", tmp_path / "scores.csv"
    )
    assert result.code == 2
    path = tmp_path / "scores.csv"
    first = scores["time"].iloc[0]
    assert result.err.startswith(
        f"llmdrift alerts: error: scores file {str(path)!r}: column 'time', row 1 "
        f"(line 2): '{first}' has no time zone (llmdrift does not guess zones) "
        f"({len(scores) - 1} more row(s) like it); write times in ISO 8601 with a "
        "zone, e.g. 2026-02-20T06:00Z"
    )


def test_no_input_and_bad_rule_exit_2(tmp_path, run_alerts):
    result = run_alerts()
    assert result.code == 2
    assert "exactly one input" in result.err
    _quiet_files(tmp_path)
    result = run_alerts(*_files(tmp_path), "--disable", "latency")
    assert result.code == 2
    assert "latency" in result.err


def test_rules_file(tmp_path, run_alerts):
    from llmdrift.alerts import default_rules

    _quiet_files(tmp_path)
    rules = default_rules()
    rules = rules[rules["rule"] == "quality_drop"]
    rules.to_json(tmp_path / "rules.json", orient="records")
    result = run_alerts(*_files(tmp_path), "--rules", tmp_path / "rules.json", "--json")
    assert result.code == 0
    status = json.loads(result.out)["status"]
    assert [s["rule"] for s in status] == ["quality_drop"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # L5: a table without the rule columns
        (b"a,b\n1,2\n", "lacks column(s) ['rule', 'enabled', 'first_action']"),
        (b"", "is not a CSV or JSON table"),
        (b"\xff\xfe\x00\x81", "is not a CSV or JSON table"),
        # a misspelt column would silently fall back to the default value
        (
            b"rule,enabled,first_action,treshold\nquality_drop,True,x,0.1\n",
            "unknown column(s) ['treshold']",
        ),
        (
            b"rule,enabled,first_action,threshold\nquality_drop,True,x,5\n",
            "threshold",
        ),
    ],
)
def test_bad_rules_file_exits_2_naming_file(tmp_path, run_alerts, content, expected):
    _quiet_files(tmp_path)
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = run_alerts(*_files(tmp_path), "--rules", path)
    assert result.code == 2
    assert f"rules file {str(path)!r}" in result.err
    assert expected in result.err
    assert result.out == ""


def test_rules_file_missing_column_names_needed_columns(tmp_path, run_alerts):
    _quiet_files(tmp_path)
    path = tmp_path / "rules.csv"
    path.write_text("rule,threshold\nquality_drop,0.1\n")
    result = run_alerts(*_files(tmp_path), "--rules", path)
    assert result.code == 2
    assert "lacks column(s) ['enabled', 'first_action']" in result.err
    assert "it has ['rule', 'threshold']" in result.err


def test_store_input(tmp_path, run_alerts):
    store_mod = pytest.importorskip("llmdrift.store")
    from llmdrift.schema import conform

    spans, scores = _quiet_files(tmp_path)
    spans = spans.assign(
        duration_ms=100.0, request_model=pd.array(["m"] * len(spans), dtype="string")
    )
    store = store_mod.open_store(tmp_path / "s.duckdb")
    store.append(spans=conform(spans, "spans"), scores=conform(scores, "scores"))
    store.close()
    result = run_alerts("--store", tmp_path / "s.duckdb", "--json")
    assert result.code == 0
    out = json.loads(result.out)
    assert out["alerts"] == []
    status = {s["rule"]: s["status"] for s in out["status"]}
    assert status["quality_drop"] == "ran"
    result = run_alerts("--store", tmp_path / "missing.duckdb")
    assert result.code == 2
    assert "does not exist" in result.err


def test_store_url_without_backend_exits_2(run_alerts):
    ibis = pytest.importorskip("ibis")
    try:
        ibis.postgres  # noqa: B018 (imports the backend's dependencies)
    except ImportError:
        pass
    else:
        pytest.skip("the postgres backend is installed here")
    result = run_alerts("--store", "postgres://nobody@localhost:1/x")
    assert result.code == 2
    assert "pip install 'ibis-framework[postgres]'" in result.err


# --------------------------------------------------------------------------
# trial T3: stores, windows, JSON counts, --tz, --score-kind


def _store(tmp_path, spans, scores, name="s.duckdb"):
    from llmdrift.schema import conform
    from llmdrift.store import open_store

    spans = spans.assign(
        duration_ms=100.0, request_model=pd.array(["m"] * len(spans), dtype="string")
    )
    path = tmp_path / name
    store = open_store(path)
    store.append(spans=conform(spans, "spans"), scores=conform(scores, "scores"))
    store.close()
    return path


def _hold_read_only(path):
    """A second process that keeps ``path`` open read-only until killed."""
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from llmdrift.store import open_store; "
            "s = open_store(sys.argv[1], read_only=True); "
            "print('ready', flush=True); time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "ready"
    return holder


def test_store_is_read_only_so_two_readers_share_it(tmp_path, run_alerts):
    """T3-15/T3-20: alerts opened the store for writing, so a second reader
    (another alerts or report run) failed on the DuckDB lock."""
    spans, scores = _quiet_files(tmp_path)
    path = _store(tmp_path, spans, scores)
    holder = _hold_read_only(path)
    try:
        result = run_alerts("--store", path, "--json")
    finally:
        holder.kill()
        holder.wait()
    assert result.code == 0, result.err
    assert json.loads(result.out)["alerts"] == []


def test_store_that_cannot_be_opened_exits_2_naming_it(tmp_path, run_alerts):
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"not a duckdb file at all" * 100)
    result = run_alerts("--store", corrupt)
    assert result.code == 2
    assert result.err.startswith("llmdrift alerts: error: ")
    assert "corrupt.duckdb" in result.err and "not a valid DuckDB" in result.err
    assert "Traceback" not in result.err and result.out == ""
    missing = tmp_path / "missing.duckdb"
    result = run_alerts("--store", missing)
    assert result.code == 2
    assert f"store {str(missing)!r} does not exist" in result.err
    assert "llmdrift ingest" in result.err
    assert not missing.exists()  # read-only: nothing created


def test_store_open_error_is_one_line_exit_2(tmp_path, run_alerts, monkeypatch):
    """Any ValueError of open_store (a lock, a closed store) is an error line."""
    import llmdrift.store

    seen = {}

    def refuse(path, **options):
        seen.update(options)
        raise ValueError(f"{path} is open in another process; close it there")

    monkeypatch.setattr(llmdrift.store, "open_store", refuse)
    spans, scores = _quiet_files(tmp_path)
    path = tmp_path / "s.duckdb"
    path.write_bytes(b"")
    result = run_alerts("--store", path)
    assert result.code == 2
    assert result.err == (
        f"llmdrift alerts: error: {path} is open in another process; close it there\n"
    )
    assert seen == {"read_only": True}


@pytest.mark.parametrize(
    ("options", "window"),
    [
        (["--since", "2027-01-01"], "from --since 2027-01-01 00:00 UTC on"),
        (["--until", "2025-12-01T00:00Z"], "before --until 2025-12-01 00:00 UTC"),
        (
            ["--since", "2025-11-01", "--until", "2025-12-01"],
            "--since 2025-11-01 00:00 UTC to --until 2025-12-01 00:00 UTC",
        ),
    ],
)
def test_window_without_data_exits_2_naming_window_and_range(
    tmp_path, run_alerts, options, window
):
    """T3-16: a window outside the data said "no alerts" and exited 0."""
    spans, _ = _quiet_files(tmp_path)
    result = run_alerts(*_files(tmp_path), *options)
    assert result.code == 2
    lo, hi = spans["start_time"].min(), spans["start_time"].max()
    assert (
        f"the window {window} holds no data: the spans run from "
        f"{lo:%Y-%m-%d %H:%M} to {hi:%Y-%m-%d %H:%M} UTC" in result.err
    )
    assert "no alerts" not in result.out


def test_json_counts_only_the_alerts_it_prints(demo_files, run_alerts):
    """T3-16: status n_alerts counted the whole history, not the --since range."""
    everything = json.loads(
        run_alerts(*_files(demo_files, deployments=True), "--json").out
    )
    assert len(everything["alerts"]) >= 2
    # after the first alert: that one is not printed, so not counted
    first = pd.Timestamp(everything["alerts"][0]["time"])
    result = run_alerts(
        *_files(demo_files, deployments=True),
        "--since",
        (first + pd.Timedelta("1s")).isoformat(),
        "--json",
    )
    out = json.loads(result.out)
    printed = pd.Series([a["rule"] for a in out["alerts"]]).value_counts()
    for row in out["status"]:
        assert row["n_alerts"] == printed.get(row["rule"], 0), row
    assert sum(r["n_alerts"] for r in out["status"]) == len(out["alerts"])
    assert len(out["alerts"]) < len(everything["alerts"])


def test_unknown_tz_exits_2_before_reading_data(tmp_path, run_alerts, monkeypatch):
    """T3-17: --tz was checked only after the data was read, as 'tz'."""
    import llmdrift.commands.alerts as command

    def never(*args, **kwargs):
        raise AssertionError("the data was read before --tz was checked")

    monkeypatch.setattr(command, "load_inputs", never)
    result = run_alerts("--spans", tmp_path / "s.parquet", "--tz", "Mars/Olympus")
    assert result.code == 2
    assert "--tz 'Mars/Olympus' is not a known IANA time zone" in result.err
    assert "Europe/Berlin" in result.err


def _heuristic_files(tmp_path, days=35):
    """Heuristic checks only (as llmdrift ingest stores): valid_json falls from
    95% to 60% in the last 4 days; looks_like_refusal falls from 10% to 0%
    (fewer refusals: better, so nothing to alert on)."""
    rng = np.random.default_rng(5)
    spans, _ = _quiet_files(tmp_path, days=days)
    late = (
        spans["start_time"] >= spans["start_time"].max() - pd.Timedelta("4D")
    ).to_numpy()
    n = len(spans)
    rows = []
    for dim, before, after in (
        ("valid_json", 0.95, 0.60),
        ("looks_like_refusal", 0.10, 0.0),
    ):
        rows.append(
            pd.DataFrame(
                {
                    "span_id": spans["span_id"],
                    "time": spans["start_time"],
                    "dimension": pd.array([dim] * n, dtype="string"),
                    "value": (rng.random(n) < np.where(late, after, before)) * 1.0,
                    "scorer": pd.array([dim] * n, dtype="string"),
                    "kind": pd.array(["heuristic"] * n, dtype="string"),
                }
            )
        )
    return spans, pd.concat(rows, ignore_index=True)


def test_score_kind_heuristic_watches_the_checks_of_an_ingested_store(
    tmp_path, run_alerts
):
    """Newcomer finding: on a store of heuristic checks only, quality_drop never
    ran (it watches judge scores), and nothing said so."""
    spans, scores = _heuristic_files(tmp_path)
    path = _store(tmp_path, spans, scores)
    quiet = run_alerts("--store", path, "--json")
    assert quiet.code == 0
    status = {s["rule"]: s["status"] for s in json.loads(quiet.out)["status"]}
    assert status["quality_drop"].startswith("no judge scores")
    note = [line for line in quiet.err.splitlines() if "note:" in line]
    assert note == [
        "llmdrift alerts: note: the scores hold no judge scores (only "
        "['heuristic']), so the rule(s) quality_drop, cost_per_quality, watching "
        "judge scores by default, did not run; add --score-kind heuristic to watch the "
        "heuristic checks"
    ]
    result = run_alerts("--store", path, "--score-kind", "heuristic", "--json")
    assert result.code == 1, result.err
    out = json.loads(result.out)
    drops = [a for a in out["alerts"] if a["rule"] == "quality_drop"]
    assert drops and {a["dimension"] for a in drops} == {"valid_json"}
    assert "note:" not in result.err
    # all kinds: the same here, as there are only heuristic scores
    result = run_alerts("--store", path, "--score-kind", "all", "--json")
    assert {a["dimension"] for a in json.loads(result.out)["alerts"]} == {"valid_json"}


def test_score_kind_with_rules_file_exits_2(tmp_path, run_alerts):
    from llmdrift.alerts import default_rules

    _quiet_files(tmp_path)
    default_rules().to_csv(tmp_path / "rules.csv", index=False)
    result = run_alerts(
        *_files(tmp_path), "--rules", tmp_path / "rules.csv", "--score-kind", "all"
    )
    assert result.code == 2
    assert "--score-kind applies to the default rules" in result.err
    assert "'kind' column" in result.err


# ---------------------------------------------------------------------------
# trial: empty rules files, booleans, disabled rules, short histories, bugs


def test_rules_file_with_only_a_header_exits_2_naming_it(tmp_path, run_alerts):
    """It printed a KeyError traceback and exited 1, the code for 'alerts fired'."""
    _quiet_files(tmp_path)
    path = tmp_path / "r.csv"
    path.write_text("rule,enabled,first_action\n")
    result = run_alerts(*_files(tmp_path), "--rules", path)
    assert result.code == 2
    assert result.err.startswith(
        f"llmdrift alerts: error: rules file {str(path)!r} holds no rules"
    )
    assert "Traceback" not in result.err and result.out == ""
    (tmp_path / "r.json").write_text("[]")
    result = run_alerts(*_files(tmp_path), "--rules", tmp_path / "r.json")
    assert result.code == 2
    assert "holds no rules" in result.err


def test_rules_file_booleans_read_alike_in_csv_and_json(tmp_path):
    from llmdrift.commands.alerts import _read_rules

    names = [
        "quality_drop",
        "prompt_hash_change",
        "retrieval_drop",
        "hallucination_spike",
        "cost_per_quality",
    ]
    written = ["TRUE", "0", "Yes", "no", "1"]
    expected = [True, False, True, False, True]
    lines = ["rule,enabled,first_action"]
    lines += [f"{n},{v},look" for n, v in zip(names, written, strict=True)]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    as_json = ["true", 0, "YES", False, 1]
    records = [
        dict(rule=n, enabled=v, first_action="look")
        for n, v in zip(names, as_json, strict=True)
    ]
    (tmp_path / "r.json").write_text(json.dumps(records))
    for name in ("r.csv", "r.json"):
        rules = _read_rules(tmp_path / name)
        assert rules["enabled"].tolist() == expected, name
        assert all(isinstance(v, bool) for v in rules["enabled"])


@pytest.mark.parametrize(
    ("name", "content", "shown"),
    [
        ("r.csv", "rule,enabled,first_action\nquality_drop,maybe,x\n", "'maybe'"),
        ("r.csv", "rule,enabled,first_action\nquality_drop,2,x\n", "'2'"),
        ("r.csv", "rule,enabled,first_action\nquality_drop,,x\n", "is empty"),
        (
            "r.json",
            '[{"rule": "quality_drop", "enabled": "on", "first_action": "x"}]',
            "'on'",
        ),
        (
            "r.json",
            '[{"rule": "quality_drop", "enabled": 2, "first_action": "x"}]',
            "2",
        ),
    ],
)
def test_rules_file_refuses_other_booleans(tmp_path, run_alerts, name, content, shown):
    _quiet_files(tmp_path)
    path = tmp_path / name
    path.write_text(content)
    result = run_alerts(*_files(tmp_path), "--rules", path)
    assert result.code == 2
    assert f"rule 'quality_drop': enabled {'' if shown == 'is empty' else 'is '}" in (
        result.err
    )
    assert shown in result.err
    assert "write true or false (1/0 and yes/no" in result.err


def test_every_rule_disabled_says_so(tmp_path, run_alerts):
    """It said 'no alert rule could run on this data ... give scores'."""
    from llmdrift.alerts import default_rules

    _quiet_files(tmp_path)
    every = [o for rule in default_rules()["rule"] for o in ("--disable", rule)]
    result = run_alerts(*_files(tmp_path), *every)
    assert result.code == 2
    assert result.err.startswith(
        "llmdrift alerts: error: every alert rule is disabled (by --disable)"
    )
    assert "give scores" not in result.err and result.out == ""
    path = tmp_path / "off.csv"
    path.write_text("rule,enabled,first_action\nquality_drop,false,x\n")
    result = run_alerts(*_files(tmp_path), "--rules", path)
    assert result.code == 2
    assert (
        f"every alert rule is disabled (by the 'enabled' column of {str(path)!r})"
        in (result.err)
    )


def test_short_history_is_reported_not_evaluated(tmp_path, run_alerts):
    """10 days of history for a 28-day baseline: 'no alerts', exit 0, as if
    the quality rule had watched and found nothing."""
    spans, scores = _quiet_files(tmp_path, days=10)
    first, last = scores["time"].min(), scores["time"].max()
    days = (last.normalize() - first.normalize()).days + 1
    span = f"({first:%Y-%m-%d} to {last:%Y-%m-%d})"
    result = run_alerts(*_files(tmp_path))
    assert result.code == 0
    out = result.out.strip().splitlines()
    assert out[0] == "no alerts from the rules that ran: prompt_hash_change"
    assert (
        f"not evaluated: quality_drop (not enough history: intent=a, format has "
        f"{days} day(s) of scores {span}; the rule needs at least 29 days (28 to "
        "learn the baseline, then the days it watches))"
    ) in out
    # with the only rule that could run disabled: the error alone, exit 2
    result = run_alerts(*_files(tmp_path), "--disable", "prompt_hash_change")
    assert result.code == 2
    assert result.out == ""
    err = result.err.splitlines()
    assert err[0] == "llmdrift alerts: error: no alert rule could run on this data:"
    assert (
        f"  quality_drop: not enough history: intent=a, format has {days} day(s)"
        in (result.err)
    )
    assert "give a longer history" in err[-1]


def test_a_group_too_young_is_reported_partly_evaluated(tmp_path, run_alerts):
    spans, scores = _quiet_files(tmp_path, days=35)
    young = (scores["time"] >= scores["time"].min() + pd.Timedelta("30D")).to_numpy()
    # the last 5 days of traffic go to a new intent
    spans.loc[young, "intent"] = "b"
    spans.to_parquet(tmp_path / "spans.parquet")
    result = run_alerts(*_files(tmp_path), "--json")
    assert result.code == 0
    status = {s["rule"]: s for s in json.loads(result.out)["status"]}
    assert status["quality_drop"]["status"] == "ran"
    assert "intent=b, format (not enough history" in status["quality_drop"]["detail"]
    text = run_alerts(*_files(tmp_path)).out.splitlines()
    assert any(
        line.startswith("partly evaluated: quality_drop: not evaluated for 1 of 2")
        for line in text
    )


def test_unexpected_error_is_one_line_exit_2(tmp_path, run_alerts, monkeypatch):
    """A bug raised a traceback and exit 1, which cron reads as 'alerts fired'."""
    import llmdrift.alerts

    def broken(*args, **kwargs):
        raise RuntimeError("boom\nat line two")

    monkeypatch.setattr(llmdrift.alerts, "evaluate_alerts", broken)
    monkeypatch.delenv("LLMDRIFT_DEBUG", raising=False)
    _quiet_files(tmp_path)
    result = run_alerts(*_files(tmp_path))
    assert result.code == 2
    assert result.err.splitlines() == [
        "llmdrift alerts: internal error (RuntimeError: boom at line two); please "
        "report this, with the command line, as an llmdrift bug; rerun with "
        "--debug or LLMDRIFT_DEBUG=1 for the traceback"
    ]
    result = run_alerts(*_files(tmp_path), "--debug")
    assert result.code == 2
    assert result.err.startswith("Traceback (most recent call last):")
    assert "please report this" in result.err
    monkeypatch.setenv("LLMDRIFT_DEBUG", "1")
    result = run_alerts(*_files(tmp_path))
    assert result.code == 2 and "Traceback" in result.err


def test_store_where_no_rule_can_run_prints_only_the_error(tmp_path, run_alerts):
    """It printed 'no alerts' on stdout beside the exit-2 error."""
    pytest.importorskip("llmdrift.store")
    spans, scores = _quiet_files(tmp_path, days=10)
    path = _store(tmp_path, spans.drop(columns="prompt_hash"), scores)
    result = run_alerts("--store", path)
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith(
        "llmdrift alerts: error: no alert rule could run on this data:\n"
        "  quality_drop: not enough history: intent=a, format has "
    )


# ---------------------------------------------------------------------------
# trial: no span read, bad --deployments and --scores files


def test_no_span_read_from_spans_exits_2(tmp_path, run_alerts):
    """A scores CSV given to --spans read 0 spans (a warning); every score then
    formed an 'intent=nan' group, which fired and exited 1."""
    _spans, scores = _quiet_files(tmp_path)
    scores.to_csv(tmp_path / "scores.csv", index=False)
    result = run_alerts(
        "--spans", tmp_path / "scores.csv", "--scores", tmp_path / "scores.csv"
    )
    assert result.code == 2
    assert result.err.startswith(
        f"llmdrift alerts: error: no span was read from --spans "
        f"{tmp_path / 'scores.csv'} (read_otlp: "
    )
    assert "give OTLP/JSON files or Parquet files of spans there" in result.err
    assert result.out == ""
    # an empty Parquet file of spans: the same
    _spans.iloc[:0].to_parquet(tmp_path / "none.parquet")
    result = run_alerts(
        "--spans", tmp_path / "none.parquet", "--scores", tmp_path / "scores.csv"
    )
    assert result.code == 2 and "no span was read from --spans" in result.err


FORM = "ISO 8601 with a zone, e.g. 2026-02-20T06:00Z or 2026-02-20T07:00+01:00"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "time,service\nlast tuesday,api\n",
            "column 'time', row 1 (line 2): 'last tuesday' is not an ISO 8601 time",
        ),
        (
            "time,service\n1771567200,api\n",
            "column 'time', row 1 (line 2): '1771567200' is a number (epoch "
            "seconds?), not an ISO 8601 time",
        ),
        (
            "time,service\n2026-01-20T06:00Z,api\n2026-01-21 06:00,api\n",
            "column 'time', row 2 (line 3): '2026-01-21 06:00' has no time zone",
        ),
        (
            "time,service\n2026-01-20T06:00Z,api\n,api\n",
            "column 'time' is empty in row 2 (line 3); every row needs its time",
        ),
        (
            "time,service\n2026-13-20T06:00Z,api\n",
            "column 'time', row 1 (line 2): '2026-13-20T06:00Z' is not a valid time",
        ),
        ("", "is empty (not even a header row); a deployments file has a header"),
    ],
)
def test_bad_deployments_file_names_file_column_and_form(
    tmp_path, run_alerts, content, expected
):
    _quiet_files(tmp_path)
    path = tmp_path / "d.csv"
    path.write_text(content)
    result = run_alerts(*_files(tmp_path), "--deployments", path)
    assert result.code == 2
    assert result.err.startswith(
        f"llmdrift alerts: error: deployments file {str(path)!r}"
    )
    assert expected in result.err
    assert FORM in result.err
    assert "format=" not in result.err  # pandas' hints, which a CLI user cannot pass


def test_deployments_file_offsets_versions_and_header_only(tmp_path):
    from llmdrift.commands.alerts import _read_table

    path = tmp_path / "d.csv"
    path.write_text(
        "time,service,version,note\n"
        "2026-02-20T06:00Z,api,1.0,a\n"
        "2026-02-20T08:30+01:00,api,1.10,\n"
        "2026-02-21Z,api,2,c\n"
    )
    frame = _read_table(path, "deployments")
    assert frame["time"].tolist() == [
        pd.Timestamp("2026-02-20 06:00", tz="UTC"),
        pd.Timestamp("2026-02-20 07:30", tz="UTC"),
        pd.Timestamp("2026-02-21 00:00", tz="UTC"),
    ]
    # text as written: 1.0 and 1.10 were floats (1.0, 1.1), then refused
    assert frame["version"].tolist() == ["1.0", "1.10", "2"]
    path.write_text("time,service,version,note\n")
    frame = _read_table(path, "deployments")
    assert len(frame) == 0 and str(frame["time"].dtype) == "datetime64[ns, UTC]"
    from llmdrift.schema import validate

    validate(frame, "deployments")  # zero deployments, not naive times


def test_header_only_deployments_file_is_no_deployments(tmp_path, run_alerts):
    _quiet_files(tmp_path)
    path = tmp_path / "d.csv"
    path.write_text("time,service,version,note\n")
    result = run_alerts(*_files(tmp_path), "--deployments", path)
    assert result.code == 0, result.err


def test_corrupt_parquet_and_empty_scores_file_are_named(tmp_path, run_alerts):
    _quiet_files(tmp_path)
    bad = tmp_path / "d.parquet"
    bad.write_text("not parquet")
    result = run_alerts(*_files(tmp_path), "--deployments", bad)
    assert result.code == 2
    assert result.err.startswith(
        f"llmdrift alerts: error: deployments file {str(bad)!r} is not a readable "
        "Parquet file (ArrowInvalid: "
    )
    assert "give a CSV file with the columns time, service" in result.err
    empty = tmp_path / "scores.csv"
    empty.write_text("")
    result = run_alerts("--spans", tmp_path / "spans.parquet", "--scores", empty)
    assert result.code == 2
    assert result.err.startswith(
        f"llmdrift alerts: error: scores file {str(empty)!r} is empty (not even a "
        "header row); a scores file has a header row with the columns span_id, "
        "time, dimension, value, scorer, kind"
    )


# ---------------------------------------------------------------------------
# trial: values in a --rules file

_RULE = '"rule": "quality_drop", "enabled": true, "first_action": "look"'


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        # 'int' object is not iterable, naming neither rule nor column
        (
            "r.json",
            f'[{{{_RULE}, "kind": 5}}]',
            "rule 'quality_drop': kind 5 must be text: one name or several, "
            "comma-separated (e.g. 'judge,heuristic'), or left empty.",
        ),
        (
            "r.json",
            f'[{{{_RULE}, "by": ["intent", 3]}}]',
            "rule 'quality_drop': by ['intent', 3] must be text",
        ),
        # 'must be a whole number of days >= 1', although 28 is
        (
            "r.json",
            f'[{{{_RULE}, "baseline": 28}}]',
            "rule 'quality_drop': baseline 28 is a number without a unit; write "
            "'28D' for days.",
        ),
        (
            "r.csv",
            "rule,enabled,first_action,baseline\nretrieval_drop,true,x,28D\n"
            "quality_drop,true,x,28\n",
            "rule 'quality_drop': baseline '28' is a number without a unit; write "
            "'28D' for days.",
        ),
        (
            "r.json",
            '[{"rule": "prompt_hash_change", "enabled": true, "first_action": "x", '
            '"window": 2}]',
            "rule 'prompt_hash_change': window 2 is a number without a unit; write "
            "'2h' for hours.",
        ),
        # 'got nan'
        (
            "r.csv",
            "rule,enabled,first_action,threshold\nquality_drop,true,x,\n",
            "rule 'quality_drop': threshold is empty; write a number in (0, 1), "
            "e.g. the default 0.05.",
        ),
        (
            "r.csv",
            "rule,enabled,first_action,min_count\nquality_drop,true,x,\n",
            "rule 'quality_drop': min_count is empty; write a whole number >= 0, "
            "e.g. the default 30.",
        ),
        (
            "r.json",
            "5",
            "it holds a JSON int (5), not rules; write a list of rule objects",
        ),
    ],
)
def test_rules_file_values_are_named(tmp_path, run_alerts, name, content, expected):
    _quiet_files(tmp_path)
    path = tmp_path / name
    path.write_text(content)
    result = run_alerts(*_files(tmp_path), "--rules", path)
    assert result.code == 2
    assert result.err.startswith(f"llmdrift alerts: error: rules file {str(path)!r}")
    assert expected in result.err
    assert "Traceback" not in result.err and result.out == ""


def test_rules_file_single_object_and_byte_order_mark(tmp_path):
    from llmdrift.commands.alerts import _read_rules

    one = {"rule": "quality_drop", "enabled": True, "first_action": "look"}
    path = tmp_path / "r.json"
    # a single object was pandas' 'If using all scalar values...'
    path.write_text(json.dumps(one))
    rules = _read_rules(path)
    assert rules["rule"].tolist() == ["quality_drop"]
    assert rules["first_action"].tolist() == ["look"]
    # a UTF-8 byte-order mark was refused in JSON (the CSV reader skips it)
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([one]).encode())
    assert _read_rules(path)["rule"].tolist() == ["quality_drop"]


def test_blank_first_action_is_not_printed_as_na():
    from llmdrift.alerts import ALERT_COLUMNS, _check_rules, default_rules
    from llmdrift.commands.alerts import format_table

    rules = default_rules().head(1).assign(first_action=np.nan)
    assert _check_rules(rules)["first_action"].tolist() == [""]
    alert = dict.fromkeys(ALERT_COLUMNS, np.nan)
    alert.update(
        rule="quality_drop",
        time=pd.Timestamp("2026-01-05", tz="UTC"),
        group="intent=a",
        dimension="format",
        evidence="e",
        first_action="",
    )
    text = format_table(pd.DataFrame([alert]).astype({"first_action": "string"}))
    assert text.splitlines()[-1] == "    first action: (none in the rule table)"
    assert "<NA>" not in text
