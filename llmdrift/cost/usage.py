"""Token accounting: raw provider usage -> canonical, non-overlapping buckets.

Providers and trace formats disagree on what "input tokens" means:

========== ======================================= =====================================
convention input figure                            where cache and reasoning sit
========== ======================================= =====================================
otel       ``input_tokens`` includes cache reads   reasoning inside ``output_tokens``
           and cache writes (OTel GenAI and
           OpenInference ``llm.token_count.*``)
anthropic  ``input_tokens`` EXCLUDES               ``cache_read_input_tokens`` and
           ``cache_read_input_tokens`` and         ``cache_creation_input_tokens`` are
           ``cache_creation_input_tokens``         beside it, each with its own price
openai     ``prompt_tokens`` includes              ``completion_tokens`` includes
           ``prompt_tokens_details.cached_tokens`` ``completion_tokens_details.
                                                   reasoning_tokens``
google     ``prompt_token_count`` includes         ``thoughts_token_count`` is BESIDE
           ``cached_content_token_count``          ``candidates_token_count``
========== ======================================= =====================================

:func:`normalize_usage` reads each row in its own convention and writes the
canonical columns (OTel meaning) plus the non-overlapping bucket
``uncached_input_tokens``, so that

``input_tokens = uncached_input_tokens + cache_read_tokens + cache_write_tokens``

and ``output_tokens`` includes ``reasoning_tokens``. A row whose figures
contradict each other is flagged ``usage_inconsistent`` and its uncached count
is ``<NA>``: never negative and never silently clamped to 0.

:func:`usage_spans` implements, once, the hierarchy rule every rollup uses so
that token totals copied onto agent/tool/chain spans are not summed again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from llmdrift.cost._common import (
    LLM_LEVEL_KINDS,
    TOKEN_COLUMNS,
    first_examples,
    require_columns,
    require_frame,
    strings_from_codes,
    to_float,
    to_int64,
    warn,
)
from llmdrift.schema import SPAN_KINDS

__all__ = ["CONVENTIONS", "normalize_usage", "usage_spans"]

CONVENTIONS = ("otel", "anthropic", "openai", "google")
"""Usage conventions :func:`normalize_usage` reads ("openinference" = "otel")."""

# Per convention and field: raw column names, first non-missing one wins.
_SOURCES: dict[str, dict[str, tuple[str, ...]]] = {
    "otel": {
        "input": (
            "input_tokens",
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
        ),
        "cache_read": (
            "cache_read_tokens",
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
        ),
        "cache_write": (
            "cache_write_tokens",
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
            "llm.token_count.prompt_details.cache_write",
        ),
        "output": (
            "output_tokens",
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
        ),
        "reasoning": (
            "reasoning_tokens",
            "gen_ai.usage.reasoning_tokens",
            "gen_ai.usage.reasoning.output_tokens",
            "llm.token_count.completion_details.reasoning",
        ),
        "total": ("total_tokens", "gen_ai.usage.total_tokens", "llm.token_count.total"),
    },
    "anthropic": {
        "uncached": ("input_tokens",),
        "cache_read": ("cache_read_input_tokens", "cache_read_tokens"),
        "cache_write": ("cache_creation_input_tokens", "cache_write_tokens"),
        "output": ("output_tokens",),
        "reasoning": ("reasoning_tokens",),
    },
    "openai": {
        "input": ("prompt_tokens", "input_tokens"),
        "cache_read": (
            "prompt_tokens_details.cached_tokens",
            "input_tokens_details.cached_tokens",
            "cache_read_tokens",
        ),
        "cache_write": ("cache_write_tokens",),
        "output": ("completion_tokens", "output_tokens"),
        "reasoning": (
            "completion_tokens_details.reasoning_tokens",
            "output_tokens_details.reasoning_tokens",
            "reasoning_tokens",
        ),
        "total": ("total_tokens",),
    },
    "google": {
        "input": ("prompt_token_count", "promptTokenCount"),
        "cache_read": ("cached_content_token_count", "cachedContentTokenCount"),
        "candidates": ("candidates_token_count", "candidatesTokenCount"),
        "thoughts": ("thoughts_token_count", "thoughtsTokenCount"),
    },
}

# Columns whose non-missing value on a row reveals the row's convention.
_MARKERS = {
    "google": (
        "prompt_token_count",
        "candidates_token_count",
        "thoughts_token_count",
        "cached_content_token_count",
        "promptTokenCount",
        "candidatesTokenCount",
    ),
    "openai": (
        "prompt_tokens",
        "completion_tokens",
        "prompt_tokens_details.cached_tokens",
        "input_tokens_details.cached_tokens",
        "completion_tokens_details.reasoning_tokens",
        "output_tokens_details.reasoning_tokens",
    ),
    "anthropic": ("cache_creation_input_tokens", "cache_read_input_tokens"),
}

# Nested usage objects (dict cells) that are flattened to dotted columns.
_NESTED = (
    "usage",
    "prompt_tokens_details",
    "completion_tokens_details",
    "input_tokens_details",
    "output_tokens_details",
)

_IDENTITY = {
    "provider": ("provider", "gen_ai.provider.name", "gen_ai.system", "llm.provider"),
    "request_model": (
        "request_model",
        "gen_ai.request.model",
        "llm.model_name",
        "model",
    ),
    "response_model": ("response_model", "gen_ai.response.model"),
}
_KIND_SOURCES = ("span_kind", "openinference.span.kind", "langsmith.span.kind")
_KIND_MAP = {
    "generation": "llm",
    "chat": "llm",
    "retriever": "retrieval",
    "reranker": "retrieval",
}


def _flatten_nested(df: pd.DataFrame) -> pd.DataFrame:
    """Add dotted columns for dict cells, e.g. prompt_tokens_details.cached_tokens."""
    added = {}
    for name in _NESTED:
        if name not in df.columns or df[name].dtype != object:
            continue
        cells = df[name]
        keys = set()
        for cell in cells:
            if isinstance(cell, dict):
                keys.update(cell)
        for key in sorted(keys):
            col = key if name == "usage" else f"{name}.{key}"
            values = [c.get(key) if isinstance(c, dict) else None for c in cells]
            if any(isinstance(v, dict) for v in values):
                for sub in {k for v in values if isinstance(v, dict) for k in v}:
                    added[f"{col}.{sub}"] = [
                        v.get(sub) if isinstance(v, dict) else None for v in values
                    ]
            else:
                added[col] = values
    if not added:
        return df
    extra = pd.DataFrame(
        {k: v for k, v in added.items() if k not in df.columns}, index=df.index
    )
    return pd.concat([df, extra], axis=1) if len(extra.columns) else df


class _Numbers:
    """Numeric views of raw columns, parsed once, with bad values reported."""

    def __init__(self, df: pd.DataFrame):
        self.df = df
        self.cache: dict[str, np.ndarray] = {}
        self.bad: dict[str, list] = {}

    def get(self, name: str) -> np.ndarray | None:
        if name not in self.df.columns:
            return None
        if name not in self.cache:
            raw = self.df[name]
            if pd.api.types.is_numeric_dtype(
                raw.dtype
            ) and not pd.api.types.is_bool_dtype(raw.dtype):
                values = raw.to_numpy(dtype=float, na_value=np.nan)
            else:
                values = to_float(raw)
            # a count that is infinite or outside int64 is unreadable: kept as
            # a float it would be priced, cast to int64 it would wrap around
            with np.errstate(invalid="ignore"):
                outside = ~np.isnan(values) & ~(np.abs(values) < 2.0**63)
            values = np.where(outside, np.nan, values)
            bad = raw.notna().to_numpy() & np.isnan(values)
            if bad.any():
                self.bad[name] = list(raw[bad].head(3))
            self.cache[name] = values
        return self.cache[name]

    def coalesce(self, names: tuple[str, ...], n: int) -> np.ndarray:
        present = [name for name in names if name in self.df.columns]
        if len(present) == 1:
            return self.get(present[0])
        out = np.full(n, np.nan)
        for name in names:
            values = self.get(name)
            if values is None:
                continue
            gap = np.isnan(out)
            if not gap.any():
                break
            out[gap] = values[gap]
        return out


def _resolve_conventions(df: pd.DataFrame, convention, numbers: _Numbers) -> np.ndarray:
    n = len(df)
    if convention is not None:
        conv = np.full(n, _check_convention(convention), dtype=object)
        return conv
    conv = np.full(n, None, dtype=object)
    if "usage_convention" in df.columns:
        given = df["usage_convention"].astype("string").str.lower()
        given = given.replace("openinference", "otel")
        bad = given.notna() & ~given.isin(CONVENTIONS)
        if bad.any():
            raise ValueError(
                f"column 'usage_convention' has values {sorted(set(given[bad]))}; "
                f"expected one of {CONVENTIONS} (or <NA> to infer from the columns)"
            )
        conv = given.to_numpy(dtype=object, na_value=None)
    for name, markers in _MARKERS.items():
        seen = np.zeros(n, dtype=bool)
        for col in markers:
            values = numbers.get(col)
            if values is not None:
                seen |= ~np.isnan(values)
        pick = seen & pd.isna(conv)
        conv[pick] = name
    conv[pd.isna(conv)] = "otel"
    return conv


def _check_convention(convention: str) -> str:
    value = str(convention).lower()
    value = "otel" if value == "openinference" else value
    if value not in CONVENTIONS:
        raise ValueError(
            f"convention={convention!r} is not known; expected one of {CONVENTIONS} "
            "or None to read the 'usage_convention' column / infer it per row"
        )
    return value


def _fill_identity(out: pd.DataFrame) -> None:
    for target, sources in _IDENTITY.items():
        present = [s for s in sources if s in out.columns]
        if not present or present == [target]:
            continue
        values = pd.Series(pd.NA, index=out.index, dtype="string")
        for source in present:
            values = values.fillna(out[source].astype("string"))
        out[target] = values
    present = [s for s in _KIND_SOURCES if s in out.columns]
    if present:
        kind = pd.Series(pd.NA, index=out.index, dtype="string")
        for source in present:
            kind = kind.fillna(out[source].astype("string"))
        kind = kind.str.lower().replace(_KIND_MAP)
        known = kind.isna() | kind.isin(SPAN_KINDS)
        out["span_kind"] = kind.where(known, "other")


def normalize_usage(df: pd.DataFrame, *, convention: str | None = None) -> pd.DataFrame:
    """Read token usage in each row's convention into canonical, disjoint buckets.

    Parameters
    ----------
    df : pandas.DataFrame
        Spans or raw usage rows. Token figures are read from the canonical
        spans columns or from the raw names of each convention: OTel GenAI
        ``gen_ai.usage.input_tokens``, ``gen_ai.usage.cache_read.input_tokens``
        (alias ``gen_ai.usage.cache_read_input_tokens``),
        ``gen_ai.usage.cache_creation.input_tokens`` (alias
        ``..._cache_creation_input_tokens``), ``gen_ai.usage.output_tokens``;
        OpenInference ``llm.token_count.prompt`` / ``.completion`` /
        ``.prompt_details.cache_read`` / ``.prompt_details.cache_write`` /
        ``.completion_details.reasoning``; Anthropic ``input_tokens``,
        ``cache_creation_input_tokens``, ``cache_read_input_tokens``,
        ``output_tokens``; OpenAI ``prompt_tokens``, ``completion_tokens``,
        ``prompt_tokens_details.cached_tokens`` (flattened column or a dict
        column ``prompt_tokens_details``),
        ``completion_tokens_details.reasoning_tokens`` and the Responses API
        names ``input_tokens_details.cached_tokens`` /
        ``output_tokens_details.reasoning_tokens``; Google
        ``prompt_token_count``, ``cached_content_token_count``,
        ``candidates_token_count``, ``thoughts_token_count``. Strings such as
        ``"25"`` are parsed; unparseable values (``"n/a"``) become ``<NA>``
        with a warning. Provider, model and span kind are also filled from
        ``gen_ai.provider.name``/``gen_ai.system``/``llm.provider``,
        ``gen_ai.request.model``/``llm.model_name``/``model``,
        ``gen_ai.response.model`` and ``openinference.span.kind`` when the
        canonical column is missing there.
    convention : {"otel", "anthropic", "openai", "google"}, optional
        How to read every row. By default each row's ``usage_convention``
        column is used, and where that is absent or ``<NA>`` the convention is
        inferred from which raw columns the row fills: Google names ->
        "google", OpenAI names -> "openai", ``cache_creation_input_tokens`` /
        ``cache_read_input_tokens`` -> "anthropic", otherwise "otel". The
        meaning of "input tokens" depends on the source format, not on the
        provider: an OTel span from Anthropic is "otel".

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with these columns set (other columns kept):

        - ``input_tokens`` (Int64): all input tokens, cached and uncached.
        - ``uncached_input_tokens`` (Int64): input neither read from nor
          written to the cache; ``<NA>`` when unknown or inconsistent.
        - ``cache_read_tokens``, ``cache_write_tokens`` (Int64): 0 when the
          row reports its input but no cache figure.
        - ``output_tokens`` (Int64): all output, reasoning included.
        - ``reasoning_tokens`` (Int64): part of ``output_tokens``.
        - ``usage_inconsistent`` (boolean): the figures contradict each
          other (a negative or fractional count, cache parts larger than an
          inclusive input total, reasoning larger than an inclusive output,
          or a reported total different from input + output), or the input
          already flagged the row.
        - ``usage_source_convention`` (string): the convention the row was
          read in.
        - ``usage_convention`` (string): "otel" on every row, because the
          canonical columns now have the OTel meaning; normalising the result
          again gives the same figures.

    Warns
    -----
    LlmdriftWarning
        When token cells could not be parsed as numbers (count and first
        examples), and when rows are inconsistent.

    Notes
    -----
    A row is inconsistent, for example, when a producer put Anthropic's
    exclusive ``input_tokens = 5`` into the inclusive OTel attribute beside
    ``cache_read = 3000``: the uncached count would be -2995. Such a row keeps
    its reported figures, gets ``uncached_input_tokens = <NA>`` and
    ``usage_inconsistent = True``; :func:`price_spans` gives it no cost.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({
    ...     "input_tokens": [7, None], "cache_read_input_tokens": [20000, None],
    ...     "prompt_tokens": [None, 12000], "completion_tokens": [None, 500],
    ...     "prompt_tokens_details.cached_tokens": [None, 10000],
    ...     "output_tokens": [400, None]})
    >>> out = normalize_usage(rows)
    >>> out["input_tokens"].tolist(), out["uncached_input_tokens"].tolist()
    ([20007, 12000], [7, 2000])
    >>> out["usage_source_convention"].tolist()
    ['anthropic', 'openai']
    """
    return _normalize(df, convention)[0]


def _normalize(df: pd.DataFrame, convention) -> tuple[pd.DataFrame, dict]:
    """normalize_usage, also returning the float arrays of the buckets."""
    require_frame(df, "spans or usage rows")
    out = _flatten_nested(df.copy())
    n = len(out)
    numbers = _Numbers(out)
    conv = _resolve_conventions(out, convention, numbers)
    _fill_identity(out)

    total_in = np.full(n, np.nan)
    uncached = np.full(n, np.nan)
    cache_read = np.full(n, np.nan)
    cache_write = np.full(n, np.nan)
    output = np.full(n, np.nan)
    reasoning = np.full(n, np.nan)
    inconsistent = np.zeros(n, dtype=bool)

    for name in CONVENTIONS:
        rows = np.flatnonzero(conv == name)
        if rows.size == 0:
            continue
        src = _SOURCES[name]

        def take(field, src=src, rows=rows):
            if field not in src:
                return np.full(rows.size, np.nan)
            values = numbers.coalesce(src[field], n)
            # results are never written in place, so the full array is shared
            return values if rows.size == n else values[rows]

        cr, cw = take("cache_read"), take("cache_write")
        if name == "anthropic":
            u = take("uncached")
            known = ~np.isnan(u)
            cr = np.where(known & np.isnan(cr), 0.0, cr)
            cw = np.where(known & np.isnan(cw), 0.0, cw)
            i = u + cr + cw
            o, r = take("output"), take("reasoning")
            bad = np.zeros(rows.size, dtype=bool)
        elif name == "google":
            i = take("input")
            known = ~np.isnan(i)
            cr = np.where(known & np.isnan(cr), 0.0, cr)
            cw = np.where(known, 0.0, np.nan)
            u = i - cr
            cand, r = take("candidates"), take("thoughts")
            r = np.where(~np.isnan(cand) & np.isnan(r), 0.0, r)
            o = cand + r
            bad = u < 0
        else:  # otel and openai: input and output are inclusive
            i = take("input")
            known = ~np.isnan(i)
            cr = np.where(known & np.isnan(cr), 0.0, cr)
            cw = np.where(known & np.isnan(cw), 0.0, cw)
            u = i - cr - cw
            o, r = take("output"), take("reasoning")
            bad = u < 0
            total = take("total")
            with np.errstate(invalid="ignore"):
                bad |= ~np.isnan(total) & ~np.isnan(i + o) & (total != i + o)
        r = np.where(~np.isnan(o) & np.isnan(r), 0.0, r)
        with np.errstate(invalid="ignore"):
            bad |= r > o
            for values in (i, u, cr, cw, o, r):
                bad |= (values < 0) | (values != np.floor(values)) & ~np.isnan(values)
        u = np.where(bad, np.nan, u)
        total_in[rows], uncached[rows] = i, u
        cache_read[rows], cache_write[rows] = cr, cw
        output[rows], reasoning[rows] = o, r
        inconsistent[rows] = bad

    if "usage_inconsistent" in out.columns:
        # a flag set upstream (e.g. by the OTLP reader) is kept
        prior = out["usage_inconsistent"].astype("boolean").fillna(False)
        inconsistent |= prior.to_numpy(dtype=bool)
        uncached[inconsistent] = np.nan

    if numbers.bad:
        detail = "; ".join(f"{k}: {first_examples(v)}" for k, v in numbers.bad.items())
        warn(
            "token counts that are not numbers (or are infinite or outside "
            f"int64) were read as <NA> (column: first values) {detail}"
        )
    if inconsistent.any():
        warn(
            f"{int(inconsistent.sum())} of {n} rows have contradictory token "
            "counts (a negative or fractional count, cache reads larger than an "
            "inclusive input total, reasoning above output, or a total that is "
            "not input + output); "
            "they are flagged usage_inconsistent, their uncached input is <NA> "
            "and they get no computed cost"
        )

    # Fractional or negative figures cannot be stored as counts: keep them out.
    def counts(values):
        clean = np.where((values < 0) | (values != np.floor(values)), np.nan, values)
        return to_int64(clean)

    with np.errstate(invalid="ignore"):
        out["input_tokens"] = counts(total_in)
        out["uncached_input_tokens"] = counts(uncached)
        out["cache_read_tokens"] = counts(cache_read)
        out["cache_write_tokens"] = counts(cache_write)
        out["output_tokens"] = counts(output)
        out["reasoning_tokens"] = counts(reasoning)
    out["usage_inconsistent"] = pd.array(inconsistent, dtype="boolean")
    conv_codes = np.zeros(n, dtype=np.int64)
    for k, name in enumerate(CONVENTIONS):
        conv_codes[conv == name] = k
    out["usage_source_convention"] = strings_from_codes(conv_codes, CONVENTIONS)
    out["usage_convention"] = strings_from_codes(np.zeros(n, dtype=np.int64), ["otel"])
    arrays = {
        "input": total_in,
        "uncached": uncached,
        "cache_read": cache_read,
        "cache_write": cache_write,
        "output": output,
        "reasoning": reasoning,
    }
    return out, arrays


def _has_descendant(flag: np.ndarray, parent_pos: np.ndarray) -> np.ndarray:
    """For each span, whether any span below it (at any depth) has ``flag``.

    One pass per level, each span marked once, so the work is linear in the
    spans whatever the depth; ``parent_pos`` must hold no cycle (see
    :func:`cycle_members`), else a span on one is marked by itself.
    """
    out = np.zeros(flag.size, dtype=bool)
    frontier = parent_pos[flag]
    frontier = np.unique(frontier[frontier >= 0])
    while frontier.size:
        new = frontier[~out[frontier]]
        out[new] = True
        nxt = parent_pos[new]
        frontier = np.unique(nxt[nxt >= 0])
    return out


def cycle_members(parent_pos: np.ndarray) -> np.ndarray:
    """Which spans lie on a cycle of parent links (a span its own ancestor).

    ``parent_pos[i]`` is the row of span i's parent, -1 for none. A span that
    is its own parent is a cycle of one. Spans below a cycle (whose parent
    chain runs into one) are not on it. Linear in the spans: the cycles are
    the strongly connected components of the parent graph with more than one
    span, plus the self-parents.
    """
    n = parent_pos.size
    rows = np.flatnonzero(parent_pos >= 0)
    on = np.zeros(n, dtype=bool)
    if not rows.size:
        return on
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    cols = parent_pos[rows]
    graph = csr_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(n, n))
    k, labels = connected_components(graph, directed=True, connection="strong")
    on = np.bincount(labels, minlength=k)[labels] > 1
    on[rows[rows == cols]] = True
    return on


def cycle_warning(n_spans: int, first) -> str:
    """The message of the LlmdriftWarning about spans on a parent cycle."""
    return (
        f"{n_spans} span(s) lie on a cycle of parent links (a span that is its "
        f"own parent or ancestor; first span_id: {first!r}); each is read as a "
        "root span (its parent_span_id is ignored) so that it and the spans "
        "below it are counted. Fix parent_span_id at the source."
    )


def parent_positions(frame: pd.DataFrame) -> np.ndarray:
    """Row of each span's parent (-1: none or not in the frame); cycles cut.

    A span on a cycle of parent links gets -1 (it is read as a root) and a
    LlmdriftWarning names how many and the smallest such span_id.
    """
    n = len(frame)
    if "parent_span_id" not in frame.columns or not n:
        return np.full(n, -1)
    ids = frame["span_id"].astype("string")
    # a span without an id is no one's parent (and several may lack one)
    known = ids.notna().to_numpy()
    rows = np.flatnonzero(known)
    found = pd.Index(ids[known]).get_indexer(frame["parent_span_id"].astype("string"))
    parent_pos = np.full(n, -1)
    parent_pos[found >= 0] = rows[found[found >= 0]]
    on = cycle_members(parent_pos)
    if on.any():
        warn(cycle_warning(int(on.sum()), min(ids[on].tolist())))
        parent_pos = np.where(on, -1, parent_pos)
    return parent_pos


def hierarchy_flags(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(counted, fallback) per span of a normalised frame: the hierarchy rule.

    See :func:`usage_spans` for the rule; ``frame`` holds the normalised
    token columns already.
    """
    is_llm = llm_level(frame)
    bearing = _usage_bearing(frame)
    parent_pos = parent_positions(frame)
    below_llm = _has_descendant(is_llm, parent_pos)
    below_bearing = _has_descendant(bearing, parent_pos)
    wrapper_llm = is_llm & _has_descendant(is_llm & bearing, parent_pos)
    fallback = ~is_llm & bearing & ~below_llm & ~below_bearing
    return (is_llm & ~wrapper_llm) | fallback, fallback


