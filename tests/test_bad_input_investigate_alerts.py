"""Bad input to investigate, the alert rules, the store URL and the CLI.

Each test asserts the error class and that the message names the argument,
column, file or value at fault; valid input keeps its result.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import llmdrift
from llmdrift.alerts import quality_drop_alerts
from llmdrift.schema import SchemaError

# --------------------------------------------------------------------------
# store URLs (ST1)


def test_store_url_without_backend_names_scheme_and_pip():
    from llmdrift.store import open_store

    ibis = pytest.importorskip("ibis")
    try:
        ibis.postgres  # noqa: B018 (imports the backend's dependencies)
    except ImportError:
        pass
    else:
        pytest.skip("the postgres backend is installed here")
    with pytest.raises(ImportError) as info:
        open_store("postgres://nobody:secret@localhost:1/x")
    text = str(info.value)
    assert "'postgres'" in text
    assert "pip install 'ibis-framework[postgres]'" in text
    # the password does not reach the message
    assert "secret" not in text and "nobody:***@" in text


def test_store_url_unknown_scheme_lists_supported():
    from llmdrift.store import open_store

    with pytest.raises(ValueError) as info:
        open_store("weird://x")
    text = str(info.value)
    assert "'weird'" in text and "supported schemes" in text
    assert "duckdb" in text and "postgres" in text


def test_store_url_duckdb_still_opens(tmp_path):
    from llmdrift.store import open_store

    store = open_store(f"duckdb:///{tmp_path / 'x.duckdb'}")
    assert store.layout == "duckdb"
    store.close()


# --------------------------------------------------------------------------
# Incident.summary wording


def _prompt_incident_frames(intents=("a", "b"), after_ms=900.0):
    """Half-hourly traffic over 30 days; intent 'a' drops by 2 points when its
    prompt hash changes on 2024-01-20. Durations are 900 ms before and
    ``after_ms`` after the change, so the latency change is known exactly."""
    rng = np.random.default_rng(0)
    t = pd.date_range("2024-01-01", periods=30 * 48, freq="30min", tz="UTC")
    n = len(t)
    intent = np.resize(np.asarray(intents), n)
    after = t >= pd.Timestamp("2024-01-20", tz="UTC")
    spans = pd.DataFrame(
        {
            "trace_id": [f"{i:032x}" for i in range(n)],
            "span_id": [f"{i:016x}" for i in range(n)],
            "start_time": t,
            "duration_ms": np.where(after, after_ms, 900.0),
            "service": "api",
            "request_model": "m",
            "intent": intent,
            "prompt_hash": "h1",
            "status": "ok",
            "cost_usd": 0.001,
        }
    )
    late = after & (intent == "a")
    spans.loc[late, "prompt_hash"] = "h2"
    value = np.clip(rng.normal(4.5, 0.5, n) - 2 * late, 1, 5).round()
    scores = pd.DataFrame(
        {
            "span_id": spans["span_id"],
            "time": t,
            "dimension": "format",
            "value": value,
            "scorer": "j",
            "kind": "judge",
        }
    )
    return spans, scores


@pytest.fixture(scope="module")
def two_intent_incident():
    # p50 latency 900 -> 897 ms: -0.33%, which rounds to 0%
    spans, scores = _prompt_incident_frames(after_ms=897.0)
    return llmdrift.investigate(spans, scores, alerts=False)


def test_summary_tiny_negative_change_prints_zero_percent(two_intent_incident):
    inc = two_intent_incident
    infra = inc.infrastructure.set_index(["scope", "metric"])
    rel = infra.loc[("affected group", "latency_p50_ms"), "relative_change"]
    assert rel == pytest.approx(897 / 900 - 1)
    text = inc.summary()
    assert "p50 latency 900 ms -> 897 ms, 0% (flat)" in text
    assert "-0%" not in text and "+0%" not in text


def test_summary_names_the_one_other_group(two_intent_incident):
    text = two_intent_incident.summary()
    assert (
        "The only other group compared, intent b, shows no drop in format "
        "across that time." in text
    )
    assert "1 compared" not in text


def test_summary_counts_several_other_groups():
    spans, scores = _prompt_incident_frames(intents=("a", "b", "c"))
    inc = llmdrift.investigate(spans, scores, alerts=False)
    assert inc.drop["intent"] == "a"
    assert (
        "No other group (2 compared) shows a drop in format across that time."
        in inc.summary()
    )


def test_summary_leaves_out_groups_whose_scores_never_varied():
    """Found by the new-user trial: on an ingested store valid_json is 0 for
    every intent that never asks for JSON, and "No other group (5 compared)
    shows a drop" counted those, which could not drop at all."""
    spans, scores = _prompt_incident_frames(intents=("a", "b", "c", "d"))
    flat = spans.loc[spans["intent"].isin(["c", "d"]), "span_id"]
    scores.loc[scores["span_id"].isin(flat), "value"] = 1.0
    text = llmdrift.investigate(spans, scores, alerts=False).summary()
    assert (
        "The only other group compared, intent b, shows no drop in format across "
        "that time. 2 more groups never varied in format (the same score "
        "throughout) and could show no drop; left out." in text
    )
    # every other group flat: said so, no comparison claimed
    spans, scores = _prompt_incident_frames(intents=("a", "c"))
    scores.loc[spans["intent"].to_numpy() == "c", "value"] = 1.0
    text = llmdrift.investigate(spans, scores, alerts=False).summary()
    assert "The 1 other group(s) compared never varied in format" in text
    assert "shows no drop" not in text


