"""Widgets for the calibration runbook: dimension and judge pickers, and a
browser of the items where the judge and the people differ most."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import pandas as pd

from llmdrift.widgets._output import replace_output as _replace_output

__all__ = ["CalibrationExplorer", "DisagreementBrowser", "disagreement_html"]

_ALL = "(all judges)"


def _require_ipywidgets():
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - ipywidgets is a dependency
        raise ImportError(
            "llmdrift widgets need ipywidgets: pip install ipywidgets"
        ) from err
    return ipywidgets


def _options(scores: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Dimensions with human rows (those with judge rows first), and judges."""
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(f"expected a scores DataFrame, got {type(scores).__name__}")
    missing = [
        c
        for c in ("span_id", "dimension", "value", "scorer", "kind")
        if c not in scores.columns
    ]
    if missing:
        raise ValueError(
            f"scores frame lacks column(s) {missing}; give long rows span_id, "
            "dimension, value, scorer, kind"
        )
    present = scores[["dimension", "kind"]].astype(str).drop_duplicates()
    with_judge = set(present.loc[present["kind"] == "judge", "dimension"])
    with_human = set(present.loc[present["kind"] == "human", "dimension"])
    if not with_human:
        raise ValueError(
            "no dimension has human rows (kind='human'); calibration needs "
            "people's labels"
        )
    dims = sorted(with_judge & with_human) + sorted(with_human - with_judge)
    judges = sorted(
        scores.loc[scores["kind"] == "judge", "scorer"].astype(str).unique()
    )
    return dims, judges


def _show(output, obj) -> None:
    """Put ``obj`` in a widget: text into an HTML widget, a chart into an
    Output (only inside a kernel; a script or doctest has nowhere to draw)."""
    from IPython import get_ipython

    if isinstance(obj, str):
        output.value = obj
        return
    if get_ipython() is None:
        return
    _replace_output(output, obj)


def _trust_html(trust: pd.DataFrame | None, note: str | None) -> str:
    if trust is None:
        return f"<p><i>{html.escape(note or 'no trust verdict')}</i></p>"
    cols = [
        c
        for c in (
            "judge",
            "order",
            "verdict",
            "statistic",
            "estimate",
            "ci_low",
            "ci_high",
            "n_labelled",
            "additional_labels",
            "reason",
        )
        if c in trust.columns
    ]
    shown = trust[cols].copy()
    for c in ("estimate", "ci_low", "ci_high"):
        shown[c] = shown[c].map(lambda v: "-" if pd.isna(v) else f"{v:.2f}")
    return shown.to_html(index=False, border=0, classes="llmdrift-trust")


