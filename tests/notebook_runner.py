"""Run a runbook headless the way the notebook tests need it.

Shared by tests/test_notebook_0*.py: each adds its own probe cell (which
prints the figures to check as JSON) and its own assertions.
"""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook


def execute_runbook(notebook, parameters: dict, probe: str, *, timeout: int = 300):
    """Execute ``notebook`` with ``parameters`` plus a final ``probe`` cell.

    Checks that the committed notebook has no outputs and that no cell ends in
    an error; returns ``(probe_output, executed_notebook)``, the probe's
    printed JSON decoded.
    """
    nb = load_notebook_node(str(notebook))  # papermill's reader adds empty tags
    for cell in nb.cells:
        assert cell.cell_type != "code" or not cell.get("outputs"), (
            "notebook must be committed without outputs"
        )
    nb = parameterize_notebook(nb, parameters)
    nb.cells.append(nbformat.v4.new_code_cell(probe))
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    ).execute()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output.get("evalue")
    text = "".join(o.get("text", "") for o in nb.cells[-1]["outputs"])
    return json.loads(text), nb
