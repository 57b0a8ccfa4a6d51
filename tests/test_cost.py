"""Tests of llmdrift.cost: token buckets, prices, rollups, the judging budget.

Expected values come from the known-faults case file (derivations there),
from genai-prices' own per-call ``calc_price``, from the Langfuse traces'
recorded costs, from closed-form Neyman allocation and from simulation.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import shared_path
from scipy import stats

from llmdrift import cost_by, cost_per_quality, judge_cost, price_spans, sample_plan
from llmdrift.cost import (
    cost_coverage,
    cost_difference,
    cost_movers,
    detectable_drop,
    model_prices,
    most_expensive_traces,
    normalize_usage,
    usage_spans,
)
from llmdrift.schema import LlmdriftWarning, SchemaError

T0 = pd.Timestamp("2025-03-03", tz="UTC")

# prices invented by the case file (USD / MTok)
BR_PRICES = pd.DataFrame(
    {
        "model": ["*", "*"],
        "provider": ["anthropic", "openai"],
        "input": [3.00, 2.00],
        "cache_read": [0.30, 0.50],
        "cache_write": [3.75, None],
        "output": [15.00, 8.00],
    }
)


def br_frame(nested: bool = True) -> pd.DataFrame:
    """BR-01 (R1, R2), BR-02, BR-04 and the BR-04 guard row in one frame."""
    openai = {
        "provider": "openai",
        "request_model": "model-b",
        "prompt_tokens": 12000,
        "completion_tokens": 500,
    }
    if nested:
        openai["prompt_tokens_details"] = {"cached_tokens": 10000}
    else:
        openai["prompt_tokens_details.cached_tokens"] = 10000
    rows = [
        {
            "provider": "anthropic",
            "request_model": "model-a",
            "input_tokens": 7,
            "cache_creation_input_tokens": 20000,
            "cache_read_input_tokens": 0,
            "output_tokens": 400,
        },
        {
            "provider": "anthropic",
            "request_model": "model-a",
            "input_tokens": 7,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 20000,
            "output_tokens": 400,
        },
        openai,
        {
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "model-c",
            "gen_ai.usage.input_tokens": 4000,
            "gen_ai.usage.cache_read.input_tokens": 3000,
            "gen_ai.usage.cache_creation.input_tokens": 900,
            "gen_ai.usage.output_tokens": 100,
        },
        {  # guard: Anthropic's exclusive count in the inclusive OTel attribute
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "model-c",
            "gen_ai.usage.input_tokens": 5,
            "gen_ai.usage.cache_read_input_tokens": 3000,  # older alias
            "gen_ai.usage.output_tokens": 100,
        },
    ]
    frame = pd.DataFrame(rows)
    frame["start_time"] = T0
    return frame


def price_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LlmdriftWarning)
        return price_spans(*args, **kwargs)


# --------------------------------------------------------------- BR-01/02/04
@pytest.mark.parametrize("nested", [True, False])
def test_br01_br02_br04_one_call_one_frame(nested):
    frame = br_frame(nested)
    before = frame.copy()
    with pytest.warns(LlmdriftWarning, match="contradictory token counts"):
        out = price_spans(frame, BR_PRICES)
    pd.testing.assert_frame_equal(frame, before)  # caller's frame untouched

    cost = out["cost_usd"]
    assert cost.iloc[0] == pytest.approx(0.081021, abs=1e-12)  # BR-01 R1
    assert cost.iloc[1] == pytest.approx(0.012021, abs=1e-12)  # BR-01 R2
    assert cost.iloc[2] == pytest.approx(0.013000, abs=1e-12)  # BR-02
    assert cost.iloc[3] == pytest.approx(0.006075, abs=1e-12)  # BR-04
    assert out["input_tokens"].tolist()[:4] == [20007, 20007, 12000, 4000]
    assert out["uncached_input_tokens"].tolist()[:4] == [7, 7, 2000, 100]
    assert out["cache_read_tokens"].tolist()[:4] == [0, 20000, 10000, 3000]
    assert out["cache_write_tokens"].tolist()[:4] == [20000, 0, 0, 900]
    # the wrong answers seen in the wild do not appear
    wrong = [0.141021, 0.072021, 0.066021, 0.028000, 0.033000, 0.017775]
    for value in cost.dropna():
        assert all(abs(value - w) > 1e-9 for w in wrong)
    assert 22000 not in out["input_tokens"].tolist()
    assert 7900 not in out["input_tokens"].tolist()

    # guard row: flagged, no negative or clamped count, no cost
    guard = out.iloc[4]
    assert bool(guard["usage_inconsistent"]) is True
    assert pd.isna(guard["uncached_input_tokens"])
    assert pd.isna(guard["cost_usd"])
    assert out["usage_inconsistent"].tolist()[:4] == [False] * 4
    assert (out["uncached_input_tokens"].dropna() >= 0).all()
    assert (out["cost_usd"].dropna() >= 0).all()


def test_buckets_never_overlap():
    out = price_quietly(br_frame(), BR_PRICES)
    ok = ~out["usage_inconsistent"].astype(bool)
    parts = out[["uncached_input_tokens", "cache_read_tokens", "cache_write_tokens"]]
    assert (parts[ok].sum(axis=1) == out.loc[ok, "input_tokens"]).all()


def test_reprice_is_idempotent_and_one_call():
    first = price_quietly(br_frame(), BR_PRICES)
    again = price_quietly(first, BR_PRICES)
    np.testing.assert_allclose(
        again["cost_usd"].astype(float), first["cost_usd"].astype(float)
    )
    assert again["input_tokens"].tolist() == first["input_tokens"].tolist()
    # a price change: output of the anthropic models doubles
    dearer = BR_PRICES.assign(output=[30.0, 8.0])
    repriced = price_quietly(first, dearer)
    assert repriced["cost_usd"].iloc[0] == pytest.approx(0.081021 + 0.006, abs=1e-12)
    assert repriced["cost_usd"].iloc[2] == pytest.approx(0.013, abs=1e-12)


def test_explicit_convention_column_and_argument():
    rows = pd.DataFrame(
        {
            "request_model": ["m", "m"],
            "start_time": [T0, T0],
            "input_tokens": [100, 100],
            "cache_read_tokens": [60, 60],
            "output_tokens": [10, 10],
            "usage_convention": ["anthropic", "otel"],
        }
    )
    out = normalize_usage(rows)
    assert out["input_tokens"].tolist() == [160, 100]
    assert out["uncached_input_tokens"].tolist() == [100, 40]
    forced = normalize_usage(rows.drop(columns="usage_convention"), convention="openai")
    assert forced["uncached_input_tokens"].tolist() == [40, 40]
    with pytest.raises(ValueError, match="convention"):
        normalize_usage(rows, convention="mistral")


def test_google_reasoning_sits_beside_output():
    rows = pd.DataFrame(
        {
            "prompt_token_count": [1000],
            "cached_content_token_count": [400],
            "candidates_token_count": [50],
            "thoughts_token_count": [200],
        }
    )
    out = normalize_usage(rows)
    assert out["output_tokens"].iloc[0] == 250
    assert out["reasoning_tokens"].iloc[0] == 200
    assert out["uncached_input_tokens"].iloc[0] == 600


def test_openai_reasoning_inside_output_and_contradictions():
    rows = pd.DataFrame(
        {
            "prompt_tokens": [100, 100],
            "completion_tokens": [300, 50],
            "completion_tokens_details.reasoning_tokens": [200, 80],
        }
    )
    with pytest.warns(LlmdriftWarning, match="contradictory"):
        out = normalize_usage(rows)
    assert out["output_tokens"].tolist() == [300, 50]
    assert out["usage_inconsistent"].tolist() == [False, True]


def test_unparseable_counts_are_na_not_zero():
    rows = pd.DataFrame(
        {"llm.token_count.prompt": ["25", "n/a"], "output_tokens": [7, 7]}
    )
    with pytest.warns(LlmdriftWarning, match="not numbers"):
        out = normalize_usage(rows)
    assert out["input_tokens"].iloc[0] == 25
    assert pd.isna(out["input_tokens"].iloc[1])


# ------------------------------------------------------------------- prices
def langfuse_generations() -> pd.DataFrame:
    folder = shared_path("otel_traces", "langfuse_framework_traces")
    rows = []
    for path in sorted(folder.glob("*.trace.json")):
        trace = json.loads(path.read_text())
        for obs in trace["observations"]:
            if obs["type"] != "GENERATION":
                continue
            usage = obs["usageDetails"]
            rows.append(
                {
                    "span_id": obs["id"],
                    "request_model": obs["model"],
                    "start_time": pd.Timestamp(obs["startTime"]),
                    "input_tokens": usage.get("input"),
                    "output_tokens": usage.get("output"),
                    "cache_read_tokens": usage.get("prompt_details.cache_read"),
                    "reasoning_tokens": usage.get("completion_details.reasoning"),
                    "reported_cost_usd": obs["costDetails"]["total"],
                }
            )
    frame = pd.DataFrame(rows)
    for name in (
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "reasoning_tokens",
    ):
        frame[name] = frame[name].astype("Int64")
    return frame


def test_langfuse_traces_recorded_costs_are_reproduced():
    spans = langfuse_generations()
    assert len(spans) == 20
    priced = price_spans(spans)
    np.testing.assert_allclose(
        priced["cost_usd"].astype(float),
        priced["reported_cost_usd"].astype(float),
        rtol=1e-6,
    )
    assert (priced["price_source"] == "genai-prices").all()
    diff = cost_difference(priced)
    assert int(diff["n_both"].iloc[0]) == 20
    assert abs(float(diff["difference_usd"].iloc[0])) < 1e-9
    assert cost_coverage(priced)["line"].startswith("cost known for 100.0% of spans")


def test_vectorised_prices_equal_genai_prices_per_call():
    """Random usage, historic, tiered and time-of-day prices vs calc_price."""
    from genai_prices import Usage, calc_price

    models = [
        ("openai", "o3"),  # price change on 2025-06-10
        ("openai", "gpt-5.6-luna"),  # tiers and a dated change
        ("anthropic", "claude-sonnet-4-6"),  # tiers above 200k input
        ("anthropic", "claude-sonnet-4-5-20250929"),
        ("anthropic", "claude-haiku-4-5"),
        ("google", "gemini-2.0-flash"),
        ("deepseek", "deepseek-chat"),  # off-peak hours
        (None, "gpt-4o-mini"),
    ]
    rng = np.random.default_rng(7)
    n = 240
    pick = rng.integers(0, len(models), n)
    total = rng.integers(0, 400_000, n)
    read = (total * rng.uniform(0, 0.6, n)).astype(int)
    write = ((total - read) * rng.uniform(0, 0.5, n)).astype(int)
    output = rng.integers(0, 20_000, n)
    reasoning = (output * rng.uniform(0, 0.8, n)).astype(int)
    lo, hi = (
        pd.Timestamp("2025-01-01", tz="UTC").value,
        pd.Timestamp("2027-06-01", tz="UTC").value,
    )
    times = pd.to_datetime(rng.integers(lo, hi, n), utc=True).floor("us")
    spans = pd.DataFrame(
        {
            "provider": [models[i][0] for i in pick],
            "request_model": [models[i][1] for i in pick],
            "start_time": times,
            "input_tokens": total,
            "cache_read_tokens": read,
            "cache_write_tokens": write,
            "output_tokens": output,
            "reasoning_tokens": reasoning,
        }
    )
    priced = price_spans(spans)
    expected = []
    for row in spans.itertuples(index=False):
        usage = Usage(
            input_tokens=int(row.input_tokens),
            cache_read_tokens=int(row.cache_read_tokens),
            cache_write_tokens=int(row.cache_write_tokens),
            output_tokens=int(row.output_tokens),
            output_reasoning_tokens=int(row.reasoning_tokens),
        )
        result = calc_price(
            usage,
            row.request_model,
            provider_id=row.provider if isinstance(row.provider, str) else None,
            genai_request_timestamp=row.start_time.to_pydatetime(),
        )
        expected.append(float(result.total_price))
    np.testing.assert_allclose(priced["cost_usd"].astype(float), expected, rtol=1e-9)


def test_historic_price_in_force_at_each_span():
    # o3 cost 10/40 per MTok until 2025-06-10 and 2/8 from then (genai-prices data)
    spans = pd.DataFrame(
        {
            "provider": ["openai", "openai"],
            "request_model": ["o3", "o3"],
            "start_time": pd.to_datetime(
                ["2025-06-09T23:59:59Z", "2025-06-10T00:00:00Z"]
            ),
            "input_tokens": [1_000_000, 1_000_000],
            "output_tokens": [0, 0],
        }
    )
    assert price_spans(spans)["cost_usd"].tolist() == pytest.approx([10.0, 2.0])


def test_override_table_history_glob_and_fallback():
    spans = pd.DataFrame(
        {
            "provider": ["anthropic"] * 3 + ["openai"],
            "request_model": ["claude-haiku-4-5"] * 3 + ["gpt-4o"],
            "start_time": pd.to_datetime(
                ["2025-01-01", "2025-06-01", "2025-09-01", "2025-09-01"], utc=True
            ),
            "input_tokens": [1_000_000] * 4,
            "output_tokens": [0] * 4,
        }
    )
    table = pd.DataFrame(
        {
            "model": ["claude-*", "claude-haiku-4-5"],
            "provider": ["anthropic", "*"],
            "valid_from": pd.to_datetime(["2025-05-01", "2025-08-01"], utc=True),
            "input": [7.0, 9.0],
            "output": [1.0, 1.0],
        }
    )
    out = price_spans(spans, table)
    # before any override: genai-prices (haiku 4.5: 1 USD/MTok input)
    assert out["cost_usd"].tolist() == pytest.approx([1.0, 7.0, 9.0, 2.5])
    assert out["price_source"].tolist() == [
        "genai-prices",
        "override",
        "override",
        "genai-prices",
    ]
    only_table = price_spans(spans, table, genai_prices=False)
    assert only_table["cost_usd"].isna().tolist() == [True, False, False, True]


def test_unknown_model_is_na_and_in_coverage_line():
    spans = pd.DataFrame(
        {
            "request_model": ["gpt-4o", "gpt-4o", "in-house-llm"],
            "start_time": [T0] * 3,
            "input_tokens": [10, 10, 10],
            "output_tokens": [1, 1, 1],
            "reported_cost_usd": [None, None, 0.5],
        }
    )
    out = price_spans(spans)
    assert pd.isna(out["cost_usd"].iloc[2])  # never 0
    coverage = cost_coverage(out)
    assert coverage["line"] == (
        "cost known for 66.7% of spans (2 of 3); 1 unknown model (in-house-llm: 1)"
    )
    assert coverage["unknown_models"] == {"in-house-llm": 1}
    filled = price_spans(spans, use_reported=True)
    assert filled["cost_usd"].iloc[2] == 0.5
    assert filled["price_source"].iloc[2] == "reported"


def test_ingested_cost_kept_beside_computed():
    spans = pd.DataFrame(
        {
            "request_model": ["gpt-4o"],
            "start_time": [T0],
            "input_tokens": [1000],
            "output_tokens": [100],
            "cost_usd": [0.01],
        }
    )
    out = price_spans(spans)
    assert out["reported_cost_usd"].iloc[0] == 0.01
    assert out["cost_usd"].iloc[0] == pytest.approx((1000 * 2.5 + 100 * 10) / 1e6)
    diff = cost_difference(out, by="request_model")
    assert diff["difference_usd"].iloc[0] == pytest.approx(0.0035 - 0.01)


def test_bad_inputs_raise_clear_errors():
    naive = br_frame().assign(start_time=pd.Timestamp("2025-01-01"))
    with pytest.raises(SchemaError, match="naive"):
        price_quietly(naive, BR_PRICES)
    with pytest.raises(SchemaError, match="'output'"):
        price_quietly(br_frame(), BR_PRICES.drop(columns="output"))
    with pytest.raises(SchemaError, match="naive"):
        price_quietly(
            br_frame(),
            BR_PRICES.assign(valid_from=pd.Timestamp("2025-01-01")),
        )
    with pytest.warns(LlmdriftWarning, match="today's prices"):
        price_spans(br_frame().iloc[:4].drop(columns="start_time"), BR_PRICES)


def test_price_spans_bad_input_pass():
    """Missing model, repeated ids, bad override times, NaN/None/text values."""
    frame = br_frame().iloc[:4].assign(span_id=[f"s{i}" for i in range(4)])
    before = frame.copy(deep=True)
    specific = BR_PRICES.assign(model=["model-*", "model-*"])
    no_model = frame.drop(columns=["request_model", "gen_ai.request.model"])
    with pytest.raises(SchemaError, match="no model column.*request_model="):
        price_spans(no_model, specific)
    # a catch-all override row can still price rows without a model
    assert price_spans(no_model, BR_PRICES)["cost_usd"].notna().any()
    with pytest.warns(LlmdriftWarning, match="1 row\\(s\\) repeat a span_id.*'s0'"):
        price_spans(pd.concat([frame, frame.iloc[:1]]), BR_PRICES)
    with pytest.raises(SchemaError, match="'valid_from'.*'next week'"):
        price_spans(
            frame, BR_PRICES.assign(valid_from=["2025-01-01T00:00Z", "next week"])
        )
    with pytest.raises(ValueError, match="genai_prices=False needs a prices="):
        price_spans(frame, genai_prices=False)
    with pytest.raises(TypeError, match="pandas DataFrame of spans"):
        price_spans(frame.to_dict("records"))
    # None model, NaN tokens and text that is not a number: <NA> cost, never 0
    odd = frame.iloc[:2].assign(
        request_model=[None, "model-a"],
        provider=["nobody", "nobody"],
        input_tokens=[np.nan, "n/a"],
    )
    with pytest.warns(LlmdriftWarning, match="not numbers"):
        priced = price_spans(odd, BR_PRICES)
    assert priced["cost_usd"].isna().all()
    # counts outside int64 or infinite: <NA>, never wrapped round or priced
    huge = frame.iloc[:2].assign(
        input_tokens=pd.Series([2**70, float("inf")], dtype=object)
    )
    with pytest.warns(LlmdriftWarning, match="not numbers.*outside int64"):
        priced = price_spans(huge, BR_PRICES)
    assert priced["input_tokens"].isna().all() and priced["cost_usd"].isna().all()
    pd.testing.assert_frame_equal(frame, before)
    empty = price_spans(frame.iloc[:0], BR_PRICES)
    assert len(empty) == 0 and str(empty["cost_usd"].dtype) == "Float64"


def test_model_prices_from_genai_prices():
    p = model_prices("claude-haiku-4-5", provider="anthropic", at="2025-11-01T00:00Z")
    assert (p["input"], p["cache_read"], p["cache_write"], p["output"]) == (
        1.0,
        0.1,
        1.25,
        5.0,
    )
    with pytest.raises(LookupError, match="override table"):
        model_prices("no-such-model-xyz")


# ------------------------------------------------------------------ rollups
def br07_spans() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trace_id": ["T1", "T1", "T1", "T2"],
            "span_id": ["R", "K", "L", "A2"],
            "parent_span_id": [None, "R", "K", None],
            "openinference.span.kind": ["AGENT", "TOOL", "LLM", "AGENT"],
            "intent": ["refund"] * 4,
            "llm.token_count.prompt": [800, 800, 800, 300],
            "llm.token_count.completion": [120, 120, 120, 40],
        }
    )


def test_br07_wrapper_spans_not_counted_twice():
    table = cost_by(br07_spans(), by="intent")
    row = table.iloc[0]
    assert row["intent"] == "refund"
    assert (int(row["input_tokens"]), int(row["output_tokens"])) == (1100, 160)
    assert (int(row["input_tokens"]), int(row["output_tokens"])) not in [
        (2700, 400),
        (800, 120),
    ]
    assert int(row["n_fallback_spans"]) == 1  # T2 counted through its agent span
    assert int(row["n_requests"]) == 2
    used = usage_spans(br07_spans())
    assert used["span_id"].tolist() == ["L", "A2"]


def test_fallback_takes_the_deepest_span_carrying_usage():
    spans = pd.DataFrame(
        {
            "span_id": ["A", "K", "C"],
            "parent_span_id": [None, "A", None],
            "span_kind": ["agent", "tool", "chain"],
            "input_tokens": [300, 300, pd.NA],
            "output_tokens": [40, 40, pd.NA],
        }
    )
    used = usage_spans(spans)
    assert used["span_id"].tolist() == ["K"]


def test_llm_wrapper_span_is_left_out_when_calls_below_it_carry_usage():
    # W: a framework's LLM step; L1, L2: two client calls under it (a retry),
    # W repeating their sum. V: an LLM step whose client call below left no
    # usage, so V's totals are the only record. A: an agent over V.
    spans = pd.DataFrame(
        {
            "span_id": ["W", "L1", "L2", "A", "V", "U"],
            "parent_span_id": [None, "W", "W", None, "A", "V"],
            "span_kind": ["llm", "llm", "llm", "agent", "llm", "llm"],
            "input_tokens": [300, 100, 200, 50, 50, pd.NA],
            "output_tokens": [30, 10, 20, 5, 5, pd.NA],
        }
    )
    used = usage_spans(spans)
    assert used["span_id"].tolist() == ["L1", "L2", "V", "U"]
    assert int(used["input_tokens"].sum()) == 100 + 200 + 50
    assert not used["usage_fallback"].any()
    # the rollup (run by DuckDB through Ibis) applies the same rule
    row = cost_by(spans, by=()).iloc[0]
    assert int(row["input_tokens"]) == 350
    assert int(row["n_spans"]) == 4


def test_llm_span_nested_under_llm_span_is_counted_once():
    """An LLM wrapper span (e.g. a framework's LLM step around the client
    call) repeating its child's totals is counted once, through the child."""
    spans = pd.DataFrame(
        {
            "span_id": ["W", "L"],
            "parent_span_id": [None, "W"],
            "span_kind": ["llm", "llm"],
            "input_tokens": [100, 100],
            "output_tokens": [10, 10],
        }
    )
    assert int(cost_by(spans, by=()).iloc[0]["input_tokens"]) == 100