class CalibrationExplorer:
    """Dimension and judge pickers that redraw every calibration chart.

    Picking a dimension or judge calls
    :func:`llmdrift.charts.calibration_view` once and shows its agreement
    table, agreement chart, confusion heatmap, difference plot, human ceiling
    and trust verdict.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long scores rows (``span_id, dimension, value, scorer, kind``) with
        judge and human rows.
    scale, labels, level : dict, optional
        Per-dimension scale, value texts and level of measurement
        (``AnnotatedSet.scale``, ``.labels``, ``.level``).
    by : list of str, default=()
        Columns splitting the judge rows (``AnnotatedSet.by``).
    dimension, judge : str, optional
        Starting choice (default: the first dimension, all judges).
    n_boot, seed, threshold
        Passed to ``calibration_view``.

    Attributes
    ----------
    view : llmdrift.charts.calibration.CalibrationView
        What is shown now.
    dimension_picker, judge_picker, widget
        The ipywidgets parts; ``widget`` is the whole box.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> h = np.tile([1, 2, 3], 20)
    >>> scores = pd.DataFrame({"span_id": np.tile(np.arange(60), 2),
    ...     "dimension": "q", "value": np.r_[h, np.roll(h, 1)],
    ...     "scorer": ["ann"] * 60 + ["gpt"] * 60,
    ...     "kind": ["human"] * 60 + ["judge"] * 60})
    >>> explorer = CalibrationExplorer(scores, n_boot=20, trust=False)
    >>> explorer.view.dimension, list(explorer.judge_picker.options)
    ('q', ['(all judges)', 'gpt'])
    """

    def __init__(
        self,
        scores: pd.DataFrame,
        *,
        scale: Mapping | None = None,
        labels: Mapping | None = None,
        level: Mapping | None = None,
        by: Sequence[str] = (),
        dimension: str | None = None,
        judge: str | None = None,
        n_boot: int = 500,
        seed: int = 0,
        threshold: float = 0.6,
        trust: bool = True,
    ):
        widgets = _require_ipywidgets()
        dims, judges = _options(scores)
        self.scores = scores
        self.scale, self.labels, self.level = scale, labels, level or {}
        self.by = tuple(by)
        self.options = {
            "n_boot": n_boot,
            "seed": seed,
            "threshold": threshold,
            "trust": trust,
        }
        self.dimension_picker = widgets.Dropdown(
            options=dims, value=dimension or dims[0], description="dimension"
        )
        self.judge_picker = widgets.Dropdown(
            options=[_ALL, *judges], value=judge or _ALL, description="judge"
        )
        self.table = widgets.HTML()
        self.trust = widgets.HTML()
        self.outputs = {
            name: widgets.Output()
            for name in ("agreement", "heatmap", "difference", "ceiling")
        }
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.dimension_picker, self.judge_picker]),
                widgets.HTML("<b>Agreement with people (95% intervals)</b>"),
                self.table,
                self.outputs["agreement"],
                self.outputs["heatmap"],
                self.outputs["difference"],
                self.outputs["ceiling"],
                widgets.HTML("<b>Trust verdict</b>"),
                self.trust,
            ]
        )
        self.view = None
        self.dimension_picker.observe(self._redraw, names="value")
        self.judge_picker.observe(self._redraw, names="value")
        self._redraw()

    def _redraw(self, change=None) -> None:
        from llmdrift.charts.calibration import calibration_view

        dim = self.dimension_picker.value
        judge = None if self.judge_picker.value == _ALL else self.judge_picker.value
        self.view = calibration_view(
            self.scores,
            dim,
            judge=judge,
            scale=self.scale,
            labels=self.labels,
            level=self.level.get(dim),
            by=self.by,
            **self.options,
        )
        _show(self.table, self.view.table.to_html(index=False, border=0))
        for name, output in self.outputs.items():
            _show(output, self.view.charts[name])
        _show(self.trust, _trust_html(self.view.trust, self.view.notes.get("trust")))

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _rising_numbers(scale) -> bool:
    numbers = all(isinstance(c, int | float) and not isinstance(c, bool) for c in scale)
    return numbers and all(a < b for a, b in zip(scale, scale[1:], strict=False))


