"""Human ceiling: how well people agree with each other, next to the judge.

A judge kappa of 0.6 means little on its own; on a task where annotators
reach 0.65 with each other it is near the ceiling, on one where they reach
0.9 it is poor. :func:`human_ceiling` puts both on one table, with intervals
from one joint bootstrap over items (so the gap between them has a consistent
resampling too).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from llmdrift.calibration import _stats
from llmdrift.calibration._frames import (
    as_list,
    check_ci,
    check_count,
    check_scores,
    check_seed,
    resolve_scale,
    row_rng,
    select_dimensions,
)

__all__ = ["human_ceiling", "fleiss_from_counts"]

_COMPARISONS = (
    "annotator pair",
    "annotator pairs (mean)",
    "judge vs annotator",
    "judge vs annotators (mean)",
    "annotators",
    "annotators + judge",
)


def fleiss_from_counts(counts: np.ndarray, weights: np.ndarray | None = None):
    """Fleiss' kappa from per-item category counts, for stacks of weightings.

    Parameters
    ----------
    counts : array, shape (U, K)
        Raters per category for each item; every item must have the same
        number of ratings ``m >= 2``.
    weights : array, shape (..., U), optional
        How often each item counts (bootstrap multiplicities); default once.

    Returns
    -------
    array of shape ``weights.shape[:-1]`` (a float without weights); NaN when
    the expected agreement is 1 (one category only).

    Examples
    --------
    >>> c = np.array([[3, 0], [0, 3], [2, 1], [3, 0]])
    >>> round(float(fleiss_from_counts(c)), 4)
    0.625
    """
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    if len(m) and not np.all(m == m[0]):
        raise ValueError("fleiss_from_counts: every item needs the same rating count")
    if len(m) == 0 or m[0] < 2:
        return np.nan if weights is None else np.full(np.shape(weights)[:-1], np.nan)
    m = m[0]
    w = np.ones(len(counts)) if weights is None else np.asarray(weights, float)
    per_item = ((counts * counts).sum(axis=1) - m) / (m * (m - 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        n_items = w.sum(axis=-1)
        share = (w @ counts) / (n_items[..., None] * m)
        p_bar = (w @ per_item) / n_items
        p_e = (share * share).sum(axis=-1)
        kappa = (p_bar - p_e) / (1.0 - p_e)
    out = np.where(1.0 - p_e > 1e-12, kappa, np.nan)
    return float(out) if weights is None else out


def _onehot_tables(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Per-item K*K one-hot rows of the pair (a, b); zero where either is NaN."""
    ok = ~np.isnan(a) & ~np.isnan(b)
    out = np.zeros((len(a), k * k))
    idx = np.flatnonzero(ok)
    out[idx, a[ok].astype(int) * k + b[ok].astype(int)] = 1.0
    return out


def _unit_counts(codes: np.ndarray, k: int) -> np.ndarray:
    """Items x categories counts from an items x raters code matrix."""
    counts = np.zeros((codes.shape[0], k))
    for col in range(codes.shape[1]):
        c = codes[:, col]
        ok = ~np.isnan(c)
        counts[np.flatnonzero(ok), c[ok].astype(int)] += 1.0
    return counts


class _Stat:
    """One statistic: its estimate and (B,) bootstrap draws."""

    def __init__(self, comparison, a, b, statistic, n_items, n_raters, fn, note=""):
        self.key = (comparison, a, b, statistic)
        self.n_items = n_items
        self.n_raters = n_raters
        self.fn = fn  # fn(weights (B, U) or None) -> value(s)
        self.note = note


