"""Bad input to investigate, the alert rules, the store URL and the CLI.

Each test asserts the error class and that the message names the argument,
column, file or value at fault; valid input keeps its result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import llmdrift

# --------------------------------------------------------------------------
# store URLs (ST1)


def test_store_url_without_backend_names_scheme_and_pip():
    from llmdrift.store import open_store

    ibis = pytest.importorskip("ibis")
    try:
        ibis.postgres  # noqa: B018 (imports the backend's dependencies)
    except ImportError:
        pass
    else:
        pytest.skip("the postgres backend is installed here")
    with pytest.raises(ImportError) as info:
        open_store("postgres://nobody:secret@localhost:1/x")
    text = str(info.value)
    assert "'postgres'" in text
    assert "pip install 'ibis-framework[postgres]'" in text
    # the password does not reach the message
    assert "secret" not in text and "nobody:***@" in text


def test_store_url_unknown_scheme_lists_supported():
    from llmdrift.store import open_store

    with pytest.raises(ValueError) as info:
        open_store("weird://x")
    text = str(info.value)
    assert "'weird'" in text and "supported schemes" in text
    assert "duckdb" in text and "postgres" in text


def test_store_url_duckdb_still_opens(tmp_path):
    from llmdrift.store import open_store

    store = open_store(f"duckdb:///{tmp_path / 'x.duckdb'}")
    assert store.layout == "duckdb"
    store.close()


# --------------------------------------------------------------------------
# Incident.summary wording


def _prompt_incident_frames(intents=("a", "b"), after_ms=900.0):
    """Half-hourly traffic over 30 days; intent 'a' drops by 2 points when its
    prompt hash changes on 2024-01-20. Durations are 900 ms before and
    ``after_ms`` after the change, so the latency change is known exactly."""
    rng = np.random.default_rng(0)
    t = pd.date_range("2024-01-01", periods=30 * 48, freq="30min", tz="UTC")
    n = len(t)
    intent = np.resize(np.asarray(intents), n)
    after = t >= pd.Timestamp("2024-01-20", tz="UTC")
    spans = pd.DataFrame(
        {
            "trace_id": [f"{i:032x}" for i in range(n)],
            "span_id": [f"{i:016x}" for i in range(n)],
            "start_time": t,
            "duration_ms": np.where(after, after_ms, 900.0),
            "service": "api",
            "request_model": "m",
            "intent": intent,
            "prompt_hash": "h1",
            "status": "ok",
            "cost_usd": 0.001,
        }
    )
    late = after & (intent == "a")
    spans.loc[late, "prompt_hash"] = "h2"
    value = np.clip(rng.normal(4.5, 0.5, n) - 2 * late, 1, 5).round()
    scores = pd.DataFrame(
        {
            "span_id": spans["span_id"],
            "time": t,
            "dimension": "format",
            "value": value,
            "scorer": "j",
            "kind": "judge",
        }
    )
    return spans, scores


@pytest.fixture(scope="module")
def two_intent_incident():
    # p50 latency 900 -> 897 ms: -0.33%, which rounds to 0%
    spans, scores = _prompt_incident_frames(after_ms=897.0)
    return llmdrift.investigate(spans, scores, alerts=False)


def test_summary_tiny_negative_change_prints_zero_percent(two_intent_incident):
    inc = two_intent_incident
    infra = inc.infrastructure.set_index(["scope", "metric"])
    rel = infra.loc[("affected group", "latency_p50_ms"), "relative_change"]
    assert rel == pytest.approx(897 / 900 - 1)
    text = inc.summary()
    assert "p50 latency 900 ms -> 897 ms, 0% (flat)" in text
    assert "-0%" not in text and "+0%" not in text


def test_summary_names_the_one_other_group(two_intent_incident):
    text = two_intent_incident.summary()
    assert (
        "The only other group compared, intent b, shows no drop in format "
        "across that time." in text
    )
    assert "1 compared" not in text


def test_summary_counts_several_other_groups():
    spans, scores = _prompt_incident_frames(intents=("a", "b", "c"))
    inc = llmdrift.investigate(spans, scores, alerts=False)
    assert inc.drop["intent"] == "a"
    assert (
        "No other group (2 compared) shows a drop in format across that time."
        in inc.summary()
    )
