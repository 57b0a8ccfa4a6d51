"""From a scores frame to paired judge/reference arrays (shared by the calibration
functions): input checks, scale resolution, consensus of several annotators."""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from llmdrift._args import check_int, check_number, check_probability, checked
from llmdrift.schema import LlmdriftWarning

__all__ = [
    "Scale",
    "Pairs",
    "PairOptions",
    "check_scores",
    "resolve_scale",
    "select_dimensions",
    "iter_pairs",
    "as_list",
    "row_rng",
    "check_count",
    "check_ci",
    "check_seed",
    "check_positive",
]

_NEEDED = ("span_id", "dimension", "value", "scorer", "kind")
CONSENSUS = ("auto", "majority", "median", "mean")
AGAINST = ("consensus", "each")


def as_list(value, name: str) -> list | None:
    """None, a single name, or a list of names -> None or list."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        return [value]
    out = list(value)
    if not out:
        raise ValueError(f"{name} must name at least one value, got an empty list")
    return out


def check_count(where: str, name: str, value, minimum: int, why: str = "") -> int:
    """``value`` as an int >= ``minimum``, else ValueError naming ``name``."""
    try:
        return check_int(name, value, minimum)
    except (TypeError, ValueError) as err:  # a wrong kind is a bad value too
        hint = f" ({why})" if why else ""
        raise ValueError(f"{where}: {str(err).rstrip('.')}{hint}.") from None


def check_ci(where: str, ci) -> float:
    """An interval coverage in (0, 1), else ValueError naming ``ci``."""
    return checked(where, check_probability, "ci", ci)


def check_seed(where: str, seed) -> int:
    """A seed for numpy: an int >= 0, else ValueError naming ``seed``."""
    return check_count(where, "seed", seed, 0)


def check_positive(where: str, name: str, value) -> float:
    """A finite number > 0, else ValueError naming ``name``."""
    return checked(where, check_number, name, value, above=0)


def row_rng(seed: int, *key) -> np.random.Generator:
    """A generator for one result row: depends on the seed and the row's key
    only, so a row's interval does not change when other rows are added."""
    text = "\x1f".join(str(k) for k in key)
    return np.random.default_rng([int(seed), zlib.crc32(text.encode())])


