"""Hostile but realistic input: each test pins one breakage found and fixed.

Every test builds its bad input by hand and states the right outcome: a clear
error naming what is wrong, or a reported-and-skipped record with the rest
loaded. Frames given to a function must come back unchanged.
"""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from llmdrift import schema
from llmdrift.charts.calibration import calibration_view
from llmdrift.checks import (
    answer_format,
    avoids_regex,
    check,
    length_within,
    matches_json_schema,
    matches_regex,
    run_checks,
    valid_json,
)
from llmdrift.cost import cost_by, normalize_usage, price_spans, sample_plan
from llmdrift.datasets import load_calibration_source
from llmdrift.ingest import from_table, read_otlp, read_otlp_contents
from llmdrift.judge import population_mean, sample_for_judging
from llmdrift.prompts import change_impact, hash_changes, hash_timeline
from llmdrift.schema import LlmdriftWarning
from llmdrift.tracing import prompt_attributes, set_prompt_attributes, template_hash

TRACE = "0af7651916cd43dd8448eb211c80319c"


def _span(span_id: str, **extra) -> dict:
    span = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": "chat m",
        "startTimeUnixNano": "1718000000000000000",
        "endTimeUnixNano": "1718000001000000000",
        "attributes": [
            {"key": "gen_ai.request.model", "value": {"stringValue": "m"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "25"}},
        ],
    }
    span.update(extra)
    return span


def _line(*spans: dict) -> str:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]})


# --- read_otlp ----------------------------------------------------------------------


def test_span_name_that_is_not_text_is_reported_not_fatal(tmp_path):
    # a writer put a number in "name": it used to kill the whole load with an
    # ArrowTypeError; now that value is <NA>, counted, and the other span loads
    path = tmp_path / "spans.jsonl"
    path.write_text(
        _line(_span("00000000000000a1", name=5))
        + "\n"
        + _line(_span("00000000000000a2"))
    )
    with pytest.warns(schema.LlmdriftWarning, match="span_name"):
        spans = read_otlp(path)
    assert spans["span_id"].tolist() == ["00000000000000a1", "00000000000000a2"]
    assert spans["span_name"].isna().tolist() == [True, False]
    assert spans.attrs["ingest_report"]["values_not_parsed"] == {"span_name": 1}
    assert spans["request_model"].tolist() == ["m", "m"]


@pytest.mark.parametrize("reader", [read_otlp, read_otlp_contents])
def test_json_null_line_is_reported_not_silently_dropped(tmp_path, reader):
    # 'null' is valid JSON but not a request; it used to vanish without a word
    path = tmp_path / "spans.jsonl"
    path.write_text("null\n" + _line(_span("00000000000000b1")) + "\n")
    with pytest.warns(schema.LlmdriftWarning, match="1 line"):
        frame = reader(path)
    report = frame.attrs["ingest_report"]
    assert report["skipped_reasons"] == {"not an OTLP ExportTraceServiceRequest": 1}
    assert report["examples"][0]["line"] == 1
    if reader is read_otlp:
        assert frame["span_id"].tolist() == ["00000000000000b1"]


def test_utf8_byte_order_mark_is_read(tmp_path):
    # editors on Windows write a BOM; the file is valid UTF-8 and must load
    path = tmp_path / "spans.jsonl"
    text = _line(_span("00000000000000c1")) + "\n" + _line(_span("00000000000000c2"))
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spans = read_otlp(path)
    assert spans["span_id"].tolist() == ["00000000000000c1", "00000000000000c2"]


def test_bom_on_a_pretty_printed_document(tmp_path):
    path = tmp_path / "spans.json"
    doc = json.loads(_line(_span("00000000000000c3")))
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc, indent=2).encode())
    assert read_otlp(path)["span_id"].tolist() == ["00000000000000c3"]


def test_empty_path_string_is_an_error_not_the_working_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="empty path"):
        read_otlp("")


def test_none_inside_a_path_list_names_the_entry():
    with pytest.raises(TypeError, match="each path must be a str or a Path.*None"):
        read_otlp([None])


