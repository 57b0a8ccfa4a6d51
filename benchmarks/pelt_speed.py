"""Speed of llmdrift.changepoint.pelt against ruptures.Pelt on n = 10,000.

Baseline: ``ruptures.Pelt(model="l2", min_size=2, jump=1)`` (the reference
implementation the issue names), measured in the same run on the same series
with the same penalty. The breakpoints must be identical, and llmdrift must
be at least 20x faster.

Series: 10,000 unweighted values, 20 segments of 500 with levels drawn from
N(0, 1.5**2) plus N(0, 1) noise (seed 20260101); penalty ``3 log n``
(a common BIC-like choice). ruptures is timed once (it takes minutes:
7 on the shared 2-core machine); llmdrift as the best of 3 runs.

Run: ``.venv/bin/python benchmarks/pelt_speed.py`` (writes
``benchmarks/results/pelt_speed.md``).
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np

SEED = 20260101
N = 10_000
SEGMENTS = 20
RESULTS = Path(__file__).resolve().parent / "results" / "pelt_speed.md"


def make_series(seed=SEED, n=N, segments=SEGMENTS):
    rng = np.random.default_rng(seed)
    levels = rng.normal(0.0, 1.5, segments)
    return np.repeat(levels, n // segments) + rng.normal(0.0, 1.0, n)


def main() -> int:
    import ruptures

    from llmdrift.changepoint import pelt

    x = make_series()
    penalty = 3 * np.log(len(x))

    ours_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        ours = pelt(x, penalty)
        ours_times.append(time.perf_counter() - t0)
    t_ours = min(ours_times)

    t0 = time.perf_counter()
    theirs = ruptures.Pelt(model="l2", min_size=2, jump=1).fit(x).predict(pen=penalty)
    t_theirs = time.perf_counter() - t0

    identical = ours == theirs
    ratio = t_theirs / t_ours
    ok = identical and ratio >= 20
    text = "\n".join(
        [
            "# PELT speed: llmdrift.changepoint.pelt vs ruptures.Pelt",
            "",
            f"Series: n = {len(x)}, unweighted, {SEGMENTS} segments of "
            f"{N // SEGMENTS} (levels N(0, 1.5^2), noise N(0, 1)), seed {SEED}; "
            f"penalty 3 log n = {penalty:.4f}; min_size 2, jump 1, l2 cost.",
            "",
            "| implementation | time (s) | ratio to ruptures |",
            "| --- | ---: | ---: |",
            f"| ruptures {ruptures.__version__} Pelt (baseline, 1 run) "
            f"| {t_theirs:.3f} | 1.0 |",
            f"| llmdrift pelt (best of 3) | {t_ours:.4f} | {ratio:.1f}x faster |",
            "",
            f"Breakpoints identical: {identical} ({len(ours) - 1} changes found; "
            f"first five {ours[:5]}).",
            f"Required: identical and >= 20x faster: {'PASS' if ok else 'FAIL'}.",
            "",
            f"Machine: {platform.machine()}, Python {platform.python_version()}, "
            "2 cores shared with other jobs (timings are of one busy run).",
            "",
            "Re-run: `.venv/bin/python benchmarks/pelt_speed.py`.",
        ]
    )
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
