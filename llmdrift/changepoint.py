"""Change points in quality series: offline segmentation and online monitors.

Offline, :func:`pelt` finds the segmentation of a (weighted) series that
minimises the Gaussian mean-shift cost plus a penalty per segment, exactly;
:func:`binseg` is the greedy binary segmentation of the same cost.
:func:`changepoints` runs them on every group and dimension of a series frame
(from :func:`llmdrift.quality_series`), with each window weighted by the number
of scores it holds and a penalty chosen for a stated false-alarm rate.

Online, :func:`cusum` and :func:`page_hinkley` watch the stream of window
means for a drop, with the alarm threshold set from a target average run
length between false alarms; :func:`monitor` runs them over a series frame.

The cost of a segment ``a:b`` of values ``x`` with weights ``w`` is the
weighted sum of squares around its weighted mean,
``sum(w * (x - mean_w) ** 2)``; with unit weights this is ruptures' ``"l2"``
cost. When ``w`` is the inverse variance of each value the cost is in
chi-square units, which is what the calibrated penalties assume.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from llmdrift.schema import LlmdriftWarning, SchemaError, validate

__all__ = [
    "Segmentation",
    "MonitorResult",
    "pelt",
    "binseg",
    "segment",
    "segmentation_cost",
    "calibrated_penalty",
    "window_variance",
    "changepoints",
    "changepoint_status",
    "cusum",
    "cusum_threshold",
    "page_hinkley",
    "page_hinkley_threshold",
    "monitor",
]

# columns of a series frame that are never group keys
_SERIES_VALUE_COLUMNS = (
    "window_start",
    "window_end",
    "dimension",
    "n",
    "mean",
    "std",
    "sem",
    "p50",
    "p95",
    "n_windows",
)


# ---------------------------------------------------------------------------
# input checks and prefix sums


def _numbers(values, name) -> np.ndarray:
    """``values`` as float64, or a ValueError naming the argument."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must be numbers (int or float), but converting them failed: "
            f"{err}. Convert the column to numbers first, e.g. "
            "pd.to_numeric(series['mean'])."
        ) from None


def _as_values(values, weights=None) -> tuple[np.ndarray, np.ndarray | None]:
    x = _numbers(values, "values")
    if x.ndim != 1:
        raise ValueError(
            f"values must be one-dimensional, got an array of shape {x.shape}; "
            "pass one series at a time."
        )
    if not np.isfinite(x).all():
        bad = int(np.flatnonzero(~np.isfinite(x))[0])
        raise ValueError(
            f"values must be finite, but position {bad} holds {x[bad]!r}; drop "
            "empty windows (n == 0) before segmenting, do not impute them."
        )
    if weights is None:
        w = None
    else:
        w = _numbers(weights, "weights")
        if w.shape != x.shape:
            raise ValueError(
                f"weights must have the same length as values ({x.shape[0]}), got "
                f"shape {w.shape}."
            )
        if not (np.isfinite(w).all() and (w > 0).all()):
            bad = int(np.flatnonzero(~(np.isfinite(w) & (w > 0)))[0])
            raise ValueError(
                f"weights must be finite and > 0, but position {bad} holds "
                f"{w[bad]!r}; drop windows with no scores instead of giving them "
                "weight 0."
            )
    # the cost is built from sums of w * x**2: they must stay finite (with
    # room for the centring, which can double a deviation)
    with np.errstate(over="ignore", invalid="ignore"):
        top = float(np.max(np.abs(x))) if len(x) else 0.0
        total = float(np.sum((1.0 if w is None else w) * x * x)) * 4.0
    if not np.isfinite(total):
        raise ValueError(
            f"values are too large: sums of their squares overflow float64 (largest "
            f"|value| {top:.3g}); rescale values (and weights) first, e.g. divide "
            "values by their standard deviation."
        )
    return x, w


def _check_min_size(min_size) -> int:
    if isinstance(min_size, bool) or int(min_size) != min_size or min_size < 1:
        raise ValueError(f"min_size must be an integer >= 1, got {min_size!r}.")
    return int(min_size)


class _MethodError(ValueError, NotImplementedError):
    """An unknown ``method``: a ValueError (and NotImplementedError, as before)."""


def _check_method(method, accepted) -> str:
    if not isinstance(method, str) or method not in accepted:
        raise _MethodError(
            f"method {method!r} is not supported; accepted methods: "
            f"{', '.join(repr(m) for m in accepted)}."
        )
    return method


class _Prefix:
    """Prefix sums giving the weighted l2 cost of any segment in O(1)."""

    def __init__(self, x: np.ndarray, w: np.ndarray | None):
        if w is None:
            w = np.ones_like(x)
        # centring first keeps S2 - S1**2 / W away from catastrophic cancellation
        centre = float(np.sum(w * x) / np.sum(w)) if len(x) else 0.0
        xc = x - centre
        self.W = np.concatenate(([0.0], np.cumsum(w)))
        self.S1 = np.concatenate(([0.0], np.cumsum(w * xc)))
        self.S2 = np.concatenate(([0.0], np.cumsum(w * xc * xc)))
        # rounding scale of a cost computed from these sums
        self.tol = 1e-10 * max(1.0, float(self.S2[-1]))

    def cost(self, start, end):
        """Cost of segments start:end (arrays or scalars, start < end)."""
        weight = self.W[end] - self.W[start]
        s1 = self.S1[end] - self.S1[start]
        value = (self.S2[end] - self.S2[start]) - s1 * s1 / weight
        return np.maximum(value, 0.0)


def segmentation_cost(values, breakpoints, penalty=0.0, *, weights=None) -> float:
    """Penalised cost of a segmentation: sum of segment costs + penalty each.

    Parameters
    ----------
    values : array-like of float
        The series.
    breakpoints : list of int
        Sorted end indices, the last equal to ``len(values)`` (ruptures'
        convention).
    penalty : float, default=0.0
        Added once per segment.
    weights : array-like of float, optional
        Positive weight of each value; equal weights when omitted.

    Returns
    -------
    float
        ``sum(w * (x - mean_w) ** 2)`` over the segments, plus
        ``penalty * len(breakpoints)``, computed directly (two passes).

    Examples
    --------
    >>> segmentation_cost([0.0, 0.0, 1.0, 1.0], [2, 4], penalty=1.0)
    2.0
    >>> segmentation_cost([0.0, 0.0, 1.0, 1.0], [4])
    1.0
    """
    x, w = _as_values(values, weights)
    if w is None:
        w = np.ones_like(x)
    total = 0.0
    start = 0
    for end in breakpoints:
        seg, sw = x[start:end], w[start:end]
        mean = np.sum(sw * seg) / np.sum(sw)
        total += float(np.sum(sw * (seg - mean) ** 2)) + penalty
        start = end
    return total


# ---------------------------------------------------------------------------
# offline segmentation


@dataclass(frozen=True)
class Segmentation:
    """Result of an offline segmentation.

    Attributes
    ----------
    breakpoints : list of int
        Sorted end indices of the segments; the last equals ``n``.
    status : str
        ``"change"`` (at least one change), ``"no_change"`` or
        ``"insufficient_data"`` (fewer than ``2 * min_size`` values, so no
        change could be placed whatever the data).
    n : int
        Number of values segmented.
    cost : float
        Penalised cost of the returned segmentation (NaN when the method does
        not use a penalty).
    penalty : float
        Penalty per segment used (NaN when a number of changes was asked).
    method : str
        ``"pelt"`` or ``"binseg"``.
    """

    breakpoints: list[int]
    status: str
    n: int
    cost: float = float("nan")
    penalty: float = float("nan")
    method: str = "pelt"

    @property
    def changes(self) -> list[int]:
        """Indices where a new segment starts (breakpoints without the last)."""
        return list(self.breakpoints[:-1])