# --- from_table -----------------------------------------------------------------------

_MAP = {
    "start_time": "ts",
    "span_id": "id",
    "trace_id": "id",
    "request_model": "model",
    "input_tokens": "in",
    "service": "svc",
}


def _table(**change) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "ts": ["2024-06-10T06:13:20Z", "2024-06-10T06:14:20Z"],
            "id": ["s1", "s2"],
            "model": ["m", "m"],
            "in": [7, 8],
            "svc": ["a", "a"],
        }
    )
    for name, values in change.items():
        table[name] = values
    return table


def test_epoch_milliseconds_declared_as_seconds_is_an_error_not_a_wrapped_date():
    # 1.718e12 s scaled to ns overflows int64; it used to wrap silently to 2047
    table = _table(ts=[1_718_000_000_000, 1_718_000_001_000])
    before = table.copy()
    with pytest.raises(schema.SchemaError, match=r"'ts'.*too large for time_unit='s'"):
        from_table(table, _MAP, time_unit="s")
    pd.testing.assert_frame_equal(table, before)
    # the same numbers with the right unit are read exactly
    spans = from_table(table, _MAP, time_unit="ms")
    assert spans["start_time"].tolist() == [
        pd.Timestamp("2024-06-10 06:13:20", tz="UTC"),
        pd.Timestamp("2024-06-10 06:13:21", tz="UTC"),
    ]


def test_infinite_epoch_names_the_column():
    table = _table(ts=[1_718_000_000.0, np.inf])
    with pytest.raises(schema.SchemaError, match=r"'ts'.*inf\)? at row 1"):
        from_table(table, _MAP, time_unit="s")


def test_unparseable_time_text_is_not_called_a_missing_zone():
    table = _table(ts=["2024-06-10T06:13:20Z", "yesterday"])
    with pytest.raises(
        schema.SchemaError, match="not ISO 8601 times, e.g. 'yesterday'"
    ):
        from_table(table, _MAP)


def test_status_codes_read_as_floats_from_a_csv_with_gaps():
    # a CSV status column "1,,2" arrives as 1.0, NaN, 2.0
    table = _table(status=[1.0, np.nan])
    spans = from_table(table, _MAP)
    assert spans["status"].tolist() == ["ok", pd.NA]
    table = _table(status=[2.0, 0.0])
    assert from_table(table, _MAP)["status"].tolist() == ["error", "unset"]
    with pytest.raises(schema.SchemaError, match=r"value np.float64\(1.5\)"):
        from_table(_table(status=[1.5, 1.0]), _MAP)


def test_columns_argument_of_the_wrong_shape():
    with pytest.raises(TypeError, match="columns must be a dict"):
        from_table(_table(), ["ts"])
    with pytest.raises(TypeError, match=r"maps 'start_time' to \['ts'\]"):
        from_table(_table(), {**_MAP, "start_time": ["ts"]})


def test_duplicated_column_names_are_named():
    table = pd.concat([_table(), _table()[["ts"]]], axis=1)
    with pytest.raises(ValueError, match=r"duplicated column names \['ts'\]"):
        from_table(table, _MAP)


def test_impossible_values_warn_and_are_kept():
    table = _table(**{"in": [-7, 8]}, cost_usd=[0.5, -1.0])
    table["end_time"] = ["2024-06-10T06:13:19Z", "2024-06-10T06:15:20Z"]
    with pytest.warns(schema.LlmdriftWarning) as caught:
        spans = from_table(table, _MAP)
    message = str(caught[0].message)
    assert "end_time before start_time: 1 (position 0)" in message
    assert "negative column 'in' (mapped to 'input_tokens'): 1 (position 0)" in message
    assert "negative column 'cost_usd': 1 (position 1)" in message
    # kept as given: nothing clamped or dropped
    assert spans["input_tokens"].tolist() == [-7, 8]
    assert spans["cost_usd"].tolist() == [0.5, -1.0]
    assert spans["duration_ms"].tolist() == [-1000.0, 60000.0]
    assert spans["usage_inconsistent"].tolist() == [True, False]