def check_scores(
    scores, *, where: str, by: Sequence[str] = (), scale=None
) -> pd.DataFrame:
    """Check the columns the calibration functions need; return the frame.

    Judge and human values that are numbers stored as text (``"0.5"``,
    ``"1"``) are read as numbers, with a :class:`LlmdriftWarning`; the
    frame returned is then a copy. ``scale`` (as the functions take it)
    keeps the values of a dimension whose scale is text labels as they are.
    """
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(
            f"{where}: expected a scores DataFrame, got {type(scores).__name__}"
        )
    missing = [c for c in (*_NEEDED, *by) if c not in scores.columns]
    if missing:
        raise ValueError(
            f"{where}: scores frame lacks column(s) {missing}; it needs long rows "
            "span_id, dimension, value, scorer, kind (kind 'judge' or 'human'), "
            f"present: {list(scores.columns)[:12]}"
        )
    kinds = set(scores["kind"].dropna().astype(str).unique())
    bad = kinds - {"judge", "human", "heuristic"}
    if bad:
        raise ValueError(
            f"{where}: column 'kind' has values {sorted(bad)}; expected 'judge', "
            "'human' (or 'heuristic', which is ignored)"
        )
    scores = _numbers_from_text(scores, where=where, scale=scale)
    rated = scores[scores["kind"].isin(["judge", "human"])]
    numbers = pd.to_numeric(rated["value"], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    if np.isinf(numbers).any():
        first = rated["span_id"].iloc[int(np.isinf(numbers).argmax())]
        raise ValueError(
            f"{where}: column 'value' holds {int(np.isinf(numbers).sum())} "
            f"infinite rating(s) (first at span_id {first!r}); a missing rating "
            "is NaN: replace them, e.g. .replace([np.inf, -np.inf], np.nan)"
        )
    if len(rated) and rated["value"].isna().all():
        raise ValueError(
            f"{where}: every judge and human value is missing (NaN: the scorers "
            "failed); there is nothing to compare"
        )
    return scores


def _text_scale(scale, dimension) -> bool:
    """True when the user's ``scale`` for ``dimension`` lists text labels."""
    if isinstance(scale, Mapping):
        scale = scale.get(dimension)
    if scale is None or isinstance(scale, str):
        return False
    return any(isinstance(c, str) for c in scale)


def _numbers_from_text(scores: pd.DataFrame, *, where: str, scale) -> pd.DataFrame:
    """Judge and human values that are numbers written as text, as numbers.

    A dimension whose text values all read as numbers is converted (with a
    warning naming the column and dimensions); one that mixes such values
    with other text is refused, since whether ``"1"`` and ``1`` (or
    ``"n/a"``) are one label cannot be guessed; text that reads as no
    number (``"pass"``, ``"fail"``) stays labels.
    """
    values = scores["value"]
    if pd.api.types.is_numeric_dtype(values.dtype):
        return scores
    raw = values.to_numpy(dtype=object)
    rated = scores["kind"].isin(["judge", "human"]).to_numpy(dtype=bool)
    text = rated & np.array([isinstance(v, str) for v in raw], dtype=bool)
    if not text.any():
        return scores
    dims = scores["dimension"].to_numpy(dtype=object)
    parsed = pd.to_numeric(
        pd.Series(raw[text], dtype=object).str.strip(), errors="coerce"
    ).to_numpy(dtype="float64", na_value=np.nan)
    numbers = np.full(len(raw), np.nan)
    numbers[text] = parsed
    reads = text & ~np.isnan(numbers)
    convert = np.zeros(len(raw), dtype=bool)
    converted_dims = []
    for dim in pd.unique(dims[text]):
        here = text & (dims == dim)
        if _text_scale(scale, dim) or not reads[here].any():
            continue  # text labels: left to the scale
        if not reads[here].all():
            good = sorted({str(v) for v in raw[here & reads]})[:3]
            bad = sorted({str(v) for v in raw[here & ~reads]})[:3]
            raise ValueError(
                f"{where}: column 'value' of dimension {dim!r} mixes numbers "
                f"stored as text ({good}) with text that is no number ({bad}); "
                "give numbers (scores['value'] = pd.to_numeric(scores['value'], "
                "errors='coerce') makes the rest NaN, i.e. missing) or text "
                "labels with their order in scale=[lowest, ..., highest]"
            )
        convert |= here
        converted_dims.append(dim)
    if not convert.any():
        return scores
    fixed = raw.copy()
    fixed[convert] = numbers[convert]
    examples = sorted({repr(v) for v in raw[convert]})[:3]
    warnings.warn(
        f"{where}: column 'value' holds {int(convert.sum())} judge/human "
        f"value(s) that are numbers stored as text (e.g. {', '.join(examples)}) "
        f"for dimension(s) {sorted(map(str, converted_dims))}; they are read as "
        "numbers. Convert the column to silence this: scores['value'] = "
        "pd.to_numeric(scores['value']).",
        LlmdriftWarning,
        stacklevel=4,
    )
    out = scores.copy()
    column = pd.Series(fixed, index=scores.index, dtype=object)
    plain = all(_missing(v) or _is_number(v) for v in fixed)
    out["value"] = column.astype("float64") if plain else column
    return out


@dataclass(frozen=True)
class Scale:
    """How the ratings of one dimension are read.

    ``categories`` is None for continuous ratings. ``values`` holds the
    numeric value of each category (positions when the labels are text).
    ``ordered`` is False for text labels without a given order.
    """

    categories: tuple | None
    values: np.ndarray | None
    ordered: bool
    note: str = ""

    @property
    def categorical(self) -> bool:
        return self.categories is not None

    def codes(self, values) -> np.ndarray:
        """Category positions of ``values`` (NaN for missing)."""
        lookup = {_key(c): float(i) for i, c in enumerate(self.categories)}
        series = pd.Series(np.asarray(values, dtype=object), dtype=object)
        return series.map(lookup).to_numpy(dtype=float, na_value=np.nan)


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _key(v):
    # 3 and 3.0 are one category; numpy scalars become Python ones
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _is_number(v) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool
    )


def resolve_scale(
    scale, dimension: str, observed: Sequence, *, max_categories: int, where: str
) -> Scale:
    """The :class:`Scale` of a dimension from the user's ``scale`` argument."""
    if isinstance(scale, Mapping):
        scale = scale.get(dimension)
    present = [v for v in observed if not _missing(v)]
    if scale is not None:
        cats = tuple(_key(c) for c in scale)
        if len(set(cats)) != len(cats):
            raise ValueError(
                f"{where}: scale for {dimension!r} repeats a label: {cats}"
            )
        known = set(cats)
        off = sorted({str(v) for v in present if _key(v) not in known})
        if off:
            raise ValueError(
                f"{where}: dimension {dimension!r} has values {off[:5]} that are not "
                f"on the given scale {list(cats)}; add them to scale= or fix the "
                "values"
            )
        if all(_is_number(c) for c in cats):
            values = np.array(cats, dtype=float)
        else:
            values = np.arange(len(cats), dtype=float)
        return Scale(cats, values, True)
    uniq = {_key(v) for v in present}
    if all(_is_number(v) for v in uniq):
        if len(uniq) <= max_categories:
            cats = tuple(sorted(uniq))
            return Scale(cats, np.array(cats, dtype=float), True)
        return Scale(
            None,
            None,
            True,
            f"continuous ratings ({len(uniq)} distinct values, more than "
            f"max_categories={max_categories}); give scale=[...] to treat them "
            "as categories",
        )
    cats = tuple(sorted(uniq, key=str))
    return Scale(
        cats,
        np.arange(len(cats), dtype=float),
        False,
        "labels are not numbers and no scale order was given; give "
        "scale=[lowest, ..., highest] for order-based statistics",
    )


