"""ipywidgets explorers used by the runbooks.

Each explorer is a small object whose callbacks call one library function and
redraw one Altair chart; the notebooks only construct and display them.
"""

from __future__ import annotations

from llmdrift.widgets.calibration import *  # noqa: F403
from llmdrift.widgets.calibration import __all__ as _calibration_all
from llmdrift.widgets.cost import *  # noqa: F403
from llmdrift.widgets.cost import __all__ as _cost_all
from llmdrift.widgets.incident import *  # noqa: F403
from llmdrift.widgets.incident import __all__ as _incident_all

__all__ = [*_incident_all, *_calibration_all, *_cost_all]