def test_clean_table_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spans = from_table(_table(), _MAP)
    assert spans["input_tokens"].tolist() == [7, 8]


# --- checks -----------------------------------------------------------------------------


def _contents(*texts) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "span_id": [f"s{i}" for i in range(len(texts))],
            "output_text": pd.Series(texts, dtype=object),
            "time": pd.to_datetime(["2024-01-01"] * len(texts), utc=True),
        }
    )


def test_lone_surrogate_in_an_answer_names_the_row():
    # json.loads('"\\ud83d"') gives such a string; Arrow used to fail with a
    # bare UnicodeEncodeError
    contents = _contents("fine", "broken \ud83d emoji")
    before = contents.copy()
    with pytest.raises(schema.SchemaError, match="row 1 holds a lone surrogate"):
        run_checks(contents, [valid_json()])
    pd.testing.assert_frame_equal(contents, before)


@pytest.mark.parametrize("make", [matches_regex, avoids_regex])
def test_bad_regex_is_a_value_error_naming_the_pattern(make):
    with pytest.raises(ValueError, match=r"'\(total' is not a valid regular") as info:
        make("(total")
    assert isinstance(info.value, re.error)  # still what re users catch


def test_invalid_json_schema_is_a_value_error():
    import jsonschema

    with pytest.raises(ValueError, match="not a valid JSON Schema.*at type") as info:
        matches_json_schema({"type": 5})
    assert isinstance(info.value, jsonschema.exceptions.SchemaError)
    with pytest.raises(TypeError, match="schema must be a JSON Schema dict.*str"):
        matches_json_schema("object")


@pytest.mark.parametrize("bound", [np.nan, "10", -1, True, np.inf])
def test_length_bounds_must_be_numbers(bound):
    # NaN compared False everywhere and "10" failed only at run time
    with pytest.raises(ValueError, match="max_chars must be a whole number"):
        length_within(max_chars=bound)


def test_custom_check_returning_infinity_is_refused():
    @check("scores_inf", version="1")
    def scores_inf(texts):
        return np.where(texts.str.len() > 3, np.inf, 1.0)

    with pytest.raises(RuntimeError, match="1 infinite value.*answer 1"):
        run_checks(_contents("ok", "longer"), [scores_inf])


# --- population_mean ----------------------------------------------------------------------


def _judged(values, probs, span_ids=None) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "span_id": span_ids or [f"s{i}" for i in range(n)],
            "time": pd.to_datetime(["2024-01-01"] * n, utc=True),
            "dimension": "format",
            "value": np.asarray(values, dtype=float),
            "scorer": "j",
            "kind": "judge",
            "inclusion_prob": probs,
        }
    )


def test_population_mean_refuses_repeated_scores():
    # the same judge verdict exported twice used to halve nothing but the
    # standard error: n doubled silently
    scores = _judged([1.0, 5.0, 5.0], [0.5, 0.5, 0.5], ["a", "b", "b"])
    with pytest.raises(ValueError, match=r"1 score row\(s\) repeat.*\['b', 'format'"):
        population_mean(scores)
    # Hajek mean of the de-duplicated rows, by hand: (1/0.5 + 5/0.5) / (2/0.5)
    out = population_mean(scores.drop_duplicates(["span_id", "dimension", "scorer"]))
    assert out["mean"].item() == pytest.approx(3.0)
    assert out["n"].item() == 2


def test_population_mean_unknown_dimension_names_the_present_ones():
    with pytest.raises(ValueError, match=r"\['fromat'\] have no scores.*\['format'\]"):
        population_mean(_judged([1.0, 2.0], [1.0, 1.0]), dimension="fromat")


def test_population_mean_infinite_score():
    scores = _judged([1.0, np.inf], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"1 infinite value\(s\) \(e.g. span 's1'"):
        population_mean(scores)


def test_population_mean_of_no_scores_is_an_empty_table():
    out = population_mean(_judged([], []))
    assert len(out) == 0
    assert list(out.columns[:3]) == ["dimension", "mean", "se"]