def _pelt_core(x, w, penalty, min_size, pruning):
    n = len(x)
    prefix = _Prefix(x, w)
    tol = prefix.tol
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    last = np.zeros(n + 1, dtype=np.int64)
    # candidates for the start of the last segment, in increasing order, and
    # the step from which each may be forgotten
    cand = np.empty(0, dtype=np.int64)
    expire = np.empty(0, dtype=np.int64)
    never = n + 2
    for end in range(min_size, n + 1):
        new = end - min_size
        if new == 0 or new >= min_size:
            cand = np.append(cand, new)
            expire = np.append(expire, never)
        keep = expire > end
        if not keep.all():
            cand, expire = cand[keep], expire[keep]
        values = best[cand] + prefix.cost(cand, end)
        low = values.min()
        # first candidate within rounding of the minimum: ties go to the
        # earliest start of the last segment, as in ruptures
        pick = int(np.argmax(values <= low + tol))
        best[end] = values[pick] + penalty
        last[end] = cand[pick]
        # PELT pruning: F(t) + C(t, s) > F(s) means t never again ends an
        # optimal segmentation of any T >= s + min_size (C is superadditive).
        # For s < T < s + min_size, s itself cannot end a segment, so the
        # exact rule keeps t until then; ruptures drops t at once.
        doomed = values > best[end] + tol
        if doomed.any():
            if pruning == "exact":
                expire = np.where(doomed, np.minimum(expire, end + min_size), expire)
            else:
                cand, expire = cand[~doomed], expire[~doomed]
    breakpoints = []
    end = n
    while end > 0:
        breakpoints.append(end)
        end = int(last[end])
    return sorted(breakpoints), float(best[n])


def _pelt_segmentation(values, penalty, min_size, weights, pruning) -> Segmentation:
    x, w = _as_values(values, weights)
    min_size = _check_min_size(min_size)
    penalty = float(penalty)
    if not (np.isfinite(penalty) and penalty >= 0):
        raise ValueError(f"penalty must be a finite number >= 0, got {penalty!r}.")
    if pruning not in ("exact", "ruptures"):
        raise ValueError(f"pruning must be 'exact' or 'ruptures', got {pruning!r}.")
    n = len(x)
    if n < 2 * min_size:
        # BR-14: no two segments of min_size fit, so "no change" is the answer
        cost = segmentation_cost(x, [n], penalty, weights=w) if n else float("nan")
        return Segmentation([n], "insufficient_data", n, cost, penalty, "pelt")
    breakpoints, cost = _pelt_core(x, w, penalty, min_size, pruning)
    status = "change" if len(breakpoints) > 1 else "no_change"
    return Segmentation(breakpoints, status, n, cost, penalty, "pelt")


def pelt(values, penalty, *, min_size=2, weights=None, pruning="exact") -> list[int]:
    """Exact penalised segmentation of a series into mean-shift segments (PELT).

    Minimises ``sum over segments of [cost(segment) + penalty]`` where the
    cost is ``sum(w * (x - mean_w) ** 2)`` over the segment (weighted l2), over
    all segmentations whose segments hold at least ``min_size`` values.

    Parameters
    ----------
    values : array-like of float
        The series, e.g. window means; must be finite (drop empty windows).
    penalty : float
        Penalty per segment, >= 0, in the units of the cost. With inverse
        variance weights the cost is in chi-square units (see
        :func:`calibrated_penalty`).
    min_size : int, default=2
        Minimum number of values per segment.
    weights : array-like of float, optional
        Positive weight per value, e.g. the number of scores in each window
        (a window mean has variance sigma**2 / n). Equal weights when omitted.
    pruning : {"exact", "ruptures"}, default="exact"
        ``"exact"`` prunes only when it cannot lose the optimum, so the result
        is optimal. ``"ruptures"`` drops candidates as soon as the PELT test
        fails, as ``ruptures.Pelt`` does, which is faster but can miss the
        optimum when ``min_size > 1`` (see Notes).

    Returns
    -------
    list of int
        Sorted end indices of the segments, the last equal to ``len(values)``
        (ruptures' convention). ``[n]`` means no change. A series shorter than
        ``2 * min_size`` returns ``[n]`` without raising (BR-14); use
        :func:`segment` to also get the status ``"insufficient_data"``.

    Raises
    ------
    ValueError
        If values are not numbers, not finite or so large that sums of their
        squares overflow (naming ``values``), weights are not positive, or
        ``min_size`` or ``penalty`` is invalid.

    See Also
    --------
    segment : the same with a status and the attained cost.
    binseg : greedy binary segmentation of the same cost.

    Notes
    -----
    Optimal partitioning (Jackson et al., 2005) with the PELT pruning of
    Killick, Fearnhead and Eckley (2012), computed from prefix sums of
    ``w``, ``w * x`` and ``w * x**2`` (after centring) so each candidate costs
    O(1), and with all candidates of a step evaluated at once in numpy.

    Pruning with a minimum segment length: a candidate start ``t`` that fails
    the test ``F(t) + C(t, s) <= F(s)`` at step ``s`` can still be optimal
    for ends ``T`` with ``s < T < s + min_size``, because ``s`` cannot end a
    segment that closes before ``s + min_size``. The exact rule keeps such a
    ``t`` for ``min_size - 1`` more steps. ``ruptures.Pelt`` (1.1.10) drops it
    at once; on random series with small penalties it then returns a
    segmentation with a strictly larger penalised cost than the optimum in a
    few percent of cases (checked by exhaustive search in the tests). Where
    the two differ, ``pruning="exact"`` (the default) is the optimal one and
    ``pruning="ruptures"`` reproduces ruptures' answer. With ``min_size=1``
    both rules coincide. In the tests, with unit-variance noise the two
    differed in about 20% of random series at penalty 0.5, 9% at 1, under 1%
    at 2 and never at 5 or more: at the penalties used for detection
    (several times the noise variance) the answers are the same.

    Ties between segmentations of equal cost (within 1e-10 of the total
    sum of squares) go to the earliest start of the last segment, as in
    ruptures, whose own floating-point noise can break exact ties differently.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = np.r_[rng.normal(0, 1, 50), rng.normal(5, 1, 50)]
    >>> pelt(x, penalty=3 * np.log(100))
    [50, 100]
    >>> pelt([0.82] * 9, penalty=1.0, min_size=5)
    [9]
    """
    return _pelt_segmentation(values, penalty, min_size, weights, pruning).breakpoints


def _best_split(prefix, start, end, min_size):
    """Best single split of start:end: (gain, split) or (-inf, None)."""
    splits = np.arange(start + min_size, end - min_size + 1)
    if len(splits) == 0:
        return -np.inf, None
    whole = prefix.cost(start, end)
    gains = whole - prefix.cost(start, splits) - prefix.cost(splits, end)
    top = gains.max()
    # ruptures takes max((gain, split)): the largest split among equal gains
    pick = len(gains) - 1 - int(np.argmax(gains[::-1] >= top - prefix.tol))
    return float(gains[pick]), int(splits[pick])