def priced_history() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 400
    times = T0 + pd.to_timedelta(rng.uniform(0, 14, n), unit="D")
    intent = rng.choice(["a", "b"], n)
    return pd.DataFrame(
        {
            "trace_id": [f"t{i // 2}" for i in range(n)],  # two spans per trace
            "span_id": [f"s{i}" for i in range(n)],
            "start_time": times,
            "intent": np.repeat(intent[::2], 2),
            "request_model": "m",
            "input_tokens": rng.integers(100, 1000, n),
            "output_tokens": rng.integers(10, 100, n),
            "cost_usd": rng.uniform(0.001, 0.01, n),
        }
    )


def test_cost_by_figures_against_numpy():
    spans = priced_history()
    table = cost_by(spans, by="intent")
    for intent, row in table.set_index("intent").iterrows():
        part = spans[spans["intent"] == intent]
        per_trace = part.groupby("trace_id")["cost_usd"].sum().to_numpy()
        assert row["n_requests"] == len(per_trace)
        assert row["total_cost_usd"] == pytest.approx(part["cost_usd"].sum())
        assert row["cost_per_request_usd"] == pytest.approx(per_trace.mean())
        assert row["cost_p50_usd"] == pytest.approx(np.median(per_trace))
        assert row["cost_p95_usd"] == pytest.approx(np.percentile(per_trace, 95))
        assert row["input_tokens"] == part["input_tokens"].sum()
    assert table["share"].sum() == pytest.approx(1.0)
    weekly = cost_by(spans, by="intent", freq="W")
    assert set(weekly["window_start"].dt.day_of_week) == {0}
    assert weekly.groupby("window_start")["share"].sum().to_numpy() == pytest.approx(
        [1.0, 1.0]
    )


