"""llmdrift.investigate on the demo, on the real chen2023 answers, and on
small frames whose answer is known by construction.

Right values come from outside the code under test: the demo's ground truth,
the published figures of PROVENANCE.md and the source CSVs, and numpy on the
raw spans and scores.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import shared_path

import llmdrift
from llmdrift import schema
from llmdrift.investigate import (
    infrastructure_tests,
    investigate,
    mix_decomposition,
    model_changes,
)

DAY = pd.Timedelta(days=1)
SWITCH = pd.Timestamp("2023-06-27", tz="UTC")


# --------------------------------------------------------------------------
# datasets, loaded once per module


@pytest.fixture(scope="module")
def demo():
    from llmdrift.datasets import load_demo

    return load_demo()


@pytest.fixture(scope="module")
def demo_incident(demo):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return investigate(
            demo.spans, demo.scores, demo.deployments, contents=demo.contents
        )


@pytest.fixture(scope="module")
def chen_folder():
    return shared_path("chen2023-llmdrift")


@pytest.fixture(scope="module")
def chen(chen_folder):
    from llmdrift.datasets import load_chen2023

    return load_chen2023(path=chen_folder)


@pytest.fixture(scope="module")
def chen_incident(chen):
    return investigate(
        chen.spans, chen.scores, chen.deployments, contents=chen.contents
    )


@pytest.fixture(scope="module")
def leetcode(chen_folder):
    frame = pd.read_csv(Path(chen_folder) / "LEETCODE_EASY_EVAL.csv")
    frame["snapshot"] = frame["model"].str.split("/").str[-1]
    return frame


# --------------------------------------------------------------------------
# chen2023: the gpt-4 alias moved from 0314 to 0613


def test_chen_finds_leetcode_drop_of_gpt4_service_at_the_switch(chen_incident):
    drop = chen_incident.drop
    assert drop is not None
    assert drop["service"] == "gpt-4-service"
    assert drop["intent"] == "leetcode_easy"
    assert drop["dimension"] == "directly_usable"
    assert abs(drop["time"] - SWITCH) <= DAY
    assert drop["change"] < 0 and drop["ci_high"] < 0


def test_chen_ranks_the_response_model_change_first(chen_incident):
    top = chen_incident.causes.iloc[0]
    assert top["kind"] == "response_model"
    assert top["service"] == "gpt-4-service"
    assert (top["from_value"], top["to_value"]) == ("gpt-4-0314", "gpt-4-0613")
    # nobody announced the alias move
    assert not bool(top["announced"])
    assert top["score"] > chen_incident.causes.iloc[1]["score"]
    changes = chen_incident.response_model_changes
    gpt4 = changes[changes["service"] == "gpt-4-service"].iloc[0]
    assert gpt4["request_model"] == "gpt-4"
    assert abs(gpt4["time"] - SWITCH) <= DAY


def test_chen_figures_match_the_published_ones(chen_incident, leetcode):
    figures = chen_incident.figures().set_index("name")
    gpt4 = leetcode[leetcode["snapshot"].str.startswith("gpt-4")]
    usable = gpt4.groupby("snapshot")["Directly Usable"].mean()
    fenced = gpt4.groupby("snapshot")["answer"].apply(
        lambda s: s.fillna("").str.contains("```", regex=False).mean()
    )
    # PROVENANCE.md: directly usable 0.52 -> 0.10, code fence 0.00 -> 0.88
    row = figures.loc["directly_usable"]
    assert (round(row["before"], 2), round(row["after"], 2)) == (0.52, 0.10)
    assert row["before"] == pytest.approx(usable["gpt-4-0314"], abs=1e-9)
    assert row["after"] == pytest.approx(usable["gpt-4-0613"], abs=1e-9)
    assert row["status"] == "drop"
    row = figures.loc["has_code_fence"]
    assert (round(row["before"], 2), round(row["after"], 2)) == (0.00, 0.88)
    assert row["after"] == pytest.approx(fenced["gpt-4-0613"], abs=1e-9)


def test_chen_infrastructure_view_has_latency_and_cost(chen_incident, leetcode):
    infra = chen_incident.infrastructure
    own = infra[infra["scope"] == "affected group"].set_index("metric")
    gpt4 = leetcode[leetcode["snapshot"].str.startswith("gpt-4")]
    latency = gpt4.groupby("snapshot")["latency"].median() * 1000
    cost = gpt4.groupby("snapshot")["cost"].mean()
    # published: median latency 5.34 s -> 12.13 s, mean cost 0.02119 -> 0.02255
    p50 = own.loc["latency_p50_ms"]
    assert p50["before"] == pytest.approx(latency["gpt-4-0314"], rel=0.03)
    assert p50["after"] == pytest.approx(latency["gpt-4-0613"], rel=0.03)
    assert p50["status"] == "moved"  # the June snapshot is slower: real, not hidden
    usd = own.loc["cost_per_request_usd"]
    assert abs(usd["before"] - 0.02119) < 1e-4
    assert abs(usd["after"] - 0.02255) < 1e-4
    assert usd["before"] == pytest.approx(cost["gpt-4-0314"], rel=0.03)
    assert usd["after"] == pytest.approx(cost["gpt-4-0613"], rel=0.03)
    assert usd["status"] == "flat"  # +6%, inside the 10% rule
    assert own.loc["error_rate", "status"] == "flat"
    assert set(infra["scope"]) == {"affected group", "service"}


def test_chen_summary_states_the_key_facts(chen_incident):
    text = chen_incident.summary()
    for fact in (
        "directly_usable",
        "gpt-4-service",
        "leetcode_easy",
        "2023-06-27",
        "from 0.52 to 0.10",
        "gpt-4-0314 -> gpt-4-0613",
        "unannounced",
        "has_code_fence 0.00 -> 0.88",
        "cost per request $0.02119 -> $0.02255",
        "p50 latency 5,342 ms -> 12,129 ms",
    ):
        assert fact in text, fact
    assert "\n" not in text  # one paragraph


# --------------------------------------------------------------------------
# demo: an unannounced prompt change drops JSON format in one intent


def test_demo_finds_the_format_drop_within_a_day(demo, demo_incident):
    truth = demo.truth
    drop = demo_incident.drop
    assert drop["intent"] == truth.intent
    assert abs(drop["time"] - truth.change_time) <= DAY
    assert drop["change"] < 0 and drop["ci_high"] < 0
    # the change lands inside a window (14:02): that window is the onset
    assert drop["onset"] <= truth.change_time < drop["onset"] + DAY
    # the format dimension itself is found falling in that intent too
    changes = demo_incident.changes
    fmt = changes[
        (changes["intent"] == truth.intent) & (changes["dimension"] == truth.dimension)
    ]
    near = fmt[(fmt["time"] - truth.change_time).abs() <= DAY]
    assert len(near) == 1
    assert near["ci_high"].iloc[0] < 0


def test_demo_format_figures_match_the_raw_scores(demo, demo_incident):
    truth = demo.truth
    (b0, b1), (a0, a1) = demo_incident.periods()
    spans = demo.spans[demo.spans["intent"] == truth.intent]
    # judge scores: most of the format rows (the human labels are a sample)
    assert demo_incident.score_kinds[truth.dimension] == "judge"
    sc = demo.scores[
        (demo.scores["dimension"] == truth.dimension)
        & (demo.scores["kind"] == "judge")
        & demo.scores["span_id"].isin(spans["span_id"])
    ]
    before = sc.loc[(sc["time"] >= b0) & (sc["time"] < b1), "value"].astype(float)
    after = sc.loc[(sc["time"] >= a0) & (sc["time"] < a1), "value"].astype(float)
    row = demo_incident.figures().set_index("name").loc[truth.dimension]
    assert row["before"] == pytest.approx(before.mean(), rel=1e-9)
    assert row["after"] == pytest.approx(after.mean(), rel=1e-9)
    assert (row["n_before"], row["n_after"]) == (len(before), len(after))
    assert row["status"] == "drop"


def test_demo_top_cause_is_the_unannounced_hash_change(demo, demo_incident):
    truth = demo.truth
    top = demo_incident.causes.iloc[0]
    assert top["kind"] == "prompt_hash"
    assert top["intent"] == truth.intent
    assert (top["from_value"], top["to_value"]) == (truth.old_hash, truth.new_hash)
    assert not bool(top["announced"])
    assert abs(top["time"] - truth.change_time) <= pd.Timedelta(hours=2)


def test_demo_deployment_is_not_blamed(demo, demo_incident):
    causes = demo_incident.causes
    dep = causes[causes["kind"] == "deployment"]
    assert len(dep) == 1
    assert abs(dep["time"].iloc[0] - demo.truth.deployment_time) < pd.Timedelta("1min")
    assert dep["rank"].iloc[0] > 1
    assert dep["score"].iloc[0] < 0.05
    assert "Deployments are not implicated" in demo_incident.summary()


def test_demo_infrastructure_is_flat_and_matches_raw_spans(demo, demo_incident):
    truth = demo.truth
    infra = demo_incident.infrastructure
    own = infra[infra["scope"] == "affected group"].set_index("metric")
    assert (own["status"] == "flat").all()
    time = demo_incident.drop["time"]
    spans = demo.spans[demo.spans["intent"] == truth.intent]
    lo = spans["start_time"] >= time - pd.Timedelta("14D")
    before = spans[lo & (spans["start_time"] < time)]
    assert own.loc["latency_p50_ms", "before"] == pytest.approx(
        np.median(before["duration_ms"].dropna().to_numpy(float))
    )
    assert own.loc["error_rate", "before"] == pytest.approx(
        (before["status"] == "error").mean()
    )


def test_demo_intent_mix_shift_is_not_a_quality_drop(demo, demo_incident):
    truth = demo.truth
    assert demo_incident.drop["intent"] != truth.mix_shift_intent
    overall = demo_incident.overall
    mixed = overall[overall["classification"] == "mix shift"]
    mixed = mixed[mixed["dimension"] == truth.dimension]
    assert len(mixed) >= 1
    row = mixed.iloc[0]
    # well before the prompt change, and mostly explained by the mix
    assert row["time"] < truth.change_time - pd.Timedelta("7D")
    assert abs(row["mix"]) > abs(row["within"])
    # recompute the two parts from the raw scores (Shapley split by hand)
    time, side = row["time"], pd.Timedelta("14D")
    sc = demo.scores[
        (demo.scores["dimension"] == truth.dimension)
        & (demo.scores["kind"] == demo_incident.score_kinds[truth.dimension])
    ]
    sc = sc.merge(demo.spans[["span_id", "intent"]], on="span_id")
    parts = {}
    for name, lo, hi in (("b", time - side, time), ("a", time, time + side)):
        part = sc[(sc["time"] >= lo) & (sc["time"] < hi)]
        grouped = part.groupby("intent")["value"].agg(["size", "mean"])
        parts[name] = grouped
    b, a = parts["b"], parts["a"]
    wb, wa = b["size"] / b["size"].sum(), a["size"] / a["size"].sum()
    within = ((a["mean"] - b["mean"]) * (wa + wb) / 2).sum()
    mix = ((wa - wb) * (a["mean"] + b["mean"]) / 2).sum()
    assert row["within"] == pytest.approx(within, abs=1e-9)
    assert row["mix"] == pytest.approx(mix, abs=1e-9)
    # the mix cause is not ranked above the hash change
    kinds = demo_incident.causes["kind"].tolist()
    assert kinds.index("prompt_hash") < kinds.index("intent_mix")
    assert "That is a mix shift, not a quality drop." in demo_incident.summary()


def test_demo_summary_states_the_key_facts(demo, demo_incident):
    truth = demo.truth
    text = demo_incident.summary()
    assert text.startswith("Quality drop detected")
    for fact in (
        truth.intent,
        truth.old_hash[:8],
        truth.new_hash[:8],
        "unannounced",
        "Latency, errors and cost did not move",
        truth.change_time.strftime("%Y-%m-%d"),
        "First: diff the two template versions",
        "the first window already off the old level starts "
        + truth.change_time.strftime("%Y-%m-%d"),
    ):
        assert fact in text, fact


def test_demo_traces_show_before_and_after(demo_incident):
    traces = demo_incident.traces
    assert set(traces["side"]) == {"before", "after"}
    time = demo_incident.drop["time"]
    assert (traces.loc[traces["side"] == "before", "time"] < time).all()
    assert (traces.loc[traces["side"] == "after", "time"] >= time).all()
    after = traces.loc[traces["side"] == "after", "value"]
    before = traces.loc[traces["side"] == "before", "value"]
    assert after.mean() < before.mean()
    assert traces["output_text"].notna().all()
    # read them as a person would: JSON before, prose after
    if demo_incident.drop["dimension"] == "valid_json":
        for side, text in zip(traces["side"], traces["output_text"], strict=True):
            try:
                json.loads(text)
                parsed = True
            except ValueError:
                parsed = False
            assert parsed == (side == "before"), text


# --------------------------------------------------------------------------
# small frames with a known answer


def _frames(n_days=30, drop_from=20, intents=("a", "b"), service="api"):
    rng = np.random.default_rng(1)
    t = pd.date_range("2024-01-01", periods=n_days * 48, freq="30min", tz="UTC")
    spans = pd.DataFrame(
        {
            "trace_id": [f"{i:032x}" for i in range(len(t))],
            "span_id": [f"{i:016x}" for i in range(len(t))],
            "start_time": t,
            "duration_ms": rng.normal(900, 80, len(t)),
            "service": service,
            "request_model": "m",
            "response_model": "m-1",
            "intent": np.resize(list(intents), len(t)),
            "prompt_hash": "h1",
            "status": "ok",
            "cost_usd": 0.001,
        }
    )
    late = (spans["start_time"] >= t[0] + drop_from * DAY) & (spans["intent"] == "a")
    value = np.clip(rng.normal(4.5, 0.5, len(t)) - 2 * late, 1, 5).round()
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
    return spans, scores, late


def test_response_model_change_found_and_canary_ignored():
    t = pd.date_range("2024-01-01", periods=12, freq="h", tz="UTC")
    models = ["m-1"] * 6 + ["m-2"] * 6
    models[4] = "m-2"  # a one-window canary is not a change
    spans = pd.DataFrame(
        {
            "start_time": t,
            "service": "s",
            "request_model": "m",
            "response_model": models,
        }
    )
    out = model_changes(spans)
    assert len(out) == 1
    assert (out["from_model"].iloc[0], out["to_model"].iloc[0]) == ("m-1", "m-2")
    assert out["time"].iloc[0] == t[6]
    assert out["first_seen"].iloc[0] == t[4]  # but it is the first reply
    assert out["switch_complete"].iloc[0] == 1.0


def test_model_change_is_the_top_cause_under_an_unchanged_request_model():
    spans, scores, late = _frames(intents=("a",))
    spans.loc[late, "response_model"] = "m-2"
    inc = investigate(spans, scores)
    top = inc.causes.iloc[0]
    assert top["kind"] == "response_model"
    assert (top["from_value"], top["to_value"]) == ("m-1", "m-2")
    assert abs(top["time"] - spans.loc[late, "start_time"].min()) <= DAY


def test_infrastructure_tests_flags_a_real_latency_move_only():
    rng = np.random.default_rng(2)
    t = pd.date_range("2024-01-01", periods=2000, freq="15min", tz="UTC")
    duration = rng.normal(800, 50, len(t))
    duration[1000:] *= 1.5
    spans = pd.DataFrame(
        {"start_time": t, "duration_ms": duration, "status": "ok", "cost_usd": 0.002}
    )
    out = infrastructure_tests(spans, t[1000], window="7D").set_index("metric")
    assert out.loc["latency_p50_ms", "status"] == "moved"
    assert out.loc["latency_p50_ms", "relative_change"] == pytest.approx(0.5, abs=0.03)
    assert out.loc["cost_per_request_usd", "status"] == "flat"
    # a large change on three requests is "unclear", not "moved"
    few = spans.iloc[995:1003]
    out = infrastructure_tests(few, t[1000], window="7D").set_index("metric")
    assert out.loc["latency_p50_ms", "status"] == "unclear"


def test_mix_decomposition_parts_sum_and_pure_quality():
    d = pd.DataFrame(
        {
            "n_before": [50, 50],
            "n_after": [50, 50],
            "mean_before": [4.0, 2.0],
            "mean_after": [3.0, 2.0],
        }
    )
    parts = mix_decomposition(d)
    assert parts["within"] == pytest.approx(-0.5)
    assert parts["mix"] == pytest.approx(0.0)
    assert parts["within"] + parts["mix"] == pytest.approx(parts["total"])


def test_no_drop_is_an_answer_not_an_error():
    spans, scores, _ = _frames(drop_from=999)
    inc = investigate(spans, scores)
    assert inc.drop is None
    assert inc.causes.empty
    assert inc.summary().startswith("No quality drop found")


def test_inputs_are_not_mutated_and_bad_input_is_named():
    spans, scores, _ = _frames()
    before_spans, before_scores = spans.copy(), scores.copy()
    investigate(spans, scores)
    pd.testing.assert_frame_equal(spans, before_spans)
    pd.testing.assert_frame_equal(scores, before_scores)
    with pytest.raises(ValueError, match="no time zone"):
        investigate(spans, scores, start="2024-01-05")
    with pytest.raises(ValueError, match="by='team'"):
        investigate(spans, scores, by="team")
    with pytest.raises(schema.SchemaError, match="start_time"):
        investigate(spans.drop(columns="start_time"), scores)


def test_public_name_is_callable_in_any_import_order():
    # the submodule is already imported (top of this file), which binds the
    # package attribute to the module; the call must still work
    spans, scores, _ = _frames()
    inc = llmdrift.investigate(spans, scores)
    assert isinstance(inc, llmdrift.Incident)
    assert inc.drop["intent"] == "a"


def test_demo_incident_carries_the_alerts(demo, demo_incident):
    truth = demo.truth
    alerts = demo_incident.alerts
    assert alerts is not None
    hash_alerts = alerts[alerts["rule"] == "prompt_hash_change"]
    assert len(hash_alerts) == 1
    assert truth.intent in hash_alerts["group"].iloc[0]
    assert abs(hash_alerts["time"].iloc[0] - truth.change_time) <= pd.Timedelta("2h")
    drops = alerts[alerts["rule"] == "quality_drop"]
    assert (drops["time"] >= truth.change_time).all()  # nothing before the change


def test_investigate_survives_failing_alerts(monkeypatch, caplog):
    import llmdrift.alerts

    def broken(*args, **kwargs):
        raise RuntimeError("rule table corrupt")

    monkeypatch.setattr(llmdrift.alerts, "evaluate_alerts", broken)
    spans, scores, _ = _frames()
    with caplog.at_level("WARNING", logger="llmdrift.investigate"):
        inc = investigate(spans, scores)
    assert inc.alerts is None
    assert inc.drop["intent"] == "a"
    assert "rule table corrupt" in caplog.text
    assert investigate(spans, scores, alerts=False).alerts is None


def test_runbook_source_reads_otlp_and_finds_the_change(tmp_path):
    """The runbook's third source: OTLP/JSON written by the real SDK, scored by
    the built-in checks, investigated end to end."""
    from otlp_fixtures import T0, one_span, request_of, sdk_spans, write_lines

    from llmdrift.investigate import load_source

    step = 30 * 60 * 10**9  # one request every 30 minutes per intent
    n_days, change_day = 21, 14

    def build(tracer):
        for i in range(n_days * 48):
            start = T0 + i * step
            for intent in ("a", "b"):
                broken = intent == "a" and i >= change_day * 48
                answer = (
                    "Category: billing, priority high."
                    if broken
                    else '{"category": "billing", "priority": "high"}'
                )
                one_span(
                    tracer,
                    "chat m",
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": "anthropic",
                        "gen_ai.request.model": "m",
                        "gen_ai.response.model": "m-1",
                        "gen_ai.usage.input_tokens": 100,
                        "gen_ai.usage.output_tokens": 20,
                        "llmdrift.intent": intent,
                        "llmdrift.prompt.template_hash": "h2" if broken else "h1",
                        "gen_ai.prompt": "classify this ticket",
                        "gen_ai.completion": answer,
                    },
                    start=start + (1 if intent == "b" else 0) * 10**9,
                    end=start + (2000 + 37 * (i % 7)) * 10**6,
                )

    path = write_lines(tmp_path / "traces.jsonl", [request_of(sdk_spans(build))])
    data = load_source(str(path))
    assert len(data.spans) == n_days * 48 * 2
    assert data.truth is None and data.deployments.empty
    inc = investigate(data.spans, data.scores, data.deployments, contents=data.contents)
    change = pd.Timestamp(T0 + change_day * 48 * step, tz="UTC")
    assert inc.drop["intent"] == "a"
    assert inc.drop["dimension"] == "valid_json"
    assert abs(inc.drop["time"] - change) <= DAY
    assert (round(inc.drop["mean_before"], 2), round(inc.drop["mean_after"], 2)) == (
        1.0,
        0.0,
    )
    top = inc.causes.iloc[0]
    assert (top["kind"], top["from_value"], top["to_value"]) == (
        "prompt_hash",
        "h1",
        "h2",
    )
    assert not bool(top["announced"])


def test_one_score_kind_per_dimension_by_default():
    spans, scores, _ = _frames()
    # a few human labels of the same requests, on another scale of strictness
    human = scores.iloc[::20].assign(kind="human", value=1.0)
    both = pd.concat([scores, human], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mix scores of several kinds"
        inc = investigate(spans, both)
    assert inc.score_kinds == {"format": "judge"}
    judged = investigate(spans, scores)
    pd.testing.assert_frame_equal(inc.series, judged.series)
    only_human = investigate(spans, both, kind="human")
    assert only_human.score_kinds == {"format": "human"}
