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
    assert "'time'" in result.err and "tz_localize" in result.err


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
        "['heuristic']), so quality_drop and cost_per_quality, which watch judge "
        "scores by default, do not run; add --score-kind heuristic to watch the "
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
