"""Alert rules: the demo story, each rule on a small synthetic history, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import llmdrift
from llmdrift.alerts import (
    ALERT_COLUMNS,
    default_rules,
    drop_monitor,
    evaluate_alerts,
    quality_drop_alerts,
)
from llmdrift.changepoint import cusum, cusum_threshold
from llmdrift.schema import SchemaError

DAY = pd.Timedelta("1D")
T0 = pd.Timestamp("2026-01-05", tz="UTC")


@pytest.fixture(scope="module")
def demo():
    from llmdrift.datasets.demo import load_demo

    return load_demo()


@pytest.fixture(scope="module")
def demo_alerts(demo):
    return evaluate_alerts(demo.spans, demo.scores, demo.deployments)


# ---------------------------------------------------------------------------
# the demo story


def test_demo_format_drop_fires_within_a_day(demo, demo_alerts):
    truth = demo.truth
    drops = demo_alerts[demo_alerts["rule"] == "quality_drop"]
    mine = drops[
        (drops["group"] == f"intent={truth.intent}")
        & (drops["dimension"] == truth.dimension)
    ]
    assert len(mine) == 1
    row = mine.iloc[0]
    assert truth.change_time < row["time"] <= truth.change_time + DAY
    # the estimated start is within a few hours of the true change
    assert abs(row["started"] - truth.change_time) < pd.Timedelta("6h")
    # reported size: the generator's drop is 4.43 -> 3.60 (-0.83); measured
    # from the estimated start up to the alarm, a few hours of it, it is
    # diluted by the rollout, but clearly a drop of more than 5%
    expected = truth.format_mean_after - truth.format_mean_before
    assert abs(row["baseline"] - truth.format_mean_before) < 0.1
    assert expected < row["change"] < 0.05 * expected
    low, high = [float(v) for v in _ci(row["evidence"])]
    assert low < row["change"] < high < 0


def _ci(evidence):
    part = evidence.split("95% CI ")[1].split(")")[0]
    return part.split(" to ")


def test_demo_unannounced_hash_change_fires(demo, demo_alerts):
    truth = demo.truth
    hashes = demo_alerts[demo_alerts["rule"] == "prompt_hash_change"]
    assert len(hashes) == 1
    row = hashes.iloc[0]
    assert row["group"] == f"service={truth.service}, intent={truth.intent}"
    assert truth.change_time <= row["time"] <= truth.rollout_end
    assert truth.old_hash in row["evidence"] and truth.new_hash in row["evidence"]


def test_demo_nothing_fires_for_deployment_or_mix_shift(demo, demo_alerts):
    truth = demo.truth
    # every alert is about the changed intent (or all intents), after the change
    assert (demo_alerts["time"] > truth.change_time).all()
    groups = set(demo_alerts["group"])
    assert not any(truth.mix_shift_intent in g for g in groups)
    assert set(demo_alerts["rule"]) == {"quality_drop", "prompt_hash_change"}
    # the overall (pooled) format mean does sag from the mix shift alone:
    # the per-intent and fixed-mix monitors did not take it for a drop
    sc = demo.scores[(demo.scores["dimension"] == "format")]
    sc = sc[sc["kind"] == "judge"]
    intent = sc["span_id"].map(demo.spans.set_index("span_id")["intent"])
    before = sc[sc["time"] < truth.deployment_time]
    late = sc[(sc["time"] >= truth.deployment_time) & (sc["time"] < truth.change_time)]
    assert late["value"].mean() < before["value"].mean()
    assert intent.notna().all()


def test_demo_status_and_columns(demo_alerts):
    assert list(demo_alerts.columns) == list(ALERT_COLUMNS)
    status = pd.DataFrame(demo_alerts.attrs["status"]).set_index("rule")
    assert status.loc["retrieval_drop", "status"] == "no retrieval scores"
    assert status["n_alerts"].sum() == len(demo_alerts)
    assert str(demo_alerts["time"].dtype) == "datetime64[ns, UTC]"


def test_rules_are_editable(demo):
    rules = default_rules()
    rules.loc[rules["rule"] == "prompt_hash_change", "enabled"] = False
    rules = rules[rules["rule"].isin(["prompt_hash_change", "hallucination_spike"])]
    out = evaluate_alerts(demo.spans, demo.scores, demo.deployments, rules=rules)
    assert len(out) == 0
    status = pd.DataFrame(out.attrs["status"]).set_index("rule")["status"]
    assert status["prompt_hash_change"] == "disabled"


def test_inputs_not_mutated(demo):
    spans = demo.spans.head(2000)
    scores = demo.scores[demo.scores["span_id"].isin(spans["span_id"])]
    before_spans, before_scores = spans.copy(), scores.copy()
    evaluate_alerts(spans, scores, demo.deployments)
    pd.testing.assert_frame_equal(spans, before_spans)
    pd.testing.assert_frame_equal(scores, before_scores)


# ---------------------------------------------------------------------------
# the CUSUM itself


def test_drop_monitor_matches_standard_cusum_on_equal_counts():
    """One group, constant counts: the LLR CUSUM is the standardised CUSUM."""
    rng = np.random.default_rng(5)
    days = 120
    n = np.full(days, 50.0)
    sd = 0.8
    level = np.where(np.arange(days) < 70, 4.0, 3.85)
    mean = rng.normal(level, sd / np.sqrt(n))
    std = np.full(days, sd)
    base_mean = mean[:28].mean()
    spread = math.sqrt(np.sum(50 * (mean[:28] - base_mean) ** 2) / 27)
    sigma = max(spread, sd)  # the dispersion factor is floored at 1
    k = 0.05 * base_mean * math.sqrt(50) / (2 * sigma)
    h = cusum_threshold(5000, k=k)
    for margin in (0.0, 1.0):
        alarms = drop_monitor(n, mean, std, np.arange(days), baseline=28, margin=margin)
        first = alarms[0]
        # the same with changepoint.cusum, from the same baseline estimates;
        # the reference level is lowered by `margin` standard errors
        target = base_mean - margin * sigma / math.sqrt(28 * 50)
        ref = cusum(
            mean[28:], weights=n[28:], target_mean=target, sigma=sigma, k=k, h=h
        )
        assert first["index"] == 28 + ref.alarms[0]
        assert first["index"] >= 70
        assert first["threshold"] == pytest.approx(2 * k * h)


def test_drop_monitor_bad_shapes():
    with pytest.raises(ValueError, match="one shape"):
        drop_monitor([1, 2], [1.0], [1.0], [0, 1])


def _series(days, means, counts, sd=0.9, start=T0):
    """A daily two-or-more-intent series frame from expected means and counts."""
    rng = np.random.default_rng(11)
    rows = []
    for intent, (mu, cnt) in enumerate(zip(means, counts, strict=True)):
        for d in range(days):
            n = int(cnt[d])
            m = rng.normal(mu[d], sd / math.sqrt(n)) if n else np.nan
            rows.append(
                dict(
                    window_start=start + d * DAY,
                    intent=f"i{intent}",
                    dimension="format",
                    n=n,
                    mean=m,
                    std=sd if n > 1 else np.nan,
                    sem=sd / math.sqrt(n) if n else np.nan,
                )
            )
    return pd.DataFrame(rows)


def test_mix_shift_is_not_a_quality_drop():
    days = 90
    share = np.linspace(0.1, 0.6, days)  # the low-quality intent grows
    counts = [np.round(400 * share), np.round(400 * (1 - share))]
    means = [np.full(days, 3.2), np.full(days, 4.4)]
    series = _series(days, means, counts)
    pooled = series.groupby("window_start").apply(
        lambda p: np.sum(p["n"] * p["mean"]) / p["n"].sum(), include_groups=False
    )
    # the pooled mean falls by far more than 5%...
    assert pooled.iloc[-7:].mean() < 0.9 * pooled.iloc[:28].mean()
    # ...and no monitor fires
    assert quality_drop_alerts(series).empty


def test_drop_in_one_intent_fires_there_and_not_elsewhere():
    days = 60
    counts = [np.full(days, 60), np.full(days, 300)]
    means = [np.where(np.arange(days) < 40, 4.2, 3.78), np.full(days, 4.0)]
    out = quality_drop_alerts(_series(days, means, counts))
    assert "intent=i0" in set(out["group"])
    assert "intent=i1" not in set(out["group"])
    first = out[out["group"] == "intent=i0"].iloc[0]
    assert T0 + 40 * DAY < first["time"] <= T0 + 43 * DAY
    assert first["change_pct"] == pytest.approx(-0.1, abs=0.05)


# ---------------------------------------------------------------------------
# hallucination, retrieval, cost per quality on small histories


def _spans(days, per_day, *, flagged=None, retrieval=None, cost=None, start=T0):
    rng = np.random.default_rng(3)
    rows = []
    for d in range(days):
        times = (
            start
            + d * DAY
            + pd.to_timedelta(np.sort(rng.uniform(0, 86_400, per_day)), unit="s")
        )
        frame = pd.DataFrame({"start_time": times})
        frame["span_id"] = [f"{d:04d}{i:06d}" for i in range(per_day)]
        frame["service"] = "api"
        frame["intent"] = "a"
        frame["span_kind"] = "llm"
        if flagged is not None:
            frame["flagged"] = np.arange(per_day) < flagged[d]
        if retrieval is not None:
            frame["span_kind"] = "retrieval"
            frame["retrieval_score"] = rng.normal(retrieval[d], 0.1, per_day)
        if cost is not None:
            frame["cost_usd"] = cost[d]
        rows.append(frame)
    spans = pd.concat(rows, ignore_index=True)
    spans["trace_id"] = spans["span_id"]
    for col in ("span_id", "trace_id", "service", "intent", "span_kind"):
        spans[col] = spans[col].astype("string")
    return spans


def _empty_scores():
    return pd.DataFrame(
        {
            "span_id": pd.Series(dtype="string"),
            "time": pd.Series(dtype="datetime64[ns, UTC]"),
            "dimension": pd.Series(dtype="string"),
            "value": pd.Series(dtype="float64"),
            "scorer": pd.Series(dtype="string"),
            "kind": pd.Series(dtype="string"),
        }
    )


def _only(rule):
    rules = default_rules()
    return rules[rules["rule"] == rule]


def test_hallucination_spike_exact_binomial():
    flags = np.full(40, 10)  # 1% of 1000 a day
    flags[35] = 40  # 4%: above 2x, and P(X >= 40 | n=1000, p=0.02) is tiny
    flags[37] = 25  # 2.5%: above 2x but not significantly above it
    spans = _spans(40, 1000, flagged=flags)
    out = evaluate_alerts(spans, _empty_scores(), rules=_only("hallucination_spike"))
    assert out["time"].tolist() == [T0 + 36 * DAY]
    row = out.iloc[0]
    assert row["observed"] == pytest.approx(0.04)
    # baseline: the 28 days before (all at 1%, since day 35 is the first spike)
    assert row["baseline"] == pytest.approx(0.01)
    # the p-value in the evidence, by the binomial tail summed independently
    tail = sum(
        math.comb(1000, k) * 0.02**k * 0.98 ** (1000 - k) for k in range(40, 1001)
    )
    p = float(row["evidence"].rsplit("p=", 1)[1])
    assert p == pytest.approx(tail, rel=0.01)
    tail_37 = sum(
        math.comb(1000, k) * 0.02**k * 0.98 ** (1000 - k) for k in range(25, 1001)
    )
    assert tail_37 > 0.001  # why day 37 did not fire


def test_hallucination_small_numbers_do_not_fire():
    flags = np.full(40, 1)  # 0.1% of 1000
    flags[35] = 4  # 4x the rate, but four flags: under min_count
    flags[36] = 5  # 5x, five flags; P(X >= 5 | p=0.002) = 0.053, not significant
    spans = _spans(40, 1000, flagged=flags)
    out = evaluate_alerts(spans, _empty_scores(), rules=_only("hallucination_spike"))
    assert out.empty


def test_retrieval_drop_fires_on_ten_percent_not_on_five():
    level = np.full(45, 0.80)
    level[38:] = 0.70  # -12.5%
    spans = _spans(45, 200, retrieval=level)
    out = evaluate_alerts(spans, _empty_scores(), rules=_only("retrieval_drop"))
    assert len(out) == 1
    row = out.iloc[0]
    assert T0 + 38 * DAY < row["time"] <= T0 + 41 * DAY
    assert row["dimension"] == "retrieval_score"
    assert row["change_pct"] <= -0.10
    small = level.copy()
    small[38:] = 0.76  # -5%: significant, but under the 10% threshold
    spans = _spans(45, 200, retrieval=small)
    assert evaluate_alerts(spans, _empty_scores(), rules=_only("retrieval_drop")).empty


def test_retrieval_spans_are_apart_from_generation():
    """Retrieval spans carry no generation scores, and the quality rule ignores them."""
    level = np.full(45, 0.80)
    level[38:] = 0.70
    spans = _spans(45, 50, retrieval=level)
    out = evaluate_alerts(spans, _empty_scores())
    assert set(out["rule"]) == {"retrieval_drop"}


def _format_4(spans):
    """A judge's format score of 4.0 on every span."""
    return pd.DataFrame(
        {
            "span_id": spans["span_id"],
            "time": spans["start_time"],
            "dimension": pd.array(["format"] * len(spans), dtype="string"),
            "value": 4.0,
            "scorer": pd.array(["j"] * len(spans), dtype="string"),
            "kind": pd.array(["judge"] * len(spans), dtype="string"),
        }
    )


