"""Counts stage: the only place a published number is computed.

Modules: :mod:`~analysis.counts.rules` (count modes, distinct-unit counting, Wilson intervals,
suppression), :mod:`~analysis.counts.prevalence` (position counts with misclassification adjustment) and
:mod:`~analysis.counts.stage` (``run``: every family into ``out_counts``).

``build_counts`` and ``run`` are imported from the stage module on first use, so importing one of the stage's
modules (e.g. from the report) does not load the whole stage and its libraries.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_counts", "run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from analysis.counts import stage  # noqa: PLC0415 - lazily, see the module docstring

        return getattr(stage, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
