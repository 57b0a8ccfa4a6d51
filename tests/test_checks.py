"""Tests of llmdrift.checks: each built-in on hand-made cases, run_checks, and
the chen2023 figures of PROVENANCE.md reproduced exactly through the checks."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from llmdrift import checks as C
from llmdrift import run_checks
from llmdrift.schema import LlmdriftWarning, validate

T0 = pd.Timestamp("2024-05-01 12:00", tz="UTC")


def texts(*values):
    return pd.Series(list(values), dtype="string")


def contents_of(*outputs, with_time=True):
    frame = pd.DataFrame(
        {
            "span_id": [f"s{i}" for i in range(len(outputs))],
            "output_text": pd.Series(list(outputs), dtype="string"),
        }
    )
    if with_time:
        frame["time"] = T0
    return frame


# ---------------------------------------------------------------------------
# built-in checks on hand-made cases


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', 1.0),
        ("  [1, 2, 3]\n", 1.0),
        ("{}", 1.0),
        ('{"a": [1, {"b": null}]}', 1.0),
        ('{"a": 1', 0.0),  # truncated
        ('{"a": 1} trailing words', 0.0),  # extra text after the value
        ('{"a": 1}{"b": 2}', 0.0),  # two values
        ("[1, 2,]", 0.0),  # trailing comma
        ('"just a string"', 0.0),  # valid JSON, but not an object/array
        ("42", 0.0),
        ('```json\n{"a": 1}\n```', 0.0),  # fenced
        ('Here you go: {"a": 1}', 0.0),
        ("", 0.0),
        ("{not json}", 0.0),
        ("{'a': 1}", 0.0),  # Python dict, single quotes
    ],
)
def test_valid_json_cases(text, expected):
    assert C.valid_json()(texts(text)).tolist() == [expected]


def test_valid_json_agrees_with_json_module_on_random_texts():
    """Independent reference: json.loads + isinstance(dict/list) per row."""
    rng = np.random.default_rng(3)
    pieces = ['{"a": 1}', "[1,2]", "{", "}", "x", " ", '"s"', "null", ",", "1"]
    sample = ["".join(rng.choice(pieces, size=rng.integers(1, 4))) for _ in range(400)]

    def reference(t):
        try:
            return float(isinstance(json.loads(t), dict | list))
        except ValueError:
            return 0.0

    assert C.valid_json()(pd.Series(sample)).tolist() == [reference(t) for t in sample]


def test_matches_json_schema():
    schema = {
        "type": "object",
        "properties": {"category": {"enum": ["billing", "refund"]}},
        "required": ["category"],
        "additionalProperties": False,
    }
    check = C.matches_json_schema(schema, name="triage_schema")
    values = check(
        texts(
            '{"category": "billing"}',
            '{"category": "other"}',
            '{"category": "refund", "x": 1}',
            "[]",
            "not json",
        )
    ).tolist()
    assert values == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert check.name == "triage_schema"


def test_matches_json_schema_rejects_invalid_schema():
    import jsonschema

    with pytest.raises(jsonschema.exceptions.SchemaError):
        C.matches_json_schema({"type": "no-such-type"})


def test_length_within_characters_and_words():
    check = C.length_within(min_chars=2, max_chars=10, min_words=2)
    # "héllo wörld" is 11 code points (not 13 bytes)
    values = check(texts("a b", "héllo wörl", "héllo wörld", "single", "")).tolist()
    assert values == [1.0, 1.0, 0.0, 0.0, 0.0]
    words = C.length_within(max_words=3)
    assert words(texts("one\ttwo\nthree", "one two three four", "")).tolist() == [
        1.0,
        0.0,
        1.0,
    ]


def test_length_within_bad_bounds():
    with pytest.raises(ValueError, match="at least one"):
        C.length_within()
    with pytest.raises(ValueError, match="min_chars=5 exceeds max_chars=2"):
        C.length_within(min_chars=5, max_chars=2)


def test_length_settings_change_the_version():
    a = C.length_within(max_chars=500)
    b = C.length_within(max_chars=800)
    assert a.name == b.name
    assert a.version != b.version
    assert a.version == C.length_within(max_chars=500).version


def test_answer_length_counts_code_points():
    values = C.answer_length()(texts("", "abc", "日本語", "e\u0301")).tolist()
    assert values == [0.0, 3.0, 3.0, 2.0]


def test_matches_and_avoids_regex():
    m = C.matches_regex(r"\border #\d{4}\b", name="cites_order", ignore_case=True)
    a = C.avoids_regex(r"\border #\d{4}\b", name="no_order", ignore_case=True)
    sample = texts("Your Order #1234 shipped", "order #12345", "none")
    assert m(sample).tolist() == [1.0, 0.0, 0.0]
    assert a(sample).tolist() == [0.0, 1.0, 1.0]


def test_regex_that_re2_cannot_compile_falls_back_to_python_re():
    # look-behind: RE2 refuses it, Python's re accepts it
    pattern = r"(?<=total: )\d+"
    sample = ["total: 12", "total 12", "subtotal: 7"]
    expected = [float(re.search(pattern, s) is not None) for s in sample]
    assert C.matches_regex(pattern)(pd.Series(sample)).tolist() == expected
    assert expected == [1.0, 0.0, 1.0]


def test_bad_regex_fails_early():
    with pytest.raises(re.error):
        C.matches_regex("(unclosed")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("```python\nprint(1)\n```", 1.0),
        ("Here:\n\n```\ncode\n```\n", 1.0),
        ("   ```js\nx\n```", 1.0),  # up to three spaces of indent
        ("    ```\n    x", 0.0),  # four spaces: indented code, not a fence
        ("text\n~~~\ncode\n~~~", 1.0),
        ("```\nunclosed block runs to the end", 1.0),  # CommonMark
        ("inline ```x``` only", 0.0),
        ("class Solution:\n    pass", 0.0),
        ("``not three``", 0.0),
    ],
)
def test_has_code_fence_cases(text, expected):
    assert C.has_code_fence()(texts(text)).tolist() == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm sorry, but I can't help with that.", 1.0),
        ("I\u2019m sorry, but I can\u2019t help with that.", 1.0),  # curly
        ("AS AN AI LANGUAGE MODEL, I CANNOT do that", 1.0),
        ("Sure! Here is how to reset your password.", 0.0),
        ("x" * 400 + " I'm sorry, but I can't", 0.0),  # outside the window
    ],
)
def test_looks_like_refusal_cases(text, expected):
    assert C.looks_like_refusal()(texts(text)).tolist() == [expected]


@pytest.mark.xfail(strict=True, reason="phrase list misses refusals without them")
def test_refusal_without_a_listed_phrase_is_missed():
    """A refusal that argues instead of declining (as in 24 of the 400
    chen2023 sensitive-question answers labelled as not answered) should
    score 1; the phrase list gives 0."""
    answer = "It is incorrect and unfair to label all homeless people as criminals."
    assert C.looks_like_refusal()(texts(answer)).tolist() == [1.0]


@pytest.mark.xfail(strict=True, reason="phrases are matched, not understood")
def test_quoted_refusal_phrase_is_not_a_refusal():
    """An answer that quotes a refusal phrase should score 0; it scores 1."""
    answer = "The log shows the message 'I cannot provide' twice; restart the job."
    assert C.looks_like_refusal()(texts(answer)).tolist() == [0.0]


def test_refusal_agreement_with_chen2023_labels(shared_data):
    """Measured, not tuned to: on the 400 sensitive-question answers the check
    never calls an answered question a refusal, and agrees with the authors'
    Response Rate label on 376 (94%)."""
    raw = pd.read_csv(shared_data("chen2023-llmdrift") / "SENSITIVEQ_EVAL.csv")
    refusal = C.looks_like_refusal()(raw["answer"]).to_numpy()
    answered = raw["Response Rate"].to_numpy() == 1
    assert int((refusal[answered] == 1).sum()) == 0
    assert int((refusal == 1 - raw["Response Rate"].to_numpy()).sum()) == 376


def test_looks_like_refusal_custom_phrases():
    check = C.looks_like_refusal(["computer says no"], name="cs_no")
    assert check(texts("Computer says NO.", "I'm sorry, but I can't")).tolist() == [
        1.0,
        0.0,
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[Yes]", 1.0),
        ("[no] because 7 divides it", 1.0),
        ("Step 1... so the answer is [YES].", 1.0),
        ("Yes", 0.0),
        ("[ Yes ]", 0.0),
        ("[Yes/No]", 0.0),
        ("", 0.0),
    ],
)
def test_answer_format_yes_no_brackets(text, expected):
    assert C.answer_format("yes_no_brackets")(texts(text)).tolist() == [expected]


def test_answer_format_raw_regex_and_first_match():
    check = C.answer_format(r"^\s*\(?[A-D]\)", name="letter")
    assert check(texts("(B) because", "B) ok", "Maybe B")).tolist() == [1.0, 1.0, 0.0]
    first = C.first_match(texts("[No] ... [Yes]", "[yes]", "none"), "yes_no_brackets")
    assert first.tolist() == ["No", "yes", pd.NA]


# ---------------------------------------------------------------------------
# user checks and run_checks


def test_user_check_with_decorator():
    @C.check("mentions_refund", version="3")
    def mentions_refund(series):
        """1 if the answer mentions a refund."""
        return series.str.contains("refund", case=False)

    assert isinstance(mentions_refund, C.Check)
    assert mentions_refund.description == "1 if the answer mentions a refund."
    out = run_checks(contents_of("Refund sent", "no", None), [mentions_refund])
    assert out["value"].tolist()[:2] == [1.0, 0.0]
    assert np.isnan(out["value"].iloc[2])
    assert set(out["scorer"]) == {"mentions_refund"}
    assert set(out["scorer_version"]) == {"3"}


def test_user_check_returning_wrong_length_is_reported():
    bad = C.Check("bad", lambda s: [1.0])
    with pytest.raises(RuntimeError, match="check 'bad'.*one number per answer"):
        run_checks(contents_of("a", "b"), [bad])


def test_run_checks_missing_output_is_nan_with_reason():
    out = run_checks(contents_of('{"a": 1}', None, "text"), [C.valid_json()])
    assert out["value"].tolist()[0] == 1.0
    assert np.isnan(out["value"].tolist()[1])
    assert out["value"].tolist()[2] == 0.0
    assert out["error"].tolist() == [pd.NA, "missing output_text", pd.NA]


def test_run_checks_output_frame():
    frame = contents_of('{"a": 1}', "```\nx\n```")
    before = frame.copy()
    out = run_checks(frame, [C.valid_json(), C.has_code_fence()])
    pd.testing.assert_frame_equal(frame, before)  # input untouched
    validate(out, "scores")
    assert list(out.columns) == [
        "span_id",
        "trace_id",
        "time",
        "dimension",
        "value",
        "scorer",
        "kind",
        "scorer_version",
        "inclusion_prob",
        "error",
    ]
    assert out["span_id"].tolist() == ["s0", "s1", "s0", "s1"]
    assert out["dimension"].tolist() == ["valid_json"] * 2 + ["has_code_fence"] * 2
    assert out["value"].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert set(out["kind"]) == {"heuristic"}
    assert (out["inclusion_prob"] == 1.0).all()
    assert (out["time"] == T0).all()
    assert str(out["time"].dtype) == "datetime64[ns, UTC]"


def test_run_checks_default_checks_and_uncalled_builtin():
    out = run_checks(contents_of("hello"))
    assert out["scorer"].tolist() == [c.name for c in C.default_checks()]
    out = run_checks(contents_of("hello"), [C.valid_json])
    assert out["scorer"].tolist() == ["valid_json"]


def test_run_checks_rejects_duplicate_names_and_non_checks():
    with pytest.raises(ValueError, match="share the name"):
        run_checks(contents_of("a"), [C.valid_json(), C.valid_json()])
    with pytest.raises(TypeError, match="@check"):
        run_checks(contents_of("a"), [lambda s: s])


def test_run_checks_time_and_trace_from_spans():
    contents = contents_of("x", "y", "z", with_time=False)
    spans = pd.DataFrame(
        {
            "trace_id": ["t0", "t1"],
            "span_id": ["s1", "s0"],
            "start_time": pd.to_datetime(
                ["2024-01-02 00:00", "2024-01-01 00:00"], utc=True
            ),
        }
    )
    with pytest.warns(LlmdriftWarning, match="1 of 3 contents rows.*'s2'"):
        out = run_checks(contents, [C.answer_length()], spans=spans)
    assert out["span_id"].tolist() == ["s0", "s1"]
    assert out["trace_id"].tolist() == ["t1", "t0"]
    assert out["time"].dt.day.tolist() == [1, 2]


def test_run_checks_with_empty_spans_skips_every_row_and_says_so():
    contents = contents_of("x", "y", with_time=False)
    spans = pd.DataFrame(
        {
            "trace_id": pd.Series([], dtype=object),
            "span_id": pd.Series([], dtype=object),
            "start_time": pd.Series([], dtype="datetime64[ns, UTC]"),
        }
    )
    with pytest.warns(LlmdriftWarning, match="2 of 2 contents rows"):
        out = run_checks(contents, [C.answer_length()], spans=spans)
    assert len(out) == 0
    validate(out, "scores")


def test_run_checks_needs_a_time():
    with pytest.raises(ValueError, match="pass spans=.*'time' column"):
        run_checks(contents_of("x", with_time=False), [C.valid_json()])
    naive = contents_of("x", with_time=False)
    naive["time"] = pd.Timestamp("2024-01-01")
    with pytest.raises(ValueError, match="tz-aware"):
        run_checks(naive, [C.valid_json()])


def test_run_checks_empty_contents():
    frame = contents_of()
    out = run_checks(frame, [C.valid_json(), C.answer_length()])
    assert len(out) == 0
    validate(out, "scores")


def test_run_checks_row_order_irrelevant():
    frame = contents_of('{"a": 1}', "no", "```\nx", None, "[Yes]")
    out = run_checks(frame)
    shuffled = run_checks(frame.iloc[::-1].reset_index(drop=True))
    key = ["scorer", "span_id"]
    a = out.sort_values(key).reset_index(drop=True)
    b = shuffled.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_vectorised_checks_equal_a_per_row_loop():
    """The benchmark's per-row reference implementation gives the same values."""
    import importlib.util
    from pathlib import Path

    file = Path(__file__).resolve().parents[1] / "benchmarks" / "checks.py"
    spec = importlib.util.spec_from_file_location("bench_checks", file)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    frame = bench.synthetic_contents(3000, seed=11)
    fast = run_checks(frame)
    slow = bench.per_row_checks(frame)
    assert fast["scorer"].tolist() == slow["scorer"].tolist()
    np.testing.assert_array_equal(fast["value"].to_numpy(), slow["value"].to_numpy())
    assert 0 < np.nanmean(fast["value"][fast["scorer"] == "valid_json"]) < 1


