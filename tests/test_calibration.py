"""llmdrift.calibration: every statistic against a well-kept implementation
(statsmodels, krippendorff, scipy) or a closed form, the BR-09/11/12 cases,
and the behaviour of the trust, labels and corrected-mean layers."""

from __future__ import annotations

import json
import warnings

import krippendorff
import numpy as np
import pandas as pd
import pytest
from conftest import shared_path
from scipy import stats
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa

import llmdrift
from llmdrift.calibration import (
    VERDICTS,
    _stats,
    agreement,
    confusion_table,
    corrected_mean,
    disagreements,
    human_ceiling,
    labels_needed,
    paired_scores,
    pairwise_agreement,
    ppi_mean,
    ppi_mean_weighted,
    rogan_gladen,
    trust_report,
)
from llmdrift.calibration.agreement import bootstrap_tables, tables_from_index


def _scores(judge, human, *, dimension="q", judge_name="gpt", human_name="ann"):
    """A scores frame from two equal-length lists (None = not rated)."""
    rows = []
    for i, (j, h) in enumerate(zip(judge, human, strict=True)):
        if j is not None:
            rows.append((f"s{i}", dimension, j, judge_name, "judge"))
        if h is not None:
            rows.append((f"s{i}", dimension, h, human_name, "human"))
    return pd.DataFrame(
        rows, columns=["span_id", "dimension", "value", "scorer", "kind"]
    )


def _raters(matrix: dict, *, dimension="q", judges=()):
    """Scores frame from {rater: list of values with NaN = missing}."""
    rows = []
    for who, vals in matrix.items():
        kind = "judge" if who in judges else "human"
        for i, v in enumerate(vals):
            if not (isinstance(v, float) and np.isnan(v)):
                rows.append((f"s{i}", dimension, v, who, kind))
    return pd.DataFrame(
        rows, columns=["span_id", "dimension", "value", "scorer", "kind"]
    )


def _table(a, b, k, offset=0):
    t = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        t[int(x) - offset, int(y) - offset] += 1
    return t


@pytest.fixture(scope="module")
def five_point():
    rng = np.random.default_rng(7)
    human = rng.integers(1, 6, 250)
    judge = np.clip(human + rng.choice([-2, -1, 0, 0, 0, 1, 1], 250), 1, 5)
    return judge, human


# ---------------------------------------------------------------------------
# agreement() against the reference libraries


def test_agreement_matches_statsmodels_krippendorff_scipy(five_point):
    judge, human = five_point
    out = agreement(_scores(judge, human), scale=[1, 2, 3, 4, 5], n_boot=0)
    row = out.iloc[0]
    t = _table(judge, human, 5, offset=1)
    assert row["kappa"] == pytest.approx(cohens_kappa(t).kappa, abs=1e-12)
    for w in ("linear", "quadratic"):
        ref = cohens_kappa(t, wt=w).kappa
        assert row[f"kappa_{w}"] == pytest.approx(ref, abs=1e-12)
    data = np.vstack([judge, human]).astype(float)
    for level in ("nominal", "ordinal", "interval"):
        ref = krippendorff.alpha(
            reliability_data=data,
            level_of_measurement=level,
            value_domain=[1, 2, 3, 4, 5],
        )
        assert row[f"alpha_{level}"] == pytest.approx(ref, abs=1e-10)
    assert row["pearson"] == pytest.approx(stats.pearsonr(judge, human)[0], abs=1e-12)
    assert row["spearman"] == pytest.approx(stats.spearmanr(judge, human)[0], abs=1e-12)
    tau = stats.kendalltau(judge, human, variant="b").statistic
    assert row["kendall_tau_b"] == pytest.approx(tau, abs=1e-12)
    assert row["exact_agreement"] == pytest.approx(np.mean(judge == human))
    assert row["within_one"] == pytest.approx(np.mean(np.abs(judge - human) <= 1))
    assert row["mean_bias"] == pytest.approx(np.mean(judge - human))
    assert row["note"] == ""


def test_agreement_continuous_ratings_match_scipy_and_krippendorff():
    rng = np.random.default_rng(3)
    human = rng.normal(size=120)
    judge = human * 0.7 + rng.normal(scale=0.6, size=120)
    row = agreement(_scores(judge, human), n_boot=50).iloc[0]
    assert row["pearson"] == pytest.approx(stats.pearsonr(judge, human)[0], abs=1e-10)
    assert row["spearman"] == pytest.approx(stats.spearmanr(judge, human)[0], abs=1e-10)
    assert row["kendall_tau_b"] == pytest.approx(
        stats.kendalltau(judge, human).statistic, abs=1e-10
    )
    ref = krippendorff.alpha(
        reliability_data=np.vstack([judge, human]), level_of_measurement="interval"
    )
    assert row["alpha_interval"] == pytest.approx(ref, abs=1e-8)
    assert np.isnan(row["kappa"]) and "continuous" in row["note"]
    assert row["pearson_ci_low"] < row["pearson"] < row["pearson_ci_high"]


