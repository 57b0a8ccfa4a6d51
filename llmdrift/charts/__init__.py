"""Altair charts for the runbooks and the incident report.

Only this package and :mod:`llmdrift.widgets` import Altair. Every chart
aggregates before it draws (no chart carries more rows than Altair's default
limit of 5,000), states UTC on time axes, uses the colour-blind-safe palette in
:mod:`llmdrift.charts.style`, and shows ``n`` and the interval in tooltips.

Importing it switches Altair from its default renderer, which loads Vega from
a CDN, to one that works offline (:mod:`llmdrift.charts._offline`), unless
another renderer was chosen.
"""

from __future__ import annotations

from llmdrift.charts._offline import load_chart_library, use_offline_renderer
from llmdrift.charts.calibration import *  # noqa: F403
from llmdrift.charts.calibration import __all__ as _calibration_all
from llmdrift.charts.cost import *  # noqa: F403
from llmdrift.charts.cost import __all__ as _cost_all
from llmdrift.charts.incident import *  # noqa: F403
from llmdrift.charts.incident import __all__ as _incident_all
from llmdrift.charts.style import save_png, to_svg

# charts must draw in JupyterLab without a CDN (see llmdrift.charts._offline)
use_offline_renderer()

__all__ = [
    *_incident_all,
    *_calibration_all,
    *_cost_all,
    "save_png",
    "to_svg",
    "load_chart_library",
]
