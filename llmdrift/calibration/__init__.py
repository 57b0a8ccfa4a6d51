"""Calibrating an LLM judge against human labels.

Agreement with bootstrap intervals (:func:`agreement`), the human ceiling
(:func:`human_ceiling`), pairwise judges' accuracy and position bias
(:func:`pairwise_agreement`), the labels a verdict needs
(:func:`labels_needed`), a plain trust verdict (:func:`trust_report`) and the
bias-corrected mean quality (:func:`corrected_mean`).

All take the long scores frame (``span_id, dimension, value, scorer, kind``;
people are ``kind="human"`` with the annotator id in ``scorer``, judges
``kind="judge"`` with the judge name in ``scorer``), except
:func:`pairwise_agreement`, which takes a verdicts frame
(``pair_id, judge, order, winner, gold``).

Examples
--------
>>> import llmdrift.calibration as cal
>>> callable(cal.agreement) and callable(cal.pairwise_agreement)
True
"""

from __future__ import annotations

from llmdrift.calibration.agreement import (
    STATISTICS,
    agreement,
    confusion_table,
    disagreements,
    paired_scores,
)
from llmdrift.calibration.ceiling import fleiss_from_counts, human_ceiling
from llmdrift.calibration.corrected import (
    corrected_mean,
    ppi_mean,
    ppi_mean_weighted,
    rogan_gladen,
)
from llmdrift.calibration.pairwise import PAIRWISE_COLUMNS, pairwise_agreement
from llmdrift.calibration.trust import VERDICTS, labels_needed, trust_report

__all__ = [
    "STATISTICS",
    "PAIRWISE_COLUMNS",
    "agreement",
    "paired_scores",
    "confusion_table",
    "disagreements",
    "human_ceiling",
    "fleiss_from_counts",
    "pairwise_agreement",
    "labels_needed",
    "trust_report",
    "VERDICTS",
    "corrected_mean",
    "ppi_mean",
    "ppi_mean_weighted",
    "rogan_gladen",
]
