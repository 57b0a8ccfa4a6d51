"""``llmdrift ingest FILES --store PATH``: summary, idempotence, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from llmdrift.cli import main
from llmdrift.store import open_store

T0 = 1_772_323_200_000_000_000  # 2026-03-01T00:00:00Z in ns


def _attr(key, value):
    kind = "intValue" if isinstance(value, int) else "stringValue"
    return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}


def _span(i, service_offset=0):
    start = T0 + i * 3_600_000_000_000  # one span an hour
    return {
        "traceId": f"{i + 1:032x}",
        "spanId": f"{i + 1 + service_offset:016x}",
        "name": "chat m",
        "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 250_000_000),
        "attributes": [
            _attr("gen_ai.operation.name", "chat"),
            _attr("gen_ai.request.model", "claude-x"),
            _attr("gen_ai.usage.input_tokens", 100 + i),
            _attr("gen_ai.usage.output_tokens", 10),
            _attr("llmdrift.intent", "refund" if i % 2 else "triage"),
            _attr("gen_ai.prompt", f"question {i}"),
            _attr("gen_ai.completion", f"answer {i}"),
        ],
        "status": {},
    }


def write_file(path, service, spans, bad_lines=0):
    request = {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attr("service.name", service)]},
                "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}],
            }
        ]
    }
    lines = [json.dumps(request)] + ["not json {"] * bad_lines
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def files(tmp_path):
    a = write_file(tmp_path / "a.jsonl", "support-bot", [_span(i) for i in range(6)])
    b = write_file(
        tmp_path / "b.jsonl",
        "search-api",
        [_span(i, 1000) for i in range(6, 10)],
        bad_lines=2,
    )
    return a, b


def test_ingest_prints_summary_and_loads_once(files, tmp_path, capsys):
    store_path = tmp_path / "t.duckdb"
    argv = ["ingest", *map(str, files), "--store", str(store_path), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "spans read: 10" in out
    assert "spans loaded: 10" in out
    assert "texts loaded: 10" in out
    # the two lines that are not JSON are reported with their reason
    assert "skipped by the reader:" in out and "  2  " in out
    assert "time range: 2026-03-01 00:00:00 to 2026-03-01 09:00:00 UTC" in out
    assert "support-bot (6)" in out and "search-api (4)" in out

    # the same files again: nothing added
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "spans loaded: 0" in out
    assert "spans already in the store (skipped): 10" in out
    store = open_store(store_path)
    assert store.count("spans") == 10
    assert store.count("contents") == 10
    store.close()


def test_ingest_contents_to_a_separate_store(files, tmp_path, capsys):
    argv = [
        "ingest",
        str(files[0]),
        "--store",
        str(tmp_path / "spans"),
        "--contents-store",
        str(tmp_path / "texts.duckdb"),
        "--no-progress",
    ]
    assert main(argv) == 0
    capsys.readouterr()
    spans = open_store(tmp_path / "spans")
    assert spans.count("spans") == 6
    assert not spans.has_table("contents")
    texts = open_store(tmp_path / "texts.duckdb")
    assert texts.count("contents") == 6
    spans.close()
    texts.close()


def test_ingest_missing_file_is_a_clear_error(tmp_path, capsys):
    argv = ["ingest", str(tmp_path / "nope.jsonl"), "--store", str(tmp_path / "s.db")]
    assert main(argv) == 2
    assert "no such OTLP file" in capsys.readouterr().err


@pytest.mark.slow
def test_killed_ingest_rerun_equals_one_clean_run(tmp_path):
    """`llmdrift ingest` killed inside its 2nd file's transaction, then re-run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from llmdrift.store import load_from_store

    paths = [
        write_file(
            tmp_path / f"f{k}.jsonl", f"svc{k}", [_span(i, 100 * k) for i in range(5)]
        )
        for k in range(3)
    ]
    command = [sys.executable, "-m", "llmdrift.cli", "ingest", *map(str, paths)]
    marker = tmp_path / "paused"
    env = dict(os.environ, LLMDRIFT_STORE_TEST_PAUSE=f"2:{marker}")
    store_path = str(tmp_path / "killed.duckdb")
    child = subprocess.Popen(
        [*command, "--store", store_path, "--no-progress"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert child.poll() is None, "ingest ended before the pause"
        assert time.monotonic() < deadline, "ingest never reached the pause"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert open_store(store_path).count("spans") == 5  # the first file only

    for path in (store_path, str(tmp_path / "clean.duckdb")):
        subprocess.run(
            [*command, "--store", path, "--no-progress"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    got = load_from_store(store_path, tables=("spans", "contents"))
    want = load_from_store(tmp_path / "clean.duckdb", tables=("spans", "contents"))
    for name in ("spans", "contents"):
        left = got[name].sort_values("span_id").reset_index(drop=True)
        right = want[name].sort_values("span_id").reset_index(drop=True)
        assert len(left) == 15
        pd.testing.assert_frame_equal(left, right)


def test_answers_are_scored_by_the_default_checks_and_spans_priced(files, tmp_path):
    from llmdrift.checks import default_checks

    store_path = tmp_path / "s.duckdb"
    assert main(["ingest", *map(str, files), "--store", str(store_path)]) == 0
    store = open_store(store_path)
    n_texts = store.count("contents")
    assert n_texts > 0
    # one heuristic score per answer and default check, nothing else
    assert store.count("scores") == n_texts * len(default_checks())
    scores = store.table("scores").to_pandas()
    assert set(scores["kind"]) == {"heuristic"}
    assert set(scores["scorer"]) == {c.name for c in default_checks()}
    # the model is unknown to genai-prices: priced as <NA>, never 0
    spans = store.table("spans").to_pandas()
    assert "cost_usd" in spans.columns and spans["cost_usd"].isna().all()
    # a second run adds nothing, scores included
    assert main(["ingest", *map(str, files), "--store", str(store_path)]) == 0
    assert open_store(store_path).count("scores") == n_texts * len(default_checks())


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "llmdrift", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    for command in ("ingest", "alerts", "report"):
        assert command in done.stdout


def test_texts_of_spans_the_reader_skipped_are_not_stored(tmp_path, capsys):
    spans = [_span(i) for i in range(4)]
    spans[1]["startTimeUnixNano"] = "yesterday"  # the reader skips this span
    path = write_file(tmp_path / "a.jsonl", "support-bot", spans)
    store_path = tmp_path / "t.duckdb"
    argv = ["ingest", str(path), "--store", str(store_path), "--no-progress"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "spans loaded: 3" in captured.out and "texts loaded: 3" in captured.out
    assert "  1  text of a span the reader skipped" in captured.out
    assert "warning: read_otlp: 1 span(s) skipped" in captured.err
    store = open_store(store_path, read_only=True)
    texts = store.table("contents").to_pandas()
    stored = store.table("spans").to_pandas()
    assert set(texts["span_id"]) == set(stored["span_id"])
    store.close()


def test_files_without_a_readable_span_exit_2(tmp_path, capsys):
    path = tmp_path / "notes.jsonl"
    path.write_text('{"hello": 1}\nnot json\n')
    argv = ["ingest", str(path), "--store", str(tmp_path / "t.duckdb"), "--no-progress"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "spans read: 0" in captured.out
    assert "no span could be read from the files" in captured.err


def test_files_of_empty_span_lists_say_so_instead_of_pointing_at_skips(
    tmp_path, capsys
):
    path = tmp_path / "empty.jsonl"
    path.write_text('{"resourceSpans": []}\n')
    argv = ["ingest", str(path), "--store", str(tmp_path / "t.duckdb"), "--no-progress"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "skipped by the reader: none" in captured.out
    assert "the files hold no spans" in captured.err
    assert "see 'skipped by the reader' above" not in captured.err


def test_a_bad_line_both_readers_see_is_warned_once(files, tmp_path, capsys):
    argv = ["ingest", str(files[1]), "--store", str(tmp_path / "t.duckdb")]
    assert main([*argv, "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "warning: read_otlp: 2 line(s) skipped" in err
    assert "read_otlp_contents: 2 line(s) skipped" not in err