# --------------------------------------------------------------------------
# investigate: bad arguments (I1-I5)


@pytest.fixture(scope="module")
def frames():
    """Two intents, one service, a prompt change on 2024-01-20."""
    return _prompt_incident_frames()


def _utc(text):
    return pd.Timestamp(text, tz="UTC")


def test_start_after_end_is_named(frames):
    spans, scores = frames
    with pytest.raises(ValueError, match=r"start \(2024-01-10.*\) must be before end"):
        llmdrift.investigate(
            spans, scores, start=_utc("2024-01-10"), end=_utc("2024-01-05")
        )
    with pytest.raises(ValueError, match="must be before end"):
        llmdrift.investigate(
            spans, scores, start=_utc("2024-01-10"), end=_utc("2024-01-10")
        )


@pytest.mark.parametrize(
    ("argument", "value", "present"),
    [
        ("dimension", "nope", "dimensions present: ['format']"),
        ("intent", "nope", "intents present: ['a', 'b']"),
        ("service", "nope", "services present: ['api']"),
        ("kind", "human", "kinds present: ['judge']"),
        ("kind", "robot", "use one of ('heuristic', 'judge', 'human')"),
    ],
)
def test_unknown_names_list_what_exists(frames, argument, value, present):
    spans, scores = frames
    with pytest.raises(ValueError) as info:
        llmdrift.investigate(spans, scores, **{argument: value})
    text = str(info.value)
    assert f"{argument}={value!r}" in text
    assert present in text


def test_intent_outside_the_groups_is_refused(frames):
    spans, scores = frames
    with pytest.raises(ValueError, match=r"intent='a' needs 'intent' among the group"):
        llmdrift.investigate(spans, scores, by=(), intent="a")


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("window", "banana", "window='banana' is not a positive duration"),
        ("window", "-3D", "window='-3D' is not a positive duration"),
        ("tolerance", "soon", "tolerance='soon' is not a positive duration"),
        ("freq", "banana", "freq='banana' is not a window length"),
        ("n_traces", -1, "n_traces"),
        ("n_traces", 0, "n_traces"),
        ("n_traces", 2.5, "n_traces"),
        ("min_size", 0, "min_size"),
        ("threshold", -1, "threshold must be a finite number >= 0"),
        ("threshold", np.nan, "threshold must be a finite number >= 0"),
        ("alpha", 2, "alpha"),
        ("alpha", 0, "alpha"),
        ("alpha", np.nan, "alpha"),
        ("false_alarm_rate", 1.5, "false_alarm_rate"),
        ("penalty", -1.0, "penalty must be None or a finite number >= 0"),
    ],
)
def test_out_of_range_arguments_are_named(frames, argument, value, expected):
    spans, scores = frames
    with pytest.raises(ValueError) as info:
        llmdrift.investigate(spans, scores, **{argument: value})
    assert expected in str(info.value)


