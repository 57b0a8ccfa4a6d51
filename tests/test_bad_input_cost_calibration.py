"""Bad input to the cost rollups and the calibration functions.

Each test pins one fault of the bad-input trial (R1-R4, K1-K3 in the breaker's
findings): the error class, that the message names the argument or column,
and that valid input keeps its result, computed here independently.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from llmdrift.cost import cost_by, cost_movers, cost_per_quality, most_expensive_traces
from llmdrift.schema import LlmdriftWarning, SchemaError
from llmdrift.series import FreqError

T0 = pd.Timestamp("2025-01-06", tz="UTC")  # a Monday


def _spans(n=40, seed=0):
    """Flat LLM spans, two per trace, one intent per trace, costs known."""
    rng = np.random.default_rng(seed)
    trace = [f"t{i // 2}" for i in range(n)]
    intent = np.where(np.arange(n) // 2 % 2 == 0, "refund", "summary")
    return pd.DataFrame(
        {
            "trace_id": trace,
            "span_id": [f"s{i}" for i in range(n)],
            "span_kind": "llm",
            "start_time": T0 + pd.to_timedelta(np.arange(n) * 6, "h"),
            "intent": intent,
            "input_tokens": pd.array(rng.integers(100, 900, n), dtype="Int64"),
            "output_tokens": pd.array(rng.integers(10, 90, n), dtype="Int64"),
            "cost_usd": rng.uniform(0.001, 0.01, n),
        }
    )


def _scores(spans, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "span_id": spans["span_id"],
            "time": spans["start_time"],
            "dimension": "format",
            "value": rng.integers(1, 6, len(spans)).astype(float),
            "scorer": "judge-v1",
            "kind": "judge",
        }
    )


def _store(frame, tmp_path):
    """The spans in a DuckDB store: cost_by's store path."""
    from llmdrift.store import open_store

    store = open_store(tmp_path / "s.duckdb")
    store.append(
        spans=frame.assign(duration_ms=100.0, service="chat", request_model="m")
    )
    return store


# ---------------------------------------------------------------------------
# R1: freq


@pytest.mark.parametrize("freq", ["banana", "0D", 7, "2W"])
@pytest.mark.parametrize(
    "call",
    [
        lambda s, f: cost_by(s, freq=f),
        lambda s, f: cost_movers(s, freq=f),
        lambda s, f: cost_per_quality(s, _scores(s), freq=f),
    ],
    ids=["cost_by", "cost_movers", "cost_per_quality"],
)
def test_bad_freq_is_a_value_error_naming_freq_and_the_choices(call, freq):
    spans = _spans()
    with pytest.raises(ValueError, match=r"freq=.*use one of \['D', 'H', 'MS', 'W'"):
        call(spans, freq)
    # still a NotImplementedError, what earlier versions raised; the one
    # FreqError class of the package
    with pytest.raises(NotImplementedError) as err:
        call(spans, freq)
    assert isinstance(err.value, FreqError)


def test_bad_freq_is_refused_on_the_store_path_too(tmp_path):
    with pytest.raises(ValueError, match="freq='banana'"):
        cost_by(_store(_spans(), tmp_path), freq="banana")


def test_valid_freq_keeps_its_daily_totals():
    spans = _spans()
    out = cost_by(spans, by="intent", freq="D")
    # a trace's two spans are 6 h apart and may cross midnight: a request
    # falls in the day of its first span
    first = spans.groupby("trace_id")["start_time"].transform("min").dt.floor("D")
    want = spans.groupby([spans["intent"], first])["cost_usd"].sum()
    got = out.set_index(["intent", "window_start"])["total_cost_usd"]
    np.testing.assert_allclose(got.sort_index(), want.sort_index())


# ---------------------------------------------------------------------------
# R2: infinite and negative costs


def _trace_in_two_groups(spans):
    """Make trace t0 span two intents: cost_by's general path."""
    out = spans.copy()
    out.loc[1, "intent"] = "summary"
    return out


