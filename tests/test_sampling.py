"""Tests of sample_for_judging and population_mean (llmdrift.judge)."""

from __future__ import annotations

import hashlib
import math
import struct

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from llmdrift import LlmdriftWarning, population_mean, sample_for_judging
from llmdrift.judge import sample_uniform

MASK = (1 << 64) - 1


def _siphash24(key: bytes, message: bytes) -> int:
    """SipHash-2-4 written from the paper (Aumasson & Bernstein 2012)."""

    def rotl(x, b):
        return ((x << b) | (x >> (64 - b))) & MASK

    k0, k1 = struct.unpack("<QQ", key)
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573

    def sipround(v0, v1, v2, v3):
        v0 = (v0 + v1) & MASK
        v1 = rotl(v1, 13) ^ v0
        v0 = rotl(v0, 32)
        v2 = (v2 + v3) & MASK
        v3 = rotl(v3, 16) ^ v2
        v0 = (v0 + v3) & MASK
        v3 = rotl(v3, 21) ^ v0
        v2 = (v2 + v1) & MASK
        v1 = rotl(v1, 17) ^ v2
        v2 = rotl(v2, 32)
        return v0, v1, v2, v3

    tail = len(message) % 8
    body = message[: len(message) - tail]
    for i in range(0, len(body), 8):
        (m,) = struct.unpack("<Q", body[i : i + 8])
        v3 ^= m
        v0, v1, v2, v3 = sipround(v0, v1, v2, v3)
        v0, v1, v2, v3 = sipround(v0, v1, v2, v3)
        v0 ^= m
    last = (len(message) & 0xFF) << 56
    for i, byte in enumerate(message[len(message) - tail :]):
        last |= byte << (8 * i)
    v3 ^= last
    v0, v1, v2, v3 = sipround(v0, v1, v2, v3)
    v0, v1, v2, v3 = sipround(v0, v1, v2, v3)
    v0 ^= last
    v2 ^= 0xFF
    for _ in range(4):
        v0, v1, v2, v3 = sipround(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def _uniform_by_hand(span_id: str, salt: str) -> float:
    key = hashlib.blake2b(salt.encode(), digest_size=8).hexdigest().encode()
    h = _siphash24(key, span_id.encode())
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & MASK
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & MASK
    h ^= h >> 31
    return (h >> 11) / 2**53


def test_siphash_reference_vector():
    # Appendix A of the SipHash paper: key 00..0f, message 00..0e.
    key = bytes(range(16))
    assert _siphash24(key, bytes(range(15))) == 0xA129CA6149BE45E5


@pytest.mark.parametrize("salt", ["llmdrift", "other salt", ""])
def test_uniform_follows_documented_rule(salt):
    ids = ["", "a", "0123456789abcdef", "ünïcode-id", "x" * 40]
    got = sample_uniform(ids, salt=salt)
    expected = [_uniform_by_hand(i, salt) for i in ids]
    assert got.tolist() == expected


def _population(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "span_id": [f"{x:016x}" for x in rng.integers(0, 2**62, n)],
            "intent": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]),
            "status": np.where(rng.random(n) < 0.01, "error", "ok"),
            "flagged": rng.random(n) < 0.005,
        }
    )


RATES = {"a": 0.02, "b": 0.05, "c": 0.2}


def test_stratified_rates_and_probabilities():
    spans = _population(100_000)
    sample = sample_for_judging(spans, RATES, always=())
    for intent, rate in RATES.items():
        n_stratum = int((spans.intent == intent).sum())
        got = int((sample.intent == intent).sum())
        # binomial count within 4 standard deviations of rate * n
        sd = math.sqrt(n_stratum * rate * (1 - rate))
        assert abs(got - n_stratum * rate) < 4 * sd
        probs = sample.loc[sample.intent == intent, "inclusion_prob"]
        assert (probs == rate).all()
    assert (sample.sample_reason == "random").all()