def _clip(text, limit: int) -> str:
    if text is None or (isinstance(text, float) and pd.isna(text)) or text is pd.NA:
        return ""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def disagreement_html(table: pd.DataFrame, *, limit: int = 400) -> str:
    """HTML of :func:`llmdrift.calibration.disagreements`, texts escaped and clipped.

    Parameters
    ----------
    table : pandas.DataFrame
        ``disagreements(scores, contents, ...)``: ``span_id, judge,
        judge_value, human_value, difference, annotator_values`` and any text
        columns (``input_text``, ``output_text``, ...).
    limit : int, default=400
        Characters shown of each text.

    Returns
    -------
    str
        A table, one row per item, largest difference first.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"span_id": ["a"], "judge": ["gpt"], "judge_value": [5],
    ...     "human_value": [1], "difference": [4.0], "annotator_values": ["x=1"],
    ...     "output_text": ["<b>hi</b>"]})
    >>> "&lt;b&gt;hi&lt;/b&gt;" in disagreement_html(t)
    True
    """
    if table.empty:
        return (
            "<p><i>no disagreements: the judge matches the people on every item</i></p>"
        )
    texts = [c for c in table.columns if c.endswith("_text") or c == "context"]
    head = [
        "span_id",
        "judge",
        "judge_value",
        "human_value",
        "difference",
        "annotator_values",
    ]
    head = [c for c in head if c in table.columns]
    rows = []
    for _, row in table.iterrows():
        cells = "".join(f"<td>{html.escape(_clip(row[c], 60))}</td>" for c in head)
        body = "".join(
            f"<div><b>{html.escape(c)}</b>: "
            f"<span style='white-space:pre-wrap'>{html.escape(_clip(row[c], limit))}"
            "</span></div>"
            for c in texts
        )
        rows.append(f"<tr>{cells}<td style='text-align:left'>{body}</td></tr>")
    header = "".join(f"<th>{html.escape(c)}</th>" for c in [*head, "texts"])
    return (
        "<table class='llmdrift-disagreements'>"
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


class DisagreementBrowser:
    """The texts where the judge and the people differ most.

    Picking a dimension, judge or count calls
    :func:`llmdrift.calibration.disagreements` and shows the items, largest
    judge-minus-people difference first, with each annotator's label and the
    texts.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long scores rows with judge and human rows.
    contents : pandas.DataFrame, optional
        ``span_id`` and text columns (``input_text``, ``output_text``, ...).
    scale : dict, optional
        Per-dimension scale (``AnnotatedSet.scale``). When a scale's labels
        are not rising numbers (PandaLM's ``[1, 0, 2]``), the difference is
        measured in steps along it, so "response 1" against "response 2" is
        the largest disagreement.
    labels : dict, optional
        Per-dimension text of each value (``AnnotatedSet.labels``), shown in
        place of the codes.
    by : list of str, default=()
        Columns splitting the judge rows (LLMBar's ``order``): a third
        picker chooses one value.
    n : int, default=10
        Items shown at first.

    Notes
    -----
    Known shortcoming: the ``annotator_values`` column lists each person's
    label as its numeric code ("annotator1=2.0"), not the text of
    ``labels``; only the judge and consensus columns are shown as text.

    Attributes
    ----------
    table : pandas.DataFrame
        The items shown now.
    widget
        The whole box.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"span_id": ["a", "a", "b", "b"], "dimension": "q",
    ...     "value": [5, 1, 3, 3], "scorer": ["gpt", "ann"] * 2,
    ...     "kind": ["judge", "human"] * 2})
    >>> browser = DisagreementBrowser(scores)
    >>> browser.table["span_id"].tolist()
    ['a']
    """

    def __init__(
        self,
        scores: pd.DataFrame,
        contents: pd.DataFrame | None = None,
        *,
        scale: Mapping | None = None,
        labels: Mapping | None = None,
        by: Sequence[str] = (),
        dimension: str | None = None,
        judge: str | None = None,
        n: int = 10,
        limit: int = 400,
    ):
        widgets = _require_ipywidgets()
        dims, judges = _options(scores)
        self.scores, self.contents, self.scale = scores, contents, scale or {}
        self.labels = labels or {}
        self.by = list(by)
        self.limit = limit
        self.dimension_picker = widgets.Dropdown(
            options=dims, value=dimension or dims[0], description="dimension"
        )
        self.judge_picker = widgets.Dropdown(
            options=judges,
            value=judge or (judges[0] if judges else None),
            description="judge",
        )
        pickers = [self.dimension_picker, self.judge_picker]
        self.by_picker = None
        if self.by:
            values = scores.loc[scores["kind"] == "judge", self.by[0]].dropna()
            values = sorted(values.astype(str).unique())
            self.by_picker = widgets.Dropdown(
                options=values, value=values[0], description=self.by[0]
            )
            pickers.append(self.by_picker)
        self.count = widgets.IntSlider(value=n, min=1, max=100, description="items")
        pickers.append(self.count)
        self.output = widgets.HTML()
        self.widget = widgets.VBox([widgets.HBox(pickers), self.output])
        for picker in pickers:
            picker.observe(self._redraw, names="value")
        self._redraw()

    def _redraw(self, change=None) -> None:
        from llmdrift.calibration import disagreements

        scores = self.scores
        dim = self.dimension_picker.value
        judged = scores[(scores["kind"] == "judge") & (scores["dimension"] == dim)]
        if judged.empty:
            self.table = pd.DataFrame()
            _show(
                self.output,
                f"<p><i>{html.escape(repr(dim))} has no judge scores: "
                "nothing to compare the people with</i></p>",
            )
            return
        if self.by_picker is not None:  # one judged order at a time
            col = self.by[0]
            keep = (scores["kind"] != "judge") | (
                scores[col].astype(str) == self.by_picker.value
            )
            scores = scores[keep]
        scale = self.scale.get(dim)
        steps = scale is not None and not _rising_numbers(scale)
        if steps:  # measure the difference along the scale, not in its codes
            scores = scores[scores["dimension"] == dim]
            position = {float(c): float(i) for i, c in enumerate(scale)}
            scores = scores.assign(value=scores["value"].map(position))
            scale = list(range(len(position)))
        self.table = disagreements(
            scores,
            self.contents,
            dimension=dim,
            judge=self.judge_picker.value,
            scale=None if scale is None else {dim: scale},
            n=self.count.value,
        )
        if steps:
            back = dict(enumerate(self.scale[dim]))
            for col in ("judge_value", "human_value"):
                self.table[col] = self.table[col].map(lambda v: back.get(int(v), v))
        texts = self.labels.get(dim)
        if texts:
            for col in ("judge_value", "human_value"):
                self.table[col] = self.table[col].map(lambda v: texts.get(v, v))
        _show(self.output, disagreement_html(self.table, limit=self.limit))

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
