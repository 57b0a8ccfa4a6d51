"""Bad input to series.py and drift.py (bad-input trial S1-S5, D1-D4).

Each refusal is checked for its class and for a message that names the
argument or column concerned; valid input is checked against figures computed
here independently (pandas group-bys, scipy's tests, Benjamini-Hochberg by
hand).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from llmdrift.drift import chi_square, drift_tests, ks, mann_whitney, psi, wasserstein
from llmdrift.schema import SCORE_KINDS, LlmdriftWarning
from llmdrift.series import (
    FreqError,
    calendar_windows,
    combine_groups,
    mix_decomposition,
    quality_series,
    rolling_series,
    span_series,
)

T0 = pd.Timestamp("2026-03-02", tz="UTC")  # a Monday


def _scores(n_days=8, per_day=40, seed=1):
    """Three dimensions (1-5 judge, 0/1 check, continuous) over n_days days."""
    rng = np.random.default_rng(seed)
    n = n_days * per_day
    times = T0 + pd.to_timedelta(np.sort(rng.uniform(0, n_days * 24, n)), unit="h")
    late = np.asarray(times >= T0 + pd.Timedelta(days=n_days // 2))
    frames = []
    for dim, kind, values in (
        (
            "format",
            "judge",
            np.where(late, rng.integers(2, 5, n), rng.integers(3, 6, n)),
        ),
        ("valid_json", "heuristic", (rng.random(n) < np.where(late, 0.7, 0.9)) * 1),
        ("length", "heuristic", rng.normal(np.where(late, 0.3, 0.0), 1.0, n)),
    ):
        frames.append(
            pd.DataFrame(
                {
                    "span_id": [f"s{i}" for i in range(n)],
                    "time": times,
                    "dimension": dim,
                    "value": values.astype("float64"),
                    "scorer": f"{dim}-scorer",
                    "kind": kind,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _spans(scores):
    first = scores.drop_duplicates("span_id")
    return pd.DataFrame(
        {
            "span_id": first["span_id"].to_numpy(),
            "start_time": first["time"].to_numpy(),
            "duration_ms": np.linspace(100.0, 900.0, len(first)),
            "intent": np.where(np.arange(len(first)) % 2, "a", "b"),
        }
    )


def _with_inf(scores, every=7):
    return scores.assign(
        value=np.where(np.arange(len(scores)) % every == 0, np.inf, scores["value"])
    )


BASE = (T0, T0 + pd.Timedelta(days=4))
WINDOW = (T0 + pd.Timedelta(days=4), T0 + pd.Timedelta(days=8))


# ---------------------------------------------------------------------------
# series.py


@pytest.mark.parametrize("freq", ["banana", "0D", "M", 7, None])
@pytest.mark.parametrize("call", ["quality_series", "span_series", "calendar_windows"])
def test_bad_freq_is_a_value_error_naming_freq_and_choices(call, freq):
    scores = _scores(n_days=2, per_day=5)
    run = {
        "quality_series": lambda: quality_series(None, scores, freq=freq),
        "span_series": lambda: span_series(_spans(scores), freq=freq),
        "calendar_windows": lambda: calendar_windows(T0, T0, freq=freq),
    }[call]
    with pytest.raises(ValueError, match=r"freq .* is not supported") as err:
        run()
    assert isinstance(err.value, NotImplementedError)  # as before the fix
    assert isinstance(err.value, FreqError)
    for accepted in ("'h'", "'D'", "'W'"):
        assert accepted in str(err.value)


def test_quality_series_refuses_infinite_values_naming_count_and_span():
    scores = _with_inf(_scores(n_days=2, per_day=10))
    count = int(np.isinf(scores["value"]).sum())
    first = scores.loc[np.isinf(scores["value"]), "span_id"].iloc[0]
    with pytest.raises(ValueError, match="'value'") as err:
        quality_series(None, scores)
    assert f"{count} infinite" in str(err.value)
    assert repr(first) in str(err.value)


def test_quality_series_unknown_dimension_and_kind_are_named():
    scores = _scores(n_days=2, per_day=5)
    with pytest.raises(ValueError, match=r"\['nope'\] have no scores") as err:
        quality_series(None, scores, dimension="nope")
    for dim in ("format", "length", "valid_json"):
        assert repr(dim) in str(err.value)
    with pytest.raises(ValueError, match="robot") as err:
        quality_series(None, scores, kind="robot")
    assert str(SCORE_KINDS) in str(err.value)


def test_quality_series_refuses_a_score_given_twice():
    scores = _scores(n_days=2, per_day=5)
    doubled = pd.concat([scores, scores.iloc[:3]], ignore_index=True)
    with pytest.raises(ValueError, match=r"3 row\(s\) repeat a \(span_id, dimension"):
        quality_series(None, doubled)
    # the same scorer name under another kind (human labels) is another score
    human = scores.iloc[:3].assign(kind="human", value=1.0)
    out = quality_series(None, pd.concat([scores, human]), kind="human")
    assert out["n"].sum() == 3


def test_quality_series_names_a_dimension_whose_scores_all_failed():
    scores = _scores(n_days=2, per_day=5)
    failed = scores["dimension"].eq("format")
    broken = scores.assign(value=scores["value"].where(~failed))
    before = broken.copy()
    with pytest.warns(LlmdriftWarning, match=r"\['format'\]: all 10 selected scores"):
        out = quality_series(None, broken)
    assert sorted(out["dimension"].unique()) == ["length", "valid_json"]
    pd.testing.assert_frame_equal(broken, before)  # caller's frame untouched
    # every dimension failed: an empty series, and the warning says so
    with pytest.warns(LlmdriftWarning, match="all 30 selected scores have no value"):
        out = quality_series(None, scores.assign(value=np.nan))
    assert len(out) == 0
    # a few failures are the documented NaN convention: no warning
    some = scores.assign(value=scores["value"].where(scores.index % 4 > 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", LlmdriftWarning)
        quality_series(None, some)


def test_quality_series_valid_input_matches_pandas():
    scores = _scores(n_days=4, per_day=30)
    scores.loc[scores.index % 9 == 0, "value"] = np.nan  # failed scorers
    out = quality_series(None, scores)
    valued = scores.dropna(subset=["value"])
    expected = (
        valued.assign(window_start=valued["time"].dt.floor("D"))
        .groupby(["dimension", "window_start"])["value"]
        .agg(["count", "mean", "std"])
        .reset_index()
    )
    assert len(out) == len(expected)
    got = out.sort_values(["dimension", "window_start"]).reset_index(drop=True)
    assert got["dimension"].tolist() == expected["dimension"].tolist()
    assert got["window_start"].tolist() == expected["window_start"].tolist()
    assert got["n"].tolist() == expected["count"].tolist()
    np.testing.assert_allclose(got["mean"], expected["mean"], rtol=1e-12)
    np.testing.assert_allclose(got["std"], expected["std"], rtol=1e-9)


# ---------------------------------------------------------------------------
# drift.py


@pytest.fixture(scope="module")
def scores():
    return _scores()


@pytest.mark.parametrize(
    "argument, value, words",
    [
        ("alpha", 2, "between 0 and 1"),
        ("alpha", 0, "between 0 and 1"),
        ("alpha", 1, "between 0 and 1"),
        ("alpha", np.nan, "between 0 and 1"),
        ("alpha", "0.05", "between 0 and 1"),
        ("epsilon", 0, "between 0 and 1"),
        ("epsilon", 1.5, "between 0 and 1"),
        ("psi_bins", 0, "integer >= 2"),
        ("psi_bins", 1, "integer >= 2"),
        ("psi_bins", 2.5, "integer >= 2"),
        ("psi_bins", "10", "integer >= 2"),
        ("min_count", -1, "integer >= 1"),
        ("min_count", 0, "integer >= 1"),
        ("min_count", 1.5, "integer >= 1"),
    ],
)
def test_drift_tests_refuses_out_of_range_arguments(scores, argument, value, words):
    with pytest.raises(ValueError, match=f"{argument} must .*{words}"):
        drift_tests(scores, by=(), baseline=BASE, window=WINDOW, **{argument: value})


def test_drift_tests_unknown_dimension_lists_present_ones(scores):
    with pytest.raises(ValueError, match=r"dimension\(s\) \['nope'\]") as err:
        drift_tests(scores, by=(), baseline=BASE, window=WINDOW, dimension="nope")
    for dim in scores["dimension"].unique():
        assert repr(dim) in str(err.value)
    # one misspelt name among good ones is not dropped quietly either
    with pytest.raises(ValueError, match="fromat"):
        drift_tests(
            scores, by=(), baseline=BASE, window=WINDOW, dimension=["format", "fromat"]
        )


def test_drift_tests_unknown_or_absent_kind_is_named(scores):
    with pytest.raises(ValueError, match=r"kind \['nope'\]") as err:
        drift_tests(scores, by=(), baseline=BASE, window=WINDOW, kind="nope")
    assert str(SCORE_KINDS) in str(err.value)
    with pytest.raises(ValueError, match=r"no scores of kind \['human'\]") as err:
        drift_tests(scores, by=(), baseline=BASE, window=WINDOW, kind="human")
    assert "'heuristic'" in str(err.value) and "'judge'" in str(err.value)


def test_drift_tests_refuses_infinite_values_naming_column_count_span(scores):
    bad = _with_inf(scores)
    infinite = np.isinf(bad["value"]).to_numpy()
    with pytest.raises(ValueError, match="'value'") as err:
        drift_tests(bad, by=(), baseline=BASE, window=WINDOW)
    assert f"{int(infinite.sum())} infinite" in str(err.value)
    assert repr(bad["span_id"].to_numpy()[infinite.argmax()]) in str(err.value)


def test_drift_tests_refuses_a_score_given_twice(scores):
    doubled = pd.concat([scores, scores.iloc[[5]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"1 row\(s\) repeat a \(span_id") as err:
        drift_tests(doubled, by=(), baseline=BASE, window=WINDOW)
    assert repr(scores["span_id"].iloc[5]) in str(err.value)


def test_drift_tests_warns_about_an_empty_baseline_or_window(scores):
    far = (pd.Timestamp("2030-01-01", tz="UTC"), pd.Timestamp("2030-01-02", tz="UTC"))
    with pytest.warns(LlmdriftWarning, match=r"baseline \[2030-01-01.*holds no scores"):
        out = drift_tests(scores, by=(), baseline=far, window=WINDOW)
    assert set(out["test"]) == {"insufficient_data"}
    assert not out["drift"].any()
    with pytest.warns(LlmdriftWarning, match=r"window \[2030-01-01.*holds no scores"):
        drift_tests(scores, by=(), baseline=BASE, window=far)
    # all scores of the baseline failed: the same warning
    failed = scores.assign(value=scores["value"].where(scores["time"] >= BASE[1]))
    with pytest.warns(
        LlmdriftWarning, match="baseline .* holds no scores with a value"
    ):
        drift_tests(failed, by=(), baseline=BASE, window=WINDOW)


@pytest.mark.parametrize(
    "period, words",
    [
        ((BASE[1], BASE[0]), "end .* is not after start"),
        ((BASE[0], BASE[0]), "end .* is not after start"),
        ((BASE[0].tz_localize(None), BASE[1].tz_localize(None)), "tz-aware"),
        (("banana", BASE[1]), "pair of tz-aware times"),
        ((None, BASE[1]), "missing time"),
        ((BASE[0],), "pair of tz-aware times"),
        ("2026-03-02", "pair of tz-aware times"),
    ],
)
def test_drift_tests_refuses_bad_periods_naming_them(scores, period, words):
    with pytest.raises(ValueError, match=f"baseline.*{words}"):
        drift_tests(scores, by=(), baseline=period, window=WINDOW)
    with pytest.raises(ValueError, match=f"window.*{words}"):
        drift_tests(scores, by=(), baseline=BASE, window=period)


def test_single_tests_refuse_bad_alpha_thresholds_and_inf():
    for test in (mann_whitney, chi_square, ks):
        for alpha in (1.5, np.nan, "0.05"):
            with pytest.raises(ValueError, match="alpha must .*between 0 and 1"):
                test([1, 2, 3], [2, 3, 4], alpha=alpha)
    with pytest.raises(ValueError, match="psi: threshold must be a finite number"):
        psi([1, 2], [2, 1], threshold="high")
    for test in (mann_whitney, ks, wasserstein):
        with pytest.raises(ValueError, match="baseline sample holds 1 infinite"):
            test([1, np.inf, 3], [2, 3, 4])
        with pytest.raises(ValueError, match="window sample must hold numbers"):
            test([1, 2, 3], ["a", "b", "c"])
    with pytest.raises(ValueError, match="chi_square: window sample holds 1 infinite"):
        chi_square([0, 1, 1], [0, np.inf, 1])
    with pytest.raises(ValueError, match="epsilon must lie between 0 and 1"):
        psi([1, 2], [2, 1], epsilon=np.nan)
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        psi([1, 2], [2, 1], threshold=np.nan)
    with pytest.raises(ValueError, match="finite and >= 0"):
        psi([1, np.inf], [2, 1])
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        wasserstein([1, 2], [2, 1], threshold=np.inf)


def _bh(p):
    """Benjamini-Hochberg adjusted p-values, written out from the definition."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        adjusted[i] = running
    return adjusted


