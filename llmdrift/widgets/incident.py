"""Widgets for the incident runbook."""

from __future__ import annotations

__all__: list[str] = []
