"""The span store: idempotent, atomic appends; aggregation pushed down to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from llmdrift import cost_by, most_expensive_traces
from llmdrift.schema import LlmdriftWarning, SchemaError
from llmdrift.store import load_from_store, open_store

T0 = pd.Timestamp("2026-03-02", tz="UTC")
LAYOUTS = ["duckdb", "parquet"]


def make_spans(n=60, seed=0, prefix="s"):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "trace_id": [f"t{prefix}{i // 2}" for i in range(n)],
            "span_id": [f"{prefix}{i}" for i in range(n)],
            "start_time": T0 + pd.to_timedelta(rng.uniform(0, 6 * 86400, n), "s"),
            "duration_ms": rng.uniform(100, 900, n),
            "service": "chat",
            "request_model": "m",
            "intent": rng.choice(["refund", "summary", "triage"], n),
            "input_tokens": pd.array(rng.integers(100, 1000, n), dtype="Int64"),
            "output_tokens": pd.array(rng.integers(10, 100, n), dtype="Int64"),
            "cost_usd": pd.array(rng.uniform(0.001, 0.01, n), dtype="Float64"),
        }
    )


def make_scores(spans, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "span_id": spans["span_id"],
            "time": spans["start_time"],
            "dimension": "format",
            "value": rng.integers(1, 6, len(spans)).astype(float),
            "scorer": "judge-v1",
            "kind": "judge",
        }
    )


def store_path(tmp_path, layout):
    return tmp_path / ("s.duckdb" if layout == "duckdb" else "parquet_store")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_reappend_changes_no_count(tmp_path, layout):
    spans = make_spans()
    scores = make_scores(spans)
    store = open_store(store_path(tmp_path, layout))
    first = store.append(spans=spans, scores=scores, contents=None)
    assert first == {"spans": 60, "scores": 60}
    again = store.append(spans=spans, scores=scores)
    assert again == {"spans": 0, "scores": 0}
    # an overlapping batch adds only the new keys
    more = pd.concat([spans.iloc[:10], make_spans(5, seed=3, prefix="n")])
    assert store.append(spans=more) == {"spans": 5}
    second_scorer = make_scores(spans).assign(scorer="judge-v2")
    assert store.append(scores=second_scorer) == {"scores": 60}
    assert store.count("spans") == 65
    assert store.count("scores") == 120
    assert store.count("contents") == 0
    store.close()
    # reopened from disk: the same counts
    reopened = open_store(store_path(tmp_path, layout))
    assert reopened.count("spans") == 65
    reopened.close()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_stored_rows_read_back_equal(tmp_path, layout):
    spans = make_spans()
    store = open_store(store_path(tmp_path, layout))
    store.append(spans=spans)
    back = load_from_store(store, tables=("spans",))["spans"]
    back = back.sort_values("span_id").reset_index(drop=True)
    want = spans.sort_values("span_id").reset_index(drop=True)
    assert back["span_id"].tolist() == want["span_id"].tolist()
    # the store keeps times to the microsecond
    assert (back["start_time"] == want["start_time"].dt.floor("us")).all()
    assert back["input_tokens"].tolist() == want["input_tokens"].tolist()
    assert str(back["input_tokens"].dtype) == "Int64"
    np.testing.assert_allclose(back["cost_usd"].astype(float), want["cost_usd"])
    start = T0 + pd.Timedelta(days=2)
    later = load_from_store(store, tables=("spans",), start=start)["spans"]
    assert len(later) == int((spans["start_time"] >= start).sum())
    store.close()


def test_contents_live_in_a_separate_store(tmp_path):
    spans = make_spans(6)
    texts = pd.DataFrame(
        {"span_id": spans["span_id"], "input_text": "q", "output_text": "a"}
    )
    store = open_store(tmp_path / "spans.duckdb", contents=tmp_path / "texts.duckdb")
    assert store.append(spans=spans, contents=texts) == {"contents": 6, "spans": 6}
    assert store.count("contents") == 6
    store.close()
    # the spans file holds no texts; the contents file holds them
    spans_only = open_store(tmp_path / "spans.duckdb")
    assert not spans_only.has_table("contents")
    spans_only.close()
    texts_only = open_store(tmp_path / "texts.duckdb")
    assert texts_only.count("contents") == 6
    assert not texts_only.has_table("spans")
    texts_only.close()
    # read back through the pair: each table from its own file
    both = open_store(
        tmp_path / "spans.duckdb", contents=tmp_path / "texts.duckdb", read_only=True
    )
    frames = load_from_store(both, tables=("spans", "contents"))
    both.close()
    assert sorted(frames["contents"]["span_id"]) == sorted(spans["span_id"])
    assert set(frames["contents"]["output_text"]) == {"a"}
    assert len(frames["spans"]) == 6


def test_bad_input_names_the_problem(tmp_path):
    store = open_store(tmp_path / "s.duckdb")
    naive = make_spans(3)
    naive["start_time"] = naive["start_time"].dt.tz_localize(None)
    with pytest.raises(SchemaError, match="start_time.*naive"):
        store.append(spans=naive)
    with pytest.raises(SchemaError, match="output_text"):
        store.append(contents=pd.DataFrame({"span_id": ["a"]}))
    with pytest.raises(TypeError, match="spans= must be a pandas DataFrame"):
        store.append(spans=[1, 2])
    with pytest.raises(ValueError, match="no 'spans' table yet"):
        store.table("spans")
    with pytest.raises(ValueError, match="not known"):
        store.table("traces")
    assert store.count("spans") == 0  # nothing half-written by the failures
    store.close()
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not a DuckDB file"):
        open_store(tmp_path / "notes.txt")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_an_extra_column_whose_type_changed_is_refused_naming_it(tmp_path, layout):
    store = open_store(store_path(tmp_path, layout))
    first = make_spans(8)
    store.append(spans=first.iloc[:4].assign(ticket=[1, 2, 3, 4]))
    later = first.iloc[4:].assign(ticket=["7", "x", None, "9"])
    with pytest.raises(ValueError, match="column 'ticket' is stored as BIGINT.*'x'"):
        store.append(spans=later, scores=make_scores(first))
    # nothing of the call was appended, not even the scores
    assert store.count("spans") == 4
    assert store.count("scores") == 0
    # text that converts is let through, as DuckDB would cast it
    assert store.append(spans=later.assign(ticket=["7", "8", None, "9"])) == {
        "spans": 4
    }
    store.close()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_values_that_would_change_in_a_stored_column_are_refused(tmp_path, layout):
    store = open_store(store_path(tmp_path, layout))
    spans = make_spans(6)
    store.append(spans=spans.iloc[:2].assign(n=[1, 2], flag=[True, False]))
    with pytest.raises(
        ValueError, match="'n' is stored as BIGINT.*without change.*1.7"
    ):
        store.append(spans=spans.iloc[2:3].assign(n=[1.7], flag=[True]))
    with pytest.raises(ValueError, match="'flag' is stored as BOOLEAN.*5"):
        store.append(spans=spans.iloc[2:3].assign(n=[3], flag=[5]))
    # exact conversions pass: 3.0 is the integer 3, 1 and 0 are the booleans
    assert store.append(spans=spans.iloc[2:4].assign(n=[3.0, 4.0], flag=[1, 0])) == {
        "spans": 2
    }
    assert store.count("spans") == 4
    store.close()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_rows_without_key_or_time_or_with_infinite_numbers_are_refused(
    tmp_path, layout
):
    store = open_store(store_path(tmp_path, layout))
    spans = make_spans(4)
    no_id = spans.astype({"span_id": object})
    no_id.loc[1, "span_id"] = None
    with pytest.raises(SchemaError, match=r"'span_id' is missing in 1 row.*row 1"):
        store.append(spans=no_id)
    no_id.loc[3, "span_id"] = None  # two missing ids are not one id twice
    with pytest.raises(SchemaError, match=r"'span_id' is missing in 2 row.*row 1"):
        store.append(spans=no_id)
    blank = spans.astype({"span_id": object})
    blank.loc[2, "span_id"] = " "
    with pytest.raises(SchemaError, match=r"'span_id' is empty in 1 row.*row 2"):
        store.append(spans=blank)
    no_time = spans.copy()
    no_time.loc[2, "start_time"] = pd.NaT
    with pytest.raises(SchemaError, match=r"'start_time' is missing.*'s2'.*dropna"):
        store.append(spans=no_time)
    endless = spans.assign(duration_ms=[1.0, np.inf, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"'duration_ms' holds 1 infinite.*'s1'"):
        store.append(spans=endless)
    scores = make_scores(spans).astype({"scorer": object})
    scores.loc[0, "scorer"] = None
    with pytest.raises(SchemaError, match=r"'scorer' is missing in 1 row"):
        store.append(scores=scores)
    assert store.count("spans") == 0 and store.count("scores") == 0
    store.close()


def test_a_key_repeated_with_different_values_in_one_batch_warns(tmp_path):
    store = open_store(tmp_path / "s.duckdb")
    scores = make_scores(make_spans(3))
    same = pd.concat([scores, scores.iloc[:1]], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LlmdriftWarning)
        assert store.append(scores=same) == {"scores": 3}  # an exact repeat: quiet
    changed = scores.assign(scorer="judge-v2")
    changed = pd.concat([changed, changed.iloc[:2].assign(value=[9.0, 9.0])])
    with pytest.warns(LlmdriftWarning, match=r"2 row\(s\) repeat.*different values"):
        assert store.append(scores=changed) == {"scores": 3}
    stored = store.table("scores").to_pandas()
    kept = stored[stored["scorer"] == "judge-v2"].sort_values("span_id")
    assert kept["value"].tolist() == scores.sort_values("span_id")["value"].tolist()
    store.close()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_an_extra_column_first_seen_empty_takes_values_later(tmp_path, layout):
    store = open_store(store_path(tmp_path, layout))
    spans = make_spans(4)
    store.append(spans=spans.iloc[:2].assign(note=None))
    assert store.append(spans=spans.iloc[2:].assign(note=["hello", None])) == {
        "spans": 2
    }
    back = load_from_store(store)["spans"].set_index("span_id")["note"]
    assert back.loc["s2"] == "hello"
    assert back.loc[["s0", "s1", "s3"]].isna().all()
    store.close()


def test_append_does_not_touch_the_callers_frame(tmp_path):
    spans = make_spans(8)
    before = spans.copy()
    store = open_store(tmp_path / "s.duckdb")
    store.append(spans=spans)
    pd.testing.assert_frame_equal(spans, before)
    store.close()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_cost_by_on_a_store_equals_the_pandas_path(tmp_path, layout):
    spans = make_spans(200)
    store = open_store(store_path(tmp_path, layout))
    store.append(spans=spans)
    for freq in (None, "D"):
        want = cost_by(spans, by="intent", freq=freq)
        got = cost_by(store, by="intent", freq=freq, quantiles="exact")
        pd.testing.assert_frame_equal(
            got.drop(columns="intent"), want.drop(columns="intent"), check_dtype=False
        )
        assert got["intent"].tolist() == want["intent"].tolist()
    # independent check of one figure: per-trace costs summed with numpy
    got = cost_by(store, by=(), quantiles="exact")
    per_trace = spans.groupby("trace_id")["cost_usd"].sum().to_numpy(float)
    assert got["cost_p95_usd"].iloc[0] == pytest.approx(np.percentile(per_trace, 95))
    # by default a store gets the engine's approximate quantile (T-Digest):
    # between the order statistics around the asked rank
    approx = cost_by(store, by=())
    costs = np.sort(per_trace)
    for q, column in ((0.5, "cost_p50_usd"), (0.95, "cost_p95_usd")):
        rank = q * (len(costs) - 1)
        low = costs[max(int(np.floor(rank)) - 1, 0)]
        high = costs[min(int(np.ceil(rank)) + 1, len(costs) - 1)]
        assert low <= approx[column].iloc[0] <= high
    store.close()


def test_ibis_backend_object_is_a_store(tmp_path):
    import ibis

    backend = ibis.duckdb.connect(str(tmp_path / "x.duckdb"))
    store = open_store(backend)
    assert store.layout == "duckdb"
    store.append(spans=make_spans(4))
    assert store.count("spans") == 4
    # an existing table under another name, mapped with tables=
    named = open_store(backend, tables={"spans": "spans"})
    assert named.count("spans") == 4
    store.close()


CHILD = r"""
import sys
import pandas as pd
sys.path.insert(0, {tests!r})
from test_store import make_spans, make_scores
from llmdrift.store import open_store
store = open_store({path!r})
for k in range(3):
    spans = make_spans(50, seed=k, prefix=f"b{{k}}_")
    store.append(spans=spans, scores=make_scores(spans))
