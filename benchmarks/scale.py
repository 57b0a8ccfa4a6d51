"""Scale: daily per-intent quality series and cost rollup, store vs pandas.

Synthetic spans over 90 days are written to a Parquet store folder (the
layout of ``llmdrift.open_store(folder)``: one folder per table and a
``_manifest.json``), in chunks so that generating never holds the data in
memory. A judge scores a 10% sample of the spans (dimension "format").

Two ways of computing the same two results, each in its own subprocess so
that its peak memory (``VmHWM``) is its own:

- **store**: ``quality_series(store, store, by=["intent"], freq="D")`` and
  ``cost_by(store, by="intent", freq="D")``; the aggregation runs in DuckDB
  over the Parquet files (with the store's default memory limit, 400MB,
  spilling to disk beyond) and only the small result comes back as pandas;
- **pandas** (the baseline): read the needed columns of the same files with
  ``pandas.read_parquet`` and group with pandas (join the intent onto the
  scores, floor to the day, ``groupby(...).agg``; per-trace cost sums, then
  per-day-and-intent mean, median and 95th percentile).

Usage::

    .venv/bin/python benchmarks/scale.py            # 10M both ways, 100M store,
                                                    # pandas memory at 1M/3M/10M/30M
    .venv/bin/python benchmarks/scale.py --quick    # 200k rows, for a smoke test
    .venv/bin/python benchmarks/scale.py --only-main 400MB   # 10M both ways again
    .venv/bin/python benchmarks/scale.py --only-store 100000000  # store alone

Results go to ``benchmarks/results/scale.md``; generated data goes to
``benchmarks/_work/`` (git-ignored) and is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
RESULTS = HERE / "results" / "scale.md"
CHUNK = 2_000_000
INTENTS = [
    "refund",
    "summary",
    "triage",
    "search",
    "billing",
    "translate",
    "sql",
    "faq",
]
DAYS = 90
T0_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in microseconds
PANDAS_CAP_GIB = 14  # address-space cap for pandas runs, so a failure is clean
LOAD_BEFORE = f"{os.getloadavg()[0]:.1f}"


def generate(n: int, folder: Path, seed: int = 0) -> None:
    """Write ``n`` spans and a 10% sample of scores as a Parquet store folder."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from tqdm import tqdm

    if (folder / "_manifest.json").exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "spans").mkdir(parents=True)
    (folder / "scores").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    manifest = {"spans": [], "scores": [], "contents": []}
    intents = pa.array(INTENTS)
    # per-intent quality and cost levels, so that groups differ
    base_quality = np.linspace(3.2, 4.4, len(INTENTS))
    base_cost = np.linspace(0.002, 0.02, len(INTENTS))
    for k, lo in enumerate(tqdm(range(0, n, CHUNK), desc=f"generate {n:,}")):
        m = min(CHUNK, n - lo)
        ids = pa.array(np.arange(lo, lo + m, dtype=np.int64))
        span_id = pc.binary_join_element_wise("s", pc.cast(ids, pa.string()), "")
        trace_id = pc.binary_join_element_wise("t", pc.cast(ids, pa.string()), "")
        start = T0_US + rng.integers(0, DAYS * 86_400_000_000, m)
        which = rng.integers(0, len(INTENTS), m)
        tokens_in = rng.integers(200, 4000, m)
        tokens_out = rng.integers(20, 800, m)
        cost = base_cost[which] * rng.lognormal(0.0, 0.5, m)
        start_ts = pa.array(start, type=pa.timestamp("us", tz="UTC"))
        spans = pa.table(
            {
                "trace_id": trace_id,
                "span_id": span_id,
                "parent_span_id": pa.nulls(m, pa.string()),
                "start_time": start_ts,
                "duration_ms": rng.gamma(2.0, 400.0, m),
                "service": pa.array(["support-bot"] * m),
                "span_kind": pa.array(["llm"] * m),
                "request_model": pa.array(["claude-x"] * m),
                "intent": intents.take(pa.array(which)),
                "input_tokens": pa.array(tokens_in),
                "output_tokens": pa.array(tokens_out),
                "cost_usd": pa.array(cost),
                "status": pa.array(np.where(rng.random(m) < 0.01, "error", "ok")),
            }
        )
        name = f"spans/part-{k:05d}.parquet"
        pq.write_table(spans, folder / name)
        manifest["spans"].append(name)
        sample = np.flatnonzero(rng.random(m) < 0.10)
        value = np.clip(
            np.round(base_quality[which[sample]] + rng.normal(0, 0.8, sample.size)),
            1,
            5,
        )
        scores = pa.table(
            {
                "span_id": span_id.take(pa.array(sample)),
                "trace_id": trace_id.take(pa.array(sample)),
                "time": start_ts.take(pa.array(sample)),
                "dimension": pa.array(["format"] * sample.size),
                "value": pa.array(value.astype(float)),
                "scorer": pa.array(["judge-v1"] * sample.size),
                "kind": pa.array(["judge"] * sample.size),
            }
        )
        name = f"scores/part-{k:05d}.parquet"
        pq.write_table(scores, folder / name)
        manifest["scores"].append(name)
    (folder / "_manifest.json").write_text(json.dumps(manifest))


