"""Report stage: summary (Markdown + HTML), workbook and CSV tables under ``reports/<consultation>/``.

Modules: :mod:`~analysis.report.build` (``run``), :mod:`~analysis.report.load` (reading the tables),
:mod:`~analysis.report.methods`, :mod:`~analysis.report.polis`, :mod:`~analysis.report.tables`,
:mod:`~analysis.report.workbook`, :mod:`~analysis.report.quotes` and ``templates/``.
"""

from analysis.report.build import build_report, run

__all__ = ["build_report", "run"]
