"""Coverage simulations: over 1,000 seeded data sets drawn from a known
population, the 95% intervals of llmdrift.calibration must hold the true value
at least 93% of the time.

Each simulation runs the library's own interval code on a stack of data sets
at once (the bootstrap kernels and the PPI / Rogan-Gladen estimators take
leading batch axes), so 1,000 runs take seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from llmdrift.calibration import (
    _stats,
    agreement,
    ppi_mean,
    ppi_mean_weighted,
    rogan_gladen,
)
from llmdrift.calibration._frames import row_rng
from llmdrift.calibration.agreement import bootstrap_tables

N_RUNS = 1000
NOMINAL = 0.95
FLOOR = 0.93

# judge (rows) x human (columns) probabilities on a 3-point scale: a judge that
# is right most of the time and too lenient when it is wrong
JOINT = np.array(
    [
        [0.20, 0.03, 0.01],
        [0.08, 0.25, 0.04],
        [0.03, 0.09, 0.27],
    ]
)
VALUES = np.array([1.0, 2.0, 3.0])
CHECKED = ("kappa", "kappa_quadratic", "alpha_ordinal", "spearman", "mean_bias")


def _population(statistic: str) -> float:
    # the large-sample value: the statistic of the table of probabilities
    # scaled to a huge item count (alpha's (n - 1) factor then vanishes)
    return float(_stats.table_statistics(JOINT * 1e9, VALUES)[statistic])


def _covered(low, high, truth) -> float:
    return float(np.mean((low <= truth) & (truth <= high)))


@pytest.fixture(scope="module")
def bootstrap_coverage():
    """Share of 1,000 data sets (n=200) whose bootstrap interval holds the
    population value, per statistic; 1,000 resamples each."""
    rng = np.random.default_rng(20261204)
    n_items, n_boot, k = 200, 1000, 3
    codes = rng.choice(k * k, p=JOINT.ravel(), size=(N_RUNS, n_items))
    hits = {s: [] for s in CHECKED}
    for start in range(0, N_RUNS, 100):  # 100 data sets at a time bound memory
        boot = bootstrap_tables(codes[start : start + 100], k, n_boot, rng)
        draws = _stats.table_statistics(boot, VALUES)
        for s in CHECKED:
            low, high = _stats.percentile_interval(np.moveaxis(draws[s], 1, 0), NOMINAL)
            hits[s].append((low <= _population(s)) & (_population(s) <= high))
    return {s: float(np.concatenate(hits[s]).mean()) for s in CHECKED}


@pytest.mark.slow
@pytest.mark.parametrize("statistic", CHECKED)
def test_bootstrap_agreement_intervals_reach_nominal_coverage(
    bootstrap_coverage, statistic
):
    assert bootstrap_coverage[statistic] >= FLOOR, bootstrap_coverage


def test_agreement_intervals_are_the_simulated_bootstrap():
    """agreement() draws its interval with the same kernel the simulation uses."""
    rng = np.random.default_rng(5)
    codes = rng.choice(9, p=JOINT.ravel(), size=150)
    judge, human = codes // 3 + 1, codes % 3 + 1
    scores = pd.DataFrame(
        {
            "span_id": np.tile(np.arange(150), 2),
            "dimension": "q",
            "value": np.concatenate([judge, human]),
            "scorer": ["gpt"] * 150 + ["ann"] * 150,
            "kind": ["judge"] * 150 + ["human"] * 150,
        }
    )
    row = agreement(scores, scale=[1, 2, 3], n_boot=500, seed=3).iloc[0]
    # the pairs come in the order of the judge rows
    pair_codes = (judge - 1) * 3 + (human - 1)
    pair_rng = row_rng(3, "q", "gpt", "ann")
    boot = bootstrap_tables(pair_codes, 3, 500, pair_rng)
    draws = _stats.table_statistics(boot, VALUES)["kappa_quadratic"]
    low, high = _stats.percentile_interval(draws[:, None], NOMINAL)
    assert row["kappa_quadratic_ci_low"] == pytest.approx(float(low[0]))
    assert row["kappa_quadratic_ci_high"] == pytest.approx(float(high[0]))


# ---------------------------------------------------------------------------
# bias-corrected mean

QUALITY = np.array([0.10, 0.15, 0.25, 0.30, 0.20])  # P(human score = 1..5)
TRUE_MEAN = float(QUALITY @ np.arange(1, 6))


def _biased_judge(rng, shape):
    """Human scores and a lenient, noisy judge's scores for them."""
    y = rng.choice(np.arange(1.0, 6.0), p=QUALITY, size=shape)
    shift = rng.choice([0.0, 1.0, 1.0, 2.0], size=shape)
    noise = rng.choice([-1.0, 0.0, 0.0, 1.0], size=shape)
    return y, np.clip(y + shift + noise, 1.0, 5.0)


