"""Prices: the cost of each span from its token buckets and the price in force.

Prices come from the ``genai-prices`` package (model and provider matching,
historic prices, tiered prices) and from an optional override table, which
wins where it applies. Lookups run once per group of spans sharing
(provider, model, price period); the per-span work is array arithmetic.
"""

from __future__ import annotations

import fnmatch
import time as _time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from llmdrift.cost._common import (
    require_columns,
    require_frame,
    strings_from_codes,
    warn,
)
from llmdrift.cost.usage import _normalize, llm_level
from llmdrift.schema import SchemaError

__all__ = [
    "OVERRIDE_COLUMNS",
    "price_spans",
    "cost_coverage",
    "cost_difference",
    "model_prices",
]

OVERRIDE_COLUMNS = (
    "model",
    "provider",
    "valid_from",
    "input",
    "cache_read",
    "cache_write",
    "output",
)
"""Columns of a price override table (USD per million tokens)."""

# OTel GenAI provider names (gen_ai.provider.name) -> genai-prices provider ids.
_PROVIDER_IDS = {
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "gemini": "google",
    "vertex_ai": "google",
    "aws.bedrock": "aws",
    "bedrock": "aws",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.openai": "azure",
    "az.ai.inference": "azure",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
}

_SOURCE_LABELS = ("override", "genai-prices", "reported")
_REPORTED_ALIASES = ("llm.cost.total", "gen_ai.usage.cost", "cost")
_NS_PER_DAY = 86_400 * 10**9


# --------------------------------------------------------------------------- prices
@dataclass(frozen=True)
class _BucketPrices:
    """USD per million tokens for each bucket; tiers keyed on total input."""

    input: object
    cache_read: object
    cache_write: object
    output: object
    reasoning: object
    per_request: float = 0.0  # USD per call

    def arrays(self, total_input: np.ndarray) -> dict[str, np.ndarray | float]:
        return {
            name: _evaluate(getattr(self, name), total_input)
            for name in ("input", "cache_read", "cache_write", "output", "reasoning")
        }

    def summary(self) -> dict[str, object]:
        def show(p):
            if p is None:
                return 0.0
            if isinstance(p, tuple):
                return float(p[0])
            return float(p)

        return {
            "input": show(self.input),
            "cache_read": show(self.cache_read),
            "cache_write": show(self.cache_write),
            "output": show(self.output),
            "reasoning": show(self.reasoning),
            "tiered": any(
                isinstance(getattr(self, k), tuple)
                for k in ("input", "cache_read", "cache_write", "output", "reasoning")
            ),
        }


def _as_price(value):
    """Decimal / TieredPrices / None -> float, (base, ((start, price), ...)), None."""
    if value is None:
        return None
    if isinstance(value, Decimal | int | float):
        return float(value)
    tiers = getattr(value, "tiers", None)
    if tiers is not None:
        return (
            float(value.base),
            tuple(sorted((int(t.start), float(t.price)) for t in tiers)),
        )
    raise TypeError(f"unsupported price value {value!r}")


def _evaluate(price, total_input: np.ndarray) -> np.ndarray | float:
    """Price per MTok for each row; a tier applies when total input > its start."""
    if price is None:
        return 0.0
    if not isinstance(price, tuple):
        return price
    base, tiers = price
    out = np.full(total_input.shape, base)
    for start, tier_price in tiers:  # ascending: a later tier overrides
        out = np.where(total_input > start, tier_price, out)
    return out


def _from_model_price(mp) -> _BucketPrices:
    """genai-prices ModelPrice -> bucket prices, following its leaf rules.

    genai-prices bills a sub-unit (cache read, cache write, reasoning) at its
    own price when the model has one, and otherwise leaves it inside its
    parent unit (input, output), i.e. at the parent's price.
    """
    inp = _as_price(getattr(mp, "input_mtok", None))
    out = _as_price(getattr(mp, "output_mtok", None))
    cache_read = _as_price(getattr(mp, "cache_read_mtok", None))
    cache_write = _as_price(getattr(mp, "cache_write_mtok", None))
    reasoning = _as_price(getattr(mp, "output_reasoning_mtok", None))
    requests = getattr(mp, "requests_kcount", None)
    return _BucketPrices(
        input=inp,
        cache_read=inp if cache_read is None else cache_read,
        cache_write=inp if cache_write is None else cache_write,
        output=out,
        reasoning=out if reasoning is None else reasoning,
        per_request=0.0 if requests is None else float(requests) / 1000.0,
    )