def test_cost_per_quality_week_over_week():
    days = 35
    cost = np.full(days, 0.010)
    cost[21:28] = 0.014  # +40% in the 4th week (a Monday-start week)
    spans = _spans(days, 40, cost=cost)
    out = evaluate_alerts(spans, _format_4(spans), rules=_only("cost_per_quality"))
    assert len(out) == 1
    row = out.iloc[0]
    assert row["change_pct"] == pytest.approx(0.4)
    assert row["observed"] == pytest.approx(0.014 / 4.0)
    assert row["started"] == T0 + 21 * DAY
    assert row["time"] == T0 + 28 * DAY  # the end of the week
    assert "partial week" not in row["evidence"]


def test_cost_per_quality_in_the_week_the_data_ends_is_dated_at_its_end():
    """Found by the new-user trial: an alert on the last, partial week was
    dated at the week's end, days after the last span, where --since could
    not reach it."""
    days = 25  # weeks from T0 (a Monday): days 21-24 are a partial 4th week
    cost = np.full(days, 0.010)
    cost[21:] = 0.014
    spans = _spans(days, 40, cost=cost)
    out = evaluate_alerts(spans, _format_4(spans), rules=_only("cost_per_quality"))
    assert len(out) == 1
    row = out.iloc[0]
    assert row["started"] == T0 + 21 * DAY
    assert row["time"] == spans["start_time"].max()
    assert "a partial week, the data end" in row["evidence"]


