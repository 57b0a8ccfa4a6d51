"""Redrawing an ipywidgets ``Output`` in place."""

from __future__ import annotations


def replace_output(output, obj) -> None:
    """Show ``obj`` (a chart, a frame) in ``output`` instead of what it held.

    The outputs are set on the widget's state rather than captured with
    ``clear_output(wait=True)`` and ``with output: display(...)``: headless
    runners (nbclient, papermill) emulate that capture and sometimes waited a
    whole cell timeout after such a redraw, while JupyterLab draws both the
    same way.
    """
    output.outputs = ()
    output.append_display_data(obj)