def test_cost_by_counts_spans_without_cost():
    spans = priced_history()
    spans.loc[0, "cost_usd"] = np.nan
    row = cost_by(spans, by=()).iloc[0]
    assert row["n_without_cost"] == 1
    assert row["n_requests_priced"] == row["n_requests"] - 1


def test_most_expensive_traces_and_movers():
    spans = priced_history()
    top = most_expensive_traces(spans, n=3)
    per_trace = spans.groupby("trace_id")["cost_usd"].sum().sort_values(ascending=False)
    assert top["trace_id"].tolist() == per_trace.index[:3].tolist()
    assert top["cost_usd"].to_numpy() == pytest.approx(per_trace.to_numpy()[:3])
    # make intent b twice as expensive in week 2
    week2 = spans["start_time"] >= T0 + pd.Timedelta(days=7)
    spans.loc[week2 & (spans["intent"] == "b"), "cost_usd"] *= 2
    movers = cost_movers(spans, by="intent", freq="W")
    assert movers["intent"].iloc[0] == "b"
    weekly = cost_by(spans, by="intent", freq="W").set_index(["intent", "window_start"])
    b = weekly.loc["b", "cost_per_request_usd"].to_numpy()
    assert movers["change_pct"].iloc[0] == pytest.approx(b[1] / b[0] - 1)