def binseg(values, *, n_bkps=None, penalty=None, min_size=2, weights=None) -> list[int]:
    """Binary segmentation of a series into mean-shift segments.

    Repeatedly splits the segment whose best single split lowers the
    weighted l2 cost most, until ``n_bkps`` changes are placed or the best
    gain no longer exceeds ``penalty``.

    Parameters
    ----------
    values : array-like of float
        The series; must be finite.
    n_bkps : int, optional
        Number of changes to place. Exactly one of ``n_bkps`` and
        ``penalty`` must be given.
    penalty : float, optional
        Stop when the best gain is not above this.
    min_size : int, default=2
        Minimum number of values per segment.
    weights : array-like of float, optional
        Positive weight per value; equal weights when omitted.

    Returns
    -------
    list of int
        Sorted end indices, the last equal to ``len(values)``. If fewer than
        ``n_bkps`` changes fit the minimum size, as many as fit are returned
        (``[n]`` when none fits), never an exception (BR-14).

    Notes
    -----
    Greedy and so not optimal in general (use :func:`pelt` for the optimum).
    With equal weights it matches ``ruptures.Binseg(model="l2", jump=1)``:
    among equal gains within a segment the largest split index wins, across
    segments the leftmost. Each step evaluates all splits of a segment at
    once from prefix sums.

    Examples
    --------
    >>> binseg([0, 0, 0, 5, 5, 5, 9, 9, 9], n_bkps=2)
    [3, 6, 9]
    >>> binseg([0.82] * 9, n_bkps=1, min_size=5)
    [9]
    """
    return _binseg_segmentation(values, n_bkps, penalty, min_size, weights).breakpoints


def _binseg_segmentation(values, n_bkps, penalty, min_size, weights) -> Segmentation:
    x, w = _as_values(values, weights)
    min_size = _check_min_size(min_size)
    if (n_bkps is None) == (penalty is None):
        raise ValueError("give exactly one of n_bkps and penalty to binseg.")
    if n_bkps is not None and (int(n_bkps) != n_bkps or n_bkps < 0):
        raise ValueError(f"n_bkps must be an integer >= 0, got {n_bkps!r}.")
    n = len(x)
    if n < 2 * min_size:
        return Segmentation([n], "insufficient_data", n, method="binseg")
    prefix = _Prefix(x, w)
    breakpoints = [n]
    splits = {}
    while n_bkps is None or len(breakpoints) - 1 < n_bkps:
        starts = [0] + breakpoints[:-1]
        options = []
        for start, end in zip(starts, breakpoints, strict=True):
            if (start, end) not in splits:
                splits[(start, end)] = _best_split(prefix, start, end, min_size)
            options.append(splits[(start, end)])
        gain, split = max(options, key=lambda item: item[0])
        if split is None or (penalty is not None and not gain > penalty):
            break
        breakpoints = sorted(breakpoints + [split])
    status = "change" if len(breakpoints) > 1 else "no_change"
    pen = float("nan") if penalty is None else float(penalty)
    cost = segmentation_cost(x, breakpoints, 0.0 if penalty is None else pen, weights=w)
    return Segmentation(breakpoints, status, n, cost, pen, "binseg")


def segment(
    values,
    *,
    method="pelt",
    penalty=None,
    n_bkps=None,
    min_size=2,
    weights=None,
    pruning="exact",
) -> Segmentation:
    """Segment a series and say whether it changed, never raising on short input.

    Parameters
    ----------
    values : array-like of float
        The series; must be finite.
    method : {"pelt", "binseg"}, default="pelt"
    penalty : float, optional
        Penalty per segment (required for ``"pelt"``).
    n_bkps : int, optional
        Number of changes for ``"binseg"`` instead of a penalty.
    min_size : int, default=2
    weights : array-like of float, optional
    pruning : {"exact", "ruptures"}, default="exact"
        See :func:`pelt`.

    Returns
    -------
    Segmentation
        Breakpoints plus ``status``: ``"change"``, ``"no_change"`` or
        ``"insufficient_data"`` (fewer than ``2 * min_size`` values).

    Examples
    --------
    >>> result = segment([1.0, 2.0, 3.0], penalty=1.0, min_size=5)
    >>> result.breakpoints, result.status
    ([3], 'insufficient_data')
    """
    _check_method(method, ("pelt", "binseg"))
    if method == "pelt":
        if penalty is None:
            raise ValueError("method='pelt' needs a penalty.")
        return _pelt_segmentation(values, penalty, min_size, weights, pruning)
    return _binseg_segmentation(values, n_bkps, penalty, min_size, weights)


# ---------------------------------------------------------------------------
# penalty for a false-alarm rate


