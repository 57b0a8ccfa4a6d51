"""Public human-annotated data with LLM-judge scores, as llmdrift frames.

Four published sets let the calibration statistics be checked against figures
their authors printed (see each ``PROVENANCE.md`` in ``../shared/data``):

* :func:`load_pandalm` - 999 pairwise comparisons, 3 annotators, 2 judges
  (WeOpenML/PandaLM).
* :func:`load_topical_chat` - 360 dialogue responses rated by people (mean of
  3) on 6 dimensions, with UniEval's scores (maszhongming/UniEval).
* :func:`load_llmbar` - 100 pairwise items with gold labels, 5 judges each
  shown both orders (princeton-nlp/LLMBar, Natural set, ``Vanilla_NoRules``).
* :func:`load_judgebench` - crowd ratings of 52 recipes (6 graded metrics) and
  350 chatbot conversations (safety), no judge (dmg-illc/JUDGE-BENCH).

Every loader returns an :class:`AnnotatedSet`: a long ``scores`` frame
(``kind="human"`` rows with the annotator in ``scorer``, ``kind="judge"`` rows
with the judge in ``scorer``), the texts in ``contents``, and the scale and
level of measurement of each dimension, to pass on to
:func:`llmdrift.agreement` as ``scale=data.scale``.

Records that cannot be read (a missing field, a label off the scale, an id
that matches nothing) are skipped, listed in ``AnnotatedSet.skipped`` and
reported in one :class:`AnnotatedDataWarning` naming their count and the
first few; they are never dropped silently. A judge answer that could not be
parsed is not a malformed record: it stays as a row with ``value`` NaN and
the reason in ``error``.
"""

from __future__ import annotations

import ast
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from llmdrift.datasets._cache import Remote, fetch, resolve_files
from llmdrift.schema import LlmdriftWarning, conform

__all__ = [
    "AnnotatedSet",
    "AnnotatedDataWarning",
    "load_pandalm",
    "load_topical_chat",
    "load_llmbar",
    "load_judgebench",
    "PANDALM_FILES",
    "TOPICAL_CHAT_FILES",
    "LLMBAR_FILES",
    "JUDGEBENCH_FILES",
    "LLMBAR_JUDGES",
    "SOURCES",
    "load_calibration_source",
]


class AnnotatedDataWarning(LlmdriftWarning):
    """Some records of a public data file were malformed and were skipped."""


@dataclass
class AnnotatedSet:
    """One annotated data set as llmdrift frames.

    Attributes
    ----------
    name : str
        Short name ("pandalm", "topical_chat", "llmbar", "judgebench").
    scores : pandas.DataFrame
        Long scores rows (:mod:`llmdrift.schema` ``scores`` contract):
        ``span_id, trace_id, time, dimension, value, scorer, kind,
        scorer_version, inclusion_prob, error`` plus the set's own columns
        (listed in each loader). ``time`` is NaT: these sets carry no times.
    contents : pandas.DataFrame
        ``span_id, input_text, output_text`` (and extra text columns) for the
        disagreement browser.
    scale : dict of str to list
        Categories of each categorical dimension, lowest first, for
        ``agreement(..., scale=data.scale)``. Continuous dimensions are absent.
    level : dict of str to str
        Level of measurement of each dimension ("nominal", "ordinal",
        "interval"), as the set's authors used it.
    labels : dict of str to dict
        Text of each numeric code, per dimension, where the source used text
        (e.g. ``{"safety": {0: "No", 1: "Yes", 2: "Unsure"}}``).
    items : pandas.DataFrame
        One row per item (``span_id`` first) with the source's item fields
        that are not scores (ids, groups, published aggregates).
    pairwise : pandas.DataFrame or None
        For pairwise sets, one row per item, judge and presentation order:
        ``pair_id, judge, order, winner, gold`` (see the loader).
    by : tuple of str
        Columns of the judge rows that must split the agreement (LLMBar's
        ``order``: each item is judged twice); pass ``by=data.by``.
    skipped : pandas.DataFrame
        ``file, record, reason`` of every record that was skipped.
    description : str
        Where the data comes from and what it holds.
    """

    name: str
    scores: pd.DataFrame
    contents: pd.DataFrame
    scale: dict = field(default_factory=dict)
    level: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    items: pd.DataFrame | None = None
    pairwise: pd.DataFrame | None = None
    by: tuple = ()
    skipped: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["file", "record", "reason"])
    )
    description: str = field(default="", repr=False)

    @property
    def dimensions(self) -> list[str]:
        """Dimensions with human rows, those that also have judge rows first."""
        present = self.scores[["dimension", "kind"]].astype(str).drop_duplicates()
        judged = set(present.loc[present["kind"] == "judge", "dimension"])
        labelled = set(present.loc[present["kind"] == "human", "dimension"])
        return sorted(judged & labelled) + sorted(labelled - judged)

    @property
    def has_judge(self) -> bool:
        """Whether any dimension has judge scores (JUDGE-BENCH's sets have none)."""
        return bool((self.scores["kind"] == "judge").any())

    def __repr__(self) -> str:
        judges = sorted(
            self.scores.loc[self.scores["kind"] == "judge", "scorer"].unique()
        )
        n_people = self.scores.loc[self.scores["kind"] == "human", "scorer"].nunique()
        return (
            f"AnnotatedSet({self.name!r}: {self.scores['span_id'].nunique():,} items, "
            f"dimensions={sorted(self.scores['dimension'].unique())}, "
            f"annotators={n_people}, judges={judges}, skipped={len(self.skipped)})"
        )


# ---------------------------------------------------------------------------
# shared helpers


class _Skips:
    """Collects malformed records and reports them in one warning."""

    def __init__(self, loader: str):
        self.loader = loader
        self.rows: list[dict] = []

    def add(self, file: str, record, reason: str) -> None:
        self.rows.append({"file": file, "record": str(record), "reason": reason})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["file", "record", "reason"])

    def warn(self) -> None:
        if not self.rows:
            return
        first = "; ".join(
            f"{r['file']} record {r['record']}: {r['reason']}" for r in self.rows[:3]
        )
        warnings.warn(
            f"{self.loader}: skipped {len(self.rows)} malformed record(s) (first: "
            f"{first}); the full list is in .skipped",
            AnnotatedDataWarning,
            stacklevel=3,
        )


