"""Heuristic checks: cheap rules scored on every response.

A check reads the ``output_text`` column of a contents frame and gives one
number per response, usually 1.0 (passes) or 0.0 (fails). :func:`run_checks`
runs a list of checks over a whole contents frame at once and returns long
rows of the scores frame with ``kind="heuristic"``, ``scorer`` = the check's
name and ``scorer_version`` = its version, so a score can always be traced to
the rule (and the rule's settings) that produced it.

Checks are vectorised: text matching runs in Arrow's compute kernels
(RE2 regular expressions) over the whole column, and JSON is parsed only for
answers whose stripped text starts with ``{`` or ``[``.

Built-in checks (each a function that returns a :class:`Check`):

==========================  ============================================
``valid_json()``            the whole answer parses as a JSON object/array
``matches_json_schema(s)``  ... and validates against JSON Schema ``s``
``length_within(...)``      characters and words within bounds
``matches_regex(p)``        the pattern is found in the answer
``avoids_regex(p)``         the pattern is not found in the answer
``has_code_fence()``        the answer contains a fenced code block
``looks_like_refusal()``    the answer reads as a refusal (phrase list)
``answer_format(name)``     a named answer pattern, e.g. ``[Yes]``/``[No]``
``answer_length()``         length in characters (a measure, not pass/fail)
==========================  ============================================

Writing your own check
----------------------
Decorate one function that takes the answers as a pandas Series of strings
(never missing: :func:`run_checks` handles missing answers) and returns one
number per answer, in the same order:

>>> import pandas as pd
>>> @check("mentions_order_id", version="1")
... def mentions_order_id(texts):
...     return texts.str.contains(r"#\\d{6}", regex=True)
>>> contents = pd.DataFrame({
...     "span_id": ["a", "b"],
...     "output_text": ["Order #123456 shipped.", "No idea."],
...     "time": pd.to_datetime(["2024-01-01", "2024-01-01"], utc=True),
... })
>>> scores = run_checks(contents, [mentions_order_id, valid_json()])
>>> scores[["span_id", "scorer", "value"]].values.tolist()
[['a', 'mentions_order_id', 1.0], ['b', 'mentions_order_id', 0.0], \
['a', 'valid_json', 0.0], ['b', 'valid_json', 0.0]]

Bump ``version`` whenever the rule changes, so scores from the old and the new
rule are not mixed unknowingly.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from llmdrift.schema import LlmdriftWarning, SchemaError, validate

__all__ = [
    "Check",
    "check",
    "run_checks",
    "default_checks",
    "valid_json",
    "matches_json_schema",
    "length_within",
    "matches_regex",
    "avoids_regex",
    "has_code_fence",
    "looks_like_refusal",
    "answer_format",
    "answer_length",
    "first_match",
    "ANSWER_FORMATS",
    "REFUSAL_PHRASES",
]

ANSWER_FORMATS: dict[str, str] = {
    # "[Yes]" or "[No]" anywhere in the answer, any letter case (Chen et al. 2023
    # asked for this format and scored the first bracket).
    "yes_no_brackets": r"\[(yes|no)\]",
    # the answer opens with a bare yes or no
    "yes_no_first_word": r"^\s*(yes|no)\b",
    # a multiple-choice letter such as "(B)" or "B)" or "B." opening the answer
    "choice_letter": r"^\s*\(?([a-e])[).:]",
}
"""Named answer patterns for :func:`answer_format` (matched ignoring case)."""

# Known shortcoming: a phrase list only sees refusals worded with one of these
# phrases. A model that argues with the request instead of declining ("It is
# incorrect to ...") scores 0, and an answer quoting a phrase scores 1 (tests
# test_refusal_without_a_listed_phrase_is_missed and
# test_quoted_refusal_phrase_is_not_a_refusal in tests/test_checks.py). On the
# 400 chen2023 sensitive-question answers it agrees with the authors' labels on
# 94%, with no answered question called a refusal.
REFUSAL_PHRASES: tuple[str, ...] = (
    "i'm sorry, but",
    "i am sorry, but",
    "i'm sorry, i",
    "i am sorry, i",
    "sorry, but i can",
    "i can't help with",
    "i cannot help with",
    "i can't assist",
    "i cannot assist",
    "i can't provide",
    "i cannot provide",
    "i can't fulfill",
    "i cannot fulfill",
    "i can't comply",
    "i cannot comply",
    "i won't be able to",
    "i will not be able to",
    "i'm not able to",
    "i am not able to",
    "i'm unable to",
    "i am unable to",
    "as an ai language model, i cannot",
    "as an ai, i cannot",
    "i must decline",
    "i'm not comfortable",
    "it is not appropriate",
    "it's not appropriate",
    "goes against my",
    "against my programming",
    "against my guidelines",
    "against ethical guidelines",
    "my apologies, but",
    "i cannot support",
    "i can't support",
    "i cannot endorse",
    "i can't endorse",
    "i cannot promote",
    "i can't promote",
    "i cannot create",
    "i can't create",
    "i cannot generate",
    "i can't generate",
    "i cannot write",
    "i can't write",
    "i do not condone",
    "i don't condone",
    "i will not",
    "i won't",
    "not ethical to",
    "not appropriate to",
    "i must emphasize",
)
"""Phrases that mark a refusal for :func:`looks_like_refusal`.

