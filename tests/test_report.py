"""The shareable incident report (llmdrift.report) and ``llmdrift report``.

The report is parsed back with the standard library's HTML parser, so the
checks read the page's structure (tables, rows, SVG elements, scripts and
external references) rather than trusting the code that wrote it.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from types import SimpleNamespace

import pandas as pd
import pytest

from llmdrift.cli import main
from llmdrift.report import incident_report


class _Page(HTMLParser):
    """Collects what a reader (and a browser) would load from the page."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._svg_depth = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and re.match(r"\w+:", value):
                self.external.append(value)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def demo_incident():
    import warnings

    import llmdrift
    from llmdrift.datasets import load_demo

    data = load_demo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", llmdrift.LlmdriftWarning)
        return llmdrift.investigate(
            data.spans, data.scores, data.deployments, contents=data.contents
        )


@pytest.fixture(scope="module")
def demo_pages(demo_incident):
    return (
        incident_report(demo_incident),
        incident_report(demo_incident, include_contents=True),
    )


def test_demo_report_is_self_contained_with_svg_charts(demo_pages):
    page = _parse(demo_pages[0])
    assert "script" not in page.tags
    assert page.external == []
    # the three incident charts, inline; vl-convert writes one root <svg> each
    assert page.tags.count("figure") == 3
    assert page.tags.count("svg") >= 3
    assert "could not be drawn" not in demo_pages[0]


def test_demo_report_summary_and_quality_chart_name_the_drop(demo_incident, demo_pages):
    text = demo_pages[0]
    assert html.escape(demo_incident.summary()) in text
    drop = demo_incident.drop
    # the quality chart's title names the drop's dimension and group
    first_svg = text[text.index("<svg") : text.index("</svg>")]
    assert drop["dimension"] in first_svg
    assert drop["intent"] in first_svg


def test_demo_report_causes_table_matches_incident(demo_incident, demo_pages):
    page = _parse(demo_pages[0])
    causes = demo_incident.causes
    table = next(t for t in page.tables if t and t[0][:2] == ["rank", "kind"])
    header, rows = table[0], table[1:]
    assert len(rows) == len(causes)
    kinds = [r[header.index("kind")] for r in rows]
    assert kinds == causes["kind"].astype(str).tolist()
    assert rows[0][header.index("description")] == causes["description"].iloc[0]
    # the top cause of the demo is the unannounced template change
    assert kinds[0] == "prompt_hash"
    assert rows[0][header.index("announced")] == "False"


def test_demo_report_alerts_section(demo_incident, demo_pages):
    alerts = demo_incident.alerts
    text = demo_pages[0]
    section = text[text.index("<h2>Alerts</h2>") : text.index("<h2>Before and")]
    if alerts is None:
        assert "not evaluated" in section
    elif len(alerts) == 0:
        assert "No alert fired" in section
    else:
        rows = _parse(section).tables[0][1:]
        assert len(rows) == len(alerts)


def test_demo_report_redacts_trace_texts_unless_asked(demo_incident, demo_pages):
    redacted, full = demo_pages
    traces = demo_incident.traces
    assert len(traces) >= 2
    texts = [
        t
        for t in pd.concat([traces["input_text"], traces["output_text"]])
        if isinstance(t, str) and len(t) > 20
    ]
    assert texts
    for t in texts:
        assert html.escape(t) not in redacted
        assert html.escape(t) in full
    assert redacted.count("[redacted]") == 2 * len(traces)
    for span in traces["span_id"]:
        assert span in redacted


