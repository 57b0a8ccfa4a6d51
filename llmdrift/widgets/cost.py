"""Widgets for the cost runbook: the judging-budget slider."""

from __future__ import annotations

import math

import pandas as pd

from llmdrift.widgets._output import replace_output as _replace_output

__all__ = ["BudgetExplorer"]


def _require_ipywidgets():
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - ipywidgets is a dependency
        raise ImportError(
            "llmdrift widgets need ipywidgets: pip install ipywidgets"
        ) from err
    return ipywidgets


def _plan_html(plan: pd.DataFrame, by: str) -> str:
    shown = pd.DataFrame(
        {
            by: plan[by].astype(str),
            "requests/day": plan["n_per_day"].map("{:,.0f}".format),
            "always judged/day": plan["n_always_per_day"].map("{:,.1f}".format),
            "sample rate": plan["rate"].map("{:.1%}".format),
            "judged/day": plan["n_judged_per_day"].map("{:,.0f}".format),
            "USD/judgement": plan["judge_cost_usd"].map("${:.5f}".format),
            "USD/day": plan["daily_cost_usd"].map("${:,.2f}".format),
            "detectable drop (7 days)": [
                f"{d:.3f}" if not math.isnan(d) else f"{e:.2f} SD"
                for d, e in zip(
                    plan["detectable_drop"], plan["detectable_effect_size"], strict=True
                )
            ],
        }
    )
    return shown.to_html(index=False, border=0, classes="llmdrift-plan")


class BudgetExplorer:
    """A daily-budget slider that re-plans the per-intent judging rates.

    Moving the slider calls :func:`llmdrift.sample_plan` and redraws the
    rates table (rate, judged requests and cost per day, detectable drop per
    intent), the totals line and :func:`llmdrift.charts.sample_plan_chart`.

    Parameters
    ----------
    spans : pandas.DataFrame
        Spans for :func:`llmdrift.sample_plan`.
    judge : DataFrame, dict, float or None
        As for ``sample_plan``; a judge-cost table is computed once here when
        None or a dict, so the slider's callback only re-plans.
    scores : pandas.DataFrame, optional
    budget : float, default=5.0
        Starting budget, USD per day.
    budget_range : (float, float), default=(0.1, 100.0)
        Slider range (log scale), USD per day.
    by : str, default="intent"
    **plan_options
        Further keyword options of ``sample_plan`` (``floor``,
        ``dimension``, ``always``, ``window_days``, ...).

    Attributes
    ----------
    plan : pandas.DataFrame
        The current plan (feed ``plan[["intent", "rate"]]`` to
        ``sample_for_judging``).
    figure : altair.HConcatChart
        The current plan chart.
    slider, summary, table, chart, widget
        The ipywidgets parts; ``widget`` is the whole box.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.Timestamp("2025-01-06", tz="UTC")
    >>> spans = pd.DataFrame({"span_id": ["1", "2"], "intent": ["a", "b"],
    ...     "start_time": [t, t]})
    >>> explorer = BudgetExplorer(spans, judge=0.01, budget=0.01,
    ...                           budget_range=(0.001, 1.0), floor=0.0)
    >>> explorer.plan["rate"].round(2).tolist()
    [0.5, 0.5]
    >>> explorer.slider.value = 0.02  # the callback re-plans
    >>> explorer.plan["rate"].round(2).tolist()
    [1.0, 1.0]
    """

    def __init__(
        self,
        spans: pd.DataFrame,
        *,
        judge=None,
        scores: pd.DataFrame | None = None,
        budget: float = 5.0,
        budget_range: tuple[float, float] = (0.1, 100.0),
        by: str = "intent",
        **plan_options,
    ):
        from llmdrift.cost import judge_cost

        widgets = _require_ipywidgets()
        lo, hi = budget_range
        if not 0 < lo < hi:
            raise ValueError(
                f"budget_range must be (low, high) with 0 < low < high, got {budget_range}"
            )
        if judge is None:
            judge = judge_cost(spans, by=by)
        elif isinstance(judge, dict):
            judge = judge_cost(spans, by=by, **judge)
        self.spans, self.judge, self.scores, self.by = spans, judge, scores, by
        self.options = plan_options
        self.plan: pd.DataFrame | None = None
        self.slider = widgets.FloatLogSlider(
            value=min(max(budget, lo), hi),
            base=10,
            min=math.log10(lo),
            max=math.log10(hi),
            step=0.01,
            description="USD / day",
            readout_format=",.2f",
            continuous_update=False,
            layout=widgets.Layout(width="520px"),
        )
        self.summary = widgets.HTML()
        self.table = widgets.HTML()
        self.chart = widgets.Output()
        self.widget = widgets.VBox([self.slider, self.summary, self.table, self.chart])
        self.slider.observe(self._on_change, names="value")
        self.update(self.slider.value)

    def _on_change(self, change) -> None:
        self.update(change["new"])

    def update(self, budget: float) -> pd.DataFrame:
        """Re-plan for ``budget`` USD/day and redraw; returns the plan."""
        import warnings

        from llmdrift.cost import sample_plan
        from llmdrift.schema import LlmdriftWarning

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LlmdriftWarning)
            plan = sample_plan(
                self.spans,
                budget,
                judge=self.judge,
                scores=self.scores,
                by=self.by,
                **self.options,
            )
        self.plan = plan
        attrs = plan.attrs
        note = "".join(
            f"<br><b>Note:</b> {w.message}"
            for w in caught
            if issubclass(w.category, LlmdriftWarning)
        )
        self.summary.value = (
            f"Budget <b>${attrs['budget_per_day']:,.2f}/day</b>: judging costs "
            f"<b>${attrs['total_daily_cost_usd']:,.2f}/day</b> "
            f"(always-judged errored/flagged requests ${attrs['always_cost_usd']:,.2f}); "
            f"standard error of the overall {attrs['window_days']}-day mean "
            f"{attrs['overall_se']:.4f}.{note}"
        )
        self.table.value = _plan_html(plan, self.by)
        self._draw()
        return plan

    def _draw(self) -> None:
        from IPython import get_ipython

        from llmdrift.charts.cost import sample_plan_chart

        self.figure = sample_plan_chart(self.plan, by=self.by)
        if get_ipython() is None:  # no kernel (a script or doctest): nothing to draw
            return
        _replace_output(self.chart, self.figure)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