# ------------------------------------------------------------------ genai-prices
def _snapshot():
    from genai_prices import data_snapshot

    return data_snapshot.get_snapshot()


def _provider_id(provider) -> str | None:
    if provider is None or pd.isna(provider):
        return None
    key = str(provider).strip().lower()
    return _PROVIDER_IDS.get(key, key)


def _find_model(snapshot, provider, models):
    """First (provider, ModelInfo) genai-prices matches for the models, or None.

    A provider genai-prices knows restricts the match to that provider (and
    its own fallbacks); an unknown or missing provider matches on the model
    name alone.
    """
    from genai_prices.data_snapshot import find_provider_by_id

    pid = _provider_id(provider)
    known = pid is not None and find_provider_by_id(snapshot.providers, pid) is not None
    for model in models:
        if model is None or pd.isna(model) or not str(model).strip():
            continue
        try:
            return snapshot.find_provider_model(
                str(model), None, pid if known else None, None
            )
        except LookupError:
            continue
    return None


def _active_price_index(model_info, t_ns: np.ndarray) -> np.ndarray:
    """Index of the conditional price in force at each time (0 if none is)."""
    prices = model_info.prices
    if not isinstance(prices, list):
        return np.zeros(t_ns.size, dtype=np.int64)
    chosen = np.full(t_ns.size, -1, dtype=np.int64)
    for j in range(len(prices) - 1, -1, -1):  # later prices take precedence
        active = _constraint_active(prices[j].constraint, t_ns)
        chosen = np.where((chosen < 0) & active, j, chosen)
    return np.where(chosen < 0, 0, chosen)


def _constraint_active(constraint, t_ns: np.ndarray) -> np.ndarray:
    if constraint is None:
        return np.ones(t_ns.size, dtype=bool)
    start_date = getattr(constraint, "start_date", None)
    if start_date is not None:
        return t_ns >= pd.Timestamp(start_date, tz="UTC").value
    start, end = constraint.start_time, constraint.end_time

    def tod_ns(value):
        if value.tzinfo is not None:
            value = datetime.combine(date(1970, 1, 1), value).astimezone(UTC).timetz()
        return (
            value.hour * 3600 + value.minute * 60 + value.second
        ) * 10**9 + value.microsecond * 1000

    tod = np.mod(t_ns, _NS_PER_DAY)
    lo, hi = tod_ns(start), tod_ns(end)
    if hi < lo:
        return (tod >= lo) | (tod < hi)
    return (tod >= lo) & (tod < hi)


