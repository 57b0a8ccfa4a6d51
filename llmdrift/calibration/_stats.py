"""Vectorised agreement statistics on stacks of contingency tables and moments.

Every function here takes arrays with any number of leading "batch" axes (one
per bootstrap resample, simulation run, or group) and returns one value per
batch entry, so that 1,000 bootstrap resamples are one array expression instead
of 1,000 library calls. The public functions in :mod:`llmdrift.calibration`
feed them; the tests check each one against ``statsmodels``, ``krippendorff``
and ``scipy.stats`` on every resample.

Conventions
-----------
- A *table* ``T[..., i, j]`` counts items the judge put in category ``i`` and
  the reference (human) put in category ``j``; categories are in scale order.
- ``values`` are the numeric values of the categories (the positions
  ``0..K-1`` when the labels are not numbers); they are used by Pearson, the
  mean bias and interval alpha. Ranks, weighted kappas and ordinal alpha use
  only the order.
- Undefined values come back as NaN; :func:`table_reasons` says why.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "TABLE_STATISTICS",
    "ORDERED_STATISTICS",
    "kappa_from_tables",
    "alpha_from_coincidences",
    "coincidences_from_units",
    "pearson_from_tables",
    "spearman_from_tables",
    "kendall_from_tables",
    "table_statistics",
    "moment_statistics",
    "unit_moments",
    "rowwise_pearson",
    "draw_indices",
    "multiplicities",
    "percentile_interval",
]

TABLE_STATISTICS = (
    "exact_agreement",
    "within_one",
    "kappa",
    "kappa_linear",
    "kappa_quadratic",
    "alpha_nominal",
    "alpha_ordinal",
    "alpha_interval",
    "pearson",
    "spearman",
    "kendall_tau_b",
    "mean_bias",
    "mean_judge",
    "mean_human",
)
"""Statistics computed from a judge x reference table, in output order."""

ORDERED_STATISTICS = frozenset(
    {
        "within_one",
        "kappa_linear",
        "kappa_quadratic",
        "alpha_ordinal",
        "alpha_interval",
        "pearson",
        "spearman",
        "kendall_tau_b",
        "mean_bias",
        "mean_judge",
        "mean_human",
    }
)
"""Statistics that need ordered (or numeric) categories."""

_EPS = 1e-12


def _disagreement_weights(k: int, weights: str | None) -> np.ndarray:
    # Cohen's kappa as 1 - sum(w*O)/sum(w*E) with disagreement weights on the
    # category positions (statsmodels' convention for "linear"/"quadratic").
    pos = np.arange(k, dtype=float)
    diff = np.abs(pos[:, None] - pos[None, :])
    if weights is None:
        return (diff > 0).astype(float)
    if weights == "linear":
        return diff
    if weights == "quadratic":
        return diff**2
    raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")


def kappa_from_tables(tables: np.ndarray, weights: str | None = None) -> np.ndarray:
    """Cohen's kappa of each ``K x K`` table in a stack.

    NaN where the expected disagreement is 0 (both raters used one and the
    same category), because kappa is then 0/0.

    Examples
    --------
    >>> t = np.array([[20.0, 5.0], [10.0, 15.0]])
    >>> round(float(kappa_from_tables(t)), 4)
    0.4
    """
    tables = np.asarray(tables, dtype=float)
    k = tables.shape[-1]
    w = _disagreement_weights(k, weights)
    n = tables.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = (tables * w).sum(axis=(-2, -1)) / n
        rows = tables.sum(axis=-1) / n[..., None]
        cols = tables.sum(axis=-2) / n[..., None]
        expected = np.einsum("...i,ij,...j->...", rows, w, cols)
        kappa = 1.0 - observed / expected
    return np.where(expected > _EPS, kappa, np.nan)


def coincidences_from_units(unit_counts: np.ndarray) -> np.ndarray:
    """Per-unit coincidence contributions for Krippendorff's alpha.

    Parameters
    ----------
    unit_counts : array, shape (..., U, K)
        How many raters gave each of the K values to each of the U units.

    Returns
    -------
    array, shape (..., U, K, K)
        ``(n_uc n_uk - [c == k] n_uc) / (m_u - 1)`` per unit, zero for units
        with fewer than two ratings (they cannot be paired and drop out).
    """
    counts = np.asarray(unit_counts, dtype=float)
    m = counts.sum(axis=-1)
    outer = counts[..., :, None] * counts[..., None, :]
    k = counts.shape[-1]
    outer = outer - counts[..., :, None] * np.eye(k)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(m >= 2, 1.0 / (m - 1.0), 0.0)
    return outer * scale[..., None, None]


def _alpha_distance(level: str, totals: np.ndarray, values: np.ndarray) -> np.ndarray:
    k = totals.shape[-1]
    if level == "nominal":
        return 1.0 - np.eye(k)
    if level == "interval":
        return (values[:, None] - values[None, :]) ** 2
    if level == "ordinal":
        # Krippendorff's ordinal metric: the number of values between c and k
        # (inclusive) minus half of the two end categories, squared.
        cum = np.cumsum(totals, axis=-1)
        ci = cum[..., :, None]
        cj = cum[..., None, :]
        ni = totals[..., :, None]
        nj = totals[..., None, :]
        lower = np.where(np.arange(k)[:, None] <= np.arange(k)[None, :], ni, nj)
        return (np.abs(cj - ci) + lower - (ni + nj) / 2.0) ** 2
    raise ValueError(f"level must be 'nominal', 'ordinal' or 'interval', got {level!r}")


def alpha_from_coincidences(
    coincidences: np.ndarray, level: str, values: np.ndarray | None = None
) -> np.ndarray:
    """Krippendorff's alpha of each coincidence matrix in a stack.

    ``alpha = 1 - (n - 1) * sum(o_ck d_ck) / sum(n_c n_k d_ck)``, where
    ``n_c`` are the coincidence margins and ``d`` the squared distance of the
    level. NaN where fewer than two distinct values are pairable (the expected
    disagreement is 0).

    Examples
    --------
    >>> o = np.array([[0.0, 2.0], [2.0, 0.0]])  # BR-12 (a): two swapped pairs
    >>> float(alpha_from_coincidences(o, "nominal"))
    -0.5
    """
    o = np.asarray(coincidences, dtype=float)
    k = o.shape[-1]
    vals = np.arange(k, dtype=float) if values is None else np.asarray(values, float)
    totals = o.sum(axis=-1)
    n = totals.sum(axis=-1)
    d = _alpha_distance(level, totals, vals)
    observed = (o * d).sum(axis=(-2, -1))
    expected = (totals[..., :, None] * totals[..., None, :] * d).sum(axis=(-2, -1))
    defined = ((totals > 0).sum(axis=-1) >= 2) & (expected > _EPS)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1.0 - (n - 1.0) * observed / expected
    return np.where(defined, alpha, np.nan)


def _weighted_pearson(tables, a, b, ok_a, ok_b):
    n = tables.sum(axis=(-2, -1))
    rows = tables.sum(axis=-1)
    cols = tables.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = (rows * a).sum(axis=-1) / n
        mb = (cols * b).sum(axis=-1) / n
        ac = a - ma[..., None]
        bc = b - mb[..., None]
        va = (rows * ac * ac).sum(axis=-1)
        vb = (cols * bc * bc).sum(axis=-1)
        cov = np.einsum("...ij,...i,...j->...", tables, ac, bc)
        r = cov / np.sqrt(va * vb)
    return np.where(ok_a & ok_b, np.clip(r, -1.0, 1.0), np.nan)


def _varies(tables):
    rows = tables.sum(axis=-1)
    cols = tables.sum(axis=-2)
    return (rows > 0).sum(axis=-1) >= 2, (cols > 0).sum(axis=-1) >= 2


def pearson_from_tables(tables: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Pearson's r of judge and reference values, from tables (NaN if constant).

    Examples
    --------
    >>> t = np.array([[2.0, 0.0], [1.0, 3.0]])
    >>> round(float(pearson_from_tables(t, np.array([1.0, 2.0]))), 4)
    0.7071
    """
    tables = np.asarray(tables, dtype=float)
    values = np.asarray(values, dtype=float)
    ok_a, ok_b = _varies(tables)
    return _weighted_pearson(tables, values, values, ok_a, ok_b)