@pytest.mark.parametrize("path", ["lean", "general", "store"])
def test_infinite_cost_is_refused_naming_the_column_count_and_a_span(path, tmp_path):
    spans = _spans()
    spans.loc[[3, 7], "cost_usd"] = [np.inf, -np.inf]
    if path == "general":
        spans = _trace_in_two_groups(spans)
    data = spans
    if path == "store":
        # Store.append refuses them; a table written by other tools may hold them
        with pytest.raises(ValueError, match=r"'cost_usd' holds 2 infinite"):
            _store(spans, tmp_path)
        data = _table_written_elsewhere(spans, tmp_path)
    with pytest.raises(SchemaError) as err:
        cost_by(data, by="intent")
    text = str(err.value)
    assert "'cost_usd'" in text and "2 infinite" in text
    assert re.search(r"span_id '(s3|s7)'", text)


def _table_written_elsewhere(frame, tmp_path):
    """A DuckDB file whose spans table was written without llmdrift, opened
    as a store (a team's own pipeline filling the table)."""
    import duckdb

    from llmdrift.schema import conform
    from llmdrift.store import open_store

    rows = conform(
        frame.assign(duration_ms=100.0, service="chat", request_model="m"), "spans"
    )
    path = tmp_path / "theirs.duckdb"
    with duckdb.connect(str(path)) as con:
        con.register("rows", rows)
        con.execute("CREATE TABLE spans AS SELECT * FROM rows")
    return open_store(path)


def test_infinite_cost_is_refused_by_most_expensive_traces():
    spans = _spans()
    spans.loc[5, "cost_usd"] = np.inf
    with pytest.raises(SchemaError, match=r"'cost_usd' holds 1 infinite.*'s5'"):
        most_expensive_traces(spans)


@pytest.mark.parametrize("path", ["lean", "general", "store"])
def test_negative_costs_warn_with_the_count_and_are_summed_as_given(path, tmp_path):
    spans = _spans()
    spans.loc[[2, 4, 6], "cost_usd"] *= -1
    if path == "general":
        spans = _trace_in_two_groups(spans)
    data = _store(spans, tmp_path) if path == "store" else spans
    with pytest.warns(LlmdriftWarning, match=r"'cost_usd' holds 3 negative.*'s[246]'"):
        out = cost_by(data, by="intent", quantiles="exact")
    want = spans.groupby("intent")["cost_usd"].sum()
    np.testing.assert_allclose(
        out.set_index("intent")["total_cost_usd"].sort_index(), want.sort_index()
    )


def test_finite_costs_give_no_warning_and_the_pandas_sums():
    spans = _spans()
    before = spans.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cost_by(spans, by="intent")
    pd.testing.assert_frame_equal(spans, before)  # caller's frame untouched
    per_trace = spans.groupby(["intent", "trace_id"])["cost_usd"].sum()
    want = per_trace.groupby("intent").agg(["sum", "mean", "median", "count"])
    got = out.set_index("intent")
    np.testing.assert_allclose(got["total_cost_usd"], want["sum"])
    np.testing.assert_allclose(got["cost_per_request_usd"], want["mean"])
    np.testing.assert_allclose(got["cost_p50_usd"], want["median"])
    assert got["n_requests"].tolist() == want["count"].tolist()


@pytest.mark.parametrize("n", [0, -2, 1.5, True, "3"])
def test_most_expensive_traces_n_is_checked(n):
    with pytest.raises(ValueError, match=r"most_expensive_traces: n must be"):
        most_expensive_traces(_spans(), n=n)


def test_most_expensive_traces_valid_n_keeps_its_top_traces():
    spans = _spans()
    top = most_expensive_traces(spans, n=3)
    want = spans.groupby("trace_id")["cost_usd"].sum().nlargest(3)
    assert top["trace_id"].tolist() == want.index.tolist()
    np.testing.assert_allclose(top["cost_usd"], want.to_numpy())


@pytest.mark.parametrize("bad", [-1, 0.5, "2", None])
def test_cost_movers_min_requests_is_checked(bad):
    with pytest.raises(ValueError, match=r"cost_movers: min_requests must be"):
        cost_movers(_spans(), freq="D", min_requests=bad)


# ---------------------------------------------------------------------------
# R4: repeated span ids


