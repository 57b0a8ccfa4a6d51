"""``llmdrift alerts``: exit codes for cron/CI, table and JSON output, inputs."""

from __future__ import annotations

import json

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


def test_demo_files_fire_and_exit_1(demo_files, small_demo, capsys):
    code = main(
        [
            "alerts",
            "--spans",
            str(demo_files / "spans.parquet"),
            "--scores",
            str(demo_files / "scores.parquet"),
            "--deployments",
            str(demo_files / "deployments.parquet"),
            "--json",
        ]
    )
    assert code == 1
    out = json.loads(capsys.readouterr().out)
    rules = {a["rule"] for a in out["alerts"]}
    assert "prompt_hash_change" in rules
    hash_alert = next(a for a in out["alerts"] if a["rule"] == "prompt_hash_change")
    assert small_demo.truth.new_hash in hash_alert["evidence"]
    assert pd.Timestamp(hash_alert["time"]) >= small_demo.truth.change_time
    assert {s["rule"] for s in out["status"]} >= {"quality_drop", "retrieval_drop"}


def test_source_demo_and_disable(monkeypatch, small_demo, tmp_path, capsys):
    import llmdrift.datasets

    monkeypatch.setattr(llmdrift.datasets, "load_demo", lambda path=None: small_demo)
    monkeypatch.chdir(tmp_path)  # no data/demo here
    code = main(
        [
            "alerts",
            "--source",
            "demo",
            "--disable",
            "prompt_hash_change",
            "--disable",
            "quality_drop",
            "--disable",
            "cost_per_quality",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "no alerts"
    # the rules that could not run are named, so "no alerts" is not read as
    # "all checked and well"
    assert out[1:] == ["not evaluated: retrieval_drop (no retrieval scores)"]


def test_quiet_history_exits_0_with_table(tmp_path, capsys):
    _quiet_files(tmp_path)
    code = main(
        [
            "alerts",
            "--spans",
            str(tmp_path / "spans.parquet"),
            "--scores",
            str(tmp_path / "scores.parquet"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "no alerts"
    assert "not evaluated: cost_per_quality (no cost_usd in spans)" in out


def test_no_rule_able_to_run_exits_2(tmp_path, capsys):
    _quiet_files(tmp_path)
    code = main(
        [
            "alerts",
            "--spans",
            str(tmp_path / "spans.parquet"),
            "--scores",
            str(tmp_path / "scores.parquet"),
            "--disable",
            "quality_drop",
            "--disable",
            "prompt_hash_change",
        ]
    )
    assert code == 2
    assert "no alert rule could run" in capsys.readouterr().err


def test_since_filters_but_keeps_history(demo_files, small_demo, capsys):
    later = small_demo.truth.change_time + pd.Timedelta("3D")
    code = main(
        [
            "alerts",
            "--spans",
            str(demo_files / "spans.parquet"),
            "--scores",
            str(demo_files / "scores.parquet"),
            "--deployments",
            str(demo_files / "deployments.parquet"),
            "--since",
            later.isoformat(),
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert all(pd.Timestamp(a["time"]) >= later for a in out["alerts"])
    assert code == (1 if out["alerts"] else 0)


def test_missing_file_exits_2(tmp_path, capsys):
    code = main(
        [
            "alerts",
            "--spans",
            str(tmp_path / "nope.parquet"),
            "--scores",
            str(tmp_path / "nope2.parquet"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "nope.parquet" in err and "does not exist" in err


def test_naive_times_exit_2_with_fix(tmp_path, capsys):
    spans, scores = _quiet_files(tmp_path)
    scores = scores.assign(time=scores["time"].dt.tz_localize(None))
    scores.to_csv(tmp_path / "scores.csv", index=False)
    code = main(
        [
            "alerts",
            "--spans",
            str(tmp_path / "spans.parquet"),
            "--scores",
            str(tmp_path / "scores.csv"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "'time'" in err and "tz_localize" in err


def test_no_input_and_bad_rule_exit_2(tmp_path, capsys):
    assert main(["alerts"]) == 2
    assert "exactly one input" in capsys.readouterr().err
    _quiet_files(tmp_path)
    code = main(
        [
            "alerts",
            "--spans",
            str(tmp_path / "spans.parquet"),
            "--scores",
            str(tmp_path / "scores.parquet"),
            "--disable",
            "latency",
        ]
    )
    assert code == 2
    assert "latency" in capsys.readouterr().err


def test_rules_file(tmp_path, capsys):
    from llmdrift.alerts import default_rules

    _quiet_files(tmp_path)
    rules = default_rules()
    rules = rules[rules["rule"] == "quality_drop"]
    rules.to_json(tmp_path / "rules.json", orient="records")
    code = main(
        [
            "alerts",
            "--spans",
            str(tmp_path / "spans.parquet"),
            "--scores",
            str(tmp_path / "scores.parquet"),
            "--rules",
            str(tmp_path / "rules.json"),
            "--json",
        ]
    )
    assert code == 0
    status = json.loads(capsys.readouterr().out)["status"]
    assert [s["rule"] for s in status] == ["quality_drop"]


def test_store_input(tmp_path, capsys):
    store_mod = pytest.importorskip("llmdrift.store")
    from llmdrift.schema import conform

    spans, scores = _quiet_files(tmp_path)
    spans = spans.assign(
        duration_ms=100.0, request_model=pd.array(["m"] * len(spans), dtype="string")
    )
    store = store_mod.open_store(tmp_path / "s.duckdb")
    store.append(spans=conform(spans, "spans"), scores=conform(scores, "scores"))
    store.close()
    code = main(["alerts", "--store", str(tmp_path / "s.duckdb"), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alerts"] == []
    status = {s["rule"]: s["status"] for s in out["status"]}
    assert status["quality_drop"] == "ran"
    assert main(["alerts", "--store", str(tmp_path / "missing.duckdb")]) == 2
    assert "does not exist" in capsys.readouterr().err