@functools.lru_cache(maxsize=256)
def _null_max_gain_quantile(key_weights, min_size, rate, n_sim, seed):
    w = np.asarray(key_weights, dtype=np.float64)
    n = len(w)
    rng = np.random.default_rng(seed)
    W = np.cumsum(w)
    total = W[-1]
    ks = np.arange(min_size, n - min_size + 1)
    wk = W[ks - 1]
    scale = wk * (total - wk) / total
    chunk = max(1, 4_000_000 // n)
    maxima = []
    for first in range(0, n_sim, chunk):
        rows = min(chunk, n_sim - first)
        # z_i ~ N(0, 1 / w_i): the standardised null with these weights
        z = rng.standard_normal((rows, n)) / np.sqrt(w)
        s = np.cumsum(w * z, axis=1)
        dev = s[:, ks - 1] - (wk / total) * s[:, -1:]
        maxima.append(np.max(dev * dev / scale, axis=1))
    return float(np.quantile(np.concatenate(maxima), 1.0 - rate))


def calibrated_penalty(
    n_or_weights, *, false_alarm_rate=0.01, min_size=2, n_sim=2000, seed=0
) -> float:
    """Penalty giving PELT a stated false-alarm rate on a series with no change.

    Parameters
    ----------
    n_or_weights : int or array-like of float
        Series length (equal weights), or the inverse-variance weight of each
        value.
    false_alarm_rate : float, default=0.01
        Probability of reporting at least one change on a Gaussian series
        without one.
    min_size : int, default=2
        Minimum segment length the segmentation will use.
    n_sim : int, default=2000
        Null series simulated.
    seed : int, default=0
        Seed of the simulation (results are cached per input).

    Returns
    -------
    float
        Penalty in chi-square units: the cost must be computed with weights
        equal to the inverse variance of each value (so a value with
        variance ``sigma**2 / n`` gets weight ``n / sigma**2``).

    Notes
    -----
    The rule: simulate ``n_sim`` series ``z_i ~ N(0, 1 / w_i)`` with the
    given weights; for each take the largest cost reduction of one split
    that respects ``min_size``, ``max_k W L R (mean_left - mean_right)**2 / W``
    (a chi-square(1) at each ``k``); the penalty is the
    ``1 - false_alarm_rate`` quantile of these maxima. PELT with this penalty
    reports a change on a null series exactly when some segmentation gains
    more than one penalty per added segment; the single-split event dominates
    this, and the test suite checks by simulation that PELT's false-alarm rate
    stays close to the target (two-change "epidemic" segmentations add a
    little). For large ``n`` the value grows like ``2 log log n`` plus
    constants (Darling-Erdos), much more slowly than BIC's ``log n``.

    Examples
    --------
    >>> round(calibrated_penalty(100, false_alarm_rate=0.05), 1)
    9.1
    """
    rate = float(false_alarm_rate)
    if not 0 < rate < 1:
        raise ValueError(f"false_alarm_rate must be in (0, 1), got {rate!r}.")
    min_size = _check_min_size(min_size)
    if np.ndim(n_or_weights) == 0:
        w = np.ones(int(n_or_weights))
    else:
        w = np.asarray(n_or_weights, dtype=np.float64)
        w = w / w.mean()
    if len(w) < 2 * min_size:
        return float("inf")
    # rounding the relative weights (to 3 significant digits, so that a
    # weight far below the mean never rounds to 0) lets near-identical calls
    # share the cache
    digits = 2 - np.floor(np.log10(w)).astype(int)
    key = tuple(float(np.round(v, d)) for v, d in zip(w, digits, strict=True))
    return _null_max_gain_quantile(key, min_size, rate, int(n_sim), int(seed))


# ---------------------------------------------------------------------------
# noise model of window means


# largest lag-1 autocorrelation the long-run model uses; keeps it finite
_MAX_AUTOCORRELATION = 0.99
# fitting the long-run noise model stops after this many re-segmentations
_MAX_NOISE_ROUNDS = 20


def _robust_var(d) -> float:
    return (1.4826 * float(np.median(np.abs(d - np.median(d))))) ** 2


def _segment_residuals(m, counts, breakpoints):
    """Standardised residuals ``(m_i - level) * sqrt(n_i)`` and segment ids."""
    e = np.empty_like(m)
    seg = np.empty(len(m), dtype=np.int64)
    start = 0
    for k, end in enumerate(breakpoints):
        w = counts[start:end]
        level = float(np.sum(w * m[start:end]) / np.sum(w))
        e[start:end] = (m[start:end] - level) * np.sqrt(w)
        seg[start:end] = k
        start = end
    return e, seg


def window_variance(mean, n, std=None, *, noise="auto", breakpoints=None) -> np.ndarray:
    """Variance of each window mean: sampling noise plus extra day-to-day noise.

    Parameters
    ----------
    mean : array-like of float
        Window means in time order (empty windows already removed).
    n : array-like of int
        Scores per window (> 0).
    std : array-like of float, optional
        Per-window sample standard deviation of the scores (NaN when n < 2).
    noise : {"auto", "sampling", "longrun", "robust"}, default="auto"
        ``"sampling"``: ``sigma_k**2 / n_i`` with ``sigma_k**2`` the
        within-window score variance pooled over the windows of the window's
        segment in ``breakpoints``. ``"auto"``: that plus ``tau**2``, the
        variance of the windows' true means around their level, estimated
        robustly from successive differences; without usable ``std``
        (windows of one score, or no column) it is ``"longrun"``.
        ``"longrun"``: ``c / n_i`` times the long-run factor
        ``(1 + phi) / (1 - phi)``, with ``c`` and the lag-1 autocorrelation
        ``phi`` from the residuals around the segment levels of
        ``breakpoints``. ``"robust"``: ``c / n_i`` with ``c`` from the
        median absolute successive difference (assumes independent values;
        ignores ``breakpoints``). :func:`changepoints` refits the noise
        model on each segmentation until the segmentation repeats.
    breakpoints : list of int, optional
        Segmentation (ruptures' convention) the noise model is fitted
        within. Omitted: one segment, and for ``"longrun"`` ``phi = 0``, i.e.
        the total variance around the overall level, all variation counted
        as noise (shifts in level would show up as autocorrelation, so it is
        not estimated before a segmentation exists).

    Returns
    -------
    numpy.ndarray
        Variance of each window mean, > 0.

    Notes
    -----
    Sampling part: the score variance is pooled per segment, not over the
    whole series, because it moves with the level: a pass rate of 0.97 has a
    variance of 0.03, one of 0.2 has 0.16, and one pooled value would make
    the windows after such a drop look five times more precise than they
    are (and their small wobbles significant). Pooling over a segment's
    windows, rather than using each window's own spread, keeps rare
    outcomes (a window with no refusals has a sample variance of 0) from
    getting unbounded weight. Windows without ``std`` get the pool.

    ``"auto"``: successive differences ``d_i = m_{i+1} - m_i`` have variance
    ``v_i + v_{i+1} + 2 tau**2`` without a change and are untouched by a
    level shift except at the shift itself, so a robust scale of ``d``
    (1.4826 times the median absolute deviation) is not inflated by a few
    changes. ``tau**2 = max(0, (robust_var(d) - median(v_i + v_{i+1})) / 2)``.

    ``"longrun"`` is for series of single values (or windows without their
    spread), where nothing separates noise from level: successive
    differences see only the short-range noise, so a trend, a random walk or
    autocorrelated noise reads as a staircase of small shifts. The long-run
    variance of AR(1) noise, ``gamma_0 (1 + phi) / (1 - phi)``, is the
    variance that governs how far a segment mean wanders; ``phi`` is the
    lag-1 autocorrelation of the standardised residuals within segments,
    clipped to ``[0, 0.99]``. Variances are floored at
    ``1e-12 * (1 + mean(m**2))`` so that noiseless data stays finite.

    Examples
    --------
    >>> v = window_variance([0.5, 0.5], [4, 16], [0.5, 0.5], noise="sampling")
    >>> [round(float(a), 4) for a in v]
    [0.0625, 0.0156]
    >>> x = [0.0, 1.0, 0.0, 1.0, 5.0, 6.0, 5.0, 6.0]
    >>> float(window_variance(x, [1] * 8, noise="longrun", breakpoints=[4, 8])[0])
    0.3333333333333333
    """
    m = _numbers(mean, "mean")
    counts = _numbers(n, "n")
    if noise not in ("auto", "sampling", "longrun", "robust"):
        raise ValueError(
            f"noise must be 'auto', 'sampling', 'longrun' or 'robust', got {noise!r}."
        )
    bkps = [len(m)] if breakpoints is None else [int(b) for b in breakpoints]
    if not bkps or bkps[-1] != len(m) or sorted(set(bkps)) != bkps or bkps[0] < 1:
        raise ValueError(
            f"breakpoints must be sorted end indices ending at len(mean) = {len(m)}, "
            f"got {breakpoints!r}."
        )
    floor = 1e-12 * (1.0 + float(np.mean(m * m))) if len(m) else 1e-12
    sigma2 = np.nan
    own = np.full(len(m), np.nan)
    if std is not None and noise in ("auto", "sampling"):
        s = _numbers(std, "std")
        ok = (counts >= 2) & np.isfinite(s)
        dof = np.where(ok, counts - 1, 0.0)
        ss = dof * np.where(ok, s, 0.0) ** 2
        if dof.sum() > 0:
            sigma2 = float(ss.sum() / dof.sum())
            # pooled within each segment; the overall pool where a segment
            # has no spread at all (no window of n >= 2, or all scores equal)
            start = 0
            for end in bkps:
                seg_dof = float(dof[start:end].sum())
                pooled = ss[start:end].sum() / seg_dof if seg_dof else 0.0
                own[start:end] = pooled if pooled > 0 else sigma2
                start = end
    if noise == "sampling":
        if not np.isfinite(sigma2):
            raise ValueError(
                "noise='sampling' needs per-window std with some windows of n >= 2;"
                " use noise='longrun' for series of single values."
            )
        return np.maximum(own / counts, floor)
    if noise == "auto" and np.isfinite(sigma2):
        base = own / counts
        if len(m) < 3:
            return np.maximum(base, floor)
        d = np.diff(m)
        tau2 = max(0.0, (_robust_var(d) - float(np.median(base[1:] + base[:-1]))) / 2)
        return np.maximum(base + tau2, floor)
    if len(m) < 3:
        base = np.full(len(m), float(np.var(m)) if len(m) > 1 else 1.0)
        return np.maximum(base, floor)
    if noise == "robust":
        # v_i = c / n_i, c from standardised differences
        scale = np.sqrt(1.0 / counts[1:] + 1.0 / counts[:-1])
        z = np.diff(m) / scale
        c = _robust_var(z)
        if c <= 0:
            c = float(np.mean(z * z)) / 2
        return np.maximum(c / counts, floor)
    # longrun (also "auto" without usable std)
    e, seg = _segment_residuals(m, counts, bkps)
    ss = float(np.sum(e * e))
    c = ss / max(1, len(m) - len(bkps))
    phi = 0.0
    if breakpoints is not None and ss > 0:
        same = seg[1:] == seg[:-1]
        phi = float(np.sum(e[1:][same] * e[:-1][same]) / ss)
        phi = min(max(phi, 0.0), _MAX_AUTOCORRELATION)
    return np.maximum(c * (1 + phi) / (1 - phi) / counts, floor)


# ---------------------------------------------------------------------------
# changepoints over a series frame


def _group_columns(series: pd.DataFrame, by) -> list[str]:
    if by is None:
        return [c for c in series.columns if c not in _SERIES_VALUE_COLUMNS]
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in by if c not in series.columns]
    if missing:
        raise ValueError(
            f"group column(s) {missing} are not in the series; present: "
            f"{list(series.columns)}. Pass by=[...] naming series columns."
        )
    return by