def test_repeated_span_ids_are_refused_with_the_first_id_and_the_fix():
    spans = _spans()
    doubled = pd.concat([spans, spans.iloc[[4]]], ignore_index=True)
    for call in (
        lambda: cost_by(doubled),
        lambda: most_expensive_traces(doubled),
        lambda: cost_movers(doubled),
        lambda: cost_per_quality(doubled, _scores(spans)),
    ):
        with pytest.raises(SchemaError) as err:
            call()
        assert "'s4'" in str(err.value)
        assert "drop_duplicates('span_id')" in str(err.value)
    # the fix it names gives the single-copy result
    pd.testing.assert_frame_equal(
        cost_by(doubled.drop_duplicates("span_id")), cost_by(spans)
    )


# ---------------------------------------------------------------------------
# R3: cost_per_quality arguments and scores


def test_infinite_score_values_are_refused():
    spans = _spans()
    scores = _scores(spans)
    scores.loc[9, "value"] = np.inf
    with pytest.raises(ValueError, match=r"'value' holds 1 infinite.*'s9'"):
        cost_per_quality(spans, scores)


def test_repeated_score_rows_are_refused_naming_the_first():
    spans = _spans()
    scores = _scores(spans)
    doubled = pd.concat([scores, scores.iloc[[12]]], ignore_index=True)
    with pytest.raises(ValueError) as err:
        cost_per_quality(spans, doubled)
    text = str(err.value)
    assert "'s12'" in text and "'judge-v1'" in text and "drop_duplicates" in text
    # a second scorer of the same span is not a repeat, nor a person who goes
    # by the judge's name (kind differs)
    two = pd.concat([scores, scores.assign(scorer="judge-v2")], ignore_index=True)
    assert len(cost_per_quality(spans, two)) > 0
    person = pd.concat([scores, scores.assign(kind="human")], ignore_index=True)
    assert len(cost_per_quality(spans, person)) > 0


@pytest.mark.parametrize("bad", [0.0, 1.5, -0.1, np.nan])
def test_inclusion_prob_outside_0_1_is_refused(bad):
    spans = _spans()
    scores = _scores(spans).assign(inclusion_prob=0.5)
    scores.loc[3, "inclusion_prob"] = bad
    if np.isnan(bad):  # missing is not "outside (0, 1]"
        cost_per_quality(spans, scores)
        return
    with pytest.raises(SchemaError, match=r"'inclusion_prob'.*outside \(0, 1\]"):
        cost_per_quality(spans, scores)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"quality": "pass_rate", "threshold": np.nan}, "threshold"),
        ({"quality": "pass_rate", "threshold": np.inf}, "threshold"),
        ({"quality": "pass_rate", "threshold": "3"}, "threshold"),
        ({"alert_change": -1}, "alert_change"),
        ({"alert_change": 0}, "alert_change"),
        ({"alert_change": np.nan}, "alert_change"),
        ({"alert_change": True}, "alert_change"),
    ],
)
def test_threshold_and_alert_change_are_checked(kwargs, name):
    spans = _spans()
    with pytest.raises(ValueError, match=rf"^{name} must be a finite number"):
        cost_per_quality(spans, _scores(spans), **kwargs)


@pytest.mark.parametrize("text", ["3", "high"])
def test_score_values_as_text_are_refused_naming_the_column(text):
    spans = _spans()
    scores = _scores(spans)
    scores["value"] = scores["value"].astype(object)
    scores.loc[4, "value"] = text
    with pytest.raises(TypeError, match=r"scores column 'value' must hold numbers.*s4"):
        cost_per_quality(spans, scores)
    # converted, the same scores work and give the numeric result
    scores.loc[4, "value"] = 3.0
    assert len(cost_per_quality(spans, scores)) > 0


