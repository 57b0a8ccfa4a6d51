"""Incident charts: they build for the demo and chen2023, carry the marks,
encodings, titles and tooltips they claim, stay under Altair's row limit, and
render to PNG."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from conftest import shared_path

from llmdrift.charts import incident as ci
from llmdrift.charts.style import PALETTE, TIME_TITLE, save_png
from llmdrift.investigate import investigate

ROW_LIMIT = 5000  # alt.data_transformers' default max_rows


@pytest.fixture(scope="module")
def demo():
    from llmdrift.datasets import load_demo

    data = load_demo(requests_per_day=1500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        incident = investigate(data.spans, data.scores, data.deployments)
    return data, incident


@pytest.fixture(scope="module")
def chen():
    from llmdrift.datasets import load_chen2023

    data = load_chen2023(path=shared_path("chen2023-llmdrift"))
    return data, investigate(data.spans, data.scores, data.deployments)


def _layers(spec: dict) -> list[dict]:
    """Every unit layer of a (possibly nested) Vega-Lite spec."""
    out = []
    for key in ("layer", "concat", "vconcat", "hconcat"):
        for child in spec.get(key, []):
            out.extend(_layers(child))
    if "mark" in spec:
        out.append(spec)
    return out


def _mark(layer: dict) -> str:
    mark = layer["mark"]
    return mark["type"] if isinstance(mark, dict) else mark


def _rows(spec: dict) -> list[int]:
    return [len(rows) for rows in spec.get("datasets", {}).values()]


def _labels(spec: dict) -> set[str]:
    return {
        row["label"]
        for rows in spec.get("datasets", {}).values()
        for row in rows
        if isinstance(row, dict) and "label" in row
    }


def _check_quality_chart(chart):
    spec = chart.to_dict()
    layers = spec["layer"]
    marks = [_mark(layer) for layer in layers]
    assert marks[:3] == ["area", "line", "circle"]
    assert "rule" in marks and "text" in marks
    x = layers[0]["encoding"]["x"]
    assert x["title"] == TIME_TITLE and x["scale"]["type"] == "utc"
    assert "95% CI" in layers[0]["encoding"]["y"]["title"]
    tips = {t["field"] for t in layers[2]["encoding"]["tooltip"]}
    assert {"n", "ci_low", "ci_high", "mean", "window_start"} <= tips
    assert max(_rows(spec)) <= ROW_LIMIT
    rule = next(layer for layer in layers if _mark(layer) == "rule")
    assert set(rule["encoding"]["color"]["scale"]["range"]) <= set(PALETTE)
    return spec


def test_demo_quality_chart_marks_the_change_the_hash_and_the_alerts(demo, tmp_path):
    data, incident = demo
    spec = _check_quality_chart(ci.quality_chart(incident))
    labels = _labels(spec)
    drop = incident.drop
    assert f"{drop['dimension']} {drop['change']:+.2f}" in labels
    truth = data.truth
    assert f"prompt {truth.old_hash[:6]}->{truth.new_hash[:6]} (unannounced)" in labels
    assert any(label.startswith("deploy ") for label in labels)
    # the incident's alerts are marked (a hash-change alert concerns any
    # dimension of its intent)
    assert incident.alerts is not None and len(incident.alerts)
    assert "alert: prompt_hash_change" in labels
    assert "point" in [_mark(layer) for layer in spec["layer"]]  # the triangle
    png = save_png(ci.quality_chart(incident), tmp_path / "demo_quality.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chen_quality_chart_marks_the_model_change(chen, tmp_path):
    _, incident = chen
    spec = _check_quality_chart(ci.quality_chart(incident))
    assert "model gpt-4-0314->gpt-4-0613" in _labels(spec)
    png = save_png(ci.quality_chart(incident), tmp_path / "chen_quality.png")
    assert png.stat().st_size > 10_000


@pytest.mark.parametrize("source", ["demo", "chen"])
@pytest.mark.parametrize("scope", ["affected group", "service"])
def test_infrastructure_chart_has_four_panels_with_units_and_verdicts(
    source, scope, request
):
    _, incident = request.getfixturevalue(source)
    spec = ci.infrastructure_chart(incident, scope=scope).to_dict()
    panels = spec["concat"]
    assert len(panels) == 4
    tests = incident.infrastructure[incident.infrastructure["scope"] == scope]
    titles = [p["title"]["text"] for p in panels]
    for title, (_, test) in zip(titles, tests.iterrows(), strict=True):
        assert test["status"] in title
    units = set()
    for panel in panels:
        line = next(layer for layer in panel["layer"] if _mark(layer) == "line")
        units.add(line["encoding"]["y"]["title"])
        assert line["encoding"]["x"]["title"] == TIME_TITLE
        assert {"n_requests"} <= {t["field"] for t in line["encoding"]["tooltip"]}
    assert units == {"ms", "share of requests", "USD"}
    assert max(_rows(spec)) <= ROW_LIMIT


def test_service_panel_uses_exact_service_windows(chen):
    _, incident = chen
    spec = ci.infrastructure_chart(incident, scope="service").to_dict()
    line = next(layer for layer in spec["concat"][0]["layer"] if _mark(layer) == "line")
    rows = pd.DataFrame(spec["datasets"][line["data"]["name"]])
    own = incident.service_series
    own = own[own["service"] == incident.drop["service"]]
    assert rows["value"].tolist() == pytest.approx(own["latency_p50_ms"].tolist())


def test_prompt_audit_chart_flags_the_unannounced_change(demo):
    data, incident = demo
    spec = ci.prompt_audit_chart(incident).to_dict()
    panels = spec["vconcat"]
    intents = sorted(data.spans["intent"].dropna().unique())
    assert len(panels) == len(intents)
    flagged = [
        p["title"]["text"] for p in panels if "UNANNOUNCED" in p["title"]["text"]
    ]
    assert len(flagged) == 1 and data.truth.intent in flagged[0]


def test_tables_render(demo, chen):
    for _, incident in (demo, chen):
        assert "Candidate causes" in ci.causes_table(incident).to_html()
        assert "before vs after" in ci.figures_table(incident).to_html()
        ci.alerts_table(incident).to_html()
    _, incident = chen
    html = ci.alerts_table(incident).to_html()
    alerts = incident.alerts
    if len(alerts) == 0:
        assert "No alert fired" in html
    else:
        assert f"{len(alerts)} alert(s) fired" in html
    status = pd.DataFrame(alerts.attrs["status"])
    for rule, why in zip(status["rule"], status["status"], strict=True):
        if why != "ran":  # a rule that could not run says why
            assert f"{rule} ({why})" in html


# --------------------------------------------------------------------------
# marker helpers


def test_label_levels_separate_close_markers_only():
    t = pd.to_datetime(
        [
            "2024-01-01 00:00",
            "2024-01-20 00:00",
            "2024-01-20 06:00",
            "2024-01-20 12:00",
        ],
        utc=True,
    )
    span = (t[0], pd.Timestamp("2024-01-31", tz="UTC"))
    levels = ci._label_levels(pd.Series(t), span)
    assert levels[0] == 0  # alone on its side
    assert len(set(levels[1:])) == 3  # three close markers, three rows


def test_alert_events_keep_the_focus_and_collapse_runs():
    t = pd.Timestamp("2024-01-10", tz="UTC")
    alerts = pd.DataFrame(
        {
            "rule": ["quality_drop"] * 3 + ["quality_drop", "prompt_hash_change"],
            "time": [t, t + pd.Timedelta("12h"), t + pd.Timedelta("20h"), t, t],
            "group": [
                "intent=a",
                "intent=all",
                "intent=a",
                "intent=b",
                "service=s, intent=a",
            ],
            "dimension": ["format", "format", "format", "format", "prompt_hash"],
        }
    )
    known = {"intent": ["a", "b"], "dimension": ["format", "relevance"]}
    out = ci._alert_events(alerts, {"dimension": "format", "intent": "a"}, known)
    assert sorted(out["label"]) == [
        "alert: prompt_hash_change",
        "alert: quality_drop (x3)",
    ]
    assert (out["time"] == t).all()
    # another dimension of the same intent keeps only the hash-change alert
    out = ci._alert_events(alerts, {"dimension": "relevance", "intent": "a"}, known)
    assert out["label"].tolist() == ["alert: prompt_hash_change"]
    out = ci._alert_events(alerts, {"dimension": "format", "intent": "b"}, known)
    assert sorted(out["label"]) == ["alert: quality_drop (x2)"]


# --------------------------------------------------------------------------
# widgets


def test_explorer_redraws_with_the_chosen_group(demo):
    from llmdrift.widgets.incident import IncidentExplorer

    data, incident = demo
    explorer = IncidentExplorer(incident)
    first = explorer.figure.to_dict()
    assert explorer.intent.value == data.truth.intent
    other = next(i for i in explorer.intent.options if i != data.truth.intent)
    explorer.intent.value = other  # the observer redraws
    second = explorer.figure.to_dict()
    # the dimension list follows the group: only what is scored there
    scored = incident.series[
        (incident.series["intent"] == other) & (incident.series["n"] > 0)
    ]
    assert sorted(explorer.dimension.options) == sorted(scored["dimension"].unique())
    assert second["title"]["text"] == f"{explorer.dimension.value} for {other}"
    means = [
        [row["mean"] for row in spec["datasets"][spec["layer"][0]["data"]["name"]]]
        for spec in (first, second)
    ]
    assert means[0] != means[1]


def test_traces_html_redacts_when_asked(demo):
    from llmdrift.widgets.incident import traces_html

    _, incident = demo
    shown = traces_html(incident)
    hidden = traces_html(incident, redact=True)
    assert "[redacted]" in hidden and "[redacted]" not in shown
    assert "Before the change" in hidden and "After the change" in hidden