def _select_dimension(series, dimension):
    if dimension is None:
        return series
    wanted = [dimension] if isinstance(dimension, str) else list(dimension)
    known = set(series["dimension"].dropna().unique())
    unknown = [d for d in wanted if d not in known]
    if unknown:
        raise ValueError(
            f"dimension(s) {unknown} are not in the series; available: {sorted(known)}."
        )
    return series[series["dimension"].isin(wanted)]


def _check_unique_windows(frame, keys):
    """SchemaError naming the first window that a group holds twice."""
    cols = ["window_start", *keys, "dimension"]
    repeated = frame.duplicated(cols, keep=False)
    if not repeated.any():
        return
    first = frame[repeated].iloc[0]
    where = ", ".join(
        f"{c}={first[c]}" if c == "window_start" else f"{c}={first[c]!r}" for c in cols
    )
    count = int(frame.duplicated(cols).sum())
    raise SchemaError(
        f"series has {count} repeated window(s), first {where}: each group x "
        f"dimension needs one row per window. Drop the repeats "
        f"(series.drop_duplicates({cols})) or pass by=[...] naming every column "
        "that tells the series apart (e.g. when series of several runs or "
        "services were concatenated)."
    )


def _iter_groups(series, keys):
    if not len(series):
        return
    if keys:
        for name, frame in series.groupby(keys, sort=True, dropna=False):
            yield dict(zip(keys, name, strict=True)), frame
    else:
        yield {}, series


def _segment_stats(mean, n, var, start, end):
    weights = n[start:end]
    total = float(weights.sum())
    level = float(np.sum(weights * mean[start:end]) / total)
    # the n-weighted mean of window means, with each mean's variance var_i
    se = math.sqrt(float(np.sum(weights**2 * var[start:end]))) / total
    return level, se, int(total)


def _has_spread(n, std) -> bool:
    """Whether windows carry their own score spread (some n >= 2 with std)."""
    if std is None:
        return False
    return bool(np.any((n >= 2) & np.isfinite(std)))


def _fit_group(mean, n, std, noise, method, penalty, false_alarm_rate, min_size):
    """Segment one series: (Segmentation, variances, penalty, has_spread).

    The noise model and the segmentation are fitted in turn: the model on
    one segment (all windows pooled; for ``"longrun"`` the total variance),
    segment, refit the model within the segments found (pooled variance per
    segment; for ``"longrun"`` residual variance and autocorrelation), and
    repeat until a segmentation repeats; in a cycle the one with the fewest
    changes is kept. ``"robust"`` has nothing to refit. Windows of several
    scores then have each change moved to the best place within
    ``min_size - 1`` windows (:func:`_refine_changes`).
    """
    spread = _has_spread(n, std)
    model = "longrun" if noise == "auto" and not spread else noise

    def fit(breakpoints):
        var = window_variance(mean, n, std, noise=model, breakpoints=breakpoints)
        weights = 1.0 / var
        pen = penalty
        if pen is None:
            pen = calibrated_penalty(
                weights, false_alarm_rate=false_alarm_rate, min_size=min_size
            )
        result = segment(
            mean, method=method, penalty=pen, min_size=min_size, weights=weights
        )
        return result, var, pen

    result, var, pen = fit(None)
    if model != "robust":
        rounds = [(result, var, pen)]
        seen = [tuple(result.breakpoints)]
        for _ in range(_MAX_NOISE_ROUNDS):
            result, var, pen = fit(result.breakpoints)
            key = tuple(result.breakpoints)
            if key in seen:
                cycle = rounds[seen.index(key) :] + [(result, var, pen)]
                result, var, pen = min(cycle, key=lambda r: len(r[0].breakpoints))
                break
            rounds.append((result, var, pen))
            seen.append(key)
    if model in ("auto", "sampling") and min_size > 1 and len(result.breakpoints) > 1:
        moved = _refine_changes(mean, 1.0 / var, result.breakpoints, min_size - 1)
        result = Segmentation(
            moved,
            result.status,
            result.n,
            segmentation_cost(mean, moved, pen, weights=1.0 / var)
            if np.isfinite(result.penalty)
            else result.cost,
            result.penalty,
            result.method,
        )
    return result, var, pen, spread


def _refine_changes(values, weights, breakpoints, reach) -> list[int]:
    """Move each change to its best place within ``reach`` windows.

    A change inside a window makes that window a mix of both levels; with a
    minimum segment length of ``min_size`` windows the mixed window cannot
    stand alone, so the segmentation lumps it with ``min_size - 1``
    neighbours of the old level and puts the change up to ``min_size - 1``
    windows early. Here each change in turn (left to right, repeated until
    none moves) goes to the split of the span between its neighbouring
    changes that minimises the two segments' cost, among positions within
    ``reach`` of where it was found, with segments of one window allowed.
    The number of changes stays the same and the total cost can only fall.

    >>> _refine_changes([0, 0, 0, 0, 0, 0.5, 1, 1, 1, 1], [1.0] * 10, [4, 7, 10], 2)
    [5, 6, 10]
    """
    x, w = _as_values(values, weights)
    prefix = _Prefix(x, w)
    bkps = list(breakpoints)
    origin = list(bkps)
    for _ in range(len(bkps) * (2 * reach + 1)):
        moved = False
        for j in range(len(bkps) - 1):
            lo = bkps[j - 1] if j > 0 else 0
            hi = bkps[j + 1]
            cands = np.arange(
                max(lo + 1, origin[j] - reach), min(hi - 1, origin[j] + reach) + 1
            )
            if len(cands) == 0:
                continue
            costs = prefix.cost(lo, cands) + prefix.cost(cands, hi)
            here = float(prefix.cost(lo, bkps[j]) + prefix.cost(bkps[j], hi))
            best = int(np.argmin(costs))
            if costs[best] < here - prefix.tol:
                bkps[j] = int(cands[best])
                moved = True
        if not moved:
            break
    return bkps