def test_cost_per_quality_definition_and_alert():
    spans = priced_history()
    week2 = spans["start_time"] >= T0 + pd.Timedelta(days=7)
    scores = pd.DataFrame(
        {
            "span_id": spans["span_id"],
            "time": spans["start_time"],
            "dimension": "format",
            "value": np.where(week2, 3.0, 4.0),  # quality falls from 4 to 3
        }
    )
    out = cost_per_quality(spans, scores, by=(), freq="W")
    weekly = cost_by(spans, by=(), freq="W")
    expected = weekly["cost_per_request_usd"].to_numpy() / np.array([4.0, 3.0])
    assert out["cost_per_quality_usd"].to_numpy() == pytest.approx(expected)
    change = expected[1] / expected[0] - 1
    assert out["change_pct"].iloc[1] == pytest.approx(change)
    assert out["alert"].tolist() == [False, change >= 0.30]
    passing = cost_per_quality(
        spans, scores, by=(), freq="W", quality="pass_rate", threshold=3.5
    )
    assert passing["quality"].tolist() == [1.0, 0.0]
    assert np.isnan(passing["cost_per_quality_usd"].iloc[1])  # nothing passed


# ------------------------------------------------------------------- budget
def test_judge_cost_by_hand():
    spans = pd.DataFrame(
        {
            "span_id": ["1", "2", "3"],
            "intent": ["a", "a", "b"],
            "input_tokens": [1000, 3000, 500],
            "output_tokens": [300, 500, 50],
            "reasoning_tokens": [100, 100, 0],
        }
    )
    kw = dict(
        judge_model="claude-haiku-4-5",
        rubric_tokens=2000,
        verdict_tokens=100,
        at="2025-11-01T00:00:00Z",
    )
    out = judge_cost(spans, **kw).set_index("intent")
    # a: request 2000, visible response 300; haiku 4.5 = 1 / 0.1 / 5 USD per MTok
    assert out.loc["a", "cost_per_judgement_usd"] == pytest.approx(
        (2300 * 1.0 + 2000 * 0.1 + 100 * 5.0) / 1e6
    )
    no_cache = judge_cost(spans, cache_rubric=False, **kw).set_index("intent")
    assert no_cache.loc["b", "cost_per_judgement_usd"] == pytest.approx(
        (550 + 2000 + 500) / 1e6
    )
    batch = judge_cost(spans, batch=True, **kw).set_index("intent")
    assert batch.loc["a", "cost_per_judgement_usd"] == pytest.approx(
        out.loc["a", "cost_per_judgement_usd"] / 2
    )
    contents = pd.DataFrame(
        {
            "span_id": ["1", "3"],
            "input_text": ["x" * 400, "y" * 40],
            "output_text": ["z" * 80, ""],
        }
    )
    from_text = judge_cost(spans, contents=contents, **kw).set_index("intent")
    assert from_text.loc["a", "request_tokens"] == 100  # 400 chars / 4