def _midranks(margins):
    # average rank (1-based) of every item in each category, ties shared
    return np.cumsum(margins, axis=-1) - (margins - 1.0) / 2.0


def spearman_from_tables(tables: np.ndarray) -> np.ndarray:
    """Spearman's rho (Pearson of mid-ranks), from tables (NaN if constant).

    Examples
    --------
    >>> t = np.array([[2.0, 0.0], [1.0, 3.0]])
    >>> round(float(spearman_from_tables(t)), 4)
    0.7071
    """
    tables = np.asarray(tables, dtype=float)
    ok_a, ok_b = _varies(tables)
    ranks_a = _midranks(tables.sum(axis=-1))
    ranks_b = _midranks(tables.sum(axis=-2))
    return _weighted_pearson(tables, ranks_a, ranks_b, ok_a, ok_b)


def kendall_from_tables(tables: np.ndarray) -> np.ndarray:
    """Kendall's tau-b from tables (NaN if either rater is constant).

    Concordant pairs pair each cell with the cells below and to the right of
    it, discordant pairs with those below and to the left; both are summed
    with 2-D cumulative sums, so the cost does not depend on the item count.

    Examples
    --------
    >>> t = np.array([[2.0, 0.0], [1.0, 3.0]])
    >>> round(float(kendall_from_tables(t)), 4)
    0.7071
    """
    t = np.asarray(tables, dtype=float)
    k_rows, k_cols = t.shape[-2], t.shape[-1]
    batch = t.shape[:-2]
    # below-right: sum over k > i, l > j
    below_right = t[..., ::-1, ::-1].cumsum(-1).cumsum(-2)[..., ::-1, ::-1]
    pad = np.zeros((*batch, k_rows + 1, k_cols + 1))
    pad[..., :k_rows, :k_cols] = below_right
    concordant = (t * pad[..., 1:, 1:]).sum(axis=(-2, -1))
    # below-left: sum over k > i, l < j
    below_left = t[..., ::-1, :].cumsum(-2)[..., ::-1, :].cumsum(-1)
    pad = np.zeros((*batch, k_rows + 1, k_cols + 1))
    pad[..., :k_rows, 1:] = below_left
    discordant = (t * pad[..., 1:, :k_cols]).sum(axis=(-2, -1))
    n = t.sum(axis=(-2, -1))
    rows = t.sum(axis=-1)
    cols = t.sum(axis=-2)
    pairs = n * (n - 1.0) / 2.0
    ties_a = (rows * (rows - 1.0) / 2.0).sum(axis=-1)
    ties_b = (cols * (cols - 1.0) / 2.0).sum(axis=-1)
    ok_a, ok_b = _varies(t)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = (concordant - discordant) / np.sqrt((pairs - ties_a) * (pairs - ties_b))
    return np.where(ok_a & ok_b, np.clip(tau, -1.0, 1.0), np.nan)