def changepoints(
    series,
    *,
    dimension=None,
    by=None,
    penalty=None,
    false_alarm_rate=0.01,
    min_size=3,
    method="pelt",
    noise="auto",
    level=0.95,
) -> pd.DataFrame:
    """Changes in the level of each group and dimension of a quality series.

    For each group x dimension, the non-empty windows (``n > 0``) are
    segmented by weighted PELT (or binary segmentation) on their means, each
    window weighted by the inverse variance of its mean (``n / sigma**2``
    plus any extra day-to-day noise, see :func:`window_variance`). Empty
    windows are skipped, not imputed.

    Parameters
    ----------
    series : pandas.DataFrame
        A series frame (``window_start, *groups, dimension, n, mean, std,
        sem``), e.g. from :func:`llmdrift.quality_series`. Not modified.
    dimension : str or list of str, optional
        Dimensions to examine; all when omitted.
    by : str or list of str, optional
        Group columns; by default every column that is not a series value
        column (``window_start, window_end, dimension, n, mean, std, sem,
        p50, p95, n_windows``).
    penalty : float, optional
        Penalty per segment in chi-square units; when omitted it is
        calibrated per group for ``false_alarm_rate`` by
        :func:`calibrated_penalty`.
    false_alarm_rate : float, default=0.01
        Chance of reporting any change in one group x dimension without one.
    min_size : int, default=3
        Minimum windows per segment.
    method : {"pelt", "binseg"}, default="pelt"
    noise : {"auto", "sampling", "longrun", "robust"}, default="auto"
        Noise model of the window means, see :func:`window_variance`:
        windows of several scores use their score spread pooled within each
        segment plus day-to-day noise; windows of one value each (or without
        ``std``) use the long-run variance of the residuals. The model is
        refitted within the segments found until the segmentation repeats.
    level : float, default=0.95
        Confidence level of ``ci_low``/``ci_high``.

    Returns
    -------
    pandas.DataFrame
        One row per detected change, sorted by groups, dimension and time:

        - group columns (as in ``series``), ``dimension`` (str)
        - ``time`` (datetime64[ns, UTC]): ``window_start`` of the first
          window of the new regime
        - ``mean_before``, ``mean_after`` (float): score-weighted means of
          the segments on either side (adjacent segments only)
        - ``change`` (float): ``mean_after - mean_before``
        - ``ci_low``, ``ci_high`` (float): normal interval of ``change``
        - ``se`` (float): its standard error
        - ``n_before``, ``n_after`` (int64): scores in those segments
        - ``status`` (str): ``"change"``

        ``.attrs["status"]`` holds records (``pd.DataFrame(...)`` makes
        them a frame), one per group x dimension:
        groups, ``dimension``, ``status`` (``"change"``, ``"no_change"`` or
        ``"insufficient_data"``), ``n_windows`` (non-empty windows),
        ``n_changes``, ``penalty``.

    Raises
    ------
    SchemaError
        If ``series`` misses a column, or holds the same window twice for
        one group and dimension (named, with the fix).
    ValueError
        For an unknown ``method`` (also a NotImplementedError), ``noise``,
        ``dimension`` or group column, or a bad ``level``/``min_size``.

    Notes
    -----
    Where a change lands, for windows of several scores: a change inside a window
    makes that window a mix of both levels, and with ``min_size`` windows
    per segment the mixed window cannot stand alone, so the optimal
    segmentation puts it with ``min_size - 1`` windows of the old level and
    the change that many windows early. Each change found is therefore moved
    to the best split between its neighbouring changes within
    ``min_size - 1`` windows, with one-window segments allowed: a mixed
    window then reads as a step of its own (two rows, the first at the
    window holding the change). ``min_size`` still decides what counts as a
    change; the move only places it. Windows of one value each hold no mix
    and are not moved (nor are changes under ``noise="robust"``).

    Known shortcoming: the long-run model for one-value windows treats a
    trend or strong autocorrelation as noise, so it reports few changes on
    such series (on TCPD it found none in 8 of 25 series, 7 of which an annotator
    marked a change in); a slow drift in a
    quality series is the online monitors' job (:func:`monitor`).

    The interval is ``change +- z * sqrt(se_before**2 + se_after**2)``, with
    each segment's standard error from the window-mean variances of the
    noise model. It is conditional on the detected location: it does not
    account for the search over locations, so it is somewhat too narrow for
    changes near the detection limit.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> days = pd.date_range("2026-01-01", periods=30, freq="D", tz="UTC")
    >>> n = rng.integers(50, 150, 30)
    >>> level = np.where(np.arange(30) < 20, 4.0, 3.5)
    >>> series = pd.DataFrame({"window_start": days, "dimension": "format",
    ...     "n": n, "mean": rng.normal(level, 1 / np.sqrt(n)),
    ...     "std": 1.0, "sem": 1 / np.sqrt(n)})
    >>> found = changepoints(series)
    >>> str(found["time"].iloc[0].date()), round(float(found["change"].iloc[0]), 1)
    ('2026-01-21', -0.5)
    """
    validate(series, "series")
    min_size = _check_min_size(min_size)
    _check_method(method, ("pelt", "binseg"))
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}.")
    if noise not in ("auto", "sampling", "longrun", "robust"):
        raise ValueError(
            f"noise must be 'auto', 'sampling', 'longrun' or 'robust', got {noise!r}."
        )
    keys = _group_columns(series, by)
    frame = _select_dimension(series, dimension)
    _check_unique_windows(frame, keys)
    z = float(stats.norm.ppf(0.5 + level / 2))

    rows, status_rows = [], []
    for group, part in _iter_groups(frame, keys + ["dimension"]):
        part = part.sort_values("window_start")
        has = (part["n"].to_numpy() > 0) & np.isfinite(part["mean"].to_numpy(float))
        part = part[has]
        m = len(part)
        mean = part["mean"].to_numpy(np.float64)
        n = part["n"].to_numpy(np.float64)
        status = dict(
            group, status="insufficient_data", n_windows=m, n_changes=0, penalty=np.nan
        )
        if m >= 2 * min_size:
            std = part["std"].to_numpy(np.float64) if "std" in part else None
            result, var, pen, spread = _fit_group(
                mean, n, std, noise, method, penalty, false_alarm_rate, min_size
            )
            status.update(
                status=result.status, n_changes=len(result.changes), penalty=float(pen)
            )
            bounds = [0] + result.breakpoints
            times = part["window_start"].to_numpy()
            for i, cut in enumerate(result.changes):
                before = _segment_stats(mean, n, var, bounds[i], cut)
                after = _segment_stats(mean, n, var, cut, bounds[i + 2])
                change = after[0] - before[0]
                se = math.hypot(before[1], after[1])
                rows.append(
                    dict(
                        group,
                        time=times[cut],
                        mean_before=before[0],
                        mean_after=after[0],
                        change=change,
                        ci_low=change - z * se,
                        ci_high=change + z * se,
                        se=se,
                        n_before=before[2],
                        n_after=after[2],
                        status="change",
                    )
                )
        status_rows.append(status)

    columns = keys + [
        "dimension",
        "time",
        "mean_before",
        "mean_after",
        "change",
        "ci_low",
        "ci_high",
        "se",
        "n_before",
        "n_after",
        "status",
    ]
    out = pd.DataFrame(rows, columns=columns)
    out["time"] = pd.to_datetime(out["time"], utc=True).astype("datetime64[ns, UTC]")
    for col in ("n_before", "n_after"):
        out[col] = out[col].astype("int64")
    status_frame = pd.DataFrame(
        status_rows,
        columns=keys + ["dimension", "status", "n_windows", "n_changes", "penalty"],
    )
    # records, not a frame: pandas compares .attrs with == when it concatenates
    # or merges frames, which a DataFrame value cannot answer
    out.attrs["status"] = status_frame.to_dict("records")
    return out.reset_index(drop=True)


def changepoint_status(series, **options) -> pd.DataFrame:
    """Per group x dimension outcome of :func:`changepoints`.

    Parameters
    ----------
    series : pandas.DataFrame
        As for :func:`changepoints`.
    **options
        Passed to :func:`changepoints`.

    Returns
    -------
    pandas.DataFrame
        Groups, ``dimension``, ``status`` ("change", "no_change" or
        "insufficient_data"), ``n_windows``, ``n_changes``, ``penalty``.

    Examples
    --------
    >>> import pandas as pd
    >>> days = pd.date_range("2026-01-01", periods=3, freq="D", tz="UTC")
    >>> series = pd.DataFrame({"window_start": days, "dimension": "format",
    ...     "n": [5, 5, 5], "mean": [4.0, 4.1, 3.9], "std": 1.0, "sem": 0.45})
    >>> changepoint_status(series)["status"].tolist()
    ['insufficient_data']
    """
    return pd.DataFrame(changepoints(series, **options).attrs["status"])