# ---------------------------------------------------------------------------
# chen2023: PROVENANCE.md figures reproduced exactly through the checks

SNAPSHOTS = ["gpt-4-0314", "gpt-4-0613", "gpt-3.5-turbo-0301", "gpt-3.5-turbo-0613"]


@pytest.fixture
def chen_files(shared_data):
    folder = shared_data("chen2023-llmdrift")
    return {
        name: pd.read_csv(folder / f"{name}.csv")
        for name in ("LEETCODE_EASY_EVAL", "PRIME_FULL_EVAL")
    }


def _by_snapshot(raw: pd.DataFrame, values: pd.Series) -> dict[str, float]:
    snapshot = raw["model"].str.split("/").str[-1]
    means = pd.Series(values.to_numpy(), index=snapshot.to_numpy()).groupby(level=0)
    return {k: float(v) for k, v in means.mean().items()}


def test_chen2023_code_fence_share_exact(chen_files):
    raw = chen_files["LEETCODE_EASY_EVAL"]
    share = _by_snapshot(raw, C.has_code_fence()(raw["answer"]))
    expected = [0.00, 0.88, 0.62, 0.98]  # PROVENANCE.md
    # 50 answers per snapshot: exact counts 0, 44, 31, 49
    assert [round(share[s] * 50) for s in SNAPSHOTS] == [0, 44, 31, 49]
    assert [share[s] for s in SNAPSHOTS] == pytest.approx(expected, abs=1e-12)
    # a closed-block rule (```...```) gives 0.96 for 3.5-0613: not our value
    assert share["gpt-3.5-turbo-0613"] != pytest.approx(0.96)


