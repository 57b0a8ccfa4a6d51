"""llmdrift: find the LLM quality regressions that latency, error-rate and cost
dashboards cannot see.

The public functions are importable from the top-level package; each lives in
the module named in ``_PUBLIC`` and is imported on first use, so that
``import llmdrift`` stays fast and light (Altair, Ibis and the anthropic SDK
load only when a function that needs them is called).

Examples
--------
>>> import llmdrift
>>> callable(llmdrift.read_otlp)
True
>>> llmdrift.schema.describe("deployments")["column"].tolist()
['time', 'service', 'version', 'note']
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_PUBLIC = {
    "read_otlp": "llmdrift.ingest",
    "from_table": "llmdrift.ingest",
    "quality_series": "llmdrift.series",
    "span_series": "llmdrift.series",
    "rolling_series": "llmdrift.series",
    "combine_groups": "llmdrift.series",
    "mix_decomposition": "llmdrift.series",
    "FreqError": "llmdrift.series",
    "changepoints": "llmdrift.changepoint",
    "monitor": "llmdrift.changepoint",
    "investigate": "llmdrift.investigate",
    "Incident": "llmdrift.investigate",
    "price_spans": "llmdrift.cost",
    "cost_by": "llmdrift.cost",
    "cost_per_quality": "llmdrift.cost",
    "judge_cost": "llmdrift.cost",
    "sample_plan": "llmdrift.cost",
    "hash_timeline": "llmdrift.prompts",
    "hash_changes": "llmdrift.prompts",
    "unannounced_changes": "llmdrift.prompts",
    "change_impact": "llmdrift.prompts",
    "run_checks": "llmdrift.checks",
    "sample_for_judging": "llmdrift.judge",
    "population_mean": "llmdrift.judge",
    "Judge": "llmdrift.judge",
    "agreement": "llmdrift.calibration",
    "labels_needed": "llmdrift.calibration",
    "trust_report": "llmdrift.calibration",
    "corrected_mean": "llmdrift.calibration",
    "human_ceiling": "llmdrift.calibration",
    "pairwise_agreement": "llmdrift.calibration",
    "confusion_table": "llmdrift.calibration",
    "disagreements": "llmdrift.calibration",
    "paired_scores": "llmdrift.calibration",
    "normalize_usage": "llmdrift.cost",
    "usage_spans": "llmdrift.cost",
    "cost_coverage": "llmdrift.cost",
    "cost_difference": "llmdrift.cost",
    "most_expensive_traces": "llmdrift.cost",
    "cost_movers": "llmdrift.cost",
    "read_otlp_contents": "llmdrift.ingest",
    "evaluate_alerts": "llmdrift.alerts",
    "default_rules": "llmdrift.alerts",
    "quality_drop_alerts": "llmdrift.alerts",
    "drift_tests": "llmdrift.drift",
    "open_store": "llmdrift.store",
    "load_from_store": "llmdrift.store",
    "Store": "llmdrift.store",
    "incident_report": "llmdrift.report",
    "SchemaError": "llmdrift.schema",
    "LlmdriftWarning": "llmdrift.schema",
}

__all__ = sorted(_PUBLIC)


# submodules reachable as attributes after ``import llmdrift`` alone
# (``llmdrift.schema.describe(...)``); ``investigate`` is the function
_SUBMODULES = frozenset(
    {
        "alerts",
        "calibration",
        "changepoint",
        "charts",
        "checks",
        "cli",
        "cost",
        "datasets",
        "drift",
        "ingest",
        "judge",
        "prompts",
        "report",
        "schema",
        "series",
        "store",
        "tracing",
        "widgets",
    }
)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"llmdrift.{name}")
    try:
        module = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'llmdrift' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC) | _SUBMODULES)