def table_statistics(
    tables: np.ndarray, values: np.ndarray, *, ordered: bool = True
) -> dict[str, np.ndarray]:
    """Every statistic of :data:`TABLE_STATISTICS` for a stack of tables.

    Parameters
    ----------
    tables : array, shape (..., K, K)
        Judge (rows) x reference (columns) counts, categories in scale order.
    values : array, shape (K,)
        Numeric value of each category.
    ordered : bool, default=True
        False for unordered labels: the statistics in
        :data:`ORDERED_STATISTICS` are then NaN.

    Returns
    -------
    dict of str to array
        One array of shape ``tables.shape[:-2]`` per statistic.

    Examples
    --------
    >>> t = np.array([[3.0, 1.0], [0.0, 4.0]])
    >>> out = table_statistics(t, np.array([0.0, 1.0]))
    >>> round(float(out["exact_agreement"]), 3), round(float(out["kappa"]), 3)
    (0.875, 0.75)
    """
    t = np.asarray(tables, dtype=float)
    values = np.asarray(values, dtype=float)
    k = t.shape[-1]
    n = t.sum(axis=(-2, -1))
    pos = np.arange(k)
    near = (np.abs(pos[:, None] - pos[None, :]) <= 1).astype(float)
    coinc = t + np.swapaxes(t, -1, -2)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "exact_agreement": np.trace(t, axis1=-2, axis2=-1) / n,
            "within_one": (t * near).sum(axis=(-2, -1)) / n,
            "kappa": kappa_from_tables(t),
            "kappa_linear": kappa_from_tables(t, "linear"),
            "kappa_quadratic": kappa_from_tables(t, "quadratic"),
            "alpha_nominal": alpha_from_coincidences(coinc, "nominal"),
            "alpha_ordinal": alpha_from_coincidences(coinc, "ordinal"),
            "alpha_interval": alpha_from_coincidences(coinc, "interval", values),
            "pearson": pearson_from_tables(t, values),
            "spearman": spearman_from_tables(t),
            "kendall_tau_b": kendall_from_tables(t),
            "mean_judge": (t.sum(axis=-1) * values).sum(axis=-1) / n,
            "mean_human": (t.sum(axis=-2) * values).sum(axis=-1) / n,
        }
    out["mean_bias"] = out["mean_judge"] - out["mean_human"]
    if not ordered:
        for name in ORDERED_STATISTICS:
            out[name] = np.full(np.shape(n), np.nan)
    return {name: out[name] for name in TABLE_STATISTICS}


MOMENT_COLUMNS = ("n", "sx", "sy", "sxx", "syy", "sxy")


