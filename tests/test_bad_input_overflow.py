"""Scores so large that their squares overflow float64 are refused by name.

Found by a bad-input trial: ``changepoints`` on such a series and
``investigate`` crashed with OverflowError from numpy internals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import llmdrift
from llmdrift._args import MAX_MAGNITUDE
from llmdrift.datasets import load_demo


@pytest.fixture(scope="module")
def demo():
    return load_demo(days=10, requests_per_day=200)


def test_the_bound_is_where_squares_stop_being_finite():
    assert np.isfinite(np.float64(MAX_MAGNITUDE) ** 2)
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.float64(1e155) ** 2)


@pytest.mark.parametrize("scale", [1e300, -1e300])
def test_huge_scores_are_refused_naming_the_column_and_a_span(demo, scale):
    huge = demo.scores.assign(value=demo.scores["value"] * scale)
    before = huge.copy()
    calls = {
        "quality_series": lambda: llmdrift.quality_series(demo.spans, huge),
        "investigate": lambda: llmdrift.investigate(demo.spans, huge, demo.deployments),
        "evaluate_alerts": lambda: llmdrift.evaluate_alerts(
            demo.spans, huge, demo.deployments
        ),
    }
    for name, call in calls.items():
        with pytest.raises(
            ValueError, match=r"'value' holds \d+ values? beyond"
        ) as err:
            call()
        assert "span_id" in str(err.value), name
    pd.testing.assert_frame_equal(huge, before)


def test_large_but_safe_scores_still_work(demo):
    scaled = demo.scores.assign(value=demo.scores["value"] * 1e100)
    series = llmdrift.quality_series(demo.spans, scaled, dimension="format")
    plain = llmdrift.quality_series(demo.spans, demo.scores, dimension="format")
    np.testing.assert_allclose(series["mean"] / 1e100, plain["mean"], rtol=1e-12)