def test_every_bootstrap_resample_matches_the_libraries(five_point):
    """The vectorised resample statistics equal a library call on that resample."""
    judge, human = five_point
    codes = (judge - 1) * 5 + (human - 1)
    index = np.random.default_rng(11).integers(0, len(judge), size=(15, len(judge)))
    tables = tables_from_index(codes, index, 5)
    got = _stats.table_statistics(tables, np.arange(1.0, 6.0))
    for b in range(15):
        j, h = judge[index[b]], human[index[b]]
        t = _table(j, h, 5, offset=1)
        assert got["kappa_quadratic"][b] == pytest.approx(
            cohens_kappa(t, wt="quadratic").kappa, abs=1e-12
        )
        assert got["alpha_ordinal"][b] == pytest.approx(
            krippendorff.alpha(
                reliability_data=np.vstack([j, h]).astype(float),
                level_of_measurement="ordinal",
                value_domain=[1, 2, 3, 4, 5],
            ),
            abs=1e-10,
        )
        assert got["spearman"][b] == pytest.approx(stats.spearmanr(j, h)[0], abs=1e-12)
        assert got["kendall_tau_b"][b] == pytest.approx(
            stats.kendalltau(j, h).statistic, abs=1e-12
        )


def test_ordinal_labels_follow_the_given_scale_not_the_alphabet():
    order = ["poor", "fair", "good", "excellent"]  # alphabetical: e, f, g, p
    rng = np.random.default_rng(5)
    h = rng.integers(0, 4, 200)
    j = np.clip(h + rng.choice([-1, 0, 0, 1], 200), 0, 3)
    labels = np.array(order, dtype=object)
    row = agreement(_scores(labels[j], labels[h]), scale=order, n_boot=0).iloc[0]
    t = _table(j, h, 4)
    assert row["kappa_quadratic"] == pytest.approx(
        cohens_kappa(t, wt="quadratic").kappa, abs=1e-12
    )
    assert row["spearman"] == pytest.approx(stats.spearmanr(j, h)[0], abs=1e-12)
    # the alphabetical order would give another (wrong) value
    alpha_pos = np.array([sorted(order).index(x) for x in order])
    wrong = cohens_kappa(_table(alpha_pos[j], alpha_pos[h], 4), wt="quadratic").kappa
    assert abs(row["kappa_quadratic"] - wrong) > 0.05
    # without a scale, text labels are unordered: order-based statistics are NaN
    free = agreement(_scores(labels[j], labels[h]), n_boot=0).iloc[0]
    assert np.isnan(free["kappa_quadratic"]) and np.isnan(free["spearman"])
    assert free["kappa"] == pytest.approx(row["kappa"])
    assert "scale=" in free["note"]


# ---------------------------------------------------------------------------
# known faults


@pytest.mark.parametrize("scale", [None, ["pass", "fail"], ["fail", "pass"]])
def test_br09_one_category_kappa_is_nan_with_reason(scale):
    out = agreement(_scores(["pass"] * 6, ["pass"] * 6), scale=scale, n_boot=100)
    row = out.iloc[0]
    assert np.isnan(row["kappa"])
    assert row["exact_agreement"] == 1.0
    assert "only one category observed" in row["note"]
    long = agreement(
        _scores(["pass"] * 6, ["pass"] * 6), scale=scale, n_boot=0, shape="long"
    ).set_index("statistic")
    assert "only one category" in long.loc["kappa", "note"]
    assert long.loc["exact_agreement", "value"] == 1.0


def test_br09_contrast_kappa_is_exactly_zero():
    row = agreement(
        _scores(["pass"] * 6, ["pass"] * 5 + ["fail"]), scale=["fail", "pass"], n_boot=0
    ).iloc[0]
    assert row["kappa"] == 0.0
    assert row["exact_agreement"] == pytest.approx(5 / 6)
    # the judge is constant, so the correlations are undefined, with a reason
    assert np.isnan(row["pearson"]) and "judge ratings are constant" in row["note"]


def test_br11_alpha_with_missing_ratings_is_one():
    nan = np.nan
    matrix = {
        "r1": [2, 2, 3, nan, 1],
        "r2": [2, nan, 3, 1, nan],
        "r3": [nan, 2, 3, 1, nan],
    }
    out = human_ceiling(_raters(matrix), n_boot=0)
    alpha = out[
        (out["comparison"] == "annotators") & (out["statistic"] == "alpha_nominal")
    ].iloc[0]
    assert alpha["value"] == 1.0
    assert alpha["n_items"] == 4  # u5 has one rating and drops out
    ref = krippendorff.alpha(
        reliability_data=np.array(list(matrix.values())), level_of_measurement="nominal"
    )
    assert ref == pytest.approx(1.0)
    assert alpha["value"] != pytest.approx(0.325301, abs=1e-4)


def test_br12_small_sample_alpha_is_not_aligned_to_kappa():
    a = agreement(_scores(["yes", "no"], ["no", "yes"]), n_boot=0).iloc[0]
    assert a["alpha_nominal"] == pytest.approx(-0.5, abs=1e-12)
    assert a["kappa"] == pytest.approx(-1.0, abs=1e-12)
    b = agreement(_scores([1, 1, 1, 1, 1], [1, 1, 1, 1, 0]), n_boot=0).iloc[0]
    assert b["alpha_nominal"] == pytest.approx(0.0, abs=1e-12)
    assert b["kappa"] == pytest.approx(0.0, abs=1e-12)
    assert b["exact_agreement"] == pytest.approx(0.8)


# ---------------------------------------------------------------------------
# correlation level


