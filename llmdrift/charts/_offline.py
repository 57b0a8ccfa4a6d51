"""An Altair renderer that draws in JupyterLab with no network.

Altair's default renderer loads vega, vega-lite and vega-embed from a CDN, so
behind a proxy or offline every chart shows "Error loading script" instead of
drawing. JupyterLab 4 renders Vega-Lite only up to v5 itself, while Altair 6
emits v6. Altair's own offline template (``renderers.enable("html",
template="inline")``) draws only the first chart of a page: its bundle
declares top-level constants, and the second output declares them again.

This renderer embeds the vega-embed bundle that ships with vl-convert (the
same package llmdrift uses to save PNG and SVG) inside a function that runs
once per page, then embeds each chart into its own ``div``. Each chart output
carries the bundle (about 0.9 MB of JavaScript), so a notebook saved with its
outputs is larger than with the CDN renderer; the bundle runs only once.
"""

from __future__ import annotations

import json
import uuid

RENDERER = "llmdrift"

# the bundle goes out with the first chart of a kernel session only: a 0.9 MB
# output inside an ipywidgets Output stalls headless runs (nbclient, papermill)
# until their cell timeout, and every runbook draws a plain chart before any
# widget
_STATE = {"bundle_sent": False}

_MISSING = (
    "The chart library is not loaded on this page: run "
    "llmdrift.charts.load_chart_library() in a cell, then this cell again."
)


def _bundle_script() -> str:
    import vl_convert as vlc

    # inside a function: its top-level constants must not clash with a second
    # copy; it sets window.vegaEmbed
    return "(function(){if(!window.vegaEmbed){" + vlc.javascript_bundle() + "}})();"


def load_chart_library():
    """Put the chart library on the page (for when its first copy was cleared).

    Returns an ``IPython.display.HTML`` object; show it as a cell's result.
    """
    from IPython.display import HTML

    _STATE["bundle_sent"] = True
    return HTML(f'<script type="text/javascript">{_bundle_script()}</script>')


def offline_html(spec: dict, **metadata) -> dict:
    """Render a Vega-Lite ``spec`` to ``text/html`` that draws without a network.

    The first chart of a session carries the vega-embed bundle; later ones
    wait (up to 10 s) for it to be on the page.

    Examples
    --------
    >>> out = offline_html({"mark": "point", "data": {"values": []}})
    >>> html = out["text/html"]
    >>> html.startswith('<div id="llmdrift-vega-') and "vegaEmbed" in html
    True
    """
    div = f"llmdrift-vega-{uuid.uuid4().hex}"
    # "</" inside the spec would close the script element early
    data = json.dumps(spec).replace("</", "<\\/")
    bundle = "" if _STATE["bundle_sent"] else _bundle_script()
    _STATE["bundle_sent"] = True
    embed = (
        f'(function(){{var el=document.getElementById("{div}"),tries=0;'
        "(function go(){if(window.vegaEmbed){"
        f'window.vegaEmbed(el,{data},{{"mode":"vega-lite"}}).catch(console.error);'
        "}else if(tries++<100){setTimeout(go,100);}"
        f"else{{el.textContent={json.dumps(_MISSING)};}}}})();}})();"
    )
    return {
        "text/html": (
            f'<div id="{div}"></div><script type="text/javascript">'
            f"{bundle}{embed}</script>"
        )
    }


def use_offline_renderer() -> None:
    """Register the renderer and enable it unless the user chose another one.

    Called when :mod:`llmdrift.charts` is imported. A renderer the user
    enabled themselves (``alt.renderers.enable(...)``) is left alone.
    """
    import altair as alt

    alt.renderers.register(RENDERER, offline_html)
    if alt.renderers.active == "default":
        alt.renderers.enable(RENDERER)
