"""Frames written as OTLP/JSON read back equal (frame_to_otlp_json, write_demo_otlp)."""

from __future__ import annotations

import pandas as pd
import pytest

import llmdrift
from llmdrift.datasets import load_demo
from llmdrift.datasets.demo import _main, write_demo_otlp
from llmdrift.ingest import read_otlp_contents
from llmdrift.ingest.export import frame_to_otlp_json, write_otlp_json


@pytest.fixture(scope="module")
def demo():
    return load_demo(days=10, requests_per_day=40)


def _cells(series: pd.Series) -> list:
    return series.astype(object).where(series.notna(), None).tolist()


def test_every_spans_column_survives_the_round_trip(demo, tmp_path):
    path = tmp_path / "traces.jsonl"
    before = demo.spans.copy()
    write_otlp_json(path, [frame_to_otlp_json(demo.spans, demo.contents)])
    pd.testing.assert_frame_equal(demo.spans, before)  # the caller's frame untouched
    back = llmdrift.read_otlp(path).sort_values("span_id").reset_index(drop=True)
    want = demo.spans.sort_values("span_id").reset_index(drop=True)
    assert len(back) == len(want)
    for column in want.columns:
        assert _cells(back[column]) == _cells(want[column]), column
    texts = read_otlp_contents(path).sort_values("span_id").reset_index(drop=True)
    wanted = demo.contents.sort_values("span_id").reset_index(drop=True)
    assert texts["input_text"].tolist() == wanted["input_text"].tolist()
    assert texts["output_text"].tolist() == wanted["output_text"].tolist()


def test_frame_without_ids_is_refused_by_name():
    with pytest.raises(ValueError, match=r"\['span_id'\]"):
        frame_to_otlp_json(pd.DataFrame({"trace_id": ["a"], "start_time": [0]}))


def test_demo_writer_makes_files_llmdrift_ingest_loads(demo, tmp_path):
    files = write_demo_otlp(tmp_path / "otlp", demo, per_file=300)
    assert len(files) == -(-len(demo.spans) // 300)
    store = tmp_path / "demo.duckdb"
    from llmdrift.cli import main

    assert (
        main(["ingest", *map(str, files), "--store", str(store), "--no-progress"]) == 0
    )
    from llmdrift.store import open_store

    opened = open_store(store)
    assert opened.count("spans") == len(demo.spans)
    assert opened.count("contents") == len(demo.contents)
    assert opened.count("scores") > 0  # heuristic checks of the answers
    opened.close()


def test_demo_command_writes_otlp_on_request(tmp_path, capsys):
    assert (
        _main(
            [
                "--out",
                str(tmp_path),
                "--days",
                "3",
                "--requests-per-day",
                "20",
                "--otlp",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "otlp").iterdir()) == [
        "traces-000.jsonl.gz"
    ]
    assert "OTLP/JSON" in capsys.readouterr().out


@pytest.mark.parametrize("days", [1, 2, 3])
def test_very_short_demos_load(days):
    demo = load_demo(days=days, requests_per_day=20)
    assert len(demo.spans) > 0
    llmdrift.schema.validate(demo.scores, "scores")
