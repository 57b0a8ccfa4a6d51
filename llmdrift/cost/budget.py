"""The judging budget: what judging a request costs, and the rates a budget buys.

:func:`judge_cost` prices one judgement per request type; :func:`sample_plan`
turns a daily budget into per-intent sample rates that make the overall
quality estimate as precise as the budget allows, and says which drop in
quality a week of judgements at those rates can detect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from llmdrift._args import check_unique_rows
from llmdrift.cost._common import (
    as_tuple,
    require_columns,
    require_frame,
    utc_times,
    warn,
)
from llmdrift.cost.prices import model_prices
from llmdrift.cost.usage import llm_level, normalize_usage

__all__ = ["judge_cost", "sample_plan", "detectable_drop"]


def _group_key(frame: pd.DataFrame, by: tuple[str, ...]) -> pd.Series:
    if not by:
        return pd.Series("all", index=frame.index, dtype="string")
    return frame[by[0]].astype("string").fillna("<NA>")


def judge_cost(
    spans: pd.DataFrame | None = None,
    *,
    contents: pd.DataFrame | None = None,
    judge_model: str = "claude-haiku-4-5",
    judge_provider: str | None = "anthropic",
    rubric_tokens: int = 1000,
    verdict_tokens: int = 150,
    cache_rubric: bool = True,
    batch: bool = False,
    by: str | None = "intent",
    chars_per_token: float = 4.0,
    prices: pd.DataFrame | None = None,
    at=None,
) -> pd.DataFrame:
    """Expected cost of judging one request of each intent.

    The judge reads the request, the response and the rubric, and writes a
    verdict: input = request + response + rubric tokens, output = verdict
    tokens, priced for ``judge_model`` with genai-prices (or ``prices``).

    Parameters
    ----------
    spans : pandas.DataFrame, optional
        Spans: the request size is the mean ``input_tokens`` of the model
        calls of a group and the response size the mean visible output
        (``output_tokens - reasoning_tokens``).
    contents : pandas.DataFrame, optional
        ``span_id``, ``input_text``, ``output_text``: when given, sizes come
        from the texts (characters / ``chars_per_token``), since those are
        what the judge reads. The group column is taken from ``contents`` or
        from the span with that ``span_id``.
    judge_model, judge_provider : str
        The judge; its prices come from genai-prices at ``at`` (default now).
    rubric_tokens, verdict_tokens : int, default=1000, 150
    cache_rubric : bool, default=True
        Bill the rubric at the cache-read price (the rubric is the same
        prefix on every call; a warm cache is assumed, whose occasional
        writes are neglected). Anthropic caches only prompts above a
        minimum length (1,024 tokens or more depending on the model):
        below it, set False.
    batch : bool, default=False
        Message Batches: 50% off every token price.
    by : str or None, default="intent"
        Group column; None for one overall row.
    chars_per_token : float, default=4.0
    prices : pandas.DataFrame, optional
        Override table as for :func:`llmdrift.cost.price_spans`.
    at : datetime-like, optional

    Returns
    -------
    pandas.DataFrame
        One row per group: *by, ``n_basis`` (requests the sizes are from),
        ``request_tokens``, ``response_tokens``, ``rubric_tokens``,
        ``verdict_tokens``, ``judge_input_tokens`` (float means),
        ``cost_per_judgement_usd``. ``attrs`` holds ``judge_model``,
        ``price_model`` and the prices used.

    Examples
    --------
    >>> import pandas as pd
    >>> spans = pd.DataFrame({"span_id": ["a", "b"], "intent": ["x", "x"],
    ...     "input_tokens": [1000, 3000], "output_tokens": [100, 300]})
    >>> table = pd.DataFrame({"model": ["judge"], "input": [1.0],
    ...     "cache_read": [0.1], "output": [5.0]})
    >>> out = judge_cost(spans, judge_model="judge", judge_provider=None,
    ...                  rubric_tokens=1000, verdict_tokens=100, prices=table)
    >>> round(float(out["cost_per_judgement_usd"].iloc[0]), 6)
    0.0028
    """
    by_t = as_tuple(by)
    if len(by_t) > 1:
        raise ValueError("judge_cost groups by one column (by='intent') or None")
    if spans is None and contents is None:
        raise ValueError("judge_cost needs spans= or contents= to size the requests")
    if contents is not None:
        require_frame(contents, "contents")
        require_columns(contents, ["span_id", "output_text"], "contents")
        frame = contents.copy()
        missing = [b for b in by_t if b not in frame.columns]
        if missing:
            if spans is None:
                raise ValueError(
                    f"contents has no column {missing[0]!r}; pass spans= to take it "
                    "from the spans"
                )
            lookup = spans.drop_duplicates("span_id").set_index("span_id")
            for b in missing:
                frame[b] = frame["span_id"].map(lookup[b])
        text_in = (
            frame["input_text"].astype("string")
            if "input_text" in frame.columns
            else pd.Series("", index=frame.index, dtype="string")
        )
        req = text_in.str.len().astype(float) / chars_per_token
        resp = frame["output_text"].astype("string").str.len().astype(float)
        resp = resp / chars_per_token
    else:
        require_frame(spans)
        frame = normalize_usage(spans)
        frame = frame.loc[llm_level(frame)]
        require_columns(frame, by_t, "spans")
        req = frame["input_tokens"].astype(float)
        resp = (frame["output_tokens"] - frame["reasoning_tokens"]).astype(float)
    sizes = pd.DataFrame(
        {"key": _group_key(frame, by_t), "req": req.to_numpy(), "resp": resp.to_numpy()}
    )
    agg = sizes.groupby("key", sort=True).agg(
        n_basis=("req", "count"),
        request_tokens=("req", "mean"),
        response_tokens=("resp", "mean"),
    )
    price = model_prices(judge_model, provider=judge_provider, at=at, prices=prices)
    bucket = price["bucket"]
    rubric = float(rubric_tokens)
    verdict = float(verdict_tokens)
    judge_in = (
        agg["request_tokens"].fillna(0) + agg["response_tokens"].fillna(0) + rubric
    )
    p = bucket.arrays(judge_in.to_numpy())
    uncached = judge_in.to_numpy() - (rubric if cache_rubric else 0.0)
    cached = rubric if cache_rubric else 0.0
    cost = (
        uncached * p["input"] + cached * p["cache_read"] + verdict * p["output"]
    ) / 1e6 + bucket.per_request
    if batch:
        cost = cost * 0.5
    out = agg.reset_index()
    out = out.rename(columns={"key": by_t[0]}) if by_t else out.drop(columns="key")
    out["rubric_tokens"] = rubric
    out["verdict_tokens"] = verdict
    out["judge_input_tokens"] = judge_in.to_numpy()
    out["cost_per_judgement_usd"] = np.broadcast_to(cost, len(out)).astype(float)
    out["n_basis"] = out["n_basis"].astype("int64")
    out.attrs = {
        "judge_model": judge_model,
        "price_model": price["price_model"],
        "price_source": price["price_source"],
        "prices_per_mtok": {k: price[k] for k in ("input", "cache_read", "output")},
        "cache_rubric": cache_rubric,
        "batch": batch,
    }
    return out


def detectable_drop(
    n: float,
    *,
    n_baseline: float | None = None,
    std: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
) -> float:
    """Smallest difference in means a two-sample t-test detects with ``power``.

    Parameters
    ----------
    n, n_baseline : float
        Scores in the current window and the baseline (default: same as n).
    std : float, default=1.0
        Standard deviation of one score; 1.0 gives the effect size (Cohen's d).
    alpha, power : float
    alternative : {"two-sided", "one-sided"}

    Returns
    -------
    float
        The detectable drop in score units (NaN when either n < 2).

    Examples
    --------
    >>> round(detectable_drop(64), 2)  # the textbook d = 0.5 at n = 64 per group
    0.5
    """
    from statsmodels.stats.power import tt_ind_solve_power

    n_baseline = n if n_baseline is None else n_baseline
    if not (n >= 2 and n_baseline >= 2) or not np.isfinite(std):
        return float("nan")
    alt = {"two-sided": "two-sided", "one-sided": "larger"}.get(alternative)
    if alt is None:
        raise ValueError(
            f"alternative must be 'two-sided' or 'one-sided', got {alternative!r}"
        )
    effect = tt_ind_solve_power(
        effect_size=None,
        nobs1=float(n),
        alpha=alpha,
        power=power,
        ratio=float(n_baseline) / float(n),
        alternative=alt,
    )
    return float(np.asarray(effect).item()) * float(std)


def _always_mask(calls: pd.DataFrame, always) -> np.ndarray:
    mask = np.zeros(len(calls), dtype=bool)
    default = always == ("error", "flagged")
    for item in as_tuple(always):
        if item == "error":
            if "status" in calls.columns:
                status = calls["status"].astype("string").str.lower()
                mask |= (status == "error").fillna(False).to_numpy(dtype=bool)
            elif not default:
                raise ValueError("always=('error', ...) needs a 'status' column")
        elif item in calls.columns:
            mask |= calls[item].fillna(False).astype(bool).to_numpy()
        elif not default:
            raise ValueError(
                f"always= names column {item!r}, which spans does not have; "
                f"present: {list(calls.columns)[:15]}"
            )
    return mask


def _judge_costs(judge, spans, by, groups) -> pd.Series:
    if judge is None:
        judge = judge_cost(spans, by=by)
    elif isinstance(judge, dict):
        judge = judge_cost(spans, by=by, **judge)
    if isinstance(judge, int | float):
        if judge <= 0:
            raise ValueError(f"judge cost must be positive, got {judge}")
        return pd.Series(float(judge), index=groups)
    require_columns(
        judge,
        [by, "cost_per_judgement_usd"],
        "judge cost",
        "Build it with llmdrift.judge_cost(spans, by=...).",
    )
    costs = judge.assign(_k=judge[by].astype("string").fillna("<NA>")).set_index("_k")[
        "cost_per_judgement_usd"
    ]
    missing = [g for g in groups if g not in costs.index]
    if missing:
        raise ValueError(f"judge cost has no row for {by}={missing[:5]}")
    return costs.reindex(groups).astype(float)


def _score_std(scores, spans, by, groups, dimension):
    """Per-group score std, pooled where a group has fewer than 2 scores."""
    if scores is None:
        return pd.Series(1.0, index=groups), pd.Series("assumed", index=groups)
    require_columns(scores, ["span_id", "dimension", "value"], "scores")
    check_unique_rows(scores, ["span_id", "dimension", "scorer", "kind"], "scores")
    sc = scores[scores["value"].notna()]
    if sc.empty:
        raise ValueError(
            f"scores hold no values ({len(scores)} rows, all missing: every scorer "
            "failed?); give scores with values or leave scores=None"
        )
    infinite = np.isinf(sc["value"].astype(float).to_numpy())
    if infinite.any():
        raise ValueError(
            f"scores column 'value' holds {int(infinite.sum())} infinite value(s) "
            f"(e.g. span {sc['span_id'].iloc[infinite.argmax()]!r}); fix or drop them"
        )
    dims = sorted(sc["dimension"].dropna().unique())
    if dimension is None:
        if len(dims) != 1:
            raise ValueError(
                f"scores hold dimensions {dims}; choose one with dimension=..."
            )
        dimension = dims[0]
    sc = sc[sc["dimension"] == dimension]
    if sc.empty:
        raise ValueError(f"no scores with dimension={dimension!r}; present: {dims}")
    if by in sc.columns:
        key = sc[by].astype("string").fillna("<NA>")
    else:
        lookup = spans.drop_duplicates("span_id").set_index("span_id")[by]
        key = sc["span_id"].map(lookup).astype("string").fillna("<NA>")
    values = sc["value"].astype(float)
    per = values.groupby(key).agg(["std", "count"])
    pooled = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    std = per["std"].where(per["count"] >= 2).reindex(groups)
    source = pd.Series(np.where(std.notna(), "intent", "pooled"), index=groups)
    return std.fillna(pooled), source


def sample_plan(
    spans: pd.DataFrame,
    budget_per_day: float,
    *,
    judge=None,
    scores: pd.DataFrame | None = None,
    floor: float = 0.01,
    dimension: str | None = None,
    always=("error", "flagged"),
    by: str = "intent",
    days: float | None = None,
    window_days: int = 7,
    baseline_days: int | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    count_quantile: float = 0.05,
) -> pd.DataFrame:
    """Per-intent judging rates that make a daily budget go furthest.

    Every request that is errored or flagged is judged (its cost is deducted
    first); the rest of the budget is spread so that the variance of the
    overall (traffic-weighted) quality mean is smallest: the Neyman
    allocation with costs, n_h proportional to N_h S_h / sqrt(c_h), with
    each rate kept between ``floor`` and 1.

    Parameters
    ----------
    spans : pandas.DataFrame
        Model-call spans of a representative period: ``span_id``,
        ``start_time`` (UTC) and the ``by`` column; ``status`` / ``flagged``
        for the always-judged rule.
    budget_per_day : float
        USD per day for judging.
    judge : DataFrame, dict, float or None
        Cost per judgement: a :func:`judge_cost` frame, keyword arguments
        for :func:`judge_cost`, one cost for every intent, or None for
        ``judge_cost(spans)`` with its defaults.
    scores : pandas.DataFrame, optional
        Past scores of the quality dimension, to estimate each intent's
        score standard deviation S_h (pooled over intents where an intent
        has fewer than 2). Without scores S_h = 1 for all: the allocation is
        then N_h / sqrt(c_h) and the detectable drop is in standard
        deviations.
    floor : float, default=0.01
        Smallest rate of any intent (so that none goes unwatched).
    dimension : str, optional
        The score dimension (needed when scores hold several).
    always : tuple of str, default=("error", "flagged")
        Requests always judged: "error" means ``status == "error"``, any
        other name a boolean column.
    by : str, default="intent"
    days : float, optional
        Days the spans cover; by default from the first to the last
        ``start_time``, rounded up to whole days.
    window_days : int, default=7
        Window whose detectable drop is reported.
    baseline_days : int, optional
        Length of the baseline compared with the window (default: same).
    alpha, power : float, default=0.05, 0.8
    alternative : {"two-sided", "one-sided"}, default="two-sided"
    count_quantile : float, default=0.05
        The number of judged requests in a window is random (each request is
        sampled with the rate); the detectable drop uses this lower quantile
        of that count, so the figure holds in most windows, not just on
        average.

    Returns
    -------
    pandas.DataFrame
        One row per intent: ``intent`` (the ``by`` column), ``n_per_day``,
        ``n_always_per_day``, ``score_std``, ``std_source`` ("intent",
        "pooled", "assumed"), ``judge_cost_usd``, ``rate`` (share of the
        other requests to judge; what ``sample_for_judging`` takes),
        ``n_judged_per_day`` (expected, always-judged included),
        ``daily_cost_usd``, ``n_window`` (sampled scores in a window at the
        count quantile), ``detectable_effect_size`` (Cohen's d) and
        ``detectable_drop`` (in score units; NaN when S_h is assumed).
        ``attrs``: ``budget_per_day``, ``total_daily_cost_usd``,
        ``always_cost_usd``, ``within_budget``, ``overall_se`` (standard
        error of the traffic-weighted mean over one window).

    Warns
    -----
    LlmdriftWarning
        When the budget does not cover the always-judged requests and the
        floors; the floors are kept and the cost exceeds the budget.

    Notes
    -----
    Always-judged requests are not counted in the detectable drop: errored
    and flagged requests are not a random sample of an intent.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.Timestamp("2025-01-06", tz="UTC")
    >>> spans = pd.DataFrame({"span_id": [str(i) for i in range(300)],
    ...     "start_time": [t] * 299 + [t + pd.Timedelta("23h")],
    ...     "intent": ["a"] * 200 + ["b"] * 100})
    >>> plan = sample_plan(spans, 1.0, judge=0.01, floor=0.0)
    >>> plan["rate"].round(3).tolist()
    [0.333, 0.333]
    >>> round(plan.attrs["total_daily_cost_usd"], 6)
    1.0
    """
    require_frame(spans)
    require_columns(spans, ["span_id", by], "spans")
    check_unique_rows(spans, ["span_id"], "spans")
    for name, value in (("budget_per_day", budget_per_day), ("floor", floor)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise TypeError(
                f"{name} must be a number, got {type(value).__name__} {value!r}"
            )
    if not (budget_per_day >= 0):
        raise ValueError(f"budget_per_day must be >= 0, got {budget_per_day!r}")
    if not 0 <= floor <= 1:
        raise ValueError(f"floor must be between 0 and 1, got {floor!r}")
    for name, value in (
        ("alpha", alpha),
        ("power", power),
        ("count_quantile", count_quantile),
    ):
        if not 0 < value < 1:
            raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    if power <= alpha:
        raise ValueError(f"power ({power}) must exceed alpha ({alpha})")
    for name, value in (("window_days", window_days), ("baseline_days", baseline_days)):
        if value is not None and not value >= 1:
            raise ValueError(f"{name} must be at least 1 day, got {value!r}")
    if days is not None and not (0 < days < np.inf):
        raise ValueError(
            f"days must be a positive, finite number of days the spans cover, got "
            f"{days!r}"
        )
    calls = spans.loc[llm_level(spans)]
    if calls.empty:
        raise ValueError("spans holds no model-call spans to plan for")
    if days is None:
        require_columns(calls, ["start_time"], "spans", "Or give days=.")
        start = utc_times(calls["start_time"], "start_time")
        span_days = (start.max() - start.min()) / pd.Timedelta(days=1)
        days = max(1.0, float(np.ceil(span_days)))
    key = _group_key(calls, (by,))
    always_mask = _always_mask(calls, always)
    groups = sorted(key.unique())
    n_total = key.value_counts().reindex(groups).astype(float) / days
    n_always = key[always_mask].value_counts().reindex(groups, fill_value=0) / days
    ordinary = (n_total - n_always).to_numpy(dtype=float)
    cost = _judge_costs(judge, spans, by, groups).to_numpy()
    std, std_source = _score_std(scores, spans, by, groups, dimension)
    s = std.to_numpy(dtype=float)

    # Neyman with costs and box constraints: n_h = clip(lam * a_h, lo_h, hi_h)
    always_cost = float((n_always.to_numpy() * cost).sum())
    remaining = budget_per_day - always_cost
    a = ordinary * np.nan_to_num(s) / np.sqrt(cost)
    lo, hi = floor * ordinary, ordinary

    def spend(lam):
        return float((np.clip(lam * a, lo, hi) * cost).sum())

    within = True
    if spend(0.0) > remaining:
        within = False
        n_sampled = lo
        warn(
            f"a budget of {budget_per_day:.4g} USD/day does not cover the "
            f"always-judged requests ({always_cost:.4g}) and the floors "
            f"({spend(0.0):.4g}); rates are set to the floor and judging costs "
            f"{always_cost + spend(0.0):.4g} USD/day"
        )
    elif spend(np.inf) <= remaining or not (a > 0).any():
        n_sampled = hi if spend(np.inf) <= remaining else lo
    else:
        top = 1.0
        while spend(top) < remaining:
            top *= 2.0
        lam = optimize.brentq(lambda x: spend(x) - remaining, 0.0, top, xtol=1e-12)
        n_sampled = np.clip(lam * a, lo, hi)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(ordinary > 0, n_sampled / ordinary, 1.0)
    rate = np.clip(rate, 0.0, 1.0)

    # what a window at that rate can detect
    baseline_days = window_days if baseline_days is None else baseline_days
    n_win, effect = [], []
    for m, r in zip(ordinary, rate, strict=True):
        cur = stats.binom.ppf(count_quantile, int(round(m * window_days)), r)
        base = stats.binom.ppf(count_quantile, int(round(m * baseline_days)), r)
        n_win.append(float(cur))
        effect.append(
            detectable_drop(
                cur, n_baseline=base, alpha=alpha, power=power, alternative=alternative
            )
        )
    effect = np.array(effect)
    daily_cost = n_sampled * cost + n_always.to_numpy() * cost
    out = pd.DataFrame(
        {
            by: pd.array(groups, dtype="string"),
            "n_per_day": n_total.to_numpy(),
            "n_always_per_day": n_always.to_numpy(dtype=float),
            "score_std": s,
            "std_source": pd.array(std_source.to_numpy(), dtype="string"),
            "judge_cost_usd": cost,
            "rate": rate,
            "n_judged_per_day": n_sampled + n_always.to_numpy(),
            "daily_cost_usd": daily_cost,
            "n_window": np.array(n_win),
            "detectable_effect_size": effect,
            "detectable_drop": np.where(
                std_source.to_numpy() == "assumed", np.nan, effect * s
            ),
        }
    )
    out[by] = out[by].replace("<NA>", pd.NA)  # missing intent: <NA>, as in spans
    # standard error of the traffic-weighted mean over one window
    w = ordinary / ordinary.sum() if ordinary.sum() > 0 else ordinary
    n_w = n_sampled * window_days
    pop = ordinary * window_days
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n_w > 0, w**2 * s**2 / n_w * (1 - n_w / pop), np.inf)
    out.attrs = {
        "budget_per_day": float(budget_per_day),
        "total_daily_cost_usd": float(daily_cost.sum()),
        "always_cost_usd": always_cost,
        "within_budget": within,
        "overall_se": float(np.sqrt(np.nansum(var)))
        if np.isfinite(var).all()
        else float("inf"),
        "window_days": window_days,
        "days_observed": days,
    }
    return out