def select_dimensions(scores: pd.DataFrame, dimension, *, kinds, where) -> list:
    """The dimensions to report: those asked for, or all with every kind."""
    asked = as_list(dimension, "dimension")
    present = scores["dimension"].dropna().unique().tolist()
    if asked is not None:
        unknown = [d for d in asked if d not in present]
        if unknown:
            raise ValueError(
                f"{where}: dimension(s) {unknown} not in the scores; present: "
                f"{sorted(map(str, present))}"
            )
        return asked
    keep = []
    for dim in sorted(present, key=str):
        here = set(scores.loc[scores["dimension"] == dim, "kind"].astype(str))
        if set(kinds) <= here:
            keep.append(dim)
    if not keep:
        raise ValueError(
            f"{where}: no dimension has both {' and '.join(kinds)} rows; "
            "check the 'kind' column (judge scores kind='judge', people "
            "kind='human')"
        )
    return keep


def _no_duplicates(frame: pd.DataFrame, keys: list[str], what: str, where: str):
    dup = frame.duplicated(keys, keep=False)
    if dup.any():
        first = frame.loc[dup, keys].drop_duplicates().head(3).to_dict("records")
        raise ValueError(
            f"{where}: {int(dup.sum())} {what} rows repeat the same {keys} (first: "
            f"{first}); keep one row each, or split them with by=[column] (e.g. "
            "by=['order'] for the two presentation orders of a pairwise judge)"
        )


@dataclass
class Pairs:
    """Paired judge and reference ratings of one (dimension, by, judge, human)."""

    dimension: object
    by: dict
    judge: str
    human: str
    span_id: np.ndarray
    judge_raw: np.ndarray
    human_raw: np.ndarray
    scale: Scale
    judge_code: np.ndarray | None = None
    human_code: np.ndarray | None = None
    judge_value: np.ndarray | None = None
    human_value: np.ndarray | None = None
    group: np.ndarray | None = None
    n_annotators: np.ndarray | None = None
    notes: list = field(default_factory=list)

    @property
    def key(self) -> tuple:
        return (self.dimension, *self.by.values(), self.judge, self.human)


