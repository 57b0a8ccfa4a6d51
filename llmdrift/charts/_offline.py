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


def offline_html(spec: dict, **metadata) -> dict:
    """Render a Vega-Lite ``spec`` to a self-contained ``text/html`` bundle.

    Examples
    --------
    >>> out = offline_html({"mark": "point", "data": {"values": []}})
    >>> html = out["text/html"]
    >>> html.startswith('<div id="llmdrift-vega-') and "vegaEmbed" in html
    True
    """
    import vl_convert as vlc

    div = f"llmdrift-vega-{uuid.uuid4().hex}"
    # "</" inside the spec would close the script element early
    data = json.dumps(spec).replace("</", "<\\/")
    script = (
        "(function(){if(!window.vegaEmbed){"
        + vlc.javascript_bundle()
        + "}"
        + f'window.vegaEmbed("#{div}", {data}, {{"mode": "vega-lite"}})'
        + ".catch(console.error);})();"
    )
    return {
        "text/html": (
            f'<div id="{div}"></div><script type="text/javascript">{script}</script>'
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