def test_population_mean_all_missing_inclusion_prob_says_so():
    with pytest.raises(ValueError, match="every value is missing"):
        population_mean(_judged([1.0, 2.0], [np.nan, np.nan]))


# --- prompts ------------------------------------------------------------------------------


def _switch(n: int = 80, seed: int = 0):
    """Hourly requests; the hash flips A -> B half way; format falls 4.5 -> 3.5."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2024-06-01", periods=n, freq="1h", tz="UTC")
    after = np.arange(n) >= n // 2
    spans = pd.DataFrame(
        {
            "span_id": [f"{i:016x}" for i in range(n)],
            "start_time": times,
            "service": "api",
            "intent": "triage",
            "prompt_hash": np.where(after, "b" * 12, "a" * 12),
        }
    )
    scores = pd.DataFrame(
        {
            "span_id": spans["span_id"],
            "time": times,
            "dimension": "format",
            "value": np.where(
                after, rng.choice([3, 4], n), rng.choice([4, 5], n)
            ).astype(float),
            "scorer": "j",
            "kind": "judge",
        }
    )
    return spans, scores


def test_hash_timeline_refuses_duplicated_spans():
    # a concat of two overlapping exports used to double every request count
    spans, _ = _switch()
    doubled = pd.concat([spans, spans.iloc[:5]])
    with pytest.raises(
        schema.SchemaError, match=r"'span_id' must be unique.*5 repeats"
    ):
        hash_timeline(doubled)
    assert hash_timeline(spans)["n_requests"].sum() == len(spans)


def test_change_impact_refuses_repeated_and_infinite_scores():
    spans, scores = _switch()
    changes = hash_changes(spans)
    assert len(changes) == 1
    with pytest.raises(ValueError, match=r"40 row\(s\) repeat a \(span_id, dimension"):
        change_impact(changes, spans, pd.concat([scores, scores.iloc[40:]]))
    bad = scores.assign(value=np.where(np.arange(len(scores)) == 3, np.inf, 4.0))
    before = bad.copy()
    with pytest.raises(ValueError, match=r"1 infinite value.*'0000000000000003'"):
        change_impact(changes, spans, bad)
    pd.testing.assert_frame_equal(bad, before)


def test_change_impact_warns_about_failed_scores():
    spans, scores = _switch()
    failed = scores.assign(value=np.where(np.arange(len(scores)) < 4, np.nan, 4.0))
    with pytest.warns(schema.LlmdriftWarning, match="4 of 80 scores have no value"):
        out = change_impact(hash_changes(spans), spans, failed)
    # the 36 valid scores before the switch are the ones counted
    assert out["n_before"].item() == 36


# --- cost -----------------------------------------------------------------------------------


def _calls(n: int = 4, **extra) -> pd.DataFrame:
    # microsecond times, as pandas makes them from text: cost_by converts to ns
    times = pd.to_datetime(["2025-09-01T10:00:00Z"] * n).as_unit("us")
    frame = pd.DataFrame(
        {
            "span_id": [f"s{i}" for i in range(n)],
            "provider": "acme",
            "request_model": "m-1",
            "start_time": times + pd.to_timedelta(np.arange(n), unit="h"),
            "intent": ["a", "b"] * (n // 2),
            "input_tokens": [1_000_000] * n,
            "output_tokens": [0] * n,
        }
    )
    return frame.assign(**extra)


_TABLE = pd.DataFrame({"model": ["m-1"], "input": [2.0], "output": [8.0]})


def test_priced_frames_survive_pandas_operations_and_cost_by():
    # attrs["prices_used"] used to be a DataFrame: pandas compares attrs with ==
    # in astype/merge/concat and raised "truth value of a DataFrame is ambiguous"
    first = price_spans(_calls(), _TABLE, genai_prices=False)
    second = price_spans(
        _calls().assign(span_id=list("wxyz")), _TABLE, genai_prices=False
    )
    both = pd.concat([first, second], ignore_index=True)
    assert len(both.merge(first[["span_id"]], on="span_id")) == 4
    rollup = cost_by(first)
    # 2 calls per intent, 1M input tokens at 2 USD/MTok each: 4 USD per intent
    assert rollup.set_index("intent")["total_cost_usd"].to_dict() == {
        "a": 4.0,
        "b": 4.0,
    }
    used = pd.DataFrame(first.attrs["prices_used"])
    assert used[["price_model", "n_spans", "input"]].values.tolist() == [
        ["m-1", 4, 2.0]
    ]
    assert used["first_span"].item() == "2025-09-01T10:00:00+00:00"
    json.dumps(first.attrs)  # Arrow/Parquet write attrs as JSON


def test_reported_cost_that_is_not_finite_is_na_and_warned():
    calls = _calls(reported_cost_usd=[0.5, np.inf, -np.inf, 0.25], request_model="x")
    before = calls.copy()
    with pytest.warns(schema.LlmdriftWarning, match="2 value.*'reported_cost_usd'"):
        out = price_spans(calls, _TABLE, genai_prices=False, use_reported=True)
    assert out["cost_usd"].tolist() == [0.5, pd.NA, pd.NA, 0.25]
    assert out["price_source"].tolist() == ["reported", pd.NA, pd.NA, "reported"]
    pd.testing.assert_frame_equal(calls, before)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"budget_per_day": "5"}, "budget_per_day must be a number, got str"),
        ({"days": 0}, "days must be a positive, finite"),
        ({"alpha": 0}, "alpha must lie strictly between 0 and 1"),
        ({"power": 1}, "power must lie strictly between 0 and 1"),
        ({"count_quantile": 0}, "count_quantile must lie strictly"),
        ({"window_days": 0}, "window_days must be at least 1 day"),
        ({"alpha": 0.5, "power": 0.4}, r"power \(0.4\) must exceed alpha"),
    ],
)
def test_sample_plan_rejects_impossible_settings(option, message):
    priced = price_spans(_calls(), _TABLE, genai_prices=False)
    kwargs = {"budget_per_day": 1.0, **option}
    with pytest.raises((ValueError, TypeError), match=message):
        sample_plan(priced, kwargs.pop("budget_per_day"), **kwargs)


def test_sample_plan_with_only_failed_scores_says_so():
    priced = price_spans(_calls(), _TABLE, genai_prices=False)
    scores = pd.DataFrame({"span_id": ["s0", "s1"], "dimension": "f", "value": np.nan})
    with pytest.raises(ValueError, match="scores hold no values.*all missing"):
        sample_plan(priced, 1.0, scores=scores)


# --- load_calibration_source (CSV of human labels) ------------------------------------------

_JUDGE = pd.DataFrame(
    {
        "span_id": ["a", "b"],
        "dimension": "format",
        "value": [4.0, 2.0],
        "scorer": "gpt",
        "kind": "judge",
    }
)
_HEADER = "span_id,dimension,value,annotator\n"


def _labels_file(tmp_path, body, name="labels.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(body.encode(encoding) if isinstance(body, str) else body)
    return str(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "is empty"),
        (_HEADER + "a,f\xf6rmat,3,x\n", "not UTF-8 text"),
        (b"PAR1garbage", "cannot be read as Parquet"),
        (_HEADER + "a,format,inf,x\nb,format,3,x\n", "1 label value.*infinite.*line 2"),
        (
            _HEADER + "a,format,3,x\nb,format,2,x\na,format,4,x\n",
            r"annotator 'x' labelled span 'a' on 'format' more than once \(lines "
            r"\[2, 4\]",
        ),
        ("span_id;dimension;value;annotator\na;format;3;x\n", "';'-separated"),
    ],
)
def test_labels_file_problems_name_the_file(tmp_path, body, message):
    name = "labels.parquet" if body == b"PAR1garbage" else "labels.csv"
    encoding = "latin-1" if "\xf6" in str(body) else "utf-8"
    path = _labels_file(tmp_path, body, name, encoding)
    with pytest.raises(ValueError, match=message):
        load_calibration_source(path, scores=_JUDGE)


def test_incomplete_label_rows_are_skipped_and_reported(tmp_path):
    body = _HEADER + "a,format,5,x\n,format,3,x\nb,format,,x\nb,format,2,x\n"
    path = _labels_file(tmp_path, body)
    with pytest.warns(LlmdriftWarning, match="skipped 2 malformed.*line 3.*span_id"):
        data = load_calibration_source(path, scores=_JUDGE)
    human = data.scores[data.scores["kind"] == "human"]
    assert human[["span_id", "value"]].values.tolist() == [["a", 5.0], ["b", 2.0]]


def test_scores_argument_of_the_wrong_shape(tmp_path):
    path = _labels_file(tmp_path, _HEADER + "a,format,5,x\n")
    before = _JUDGE.copy()
    with pytest.raises(ValueError, match=r"scores= lacks column\(s\) \['kind'\]"):
        load_calibration_source(path, scores=_JUDGE.drop(columns="kind"))
    with pytest.raises(TypeError, match="scores file must be a DataFrame or the path"):
        load_calibration_source(path, scores=[1])
    with pytest.raises(FileNotFoundError, match="scores file .*nope.csv"):
        load_calibration_source(path, scores=str(tmp_path / "nope.csv"))
    pd.testing.assert_frame_equal(_JUDGE, before)


# --- tracing and the calibration view -------------------------------------------------------


def test_template_hash_of_a_lone_surrogate_is_a_clear_error():
    with pytest.raises(ValueError, match="lone surrogate '\\\\ud83d'"):
        template_hash("Reply in {language} \ud83d.")
    # a valid emoji hashes as before: sha256 of the UTF-8 text, 12 hex digits
    import hashlib

    text = "Reply in {language} \U0001f600."
    expected = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    assert template_hash(text) == expected


def _ratings(values_judge, values_human) -> pd.DataFrame:
    n = len(values_judge)
    return pd.DataFrame(
        {
            "span_id": np.tile(np.arange(n), 2),
            "dimension": "q",
            "value": np.r_[values_human, values_judge].astype(float),
            "scorer": ["ann"] * n + ["gpt"] * n,
            "kind": ["human"] * n + ["judge"] * n,
        }
    )


def test_calibration_view_unknown_dimension_and_all_missing_values():
    scores = _ratings([1, 2, 3, 2] * 5, [1, 2, 3, 3] * 5)
    before = scores.copy()
    with pytest.raises(ValueError, match=r"dimension 'qq' has no scores.*\['q'\]"):
        calibration_view(scores, "qq", n_boot=0, trust=False)
    failed = scores.assign(value=np.nan)
    # used to end in an IndexError deep inside the agreement code
    with pytest.raises(ValueError, match="every value of dimension 'q' is missing"):
        calibration_view(failed, "q", n_boot=0, trust=False)
    with pytest.raises(ValueError, match=r"lack column\(s\) \['kind'\]"):
        calibration_view(scores.drop(columns="kind"), "q", n_boot=0, trust=False)
    pd.testing.assert_frame_equal(scores, before)


def test_tz_aware_objects_in_several_zones_are_converted_not_refused():
    # a database driver hands back datetime objects with their own offsets
    table = _table(
        ts=pd.Series(
            [
                pd.Timestamp("2024-06-10 06:00", tz="UTC"),
                pd.Timestamp("2024-06-10 08:30", tz="Europe/Berlin"),
            ],
            dtype=object,
        )
    )
    spans = from_table(table, _MAP)
    # Berlin is UTC+2 in June: 08:30 local is 06:30 UTC
    assert spans["start_time"].tolist() == [
        pd.Timestamp("2024-06-10 06:00", tz="UTC"),
        pd.Timestamp("2024-06-10 06:30", tz="UTC"),
    ]
    mixed = _table(
        ts=pd.Series(
            [pd.Timestamp("2024-06-10 06:00", tz="UTC"), pd.Timestamp("2024-06-10")],
            dtype=object,
        )
    )
    with pytest.raises(schema.SchemaError, match="mixes tz-aware and naive.*row 1"):
        from_table(mixed, _MAP)


def test_misspelt_stratum_with_a_default_rate_warns():
    spans = pd.DataFrame(
        {
            "span_id": [f"{i:016x}" for i in range(200)],
            "intent": ["summarise", "classify"] * 100,
        }
    )
    with pytest.warns(LlmdriftWarning, match=r"\['sumarise'\] that no span has"):
        sample = sample_for_judging(
            spans, {"sumarise": 1.0, "classify": 1.0}, default_rate=0.0, always=()
        )
    # the typo left 'summarise' at the default rate 0: only 'classify' sampled
    assert set(sample["intent"]) == {"classify"}
    assert len(sample) == 100


def test_fractional_token_count_warning_says_why():
    calls = _calls(input_tokens=[1000.5, 1000.0, 1000.0, 1000.0])
    with pytest.warns(LlmdriftWarning, match="1 of 4 rows.*negative or fractional"):
        out = normalize_usage(calls)
    assert out["usage_inconsistent"].tolist() == [True, False, False, False]
    assert out["input_tokens"].tolist() == [pd.NA, 1000, 1000, 1000]


def test_content_attribute_with_a_numeric_key_does_not_lose_the_span(tmp_path):
    span = _span(
        "00000000000000d1",
        attributes=[
            {"key": 7, "value": {"stringValue": "stray"}},
            {"key": "gen_ai.completion.0.content", "value": {"stringValue": "Hi!"}},
        ],
    )
    path = tmp_path / "spans.jsonl"
    path.write_text(_line(span) + "\n")
    contents = read_otlp_contents(path)
    assert contents["span_id"].tolist() == ["00000000000000d1"]
    assert contents["output_text"].tolist() == ["Hi!"]


def test_empty_attribute_name_option_is_refused(tmp_path):
    path = tmp_path / "spans.jsonl"
    path.write_text(_line(_span("00000000000000d2")) + "\n")
    with pytest.raises(ValueError, match="intent_attributes holds an empty"):
        read_otlp(path, intent_attributes="")
    assert read_otlp(path, intent_attributes=())["intent"].isna().all()


def test_negative_token_count_in_otlp_is_flagged_and_warned(tmp_path):
    span = _span(
        "00000000000000e1",
        attributes=[
            {"key": "gen_ai.request.model", "value": {"stringValue": "m"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "-5"}},
        ],
    )
    path = tmp_path / "spans.jsonl"
    path.write_text(_line(span) + "\n" + _line(_span("00000000000000e2")) + "\n")
    with pytest.warns(LlmdriftWarning, match="1 span.*contradictory token counts"):
        spans = read_otlp(path)
    # kept as given, never clamped, and flagged
    assert spans["input_tokens"].tolist() == [-5, 25]
    assert spans["usage_inconsistent"].tolist() == [True, False]


def test_misspelt_answer_format_key_is_not_run_as_a_regex():
    # 'yes_no_bracket' used to become a regex that never matches: every answer 0.0
    with pytest.raises(ValueError, match="did you mean 'yes_no_brackets'"):
        answer_format("yes_no_bracket")
    check_ = answer_format(r"\[(A|B)\]")  # a real regex still works
    assert check_(pd.Series(["[A] first", "none"])).tolist() == [1.0, 0.0]


@pytest.mark.parametrize("version", [float("nan"), [1], True, {"v": 1}])
def test_prompt_version_that_is_not_a_label_is_refused(version):
    # str() of these would have become the version label ('nan', '[1]', 'True')
    with pytest.raises(TypeError, match="version must be a str or a number"):
        prompt_attributes(name="triage", version=version)
    assert prompt_attributes(name="triage", version=3)["gen_ai.prompt.version"] == "3"


def test_set_prompt_attributes_on_something_that_is_not_a_span():
    with pytest.raises(TypeError, match="span must be an OpenTelemetry span.*str"):
        set_prompt_attributes("my-span", name="triage")
    with pytest.raises(TypeError, match="rendered must be a str"):
        prompt_attributes(name="t", rendered=b"Hi", record_rendered_hash=True)