def test_infinite_scores_are_refused(frames):
    spans, scores = frames
    bad = scores.assign(
        value=np.where(np.arange(len(scores)) % 7 == 0, np.inf, scores["value"])
    )
    with pytest.raises(ValueError) as info:
        llmdrift.investigate(spans, bad)
    text = str(info.value)
    assert "'value'" in text and "infinite" in text
    # the count of infinite values: every 7th row
    assert str(len(range(0, len(scores), 7))) in text


def test_repeated_scores_are_refused(frames):
    spans, scores = frames
    with pytest.raises(ValueError) as info:
        llmdrift.investigate(spans, pd.concat([scores, scores], ignore_index=True))
    text = str(info.value)
    assert f"{len(scores)} row(s) repeat" in text
    assert "drop_duplicates" in text


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("empty", "scores frame is empty"),
        ("all_nan", "have no value (every scorer failed)"),
        ("outside", "no scores in [2030-01-10"),
    ],
)
def test_no_usable_scores_say_why(frames, case, expected):
    spans, scores = frames
    options = {}
    if case == "empty":
        scores = scores.iloc[:0]
    elif case == "all_nan":
        scores = scores.assign(value=np.nan)
    else:
        options = dict(start=_utc("2030-01-10"), end=_utc("2030-01-15"))
    with pytest.raises(ValueError) as info:
        llmdrift.investigate(spans, scores, **options)
    assert expected in str(info.value)
    if case == "outside":
        # the message says where the data is
        assert "2024-01-01" in str(info.value)


def test_valid_arguments_keep_the_answer(frames):
    spans, scores = frames
    before = spans.copy(), scores.copy()
    inc = llmdrift.investigate(
        spans,
        scores,
        start=_utc("2024-01-01"),
        end=_utc("2024-02-01"),
        intent="a",
        dimension="format",
        service="api",
        kind="judge",
        window="7D",
        n_traces=1,
        alerts=False,
    )
    pd.testing.assert_frame_equal(spans, before[0])
    pd.testing.assert_frame_equal(scores, before[1])
    assert inc.drop["intent"] == "a"
    assert inc.drop["time"] == _utc("2024-01-20")
    assert inc.causes["kind"].iloc[0] == "prompt_hash"
    assert (inc.traces["side"] == "after").sum() == 1


# --------------------------------------------------------------------------
# alerts (AL1 and the numeric arguments)


@pytest.fixture(scope="module")
def demo():
    from llmdrift.datasets import load_demo

    return load_demo(days=10, requests_per_day=200)


def test_evaluate_alerts_refuses_infinite_scores(demo):
    scores = demo.scores
    every7 = np.arange(len(scores)) % 7 == 0
    bad = scores.assign(value=np.where(every7, np.inf, scores["value"]))
    with pytest.raises(ValueError) as info:
        llmdrift.evaluate_alerts(demo.spans, bad, demo.deployments)
    text = str(info.value)
    assert "'value'" in text and "infinite" in text
    assert str(int(every7.sum())) in text
    # the caller's frame is untouched and valid input still runs
    assert np.isinf(bad["value"]).sum() == every7.sum()
    out = llmdrift.evaluate_alerts(demo.spans, scores, demo.deployments)
    assert set(pd.DataFrame(out.attrs["status"])["rule"]) >= {"quality_drop"}