def test_drift_tests_valid_input_matches_scipy(scores):
    before = scores.copy()
    out = drift_tests(scores, by=(), baseline=BASE, window=WINDOW).set_index(
        "dimension"
    )
    pd.testing.assert_frame_equal(scores, before)  # not modified
    in_base = (scores["time"] >= BASE[0]) & (scores["time"] < BASE[1])
    in_window = (scores["time"] >= WINDOW[0]) & (scores["time"] < WINDOW[1])

    def sample(dim, mask):
        return scores.loc[scores["dimension"].eq(dim) & mask, "value"].to_numpy()

    ref, cur = sample("format", in_base), sample("format", in_window)
    expected = stats.mannwhitneyu(ref, cur, alternative="two-sided")
    row = out.loc["format"]
    assert row["test"] == "mann_whitney"
    assert row["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert row["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert row["n_baseline"] == len(ref) and row["n_window"] == len(cur)

    ref, cur = sample("valid_json", in_base), sample("valid_json", in_window)
    table = [[(ref == 0).sum(), (ref == 1).sum()], [(cur == 0).sum(), (cur == 1).sum()]]
    expected = stats.chi2_contingency(table, correction=True)
    row = out.loc["valid_json"]
    assert row["test"] == "chi_square"
    assert row["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert row["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)

    ref, cur = sample("length", in_base), sample("length", in_window)
    expected = stats.ks_2samp(ref, cur)
    row = out.loc["length"]
    assert row["test"] == "ks"
    assert row["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert row["wasserstein"] == pytest.approx(
        stats.wasserstein_distance(ref, cur), rel=1e-12
    )

    np.testing.assert_allclose(out["p_adjusted"], _bh(out["p_value"]), rtol=1e-12)
    assert (out["drift"] == (out["p_adjusted"] < 0.05)).all()


@pytest.mark.parametrize(
    "window", ["banana", "0D", 0, -3, np.nan, "7h", 2.5, None, True]
)
def test_rolling_series_bad_window_is_named(window):
    series = quality_series(None, _scores(n_days=3, per_day=5))
    with pytest.raises(ValueError, match=r"window must be a whole number of days >= 1"):
        rolling_series(series, window=window)


def test_rolling_series_valid_window_pools_days():
    scores = _scores(n_days=3, per_day=20)
    series = quality_series(None, scores, dimension="format")
    got = rolling_series(series, window="2D")
    same = rolling_series(series, window=2)
    pd.testing.assert_frame_equal(got, same)
    days = scores[scores["dimension"].eq("format")]
    day = days["time"].dt.floor("D")
    # first 2-day window: days 0 and 1 pooled, straight from the raw scores
    first = days.loc[day < T0 + pd.Timedelta(days=2), "value"]
    assert int(got["n"].iloc[0]) == len(first)
    assert got["mean"].iloc[0] == pytest.approx(first.mean(), rel=1e-12)
    assert got["std"].iloc[0] == pytest.approx(first.std(ddof=1), rel=1e-9)


@pytest.mark.parametrize(
    "weights",
    [
        {"a": -1.0, "b": 2.0},
        {"a": np.nan, "b": 2.0},
        {"a": np.inf, "b": 1.0},
        {"a": "x"},
    ],
)
def test_combine_groups_refuses_bad_weights(weights):
    scores = _scores(n_days=2, per_day=10)
    series = quality_series(_spans(scores), scores, by=["intent"])
    with pytest.raises(ValueError, match="weights"):
        combine_groups(series, weights=weights)


def test_combine_groups_fixed_weights_match_hand_computation():
    scores = _scores(n_days=2, per_day=10)
    series = quality_series(_spans(scores), scores, by=["intent"], dimension="length")
    out = combine_groups(series, weights={"a": 0.25, "b": 0.75})
    first = series[series["window_start"].eq(series["window_start"].min())]
    means = first.set_index("intent")["mean"]
    assert out["mean"].iloc[0] == pytest.approx(
        0.25 * means["a"] + 0.75 * means["b"], rel=1e-12
    )


def test_quality_series_unknown_scorer_or_one_misspelt_dimension_is_named():
    scores = _scores(n_days=2, per_day=5)
    with pytest.raises(
        ValueError, match=r"scorer\(s\) \['nope'\] have no scores"
    ) as err:
        quality_series(None, scores, scorer="nope")
    assert "'format-scorer'" in str(err.value)
    with pytest.raises(ValueError, match=r"dimension\(s\) \['fromat'\]"):
        quality_series(None, scores, dimension=["format", "fromat"])


@pytest.mark.parametrize(
    "period, words",
    [
        ((T0 + pd.Timedelta(days=2), T0), "end .* is not after start"),
        ((T0.tz_localize(None), T0 + pd.Timedelta(days=2)), "tz-aware"),
        (("banana", T0 + pd.Timedelta(days=2)), "tz-aware time"),
        ((None, T0 + pd.Timedelta(days=2)), "missing time"),
        ((T0,), r"\(start, end\) pair"),
    ],
)
def test_mix_decomposition_refuses_bad_periods_naming_them(period, words):
    scores = _scores(n_days=4, per_day=10)
    series = quality_series(_spans(scores), scores, by=["intent"])
    after = (T0 + pd.Timedelta(days=2), T0 + pd.Timedelta(days=4))
    with pytest.raises(ValueError, match=f"before.*{words}"):
        mix_decomposition(series, before=period, after=after)


def test_mix_decomposition_warns_about_an_empty_period_and_still_adds_up():
    scores = _scores(n_days=4, per_day=10)
    series = quality_series(_spans(scores), scores, by=["intent"])
    before = (T0, T0 + pd.Timedelta(days=2))
    after = (T0 + pd.Timedelta(days=2), T0 + pd.Timedelta(days=4))
    out = mix_decomposition(series, before=before, after=after)
    np.testing.assert_allclose(out["within"] + out["mix"], out["change"], atol=1e-12)
    # mean_before by score count is the plain mean of the raw scores
    raw = scores[scores["time"] < before[1]].groupby("dimension")["value"].mean()
    np.testing.assert_allclose(
        out.set_index("dimension")["mean_before"].loc[raw.index], raw, rtol=1e-12
    )
    far = (T0 + pd.Timedelta(days=30), T0 + pd.Timedelta(days=31))
    with pytest.warns(LlmdriftWarning, match="before .* holds no window with scores"):
        mix_decomposition(series, before=far, after=after)


def test_quality_series_bad_start_is_named():
    scores = _scores(n_days=2, per_day=5)
    with pytest.raises(ValueError, match="start must be a tz-aware time"):
        quality_series(None, scores, start="banana")


@pytest.mark.parametrize("builder", ["quality_series", "span_series"])
@pytest.mark.parametrize(
    ("start", "end", "order"),
    [
        ("2026-03-04T00:00Z", "2026-03-02T00:00Z", "after"),
        ("2026-03-03T00:00Z", "2026-03-03T00:00Z", "the same time as"),
    ],
)
def test_series_start_not_before_end_names_both(builder, start, end, order):
    """T3-21: start after end was reported as 'hi (end - 1 ns) is before lo'."""
    scores = _scores(n_days=4, per_day=5)
    call = {
        "quality_series": lambda **k: quality_series(None, scores, **k),
        "span_series": lambda **k: span_series(_spans(scores), **k),
    }[builder]
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    with pytest.raises(ValueError) as info:
        call(start=lo, end=hi)
    text = str(info.value)
    assert f"start ({lo}) is {order} end ({hi})" in text
    assert "start must come first" in text
    # in order, the same bounds give windows
    assert len(call(start=min(lo, hi), end=max(lo, hi) + pd.Timedelta("1D"))) > 0


def test_drift_tests_refuses_spans_listing_a_span_twice(scores):
    spans = _spans(scores)
    twice = pd.concat([spans, spans.iloc[[3]].assign(intent="other")])
    with pytest.raises(ValueError, match=r"spans: 1 row\(s\) repeat a \(span_id\)"):
        drift_tests(scores, baseline=BASE, window=WINDOW, spans=twice)
    # grouping by a column from spans: each group tested like by=() on its rows
    out = drift_tests(scores, baseline=BASE, window=WINDOW, spans=spans)
    row = out.set_index(["intent", "dimension"]).loc[("a", "length")]
    part = scores.merge(spans[["span_id", "intent"]], on="span_id")
    part = part[part["intent"].eq("a") & part["dimension"].eq("length")]
    ref = part.loc[part["time"] < BASE[1], "value"]
    cur = part.loc[part["time"] >= WINDOW[0], "value"]
    assert row["statistic"] == pytest.approx(stats.ks_2samp(ref, cur).statistic)


def test_quality_series_still_warns_about_mixed_kinds_but_not_failed_ones():
    scores = _scores(n_days=2, per_day=5)
    human = scores.iloc[:3].assign(kind="human", scorer="annotator-1")
    with pytest.warns(LlmdriftWarning, match=r"\['format'\] mix scores of several"):
        quality_series(None, pd.concat([scores, human]))
    with warnings.catch_warnings():  # failed human labels add no kind to the mean
        warnings.simplefilter("error", LlmdriftWarning)
        quality_series(None, pd.concat([scores, human.assign(value=np.nan)]))


def test_quality_series_names_scores_without_a_time_and_counts_the_rest():
    scores = _scores()
    scores = scores[scores["dimension"] == scores["dimension"].iloc[0]].reset_index(
        drop=True
    )
    lost = scores.copy()
    lost.loc[[0, 5], "time"] = pd.NaT
    with pytest.warns(LlmdriftWarning, match=r"2 of \d+ scores have no time"):
        out = quality_series(None, lost, freq="D")
    kept = lost.dropna(subset=["time"])
    want = kept.groupby(kept["time"].dt.floor("D"))["value"].agg(["count", "mean"])
    assert out["n"].tolist() == want["count"].tolist()
    np.testing.assert_allclose(out["mean"], want["mean"])


def test_quality_series_reads_an_integer_value_column():
    scores = _scores()
    check = scores[scores["dimension"] == "valid_json"].reset_index(drop=True)
    ints = check.assign(value=pd.array(check["value"], dtype="Int64"))
    ints.loc[3, "value"] = pd.NA
    out = quality_series(None, ints, freq="D")
    floats = ints.assign(value=ints["value"].astype("Float64").astype(float))
    want = floats.dropna(subset=["value"])
    want = want.groupby(want["time"].dt.floor("D"))["value"].agg(["count", "mean"])
    assert out["n"].tolist() == want["count"].tolist()
    np.testing.assert_allclose(out["mean"], want["mean"])


def test_quality_series_of_a_kind_no_score_has_warns_and_is_empty():
    scores = _scores()
    with pytest.warns(LlmdriftWarning, match=r"kind\(s\) \['human'\] have no scores"):
        out = quality_series(None, scores, kind="human")
    assert len(out) == 0
