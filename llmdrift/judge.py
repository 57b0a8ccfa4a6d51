"""Sampling plans and the LLM judge.

An LLM judge costs money per call, so it scores a sample of the traffic. This
module draws that sample (:func:`sample_for_judging`), re-weights the sampled
scores into population figures (:func:`population_mean`) and runs the judge
itself (:class:`Judge`, with a :class:`Rubric`) through the ``anthropic`` SDK.

The sampling rule
-----------------
A request is sampled when ``u(span_id) < rate`` of its stratum, where ``u`` is
a uniform number in ``[0, 1)`` computed from the span id alone:

1. ``key`` = the first 16 hex digits of BLAKE2b-64 of the UTF-8 ``salt``
   (``hashlib.blake2b(salt.encode(), digest_size=8).hexdigest()``);
2. ``h`` = SipHash-2-4 of the UTF-8 span id under that 16-byte key, followed by
   the splitmix64 finaliser (``h ^= h >> 30; h *= 0xBF58476D1CE4E5B9;
   h ^= h >> 27; h *= 0x94D049BB133111EB; h ^= h >> 31``): exactly what
   ``pandas.util.hash_pandas_object(ids, index=False, hash_key=key,
   categorize=False)`` computes, in C, for a million ids in a quarter second;
3. ``u = (h >> 11) / 2**53``.

Because ``u`` depends only on the salt and the span id, a re-run picks the same
requests, and the 5% sample is a subset of the 10% sample (``u < 0.05``
implies ``u < 0.10``). Changing the salt draws an independent sample.
A per-row ``hashlib`` loop gives the same guarantees but is about eight times
slower on 10^6 ids, which is why the vectorised pandas hash is used; the rule
above is small enough to re-implement elsewhere (``tests/test_sampling.py``
does, in pure Python).
"""

from __future__ import annotations

import hashlib
import logging
import math
import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from llmdrift import schema
from llmdrift.schema import LlmdriftWarning

__all__ = [
    "sample_for_judging",
    "population_mean",
    "sample_uniform",
]

log = logging.getLogger(__name__)

_ALWAYS_RULES = ("error", "flagged")


# --------------------------------------------------------------------------
# sampling
# --------------------------------------------------------------------------


def _hash_key(salt: str) -> str:
    if not isinstance(salt, str):
        raise TypeError(f"salt must be a str, got {type(salt).__name__}")
    return hashlib.blake2b(salt.encode("utf-8"), digest_size=8).hexdigest()


def sample_uniform(span_ids, *, salt: str = "llmdrift") -> np.ndarray:
    """The deterministic uniform number in ``[0, 1)`` that decides sampling.

    Parameters
    ----------
    span_ids : array-like of str
        Span ids (missing values are not allowed).
    salt : str, default="llmdrift"
        Changes every number; the same salt always gives the same numbers.

    Returns
    -------
    numpy.ndarray of float64
        One number per id; see the module docstring for the exact rule.

    Examples
    --------
    >>> u = sample_uniform(["a1", "b2", "a1"])
    >>> bool(u[0] == u[2]) and bool(((u >= 0) & (u < 1)).all())
    True
    """
    ids = pd.Series(span_ids, dtype=object, copy=False)
    if ids.isna().any():
        raise ValueError(
            f"span ids must not be missing; {int(ids.isna().sum())} are. Drop or "
            "fill them before sampling."
        )
    ids = ids.astype(str)
    hashed = pd.util.hash_pandas_object(
        ids, index=False, hash_key=_hash_key(salt), categorize=False
    ).to_numpy(dtype=np.uint64)
    return (hashed >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _stratum_rates(
    strata: pd.Series | None, rate, by: str | None, default_rate: float | None
) -> np.ndarray:
    """Per-row sampling rate from a float, a mapping or a sample-plan frame."""
    n = 0 if strata is None else len(strata)

    def check(value, where):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"rate {where} must be a number, got {value!r}") from None
        if not 0.0 <= value <= 1.0 or math.isnan(value):
            raise ValueError(f"rate {where} must lie in [0, 1], got {value}")
        return value

    if isinstance(rate, int | float | np.floating | np.integer) and not isinstance(
        rate, bool
    ):
        value = check(rate, "")
        return np.full(n if strata is not None else 0, value)

    if by is None:
        raise ValueError(
            "a rate per stratum (mapping or frame) needs by=<column>; with by=None "
            "give one float rate"
        )
    if isinstance(rate, pd.DataFrame):
        rate_column = next((c for c in ("rate", "sample_rate") if c in rate), None)
        if by not in rate.columns or rate_column is None:
            raise ValueError(
                f"a sample-plan frame needs columns {by!r} and 'rate'; got "
                f"{list(rate.columns)}. Build one with llmdrift.sample_plan(...)."
            )
        if rate[by].duplicated().any():
            dup = rate.loc[rate[by].duplicated(), by].iloc[0]
            raise ValueError(f"sample plan lists stratum {dup!r} more than once")
        mapping = dict(zip(rate[by].tolist(), rate[rate_column].tolist(), strict=True))
    elif isinstance(rate, Mapping):
        mapping = dict(rate)
    else:
        raise TypeError(
            "rate must be a float, a mapping {stratum: rate} or a sample-plan "
            f"frame with columns {by!r}, 'rate'; got {type(rate).__name__}"
        )

    mapping = {
        (None if _is_missing(k) else k): check(v, f"for {k!r}")
        for k, v in mapping.items()
    }
    keys = strata.astype(object).where(strata.notna(), None)
    out = np.array(
        keys.map(lambda k: mapping.get(k, np.nan)).to_numpy(dtype=np.float64)
    )
    missing = np.isnan(out)
    if missing.any():
        if default_rate is None:
            absent = sorted({"<NA>" if k is None else str(k) for k in keys[missing]})
            raise ValueError(
                f"rate has no entry for {by} value(s) {absent[:10]}; add them to "
                "the mapping/plan or pass default_rate=<float>"
            )
        out[missing] = check(default_rate, "default_rate")
    return out