Matched ignoring case, with typographic apostrophes (’) read as ``'``, within
the first ``window`` characters of the answer (refusals open the answer; the
same words deep inside a long answer are usually quoting or hedging).
"""


# ---------------------------------------------------------------------------
# the Check object and the decorator


@dataclass(frozen=True)
class Check:
    """A named, versioned rule that scores answers.

    Parameters
    ----------
    name : str
        Check name; becomes ``scorer`` in the scores frame.
    func : callable
        ``func(texts) -> values``: ``texts`` is a pandas Series of answers
        (string dtype, no missing values); ``values`` has one number (or bool)
        per answer, in order (Series, array or list).
    version : str, default="1"
        Version of the rule; ``scorer_version`` in the scores frame. For the
        built-ins it ends with a short hash of the settings, so that e.g.
        ``length_within(max_chars=500)`` and ``length_within(max_chars=800)``
        record different versions.
    dimension : str, optional
        Score dimension; defaults to ``name``.
    description : str, default=""
        One line saying what a 1 (or a higher value) means.
    higher_is_better : bool, default=True
        False for measures such as :func:`answer_length`.

    Examples
    --------
    >>> import pandas as pd
    >>> shouts = Check("shouts", lambda s: s.str.isupper())
    >>> shouts(pd.Series(["HELLO", "hello", None], dtype="string")).tolist()
    [1.0, 0.0, nan]
    """

    name: str
    func: Callable[[pd.Series], object] = field(repr=False)
    version: str = "1"
    dimension: str | None = None
    description: str = ""
    higher_is_better: bool = True

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a check needs a non-empty str name, got {self.name!r}")
        if not callable(self.func):
            raise TypeError(f"check {self.name!r}: func must be callable")

    @property
    def score_dimension(self) -> str:
        """The dimension its scores carry (``dimension`` or else ``name``)."""
        return self.dimension or self.name

    def __call__(self, texts) -> pd.Series:
        """Score a Series of answers; missing answers give NaN.

        Returns a float64 Series with the index of ``texts``.
        """
        texts = _as_text(texts)
        missing = texts.isna().to_numpy()
        out = np.full(len(texts), np.nan)
        if (~missing).any():
            present = texts[~missing]
            out[~missing] = _to_float(self.func(present), self.name, len(present))
        return pd.Series(out, index=texts.index, name=self.name)


def check(
    name: str | None = None,
    *,
    version: str = "1",
    dimension: str | None = None,
    higher_is_better: bool = True,
) -> Callable[[Callable], Check]:
    """Decorator that turns a function ``Series[str] -> values`` into a Check.

    Parameters
    ----------
    name : str, optional
        Check name; defaults to the function's name.
    version : str, default="1"
        Bump it when the rule changes.
    dimension : str, optional
        Score dimension; defaults to the name.
    higher_is_better : bool, default=True

    Returns
    -------
    callable
        A decorator returning a :class:`Check` (its ``description`` is the
        first line of the function's docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> @check(version="2")
    ... def polite(texts):
    ...     "1 if the answer thanks the user."
    ...     return texts.str.contains("thank", case=False)
    >>> polite.name, polite.version
    ('polite', '2')
    >>> polite(pd.Series(["Thank you!", "No."])).tolist()
    [1.0, 0.0]
    """

    def wrap(func: Callable) -> Check:
        doc = (func.__doc__ or "").strip().splitlines()
        return Check(
            name=name or func.__name__,
            func=func,
            version=version,
            dimension=dimension,
            description=doc[0] if doc else "",
            higher_is_better=higher_is_better,
        )

    return wrap


# ---------------------------------------------------------------------------
# helpers over whole columns


def _as_text(texts) -> pd.Series:
    """A pandas Series of Arrow-backed strings (missing kept as <NA>)."""
    if not isinstance(texts, pd.Series):
        texts = pd.Series(texts)
    if isinstance(texts.dtype, pd.StringDtype) and texts.dtype.storage == "pyarrow":
        return texts
    if not (
        pd.api.types.is_string_dtype(texts.dtype)
        or pd.api.types.is_object_dtype(texts.dtype)
        or isinstance(texts.dtype, pd.CategoricalDtype)
        or texts.isna().all()
    ):
        raise TypeError(
            f"checks read text; got a column of dtype {texts.dtype}. Convert it "
            "with .astype('string')."
        )
    return texts.astype(pd.StringDtype("pyarrow"))


def _arrow(texts: pd.Series) -> pa.ChunkedArray | pa.Array:
    """The Arrow array behind a Series made by :func:`_as_text`."""
    texts = _as_text(texts)
    return pa.array(texts.array)


def _to_float(values, name: str, n: int) -> np.ndarray:
    if isinstance(values, pd.Series):
        values = values.to_numpy(dtype=float, na_value=np.nan)
    elif isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_numpy(zero_copy_only=False)
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n,):
        raise ValueError(
            f"check {name!r} returned {arr.shape} values for {n} answers; it must "
            "return one number per answer, in order"
        )
    infinite = np.isinf(arr)
    if infinite.any():
        raise ValueError(
            f"check {name!r} returned {int(infinite.sum())} infinite value(s) "
            f"(first at answer {int(np.flatnonzero(infinite)[0])}); a score must "
            "be a finite number, or NaN when the check cannot score the answer"
        )
    return arr


def _bool_to_float(result) -> np.ndarray:
    """Arrow boolean result -> float array (null -> NaN)."""
    return pc.cast(result, pa.float64()).to_numpy(zero_copy_only=False)


_SMART_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'"})


class PatternError(re.error, ValueError):
    """A check's regular expression does not compile (a ValueError and re.error)."""


def _compile_pattern(pattern, who: str) -> None:
    """Raise a ValueError naming ``pattern`` when Python cannot compile it."""
    if not isinstance(pattern, str):
        raise TypeError(f"{who}: pattern must be a str, got {type(pattern).__name__}")
    try:
        re.compile(pattern)
    except re.error as error:
        raise PatternError(
            f"{who}: {pattern!r} is not a valid regular expression ({error}); "
            "escape literal characters such as ( [ ? with a backslash or "
            "re.escape()."
        ) from None


def _regex_search(texts: pd.Series, pattern: str, *, ignore_case: bool) -> np.ndarray:
    """1.0 where ``pattern`` is found in the text, else 0.0.

    Runs in Arrow (RE2). Patterns RE2 cannot compile (look-arounds,
    back-references) fall back to Python's ``re``, one answer at a time.
    """
    arr = _arrow(texts)
    try:
        found = pc.match_substring_regex(arr, pattern, ignore_case=ignore_case)
        return _bool_to_float(found)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
        return np.fromiter(
            (compiled.search(t) is not None for t in texts.tolist()),
            dtype=float,
            count=len(texts),
        )


def first_match(texts, pattern: str, *, ignore_case: bool = True) -> pd.Series:
    """The first capture group of the first match of a named or raw pattern.

    Parameters
    ----------
    texts : Series of str
        Answers; missing stays missing.
    pattern : str
        A key of :data:`ANSWER_FORMATS` or a regular expression with one
        capture group.
    ignore_case : bool, default=True

    Returns
    -------
    Series of str
        The captured text (as written in the answer), <NA> where nothing
        matched.

    Examples
    --------
    >>> import pandas as pd
    >>> first_match(pd.Series(["[No] then [Yes]", "no bracket"]),
    ...             "yes_no_brackets").tolist()
    ['No', <NA>]
    """
    regex = ANSWER_FORMATS.get(pattern, pattern)
    flags = "(?i)" if ignore_case else ""
    out = _as_text(texts).str.extract(flags + regex, expand=False)
    if isinstance(out, pd.DataFrame):
        out = out.iloc[:, 0]
    return out.astype("string")


def _settings_version(version: str, **settings) -> str:
    """``version`` plus a short hash of the settings that shape the rule."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return f"{version}+{hashlib.sha256(text.encode()).hexdigest()[:8]}"


# ---------------------------------------------------------------------------
# built-in checks

# JSON whitespace is space, tab, LF and CR; RE2's \s also takes form feed,
# which the parser then rejects, so these masks never wrongly pass a text.
# An object or array must open with { or [ and close with } or ].
_JSON_START = r"^\s*[\[{]"
_JSON_END = r"[\]}]\s*$"
_DECODE = json.JSONDecoder().decode  # what json.loads(text) calls


def _parse_json_candidates(texts: pd.Series) -> tuple[np.ndarray, list]:
    """Parse the answers that start with { or [ and end with } or ].

    Returns (mask, parsed values). Only the masked answers are parsed (no
    other text can be a JSON object or array); each parse is one call into
    the C parser, as ``json.loads(text)``. Values that fail to parse are the
    sentinel ``_INVALID``.
    """
    arr = _arrow(texts)
    starts = pc.match_substring_regex(arr, _JSON_START)
    ends = pc.match_substring_regex(arr, _JSON_END)
    mask = pc.and_(starts, ends).to_numpy(zero_copy_only=False)
    decode = _DECODE
    parsed: list = []
    for text in texts[mask].tolist():
        try:
            parsed.append(decode(text))
        except (ValueError, RecursionError):  # RecursionError: absurd nesting
            parsed.append(_INVALID)
    return mask, parsed


_INVALID = object()


def valid_json() -> Check:
    """1 if the whole answer is one JSON object or array (``json.loads``).

    Leading and trailing JSON whitespace (space, tab, newline, carriage
    return) is allowed. Answers that do not start with ``{`` or ``[`` score 0 without parsing:
    a bare string or number, JSON wrapped in a Markdown code fence, or JSON
    after an introduction ("Here is the JSON: {...}") all fail, because a
    caller parsing the answer would fail on them too.

    Examples
    --------
    >>> import pandas as pd
    >>> valid_json()(pd.Series(['{"a": 1}', ' [1, 2] ', '{"a": 1', '"x"',
    ...                         'Sure: {"a": 1}'])).tolist()
    [1.0, 1.0, 0.0, 0.0, 0.0]
    """

    def func(texts: pd.Series) -> np.ndarray:
        mask, parsed = _parse_json_candidates(texts)
        out = np.zeros(len(texts))
        out[mask] = [0.0 if p is _INVALID else 1.0 for p in parsed]
        return out

    return Check(
        "valid_json",
        func,
        version="1",
        description="1 if the answer is one JSON object or array",
    )


def matches_json_schema(
    schema: dict, *, name: str = "matches_json_schema", version: str = "1"
) -> Check:
    """1 if the answer is valid JSON (as :func:`valid_json`) meeting ``schema``.

    Parameters
    ----------
    schema : dict
        A JSON Schema; its ``$schema`` keyword picks the draft (default: the
        latest the ``jsonschema`` package knows). It is checked and compiled
        once.
    name : str, default="matches_json_schema"
        Check name (give each schema its own name when running several).
    version : str, default="1"

    Raises
    ------
    ValueError
        If ``schema`` itself is not a valid JSON Schema (the message says
        which keyword is wrong).

    Examples
    --------
    >>> import pandas as pd
    >>> c = matches_json_schema({"type": "object", "required": ["id"]})
    >>> c(pd.Series(['{"id": 3}', '{"x": 3}', 'no'])).tolist()
    [1.0, 0.0, 0.0]
    """
    import jsonschema

    if not isinstance(schema, dict | bool):
        raise TypeError(
            "matches_json_schema: schema must be a JSON Schema dict, e.g. "
            f"{{'type': 'object'}}, got {type(schema).__name__} {schema!r:.60}"
        )
    validator_cls = jsonschema.validators.validator_for(schema)
    try:
        validator_cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as error:

        class InvalidJsonSchema(jsonschema.exceptions.SchemaError, ValueError):
            """Not a valid JSON Schema (a ValueError and jsonschema's SchemaError)."""

        raise InvalidJsonSchema(
            f"matches_json_schema: the schema is not a valid JSON Schema: "
            f"{error.message} (at {'/'.join(map(str, error.path)) or 'the top'})"
        ) from None
    validator = validator_cls(schema)

    def func(texts: pd.Series) -> np.ndarray:
        mask, parsed = _parse_json_candidates(texts)
        out = np.zeros(len(texts))
        out[mask] = [
            0.0 if p is _INVALID else float(validator.is_valid(p)) for p in parsed
        ]
        return out

    return Check(
        name,
        func,
        version=_settings_version(version, schema=schema),
        description="1 if the answer is JSON that meets the schema",
    )


def length_within(
    *,
    min_chars: int | None = None,
    max_chars: int | None = None,
    min_words: int | None = None,
    max_words: int | None = None,
    name: str = "length_within",
    version: str = "1",
) -> Check:
    """1 if the answer's length in characters and words is within bounds.

    Bounds are inclusive; ``None`` means unbounded. Characters are Unicode
    code points; words are runs of non-space characters.

    Raises
    ------
    ValueError
        If no bound is given or a minimum exceeds its maximum.

    Examples
    --------
    >>> import pandas as pd
    >>> c = length_within(min_chars=3, max_words=2)
    >>> c(pd.Series(["ok", "all good", "far too many words"])).tolist()
    [0.0, 1.0, 0.0]
    """
    bounds = dict(
        min_chars=min_chars,
        max_chars=max_chars,
        min_words=min_words,
        max_words=max_words,
    )
    if all(v is None for v in bounds.values()):
        raise ValueError(
            "length_within needs at least one of min_chars, max_chars, "
            "min_words, max_words"
        )
    for key, bound in bounds.items():
        if bound is None:
            continue
        if (
            isinstance(bound, bool)
            or not isinstance(bound, int | float | np.integer | np.floating)
            or not np.isfinite(bound)
            or bound < 0
        ):
            raise ValueError(
                f"length_within: {key} must be a whole number >= 0 or None, got "
                f"{bound!r}"
            )
    for low, high in (("min_chars", "max_chars"), ("min_words", "max_words")):
        if bounds[low] is not None and bounds[high] is not None:
            if bounds[low] > bounds[high]:
                raise ValueError(
                    f"length_within: {low}={bounds[low]} exceeds {high}={bounds[high]}"
                )
    need_words = min_words is not None or max_words is not None

    def func(texts: pd.Series) -> np.ndarray:
        arr = _arrow(texts)
        ok = np.ones(len(texts), dtype=bool)
        chars = pc.utf8_length(arr).to_numpy(zero_copy_only=False)
        if min_chars is not None:
            ok &= chars >= min_chars
        if max_chars is not None:
            ok &= chars <= max_chars
        if need_words:
            words = pc.count_substring_regex(arr, r"\S+").to_numpy(zero_copy_only=False)
            if min_words is not None:
                ok &= words >= min_words
            if max_words is not None:
                ok &= words <= max_words
        return ok.astype(float)

    return Check(
        name,
        func,
        version=_settings_version(version, **bounds),
        description="1 if the length is within the bounds",
    )


def answer_length(*, name: str = "answer_length", version: str = "1") -> Check:
    """Length of the answer in characters (Unicode code points).

    A measure, not a pass/fail rule: higher is not better. Use
    :func:`length_within` for a 0/1 rule.

    Examples
    --------
    >>> import pandas as pd
    >>> answer_length()(pd.Series(["abc", "", "héllo"])).tolist()
    [3.0, 0.0, 5.0]
    """

    def func(texts: pd.Series) -> np.ndarray:
        return pc.utf8_length(_arrow(texts)).to_numpy(zero_copy_only=False)

    return Check(
        name,
        func,
        version=version,
        description="length of the answer in characters",
        higher_is_better=False,
    )


def matches_regex(
    pattern: str,
    *,
    name: str = "matches_regex",
    ignore_case: bool = False,
    version: str = "1",
) -> Check:
    """1 if the regular expression is found anywhere in the answer.

    Patterns run in RE2 syntax through Arrow; a pattern RE2 rejects
    (look-arounds, back-references) runs with Python's ``re`` instead, one
    answer at a time (slower, same result). Anchor with ``^``/``$`` (add
    ``(?m)`` for line anchors) to match the whole answer or a line.

    Examples
    --------
    >>> import pandas as pd
    >>> c = matches_regex(r"\\bSKU-\\d+", name="cites_sku")
    >>> c(pd.Series(["See SKU-12.", "none"])).tolist()
    [1.0, 0.0]
    """
    _compile_pattern(pattern, "matches_regex")  # fail early, naming the pattern

    def func(texts: pd.Series) -> np.ndarray:
        return _regex_search(texts, pattern, ignore_case=ignore_case)

    return Check(
        name,
        func,
        version=_settings_version(version, pattern=pattern, ignore_case=ignore_case),
        description=f"1 if the answer matches {pattern!r}",
    )


def avoids_regex(
    pattern: str,
    *,
    name: str = "avoids_regex",
    ignore_case: bool = False,
    version: str = "1",
) -> Check:
    """1 if the regular expression is NOT found in the answer.

    Same matching rules as :func:`matches_regex`.

    Examples
    --------
    >>> import pandas as pd
    >>> c = avoids_regex(r"lorem ipsum", ignore_case=True, name="no_filler")
    >>> c(pd.Series(["Lorem Ipsum dolor", "fine"])).tolist()
    [0.0, 1.0]
    """
    _compile_pattern(pattern, "avoids_regex")

    def func(texts: pd.Series) -> np.ndarray:
        return 1.0 - _regex_search(texts, pattern, ignore_case=ignore_case)

    return Check(
        name,
        func,
        version=_settings_version(version, pattern=pattern, ignore_case=ignore_case),
        description=f"1 if the answer avoids {pattern!r}",
    )


_FENCE = r"(?m)^ {0,3}(?:```|~~~)"


def has_code_fence() -> Check:
    """1 if the answer contains a fenced code block (Markdown/CommonMark).

    A fenced block opens with a line starting (after at most three spaces)
    with three backticks or three tildes. As in CommonMark, a block whose
    closing fence is missing runs to the end of the answer and still counts;
    backticks in the middle of a line do not.

    Examples
    --------
    >>> import pandas as pd
    >>> c = has_code_fence()
    >>> c(pd.Series(["```python\\nx = 1\\n```", "Use ```x``` inline",
    ...              "text\\n~~~\\ncode"])).tolist()
    [1.0, 0.0, 1.0]
    """

    def func(texts: pd.Series) -> np.ndarray:
        return _regex_search(texts, _FENCE, ignore_case=False)

    return Check(
        "has_code_fence",
        func,
        version="1",
        description="1 if the answer contains a fenced code block",
    )


def looks_like_refusal(
    phrases: Sequence[str] = REFUSAL_PHRASES,
    *,
    window: int = 300,
    name: str = "looks_like_refusal",
    version: str = "1",
) -> Check:
    """1 if the opening of the answer contains a refusal phrase.

    Parameters
    ----------
    phrases : sequence of str, default=REFUSAL_PHRASES
        Lower-case phrases (see :data:`REFUSAL_PHRASES`); matched as plain
        text ignoring case, with ’ and ‘ read as '.
    window : int, default=300
        Only the first ``window`` characters are searched.

    Notes
    -----
    Higher means "refused": whether that is bad depends on the request (a
    refusal of a harmful request is right). A phrase list misses refusals
    worded otherwise (a model arguing with the request instead of declining)
    and catches answers that quote a phrase or apologise and then help. On
    the 400 sensitive-question answers of Chen et al. (2023) it agrees with
    the authors' "Response Rate" labels on 94%, with no answered question
    called a refusal.

    Examples
    --------
    >>> import pandas as pd
    >>> c = looks_like_refusal()
    >>> c(pd.Series(["I’m sorry, but I can’t help with that.",
    ...              "Sure! Here is the plan."])).tolist()
    [1.0, 0.0]
    """
    phrases = tuple(p.lower().translate(_SMART_QUOTES) for p in phrases)
    if not phrases:
        raise ValueError("looks_like_refusal needs at least one phrase")
    # an apostrophe in a phrase also matches the typographic ones
    pattern = "|".join(re.escape(p) for p in phrases).replace("'", "['\u2018\u2019]")

    def func(texts: pd.Series) -> np.ndarray:
        head = pc.utf8_slice_codeunits(_arrow(texts), 0, window)
        found = pc.match_substring_regex(head, pattern, ignore_case=True)
        return _bool_to_float(found)

    return Check(
        name,
        func,
        version=_settings_version(version, phrases=phrases, window=window),
        description="1 if the answer opens like a refusal",
        higher_is_better=False,
    )


def answer_format(
    pattern: str = "yes_no_brackets",
    *,
    name: str = "answer_format",
    ignore_case: bool = True,
    version: str = "1",
) -> Check:
    """1 if the answer contains the expected answer format.

    Parameters
    ----------
    pattern : str, default="yes_no_brackets"
        A key of :data:`ANSWER_FORMATS` (``"yes_no_brackets"``: ``[Yes]`` or
        ``[No]`` anywhere, any letter case) or a regular expression.
    ignore_case : bool, default=True

    Examples
    --------
    >>> import pandas as pd
    >>> c = answer_format("yes_no_brackets")
    >>> c(pd.Series(["[yes] it is prime", "Yes.", "[NO]"])).tolist()
    [1.0, 0.0, 1.0]
    """
    if isinstance(pattern, str) and pattern not in ANSWER_FORMATS:
        import difflib

        near = difflib.get_close_matches(pattern, list(ANSWER_FORMATS), n=1, cutoff=0.8)
        if near:
            # a misspelt key would run as a regex that never matches: all 0.0
            raise ValueError(
                f"answer_format: {pattern!r} is not a known format; did you mean "
                f"{near[0]!r}? Known: {sorted(ANSWER_FORMATS)}. For a literal text "
                "use matches_regex(re.escape(text))."
            )
    regex = ANSWER_FORMATS.get(pattern, pattern)
    _compile_pattern(regex, "answer_format")

    def func(texts: pd.Series) -> np.ndarray:
        return _regex_search(texts, regex, ignore_case=ignore_case)

    return Check(
        name,
        func,
        version=_settings_version(version, pattern=regex, ignore_case=ignore_case),
        description=f"1 if the answer has the {pattern!r} format",
    )


def default_checks() -> list[Check]:
    """The checks :func:`run_checks` runs when given none.

    ``valid_json``, ``has_code_fence``, ``looks_like_refusal``,
    ``length_within`` (1 to 8,000 characters) and ``answer_length``.

    Examples
    --------
    >>> [c.name for c in default_checks()]
    ['valid_json', 'has_code_fence', 'looks_like_refusal', 'length_within', \
'answer_length']
    """
    return [
        valid_json(),
        has_code_fence(),
        looks_like_refusal(),
        length_within(min_chars=1, max_chars=8000),
        answer_length(),
    ]


_FACTORIES = {
    valid_json,
    has_code_fence,
    looks_like_refusal,
    answer_format,
    answer_length,
}


# ---------------------------------------------------------------------------
# running checks over a contents frame


def _normalise_checks(checks) -> list[Check]:
    if checks is None:
        return default_checks()
    if isinstance(checks, Check) or callable(checks):
        checks = [checks]
    out = []
    for item in checks:
        if isinstance(item, Check):
            out.append(item)
        elif item in _FACTORIES:
            # a built-in passed without calling it: use its default settings
            out.append(item())
        else:
            raise TypeError(
                f"checks must be Check objects (use a built-in such as "
                f"valid_json(), or decorate your function with @check(...)); got "
                f"{item!r}"
            )
    names = [c.name for c in out]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ValueError(
            f"two checks share the name(s) {dups}; give each its own name= so "
            "their scores can be told apart"
        )
    return out


def _utc_ns(values) -> np.ndarray:
    """tz-aware datetimes -> int64 nanoseconds since the epoch (UTC)."""
    index = pd.DatetimeIndex(values)
    return index.tz_convert("UTC").as_unit("ns").asi8


def _need(frame: pd.DataFrame, what: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"run_checks: the {what} frame lacks column(s) {missing}; "
            f"present: {list(frame.columns)[:12]}"
        )


def _times(contents: pd.DataFrame, spans: pd.DataFrame | None):
    """(UTC times as int64 ns, trace ids, keep mask) per contents row."""
    n = len(contents)
    if spans is not None:
        # light checks only: a full schema validation of a large spans frame
        # costs more than the checks themselves
        _need(spans, "spans", ("span_id", "trace_id", "start_time"))
        if not isinstance(spans["start_time"].dtype, pd.DatetimeTZDtype):
            raise ValueError(
                "run_checks: spans column 'start_time' must be tz-aware UTC "
                f"datetimes, got {spans['start_time'].dtype}; fix with "
                "spans['start_time'] = spans['start_time'].dt.tz_localize('UTC') "
                "if naive UTC times, or pd.to_datetime(..., utc=True) for text"
            )
        index = pd.Index(spans["span_id"].astype(object).to_numpy())
        unique = ~index.duplicated()
        position = index[unique].get_indexer(
            contents["span_id"].astype(object).to_numpy()
        )
        keep = position >= 0
        if not keep.all():
            missing = contents["span_id"][~keep]
            warnings.warn(
                f"run_checks: {int((~keep).sum())} of {n} contents rows have a "
                f"span_id not found in spans (first: {missing.head(3).tolist()}); "
                "they are skipped. Pass the spans frame the contents came from.",
                LlmdriftWarning,
                stacklevel=3,
            )
        if not keep.any():
            # no contents row has its span here: nothing to score (warned above)
            return np.zeros(n, dtype=np.int64), np.full(n, None, dtype=object), keep
        take = np.where(keep, position, 0)
        time = _utc_ns(spans["start_time"][unique])[take]
        trace = spans["trace_id"][unique].astype(object).to_numpy()[take]
        return time, trace, keep
    if "time" in contents.columns:
        time = contents["time"]
        if not isinstance(time.dtype, pd.DatetimeTZDtype):
            raise ValueError(
                "run_checks: contents column 'time' must be tz-aware UTC "
                f"datetimes, got {time.dtype}; fix with "
                "contents['time'] = pd.to_datetime(contents['time'], utc=True) "
                "(if the values are UTC)"
            )
        if "trace_id" in contents.columns:
            trace = contents["trace_id"].astype(object).to_numpy()
        else:
            trace = np.full(n, None, dtype=object)
        keep = time.notna().to_numpy()
        if not keep.all():
            warnings.warn(
                f"run_checks: {int((~keep).sum())} contents rows have no time; "
                "they are skipped.",
                LlmdriftWarning,
                stacklevel=3,
            )
        return _utc_ns(time), trace, keep
    raise ValueError(
        "run_checks needs the time of each request: pass spans=... (joined on "
        "span_id for start_time and trace_id) or add a UTC 'time' column to "
        "contents"
    )


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _tile_strings(values, k: int) -> pd.arrays.ArrowStringArray:
    """``values`` repeated k times end to end, as a string array (no copy)."""
    arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    return pd.arrays.ArrowStringArray(pa.chunked_array([arr] * k, pa.large_string()))


def _blocks(items: list[str], n: int) -> pd.arrays.ArrowStringArray:
    """items[0] n times, then items[1] n times, ... as a string array."""
    chunks = [pa.repeat(pa.scalar(x, pa.large_string()), n) for x in items]
    return pd.arrays.ArrowStringArray(pa.chunked_array(chunks, pa.large_string()))


def run_checks(
    contents: pd.DataFrame,
    checks: Iterable[Check] | Check | None = None,
    *,
    spans: pd.DataFrame | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Run heuristic checks over every answer and return scores rows.

    Parameters
    ----------
    contents : pandas.DataFrame
        Contents frame: ``span_id``, ``output_text`` (missing allowed), and a
        UTC ``time`` column (plus optional ``trace_id``) when ``spans`` is not
        given. Not modified.
    checks : list of Check, optional
        The checks to run (built-ins such as ``valid_json()`` or your own made
        with :func:`check`); default :func:`default_checks`. Names must be
        unique.
    spans : pandas.DataFrame, optional
        Spans frame; ``start_time`` and ``trace_id`` are joined on
        ``span_id``. Contents rows whose span is absent are skipped with a
        :class:`~llmdrift.schema.LlmdriftWarning` giving the count.
    progress : bool, default=False
        Show a progress bar over the checks.

    Returns
    -------
    pandas.DataFrame
        Scores frame, one row per (check, contents row), grouped by check in
        the order given, then in contents order: ``span_id``, ``trace_id``,
        ``time`` (request start, UTC), ``dimension`` (the check's dimension),
        ``value`` (float64; NaN where the answer is missing), ``scorer`` (check
        name), ``kind`` ("heuristic"), ``scorer_version``,
        ``inclusion_prob`` (1.0: checks see all traffic) and ``error``
        ("missing output_text" where the value is NaN for that reason, else
        <NA>).

    Raises
    ------
    SchemaError
        If ``contents`` misses a column, has a missing or repeated
        ``span_id``, or an ``output_text`` that is not text (e.g. bytes that
        are not UTF-8); the message names the column, the row and the fix.
    ValueError
        If no time source is available, a time column is not tz-aware UTC,
        or two checks share a name.
    RuntimeError
        If a check itself fails; the message names the check.

    Examples
    --------
    >>> import pandas as pd
    >>> contents = pd.DataFrame({
    ...     "span_id": ["a", "b"],
    ...     "output_text": ['{"ok": true}', None],
    ...     "time": pd.to_datetime(["2024-05-01", "2024-05-01"], utc=True),
    ... })
    >>> out = run_checks(contents, [valid_json()])
    >>> out["value"].tolist(), out["error"].tolist()
    ([1.0, nan], [<NA>, 'missing output_text'])
    """
    validate(contents, "contents")
    no_id = contents["span_id"].isna().to_numpy()
    if no_id.any():
        raise SchemaError(
            f"run_checks: contents column 'span_id' has {int(no_id.sum())} missing "
            f"value(s) (first at row {contents.index[no_id.argmax()]!r}); a score "
            "must name its span. Drop them first, e.g. "
            "contents.dropna(subset=['span_id'])."
        )
    duplicated = contents["span_id"].duplicated()
    if duplicated.any():
        first = contents.loc[duplicated, "span_id"].iloc[0]
        raise SchemaError(
            f"run_checks: contents column 'span_id' must be unique (one answer per "
            f"span), but {first!r} appears more than once "
            f"({int(duplicated.sum())} repeats); keep one row per span, e.g. "
            "contents.drop_duplicates('span_id')."
        )
    checklist = _normalise_checks(checks)
    time, trace, keep = _times(contents, spans)

    span_id = contents["span_id"].astype("string")
    try:
        texts = _as_text(contents["output_text"])
    except UnicodeEncodeError:
        raw = contents["output_text"]
        row = next(i for i, v in raw.items() if isinstance(v, str) and not _encodes(v))
        raise SchemaError(
            f"run_checks: contents column 'output_text' row {row!r} holds a lone "
            f"surrogate ({raw[row]!r:.40}), which is not valid Unicode text (often "
            "from JSON with a broken \\ud83d escape). Repair it first, e.g. "
            "contents['output_text'].str.encode('utf-8', 'replace')"
            ".str.decode('utf-8')."
        ) from None
    except UnicodeDecodeError:
        raw = contents["output_text"]
        row = next(
            i
            for i, v in raw.items()
            if isinstance(v, bytes | bytearray) and not _is_utf8(v)
        )
        raise SchemaError(
            f"run_checks: contents column 'output_text' must hold text, but row "
            f"{row!r} holds bytes that are not UTF-8 ({raw[row]!r:.40}). Decode "
            "the column first, e.g. contents['output_text'].str.decode('utf-8', "
            "errors='replace')."
        ) from None
    if not keep.all():
        span_id, texts = span_id[keep], texts[keep]
        time, trace = time[keep], trace[keep]
    span_id = span_id.reset_index(drop=True)
    texts = texts.reset_index(drop=True)
    missing = texts.isna().to_numpy()
    n = len(texts)

    iterator = checklist
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(checklist, desc="checks", unit="check")

    values = []
    for item in iterator:
        try:
            values.append(item(texts).to_numpy())
        except Exception as exc:
            raise RuntimeError(
                f"check {item.name!r} (version {item.version}) failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    k = len(checklist)
    error = np.where(missing, "missing output_text", None).astype(object)
    return pd.DataFrame(
        {
            "span_id": _tile_strings(span_id.array, k),
            "trace_id": _tile_strings(trace, k),
            "time": pd.DatetimeIndex(np.tile(time, k).view("datetime64[ns]"))
            .tz_localize("UTC")
            .array,
            "dimension": _blocks([c.score_dimension for c in checklist], n),
            "value": np.concatenate(values) if values else np.array([], float),
            "scorer": _blocks([c.name for c in checklist], n),
            "kind": _blocks(["heuristic"] * k, n),
            "scorer_version": _blocks([c.version for c in checklist], n),
            "inclusion_prob": np.ones(k * n),
            "error": _tile_strings(error, k),
        }
    )