def test_sample_plan_refuses_repeated_spans_and_scores():
    from llmdrift.cost import sample_plan

    spans = _spans()
    twice = pd.concat([spans, spans.iloc[:3]], ignore_index=True)
    with pytest.raises(ValueError, match=r"spans: 3 row\(s\) repeat a \(span_id\)"):
        sample_plan(twice, 1.0, judge=0.001)
    scores = _scores(spans)
    doubled = pd.concat([scores, scores.iloc[:2]], ignore_index=True)
    with pytest.raises(ValueError, match=r"scores: 2 row\(s\) repeat"):
        sample_plan(spans, 1.0, judge=0.001, scores=doubled)
    # once each, the plan's per-intent daily volumes are the counts over the days
    plan = sample_plan(spans, 1.0, judge=0.001, scores=scores)
    span_days = (spans["start_time"].max() - spans["start_time"].min()) / pd.Timedelta(
        days=1
    )
    want = spans["intent"].value_counts().sort_index() / max(1.0, np.ceil(span_days))
    np.testing.assert_allclose(plan["n_per_day"], want.to_numpy())


@pytest.mark.parametrize("engine", ["pandas", "store"])
def test_token_sums_beyond_int64_are_na_with_a_warning(engine, tmp_path):
    spans = _spans(8)
    spans["input_tokens"] = pd.array([2**62] * 4 + [10] * 4, dtype="Int64")
    frame = spans if engine == "pandas" else _store(spans, tmp_path)
    with pytest.warns(LlmdriftWarning, match=r"'input_tokens' exceeds the int64"):
        out = cost_by(frame, by=("intent",), freq=None)
    out = out.set_index("intent")
    # each intent holds two spans of 2**62 tokens: 2**63 + 20 overflows int64;
    # output tokens and costs are unaffected
    assert out["input_tokens"].isna().all()
    want_out = spans.groupby("intent")["output_tokens"].sum()
    assert out["output_tokens"].tolist() == want_out.tolist()
    want_cost = spans.groupby("intent")["cost_usd"].sum()
    np.testing.assert_allclose(out["total_cost_usd"], want_cost.to_numpy())


def test_by_naming_a_column_twice_or_not_as_text_is_refused():
    spans = _spans()
    with pytest.raises(ValueError, match=r"by names \['intent'\] more than once"):
        cost_by(spans, by=["intent", "intent"])
    with pytest.raises(TypeError, match=r"by must name columns as text, got 3"):
        cost_by(spans, by=["intent", 3])


def test_valid_cost_per_quality_keeps_its_value():
    spans = _spans()
    scores = _scores(spans)
    out = cost_per_quality(spans, scores, by=(), freq="W", quality="mean")
    # one week per row: cost per request / mean score of that week
    week = spans["start_time"].dt.tz_localize(None).dt.to_period("W").dt.start_time
    first = spans.groupby("trace_id")["start_time"].transform("min")
    rweek = first.dt.tz_localize(None).dt.to_period("W").dt.start_time
    per_request = spans.groupby([rweek, spans["trace_id"]])["cost_usd"].sum()
    cpr = per_request.groupby(level=0).mean()
    quality = scores["value"].groupby(week.to_numpy()).mean()
    want = (cpr / quality).to_numpy()
    np.testing.assert_allclose(out["cost_per_quality_usd"], want)


# ---------------------------------------------------------------------------
# K1-K3: calibration arguments


def _rated(n=120, seed=3, flip=0.2):
    """Judge and one annotator on a pass/fail scale (0/1), judge flips some."""
    rng = np.random.default_rng(seed)
    human = rng.integers(0, 2, n)
    judge = np.where(rng.random(n) < flip, 1 - human, human)
    ids = [f"s{i}" for i in range(n)]
    return pd.DataFrame(
        {
            "span_id": ids * 2,
            "dimension": "ok",
            "value": np.concatenate([judge, human]).astype(float),
            "scorer": ["gpt"] * n + ["ann"] * n,
            "kind": ["judge"] * n + ["human"] * n,
        }
    )


def _kappa(scores):
    """Cohen's kappa by its definition, from the two columns of ratings."""
    wide = scores.pivot(index="span_id", columns="scorer", values="value")
    j, h = wide["gpt"].to_numpy(), wide["ann"].to_numpy()
    p_o = np.mean(j == h)
    p_e = sum(np.mean(j == c) * np.mean(h == c) for c in (0.0, 1.0))
    return (p_o - p_e) / (1 - p_e)


