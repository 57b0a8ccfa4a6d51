"""Tests of llmdrift.prompts: hash timelines, changes, announcements, impact."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from llmdrift import change_impact, hash_changes, hash_timeline, unannounced_changes
from llmdrift.prompts import hash_share_series, match_deployments, missing_hash_share
from llmdrift.schema import LlmdriftWarning, SchemaError
from llmdrift.tracing import template_hash

UTC = "UTC"


def make_spans(times, hashes, *, service="api", intent="triage", versions=None):
    times = pd.DatetimeIndex(times)
    n = len(times)
    frame = pd.DataFrame(
        {
            "span_id": [f"{service}-{intent}-{i:06d}" for i in range(n)],
            "start_time": times,
            "service": service,
            "intent": intent,
            "span_kind": "llm",
            "prompt_hash": list(hashes),
        }
    )
    if versions is not None:
        frame["prompt_version"] = list(versions)
    return frame


def hourly(start, hours, per_hour):
    """``per_hour`` evenly spaced request times in each of ``hours`` hours."""
    start = pd.Timestamp(start, tz=UTC)
    offsets = np.arange(hours * per_hour) * (3600 / per_hour)
    return start + pd.to_timedelta(offsets, unit="s")


# --- BR-08 ---------------------------------------------------------------------

BR08 = [
    ("2024-06-01", "You are a support triage assistant.\nReply in {language}.\n"),
    ("2024-06-02", "You are a support triage assistant.\r\nReply in {language}.\r\n"),
    ("2024-06-03", "You are a support triage assistant.  \nReply in {language}."),
    (
        "2024-06-04",
        "You are a support triage assistant.\nReply briefly in {language}.\n",
    ),
]


def test_br08_hashes_two_distinct():
    hashes = [template_hash(text) for _, text in BR08]
    assert len(set(hashes)) == 2
    assert hashes[0] == hashes[1] == hashes[2]
    # negative control: the word "briefly" must change the hash
    assert hashes[3] != hashes[0]
    # the fault itself: raw sha256 sees four versions
    raw = {hashlib.sha256(text.encode()).hexdigest()[:12] for _, text in BR08}
    assert len(raw) == 4


@pytest.mark.parametrize("per_day", [1, 24])
def test_br08_one_change_on_june_4(per_day):
    times, hashes = [], []
    for day, text in BR08:
        start = pd.Timestamp(day, tz=UTC)
        for k in range(per_day):
            times.append(start + pd.Timedelta(hours=k * 24 / per_day))
            hashes.append(template_hash(text))
    spans = make_spans(times, hashes)
    changes = hash_changes(spans)
    assert len(changes) == 1  # not 3 phantom changes
    change = changes.iloc[0]
    assert change["time"].strftime("%Y-%m-%d") == "2024-06-04"
    assert change["from_hash"] == template_hash(BR08[0][1])
    assert change["to_hash"] == template_hash(BR08[3][1])
    # one request on the last day cannot confirm a change yet; 24 can
    assert bool(change["confirmed"]) is (per_day == 24)
    timeline = hash_timeline(spans)
    assert timeline["hash"].tolist() == [change["from_hash"], change["to_hash"]]
    assert timeline["n_requests"].tolist() == [3 * per_day, per_day]


# --- rollouts and flapping -------------------------------------------------------


def test_rollout_deterministic_shares_one_change_at_majority():
    """Shares 10, 28, 46, 64, 82, 100% in six hours; majority from 11:00."""
    per_hour = 100
    before = hourly("2024-06-01 00:00", 56, per_hour)  # A until 08:00 on day 3
    times, hashes = list(before), ["A"] * len(before)
    for h, share in enumerate([0.10, 0.28, 0.46, 0.64, 0.82, 1.00]):
        slot = hourly(pd.Timestamp("2024-06-03 08:00") + pd.Timedelta(hours=h), 1, 100)
        n_new = round(share * per_hour)
        # spread the new hash evenly through the hour
        is_new = np.zeros(per_hour, bool)
        is_new[np.round(np.linspace(0, per_hour - 1, n_new)).astype(int)] = True
        times += list(slot)
        hashes += ["B" if x else "A" for x in is_new]
    after = hourly("2024-06-03 14:00", 48, per_hour)
    times += list(after)
    hashes += ["B"] * len(after)
    spans = make_spans(
        times, hashes, versions=["v1" if x == "A" else "v2" for x in hashes]
    )

    changes = hash_changes(spans)
    assert len(changes) == 1
    change = changes.iloc[0]
    assert (change["from_hash"], change["to_hash"]) == ("A", "B")
    assert (change["from_version"], change["to_version"]) == ("v1", "v2")
    majority = pd.Timestamp("2024-06-03 11:00", tz=UTC)
    # the best step may sit just before 11:00 (on the last B of hour 10)
    assert abs(change["time"] - majority) <= pd.Timedelta(minutes=1)
    # the change time is the time of a request with the new hash
    at = spans.loc[spans["start_time"] == change["time"], "prompt_hash"]
    assert at.tolist() == ["B"]
    assert change["first_seen"] == pd.Timestamp("2024-06-03 08:00", tz=UTC)
    assert change["rollout_hours"] == pytest.approx(
        (change["time"] - change["first_seen"]) / pd.Timedelta(hours=1)
    )
    # the old hash drains until the end of hour 12 (18% of it still A)
    timeline = hash_timeline(spans)
    assert timeline["hash"].tolist() == ["A", "B"]
    last_a = timeline["last_seen"].iloc[0]
    assert pd.Timestamp("2024-06-03 12:00", tz=UTC) <= last_a
    assert last_a < pd.Timestamp("2024-06-03 13:00", tz=UTC)
    assert timeline["start"].iloc[1] == change["time"]
    assert timeline["first_seen"].iloc[1] == change["first_seen"]
    # 24 h after the change: hour 11 (64), 12 (82), then 22 hours at 100%
    new_24h = 64 + 82 + 22 * 100
    assert change["switch_complete"] == pytest.approx(new_24h / 2400, abs=0.002)


def test_rollout_random_linear_share_time_near_crossing():
    """Share rising linearly 10% -> 100% over 08:00-14:00 crosses 50% at 10:40."""
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2024-06-01", tz=UTC)
    n = 4 * 24 * 400  # 400 requests an hour for four days
    seconds = np.sort(rng.uniform(0, 4 * 86400, n))
    times = start + pd.to_timedelta(seconds, unit="s")
    hours = (times - pd.Timestamp("2024-06-03 08:00", tz=UTC)) / pd.Timedelta(hours=1)
    share = np.where(hours < 0, 0.0, np.clip(0.1 + 0.9 * hours / 6, 0, 1))
    hashes = np.where(rng.uniform(size=n) < share, "new", "old")
    changes = hash_changes(make_spans(times, hashes))
    assert len(changes) == 1
    crossing = pd.Timestamp("2024-06-03 10:40", tz=UTC)
    assert abs(changes["time"].iloc[0] - crossing) < pd.Timedelta(minutes=20)
    assert abs(
        changes["first_seen"].iloc[0] - pd.Timestamp("2024-06-03 08:00", tz=UTC)
    ) < pd.Timedelta(minutes=10)


def test_replicas_alternating_within_an_hour_make_no_change():
    times = hourly("2024-06-01", 72, 60)
    hashes = np.array(["A"] * len(times), dtype=object)
    hour = (times - times[0]) // pd.Timedelta(hours=1)
    # hour 30: replicas alternate A, B, A, B ...
    alternating = np.flatnonzero(hour == 30)
    hashes[alternating[1::2]] = "B"
    # hour 50: a one-hour blip served entirely by B
    hashes[hour == 50] = "B"
    spans = make_spans(times, hashes)
    assert hash_changes(spans).empty
    timeline = hash_timeline(spans)
    assert timeline["hash"].tolist() == ["A"]


def test_alternating_hour_then_new_hash_is_one_change():
    times = hourly("2024-06-01", 72, 60)
    hour = (times - times[0]) // pd.Timedelta(hours=1)
    hashes = np.where(hour < 30, "A", "B").astype(object)
    mixed = np.flatnonzero(hour == 30)
    hashes[mixed[::2]] = "A"  # replicas alternate during hour 30
    changes = hash_changes(make_spans(times, hashes))
    assert len(changes) == 1
    hour_30 = pd.Timestamp("2024-06-02 06:00", tz=UTC)
    assert hour_30 <= changes["time"].iloc[0] <= hour_30 + pd.Timedelta("1h")
    assert changes["first_seen"].iloc[0] == hour_30 + pd.Timedelta("1min")


def test_three_templates_in_a_row_and_a_single_request():
    times = hourly("2024-06-01", 72, 10)
    day = (times - times[0]) // pd.Timedelta(days=1)
    spans = make_spans(times, np.array(["A", "B", "C"])[day])
    changes = hash_changes(spans)
    assert changes[["from_hash", "to_hash"]].values.tolist() == [["A", "B"], ["B", "C"]]
    one = make_spans(times[:1], ["A"])
    assert hash_changes(one).empty
    assert hash_timeline(one)[["hash", "n_requests"]].values.tolist() == [["A", 1]]


def test_random_fifty_fifty_split_does_not_flap():
    rng = np.random.default_rng(3)
    times = hourly("2024-06-01", 24 * 14, 30)  # quiet service, two weeks
    hashes = rng.choice(["A", "B"], size=len(times))
    assert hash_changes(make_spans(times, hashes)).empty


def test_rollback_gives_two_changes():
    times = hourly("2024-06-01", 72, 20)
    day = (times - times[0]) // pd.Timedelta(days=1)
    hashes = np.where(day == 1, "B", "A")
    changes = hash_changes(make_spans(times, hashes))
    assert changes[["from_hash", "to_hash"]].values.tolist() == [["A", "B"], ["B", "A"]]
    assert changes["time"].tolist() == [
        pd.Timestamp("2024-06-02", tz=UTC),
        pd.Timestamp("2024-06-03", tz=UTC),
    ]
    assert changes["n_before"].tolist() == [480, 480]
    assert changes["n_after"].tolist() == [480, 480]
    # the 24 h after the first change are all B, after the second all A
    assert changes["switch_complete"].tolist() == [1.0, 1.0]
    timeline = hash_timeline(make_spans(times, hashes))
    assert timeline["hash"].tolist() == ["A", "B", "A"]
    assert timeline["share"].tolist() == [1.0, 1.0, 1.0]


def test_groups_are_independent_and_missing_intent_is_a_group():
    times = hourly("2024-06-01", 48, 10)
    a = make_spans(times, ["A"] * 240 + ["B"] * 240, intent="triage")
    b = make_spans(times, ["C"] * 480, intent="faq")
    c = make_spans(times, ["D"] * 480, intent=None)
    spans = pd.concat([a, b, c], ignore_index=True)
    spans["span_id"] = [f"s{i}" for i in range(len(spans))]
    changes = hash_changes(spans)
    assert changes["intent"].tolist() == ["triage"]
    timeline = hash_timeline(spans)
    assert len(timeline) == 4
    assert timeline["intent"].isna().sum() == 1


def test_non_model_spans_and_unhashed_calls_are_ignored():
    times = hourly("2024-06-01", 48, 10)
    spans = make_spans(times, ["A"] * 240 + ["B"] * 240)
    # an agent span stamped by prompt_context with another hash must not count
    spans.loc[spans.index[::2], "span_kind"] = "agent"
    spans.loc[spans.index[::2], "prompt_hash"] = "Z"
    spans.loc[spans.index[1::4], "prompt_hash"] = None
    changes = hash_changes(spans)
    assert changes[["from_hash", "to_hash"]].values.tolist() == [["A", "B"]]
    assert "Z" not in set(hash_timeline(spans)["hash"])


def test_input_frame_untouched_and_row_order_irrelevant():
    times = hourly("2024-06-01", 48, 10)
    spans = make_spans(times, ["A"] * 240 + ["B"] * 240)
    copy = spans.copy()
    shuffled = spans.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(hash_changes(spans), hash_changes(shuffled))
    pd.testing.assert_frame_equal(spans, copy)


def test_empty_spans_give_empty_typed_frames():
    spans = make_spans([], [])
    spans["start_time"] = pd.Series([], dtype="datetime64[ns, UTC]")
    changes = hash_changes(spans)
    assert changes.empty and str(changes["time"].dtype) == "datetime64[ns, UTC]"
    assert hash_timeline(spans).empty


def test_naive_times_and_missing_columns_raise():
    spans = make_spans(hourly("2024-06-01", 2, 2), ["A"] * 4)
    naive = spans.assign(start_time=spans["start_time"].dt.tz_localize(None))
    with pytest.raises(SchemaError, match="naive times.*tz_localize"):
        hash_changes(naive)
    with pytest.raises(SchemaError, match="missing column 'prompt_hash'"):
        hash_changes(spans.drop(columns="prompt_hash"))
    with pytest.raises(ValueError, match="min_duration must be a positive"):
        hash_changes(spans, min_duration="-1h")


# --- deployments, missing hashes, share series ------------------------------------


def two_changes():
    t0 = pd.Timestamp("2024-06-04 14:00", tz=UTC)
    return pd.DataFrame(
        {
            "service": pd.array(["api", "api", "web"], dtype="string"),
            "intent": pd.array(["a", "b", "a"], dtype="string"),
            "first_seen": [t0 - pd.Timedelta("6h"), t0 + pd.Timedelta("5D"), t0],
            "time": [t0, t0 + pd.Timedelta("5D1h"), t0 + pd.Timedelta("1h")],
        }
    )


def test_unannounced_uses_whole_rollout_interval():
    changes = two_changes()
    deployments = pd.DataFrame(
        {
            # 7 h before the change time but 1 h before its rollout started
            "time": [pd.Timestamp("2024-06-04 07:00", tz=UTC)],
            "service": ["api"],
        }
    )
    out = unannounced_changes(changes, deployments, tolerance="2h")
    # api/a is announced; api/b is 5 days away; web has no deployment at all
    assert out["intent"].tolist() == ["b", "a"]
    assert out["service"].tolist() == ["api", "web"]
    gap = out["nearest_deployment_gap"].iloc[0]
    expected = pd.Timestamp("2024-06-04 07:00", tz=UTC) - changes["first_seen"][1]
    assert gap == expected and gap < pd.Timedelta(0)
    assert out["gap"].iloc[0] == -expected
    assert pd.isna(out["nearest_deployment"].iloc[1])
    marked = match_deployments(changes, deployments, tolerance="2h")
    assert marked["announced"].tolist() == [True, False, False]
    assert marked["gap"].iloc[0] == pd.Timedelta("1h")
    # a tighter tolerance un-announces the first one too
    assert len(unannounced_changes(changes, deployments, tolerance="30min")) == 3


def test_unannounced_needs_a_service_column():
    changes = two_changes().drop(columns="service")
    with pytest.raises(SchemaError, match="'service'"):
        unannounced_changes(changes, pd.DataFrame({"time": [], "service": []}))


def test_missing_hash_share_counts_model_calls_only():
    spans = pd.DataFrame(
        {
            "service": ["a"] * 5 + ["b"] * 2,
            "span_kind": ["llm", "llm", "llm", "llm", "tool", "llm", None],
            "prompt_hash": ["x", None, None, "x", None, None, None],
        }
    )
    out = missing_hash_share(spans)
    assert out["service"].tolist() == ["a", "b"]
    assert out["n_model_calls"].tolist() == [4, 2]
    assert out["n_missing_hash"].tolist() == [2, 2]
    assert out["missing_share"].tolist() == [0.5, 1.0]


def test_hash_share_series_sums_to_one_per_window():
    times = hourly("2024-06-01", 3, 4)
    spans = make_spans(times, ["A", "B", "B", "B"] * 3)
    out = hash_share_series(spans)
    assert out.groupby("window_start")["share"].sum().tolist() == [1.0] * 3
    assert out.loc[out["prompt_hash"] == "B", "n"].tolist() == [3, 3, 3]


# --- impact -----------------------------------------------------------------------


def impact_data(seed=0, judged_every=1):
    """A clean A -> B switch at 2024-06-03 00:00 with format falling 4.5 -> 3.5."""
    rng = np.random.default_rng(seed)
    times = hourly("2024-06-01", 96, 10)
    hashes = np.where(times < pd.Timestamp("2024-06-03", tz=UTC), "A" * 12, "B" * 12)
    spans = make_spans(times, hashes)
    after = (hashes == "B" * 12).astype(int)
    judged = spans.index[::judged_every]
    format_ = np.where(
        after, rng.choice([3, 4], len(spans)), rng.choice([4, 5], len(spans))
    )
    relevance = rng.choice([3, 4, 5], len(spans))
    valid = rng.uniform(size=len(spans)) < np.where(after, 0.6, 0.9)
    rows = []
    for name, values, kind in (
        ("format", format_, "judge"),
        ("relevance", relevance, "judge"),
        ("valid_json", valid.astype(float), "heuristic"),
    ):
        rows.append(
            pd.DataFrame(
                {
                    "span_id": spans["span_id"][judged],
                    "time": spans["start_time"][judged],
                    "dimension": name,
                    "value": values[judged].astype(float),
                    "scorer": "s",
                    "kind": kind,
                }
            )
        )
    return spans, pd.concat(rows, ignore_index=True)


def test_change_impact_matches_scipy_and_statsmodels():
    spans, scores = impact_data()
    changes = hash_changes(spans)
    impact = change_impact(changes, spans, scores, window="24h")
    assert impact["dimension"].tolist() == ["format", "relevance", "valid_json"]
    t = pd.Timestamp("2024-06-03", tz=UTC)
    joined = scores.merge(spans[["span_id"]], on="span_id")
    p_values = []
    for dim, row in zip(impact["dimension"], impact.itertuples(), strict=True):
        s = joined[joined["dimension"] == dim]
        before = s.loc[
            (s["time"] >= t - pd.Timedelta("24h")) & (s["time"] < t), "value"
        ]
        after = s.loc[(s["time"] >= t) & (s["time"] < t + pd.Timedelta("24h")), "value"]
        assert (row.n_before, row.n_after) == (240, 240)
        assert row.mean_before == pytest.approx(before.mean())
        assert row.difference == pytest.approx(after.mean() - before.mean())
        if dim == "valid_json":
            assert row.test == "two-proportion z"
            assert row.effect_size == pytest.approx(row.difference)
            z = (after.mean() - before.mean()) / np.sqrt(
                (p := pd.concat([before, after]).mean()) * (1 - p) * (2 / 240)
            )
            p_values.append(2 * stats.norm.sf(abs(z)))
        else:
            ref = stats.mannwhitneyu(after, before, alternative="two-sided")
            assert row.test == "mann-whitney"
            assert row.statistic == pytest.approx(ref.statistic)
            welch = stats.ttest_ind(after, before, equal_var=False)
            ci = welch.confidence_interval(0.95)
            assert (row.ci_low, row.ci_high) == pytest.approx((ci.low, ci.high))
            # Cliff's delta counted pair by pair
            diff = np.sign(np.subtract.outer(after.to_numpy(), before.to_numpy()))
            assert row.effect_size == pytest.approx(diff.mean())
            p_values.append(ref.pvalue)
        assert row.p_value == pytest.approx(p_values[-1], rel=1e-6)
    adjusted = multipletests(p_values, method="fdr_bh")[1]
    assert impact["p_adjusted"].to_numpy() == pytest.approx(adjusted)
    assert impact["significant"].tolist() == [True, False, True]
    verdict = impact["verdict"].iloc[0]
    assert verdict.startswith("format fell ")
    assert (
        "after hash BBBBBB... replaced AAAAAA... on 2024-06-03 at 00:00 UTC" in verdict
    )
    assert impact["verdict"].iloc[1].startswith("no significant change in relevance")
    assert "percentage points" in impact["verdict"].iloc[2]


def test_change_impact_not_enough_data():
    spans, scores = impact_data(judged_every=20)
    impact = change_impact(hash_changes(spans), spans, scores, window="24h")
    assert impact["n_before"].tolist() == [12, 12, 12]
    assert impact["test"].isna().all()
    assert not impact["significant"].any()
    assert (
        impact["verdict"]
        .iloc[0]
        .startswith(
            "not enough data for format, n=12 before and n=12 after (need 30 each)"
        )
    )


def test_change_impact_excludes_rollout_and_announces():
    spans, scores = impact_data()
    changes = hash_changes(spans)
    # pretend the rollout began 6 hours before the change
    changes["first_seen"] = changes["time"] - pd.Timedelta("6h")
    deployments = pd.DataFrame(
        {"time": [changes["time"].iloc[0] - pd.Timedelta("7h")], "service": ["api"]}
    )
    impact = change_impact(
        changes, spans, scores, window="24h", deployments=deployments
    )
    assert impact["n_before"].tolist() == [240, 240, 240]  # 24 h before first_seen
    assert impact["announced"].all()
    assert "announced (deployment at 2024-06-02 17:00 UTC)" in impact["verdict"][0]
    alone = change_impact(
        changes, spans, scores, window="24h", deployments=deployments.iloc[:0]
    )
    assert alone["verdict"].str.endswith(", unannounced").all()


def test_all_ties_gives_p_one():
    """BR-17 inside change_impact: every score ties, p = 1 and no change."""
    spans, scores = impact_data()
    scores = scores[scores["dimension"] == "format"].assign(value=4.0)
    impact = change_impact(hash_changes(spans), spans, scores, window="24h")
    assert impact["p_value"].tolist() == [1.0]
    assert impact["statistic"].tolist() == [240 * 240 / 2]
    assert not impact["significant"].iloc[0]


def test_no_changes_give_an_empty_typed_impact():
    spans, scores = impact_data()
    changes = hash_changes(spans).iloc[:0]
    impact = change_impact(changes, spans, scores)
    assert impact.empty and "verdict" in impact.columns
    out = unannounced_changes(changes, pd.DataFrame({"time": [], "service": []}))
    assert out.empty and "nearest_deployment_gap" in out.columns


def test_impact_means_reweight_unequal_inclusion_probabilities():
    """A judged sample that over-represents some requests is reweighted.

    Half of the requests are judged with probability 1 and score 1, the other
    half with probability 0.1 and score 5; the population mean is 3 but the
    plain mean of the scored rows is (1 * 10 + 5 * 1) / 11.
    """
    spans, scores = impact_data()
    scores = scores[scores["dimension"] == "format"].copy()
    low = np.arange(len(scores)) % 2 == 0
    scores["value"] = np.where(low, 1.0, 5.0)
    scores["inclusion_prob"] = np.where(low, 1.0, 0.1)
    keep = low | (np.arange(len(scores)) % 20 == 1)
    impact = change_impact(hash_changes(spans), spans, scores[keep], min_n=2)
    assert impact["mean_before"].iloc[0] == pytest.approx(3.0, abs=0.2)


def _sampled(seed, spans, values, p_of_span, dimension="format"):
    """Poisson sample of the scores: span i kept with probability p_of_span[i]."""
    rng = np.random.default_rng(seed)
    keep = rng.uniform(size=len(spans)) < p_of_span
    return pd.DataFrame(
        {
            "span_id": spans["span_id"][keep],
            "time": spans["start_time"][keep],
            "dimension": dimension,
            "value": values[keep],
            "scorer": "judge-model",
            "kind": "judge",
            "inclusion_prob": p_of_span[keep],
        }
    ).reset_index(drop=True)


def test_weighted_impact_matches_numpy_and_population_mean():
    """Hajek means equal numpy's weighted average; the interval is built from
    the standard errors population_mean gives for each side."""
    from llmdrift import population_mean

    spans, _ = impact_data()
    rng = np.random.default_rng(3)
    flagged = rng.uniform(size=len(spans)) < 0.2
    after = spans["prompt_hash"].eq("B" * 12).to_numpy()
    values = np.where(flagged, 2.0, np.where(after, 3.0, 4.0)) + rng.choice(
        [0.0, 1.0], len(spans)
    )
    prob = np.where(flagged, 1.0, 0.3)
    scores = _sampled(0, spans, values, prob)
    before_copy = scores.copy(deep=True)
    impact = change_impact(hash_changes(spans), spans, scores, window="48h")
    pd.testing.assert_frame_equal(scores, before_copy)
    row = impact.iloc[0]
    assert row["test"] == "weighted z (hajek)"
    t = pd.Timestamp("2024-06-03", tz=UTC)
    sides = {"before": scores["time"] < t, "after": scores["time"] >= t}
    se = {}
    for name, mask in sides.items():
        part = scores[mask]
        expected = np.average(part["value"], weights=1 / part["inclusion_prob"])
        assert row[f"mean_{name}"] == pytest.approx(expected)
        assert row[f"n_{name}"] == len(part)
        se[name] = population_mean(part)["se"].item()
    # plain means would be pulled towards the always-judged (flagged) scores
    plain = scores.loc[sides["before"], "value"].mean()
    assert abs(plain - row["mean_before"]) > 0.1
    half = stats.norm.ppf(0.975) * np.hypot(se["before"], se["after"])
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        (row["difference"] - half, row["difference"] + half)
    )
    z = row["difference"] / np.hypot(se["before"], se["after"])
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))
    # Cliff's delta with weights: every pair counted by brute force
    b, a = scores[sides["before"]], scores[sides["after"]]
    sign = np.sign(np.subtract.outer(a["value"].to_numpy(), b["value"].to_numpy()))
    weight = np.outer(1 / a["inclusion_prob"], 1 / b["inclusion_prob"])
    assert row["effect_size"] == pytest.approx((sign * weight).sum() / weight.sum())
    # probabilities carried on the spans (sample_for_judging) work the same
    on_spans = spans.merge(scores[["span_id", "inclusion_prob"]], on="span_id")
    again = change_impact(
        hash_changes(spans), on_spans, scores.drop(columns="inclusion_prob")
    )
    assert again["mean_before"].iloc[0] == pytest.approx(row["mean_before"])
    # ...but never to heuristic scores, which cover all traffic
    checks = scores.drop(columns="inclusion_prob").assign(kind="heuristic")
    plain_checks = change_impact(hash_changes(spans), on_spans, checks)
    assert plain_checks["test"].iloc[0] == "mann-whitney"
    assert plain_checks["mean_before"].iloc[0] == pytest.approx(
        scores.loc[scores["time"] < t, "value"].mean()
    )
    # equal probabilities keep the unweighted tests
    equal = change_impact(hash_changes(spans), spans, scores.assign(inclusion_prob=0.3))
    assert equal["test"].iloc[0] == "mann-whitney"
    with pytest.raises(ValueError, match="'inclusion_prob' must lie in \\(0, 1\\]"):
        change_impact(hash_changes(spans), spans, scores.assign(inclusion_prob=0.0))


def test_weighted_impact_interval_covers_the_true_difference():
    """Over 100 Poisson samples of one fixed population, the 95% interval of
    the Hajek difference covers the population difference in about 95% of
    draws and the point estimate is unbiased; the plain mean is biased."""
    spans, _ = impact_data()
    rng = np.random.default_rng(11)
    flagged = rng.uniform(size=len(spans)) < 0.15
    after = spans["prompt_hash"].eq("B" * 12).to_numpy()
    values = np.where(flagged, 1.0, 4.0) - 0.5 * after + rng.choice([0.0, 1.0], 960)
    values = values.astype(float)
    prob = np.where(flagged, 1.0, 0.25)
    t = spans["start_time"] >= pd.Timestamp("2024-06-03", tz=UTC)
    truth = values[t.to_numpy()].mean() - values[~t.to_numpy()].mean()
    changes = hash_changes(spans)
    covered, estimates, plain = 0, [], []
    for seed in range(100):
        scores = _sampled(seed, spans, values, prob)
        row = change_impact(changes, spans, scores).iloc[0]
        covered += row["ci_low"] <= truth <= row["ci_high"]
        estimates.append(row["difference"])
        side = scores["time"] >= pd.Timestamp("2024-06-03", tz=UTC)
        plain.append(
            scores.loc[side, "value"].mean() - scores.loc[~side, "value"].mean()
        )
    # 95% nominal: 88 of 100 is 3.2 binomial sd below the mean of 95
    assert covered >= 88
    spread = np.std(estimates) / np.sqrt(100)
    assert abs(np.mean(estimates) - truth) < 4 * spread
    assert abs(np.mean(plain) - truth) > 4 * spread


def test_scores_without_span_warn():
    spans, scores = impact_data()
    extra = scores.iloc[:3].assign(span_id="unknown")
    with pytest.warns(LlmdriftWarning, match="3 of .* not in spans"):
        change_impact(hash_changes(spans), spans, pd.concat([scores, extra]))


# --- the demo scenario ---------------------------------------------------------------


@pytest.fixture(scope="module")
def demo():
    from llmdrift.datasets import load_demo

    return load_demo()


def test_demo_finds_the_one_unannounced_change(demo):
    truth = demo.truth
    changes = hash_changes(demo.spans)
    hidden = unannounced_changes(changes, demo.deployments)
    assert len(hidden) == 1
    change = hidden.iloc[0]
    assert change["intent"] == truth.intent
    assert change["service"] == truth.service
    assert (change["from_hash"], change["to_hash"]) == (truth.old_hash, truth.new_hash)
    # the change time lies inside the rollout, and so does its start
    end = getattr(truth, "rollout_end", None) or truth.change_time
    assert truth.change_time <= change["first_seen"] <= change["time"] <= end
    assert bool(change["confirmed"]) and change["switch_complete"] > 0.95
    # the announced deployment is not listed
    assert (hidden["nearest_deployment_gap"].abs() > pd.Timedelta("2h")).all()


def test_demo_impact_on_format(demo):
    truth = demo.truth
    changes = hash_changes(demo.spans)
    changes = changes[changes["intent"] == truth.intent]
    impact = change_impact(
        changes, demo.spans, demo.scores, deployments=demo.deployments
    )
    judge = impact[impact["kind"] == "judge"].set_index("dimension")
    row = judge.loc[truth.dimension]
    assert bool(row["significant"]) and row["difference"] < 0
    assert row["verdict"].startswith(f"{truth.dimension} fell ")
    assert row["verdict"].endswith(", unannounced")
    checks = impact.set_index("dimension")
    assert bool(checks.loc["valid_json", "significant"])


def _null_findings(data) -> tuple[int, int]:
    truth = data.truth
    changes = hash_changes(data.spans)
    changes = changes[changes["intent"] == truth.intent]
    impact = change_impact(changes, data.spans, data.scores)
    judge = impact[impact["kind"] == "judge"].set_index("dimension")
    assert bool(judge.loc[truth.dimension, "significant"])
    others = judge.drop(index=truth.dimension)
    return int(others["significant"].sum()), len(others)


@pytest.mark.slow
def test_demo_other_dimensions_stay_at_the_nominal_false_positive_rate(demo):
    """Relevance and coherence do not depend on the template in the demo.

    Over seeds 0-2 (six null tests at a 5% false discovery rate, 0.3 false
    findings expected) at most two may come out significant.
    """
    from llmdrift.datasets import load_demo

    found, total = _null_findings(demo)
    for seed in (1, 2):
        more = _null_findings(load_demo(seed=seed))
        found, total = found + more[0], total + more[1]
    assert total == 6
    assert found <= 2