store.close()
"""


def _snapshot(path):
    frames = load_from_store(path, tables=("spans", "scores"))
    return {
        name: frame.sort_values(list(frame.columns[:2])).reset_index(drop=True)
        for name, frame in frames.items()
    }


@pytest.mark.slow
@pytest.mark.parametrize("layout", LAYOUTS)
def test_killed_load_then_rerun_equals_one_clean_run(tmp_path, layout):
    """SIGKILL inside the 2nd append's transaction, then run the load again."""
    path = str(store_path(tmp_path, layout))
    clean = str(store_path(tmp_path / "clean", layout))
    script = CHILD.format(tests=str(Path(__file__).parent), path=path)
    marker = tmp_path / "paused"
    env = dict(os.environ, LLMDRIFT_STORE_TEST_PAUSE=f"2:{marker}")
    child = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert child.poll() is None, "the load ended before the pause"
        assert time.monotonic() < deadline, "the load never reached the pause"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    # the killed append left nothing: only the first batch is there
    store = open_store(path)
    assert store.count("spans") == 50
    assert store.count("scores") == 50
    store.close()

    subprocess.run([sys.executable, "-c", script], check=True)
    clean_script = CHILD.format(tests=str(Path(__file__).parent), path=clean)
    subprocess.run([sys.executable, "-c", clean_script], check=True)
    got, want = _snapshot(path), _snapshot(clean)
    for name in ("spans", "scores"):
        assert len(got[name]) == 150
        pd.testing.assert_frame_equal(got[name], want[name])


