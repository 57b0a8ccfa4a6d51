"""Run notebooks/01_investigate_incident.ipynb headless on the demo and on chen2023.

The runbook is parameterised with papermill and executed with nbclient; a
probe cell appended to the end prints, as JSON, what the runbook showed (the
incident's drop, headline figures, causes, infrastructure tests, summary,
and the marks of its quality chart). The figures are checked against right
values from outside the code: the demo's ground truth, the published figures
of PROVENANCE.md and the source CSV.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, shared_path
from notebook_runner import execute_runbook

NOTEBOOK = ROOT / "notebooks" / "01_investigate_incident.ipynb"
DAY = pd.Timedelta(days=1)

PROBE = """import json as _json
_chart = charts.quality_chart(incident).to_dict()
_truth = getattr(data, "truth", None)
print(_json.dumps({
    "drop": {k: str(v) for k, v in (incident.drop or {}).items()},
    "figures": _json.loads(incident.figures().to_json(orient="records")),
    "causes": _json.loads(incident.causes.to_json(orient="records", date_format="iso")),
    "infrastructure": _json.loads(incident.infrastructure.to_json(orient="records")),
    "summary": incident.summary(),
    "alerts": None if incident.alerts is None else len(incident.alerts),
    "chart_marks": [
        (layer.get("mark", {}).get("type") if isinstance(layer.get("mark"), dict)
         else layer.get("mark"))
        for layer in _chart["layer"]
    ],
    "chart_labels": sorted({
        row["label"] for name, rows in _chart.get("datasets", {}).items()
        for row in rows if isinstance(row, dict) and "label" in row
    }),
    "truth": None if _truth is None else {
        k: str(getattr(_truth, k))
        for k in ("change_time", "intent", "old_hash", "new_hash", "dimension",
                  "mix_shift_intent")
    },
}))"""


def run(parameters: dict) -> dict:
    out, nb = execute_runbook(NOTEBOOK, parameters, PROBE)
    # every chart cell drew a Vega-Lite chart, not a repr
    for cell in nb.cells:
        if "charts.quality_chart(" in cell.source and cell is not nb.cells[-1]:
            data = [o.get("data", {}) for o in cell.outputs]
            drawn = [
                d
                for d in data
                if any("vega" in k for k in d)
                or "vegaEmbed" in str(d.get("text/html", ""))
            ]
            assert drawn, [list(d) for d in data]
    return out


def _figures(out) -> pd.DataFrame:
    return pd.DataFrame(out["figures"]).set_index("name")


@pytest.mark.slow
def test_runbook_on_demo_finds_the_unannounced_prompt_change():
    out = run({"source": "demo"})
    truth = out["truth"]
    change_time = pd.Timestamp(truth["change_time"])
    drop = out["drop"]
    assert drop["intent"] == truth["intent"]
    assert abs(pd.Timestamp(drop["time"]) - change_time) <= DAY

    figures = _figures(out)
    fmt = figures.loc[truth["dimension"]]
    assert fmt["status"] == "drop" and fmt["after"] < fmt["before"]

    causes = pd.DataFrame(out["causes"])
    top = causes.iloc[0]
    assert top["kind"] == "prompt_hash"
    assert (top["from_value"], top["to_value"]) == (
        truth["old_hash"],
        truth["new_hash"],
    )
    assert top["announced"] is False
    dep = causes[causes["kind"] == "deployment"]
    assert dep["rank"].min() > 1 and dep["score"].max() < 0.05

    infra = pd.DataFrame(out["infrastructure"])
    own = infra[infra["scope"] == "affected group"]
    assert set(own["status"]) == {"flat"}

    text = out["summary"]
    assert "Latency, errors and cost did not move" in text
    assert "That is a mix shift, not a quality drop." in text
    assert truth["old_hash"][:8] in text
    # the quality chart marks the detected change and the hash change
    labels = " | ".join(out["chart_labels"])
    assert "(unannounced)" in labels and truth["old_hash"][:6] in labels


@pytest.mark.slow
def test_runbook_on_chen2023_shows_the_published_figures():
    folder = shared_path("chen2023-llmdrift")
    out = run({"source": "chen2023", "data_path": str(folder)})
    drop = out["drop"]
    assert (drop["service"], drop["intent"]) == ("gpt-4-service", "leetcode_easy")
    assert abs(pd.Timestamp(drop["time"]) - pd.Timestamp("2023-06-27", tz="UTC")) <= DAY

    causes = pd.DataFrame(out["causes"])
    top = causes.iloc[0]
    assert top["kind"] == "response_model"
    assert (top["from_value"], top["to_value"]) == ("gpt-4-0314", "gpt-4-0613")

    # PROVENANCE.md: directly usable 0.52 -> 0.10, code fence 0.00 -> 0.88,
    # recomputed here from the source CSV as well
    source = pd.read_csv(Path(folder) / "LEETCODE_EASY_EVAL.csv")
    source["snapshot"] = source["model"].str.split("/").str[-1]
    usable = source.groupby("snapshot")["Directly Usable"].mean()
    figures = _figures(out)
    row = figures.loc["directly_usable"]
    assert (round(row["before"], 2), round(row["after"], 2)) == (0.52, 0.10)
    assert row["before"] == pytest.approx(usable["gpt-4-0314"], abs=1e-9)
    assert row["after"] == pytest.approx(usable["gpt-4-0613"], abs=1e-9)
    row = figures.loc["has_code_fence"]
    assert (round(row["before"], 2), round(row["after"], 2)) == (0.00, 0.88)

    # latency and cost per request in the infrastructure panel
    latency = source.groupby("snapshot")["latency"].median() * 1000
    p50 = figures.loc["latency_p50_ms"]
    assert p50["before"] == pytest.approx(latency["gpt-4-0314"], rel=0.03)
    assert p50["after"] == pytest.approx(latency["gpt-4-0613"], rel=0.03)
    cost = figures.loc["cost_per_request_usd"]
    assert abs(cost["before"] - 0.02119) < 1e-4
    assert abs(cost["after"] - 0.02255) < 1e-4

    assert "gpt-4-0314 -> gpt-4-0613" in out["summary"]
    assert "model gpt-4-0314->gpt-4-0613" in out["chart_labels"]