def test_always_included_strata():
    spans = _population()
    sample = sample_for_judging(spans, {"a": 0.0, "b": 0.0, "c": 0.0})
    expected = spans.loc[(spans.status == "error") | spans.flagged, "span_id"]
    assert set(sample.span_id) == set(expected)
    assert (sample.inclusion_prob == 1.0).all()
    errors = sample.loc[sample.span_id.isin(spans.span_id[spans.status == "error"])]
    assert (errors.sample_reason == "error").all()
    only_flag = spans.flagged & (spans.status != "error")
    flagged = sample.loc[sample.span_id.isin(spans.span_id[only_flag])]
    assert len(flagged) > 0 and (flagged.sample_reason == "flagged").all()

    # with positive rates every error and flag is still in, with probability 1
    sample = sample_for_judging(spans, RATES)
    forced = sample.span_id.isin(expected)
    assert forced.sum() == len(expected)
    assert (sample.loc[forced, "inclusion_prob"] == 1.0).all()


def test_error_type_counts_as_error_and_custom_boolean_column():
    spans = pd.DataFrame(
        {
            "span_id": ["s1", "s2", "s3"],
            "intent": ["a", "a", "a"],
            "error_type": [None, "Timeout", None],
            "vip": [False, False, True],
        }
    )
    sample = sample_for_judging(spans, 0.0, always=("error", "vip"))
    assert sample.span_id.tolist() == ["s2", "s3"]
    assert sample.sample_reason.tolist() == ["error", "vip"]


def test_nested_samples():
    spans = _population()
    small = sample_for_judging(spans, 0.05)
    large = sample_for_judging(spans, 0.10)
    assert set(small.span_id) < set(large.span_id)
    assert len(small) < len(large)
    # per-stratum plans nest as long as every stratum's rate grows
    plan_small = {"a": 0.01, "b": 0.05, "c": 0.1}
    plan_large = {"a": 0.02, "b": 0.05, "c": 0.3}
    assert set(sample_for_judging(spans, plan_small).span_id) <= set(
        sample_for_judging(spans, plan_large).span_id
    )


def test_deterministic_and_order_free():
    spans = _population()
    first = sample_for_judging(spans, RATES)
    again = sample_for_judging(spans, RATES)
    pd.testing.assert_frame_equal(first, again)
    shuffled = spans.sample(frac=1.0, random_state=3)
    assert set(sample_for_judging(shuffled, RATES).span_id) == set(first.span_id)
    other = sample_for_judging(spans, RATES, salt="another")
    assert set(other.span_id) != set(first.span_id)


def test_input_not_modified_and_columns_kept():
    spans = _population(500)
    before = spans.copy()
    sample = sample_for_judging(spans, 0.5)
    pd.testing.assert_frame_equal(spans, before)
    assert list(sample.columns) == [
        *spans.columns,
        "inclusion_prob",
        "sample_reason",
        "sample_u",
    ]
    assert (sample.sample_u[sample.sample_reason == "random"] < 0.5).all()
    assert sample.index.equals(pd.RangeIndex(len(sample)))


def test_sample_plan_frame_and_missing_strata():
    spans = _population(2_000)
    plan = pd.DataFrame({"intent": ["a", "b", "c"], "rate": [0.02, 0.05, 0.2]})
    from_plan = sample_for_judging(spans, plan)
    from_dict = sample_for_judging(spans, RATES)
    pd.testing.assert_frame_equal(from_plan, from_dict)
    with pytest.raises(ValueError, match=r"no entry for intent value\(s\) \['c'\]"):
        sample_for_judging(spans, {"a": 0.1, "b": 0.1})
    partial = sample_for_judging(spans, {"a": 0.1, "b": 0.1}, default_rate=0.2)
    assert (partial.loc[partial.intent == "c", "inclusion_prob"].isin([0.2, 1])).all()
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        sample_for_judging(spans, 1.5)
    with pytest.raises(ValueError, match="needs columns 'intent' and 'rate'"):
        sample_for_judging(spans, pd.DataFrame({"intent": ["a"]}))
    with pytest.raises(ValueError, match="unknown always-include rule 'oops'"):
        sample_for_judging(spans, 0.1, always=("oops",))


def test_missing_intent_stratum_and_non_model_spans():
    spans = pd.DataFrame(
        {
            "span_id": ["s1", "s2", "s3"],
            "intent": ["a", None, None],
            "span_kind": ["llm", "llm", "tool"],
        }
    )
    sample = sample_for_judging(spans, {"a": 0.0, None: 1.0}, always=())
    assert sample.span_id.tolist() == ["s2"]