def plan_spans(n_a=1400, n_b=700, days=7, errors_b=14) -> pd.DataFrame:
    start = pd.Timestamp("2025-03-03", tz="UTC")
    total = n_a + n_b
    times = start + pd.to_timedelta(np.linspace(0, days - 1e-6, total), unit="D")
    status = ["ok"] * total
    for i in range(errors_b):
        status[n_a + i] = "error"
    return pd.DataFrame(
        {
            "span_id": [str(i) for i in range(total)],
            "start_time": times,
            "intent": ["a"] * n_a + ["b"] * n_b,
            "status": status,
        }
    )


def test_sample_plan_is_neyman_allocation():
    spans = plan_spans(errors_b=0)
    judge = pd.DataFrame({"intent": ["a", "b"], "cost_per_judgement_usd": [0.01, 0.04]})
    scores = pd.DataFrame(
        {
            "span_id": ["0", "1", "2", "1400", "1401", "1402"],
            "dimension": "q",
            "value": [1.0, 2.0, 3.0, 1.0, 3.0, 5.0],  # std 1 and 2
        }
    )
    plan = sample_plan(spans, 1.0, judge=judge, scores=scores, floor=0.0)
    n = np.array([200.0, 100.0])  # requests per day
    s = np.array([1.0, 2.0])
    c = np.array([0.01, 0.04])
    expected = 1.0 * n * s / np.sqrt(c) / np.sum(n * s * np.sqrt(c))
    assert plan["n_judged_per_day"].to_numpy() == pytest.approx(expected)
    assert plan["rate"].to_numpy() == pytest.approx(expected / n)
    assert plan["daily_cost_usd"].sum() == pytest.approx(1.0)
    assert plan["score_std"].tolist() == pytest.approx([1.0, 2.0])