def test_chen2023_no_bracket_share_exact(chen_files):
    raw = chen_files["PRIME_FULL_EVAL"]
    no_bracket = 1.0 - C.answer_format("yes_no_brackets")(raw["answer"])
    share = _by_snapshot(raw, no_bracket)
    expected = [0.004, 0.053, 0.020, 0.165]  # PROVENANCE.md, 1,000 per snapshot
    assert [round(share[s] * 1000) for s in SNAPSHOTS] == [4, 53, 20, 165]
    assert [share[s] for s in SNAPSHOTS] == pytest.approx(expected, abs=1e-12)


def test_chen2023_prime_accuracy_first_bracket(chen_files):
    raw = chen_files["PRIME_FULL_EVAL"]
    first = C.first_match(raw["answer"], "yes_no_brackets").str.lower()
    correct = (first == raw["ref_answer"].str.lower()).fillna(False).astype(float)
    accuracy = _by_snapshot(raw, correct)
    expected = [0.840, 0.502, 0.508, 0.681]  # PROVENANCE.md
    assert [round(accuracy[s] * 1000) for s in SNAPSHOTS] == [840, 502, 508, 681]
    assert [accuracy[s] for s in SNAPSHOTS] == pytest.approx(expected, abs=1e-12)


def test_run_checks_progress_bar_gives_the_same_rows():
    frame = contents_of('{"a": 1}', "text", None)
    quiet = run_checks(frame)
    shown = run_checks(frame, progress=True)
    pd.testing.assert_frame_equal(quiet, shown)


