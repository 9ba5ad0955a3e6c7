"""Themes stage: codebook, discovery, assignment and calibration of themes per open question.

Modules: :mod:`~analysis.themes.stage` (``run``), :mod:`~analysis.themes.codebook` (the analyst's
``codebook.yml``), :mod:`~analysis.themes.discovery` (draft themes), :mod:`~analysis.themes.fit`,
:mod:`~analysis.themes.assign`, :mod:`~analysis.themes.calibrate`, :mod:`~analysis.themes.supervised`
(learning from analyst codes) and :mod:`~analysis.themes.agreement` (model vs analyst agreement).
"""

from analysis.themes.stage import draft_codebook_for, run

__all__ = ["draft_codebook_for", "run"]