def _usage_bearing(spans: pd.DataFrame) -> np.ndarray:
    bearing = np.zeros(len(spans), dtype=bool)
    for col in (*TOKEN_COLUMNS, "cost_usd", "reported_cost_usd"):
        if col in spans.columns:
            bearing |= spans[col].notna().to_numpy()
    return bearing


def llm_level(spans: pd.DataFrame) -> np.ndarray:
    """Whether each span is a model call (span_kind llm/embedding).

    Without a ``span_kind`` column every row is a model call; a ``<NA>`` kind
    counts as a model call when the row names a model.
    """
    n = len(spans)
    if "span_kind" not in spans.columns:
        return np.ones(n, dtype=bool)
    kind = spans["span_kind"].astype("string").str.lower()
    is_llm = kind.isin(LLM_LEVEL_KINDS).to_numpy(dtype=bool, na_value=False)
    has_model = np.zeros(n, dtype=bool)
    for col in ("request_model", "response_model"):
        if col in spans.columns:
            has_model |= spans[col].notna().to_numpy()
    return is_llm | (kind.isna().to_numpy() & has_model)


def usage_spans(spans: pd.DataFrame) -> pd.DataFrame:
    """The spans whose usage is counted in rollups: each token counted once.

    The hierarchy rule (used by every llmdrift cost rollup):

    1. Every LLM-level span (``span_kind`` "llm" or "embedding") counts,
       unless an LLM-level span below it carries usage: then it is a
       wrapper (a framework's LLM step around the client call, which repeats
       the call's totals) and the calls below it are counted instead.
    2. An agent, chain, tool, retrieval or other span counts only when it
       carries usage (a token count or a cost), nothing under it is
       LLM-level, and nothing under it carries usage either. It is then a
       *fallback* span: the model call below it was not instrumented
       separately, so its copied totals are the only record of that call.
    3. Every other span is a wrapper whose totals repeat its children's and
       is left out.

    Parameters
    ----------
    spans : pandas.DataFrame
        Needs ``span_id``; uses ``parent_span_id`` (absent -> every span is a
        root), ``span_kind`` (absent -> every span is a model call), token
        columns (raw names are normalised with :func:`normalize_usage`) and
        ``cost_usd``.

    Returns
    -------
    pandas.DataFrame
        The counted spans (copy, normalised token columns), with a boolean
        column ``usage_fallback``: True for spans counted by rule 2. Count
        them to flag traces counted through a wrapper.

    Notes
    -----
    A wrapper span whose totals are larger than the sum of its model calls
    (some calls not instrumented, others instrumented) is not detected: only
    the instrumented calls are counted. An LLM-level span whose own usage is
    not a copy of the LLM-level spans below it (it made a call of its own
    *and* has instrumented calls nested under it) is counted only through
    those calls.

    Parent links are followed to any depth (the work is linear in the spans).
    A span on a cycle of parent links (its own parent, or a->b->a) is read as
    a root: its ``parent_span_id`` is ignored, so every span on the cycle is
    judged by the spans below it, and a LlmdriftWarning names how many spans
    and the smallest such span_id. Spans below a cycle keep their links.
    A ``parent_span_id`` naming no span in the frame makes the span a root.

    Examples
    --------
    >>> import pandas as pd
    >>> spans = pd.DataFrame({
    ...     "span_id": ["R", "K", "L", "A2"], "parent_span_id": [None, "R", "K", None],
    ...     "span_kind": ["agent", "tool", "llm", "agent"],
    ...     "input_tokens": [800, 800, 800, 300], "output_tokens": [120, 120, 120, 40]})
    >>> used = usage_spans(spans)
    >>> used["span_id"].tolist(), int(used["input_tokens"].sum())
    (['L', 'A2'], 1100)
    >>> used["usage_fallback"].tolist()
    [False, True]
    """
    require_frame(spans)
    require_columns(spans, ["span_id"], "spans")
    normalised = {"usage_source_convention", "uncached_input_tokens"} <= set(
        spans.columns
    )
    frame = spans if normalised else normalize_usage(spans)
    keep, fallback = hierarchy_flags(frame)
    out = frame.loc[keep].copy()
    out["usage_fallback"] = pd.array(fallback[keep], dtype="boolean")
    return out.reset_index(drop=True)