# ---------------------------------------------------------------------------
# bad input


def test_naive_times_are_rejected(demo):
    spans = demo.spans.head(100).copy()
    spans["start_time"] = spans["start_time"].dt.tz_localize(None)
    with pytest.raises(SchemaError, match="start_time"):
        evaluate_alerts(spans, demo.scores.head(10))


def test_unknown_rule_is_named():
    rules = default_rules()
    rules.loc[0, "rule"] = "latency_spike"
    with pytest.raises(ValueError, match="latency_spike"):
        evaluate_alerts(_spans(2, 5), _empty_scores(), rules=rules)


def test_bad_window_is_named():
    rules = default_rules()
    rules.loc[rules["rule"] == "retrieval_drop", "window"] = "soon"
    level = np.full(10, 0.8)
    with pytest.raises(ValueError, match="retrieval_drop"):
        evaluate_alerts(_spans(10, 5, retrieval=level), _empty_scores(), rules=rules)


def test_false_alarm_rate_on_hourly_windows_is_about_arl0_days():
    """Hourly windows: arl0 is in days (not windows), and not wildly off."""
    rng = np.random.default_rng(7)
    p = np.array([0.01, 0.03, 0.10, 0.40, 0.46])
    levels = np.arange(1, 6)
    alarms, monitored = 0, 0
    for _ in range(20):
        days = 328
        hours = np.arange(days * 24)
        lam = 3.0 * (1 + 0.6 * np.sin(hours % 24 / 24 * 2 * np.pi))
        n = rng.poisson(lam)
        counts = rng.multinomial(n, p)
        with np.errstate(all="ignore"):
            mean = counts @ levels / n
            var = (counts @ levels**2 - n * mean**2) / (n - 1)
        sd = np.where(n > 1, np.sqrt(np.clip(var, 0, None)), np.nan)
        found = drop_monitor(
            n, np.where(n > 0, mean, np.nan), sd, hours // 24, arl0=100
        )
        alarms += len(found)
        monitored += days - 28
    nominal = monitored / 100
    # the margin and the re-learnt baselines make it rarer than nominal; an
    # arl0 counted in hourly windows would give ~190 alarms here
    assert 0.15 * nominal <= alarms <= 1.5 * nominal