def test_every_text_is_escaped():
    evil = "<script>alert(1)</script>"
    t = pd.Timestamp("2024-01-03", tz="UTC")
    fake = SimpleNamespace(
        summary=lambda: f"drop {evil}",
        drop=None,
        causes=pd.DataFrame(
            {"rank": [1], "kind": ["prompt_hash"], "description": [evil], "time": [t]}
        ),
        alerts=pd.DataFrame({"rule": [evil], "time": [t]}),
        traces=pd.DataFrame(
            {
                "side": ["after"],
                "span_id": [evil],
                "time": [t],
                "dimension": [evil],
                "value": [1.0],
                "input_text": [evil],
                "output_text": [evil],
            }
        ),
    )
    page = incident_report(fake, include_contents=True)
    parsed = _parse(page)
    assert "script" not in parsed.tags
    assert page.count(html.escape(evil)) == 7
    assert "2024-01-03 00:00 UTC" in page


def test_writes_file_and_incident_to_html(demo_incident, tmp_path):
    out = tmp_path / "incident.html"
    returned = demo_incident.to_html(out)
    assert out.read_text(encoding="utf-8") == returned
    assert returned.startswith("<!DOCTYPE html>")


def test_rejects_what_is_not_an_incident():
    with pytest.raises(TypeError, match="llmdrift.investigate"):
        incident_report(pd.DataFrame())


def test_cli_data_only_for_named_sources(tmp_path, capsys):
    out = str(tmp_path / "o")
    code = main(["report", "--source", "a.json", "--data", "x", "--out", out])
    assert code == 2
    assert "--data applies to --source demo or chen2023" in capsys.readouterr().err


def test_cli_source_and_store_exclusive(tmp_path, capsys):
    out = str(tmp_path / "o")
    code = main(["report", "--source", "demo", "--store", "s", "--out", out])
    assert code == 2
    assert "not both" in capsys.readouterr().err


def test_cli_missing_store_exits_2(tmp_path, capsys):
    code = main(["report", "--store", str(tmp_path / "none.duckdb"), "--out", "o"])
    assert code == 2
    assert "llmdrift ingest" in capsys.readouterr().err