# -- the two methods (each runs in a child process) ------------------------------


def run_store(folder: Path) -> dict:
    import pandas as pd

    from llmdrift import cost_by, quality_series
    from llmdrift.schema import LlmdriftWarning
    from llmdrift.store import open_store

    # the store as a user opens it: its default DuckDB memory_limit, spilling
    # to <folder>/.spill beyond it, unless a run asks for another limit
    limit = os.environ.get("SCALE_DUCKDB_MEMORY")
    store = open_store(folder, memory_limit=limit) if limit else open_store(folder)
    # a query that runs out of the limit is run again with twice as much
    # (with a warning): record the limit the store ended with
    warnings.simplefilter("ignore", LlmdriftWarning)
    t = time.perf_counter()
    try:
        series = quality_series(store, store, by=["intent"], freq="D")
    except (TypeError, AttributeError, ValueError):
        # a quality_series without the store protocol takes the Ibis tables
        series = quality_series(
            store.table("spans"), store.table("scores"), by=["intent"], freq="D"
        )
    t_series = time.perf_counter() - t
    t = time.perf_counter()
    cost = cost_by(store, by="intent", freq="D")
    t_cost = time.perf_counter() - t
    _save_quantiles(cost, folder, "store")
    final = store.backend.raw_sql("SELECT current_setting('memory_limit')")
    return {
        "memory_limit_at_end": final.fetchall()[0][0],
        "series_s": t_series,
        "cost_s": t_cost,
        "series_rows": len(series),
        "cost_rows": len(cost),
        "check": _checksum(series, cost, pd),
    }


def _save_quantiles(cost, folder: Path, method: str) -> None:
    frame = cost[["intent", "window_start", "cost_p50_usd", "cost_p95_usd"]].copy()
    frame["intent"] = frame["intent"].astype(str)
    frame["window_start"] = frame["window_start"].astype("datetime64[us, UTC]")
    frame.to_parquet(WORK / f"quantiles_{folder.name}_{method}.parquet")


def quantile_error(folder: Path) -> str:
    """Largest relative difference of approximate vs exact p50 and p95."""
    import pandas as pd

    try:
        a = pd.read_parquet(WORK / f"quantiles_{folder.name}_store.parquet")
        b = pd.read_parquet(WORK / f"quantiles_{folder.name}_pandas.parquet")
    except FileNotFoundError:
        return "not measured"
    both = a.merge(b, on=["intent", "window_start"], suffixes=("_approx", "_exact"))
    parts = []
    for q in ("p50", "p95"):
        exact = both[f"cost_{q}_usd_exact"]
        rel = (both[f"cost_{q}_usd_approx"] - exact).abs() / exact
        parts.append(f"{q}: max {rel.max():.2%}, median {rel.median():.2%}")
    return f"over {len(both)} day x intent groups, " + "; ".join(parts)