def test_group_level_correlation_is_mean_of_per_group_scipy_values():
    rng = np.random.default_rng(2)
    rows, per_group = [], []
    for g in range(12):
        human = rng.normal(size=8)
        judge = human + rng.normal(scale=0.8, size=8)
        if g == 3:
            judge = np.full(8, 2.0)  # constant group: skipped
        for i in range(8):
            rows.append((f"g{g}-{i}", "coherence", judge[i], "unieval", "judge", g))
            rows.append((f"g{g}-{i}", "coherence", human[i], "ann", "human", g))
        if g != 3:
            per_group.append(
                (
                    stats.pearsonr(judge, human)[0],
                    stats.spearmanr(judge, human)[0],
                    stats.kendalltau(judge, human).statistic,
                )
            )
    scores = pd.DataFrame(
        rows, columns=["span_id", "dimension", "value", "scorer", "kind", "source"]
    )
    out = agreement(scores, level="group", group="source", n_boot=200).iloc[0]
    want = np.mean(per_group, axis=0)
    assert out["pearson"] == pytest.approx(want[0], abs=1e-10)
    assert out["spearman"] == pytest.approx(want[1], abs=1e-10)
    assert out["kendall_tau_b"] == pytest.approx(want[2], abs=1e-10)
    assert out["n_groups"] == 12
    assert out["pearson_ci_low"] < out["pearson"] < out["pearson_ci_high"]
    item = agreement(scores, n_boot=0).iloc[0]
    assert item["pearson"] != pytest.approx(out["pearson"], abs=1e-3)
    with pytest.raises(ValueError, match="group="):
        agreement(scores, level="group")


# ---------------------------------------------------------------------------
# item-level views, intervals, input handling


def test_views_and_intervals(five_point):
    judge, human = five_point
    scores = _scores(judge, human)
    before = scores.copy()
    ps = paired_scores(scores)
    assert (ps["difference"].to_numpy() == judge - human).all()
    ct = confusion_table(scores, scale=[1, 2, 3, 4, 5])
    assert len(ct) == 25 and ct["n"].sum() == len(judge)
    dis = disagreements(scores, n=5)
    assert (dis["difference"].abs().diff().dropna() <= 0).all()
    out = agreement(scores, n_boot=300, seed=4)
    again = agreement(scores, n_boot=300, seed=4)
    pd.testing.assert_frame_equal(out, again)
    for s in ("kappa", "kappa_quadratic", "alpha_ordinal", "spearman", "mean_bias"):
        assert out.loc[0, f"{s}_ci_low"] <= out.loc[0, s] <= out.loc[0, f"{s}_ci_high"]
    pd.testing.assert_frame_equal(scores, before)


def test_clear_errors():
    scores = _scores([1, 2], [1, 2])
    with pytest.raises(ValueError, match="lacks column"):
        agreement(scores.drop(columns="kind"))
    with pytest.raises(ValueError, match="not on the given scale"):
        agreement(scores, scale=[1, 3])
    with pytest.raises(ValueError, match=r"dimension\(s\) \['x'\]"):
        agreement(scores, "x")
    with pytest.raises(ValueError, match="repeat"):
        agreement(pd.concat([scores, scores.iloc[:1]]))
    with pytest.raises(ValueError, match="target_width"):
        labels_needed(scores, target_width=0)
    with pytest.raises(ValueError, match="method"):
        corrected_mean(scores, method="magic")
    with pytest.raises(ValueError, match="at least two people"):
        human_ceiling(scores)


# ---------------------------------------------------------------------------
# human ceiling


def test_human_ceiling_matches_statsmodels_and_krippendorff():
    rng = np.random.default_rng(1)
    n = 80
    truth = rng.integers(1, 5, n)
    matrix = {}
    for who in ("a", "b", "c", "gpt"):
        v = np.where(rng.random(n) < 0.7, truth, rng.integers(1, 5, n)).astype(float)
        if who in ("a", "b"):
            v[rng.random(n) < 0.15] = np.nan
        matrix[who] = v
    out = human_ceiling(
        _raters(matrix, judges=("gpt",)), level="ordinal", weights="linear", n_boot=200
    )
    get = out.set_index(["comparison", "rater_a", "rater_b", "statistic"])["value"]
    humans = np.vstack([matrix[w] for w in "abc"])
    for x, y in (("a", "b"), ("a", "c"), ("b", "c"), ("gpt", "a")):
        ok = ~np.isnan(matrix[x]) & ~np.isnan(matrix[y])
        t = _table(matrix[x][ok], matrix[y][ok], 4, offset=1)
        kind = "judge vs annotator" if x == "gpt" else "annotator pair"
        assert get[(kind, x, y, "cohen_kappa")] == pytest.approx(
            cohens_kappa(t, wt="linear").kappa, abs=1e-12
        )
    full = ~np.isnan(humans).any(axis=0)
    ref = fleiss_kappa(aggregate_raters(humans[:, full].T.astype(int))[0])
    assert get[("annotators", "all", "", "fleiss_kappa")] == pytest.approx(
        ref, abs=1e-12
    )
    ref = krippendorff.alpha(
        reliability_data=humans,
        level_of_measurement="ordinal",
        value_domain=[1, 2, 3, 4],
    )
    assert get[("annotators", "all", "", "alpha_ordinal")] == pytest.approx(ref)
    both = np.vstack([humans, matrix["gpt"]])
    ref = krippendorff.alpha(
        reliability_data=both, level_of_measurement="ordinal", value_domain=[1, 2, 3, 4]
    )
    assert get[("annotators + judge", "gpt", "", "alpha_ordinal")] == pytest.approx(ref)
    pairs = [
        get[("annotator pair", x, y, "cohen_kappa")]
        for x, y in (("a", "b"), ("a", "c"), ("b", "c"))
    ]
    assert get[("annotator pairs (mean)", "all", "all", "cohen_kappa")] == (
        pytest.approx(np.mean(pairs))
    )
    assert (out["ci_low"] <= out["value"]).all() and (
        out["value"] <= out["ci_high"]
    ).all()