def human_ceiling(
    scores: pd.DataFrame,
    dimension: str | Sequence[str] | None = None,
    *,
    judge: str | Sequence[str] | None = None,
    human: str | Sequence[str] | None = None,
    scale: Sequence | dict | None = None,
    weights: str | None = None,
    level: str = "nominal",
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    max_categories: int = 20,
) -> pd.DataFrame:
    """Annotators' agreement with each other next to the judge's agreement with them.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long scores rows ``span_id, dimension, value, scorer, kind``; at least
        two annotators (``kind="human"``, annotator id in ``scorer``) must have
        labelled some of the same items. ``kind="judge"`` rows are optional.
    dimension : str or list of str, optional
        Dimensions to report; default every dimension with human rows.
    judge, human : str or list of str, optional
        Judges and annotators to include; default all.
    scale : list or dict of list, optional
        Categories in scale order (see :func:`llmdrift.calibration.agreement`).
        The ratings must be categories (at most ``max_categories`` distinct
        numbers, or labels).
    weights : {None, "linear", "quadratic"}, default=None
        Cohen's kappa weighting for the pairwise rows (on scale positions).
    level : {"nominal", "ordinal", "interval"}, default="nominal"
        Krippendorff's alpha metric.
    n_boot : int, default=1000
        Bootstrap resamples of items (0 for no intervals). One resampling is
        shared by every row of a dimension.
    ci : float, default=0.95
        Interval coverage.
    seed : int, default=0
        Seed (each dimension has its own stream derived from it).
    max_categories : int, default=20
        Most distinct numeric values still treated as categories.

    Returns
    -------
    pandas.DataFrame
        One row per dimension, comparison and statistic:

        - ``dimension``
        - ``comparison`` (str): "annotator pair", "annotator pairs (mean)",
          "judge vs annotator", "judge vs annotators (mean)", "annotators"
          (all annotators as raters), "annotators + judge" (the judge added
          as one more rater; one row per judge)
        - ``rater_a``, ``rater_b`` (str): the two raters of a pair, or the
          judge / "all" for group rows ("" where not applicable)
        - ``statistic`` (str): "exact_agreement", "cohen_kappa" (weighted as
          asked), "fleiss_kappa" (items rated by all raters of the row),
          "alpha_<level>" (missing ratings allowed)
        - ``n_items`` (int): items the statistic used; ``n_raters`` (int)
        - ``value``, ``ci_low``, ``ci_high`` (float): estimate and percentile
          bootstrap interval; higher is better for all
        - ``note`` (str): why a value is NaN ("" when defined)

    Raises
    ------
    ValueError
        Missing columns, continuous ratings, fewer than two annotators,
        weights or a non-nominal level on text labels without ``scale``.

    Notes
    -----
    Read "judge vs annotators (mean)" against "annotator pairs (mean)": the
    first is the judge's mean Cohen's kappa with each person, the second the
    people's mean kappa with each other. Fleiss' kappa needs the same number of
    ratings per item, so it uses only items labelled by every rater of the row
    (``n_items`` says how many).

    Examples
    --------
    >>> import pandas as pd
    >>> labels = {"ann1": [1, 2, 2, 1, 3, 3], "ann2": [1, 2, 3, 1, 3, 3],
    ...           "gpt": [1, 2, 2, 2, 3, 1]}
    >>> scores = pd.DataFrame([
    ...     {"span_id": i, "dimension": "q", "value": v, "scorer": who,
    ...      "kind": "judge" if who == "gpt" else "human"}
    ...     for who, vals in labels.items() for i, v in enumerate(vals)])
    >>> out = human_ceiling(scores, n_boot=100)
    >>> pick = out[out["statistic"] == "cohen_kappa"]
    >>> pick[["comparison", "value"]].round(3).values.tolist()[:3]
    [['annotator pair', 0.75], ['annotator pairs (mean)', 0.75], ['judge vs annotator', 0.5]]
    """
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(
            f"human_ceiling: weights must be None, 'linear' or 'quadratic', got "
            f"{weights!r}"
        )
    if level not in ("nominal", "ordinal", "interval"):
        raise ValueError(
            "human_ceiling: level must be 'nominal', 'ordinal' or 'interval', got "
            f"{level!r}"
        )
    ci = check_ci("human_ceiling", ci)
    n_boot = check_count("human_ceiling", "n_boot", n_boot, 0, "0 for no intervals")
    seed = check_seed("human_ceiling", seed)
    check_count("human_ceiling", "max_categories", max_categories, 0)
    scores = check_scores(scores, where="human_ceiling", scale=scale)
    judges = as_list(judge, "judge")
    humans = as_list(human, "human")
    frame = scores[scores["kind"].isin(["judge", "human"])]
    dims = select_dimensions(frame, dimension, kinds=("human",), where="human_ceiling")
    records = []
    for dim in dims:
        rows = frame[frame["dimension"] == dim]
        hrows = rows[rows["kind"] == "human"]
        jrows = rows[rows["kind"] == "judge"]
        if humans is not None:
            hrows = hrows[hrows["scorer"].astype(str).isin(map(str, humans))]
        if judges is not None:
            jrows = jrows[jrows["scorer"].astype(str).isin(map(str, judges))]
        records.extend(
            _one_dimension(
                dim,
                hrows,
                jrows,
                scale,
                weights,
                level,
                n_boot,
                ci,
                row_rng(seed, "human_ceiling", dim),
                max_categories,
            )
        )
    return pd.DataFrame.from_records(records)


