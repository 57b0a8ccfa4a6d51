"""Benchmark: price 10,000,000 synthetic spans, vectorised vs a per-row loop.

The vectorised path is ``llmdrift.cost.price_spans`` (one genai-prices lookup
per (provider, model, price period) group, then array arithmetic). The
baseline is a per-row loop calling ``genai_prices.calc_price`` (the same
price lookup) for each span. The loop runs on a random subsample and its
time is scaled linearly to the full size (it is a plain loop over
independent rows, so its time is linear in the row count); both are measured
in the same run, and the subsample's loop costs are checked against the
vectorised costs.

Peak memory is the growth of the process's peak resident set size
(``ru_maxrss``) during the vectorised call, above the size after the input
frame was built.

Usage::

    .venv/bin/python benchmarks/price_spans.py [--rows 10000000] [--loop-rows 20000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings

import numpy as np
import pandas as pd

MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini-2024-07-18"),
    ("openai", "o3"),  # historic price change
    ("openai", "gpt-5-mini"),
    ("openai", "gpt-4.1-2025-04-14"),
    ("anthropic", "claude-haiku-4-5"),
    ("anthropic", "claude-sonnet-4-5-20250929"),  # tiered
    ("anthropic", "claude-sonnet-4-6"),  # tiered, dated change
    ("google", "gemini-2.0-flash"),
    ("google", "gemini-2.5-pro"),
    ("deepseek", "deepseek-chat"),  # off-peak hours
    ("openai", "in-house-model"),  # unknown: <NA>
]


def synthetic_spans(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(MODELS), n)
    providers = np.array([p for p, _ in MODELS], dtype=object)
    models = np.array([m for _, m in MODELS], dtype=object)
    lo = pd.Timestamp("2025-01-01", tz="UTC").value
    hi = pd.Timestamp("2026-12-31", tz="UTC").value
    # whole microseconds, so the loop's datetime sees exactly the same time
    times = rng.integers(lo // 1000, hi // 1000, n) * 1000
    total = rng.integers(50, 300_000, n)
    read = (total * rng.uniform(0, 0.5, n)).astype(np.int64)
    write = ((total - read) * rng.uniform(0, 0.2, n)).astype(np.int64)
    output = rng.integers(1, 4000, n)
    reasoning = (output * rng.uniform(0, 0.5, n)).astype(np.int64)
    return pd.DataFrame(
        {
            "provider": pd.array(providers[pick], dtype="string"),
            "request_model": pd.array(models[pick], dtype="string"),
            "start_time": pd.to_datetime(times, utc=True),
            "input_tokens": pd.array(total, dtype="Int64"),
            "cache_read_tokens": pd.array(read, dtype="Int64"),
            "cache_write_tokens": pd.array(write, dtype="Int64"),
            "output_tokens": pd.array(output, dtype="Int64"),
            "reasoning_tokens": pd.array(reasoning, dtype="Int64"),
        }
    )


def loop_prices(rows: pd.DataFrame) -> np.ndarray:
    """The baseline: one genai-prices calc_price call per span."""
    from genai_prices import Usage, calc_price

    out = np.full(len(rows), np.nan)
    for i, row in enumerate(rows.itertuples(index=False)):
        usage = Usage(
            input_tokens=int(row.input_tokens),
            cache_read_tokens=int(row.cache_read_tokens),
            cache_write_tokens=int(row.cache_write_tokens),
            output_tokens=int(row.output_tokens),
            output_reasoning_tokens=int(row.reasoning_tokens),
        )
        try:
            result = calc_price(
                usage,
                row.request_model,
                provider_id=row.provider,
                genai_request_timestamp=row.start_time.to_pydatetime(),
            )
        except LookupError:
            continue
        out[i] = float(result.total_price)
    return out


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--loop-rows", type=int, default=20_000)
    args = parser.parse_args()

    from llmdrift.cost import price_spans

    build = time.perf_counter()
    spans = synthetic_spans(args.rows)
    build = time.perf_counter() - build
    rss_before = peak_rss_mib()
    print(f"rows: {len(spans):,}  models: {len(MODELS)}  (built in {build:.1f} s)")

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        priced = price_spans(spans)
    vectorised = time.perf_counter() - start
    extra_peak = peak_rss_mib() - rss_before
    known = priced["cost_usd"].notna().mean()

    sample = spans.sample(n=min(args.loop_rows, len(spans)), random_state=1)
    start = time.perf_counter()
    looped = loop_prices(sample)
    loop_time = time.perf_counter() - start
    scaled = loop_time * len(spans) / len(sample)

    computed = priced["cost_usd"].to_numpy(dtype=float, na_value=np.nan)[sample.index]
    same_na = np.array_equal(np.isnan(looped), np.isnan(computed))
    ok = ~np.isnan(looped)
    max_rel = float(
        np.max(
            np.abs(computed[ok] - looped[ok]) / np.maximum(np.abs(looped[ok]), 1e-12)
        )
    )

    ratio = scaled / vectorised
    print(
        f"vectorised price_spans: {vectorised:.2f} s for {len(spans):,} spans "
        f"({vectorised / len(spans) * 1e9:.0f} ns/span), peak memory +{extra_peak:,.0f} "
        f"MiB over the input frame (peak RSS {peak_rss_mib():,.0f} MiB)"
    )
    print(
        f"per-row calc_price loop: {loop_time:.2f} s for {len(sample):,} spans "
        f"({loop_time / len(sample) * 1e6:.1f} us/span) -> {scaled:,.0f} s scaled "
        f"linearly to {len(spans):,}"
    )
    print(f"cost known for {known:.1%} of spans (one model of {len(MODELS)} unknown)")
    print(
        f"loop vs vectorised on the subsample: same <NA> rows: {same_na}, "
        f"max relative difference {max_rel:.2e}"
    )
    print(
        f"speed-up: {ratio:,.0f}x (goal: >= 50x) -> {'PASS' if ratio >= 50 else 'FAIL'}"
    )
    return 0 if ratio >= 50 and same_na and max_rel < 1e-9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
