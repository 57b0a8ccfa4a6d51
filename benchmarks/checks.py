"""Benchmark: the default heuristic checks over 1,000,000 responses.

Compares ``llmdrift.run_checks`` (vectorised: Arrow compute kernels, JSON
parsed only where an answer starts with { or [) with a per-row Python loop
over the same checks, measured in the same run. The loop runs on a
subsample (default 50,000 rows) and its time is scaled linearly to the full
size; both paths are checked to give identical values on the subsample.

Run:  .venv/bin/python benchmarks/checks.py [--rows 1000000] [--loop-rows 50000]
Writes benchmarks/results/checks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from llmdrift.checks import REFUSAL_PHRASES, default_checks, run_checks

RESULTS = Path(__file__).resolve().parent / "results" / "checks.md"

_ANSWERS = [
    # JSON (valid, pretty, broken, fenced)
    '{"category": "billing", "priority": "high", "sentiment": "negative"}',
    '{\n  "order_id": "A-10293",\n  "items": [{"sku": "K-1", "qty": 2}],\n'
    '  "action": "refund"\n}',
    '{"category": "shipping", "priority": "normal", "sentiment": ',
    '```json\n{"category": "refund", "priority": "low"}\n```',
    "[1, 2, 3, 4]",
    # prose
    "Thanks for reaching out. Your refund for order A-55102 was issued today "
    "and should reach your card within 3-5 working days. " * 3,
    "Category: billing. Priority: high. The customer sounds negative.",
    "Hi Maria,\n\nSorry for the trouble with your standing desk. A replacement "
    "ships tomorrow; you will get a tracking link by email.\n\nBest regards,\n"
    "Northwind Support",
    # code
    "```python\nclass Solution:\n    def twoSum(self, nums, target):\n"
    "        seen = {}\n        for i, x in enumerate(nums):\n"
    "            if target - x in seen:\n                return [seen[target - x], i]"
    "\n            seen[x] = i\n```",
    "class Solution(object):\n    def add(self, a, b):\n        return a + b",
    # answer formats and refusals
    "Step 1: 17077 is odd. Step 2: it has no divisor up to 130. So [Yes].",
    "I\u2019m sorry, but I can\u2019t help with that request.",
    "As an AI language model, I cannot provide medical advice.",
    "",
]


def synthetic_contents(rows: int, *, seed: int = 0) -> pd.DataFrame:
    """A contents frame of ``rows`` answers drawn from a mixed pool, with a
    few random digits spliced in so the texts are not all identical, and 0.5%
    missing answers."""
    rng = np.random.default_rng(seed)
    pool = np.array(_ANSWERS, dtype=object)
    pick = pool[rng.integers(len(pool), size=rows)]
    tag = rng.integers(0, 10_000, size=rows).astype(str)
    salted = np.where(
        np.char.startswith(pick.astype(str), "{")
        | np.char.startswith(pick.astype(str), "["),
        pick,  # keep JSON as it is (valid or not)
        pick + " #" + tag.astype(object),
    )
    output = pd.Series(salted, dtype="string")
    output[rng.random(rows) < 0.005] = pd.NA
    return pd.DataFrame(
        {
            "span_id": pd.Series([f"{i:016x}" for i in range(rows)], dtype="string"),
            "output_text": output,
            "time": pd.Timestamp("2026-01-05", tz="UTC")
            + pd.to_timedelta(np.arange(rows) % 86_400, unit="s"),
        }
    )


_FENCE = re.compile(r"^ {0,3}(?:```|~~~)", re.MULTILINE)
_PHRASES = tuple(p.lower() for p in REFUSAL_PHRASES)


def _row_values(text) -> list[float]:
    """The default checks for one answer, in plain Python."""
    if text is None or text is pd.NA:
        return [np.nan] * 5
    try:
        value = json.loads(text)
        is_json = float(isinstance(value, dict | list))
    except ValueError:
        is_json = 0.0
    fence = float(_FENCE.search(text) is not None)
    head = text[:300].replace("\u2019", "'").replace("\u2018", "'").lower()
    refusal = float(any(p in head for p in _PHRASES))
    length = len(text)
    within = float(1 <= length <= 8000)
    return [is_json, fence, refusal, within, float(length)]


def per_row_checks(contents: pd.DataFrame) -> pd.DataFrame:
    """The per-row baseline: a Python loop applying the default checks to each
    answer and building the same long scores rows (value column only compared).
    """
    names = [c.name for c in default_checks()]
    per_row = [_row_values(t) for t in contents["output_text"].astype(object)]
    values = np.array(per_row, dtype=float).reshape(len(contents), len(names))
    return pd.DataFrame(
        {
            "span_id": np.tile(contents["span_id"].to_numpy(object), len(names)),
            "scorer": np.repeat(names, len(contents)),
            "value": values.T.reshape(-1),
        }
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--loop-rows", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    t = time.perf_counter()
    contents = synthetic_contents(args.rows)
    build_s = time.perf_counter() - t

    # vectorised: best of 2 runs over the full frame
    fast_times = []
    for _ in range(2):
        t = time.perf_counter()
        scores = run_checks(contents)
        fast_times.append(time.perf_counter() - t)
    fast_s = min(fast_times)

    # where the vectorised time goes: each check alone on the full column
    column = contents["output_text"].astype("string[pyarrow]")
    per_check = []
    for item in default_checks():
        t = time.perf_counter()
        item(column)
        per_check.append((item.name, time.perf_counter() - t))

    # per-row loop on a subsample, scaled
    sub = contents.iloc[: args.loop_rows].reset_index(drop=True)
    t = time.perf_counter()
    slow = per_row_checks(sub)
    loop_sub_s = time.perf_counter() - t
    loop_s = loop_sub_s * args.rows / len(sub)

    # same values on the subsample
    fast_sub = run_checks(sub)
    same = np.array_equal(
        fast_sub["value"].to_numpy(), slow["value"].to_numpy(), equal_nan=True
    )

    n_checks = len(default_checks())
    lines = [
        "# Heuristic checks: vectorised run_checks vs a per-row Python loop",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, pandas {pd.__version__}",
        f"- responses: {args.rows:,} synthetic (JSON valid/broken/fenced, prose, "
        "code, [Yes]/[No] answers, refusals, 0.5% missing); built in "
        f"{build_s:.1f} s",
        f"- checks: the {n_checks} default checks "
        f"({', '.join(c.name for c in default_checks())}) -> {len(scores):,} "
        "score rows",
        "",
        "| path | rows | time (s) | rows/s |",
        "| --- | ---: | ---: | ---: |",
        f"| run_checks (vectorised, best of 2) | {args.rows:,} | {fast_s:.2f} | "
        f"{args.rows / fast_s:,.0f} |",
        f"| per-row loop, measured | {len(sub):,} | {loop_sub_s:.2f} | "
        f"{len(sub) / loop_sub_s:,.0f} |",
        f"| per-row loop, scaled to {args.rows:,} | {args.rows:,} | {loop_s:.2f} | "
        f"{args.rows / loop_s:,.0f} |",
        "",
        f"- speed-up (scaled loop time / vectorised time): {loop_s / fast_s:.1f}x",
        f"- goal 1,000,000 responses under 60 s: "
        f"{'met' if fast_s * 1_000_000 / args.rows < 60 else 'NOT met'} "
        f"({fast_s * 1_000_000 / args.rows:.1f} s per million)",
        f"- identical values on the {len(sub):,}-row subsample: {same}",
        "- the loop builds only span_id/scorer/value columns, so it is the "
        "lighter of the two in output assembly",
        "- time per check alone on the full column (s): "
        + ", ".join(f"{name} {sec:.2f}" for name, sec in per_check),
        "- timings are wall-clock on a shared machine; other jobs may have run",
        "",
    ]
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    if not same:
        raise SystemExit("vectorised and per-row values differ")


if __name__ == "__main__":
    main()