def _pairwise():
    return pd.DataFrame(
        {
            "pair_id": [1, 1, 2, 2, 3, 3],
            "judge": "gpt",
            "order": ["original", "swapped"] * 3,
            "winner": [1, 1, 1, 2, 2, 2],
            "gold": [1, 1, 2, 2, 2, 2],
        }
    )


def _calls():
    """Each public calibration function with one keyword set by the caller."""
    import llmdrift.calibration as cal

    s = _rated()
    return {
        "agreement": lambda **kw: cal.agreement(s, **kw),
        "human_ceiling": lambda **kw: cal.human_ceiling(
            pd.concat([s, s[s.kind == "human"].assign(scorer="ann2")]), **kw
        ),
        "pairwise_agreement": lambda **kw: cal.pairwise_agreement(_pairwise(), **kw),
        "labels_needed": lambda **kw: cal.labels_needed(s, n_sims=50, **kw),
        "trust_report": lambda **kw: cal.trust_report(s, n_sims=50, **kw),
        "corrected_mean": lambda **kw: cal.corrected_mean(s, **kw),
        "paired_scores": lambda **kw: cal.paired_scores(s, **kw),
        "confusion_table": lambda **kw: cal.confusion_table(s, **kw),
        "disagreements": lambda **kw: cal.disagreements(s, **kw),
    }


_TAKES = {
    "n_boot": ["agreement", "human_ceiling", "pairwise_agreement", "trust_report"],
    "ci": [
        "agreement",
        "human_ceiling",
        "pairwise_agreement",
        "labels_needed",
        "trust_report",
        "corrected_mean",
    ],
    "seed": [
        "agreement",
        "human_ceiling",
        "pairwise_agreement",
        "labels_needed",
        "trust_report",
    ],
    "max_categories": [
        "agreement",
        "human_ceiling",
        "labels_needed",
        "trust_report",
        "corrected_mean",
        "paired_scores",
        "confusion_table",
        "disagreements",
    ],
}
_BAD = {
    "n_boot": [-1, 1.5, "100", True, np.nan],
    "ci": [0, 1, 1.5, -0.1, np.nan, "0.9", None],
    "seed": [-1, 1.5, "a", None],
    "max_categories": [-1, 2.5, "20"],
}
_CASES = [
    (func, name, bad)
    for name, funcs in _TAKES.items()
    for func in funcs
    for bad in _BAD[name]
]


@pytest.mark.parametrize(
    "func, name, bad", _CASES, ids=[f"{f}-{n}={b!r}" for f, n, b in _CASES]
)
def test_calibration_arguments_out_of_range_name_the_argument(func, name, bad):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        _calls()[func](**{name: bad})


def test_n_boot_zero_means_no_intervals_and_the_same_estimates():
    from llmdrift.calibration import agreement

    s = _rated()
    none = agreement(s, n_boot=0).iloc[0]
    some = agreement(s, n_boot=200).iloc[0]
    assert none["kappa"] == pytest.approx(_kappa(s))
    assert none["kappa"] == some["kappa"]
    assert np.isnan(none["kappa_ci_low"]) and np.isfinite(some["kappa_ci_low"])


def test_trust_report_needs_resamples_for_its_verdict():
    from llmdrift.calibration import trust_report

    with pytest.raises(ValueError, match=r"trust_report: n_boot must be.*>= 1"):
        trust_report(_rated(), n_boot=0)


@pytest.mark.parametrize(
    "statistic, threshold",
    [
        ("auto", 2),
        ("auto", -1),
        ("auto", np.nan),
        ("auto", np.inf),
        ("kappa", 1.01),
        ("pearson", -1.5),
        ("exact_agreement", 0),
        ("exact_agreement", -0.2),
        ("auto", "0.6"),
    ],
)
def test_trust_report_threshold_outside_the_statistic_range(statistic, threshold):
    from llmdrift.calibration import trust_report

    with pytest.raises(
        ValueError, match=r"trust_report: threshold must (lie in|be a finite)"
    ):
        trust_report(_rated(), statistic=statistic, threshold=threshold)


