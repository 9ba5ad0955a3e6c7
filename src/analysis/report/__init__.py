"""Report stage: summary (Markdown + HTML), workbook and CSV tables under ``reports/<consultation>/``.

Modules: :mod:`~analysis.report.build` (``run``), :mod:`~analysis.report.load` (reading the tables),
:mod:`~analysis.report.methods`, :mod:`~analysis.report.polis`, :mod:`~analysis.report.tables`,
:mod:`~analysis.report.workbook`, :mod:`~analysis.report.quotes` and ``templates/``.

``run`` and ``build_report`` are imported from the build module on first use, so the pipeline can start the
report's chart worker (``start_early``, :mod:`analysis.charts.parallel`) before the counts stage without
importing the report's modules.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_report", "run", "start_early", "worker_modules"]


def __getattr__(name: str) -> Any:
    if name == "worker_modules":  # what the run's zygote imports ahead for that worker (analysis.zygote)
        from analysis.charts import parallel  # noqa: PLC0415 - lazily, see the module docstring

        return parallel.worker_modules
    if name == "start_early":  # the pipeline starts the chart worker while the counts stage runs
        from analysis.charts import parallel  # noqa: PLC0415 - lazily, see the module docstring

        return parallel.start_early
    if name in __all__:
        from analysis.report import build  # noqa: PLC0415 - lazily, see the module docstring

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