# --------------------------------------------------------------------- overrides
def _override_table(prices) -> pd.DataFrame | None:
    if prices is None:
        return None
    if not isinstance(prices, pd.DataFrame):
        prices = pd.DataFrame(prices)
    require_columns(
        prices,
        ["model", "input", "output"],
        "price override",
        "Give USD per million tokens in columns input, output (and optionally "
        "cache_read, cache_write), a model name or glob in 'model', optionally "
        "'provider' and 'valid_from' (tz-aware UTC).",
    )
    table = pd.DataFrame(
        {"model": prices["model"].astype("string").str.strip().str.lower()}
    )
    if table["model"].isna().any():
        raise SchemaError(
            "price override frame: column 'model' has missing values; use '*' to "
            "match every model"
        )
    if "provider" in prices.columns:
        provider = prices["provider"].astype("string").str.strip().str.lower()
        table["provider"] = provider.where(provider != "*", pd.NA)
    else:
        table["provider"] = pd.Series(pd.NA, index=prices.index, dtype="string")
    if "valid_from" in prices.columns:
        valid = prices["valid_from"]
        if not isinstance(valid.dtype, pd.DatetimeTZDtype):
            if pd.api.types.is_datetime64_dtype(valid.dtype):
                raise SchemaError(
                    "price override frame: column 'valid_from' holds naive times; "
                    "localise them, e.g. pd.to_datetime(col).dt.tz_localize('UTC')"
                )
            try:
                parsed = pd.to_datetime(valid, format="ISO8601")
            except (ValueError, TypeError):
                bad = [
                    v
                    for v in valid.dropna()
                    if pd.isna(pd.to_datetime(v, format="ISO8601", errors="coerce"))
                ]
                raise SchemaError(
                    "price override frame: column 'valid_from' must hold ISO 8601 "
                    f"times with a zone, but has {bad[:1] or list(valid[:1])!r}; "
                    "write them as '2024-06-01T00:00:00Z' or give tz-aware "
                    "timestamps"
                ) from None
            if (
                not isinstance(parsed.dtype, pd.DatetimeTZDtype)
                and parsed.notna().any()
            ):
                raise SchemaError(
                    "price override frame: 'valid_from' values have no time zone; "
                    "write them as '2024-06-01T00:00:00Z' or tz-aware timestamps"
                )
            valid = parsed
        ns = valid.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        table["valid_from"] = ns.astype("int64").where(
            ns.notna(), np.iinfo(np.int64).min
        )
    else:
        table["valid_from"] = np.iinfo(np.int64).min
    for name in ("input", "cache_read", "cache_write", "output"):
        if name in prices.columns:
            values = pd.to_numeric(prices[name], errors="coerce").astype(float)
        else:
            values = pd.Series(np.nan, index=prices.index)
        if (values < 0).any():
            raise SchemaError(
                f"price override frame: column {name!r} has negative prices"
            )
        table[name] = values.to_numpy()
    for name in ("input", "output"):
        if np.isnan(table[name]).any():
            raise SchemaError(
                f"price override frame: column {name!r} needs a price on every row "
                "(USD per million tokens)"
            )
    # cache prices not given: the cached tokens are billed at the input price
    for name in ("cache_read", "cache_write"):
        table[name] = np.where(np.isnan(table[name]), table["input"], table[name])
    table["order"] = np.arange(len(table))
    return table.reset_index(drop=True)


def _matching_overrides(table, provider, models) -> pd.DataFrame:
    names = [str(m).lower() for m in models if m is not None and not pd.isna(m)]
    names = names or [""]
    prov = None if provider is None or pd.isna(provider) else str(provider).lower()
    keep = []
    for i, row in enumerate(table.itertuples(index=False)):
        if not pd.isna(row.provider) and row.provider not in (
            prov,
            _provider_id(prov),
        ):
            continue
        if any(fnmatch.fnmatchcase(name, row.model) for name in names):
            keep.append(i)
    return table.iloc[keep].sort_values(["valid_from", "order"], kind="stable")


# ------------------------------------------------------------------------ pricing
def _times_ns(frame: pd.DataFrame) -> np.ndarray:
    now = pd.Timestamp.now(tz="UTC").value
    if "start_time" not in frame.columns:
        if len(frame):
            warn(
                "spans have no 'start_time'; they are priced at today's prices. "
                "Give start_time (UTC) to use the price in force at each call"
            )
        return np.full(len(frame), now, dtype=np.int64)
    times = frame["start_time"]
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        if pd.api.types.is_datetime64_dtype(times.dtype):
            raise SchemaError(
                "spans frame: column 'start_time' holds naive times; llmdrift does "
                "not guess zones. If they are UTC: df['start_time'] = "
                "df['start_time'].dt.tz_localize('UTC')"
            )
        raise SchemaError(
            f"spans frame: column 'start_time' must be tz-aware UTC datetimes, got "
            f"{times.dtype}; convert with pd.to_datetime(col, utc=True)"
        )
    ns = times.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    missing = ns.isna().to_numpy()
    values = ns.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    if missing.any():
        warn(
            f"{int(missing.sum())} spans have no start_time; they are priced at "
            "today's prices"
        )
        values[missing] = now
    return values


def _reported(frame: pd.DataFrame) -> pd.Series:
    for name in ("reported_cost_usd", "cost_usd", *_REPORTED_ALIASES):
        if name in frame.columns:
            return _readable_cost(frame[name], name)
    return pd.Series(pd.NA, index=frame.index, dtype="Float64")


