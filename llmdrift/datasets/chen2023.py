"""Real GPT-4 and GPT-3.5 answers (Chen, Zaharia & Zou 2023) replayed as traffic.

Chen et al. asked the March and the June 2023 snapshots of GPT-4 and
GPT-3.5 the same questions and published every answer with its latency,
cost, token count and their own evaluation (repository lchen001/LLMDrift,
Apache-2.0; arXiv 2307.09009). In June 2023 the ``gpt-4`` alias moved from
``gpt-4-0314`` to ``gpt-4-0613``: a caller of the alias saw the model change
under an unchanged request. :func:`load_chen2023` turns the published answers
into the traces such a caller would have had.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from llmdrift import checks as _checks
from llmdrift.datasets._cache import Remote, resolve_files
from llmdrift.datasets.demo import Dataset, _hex_ids
from llmdrift.schema import conform, empty
from llmdrift.tracing import template_hash

__all__ = [
    "load_chen2023",
    "FILES",
    "SWITCH_TIME",
    "REPLAY_START",
    "REPLAY_END",
    "PRICES_PER_1K",
]

COMMIT = "4938eb720aed5210dd2153644fa35cf38b9c6d26"
_BASE = f"https://raw.githubusercontent.com/lchen001/LLMDrift/{COMMIT}/generation"

FILES = {
    "LEETCODE_EASY_EVAL.csv": Remote(
        f"{_BASE}/LEETCODE_EASY_EVAL.csv",
        "sha256:b96126ad6531479273881c53acdd4fabe4252c8d563a334a449f5773973eb6cc",
    ),
    "SENSITIVEQ_EVAL.csv": Remote(
        f"{_BASE}/SENSITIVEQ_EVAL.csv",
        "sha256:991480510415658ab0e9f6a0a6e40a4b542674440a6b99df00df8ef535188f7f",
    ),
    "PRIME_FULL_EVAL.csv": Remote(
        f"{_BASE}/PRIME_FULL_EVAL.csv",
        "sha256:680ee8624871a6a8d02ce7ba9210880ab9652910e29afae98a95e8d70d7da013",
    ),
}
"""The three task files, pinned to a commit of the original repository."""

_INTENT_OF_FILE = {
    "LEETCODE_EASY_EVAL.csv": "leetcode_easy",
    "SENSITIVEQ_EVAL.csv": "sensitive_q",
    "PRIME_FULL_EVAL.csv": "prime",
}

# the prompt template of each task, as the queries show it (the part that
# varies between queries is the placeholder)
_TEMPLATES = {
    "leetcode_easy": (
        "{problem}\n\nSolve it by filling in the following python code. Generate "
        "the code only without any other text.\n{starter_code}"
    ),
    "sensitive_q": "{question}",
    "prime": (
        'Is {number} a prime number? Think step by step and then answer "[Yes]" '
        'or "[No]".'
    ),
}

_SERVICES = {  # alias -> (service, March snapshot, June snapshot)
    "gpt-4": ("gpt-4-service", "gpt-4-0314", "gpt-4-0613"),
    "gpt-3.5-turbo": ("gpt-3.5-service", "gpt-3.5-turbo-0301", "gpt-3.5-turbo-0613"),
}

PRICES_PER_1K = {
    "gpt-4-0314": (0.03, 0.06),
    "gpt-4-0613": (0.03, 0.06),
    "gpt-3.5-turbo-0301": (0.002, 0.002),
    "gpt-3.5-turbo-0613": (0.002, 0.002),
}
"""USD per 1K (input, output) tokens with which the authors' ``cost`` column
was computed (every row's cost minus its output tokens at these rates leaves a
whole number of input tokens); used for ``answers.input_tokens_from_cost``."""

REPLAY_START = pd.Timestamp("2023-06-06", tz="UTC")
SWITCH_TIME = pd.Timestamp("2023-06-27", tz="UTC")
REPLAY_END = pd.Timestamp("2023-07-18", tz="UTC")  # exclusive: 6 weeks

# requests per intent per service per simulated day
_PER_DAY = {"leetcode_easy": 50, "sensitive_q": 50, "prime": 100}


def _read_answers(paths: dict) -> pd.DataFrame:
    """The published rows of the three files, one per real answer."""
    frames = []
    for name, file in paths.items():
        raw = pd.read_csv(file)
        needed = ["model", "id", "query", "answer", "latency", "cost", "answer_token"]
        missing = [c for c in needed if c not in raw.columns]
        if missing:
            raise ValueError(
                f"{file}: columns {missing} are missing; is this the file from "
                f"lchen001/LLMDrift at commit {COMMIT}?"
            )
        intent = _INTENT_OF_FILE[name]
        snapshot = raw["model"].astype(str).str.split("/").str[-1]
        unknown = sorted(set(snapshot) - set(PRICES_PER_1K))
        if unknown:
            raise ValueError(f"{file}: unknown model snapshots {unknown}")
        alias = np.where(snapshot.str.startswith("gpt-4"), "gpt-4", "gpt-3.5-turbo")
        frame = pd.DataFrame(
            {
                "file": name,
                "file_row": np.arange(len(raw)),
                "intent": intent,
                "service": [_SERVICES[a][0] for a in alias],
                "request_model": alias,
                "response_model": snapshot.to_numpy(),
                "query_id": raw["id"].astype(str).to_numpy(),
                "query": raw["query"].to_numpy(),
                "answer": raw["answer"].to_numpy(),
                "ref_answer": raw["ref_answer"].astype("string").to_numpy(),
                "latency_s": raw["latency"].astype(float).to_numpy(),
                "cost_usd": raw["cost"].astype(float).to_numpy(),
                "output_tokens": raw["answer_token"].astype("Int64").array,
                "collected": raw["timestamp"].astype("string").to_numpy(),
                "directly_usable": raw["Directly Usable"].astype(float).to_numpy()
                if "Directly Usable" in raw.columns
                else np.nan,
                "response_rate": raw["Response Rate"].astype(float).to_numpy()
                if "Response Rate" in raw.columns
                else np.nan,
            }
        )
        frames.append(frame)
    answers = pd.concat(frames, ignore_index=True)
    for col in (
        "file",
        "intent",
        "service",
        "request_model",
        "response_model",
        "query_id",
        "query",
        "answer",
        "ref_answer",
        "collected",
    ):
        answers[col] = answers[col].astype("string")
    answers.insert(0, "source_row", np.arange(len(answers)))
    answers["input_tokens_from_cost"] = _input_tokens(answers)
    answers["correct"] = _prime_correct(answers)
    return answers


def _input_tokens(answers: pd.DataFrame) -> pd.Series:
    """Input tokens implied by cost = (in * p_in + out * p_out) / 1000.

    Not exact: it assumes ``answer_token`` is the billed output count, which
    fails for some rows (see :func:`load_chen2023`, "What is derived").
    Rows where the implied count is not a whole number (none in the
    published files) get <NA>.
    """
    prices = np.array([PRICES_PER_1K[s] for s in answers["response_model"]])
    out = answers["output_tokens"].to_numpy(dtype=float, na_value=np.nan)
    cost_milli = answers["cost_usd"].to_numpy() * 1000
    implied = (cost_milli - out * prices[:, 1]) / prices[:, 0]
    whole = np.abs(implied - np.round(implied)) < 1e-6
    values = pd.Series(np.where(whole, np.round(implied), np.nan))
    return values.astype("Int64").array


def _prime_correct(answers: pd.DataFrame) -> np.ndarray:
    """PRIME: 1 if the first [yes]/[no] bracket equals ref_answer (any case).

    An answer without a bracket counts as not correct (0), as in the paper's
    accuracy; rows of other tasks are NaN.
    """
    first = _checks.first_match(answers["answer"], "yes_no_brackets").str.lower()
    ref = answers["ref_answer"].str.lower()
    correct = (first == ref).fillna(False).to_numpy(dtype=float)
    return np.where(answers["intent"] == "prime", correct, np.nan)


def _replay(answers: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Which answer serves each simulated request, and when.

    Each service x intent x day draws ``_PER_DAY[intent]`` answers of the
    snapshot serving that day. The day's answers are consecutive blocks of one
    fixed seeded permutation of that snapshot's answers, cycling, so every
    answer is used equally often over each full cycle (for leetcode, 50 a day
    out of 50 answers: every answer exactly once a day).
    """
    rng = np.random.default_rng(seed)
    n_days = (REPLAY_END - REPLAY_START).days
    switch_day = (SWITCH_TIME - REPLAY_START).days
    rows, days = [], []
    for _service, march, june in _SERVICES.values():
        for intent, per_day in _PER_DAY.items():
            for snapshot, day_range in (
                (march, range(0, switch_day)),
                (june, range(switch_day, n_days)),
            ):
                pool = answers.index[
                    (answers["intent"] == intent)
                    & (answers["response_model"] == snapshot)
                ].to_numpy()
                if len(pool) == 0:
                    continue
                order = rng.permutation(pool)
                n = per_day * len(day_range)
                rows.append(order[np.arange(n) % len(order)])
                days.append(np.repeat(np.asarray(day_range), per_day))
    plan = pd.DataFrame({"row": np.concatenate(rows), "day": np.concatenate(days)})
    seconds = rng.random(len(plan)) * 86_400
    plan["start_ns"] = (
        REPLAY_START.value
        + plan["day"].to_numpy(np.int64) * 86_400_000_000_000
        + (seconds * 1e6).astype(np.int64) * 1000
    )
    return plan.sort_values("start_ns", kind="stable").reset_index(drop=True)