def test_human_ceiling_reproduces_pandalm_annotator_agreement():
    """PandaLM README: pairwise kappas 0.85/0.88/0.86 (0.8520, 0.8789, 0.8617
    unrounded); PROVENANCE cross-checks Fleiss 0.86418 and alpha 0.86422."""
    items = json.loads(shared_path("pandalm", "testset-v1.json").read_text())
    rows = [
        (it["idx"], "preference", it[f"annotator{a}"], f"annotator{a}", "human")
        for it in items
        for a in (1, 2, 3)
    ]
    scores = pd.DataFrame(
        rows, columns=["span_id", "dimension", "value", "scorer", "kind"]
    )
    out = human_ceiling(scores, n_boot=0)
    get = out.set_index(["comparison", "rater_a", "rater_b", "statistic"])["value"]
    for (a, b), want in {(1, 2): 0.8520, (1, 3): 0.8789, (2, 3): 0.8617}.items():
        got = get[("annotator pair", f"annotator{a}", f"annotator{b}", "cohen_kappa")]
        assert round(got, 4) == want
    assert round(get[("annotators", "all", "", "fleiss_kappa")], 5) == 0.86418
    assert round(get[("annotators", "all", "", "alpha_nominal")], 5) == 0.86422


# ---------------------------------------------------------------------------
# pairwise judges


def test_pairwise_agreement_hand_computed():
    v = pd.DataFrame(
        {
            "pair_id": [1, 1, 2, 2, 3, 3, 4, 4, 5],
            "judge": "j",
            "order": ["original", "swapped"] * 4 + ["original"],
            # pair 1 right twice; 2 picks the first shown twice; 3 the second
            # shown twice; 4 unparsed in both orders; 5 judged once, a tie
            "winner": [1, 1, 1, 2, 2, 1, None, None, "tie"],
            "gold": [1, 1, 2, 2, 1, 1, 2, 2, 1],
        }
    )
    row = pairwise_agreement(v, n_boot=200).iloc[0]
    assert row["n_pairs"] == 5 and row["n_both_orders"] == 4
    assert row["accuracy"] == pytest.approx(4 / 9)
    assert row["accuracy_original"] == pytest.approx(1 / 5)
    assert row["accuracy_swapped"] == pytest.approx(3 / 4)
    assert row["correct_both"] == pytest.approx(1 / 4)
    assert row["position_consistency"] == pytest.approx(2 / 4)  # pairs 1 and 4
    assert row["always_first"] == pytest.approx(1 / 4)
    assert row["always_second"] == pytest.approx(1 / 4)
    # decisive verdicts: 1/orig first, 1/swap second, 1/orig first, 2/swap first,
    # 2/orig second, 1/swap second
    assert row["first_position_rate"] == pytest.approx(3 / 6)
    assert row["tie_rate"] == pytest.approx(1 / 9)
    assert row["invalid_rate"] == pytest.approx(2 / 9)
    strict = pairwise_agreement(v, n_boot=0, unparsed_agree=False).iloc[0]
    assert strict["position_consistency"] == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match="order"):
        pairwise_agreement(v.assign(order="first"))
    with pytest.raises(ValueError, match="winner"):
        pairwise_agreement(v.assign(winner=7))


def test_pairwise_agreement_reproduces_llmbar_natural():
    import ast

    root = shared_path("llmbar_natural")
    published = {
        "GPT-4": (0.935, 0.97),
        "ChatGPT": (0.79, 0.68),
        "LLaMA2": (0.77, 0.74),
        "PaLM2": (0.82, 0.84),
        "Falcon": (0.76, 0.60),
    }
    rows = []
    for name in published:
        path = root / "evaluators" / name / "Vanilla_NoRules" / "result.json"
        for i, item in enumerate(json.loads(path.read_text())):
            res = item["results"]
            last = (ast.literal_eval(res) if isinstance(res, str) else res)[-1]
            for key, order in (
                ("swap = False", "original"),
                ("swap = True", "swapped"),
            ):
                rows.append((i, name, order, last[key]["winner"], item["label"]))
    v = pd.DataFrame(rows, columns=["pair_id", "judge", "order", "winner", "gold"])
    out = pairwise_agreement(v, n_boot=0).set_index("judge")
    for name, (acc, agr) in published.items():
        assert out.loc[name, "accuracy"] == pytest.approx(acc, abs=1e-12)
        assert out.loc[name, "position_consistency"] == pytest.approx(agr, abs=1e-12)


# ---------------------------------------------------------------------------
# labels needed, trust


def test_labels_needed_matches_the_closed_form_for_a_proportion():
    """For exact agreement (a proportion p) the 95% width is about
    2 * 1.96 * sqrt(p (1 - p) / n), so n = (3.92)^2 p (1 - p) / w^2."""
    rng = np.random.default_rng(8)
    h = rng.integers(0, 2, 400)
    j = np.where(rng.random(400) < 0.8, h, 1 - h)
    scores = _scores(j, h)
    out = labels_needed(
        scores, statistic="exact_agreement", target_width=0.05, n_sims=2000
    ).iloc[0]
    p = np.mean(j == h)
    want = (2 * 1.959964) ** 2 * p * (1 - p) / 0.05**2
    assert out["labels_needed"] == pytest.approx(want, rel=0.1)
    assert out["additional_labels"] == out["labels_needed"] - 400
    curve = out_curves = pd.DataFrame(
        labels_needed(scores, target_width=0.1).attrs["curves"]
    )
    assert {"n_labels", "width"} <= set(out_curves.columns)
    assert curve["width"].iloc[-1] < curve["width"].iloc[0]