@pytest.mark.parametrize("power_tuning", [True, False])
def test_ppi_interval_covers_the_true_mean_when_the_judge_is_biased(power_tuning):
    rng = np.random.default_rng(77)
    n_unlabelled, n_labelled = 3000, 150
    _, f_u = _biased_judge(rng, (N_RUNS, n_unlabelled))
    y_l, f_l = _biased_judge(rng, (N_RUNS, n_labelled))
    out = ppi_mean(f_u, f_l, y_l, ci=NOMINAL, power_tuning=power_tuning)
    coverage = _covered(out["ci_low"], out["ci_high"], TRUE_MEAN)
    assert coverage >= FLOOR, coverage
    # the judge alone is far off: its own interval almost never holds the truth
    se = f_u.std(axis=1, ddof=1) / np.sqrt(n_unlabelled)
    naive = _covered(f_u.mean(1) - 1.96 * se, f_u.mean(1) + 1.96 * se, TRUE_MEAN)
    assert naive < 0.05
    # and PPI is narrower than the labels alone (classical interval)
    classical = 2 * 1.96 * y_l.std(axis=1, ddof=1) / np.sqrt(n_labelled)
    if power_tuning:
        assert np.median(out["ci_high"] - out["ci_low"]) < np.median(classical)


@pytest.mark.parametrize("labelled_within", [True, False])
def test_rogan_gladen_interval_covers_the_true_pass_rate(labelled_within):
    """Labels drawn from the judged traffic (True) or a separate validation set
    (False): the interval holds the true pass rate at about its nominal rate,
    neither below 93% nor far above 95% (which would mean a too-wide interval)."""
    rng = np.random.default_rng(91)
    prevalence, sens, spec = 0.3, 0.85, 0.8
    n_judged, n_labelled = 3000, 400
    truth = rng.random((N_RUNS, n_judged + n_labelled)) < prevalence
    judged = np.where(
        truth,
        rng.random(truth.shape) < sens,
        rng.random(truth.shape) >= spec,
    )
    t, j = truth[:, :n_labelled], judged[:, :n_labelled]
    traffic = judged[:, :n_judged] if labelled_within else judged[:, n_labelled:]
    out = rogan_gladen(
        traffic.mean(axis=1),
        n_judged,
        (t & j).sum(1),
        t.sum(1),
        (~t & ~j).sum(1),
        (~t).sum(1),
        ci=NOMINAL,
        labelled_within=labelled_within,
    )
    coverage = _covered(out["ci_low"], out["ci_high"], prevalence)
    assert FLOOR <= coverage <= 0.97, coverage
    apparent = prevalence * sens + (1 - prevalence) * (1 - spec)
    assert abs(float(np.mean(traffic)) - apparent) < 0.01  # the raw rate is off


@pytest.mark.parametrize("power_tuning", [True, False])
def test_weighted_ppi_covers_when_low_scores_are_labelled_more_often(power_tuning):
    """Labelling picks items the judge scored low 8x as often; with the
    inclusion probabilities the interval still covers, without them it does not."""
    rng = np.random.default_rng(123)
    y, f = _biased_judge(rng, (N_RUNS, 3000))
    prob = np.where(f <= 3.0, 0.16, 0.02)
    labelled = rng.random(f.shape) < prob
    out = ppi_mean_weighted(f, labelled, y, prob, ci=NOMINAL, power_tuning=power_tuning)
    coverage = _covered(out["ci_low"], out["ci_high"], TRUE_MEAN)
    assert coverage >= FLOOR, coverage
    if power_tuning:
        # the same labels treated as a simple random sample: biased, undercovers
        ignored = [
            ppi_mean(f[r][~labelled[r]], f[r][labelled[r]], y[r][labelled[r]])
            for r in range(200)
        ]
        low = np.array([float(o["ci_low"]) for o in ignored])
        high = np.array([float(o["ci_high"]) for o in ignored])
        assert _covered(low, high, TRUE_MEAN) < 0.8