def _require(df, kind: str, columns) -> None:
    """Check only the columns this module reads (the full contract is wider)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"expected a pandas DataFrame of {kind}, got {type(df).__name__}"
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise schema.SchemaError(
            f"{kind} frame: missing column(s) {missing}; present: "
            f"{list(df.columns)[:12]}"
        )


def _is_missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _always_mask(spans: pd.DataFrame, always: Iterable[str]) -> pd.DataFrame:
    """One boolean column per always-include rule (False where unknown)."""
    if isinstance(always, str):
        always = (always,)
    masks = {}
    for rule in always:
        if rule == "error":
            mask = pd.Series(False, index=spans.index)
            if "status" in spans:
                mask |= spans["status"].astype("string").str.lower().eq("error")
            if "error_type" in spans:
                mask |= spans["error_type"].notna()
        elif rule in spans.columns:
            column = spans[rule]
            if not (pd.api.types.is_bool_dtype(column) or column.isna().all()):
                raise TypeError(
                    f"always-include column {rule!r} must be boolean, got dtype "
                    f"{column.dtype}"
                )
            mask = column.astype("boolean")
        elif rule == "flagged":
            mask = pd.Series(False, index=spans.index)
        else:
            raise ValueError(
                f"unknown always-include rule {rule!r}: use 'error', 'flagged' or "
                f"the name of a boolean spans column; columns: {list(spans.columns)}"
            )
        masks[rule] = mask.fillna(False).astype(bool)
    return pd.DataFrame(masks, index=spans.index)


def sample_for_judging(
    spans: pd.DataFrame,
    rate=0.05,
    *,
    by: str | None = "intent",
    always: Iterable[str] = _ALWAYS_RULES,
    salt: str = "llmdrift",
    default_rate: float | None = None,
    model_calls_only: bool = True,
) -> pd.DataFrame:
    """Draw the deterministic, stratified sample of requests to judge.

    Parameters
    ----------
    spans : pandas.DataFrame
        Spans frame; needs ``span_id``, the ``by`` column, and uses ``status``,
        ``error_type`` and ``flagged`` when present. Not modified.
    rate : float, mapping or DataFrame, default=0.05
        Sampling rate in [0, 1]: one rate for every stratum, a mapping
        ``{stratum: rate}`` (key ``None`` for a missing ``by`` value), or the
        frame of :func:`llmdrift.sample_plan` (columns ``by`` and ``rate``).
    by : str or None, default="intent"
        Stratum column. ``None`` samples all spans at one rate.
    always : iterable of str, default=("error", "flagged")
        Requests always included (inclusion probability 1): ``"error"`` means
        ``status == "error"`` or an ``error_type``; ``"flagged"`` (or any
        boolean column name) means that column is true.
    salt : str, default="llmdrift"
        Seed of the hash; a different salt draws an independent sample.
    default_rate : float, optional
        Rate for strata absent from a mapping or plan; by default an absent
        stratum raises.
    model_calls_only : bool, default=True
        Keep only model calls (``span_kind == "llm"``) when that column exists.

    Returns
    -------
    pandas.DataFrame
        The sampled spans (all their columns, original order, new RangeIndex)
        plus ``inclusion_prob`` (float64: the stratum rate, or 1.0 for
        always-included requests), ``sample_reason`` (string: ``"random"`` or
        the first always-include rule that matched) and ``sample_u`` (the hash
        number; a request is in every sample whose rate exceeds it).

    Raises
    ------
    ValueError
        A rate outside [0, 1], a stratum without a rate, or an unknown rule.

    Notes
    -----
    The draw is Poisson sampling within strata: each request is included
    independently with its stratum's rate, so sample sizes vary around
    ``rate * n``. The rule is in the module docstring.

    Examples
    --------
    >>> import pandas as pd
    >>> spans = pd.DataFrame({
    ...     "span_id": [f"{i:016x}" for i in range(1000)],
    ...     "intent": ["a", "b"] * 500,
    ...     "status": ["error"] + ["ok"] * 999,
    ... })
    >>> small = sample_for_judging(spans, {"a": 0.05, "b": 0.2})
    >>> large = sample_for_judging(spans, {"a": 0.10, "b": 0.4})
    >>> set(small.span_id) <= set(large.span_id)
    True
    >>> small.loc[small.span_id == f"{0:016x}", "inclusion_prob"].item()
    1.0
    """
    _require(spans, "spans", ["span_id"] + ([] if by is None else [by]))
    if spans["span_id"].duplicated().any():
        dup = spans.loc[spans["span_id"].duplicated(), "span_id"].iloc[0]
        raise schema.SchemaError(
            f"spans frame: column 'span_id' must be unique, but {dup!r} appears "
            "more than once; drop duplicates with df.drop_duplicates('span_id')."
        )
    frame = spans
    if model_calls_only and "span_kind" in frame.columns:
        kind = frame["span_kind"].astype("string")
        frame = frame.loc[kind.eq("llm").fillna(True).to_numpy()]

    strata = None if by is None else frame[by]
    if by is None:
        rates = _stratum_rates(
            pd.Series(index=frame.index, dtype=object), rate, None, default_rate
        )
    else:
        rates = _stratum_rates(strata, rate, by, default_rate)
    u = sample_uniform(frame["span_id"], salt=salt)
    forced = _always_mask(frame, always)

    chosen = u < rates
    any_forced = forced.any(axis=1).to_numpy()
    keep = chosen | any_forced

    out = frame.loc[keep].copy()
    reason = np.full(len(frame), "random", dtype=object)
    for rule in reversed(list(forced.columns)):
        reason[forced[rule].to_numpy()] = rule
    out["inclusion_prob"] = np.where(any_forced, 1.0, rates)[keep]
    out["sample_reason"] = pd.array(reason[keep], dtype="string")
    out["sample_u"] = u[keep]
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------
# population estimates
# --------------------------------------------------------------------------


def _hajek(y: np.ndarray, prob: np.ndarray, level: float) -> dict:
    """Hajek mean with its linearisation variance under Poisson sampling."""
    weights = 1.0 / prob
    n_hat = weights.sum()
    mean = float((weights * y).sum() / n_hat)
    # Taylor linearisation of the ratio sum(y/pi) / sum(1/pi): residuals
    # z_i = (y_i - mean) / N_hat, Poisson-design variance sum (1-pi) z^2 / pi^2.
    resid = y - mean
    variance = float(((1.0 - prob) * resid**2 / prob**2).sum() / n_hat**2)
    n_random = int((prob < 1.0).sum())
    se = math.sqrt(variance)
    if n_random == 0:
        low = high = mean
    elif n_random < 2:
        low = high = np.nan
        se = np.nan
    else:
        df = n_random - 1
        half = stats.t.ppf(0.5 + level / 2.0, df) * se
        low, high = mean - half, mean + half
    return {
        "mean": mean,
        "se": se,
        "ci_low": low,
        "ci_high": high,
        "n": int(len(y)),
        "population_size": float(n_hat),
    }


def population_mean(
    scores: pd.DataFrame,
    *,
    spans: pd.DataFrame | None = None,
    dimension: str | Iterable[str] | None = None,
    by: str | Iterable[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Population mean of sampled scores, re-weighted by inclusion probability.

    Parameters
    ----------
    scores : pandas.DataFrame
        Scores frame. Needs ``inclusion_prob``, either as a column or from
        ``spans``. Rows with a NaN value (failed scorer) are left out, with a
        warning. Not modified.
    spans : pandas.DataFrame, optional
        A frame with ``span_id`` and ``inclusion_prob`` (the output of
        :func:`sample_for_judging`), used when ``scores`` lacks
        ``inclusion_prob`` and as the source of ``by`` columns that are not
        in ``scores``.
    dimension : str or list of str, optional
        Keep only these dimensions. Every dimension gets its own row.
    by : str or list of str, optional
        Domains (e.g. ``"intent"``) to estimate separately.
    level : float, default=0.95
        Confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        One row per ``dimension`` (and ``by`` group): ``dimension``, *by,
        ``mean`` (float64, the estimate), ``se``, ``ci_low``, ``ci_high``,
        ``n`` (scores used), ``n_failed`` (NaN scores left out),
        ``population_size`` (estimated number of requests, sum of 1 /
        inclusion_prob) and ``method`` (``"hajek"``).

    Raises
    ------
    ValueError
        If inclusion probabilities are missing or outside (0, 1].

    Notes
    -----
    The estimator is the Hajek (ratio) estimator ``sum(y/pi) / sum(1/pi)``,
    not Horvitz-Thompson ``sum(y/pi) / N``: it needs no population count and
    is stable when the realised sample size differs from its expectation.
    Its variance is the Taylor linearisation under the actual design,
    Bernoulli (Poisson) sampling with rate ``pi_h`` in stratum ``h``:
    ``sum((1 - pi_i) (y_i - mean)^2 / pi_i^2) / (sum 1/pi_i)^2``.
    Always-included requests (``pi = 1``) form a census and add no variance.
    The interval uses Student's t with ``n_random - 1`` degrees of freedom
    (``n_random`` = scores with ``pi < 1``); with fewer than two such scores it
    is NaN, and with none (a census) it has zero width.
    Leaving out failed scores assumes they fail independently of the score;
    a judge that refuses mostly bad answers biases the estimate upwards.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({
    ...     "span_id": list("abcd"),
    ...     "time": pd.to_datetime(["2024-01-01"] * 4, utc=True),
    ...     "dimension": "format", "value": [1.0, 1.0, 5.0, 5.0],
    ...     "scorer": "j", "kind": "judge",
    ...     "inclusion_prob": [0.1, 0.1, 0.5, 0.5]})
    >>> round(population_mean(scores)["mean"].item(), 3)
    1.667
    """
    schema.validate(scores, "scores")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    by_columns = [] if by is None else ([by] if isinstance(by, str) else list(by))
    frame = scores
    if dimension is not None:
        wanted = [dimension] if isinstance(dimension, str) else list(dimension)
        frame = frame.loc[frame["dimension"].isin(wanted).to_numpy()]

    need_from_spans = [c for c in by_columns if c not in frame.columns]
    has_prob = (
        "inclusion_prob" in frame.columns and frame["inclusion_prob"].notna().any()
    )
    if not has_prob:
        need_from_spans.append("inclusion_prob")
    if need_from_spans:
        if spans is None or any(c not in spans.columns for c in need_from_spans):
            raise ValueError(
                f"population_mean needs column(s) {need_from_spans} in scores or "
                "in spans=...; pass spans=sample_for_judging(...) output, which "
                "carries inclusion_prob"
            )
        lookup = spans[["span_id", *need_from_spans]].drop_duplicates("span_id")
        frame = frame.drop(columns=[c for c in need_from_spans if c in frame]).merge(
            lookup, on="span_id", how="left"
        )

    prob = pd.to_numeric(frame["inclusion_prob"], errors="coerce").astype(float)
    if prob.isna().any():
        raise ValueError(
            f"{int(prob.isna().sum())} score rows have no inclusion_prob (e.g. "
            f"span {frame.loc[prob.isna().to_numpy(), 'span_id'].iloc[0]!r}); "
            "score only spans from sample_for_judging or give spans=..."
        )
    if ((prob <= 0) | (prob > 1)).any():
        raise ValueError("inclusion_prob must lie in (0, 1]; got values outside it")

    value = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    failed = value.isna().to_numpy()
    if failed.any():
        warnings.warn(
            f"population_mean: {int(failed.sum())} score rows have no value (the "
            "scorer failed) and are left out; this assumes failures are "
            "unrelated to quality",
            LlmdriftWarning,
            stacklevel=2,
        )
    work = frame[["dimension", *by_columns]].copy()
    work["_y"] = value.to_numpy()
    work["_p"] = prob.to_numpy()
    work["_failed"] = failed

    rows = []
    keys = ["dimension", *by_columns]
    for key, group in work.groupby(keys, sort=True, dropna=False):
        ok = ~group["_failed"].to_numpy()
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key, strict=True))
        if ok.sum() == 0:
            row.update(
                mean=np.nan,
                se=np.nan,
                ci_low=np.nan,
                ci_high=np.nan,
                n=0,
                population_size=np.nan,
            )
        else:
            row.update(
                _hajek(group["_y"].to_numpy()[ok], group["_p"].to_numpy()[ok], level)
            )
        row["n_failed"] = int((~ok).sum())
        row["method"] = "hajek"
        rows.append(row)
    columns = [
        *keys,
        "mean",
        "se",
        "ci_low",
        "ci_high",
        "n",
        "n_failed",
        "population_size",
        "method",
    ]
    out = pd.DataFrame(rows, columns=columns)
    out["dimension"] = out["dimension"].astype("string")
    out["method"] = out["method"].astype("string")
    for name in ("mean", "se", "ci_low", "ci_high", "population_size"):
        out[name] = out[name].astype("float64")
    for name in ("n", "n_failed"):
        out[name] = out[name].astype("int64")
    return out