def test_labels_needed_undefined_statistic_gives_na_with_reason():
    out = labels_needed(_scores(["pass"] * 30, ["pass"] * 30)).iloc[0]
    assert pd.isna(out["labels_needed"]) and "undefined" in out["note"]


def _judged(n, noise, seed):
    rng = np.random.default_rng(seed)
    h = rng.integers(1, 6, n)
    j = np.where(rng.random(n) < noise, rng.integers(1, 6, n), h)
    return _scores(j, h)


def test_trust_report_verdicts_follow_the_stated_thresholds():
    good = trust_report(_judged(400, 0.1, 1), n_boot=300).iloc[0]
    bad = trust_report(_judged(400, 0.9, 2), n_boot=300).iloc[0]
    few = trust_report(_judged(20, 0.1, 3), n_boot=300).iloc[0]
    assert good["verdict"] == "ready to scale" and good["ci_low"] >= 0.6
    assert bad["verdict"] == "do not use" and bad["ci_high"] < 0.6
    assert few["verdict"] == "needs more labels" and "min_labels" in few["reason"]
    assert few["labels_needed"] >= 1
    assert set(VERDICTS) >= {good["verdict"], bad["verdict"], few["verdict"]}
    assert good["statistic"] == "kappa_quadratic"
    straddle = trust_report(
        _judged(400, 0.1, 1), threshold=good["estimate"], n_boot=300
    ).iloc[0]
    assert straddle["verdict"] == "needs more labels"
    assert straddle["labels_needed"] > 400


def test_trust_report_reports_the_human_ceiling():
    rng = np.random.default_rng(4)
    h = rng.integers(1, 4, 100)
    matrix = {"a": h, "b": np.where(rng.random(100) < 0.8, h, 1), "gpt": h}
    out = trust_report(_raters(matrix, judges=("gpt",)), n_boot=100).iloc[0]
    ok = cohens_kappa(
        _table(matrix["a"], matrix["b"], 3, offset=1), wt="quadratic"
    ).kappa
    assert out["human_ceiling"] == pytest.approx(ok)
    mine = cohens_kappa(
        _table(matrix["gpt"], matrix["a"], 3, offset=1), wt="quadratic"
    ).kappa
    mine += cohens_kappa(
        _table(matrix["gpt"], matrix["b"], 3, offset=1), wt="quadratic"
    ).kappa
    assert out["judge_vs_annotators"] == pytest.approx(mine / 2)
    assert "people reach" in out["reason"]


# ---------------------------------------------------------------------------
# corrected mean


def test_ppi_matches_the_closed_form_and_corrected_mean_uses_it():
    rng = np.random.default_rng(9)
    truth = rng.integers(1, 6, 3000).astype(float)
    judge = np.clip(truth + rng.choice([0, 1, 1], 3000), 1, 5)
    lab = np.arange(300)
    fu, fl, y = judge[300:], judge[lab], truth[lab]
    plain = ppi_mean(fu, fl, y, power_tuning=False)
    est = fu.mean() + (y - fl).mean()
    se = np.sqrt(fu.var(ddof=1) / fu.size + (y - fl).var(ddof=1) / y.size)
    assert float(plain["estimate"]) == pytest.approx(est)
    assert float(plain["ci_high"]) == pytest.approx(est + 1.959964 * se, rel=1e-6)
    judged = _scores(judge, [None] * 3000)
    labels = _scores([None] * 300, truth[:300])
    out = corrected_mean(judged, labels, power_tuning=False).iloc[0]
    assert out["method"] == "ppi" and out["n_unlabelled"] == 2700
    assert out["corrected_mean"] == pytest.approx(est)
    assert out["judge_mean"] == pytest.approx(judge.mean())
    tuned = corrected_mean(judged, labels).iloc[0]
    lam = np.cov(y, fl)[0, 1] / ((1 + 300 / 2700) * judge.var(ddof=1))
    assert tuned["power_lambda"] == pytest.approx(lam)
    assert tuned["ci_high"] - tuned["ci_low"] <= out["ci_high"] - out["ci_low"] + 1e-9


def test_rogan_gladen_pass_rate():
    rng = np.random.default_rng(10)
    n = 4000
    truth = rng.random(n) < 0.3
    judge = np.where(truth, rng.random(n) < 0.9, rng.random(n) < 0.25)
    names = np.array(["fail", "pass"], dtype=object)
    judged = _scores(names[judge.astype(int)], [None] * n)
    labels = _scores([None] * 400, names[truth[:400].astype(int)])
    out = corrected_mean(judged, labels, scale=["fail", "pass"]).iloc[0]
    t, j = truth[:400], judge[:400]
    se_, sp = (t & j).sum() / t.sum(), (~t & ~j).sum() / (~t).sum()
    want = (judge.mean() + sp - 1) / (se_ + sp - 1)
    assert out["method"] == "rogan_gladen"
    assert out["corrected_mean"] == pytest.approx(want)
    assert out["sensitivity"] == pytest.approx(se_)
    assert out["ci_low"] < truth.mean() < out["ci_high"]
    assert out["judge_mean"] == pytest.approx(judge.mean())
    chance = rogan_gladen(0.5, 100, 5, 10, 5, 10)
    assert np.isnan(chance["estimate"])
    with pytest.raises(ValueError, match="two"):
        corrected_mean(_judged(50, 0.1, 1), method="rogan_gladen")


