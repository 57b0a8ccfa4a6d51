"""Mean quality over all judged traffic, corrected by a human-labelled subset.

Prediction-powered inference (Angelopoulos et al., 2023; the power-tuned
"PPI++" form of Angelopoulos, Duchi and Zrnic, 2023) for means, and the
Rogan-Gladen correction of a pass rate for the judge's sensitivity and
specificity. The estimators are written on arrays with leading batch axes
(:func:`ppi_mean`, :func:`rogan_gladen`) so the coverage simulations in the
tests run many data sets at once through the same code.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as _sps

from llmdrift.calibration._frames import (
    PairOptions,
    _numeric,
    check_ci,
    check_scores,
)

__all__ = ["corrected_mean", "ppi_mean", "ppi_mean_weighted", "rogan_gladen"]

_METHODS = ("auto", "ppi", "rogan_gladen")


def _z(ci: float) -> float:
    return float(_sps.norm.ppf(0.5 + ci / 2.0))


def _floats(*arrays) -> list[np.ndarray]:
    """Each argument as a float array (the estimators' common preparation)."""
    return [np.asarray(a, dtype=float) for a in arrays]


def _normal_interval(est, se, ci: float, **extra) -> dict[str, np.ndarray]:
    """``estimate, ci_low, ci_high, se`` of a normal interval, then ``extra``."""
    half = _z(ci) * se
    return {
        "estimate": est,
        "ci_low": est - half,
        "ci_high": est + half,
        "se": se,
        **extra,
    }


def _row_figures(out: dict, *extra: str) -> dict[str, float]:
    """The corrected_mean row fields of an estimator's result (plus ``extra``)."""
    row = {
        "corrected_mean": float(out["estimate"]),
        "ci_low": float(out["ci_low"]),
        "ci_high": float(out["ci_high"]),
    }
    row.update({name: float(out[name]) for name in extra})
    return row


def ppi_mean(
    f_unlabelled: np.ndarray,
    f_labelled: np.ndarray,
    y_labelled: np.ndarray,
    *,
    ci: float = 0.95,
    power_tuning: bool = True,
) -> dict[str, np.ndarray]:
    """Prediction-powered mean with a normal interval, on batches of data sets.

    ``theta = mean(y) + lambda * (mean(f_unlabelled) - mean(f_labelled))``
    with variance ``lambda^2 var(f_u) / N + var(y - lambda f_l) / n``;
    ``lambda = 1`` is classical PPI, and power tuning uses
    ``lambda = cov(y, f_l) / ((1 + n / N) var(f))``, which is never worse
    than the labels alone asymptotically.

    Parameters
    ----------
    f_unlabelled : array, shape (..., N)
        Judge scores on the items without human labels.
    f_labelled, y_labelled : array, shape (..., n)
        Judge scores and human values on the labelled items (random sample).
    ci : float, default=0.95
    power_tuning : bool, default=True

    Returns
    -------
    dict with ``estimate, ci_low, ci_high, se, power_lambda`` arrays.

    Examples
    --------
    >>> f_u = np.array([3.0, 4.0, 5.0, 4.0, 3.0, 5.0])
    >>> out = ppi_mean(f_u, np.array([4.0, 5.0, 3.0]), np.array([3.0, 4.0, 2.0]),
    ...                power_tuning=False)
    >>> float(out["estimate"])  # 3 + (4 - 4)
    3.0
    """
    check_ci("ppi_mean", ci)
    fu, fl, y = _floats(f_unlabelled, f_labelled, y_labelled)
    big_n, n = fu.shape[-1], fl.shape[-1]
    mean_fu = fu.mean(axis=-1)
    mean_fl = fl.mean(axis=-1)
    mean_y = y.mean(axis=-1)
    var_fu = fu.var(axis=-1, ddof=1) if big_n > 1 else np.zeros_like(mean_fu)
    if power_tuning:
        all_f = np.concatenate([fu, fl], axis=-1)
        var_f = all_f.var(axis=-1, ddof=1)
        cov = ((y - mean_y[..., None]) * (fl - mean_fl[..., None])).sum(axis=-1) / (
            n - 1
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            lam = np.where(var_f > 0, cov / ((1.0 + n / big_n) * var_f), 0.0)
    else:
        lam = np.ones_like(mean_y)
    resid = y - lam[..., None] * fl
    est = mean_y + lam * (mean_fu - mean_fl)
    se = np.sqrt(lam**2 * var_fu / big_n + resid.var(axis=-1, ddof=1) / n)
    return _normal_interval(est, se, ci, power_lambda=lam)


def ppi_mean_weighted(
    f: np.ndarray,
    labelled: np.ndarray,
    y: np.ndarray,
    inclusion_prob: np.ndarray,
    *,
    ci: float = 0.95,
    power_tuning: bool = True,
) -> dict[str, np.ndarray]:
    """Prediction-powered mean when items were picked for labelling with known,
    unequal probabilities (Poisson sampling), on batches of data sets.

    Every judged item ``i`` contributes
    ``z_i = lambda f_i + L_i (y_i - lambda f_i) / pi_i`` (``L_i`` = labelled,
    ``pi_i`` its inclusion probability), whose mean is unbiased for the mean
    of ``y`` over the judged traffic; the ``z_i`` are independent, so the
    interval is ``mean(z) +- z_(ci) sd(z) / sqrt(N)``. ``lambda = 1`` is the
    inverse-probability-weighted PPI; power tuning picks the ``lambda`` that
    minimises the sample variance of ``z``.

    Parameters
    ----------
    f : array, shape (..., N)
        Judge scores of all judged items.
    labelled : bool array, shape (..., N)
        Which items have a human label.
    y : array, shape (..., N)
        Human values (ignored where not labelled; NaN allowed there).
    inclusion_prob : array, shape (..., N)
        Probability each item had of being labelled (only read where
        labelled), in (0, 1].
    ci : float, default=0.95
    power_tuning : bool, default=True

    Returns
    -------
    dict with ``estimate, ci_low, ci_high, se, power_lambda`` arrays.

    Examples
    --------
    >>> f = np.array([4.0, 4.0, 5.0, 3.0])
    >>> lab = np.array([True, False, True, False])
    >>> y = np.array([3.0, np.nan, 5.0, np.nan])
    >>> out = ppi_mean_weighted(f, lab, y, np.full(4, 0.5), power_tuning=False)
    >>> float(out["estimate"])  # (4 + 4 + 5 + 3 + (3 - 4) / 0.5) / 4
    3.5
    """
    check_ci("ppi_mean_weighted", ci)
    f, inclusion_prob, y = _floats(f, inclusion_prob, y)
    lab = np.asarray(labelled, dtype=bool)
    prob = np.where(lab, inclusion_prob, 1.0)
    y0 = np.where(lab, y, 0.0)
    big_n = f.shape[-1]
    a = f - lab * f / prob  # z = lambda * a + b
    b = lab * y0 / prob
    if power_tuning:
        ac = a - a.mean(axis=-1, keepdims=True)
        bc = b - b.mean(axis=-1, keepdims=True)
        va = (ac * ac).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            lam = np.where(va > 0, -(ac * bc).sum(axis=-1) / va, 1.0)
    else:
        lam = np.ones(f.shape[:-1])
    z = np.asarray(lam)[..., None] * a + b
    est = z.mean(axis=-1)
    se = z.std(axis=-1, ddof=1) / np.sqrt(big_n)
    return _normal_interval(est, se, ci, power_lambda=lam)


def rogan_gladen(
    apparent: np.ndarray,
    n_judged: np.ndarray,
    true_pos: np.ndarray,
    n_pos: np.ndarray,
    true_neg: np.ndarray,
    n_neg: np.ndarray,
    *,
    ci: float = 0.95,
    labelled_within: bool = True,
) -> dict[str, np.ndarray]:
    """Pass rate corrected for the judge's sensitivity and specificity.

    ``prevalence = (apparent + Sp - 1) / (Se + Sp - 1)`` (Rogan and Gladen,
    1978), with a delta-method interval whose variance is
    ``[a(1-a)/N + p^2 Se(1-Se)/n_pos + (1-p)^2 Sp(1-Sp)/n_neg] / J^2``,
    ``J = Se + Sp - 1`` (Youden's index), less
    ``2 [p Se(1-Se) + (1-p) Sp(1-Sp)] / (N J^2)`` when the labelled items are
    among the ``N`` judged ones (their judge verdicts then enter both the
    apparent rate and Se/Sp, a positive covariance that leaving out makes the
    interval about 98% instead of 95%). Estimate and interval are clipped to
    [0, 1]; NaN where ``J <= 0`` (a judge no better than chance carries no
    information about the pass rate).

    Parameters
    ----------
    apparent : array
        Share of all judged items the judge passed.
    n_judged : array
        How many items that share is over.
    true_pos, n_pos : array
        Labelled items people passed: how many the judge passed too, and
        how many there are (sensitivity ``true_pos / n_pos``).
    true_neg, n_neg : array
        Labelled items people failed: how many the judge failed too, and
        how many there are (specificity).
    ci : float, default=0.95
    labelled_within : bool, default=True
        Whether the labelled items are part of the ``n_judged`` items behind
        ``apparent`` (False: a separate validation sample).

    Returns
    -------
    dict with ``estimate, ci_low, ci_high, se, sensitivity, specificity``.

    Examples
    --------
    >>> out = rogan_gladen(0.62, 10_000, 90, 100, 80, 100)
    >>> round(float(out["estimate"]), 4)  # (0.62 + 0.8 - 1) / (0.9 + 0.8 - 1)
    0.6
    """
    check_ci("rogan_gladen", ci)
    a, n_judged, true_pos, n_pos, true_neg, n_neg = _floats(
        apparent, n_judged, true_pos, n_pos, true_neg, n_neg
    )
    se_ = true_pos / n_pos
    sp = true_neg / n_neg
    youden = se_ + sp - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (a + sp - 1.0) / youden
        pc = np.clip(p, 0.0, 1.0)
        var = (
            a * (1 - a) / n_judged
            + pc**2 * se_ * (1 - se_) / n_pos
            + (1 - pc) ** 2 * sp * (1 - sp) / n_neg
        )
        if labelled_within:
            var = var - 2.0 * (pc * se_ * (1 - se_) + (1 - pc) * sp * (1 - sp)) / (
                n_judged
            )
        var = np.maximum(var, 0.0) / youden**2
    ok = youden > 0
    se = np.where(ok, np.sqrt(var), np.nan)
    half = _z(ci) * se
    return {
        "estimate": np.where(ok, pc, np.nan),
        "ci_low": np.where(ok, np.clip(p - half, 0.0, 1.0), np.nan),
        "ci_high": np.where(ok, np.clip(p + half, 0.0, 1.0), np.nan),
        "se": se,
        "sensitivity": se_,
        "specificity": sp,
    }


def _classical(y: np.ndarray, ci: float) -> tuple[float, float, float]:
    m = float(np.mean(y))
    if len(y) < 2:
        return m, np.nan, np.nan
    half = _z(ci) * float(np.std(y, ddof=1)) / np.sqrt(len(y))
    return m, m - half, m + half


def corrected_mean(
    judge_all: pd.DataFrame,
    paired: pd.DataFrame | None = None,
    dimension: str | Sequence[str] | None = None,
    *,
    judge: str | Sequence[str] | None = None,
    human: str | Sequence[str] | None = None,
    method: str = "auto",
    positive=None,
    scale: Sequence | dict | None = None,
    consensus: str = "auto",
    power_tuning: bool = True,
    inclusion_prob: str | None = "inclusion_prob",
    ci: float = 0.95,
    max_categories: int = 20,
) -> pd.DataFrame:
    """Mean quality over all judged traffic, corrected with the human labels.

    Parameters
    ----------
    judge_all : pandas.DataFrame
        Scores rows ``span_id, dimension, value, scorer, kind``: the judge's
        scores (``kind="judge"``) on all traffic. It may also hold the human
        rows, in which case ``paired`` can be omitted.
    paired : pandas.DataFrame, optional
        Scores rows of the labelled subset: ``kind="human"`` rows (annotator in
        ``scorer``), and optionally the judge rows of those items (else they
        are taken from ``judge_all``). The labelled items must be a random
        sample of the judged traffic: a simple random sample, or, when the
        human rows carry the ``inclusion_prob`` column, a Poisson sample with
        those probabilities (e.g. low scores labelled more often).
    dimension, judge, human, scale, consensus, max_categories
        As for :func:`llmdrift.calibration.agreement`; several annotators of an
        item are combined by ``consensus`` first.
    method : {"auto", "ppi", "rogan_gladen"}, default="auto"
        "ppi": prediction-powered mean of the scale values. "rogan_gladen":
        pass rate corrected for sensitivity and specificity (two-category
        scales, simple random labelling only). "auto" is "rogan_gladen" for
        two categories labelled at random, else "ppi" (on a pass/fail scale
        with ``inclusion_prob``, PPI of the pass rate).
    positive : optional
        The "pass" category for "rogan_gladen"; default the higher one in scale
        order (``"pass"`` of ``["fail", "pass"]``, ``1`` of ``[0, 1]``).
    power_tuning : bool, default=True
        PPI++ weighting of the judge (False: classical PPI, weight 1).
    inclusion_prob : str or None, default="inclusion_prob"
        Column of the human rows holding the probability each labelled item
        had of being picked for labelling. As in the scores contract it may be
        the probability of being sampled from all traffic: where the judge
        rows carry the same column, the labelling probability given judged is
        taken as the ratio of the two. Used when the human rows have it
        (the ``labelling`` column of the result says so); None ignores it and
        treats the labels as a simple random sample. Rows of one item must
        agree, and values must lie in (0, 1].
    ci : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        One row per dimension and judge:

        - ``dimension, judge, method``, ``labelling`` ("simple random" or
          "inclusion_prob": weighted by the probabilities)
        - ``n_judged`` (int): items with a judge score; ``n_labelled`` (int):
          of them, items with human labels; ``n_unlabelled`` (int)
        - ``judge_mean``: the judge's raw mean over all judged items (for a
          pass/fail, its pass rate)
        - ``human_mean, human_ci_low, human_ci_high``: the mean of the labels
          alone, classical interval
        - ``corrected_mean, ci_low, ci_high``: the corrected estimate and its
          interval (higher is better when the scale is)
        - ``power_lambda`` (PPI weight of the judge; NaN for Rogan-Gladen),
          ``sensitivity, specificity`` (Rogan-Gladen; NaN for PPI)
        - ``note`` (str)

    Raises
    ------
    ValueError
        Bad method, "rogan_gladen" on a scale without two categories, unknown
        ``positive``, text labels without ``scale`` (or ``positive``), fewer
        than 2 labelled items, the input errors of :func:`agreement`.
    NotImplementedError
        "rogan_gladen" with inclusion probabilities.

    Notes
    -----
    PPI uses the labelled items for the judge's bias and the unlabelled ones
    for the judge's mean; the interval is valid whatever the judge's bias, if
    the labelled items are a random sample of the judged traffic with known
    probabilities. A labelling sample picked by hand, or by a rule whose
    probabilities are not recorded in ``inclusion_prob`` (e.g. "label every
    complaint"), breaks that assumption, and nothing here can detect it; a
    rule with probability 1 (always label) is fine when recorded as 1.
    The Rogan-Gladen interval is a delta-method interval; it gets wide as the
    judge nears chance (Youden's J near 0) and is NaN at or below chance.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.integers(1, 6, 2000).astype(float)
    >>> judged = np.clip(truth + 1, 1, 5)  # a lenient judge
    >>> rows = pd.DataFrame({"span_id": range(2000), "dimension": "q",
    ...                      "value": judged, "scorer": "gpt", "kind": "judge"})
    >>> labels = pd.DataFrame({"span_id": range(200), "dimension": "q",
    ...                        "value": truth[:200], "scorer": "ann",
    ...                        "kind": "human"})
    >>> out = corrected_mean(rows, labels)
    >>> round(float(out.loc[0, "judge_mean"]), 2), round(float(truth.mean()), 2)
    (3.84, 3.05)
    >>> bool(out.loc[0, "ci_low"] < truth.mean() < out.loc[0, "ci_high"])
    True
    """
    options = PairOptions.of(locals())
    if method not in _METHODS:
        raise ValueError(
            f"corrected_mean: method must be one of {_METHODS}, got {method!r}"
        )
    ci = check_ci("corrected_mean", ci)
    judge_all = check_scores(judge_all, where="corrected_mean (judge_all)", scale=scale)
    judges_all = judge_all[judge_all["kind"] == "judge"]
    if judges_all.empty:
        raise ValueError(
            "corrected_mean: judge_all has no kind='judge' rows; it should hold the "
            "judge's scores on all traffic"
        )
    if paired is None:
        humans = judge_all[judge_all["kind"] == "human"]
        paired_judges = judges_all.iloc[0:0]
    else:
        paired = check_scores(paired, where="corrected_mean (paired)", scale=scale)
        humans = paired[paired["kind"] == "human"]
        paired_judges = paired[paired["kind"] == "judge"]
    if humans.empty:
        raise ValueError(
            "corrected_mean: no kind='human' rows in "
            f"{'judge_all' if paired is None else 'paired'}; pass the human labels "
            "of the labelled subset as paired="
        )
    # judge values of labelled items come from `paired` where it has them
    keys = ["span_id", "dimension", "scorer"]
    if len(paired_judges):
        taken = pd.MultiIndex.from_frame(paired_judges[keys])
        rest = judges_all[~pd.MultiIndex.from_frame(judges_all[keys]).isin(taken)]
        judges = pd.concat([rest, paired_judges], ignore_index=True)
    else:
        judges = judges_all
    cols = ["span_id", "dimension", "value", "scorer", "kind"]
    combined = pd.concat([judges[cols], humans[cols]], ignore_index=True)
    probs = _inclusion(humans, inclusion_prob, judges)
    records = []
    for pairs in options.pairs(combined, dimension, where="corrected_mean"):
        records.append(_one(pairs, judges, method, positive, power_tuning, ci, probs))
    return pd.DataFrame.from_records(records)


def _inclusion(humans: pd.DataFrame, column: str | None, judges=None):
    """{(dimension, span_id): probability} from the human rows, or None.

    In the scores contract ``inclusion_prob`` is the probability that the span
    was sampled from all traffic. Labels are drawn from the judged spans, so
    where the judge rows carry their own probability, the probability of
    being labelled given judged is the ratio of the two (two-phase sampling).
    """
    if column is None or column not in humans.columns:
        return None
    frame = humans[["dimension", "span_id", column]]
    prob = pd.to_numeric(frame[column], errors="coerce")
    bad = prob.isna() | (prob <= 0) | (prob > 1)
    if bad.any():
        first = frame.loc[bad, column].head(3).tolist()
        raise ValueError(
            f"corrected_mean: column {column!r} of the human rows must hold "
            f"probabilities in (0, 1], found {first}; fix them or pass "
            "inclusion_prob=None for simple random labelling"
        )
    per_item = prob.groupby([frame["dimension"], frame["span_id"]]).agg(["min", "max"])
    differ = per_item["min"] != per_item["max"]
    if differ.any():
        raise ValueError(
            f"corrected_mean: column {column!r} differs between annotators of the "
            f"same item (first: {per_item.index[differ][:3].tolist()}); one "
            "probability per item"
        )
    prob = per_item["min"]
    if judges is not None and column in judges.columns:
        judged = pd.to_numeric(judges[column], errors="coerce")
        judged = judged.groupby([judges["dimension"], judges["span_id"]]).mean()
        judged = judged.reindex(prob.index)
        conditional = (prob / judged).where(judged.notna() & (judged > 0), prob)
        prob = conditional.clip(upper=1.0)
    return prob


def _one(pairs, judges, method, positive, power_tuning, ci, probs) -> dict:
    sc = pairs.scale
    rows = judges[
        (judges["dimension"] == pairs.dimension)
        & (judges["scorer"].astype(str) == pairs.judge)
    ]
    f_all = _numeric(rows["value"].to_numpy(object), sc)
    keep = ~np.isnan(f_all)
    labelled = pd.Index(pairs.span_id)
    is_lab = rows["span_id"].isin(labelled).to_numpy()
    n = len(pairs.span_id)
    if n < 2:
        raise ValueError(
            f"corrected_mean: dimension {pairs.dimension!r}, judge {pairs.judge!r} has "
            f"{n} labelled item(s) with a judge score; at least 2 are needed"
        )
    f_unl = f_all[keep & ~is_lab]
    y = pairs.human_value.astype(float)
    fl = pairs.judge_value.astype(float)
    two = sc.categorical and len(sc.categories) == 2
    weighted = probs is not None
    if method == "auto":
        how = "rogan_gladen" if two and not weighted else "ppi"
    else:
        how = method
    if how == "rogan_gladen" and weighted:
        raise NotImplementedError(
            "corrected_mean: method='rogan_gladen' supports simple random "
            "labelling only; with inclusion probabilities use method='ppi' (the "
            "pass rate as a mean of 0/1), or inclusion_prob=None if the labels "
            "were drawn at random"
        )
    if (
        sc.categorical
        and not sc.ordered
        and not (how == "rogan_gladen" and positive is not None)
    ):
        raise ValueError(
            f"corrected_mean: dimension {pairs.dimension!r} has text labels "
            f"{list(sc.categories)} without an order, so which is better (and "
            "their mean) is unknown; give scale=[lowest, ..., highest] (e.g. "
            "['fail', 'pass']), or positive=<the pass label> for a pass/fail"
        )
    if how == "rogan_gladen" and not two:
        raise ValueError(
            f"corrected_mean: method='rogan_gladen' needs a pass/fail scale of two "
            f"categories; dimension {pairs.dimension!r} has "
            f"{'continuous ratings' if not sc.categorical else list(sc.categories)}"
        )
    hm, hlo, hhi = _classical(y, ci)
    row = {
        "dimension": pairs.dimension,
        "judge": pairs.judge,
        "method": how,
        "labelling": "inclusion_prob" if weighted else "simple random",
        "n_judged": int(keep.sum()),
        "n_labelled": n,
        "n_unlabelled": len(f_unl),
        "judge_mean": float(np.mean(f_all[keep])) if keep.any() else np.nan,
        "human_mean": hm,
        "human_ci_low": hlo,
        "human_ci_high": hhi,
        "corrected_mean": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "power_lambda": np.nan,
        "sensitivity": np.nan,
        "specificity": np.nan,
        "note": "",
    }
    # the scale caveats of agreement() (continuous, unordered) do not apply here
    notes = [t for t in pairs.notes if t and t != sc.note]
    if how == "ppi" and weighted:
        f_j = f_all[keep]
        ids = rows["span_id"].to_numpy(object)[keep]
        human_of = pd.Series(y, index=pd.Index(pairs.span_id, dtype=object))
        human_of = human_of[~human_of.index.duplicated()]
        y_all = human_of.reindex(pd.Index(ids, dtype=object)).to_numpy(float)
        lab = ~np.isnan(y_all)
        key = pd.MultiIndex.from_arrays(
            [np.full(len(ids), pairs.dimension, object), ids]
        )
        p_all = probs.reindex(key).to_numpy(float)
        missing = lab & np.isnan(p_all)
        if missing.any():
            raise ValueError(
                f"corrected_mean: {int(missing.sum())} labelled item(s) of dimension "
                f"{pairs.dimension!r} lack an inclusion probability"
            )
        out = ppi_mean_weighted(
            f_j, lab, y_all, p_all, ci=ci, power_tuning=power_tuning
        )
        row.update(_row_figures(out, "power_lambda"))
        notes.append(
            "the labels-only mean (human_mean) is unweighted and biased under "
            "unequal probabilities"
        )
    elif how == "ppi":
        if len(f_unl) == 0:
            notes.append("every judged item is labelled: the labels' own mean")
            row.update(corrected_mean=hm, ci_low=hlo, ci_high=hhi)
        else:
            out = ppi_mean(f_unl, fl, y, ci=ci, power_tuning=power_tuning)
            row.update(_row_figures(out, "power_lambda"))
    else:
        cats = list(sc.categories)
        pos = cats[-1] if positive is None else positive
        if pos not in cats:
            raise ValueError(
                f"corrected_mean: positive={pos!r} is not a category of dimension "
                f"{pairs.dimension!r} ({cats})"
            )
        pos_value = sc.values[cats.index(pos)]
        judged_pos = f_all[keep] == pos_value
        hp = y == pos_value
        jp = fl == pos_value
        out = rogan_gladen(
            judged_pos.mean(),
            judged_pos.size,
            (hp & jp).sum(),
            hp.sum(),
            (~hp & ~jp).sum(),
            (~hp).sum(),
            ci=ci,
        )
        row.update(
            _row_figures(out, "sensitivity", "specificity"),
            judge_mean=float(judged_pos.mean()),
            human_mean=float(hp.mean()),
        )
        _, hlo, hhi = _classical(hp.astype(float), ci)
        row.update(human_ci_low=hlo, human_ci_high=hhi)
        if hp.sum() == 0 or (~hp).sum() == 0:
            notes.append(
                "the labels hold only one of pass/fail, so sensitivity or "
                "specificity is unknown; label both kinds"
            )
        elif not np.isfinite(out["estimate"]):
            notes.append(
                "the judge is no better than chance on the labels (sensitivity + "
                "specificity <= 1): its verdicts say nothing about the pass rate"
            )
    row["note"] = "; ".join(notes)
    return row
