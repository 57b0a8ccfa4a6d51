"""How many human labels a verdict needs, and the verdict itself."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from llmdrift._args import check_number, checked
from llmdrift.calibration import _stats
from llmdrift.calibration._frames import (
    PairOptions,
    Pairs,
    check_ci,
    check_count,
    check_positive,
    check_seed,
    row_rng,
)
from llmdrift.calibration.agreement import pair_statistics

__all__ = ["labels_needed", "trust_report", "VERDICTS", "interval_widths"]

VERDICTS = ("ready to scale", "needs more labels", "do not use")
"""The verdicts of :func:`trust_report`, best first."""

_TABLE_ONLY = frozenset(
    {
        "exact_agreement",
        "within_one",
        "kappa",
        "kappa_linear",
        "kappa_quadratic",
        "alpha_nominal",
        "alpha_ordinal",
        "spearman",
        "kendall_tau_b",
    }
)
_MOMENT = frozenset({"pearson", "alpha_interval", "mean_bias"})
_SMALLEST = 10  # fewest labels simulated

# The values each statistic can take: a threshold must lie in (low, high],
# else every verdict is fixed in advance (kappa can never clear 1.2 and
# always clears -1). The means and the bias are on the rating scale.
_SHARES = ("exact_agreement", "within_one")
_RANGES = {
    **dict.fromkeys(_SHARES, (0.0, 1.0)),
    **{
        name: (-1.0, 1.0)
        for name in _stats.TABLE_STATISTICS
        if name not in _SHARES and not name.startswith("mean_")
    },
    **dict.fromkeys(("mean_bias", "mean_judge", "mean_human"), (-np.inf, np.inf)),
}


def _check_simulation(where: str, n_sims, max_labels) -> tuple[int, int]:
    """The simulation arguments of labels_needed, checked."""
    return (
        check_count(where, "n_sims", n_sims, 50),
        check_count(
            where, "max_labels", max_labels, _SMALLEST, "the fewest labels simulated"
        ),
    )


def _check_threshold(threshold, statistic: str) -> float:
    """``threshold`` as a float within the range of ``statistic``."""
    threshold = checked("trust_report", check_number, "threshold", threshold)
    # "auto" picks kappa, kappa_quadratic or pearson: all in [-1, 1]
    low, high = _RANGES.get(statistic, (-1.0, 1.0))
    if not low < threshold <= high:
        raise ValueError(
            f"trust_report: threshold must lie in ({low:g}, {high:g}] for "
            f"statistic={statistic!r}, got {threshold!r}: outside it the verdict "
            "is fixed before any data is seen (a kappa or correlation never "
            "clears 1)"
        )
    return threshold


_PRIOR = 0.5  # pseudo-count per judge x human cell when simulating


def _pick_statistic(statistic: str, pairs: Pairs, where: str) -> str:
    sc = pairs.scale
    if statistic == "auto":
        if not sc.categorical:
            return "pearson"
        if sc.ordered and len(sc.categories) > 2:
            return "kappa_quadratic"
        return "kappa"
    if statistic not in _stats.TABLE_STATISTICS:
        raise ValueError(
            f"{where}: statistic must be 'auto' or one of "
            f"{list(_stats.TABLE_STATISTICS)}, got {statistic!r}"
        )
    if not sc.categorical and statistic not in _MOMENT:
        raise ValueError(
            f"{where}: statistic {statistic!r} needs categories, but dimension "
            f"{pairs.dimension!r} has continuous ratings; use one of "
            f"{sorted(_MOMENT)} or give scale=[...]"
        )
    return statistic


def _simulate(pairs: Pairs, statistic: str, sizes, n_sims: int, rng):
    """(len(sizes), n_sims) draws of the statistic on fresh samples of each size,
    drawn from the observed judge x human pattern."""
    sc = pairs.scale
    out = np.full((len(sizes), n_sims), np.nan)
    if sc.categorical:
        k = len(sc.categories)
        table = np.bincount(pairs.judge_code * k + pairs.human_code, minlength=k * k)
        # Jeffreys smoothing: a cell never seen in a few labels is not
        # impossible, and leaving it at 0 makes small samples look certain
        p = (table + _PRIOR) / (table.sum() + _PRIOR * table.size)
        for i, n in enumerate(sizes):
            tables = rng.multinomial(int(n), p, size=n_sims).reshape(n_sims, k, k)
            out[i] = _stats.table_statistics(tables, sc.values, ordered=sc.ordered)[
                statistic
            ]
        return out
    x = pairs.judge_value.astype(float)
    y = pairs.human_value.astype(float)
    parts = np.column_stack([np.ones_like(x), x, y, x * x, y * y, x * y])
    for i, n in enumerate(sizes):
        # multinomial counts of each observed pair = resampling n pairs
        mult = rng.multinomial(int(n), np.full(len(x), 1.0 / len(x)), size=n_sims)
        out[i] = _stats.moment_statistics(mult @ parts)[statistic]
    return out


def interval_widths(draws: np.ndarray, ci: float) -> np.ndarray:
    """Width of the central ``ci`` range of each row of draws (NaN-aware).

    Examples
    --------
    >>> d = np.tile(np.linspace(0.0, 1.0, 101), (2, 1))
    >>> interval_widths(d, 0.9).round(2).tolist()
    [0.9, 0.9]
    """
    ci = check_ci("interval_widths", ci)
    low, high = _stats.percentile_interval(np.asarray(draws, float).T, ci)
    return high - low


def _needed(pairs, statistic, target_width, ci, n_sims, max_labels, rng):
    """Label count for ``target_width``, the width now, and the width curve."""
    n_obs = len(pairs.span_id)
    sizes = np.geomspace(_SMALLEST, max(max_labels, _SMALLEST + 1), 20).astype(int)
    sizes = np.unique(np.append(sizes, max(n_obs, 2)))
    widths = interval_widths(_simulate(pairs, statistic, sizes, n_sims, rng), ci)
    curve = pd.DataFrame({"n_labels": sizes, "width": widths})
    current = float(widths[sizes == max(n_obs, 2)][0])
    ok = np.isfinite(widths)
    if ok.sum() < 3:
        return np.nan, current, curve
    xs, ws = np.log(sizes[ok]), np.log(np.maximum(widths[ok], 1e-12))
    # simulation noise can make the curve wiggle: keep it non-increasing
    ws = np.minimum.accumulate(ws)
    target = np.log(target_width)
    below = np.flatnonzero(ws <= target)
    if below.size == 0:
        # beyond the largest size: extend the tail, where width ~ n^b
        b, a = np.polyfit(xs[-5:], ws[-5:], 1)
        if b >= 0:
            return np.nan, current, curve
        return float(np.exp((target - a) / b)), current, curve
    i = below[0]
    if i == 0:
        return float(sizes[ok][0]), current, curve
    # log-log interpolation between the sizes either side of the target
    frac = (ws[i - 1] - target) / (ws[i - 1] - ws[i]) if ws[i - 1] > ws[i] else 1.0
    return float(np.exp(xs[i - 1] + frac * (xs[i] - xs[i - 1]))), current, curve


def labels_needed(
    scores: pd.DataFrame,
    dimension: str | Sequence[str] | None = None,
    *,
    judge: str | Sequence[str] | None = None,
    human: str | Sequence[str] | None = None,
    statistic: str = "auto",
    target_width: float = 0.2,
    ci: float = 0.95,
    scale: Sequence | dict | None = None,
    consensus: str = "auto",
    n_sims: int = 400,
    max_labels: int = 20_000,
    seed: int = 0,
    max_categories: int = 20,
) -> pd.DataFrame:
    """Human labels needed for an agreement interval of a target width.

    Fresh label sets of many sizes are simulated from the judge x human
    pattern observed so far (multinomial draws of the confusion table, or of
    the observed pairs for continuous ratings); the spread of the statistic
    over them gives the interval width at each size, and a fitted
    ``width ~ n^b`` curve gives the size where the width reaches the target.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long scores rows ``span_id, dimension, value, scorer, kind`` with judge
        and human rows (see :func:`llmdrift.calibration.agreement`).
    dimension, judge, human, scale, consensus, max_categories
        As for :func:`llmdrift.calibration.agreement`.
    statistic : str, default="auto"
        A column of :func:`agreement`; "auto" is ``kappa_quadratic`` for
        ordered scales of 3+ categories, ``kappa`` for two or unordered
        categories, ``pearson`` for continuous ratings.
    target_width : float, default=0.2
        Wanted width of the ``ci`` interval (e.g. 0.2 is kappa +- 0.1).
    ci : float, default=0.95
        Interval coverage.
    n_sims : int, default=400
        Simulated label sets per size.
    max_labels : int, default=20000
        Largest size simulated; needs beyond it are extrapolated (noted).
    seed : int, default=0
        Seed (each row has its own stream).

    Returns
    -------
    pandas.DataFrame
        One row per dimension, judge and reference: ``dimension, judge, human,
        statistic, n_labelled`` (int, items labelled now), ``estimate``
        (the statistic now), ``current_width`` (simulated width at
        ``n_labelled``), ``target_width``, ``labels_needed`` (Int64, total
        labelled items for the target, <NA> when undefined),
        ``additional_labels`` (Int64, ``labels_needed - n_labelled``, at least
        0), ``note``. ``attrs["curves"]`` holds the simulated widths
        (``dimension, judge, human, n_labels, width``).

    Raises
    ------
    ValueError
        Bad ``target_width``/``ci``/``statistic``, and the input errors of
        :func:`agreement`.

    Notes
    -----
    The simulation takes the observed pattern as the truth, after adding half
    an item to every judge x human cell (the Jeffreys prior), so that a
    confusion never seen in a few labels is still possible in the simulation.
    With few labels the pattern is itself uncertain, so treat the answer from
    under ~50 labels as a first guess and ask again after labelling more. When the statistic is undefined on the observed
    labels (e.g. one category only) the count is <NA> with the reason.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> h = rng.integers(0, 2, 200)
    >>> j = np.where(rng.random(200) < 0.85, h, 1 - h)
    >>> scores = pd.DataFrame({
    ...     "span_id": np.tile(np.arange(200), 2), "dimension": "ok",
    ...     "value": np.concatenate([j, h]), "scorer": ["gpt"] * 200 + ["ann"] * 200,
    ...     "kind": ["judge"] * 200 + ["human"] * 200})
    >>> out = labels_needed(scores, target_width=0.1)
    >>> out.loc[0, "statistic"], bool(out.loc[0, "labels_needed"] > 200)
    ('kappa', True)
    """
    options = PairOptions.of(locals())
    where = "labels_needed"
    target_width = check_positive(where, "target_width", target_width)
    ci = check_ci(where, ci)
    n_sims, max_labels = _check_simulation(where, n_sims, max_labels)
    seed = check_seed(where, seed)
    records, curves = [], []
    for pairs in options.pairs(scores, dimension, where="labels_needed"):
        stat = _pick_statistic(statistic, pairs, "labels_needed")
        rng = row_rng(seed, "labels_needed", *pairs.key)
        row = _labels_row(pairs, stat, target_width, ci, n_sims, max_labels, rng)
        curve = row.pop("_curve")
        if curve is not None:
            curves.append(
                curve.assign(
                    dimension=pairs.dimension, judge=pairs.judge, human=pairs.human
                )
            )
        records.append(row)
    out = pd.DataFrame.from_records(records)
    for col in ("labels_needed", "additional_labels"):
        out[col] = out[col].astype("Int64")
    cols = ["dimension", "judge", "human", "n_labels", "width"]
    # records, not a frame: pandas compares .attrs with == on concat/merge
    out.attrs["curves"] = (
        pd.concat(curves, ignore_index=True)[cols].to_dict("records") if curves else []
    )
    return out


def _labels_row(pairs, stat, target_width, ci, n_sims, max_labels, rng) -> dict:
    n_obs = len(pairs.span_id)
    est, _, _, reasons = pair_statistics(pairs, n_boot=0, rng=rng)
    row = {
        "dimension": pairs.dimension,
        "judge": pairs.judge,
        "human": pairs.human,
        "statistic": stat,
        "n_labelled": n_obs,
        "estimate": est[stat],
        "current_width": np.nan,
        "target_width": target_width,
        "labels_needed": pd.NA,
        "additional_labels": pd.NA,
        "note": "",
        "_curve": None,
    }
    if not np.isfinite(est[stat]) or n_obs < 2:
        row["note"] = (
            f"{stat} is undefined on the labels so far "
            f"({reasons.get(stat, 'too few items')}); label items of other kinds "
            "first"
        )
        return row
    needed, current, curve = _needed(
        pairs, stat, target_width, ci, n_sims, max_labels, rng
    )
    row["_curve"] = curve
    row["current_width"] = current
    if not np.isfinite(needed):
        row["note"] = (
            "the simulated interval does not narrow with more labels (the "
            "statistic is undefined in most simulated sets)"
        )
        return row
    total = int(np.ceil(needed))
    row["labels_needed"] = total
    row["additional_labels"] = max(0, total - n_obs)
    notes = []
    if total > max_labels:
        notes.append(f"beyond max_labels={max_labels}: extrapolated from the curve")
    if n_obs < 50:
        notes.append(
            f"based on {n_obs} labels: a first guess, ask again after labelling more"
        )
    row["note"] = "; ".join(notes)
    return row


def trust_report(
    scores: pd.DataFrame,
    dimension: str | Sequence[str] | None = None,
    *,
    judge: str | Sequence[str] | None = None,
    human: str | Sequence[str] | None = None,
    statistic: str = "auto",
    threshold: float = 0.6,
    min_labels: int = 50,
    scale: Sequence | dict | None = None,
    consensus: str = "auto",
    n_boot: int = 1000,
    ci: float = 0.95,
    n_sims: int = 400,
    max_labels: int = 20_000,
    seed: int = 0,
    max_categories: int = 20,
) -> pd.DataFrame:
    """A plain verdict per dimension and judge: can this judge be trusted?

    The verdict, with ``[ci_low, ci_high]`` the bootstrap interval of the
    chosen agreement statistic (see :func:`agreement`):

    - **"ready to scale"**: at least ``min_labels`` labelled items and
      ``ci_low >= threshold`` (the judge agrees well enough even at the low
      end of the interval);
    - **"do not use"**: at least ``min_labels`` labelled items and
      ``ci_high < threshold`` (even the high end falls short);
    - **"needs more labels"**: otherwise (the interval straddles the
      threshold, too few labels, or the statistic is undefined on them).
      ``labels_needed`` then says how many labelled items would give an
      interval narrow enough to clear the threshold either way (width
      ``2 * |estimate - threshold|``, at least 0.02), via
      :func:`labels_needed`.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long scores rows ``span_id, dimension, value, scorer, kind`` with judge
        and human rows.
    dimension, judge, human, scale, consensus, max_categories
        As for :func:`agreement`.
    statistic : str, default="auto"
        ``kappa_quadratic`` for ordered scales of 3+ categories, ``kappa``
        for pass/fail or unordered labels, ``pearson`` for continuous
        ratings; or any statistic column of :func:`agreement`.
    threshold : float, default=0.6
        Least acceptable value of the statistic. 0.6 is where Landis and
        Koch's "substantial" agreement begins for kappa; set it from the
        human ceiling of the task when that is known. It must lie in
        (-1, 1] for kappas, alphas and correlations (and "auto"), in (0, 1]
        for ``exact_agreement`` and ``within_one``: outside, the verdict
        would be fixed before any label is read.
    min_labels : int, default=50
        Fewest labelled items for any verdict but "needs more labels".
    n_boot, ci, seed
        Bootstrap of the interval (see :func:`agreement`).
    n_sims, max_labels
        Simulation of :func:`labels_needed`.

    Returns
    -------
    pandas.DataFrame
        One row per dimension, judge and reference: ``dimension, judge,
        human, verdict, reason`` (a sentence with the figures), ``statistic,
        n_labelled, estimate, ci_low, ci_high, threshold, labels_needed,
        additional_labels`` (Int64; <NA> unless the verdict is "needs more
        labels"), ``mean_bias, mean_bias_ci_low, mean_bias_ci_high`` (judge
        minus human, scale units; NaN for unordered labels), ``human_ceiling``
        (the annotators' mean pairwise Cohen's kappa, weighted like the
        statistic) and ``judge_vs_annotators`` (the judge's mean kappa with
        each annotator, the figure to read against the ceiling; the estimate
        above is against the consensus, which is usually higher). Both are
        NaN with fewer than two annotators or for non-kappa statistics.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> h = rng.integers(1, 6, 300)
    >>> j = np.clip(h + rng.choice([-1, 0, 0, 0, 1], 300), 1, 5)
    >>> scores = pd.DataFrame({
    ...     "span_id": np.tile(np.arange(300), 2), "dimension": "helpful",
    ...     "value": np.concatenate([j, h]), "scorer": ["gpt"] * 300 + ["ann"] * 300,
    ...     "kind": ["judge"] * 300 + ["human"] * 300})
    >>> trust_report(scores, n_boot=200).loc[0, ["statistic", "verdict"]].tolist()
    ['kappa_quadratic', 'ready to scale']
    """
    options = PairOptions.of(locals())
    where = "trust_report"
    threshold = _check_threshold(threshold, statistic)
    ci = check_ci(where, ci)
    min_labels = check_count(where, "min_labels", min_labels, 2)
    n_boot = check_count(
        where, "n_boot", n_boot, 1, "the verdict reads the bootstrap interval"
    )
    n_sims, max_labels = _check_simulation(where, n_sims, max_labels)
    seed = check_seed(where, seed)
    records = []
    ceilings = _Ceilings(scores, options)
    for pairs in options.pairs(scores, dimension, where="trust_report"):
        stat = _pick_statistic(statistic, pairs, "trust_report")
        rng = row_rng(seed, "trust_report", *pairs.key)
        est, low, high, reasons = pair_statistics(pairs, n_boot=n_boot, ci=ci, rng=rng)
        n = len(pairs.span_id)
        value, lo, hi = est[stat], low[stat], high[stat]
        row = {
            "dimension": pairs.dimension,
            "judge": pairs.judge,
            "human": pairs.human,
            "verdict": "",
            "reason": "",
            "statistic": stat,
            "n_labelled": n,
            "estimate": value,
            "ci_low": lo,
            "ci_high": hi,
            "threshold": float(threshold),
            "labels_needed": pd.NA,
            "additional_labels": pd.NA,
            "mean_bias": est["mean_bias"],
            "mean_bias_ci_low": low["mean_bias"],
            "mean_bias_ci_high": high["mean_bias"],
        }
        people, mine = ceilings.get(pairs.dimension, stat, pairs.judge)
        row["human_ceiling"] = people
        row["judge_vs_annotators"] = mine
        figures = f"{stat} {value:.3f} [{lo:.3f}, {hi:.3f}] on {n} labelled items"
        if not np.isfinite(value):
            row["verdict"] = "needs more labels"
            row["reason"] = (
                f"{stat} is undefined on the {n} labelled items "
                f"({reasons.get(stat, 'undefined')}); label more varied items"
            )
        elif n >= min_labels and np.isfinite(lo) and lo >= threshold:
            row["verdict"] = "ready to scale"
            row["reason"] = f"{figures}: even the low end clears {threshold:g}"
        elif n >= min_labels and np.isfinite(hi) and hi < threshold:
            row["verdict"] = "do not use"
            row["reason"] = f"{figures}: even the high end is below {threshold:g}"
        else:
            row["verdict"] = "needs more labels"
            width = max(2.0 * abs(value - threshold), 0.02)
            need = _labels_row(
                pairs,
                stat,
                width,
                ci,
                n_sims,
                max_labels,
                row_rng(seed, "trust_needed", *pairs.key),
            )
            row["labels_needed"] = need["labels_needed"]
            row["additional_labels"] = need["additional_labels"]
            why = (
                f"only {n} labelled items (fewer than min_labels={min_labels})"
                if n < min_labels
                else f"the interval straddles {threshold:g}"
            )
            more = need["additional_labels"]
            extra = (
                "" if pd.isna(more) else f"; about {int(more)} more labels decide it"
            )
            row["reason"] = f"{figures}: {why}{extra}"
        if np.isfinite(people) and np.isfinite(mine):
            row["reason"] += (
                f"; against single annotators the judge reaches {mine:.3f} where "
                f"people reach {people:.3f} with each other"
            )
        if row["verdict"] != "do not use" and np.isfinite(row["mean_bias_ci_low"]):
            if row["mean_bias_ci_low"] > 0 or row["mean_bias_ci_high"] < 0:
                row["reason"] += (
                    f"; the judge scores {abs(row['mean_bias']):.2f} "
                    f"{'higher' if row['mean_bias'] > 0 else 'lower'} than people on "
                    "average: use corrected_mean for quality figures"
                )
        records.append(row)
    out = pd.DataFrame.from_records(records)
    for col in ("labels_needed", "additional_labels"):
        out[col] = out[col].astype("Int64")
    return out


_KAPPA_WEIGHTS = {
    "kappa": None,
    "kappa_linear": "linear",
    "kappa_quadratic": "quadratic",
}


class _Ceilings:
    """Mean pairwise kappas of the annotators, and of each judge with them,
    computed once per dimension and weighting (no intervals: the figures
    beside a verdict)."""

    def __init__(self, scores, options: PairOptions):
        keep = scores["kind"].isin(["human", "judge"])
        for kind, names in (("human", options.human), ("judge", options.judge)):
            if names is not None:
                names = [names] if isinstance(names, str) else list(names)
                keep &= (scores["kind"] != kind) | scores["scorer"].astype(str).isin(
                    map(str, names)
                )
        self.scores = scores[keep]
        self.scale = options.scale
        self.max_categories = options.max_categories
        self.cache = {}

    def get(self, dim, stat: str, judge: str) -> tuple[float, float]:
        """(annotators' mean pairwise kappa, judge's mean kappa with each)."""
        if stat not in _KAPPA_WEIGHTS:
            return np.nan, np.nan
        weights = _KAPPA_WEIGHTS[stat]
        if (dim, weights) not in self.cache:
            from llmdrift.calibration.ceiling import human_ceiling

            rows = self.scores[self.scores["dimension"] == dim]
            table = None
            if rows.loc[rows["kind"] == "human", "scorer"].nunique() >= 2:
                table = human_ceiling(
                    rows,
                    dim,
                    scale=self.scale,
                    weights=weights,
                    n_boot=0,
                    max_categories=self.max_categories,
                )
            self.cache[(dim, weights)] = table
        table = self.cache[(dim, weights)]
        if table is None:
            return np.nan, np.nan
        kappas = table[table["statistic"] == "cohen_kappa"]
        people = kappas.loc[kappas["comparison"] == "annotator pairs (mean)", "value"]
        mine = kappas.loc[
            (kappas["comparison"] == "judge vs annotators (mean)")
            & (kappas["rater_a"] == judge),
            "value",
        ]
        return (
            float(people.iloc[0]) if len(people) else np.nan,
            float(mine.iloc[0]) if len(mine) else np.nan,
        )