def test_public_names_resolve():
    for name in ("agreement", "labels_needed", "trust_report", "corrected_mean"):
        assert callable(getattr(llmdrift, name))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agreement(_scores([1, 2, 3], [1, 2, 2]), n_boot=20)


def test_corrected_mean_weights_labels_by_inclusion_probability():
    rng = np.random.default_rng(12)
    n = 2000
    truth = rng.integers(1, 6, n).astype(float)
    judge = np.clip(truth + rng.choice([0, 1, 1], n), 1, 5)
    prob = np.where(judge <= 3, 0.3, 0.05)
    lab = rng.random(n) < prob
    judged = _scores(judge, [None] * n)
    labels = _scores([None] * n, np.where(lab, truth, np.nan).tolist())
    labels = labels[labels["value"].notna()].copy()
    labels["inclusion_prob"] = prob[labels["span_id"].str[1:].astype(int)]
    before = labels.copy()
    out = corrected_mean(judged, labels).iloc[0]
    want = ppi_mean_weighted(judge, lab, truth, prob)
    assert out["labelling"] == "inclusion_prob" and out["method"] == "ppi"
    assert out["corrected_mean"] == pytest.approx(float(want["estimate"]))
    assert out["ci_high"] == pytest.approx(float(want["ci_high"]))
    plain = corrected_mean(judged, labels, inclusion_prob=None).iloc[0]
    assert plain["labelling"] == "simple random"
    assert plain["corrected_mean"] != pytest.approx(out["corrected_mean"], abs=1e-3)
    pd.testing.assert_frame_equal(labels, before)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        corrected_mean(judged, labels.assign(inclusion_prob=0.0))
    names = np.array(["fail", "pass"], dtype=object)
    binary = labels.assign(value=names[(labels["value"] > 3).astype(int)])
    judged_binary = judged.assign(value=names[(judged["value"] > 3).astype(int)])
    with pytest.raises(NotImplementedError, match="method='ppi'"):
        corrected_mean(judged_binary, binary, method="rogan_gladen")
    auto = corrected_mean(judged_binary, binary, scale=["fail", "pass"]).iloc[0]
    assert auto["method"] == "ppi"


def test_labels_needed_is_not_fooled_by_a_few_perfect_labels():
    """12 labels in perfect agreement: without smoothing the simulation never
    draws a disagreement and claims 10 labels give kappa +- 0.05."""
    s = _scores(["pass", "fail"] * 6, ["pass", "fail"] * 6)
    out = labels_needed(s, scale=["fail", "pass"], target_width=0.1).iloc[0]
    assert out["estimate"] == 1.0
    assert out["labels_needed"] > 100
    assert "first guess" in out["note"]


def test_against_each_annotator_gives_one_row_per_person():
    rng = np.random.default_rng(6)
    h = rng.integers(1, 4, 60)
    matrix = {"a": h, "b": np.where(rng.random(60) < 0.7, h, 2), "gpt": h}
    out = agreement(_raters(matrix, judges=("gpt",)), against="each", n_boot=0)
    assert out["human"].tolist() == ["a", "b"]
    assert out.loc[0, "kappa"] == pytest.approx(1.0)
    ref = cohens_kappa(_table(matrix["gpt"], matrix["b"], 3, offset=1)).kappa
    assert out.loc[1, "kappa"] == pytest.approx(ref)


def _frames_for_common_checks():
    rng = np.random.default_rng(13)
    n = 120
    h = rng.integers(1, 6, n)
    matrix = {
        "a": h,
        "b": np.where(rng.random(n) < 0.8, h, rng.integers(1, 6, n)),
        "gpt": np.clip(h + rng.choice([-1, 0, 0, 1], n), 1, 5),
    }
    return _raters(matrix, judges=("gpt",))


COMMON = {
    "agreement": lambda s: agreement(s, n_boot=100),
    "paired_scores": lambda s: paired_scores(s),
    "confusion_table": lambda s: confusion_table(s),
    "disagreements": lambda s: disagreements(s, n=None),
    "human_ceiling": lambda s: human_ceiling(s, n_boot=100),
    "labels_needed": lambda s: labels_needed(s, n_sims=100),
    "trust_report": lambda s: trust_report(s, n_boot=100, n_sims=100),
    "corrected_mean": lambda s: corrected_mean(s),
}
# estimates that must not depend on the row order (intervals may: the
# bootstrap resamples items in the order they come)
ORDER_FREE = {
    "agreement": ["n", "kappa", "kappa_quadratic", "alpha_ordinal", "spearman"],
    "paired_scores": None,
    "confusion_table": ["n", "share"],
    "disagreements": None,
    "human_ceiling": ["value"],
    "labels_needed": ["n_labelled", "estimate"],
    "trust_report": ["estimate", "human_ceiling"],
    "corrected_mean": ["corrected_mean", "ci_low", "ci_high"],
}


@pytest.mark.parametrize("name", sorted(COMMON))
def test_common_checks_input_untouched_and_row_order_irrelevant(name):
    scores = _frames_for_common_checks()
    before = scores.copy()
    out = COMMON[name](scores)
    pd.testing.assert_frame_equal(scores, before)
    assert isinstance(out.index, pd.RangeIndex) and len(out) > 0
    shuffled = scores.sample(frac=1.0, random_state=3).reset_index(drop=True)
    again = COMMON[name](shuffled)
    cols = ORDER_FREE[name]
    if cols is None:  # item-level views: the same rows in some order
        key = ["dimension", "span_id"]
        pd.testing.assert_frame_equal(
            out.sort_values(key).reset_index(drop=True)[sorted(out.columns)],
            again.sort_values(key).reset_index(drop=True)[sorted(out.columns)],
        )
    else:
        pd.testing.assert_frame_equal(out[cols], again[cols])