def test_request_in_two_groups_counts_once_in_each_at_its_first_window():
    """A trace touching two intents on two days: one request in each intent,
    both in the window of the trace's first span (the rule cost_by states)."""
    spans = pd.DataFrame(
        {
            "trace_id": ["T", "T", "U"],
            "span_id": ["a", "b", "c"],
            "start_time": pd.to_datetime(
                ["2026-03-01 23:00", "2026-03-02 01:00", "2026-03-02 02:00"], utc=True
            ),
            "intent": ["x", "y", "y"],
            "cost_usd": [1.0, 2.0, 4.0],
        }
    )
    out = cost_by(spans, by="intent", freq="D")
    got = out[["intent", "window_start", "n_requests", "total_cost_usd"]]
    assert got.astype({"intent": str}).values.tolist() == [
        ["x", pd.Timestamp("2026-03-01", tz="UTC"), 1, 1.0],
        ["y", pd.Timestamp("2026-03-01", tz="UTC"), 1, 2.0],
        ["y", pd.Timestamp("2026-03-02", tz="UTC"), 1, 4.0],
    ]


@pytest.mark.parametrize("on_store", [False, True])
@pytest.mark.parametrize(
    "by, intent, service, want",
    [
        # the same two values swapped between two columns: two groups
        (
            ["intent", "service"],
            ["A", "B", "A"],
            ["B", "A", "B"],
            [["A", "B", 2, 5.0], ["B", "A", 1, 2.0]],
        ),
        # the group on one of a request's spans only: a group of its own
        (["intent"], ["A", None, "A"], ["s"] * 3, [["A", 2, 5.0], [None, 1, 2.0]]),
    ],
)
def test_requests_whose_spans_disagree_on_the_group_are_split_by_group(
    tmp_path, monkeypatch, on_store, by, intent, service, want
):
    """The fast per-request step on DuckDB checks that a request's spans agree
    on every grouping column through one 64-bit signature; a disagreement it
    could miss (values swapped across columns, a missing value) must still
    send the call to the general path, where each group counts the request
    once with its own spans' cost."""
    from llmdrift.cost import rollups

    spans = pd.DataFrame(
        {
            "trace_id": ["T", "T", "U"],
            "span_id": ["a", "b", "c"],
            "start_time": pd.to_datetime(
                ["2026-03-01 10:00", "2026-03-01 11:00", "2026-03-01 12:00"], utc=True
            ),
            "duration_ms": 100.0,
            "request_model": "m",
            "intent": intent,
            "service": service,
            "cost_usd": [1.0, 2.0, 4.0],
        }
    )
    general = []
    real = rollups._request_table
    monkeypatch.setattr(
        rollups, "_request_table", lambda *a, **k: general.append(1) or real(*a, **k)
    )
    source = spans
    if on_store:
        source = open_store(tmp_path / "s.duckdb")
        source.append(spans=spans)
    out = cost_by(source, by=by)
    got = out[[*by, "n_requests", "total_cost_usd"]].astype(object)
    got = got.where(got.notna(), None).values.tolist()
    assert got == want
    assert general == [1]
    if on_store:
        source.close()


