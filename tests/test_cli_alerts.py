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
    assert out[0] == "no alerts"
    # the rules that could not run are named, so "no alerts" is not read as
    # "all checked and well"
    assert out[1:] == ["not evaluated: retrieval_drop (no retrieval scores)"]


def test_quiet_history_exits_0_with_table(tmp_path, run_alerts):
    _quiet_files(tmp_path)
    result = run_alerts(*_files(tmp_path))
    assert result.code == 0
    out = result.out.strip().splitlines()
    assert out[0] == "no alerts"
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