def _scores_for(sample, values, dimension="quality"):
    return pd.DataFrame(
        {
            "span_id": sample.span_id.to_numpy(),
            "time": pd.Timestamp("2024-05-01", tz="UTC"),
            "dimension": dimension,
            "value": values,
            "scorer": "judge-model",
            "kind": "judge",
            "inclusion_prob": sample.inclusion_prob.to_numpy(),
        }
    )


def test_population_mean_by_hand():
    # three strata: pi=0.1 (y=1,2), pi=0.5 (y=4,5), census pi=1 (y=3)
    scores = pd.DataFrame(
        {
            "span_id": list("abcde"),
            "time": pd.Timestamp("2024-05-01", tz="UTC"),
            "dimension": "q",
            "value": [1.0, 2.0, 4.0, 5.0, 3.0],
            "scorer": "j",
            "kind": "judge",
            "inclusion_prob": [0.1, 0.1, 0.5, 0.5, 1.0],
        }
    )
    out = population_mean(scores)
    # weights 10, 10, 2, 2, 1 -> N_hat 25; sum w*y = 10+20+8+10+3 = 51
    mean = 51 / 25
    resid = np.array([1, 2, 4, 5, 3]) - mean
    pi = np.array([0.1, 0.1, 0.5, 0.5, 1.0])
    var = float(((1 - pi) * resid**2 / pi**2).sum()) / 25**2
    half = stats.t.ppf(0.975, 3) * math.sqrt(var)
    row = out.iloc[0]
    assert row["mean"] == pytest.approx(2.04)
    assert row["se"] == pytest.approx(math.sqrt(var))
    assert row["ci_low"] == pytest.approx(mean - half)
    assert row["ci_high"] == pytest.approx(mean + half)
    assert row["n"] == 5 and row["population_size"] == pytest.approx(25.0)
    assert row["method"] == "hajek"


def test_population_mean_spans_join_by_and_failures():
    spans = _population(5_000)
    sample = sample_for_judging(spans, 0.2)
    rng = np.random.default_rng(1)
    values = rng.integers(1, 6, len(sample)).astype(float)
    values[:3] = np.nan
    scores = _scores_for(sample, values).drop(columns="inclusion_prob")
    before = scores.copy()
    with pytest.warns(LlmdriftWarning, match="3 score rows have no value"):
        out = population_mean(scores, spans=sample, by="intent")
    pd.testing.assert_frame_equal(scores, before)
    assert out.intent.tolist() == ["a", "b", "c"]
    assert out.n_failed.sum() == 3
    assert out.n.sum() == len(sample) - 3
    with pytest.raises(ValueError, match="needs column"):
        population_mean(scores)


def test_population_mean_recovers_known_mean_in_94_of_100_draws():
    rng = np.random.default_rng(7)
    spans = _population(10_000, seed=7)
    level = {"a": 4.2, "b": 3.0, "c": 2.0}
    noise = rng.normal(0, 1.2, len(spans))
    truth = np.clip(np.round(spans.intent.map(level).to_numpy() + noise), 1, 5)
    truth[(spans.status == "error").to_numpy()] = 1.0
    population_value = pd.Series(truth, index=spans.span_id.to_numpy())
    known_mean = truth.mean()

    covered = {"hajek": 0, "stratified": 0}
    for draw in range(100):
        sample = sample_for_judging(spans, RATES, salt=f"draw-{draw}")
        scores = _scores_for(sample, population_value.loc[sample.span_id].to_numpy())
        for est in (
            population_mean(scores).iloc[0],
            population_mean(scores, population=spans).iloc[0],
        ):
            covered[est["method"]] += est["ci_low"] <= known_mean <= est["ci_high"]
    assert covered["hajek"] >= 94
    assert covered["stratified"] >= 94