def test_spans_with_missing_counts_and_flags_load_back_with_contract_dtypes(tmp_path):
    # real traces: tool and agent spans carry no token counts, so the BIGINT
    # column holds NULLs and the engine returns float64; loading must give the
    # contract's Int64/boolean back, with <NA> where nothing was recorded
    from llmdrift.datasets import load_demo
    from llmdrift.store import load_from_store

    demo = load_demo(days=3, requests_per_day=100)
    spans = demo.spans.copy()
    every_third = np.arange(len(spans)) % 3 == 0
    spans["input_tokens"] = spans["input_tokens"].astype("Int64").mask(every_third)
    spans["flagged"] = spans["flagged"].astype("boolean").mask(every_third)
    store = open_store(tmp_path / "x.duckdb")
    store.append(spans=spans, scores=demo.scores)
    back = load_from_store(store, tables=("spans", "scores"))["spans"]
    back = back.sort_values("span_id").reset_index(drop=True)
    want = spans.sort_values("span_id").reset_index(drop=True)
    assert back["input_tokens"].dtype == "Int64"
    assert back["flagged"].dtype == "boolean"
    pd.testing.assert_series_equal(back["input_tokens"], want["input_tokens"])
    pd.testing.assert_series_equal(back["flagged"], want["flagged"])


