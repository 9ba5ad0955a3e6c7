"""Counts stage: the only place a published number is computed.

Modules: :mod:`~analysis.counts.rules` (count modes, distinct-unit counting, Wilson intervals,
suppression), :mod:`~analysis.counts.prevalence` (position counts with misclassification adjustment) and
:mod:`~analysis.counts.stage` (``run``: every family into ``out_counts``).
"""

from analysis.counts.stage import build_counts, run

__all__ = ["build_counts", "run"]