@pytest.mark.xfail(strict=True, reason="percentile bootstrap undercovers at n=20")
def test_known_shortcoming_small_sample_bootstrap_coverage():
    """Should hold: at 20 labelled items the 95% Spearman interval covers the
    population value at least 93% of the time (600 data sets, 500 resamples
    each). It covers about 89% (quadratic kappa 91%, mean bias 90%):
    percentile intervals are too narrow on small samples. From about 200 items coverage is 94-95% (see
    test_calibration_coverage.py)."""
    joint = np.array([[0.20, 0.03, 0.01], [0.08, 0.25, 0.04], [0.03, 0.09, 0.27]])
    values = np.array([1.0, 2.0, 3.0])
    truth = float(_stats.table_statistics(joint * 1e9, values)["spearman"])
    rng = np.random.default_rng(1)
    codes = rng.choice(9, p=joint.ravel(), size=(600, 20))
    boot = bootstrap_tables(codes, 3, 500, rng)
    draws = _stats.spearman_from_tables(boot)
    low, high = _stats.percentile_interval(np.moveaxis(draws, 1, 0), 0.95)
    assert np.mean((low <= truth) & (truth <= high)) >= 0.93


def test_pairwise_agreement_reproduces_pandalm_judge_accuracy():
    """PROVENANCE cross-checks: against the annotators' majority label,
    PandaLM-7B accuracy 0.6677; gpt-3.5-turbo 0.6977 with "Tie" read as 0 and
    "garbage" counted wrong. One presentation order only: the order
    statistics are NaN."""
    root = shared_path("pandalm")
    items = json.loads((root / "testset-v1.json").read_text())
    gold = {}
    for it in items:
        votes = [it[f"annotator{a}"] for a in (1, 2, 3)]
        gold[it["idx"]] = max(set(votes), key=votes.count)
    rows = []
    for name, file, field in (
        ("gpt-3.5-turbo", "gpt-3.5-turbo-testset-v1.json", "gpt_result"),
        ("pandalm-7b", "pandalm-7b-testset-v1.json", "pandalm_result"),
    ):
        for it in json.loads((root / file).read_text()):
            winner = None if it[field] == "garbage" else it[field]
            rows.append((it["idx"], name, "original", winner, gold[it["idx"]]))
    v = pd.DataFrame(rows, columns=["pair_id", "judge", "order", "winner", "gold"])
    out = pairwise_agreement(v, n_boot=0).set_index("judge")
    assert round(out.loc["pandalm-7b", "accuracy"], 4) == 0.6677
    assert round(out.loc["gpt-3.5-turbo", "accuracy"], 4) == 0.6977
    assert out.loc["gpt-3.5-turbo", "invalid_rate"] == pytest.approx(25 / 999)
    assert out.loc["gpt-3.5-turbo", "tie_rate"] == pytest.approx(38 / 999)
    assert np.isnan(out.loc["pandalm-7b", "position_consistency"])


def test_corrected_mean_never_orders_text_labels_alphabetically():
    rng = np.random.default_rng(14)
    n = 400
    truth = rng.random(n) < 0.6
    judge = np.where(truth, rng.random(n) < 0.9, rng.random(n) < 0.3)
    # "correct" sorts before "incorrect": alphabetical order would make
    # "incorrect" the pass label
    names = np.array(["incorrect", "correct"], dtype=object)
    judged = _scores(names[judge.astype(int)], [None] * n)
    labels = _scores([None] * 100, names[truth[:100].astype(int)])
    with pytest.raises(ValueError, match="positive="):
        corrected_mean(judged, labels)
    by_scale = corrected_mean(judged, labels, scale=["incorrect", "correct"]).iloc[0]
    by_positive = corrected_mean(judged, labels, positive="correct").iloc[0]
    assert by_scale["corrected_mean"] == pytest.approx(by_positive["corrected_mean"])
    assert by_scale["judge_mean"] == pytest.approx(judge.mean())
    three = np.array(["cat", "dog", "fish"], dtype=object)
    with pytest.raises(ValueError, match="without an order"):
        corrected_mean(
            _scores(three[rng.integers(0, 3, 50)], three[rng.integers(0, 3, 50)])
        )


def test_human_ceiling_weights_need_an_order():
    order = ["low", "mid", "high"]
    rng = np.random.default_rng(15)
    h = rng.integers(0, 3, 40)
    labels = np.array(order, dtype=object)
    matrix = {
        "a": labels[h],
        "b": labels[np.clip(h + rng.choice([-1, 0, 1], 40), 0, 2)],
    }
    scores = _raters(matrix)
    with pytest.raises(ValueError, match="without an order"):
        human_ceiling(scores, weights="quadratic")
    out = human_ceiling(scores, scale=order, weights="quadratic", n_boot=0)
    b_pos = np.array([order.index(x) for x in matrix["b"]])
    ref = cohens_kappa(_table(h, b_pos, 3), wt="quadratic").kappa
    got = out[
        (out["comparison"] == "annotator pair") & (out["statistic"] == "cohen_kappa")
    ]["value"].iloc[0]
    assert got == pytest.approx(ref)