def _readable_cost(column: pd.Series, name: str) -> pd.Series:
    """Reported costs as Float64; text and infinite values become <NA>, counted."""
    numbers = pd.to_numeric(column, errors="coerce").astype("Float64")
    values = numbers.to_numpy(dtype=float, na_value=np.nan)
    unreadable = (np.isnan(values) & column.notna().to_numpy()) | np.isinf(values)
    if unreadable.any():
        first = int(np.flatnonzero(unreadable)[0])
        warn(
            f"price_spans: {int(unreadable.sum())} value(s) of {name!r} are not "
            f"finite numbers (e.g. {column.iloc[first]!r} at position {first}); "
            "they are read as <NA> (no reported cost)"
        )
        numbers = numbers.mask(unreadable)
    return numbers


def _codes(series: pd.Series | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a name column, case and surrounding blanks ignored."""
    if series is None:
        return np.full(n, -1, dtype=np.int64), np.array([], dtype=object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    names = [str(u).strip().lower() for u in uniques]
    labels = list(dict.fromkeys(names))
    remap = np.array([labels.index(x) for x in names] + [-1], dtype=np.int64)
    return remap[codes], np.asarray(labels, dtype=object)


def _groups(codes: np.ndarray):
    """Yield (code, row positions) for each distinct code, sorted once."""
    if codes.size == 0:
        return
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    edges = np.flatnonzero(np.diff(sorted_codes)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [codes.size]])
    for s, e in zip(starts, ends, strict=True):
        yield sorted_codes[s], order[s:e]


def _check_priceable(out: pd.DataFrame, table, genai_prices: bool) -> None:
    """Fail early on frames no price can reach; warn on repeated span ids."""
    if not len(out):
        return
    has_model = any(c in out.columns for c in ("request_model", "response_model"))
    catch_all = table is not None and any(
        fnmatch.fnmatchcase("", pattern) for pattern in table["model"]
    )
    if not has_model and not catch_all:
        raise SchemaError(
            "price_spans: the spans have no model column (request_model, "
            "response_model, gen_ai.request.model, llm.model_name or model), so no "
            "price can be looked up. Add the model, e.g. spans.assign("
            "request_model='claude-haiku-4-5'), or give an override row with "
            "model='*'."
        )
    if not genai_prices and table is None:
        raise ValueError(
            "price_spans: genai_prices=False needs a prices= override table; "
            "without either no span can be priced"
        )
    if "span_id" in out.columns:
        repeated = out["span_id"].duplicated() & out["span_id"].notna()
        if repeated.any():
            warn(
                f"price_spans: {int(repeated.sum())} row(s) repeat a span_id "
                f"(first: {out.loc[repeated, 'span_id'].iloc[0]!r}); each row is "
                "priced, so a rollup would count those spans twice. Drop repeats "
                "with spans.drop_duplicates('span_id')"
            )


def price_spans(
    spans: pd.DataFrame,
    prices: pd.DataFrame | None = None,
    *,
    genai_prices: bool = True,
    use_reported: bool = False,
    convention: str | None = None,
) -> pd.DataFrame:
    """Cost of every span from its token buckets and the price in force then.

    Parameters
    ----------
    spans : pandas.DataFrame
        Spans (or raw usage rows): token columns in any convention
        :func:`normalize_usage` reads, ``provider``, ``request_model`` and/or
        ``response_model`` (or their raw aliases), and ``start_time``
        (tz-aware UTC; without it today's prices are used, with a warning).
        A cost recorded by the source is read from ``reported_cost_usd``, else
        from ``cost_usd`` (the ingested cost), ``llm.cost.total``,
        ``gen_ai.usage.cost`` or ``cost``.
    prices : pandas.DataFrame, optional
        Override table, one row per price: ``model`` (exact name or glob such
        as ``"claude-*"``, case-insensitive; matched against the response
        model and the request model), ``provider`` (optional; missing or "*"
        matches any), ``valid_from`` (optional, tz-aware; missing = always),
        and USD per million tokens ``input``, ``output``, ``cache_read``,
        ``cache_write`` (the cache columns are optional; a missing cache price
        bills those tokens at the input price). Overrides win over
        genai-prices; among matching rows the one with the latest
        ``valid_from`` at or before the span's start applies (ties: the later
        row). A span before every matching ``valid_from`` falls back to
        genai-prices.
    genai_prices : bool, default=True
        Use the genai-prices package for spans no override covers. False
        prices only from ``prices``.
    use_reported : bool, default=False
        Where no price is known, copy the reported cost into ``cost_usd``
        (``price_source`` "reported"). Off by default: an unknown model gives
        ``<NA>``, never a guess.
    convention : str, optional
        Passed to :func:`normalize_usage`.

    Returns
    -------
    pandas.DataFrame
        A copy with the normalised token columns of :func:`normalize_usage`
        (``uncached_input_tokens``, ``cache_read_tokens``,
        ``cache_write_tokens``, ``output_tokens``, ``reasoning_tokens``,
        ``input_tokens``, ``usage_inconsistent``) and:

        - ``cost_usd`` (Float64): computed cost; ``<NA>`` for an unknown
          model, a span without input or output counts, or inconsistent
          usage.
        - ``reported_cost_usd`` (Float64): the cost the source recorded.
        - ``price_source`` (string): "override", "genai-prices", "reported"
          or ``<NA>``.
        - ``price_model`` (string): the override pattern or the genai-prices
          model id that priced the span.

        ``attrs["prices_used"]`` lists each (source, model, provider, period)
        price applied, in USD per million tokens, as a list of dicts with
        ``first_span``/``last_span`` as ISO 8601 text, so that pandas can
        compare, copy and serialise the attrs
        (``pd.DataFrame(priced.attrs["prices_used"])`` shows it as a table).

    Notes
    -----
    cost = (uncached_input x input + cache_read x cache_read price +
    cache_write x cache_write price + (output - reasoning) x output +
    reasoning x reasoning price) / 1e6, plus a per-request fee when
    genai-prices lists one. With genai-prices a sub-bucket without its own
    price (e.g. a model with no cache-read price) is billed at its parent's
    price, as genai-prices does; tiered prices switch on the span's total
    input tokens. Prices per modality (audio, image), web-search fees and
    request-context variants (service tiers) are not applied: spans do not
    carry those counts.

    Re-pricing a history after a price change is one call:
    ``price_spans(priced, new_prices)``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"model": ["model-a"], "provider": ["anthropic"],
    ...     "input": [3.0], "cache_read": [0.30], "cache_write": [3.75],
    ...     "output": [15.0]})
    >>> rows = pd.DataFrame({"provider": ["anthropic"], "request_model": ["model-a"],
    ...     "start_time": pd.to_datetime(["2025-01-01"], utc=True),
    ...     "input_tokens": [7], "cache_creation_input_tokens": [20000],
    ...     "cache_read_input_tokens": [0], "output_tokens": [400]})
    >>> round(float(price_spans(rows, table)["cost_usd"].iloc[0]), 6)
    0.081021
    """
    require_frame(spans)
    out, arrays = _normalize(spans, convention)
    n = len(out)
    reported = _reported(out)
    t_ns = _times_ns(out)
    table = _override_table(prices)
    _check_priceable(out, table, genai_prices)
    snapshot = _snapshot() if genai_prices else None

    p_codes, p_vals = _codes(out.get("provider"), n)
    q_codes, q_vals = _codes(out.get("request_model"), n)
    r_codes, r_vals = _codes(out.get("response_model"), n)
    combo = (
        (p_codes + 1) * (len(q_vals) + 1) * (len(r_vals) + 1)
        + (q_codes + 1) * (len(r_vals) + 1)
        + (r_codes + 1)
    )

    uncached, cache_read = arrays["uncached"], arrays["cache_read"]
    cache_write, output = arrays["cache_write"], arrays["output"]
    reasoning, total_in = arrays["reasoning"], arrays["input"]
    cost = np.full(n, np.nan)
    source = np.full(n, -1, dtype=np.int64)  # index into _SOURCES_USED
    model_code = np.full(n, -1, dtype=np.int64)
    model_names: list[str] = []
    used: list[dict] = []

    def apply(rows, bucket: _BucketPrices, label, name, provider, t_rows):
        p = bucket.arrays(total_in[rows])
        cost[rows] = (
            uncached[rows] * p["input"]
            + cache_read[rows] * p["cache_read"]
            + cache_write[rows] * p["cache_write"]
            + (output[rows] - reasoning[rows]) * p["output"]
            + reasoning[rows] * p["reasoning"]
        ) / 1e6 + bucket.per_request
        source[rows] = _SOURCE_LABELS.index(label)
        if name not in model_names:
            model_names.append(name)
        model_code[rows] = model_names.index(name)
        used.append(
            {
                "price_source": label,
                "price_model": name,
                "provider": provider,
                # ISO text, so attrs stay JSON-serialisable (Arrow, Parquet)
                "first_span": pd.Timestamp(int(t_rows.min()), tz="UTC").isoformat(),
                "last_span": pd.Timestamp(int(t_rows.max()), tz="UTC").isoformat(),
                "n_spans": int(rows.size),
                **bucket.summary(),
            }
        )

    lookup_time = 0.0
    for _, rows in _groups(combo):
        first = rows[0]
        provider = p_vals[p_codes[first]] if p_codes[first] >= 0 else None
        models = (
            r_vals[r_codes[first]] if r_codes[first] >= 0 else None,
            q_vals[q_codes[first]] if q_codes[first] >= 0 else None,
        )
        t_rows = t_ns[rows]
        rest = rows
        if table is not None and len(table):
            cands = _matching_overrides(table, provider, models)
            if len(cands):
                pos = (
                    np.searchsorted(cands["valid_from"].to_numpy(), t_rows, "right") - 1
                )
                for k in np.unique(pos[pos >= 0]):
                    row = cands.iloc[int(k)]
                    bucket = _BucketPrices(
                        row["input"],
                        row["cache_read"],
                        row["cache_write"],
                        row["output"],
                        row["output"],
                    )
                    sel = pos == k
                    apply(
                        rows[sel],
                        bucket,
                        "override",
                        row["model"],
                        provider,
                        t_rows[sel],
                    )
                rest, t_rows = rows[pos < 0], t_rows[pos < 0]
        if snapshot is None or rest.size == 0:
            continue
        tick = _time.perf_counter()
        found = _find_model(snapshot, provider, models)
        lookup_time += _time.perf_counter() - tick
        if found is None:
            continue
        gp_provider, info = found
        idx = _active_price_index(info, t_rows)
        for j in np.unique(idx):
            mp = (
                info.prices
                if not isinstance(info.prices, list)
                else info.prices[j].prices
            )
            sel = idx == j
            apply(
                rest[sel],
                _from_model_price(mp),
                "genai-prices",
                info.id,
                gp_provider.id,
                t_rows[sel],
            )

    missing = np.isnan(cost)
    source[missing] = -1
    if use_reported:
        fill = missing & reported.notna().to_numpy()
        cost[fill] = reported.to_numpy(dtype=float, na_value=np.nan)[fill]
        source[fill] = _SOURCE_LABELS.index("reported")
        missing = np.isnan(cost)
    out["cost_usd"] = pd.arrays.FloatingArray(np.where(missing, 0.0, cost), missing)
    out["reported_cost_usd"] = reported.to_numpy()
    out["price_source"] = strings_from_codes(source, _SOURCE_LABELS)
    out["price_model"] = strings_from_codes(model_code, model_names)
    # plain records, not a DataFrame: pandas compares attrs with == when it
    # concatenates or merges frames, and a DataFrame there raises "truth
    # value of a DataFrame is ambiguous" (cost_by on such a frame did)
    out.attrs["prices_used"] = pd.DataFrame(used).to_dict("records")
    return out


# ----------------------------------------------------------------------- reports
def cost_coverage(priced: pd.DataFrame) -> dict:
    """How many model-call spans have a known cost, with the reasons for the rest.

    Parameters
    ----------
    priced : pandas.DataFrame
        Output of :func:`price_spans`. Only model-call rows are counted
        (``span_kind`` llm/embedding, or every row without ``span_kind``).

    Returns
    -------
    dict
        ``n_spans``, ``n_priced``, ``share_priced`` (0-1, NaN for no spans),
        ``n_unknown_model`` (no price found), ``n_missing_usage`` (input or
        output count unknown), ``n_usage_inconsistent``, ``unknown_models``
        (dict model -> spans, most frequent first, at most 10) and ``line``,
        e.g. "cost known for 97.2% of spans (972 of 1,000); ...".

    Examples
    --------
    >>> import pandas as pd
    >>> priced = pd.DataFrame({"cost_usd": pd.array([0.1, None], dtype="Float64"),
    ...     "request_model": ["m", "x"], "input_tokens": pd.array([1, 2], "Int64"),
    ...     "output_tokens": pd.array([1, 1], "Int64"), "price_source": ["override", None],
    ...     "usage_inconsistent": pd.array([False, False], "boolean")})
    >>> cost_coverage(priced)["line"]
    'cost known for 50.0% of spans (1 of 2); 1 unknown model (x: 1)'
    """
    require_frame(priced, "priced spans")
    require_columns(priced, ["cost_usd"], "priced spans", "Run price_spans first.")
    calls = priced.loc[llm_level(priced)]
    n = len(calls)
    known = calls["cost_usd"].notna()
    incons = (
        calls["usage_inconsistent"].fillna(False).astype(bool)
        if "usage_inconsistent" in calls.columns
        else pd.Series(False, index=calls.index)
    )
    missing = pd.Series(False, index=calls.index)
    for name in ("input_tokens", "output_tokens"):
        if name in calls.columns:
            missing |= calls[name].isna()
    missing &= ~incons & ~known
    unknown = ~known & ~incons & ~missing
    model = pd.Series(pd.NA, index=calls.index, dtype="string")
    for name in ("response_model", "request_model"):
        if name in calls.columns:
            model = model.fillna(calls[name].astype("string"))
    counts = model[unknown].fillna("<no model>").value_counts().head(10)
    unknown_models = {str(k): int(v) for k, v in counts.items()}
    share = float(known.sum()) / n if n else float("nan")
    parts = [
        f"cost known for {share:.1%} of spans ({int(known.sum()):,} of {n:,})"
        if n
        else "no model-call spans"
    ]
    if unknown.any():
        shown = ", ".join(f"{k}: {v:,}" for k, v in unknown_models.items())
        parts.append(f"{int(unknown.sum()):,} unknown model ({shown})")
    if missing.any():
        parts.append(f"{int(missing.sum()):,} without token counts")
    if incons.any():
        parts.append(f"{int(incons.sum()):,} with inconsistent usage")
    return {
        "n_spans": n,
        "n_priced": int(known.sum()),
        "share_priced": share,
        "n_unknown_model": int(unknown.sum()),
        "n_missing_usage": int(missing.sum()),
        "n_usage_inconsistent": int(incons.sum()),
        "unknown_models": unknown_models,
        "line": "; ".join(parts),
    }


def cost_difference(priced: pd.DataFrame, *, by=()) -> pd.DataFrame:
    """Computed cost against the cost the source recorded, per group.

    Parameters
    ----------
    priced : pandas.DataFrame
        Output of :func:`price_spans` (``cost_usd``, ``reported_cost_usd``).
        Spans whose ``price_source`` is "reported" have no computed cost.
    by : str or sequence of str, default=()
        Group columns; () gives one row for everything.

    Returns
    -------
    pandas.DataFrame
        One row per group: *by, ``n_spans``, ``n_both`` (spans with both
        costs), ``n_reported_only``, ``n_computed_only``,
        ``reported_cost_usd`` and ``cost_usd`` (sums over the ``n_both``
        spans), ``reported_per_span_usd``, ``computed_per_span_usd``,
        ``difference_usd`` (computed - reported over those spans) and
        ``relative_difference`` (difference / reported; NaN when reported
        is 0).

    Examples
    --------
    >>> import pandas as pd
    >>> priced = pd.DataFrame({"m": ["a", "a"],
    ...     "cost_usd": pd.array([0.2, 0.3], dtype="Float64"),
    ...     "reported_cost_usd": pd.array([0.25, None], dtype="Float64")})
    >>> row = cost_difference(priced, by="m").iloc[0]
    >>> int(row["n_both"]), round(float(row["difference_usd"]), 3)
    (1, -0.05)
    """
    from llmdrift.cost._common import as_tuple

    require_frame(priced, "priced spans")
    by = as_tuple(by)
    require_columns(
        priced,
        ["cost_usd", "reported_cost_usd", *by],
        "priced spans",
        "Run price_spans first.",
    )
    frame = pd.DataFrame({b: priced[b] for b in by}, index=priced.index)
    computed = priced["cost_usd"].astype("Float64")
    if "price_source" in priced.columns:
        # a cost copied from the reported one (use_reported=True) is not computed
        computed = computed.where(priced["price_source"] != "reported", pd.NA)
    reported = priced["reported_cost_usd"].astype("Float64")
    both = computed.notna() & reported.notna()
    frame["n_spans"] = 1
    frame["n_both"] = both.astype(int)
    frame["n_reported_only"] = (reported.notna() & computed.isna()).astype(int)
    frame["n_computed_only"] = (computed.notna() & reported.isna()).astype(int)
    frame["reported_cost_usd"] = reported.where(both, 0.0).astype(float)
    frame["cost_usd"] = computed.where(both, 0.0).astype(float)
    if by:
        agg = frame.groupby(list(by), dropna=False, sort=True).sum().reset_index()
    else:
        agg = frame.sum().to_frame().T
    agg["reported_per_span_usd"] = agg["reported_cost_usd"] / agg["n_both"].where(
        agg["n_both"] > 0
    )
    agg["computed_per_span_usd"] = agg["cost_usd"] / agg["n_both"].where(
        agg["n_both"] > 0
    )
    agg["difference_usd"] = agg["cost_usd"] - agg["reported_cost_usd"]
    agg["relative_difference"] = agg["difference_usd"] / agg["reported_cost_usd"].where(
        agg["reported_cost_usd"] != 0
    )
    for name in ("n_spans", "n_both", "n_reported_only", "n_computed_only"):
        agg[name] = agg[name].astype("int64")
    for name in ("reported_cost_usd", "cost_usd"):
        agg[name] = agg[name].astype(float)
    return agg.reset_index(drop=True)


def model_prices(
    model: str,
    *,
    provider: str | None = None,
    at=None,
    prices: pd.DataFrame | None = None,
    genai_prices: bool = True,
) -> dict:
    """Bucket prices (USD per million tokens) of one model at one time.

    Parameters
    ----------
    model : str
        Model name (exact, as a span would carry it).
    provider : str, optional
    at : datetime-like, optional
        Time (tz-aware); default now.
    prices : pandas.DataFrame, optional
        Override table as for :func:`price_spans`.
    genai_prices : bool, default=True

    Returns
    -------
    dict
        ``input``, ``cache_read``, ``cache_write``, ``output``, ``reasoning``
        (base prices if tiered), ``tiered``, ``price_source``,
        ``price_model``, and ``bucket`` (internal price object used by
        :func:`llmdrift.cost.judge_cost`).

    Raises
    ------
    LookupError
        If no price is known for the model.

    Examples
    --------
    >>> p = model_prices("claude-haiku-4-5", provider="anthropic",
    ...                  at="2025-11-01T00:00:00Z")
    >>> p["input"], p["cache_read"], p["output"]
    (1.0, 0.1, 5.0)
    """
    when = pd.Timestamp.now(tz="UTC") if at is None else pd.Timestamp(at)
    if when.tzinfo is None:
        raise SchemaError("at= must be tz-aware (e.g. '2025-01-01T00:00:00Z')")
    t = np.array([when.tz_convert("UTC").value], dtype=np.int64)
    table = _override_table(prices)
    if table is not None and len(table):
        cands = _matching_overrides(table, provider, (model,))
        pos = np.searchsorted(cands["valid_from"].to_numpy(), t, "right") - 1
        if len(cands) and pos[0] >= 0:
            row = cands.iloc[int(pos[0])]
            bucket = _BucketPrices(
                row["input"],
                row["cache_read"],
                row["cache_write"],
                row["output"],
                row["output"],
            )
            return {
                **bucket.summary(),
                "price_source": "override",
                "price_model": row["model"],
                "bucket": bucket,
            }
    if genai_prices:
        found = _find_model(_snapshot(), provider, (model,))
        if found is not None:
            info = found[1]
            j = int(_active_price_index(info, t)[0])
            mp = (
                info.prices
                if not isinstance(info.prices, list)
                else info.prices[j].prices
            )
            bucket = _from_model_price(mp)
            return {
                **bucket.summary(),
                "price_source": "genai-prices",
                "price_model": info.id,
                "bucket": bucket,
            }
    raise LookupError(
        f"no price known for model {model!r} (provider {provider!r}); add a row "
        "to the override table: model, provider, input, output (USD per MTok)"
    )
