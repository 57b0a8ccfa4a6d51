"""Drift tests: BR-16 and BR-17 exact values, each test against an independent
computation, and the frame-level function on the demo."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from llmdrift.drift import (
    chi_square,
    drift_tests,
    ks,
    mann_whitney,
    psi,
    wasserstein,
)
from llmdrift.schema import SchemaError

# ---------------------------------------------------------------------------
# BR-16: PSI with an empty bin


def test_br16a_empty_current_bin():
    result = psi([40, 30, 20, 10], [50, 30, 20, 0])
    assert result.statistic == pytest.approx(0.712399, abs=5e-7)
    assert math.isfinite(result.statistic)
    assert result.drift and result.statistic >= 0.1
    assert result.epsilon == 1e-4


def test_br16b_new_category():
    result = psi([60, 40, 0], [55, 35, 10])
    assert result.statistic == pytest.approx(0.701112, abs=5e-7)
    assert result.drift


def test_br16_identical_is_exactly_zero():
    assert psi([40, 30, 20, 10], [40, 30, 20, 10]).statistic == 0.0
    assert psi([4, 3, 2, 1], [40, 30, 20, 10]).statistic == 0.0


def test_br16_by_hand_and_epsilon_is_a_parameter():
    r = np.array([40, 30, 20, 10]) / 100
    c = np.array([50, 30, 20, 0]) / 100
    for eps in (1e-4, 1e-3):
        rr, cc = np.where(r == 0, eps, r), np.where(c == 0, eps, c)
        expected = sum((b - a) * math.log(b / a) for a, b in zip(rr, cc, strict=True))
        got = psi([40, 30, 20, 10], [50, 30, 20, 0], epsilon=eps)
        assert got.statistic == pytest.approx(expected, rel=1e-12)
        assert got.epsilon == eps
    # the naive wrong answers do not appear
    assert psi([40, 30, 20, 10], [50, 30, 20, 0], epsilon=1e-3).statistic != 0.712399


def test_psi_bad_input():
    with pytest.raises(ValueError, match="same bins"):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="epsilon"):
        psi([1, 2], [1, 2], epsilon=0)


# ---------------------------------------------------------------------------
# BR-17: Mann-Whitney when everything ties


def test_br17_all_ties():
    result = mann_whitney([0.7] * 8, [0.7] * 8)
    assert result.statistic == 32.0
    assert result.p_value == 1.0
    assert result.drift is False
    assert result.effect == 0.0


def _u_by_pairs(x, y):
    """U of x by counting pairs: x beats y, ties count one half."""
    return sum(
        1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(x, y)
    )


def _mw_normal_p(x, y):
    """Tie-corrected normal approximation with continuity correction, by hand."""
    n1, n2 = len(x), len(y)
    n = n1 + n2
    u = _u_by_pairs(x, y)
    _, counts = np.unique(np.r_[x, y], return_counts=True)
    var = n1 * n2 / 12 * ((n + 1) - np.sum(counts**3 - counts) / (n * (n - 1)))
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(var)
    return u, math.erfc(z / math.sqrt(2))


def test_mann_whitney_against_hand_computation():
    rng = np.random.default_rng(4)
    x = rng.choice([1, 2, 3, 4, 5], 60, p=[0.02, 0.05, 0.13, 0.4, 0.4]).astype(float)
    y = rng.choice([1, 2, 3, 4, 5], 50, p=[0.05, 0.15, 0.3, 0.3, 0.2]).astype(float)
    result = mann_whitney(x, y)
    u, p = _mw_normal_p(x, y)
    assert result.statistic == u
    assert result.p_value == pytest.approx(p, rel=1e-9)
    # rank-biserial: P(y > x) - P(x > y), negative since the window is lower
    gt = sum(b > a for a, b in itertools.product(x, y))
    lt = sum(b < a for a, b in itertools.product(x, y))
    assert result.effect == pytest.approx((gt - lt) / (60 * 50))
    assert result.effect < 0 and result.drift


# ---------------------------------------------------------------------------
# chi-square, KS, Wasserstein


def test_chi_square_by_hand():
    # 3 categories: no continuity correction
    x = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    y = ["a"] * 30 + ["b"] * 30 + ["c"] * 40
    table = np.array([[50, 30, 20], [30, 30, 40]])
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    chi2 = float(((table - expected) ** 2 / expected).sum())
    result = chi_square(x, y)
    assert result.statistic == pytest.approx(chi2)
    # survival function of chi-square with 2 dof is exp(-x/2)
    assert result.p_value == pytest.approx(math.exp(-chi2 / 2))
    assert result.effect == pytest.approx(math.sqrt(chi2 / 200))


def test_chi_square_binary_uses_yates():
    table = np.array([[90, 10], [60, 40]])
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    yates = float(((np.abs(table - expected) - 0.5) ** 2 / expected).sum())
    result = chi_square([1] * 90 + [0] * 10, [1] * 60 + [0] * 40)
    assert result.statistic == pytest.approx(yates)
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(yates / 2)))


def test_chi_square_one_category():
    result = chi_square([1] * 10, [1] * 12)
    assert (result.statistic, result.p_value, result.drift) == (0.0, 1.0, False)


def test_ks_statistic_by_hand():
    rng = np.random.default_rng(8)
    x, y = rng.normal(0, 1, 300), rng.normal(0.3, 1, 200)
    grid = np.sort(np.r_[x, y])
    fx = np.searchsorted(np.sort(x), grid, side="right") / len(x)
    fy = np.searchsorted(np.sort(y), grid, side="right") / len(y)
    result = ks(x, y)
    assert result.statistic == pytest.approx(np.max(np.abs(fx - fy)))
    assert result.effect == result.statistic
    assert result.drift


def test_wasserstein_equal_sizes_is_mean_sorted_gap():
    rng = np.random.default_rng(9)
    x, y = rng.normal(0, 1, 100), rng.normal(0.5, 2, 100)
    expected = np.mean(np.abs(np.sort(x) - np.sort(y)))
    assert wasserstein(x, y).statistic == pytest.approx(expected)
    assert math.isnan(wasserstein(x, y).p_value)


def test_empty_sample_is_named():
    with pytest.raises(ValueError, match="window"):
        mann_whitney([1.0, 2.0], [np.nan])


# ---------------------------------------------------------------------------
# the frame-level function


def _scores(values_by_group, start="2026-03-01"):
    rows = []
    t0 = pd.Timestamp(start, tz="UTC")
    for (group, dim, period), values in values_by_group.items():
        offset = 0 if period == "b" else 10
        for i, v in enumerate(values):
            rows.append(
                dict(
                    span_id=f"{group}{dim}{period}{i}",
                    time=t0 + pd.Timedelta(days=offset) + pd.Timedelta(minutes=i),
                    dimension=dim,
                    value=float(v),
                    scorer="judge",
                    kind="judge",
                    intent=group,
                )
            )
    frame = pd.DataFrame(rows)
    for col in ("span_id", "dimension", "scorer", "kind", "intent"):
        frame[col] = frame[col].astype("string")
    return frame, t0


def test_drift_tests_picks_tests_and_controls_fdr():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(1)
    data = {}
    for g in ("a", "b", "c"):
        data[(g, "format", "b")] = rng.choice([3, 4, 5], 200)
        shift = 1 if g == "a" else 0
        data[(g, "format", "w")] = rng.choice([3, 4, 5], 200) - shift
        data[(g, "valid_json", "b")] = rng.random(200) < 0.9
        data[(g, "valid_json", "w")] = rng.random(200) < (0.5 if g == "b" else 0.9)
        data[(g, "latency", "b")] = rng.normal(1.0, 0.2, 200)
        data[(g, "latency", "w")] = rng.normal(1.0, 0.2, 200)
    scores, t0 = _scores(data)
    before = scores.copy()
    out = drift_tests(
        scores,
        baseline=(t0, t0 + pd.Timedelta(days=5)),
        window=(t0 + pd.Timedelta(days=10), t0 + pd.Timedelta(days=15)),
    )
    pd.testing.assert_frame_equal(scores, before)
    assert len(out) == 9
    tests = out.set_index(["intent", "dimension"])["test"]
    assert tests[("a", "format")] == "mann_whitney"
    assert tests[("a", "valid_json")] == "chi_square"
    assert tests[("a", "latency")] == "ks"
    drifted = set(
        out.loc[out["drift"], ["intent", "dimension"]].itertuples(index=False)
    )
    assert drifted == {("a", "format"), ("b", "valid_json")}
    # BH adjusted p-values, as statsmodels computes them over the 9 rows
    adj = multipletests(out["p_value"], method="fdr_bh")[1]
    np.testing.assert_allclose(out["p_adjusted"], adj)
    # and by hand: sorted p * m / rank, then a running minimum from the top
    p = out["p_value"].to_numpy()
    m = len(p)
    by_hand = np.minimum.accumulate((p * m / np.arange(1, m + 1))[::-1])[::-1]
    np.testing.assert_allclose(out["p_adjusted"], np.minimum(by_hand, 1.0))
    row = out.set_index(["intent", "dimension"]).loc[("a", "format")]
    assert row["change"] == pytest.approx(-1.0, abs=0.15)
    assert row["psi_epsilon"] == 1e-4 and row["psi"] > 0.25


def test_drift_tests_insufficient_data_is_an_answer():
    data = {("a", "format", "b"): [4, 5, 4], ("a", "format", "w"): [2, 1, 2]}
    scores, t0 = _scores(data)
    out = drift_tests(
        scores,
        baseline=(t0, t0 + pd.Timedelta(days=5)),
        window=(t0 + pd.Timedelta(days=10), t0 + pd.Timedelta(days=15)),
    )
    assert out["test"].tolist() == ["insufficient_data"]
    assert out["drift"].tolist() == [False]


def test_drift_tests_bad_input():
    data = {("a", "format", "b"): [4, 5, 4], ("a", "format", "w"): [2, 1, 2]}
    scores, t0 = _scores(data)
    with pytest.raises(ValueError, match="tz-aware"):
        drift_tests(scores, baseline=("2026-03-01", "2026-03-02"), window=(t0, t0))
    with pytest.raises(SchemaError, match="service"):
        drift_tests(
            scores,
            by=("service",),
            baseline=(t0, t0 + pd.Timedelta(days=5)),
            window=(t0 + pd.Timedelta(days=10), t0 + pd.Timedelta(days=15)),
        )


def test_drift_tests_on_demo():
    from llmdrift.datasets.demo import load_demo

    demo = load_demo(days=56, requests_per_day=2000)
    truth = demo.truth
    day = pd.Timedelta("1D")
    out = drift_tests(
        demo.scores,
        spans=demo.spans,
        kind="judge",
        baseline=(truth.change_time - 28 * day, truth.change_time - day),
        window=(truth.rollout_end, truth.rollout_end + 5 * day),
    )
    flagged = out.loc[out["drift"], ["intent", "dimension"]]
    assert (truth.intent, "format") in set(flagged.itertuples(index=False))
    # nothing else moved: the mix shift does not change any intent's scores
    assert len(flagged) == 1