def test_infinite_and_all_missing_ratings_are_named():
    scores = pd.DataFrame(
        {
            "span_id": ["a", "a", "b", "b", "c", "c"],
            "dimension": "format",
            "value": [1.0, 1.0, 2.0, 2.0, 3.0, 2.0],
            "scorer": ["j", "h", "j", "h", "j", "h"],
            "kind": ["judge", "human"] * 3,
        }
    )
    bad = scores.assign(value=scores["value"].where(scores.index != 2, np.inf))
    with pytest.raises(ValueError, match="infinite rating.*'b'"):
        agreement(bad, n_boot=10)
    with pytest.raises(ValueError, match="every judge and human value is missing"):
        agreement(scores.assign(value=np.nan), n_boot=10)


def test_corrected_mean_reads_population_level_probabilities_as_two_phase():
    # labels drawn from judged spans: a human row's inclusion_prob in the
    # scores contract is P(sampled from all traffic) = P(judged) * P(labelled |
    # judged); giving it that way or as the conditional gives the same answer
    rng = np.random.default_rng(3)
    n = 400
    span = [f"s{i}" for i in range(n)]
    judge_value = rng.integers(1, 6, n).astype(float)
    labelled = rng.random(n) < np.where(judge_value <= 2, 0.5, 0.1)
    p_label = np.where(judge_value <= 2, 0.5, 0.1)
    human_value = np.clip(judge_value - (rng.random(n) < 0.3), 1, 5)
    judges = pd.DataFrame(
        {
            "span_id": span,
            "dimension": "q",
            "value": judge_value,
            "scorer": "j",
            "kind": "judge",
            "inclusion_prob": 0.05,
        }
    )
    humans = pd.DataFrame(
        {
            "span_id": np.array(span)[labelled],
            "dimension": "q",
            "value": human_value[labelled],
            "scorer": "h",
            "kind": "human",
            "inclusion_prob": p_label[labelled],
        }
    )
    conditional = corrected_mean(judges.drop(columns="inclusion_prob"), humans)
    population = corrected_mean(
        judges, humans.assign(inclusion_prob=0.05 * humans["inclusion_prob"])
    )
    for column in ("corrected_mean", "ci_low", "ci_high"):
        assert population[column].iloc[0] == pytest.approx(conditional[column].iloc[0])


def _as_text(scores, kinds=("judge", "human"), fmt="{:g}"):
    """The scores with the values of ``kinds`` written as text (object dtype)."""
    out = scores.assign(value=scores["value"].astype(object))
    rows = out["kind"].isin(kinds)
    out.loc[rows, "value"] = [fmt.format(v) for v in out.loc[rows, "value"]]
    return out


@pytest.mark.parametrize(
    ("kinds", "fmt"),
    [(("human",), "{:g}"), (("judge", "human"), "{:g}"), (("human",), " {:.2f}")],
)
def test_numbers_stored_as_text_are_read_as_numbers_with_a_warning(kinds, fmt):
    """T3-14: text '1' never equalled the number 1 (agreement 0), and text on
    both sides lost its order (no correlation, no mean)."""
    rng = np.random.default_rng(3)
    human = rng.integers(1, 6, 80).astype(float)
    judge = np.clip(human + rng.choice([-1, 0, 0, 1], 80), 1, 5)
    scores = _scores(list(judge), list(human))
    text = _as_text(scores, kinds, fmt)
    expected = agreement(scores, n_boot=20)
    with pytest.warns(llmdrift.LlmdriftWarning) as caught:
        got = agreement(text, n_boot=20)
    message = str(caught[0].message)
    n_text = int(text["kind"].isin(kinds).sum())
    assert f"column 'value' holds {n_text} judge/human value(s) that are numbers" in (
        message
    )
    assert "dimension(s) ['q']" in message and "pd.to_numeric" in message
    pd.testing.assert_frame_equal(got, expected)
    assert got["exact_agreement"].iloc[0] > 0.5
    # the other functions read them the same way; the caller's frame is kept
    with pytest.warns(llmdrift.LlmdriftWarning, match="numbers stored as text"):
        mean = corrected_mean(text)
    assert mean["judge_mean"].iloc[0] == pytest.approx(judge.mean())
    with pytest.warns(llmdrift.LlmdriftWarning, match="numbers stored as text"):
        pairs = paired_scores(text)
    assert pairs["human_value"].astype(float).sum() == pytest.approx(human.sum())
    assert text["value"].dtype == object


def test_numbers_as_text_mixed_with_other_text_are_refused_naming_both():
    scores = _scores(["1", "0", "1", "0"], ["1", "n/a", "1", "0"])
    with pytest.raises(ValueError) as info:
        agreement(scores, n_boot=10)
    text = str(info.value)
    assert "column 'value' of dimension 'q' mixes numbers stored as text" in text
    assert "['0', '1']" in text and "['n/a']" in text
    assert "pd.to_numeric" in text and "scale=" in text
    # declared text labels stay labels, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", llmdrift.LlmdriftWarning)
        out = agreement(scores, scale=["0", "1", "n/a"], n_boot=10)
    assert out["n"].iloc[0] == 4
    # text that reads as no number is labels, as before
    labels = _scores(["pass", "fail", "pass"], ["pass", "pass", "pass"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", llmdrift.LlmdriftWarning)
        out = agreement(labels, n_boot=10)
    assert out["exact_agreement"].iloc[0] == pytest.approx(2 / 3)
