"""The same aggregation on PySpark (local mode) and on DuckDB gives the same series.

One SparkSession for the module (local[1], session time zone UTC). Spans and
scores are appended to a store on each engine through the same
``Store.append``; ``quality_series`` and ``cost_by`` then run on each engine
and their results are compared: exactly (up to float rounding) for counts,
sums, means and standard deviations and exact quantiles; approximate
quantiles within the error Spark states for ``percentile_approx``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from llmdrift import cost_by, quality_series
from llmdrift.store import open_store

pytestmark = pytest.mark.spark

T0 = pd.Timestamp("2026-03-02", tz="UTC")


def make_frames(n=399, seed=7):
    rng = np.random.default_rng(seed)
    # three spans per trace: an agent wrapper with copied totals and two calls
    trace = np.arange(n) // 3
    role = np.arange(n) % 3
    span_id = [f"s{i}" for i in range(n)]
    parent = [None if r == 0 else f"s{i - r}" for i, r in enumerate(role)]
    intent = np.array(["refund", "summary", "triage"])[trace % 3]
    start = T0 + pd.to_timedelta(trace * 1500 + role, "s")
    tokens_in = rng.integers(100, 1000, n)
    spans = pd.DataFrame(
        {
            "trace_id": [f"t{t}" for t in trace],
            "span_id": span_id,
            "parent_span_id": parent,
            "start_time": start,
            "duration_ms": rng.uniform(100, 900, n),
            "service": "chat",
            "span_kind": np.where(role == 0, "agent", "llm"),
            "request_model": "m",
            "intent": intent,
            "input_tokens": pd.array(tokens_in, dtype="Int64"),
            "output_tokens": pd.array(rng.integers(10, 100, n), dtype="Int64"),
            "cost_usd": pd.array(
                np.round(rng.uniform(0.001, 0.01, n), 6), dtype="Float64"
            ),
        }
    )
    calls = spans[spans["span_kind"] == "llm"]
    scores = pd.DataFrame(
        {
            "span_id": calls["span_id"].to_numpy(),
            "time": calls["start_time"].to_numpy(),
            "dimension": "format",
            "value": rng.integers(1, 6, len(calls)).astype(float),
            "scorer": "judge-v1",
            "kind": "judge",
        }
    )
    scores["time"] = pd.to_datetime(scores["time"], utc=True)
    return spans, scores


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    pyspark = pytest.importorskip("pyspark")
    import ibis

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        pyspark.sql.SparkSession.builder.master("local[1]")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
        .appName("llmdrift-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    spans, scores = make_frames()
    spark = open_store(ibis.pyspark.connect(session))
    spark.append(spans=spans, scores=scores)
    duck = open_store(tmp_path_factory.mktemp("duck") / "s.duckdb")
    duck.append(spans=spans, scores=scores)
    yield spark, duck, spans
    duck.close()
    session.stop()


def test_store_append_is_idempotent_on_spark(stores):
    spark, _, spans = stores
    assert spark.count("spans") == len(spans)
    assert spark.append(spans=spans.iloc[:10]) == {"spans": 0}
    assert spark.count("spans") == len(spans)


@pytest.mark.parametrize("freq", ["D", "h"])
def test_quality_series_same_on_spark_and_duckdb(stores, freq):
    spark, duck, _ = stores
    got = quality_series(spark, spark, by=["intent"], freq=freq)
    want = quality_series(duck, duck, by=["intent"], freq=freq)
    assert len(want) >= 9 and want["n"].sum() == 266
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True),
        want.reset_index(drop=True),
        check_dtype=False,
        rtol=1e-12,
    )


def test_cost_by_same_on_spark_and_duckdb(stores):
    spark, duck, spans = stores
    exact = cost_by(spark, by="intent", freq="D", quantiles="exact")
    want = cost_by(duck, by="intent", freq="D", quantiles="exact")
    pd.testing.assert_frame_equal(exact, want, check_dtype=False, rtol=1e-12)
    # the wrapper spans are not counted: tokens are the model calls' only
    calls = spans[spans["span_kind"] == "llm"]
    assert want["input_tokens"].sum() == calls["input_tokens"].sum()


def test_cost_by_approx_quantiles_within_stated_error(stores):
    spark, duck, spans = stores
    approx = cost_by(spark, by="intent")  # "auto": approximate on a store
    want = cost_by(duck, by="intent", quantiles="exact")
    same = [c for c in want.columns if c not in ("cost_p50_usd", "cost_p95_usd")]
    pd.testing.assert_frame_equal(
        approx[same], want[same], check_dtype=False, rtol=1e-12
    )
    # percentile_approx returns a value whose rank is within 1/10000 of the
    # group size of the asked rank (here: less than one place), never an
    # interpolation: check it against the sorted per-trace costs
    calls = spans[spans["span_kind"] == "llm"]
    for _, row in approx.iterrows():
        part = calls[calls["intent"] == row["intent"]]
        costs = np.sort(part.groupby("trace_id")["cost_usd"].sum().to_numpy(float))
        for q, column in ((0.5, "cost_p50_usd"), (0.95, "cost_p95_usd")):
            rank = q * (len(costs) - 1)
            low = costs[max(int(np.floor(rank)) - 1, 0)]
            high = costs[min(int(np.ceil(rank)) + 1, len(costs) - 1)]
            assert low - 1e-12 <= row[column] <= high + 1e-12
            assert np.isclose(costs, row[column], rtol=0, atol=1e-12).any()
