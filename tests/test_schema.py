"""Tests of llmdrift.schema: the five frame contracts and their validator.

What is checked: every contract column is named once with a real pandas dtype
and a meaning; the columns DESIGN.md lists are all in the contracts; the
validator names the missing or mistyped column, what it means and how to
supply it; naive times are rejected (never localised); ``conform`` types the
columns without touching the caller's frame.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA

from llmdrift import schema
from llmdrift.schema import SchemaError

KINDS = tuple(schema.SCHEMAS)
T = pd.Timestamp("2024-06-10T06:13:20Z")


def _value_of(dtype: str):
    """One valid value of a contract dtype."""
    return {
        schema.UTC_DTYPE: T,
        "string": "x",
        "float64": 1.5,
        "Float64": 1.5,
        "int64": 3,
        "Int64": 3,
        "boolean": True,
    }[dtype]


def minimal(kind: str, n: int = 2) -> pd.DataFrame:
    """A frame with only the required columns of ``kind``, valid values."""
    data = {}
    for col in schema.SCHEMAS[kind]:
        if col.required:
            data[col.name] = pd.Series([_value_of(col.dtype)] * n, dtype=col.dtype)
    frame = pd.DataFrame(data)
    if "span_id" in frame and kind == "spans":
        frame["span_id"] = pd.array([f"s{i}" for i in range(n)], dtype="string")
    if "kind" in frame:
        frame["kind"] = pd.array(["judge"] * n, dtype="string")
    return frame


# --- the contracts themselves ---------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_each_column_named_once_with_dtype_and_meaning(kind):
    columns = schema.SCHEMAS[kind]
    names = [c.name for c in columns]
    assert len(names) == len(set(names)), f"{kind}: a column is named twice"
    for col in columns:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", col.name), col.name
        pd.api.types.pandas_dtype(col.dtype)  # a dtype pandas knows
        assert len(col.meaning.split()) >= 3, f"{kind}.{col.name} has no meaning"
    table = schema.describe(kind)
    assert table["column"].tolist() == names
    assert table["dtype"].tolist() == [c.dtype for c in columns]
    assert table["meaning"].str.len().gt(0).all()
    empty = schema.empty(kind)
    assert [str(t) for t in empty.dtypes] == [c.dtype for c in columns]


def _design_columns() -> dict[str, list[str]]:
    design = SHARED_DATA.parent / "DESIGN.md"
    if not design.exists():
        pytest.skip(f"{design} is absent (the shared folder beside the project)")
    text = design.read_text()
    out = {}
    for kind in KINDS:
        # "- **spans** — one row per ...: `trace_id, span_id, ...`" (may wrap)
        match = re.search(rf"- \*\*{kind}\*\*(.*?)(?=\n- \*\*|\n\n)", text, re.S)
        assert match, f"DESIGN.md has no bullet for {kind}"
        ticks = re.findall(r"`([^`]*)`", match.group(1))
        names = [
            part.strip()
            for tick in ticks
            for part in tick.replace("\n", " ").split(",")
            if re.fullmatch(r"[a-z_0-9]+", part.strip())
        ]
        out[kind] = names
    return out


def test_every_column_design_md_lists_is_in_the_contract():
    design = _design_columns()
    # values DESIGN.md puts in backticks that are not columns
    not_columns = {"heuristic", "judge", "human", "kind"} - {"kind"}
    for kind, names in design.items():
        contract = {c.name for c in schema.SCHEMAS[kind]}
        listed = [n for n in names if n not in not_columns]
        assert listed, kind
        missing = [n for n in listed if n not in contract and n not in ("p50", "p95")]
        assert not missing, (
            f"{kind}: DESIGN.md lists {missing}, the contract lacks them"
        )


def test_contracts_that_design_md_fixes():
    spans = {c.name: c for c in schema.SPANS}
    assert spans["start_time"].dtype == "datetime64[ns, UTC]"
    for name in ("input_tokens", "output_tokens", "cache_read_tokens"):
        assert spans[name].dtype == "Int64"  # missing counts are <NA>, never 0
    assert schema.SCORE_KINDS == ("heuristic", "judge", "human")
    assert "llm" in schema.SPAN_KINDS


# --- validate: missing, mistyped, naive ------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_valid_minimal_and_empty_frames_pass(kind):
    frame = minimal(kind)
    assert schema.validate(frame, kind) is frame
    schema.validate(schema.empty(kind), kind)


@pytest.mark.parametrize(
    ("kind", "name"),
    [(k, c.name) for k in KINDS for c in schema.SCHEMAS[k] if c.required],
)
def test_missing_required_column_is_named_with_meaning_and_fix(kind, name):
    frame = minimal(kind).drop(columns=name)
    col = next(c for c in schema.SCHEMAS[kind] if c.name == name)
    with pytest.raises(SchemaError) as info:
        schema.validate(frame, kind)
    message = str(info.value)
    assert f"{kind} frame: missing column {name!r}" in message
    assert col.meaning in message  # what the column means
    assert schema._FIXES[kind] in message  # how to supply it


@pytest.mark.parametrize(
    ("kind", "name", "bad", "hint"),
    [
        ("scores", "value", ["high", "low"], "astype('float64')"),
        ("scores", "time", ["2024-06-10", "2024-06-11"], "pd.to_datetime"),
        ("spans", "input_tokens", ["10", "n/a"], "astype('Int64')"),
        ("spans", "flagged", ["yes", "no"], "astype('boolean')"),
        ("spans", "duration_ms", [True, False], "astype('float64')"),
        ("series", "n", [0.5, 1.5], "astype('int64')"),
        ("contents", "output_text", [1, 2], "astype('string')"),
    ],
)
def test_mistyped_column_names_expected_dtype_and_fix(kind, name, bad, hint):
    frame = minimal(kind).assign(**{name: bad})
    before = frame.copy(deep=True)
    with pytest.raises(SchemaError) as info:
        schema.validate(frame, kind)
    message = str(info.value)
    assert repr(name) in message and hint in message
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (k, c.name)
        for k in KINDS
        for c in schema.SCHEMAS[k]
        if c.dtype == schema.UTC_DTYPE
    ],
)
def test_naive_times_are_rejected_never_guessed(kind, name):
    frame = minimal(kind)
    frame[name] = pd.Series([pd.Timestamp("2024-06-10 06:13:20")] * len(frame))
    before = frame.copy(deep=True)
    with pytest.raises(SchemaError, match=f"'{name}' holds naive times") as info:
        schema.validate(frame, kind)
    assert "tz_localize('UTC')" in str(info.value)
    with pytest.raises(SchemaError, match="naive"):
        schema.conform(frame, kind)
    pd.testing.assert_frame_equal(frame, before)  # not localised in place


def test_other_zones_are_accepted_and_conform_converts_to_utc():
    berlin = pd.Timestamp("2024-06-10 08:13:20", tz="Europe/Berlin")
    frame = minimal("deployments").assign(time=[berlin, berlin])
    schema.validate(frame, "deployments")
    out = schema.conform(frame, "deployments")
    assert str(out["time"].dtype) == schema.UTC_DTYPE
    assert (out["time"] == T).all()  # the same instant
    assert "Europe/Berlin" in str(frame["time"].dtype)  # the input is untouched


def test_scores_kind_values_and_unique_span_ids():
    scores = minimal("scores").assign(kind=["judge", "robot"])
    with pytest.raises(SchemaError, match=r"'kind' has values \['robot'\]"):
        schema.validate(scores, "scores")
    spans = minimal("spans").assign(span_id=["a", "a"])
    with pytest.raises(SchemaError, match="'a' appears more than once.*drop_dup"):
        schema.validate(spans, "spans")


def test_require_and_bad_arguments():
    frame = minimal("spans")
    schema.validate(frame, "spans")
    with pytest.raises(SchemaError, match="missing column 'intent' \\(Request type"):
        schema.validate(frame, "spans", require=("intent",))
    with pytest.raises(TypeError, match="DataFrame of spans, got list"):
        schema.validate([1, 2], "spans")
    with pytest.raises(ValueError, match="unknown frame kind 'spam'"):
        schema.validate(frame, "spam")


# --- conform ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_conform_adds_typed_missing_columns_and_keeps_extras(kind):
    frame = minimal(kind).assign(extra_column=[1, 2])
    frame.index = [10, 20]
    before = frame.copy(deep=True)
    out = schema.conform(frame, kind)
    pd.testing.assert_frame_equal(frame, before)
    names = [c.name for c in schema.SCHEMAS[kind]]
    assert out.columns.tolist() == names + ["extra_column"]
    assert [str(out[n].dtype) for n in names] == [c.dtype for c in schema.SCHEMAS[kind]]
    assert isinstance(out.index, pd.RangeIndex)
    for col in schema.SCHEMAS[kind]:
        if not col.required:
            assert out[col.name].isna().all()
    schema.validate(out, kind)
    pd.testing.assert_frame_equal(
        schema.conform(schema.empty(kind), kind), schema.empty(kind)
    )


def test_conform_casts_present_columns():
    scores = minimal("scores").assign(
        value=np.array([1, 5], dtype=np.int64), span_id=pd.Series(["a", "b"])
    )
    scores["span_id"] = scores["span_id"].astype(object)
    out = schema.conform(scores, "scores")
    assert out["value"].dtype == np.float64 and out["value"].tolist() == [1.0, 5.0]
    assert str(out["span_id"].dtype) == "string"
    assert np.isnan(out["inclusion_prob"]).all()  # float64 missing is NaN


def test_submodules_are_attributes_of_the_package_after_import_llmdrift_alone():
    # a fresh interpreter: only ``import llmdrift`` has run
    import subprocess
    import sys

    code = (
        "import llmdrift\n"
        "print(llmdrift.schema.describe('deployments')['column'].tolist())\n"
        "print(llmdrift.drift.drift_tests.__name__, llmdrift.changepoint.pelt.__name__)\n"
        "print(callable(llmdrift.investigate))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "['time', 'service', 'version', 'note']"
    assert out[1] == "drift_tests pelt"
    assert out[2] == "True"
