"""Widgets for the calibration runbook."""

from __future__ import annotations

__all__: list[str] = []