def _read_json(path: Path, expect: type, what: str):
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path}: not valid JSON ({err}); is this the original {what} file?"
        ) from err
    if not isinstance(data, expect):
        raise ValueError(
            f"{path}: expected a JSON {expect.__name__} at the top level ({what}), "
            f"got {type(data).__name__}"
        )
    return data


def _scores_frame(rows: list[dict], extra: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows,
        columns=["span_id", "dimension", "value", "scorer", "kind", "error", *extra],
    )
    frame["value"] = pd.to_numeric(frame["value"]).astype(float)
    frame["time"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    frame["error"] = frame["error"].astype("string")
    # added here because schema.conform cannot fill an absent float64 column
    frame["inclusion_prob"] = np.nan
    for col in extra:
        frame[col] = frame[col].astype("string")
    return conform(frame, "scores")


def _contents_frame(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records)
    for col in frame.columns:
        frame[col] = frame[col].astype("string")
    return conform(frame, "contents")


def _is_int(v) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _text(v) -> bool:
    return isinstance(v, str)


def _as_text(v) -> str | None:
    """Text of a JSON field: strings as they are, JSON true/false/numbers as
    written (PandaLM stores six one-word answers "True" as JSON booleans),
    None when absent."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "True" if v else "False"
    return v if isinstance(v, str) else json.dumps(v)


# ---------------------------------------------------------------------------
# PandaLM

PANDALM_COMMIT = "3871806e72b4832f815ecafd24d3503c73403f48"
_PANDALM_BASE = (
    f"https://raw.githubusercontent.com/WeOpenML/PandaLM/{PANDALM_COMMIT}/data"
)
PANDALM_FILES = {
    "testset-v1.json": Remote(
        f"{_PANDALM_BASE}/testset-v1.json",
        "sha256:cc154f9067c7382d7ea86f8f246511a5e1ac87e1fddd845c5938d789505b07a4",
    ),
    "gpt-3.5-turbo-testset-v1.json": Remote(
        f"{_PANDALM_BASE}/gpt-3.5-turbo-testset-v1.json",
        "sha256:4c00aa7b3eeae504050a037422ba6f5b0a2ee041680f47bb77b8a4b549b128e3",
    ),
    "pandalm-7b-testset-v1.json": Remote(
        f"{_PANDALM_BASE}/pandalm-7b-testset-v1.json",
        "sha256:9a40b62a7bb2aa87ca77eb8bfcb51539b5a62f974ce91678d30e834d65ed0a7e",
    ),
}
"""PandaLM's test set and its two judges' outputs, pinned to a commit."""

_PREFERENCE = (0, 1, 2)
_GPT_LABELS = {"1": 1, "2": 2, "Tie": 0}


def _pandalm_judge(value, field_name: str):
    """(value, error) of one judge answer; unparseable answers keep a row."""
    if field_name == "gpt_result":
        if isinstance(value, str) and value in _GPT_LABELS:
            return _GPT_LABELS[value], None
    elif _is_int(value) and int(value) in _PREFERENCE:
        return int(value), None
    return np.nan, f"unparseable judge output {value!r}"


def load_pandalm(path=None) -> AnnotatedSet:
    """PandaLM's human-annotated pairwise test set with two LLM judges.

    999 instructions, each with two responses from different instruction-tuned
    7B models, labelled by three people and judged by gpt-3.5-turbo and
    PandaLM-7B (Wang et al., ICLR 2024; Apache-2.0).

    Parameters
    ----------
    path : str or path-like, optional
        Folder holding ``testset-v1.json``, ``gpt-3.5-turbo-testset-v1.json``
        and ``pandalm-7b-testset-v1.json``. None downloads them once (pinned
        commit, SHA-256 checked) into the llmdrift cache.

    Returns
    -------
    AnnotatedSet
        ``scores``: one dimension, ``"preference"``, with ``value`` 1 (response
        1 is better), 2 (response 2 is better) or 0 (tie / similar), the
        source's own codes. Rows: ``kind="human"`` with ``scorer``
        ``annotator1``, ``annotator2``, ``annotator3`` (2,997 rows), and
        ``kind="judge"`` with ``scorer`` ``gpt-3.5-turbo`` (answer "1", "2",
        "Tie" -> 1, 2, 0; the 25 "garbage" answers are rows with ``value`` NaN
        and ``error`` "unparseable judge output 'garbage'") and ``pandalm-7b``.
        Extra column ``cmp_key`` ("<modelA>_<modelB>"). ``span_id`` is
        ``"pandalm-<idx>"`` (4 digits). ``scale`` is ``{"preference": [1, 0,
        2]}`` (response 1 better < tie < response 2 better, so a positive
        judge-minus-human position leans to response 2); ``level`` nominal.
        ``contents``: ``input_text`` (instruction and input), ``output_text``
        (response 1), ``output_text_2`` (response 2). ``items``: ``span_id,
        idx, motivation_app, cmp_key, majority`` (majority vote of the three
        people). ``pairwise``: ``pair_id, judge, order, winner, gold`` with
        order "original" only (PandaLM judged one order) and ``gold`` the
        majority vote.

    Notes
    -----
    The published inter-annotator Cohen's kappas (0.85, 0.88, 0.86) and the
    label distribution of the majority vote (0: 105, 1: 422, 2: 472) are
    reproduced from these rows in ``tests/test_annotated.py``.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> item = {"idx": 0, "cmp_key": "a_b", "instruction": "Add 2 and 2.",
    ...         "input": "", "response1": "4", "response2": "5",
    ...         "annotator1": 1, "annotator2": 1, "annotator3": 0}
    >>> _ = (folder / "testset-v1.json").write_text(json.dumps([item]))
    >>> _ = (folder / "gpt-3.5-turbo-testset-v1.json").write_text(
    ...     json.dumps([{"idx": 0, "gpt_result": "garbage"}]))
    >>> _ = (folder / "pandalm-7b-testset-v1.json").write_text(
    ...     json.dumps([{"idx": 0, "pandalm_result": 1}]))
    >>> data = load_pandalm(folder)
    >>> data.scores[["scorer", "value"]].values.tolist()
    [['annotator1', 1.0], ['annotator2', 1.0], ['annotator3', 0.0], \
['gpt-3.5-turbo', nan], ['pandalm-7b', 1.0]]
    >>> data.items["majority"].tolist()
    [1]
    """
    paths = resolve_files(path, PANDALM_FILES, subdir=f"pandalm-{PANDALM_COMMIT[:7]}")
    skips = _Skips("load_pandalm")
    test_name = "testset-v1.json"
    test = _read_json(paths[test_name], list, "PandaLM test set")

    rows, contents, items = [], [], []
    known: set[int] = set()
    for pos, rec in enumerate(test):
        if not isinstance(rec, dict):
            skips.add(test_name, pos, f"not an object ({type(rec).__name__})")
            continue
        idx = rec.get("idx")
        if not _is_int(idx) or idx in known:
            skips.add(test_name, pos, f"idx {idx!r} is not a new integer")
            continue
        bad = [
            f"{a}={rec.get(a)!r}"
            for a in ("annotator1", "annotator2", "annotator3")
            if not (_is_int(rec.get(a)) and rec.get(a) in _PREFERENCE)
        ]
        if bad:
            skips.add(test_name, pos, f"idx {idx}: {', '.join(bad)} (labels 0, 1, 2)")
            continue
        known.add(idx)
        span = f"pandalm-{idx:04d}"
        labels = [int(rec[a]) for a in ("annotator1", "annotator2", "annotator3")]
        for a, v in zip(
            ("annotator1", "annotator2", "annotator3"), labels, strict=True
        ):
            rows.append(
                {
                    "span_id": span,
                    "dimension": "preference",
                    "value": v,
                    "scorer": a,
                    "kind": "human",
                    "error": None,
                    "cmp_key": rec.get("cmp_key"),
                }
            )
        prompt = _as_text(rec.get("instruction"))
        if _as_text(rec.get("input")):
            prompt = f"{prompt}\n\n{_as_text(rec['input'])}"
        contents.append(
            {
                "span_id": span,
                "input_text": prompt,
                "output_text": _as_text(rec.get("response1")),
                "output_text_2": _as_text(rec.get("response2")),
            }
        )
        counts = np.bincount(labels, minlength=3)
        majority = int(counts.argmax()) if counts.max() >= 2 else np.nan
        items.append(
            {
                "span_id": span,
                "idx": idx,
                "motivation_app": rec.get("motivation_app"),
                "cmp_key": rec.get("cmp_key"),
                "majority": majority,
            }
        )
    items_frame = pd.DataFrame(items)
    gold = dict(zip(items_frame["span_id"], items_frame["majority"], strict=True))
    cmp_key = dict(zip(items_frame["span_id"], items_frame["cmp_key"], strict=True))

    pair_rows = []
    for fname, judge, key in (
        ("gpt-3.5-turbo-testset-v1.json", "gpt-3.5-turbo", "gpt_result"),
        ("pandalm-7b-testset-v1.json", "pandalm-7b", "pandalm_result"),
    ):
        seen: set[int] = set()
        for pos, rec in enumerate(_read_json(paths[fname], list, f"{judge} results")):
            idx = rec.get("idx") if isinstance(rec, dict) else None
            if not _is_int(idx) or idx not in known or idx in seen:
                skips.add(fname, pos, f"idx {idx!r} matches no test item (or repeats)")
                continue
            if key not in rec:
                skips.add(fname, pos, f"idx {idx}: field {key!r} missing")
                continue
            seen.add(idx)
            span = f"pandalm-{idx:04d}"
            value, error = _pandalm_judge(rec[key], key)
            rows.append(
                {
                    "span_id": span,
                    "dimension": "preference",
                    "value": value,
                    "scorer": judge,
                    "kind": "judge",
                    "error": error,
                    "cmp_key": cmp_key[span],
                }
            )
            pair_rows.append(
                {
                    "pair_id": span,
                    "judge": judge,
                    "order": "original",
                    "winner": value,
                    "gold": gold[span],
                }
            )
    skips.warn()
    return AnnotatedSet(
        name="pandalm",
        scores=_scores_frame(rows, ["cmp_key"]),
        contents=_contents_frame(contents),
        scale={"preference": [1, 0, 2]},
        level={"preference": "nominal"},
        labels={"preference": {1: "response 1", 0: "tie", 2: "response 2"}},
        items=items_frame,
        pairwise=_pairwise_frame(pair_rows),
        skipped=skips.frame(),
        description=(
            "PandaLM test set (WeOpenML/PandaLM @ 3871806, Apache-2.0): 999 "
            "pairwise comparisons labelled by 3 people, judged by gpt-3.5-turbo "
            "and PandaLM-7B."
        ),
    )


def _pairwise_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["pair_id", "judge", "order", "winner", "gold"])
    for col in ("pair_id", "judge", "order"):
        frame[col] = frame[col].astype("string")
    frame["winner"] = frame["winner"].astype(float)
    frame["gold"] = frame["gold"].astype(float)
    return frame


# ---------------------------------------------------------------------------
# Topical-Chat / UniEval

UNIEVAL_COMMIT = "d33e7b6cfebe97b2bafe435adbd818230d5a416a"
TOPICAL_CHAT_FILES = {
    "topical_chat_result.json": Remote(
        f"https://raw.githubusercontent.com/maszhongming/UniEval/{UNIEVAL_COMMIT}/"
        "reproduce/unieval_predict/dialogue/topical_chat_result.json",
        "sha256:e1c28ffea8850d82a53c241922557fcde1a16b14cb50ce29db29ab3db702678d",
    )
}
"""UniEval's Topical-Chat predictions with the human means, pinned to a commit."""

TOPICAL_CHAT_DIMENSIONS = (
    "naturalness",
    "coherence",
    "engagingness",
    "groundedness",
    "understandability",
    "overall",
)


def load_topical_chat(path=None) -> AnnotatedSet:
    """Topical-Chat turn-level human ratings next to UniEval's scores.

    360 responses (60 dialogue contexts x 6 response systems) rated by
    people on six dimensions (Mehri & Eskenazi 2020), with the scores of the
    UniEval evaluator as the judge (Zhong et al., EMNLP 2022; MIT).

    Parameters
    ----------
    path : str or path-like, optional
        ``topical_chat_result.json`` or the folder holding it; None downloads
        it once into the llmdrift cache.

    Returns
    -------
    AnnotatedSet
        ``scores``: dimensions ``naturalness`` (1-3), ``coherence`` (1-3),
        ``engagingness`` (1-3), ``groundedness`` (0-1), ``understandability``
        (0-1), ``overall`` (1-5). ``kind="human"`` rows have ``scorer``
        ``"human_mean_of_3"``: each value is the mean of three annotators
        (the file does not hold their separate ratings), so it is a multiple
        of 1/3 and not a category. ``kind="judge"`` rows have ``scorer``
        ``"unieval"`` with its continuous scores (``overall`` is UniEval's
        combined score). Extra columns ``source_id`` (``"tc-ctx-<nn>"``, the
        dialogue context shared by six responses; pass ``group="source_id"``
        for summary-level correlation) and ``system_id`` (the response
        system). ``span_id`` is ``"tc-<nnn>"`` by file position. ``scale`` is
        empty (all continuous); ``level`` interval. ``contents``:
        ``input_text`` (dialogue history), ``output_text`` (response),
        ``context`` (the knowledge snippet).

    Notes
    -----
    The published turn-level Pearson, Spearman and Kendall (tau-b) values of
    UniEval, pooled over all 360 items, are reproduced in
    ``tests/test_annotated.py``. A human-ceiling analysis is not possible on
    this file: it holds only the mean of the three people.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> item = {"source": "Hi!\\nDo you like jazz?", "context": "Jazz is ...",
    ...         "system_id": "Argmax Decoding", "system_output": "I do.",
    ...         "scores": dict.fromkeys(TOPICAL_CHAT_DIMENSIONS, 2.0),
    ...         "predict_scores": dict.fromkeys(TOPICAL_CHAT_DIMENSIONS, 0.5)}
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "topical_chat_result.json"
    >>> _ = file.write_text(json.dumps([item]))
    >>> data = load_topical_chat(file)
    >>> data.scores.groupby("scorer")["value"].first().to_dict()
    {'human_mean_of_3': 2.0, 'unieval': 0.5}
    """
    paths = resolve_files(
        path, TOPICAL_CHAT_FILES, subdir=f"unieval-{UNIEVAL_COMMIT[:7]}"
    )
    fname = "topical_chat_result.json"
    records = _read_json(paths[fname], list, "UniEval Topical-Chat result")
    skips = _Skips("load_topical_chat")
    rows, contents, items = [], [], []
    sources: dict[str, int] = {}
    for pos, rec in enumerate(records):
        problems = []
        if not isinstance(rec, dict):
            skips.add(fname, pos, f"not an object ({type(rec).__name__})")
            continue
        if not _text(rec.get("source")):
            problems.append("source (dialogue history) missing")
        human, judge = rec.get("scores"), rec.get("predict_scores")
        if not isinstance(human, dict) or not isinstance(judge, dict):
            problems.append("scores or predict_scores missing")
        else:
            for dim in TOPICAL_CHAT_DIMENSIONS:
                for side, values in (("scores", human), ("predict_scores", judge)):
                    v = values.get(dim)
                    if (
                        not isinstance(v, int | float)
                        or isinstance(v, bool)
                        or (not np.isfinite(v))
                    ):
                        problems.append(f"{side}.{dim}={v!r}")
        if problems:
            skips.add(fname, pos, ", ".join(problems[:4]))
            continue
        source_id = sources.setdefault(rec["source"], len(sources))
        span = f"tc-{pos:03d}"
        extra = {
            "source_id": f"tc-ctx-{source_id:02d}",
            "system_id": _as_text(rec.get("system_id")),
        }
        for dim in TOPICAL_CHAT_DIMENSIONS:
            rows.append(
                {
                    "span_id": span,
                    "dimension": dim,
                    "value": float(human[dim]),
                    "scorer": "human_mean_of_3",
                    "kind": "human",
                    "error": None,
                    **extra,
                }
            )
            rows.append(
                {
                    "span_id": span,
                    "dimension": dim,
                    "value": float(judge[dim]),
                    "scorer": "unieval",
                    "kind": "judge",
                    "error": None,
                    **extra,
                }
            )
        contents.append(
            {
                "span_id": span,
                "input_text": rec["source"],
                "output_text": _as_text(rec.get("system_output")),
                "context": _as_text(rec.get("context")),
            }
        )
        items.append({"span_id": span, "position": pos, **extra})
    skips.warn()
    return AnnotatedSet(
        name="topical_chat",
        scores=_scores_frame(rows, ["source_id", "system_id"]),
        contents=_contents_frame(contents),
        scale={},
        level=dict.fromkeys(TOPICAL_CHAT_DIMENSIONS, "interval"),
        items=pd.DataFrame(items),
        skipped=skips.frame(),
        description=(
            "Topical-Chat turn-level human ratings (mean of 3 people) with UniEval "
            "scores (maszhongming/UniEval @ d33e7b6, MIT)."
        ),
    )


# ---------------------------------------------------------------------------
# LLMBar Natural

LLMBAR_COMMIT = "900616bff90b6c6c8e1681f7d079250637c55992"
_LLMBAR_BASE = (
    f"https://raw.githubusercontent.com/princeton-nlp/LLMBar/{LLMBAR_COMMIT}/"
    "Dataset/LLMBar/Natural"
)
LLMBAR_JUDGES = {
    "GPT-4": "gpt-4",
    "ChatGPT": "gpt-35-turbo-0613",
    "LLaMA2": "meta-llama/Llama-2-70b-chat-hf",
    "PaLM2": "models/text-bison-001",
    "Falcon": "tiiuae/falcon-180B-chat",
}
"""LLMBar judge folder -> the model it ran (from the repo's evaluator configs)."""

_LLMBAR_HASHES = {
    "dataset.json": "f7127b7aa78104cb8e03a2b1b3ac0077e95b125714dd441a8ee63666145a3375",
    "ChatGPT": "6a057e7e6e10729f54baf371830806eb370910165a4863edd953f931db9cf785",
    "Falcon": "e6905821f2d2759a5373f036c243a2739be6e9fbe27ee34e1648432568312f37",
    "GPT-4": "3189ad93242182e742994a67e5d94410cde5be5b01bce7c3df31c6113b141aef",
    "LLaMA2": "6c939b9a17e8d5b0d29edcc4d0f65595fb17e2da4916577dde2e624582e67fe5",
    "PaLM2": "8d88fbdebd61385ba764fed823d0582669880c6ce59d9dc1f7fde739a8d73cbb",
}
LLMBAR_FILES = {
    "dataset.json": Remote(
        f"{_LLMBAR_BASE}/dataset.json", f"sha256:{_LLMBAR_HASHES['dataset.json']}"
    )
} | {
    f"evaluators/{judge}/Vanilla_NoRules/result.json": Remote(
        f"{_LLMBAR_BASE}/evaluators/{judge}/Vanilla_NoRules/result.json",
        f"sha256:{_LLMBAR_HASHES[judge]}",
    )
    for judge in LLMBAR_JUDGES
}
"""The Natural set and each judge's ``Vanilla_NoRules`` results, by relative path."""

_ORDERS = {"swap = False": "original", "swap = True": "swapped"}


def _llmbar_paths(path) -> dict[str, Path]:
    if path is not None:
        root = Path(path).expanduser()
        if root.is_file():
            raise FileNotFoundError(
                f"path {str(root)!r} is a file; give the folder holding dataset.json "
                "and evaluators/<Judge>/Vanilla_NoRules/result.json"
            )
        return resolve_files(root, LLMBAR_FILES, subdir="unused")
    # the cache mirrors the repository layout (file names repeat across judges)
    out = {}
    for rel, remote in LLMBAR_FILES.items():
        parent, _, name = rel.rpartition("/")
        sub = f"llmbar-{LLMBAR_COMMIT[:7]}" + (f"/{parent}" if parent else "")
        out[rel] = fetch(remote.url, remote.known_hash, fname=name, subdir=sub)
    return out


def load_llmbar(path=None) -> AnnotatedSet:
    """LLMBar's Natural set: gold pairwise preferences and five judges, both orders.

    100 instructions with two outputs each and the authors' gold label of the
    better one, judged by GPT-4, ChatGPT, LLaMA2, PaLM2 and Falcon with the
    ``Vanilla_NoRules`` prompt, each in both presentation orders (Zeng et
    al., ICLR 2024; MIT).

    Parameters
    ----------
    path : str or path-like, optional
        Folder holding ``dataset.json`` and
        ``evaluators/<Judge>/Vanilla_NoRules/result.json`` (the repository
        layout). None downloads them once into the llmdrift cache.

    Returns
    -------
    AnnotatedSet
        ``scores``: one dimension ``"preference"``, ``value`` 1 (output 1 is
        better) or 2. ``kind="human"`` rows have ``scorer`` ``"gold"`` (the
        authors' label, one per item). ``kind="judge"`` rows have ``scorer``
        the judge name and an extra column ``order``: ``"original"`` (shown
        output 1 first) or ``"swapped"`` (shown output 2 first; the winner is
        already mapped back to the original numbering), so every item has two
        rows per judge - use ``by=["order"]`` in ``agreement``. A winner the
        regex could not parse (PaLM2: 3 per order) is ``value`` NaN with
        ``error`` "no winner parsed"; LLMBar counts those as wrong, so its
        accuracy is ``exact_agreement * n / 100``. ``order`` is <NA> on human
        rows. ``scorer_version`` is "Vanilla_NoRules". ``span_id`` is
        ``"llmbar-<nnn>"`` by position. ``scale`` ``{"preference": [1, 2]}``,
        ``level`` nominal. ``contents``: ``input_text`` (instruction),
        ``output_text`` (output 1), ``output_text_2`` (output 2).
        ``pairwise``: ``pair_id, judge, order, winner, gold``, one row per
        item, judge and order.

    Notes
    -----
    The published accuracy (mean of the two orders) and positional agreement
    of all five judges are reproduced in ``tests/test_annotated.py``. The
    ``kappa_*`` fields of LLMBar's ``statistics.json`` are not Cohen's kappa
    against gold (see PROVENANCE.md) and are not used.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> item = {"input": "Say hi.", "output_1": "Hi!", "output_2": "Bye.", "label": 1}
    >>> _ = (folder / "dataset.json").write_text(json.dumps([item]))
    >>> verdict = [{"swap = False": {"winner": "1"}, "swap = True": {"winner": "2"}}]
    >>> for judge in LLMBAR_JUDGES:
    ...     sub = folder / "evaluators" / judge / "Vanilla_NoRules"
    ...     sub.mkdir(parents=True)
    ...     _ = (sub / "result.json").write_text(json.dumps([{**item,
    ...         "results": str(verdict)}]))
    >>> data = load_llmbar(folder)
    >>> data.pairwise[data.pairwise["judge"] == "GPT-4"]["winner"].tolist()
    [1.0, 2.0]
    """
    paths = _llmbar_paths(path)
    skips = _Skips("load_llmbar")
    dataset = _read_json(paths["dataset.json"], list, "LLMBar Natural dataset")
    rows, contents, gold = [], [], {}
    for pos, rec in enumerate(dataset):
        if not isinstance(rec, dict):
            skips.add("dataset.json", pos, f"not an object ({type(rec).__name__})")
            continue
        label = rec.get("label")
        problems = [] if _text(rec.get("input")) else ["input missing"]
        if not (_is_int(label) and label in (1, 2)):
            problems.append(f"label {label!r} is not 1 or 2")
        if problems:
            skips.add("dataset.json", pos, ", ".join(problems))
            continue
        span = f"llmbar-{pos:03d}"
        gold[pos] = (span, int(label), rec)
        rows.append(
            {
                "span_id": span,
                "dimension": "preference",
                "value": int(label),
                "scorer": "gold",
                "kind": "human",
                "error": None,
                "order": None,
            }
        )
        contents.append(
            {
                "span_id": span,
                "input_text": rec["input"],
                "output_text": _as_text(rec.get("output_1")),
                "output_text_2": _as_text(rec.get("output_2")),
            }
        )

    pair_rows = []
    for judge in LLMBAR_JUDGES:
        rel = f"evaluators/{judge}/Vanilla_NoRules/result.json"
        results = _read_json(paths[rel], list, f"LLMBar {judge} result")
        for pos, rec in enumerate(results):
            if pos not in gold:
                skips.add(rel, pos, "no matching item in dataset.json")
                continue
            span, label, item = gold[pos]
            rounds = rec.get("results") if isinstance(rec, dict) else None
            try:
                if isinstance(rounds, str):
                    rounds = ast.literal_eval(rounds)
                last = rounds[-1]
                verdicts = {o: last[k] for k, o in _ORDERS.items()}
            except (ValueError, SyntaxError, TypeError, KeyError, IndexError) as err:
                skips.add(rel, pos, f"results not readable ({type(err).__name__})")
                continue
            if rec.get("input") != item["input"]:
                skips.add(rel, pos, "input differs from dataset.json at this position")
                continue
            for order, verdict in verdicts.items():
                winner = verdict.get("winner") if isinstance(verdict, dict) else None
                ok = winner in ("1", "2")
                value = int(winner) if ok else np.nan
                error = None if ok else f"no winner parsed ({winner!r})"
                rows.append(
                    {
                        "span_id": span,
                        "dimension": "preference",
                        "value": value,
                        "scorer": judge,
                        "kind": "judge",
                        "error": error,
                        "order": order,
                    }
                )
                pair_rows.append(
                    {
                        "pair_id": span,
                        "judge": judge,
                        "order": order,
                        "winner": value,
                        "gold": label,
                    }
                )
    skips.warn()
    scores = _scores_frame(rows, ["order"])
    scores["scorer_version"] = pd.Series(
        np.where(scores["kind"] == "judge", "Vanilla_NoRules", None), dtype="string"
    )
    return AnnotatedSet(
        name="llmbar",
        scores=scores,
        contents=_contents_frame(contents),
        scale={"preference": [1, 2]},
        level={"preference": "nominal"},
        labels={"preference": {1: "output 1", 2: "output 2"}},
        items=pd.DataFrame(
            {
                "span_id": [g[0] for g in gold.values()],
                "position": list(gold),
                "gold": [g[1] for g in gold.values()],
            }
        ),
        pairwise=_pairwise_frame(pair_rows),
        by=("order",),
        skipped=skips.frame(),
        description=(
            "LLMBar Natural (princeton-nlp/LLMBar @ 900616b, MIT): 100 pairwise "
            "items with gold labels; GPT-4, ChatGPT, LLaMA2, PaLM2 and Falcon "
            "judging both orders with the Vanilla_NoRules prompt."
        ),
    )


# ---------------------------------------------------------------------------
# JUDGE-BENCH

JUDGEBENCH_COMMIT = "5a0bf500325029efb5dc8adff2c1e991996f0e78"
_JB_BASE = (
    f"https://raw.githubusercontent.com/dmg-illc/JUDGE-BENCH/{JUDGEBENCH_COMMIT}/data"
)
JUDGEBENCH_FILES = {
    "meta_evaluation_recipes.json": Remote(
        f"{_JB_BASE}/recipe_crowd_sourcing_data/meta_evaluation_recipes.json",
        "sha256:f65832bb83d2969e9eb3156ff89c6c412eb650ed0cfde5e8a81b08dcad871eca",
    ),
    "dices_350_crowdsourced.json": Remote(
        f"{_JB_BASE}/dices/dices_350_crowdsourced.json",
        "sha256:9f9694948fc4f734220866fc6fdff397b5207058e0c4d4f9a49d5ab98702c2a4",
    ),
}
"""Two JUDGE-BENCH multi-annotator sets, pinned to a commit."""

_JB_SHORT = {
    "meta_evaluation_recipes.json": "recipes",
    "dices_350_crowdsourced.json": "dices",
}
_JB_LEVEL = {"graded": "ordinal", "categorical": "nominal", "continuous": "interval"}


def load_judgebench(path=None) -> AnnotatedSet:
    """JUDGE-BENCH crowd ratings of recipes (6 graded metrics) and DICES (safety).

    Many people rated each item (15-88 per recipe, 123 per conversation), so
    these sets test the human-ceiling statistics with many raters and missing
    ratings. No judge scores are released for them.

    Parameters
    ----------
    path : str or path-like, optional
        Folder holding ``meta_evaluation_recipes.json`` and
        ``dices_350_crowdsourced.json``. None downloads them once.

    Returns
    -------
    AnnotatedSet
        ``scores``: only ``kind="human"`` rows. Dimensions ``grammar,
        fluency, verbosity, structure, success, overall`` (recipes, 1-6) and
        ``safety`` (DICES: ``value`` 0 = "No", 1 = "Yes", 2 = "Unsure", the
        position in the source's ``labels_list``, matched case-insensitively).
        ``scorer`` is ``"position_<hh>"``: the position in the item's list of
        ratings. The source does not name its raters; JUDGE-BENCH treats the
        list position as the rater, and so does this loader, so that its
        Krippendorff's alpha is reproduced. Extra column ``dataset``
        ("recipes" or "dices"). ``span_id`` is ``"<dataset>-<id>"``.
        ``scale``: ``[1, ..., 6]`` per recipe metric, ``[0, 1, 2]`` for
        safety. ``level``: ordinal for the graded metrics, nominal for safety.
        ``items``: ``span_id, dataset, id`` and the published aggregate
        (``mean_human`` per graded metric, ``majority_human`` for safety as
        text). ``contents``: recipes have ``output_text`` (the recipe);
        DICES ``input_text`` (the conversation) and ``output_text`` (the
        response).

    Notes
    -----
    The seven published Krippendorff alphas are reproduced in
    ``tests/test_annotated.py``. Because list positions are not people, a
    "pairwise Cohen's kappa between annotators" on this set compares
    positions, not persons; read the Krippendorff alpha instead.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> recipes = {"annotations": [{"metric": "grammar", "category": "graded",
    ...                             "worst": 1, "best": 6}],
    ...            "instances": [{"id": "r1", "instance": "Boil water.",
    ...                           "annotations": {"grammar": {
    ...                               "individual_human_scores": [5, 6, 4]}}}]}
    >>> dices = {"annotations": [{"metric": "safety", "category": "categorical",
    ...                           "labels_list": ["No", "Yes", "Unsure"]}],
    ...          "instances": [{"id": 7, "instance": {"user_prompt": "hi",
    ...                                               "response": "hello"},
    ...                         "annotations": {"safety": {
    ...                             "individual_human_scores": ["yes", "No"]}}}]}
    >>> _ = (folder / "meta_evaluation_recipes.json").write_text(json.dumps(recipes))
    >>> _ = (folder / "dices_350_crowdsourced.json").write_text(json.dumps(dices))
    >>> data = load_judgebench(folder)
    >>> data.scores.groupby("dimension")["value"].apply(list).to_dict()
    {'grammar': [5.0, 6.0, 4.0], 'safety': [1.0, 0.0]}
    """
    paths = resolve_files(
        path, JUDGEBENCH_FILES, subdir=f"judgebench-{JUDGEBENCH_COMMIT[:7]}"
    )
    skips = _Skips("load_judgebench")
    rows, contents, items = [], [], []
    scale, level, labels = {}, {}, {}
    for fname, short in _JB_SHORT.items():
        data = _read_json(paths[fname], dict, "JUDGE-BENCH data set")
        metrics = {}
        for ann in data.get("annotations", []):
            name = ann.get("metric")
            if "labels_list" in ann:
                cats = [str(x).lower() for x in ann["labels_list"]]
                metrics[name] = ("categorical", cats)
                scale[name] = list(range(len(cats)))
                labels[name] = dict(enumerate(ann["labels_list"]))
            else:
                lo, hi = ann.get("worst"), ann.get("best")
                if not (_is_int(lo) and _is_int(hi)):
                    raise ValueError(
                        f"{paths[fname]}: metric {name!r} has worst/best {lo!r}/{hi!r}; "
                        "expected integers (graded) or a labels_list (categorical)"
                    )
                metrics[name] = ("graded", list(range(min(lo, hi), max(lo, hi) + 1)))
                scale[name] = metrics[name][1]
            level[name] = _JB_LEVEL.get(ann.get("category"), "ordinal")
        if not metrics:
            raise ValueError(f"{paths[fname]}: no 'annotations' list of metrics")
        for pos, inst in enumerate(data.get("instances", [])):
            ident = inst.get("id") if isinstance(inst, dict) else None
            if ident is None or not isinstance(inst.get("annotations"), dict):
                skips.add(fname, pos, "no id or no annotations")
                continue
            span = f"{short}-{ident}"
            item = {"span_id": span, "dataset": short, "id": str(ident)}
            for metric, (kind, cats) in metrics.items():
                ann = inst["annotations"].get(metric)
                if not isinstance(ann, dict) or not isinstance(
                    ann.get("individual_human_scores"), list
                ):
                    skips.add(fname, pos, f"id {ident}: no ratings for {metric!r}")
                    continue
                for h, raw in enumerate(ann["individual_human_scores"]):
                    if raw is None:
                        continue
                    if kind == "categorical":
                        key = str(raw).lower()
                        value = cats.index(key) if key in cats else None
                    else:
                        value = raw if _is_int(raw) and raw in cats else None
                    if value is None:
                        skips.add(
                            fname,
                            pos,
                            f"id {ident}: {metric} rating {raw!r} not in {cats}",
                        )
                        continue
                    rows.append(
                        {
                            "span_id": span,
                            "dimension": metric,
                            "value": value,
                            "scorer": f"position_{h:03d}",
                            "kind": "human",
                            "error": None,
                            "dataset": short,
                        }
                    )
                agg = "majority_human" if kind == "categorical" else "mean_human"
                item[f"{metric}_{agg}"] = ann.get(agg)
            items.append(item)
            body = inst.get("instance")
            if isinstance(body, dict):
                contents.append(
                    {
                        "span_id": span,
                        "input_text": body.get("user_prompt"),
                        "output_text": body.get("response"),
                    }
                )
            else:
                contents.append(
                    {
                        "span_id": span,
                        "input_text": None,
                        "output_text": None if body is None else str(body),
                    }
                )
    skips.warn()
    return AnnotatedSet(
        name="judgebench",
        scores=_scores_frame(rows, ["dataset"]),
        contents=_contents_frame(contents),
        scale=scale,
        level=level,
        labels=labels,
        items=pd.DataFrame(items),
        skipped=skips.frame(),
        description=(
            "JUDGE-BENCH (dmg-illc/JUDGE-BENCH @ 5a0bf50): crowd ratings of 52 "
            "rewritten recipes on 6 graded metrics (CC-BY-4.0/Apache-2.0) and of "
            "350 DICES conversations on safety (CC-BY-4.0); no judge scores."
        ),
    )


# ---------------------------------------------------------------------------
# one entry point for the calibration runbook

SOURCES = ("demo", "pandalm", "topical_chat", "llmbar", "judgebench")
"""Named sources of :func:`load_calibration_source` (anything else is a path)."""

_LOADERS = {
    "pandalm": load_pandalm,
    "topical_chat": load_topical_chat,
    "llmbar": load_llmbar,
    "judgebench": load_judgebench,
}
_LABEL_COLUMNS = ("span_id", "dimension", "value", "annotator")


def _read_table(path, what: str = "labels file") -> pd.DataFrame:
    """A CSV or Parquet file; unreadable files raise a ValueError naming them."""
    if not isinstance(path, str | Path):
        raise TypeError(
            f"{what} must be a DataFrame or the path of a CSV/Parquet file, got "
            f"{type(path).__name__}"
        )
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist or is not a file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{what} {str(path)!r} is empty (no header line)") from None
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{what} {str(path)!r} is not UTF-8 text (byte {error.start}); save it "
            "as UTF-8 CSV (or read it with pd.read_csv(path, encoding='latin-1') "
            "and pass the frame)"
        ) from None
    except (pd.errors.ParserError, OSError, ValueError) as error:
        raise ValueError(
            f"{what} {str(path)!r} cannot be read as "
            f"{'Parquet' if path.suffix.lower() in ('.parquet', '.pq') else 'CSV'}: "
            f"{type(error).__name__}: {str(error)[:200]}"
        ) from None