def _consensus(codes: np.ndarray, nums: np.ndarray, scale: Scale, how: str):
    """Reference per item from an items x annotators matrix.

    Returns (codes or None, numeric values, n_ties_dropped)."""
    if how == "auto":
        how = "majority" if scale.categorical else "mean"
    if how == "mean":
        if scale.categorical and not scale.ordered:
            raise ValueError(
                "consensus='mean' needs numbers or ordered labels; give scale=[...] "
                "or use consensus='majority'"
            )
        with np.errstate(all="ignore"):
            return None, _nanmean(nums), 0
    if not scale.categorical:
        if how == "median":
            return None, _nanmedian(nums), 0
        raise ValueError(
            "consensus='majority' needs categories, but the ratings are continuous; "
            "use consensus='mean' or 'median', or give scale=[...]"
        )
    k = len(scale.categories)
    counts = np.zeros((codes.shape[0], k))
    for col in range(codes.shape[1]):
        c = codes[:, col]
        ok = ~np.isnan(c)
        counts[np.flatnonzero(ok), c[ok].astype(int)] += 1
    # lower median of the codes on each row (NaN sorts last)
    ordered = np.sort(codes, axis=1)
    m = (~np.isnan(codes)).sum(axis=1)
    mid = np.where(m > 0, (m - 1) // 2, 0)
    median = ordered[np.arange(len(m)), mid]
    median[m == 0] = np.nan
    if how == "median":
        if not scale.ordered:
            raise ValueError(
                "consensus='median' needs ordered labels; give scale=[...]"
            )
        out = median
        ties = 0
    else:
        top = counts.max(axis=1)
        winner = counts.argmax(axis=1).astype(float)
        tied = (counts == top[:, None]).sum(axis=1) > 1
        tied &= m > 0
        if scale.ordered:
            out = np.where(tied, median, winner)
            ties = 0
        else:
            out = np.where(tied, np.nan, winner)
            ties = int(tied.sum())
        out[m == 0] = np.nan
    values = np.where(
        np.isnan(out), np.nan, scale.values[np.nan_to_num(out).astype(int)]
    )
    return out, values, ties


def _nanmean(a):
    ok = ~np.isnan(a)
    s = np.where(ok, a, 0.0).sum(axis=1)
    c = ok.sum(axis=1)
    with np.errstate(all="ignore"):
        return np.where(c > 0, s / c, np.nan)


def _nanmedian(a):
    out = np.full(a.shape[0], np.nan)
    ok = (~np.isnan(a)).any(axis=1)
    if ok.any():
        out[ok] = np.nanmedian(a[ok], axis=1)
    return out


def _numeric(raw: np.ndarray, scale: Scale) -> np.ndarray:
    if scale.categorical:
        codes = scale.codes(raw)
        return np.where(
            np.isnan(codes), np.nan, scale.values[np.nan_to_num(codes).astype(int)]
        )
    return pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(float)


@dataclass(frozen=True)
class PairOptions:
    """How scores rows become judge/reference pairs.

    The options the calibration functions share (see
    :func:`llmdrift.calibration.agreement` for each), held once so that
    every function pairs rows the same way. :meth:`pairs` checks them
    against the scores and yields the :class:`Pairs`.
    """

    judge: object = None
    human: object = None
    scale: object = None
    against: str = "consensus"
    consensus: str = "auto"
    by: Sequence[str] = ()
    group: str | None = None
    max_categories: int = 20

    @classmethod
    def of(cls, arguments: Mapping) -> PairOptions:
        """The options among a function's arguments (``locals()`` at its top).

        The calibration functions name these arguments alike; the ones a
        function does not take keep their defaults, other names are ignored.
        """
        names = {f.name for f in fields(cls)}
        chosen = {k: v for k, v in arguments.items() if k in names}
        if "by" in chosen:
            chosen["by"] = tuple(chosen["by"])
        return cls(**chosen)

    def pairs(self, scores: pd.DataFrame, dimension=None, *, where: str):
        """Yield one :class:`Pairs` per dimension x by-values x judge x reference."""
        return iter_pairs(scores, dimension, self, where=where)


def iter_pairs(
    scores: pd.DataFrame,
    dimension=None,
    options: PairOptions = PairOptions(),
    *,
    where: str,
):
    """Yield one :class:`Pairs` per dimension x by-values x judge x reference."""
    by = list(options.by)
    judge, human, scale = options.judge, options.human, options.scale
    against, consensus, group = options.against, options.consensus, options.group
    max_categories = options.max_categories
    scores = check_scores(scores, where=where, by=by, scale=scale)
    check_count(where, "max_categories", max_categories, 0)
    if against not in AGAINST:
        raise ValueError(f"{where}: against must be one of {AGAINST}, got {against!r}")
    if consensus not in CONSENSUS:
        raise ValueError(
            f"{where}: consensus must be one of {CONSENSUS}, got {consensus!r}"
        )
    if group is not None and group not in scores.columns:
        raise ValueError(
            f"{where}: group column {group!r} is not in the scores frame; give the "
            "name of a column that says which source item each row belongs to"
        )
    judges = as_list(judge, "judge")
    humans = as_list(human, "human")
    frame = scores[scores["kind"].isin(["judge", "human"])]
    for dim in select_dimensions(
        frame, dimension, kinds=("judge", "human"), where=where
    ):
        rows = frame[frame["dimension"] == dim]
        jrows = rows[rows["kind"] == "judge"]
        hrows = rows[rows["kind"] == "human"]
        if judges is not None:
            unknown = sorted(set(map(str, judges)) - set(jrows["scorer"].astype(str)))
            if unknown:
                raise ValueError(
                    f"{where}: judge(s) {unknown} have no rows for dimension {dim!r}; "
                    f"judges there: {sorted(jrows['scorer'].astype(str).unique())}"
                )
            jrows = jrows[jrows["scorer"].astype(str).isin(map(str, judges))]
        if humans is not None:
            unknown = sorted(set(map(str, humans)) - set(hrows["scorer"].astype(str)))
            if unknown:
                raise ValueError(
                    f"{where}: annotator(s) {unknown} have no rows for dimension "
                    f"{dim!r}; annotators there: "
                    f"{sorted(hrows['scorer'].astype(str).unique())}"
                )
            hrows = hrows[hrows["scorer"].astype(str).isin(map(str, humans))]
        if jrows.empty or hrows.empty:
            raise ValueError(
                f"{where}: dimension {dim!r} needs both judge and human rows; it has "
                f"{len(jrows)} judge and {len(hrows)} human rows"
            )
        _no_duplicates(jrows, ["span_id", "scorer", *by], "judge", where)
        _no_duplicates(hrows, ["span_id", "scorer"], "human", where)
        observed = np.concatenate(
            [jrows["value"].to_numpy(object), hrows["value"].to_numpy(object)]
        )
        sc = resolve_scale(
            scale, dim, observed, max_categories=max_categories, where=where
        )

        # reference: items x annotators
        wide = hrows.pivot(index="span_id", columns="scorer", values="value")
        wide = wide.reindex(sorted(wide.columns, key=str), axis=1)
        spans = wide.index.to_numpy(object)
        raw = wide.to_numpy(object)
        nums = np.column_stack([_numeric(raw[:, i], sc) for i in range(raw.shape[1])])
        codes = (
            np.column_stack([sc.codes(raw[:, i]) for i in range(raw.shape[1])])
            if sc.categorical
            else None
        )
        n_ann = (~np.isnan(nums)).sum(axis=1)
        references = []
        if against == "consensus":
            ref_code, ref_value, ties = _consensus(codes, nums, sc, consensus)
            label = "consensus" if raw.shape[1] > 1 else str(wide.columns[0])
            references.append((label, ref_code, ref_value, ties))
        else:
            for i, name in enumerate(wide.columns):
                references.append(
                    (str(name), None if codes is None else codes[:, i], nums[:, i], 0)
                )
        ref_index = pd.Index(spans)
        groups = None
        if group is not None:
            first = rows.drop_duplicates("span_id").set_index("span_id")[group]
            groups = first

        split = (
            [((), jrows)]
            if not by
            else list(jrows.groupby(by, sort=True, dropna=False))
        )
        for by_key, part in split:
            by_vals = dict(
                zip(by, by_key if isinstance(by_key, tuple) else (by_key,), strict=True)
            )
            for jname, jpart in part.groupby("scorer", sort=True):
                jser = jpart.set_index("span_id")["value"]
                for label, ref_code, ref_value, ties in references:
                    pos = ref_index.get_indexer(jser.index)
                    has = pos >= 0
                    jraw = jser.to_numpy(object)[has]
                    jnum = _numeric(jraw, sc)
                    pos = pos[has]
                    hnum = ref_value[pos]
                    ok = ~np.isnan(jnum) & ~np.isnan(hnum)
                    notes = []
                    n_judge_missing = int((np.isnan(jnum) & ~np.isnan(hnum)).sum())
                    if n_judge_missing:
                        notes.append(
                            f"{n_judge_missing} labelled item(s) without a judge score "
                            "(NaN value) left out"
                        )
                    if ties:
                        notes.append(
                            f"{ties} item(s) without a majority label left out"
                        )
                    if not sc.ordered or not sc.categorical:
                        notes.append(sc.note)
                    span_ids = jser.index.to_numpy(object)[has][ok]
                    psc = sc
                    hcode = None if ref_code is None else ref_code[pos][ok]
                    if sc.categorical and hcode is None:
                        # a mean of annotators is a category only if it lands on one
                        if np.isin(hnum[ok], sc.values).all():
                            match = hnum[ok][:, None] == sc.values[None, :]
                            hcode = match.argmax(axis=1).astype(float)
                        else:
                            psc = Scale(
                                None,
                                None,
                                True,
                                "the reference is a mean of annotators, not a "
                                "category; category statistics need "
                                "consensus='majority' or 'median'",
                            )
                            notes.append(psc.note)
                    if psc.categorical:
                        cats = np.array(sc.categories, dtype=object)
                        hraw_col = cats[hcode.astype(int)]
                    else:
                        hraw_col = hnum[ok]
                    pairs = Pairs(
                        dimension=dim,
                        by=by_vals,
                        judge=str(jname),
                        human=label,
                        span_id=span_ids,
                        judge_raw=jraw[ok],
                        human_raw=hraw_col,
                        scale=psc,
                        judge_value=jnum[ok],
                        human_value=hnum[ok],
                        n_annotators=n_ann[pos][ok],
                        notes=notes,
                    )
                    if psc.categorical:
                        pairs.judge_code = sc.codes(jraw[ok]).astype(int)
                        pairs.human_code = hcode.astype(int)
                    if groups is not None:
                        pairs.group = groups.reindex(span_ids).to_numpy(object)
                    yield pairs