def test_sample_plan_floor_cap_and_always_included():
    spans = plan_spans()  # 2 errored b requests per day
    judge = pd.DataFrame({"intent": ["a", "b"], "cost_per_judgement_usd": [0.01, 0.01]})
    plan = sample_plan(spans, 0.5, judge=judge, floor=0.1).set_index("intent")
    assert plan.loc["b", "n_always_per_day"] == pytest.approx(2.0)
    # always-judged cost first (0.02), then 48 judgements split 200:98
    assert plan["daily_cost_usd"].sum() == pytest.approx(0.5)
    ordinary = np.array([200.0, 98.0])
    rate = 48.0 / ordinary.sum()
    assert plan["rate"].to_numpy() == pytest.approx([rate, rate])
    rich = sample_plan(spans, 100.0, judge=judge, floor=0.1)
    assert rich["rate"].tolist() == [1.0, 1.0]
    # a: 0.001, b: 0.1 per judgement -> unconstrained rate_a = 10 x rate_b;
    # b sits at its floor (98 x 0.1 x 0.1 = 0.98), a gets 1.28 - 0.2 - 0.98
    dear_b = judge.assign(cost_per_judgement_usd=[0.001, 0.1])
    floored = sample_plan(spans, 1.28, judge=dear_b, floor=0.1).set_index("intent")
    assert floored["rate"].tolist() == pytest.approx([0.5, 0.1])
    with pytest.warns(LlmdriftWarning, match="does not cover"):
        poor = sample_plan(spans, 0.01, judge=judge, floor=0.1)
    assert poor.attrs["within_budget"] is False
    assert poor["rate"].tolist() == pytest.approx([0.1, 0.1])


