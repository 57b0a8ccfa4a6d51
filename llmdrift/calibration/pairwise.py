"""Pairwise (A-versus-B) judges: accuracy against gold preferences and
position bias, from verdicts given in both presentation orders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from llmdrift.calibration import _stats
from llmdrift.calibration._frames import (
    as_list,
    check_ci,
    check_count,
    check_seed,
    row_rng,
)

__all__ = ["pairwise_agreement", "PAIRWISE_COLUMNS", "ORDERS"]

PAIRWISE_COLUMNS = ("pair_id", "judge", "order", "winner", "gold")
"""Columns of the pairwise verdicts frame."""

ORDERS = ("original", "swapped")
"""``order`` values: output 1 shown first ("original") or output 2 first."""

_RATES = (
    "accuracy",
    "accuracy_original",
    "accuracy_swapped",
    "correct_both",
    "position_consistency",
    "first_position_rate",
    "always_first",
    "always_second",
    "tie_rate",
    "invalid_rate",
)


def _as_outcome(series: pd.Series, column: str) -> np.ndarray:
    """1, 2, 0 (tie) or NaN (no usable verdict) from ints or their strings."""
    text = series.astype("string").str.strip().str.lower()
    text = text.replace({"tie": "0", "1.0": "1", "2.0": "2", "0.0": "0"})
    out = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isnan(out) & ~np.isin(out, [0.0, 1.0, 2.0])
    if bad.any():
        first = series[bad].head(3).tolist()
        raise ValueError(
            f"pairwise_agreement: column {column!r} must hold 1, 2, 0 (tie) or NaN, "
            f"found {first}"
        )
    return out


def _check(verdicts) -> pd.DataFrame:
    if not isinstance(verdicts, pd.DataFrame):
        raise TypeError(
            "pairwise_agreement: expected a verdicts DataFrame, got "
            f"{type(verdicts).__name__}"
        )
    missing = [c for c in PAIRWISE_COLUMNS if c not in verdicts.columns]
    if missing:
        raise ValueError(
            f"pairwise_agreement: verdicts frame lacks column(s) {missing}; it needs "
            f"{list(PAIRWISE_COLUMNS)} (one row per pair, judge and order; winner "
            "in the original numbering)"
        )
    orders = set(verdicts["order"].dropna().astype(str)) - set(ORDERS)
    if orders or verdicts["order"].isna().any():
        raise ValueError(
            f"pairwise_agreement: column 'order' must be 'original' or 'swapped', "
            f"found {sorted(orders) or ['<NA>']}"
        )
    dup = verdicts.duplicated(["pair_id", "judge", "order"], keep=False)
    if dup.any():
        first = verdicts.loc[dup, ["pair_id", "judge", "order"]].head(3)
        raise ValueError(
            f"pairwise_agreement: {int(dup.sum())} rows repeat pair_id, judge and "
            f"order (first: {first.to_dict('records')}); keep one verdict each"
        )
    golds = verdicts.groupby("pair_id", sort=False)["gold"].nunique(dropna=False)
    if (golds > 1).any():
        raise ValueError(
            "pairwise_agreement: column 'gold' differs between rows of the same "
            f"pair_id (first: {golds[golds > 1].index[:3].tolist()}); one gold "
            "preference per pair"
        )
    return verdicts


def pairwise_agreement(
    verdicts: pd.DataFrame,
    *,
    judge: str | Sequence[str] | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    unparsed_agree: bool = True,
) -> pd.DataFrame:
    """Accuracy and position bias of pairwise judges against gold preferences.

    Parameters
    ----------
    verdicts : pandas.DataFrame
        One row per compared pair, judge and presentation order:

        - ``pair_id``: the item (an instruction with two outputs)
        - ``judge`` (str): the judge's name
        - ``order`` (str): "original" (output 1 shown first) or "swapped"
          (output 2 shown first)
        - ``winner``: the judge's verdict **in the original numbering** (so a
          swapped-order vote for the output shown first is 2): 1, 2, 0 for a
          tie, NaN when the verdict could not be parsed. Strings "1", "2",
          "0", "tie" are read too.
        - ``gold``: the better output by the human gold label (1, 2, or 0 for
          a tie), the same on every row of a pair.

        Pairs judged in one order only are allowed; the order statistics
        (``correct_both``, ``position_consistency``, ``always_*``) then use
        the pairs judged in both, and are NaN when there are none.
    judge : str or list of str, optional
        Judges to report; default all.
    n_boot : int, default=1000
        Bootstrap resamples over pairs (0 for no intervals).
    ci : float, default=0.95
        Interval coverage.
    seed : int, default=0
        Seed (each judge has its own stream derived from it).
    unparsed_agree : bool, default=True
        Whether a pair left unparsed (NaN) in both orders counts as position
        consistent (the judge gave the same non-answer twice). True matches
        LLMBar's published "Agr."; False counts it as inconsistent.

    Returns
    -------
    pandas.DataFrame
        One row per judge: ``judge, n_pairs, n_verdicts, n_both_orders``,
        then for each rate ``<rate>, <rate>_ci_low, <rate>_ci_high``:

        - ``accuracy``: share of verdicts equal to gold, over all verdicts
          (both orders; LLMBar's "Acc.", the mean of the two orders' accuracy
          when every pair has both)
        - ``accuracy_original``, ``accuracy_swapped``: the same per order
        - ``correct_both``: share of two-order pairs right in both orders
        - ``position_consistency``: share of two-order pairs with the same
          winner in both orders (LLMBar's "Agr."); higher is better
        - ``first_position_rate``: share of decisive verdicts (1 or 2) that
          chose the output shown first; 0.5 is no position bias
        - ``always_first``, ``always_second``: share of two-order pairs where
          the judge chose whatever was shown first (second) both times
        - ``tie_rate``, ``invalid_rate``: share of verdicts that are ties or
          unparsed (NaN)

    Raises
    ------
    ValueError
        Missing columns, unknown order, winner/gold values other than 1, 2, 0
        or NaN, duplicated verdicts, gold differing within a pair.

    Notes
    -----
    An unparsed verdict (NaN winner) counts as wrong, like a wrong answer:
    dropping it would flatter a judge that fails to answer. Against the other
    order it is inconsistent, unless both orders are unparsed (see
    ``unparsed_agree``).
    Intervals are percentile bootstrap intervals over pairs.

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({
    ...     "pair_id": [1, 1, 2, 2, 3, 3], "judge": "gpt",
    ...     "order": ["original", "swapped"] * 3,
    ...     "winner": [1, 1, 1, 2, 2, 2], "gold": [1, 1, 2, 2, 2, 2]})
    >>> out = pairwise_agreement(v, n_boot=0)
    >>> out.loc[0, ["accuracy", "position_consistency", "always_first"]].tolist()
    [0.8333333333333334, 0.6666666666666666, 0.3333333333333333]
    """
    ci = check_ci("pairwise_agreement", ci)
    n_boot = check_count(
        "pairwise_agreement", "n_boot", n_boot, 0, "0 for no intervals"
    )
    seed = check_seed("pairwise_agreement", seed)
    _check(verdicts)
    judges = as_list(judge, "judge")
    frame = verdicts
    if judges is not None:
        unknown = sorted(set(map(str, judges)) - set(frame["judge"].astype(str)))
        if unknown:
            raise ValueError(
                f"pairwise_agreement: judge(s) {unknown} not in the verdicts; "
                f"present: {sorted(frame['judge'].astype(str).unique())}"
            )
        frame = frame[frame["judge"].astype(str).isin(map(str, judges))]
    records = []
    for name, part in frame.groupby("judge", sort=True):
        rng = row_rng(seed, "pairwise", name)
        records.append(_one_judge(str(name), part, n_boot, ci, rng, unparsed_agree))
    return pd.DataFrame.from_records(records)


def _one_judge(name, part, n_boot, ci, rng, unparsed_agree) -> dict:
    winner = _as_outcome(part["winner"], "winner")
    gold = _as_outcome(part["gold"], "gold")
    pair_code, pairs = pd.factorize(part["pair_id"])
    n_pairs = len(pairs)
    swapped = (part["order"].astype(str) == "swapped").to_numpy()
    correct = (winner == gold).astype(float)
    decisive = np.isin(winner, [1.0, 2.0])
    first_shown = np.where(swapped, 2.0, 1.0)
    chose_first = decisive & (winner == first_shown)

    # per-pair sums (U, C) so that each resample is one matrix product
    cols = {
        "n": np.ones(len(part)),
        "n_orig": (~swapped).astype(float),
        "n_swap": swapped.astype(float),
        "correct": correct,
        "correct_orig": correct * ~swapped,
        "correct_swap": correct * swapped,
        "decisive": decisive.astype(float),
        "first": chose_first.astype(float),
        "tie": (winner == 0).astype(float),
        "invalid": np.isnan(winner).astype(float),
    }
    per_pair = np.zeros((n_pairs, len(cols)))
    np.add.at(per_pair, pair_code, np.column_stack(list(cols.values())))
    idx = {c: i for i, c in enumerate(cols)}

    # two-order pairs: the winners of both orders side by side
    w_orig = np.full(n_pairs, np.nan)
    w_swap = np.full(n_pairs, np.nan)
    w_orig[pair_code[~swapped]] = winner[~swapped]
    w_swap[pair_code[swapped]] = winner[swapped]
    both = (per_pair[:, idx["n_orig"]] > 0) & (per_pair[:, idx["n_swap"]] > 0)
    same = w_orig == w_swap
    if unparsed_agree:
        same |= np.isnan(w_orig) & np.isnan(w_swap)
    g = np.full(n_pairs, np.nan)
    g[pair_code] = gold
    pair_cols = np.column_stack(
        [
            both,
            both & same,
            both & (w_orig == g) & (w_swap == g),
            both & (w_orig == 1) & (w_swap == 2),  # first shown both times
            both & (w_orig == 2) & (w_swap == 1),  # second shown both times
        ]
    ).astype(float)
    unit = np.column_stack([per_pair, pair_cols])
    j = len(cols)

    def rates(sums):
        s = np.moveaxis(np.asarray(sums, float), -1, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return {
                "accuracy": s[idx["correct"]] / s[idx["n"]],
                "accuracy_original": s[idx["correct_orig"]] / s[idx["n_orig"]],
                "accuracy_swapped": s[idx["correct_swap"]] / s[idx["n_swap"]],
                "correct_both": s[j + 2] / s[j],
                "position_consistency": s[j + 1] / s[j],
                "first_position_rate": s[idx["first"]] / s[idx["decisive"]],
                "always_first": s[j + 3] / s[j],
                "always_second": s[j + 4] / s[j],
                "tie_rate": s[idx["tie"]] / s[idx["n"]],
                "invalid_rate": s[idx["invalid"]] / s[idx["n"]],
            }

    est = rates(unit.sum(axis=0))
    row = {
        "judge": name,
        "n_pairs": n_pairs,
        "n_verdicts": len(part),
        "n_both_orders": int(both.sum()),
    }
    draws = {r: [] for r in _RATES}
    if n_boot and n_pairs:
        for index in _stats.draw_indices(rng, n_pairs, n_boot):
            part_rates = rates(_stats.multiplicities(index, n_pairs) @ unit)
            for r in _RATES:
                draws[r].append(part_rates[r])
    for r in _RATES:
        value = float(est[r])
        row[r] = value
        lo = hi = np.nan
        if draws[r] and np.isfinite(value):
            a, b = _stats.percentile_interval(np.concatenate(draws[r])[:, None], ci)
            lo, hi = float(a[0]), float(b[0])
        row[f"{r}_ci_low"] = lo
        row[f"{r}_ci_high"] = hi
    return row