def _wide_codes(part: pd.DataFrame, spans: pd.Index, sc, what: str, dim) -> tuple:
    dup = part.duplicated(["span_id", "scorer"], keep=False)
    if dup.any():
        first = part.loc[dup, ["span_id", "scorer"]].head(3).to_dict("records")
        raise ValueError(
            f"human_ceiling: dimension {dim!r} has {int(dup.sum())} {what} rows "
            f"repeating span_id and scorer (first: {first}); keep one row each"
        )
    wide = part.pivot(index="span_id", columns="scorer", values="value")
    wide = wide.reindex(index=spans)
    wide = wide.reindex(sorted(wide.columns, key=str), axis=1)
    names = [str(c) for c in wide.columns]
    raw = wide.to_numpy(object)
    codes = np.column_stack([sc.codes(raw[:, i]) for i in range(raw.shape[1])])
    return names, codes.reshape(len(spans), len(names))


def _one_dimension(
    dim, hrows, jrows, scale, weights, level, n_boot, ci, rng, max_categories
):
    observed = np.concatenate(
        [hrows["value"].to_numpy(object), jrows["value"].to_numpy(object)]
    )
    sc = resolve_scale(
        scale, dim, observed, max_categories=max_categories, where="human_ceiling"
    )
    if not sc.categorical:
        raise ValueError(f"human_ceiling: dimension {dim!r}: {sc.note}")
    k = len(sc.categories)
    spans = pd.Index(pd.unique(hrows["span_id"]))
    hnames, hcodes = _wide_codes(hrows, spans, sc, "human", dim)
    if len(hnames) < 2:
        raise ValueError(
            f"human_ceiling: dimension {dim!r} has {len(hnames)} annotator(s) "
            f"({hnames}); the human ceiling needs at least two people labelling "
            "the same items"
        )
    jnames, jcodes = (
        _wide_codes(jrows, spans, sc, "judge", dim) if len(jrows) else ([], None)
    )
    n_units = len(spans)
    values = sc.values if sc.ordered else np.arange(k, dtype=float)
    alpha_name = f"alpha_{level}"
    ordered_note = ""
    if not sc.ordered and (level != "nominal" or weights is not None):
        raise ValueError(
            f"human_ceiling: dimension {dim!r} has text labels "
            f"{list(sc.categories)} without an order, so weights={weights!r} and "
            f"level={level!r} have no meaning; give scale=[lowest, ..., highest] "
            "or use weights=None, level='nominal'"
        )
    stats: list[_Stat] = []

    def pair_stats(comparison, a_name, b_name, a, b):
        onehot = _onehot_tables(a, b, k)
        n_items = int(onehot.sum())

        def tables(w):
            t = onehot.sum(axis=0) if w is None else w @ onehot
            return t.reshape(*t.shape[:-1], k, k)

        def exact(w):
            t = tables(w)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.trace(t, axis1=-2, axis2=-1) / t.sum(axis=(-2, -1))

        def kappa(w):
            return _stats.kappa_from_tables(tables(w), weights)

        return [
            _Stat(comparison, a_name, b_name, "exact_agreement", n_items, 2, exact),
            _Stat(comparison, a_name, b_name, "cohen_kappa", n_items, 2, kappa),
        ]

    def mean_stat(comparison, a_name, b_name, parts, n_items, n_raters):
        def fn(w):
            stack = np.stack([p.fn(w) for p in parts])
            ok = np.isfinite(stack)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(ok, stack, 0.0).sum(axis=0) / ok.sum(axis=0)

        return _Stat(comparison, a_name, b_name, "cohen_kappa", n_items, n_raters, fn)

    def group_stats(comparison, a_name, codes):
        counts = _unit_counts(codes, k)
        coinc = _stats.coincidences_from_units(counts).reshape(n_units, k * k)
        m = codes.shape[1]
        full = counts.sum(axis=1) == m
        n_pairable = int((counts.sum(axis=1) >= 2).sum())

        def alpha(w):
            o = coinc.sum(axis=0) if w is None else w @ coinc
            return _stats.alpha_from_coincidences(
                o.reshape(*o.shape[:-1], k, k), level, values
            )

        def fleiss(w):
            return fleiss_from_counts(counts[full], None if w is None else w[:, full])

        return [
            _Stat(comparison, a_name, "", "fleiss_kappa", int(full.sum()), m, fleiss),
            _Stat(
                comparison, a_name, "", alpha_name, n_pairable, m, alpha, ordered_note
            ),
        ]

    human_pairs = []
    for i, j in combinations(range(len(hnames)), 2):
        part = pair_stats(
            "annotator pair", hnames[i], hnames[j], hcodes[:, i], hcodes[:, j]
        )
        stats.extend(part)
        human_pairs.append(part[1])
    n_rated = (~np.isnan(hcodes)).sum(axis=1)
    stats.append(
        mean_stat(
            "annotator pairs (mean)",
            "all",
            "all",
            human_pairs,
            int((n_rated >= 2).sum()),
            len(hnames),
        )
    )
    judge_rows = []
    for ji, jname in enumerate(jnames):
        mine = []
        for i, hname in enumerate(hnames):
            part = pair_stats(
                "judge vs annotator", jname, hname, jcodes[:, ji], hcodes[:, i]
            )
            judge_rows.extend(part)
            mine.append(part[1])
        both = ~np.isnan(jcodes[:, ji]) & (n_rated >= 1)
        judge_rows.append(
            mean_stat(
                "judge vs annotators (mean)",
                jname,
                "all",
                mine,
                int(both.sum()),
                len(hnames) + 1,
            )
        )
    stats.extend(judge_rows)
    stats.extend(group_stats("annotators", "all", hcodes))
    for ji, jname in enumerate(jnames):
        both = np.column_stack([hcodes, jcodes[:, ji]])
        stats.extend(group_stats("annotators + judge", jname, both))

    # one joint bootstrap over items for every row of the dimension
    draws = {s.key: [] for s in stats}
    if n_boot and n_units:
        for index in _stats.draw_indices(rng, n_units, n_boot):
            mult = _stats.multiplicities(index, n_units)
            for s in stats:
                draws[s.key].append(np.asarray(s.fn(mult), dtype=float))
    records = []
    for s in stats:
        value = float(s.fn(None))
        low = high = np.nan
        note = s.note
        if draws[s.key] and np.isfinite(value):
            d = np.concatenate(draws[s.key])
            lo, hi = _stats.percentile_interval(d[:, None], ci)
            low, high = float(lo[0]), float(hi[0])
        if not np.isfinite(value):
            value = np.nan
            if not note:
                note = (
                    "undefined: fewer than 2 shared items or only one category "
                    "observed (0/0)"
                    if s.n_items >= 2
                    else f"{s.n_items} item(s) rated by all raters of this row"
                )
        comparison, a, b, statistic = s.key
        records.append(
            {
                "dimension": dim,
                "comparison": comparison,
                "rater_a": a,
                "rater_b": b,
                "statistic": statistic,
                "n_items": s.n_items,
                "n_raters": s.n_raters,
                "value": value,
                "ci_low": low,
                "ci_high": high,
                "note": note,
            }
        )
    return records
