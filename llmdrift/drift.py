"""Distribution-shift tests: a window of scores against its baseline.

Each test takes two samples (baseline first, then the window) and returns a
:class:`DriftTest` with the statistic, the p-value where the test has one,
and an effect size beside it, since with thousands of scores a tiny shift is
"significant" and a p-value alone says nothing about size:

- :func:`mann_whitney` for ordinal scores (judge 1-5): Mann-Whitney U, with
  the rank-biserial correlation as effect size;
- :func:`chi_square` for categories and binary checks: chi-square test of
  homogeneity, with Cramér's V;
- :func:`ks` for continuous values: two-sample Kolmogorov-Smirnov, whose
  statistic D is itself an effect size;
- :func:`psi` (population stability index) on bin counts, with a stated
  epsilon for empty bins;
- :func:`wasserstein` (earth mover's distance, in score units).

:func:`drift_tests` runs the fitting test on every group x dimension of a
scores frame and controls the false discovery rate across all of them
(Benjamini-Hochberg).

Examples
--------
>>> round(psi([40, 30, 20, 10], [50, 30, 20, 0]).statistic, 6)
0.712399
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from llmdrift._args import (
    check_finite_values,
    check_int,
    check_number,
    check_probability,
    check_unique_rows,
    checked,
)
from llmdrift.schema import SCORE_KINDS, LlmdriftWarning, SchemaError, validate

__all__ = [
    "DriftTest",
    "psi",
    "mann_whitney",
    "chi_square",
    "ks",
    "wasserstein",
    "drift_tests",
    "PSI_EPSILON",
]

PSI_EPSILON = 1e-4
"""Default proportion that replaces an empty bin in :func:`psi` (no renormalising)."""


@dataclass(frozen=True)
class DriftTest:
    """Outcome of one baseline-vs-window test.

    Attributes
    ----------
    test : str
        ``"mann_whitney"``, ``"chi_square"``, ``"ks"``, ``"psi"`` or
        ``"wasserstein"``.
    statistic : float
        U (of the baseline sample), chi-square, D, PSI or the distance.
    p_value : float
        Two-sided p-value; NaN for PSI and Wasserstein, which have none.
    effect : float
        Effect size: rank-biserial correlation (positive when the window is
        higher), Cramér's V, D, PSI, or the distance.
    effect_name : str
    n_baseline, n_window : int
        Sample sizes (or total counts).
    drift : bool
        ``p_value < alpha`` for the tests, ``statistic >= threshold`` for PSI
        (and the distance, where a threshold is given).
    epsilon : float
        PSI only: the proportion that replaced empty bins; NaN otherwise.
    """

    test: str
    statistic: float
    p_value: float
    effect: float
    effect_name: str
    n_baseline: int
    n_window: int
    drift: bool
    epsilon: float = float("nan")


def _sample(values, name) -> np.ndarray:
    try:
        arr = np.asarray(pd.Series(values, dtype="float64").dropna(), dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} sample must hold numbers (NaN for missing); {err}."
        ) from None
    if len(arr) == 0:
        raise ValueError(f"{name} sample is empty (after dropping missing values).")
    infinite = np.isinf(arr)
    if infinite.any():
        raise ValueError(
            f"{name} sample holds {int(infinite.sum())} infinite value(s) (first "
            f"at position {int(infinite.argmax())}); give finite numbers, NaN "
            "where a value is missing."
        )
    return arr


def psi(reference, current, *, epsilon=PSI_EPSILON, threshold=0.25) -> DriftTest:
    """Population stability index of two binned distributions.

    Parameters
    ----------
    reference, current : array-like of float
        Counts (or proportions) per bin, the same bins in the same order.
    epsilon : float, default=1e-4
        Proportion that replaces a zero proportion in either distribution,
        without renormalising (the convention of Evidently's binning
        helper), so that an empty bin gives a large but finite term.
    threshold : float, default=0.25
        ``drift`` is ``PSI >= threshold``. The usual reading: below 0.1 no
        shift, 0.1 to 0.25 a moderate one, 0.25 and above a major one.

    Returns
    -------
    DriftTest
        ``statistic = effect = sum((c - r) * ln(c / r))`` over bins, with
        ``r, c`` the proportions; ``epsilon`` recorded.

    Examples
    --------
    >>> result = psi([60, 40, 0], [55, 35, 10])
    >>> round(result.statistic, 6), result.epsilon, result.drift
    (0.701112, 0.0001, True)
    >>> psi([1, 2, 3], [1, 2, 3]).statistic
    0.0
    """
    r = np.asarray(reference, dtype=np.float64)
    c = np.asarray(current, dtype=np.float64)
    if r.shape != c.shape or r.ndim != 1:
        raise ValueError(
            f"reference and current must be 1-d counts over the same bins; got "
            f"shapes {r.shape} and {c.shape}."
        )
    finite = np.isfinite(r).all() and np.isfinite(c).all()
    if (
        not finite
        or (r < 0).any()
        or (c < 0).any()
        or not (r.sum() > 0 and c.sum() > 0)
    ):
        raise ValueError(
            "reference and current bin counts must be finite and >= 0 with a "
            f"positive total in each; got {r.tolist()[:10]} and {c.tolist()[:10]}."
        )
    epsilon = checked("psi", check_probability, "epsilon", epsilon)
    checked("psi", check_number, "threshold", threshold)
    rp, cp = r / r.sum(), c / c.sum()
    rp = np.where(rp == 0, epsilon, rp)
    cp = np.where(cp == 0, epsilon, cp)
    value = float(np.sum((cp - rp) * np.log(cp / rp)))
    value = max(value, 0.0)  # each term is >= 0; clear rounding noise
    return DriftTest(
        "psi",
        value,
        float("nan"),
        value,
        "psi",
        int(round(r.sum())),
        int(round(c.sum())),
        bool(value >= threshold),
        float(epsilon),
    )


def mann_whitney(baseline, window, *, alpha=0.05) -> DriftTest:
    """Mann-Whitney U test of ordinal scores, two-sided.

    Parameters
    ----------
    baseline, window : array-like of float
        The two samples (missing values dropped).
    alpha : float, default=0.05

    Returns
    -------
    DriftTest
        ``statistic`` is U of the baseline sample (scipy's convention for
        the first sample); ``effect`` the rank-biserial correlation
        ``2 * U_window / (n1 n2) - 1`` in [-1, 1], positive when window
        scores tend to be higher.

    Notes
    -----
    scipy's ``mannwhitneyu`` (exact for small samples without ties, else the
    tie-corrected normal approximation with continuity correction). When
    every value ties, the tie-corrected variance is 0 and the statistic is
    undefined: U is then ``n1 n2 / 2`` and p is 1 (BR-17), returned directly.

    Examples
    --------
    >>> r = mann_whitney([0.7] * 8, [0.7] * 8)
    >>> r.statistic, r.p_value, r.drift
    (32.0, 1.0, False)
    """
    checked("mann_whitney", check_probability, "alpha", alpha)
    x, y = _sample(baseline, "baseline"), _sample(window, "window")
    n1, n2 = len(x), len(y)
    if np.all(x == x[0]) and np.all(y == x[0]):
        u, p = n1 * n2 / 2, 1.0
    else:
        res = stats.mannwhitneyu(x, y, alternative="two-sided")
        u, p = float(res.statistic), float(res.pvalue)
    effect = 2 * (n1 * n2 - u) / (n1 * n2) - 1
    return DriftTest(
        "mann_whitney", float(u), p, effect, "rank_biserial", n1, n2, bool(p < alpha)
    )


def chi_square(baseline, window, *, alpha=0.05) -> DriftTest:
    """Chi-square test that two samples of categories share one distribution.

    Parameters
    ----------
    baseline, window : array-like
        Category labels (any hashable; binary checks as 0/1 or bool).
        Missing values are dropped.
    alpha : float, default=0.05

    Returns
    -------
    DriftTest
        ``statistic`` chi-square of the 2 x K table of counts (categories
        seen in either sample), ``effect`` Cramér's V
        ``sqrt(chi2 / N)`` (two rows, so ``min(r, c) - 1 = 1``).

    Notes
    -----
    scipy's ``chi2_contingency``, which applies Yates' continuity correction
    to a 2 x 2 table (binary checks) and none otherwise. One category in
    both samples gives chi-square 0, p 1. The approximation wants expected
    counts of about 5 or more per cell; with rarer categories, pool them.

    Examples
    --------
    >>> r = chi_square([1] * 90 + [0] * 10, [1] * 60 + [0] * 40)
    >>> round(r.statistic, 3), r.p_value < 1e-5, round(r.effect, 3)
    (22.427, True, 0.335)
    """
    checked("chi_square", check_probability, "alpha", alpha)
    x = pd.Series(baseline).dropna()
    y = pd.Series(window).dropna()
    for name, sample in (("baseline", x), ("window", y)):
        numeric = pd.to_numeric(sample, errors="coerce")
        infinite = np.isinf(numeric.to_numpy(dtype=float, na_value=np.nan))
        if infinite.any():
            raise ValueError(
                f"chi_square: {name} sample holds {int(infinite.sum())} infinite "
                "value(s); categories must be finite numbers or labels."
            )
    if len(x) == 0 or len(y) == 0:
        raise ValueError("chi_square: both samples need at least one value.")
    cats = sorted(set(x.tolist()) | set(y.tolist()), key=str)
    table = np.array(
        [
            [int((x == c).sum()) for c in cats],
            [int((y == c).sum()) for c in cats],
        ]
    )
    if len(cats) < 2:
        chi2, p = 0.0, 1.0
    else:
        res = stats.chi2_contingency(table)
        chi2, p = float(res.statistic), float(res.pvalue)
    v = math.sqrt(chi2 / table.sum()) if table.sum() else float("nan")
    return DriftTest(
        "chi_square", chi2, p, v, "cramers_v", len(x), len(y), bool(p < alpha)
    )


def ks(baseline, window, *, alpha=0.05) -> DriftTest:
    """Two-sample Kolmogorov-Smirnov test for continuous values.

    Returns
    -------
    DriftTest
        ``statistic = effect = D``, the largest gap between the two
        empirical distribution functions; two-sided p-value (scipy's
        ``ks_2samp``, exact for small samples). With many ties (scores on a
        1-5 scale) the test is conservative: use :func:`mann_whitney`.

    Examples
    --------
    >>> r = ks([0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8])
    >>> r.statistic, round(r.p_value, 4)
    (1.0, 0.0286)
    """
    checked("ks", check_probability, "alpha", alpha)
    x, y = _sample(baseline, "baseline"), _sample(window, "window")
    res = stats.ks_2samp(x, y)
    d, p = float(res.statistic), float(res.pvalue)
    return DriftTest("ks", d, p, d, "ks_d", len(x), len(y), bool(p < alpha))


def wasserstein(baseline, window, *, threshold=None) -> DriftTest:
    """Wasserstein-1 (earth mover's) distance between two samples.

    Returns
    -------
    DriftTest
        ``statistic = effect`` = the distance in the values' units (for
        1-5 scores: how many score points, on average, mass has to move);
        no p-value. ``drift`` is ``distance >= threshold`` when a threshold
        is given, else False.

    Examples
    --------
    >>> wasserstein([1, 2, 3], [2, 3, 4]).statistic
    1.0
    """
    if threshold is not None:
        checked("wasserstein", check_number, "threshold", threshold)
    x, y = _sample(baseline, "baseline"), _sample(window, "window")
    dist = float(stats.wasserstein_distance(x, y))
    drift = bool(threshold is not None and dist >= threshold)
    return DriftTest(
        "wasserstein", dist, float("nan"), dist, "wasserstein", len(x), len(y), drift
    )


# ---------------------------------------------------------------------------
# the frame-level function


def _kind_of(values: np.ndarray) -> str:
    uniq = np.unique(values)
    if set(uniq.tolist()) <= {0.0, 1.0}:
        return "binary"
    if np.all(uniq == np.round(uniq)) and len(uniq) <= 10:
        return "ordinal"
    return "continuous"


_TESTS = {"binary": "chi_square", "ordinal": "mann_whitney", "continuous": "ks"}


def _psi_counts(ref, cur, kind, bins):
    if kind != "continuous":
        cats = np.union1d(np.unique(ref), np.unique(cur))
        return (
            np.array([(ref == c).sum() for c in cats]),
            np.array([(cur == c).sum() for c in cats]),
        )
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    edges = np.r_[-np.inf, edges, np.inf]
    return np.histogram(ref, edges)[0], np.histogram(cur, edges)[0]


def _bounds(period, name):
    """``(start, end)`` of a period argument as tz-aware Timestamps, checked."""
    if not isinstance(period, (tuple, list)) or len(period) != 2:
        raise ValueError(
            f"{name} must be a (start, end) pair of tz-aware times, end exclusive; "
            f"got {period!r}."
        )
    try:
        lo, hi = (pd.Timestamp(v) for v in period)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must be a (start, end) pair of tz-aware times, e.g. "
            f"(pd.Timestamp('2026-02-01', tz='UTC'), pd.Timestamp('2026-02-08', "
            f"tz='UTC')); got {period!r} ({err})."
        ) from None
    if lo is pd.NaT or hi is pd.NaT:
        raise ValueError(f"{name} has a missing time (None/NaT): {period!r}.")
    if lo.tzinfo is None or hi.tzinfo is None:
        raise ValueError(
            f"{name} times must be tz-aware, got {period!r}; e.g. "
            "pd.Timestamp('2026-02-01', tz='UTC')."
        )
    if hi <= lo:
        raise ValueError(f"{name}: end {hi} is not after start {lo}.")
    return lo, hi


def _period(times, period, name):
    lo, hi = _bounds(period, name)
    return (times >= lo) & (times < hi)


def drift_tests(
    scores,
    *,
    baseline,
    window,
    spans=None,
    by=("intent",),
    test="auto",
    dimension=None,
    kind=None,
    alpha=0.05,
    epsilon=PSI_EPSILON,
    psi_bins=10,
    min_count=5,
) -> pd.DataFrame:
    """Test every group x dimension of a window against its baseline.

    Parameters
    ----------
    scores : pandas.DataFrame
        Scores frame: ``span_id, time, dimension, value`` (and ``kind``);
        not modified.
    baseline, window : (start, end) pairs of tz-aware times
        The periods compared, end exclusive, by score ``time``.
    spans : pandas.DataFrame, optional
        Supplies ``by`` columns that scores lack (joined on ``span_id``).
    by : sequence of str, default=("intent",)
        Group columns; ``()`` tests each dimension over all requests.
    test : {"auto", "mann_whitney", "chi_square", "ks"}, default="auto"
        ``"auto"`` picks per dimension: chi-square for 0/1 values,
        Mann-Whitney for integer scores with at most 10 levels (1-5
        ratings), Kolmogorov-Smirnov for other numbers.
    dimension, kind : str or list of str, optional
        Keep only these dimensions / score kinds.
    alpha : float, default=0.05
        False discovery rate across all rows (Benjamini-Hochberg,
        statsmodels ``multipletests(method="fdr_bh")``).
    epsilon : float, default=1e-4
        Empty-bin proportion for the PSI column (see :func:`psi`).
    psi_bins : int, default=10
        Baseline-quantile bins for the PSI of continuous values; discrete
        values use one bin per value seen.
    min_count : int, default=5
        Fewest scores in each period for a row to be tested (at least 1:
        an empty period cannot be tested).

    Returns
    -------
    pandas.DataFrame
        One row per group x dimension: the ``by`` columns, ``dimension``,
        ``test``, ``n_baseline``, ``n_window``, ``mean_baseline``,
        ``mean_window``, ``change`` (window - baseline), ``change_pct``,
        ``statistic``, ``p_value``, ``effect``, ``effect_name``, ``psi``,
        ``psi_epsilon``, ``wasserstein``, ``p_adjusted`` (BH) and ``drift``
        (``p_adjusted < alpha``). Rows with too few scores have ``test =
        "insufficient_data"``, NaN statistics and ``drift = False``.
        Sorted by ``p_value``.

    Raises
    ------
    ValueError
        Naming the argument: ``alpha`` or ``epsilon`` not in (0, 1) (NaN
        included), ``psi_bins`` not an integer >= 2, ``min_count`` not an
        integer >= 1, ``test`` unknown, a ``dimension`` without scores (the
        present ones are listed), a ``kind`` outside ``SCORE_KINDS`` or with
        no scores, a ``baseline``/``window`` that is not a (start, end) pair
        of tz-aware times with start before end; infinite values in scores
        column ``value`` (count and first span_id; NaN is the "scorer
        failed" value and is dropped); a score given twice (the same
        ``span_id, dimension, scorer, kind``); ``spans`` listing a span_id
        twice.

    Warns
    -----
    LlmdriftWarning
        When ``baseline`` or ``window`` holds no score with a value (the
        periods are probably wrong: the message gives the scores' time
        range); the call still returns, every row ``insufficient_data``, so
        a loop over many windows is not stopped by one empty window. Also
        when the two periods overlap.

    Notes
    -----
    Known shortcomings: the value type of each dimension is read from the
    values present in the two periods (a 1-5 dimension that only took the
    values 0 and 1 would be taken for a binary check; pass ``test=`` to
    fix it). PSI and Wasserstein have no p-value, so they do not enter the
    false-discovery control; ``drift`` rests on the test's p-value alone.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> t = pd.Timestamp("2026-03-01", tz="UTC")
    >>> times = t + pd.to_timedelta(np.arange(400), unit="h")
    >>> value = np.where(np.arange(400) < 200, rng.integers(3, 6, 400),
    ...                  rng.integers(2, 5, 400)).astype(float)
    >>> scores = pd.DataFrame({"span_id": [f"s{i}" for i in range(400)],
    ...     "time": times, "dimension": "format", "value": value,
    ...     "scorer": "judge", "kind": "judge"})
    >>> out = drift_tests(scores, by=(), baseline=(times[0], times[200]),
    ...                   window=(times[200], times[-1] + pd.Timedelta("1h")))
    >>> out[["test", "n_baseline", "drift"]].values.tolist()
    [['mann_whitney', 200, True]]
    """
    from statsmodels.stats.multitest import multipletests

    validate(scores, "scores")
    if test not in ("auto", "mann_whitney", "chi_square", "ks"):
        raise ValueError(
            f"test must be 'auto', 'mann_whitney', 'chi_square' or 'ks'; got {test!r}."
        )
    alpha = checked("drift_tests", check_probability, "alpha", alpha)
    epsilon = checked("drift_tests", check_probability, "epsilon", epsilon)
    psi_bins = checked("drift_tests", check_int, "psi_bins", psi_bins, 2)
    # an empty period cannot be tested, so at least one score is needed
    min_count = checked("drift_tests", check_int, "min_count", min_count, 1)
    base_lo, base_hi = _bounds(baseline, "baseline")
    win_lo, win_hi = _bounds(window, "window")
    by = [by] if isinstance(by, str) else list(by)
    frame = scores
    if dimension is not None:
        wanted = [dimension] if isinstance(dimension, str) else list(dimension)
        present = sorted(str(d) for d in frame["dimension"].dropna().unique())
        absent = [d for d in wanted if d not in set(present)]
        if absent:
            raise ValueError(
                f"drift_tests: dimension(s) {absent} have no scores; dimensions "
                f"present: {present[:30]}."
            )
        frame = frame[frame["dimension"].isin(wanted)]
    if kind is not None:
        wanted = [kind] if isinstance(kind, str) else list(kind)
        unknown = [k for k in wanted if k not in SCORE_KINDS]
        if unknown:
            raise ValueError(
                f"drift_tests: kind {unknown} is not a score kind; use one of "
                f"{SCORE_KINDS}."
            )
        if "kind" not in frame.columns:
            raise SchemaError(
                "drift_tests: kind= was given but the scores frame has no 'kind' "
                "column; add it or leave kind=None."
            )
        kept = frame[frame["kind"].isin(wanted)]
        if len(frame) and not len(kept):
            present = sorted(str(k) for k in frame["kind"].dropna().unique())
            raise ValueError(
                f"drift_tests: no scores of kind {wanted}"
                + (f" for dimension(s) {dimension!r}" if dimension is not None else "")
                + f"; kinds present: {present}."
            )
        frame = kept
    check_finite_values(frame, "value", "scores")
    check_unique_rows(frame, ["span_id", "dimension", "scorer", "kind"], "scores")
    need = [c for c in by if c not in frame.columns]
    if need:
        if spans is None or any(c not in spans.columns for c in need + ["span_id"]):
            raise SchemaError(
                f"group column(s) {need} are not in scores; pass spans= holding "
                "them (with span_id) or choose by= from the scores' columns."
            )
        # a span listed twice (perhaps with two intents) would be looked up
        # arbitrarily; refuse as quality_series does
        check_unique_rows(spans, ["span_id"], "spans")
        lookup = spans.set_index("span_id")
        frame = frame.assign(**{c: frame["span_id"].map(lookup[c]) for c in need})
    frame = frame[frame["value"].notna()]
    in_base = _period(frame["time"], baseline, "baseline")
    in_window = _period(frame["time"], window, "window")
    if (in_base & in_window).any():
        warnings.warn(
            "baseline and window overlap; scores in both periods are counted twice.",
            LlmdriftWarning,
            stacklevel=2,
        )
    times = frame["time"]
    for name, inside, lo, hi in (
        ("baseline", in_base, base_lo, base_hi),
        ("window", in_window, win_lo, win_hi),
    ):
        if not inside.any():
            span = (
                f"the scores with a value run from {times.min()} to {times.max()}"
                if len(times)
                else "no score has a value"
            )
            warnings.warn(
                f"drift_tests: {name} [{lo}, {hi}) holds no scores with a value "
                f"({span}); every row is 'insufficient_data'. Check the {name} "
                "times.",
                LlmdriftWarning,
                stacklevel=2,
            )
    frame = frame.assign(_b=in_base, _w=in_window)
    frame = frame[frame["_b"] | frame["_w"]]
    kinds = {
        dim: _kind_of(part["value"].to_numpy(np.float64))
        for dim, part in frame.groupby("dimension")
    }
    rows = []
    keys = by + ["dimension"]
    for name, part in frame.groupby(keys, sort=True, dropna=False):
        name = name if isinstance(name, tuple) else (name,)
        row = dict(zip(keys, name, strict=True))
        ref = part.loc[part["_b"], "value"].to_numpy(np.float64)
        cur = part.loc[part["_w"], "value"].to_numpy(np.float64)
        row.update(n_baseline=len(ref), n_window=len(cur))
        if len(ref) < min_count or len(cur) < min_count:
            row.update(test="insufficient_data", effect_name=None)
            rows.append(row)
            continue
        vkind = kinds[row["dimension"]]
        chosen = _TESTS[vkind] if test == "auto" else test
        result = {"mann_whitney": mann_whitney, "chi_square": chi_square, "ks": ks}[
            chosen
        ](ref, cur)
        counts = _psi_counts(ref, cur, vkind, psi_bins)
        mb, mw = float(ref.mean()), float(cur.mean())
        row.update(
            test=chosen,
            mean_baseline=mb,
            mean_window=mw,
            change=mw - mb,
            change_pct=(mw - mb) / abs(mb) if mb else np.nan,
            statistic=result.statistic,
            p_value=result.p_value,
            effect=result.effect,
            effect_name=result.effect_name,
            psi=psi(*counts, epsilon=epsilon).statistic,
            psi_epsilon=float(epsilon),
            wasserstein=wasserstein(ref, cur).statistic,
        )
        rows.append(row)
    columns = keys + [
        "test",
        "n_baseline",
        "n_window",
        "mean_baseline",
        "mean_window",
        "change",
        "change_pct",
        "statistic",
        "p_value",
        "effect",
        "effect_name",
        "psi",
        "psi_epsilon",
        "wasserstein",
    ]
    out = pd.DataFrame(rows, columns=columns)
    for column in columns[len(keys) + 3 :]:
        if column != "effect_name":
            out[column] = out[column].astype("float64")
    for column in ("n_baseline", "n_window"):
        out[column] = out[column].astype("int64")
    out["p_adjusted"] = np.nan
    ok = out["p_value"].notna().to_numpy()
    if ok.any():
        out.loc[ok, "p_adjusted"] = multipletests(
            out.loc[ok, "p_value"].to_numpy(), alpha=alpha, method="fdr_bh"
        )[1]
    out["drift"] = (out["p_adjusted"] < alpha).fillna(False).astype(bool)
    out = out.sort_values("p_value", kind="stable", na_position="last")
    return out.reset_index(drop=True)