def run_pandas(folder: Path) -> dict:
    import pandas as pd

    manifest = json.loads((folder / "_manifest.json").read_text())
    files = {k: [str(folder / f) for f in v] for k, v in manifest.items()}
    t = time.perf_counter()
    spans = pd.concat(
        [
            pd.read_parquet(
                f, columns=["trace_id", "span_id", "start_time", "intent", "cost_usd"]
            )
            for f in files["spans"]
        ],
        ignore_index=True,
    )
    scores = pd.concat(
        [
            pd.read_parquet(f, columns=["span_id", "time", "value"])
            for f in files["scores"]
        ],
        ignore_index=True,
    )
    joined = scores.merge(spans[["span_id", "intent"]], on="span_id", how="left")
    joined["window_start"] = joined["time"].dt.floor("D")
    series = (
        joined.groupby(["intent", "window_start"])["value"]
        .agg(n="count", mean="mean", std="std")
        .reset_index()
    )
    t_series = time.perf_counter() - t
    t = time.perf_counter()
    per_trace = spans.groupby("trace_id").agg(
        cost=("cost_usd", "sum"),
        start=("start_time", "min"),
        intent=("intent", "first"),
    )
    per_trace["window_start"] = per_trace["start"].dt.floor("D")
    grouped = per_trace.groupby(["intent", "window_start"])["cost"]
    cost = grouped.agg(
        n_requests="count",
        total_cost_usd="sum",
        cost_per_request_usd="mean",
        cost_p50_usd="median",
    ).reset_index()
    cost["cost_p95_usd"] = grouped.quantile(0.95).to_numpy()
    t_cost = time.perf_counter() - t
    _save_quantiles(cost, folder, "pandas")
    return {
        "series_s": t_series,
        "cost_s": t_cost,
        "series_rows": len(series),
        "cost_rows": len(cost),
        "check": _checksum(series, cost, pd),
    }


def _checksum(series, cost, pd) -> dict:
    """Totals both methods must agree on (quantiles are compared apart)."""
    return {
        "n_scores": int(series["n"].sum()),
        "mean_of_means": round(float(series["mean"].mean()), 6),
        "n_requests": int(cost["n_requests"].sum()),
        "total_cost_usd": round(float(cost["total_cost_usd"].sum()), 4),
    }