# ---------------------------------------------------------------------------
# online monitors


@dataclass(frozen=True)
class MonitorResult:
    """Result of an online monitor run over a stream of window means.

    Attributes
    ----------
    alarms : list of int
        Positions where the monitor fired (it restarts from zero after each).
    statistic : numpy.ndarray
        The monitor statistic after each value (0 before ``start``).
    threshold : float
        Alarm threshold, in standard deviations.
    target_mean : float
        In-control level the stream is compared against (NaN for a
        Page-Hinkley run against its running mean).
    sigma : float
        Standard deviation of a value of unit weight.
    start : int
        First position monitored (after the baseline used for estimates).
    """

    alarms: list[int]
    statistic: np.ndarray = field(repr=False)
    threshold: float
    target_mean: float
    sigma: float
    start: int


def _siegmund_arl(h, k):
    b = h + 1.166
    if k == 0:
        return b * b
    return (math.exp(2 * k * b) - 2 * k * b - 1) / (2 * k * k)


def cusum_threshold(arl0, *, k=0.5) -> float:
    """CUSUM threshold ``h`` with a given in-control average run length.

    Parameters
    ----------
    arl0 : float
        Average number of values between false alarms when nothing changed.
    k : float, default=0.5
        Reference value (allowance) in standard deviations; the CUSUM is most
        sensitive to a shift of ``2 k``.

    Returns
    -------
    float
        ``h`` solving Siegmund's approximation
        ``ARL0 = (exp(2 k b) - 2 k b - 1) / (2 k**2)`` with ``b = h + 1.166``
        (``b**2`` when ``k = 0``), for standard normal values.

    Examples
    --------
    >>> round(cusum_threshold(370, k=0.5), 2)
    4.09
    """
    if not arl0 > 1:
        raise ValueError(f"arl0 must be > 1, got {arl0!r}.")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k!r}.")
    if _siegmund_arl(0.0, k) >= arl0:
        return 0.0
    hi = 1.0
    while _siegmund_arl(hi, k) < arl0:
        hi *= 2
    return float(optimize.brentq(lambda h: _siegmund_arl(h, k) - arl0, 0.0, hi))


def _standardise(values, weights, target_mean, sigma, baseline):
    x, w = _as_values(values, weights)
    if w is None:
        w = np.ones_like(x)
    start = 0
    if target_mean is None or sigma is None:
        if baseline is None or baseline < 2 or baseline > len(x):
            raise ValueError(
                f"estimating the in-control level needs 2 <= baseline <= "
                f"len(values) = {len(x)}, got baseline={baseline!r}; or pass "
                "target_mean and sigma."
            )
        bx, bw = x[:baseline], w[:baseline]
        centre = float(np.sum(bw * bx) / np.sum(bw))
        if target_mean is None:
            target_mean = centre
        if sigma is None:
            # per-unit-weight spread of the baseline means: var(x_i) = s**2/w_i
            sigma = math.sqrt(float(np.sum(bw * (bx - centre) ** 2)) / (baseline - 1))
        start = baseline
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}.")
    z = (x - float(target_mean)) * np.sqrt(w) / float(sigma)
    return z, float(target_mean), float(sigma), start


def _orient(z, direction):
    if direction == "down":
        return -z
    if direction == "up":
        return z
    raise ValueError(f"direction must be 'down' or 'up', got {direction!r}.")


def cusum(
    values,
    *,
    target_mean=None,
    sigma=None,
    k=0.5,
    h=None,
    arl0=500,
    weights=None,
    direction="down",
    baseline=14,
) -> MonitorResult:
    """One-sided CUSUM on a stream of window means, restarting after each alarm.

    Parameters
    ----------
    values : array-like of float
        Window means in time order (finite; drop empty windows).
    target_mean : float, optional
        In-control level; the weighted mean of the first ``baseline`` values
        when omitted (monitoring then starts after them).
    sigma : float, optional
        Standard deviation of a value of weight 1 (a value of weight ``w``
        has standard deviation ``sigma / sqrt(w)``); estimated from the
        baseline values' weighted spread when omitted.
    k : float, default=0.5
        Allowance in standard deviations.
    h : float, optional
        Threshold in standard deviations; from ``arl0`` when omitted.
    arl0 : float, default=500
        Target average number of values between false alarms.
    weights : array-like of float, optional
        Scores per window; equal when omitted.
    direction : {"down", "up"}, default="down"
    baseline : int, default=14
        Values used to estimate ``target_mean``/``sigma`` when not given.

    Returns
    -------
    MonitorResult

    Notes
    -----
    With ``z_i = (x_i - target_mean) sqrt(w_i) / sigma`` (sign flipped for
    drops), ``S_i = max(0, S_{i-1} + z_i - k)`` and an alarm when
    ``S_i > h``, after which ``S`` restarts at 0. ``h`` solves Siegmund's
    approximation for ``arl0`` (see :func:`cusum_threshold`), which the tests
    check against simulated run lengths.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> x = np.r_[rng.normal(0.9, 0.01, 40), rng.normal(0.85, 0.01, 10)]
    >>> cusum(x, baseline=20).alarms[0]
    41
    """
    z, target, sd, start = _standardise(values, weights, target_mean, sigma, baseline)
    threshold = cusum_threshold(arl0, k=k) if h is None else float(h)
    z = _orient(z, direction)
    stat = np.zeros(len(z))
    alarms = []
    s = 0.0
    for i in range(start, len(z)):
        s = max(0.0, s + z[i] - k)
        stat[i] = s
        if s > threshold:
            alarms.append(i)
            s = 0.0
    return MonitorResult(alarms, stat, threshold, target, sd, start)


def _ph_statistic(z, delta, known_mean):
    """Page-Hinkley statistic for drops on standardised z, no reset."""
    steps = np.arange(1, len(z) + 1)
    centre = 0.0 if known_mean else np.cumsum(z) / steps
    m = np.cumsum(centre - z - delta)
    return m - np.minimum.accumulate(np.minimum(m, 0.0))