def _duckdb_setting(store, name):
    return store.backend.raw_sql(f"SELECT current_setting('{name}')").fetchall()[0][0]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_store_bounds_duckdb_memory_and_spills_beside_the_data(tmp_path, layout):
    path = store_path(tmp_path, layout)
    store = open_store(path)
    # DuckDB reports 400MB (400 * 10**6 bytes) in binary units: 381.4 MiB
    assert _duckdb_setting(store, "memory_limit") == "381.4 MiB"
    spill = Path(_duckdb_setting(store, "temp_directory"))
    if layout == "parquet":
        assert spill == path / ".spill"
    else:
        assert spill == Path(f"{path}.tmp")
    # the spill folder is not mistaken for stored data
    spans = make_spans(10)
    store.append(spans=spans)
    spill.mkdir(exist_ok=True)
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"x")
    assert store.count("spans") == 10
    store.close()
    roomy = open_store(path, memory_limit="2GB")
    assert _duckdb_setting(roomy, "memory_limit") == "1.8 GiB"  # 2 * 10**9 bytes
    roomy.close()


def test_memory_limit_none_keeps_duckdbs_default_and_bad_values_are_refused(tmp_path):
    import duckdb

    plain = duckdb.connect()
    default = plain.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
    store = open_store(tmp_path / "a.duckdb", memory_limit=None)
    assert _duckdb_setting(store, "memory_limit") == default
    store.close()
    for bad in (512, "lots", "512 apples", ""):
        with pytest.raises(ValueError, match="memory_limit"):
            open_store(tmp_path / "b", memory_limit=bad)
    assert not (tmp_path / "b").exists()  # refused before anything was created


def test_a_backend_object_keeps_its_own_memory_setting(tmp_path):
    import ibis

    backend = ibis.duckdb.connect(str(tmp_path / "x.duckdb"))
    backend.raw_sql("SET memory_limit = '3GB'")
    store = open_store(backend)
    assert _duckdb_setting(store, "memory_limit") == "2.7 GiB"
    store.close()


def _many_distinct_keys(store, n=1_000_000):
    """A table whose group-by over ``n`` distinct text keys needs ~30 MB."""
    store.backend.con.execute(
        "CREATE TABLE big AS SELECT 'request-' || range::VARCHAR || "
        f"'-padding-padding' AS k, random() AS v FROM range({n})"
    )
    t = store.backend.table("big")
    return t.group_by("k").aggregate(m=t.v.max()).count()