def test_cli_missing_otlp_file_exits_2(tmp_path, capsys):
    missing = tmp_path / "nope.json"
    code = main(["report", "--source", str(missing), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "nope.json" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _incident_store(tmp_path):
    """A store whose intent a drops by 2 points when its template changes."""
    import numpy as np

    from llmdrift.store import open_store

    rng = np.random.default_rng(0)
    t = pd.date_range("2024-01-01", periods=30 * 48, freq="30min", tz="UTC")
    n = len(t)
    spans = pd.DataFrame(
        {
            "trace_id": [f"{i:032x}" for i in range(n)],
            "span_id": [f"{i:016x}" for i in range(n)],
            "start_time": t,
            "duration_ms": rng.normal(900, 80, n),
            "service": "api",
            "request_model": "m",
            "intent": np.tile(["a", "b"], n // 2),
            "prompt_hash": "h1",
            "status": "ok",
            "cost_usd": 0.001,
        }
    )
    late = (spans["start_time"] >= "2024-01-20") & (spans["intent"] == "a")
    spans.loc[late, "prompt_hash"] = "h2"
    value = np.clip(rng.normal(4.5, 0.5, n) - 2 * late, 1, 5).round()
    scores = pd.DataFrame(
        {
            "span_id": spans["span_id"],
            "trace_id": spans["trace_id"],
            "time": t,
            "dimension": "format",
            "value": value,
            "scorer": "j",
            "kind": "judge",
        }
    )
    store_path = tmp_path / "spans.duckdb"
    store = open_store(store_path)
    store.append(spans=spans, scores=scores)
    store.close()
    return store_path


def test_cli_report_from_a_span_store(tmp_path):
    """A planted template change in intent a: the page from the store names it."""
    store_path = _incident_store(tmp_path)
    out = tmp_path / "incident.html"
    assert main(["report", "--store", str(store_path), "--out", str(out)]) == 0
    page = _parse(out.read_text(encoding="utf-8"))
    text = "".join(page.text)
    assert "format for intent a fell" in text
    causes = next(tb for tb in page.tables if tb and tb[0][:2] == ["rank", "kind"])
    assert causes[1][1] == "prompt_hash"
    assert page.tags.count("figure") == 3


def test_cli_unwritable_out_and_empty_source_exit_2(tmp_path, capsys):
    missing = tmp_path / "no" / "such" / "x.html"
    assert main(["report", "--source", "demo", "--out", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["report", "--source", "demo", "--out", str(tmp_path)]) == 2
    assert "it is a folder" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert (
        main(["report", "--source", str(empty), "--out", str(tmp_path / "x.html")]) == 2
    )
    assert "no spans loaded" in capsys.readouterr().err


def test_cli_report_reads_a_store_another_reader_holds(tmp_path, capsys):
    """T3-15/T3-20: report opened the store for writing, so it failed on the
    DuckDB lock while another read-only reader (alerts, report) had it open."""
    import subprocess
    import sys

    store_path = _incident_store(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from llmdrift.store import open_store; "
            "s = open_store(sys.argv[1], read_only=True); "
            "print('ready', flush=True); time.sleep(60)",
            str(store_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        out = tmp_path / "incident.html"
        code = main(["report", "--store", str(store_path), "--out", str(out)])
    finally:
        holder.kill()
        holder.wait()
    assert code == 0, capsys.readouterr().err
    assert out.is_file()


def test_cli_report_store_that_cannot_be_opened_exits_2(tmp_path, capsys):
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"not a duckdb file at all" * 100)
    code = main(["report", "--store", str(corrupt), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"llmdrift report: cannot load {corrupt}: ")
    assert "not a valid DuckDB" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d / "no" / "such", "does not exist"),
        (lambda d: d, "holds no spans.parquet"),
        (lambda d: (d / "f.txt").write_text("x") and d / "f.txt", "is a file"),
    ],
)
def test_cli_report_bad_data_folder_exits_2_naming_it(tmp_path, capsys, make, expected):
    """T3-30: a --data folder that is missing or holds no demo was passed over
    (the demo was generated instead) and the command exited 0."""
    data = make(tmp_path)
    out = tmp_path / "x.html"
    code = main(["report", "--data", str(data), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"--data {str(data)!r} {expected}" in err
    assert "python -m llmdrift.datasets.demo --out" in err
    assert not out.exists()


def test_cli_report_unexpected_error_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    """A bug raised a traceback with exit 1; now one line asking to report it."""
    import importlib

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    # the module (llmdrift.investigate can also name the function)
    module = importlib.import_module("llmdrift.investigate")
    monkeypatch.setattr(module, "load_source", broken)
    monkeypatch.delenv("LLMDRIFT_DEBUG", raising=False)
    out = str(tmp_path / "x.html")
    assert main(["report", "--source", "demo", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "llmdrift report: internal error (RuntimeError: boom); please report "
        "this, with the command line, as an llmdrift bug; rerun with --debug or "
        "LLMDRIFT_DEBUG=1 for the traceback"
    ]
    assert main(["report", "--source", "demo", "--out", out, "--debug"]) == 2
    assert capsys.readouterr().err.startswith("Traceback (most recent call last):")


def test_cli_report_reads_a_contents_store_and_a_deployments_file(tmp_path, capsys):
    """Texts kept in a separate store reach the page with --contents-store, and
    a deployment announcing the template change is read from --deployments."""
    from llmdrift.store import open_store

    store_path = _incident_store(tmp_path)
    store = open_store(store_path, read_only=True)
    ids = store.table("spans").select("span_id").to_pandas()["span_id"]
    store.close()
    texts = open_store(tmp_path / "texts.duckdb")
    texts.append(
        contents=pd.DataFrame(
            {
                "span_id": ids,
                "output_text": [f"answer-{i:05d}" for i in range(len(ids))],
            }
        )
    )
    texts.close()
    (tmp_path / "deployments.csv").write_text(
        "time,service,version,note\n"
        "2024-01-20T00:00:00Z,api,v7-release,new prompt template for intent a\n"
    )
    out = tmp_path / "incident.html"
    base = ["report", "--store", str(store_path), "--out", str(out)]
    assert main([*base, "--include-contents"]) == 0
    without = "".join(_parse(out.read_text(encoding="utf-8")).text)
    assert "answer-0" not in without  # the spans store holds no texts
    argv = [
        *base,
        "--include-contents",
        "--contents-store",
        str(tmp_path / "texts.duckdb"),
        "--deployments",
        str(tmp_path / "deployments.csv"),
    ]
    assert main(argv) == 0, capsys.readouterr().err
    page = _parse(out.read_text(encoding="utf-8"))
    text = "".join(page.text)
    assert "answer-0" in text
    causes = next(tb for tb in page.tables if tb and tb[0][:2] == ["rank", "kind"])
    header = causes[0]
    row = dict(zip(header, causes[1], strict=False))
    assert row["kind"] == "prompt_hash" and row["announced"].lower() in ("yes", "true")
    # misuse is an error line, exit 2
    assert main(["report", "--contents-store", "x", "--out", str(out)]) == 2
    assert "--contents-store goes with --store" in capsys.readouterr().err
    missing = [*base, "--deployments", str(tmp_path / "none.csv")]
    assert main(missing) == 2
    assert "none.csv" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# trial: bad --deployments files, --include-contents without texts


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "time,service\nlast tuesday,api\n",
            "column 'time', row 1 (line 2): 'last tuesday' is not an ISO 8601 time",
        ),
        (
            "time,service\n1705708800,api\n",
            "'1705708800' is a number (epoch seconds?), not an ISO 8601 time",
        ),
        (
            "time,service\n2024-01-20T00:00Z,api\n,api\n",
            "column 'time' is empty in row 2 (line 3)",
        ),
    ],
)
def test_cli_report_bad_deployments_file_is_named_not_the_store(
    tmp_path, capsys, content, expected
):
    """It said 'cannot load <store>: Time data ... is not ISO8601 format' with
    pandas' format= hints."""
    store_path = _incident_store(tmp_path)
    path = tmp_path / "d.csv"
    path.write_text(content)
    argv = ["report", "--store", str(store_path), "--out", str(tmp_path / "x.html")]
    assert main([*argv, "--deployments", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"llmdrift report: deployments file {str(path)!r}: ")
    assert expected in err
    assert "ISO 8601 with a zone, e.g. 2026-02-20T06:00Z" in err
    assert "cannot load" not in err and "format=" not in err


def test_cli_report_header_only_deployments_and_versions_as_text(tmp_path, capsys):
    store_path = _incident_store(tmp_path)
    out = tmp_path / "x.html"
    argv = ["report", "--store", str(store_path), "--out", str(out)]
    path = tmp_path / "d.csv"
    path.write_text("time,service,version,note\n")
    assert main([*argv, "--deployments", str(path)]) == 0, capsys.readouterr().err
    # a version such as 1.0 was read as a float, then refused
    path.write_text(
        "time,service,version,note\n2024-01-20T01:00+01:00,api,1.0,new template\n"
    )
    assert main([*argv, "--deployments", str(path)]) == 0, capsys.readouterr().err


def test_cli_report_include_contents_without_texts_says_where_they_are(
    tmp_path, capsys
):
    store_path = _incident_store(tmp_path)
    out = tmp_path / "x.html"
    argv = ["report", "--store", str(store_path), "--out", str(out)]
    assert main([*argv, "--include-contents"]) == 0
    err = capsys.readouterr().err
    assert (
        f"llmdrift report: note: --include-contents, but the store "
        f"{str(store_path)!r} holds no prompt or answer texts, so the traces show "
        "'-'; if `llmdrift ingest --contents-store PATH` kept them in their own "
        "store, add --contents-store PATH"
    ) in err
    assert main(argv) == 0
    assert "note:" not in capsys.readouterr().err  # texts not asked for