@pytest.mark.parametrize(
    ("rule", "column", "value", "expected"),
    [
        ("quality_drop", "threshold", 5.0, "threshold must be in (0, 1), got 5.0"),
        ("quality_drop", "arl0", -1.0, "arl0 must be a finite number > 0"),
        ("quality_drop", "min_count", 2.5, "min_count must be a whole number >= 0"),
        ("quality_drop", "baseline", "0D", "baseline '0D' must be a whole number"),
        ("quality_drop", "window", "banana", "window 'banana' is not a duration"),
        ("retrieval_drop", "alpha", 2.0, "alpha must be in (0, 1), got 2.0"),
        ("hallucination_spike", "alpha", 0.0, "alpha must be in (0, 1), got 0.0"),
        (
            "hallucination_spike",
            "threshold",
            np.inf,
            "threshold must be a finite number > 0, got inf",
        ),
        ("cost_per_quality", "threshold", -0.3, "threshold must be a finite number"),
        ("prompt_hash_change", "window", "soon", "'soon' is not a duration"),
        ("quality_drop", "enabled", "no", "enabled must be True or False, got 'no'"),
    ],
)
def test_rule_table_values_are_checked(demo, rule, column, value, expected):
    rules = llmdrift.default_rules()
    rules[column] = rules[column].astype(object)
    rules.loc[rules["rule"] == rule, column] = value
    with pytest.raises(ValueError) as info:
        llmdrift.evaluate_alerts(demo.spans, demo.scores, demo.deployments, rules)
    text = str(info.value)
    assert f"rule {rule!r}" in text and expected in text


def test_rule_table_misspelt_column(demo):
    rules = llmdrift.default_rules().rename(columns={"threshold": "treshold"})
    with pytest.raises(ValueError, match=r"unknown column\(s\) \['treshold'\]"):
        llmdrift.evaluate_alerts(demo.spans, demo.scores, demo.deployments, rules)


def _series(level_after=3.6):
    rng = np.random.default_rng(1)
    days = pd.date_range("2026-01-01", periods=40, freq="D", tz="UTC")
    level = np.where(np.arange(40) < 35, 4.0, level_after)
    return pd.DataFrame(
        {
            "window_start": days,
            "intent": "a",
            "dimension": "format",
            "n": 80,
            "mean": rng.normal(level, 0.1),
            "std": 0.9,
            "sem": 0.1,
        }
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (dict(threshold=0.0), "threshold must lie in (0, 1)"),
        (dict(threshold=1.5), "threshold must lie in (0, 1)"),
        (dict(threshold=np.nan), "threshold must lie in (0, 1)"),
        (dict(arl0=0), "arl0 must be a finite number of days > 0"),
        (dict(arl0=np.inf), "arl0 must be a finite number of days > 0"),
        (dict(min_count=-1), "min_count"),
        (dict(min_count=2.5), "min_count"),
    ],
)
def test_quality_drop_alerts_arguments(options, expected):
    with pytest.raises(ValueError) as info:
        quality_drop_alerts(_series(), **options)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (dict(shift=-0.1), "shift must lie in (0, 1)"),
        (dict(baseline=0), "baseline"),
        (dict(baseline=2.5), "baseline"),
        (dict(margin=-1.0), "margin must be a finite number >= 0"),
        (dict(margin=np.nan), "margin must be a finite number >= 0"),
    ],
)
def test_drop_monitor_arguments(options, expected):
    from llmdrift.alerts import drop_monitor

    n = np.full(50, 100)
    with pytest.raises(ValueError) as info:
        drop_monitor(n, np.full(50, 4.0), np.ones(50), np.arange(50), **options)
    assert expected in str(info.value)


def test_quality_drop_alerts_valid_input_keeps_its_alarm():
    # the docstring's case: a 10% drop on day 35 alarms on 2026-02-07
    found = quality_drop_alerts(_series())
    assert found["group"].tolist() == ["intent=a"]
    assert str(found["time"].iloc[0].date()) == "2026-02-07"
    # a level that does not move gives no alarm
    assert quality_drop_alerts(_series(level_after=4.0)).empty


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (dict(alpha=1.0), "alpha"),
        (dict(threshold=-0.1), "threshold must be a finite number >= 0"),
        (dict(error_floor=np.inf), "error_floor must be a finite number >= 0"),
        (dict(window="banana"), "window='banana' is not a positive duration"),
    ],
)
def test_infrastructure_tests_arguments(frames, options, expected):
    from llmdrift.investigate import infrastructure_tests

    spans, _ = frames
    with pytest.raises(ValueError) as info:
        infrastructure_tests(spans, _utc("2024-01-20"), **options)
    assert expected in str(info.value)
    # valid: 900 ms before and after, nothing moved
    out = infrastructure_tests(spans, _utc("2024-01-20")).set_index("metric")
    assert out.loc["latency_p50_ms", "before"] == 900.0
    assert out.loc["latency_p50_ms", "status"] == "flat"