def test_two_group_columns_label_both():
    days = 60
    counts = [np.full(days, 60), np.full(days, 300)]
    means = [np.where(np.arange(days) < 40, 4.2, 3.78), np.full(days, 4.0)]
    series = _series(days, means, counts)
    series.insert(1, "service", "api")
    out = quality_drop_alerts(series)
    assert "service" in out.columns and set(out["service"]) == {"api"}
    assert "intent=i0" in set(out["group"])


def test_all_scores_failed_gives_no_alert_and_no_crash():
    from llmdrift.datasets import load_demo

    demo = load_demo(days=4, requests_per_day=150)
    failed = demo.scores.assign(value=np.nan)
    out = llmdrift.evaluate_alerts(demo.spans, failed, demo.deployments)
    assert not (out["rule"] == "quality_drop").any()
    assert not (out["rule"] == "cost_per_quality").any()


def test_results_of_two_runs_concatenate():
    # pandas compares .attrs with == when it concatenates; a frame stored there
    # made pd.concat of two results raise "truth value ... is ambiguous"
    from llmdrift.datasets import load_demo

    demo = load_demo(days=4, requests_per_day=150)
    a = llmdrift.evaluate_alerts(demo.spans, demo.scores, demo.deployments)
    both = pd.concat([a, a.copy()])
    assert len(both) == 2 * len(a)
    series = llmdrift.quality_series(demo.spans, demo.scores, kind="judge")
    found = llmdrift.changepoints(series)
    assert len(pd.concat([found, found])) == 2 * len(found)
    assert set(pd.DataFrame(found.attrs["status"])["dimension"]) == {
        "format",
        "relevance",
        "coherence",
    }


