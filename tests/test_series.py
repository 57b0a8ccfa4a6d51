"""Tests of llmdrift.series against independent pandas computations."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import llmdrift
from llmdrift.schema import SchemaError
from llmdrift.series import (
    calendar_windows,
    combine_groups,
    mix_decomposition,
    quality_series,
    rolling_series,
    span_series,
)

BERLIN = "Europe/Berlin"
INTENTS = ["billing", "search", "code"]


def _scores_and_spans(seed=0, days=("2026-03-20", "2026-04-05"), skip=()):
    """Random scores at random instants, with an intent per span.

    ``skip`` lists Berlin calendar dates that get no traffic at all.
    """
    rng = np.random.default_rng(seed)
    lo = pd.Timestamp(days[0], tz=BERLIN)
    hi = pd.Timestamp(days[1], tz=BERLIN)
    count = 3000
    offsets = rng.uniform(0, (hi - lo).total_seconds(), count)
    times = (lo + pd.to_timedelta(offsets, unit="s")).tz_convert("UTC")
    local = times.tz_convert(BERLIN).date
    keep = ~np.isin(np.array([str(d) for d in local]), list(skip))
    times = times[keep]
    n = len(times)
    ids = [f"s{i}" for i in range(n)]
    intent = rng.choice(INTENTS, n, p=[0.5, 0.3, 0.2])
    base = pd.Series(intent).map({"billing": 4.0, "search": 3.0, "code": 2.0})
    value = np.clip(np.round(base.to_numpy() + rng.normal(0, 1, n)), 1, 5)
    spans = pd.DataFrame(
        {
            "span_id": pd.array(ids, dtype="string"),
            "start_time": times,
            "intent": pd.array(intent, dtype="string"),
            "duration_ms": rng.gamma(2.0, 300.0, n),
            "status": pd.array(
                rng.choice(["ok", "error"], n, p=[0.95, 0.05]), dtype="string"
            ),
        }
    )
    scores = pd.DataFrame(
        {
            "span_id": pd.array(ids, dtype="string"),
            "time": times,
            "dimension": pd.array(["format"] * n, dtype="string"),
            "value": value.astype("float64"),
            "scorer": pd.array(["judge-v1"] * n, dtype="string"),
            "kind": pd.array(["judge"] * n, dtype="string"),
        }
    )
    return spans, scores


def _pandas_daily(scores, tz, keys=()):
    """Independent daily aggregation: group by local calendar date."""
    frame = scores.copy()
    frame["date"] = frame["time"].dt.tz_convert(tz).dt.date
    return (
        frame.groupby(list(keys) + ["date"])["value"]
        .agg(n="count", mean="mean", std=lambda v: v.std(ddof=1))
        .reset_index()
    )


# ---------------------------------------------------------------------------
# calendar windows in a time zone


def test_calendar_days_across_both_dst_changes_are_23_and_25_hours():
    w = calendar_windows(
        pd.Timestamp("2026-03-28 12:00", tz="UTC"),
        pd.Timestamp("2026-10-26 12:00", tz="UTC"),
        tz=BERLIN,
    )
    hours = (w["window_end"] - w["window_start"]) / pd.Timedelta("1h")
    local = w["window_start"].dt.tz_convert(BERLIN)
    # every window starts at a Berlin midnight and ends where the next starts
    assert (local.dt.hour == 0).all() and (local.dt.minute == 0).all()
    assert (w["window_end"].iloc[:-1].to_numpy() == w["window_start"].iloc[1:]).all()
    by_date = dict(zip(local.dt.strftime("%Y-%m-%d"), hours, strict=True))
    assert by_date["2026-03-29"] == 23.0
    assert by_date["2026-10-25"] == 25.0
    assert by_date["2026-03-28"] == 24.0
    assert (hours[(hours != 23) & (hours != 25)] == 24).all()


def test_quality_series_daily_windows_match_pandas_local_dates():
    spans, scores = _scores_and_spans(seed=1)
    before = scores.copy()
    s = quality_series(spans, scores, tz=BERLIN)
    pd.testing.assert_frame_equal(scores, before)  # caller's frame untouched
    expected = _pandas_daily(scores, BERLIN)
    local = s["window_start"].dt.tz_convert(BERLIN)
    assert (local.dt.hour == 0).all()
    got = s.assign(date=local.dt.date)
    merged = expected.merge(got, on="date", suffixes=("_pd", ""))
    assert len(merged) == len(expected) == len(s)
    assert (merged["n"] == merged["n_pd"]).all()
    np.testing.assert_allclose(merged["mean"], merged["mean_pd"], rtol=1e-12)
    np.testing.assert_allclose(merged["std"], merged["std_pd"], rtol=1e-10)
    np.testing.assert_allclose(
        merged["sem"], merged["std_pd"] / np.sqrt(merged["n_pd"]), rtol=1e-10
    )
    assert s.attrs["tz"] == BERLIN and s.attrs["freq"] == "D"


def test_utc_and_local_days_differ_so_the_time_zone_is_honoured():
    spans, scores = _scores_and_spans(seed=2)
    utc = quality_series(None, scores, tz="UTC")
    local = quality_series(None, scores, tz=BERLIN)
    exp_utc = _pandas_daily(scores, "UTC")
    assert utc["n"].tolist() == exp_utc["n"].tolist()
    assert utc["n"].tolist() != local["n"].tolist()


def test_day_without_traffic_stays_as_a_gap_row():
    spans, scores = _scores_and_spans(seed=3, skip=("2026-03-25", "2026-03-26"))
    s = quality_series(spans, scores, tz=BERLIN)
    dates = s["window_start"].dt.tz_convert(BERLIN).dt.strftime("%Y-%m-%d")
    gap = s[dates.isin(["2026-03-25", "2026-03-26"])]
    assert len(gap) == 2
    assert (gap["n"] == 0).all() and gap["mean"].isna().all()
    # consecutive calendar days, none missing
    assert (pd.to_datetime(dates).diff().dropna() == pd.Timedelta("1D")).all()


def test_rolling_seven_days_across_dst_and_gap_hold_exactly_seven_days():
    spans, scores = _scores_and_spans(seed=4, skip=("2026-03-31",))
    daily = quality_series(spans, scores, tz=BERLIN)
    r = rolling_series(daily, window="7D")
    first = r["window_start"].dt.tz_convert(BERLIN)
    last = r["window_end"].dt.tz_convert(BERLIN)
    # always 7 local calendar days, whatever the hours (167 over the DST day)
    assert ((last.dt.tz_localize(None) - first.dt.tz_localize(None)).dt.days == 7).all()
    hours = (r["window_end"] - r["window_start"]) / pd.Timedelta("1h")
    spans_dst = first.dt.strftime("%Y-%m-%d").between("2026-03-23", "2026-03-29")
    assert set(hours[spans_dst]) == {167.0}
    assert set(hours[~spans_dst]) == {168.0}
    # pooled values equal the raw scores of those 7 local days (pandas, directly)
    for _, row in r.iterrows():
        inside = scores[
            (scores["time"] >= row["window_start"])
            & (scores["time"] < row["window_end"])
        ]["value"]
        assert row["n"] == len(inside)
        assert row["mean"] == pytest.approx(inside.mean(), rel=1e-12)
        assert row["std"] == pytest.approx(inside.std(ddof=1), rel=1e-9)
    with_gap = first.dt.strftime("%Y-%m-%d").between("2026-03-25", "2026-03-31")
    assert (r.loc[with_gap, "n_windows"] == 6).all()
    assert (r.loc[~with_gap, "n_windows"] == 7).all()


def test_hourly_windows_match_pandas_floor():
    _, scores = _scores_and_spans(seed=5, days=("2026-03-28", "2026-03-30"))
    s = quality_series(None, scores, freq="h")
    hour = scores["time"].dt.floor("h")
    exp = scores.groupby(hour)["value"].agg(["count", "mean"])
    got = s.set_index("window_start")
    got = got[got["n"] > 0]
    assert got["n"].tolist() == exp["count"].tolist()
    np.testing.assert_allclose(got["mean"], exp["mean"], rtol=1e-12)


# ---------------------------------------------------------------------------
# per-intent series, weighting by n, combination


def test_per_intent_series_from_spans_match_pandas_groupby():
    spans, scores = _scores_and_spans(seed=6)
    s = quality_series(spans, scores, by=["intent"], tz=BERLIN)
    joined = scores.merge(spans[["span_id", "intent"]], on="span_id")
    exp = _pandas_daily(joined, BERLIN, keys=["intent"])
    got = s.assign(date=s["window_start"].dt.tz_convert(BERLIN).dt.date)
    merged = exp.merge(got, on=["intent", "date"], suffixes=("_pd", ""))
    assert len(merged) == len(exp)
    assert (merged["n"] == merged["n_pd"]).all()
    np.testing.assert_allclose(merged["mean"], merged["mean_pd"], rtol=1e-12)


def test_combined_by_n_is_the_mean_of_all_scores_not_the_mean_of_means():
    spans, scores = _scores_and_spans(seed=7)
    per_intent = quality_series(spans, scores, by="intent", tz=BERLIN)
    combined = combine_groups(per_intent, group="intent", weights="n")
    overall = quality_series(spans, scores, tz=BERLIN)
    assert combined["n"].tolist() == overall["n"].tolist()
    np.testing.assert_allclose(combined["mean"], overall["mean"], rtol=1e-12)
    # and that differs from the plain mean of the intent means
    plain = per_intent.groupby("window_start")["mean"].mean().to_numpy()
    assert np.max(np.abs(plain - overall["mean"].to_numpy())) > 0.05


def test_combined_with_fixed_and_traffic_weights_by_hand():
    day = pd.Timestamp("2026-03-01", tz="UTC")
    days = [day, day + pd.Timedelta("1D")]
    s = pd.DataFrame(
        {
            "window_start": [days[0]] * 2 + [days[1]] * 2,
            "intent": ["a", "b", "a", "b"],
            "dimension": "format",
            "n": [30, 10, 0, 5],
            "mean": [4.0, 2.0, np.nan, 3.0],
            "std": [1.0, 2.0, np.nan, 1.0],
            "sem": [1 / 30**0.5, 2 / 10**0.5, np.nan, 1 / 5**0.5],
        }
    ).astype({"intent": "string", "dimension": "string"})
    fixed = combine_groups(s, weights={"a": 0.2, "b": 0.8})
    # 0.2 * 4 + 0.8 * 2; day 2 lacks scores of a (weight > 0): undefined
    assert fixed["mean"].iloc[0] == pytest.approx(0.2 * 4 + 0.8 * 2)
    assert np.isnan(fixed["mean"].iloc[1])
    assert fixed["sem"].iloc[0] == pytest.approx(
        np.sqrt(0.2**2 * 1 / 30 + 0.8**2 * 4 / 10)
    )
    traffic = pd.DataFrame(
        {"window_start": [days[0]] * 2, "intent": ["a", "b"], "n_requests": [900, 100]}
    )
    by_traffic = combine_groups(s[s["window_start"] == days[0]], weights=traffic)
    assert by_traffic["mean"].iloc[0] == pytest.approx((900 * 4 + 100 * 2) / 1000)
    assert by_traffic["n"].iloc[0] == 40
    by_n = combine_groups(s)
    assert by_n["mean"].tolist() == pytest.approx([(30 * 4 + 10 * 2) / 40, 3.0])


def test_traffic_weights_from_span_series():
    spans, scores = _scores_and_spans(seed=8)
    per_intent = quality_series(spans, scores, by="intent")
    traffic = span_series(spans, by="intent")
    combined = combine_groups(per_intent, weights=traffic)
    # hand computation with pandas: per day, requests-weighted intent means
    m = per_intent.merge(traffic, on=["window_start", "intent"])
    m["wx"] = m["mean"] * m["n_requests"]
    g = m.groupby("window_start")
    exp = g["wx"].sum() / g["n_requests"].sum()
    np.testing.assert_allclose(combined["mean"], exp.to_numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------
# mix decomposition


def _two_period_series(means_before, means_after, shares_before, shares_after):
    t = pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True)
    rows = []
    for day, means, shares in (
        (t[0], means_before, shares_before),
        (t[1], means_after, shares_after),
    ):
        for g in means:
            rows.append(
                dict(
                    window_start=day,
                    intent=g,
                    dimension="format",
                    n=int(shares[g] * 1000),
                    mean=means[g],
                    std=1.0,
                    sem=1 / np.sqrt(shares[g] * 1000),
                )
            )
    frame = pd.DataFrame(rows).astype({"intent": "string", "dimension": "string"})
    return frame, (t[0], t[1]), (t[1], t[1] + pd.Timedelta("1D"))


def test_pure_mix_shift_has_no_within_part():
    means = {"a": 4.5, "b": 3.0, "c": 2.0}
    s, before, after = _two_period_series(
        means, means, {"a": 0.6, "b": 0.3, "c": 0.1}, {"a": 0.2, "b": 0.3, "c": 0.5}
    )
    d = mix_decomposition(s, before=before, after=after).iloc[0]
    exact = (0.2 * 4.5 + 0.3 * 3 + 0.5 * 2) - (0.6 * 4.5 + 0.3 * 3 + 0.1 * 2)
    assert d["change"] == pytest.approx(exact)
    assert d["within"] == pytest.approx(0.0, abs=1e-12)
    assert d["mix"] == pytest.approx(exact)


def test_pure_quality_change_has_no_mix_part():
    shares = {"a": 0.5, "b": 0.5}
    s, before, after = _two_period_series(
        {"a": 4.0, "b": 3.0}, {"a": 3.0, "b": 3.0}, shares, shares
    )
    d = mix_decomposition(s, before=before, after=after).iloc[0]
    assert d["change"] == pytest.approx(-0.5)
    assert d["within"] == pytest.approx(-0.5)
    assert d["mix"] == pytest.approx(0.0, abs=1e-12)


def test_decomposition_parts_sum_to_raw_change_on_simulated_scores():
    spans, scores = _scores_and_spans(seed=9)
    per_intent = quality_series(spans, scores, by="intent", tz=BERLIN)
    cut = pd.Timestamp("2026-03-28", tz=BERLIN)
    lo = pd.Timestamp("2026-03-20", tz=BERLIN)
    hi = pd.Timestamp("2026-04-05", tz=BERLIN)
    d = mix_decomposition(per_intent, before=(lo, cut), after=(cut, hi)).iloc[0]
    raw = scores["value"].groupby(scores["time"] >= cut).mean()
    assert d["mean_before"] == pytest.approx(raw[False], rel=1e-12)
    assert d["mean_after"] == pytest.approx(raw[True], rel=1e-12)
    assert d["within"] + d["mix"] == pytest.approx(d["change"], abs=1e-12)
    detail = mix_decomposition(
        per_intent, before=(lo, cut), after=(cut, hi), detail=True
    )
    assert detail["within"].sum() == pytest.approx(d["within"], abs=1e-12)
    assert detail["share_before"].sum() == pytest.approx(1.0)


# ---------------------------------------------------------------------------
# bad input


def test_naive_times_are_rejected():
    _, scores = _scores_and_spans(seed=10)
    naive = scores.assign(time=scores["time"].dt.tz_localize(None))
    with pytest.raises(SchemaError, match="time"):
        quality_series(None, naive)
    with pytest.raises(ValueError, match="tz-aware"):
        quality_series(None, scores, start=pd.Timestamp("2026-03-21"))
    spans, _ = _scores_and_spans(seed=10)
    with pytest.raises(SchemaError, match="start_time"):
        span_series(spans.assign(start_time=spans["start_time"].dt.tz_localize(None)))
    with pytest.raises(SchemaError, match="tz-aware"):
        quality_series(None, ibis.memtable(naive))


def test_missing_columns_are_named():
    spans, scores = _scores_and_spans(seed=11)
    with pytest.raises(SchemaError, match="'value'"):
        quality_series(None, scores.drop(columns="value"))
    with pytest.raises(SchemaError, match="region"):
        quality_series(spans, scores, by=["region"])
    with pytest.raises(SchemaError, match="spans is None"):
        quality_series(None, scores, by=["intent"])
    with pytest.raises(SchemaError, match="duration_ms|start_time"):
        span_series(spans.drop(columns="start_time"))
    with pytest.raises(ValueError, match="IANA"):
        quality_series(None, scores, tz="Berlin")
    with pytest.raises(NotImplementedError, match="freq"):
        quality_series(None, scores, freq="M")


# ---------------------------------------------------------------------------
# store protocol


class FakeStore:
    """A store as llmdrift.store will provide: ``table(name) -> ibis.Table``."""

    def __init__(self, spans, scores):
        # through Arrow so nanosecond UTC times stay exact
        self.tables = {
            name: ibis.memtable(pa.Table.from_pandas(frame, preserve_index=False))
            for name, frame in (("spans", spans), ("scores", scores))
        }
        self.calls = []

    def table(self, name):
        self.calls.append(name)
        return self.tables[name]


def test_quality_series_reads_a_store():
    spans, scores = _scores_and_spans(seed=12)
    expected = quality_series(spans, scores, by=["intent"], tz=BERLIN)
    store = FakeStore(spans, scores)
    for got in (
        quality_series(store, store, by=["intent"], tz=BERLIN),
        quality_series(store, None, by=["intent"], tz=BERLIN),
    ):
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    # without groups from spans, the spans table is never read
    store.calls.clear()
    quality_series(store, None)
    assert store.calls == ["scores"]


def test_span_series_reads_a_store():
    spans, scores = _scores_and_spans(seed=13)
    expected = span_series(spans, by="intent")
    got = span_series(FakeStore(spans, scores), by="intent")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_a_broken_store_is_named():
    class Broken:
        def table(self, name):
            raise KeyError(name)

    with pytest.raises(SchemaError, match="Broken.*scores"):
        quality_series(Broken(), None)
    with pytest.raises(SchemaError, match="scores is None"):
        quality_series(None, None)


def _tiny_demo():
    from llmdrift.datasets import load_demo

    return load_demo(days=4, requests_per_day=150)


def test_empty_and_all_failed_scores_give_an_empty_series_not_a_crash():
    demo = _tiny_demo()
    # no scores at all, and every scorer failed (NaN): both are "no data"
    for scores in (demo.scores.iloc[:0], demo.scores.assign(value=np.nan)):
        out = llmdrift.quality_series(demo.spans, scores, by=["intent"], freq="h")
        assert len(out) == 0
        assert list(out.columns[:2]) == ["window_start", "intent"]


def test_unknown_dimension_kind_and_infinite_values_are_named():
    demo = _tiny_demo()
    with pytest.raises(ValueError, match=r"dimension\(s\) \['nope'\] have no scores"):
        llmdrift.quality_series(demo.spans, demo.scores, dimension="nope")
    with pytest.raises(ValueError, match="kind \\['robot'\\] is not a score kind"):
        llmdrift.quality_series(demo.spans, demo.scores, kind="robot")
    bad = demo.scores.assign(
        value=demo.scores["value"].where(demo.scores.index % 5 > 0, np.inf)
    )
    with pytest.raises(ValueError, match="'value' holds .* infinite"):
        llmdrift.quality_series(demo.spans, bad)