def test_evaluate_alerts_refuses_repeated_scores(demo):
    twice = pd.concat([demo.scores, demo.scores.iloc[:5]], ignore_index=True)
    with pytest.raises(ValueError, match=r"scores: 5 row\(s\) repeat a \(span_id"):
        llmdrift.evaluate_alerts(demo.spans, twice, demo.deployments)


def test_report_cli_exits_2_when_investigate_refuses(
    frames, monkeypatch, tmp_path, capsys
):
    import importlib
    from types import SimpleNamespace

    from llmdrift.cli import main

    # the module, not the function llmdrift.investigate the package exports
    investigate_module = importlib.import_module("llmdrift.investigate")

    spans, scores = frames
    failed = SimpleNamespace(
        spans=spans,
        scores=scores.assign(value=np.nan),
        contents=None,
        deployments=None,
        truth=None,
    )
    monkeypatch.setattr(investigate_module, "load_source", lambda *a, **k: failed)
    out = tmp_path / "x.html"
    assert main(["report", "--source", "demo", "--out", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "cannot investigate" in err and "have no value" in err


# --------------------------------------------------------------------------
# alerts: time zones, repeated rules, unknown kinds/dimensions/columns (trial T3)


def test_evaluate_alerts_converts_aware_times_to_utc(frames):
    """T3-13: tz-aware times in another zone are the same instants; only naive
    times are refused, with the tz_localize hint that fits them."""
    spans, scores = frames
    spans = spans.astype({"service": "string", "intent": "string"})
    expected = llmdrift.evaluate_alerts(spans, scores)
    assert (expected["rule"] == "prompt_hash_change").any()
    berlin = spans.assign(start_time=spans["start_time"].dt.tz_convert("Europe/Berlin"))
    local_scores = scores.assign(time=scores["time"].dt.tz_convert("Asia/Tokyo"))
    out = llmdrift.evaluate_alerts(berlin, local_scores)
    pd.testing.assert_frame_equal(out, expected)
    assert out.attrs["status"] == expected.attrs["status"]
    # the caller's frame keeps its zone
    assert str(berlin["start_time"].dt.tz) == "Europe/Berlin"
    naive = spans.assign(start_time=spans["start_time"].dt.tz_localize(None))
    with pytest.raises(SchemaError) as info:
        llmdrift.evaluate_alerts(naive, scores)
    text = str(info.value)
    assert "'start_time' holds naive times" in text
    assert "spans['start_time'].dt.tz_localize('UTC')" in text
    text_times = spans.assign(start_time=spans["start_time"].astype(str))
    with pytest.raises(SchemaError, match=r"pd\.to_datetime\(spans\['start_time'\]"):
        llmdrift.evaluate_alerts(text_times, scores)


def test_evaluate_alerts_unknown_tz_is_named(frames):
    spans, scores = frames
    rules = llmdrift.default_rules()
    rules["enabled"] = rules["rule"] == "hallucination_spike"
    with pytest.raises(ValueError, match="tz 'Mars/Base' is not a known IANA"):
        llmdrift.evaluate_alerts(spans, scores, rules=rules, tz="Mars/Base")


@pytest.mark.parametrize("identical", [True, False])
def test_repeated_rule_rows_are_refused(frames, identical):
    """T3-27: a rule given twice fired each of its alerts twice."""
    spans, scores = frames
    rules = llmdrift.default_rules()
    extra = rules[rules["rule"] == "prompt_hash_change"].copy()
    if not identical:
        extra["window"] = "4h"
    twice = pd.concat([rules, extra], ignore_index=True)
    with pytest.raises(ValueError) as info:
        llmdrift.evaluate_alerts(spans, scores, rules=twice)
    text = str(info.value)
    assert "rule 'prompt_hash_change' is given 2 times" in text
    assert "at rows [1, 5]" in text
    assert ("identical rows" if identical else "different settings") in text
    assert "Keep one row per rule" in text
    # one row each: every alert once
    once = llmdrift.evaluate_alerts(spans, scores, rules=rules)
    assert not once.duplicated(["rule", "time", "group", "dimension"]).any()


@pytest.mark.parametrize(
    ("rule", "column", "value", "expected"),
    [
        (
            "quality_drop",
            "kind",
            "jugde",
            "kind 'jugde' names unknown score kind(s) ['jugde']; use one or more "
            "of ['heuristic', 'judge', 'human']",
        ),
        (
            "cost_per_quality",
            "kind",
            "judge,llm",
            "unknown score kind(s) ['llm']",
        ),
        (
            "quality_drop",
            "dimension",
            "fromat",
            "dimension 'fromat' names ['fromat'], which the judge scores lack; "
            "they hold ['format']",
        ),
        (
            "cost_per_quality",
            "dimension",
            "format,tone",
            "names ['tone'], which the judge scores lack",
        ),
        (
            "retrieval_drop",
            "kind",
            "judge",
            "kind 'judge' is not used by this rule (it watches the "
            "retrieval_score of the spans); leave the cell empty",
        ),
        (
            "hallucination_spike",
            "dimension",
            "format",
            "dimension 'format' is not used by this rule",
        ),
        (
            "quality_drop",
            "by",
            "intnet",
            "by 'intnet' names column(s) ['intnet'] that the spans and scores lack",
        ),
        (
            "hallucination_spike",
            "by",
            "service,region",
            "by 'service,region' names column(s) ['region'] that the spans lack",
        ),
        (
            "cost_per_quality",
            "by",
            "tenant",
            "names column(s) ['tenant'] that the spans lack",
        ),
    ],
)
def test_rule_kind_dimension_and_by_are_checked(frames, rule, column, value, expected):
    """T3-28: an unknown kind, dimension or group column was accepted silently
    (the rule then watched nothing, or dropped the column)."""
    spans, scores = frames
    spans = spans.assign(flagged=pd.array([False] * len(spans), dtype="boolean"))
    rules = llmdrift.default_rules()
    rules[column] = rules[column].astype(object)
    rules.loc[rules["rule"] == rule, column] = value
    with pytest.raises(ValueError) as info:
        llmdrift.evaluate_alerts(spans, scores, rules=rules)
    text = str(info.value)
    assert f"rule {rule!r}" in text and expected in text


def test_rule_without_scores_of_its_kind_says_which_kinds_exist(frames):
    spans, scores = frames
    rules = llmdrift.default_rules()
    rules.loc[rules["rule"] == "quality_drop", "kind"] = "human"
    out = llmdrift.evaluate_alerts(spans, scores, rules=rules)
    status = {s["rule"]: s["status"] for s in out.attrs["status"]}
    assert status["quality_drop"] == "no human scores; the scores hold kinds ['judge']"


# --------------------------------------------------------------------------
# trial: too little data to tell, start given as a word


def _few_frames(days_by_intent, per_day=24, seed=0):
    """Hourly spans and judge scores (1-5) per intent over the given days."""
    rng = np.random.default_rng(seed)
    spans, scores = [], []
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    for intent, days in days_by_intent.items():
        t = t0 + pd.to_timedelta(np.arange(days * per_day) * 24 / per_day, unit="h")
        ids = [f"{intent}{i:015x}" for i in range(len(t))]
        spans.append(
            pd.DataFrame(
                {
                    "trace_id": ids,
                    "span_id": ids,
                    "start_time": t,
                    "duration_ms": 100.0,
                    "service": "api",
                    "request_model": "m",
                    "intent": intent,
                    "prompt_hash": "h1",
                    "status": "ok",
                    "cost_usd": 0.001,
                }
            )
        )
        scores.append(
            pd.DataFrame(
                {
                    "span_id": ids,
                    "time": t,
                    "dimension": "format",
                    "value": rng.integers(3, 6, len(t)).astype(float),
                    "scorer": "j",
                    "kind": "judge",
                }
            )
        )
    return pd.concat(spans, ignore_index=True), pd.concat(scores, ignore_index=True)


def test_investigate_with_three_scores_says_too_little_data():
    """It said 'No quality drop found.' on 3 scores in one day."""
    spans, scores = _few_frames({"a": 1}, per_day=3)
    inc = llmdrift.investigate(spans, scores, alerts=False)
    assert inc.drop is None
    assert inc.verdict == "too little data"
    # one daily window holds all 3 scores; a change needs min_size (3)
    # windows on each side of it
    windows = scores["time"].dt.floor("D").nunique()
    assert inc.searched[
        ["n_windows", "n_scores", "windows_needed"]
    ].values.tolist() == [[windows, len(scores), 2 * 3]]
    text = inc.summary()
    assert text.startswith("Too little data to tell whether quality dropped:")
    assert f"holds {windows} daily window(s) with scores ({len(scores)} scores" in text
    assert "needs at least 6 windows in a series (3 on each side of it)" in text
    assert "No quality drop found" not in text
    inc = llmdrift.investigate(spans, scores, alerts=False, min_size=2)
    assert "needs at least 4 windows in a series (2 on each side" in inc.summary()


def test_investigate_names_series_too_short_beside_no_drop():
    spans, scores = _few_frames({"a": 20, "b": 2})
    inc = llmdrift.investigate(spans, scores, alerts=False)
    assert inc.verdict == "no drop"
    days_b = scores[scores["span_id"].str.startswith("b")]["time"].dt.floor("D")
    text = inc.summary()
    assert text.startswith("No quality drop found. Too little data to tell for 1 of 2")
    assert f"format for intent b ({days_b.nunique()} window(s))" in text
    searched = inc.searched.set_index("intent")
    assert searched.loc["a", "status"] == "no_change"
    assert searched.loc["b", "n_scores"] == len(days_b)


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("start", "yesterday"),
        ("end", "now"),
        ("start", "2026-13-01T00:00Z"),
        ("end", 5),
    ],
)
def test_investigate_start_end_that_are_not_times(argument, value):
    """start='yesterday' raised pandas' DateParseError naming neither."""
    spans, scores = _few_frames({"a": 2})
    with pytest.raises(ValueError) as info:
        llmdrift.investigate(spans, scores, **{argument: value})
    text = str(info.value)
    assert text.startswith(f"{argument}={value!r} is not a time; give a tz-aware time")
    assert "'2026-01-20T00:00Z'" in text and "pd.Timestamp(" in text
    assert type(info.value) is ValueError