# ---------------------------------------------------------------------------
# trial: a baseline without spread, one score an hour, a short history


def _hourly(values, intent="a", start=T0, extra=None):
    """Spans and judge scores, one an hour, with the given values."""
    t = start + pd.to_timedelta(np.arange(len(values)), unit="h")
    ids = [f"{intent}{i:015x}" for i in range(len(values))]
    spans = pd.DataFrame(
        {"span_id": ids, "trace_id": ids, "start_time": t, "intent": intent}
    )
    for column, value in (extra or {}).items():
        spans[column] = value
    scores = pd.DataFrame(
        {
            "span_id": ids,
            "time": t,
            "dimension": "format",
            "value": np.asarray(values, dtype=float),
            "scorer": "j",
            "kind": "judge",
        }
    )
    return spans, scores


def _status(alerts) -> dict:
    return {r["rule"]: r for r in alerts.attrs["status"]}


def test_drop_from_a_constant_baseline_fires_when_the_binomial_floor_says():
    """A pass rate of exactly 1.0 for 35 days, then 0.0: the zero-variance
    baseline left the group unwatched, so the clearest drop never fired."""
    hours_before = 35 * 24
    spans, scores = _hourly([1.0] * hours_before + [0.0] * (5 * 24))
    out = evaluate_alerts(spans, scores, None, default_rules())
    drops = out[out["rule"] == "quality_drop"]
    assert len(drops) == 1
    # the documented floor: the binomial variance of a pass rate dropped by
    # 5%, shift (1 - shift) level**2; the CUSUM gains d/var (ref - 0 - d/2)
    # per failing hour, ref the level less one standard error of it
    shift, level = 0.05, 1.0
    var = shift * (1 - shift) * level**2
    d = shift * level
    baseline_scores = 28 * 24  # the first 28 days: one score an hour
    ref = level - math.sqrt(var / baseline_scores)
    gain = d / var * (ref - 0.0 - d / 2)
    k = round(d * math.sqrt(1.0) / (2 * math.sqrt(var)), 4)
    big_h = 2 * k * cusum_threshold(5000 * 24, k=k)
    hours = math.floor(big_h / gain) + 1
    assert drops["time"].iloc[0] == T0 + 35 * DAY + hours * pd.Timedelta("1h")
    assert drops["observed"].iloc[0] == 0.0 and drops["baseline"].iloc[0] == 1.0
    assert "held no spread" in drops["evidence"].iloc[0]


def test_constant_baseline_that_stays_or_has_one_odd_score_is_quiet():
    steady, steady_scores = _hourly([1.0] * (40 * 24))
    assert evaluate_alerts(steady, steady_scores).query("rule == 'quality_drop'").empty
    # one failing score after 840 passes is weak evidence under the floor
    values = [1.0] * (40 * 24)
    values[35 * 24] = 0.0
    spans, scores = _hourly(values)
    out = evaluate_alerts(spans, scores)
    assert out[out["rule"] == "quality_drop"].empty
    assert _status(out)["quality_drop"]["status"] == "ran"


def test_one_score_per_hour_is_watched():
    """Windows of one score have no standard deviation: the pooled spread was
    NaN and the group was silently not watched."""
    rng = np.random.default_rng(3)
    before = (rng.random(35 * 24) < 0.97).astype(float)
    after = (rng.random(5 * 24) < 0.5).astype(float)
    spans, scores = _hourly(np.r_[before, after])
    out = evaluate_alerts(spans, scores)
    drops = out[out["rule"] == "quality_drop"]
    assert len(drops) == 1
    assert T0 + 35 * DAY < drops["time"].iloc[0] <= T0 + 36 * DAY
    assert drops["baseline"].iloc[0] == pytest.approx(before[: 28 * 24].mean())