def test_trust_report_valid_threshold_keeps_its_verdict():
    from llmdrift.calibration import trust_report

    s = _rated(n=400, flip=0.05)
    kappa = _kappa(s)  # about 0.9
    row = trust_report(s, threshold=0.6, n_boot=300).iloc[0]
    assert row["statistic"] == "kappa"
    assert row["estimate"] == pytest.approx(kappa)
    assert row["verdict"] == "ready to scale" and row["ci_low"] >= 0.6
    # mean_bias has no bounds: any finite threshold is allowed
    bias = trust_report(s, statistic="mean_bias", threshold=-3.0, n_boot=50)
    assert bias.loc[0, "threshold"] == -3.0


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"target_width": np.inf}, "target_width"),
        ({"target_width": np.nan}, "target_width"),
        ({"target_width": 0}, "target_width"),
        ({"target_width": "0.2"}, "target_width"),
        ({"n_sims": 49.5}, "n_sims"),
        ({"n_sims": 10}, "n_sims"),
        ({"max_labels": 5}, "max_labels"),
        ({"max_labels": 100.5}, "max_labels"),
    ],
)
def test_labels_needed_arguments(kwargs, name):
    from llmdrift.calibration import labels_needed

    with pytest.raises(ValueError, match=rf"labels_needed: {name}\b"):
        labels_needed(_rated(), **{"n_sims": 50, **kwargs})


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"min_labels": 1}, "min_labels"),
        ({"min_labels": 10.5}, "min_labels"),
        ({"n_sims": 10}, "n_sims"),
        ({"max_labels": 0}, "max_labels"),
    ],
)
def test_trust_report_other_arguments(kwargs, name):
    from llmdrift.calibration import trust_report

    with pytest.raises(ValueError, match=rf"trust_report: {name}\b"):
        trust_report(_rated(), **kwargs)


@pytest.mark.parametrize("n", [0, -1, 1.5, "3"])
def test_disagreements_n(n):
    from llmdrift.calibration import disagreements

    with pytest.raises(ValueError, match=r"disagreements: n must be"):
        disagreements(_rated(), n=n)


def test_disagreements_n_none_and_positive_keep_their_rows():
    from llmdrift.calibration import disagreements

    s = _rated()
    wide = s.pivot(index="span_id", columns="scorer", values="value")
    n_differ = int((wide["gpt"] != wide["ann"]).sum())
    assert len(disagreements(s, n=None)) == n_differ
    assert len(disagreements(s, n=3)) == 3


@pytest.mark.parametrize(
    "call",
    [
        lambda ci: __import__("llmdrift").calibration.ppi_mean(
            np.ones(5), np.ones(3), np.ones(3), ci=ci
        ),
        lambda ci: __import__("llmdrift").calibration.ppi_mean_weighted(
            np.ones(4), np.ones(4, bool), np.ones(4), np.ones(4), ci=ci
        ),
        lambda ci: __import__("llmdrift").calibration.rogan_gladen(
            0.6, 100, 9, 10, 8, 10, ci=ci
        ),
    ],
    ids=["ppi_mean", "ppi_mean_weighted", "rogan_gladen"],
)
@pytest.mark.parametrize("ci", [0, 1, np.nan, 95])
def test_estimator_ci_outside_0_1(call, ci):
    with pytest.raises(ValueError, match=r"\bci\b"):
        call(ci)


def test_k1_k2_all_missing_and_infinite_ratings_stay_refused():
    from llmdrift.calibration import agreement, corrected_mean

    s = _rated()
    with pytest.raises(ValueError, match="every judge and human value is missing"):
        agreement(s.assign(value=np.nan))
    bad = s.assign(value=np.where(np.arange(len(s)) % 5 == 0, np.inf, s["value"]))
    with pytest.raises(ValueError, match=r"'value' holds \d+ infinite"):
        agreement(bad)
    judged = s[s.kind == "judge"]
    with pytest.raises(ValueError, match="infinite"):
        corrected_mean(judged.assign(value=np.inf), s[s.kind == "human"])


@pytest.mark.parametrize("ci", [0, 1.2, np.nan])
def test_interval_widths_ci(ci):
    from llmdrift.calibration.trust import interval_widths

    with pytest.raises(ValueError, match=r"interval_widths: ci must"):
        interval_widths(np.zeros((2, 10)), ci)