def unit_moments(x: np.ndarray, y: np.ndarray, units: np.ndarray, n_units: int):
    """Per-unit sums ``n, sum x, sum y, sum x^2, sum y^2, sum xy``, shape (U, 6)."""
    parts = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1)
    out = np.zeros((n_units, parts.shape[1]))
    np.add.at(out, units, parts)
    return out


def moment_statistics(moments: np.ndarray) -> dict[str, np.ndarray]:
    """Pearson, mean bias, interval alpha and means from summed moments.

    ``moments[..., :]`` holds ``n, sum x, sum y, sum x^2, sum y^2, sum xy``
    over paired items (x the judge, y the reference). Interval alpha with two
    values per unit has ``sum (x - y)^2`` as its within-unit disagreement and
    all ``2n`` values pooled for the expected one.

    Examples
    --------
    >>> x = np.array([1.0, 2.0, 3.0]); y = np.array([1.0, 3.0, 2.0])
    >>> m = unit_moments(x, y, np.arange(3), 3).sum(axis=0)
    >>> round(float(moment_statistics(m)["pearson"]), 3)
    0.5
    """
    n, sx, sy, sxx, syy, sxy = np.moveaxis(np.asarray(moments, float), -1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        vx = sxx - sx * sx / n
        vy = syy - sy * sy / n
        cov = sxy - sx * sy / n
        scale_x = np.maximum(np.abs(sxx), 1.0) * 1e-12
        scale_y = np.maximum(np.abs(syy), 1.0) * 1e-12
        ok = (vx > scale_x) & (vy > scale_y)
        pearson = np.where(ok, np.clip(cov / np.sqrt(vx * vy), -1.0, 1.0), np.nan)
        within = sxx + syy - 2.0 * sxy  # sum of (x - y)^2
        total = 2.0 * n
        s1 = sx + sy
        s2 = sxx + syy
        expected = 2.0 * total * s2 - 2.0 * s1 * s1  # sum over value pairs
        observed = 2.0 * within  # both orders of each within-unit pair
        alpha = 1.0 - (total - 1.0) * observed / expected
        alpha = np.where(expected > np.maximum(total * s2, 1.0) * 1e-12, alpha, np.nan)
        mean_judge = sx / n
        mean_human = sy / n
    return {
        "pearson": pearson,
        "alpha_interval": alpha,
        "mean_bias": mean_judge - mean_human,
        "mean_judge": mean_judge,
        "mean_human": mean_human,
    }


def rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson's r along the last axis (NaN where a row is constant)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    vx = (xc * xc).sum(axis=-1)
    vy = (yc * yc).sum(axis=-1)
    ok = (np.ptp(x, axis=-1) > 0) & (np.ptp(y, axis=-1) > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc).sum(axis=-1) / np.sqrt(vx * vy)
    return np.where(ok, np.clip(r, -1.0, 1.0), np.nan)


def _block_size(n_units: int) -> int:
    # resamples per block: about two million index cells at a time, a fixed
    # function of the unit count so that results do not depend on memory
    return max(1, 2_000_000 // max(n_units, 1))


def draw_indices(rng: np.random.Generator, n_units: int, n_boot: int, size=None):
    """Yield bootstrap index blocks, shape (block, size or n_units).

    The blocks together hold ``n_boot`` resamples of ``size`` units drawn with
    replacement from ``range(n_units)``; the sequence depends only on the
    generator state, ``n_units``, ``n_boot`` and ``size``.
    """
    size = n_units if size is None else int(size)
    block = _block_size(size)
    done = 0
    while done < n_boot:
        b = min(block, n_boot - done)
        yield rng.integers(0, n_units, size=(b, size))
        done += b


def multiplicities(index: np.ndarray, n_units: int) -> np.ndarray:
    """How often each unit appears in each resample: shape (B, n_units)."""
    b = index.shape[0]
    flat = (np.arange(b)[:, None] * n_units + index).ravel()
    counts = np.bincount(flat, minlength=b * n_units)
    return counts.reshape(b, n_units).astype(float)


def percentile_interval(draws: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval along axis 0, ignoring NaN resamples."""
    tail = (1.0 - ci) / 2.0
    draws = np.asarray(draws, dtype=float)
    if draws.shape[0] == 0:
        nan = np.full(draws.shape[1:], np.nan)
        return nan, nan
    finite = np.where(np.isfinite(draws), draws, np.nan)
    ok = np.isfinite(finite).any(axis=0)
    filled = np.where(ok, finite, 0.0)  # all-NaN columns: avoid the warning
    lo, hi = np.nanquantile(filled, [tail, 1.0 - tail], axis=0)
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)