def test_a_query_that_runs_out_of_memory_runs_again_with_more(tmp_path):
    from llmdrift.schema import LlmdriftWarning

    store = open_store(tmp_path / "s.duckdb", memory_limit="8MB")
    expr = _many_distinct_keys(store)
    with pytest.warns(
        LlmdriftWarning, match=r"ran out of DuckDB's 8MB .* memory_limit="
    ):
        assert expr.to_pyarrow().as_py() == 1_000_000
    raised = _duckdb_setting(store, "memory_limit")
    assert raised != "7.6 MiB"  # the limit the store was opened with (8 * 10**6 B)
    # the raised limit stays: the same query runs at once, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert expr.to_pyarrow().as_py() == 1_000_000
    store.close()


def test_out_of_memory_beyond_the_ceiling_names_the_fix(tmp_path, monkeypatch):
    import llmdrift.store as store_module

    monkeypatch.setattr(store_module, "_memory_ceiling", lambda: 8 * 10**6)
    store = open_store(tmp_path / "s.duckdb", memory_limit="8MB")
    expr = _many_distinct_keys(store)
    with pytest.raises(MemoryError, match=r"more memory than 8MB.*memory_limit='8GB'"):
        expr.to_pyarrow()
    store.close()


def _one_span_requests(n=80, seed=4):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "trace_id": [f"t{i}" for i in range(n)],
            "span_id": [f"s{i}" for i in range(n)],
            "start_time": T0 + pd.to_timedelta(rng.uniform(0, 5 * 86400, n), "s"),
            "duration_ms": 100.0,
            "service": "chat",
            "request_model": "m",
            "intent": rng.choice(["refund", "summary"], n),
            "cost_usd": pd.array(rng.uniform(0.001, 0.01, n), dtype="Float64"),
        }
    )


def _expected_daily_cost(spans):
    day = spans["start_time"].dt.floor("D")
    grouped = spans.groupby(["intent", day])["cost_usd"]
    return grouped.agg(["count", "sum"]).reset_index()


@pytest.mark.parametrize("collide", [False, True])
def test_store_rollup_is_exact_even_when_request_ids_share_a_hash(
    tmp_path, monkeypatch, collide
):
    """On DuckDB the per-request step groups by a 64-bit hash of the request
    id (text keys do not spill); ids sharing a hash must send the rollup to
    the exact path. ``collide`` makes every id of the same length share one."""
    from llmdrift.cost import rollups

    spans = _one_span_requests()
    store = open_store(tmp_path / "s.duckdb")
    store.append(spans=spans)
    general = []
    real = rollups._request_table
    monkeypatch.setattr(
        rollups,
        "_request_table",
        lambda *a, **k: general.append(1) or real(*a, **k),
    )
    if collide:
        monkeypatch.setattr(rollups, "_request_hash", lambda ids: ids.length())
    got = cost_by(store, by="intent", freq="D").dropna(subset=["n_requests"])
    got = got[got["n_requests"] > 0].reset_index(drop=True)
    want = _expected_daily_cost(spans)
    assert got["n_requests"].astype(int).tolist() == want["count"].tolist()
    np.testing.assert_allclose(got["total_cost_usd"], want["sum"].astype(float))
    assert bool(general) is collide
    store.close()


def test_a_store_dropped_without_close_releases_its_file(tmp_path):
    """Nothing llmdrift attaches to the backend may keep it alive in a cycle:
    a DuckDB file stays locked while any connection to it lives."""
    import gc

    path = tmp_path / "s.duckdb"
    gc.disable()
    try:
        store = open_store(path)
        store.append(spans=make_spans(4))
        del store
        probe = f"import duckdb; duckdb.connect({str(path)!r}).execute('SELECT 1')"
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True)
        assert done.returncode == 0, done.stderr.decode()[-300:]
    finally:
        gc.enable()


