"""Cost attribution and the judging budget.

- :mod:`llmdrift.cost.usage`: token accounting into non-overlapping buckets
  (:func:`normalize_usage`) and the hierarchy rule of rollups
  (:func:`usage_spans`).
- :mod:`llmdrift.cost.prices`: the cost of each span from genai-prices and an
  override table (:func:`price_spans`), coverage and reported-vs-computed
  reports.
- :mod:`llmdrift.cost.rollups`: cost per group and window, per trace, movers,
  cost per quality point.
- :mod:`llmdrift.cost.budget`: what judging costs and the sample rates a daily
  budget allows.
"""

from __future__ import annotations

from llmdrift.cost.budget import *  # noqa: F403
from llmdrift.cost.budget import __all__ as _budget_all
from llmdrift.cost.prices import *  # noqa: F403
from llmdrift.cost.prices import __all__ as _prices_all
from llmdrift.cost.rollups import *  # noqa: F403
from llmdrift.cost.rollups import __all__ as _rollups_all
from llmdrift.cost.usage import *  # noqa: F403
from llmdrift.cost.usage import __all__ as _usage_all

__all__ = [*_usage_all, *_prices_all, *_rollups_all, *_budget_all]