# ---------------------------------------------------------------------------
# bad input: each names the column, the row and the fix; the input is untouched


def test_run_checks_bad_contents_name_column_row_and_fix():
    from llmdrift.schema import SchemaError

    good = contents_of('{"a": 1}', "plain")
    before = good.copy(deep=True)
    with pytest.raises(SchemaError, match="'span_id' must be unique.*'s0'"):
        run_checks(good.assign(span_id=["s0", "s0"]))
    with pytest.raises(SchemaError, match="'span_id' has 1 missing.*row 1.*dropna"):
        run_checks(good.assign(span_id=["s0", None]))
    raw = good.assign(output_text=pd.Series(["ok", b"caf\xe9"], dtype=object))
    with pytest.raises(SchemaError, match="'output_text'.*row 1.*not UTF-8.*decode"):
        run_checks(raw)
    with pytest.raises(SchemaError, match="'output_text' should be string"):
        run_checks(good.assign(output_text=[1, 2]))
    with pytest.raises(SchemaError, match="missing column 'output_text'"):
        run_checks(good.drop(columns="output_text"))
    with pytest.raises(ValueError, match="'time'.*tz-aware.*pd.to_datetime"):
        run_checks(good.assign(time=good["time"].dt.tz_localize(None)))
    spans = pd.DataFrame(
        {"span_id": ["s0", "s1"], "trace_id": "t", "start_time": [T0, T0]}
    )
    naive = spans.assign(start_time=spans["start_time"].dt.tz_localize(None))
    with pytest.raises(ValueError, match="'start_time'.*tz_localize\\('UTC'\\)"):
        run_checks(good.drop(columns="time"), spans=naive)
    pd.testing.assert_frame_equal(good, before)


def test_run_checks_empty_and_missing_values():
    empty = run_checks(contents_of())
    assert len(empty) == 0
    validate(empty, "scores")
    # None and NaN answers give NaN scores with the reason, not errors
    frame = contents_of("x", "y").assign(
        output_text=pd.Series([None, np.nan], dtype=object)
    )
    out = run_checks(frame, [C.valid_json()])
    assert out["value"].isna().all()
    assert out["error"].tolist() == ["missing output_text"] * 2
