"""Shared chart conventions: palette, axis titles, rendering to PNG and SVG."""

from __future__ import annotations

from pathlib import Path

__all__ = ["PALETTE", "TIME_TITLE", "save_png", "to_svg", "require_altair"]

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
PALETTE = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
]

TIME_TITLE = "time (UTC)"


def require_altair():
    """Import Altair, or fail with the install hint."""
    try:
        import altair as alt
    except ImportError as err:  # pragma: no cover - altair is a dependency
        raise ImportError(
            "llmdrift charts need Altair: pip install 'altair>=5.3' vl-convert-python"
        ) from err
    return alt


def save_png(chart, path: str | Path, *, scale: float = 2.0) -> Path:
    """Render an Altair chart to a PNG file with vl-convert and return the path."""
    import vl_convert as vlc

    path = Path(path)
    path.write_bytes(vlc.vegalite_to_png(chart.to_json(), scale=scale))
    return path


def to_svg(chart) -> str:
    """Render an Altair chart to an SVG string (works offline)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_json())