def test_load_from_store_names_bad_arguments(tmp_path):
    store = open_store(tmp_path / "s.duckdb")
    spans = make_spans(10)
    store.append(spans=spans)
    late, early = pd.Timestamp("2026-03-05", tz="UTC"), T0
    with pytest.raises(ValueError, match="start .* must be before end"):
        load_from_store(store, start=late, end=early)
    with pytest.raises(ValueError, match="start must be a time"):
        load_from_store(store, start="banana")
    with pytest.raises(SchemaError, match=r"no column\(s\) \['nope'\]"):
        load_from_store(store, columns={"spans": ["span_id", "nope"]})
    # one table name given as text is that table, not its letters
    frames = load_from_store(store, tables="spans")
    assert list(frames) == ["spans"]
    assert sorted(frames["spans"]["span_id"]) == sorted(spans["span_id"])
    store.close()


def test_open_store_refuses_unusable_files_and_limits(tmp_path):
    bad = tmp_path / "bad.duckdb"
    bad.write_text("garbage")
    with pytest.raises(ValueError, match="could not be opened as a DuckDB database"):
        open_store(bad)
    for tiny in ("0MB", "500KB"):
        with pytest.raises(ValueError, match="below 1MB"):
            open_store(tmp_path / "t.duckdb", memory_limit=tiny)


def test_a_closed_store_says_so(tmp_path):
    store = open_store(tmp_path / "s.duckdb")
    store.append(spans=make_spans(4))
    store.close()
    for call in (
        lambda: store.append(spans=make_spans(4, prefix="x")),
        lambda: store.count("spans"),
        lambda: cost_by(store, by=()),
    ):
        with pytest.raises(ValueError, match="is closed; open it again"):
            call()


def test_a_duckdb_file_locked_by_another_process_is_named(tmp_path):
    path = tmp_path / "s.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "c.execute('CREATE TABLE x (a INT)'); print('ready', flush=True); "
            "time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(ValueError, match="is open in another process"):
            open_store(path)
    finally:
        holder.kill()
        holder.wait()


def test_read_only_stores_can_be_read_by_two_processes_at_once(tmp_path):
    path = tmp_path / "s.duckdb"
    with pytest.raises(ValueError, match="no store at"):
        open_store(path, read_only=True)
    writer = open_store(path)
    writer.append(spans=make_spans(6))
    writer.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from llmdrift.store import open_store; "
            "s = open_store(sys.argv[1], read_only=True); "
            "print(s.count('spans'), flush=True); time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "6"
        reader = open_store(path, read_only=True)  # a second reader is fine
        assert reader.count("spans") == 6
        with pytest.raises(ValueError, match="opened read-only"):
            reader.append(spans=make_spans(2, prefix="x"))
        reader.close()
        with pytest.raises(ValueError, match="is open in another process"):
            open_store(path)  # a writer needs the file alone
    finally:
        holder.kill()
        holder.wait()


def _frame_and_store(tmp_path, spans, on_store):
    """``spans`` as given, or appended to a new DuckDB store (contract columns
    the rollup does not read are filled in)."""
    if not on_store:
        return spans, None
    store = open_store(tmp_path / "s.duckdb")
    store.append(
        spans=spans.assign(
            start_time=pd.Timestamp("2026-03-01", tz="UTC"),
            duration_ms=1.0,
            service="svc",
            request_model="m",
        )
    )
    return store, store


@pytest.mark.parametrize("on_store", [False, True])
def test_large_integer_group_ids_beside_a_missing_one_stay_apart(tmp_path, on_store):
    """Found by the bad-input trial: int64 ids beyond 2**53 with a missing one
    came back from the engine as float64, equal to each other, and joining
    the rollup's two halves on them multiplied rows (5 rows, totals 10.0 for
    3 spans costing 7.0)."""
    ids = pd.array([2**60 + 1, 2**60 + 2, None], dtype="Int64")
    spans = pd.DataFrame(
        {
            "trace_id": ["T", "U", "V"],
            "span_id": ["a", "b", "c"],
            "cost_usd": [1.0, 2.0, 4.0],
            "customer_id": ids,
        }
    )
    source, store = _frame_and_store(tmp_path, spans, on_store)
    out = cost_by(source, by="customer_id")
    assert out["customer_id"].dtype == "Int64"
    assert out["customer_id"].tolist()[:2] == [2**60 + 1, 2**60 + 2]
    assert out["customer_id"].isna().tolist() == [False, False, True]
    assert out["total_cost_usd"].tolist() == [1.0, 2.0, 4.0]
    np.testing.assert_allclose(out["share"], [1 / 7, 2 / 7, 4 / 7])
    assert out["n_spans"].tolist() == [1, 1, 1]
    if store:
        store.close()