# --------------------------------------------------------------------------
# trial: a date with a zone, a deployment without a time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-05Z", "2026-01-05 00:00"),
        ("2026-01-05+01:00", "2026-01-04 23:00"),
        ("2026-01-05-05:00", "2026-01-05 05:00"),
    ],
)
def test_investigate_start_accepts_a_date_with_a_zone(value, expected):
    """start='2026-01-05Z' was refused as 'not a time'; '2026-01-05-05:00' was
    said to have no zone."""
    from llmdrift.investigate import _utc as as_utc

    assert as_utc(value, "start") == _utc(expected)
    spans, scores = _few_frames({"a": 10})
    inc = llmdrift.investigate(spans, scores, alerts=False, start=value)
    assert inc.start == _utc(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-05Z", "2026-01-05 00:00"),
        # read as 01:00 UTC before: the offset taken for a clock time
        ("2026-01-05+01:00", "2026-01-04 23:00"),
        ("2026-01-05T06:00+01:00", "2026-01-05 05:00"),
    ],
)
def test_cli_since_reads_a_date_with_a_zone(value, expected):
    from llmdrift.commands._options import iso_time

    assert iso_time(value, "--since") == _utc(expected)


def test_a_deployment_without_a_time_is_refused_by_row(frames):
    spans, scores = frames
    deployments = pd.DataFrame(
        {
            "time": pd.to_datetime(["2024-01-20T00:00Z", None], utc=True),
            "service": pd.array(["api", "api"], dtype="string"),
        }
    )
    expected = (
        "deployments frame: column 'time' is empty (NaT) in 1 row(s), first at "
        "row 1 (index 1)"
    )
    with pytest.raises(SchemaError, match=re.escape(expected)):
        llmdrift.evaluate_alerts(spans, scores, deployments)
    with pytest.raises(SchemaError, match=re.escape(expected)):
        llmdrift.investigate(spans, scores, deployments, alerts=False)
