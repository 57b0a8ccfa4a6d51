"""Tests of the LLM judge against the fake Anthropic API on loopback.

The real ``anthropic`` SDK sends every request over HTTP to
``tests/fake_anthropic.py``; no key and no network are needed. Backoff delays
are tiny so the suite stays fast.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time

import anthropic
import numpy as np
import pandas as pd
import pytest
from fake_anthropic import (  # noqa: F401 - the fixture is used by name
    RESPONSE_MODEL,
    FakeAnthropic,
    Reply,
    fake_anthropic_fixture,
)
from genai_prices import Usage, calc_price

from llmdrift import Judge, LlmdriftWarning, schema
from llmdrift.judge import (
    DEFAULT_RUBRIC,
    EVALUATION_EVENT,
    Rubric,
    emit_evaluation_events,
    judge_calls,
    parse_verdict,
)
from llmdrift.tracing import template_hash

RUBRIC = Rubric(
    {"format": "The answer is valid JSON.", "tone": "The answer is polite."},
    name="test-rubric",
    version="7",
)


def verdict(format_score=4, tone_score=5) -> str:
    return json.dumps(
        {
            "format": {"score": format_score, "explanation": f"format {format_score}"},
            "tone": {"score": tone_score, "explanation": f"tone {tone_score}"},
        }
    )


def good(body) -> Reply:
    return Reply.ok(verdict())


def frames(n: int, *, with_prob: bool = True):
    ids = [f"{i + 1:016x}" for i in range(n)]
    spans = pd.DataFrame(
        {
            "trace_id": [f"{i + 1:032x}" for i in range(n)],
            "span_id": ids,
            "start_time": pd.date_range("2024-05-01", periods=n, freq="min", tz="UTC"),
        }
    )
    if with_prob:
        spans["inclusion_prob"] = 0.25
    contents = pd.DataFrame(
        {
            "span_id": ids,
            "input_text": [f"question {i}" for i in range(n)],
            "output_text": [f"answer-{i}-end" for i in range(n)],
        }
    )
    return spans, contents


def make_judge(fake, **kwargs) -> Judge:
    kwargs.setdefault("backoff_base", 0.001)
    kwargs.setdefault("backoff_max", 0.01)
    kwargs.setdefault("max_concurrency", 4)
    kwargs.setdefault("seed", 0)
    return Judge(RUBRIC, client=kwargs.pop("client", None) or fake.client(), **kwargs)


def by_span(scores, dimension="format"):
    return scores[scores.dimension == dimension].set_index("span_id")


# -- rubric and parsing ------------------------------------------------------


def test_rubric_hash_is_template_hash_of_what_is_sent():
    expected = template_hash(
        RUBRIC.system_prompt
        + "\n\n<request>\n{input_text}\n</request>\n<answer>\n{output_text}\n</answer>"
    )
    assert RUBRIC.hash == expected
    same = Rubric(dict(RUBRIC.dimensions), name="test-rubric", version="7")
    assert same.hash == RUBRIC.hash
    changed = Rubric({"format": "The answer is valid JSON.", "tone": "Be nice."})
    assert changed.hash != RUBRIC.hash
    assert Rubric(dict(RUBRIC.dimensions), scale=(0, 10)).hash != RUBRIC.hash
    assert "integer from 1 (worst) to 5 (best)" in RUBRIC.system_prompt
    with pytest.raises(ValueError, match="low < high"):
        Rubric({"a": "b"}, scale=(5, 1))
    with pytest.raises(TypeError, match="mapping"):
        Rubric("format")


@pytest.mark.parametrize(
    ("text", "stop", "values", "errors", "error"),
    [
        (verdict(3, 1), "end_turn", [3.0, 1.0], [None, None], None),
        (
            "```json\n" + verdict(2, 2) + "\n```",
            "end_turn",
            [2.0, 2.0],
            [None, None],
            None,
        ),
        ('{"format": 4, "tone": "5"}', "end_turn", [4.0, 5.0], [None, None], None),
        (
            '{"format": {"score": 4.5}, "tone": {"score": 0}}',
            "end_turn",
            [np.nan, np.nan],
            ["out_of_range", "out_of_range"],
            None,
        ),
        (
            '{"format": {"score": true}}',
            "end_turn",
            [np.nan, np.nan],
            ["parse_error", "missing_dimension"],
            None,
        ),
        (
            '{"format": {"score": 4',
            "max_tokens",
            [np.nan, np.nan],
            ["truncated", "truncated"],
            "truncated",
        ),
        (
            "The answer looks fine to me.",
            "end_turn",
            [np.nan, np.nan],
            ["parse_error", "parse_error"],
            "parse_error",
        ),
        (
            "I'm sorry, but I can't evaluate this.",
            "end_turn",
            [np.nan, np.nan],
            ["refusal", "refusal"],
            "refusal",
        ),
        ("", "refusal", [np.nan, np.nan], ["refusal", "refusal"], "refusal"),
        ("[4, 5]", "end_turn", [np.nan, np.nan], ["parse_error"] * 2, "parse_error"),
    ],
)
def test_parse_verdict(text, stop, values, errors, error):
    dims, got_error, _ = parse_verdict(text, RUBRIC, stop_reason=stop)
    got = [dims[d]["value"] for d in ("format", "tone")]
    np.testing.assert_array_equal(got, values)
    assert [dims[d]["error"] for d in ("format", "tone")] == errors
    assert got_error == error


# -- online judging ------------------------------------------------------------


def test_scores_well_formed_answers(fake_anthropic):
    fake_anthropic.responder = good
    spans, contents = frames(6)
    before = spans.copy()
    scores = make_judge(fake_anthropic).score(spans, contents, progress=False)
    pd.testing.assert_frame_equal(spans, before)

    schema.validate(scores, "scores")
    assert len(scores) == 12
    assert scores.span_id.tolist() == [s for s in spans.span_id for _ in range(2)]
    assert scores.dimension.tolist() == ["format", "tone"] * 6
    assert scores.value.tolist() == [4.0, 5.0] * 6
    assert (scores.kind == "judge").all()
    assert (scores.scorer == "claude-haiku-4-5").all()
    assert (scores.scorer_version == RUBRIC.hash).all()
    assert (scores.inclusion_prob == 0.25).all()
    assert scores.error.isna().all()
    assert scores.explanation.tolist() == ["format 4", "tone 5"] * 6
    assert (scores.time.to_numpy() == np.repeat(spans.start_time.to_numpy(), 2)).all()
    assert (scores.trace_id.to_numpy() == np.repeat(spans.trace_id.to_numpy(), 2)).all()
    assert (scores.judge_response_model == RESPONSE_MODEL).all()

    requests = fake_anthropic.message_requests()
    assert len(requests) == 6
    body = requests[0].body
    assert body["model"] == "claude-haiku-4-5"
    assert body["system"] == [
        {
            "type": "text",
            "text": RUBRIC.system_prompt,
            "cache_control": {"type": "ephemeral"},
        }
    ]
    user = body["messages"][0]["content"]
    assert "question" in user and "answer-" in user
    headers = requests[0].headers
    assert "test-key" in (headers.get("x-api-key") or headers.get("authorization"))
    # the judge turns the SDK's own retries off
    assert all(
        r.headers.get("x-stainless-retry-count") in (None, "0") for r in requests
    )


def test_concurrency_is_bounded(fake_anthropic):
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def slow_counting(body):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return Reply.ok(verdict())

    fake_anthropic.responder = slow_counting
    spans, contents = frames(12)
    scores = make_judge(fake_anthropic, max_concurrency=3).score(
        spans, contents, progress=False
    )
    assert scores.value.notna().all()
    assert 2 <= state["max"] <= 3


def test_rate_limit_honours_retry_after(fake_anthropic, tmp_path):
    fake_anthropic.responder = good
    spans, contents = frames(3)
    fake_anthropic.when("answer-1-", Reply.error(429, retry_after="0.05"))
    store = tmp_path / "verdicts.jsonl"
    scores = make_judge(fake_anthropic).score(
        spans, contents, progress=False, store_path=store
    )
    assert scores.value.notna().all()
    assert fake_anthropic.count("answer-1-") == 2
    target = spans.span_id[1]
    assert by_span(scores).loc[target, "judge_attempts"] == 2
    records = [json.loads(line) for line in store.read_text().splitlines()]
    waits = {r["span_id"]: r["waits"] for r in records}
    assert waits[target] == [0.05]  # exactly what the server asked
    first, second = [
        r.time for r in fake_anthropic.message_requests() if "answer-1-" in r.text
    ]
    assert second - first >= 0.05


def test_overload_and_server_error_back_off_exponentially(fake_anthropic, tmp_path):
    fake_anthropic.responder = good
    spans, contents = frames(1)
    fake_anthropic.script(Reply.error(529), Reply.error(500))
    store = tmp_path / "v.jsonl"
    scores = make_judge(fake_anthropic, backoff_base=0.004).score(
        spans, contents, progress=False, store_path=store
    )
    assert scores.value.tolist() == [4.0, 5.0]
    (record,) = [json.loads(line) for line in store.read_text().splitlines()]
    assert record["attempts"] == 3
    # attempt k waits base * 2**k times a jitter in [0.5, 1]
    low = [0.5 * 0.004 * 2**k for k in range(2)]
    high = [0.004 * 2**k for k in range(2)]
    assert all(
        lo <= w <= hi for w, lo, hi in zip(record["waits"], low, high, strict=True)
    )


def test_retries_exhausted_become_error_rows_and_are_retried_next_run(
    fake_anthropic, tmp_path
):
    fake_anthropic.responder = good
    spans, contents = frames(3)
    fake_anthropic.when("answer-0-", *[Reply.error(529)] * 3)
    fake_anthropic.when("answer-2-", *[Reply.error(429, retry_after="0")] * 3)
    store = tmp_path / "v.jsonl"
    # the caller's client retries 5 times by itself; the judge overrides that
    judge = make_judge(
        fake_anthropic, max_retries=2, client=fake_anthropic.client(max_retries=5)
    )
    scores = judge.score(spans, contents, progress=False, store_path=store)
    fmt = by_span(scores)
    assert fmt.loc[spans.span_id[0], "error"] == "overloaded"
    assert fmt.loc[spans.span_id[2], "error"] == "rate_limited"
    assert math.isnan(fmt.loc[spans.span_id[0], "value"])
    assert fmt.loc[spans.span_id[1], "value"] == 4.0
    assert fake_anthropic.count("answer-0-") == 3  # 1 + max_retries
    assert fmt.loc[spans.span_id[0], "judge_cost_usd"] == 0.0

    again = judge.score(spans, contents, progress=False, store_path=store)
    assert again.value.notna().all()
    assert fake_anthropic.count("answer-0-") == 4
    assert fake_anthropic.count("answer-1-") == 1  # done spans are not repeated


def test_slow_answer_times_out_then_succeeds(fake_anthropic):
    fake_anthropic.responder = good
    spans, contents = frames(2)
    fake_anthropic.when("answer-0-", Reply.slow(3.0, verdict()))
    fake_anthropic.when("answer-1-", *[Reply.slow(3.0, verdict())] * 2)
    scores = make_judge(fake_anthropic, timeout=0.6, max_retries=1).score(
        spans, contents, progress=False
    )
    fmt = by_span(scores)
    assert fmt.loc[spans.span_id[0], "value"] == 4.0
    assert fmt.loc[spans.span_id[0], "judge_attempts"] == 2
    assert fmt.loc[spans.span_id[1], "error"] == "timeout"


def test_malformed_refusal_and_out_of_range_are_rows_not_exceptions(
    fake_anthropic, tmp_path
):
    fake_anthropic.responder = good
    spans, contents = frames(6)
    fake_anthropic.when("answer-0-", Reply.ok("Sure! The format is great."))
    fake_anthropic.when("answer-1-", Reply.refusal())
    fake_anthropic.when("answer-2-", Reply.ok("I can't help with grading this."))
    fake_anthropic.when("answer-3-", Reply.ok(verdict(format_score=9)))
    fake_anthropic.when(
        "answer-4-", Reply(raw=b'{"type": "message", "content": [', status=200)
    )
    store = tmp_path / "v.jsonl"
    judge = make_judge(fake_anthropic)
    scores = judge.score(spans, contents, progress=False, store_path=store)
    fmt, tone = by_span(scores), by_span(scores, "tone")
    ids = spans.span_id
    assert fmt.loc[ids[0], "error"] == "parse_error"
    assert fmt.loc[ids[1], "error"] == "refusal"
    assert fmt.loc[ids[2], "error"] == "refusal"
    assert fmt.loc[ids[3], "error"] == "out_of_range"
    assert tone.loc[ids[3], "value"] == 5.0 and pd.isna(tone.loc[ids[3], "error"])
    assert fmt.loc[ids[4], "error"] == "bad_response"
    assert fmt.loc[ids[5], "value"] == 4.0
    assert scores.loc[scores.error.notna(), "value"].isna().all()
    # each was answered (paid), so a re-run repeats none of them
    judge.score(spans, contents, progress=False, store_path=store)
    assert len(fake_anthropic.message_requests()) == 6


def test_span_without_content_is_reported_not_sent(fake_anthropic):
    fake_anthropic.responder = good
    spans, contents = frames(3)
    scores = make_judge(fake_anthropic).score(spans, contents.iloc[:2], progress=False)
    assert by_span(scores).loc[spans.span_id[2], "error"] == "no_content"
    assert len(fake_anthropic.message_requests()) == 2


def test_wrong_key_stops_the_run(fake_anthropic):
    fake_anthropic.script(Reply.error(401))
    spans, contents = frames(1)
    with pytest.raises(anthropic.AuthenticationError):
        make_judge(fake_anthropic).score(spans, contents, progress=False)


def test_bad_inputs_raise_clear_errors(fake_anthropic):
    spans, contents = frames(2)
    judge = make_judge(fake_anthropic)
    with pytest.raises(schema.SchemaError, match="start_time"):
        judge.score(spans.drop(columns="start_time"), contents, progress=False)
    naive = spans.assign(start_time=spans.start_time.dt.tz_localize(None))
    with pytest.raises(schema.SchemaError, match="tz-aware"):
        judge.score(naive, contents, progress=False)
    with pytest.raises(ValueError, match="must not set 'model'"):
        Judge(RUBRIC, request_options={"model": "x"})
    assert fake_anthropic.message_requests() == []


# -- interruption and resume -------------------------------------------------


def test_interrupted_run_loses_nothing_and_repeats_no_paid_call(
    fake_anthropic, tmp_path
):
    def slightly_slow(body):
        time.sleep(0.02)
        return Reply.ok(verdict())

    fake_anthropic.responder = slightly_slow
    spans, contents = frames(20)
    store = tmp_path / "v.jsonl"
    judge = make_judge(fake_anthropic, max_concurrency=3)
    seen = []

    def interrupt_after_four(record):
        seen.append(record["span_id"])
        if len(seen) == 4:
            raise KeyboardInterrupt  # what Ctrl-C in a notebook raises

    with pytest.raises(KeyboardInterrupt):
        judge.score(
            spans,
            contents,
            progress=False,
            store_path=store,
            on_result=interrupt_after_four,
        )
    sent_first = len(fake_anthropic.message_requests())
    stored = [json.loads(line) for line in store.read_text().splitlines()]
    assert 4 <= sent_first < 20
    # every call that was sent (the ones in flight included) is stored
    assert len(stored) == sent_first

    scores = judge.score(spans, contents, progress=False, store_path=store)
    assert scores.value.notna().all() and len(scores) == 40
    for span_id, text in zip(spans.span_id, contents.output_text, strict=True):
        assert fake_anthropic.count(text) == 1, span_id


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread()
    or not hasattr(signal, "SIGINT"),
    reason="a real SIGINT reaches only the main thread",
)
def test_real_sigint_from_server_hook(fake_anthropic, tmp_path):
    # other tests in the same worker (Spark, kernels) may have replaced or
    # ignored the SIGINT handler; a user's Python has the default one
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _sigint_run(fake_anthropic, tmp_path)
    finally:
        signal.signal(signal.SIGINT, previous)


def _sigint_run(fake_anthropic, tmp_path):
    fake_anthropic.responder = good
    spans, contents = frames(12)
    store = tmp_path / "v.jsonl"
    count = {"n": 0}

    def hook(record):
        if record.path.startswith("/v1/messages"):
            count["n"] += 1
            if count["n"] == 5:
                os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)

    fake_anthropic.hook = hook
    judge = make_judge(fake_anthropic, max_concurrency=2)
    with pytest.raises(KeyboardInterrupt):
        judge.score(spans, contents, progress=False, store_path=store)
        time.sleep(1)  # the signal may land just after the last call
    fake_anthropic.hook = None
    judge.score(spans, contents, progress=False, store_path=store)
    assert all(fake_anthropic.count(t) == 1 for t in contents.output_text)


def test_torn_store_line_is_reported_and_that_span_judged_again(
    fake_anthropic, tmp_path
):
    fake_anthropic.responder = good
    spans, contents = frames(3)
    store = tmp_path / "v.jsonl"
    judge = make_judge(fake_anthropic, max_concurrency=1)
    judge.score(spans, contents, progress=False, store_path=store)
    lines = store.read_text().splitlines()
    torn = lines[-1][:40]  # a kill in the middle of the last write
    store.write_text("\n".join([*lines[:-1], torn]))
    lost = json.loads(lines[-1])["span_id"]
    with pytest.warns(LlmdriftWarning, match="1 unreadable line"):
        scores = judge.score(spans, contents, progress=False, store_path=store)
    assert scores.value.notna().all()
    assert len(fake_anthropic.message_requests()) == 4
    assert (
        fake_anthropic.message_requests()[-1].text.count(
            contents.set_index("span_id").loc[lost, "output_text"]
        )
        == 1
    )
    # the appended record starts on its own line
    assert all(json.loads(x) for x in store.read_text().splitlines()[-1:])


def test_new_rubric_or_model_judges_again(fake_anthropic, tmp_path):
    fake_anthropic.responder = good
    spans, contents = frames(2)
    store = tmp_path / "v.jsonl"
    make_judge(fake_anthropic).score(spans, contents, progress=False, store_path=store)
    make_judge(fake_anthropic, model="claude-sonnet-4-5").score(
        spans, contents, progress=False, store_path=store
    )
    other = Judge(
        Rubric({"format": "JSON", "tone": "kind"}), client=fake_anthropic.client()
    )
    other.score(spans, contents, progress=False, store_path=store)
    assert len(fake_anthropic.message_requests()) == 6


# -- cost --------------------------------------------------------------------


def test_judge_tokens_and_cost_including_prompt_cache(fake_anthropic):
    fake_anthropic.responder = good
    spans, contents = frames(3)
    scores = make_judge(fake_anthropic, max_concurrency=1).score(
        spans, contents, progress=False
    )
    calls = judge_calls(scores)
    assert len(calls) == 3
    system_tokens = len(RUBRIC.system_prompt) // 4  # the fake's token rule
    first, later = calls.iloc[0], calls.iloc[1]
    assert first.judge_cache_write_tokens == system_tokens
    assert first.judge_cache_read_tokens == 0
    assert later.judge_cache_read_tokens == system_tokens
    assert later.judge_cache_write_tokens == 0

    requests = fake_anthropic.message_requests()
    for (_, call), request in zip(calls.iterrows(), requests, strict=True):
        user = request.body["messages"][0]["content"]
        uncached = len(user) // 4
        output = len(verdict()) // 4
        # OTel meaning: input tokens include both cache buckets
        assert call.judge_input_tokens == (
            uncached + call.judge_cache_read_tokens + call.judge_cache_write_tokens
        )
        assert call.judge_output_tokens == output
        price = calc_price(
            Usage(
                input_tokens=int(call.judge_input_tokens),
                cache_read_tokens=int(call.judge_cache_read_tokens),
                cache_write_tokens=int(call.judge_cache_write_tokens),
                output_tokens=output,
            ),
            "claude-haiku-4-5",
            provider_id="anthropic",
        ).total_price
        assert call.judge_cost_usd == pytest.approx(float(price), rel=1e-9)
    # Haiku 4.5 list prices, USD/MTok: input 1, cache write 1.25, cache read
    # 0.10, output 5 -> the first call by hand
    by_hand = (
        (first.judge_input_tokens - system_tokens) * 1.0
        + system_tokens * 1.25
        + first.judge_output_tokens * 5.0
    ) / 1e6
    assert first.judge_cost_usd == pytest.approx(by_hand)
    assert scores.judge_cost_usd.sum() == pytest.approx(2 * calls.judge_cost_usd.sum())


def test_price_overrides_are_used(fake_anthropic):
    fake_anthropic.responder = lambda body: Reply.ok(
        verdict(),
        usage={
            "input_tokens": 1000,
            "output_tokens": 100,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
    )
    spans, contents = frames(1)
    prices = pd.DataFrame(
        {"model": ["claude-haiku-4-5*"], "input": [2.0], "output": [10.0]}
    )
    scores = make_judge(fake_anthropic, prices=prices).score(
        spans, contents, progress=False
    )
    assert judge_calls(scores).judge_cost_usd.item() == pytest.approx(
        (1000 * 2.0 + 100 * 10.0) / 1e6
    )


# -- async client --------------------------------------------------------------


def test_async_client(fake_anthropic, tmp_path):
    import asyncio

    fake_anthropic.responder = good
    spans, contents = frames(5)
    fake_anthropic.when("answer-2-", Reply.error(429, retry_after="0"))
    judge = make_judge(
        fake_anthropic, client=fake_anthropic.async_client(), max_concurrency=2
    )
    scores = asyncio.run(
        judge.ascore(spans, contents, progress=False, store_path=tmp_path / "v.jsonl")
    )
    assert scores.value.notna().all() and len(scores) == 10
    assert fake_anthropic.count("answer-2-") == 2
    # the sync entry point drives an async client too, and resumes
    judge2 = make_judge(fake_anthropic, client=fake_anthropic.async_client())
    again = judge2.score(
        spans, contents, progress=False, store_path=tmp_path / "v.jsonl"
    )
    pd.testing.assert_frame_equal(again, scores)
    assert len(fake_anthropic.message_requests()) == 6


# -- message batches -----------------------------------------------------------


def test_batch_mode_scores_at_half_price(fake_anthropic):
    fake_anthropic.responder = good
    spans, contents = frames(4)
    fake_anthropic.when("answer-3-", Reply.refusal())
    judge = make_judge(fake_anthropic)
    scores = judge.score_batch(spans, contents, progress=False, poll_interval=0)
    assert len(fake_anthropic.batches) == 1
    (batch,) = fake_anthropic.batches.values()
    assert [r["custom_id"] for r in batch["requests"]] == spans.span_id.tolist()
    params = batch["requests"][0]["params"]
    assert params["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert fake_anthropic.message_requests() == []

    fmt = by_span(scores)
    assert fmt.value.tolist()[:3] == [4.0] * 3
    assert fmt.loc[spans.span_id[3], "error"] == "refusal"
    assert (scores.judge_mode == "batch").all()
    call = judge_calls(scores).iloc[1]
    full = calc_price(
        Usage(
            input_tokens=int(call.judge_input_tokens),
            cache_read_tokens=int(call.judge_cache_read_tokens),
            cache_write_tokens=int(call.judge_cache_write_tokens),
            output_tokens=int(call.judge_output_tokens),
        ),
        "claude-haiku-4-5",
        provider_id="anthropic",
    ).total_price
    assert call.judge_cost_usd == pytest.approx(0.5 * float(full))


def test_batch_resume_never_resubmits(fake_anthropic, tmp_path):
    fake_anthropic.responder = good
    fake_anthropic.batch_polls_before_end = 3
    spans, contents = frames(5)
    fake_anthropic.when("answer-4-", Reply.error(529))
    store = tmp_path / "v.jsonl"
    judge = make_judge(fake_anthropic)
    with pytest.warns(LlmdriftWarning, match="still processing"):
        first = judge.score_batch(
            spans,
            contents,
            progress=False,
            store_path=store,
            poll_interval=0,
            max_wait=0,
        )
    assert (first.error == "batch_pending").all()
    assert len(fake_anthropic.batches) == 1

    # a restarted session waits for the same batch instead of paying twice
    second = judge.score_batch(
        spans, contents, progress=False, store_path=store, poll_interval=0
    )
    assert len(fake_anthropic.batches) == 1
    fmt = by_span(second)
    assert fmt.value.notna().sum() == 4
    assert fmt.loc[spans.span_id[4], "error"] == "overloaded"

    # errored batch requests were not billed; only they are submitted again
    third = judge.score_batch(
        spans, contents, progress=False, store_path=store, poll_interval=0
    )
    assert len(fake_anthropic.batches) == 2
    assert third.value.notna().all()
    counts = [fake_anthropic.count(t) for t in contents.output_text]
    assert counts == [1, 1, 1, 1, 2]
    # online scoring afterwards finds everything done
    judge.score(spans, contents, progress=False, store_path=store)
    assert fake_anthropic.message_requests() == []


def test_batch_custom_ids_map_back_to_any_span_id(fake_anthropic):
    fake_anthropic.responder = good
    spans, contents = frames(2)
    odd = ["span/with:odd chars", "x" * 80]
    spans["span_id"], contents["span_id"] = odd, odd
    scores = make_judge(fake_anthropic).score_batch(
        spans, contents, progress=False, poll_interval=0
    )
    assert by_span(scores).index.tolist() == odd
    assert scores.value.notna().all()


# -- OpenTelemetry evaluation events -------------------------------------------


def _log_pipeline():
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import (
        InMemoryLogRecordExporter,
        SimpleLogRecordProcessor,
    )

    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    return provider, exporter


def test_verdicts_emitted_as_evaluation_events(fake_anthropic):
    fake_anthropic.responder = good
    spans, contents = frames(2)
    fake_anthropic.when("answer-1-", Reply.refusal())
    provider, exporter = _log_pipeline()
    labelled = Rubric(dict(RUBRIC.dimensions), labels={4: "good", 5: "excellent"})
    judge = Judge(
        labelled,
        client=fake_anthropic.client(),
        emit_events=True,
        logger_provider=provider,
    )
    judge.score(spans, contents, progress=False)
    logs = [item.log_record for item in exporter.get_finished_logs()]
    assert len(logs) == 4
    assert {log.event_name for log in logs} == {EVALUATION_EVENT}
    ok = [log for log in logs if log.span_id == int(spans.span_id[0], 16)]
    assert {log.trace_id for log in ok} == {int(spans.trace_id[0], 16)}
    attrs = {
        log.attributes["gen_ai.evaluation.name"]: dict(log.attributes) for log in ok
    }
    assert attrs["format"]["gen_ai.evaluation.score.value"] == 4.0
    assert attrs["format"]["gen_ai.evaluation.score.label"] == "good"
    assert attrs["tone"]["gen_ai.evaluation.score.label"] == "excellent"
    assert attrs["tone"]["gen_ai.evaluation.explanation"] == "tone 5"
    refused = [log for log in logs if log.span_id == int(spans.span_id[1], 16)]
    assert all(log.attributes["error.type"] == "refusal" for log in refused)
    assert all("gen_ai.evaluation.score.value" not in log.attributes for log in refused)


def test_emit_evaluation_events_from_a_frame():
    provider, exporter = _log_pipeline()
    scores = pd.DataFrame(
        {
            "span_id": ["00000000000000aa", "not-hex"],
            "trace_id": ["000000000000000000000000000000bb", None],
            "dimension": ["format", "format"],
            "value": [3.0, 1.0],
            "scorer": ["m", "m"],
        }
    )
    assert (
        emit_evaluation_events(scores, logger_provider=provider, rubric=DEFAULT_RUBRIC)
        == 2
    )
    first, second = [item.log_record for item in exporter.get_finished_logs()]
    assert (first.trace_id, first.span_id) == (0xBB, 0xAA)
    assert first.attributes["gen_ai.evaluation.score.label"] == "3/5"
    assert second.span_id == 0  # not hex: emitted without a link


def test_empty_input_gives_an_empty_scores_frame(fake_anthropic):
    spans, contents = frames(0)
    scores = make_judge(fake_anthropic).score(spans, contents, progress=False)
    assert scores.empty
    schema.validate(scores, "scores")
    assert str(scores.dtypes["value"]) == "float64"


def test_sample_judge_and_reweight_end_to_end(fake_anthropic):
    """Judge a stratified sample, then re-weight to the population mean."""
    from llmdrift import population_mean, sample_for_judging

    n = 400
    spans, contents = frames(n, with_prob=False)
    spans["intent"] = ["easy"] * 300 + ["hard"] * 100
    contents["output_text"] = [
        f"answer-{i}-end quality={5 if i < 300 else 1}" for i in range(n)
    ]

    def by_quality(body):
        quality = int(body["messages"][0]["content"].split("quality=")[1][0])
        return Reply.ok(verdict(format_score=quality, tone_score=quality))

    fake_anthropic.responder = by_quality
    sample = sample_for_judging(spans, {"easy": 0.05, "hard": 0.5}, salt="e2e")
    scores = make_judge(fake_anthropic).score(sample, contents, progress=False)
    est = population_mean(scores, dimension="format").iloc[0]
    # population: 300 answers scored 5 and 100 scored 1, mean 4.0; the Hajek
    # estimate is close (its weights n_h / pi_h only estimate the stratum
    # sizes) and its interval holds the truth
    assert est["ci_low"] <= 4.0 <= est["ci_high"]
    assert abs(est["mean"] - 4.0) < 0.25
    # with the known stratum sizes the stratified estimate is exact here
    exact = population_mean(scores, dimension="format", population=spans).iloc[0]
    assert exact["mean"] == pytest.approx(4.0)
    assert exact["se"] == 0.0
    assert len(fake_anthropic.message_requests()) == len(sample)
    # the unweighted sample mean is far off: hard requests are over-sampled
    raw = scores[scores.dimension == "format"].value.mean()
    assert abs(raw - 4.0) > 1.0


def test_progress_bar_counts_the_calls_and_changes_no_score(fake_anthropic, capsys):
    fake_anthropic.responder = good
    spans, contents = frames(6)
    quiet = make_judge(fake_anthropic).score(spans, contents, progress=False)
    capsys.readouterr()
    shown = make_judge(fake_anthropic).score(spans, contents, progress=True)
    bar = capsys.readouterr().err
    assert "judging" in bar and "6/6" in bar
    columns = ["span_id", "dimension", "value", "error"]
    pd.testing.assert_frame_equal(shown[columns], quiet[columns])


_CHILD = """
import sys
import anthropic
import pandas as pd
from llmdrift.judge import Judge, Rubric