@pytest.mark.parametrize("on_store", [False, True])
def test_a_request_id_column_groups_like_any_other(tmp_path, on_store):
    """cost_by's own per-request key once took the name request_id and wrote
    over a user's column of that name (groups came out as trace ids)."""
    spans = pd.DataFrame(
        {
            "trace_id": ["T", "T", "U", "V"],
            "span_id": list("abcd"),
            "request_id": ["r1", "r1", "r2", "r2"],
            "cost_usd": [1.0, 1.0, 2.0, 1.0],
        }
    )
    source, store = _frame_and_store(tmp_path, spans, on_store)
    out = cost_by(source, by="request_id")
    assert out["request_id"].tolist() == ["r1", "r2"]
    assert out["n_requests"].tolist() == [1, 2]
    assert out["total_cost_usd"].tolist() == [2.0, 3.0]
    if store:
        store.close()


@pytest.mark.parametrize("name", ["cost_usd", "n_spans", "input_tokens", "_request"])
def test_grouping_by_a_column_cost_by_computes_is_refused(name):
    spans = pd.DataFrame({"trace_id": ["T"], "span_id": ["a"], "cost_usd": [1.0]})
    spans[name] = 1.0
    with pytest.raises(ValueError, match=rf"\['{name}'\] cannot be a grouping column"):
        cost_by(spans, by=name)


@pytest.mark.parametrize("on_store", [False, True])
def test_a_span_without_a_trace_is_its_own_request_whatever_its_id(tmp_path, on_store):
    """Span '1' has no trace; trace '1' holds spans '2' and '3': two requests
    (costs 2.0 and 1.0), not one made by matching the span id to the trace id."""
    spans = pd.DataFrame(
        {
            "trace_id": pd.array(["1", "1", None], dtype="string"),
            "span_id": ["2", "3", "1"],
            "intent": "x",
            "cost_usd": [1.0, 1.0, 1.0],
        }
    )
    source, store = _frame_and_store(tmp_path, spans, on_store)
    out = cost_by(source, by="intent")
    assert out["n_requests"].tolist() == [2]
    assert out["cost_per_request_usd"].tolist() == [1.5]
    if store:
        store.close()
    top = most_expensive_traces(spans)
    assert sorted(top["cost_usd"].tolist()) == [1.0, 2.0]


def test_nan_cost_in_an_arrow_column_is_an_unknown_cost():
    """0/0 in a pyarrow-backed float column is NaN, not null: cost_by counts it
    as a span without a cost (as a store does, which stores it as null)
    instead of letting it make every total NaN."""
    import pyarrow as pa

    spans = pd.DataFrame(
        {
            "trace_id": ["T", "T", "U"],
            "span_id": list("abc"),
            "intent": "x",
            "cost_usd": pd.arrays.ArrowExtensionArray(
                pa.array([1.0, float("nan"), 2.0])
            ),
        }
    )
    row = cost_by(spans).iloc[0]
    assert row["total_cost_usd"] == 3.0
    assert row["n_without_cost"] == 1
    assert row["n_requests_priced"] == 1


def test_large_integers_beside_a_missing_one_load_back_exactly(tmp_path):
    """Arrow's default hands an int64 column holding a null back as float64,
    which rounds 2**60 + 1 and 2**60 + 2 to one value; every read from a store
    goes through store.execute, which keeps them as Int64."""
    spans = make_spans(3).assign(
        customer_id=pd.array([2**60 + 1, 2**60 + 2, None], dtype="Int64")
    )
    store = open_store(tmp_path / "s.duckdb")
    store.append(spans=spans)
    back = load_from_store(store, tables=("spans",))["spans"].sort_values("span_id")
    assert back["customer_id"].dtype == "Int64"
    assert back["customer_id"].tolist()[:2] == [2**60 + 1, 2**60 + 2]
    assert back["customer_id"].isna().tolist() == [False, False, True]
    store.close()