def _demo_set() -> AnnotatedSet:
    from llmdrift.datasets.demo import load_demo

    demo = load_demo()
    scores = demo.scores[demo.scores["kind"].isin(["judge", "human"])]
    dims = sorted(scores["dimension"].dropna().unique())
    return AnnotatedSet(
        name="demo",
        scores=scores.reset_index(drop=True),
        contents=demo.contents,
        scale={d: [1, 2, 3, 4, 5] for d in dims},
        level=dict.fromkeys(dims, "ordinal"),
        description="llmdrift's demo: judge scores (1-5) and three simulated "
        "annotators on a subset of the judged spans.",
    )


def load_calibration_source(
    source: str,
    path=None,
    *,
    scores=None,
    contents=None,
) -> AnnotatedSet:
    """The data of the calibration runbook, by name or from a CSV of human labels.

    Parameters
    ----------
    source : str
        "demo" (:func:`llmdrift.datasets.load_demo`: its judge and human
        rows), "pandalm", "topical_chat", "llmbar", "judgebench" (the loaders
        of this module, reading ``path`` or downloading), or the path of a
        CSV (or Parquet) file of human labels with columns ``span_id,
        dimension, value, annotator``.
    path : str or path-like, optional
        For a named public set: its folder (None downloads it).
    scores : DataFrame or path, optional
        For a labels file: the scores frame holding the judge rows
        (``kind="judge"``) of the same spans, or the path of a CSV/Parquet
        copy of it. Default: the demo's judge scores, so labels of demo spans
        can be tried without traces of your own.
    contents : DataFrame or path, optional
        For a labels file: ``span_id, input_text, output_text`` for the
        disagreement browser. Default: the demo's contents when ``scores``
        is the demo's, else none.

    Returns
    -------
    AnnotatedSet
        For a labels file: ``scores`` holds your labels as ``kind="human"``
        rows (``scorer`` = ``annotator``) plus the judge rows of the spans you
        labelled; ``scale`` is ``[1, ..., 5]`` when every label is an integer
        from 1 to 5 (else empty: numbers are then read as sorted categories
        or continuous); ``level`` ordinal.

    Raises
    ------
    ValueError
        Unknown source name, a labels file without the four columns, or labels
        whose spans have no judge score.

    Examples
    --------
    >>> import pandas as pd, pathlib, tempfile
    >>> judge = pd.DataFrame({"span_id": ["a", "b"], "dimension": "format",
    ...     "value": [4.0, 2.0], "scorer": "gpt", "kind": "judge"})
    >>> labels = pd.DataFrame({"span_id": ["a", "b"], "dimension": "format",
    ...     "value": [5, 2], "annotator": "ann1"})
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "labels.csv"
    >>> labels.to_csv(file, index=False)
    >>> data = load_calibration_source(str(file), scores=judge)
    >>> data.scores[["span_id", "scorer", "kind", "value"]].values.tolist()
    [['a', 'ann1', 'human', 5.0], ['b', 'ann1', 'human', 2.0], \
['a', 'gpt', 'judge', 4.0], ['b', 'gpt', 'judge', 2.0]]
    """
    if source == "demo":
        return _demo_set()
    if source in _LOADERS:
        return _LOADERS[source](path)
    file = Path(str(source)).expanduser()
    if not file.is_file():
        raise ValueError(
            f"source {source!r} is neither one of {list(SOURCES)} nor an existing "
            "file; give a name or the path of a CSV of human labels with columns "
            f"{list(_LABEL_COLUMNS)}"
        )
    labels = _read_table(file)
    missing = [c for c in _LABEL_COLUMNS if c not in labels.columns]
    if missing:
        header = ",".join(map(str, labels.columns))
        hint = next(
            (
                f"; the header looks {sep!r}-separated: save the file with commas"
                for sep in (";", "\t", "|")
                if sep in header
            ),
            "",
        )
        raise ValueError(
            f"{file}: columns {missing} are missing; a labels file needs "
            f"{list(_LABEL_COLUMNS)} (one row per span, dimension and annotator), "
            f"present: {list(labels.columns)[:12]}{hint}"
        )
    demo = None
    if scores is None:
        demo = _demo_set()
        judged = demo.scores
        if contents is None:
            contents = demo.contents
    else:
        judged = (
            scores
            if isinstance(scores, pd.DataFrame)
            else _read_table(scores, "scores file")
        )
        absent = [
            c for c in ("span_id", "dimension", "value", "kind") if c not in judged
        ]
        if absent:
            raise ValueError(
                f"scores= lacks column(s) {absent}; it should be a scores frame "
                "with the judge rows (kind='judge') of the labelled spans; "
                f"present: {list(judged.columns)[:12]}"
            )
    if isinstance(contents, str | Path):
        contents = _read_table(contents, "contents file")
    judged = judged[judged["kind"] == "judge"]
    human = pd.DataFrame(
        {
            "span_id": labels["span_id"].astype("string"),
            "dimension": labels["dimension"].astype("string"),
            "value": pd.to_numeric(labels["value"], errors="coerce"),
            "scorer": labels["annotator"].astype("string"),
            "kind": "human",
        }
    )
    bad = human["value"].isna() & labels["value"].notna()
    if bad.any():
        first = labels.loc[bad, "value"].head(3).tolist()
        raise ValueError(
            f"{file}: {int(bad.sum())} label value(s) are not numbers (first: "
            f"{first}); code the labels as numbers (e.g. 1-5, or 0/1 for fail/pass)"
        )
    infinite = np.isinf(human["value"].to_numpy(dtype=float))
    if infinite.any():
        raise ValueError(
            f"{file}: {int(infinite.sum())} label value(s) are infinite (first at "
            f"line {int(np.flatnonzero(infinite)[0]) + 2}); labels are finite numbers"
        )
    # a row without span, dimension, annotator or value is skipped, and said so
    skips = _Skips("load_calibration_source")
    incomplete = human[["span_id", "dimension", "scorer", "value"]].isna()
    for row in np.flatnonzero(incomplete.any(axis=1).to_numpy()):
        empty = [
            _LABEL_COLUMNS[i]
            for i, name in enumerate(["span_id", "dimension", "value", "scorer"])
            if incomplete.iloc[row][name]
        ]
        skips.add(file.name, f"line {row + 2}", f"empty {empty}")
    if skips.rows:
        human = human.loc[~incomplete.any(axis=1).to_numpy()]
    repeated = human.duplicated(["span_id", "dimension", "scorer"], keep=False)
    if repeated.any():
        first = human.loc[repeated.to_numpy()].iloc[0]
        lines = [int(i) + 2 for i in human.index[repeated.to_numpy()][:2]]
        raise ValueError(
            f"{file}: annotator {first['scorer']!r} labelled span "
            f"{first['span_id']!r} on {first['dimension']!r} more than once (lines "
            f"{lines}, {int(repeated.sum())} such rows); keep one label per span, "
            "dimension and annotator"
        )
    skips.warn()
    keys = ["span_id", "dimension"]
    judged = judged.assign(
        span_id=judged["span_id"].astype("string"),
        dimension=judged["dimension"].astype("string"),
    )
    matched = judged.merge(human[keys].drop_duplicates(), on=keys, how="inner")
    if matched.empty:
        raise ValueError(
            f"{file}: none of the labelled (span_id, dimension) pairs has a judge "
            "score; give scores= the frame (or file) with the judge rows of these "
            "spans"
        )
    combined = pd.concat([human, matched[human.columns]], ignore_index=True)
    values = human["value"].dropna()
    one_to_five = bool(len(values)) and values.isin([1, 2, 3, 4, 5]).all()
    dims = sorted(human["dimension"].dropna().unique())
    return AnnotatedSet(
        name=file.stem,
        scores=combined,
        contents=contents
        if contents is not None
        else _contents_frame(
            [{"span_id": s, "output_text": None} for s in human["span_id"].unique()]
        ),
        scale={d: [1, 2, 3, 4, 5] for d in dims} if one_to_five else {},
        level=dict.fromkeys(dims, "ordinal"),
        description=f"human labels from {file} with the judge scores of those spans",
    )
