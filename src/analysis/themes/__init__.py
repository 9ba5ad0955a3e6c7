"""Themes stage: codebook, discovery, assignment and calibration of themes per open question.

Modules: :mod:`~analysis.themes.stage` (``run``), :mod:`~analysis.themes.codebook` (the analyst's
``codebook.yml``), :mod:`~analysis.themes.discovery` (draft themes), :mod:`~analysis.themes.fit`,
:mod:`~analysis.themes.assign`, :mod:`~analysis.themes.calibrate`, :mod:`~analysis.themes.supervised`
(learning from analyst codes) and :mod:`~analysis.themes.agreement` (model vs analyst agreement).

``draft_codebook_for`` and ``run`` are imported from the stage module on first use, so importing one of the stage's
modules (e.g. from the report) does not load the whole stage and its libraries.
"""

from __future__ import annotations

from typing import Any

__all__ = ["draft_codebook_for", "run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from analysis.themes import stage  # noqa: PLC0415 - lazily, see the module docstring

        return getattr(stage, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