def test_stratified_estimate_by_hand():
    # stratum a: N=6, one forced (y=1) and 2 random of 5 (y=4, 5);
    # stratum b: N=4, 2 random (y=2, 3); one more span is a tool call
    population = pd.DataFrame(
        {
            "span_id": [f"s{i}" for i in range(11)],
            "intent": ["a"] * 6 + ["b"] * 4 + ["b"],
            "span_kind": ["llm"] * 10 + ["tool"],
        }
    )
    scores = pd.DataFrame(
        {
            "span_id": ["s0", "s1", "s2", "s6", "s7"],
            "time": pd.Timestamp("2024-05-01", tz="UTC"),
            "dimension": "q",
            "value": [1.0, 4.0, 5.0, 2.0, 3.0],
            "scorer": "j",
            "kind": "judge",
            "inclusion_prob": [1.0, 0.4, 0.4, 0.5, 0.5],
        }
    )
    out = population_mean(scores, population=population).iloc[0]
    total = 1 * 1.0 + 5 * 4.5 + 4 * 2.5  # forced + (N_a - F_a) m_a + N_b m_b
    assert out["mean"] == pytest.approx(total / 10)
    var = 5**2 * (1 - 2 / 5) * 0.5 / 2 + 4**2 * (1 - 2 / 4) * 0.5 / 2
    assert out["se"] == pytest.approx(math.sqrt(var) / 10)
    half = stats.t.ppf(0.975, 2) * math.sqrt(var) / 10
    assert out["ci_high"] == pytest.approx(total / 10 + half)
    assert out["population_size"] == 10 and out["method"] == "stratified"

    by = population_mean(scores, population=population, by="intent")
    assert by["mean"].tolist() == pytest.approx([(1 + 5 * 4.5) / 6, 2.5])
    with pytest.raises(ValueError, match="by columns must be strata"):
        population_mean(scores, population=population, by="dimension_x")
    # a stratum with population but no random score cannot be estimated
    lone = population_mean(
        scores[scores.span_id != "s6"].iloc[:3], population=population
    )
    assert np.isnan(lone["mean"].item())


def test_takes_the_cost_sample_plan():
    from llmdrift import sample_plan

    spans = _population(3_000)
    spans["start_time"] = pd.Timestamp("2025-01-06", tz="UTC") + pd.to_timedelta(
        np.arange(len(spans)) * 20, unit="s"
    )
    spans.loc[::97, "intent"] = None  # requests of unknown intent are a stratum
    plan = sample_plan(spans, 0.5, judge=0.001, floor=0.01)
    sample = sample_for_judging(spans, plan)
    rates = dict(
        zip(
            plan.intent.astype(object).where(plan.intent.notna(), None),
            plan.rate,
            strict=True,
        )
    )
    random_rows = sample[sample.sample_reason == "random"]
    for intent, prob in zip(
        random_rows.intent, random_rows.inclusion_prob, strict=True
    ):
        assert prob == rates[None if pd.isna(intent) else intent]


def test_sampling_bad_input_names_the_column_and_the_fix():
    spans = pd.DataFrame(
        {"span_id": [f"{i:016x}" for i in range(6)], "intent": ["a", "b"] * 3}
    )
    before = spans.copy(deep=True)
    with pytest.raises(ValueError, match="stratum column 'intent'.*by=None"):
        sample_for_judging(spans.drop(columns="intent"), 0.5)
    flagged = spans.assign(flagged=["yes", "no"] * 3)
    with pytest.raises(TypeError, match="'flagged' must be boolean.*'yes'.*astype"):
        sample_for_judging(flagged, 0.5)
    with pytest.raises(ValueError, match="must be unique.*drop_duplicates"):
        sample_for_judging(spans.assign(span_id=["x"] * 6), 0.5)
    with pytest.raises(ValueError, match="must not be missing"):
        sample_for_judging(spans.assign(span_id=[None] + list(spans.span_id[1:])), 0.5)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\], got nan"):
        sample_for_judging(spans, float("nan"))
    pd.testing.assert_frame_equal(spans, before)
    # an empty frame gives an empty sample with the added columns typed
    empty = sample_for_judging(spans.iloc[:0], 0.5)
    assert len(empty) == 0 and str(empty["inclusion_prob"].dtype) == "float64"
    # raw OTel status codes count as errors too
    coded = sample_for_judging(spans.assign(status=[2, 1, 0, None, "2", 1]), 0.0)
    assert coded["span_id"].tolist() == [spans.span_id[0], spans.span_id[4]]
    assert (coded["sample_reason"] == "error").all()
    # a missing intent is a stratum of its own (rate from the key None)
    some = sample_for_judging(spans.assign(intent=[None] * 6), {None: 1.0})
    assert len(some) == 6