def test_detectable_drop_matches_statsmodels():
    from statsmodels.stats.power import tt_ind_solve_power

    expected = tt_ind_solve_power(nobs1=50, alpha=0.05, power=0.8, ratio=2.0)
    assert detectable_drop(50, n_baseline=100, std=2.0) == pytest.approx(2 * expected)
    assert np.isnan(detectable_drop(1))


def test_detectable_drop_is_caught_in_simulated_windows():
    """At the recommended rate, a drop of the reported size is detected in at
    least 80% of simulated 7-day windows (normal scores, t-test, alpha 0.05)."""
    spans = plan_spans(n_a=2100, n_b=700, days=7, errors_b=0)
    judge = pd.DataFrame(
        {"intent": ["a", "b"], "cost_per_judgement_usd": [0.002, 0.004]}
    )
    rng = np.random.default_rng(11)
    std = {"a": 1.0, "b": 0.7}
    scores = pd.DataFrame(
        {
            "span_id": spans["span_id"],
            "dimension": "q",
            "value": [rng.normal(4, std[i]) for i in spans["intent"]],
        }
    )
    plan = sample_plan(spans, 0.3, judge=judge, scores=scores, floor=0.02)
    reps = 4000
    for row in plan.itertuples(index=False):
        population = int(round((row.n_per_day - row.n_always_per_day) * 7))
        drop, sigma = row.detectable_drop, row.score_std
        n1 = rng.binomial(population, row.rate, reps)
        n2 = rng.binomial(population, row.rate, reps)
        # exact sampling distributions of the means and variances of normal scores
        m1 = rng.normal(0.0, sigma / np.sqrt(n1))
        m2 = rng.normal(-drop, sigma / np.sqrt(n2))
        v1 = sigma**2 * rng.chisquare(n1 - 1) / (n1 - 1)
        v2 = sigma**2 * rng.chisquare(n2 - 1) / (n2 - 1)
        df = n1 + n2 - 2
        pooled = ((n1 - 1) * v1 + (n2 - 1) * v2) / df
        t = (m1 - m2) / np.sqrt(pooled * (1 / n1 + 1 / n2))
        p = 2 * stats.t.sf(np.abs(t), df)
        caught = float(np.mean(p < 0.05))
        assert caught >= 0.80, (row.intent, row.rate, caught)


def test_detectable_drop_on_likert_scores():
    """The same check with raw 1-5 judge scores (not normal), one intent."""
    spans = plan_spans(n_a=1400, n_b=0, days=7, errors_b=0)
    rng = np.random.default_rng(5)
    levels = np.arange(1, 6)
    probs = np.array([0.05, 0.1, 0.2, 0.35, 0.3])
    scores = pd.DataFrame(
        {
            "span_id": spans["span_id"],
            "dimension": "q",
            "value": rng.choice(levels, len(spans), p=probs).astype(float),
        }
    )
    plan = sample_plan(spans, 0.2, judge=0.002, scores=scores)
    row = plan.iloc[0]
    population = int(round(row["n_per_day"] * 7))
    # the current window is the same distribution shifted down by the drop
    drop = row["detectable_drop"]
    caught = 0
    reps = 600
    for _ in range(reps):
        base = rng.choice(levels, rng.binomial(population, row["rate"]), p=probs)
        cur = rng.choice(levels, rng.binomial(population, row["rate"]), p=probs) - drop
        caught += stats.ttest_ind(base, cur).pvalue < 0.05
    assert caught / reps >= 0.80