@functools.lru_cache(maxsize=64)
def _ph_calibrate(arl0, delta, known_mean, n_sim, seed):
    rng = np.random.default_rng(seed)
    length = int(min(max(8 * arl0, 200), 40_000))
    rows = max(50, min(n_sim, 20_000_000 // length))
    peaks = np.empty((rows, length))
    for i in range(rows):
        peaks[i] = np.maximum.accumulate(
            _ph_statistic(rng.standard_normal(length), delta, known_mean)
        )

    def mean_run(lam):
        crossed = peaks > lam
        first = np.where(crossed.any(axis=1), crossed.argmax(axis=1) + 1, length)
        return float(first.mean())

    hi = 1.0
    while mean_run(hi) < arl0 and hi < 1e3:
        hi *= 2
    return float(optimize.brentq(lambda lam: mean_run(lam) - arl0, 0.0, hi, xtol=1e-3))


def page_hinkley_threshold(arl0, *, delta=0.5, known_mean=False, n_sim=2000, seed=0):
    """Page-Hinkley threshold ``lambda`` for a target average run length.

    Found by simulating standard normal streams (cached per argument set):
    the smallest ``lambda`` whose mean first-alarm time reaches ``arl0``.
    With ``known_mean=True`` the test is Page's CUSUM with ``k = delta``.

    Examples
    --------
    >>> round(page_hinkley_threshold(100, delta=0.5, known_mean=True, n_sim=400), 1)
    2.9
    """
    if not arl0 > 1:
        raise ValueError(f"arl0 must be > 1, got {arl0!r}.")
    return _ph_calibrate(
        float(arl0), float(delta), bool(known_mean), int(n_sim), int(seed)
    )


def page_hinkley(
    values,
    *,
    target_mean=None,
    sigma=None,
    delta=0.5,
    threshold=None,
    arl0=500,
    weights=None,
    direction="down",
    baseline=14,
) -> MonitorResult:
    """Page-Hinkley test for a drop, against the running mean since the last alarm.

    Parameters
    ----------
    values : array-like of float
        Window means in time order.
    target_mean : float, optional
        When given, the test compares with this fixed level (and is then the
        CUSUM with ``k = delta``); otherwise each value is compared with the
        running mean of the values since monitoring (re)started, as in the
        classic data-stream form of the test.
    sigma : float, optional
        Standard deviation of a value of weight 1; from the baseline when
        omitted (as in :func:`cusum`).
    delta : float, default=0.5
        Tolerated drift per value, in standard deviations.
    threshold : float, optional
        ``lambda`` in standard deviations; calibrated by simulation for
        ``arl0`` when omitted (:func:`page_hinkley_threshold`).
    arl0 : float, default=500
    weights : array-like of float, optional
    direction : {"down", "up"}, default="down"
    baseline : int, default=14
        Values used to estimate ``sigma`` (and the level for
        standardising) when not given; monitoring starts after them.

    Returns
    -------
    MonitorResult

    Notes
    -----
    With standardised values ``z`` and ``zbar_s`` the running mean of
    ``z`` since monitoring (re)started (or 0 when ``target_mean`` is given),
    the statistic for drops is ``m_t = sum_{s<=t} (zbar_s - z_s - delta)``;
    an alarm fires when ``m_t - min(0, min_{s<=t} m_s) > lambda``, after
    which the running mean and ``m`` restart from the next value.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> x = np.r_[rng.normal(0.9, 0.01, 40), rng.normal(0.85, 0.01, 10)]
    >>> page_hinkley(x, baseline=20, arl0=200).alarms[0] >= 40
    True
    """
    z, target, sd, start = _standardise(values, weights, target_mean, sigma, baseline)
    known = target_mean is not None
    if threshold is None:
        threshold = page_hinkley_threshold(arl0, delta=delta, known_mean=known)
    z = -_orient(z, direction)  # _ph_statistic is written for drops of z
    stat = np.zeros(len(z))
    alarms = []
    i = start
    while i < len(z):
        run = _ph_statistic(z[i:], delta, known)
        over = np.flatnonzero(run > threshold)
        if len(over) == 0:
            stat[i:] = run
            break
        hit = int(over[0])
        stat[i : i + hit + 1] = run[: hit + 1]
        alarms.append(i + hit)
        i += hit + 1
    return MonitorResult(
        alarms, stat, float(threshold), target if known else float("nan"), sd, start
    )


def monitor(
    series,
    *,
    method="cusum",
    dimension=None,
    by=None,
    baseline=14,
    **options,
) -> pd.DataFrame:
    """Run an online monitor over each group x dimension of a series frame.

    Parameters
    ----------
    series : pandas.DataFrame
        A series frame (``window_start, *groups, dimension, n, mean, ...``).
    method : {"cusum", "page_hinkley"}, default="cusum"
    dimension, by
        As for :func:`changepoints`.
    baseline : int, default=14
        Non-empty windows used to set the in-control level and spread.
    **options
        Passed to :func:`cusum` or :func:`page_hinkley` (``k``, ``h``,
        ``arl0``, ``delta``, ``threshold``, ``direction``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per alarm: groups, ``dimension``, ``time`` (window_start of
        the alarming window), ``mean`` (its mean), ``target_mean``,
        ``statistic``, ``threshold``, ``method``. Windows with ``n == 0``
        are skipped; each window is weighted by its ``n``. Groups with fewer
        than ``baseline + 1`` non-empty windows are listed in
        ``.attrs["status"]`` as ``"insufficient_data"``; series whose baseline
        windows all have the same mean (a check that is always 0) have no
        spread to scale by and are listed as ``"constant_baseline"``, not
        monitored, with a warning (pass ``sigma=`` to watch them).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> days = pd.date_range("2026-01-01", periods=40, freq="D", tz="UTC")
    >>> mean = np.r_[rng.normal(4.0, 0.05, 30), rng.normal(3.7, 0.05, 10)]
    >>> series = pd.DataFrame({"window_start": days, "dimension": "format",
    ...     "n": 100, "mean": mean, "std": 0.5, "sem": 0.05})
    >>> str(monitor(series)["time"].iloc[0].date())
    '2026-01-31'
    """
    validate(series, "series")
    runners = {"cusum": cusum, "page_hinkley": page_hinkley}
    run = runners[_check_method(method, tuple(runners))]
    keys = _group_columns(series, by)
    frame = _select_dimension(series, dimension)
    _check_unique_windows(frame, keys)
    rows, status_rows = [], []
    for group, part in _iter_groups(frame, keys + ["dimension"]):
        part = part.sort_values("window_start")
        part = part[(part["n"] > 0) & np.isfinite(part["mean"].to_numpy(float))]
        if len(part) <= baseline:
            status_rows.append(dict(group, status="insufficient_data", n_alarms=0))
            continue
        mean = part["mean"].to_numpy(np.float64)
        if options.get("sigma") is None and np.ptp(mean[:baseline]) == 0:
            # no spread to scale by: a check that never varied (always 0 or 1)
            status_rows.append(dict(group, status="constant_baseline", n_alarms=0))
            continue
        result = run(
            mean, weights=part["n"].to_numpy(np.float64), baseline=baseline, **options
        )
        times = part["window_start"].to_numpy()
        for i in result.alarms:
            rows.append(
                dict(
                    group,
                    time=times[i],
                    mean=mean[i],
                    target_mean=result.target_mean,
                    statistic=float(result.statistic[i]),
                    threshold=result.threshold,
                    method=method,
                )
            )
        status_rows.append(
            dict(
                group,
                status="alarm" if result.alarms else "no_alarm",
                n_alarms=len(result.alarms),
            )
        )
    columns = keys + [
        "dimension",
        "time",
        "mean",
        "target_mean",
        "statistic",
        "threshold",
        "method",
    ]
    out = pd.DataFrame(rows, columns=columns)
    out["time"] = pd.to_datetime(out["time"], utc=True).astype("datetime64[ns, UTC]")
    out.attrs["status"] = pd.DataFrame(
        status_rows, columns=keys + ["dimension", "status", "n_alarms"]
    ).to_dict("records")
    if any(r["status"] == "insufficient_data" for r in status_rows):
        warnings.warn(
            f"some series have {baseline} or fewer non-empty windows, too few to "
            "set a baseline; they are listed in .attrs['status'].",
            LlmdriftWarning,
            stacklevel=2,
        )
    constant = [r for r in status_rows if r["status"] == "constant_baseline"]
    if constant:
        first = {
            k: v for k, v in constant[0].items() if k not in ("status", "n_alarms")
        }
        warnings.warn(
            f"{len(constant)} series did not vary over their {baseline} baseline "
            f"windows (e.g. {first}), so there is no spread to monitor them with "
            "and they were not monitored (status 'constant_baseline' in "
            ".attrs['status']); pass sigma= to watch them anyway, or use "
            "evaluate_alerts, whose quality rules give such series a floor spread.",
            LlmdriftWarning,
            stacklevel=2,
        )
    return out.reset_index(drop=True)