def test_short_history_is_not_enough_history_not_a_quiet_run():
    days = 10
    spans, scores = _hourly(
        [1.0] * (days * 24),
        extra={"service": "api", "flagged": False, "retrieval_score": 0.8},
    )
    status = _status(evaluate_alerts(spans, scores))
    end = T0 + (days - 1) * DAY
    span = f"({T0:%Y-%m-%d} to {end:%Y-%m-%d})"
    assert status["quality_drop"]["status"] == (
        f"not enough history: intent=a, format has {days} day(s) of scores {span}; "
        "the rule needs at least 29 days (28 to learn the baseline, then the "
        "days it watches)"
    )
    assert status["retrieval_drop"]["status"].startswith(
        f"not enough history: service=api has {days} day(s) of retrieval scores"
    )
    assert "needs at least 31 days" in status["retrieval_drop"]["status"]
    assert "needs at least 29 days" in status["hallucination_spike"]["status"]
    for rule in ("quality_drop", "retrieval_drop", "hallucination_spike"):
        assert status[rule]["n_alerts"] == 0


def test_a_group_too_young_to_watch_is_named_and_a_late_group_is_watched():
    old_spans, old_scores = _hourly([4.0, 5.0] * (20 * 24), intent="a")
    # b starts 30 days in: 10 days of history, too few for a 28-day baseline
    young_spans, young_scores = _hourly(
        [4.0, 5.0] * (5 * 24), intent="b", start=T0 + 30 * DAY
    )
    spans = pd.concat([old_spans, young_spans], ignore_index=True)
    scores = pd.concat([old_scores, young_scores], ignore_index=True)
    status = _status(evaluate_alerts(spans, scores))["quality_drop"]
    assert status["status"] == "ran"
    assert status["detail"].startswith(
        "not evaluated for 1 of 2 series (group x dimension): intent=b, format "
        "(not enough history: 10 day(s) of scores"
    )
    # c starts 10 days in and drops 40 days later: its baseline is its own
    # first 28 days (the first 28 days of the data held none of its scores)
    late = [4.0, 5.0] * (20 * 24) + [2.0] * (10 * 24)
    late_spans, late_scores = _hourly(late, intent="c", start=T0 + 10 * DAY)
    spans = pd.concat([old_spans, late_spans], ignore_index=True)
    scores = pd.concat([old_scores, late_scores], ignore_index=True)
    out = evaluate_alerts(spans, scores)
    fired = out[(out["rule"] == "quality_drop") & (out["group"] == "intent=c")]
    assert len(fired) == 1
    assert T0 + 50 * DAY < fired["time"].iloc[0] <= T0 + 51 * DAY
    assert fired["baseline"].iloc[0] == pytest.approx(4.5)


def test_empty_rule_table_is_refused():
    with pytest.raises(ValueError, match="rules frame holds no rules"):
        evaluate_alerts(*_hourly([1.0] * 48), rules=default_rules().iloc[:0])


# ---------------------------------------------------------------------------
# trial: scores with no span, a pause in traffic, an unknown spread, a
# baseline that ends the series, a group whose scores all failed


def test_scores_with_no_span_form_no_group_and_are_counted():
    """Scores whose span_id matched no span became an 'intent=nan' group that
    fired quality_drop, with status 'ran' and no warning."""
    from llmdrift.schema import LlmdriftWarning

    rng = np.random.default_rng(5)
    hours = 40 * 24
    good = (rng.random(hours) < 0.9).astype(float)
    spans, scores = _hourly(good)
    # the same traffic again, its span ids unknown to the spans, dropping
    # to a pass rate of 0.5 in the last 5 days
    lost = np.r_[(rng.random(35 * 24) < 0.9), (rng.random(5 * 24) < 0.5)]
    orphans = scores.assign(span_id="x" + scores["span_id"], value=lost.astype(float))
    both = pd.concat([scores, orphans], ignore_index=True)
    with pytest.warns(LlmdriftWarning, match=f"{hours} of {2 * hours} judge scores"):
        out = evaluate_alerts(spans, both, rules=_only("quality_drop"))
    assert out.empty  # before: alerts on intent=nan and intent=all
    status = _status(out)["quality_drop"]
    assert status["status"] == "ran"
    assert status["detail"].startswith(
        f"{hours} of {2 * hours} judge scores left out: {hours} match no span "
        f"(their span_id is not in the spans, e.g. 'x{scores['span_id'][0]}')"
    )
    # every score without a span: the rule says so instead of running
    with pytest.warns(LlmdriftWarning):
        out = evaluate_alerts(spans.iloc[:0], orphans, rules=_only("quality_drop"))
    assert out.empty
    assert _status(out)["quality_drop"]["status"].startswith(
        f"no judge score belongs to a group: {hours} of {hours} judge scores left "
        f"out: {hours} match no span"
    )