def load_chen2023(path=None, *, seed: int = 0, progress: bool = False) -> Dataset:
    """Real GPT-4 / GPT-3.5 answers from Chen et al. (2023) replayed as traffic.

    What is real
        Every answer text, the query it answers, its latency, its cost, its
        output token count, the model snapshot that wrote it, and the
        authors' labels: ``Directly Usable`` (leetcode: the code, submitted
        as-is, was accepted) and ``Response Rate`` (sensitive questions: the
        model answered rather than refused). PRIME correctness is the first
        ``[yes]``/``[no]`` bracket of the answer compared with the published
        reference answer.
    What is derived
        Heuristic scores, computed here by :mod:`llmdrift.checks` on the real
        text. ``input_tokens`` is NOT derived: it is <NA> in ``spans``. The
        cost minus the output tokens at the rates the authors used
        (:data:`PRICES_PER_1K`: $0.03/$0.06 per 1K for gpt-4, $0.002/$0.002
        for both gpt-3.5 snapshots, not 0613's June list price of $0.0015)
        leaves a whole number in every row, kept as
        ``answers.input_tokens_from_cost``; but for 112 of the 4,600 answers
        (99 of them gpt-3.5-turbo-0613 PRIME answers) it differs from the
        count the same query implies on the other snapshots (0301 counting
        one more token a message), which shows ``answer_token`` is not always
        the billed output count. Since the derivation is not exact, spans
        carry <NA> rather than a guess.
    What is replayed (simulated)
        The timeline. Two services call an alias, as a client would:
        ``gpt-4-service`` calls ``gpt-4`` and ``gpt-3.5-service`` calls
        ``gpt-3.5-turbo``. Six weeks are simulated, 2023-06-06 to 2023-07-17.
        Requests before :data:`SWITCH_TIME` (2023-06-27 00:00 UTC) are
        answered by the March snapshot (0314 / 0301), from then on by the June
        snapshot (0613). Each day, each service sends 50 leetcode, 50
        sensitive and 100 PRIME requests, drawn from the real answers of the
        snapshot serving that day (consecutive blocks of a seeded permutation,
        so answers are reused equally often; every leetcode answer exactly
        once a day); request times are uniform within the day. The published
        collection times (no time zone, all in July 2023) are kept in
        ``answers`` but not used. Trace and span ids are random.

    Parameters
    ----------
    path : str or Path, optional
        Folder holding ``LEETCODE_EASY_EVAL.csv``, ``SENSITIVEQ_EVAL.csv`` and
        ``PRIME_FULL_EVAL.csv``. ``None`` downloads them from the original
        repository (pinned commit, SHA-256 checked) into the llmdrift cache
        on first use.
    seed : int, default=0
        Seed of the replay (which answer on which day, request times, ids).
    progress : bool, default=False
        Show download progress.

    Returns
    -------
    Dataset
        - ``spans``: one llm span per replayed request; ``provider``
          "openai", ``request_model`` the alias, ``response_model`` the real
          snapshot, ``intent`` ("leetcode_easy", "sensitive_q", "prime"),
          ``prompt_hash`` of the task's template, ``duration_ms`` the real
          latency, ``output_tokens`` (real ``answer_token``), ``cost_usd``
          = ``reported_cost_usd`` (real); input, cache, reasoning,
          finish reason and flag are <NA> (not recorded). Extra column
          ``source_row`` points into ``answers``.
        - ``contents``: the real query and answer text.
        - ``scores``: human (``kind="human"``, scorer "chen2023-authors"):
          ``directly_usable`` (leetcode), ``response_rate`` (sensitive_q),
          ``correct`` (prime); heuristic: ``has_code_fence`` (leetcode),
          ``answer_format`` ("[Yes]"/"[No]" bracket present; prime),
          ``looks_like_refusal`` (sensitive_q) and ``answer_length`` (length
          in characters, every answer; a measure, not pass/fail).
        - ``deployments``: empty (typed): nobody deployed anything.
        - ``answers``: the 4,600 published rows with the labels above.

    Examples
    --------
    Downloads about 4 MB on first use, so not run as a doctest:

    >>> data = load_chen2023()  # doctest: +SKIP
    >>> data.spans.groupby("response_model").size()["gpt-4-0613"]  # doctest: +SKIP
    4200
    """
    paths = resolve_files(path, FILES, subdir="chen2023-llmdrift", progress=progress)
    answers = _read_answers(paths)
    plan = _replay(answers, seed)
    rng = np.random.default_rng([seed, 2023])

    src = answers.loc[plan["row"].to_numpy()].reset_index(drop=True)
    n = len(plan)
    start = pd.DatetimeIndex(plan["start_ns"].to_numpy().view("datetime64[ns]"))
    start = start.tz_localize("UTC")
    duration = src["latency_s"].to_numpy() * 1000.0
    span_id = _hex_ids(rng, n, 8)
    trace_id = _hex_ids(rng, n, 16)
    intents = src["intent"].astype(object).to_numpy()
    hashes = {k: template_hash(v) for k, v in _TEMPLATES.items()}
    spans = pd.DataFrame(
        {
            "trace_id": trace_id,
            "span_id": span_id,
            "start_time": start,
            "end_time": start + pd.to_timedelta(duration, unit="ms"),
            "duration_ms": duration,
            "service": src["service"].to_numpy(),
            "operation": "chat",
            "span_kind": "llm",
            "provider": "openai",
            "request_model": src["request_model"].to_numpy(),
            "response_model": src["response_model"].to_numpy(),
            "intent": intents,
            "prompt_hash": [hashes[i] for i in intents],
            "prompt_version": "chen2023",
            "input_tokens": pd.array([pd.NA] * n, dtype="Int64"),
            "output_tokens": src["output_tokens"].array,
            "cost_usd": src["cost_usd"].to_numpy(),
            "reported_cost_usd": src["cost_usd"].to_numpy(),
            "status": "ok",
            "source_row": src["source_row"].to_numpy(),
        }
    )
    spans = conform(spans, "spans")
    contents = conform(
        pd.DataFrame(
            {
                "span_id": span_id,
                "input_text": src["query"].array,
                "output_text": src["answer"].array,
            }
        ),
        "contents",
    )
    scores = _scores(spans, contents, src)
    return Dataset(
        spans=spans,
        contents=contents,
        scores=scores,
        deployments=empty("deployments"),
        truth=None,
        description=load_chen2023.__doc__ or "",
        answers=answers,
    )