def peak_rss_mib() -> float:
    """This process's own peak resident memory, in MiB.

    Linux's ``ru_maxrss`` survives ``exec``: a child started from a parent
    that had grown large (this script's parent generates the data) would
    report at least the parent's size. ``VmHWM`` in ``/proc/self/status``
    belongs to the new program's memory map only.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(method: str, folder: str) -> None:
    cap = os.environ.get("SCALE_CAP_BYTES")
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (int(cap), int(cap)))
    began = time.perf_counter()
    try:
        out = (run_store if method == "store" else run_pandas)(Path(folder))
        out["ok"] = True
    except MemoryError:
        out = {"ok": False, "error": "MemoryError"}
    out["total_s"] = time.perf_counter() - began
    out["peak_rss_mib"] = peak_rss_mib()
    print("RESULT " + json.dumps(out), flush=True)


def measure(
    method: str, folder: Path, cap_gib: float | None = None, memory: str | None = None
) -> dict:
    env = dict(os.environ)
    if memory:
        env["SCALE_DUCKDB_MEMORY"] = memory
    if cap_gib:
        env["SCALE_CAP_BYTES"] = str(int(cap_gib * 2**30))
    proc = subprocess.run(
        [sys.executable, __file__, "--child", method, str(folder)],
        capture_output=True,
        text=True,
        env=env,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = (proc.stderr or "").strip().splitlines()[-3:]
    return {"ok": False, "error": f"exit {proc.returncode}: {' | '.join(tail)[:300]}"}


def fmt(result: dict, key: str, spec: str) -> str:
    return format(result[key], spec) if result.get("ok") else "—"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep generated data")
    parser.add_argument(
        "--only-main",
        metavar="DUCKDB_MEMORY",
        help="only the main comparison, with this DuckDB memory_limit; "
        "appends a section to the results",
    )
    parser.add_argument(
        "--only-store",
        metavar="SPANS",
        type=int,
        help="only the store at this many spans (its time and peak memory); "
        "appends a section to the results",
    )
    args = parser.parse_args()
    if args.only_store:
        only_store(args.only_store, args.keep)
        return
    if args.child:
        child(*args.child)
        return
    if args.only_main:
        only_main(args.only_main, 200_000 if args.quick else 10_000_000, args.keep)
        return

    main_n = 200_000 if args.quick else 10_000_000
    big_n = 1_000_000 if args.quick else 100_000_000
    growth = [50_000, 100_000] if args.quick else [1_000_000, 3_000_000, 30_000_000]
    WORK.mkdir(exist_ok=True)
    rows = []

    def folder(n):
        return WORK / f"spans_{n}"

    # 1. main comparison, same data, same run
    generate(main_n, folder(main_n))
    store = measure("store", folder(main_n))
    pandas = measure("pandas", folder(main_n), PANDAS_CAP_GIB)
    rows.append((main_n, store, pandas))
    print(main_n, store, pandas, flush=True)

    # 2. pandas memory growth at other sizes (and the store beside it)
    growth_rows = []
    for n in growth:
        generate(n, folder(n))
        growth_rows.append(
            (
                n,
                measure("store", folder(n)),
                measure("pandas", folder(n), PANDAS_CAP_GIB),
            )
        )
        print(growth_rows[-1], flush=True)
        if not args.keep:
            shutil.rmtree(folder(n))

    # 3. the big size: store, then pandas under the cap (expected to fail)
    generate(big_n, folder(big_n))
    big_store = measure("store", folder(big_n))
    print(big_n, big_store, flush=True)
    big_pandas = measure("pandas", folder(big_n), PANDAS_CAP_GIB)
    print(big_n, big_pandas, flush=True)
    disk = sum(p.stat().st_size for p in folder(big_n).rglob("*.parquet")) / 2**30
    write_results(
        main_n, store, pandas, growth_rows, big_n, big_store, big_pandas, disk
    )
    if not args.keep:
        shutil.rmtree(WORK, ignore_errors=True)


def only_main(memory: str, n: int, keep: bool) -> None:
    """The main comparison again with another DuckDB memory limit (appended)."""
    folder = WORK / f"spans_{n}"
    generate(n, folder)
    store = measure("store", folder, memory=memory)
    pandas = measure("pandas", folder, PANDAS_CAP_GIB)
    print(store, pandas, flush=True)
    ok = store.get("ok") and pandas.get("ok")
    error = quantile_error(folder)
    text = [
        "",
        f"## {n:,} spans again, DuckDB `memory_limit` {memory}",
        "",
        "The main comparison again (same files, same script, "
        f"`--only-main {memory}`), the store opened with "
        f"`open_store(folder, memory_limit={memory!r})` (DuckDB spills to disk "
        "beyond its limit).",
        "",
        *HEADER,
        _line(n, store, pandas),
        "",
    ]
    if ok:
        text.append(
            f"Total time, pandas / store: **{pandas['total_s'] / store['total_s']:.2f}x**"
            f"; peak memory, pandas / store: "
            f"**{pandas['peak_rss_mib'] / store['peak_rss_mib']:.1f}x**. Same totals: "
            f"{'yes' if store['check'] == pandas['check'] else 'NO'}; approximate "
            f"vs exact quantiles: {error}."
        )
    with RESULTS.open("a") as out:
        out.write("\n".join(text) + "\n")
    print("\n".join(text))
    if not keep:
        shutil.rmtree(WORK, ignore_errors=True)


def only_store(n: int, keep: bool) -> None:
    """The store alone at ``n`` spans, default memory limit (appended)."""
    folder = WORK / f"spans_{n}"
    generate(n, folder)
    disk = sum(f.stat().st_size for f in folder.rglob("*.parquet")) / 2**30
    store = measure("store", folder)
    print(store, flush=True)
    text = [
        "",
        f"## {n:,} spans, the store alone",
        "",
        f"`--only-store {n}`: the store path alone on {disk:.1f} GiB of Parquet, "
        "opened with `open_store(folder)` (the default memory limit). Load "
        f"average {LOAD_BEFORE} before and {os.getloadavg()[0]:.1f} after.",
        "",
        *HEADER,
        _line(n, store, None),
        "",
    ]
    with RESULTS.open("a") as out:
        out.write("\n".join(text) + "\n")
    print("\n".join(text))
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)


HEADER = [
    "| spans | store series s | store cost s | store peak MiB | store memory_limit "
    "at end | pandas series s | pandas cost s | pandas peak MiB |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
]


def _line(n, s, p):
    """A table row; ``p`` None when pandas was not run."""
    if p is None:
        p = {"ok": False}
    limit = s.get("memory_limit_at_end", "—") if s.get("ok") else "—"
    return (
        f"| {n:,} | {fmt(s, 'series_s', '.1f')} | {fmt(s, 'cost_s', '.1f')} | "
        f"{fmt(s, 'peak_rss_mib', ',.0f')} | {limit} | "
        f"{fmt(p, 'series_s', '.1f')} | {fmt(p, 'cost_s', '.1f')} | "
        f"{fmt(p, 'peak_rss_mib', ',.0f')} |"
        + ("" if p.get("ok") or "error" not in p else f" pandas failed: {p['error']} |")
        + ("" if s.get("ok") else f" store failed: {s.get('error')} |")
    )


def write_results(
    main_n, store, pandas, growth_rows, big_n, big_store, big_pandas, disk
):
    from llmdrift.store import DEFAULT_MEMORY_LIMIT

    speed = (
        pandas["total_s"] / store["total_s"]
        if store.get("ok") and pandas.get("ok")
        else None
    )
    memory = (
        pandas["peak_rss_mib"] / store["peak_rss_mib"]
        if store.get("ok") and pandas.get("ok")
        else None
    )
    same = store.get("check") == pandas.get("check")
    text = [
        "# Scale: store (DuckDB over Parquet) vs reading into pandas",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{LOAD_BEFORE} before the run and {os.getloadavg()[0]:.1f} after, Python "
        f"{platform.python_version()}. Generated by `benchmarks/scale.py`; each "
        "method runs in its own subprocess and its peak memory is that "
        "process's own high-water mark (`VmHWM`; `ru_maxrss` would include "
        "the parent's size at fork). Baseline: pandas (`read_parquet` of the needed "
        "columns, then `groupby`), measured in the same run on the same files.",
        "",
        "Work: the daily per-intent quality series of a judge that scored a 10% "
        "sample (intent joined from the spans) and the daily per-intent cost "
        "rollup (per-trace sums, then count, sum, mean, median, p95). Spans are "
        f"spread over {DAYS} days and {len(INTENTS)} intents. The store path is "
        "`quality_series(store, store, by=['intent'], freq='D')` and "
        "`cost_by(store, by='intent', freq='D')` on a Parquet-folder store "
        "opened with `open_store(folder)`: DuckDB `memory_limit` is the store's "
        f"default, {DEFAULT_MEMORY_LIMIT} (it spills to disk beyond).",
        "",
        f"## {main_n:,} spans",
        "",
        *HEADER,
        _line(main_n, store, pandas),
        "",
        f"Total time, pandas / store: **{speed:.2f}x** (above 1 = store faster); peak "
        f"memory, pandas / store: **{memory:.1f}x**."
        if speed and memory
        else "One of the methods failed; see the table.",
        f"Both methods give the same totals (scores counted, mean of daily means, "
        f"requests, total cost): {'yes' if same else 'NO'} "
        f"(`{store.get('check')}`). The store's p50 and p95 are DuckDB's "
        "approximate quantiles (T-Digest; `cost_by`'s default for a store), "
        "pandas' are exact: relative difference "
        f"{quantile_error(WORK / f'spans_{main_n}')}.",
        "",
        "## How memory grows with the data",
        "",
        *HEADER,
    ]
    for n, s, p in sorted([*growth_rows, (main_n, store, pandas)], key=lambda r: r[0]):
        text.append(_line(n, s, p))
    text.append(_line(big_n, big_store, big_pandas))
    text += [
        "",
        f"At {big_n:,} spans ({disk:.1f} GiB of Parquet) the pandas run had its "
        f"address space capped at {PANDAS_CAP_GIB} GiB so that it fails cleanly "
        "instead of pushing a shared machine into swap or the OOM killer: "
        + (
            "it failed ({}) after {:.0f} s at a peak of {:,.0f} MiB.".format(
                big_pandas.get("error"),
                big_pandas.get("total_s", float("nan")),
                big_pandas.get("peak_rss_mib", float("nan")),
            )
            if not big_pandas.get("ok")
            else f"it finished with a peak of {big_pandas['peak_rss_mib']:,.0f} MiB."
        ),
        "The store's peak memory at {:,} spans: {} MiB (limit asked for: under "
        "4 GiB).".format(big_n, fmt(big_store, "peak_rss_mib", ",.0f")),
        "",
    ]
    RESULTS.write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