def test_a_drop_with_some_spans_missing_is_pinned_on_the_real_intent():
    rng = np.random.default_rng(6)
    values = np.r_[rng.random(35 * 24) < 0.9, rng.random(5 * 24) < 0.5]
    spans, scores = _hourly(values.astype(float))
    # every third score's span is missing from the spans
    missing = np.arange(len(spans)) % 3 == 0
    with pytest.warns(Warning, match=f"{int(missing.sum())} match no span"):
        out = evaluate_alerts(spans[~missing], scores, rules=_only("quality_drop"))
    assert out["group"].tolist() == ["intent=a"]  # before: intent=nan first
    # a span with no intent: its scores are left out too, by name
    spans = spans.assign(intent=np.where(missing, None, spans["intent"]))
    with pytest.warns(Warning):
        out = evaluate_alerts(spans, scores, rules=_only("quality_drop"))
    assert out["group"].tolist() == ["intent=a"]
    assert (
        f"{int(missing.sum())} have no intent (a missing value)"
        in (_status(out)["quality_drop"]["detail"])
    )


def test_quality_drop_alerts_leaves_windows_without_a_group_out():
    days = 40
    s = pd.DataFrame(
        {
            "window_start": pd.date_range(T0, periods=days, freq="D"),
            "intent": "a",
            "dimension": "format",
            "n": 80,
            "mean": 4.0,
            "std": 0.9,
            "sem": 0.1,
        }
    )
    # the windows with no intent drop from 4.0 to 3.0 in the last 5 days
    lost = s.assign(intent=np.nan, mean=np.r_[np.full(35, 4.0), np.full(5, 3.0)])
    out = quality_drop_alerts(pd.concat([s, lost], ignore_index=True))
    assert out.empty  # the drop is only in the windows with no intent
    records = {r["group"]: r for r in out.attrs["status"]}
    assert records["intent=<missing>"]["status"] == "no group"
    assert records["intent=<missing>"]["detail"].startswith(
        f"{80 * days} scores have no intent (a missing value); they are left out"
    )
    assert records["intent=a"]["status"] == "watched"


def _gap_series(gap_days, last_mean=23 / 24, per_day=24):
    """Daily windows: 35 days of `per_day` scores at 1.0, `gap_days` empty
    days, then one day of `per_day` scores at `last_mean`."""
    days = pd.date_range(T0, periods=35 + gap_days + 1, freq="D")
    n = np.r_[np.full(35, per_day), np.zeros(gap_days), per_day].astype(np.int64)
    mean = np.r_[np.ones(35), np.full(gap_days, np.nan), last_mean]
    p = last_mean
    std = np.r_[np.zeros(35), np.full(gap_days, np.nan), math.sqrt(p * (1 - p))]
    return pd.DataFrame(
        {
            "window_start": days,
            "intent": "a",
            "dimension": "pass",
            "n": n,
            "mean": mean,
            "std": std,
            "sem": std / math.sqrt(per_day),
        }
    )


@pytest.mark.parametrize("gap", [0, 27, 28, 40, 300])
def test_one_low_score_after_a_pause_is_not_an_alarm(gap):
    """After 28 days or more without traffic the threshold was 0 ('CUSUM 0.2 >
    0.0'): one failing score out of 24 fired."""
    assert quality_drop_alerts(_gap_series(gap)).empty


def test_a_real_drop_after_a_pause_fires_at_the_baseline_threshold():
    out = quality_drop_alerts(_gap_series(40, last_mean=0.5))
    assert len(out) == 1
    # the threshold from the baseline's traffic: 24 scores a day, a floored
    # variance shift (1 - shift) level^2 at level 1, daily windows
    shift = 0.05
    var = shift * (1 - shift)
    k = shift * math.sqrt(24) / (2 * math.sqrt(var))
    big_h = 2 * k * cusum_threshold(5000, k=k)
    assert big_h > 5
    assert f"> {big_h:.1f} (log-likelihood" in out["evidence"].iloc[0]


def test_one_failing_score_a_year_later_fires_nothing():
    values = [1.0] * (35 * 24) + [0.0]
    spans, scores = _hourly(values)
    late = pd.Timedelta("365D")
    spans.loc[spans.index[-1], "start_time"] += late
    scores.loc[scores.index[-1], "time"] += late
    out = evaluate_alerts(spans, scores)
    assert out[out["rule"] == "quality_drop"].empty  # before: 2 alerts


def _unknown_spread_series(seed, std_known):
    """One window of 30 scores (mean 0.8), 27 empty days, then 20 days of 50
    pass/fail scores at 0.8."""
    rng = np.random.default_rng(seed)
    n = np.r_[30, np.zeros(27), np.full(20, 50)].astype(np.int64)
    mean = np.r_[0.8, np.full(27, np.nan), rng.binomial(50, 0.8, 20) / 50]
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt(mean * (1 - mean) * n / (n - 1))
    if not std_known:
        std[0] = np.nan
    return pd.DataFrame(
        {
            "window_start": pd.date_range(T0, periods=len(n), freq="D"),
            "intent": "a",
            "dimension": "pass",
            "n": n,
            "mean": mean,
            "std": std,
            "sem": std / np.sqrt(np.maximum(n, 1)),
        }
    )