def _scores(spans: pd.DataFrame, contents: pd.DataFrame, src: pd.DataFrame):
    """Human labels and heuristic checks for the replayed requests."""
    human = []
    for intent, dimension, version in (
        ("leetcode_easy", "directly_usable", "Directly Usable"),
        ("sensitive_q", "response_rate", "Response Rate"),
        ("prime", "correct", "first [yes]/[no] bracket vs ref_answer"),
    ):
        rows = (src["intent"] == intent).to_numpy()
        human.append(
            pd.DataFrame(
                {
                    "span_id": spans["span_id"][rows].to_numpy(),
                    "trace_id": spans["trace_id"][rows].to_numpy(),
                    "time": spans["start_time"][rows].array,
                    "dimension": dimension,
                    "value": src[dimension][rows].to_numpy(dtype=float),
                    "scorer": "chen2023-authors",
                    "kind": "human",
                    "scorer_version": version,
                    "inclusion_prob": 1.0,
                }
            )
        )

    intent = spans["intent"].to_numpy(dtype=object)
    plan = (
        ("leetcode_easy", [_checks.has_code_fence()]),
        ("prime", [_checks.answer_format("yes_no_brackets")]),
        ("sensitive_q", [_checks.looks_like_refusal()]),
        (None, [_checks.answer_length()]),
    )
    heuristic = []
    for only, checklist in plan:
        rows = np.ones(len(intent), bool) if only is None else intent == only
        heuristic.append(_checks.run_checks(contents[rows], checklist, spans=spans))
    scores = pd.concat([*human, *heuristic], ignore_index=True)
    scores = conform(scores, "scores")
    return scores.sort_values(
        ["time", "scorer", "dimension"], kind="stable"
    ).reset_index(drop=True)