url, store, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ids = [f"{i + 1:016x}" for i in range(n)]
spans = pd.DataFrame({
    "trace_id": [f"{i + 1:032x}" for i in range(n)],
    "span_id": ids,
    "start_time": pd.date_range("2024-05-01", periods=n, freq="min", tz="UTC"),
})
contents = pd.DataFrame({
    "span_id": ids,
    "input_text": [f"question {i}" for i in range(n)],
    "output_text": [f"answer-{i}-end" for i in range(n)],
})
rubric = Rubric(
    {"format": "The answer is valid JSON.", "tone": "The answer is polite."},
    name="test-rubric",
    version="7",
)
client = anthropic.Anthropic(api_key="test-key", base_url=url)
judge = Judge(rubric, client=client, max_concurrency=2, seed=0)
judge.score(spans, contents, progress=False, store_path=store)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_process_killed_outright_loses_nothing_stored(fake_anthropic, tmp_path):
    """A judge process killed with SIGKILL (no chance to clean up), then
    restarted: every stored verdict is kept and not asked again; only the calls
    in flight at the kill (at most max_concurrency=2) are paid twice."""
    import subprocess
    import sys

    def slow(body):
        time.sleep(0.05)
        return Reply.ok(verdict())

    fake_anthropic.responder = slow
    n = 30
    store = tmp_path / "verdicts.jsonl"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, fake_anthropic.url, str(store), str(n)]
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if store.exists() and store.read_text().count("\n") >= 6:
                break
            time.sleep(0.01)
        assert child.poll() is None, "the child finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    sent_before = len(fake_anthropic.message_requests())
    stored = [json.loads(x) for x in store.read_text().splitlines() if x.strip()]
    stored_ids = {record["span_id"] for record in stored}
    assert 6 <= len(stored) < n
    assert sent_before - len(stored) <= 2  # only the calls in flight are lost

    spans, contents = frames(n, with_prob=False)
    scores = make_judge(fake_anthropic, max_concurrency=2).score(
        spans, contents, progress=False, store_path=store
    )
    assert len(scores) == 2 * n and scores.value.notna().all()
    counts = {
        span_id: fake_anthropic.count(text)
        for span_id, text in zip(spans.span_id, contents.output_text, strict=True)
    }
    assert all(counts[span_id] == 1 for span_id in stored_ids)
    # paid twice: only spans whose call was in flight at the kill (a request
    # cut off mid-send reaches the fake server but names no answer, and a
    # real API would not bill it)
    assert sum(counts.values()) - n <= 2


def test_missing_api_key_is_named_before_any_call(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    spans, contents = frames(2)
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY"):
        Judge().score(spans, contents, progress=False)