def test_an_unknown_spread_is_not_taken_as_no_spread():
    """A baseline window with std NaN was taken as 'no spread': 5 false alarms
    in 20 seeds (0 with the std given), their evidence saying 'every score
    equal'."""
    unknown = [
        len(quality_drop_alerts(_unknown_spread_series(s, False))) for s in range(20)
    ]
    known = [
        len(quality_drop_alerts(_unknown_spread_series(s, True))) for s in range(20)
    ]
    assert sum(unknown) == 0 and sum(known) == 0


def test_a_spread_that_stays_unknown_is_named_in_the_status():
    # one window of 50 scores a week, std NaN: 4 windows in any 28 days
    weeks = 10
    n = np.zeros(7 * weeks, dtype=np.int64)
    n[::7] = 50
    mean = np.where(n > 0, 0.8, np.nan)
    s = pd.DataFrame(
        {
            "window_start": pd.date_range(T0, periods=len(n), freq="D"),
            "intent": "a",
            "dimension": "pass",
            "n": n,
            "mean": mean,
            "std": np.nan,
            "sem": np.nan,
        }
    )
    out = quality_drop_alerts(s)
    (record,) = out.attrs["status"]
    assert record["status"] == "spread unknown"
    assert record["detail"].startswith(
        "the spread of the scores is unknown: the baseline's windows of several "
        "scores have no standard deviation (std is NaN), and only 4 window(s) "
        "hold scores, too few to estimate it from the window means (that needs 10)"
    )


def test_equal_window_means_without_std_do_not_claim_every_score_equal():
    # 30 daily windows of 40 scores, mean exactly 0.8, std not given; then 0.4
    n = np.full(33, 40)
    mean = np.r_[np.full(30, 0.8), np.full(3, 0.4)]
    s = pd.DataFrame(
        {
            "window_start": pd.date_range(T0, periods=len(n), freq="D"),
            "intent": "a",
            "dimension": "pass",
            "n": n,
            "mean": mean,
            "std": np.nan,
            "sem": np.nan,
        }
    )
    out = quality_drop_alerts(s)
    assert len(out) == 1
    text = out["evidence"].iloc[0]
    assert "every score equal" not in text
    assert (
        "the baseline held no spread (every window mean equal; the windows gave "
        "no standard deviation)" in text
    )


def test_a_baseline_that_ends_the_series_is_not_called_zero_level():
    """One score a day at 0.9 for 40 days, then 100 in a day: the status said
    'zero level: the baseline mean is 0'."""
    days = pd.date_range(T0, periods=41, freq="D")
    n = np.r_[np.ones(40), 100].astype(np.int64)
    s = pd.DataFrame(
        {
            "window_start": days,
            "intent": "a",
            "dimension": "format",
            "n": n,
            "mean": 0.9,
            "std": np.where(n > 1, 0.3, np.nan),
            "sem": np.nan,
        }
    )
    (record,) = quality_drop_alerts(s).attrs["status"]
    assert record["status"] == "not enough history"
    # the first 28 days holding 30 scores: 27 single days and the last day
    first = days[40 - 27]
    assert record["detail"] == (
        f"41 day(s) of scores ({days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d}), but the "
        f"first 28 days holding 30 scores (the rule's min_count 30) run from "
        f"{first:%Y-%m-%d} to {days[-1]:%Y-%m-%d}, the end of the series: not "
        "enough history after the first usable baseline; the rule watches the "
        f"days after it, so it needs scores after {days[-1]:%Y-%m-%d}"
    )


def test_a_group_whose_scores_all_failed_is_named():
    a_spans, a_scores = _hourly([4.0, 5.0] * (20 * 24), intent="a")
    b_spans, b_scores = _hourly([np.nan] * (40 * 24), intent="b")
    spans = pd.concat([a_spans, b_spans], ignore_index=True)
    scores = pd.concat([a_scores, b_scores], ignore_index=True)
    status = _status(evaluate_alerts(spans, scores))["quality_drop"]
    assert status["status"] == "ran"
    assert status["detail"] == (
        "not evaluated for 1 of 2 series (group x dimension): intent=b, format "
        f"(every score failed: all {40 * 24} scores are missing (NaN: the scorer "
        "failed); see the scores' error column)"
    )