def test_sample_plan_output_feeds_sample_for_judging():
    plan = sample_plan(plan_spans(), 0.5, judge=0.01)
    assert {"intent", "rate"} <= set(plan.columns)
    assert plan["rate"].between(0, 1).all()


def test_sample_plan_bad_inputs():
    spans = plan_spans()
    with pytest.raises(ValueError, match="budget_per_day"):
        sample_plan(spans, -1.0, judge=0.01)
    with pytest.raises(ValueError, match="no row"):
        sample_plan(
            spans,
            1.0,
            judge=pd.DataFrame({"intent": ["a"], "cost_per_judgement_usd": [0.1]}),
        )
    with pytest.raises(ValueError, match="'reviewed'"):
        sample_plan(spans, 1.0, judge=0.01, always=("reviewed",))


def test_dates_are_utc_aware():
    table = cost_by(priced_history(), by="intent", freq="D")
    assert str(table["window_start"].dt.tz) == "UTC"


# ------------------------------------------------------------ charts, widget
def test_charts_draw_the_library_tables():
    from llmdrift.charts import (
        cost_over_time_chart,
        cost_per_quality_chart,
        expensive_traces_chart,
        sample_plan_chart,
    )

    spans = priced_history()
    over_time = cost_over_time_chart(cost_by(spans, by="intent", freq="D")).to_dict()
    assert over_time["encoding"]["y"]["field"] == "total_cost_usd"
    layers = expensive_traces_chart(
        most_expensive_traces(spans, n=5), cost_by(spans, by="intent")
    ).to_dict()["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["bar", "tick", "circle"]
    scores = pd.DataFrame(
        {
            "span_id": spans["span_id"],
            "time": spans["start_time"],
            "dimension": "format",
            "value": 4.0,
        }
    )
    cpq = cost_per_quality_chart(cost_per_quality(spans, scores)).to_dict()
    assert len(cpq["layer"]) == 2
    plan = sample_plan(spans, 0.05, judge=0.001)
    assert len(sample_plan_chart(plan).to_dict()["hconcat"]) == 3
    with pytest.raises(ValueError, match="cost_by"):
        cost_over_time_chart(pd.DataFrame({"x": [1]}))


def test_budget_slider_replans_and_redraws():
    from llmdrift.widgets import BudgetExplorer

    spans = plan_spans()
    judge = pd.DataFrame({"intent": ["a", "b"], "cost_per_judgement_usd": [0.01, 0.01]})
    explorer = BudgetExplorer(spans, judge=judge, budget=0.5, floor=0.1)
    first = explorer.plan["rate"].to_numpy()
    assert "$0.50/day" in explorer.summary.value
    explorer.slider.value = 1.0
    assert explorer.plan.attrs["budget_per_day"] == pytest.approx(1.0)
    assert (explorer.plan["rate"].to_numpy() > first).all()
    assert "$1.00/day" in explorer.summary.value
    expected = sample_plan(spans, 1.0, judge=judge, floor=0.1)
    assert f"{expected['rate'].iloc[0]:.1%}" in explorer.table.value


def test_spans_from_read_otlp_price_and_roll_up(tmp_path):
    """The ingest contract (OTel meaning, upstream usage_inconsistent flag)."""
    from llmdrift import read_otlp

    def attr(key, value):
        kind = "intValue" if isinstance(value, int) else "stringValue"
        return {"key": key, "value": {kind: value}}

    def span(span_id, tokens_in, cache_read, cache_write):
        attributes = {
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "model-c",
            "gen_ai.operation.name": "chat",
            "gen_ai.usage.input_tokens": tokens_in,
            "gen_ai.usage.cache_read.input_tokens": cache_read,
            "gen_ai.usage.cache_creation.input_tokens": cache_write,
            "gen_ai.usage.output_tokens": 100,
        }
        return {
            "traceId": "0af7651916cd43dd8448eb211c80319c",
            "spanId": span_id,
            "name": "chat model-c",
            "startTimeUnixNano": "1718000000000000000",
            "endTimeUnixNano": "1718000001000000000",
            "attributes": [attr(k, v) for k, v in attributes.items()],
        }

    document = {
        "resourceSpans": [
            {
                "resource": {"attributes": [attr("service.name", "svc")]},
                "scopeSpans": [
                    {
                        "scope": {"name": "t"},
                        "spans": [
                            span("b7ad6b7169203331", 4000, 3000, 900),
                            span("b7ad6b7169203332", 5, 3000, 0),  # BR-04 guard
                        ],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(document))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LlmdriftWarning)
        spans = read_otlp(path)
        priced = price_spans(spans, BR_PRICES)
        table = cost_by(spans, by=())  # unpriced ingest frame rolls up as well
    assert priced["cost_usd"].iloc[0] == pytest.approx(0.006075, abs=1e-12)
    assert pd.isna(priced["cost_usd"].iloc[1])
    assert priced["usage_inconsistent"].tolist() == [False, True]
    assert int(table["input_tokens"].iloc[0]) == 4005
    assert int(table["n_usage_inconsistent"].iloc[0]) == 1
