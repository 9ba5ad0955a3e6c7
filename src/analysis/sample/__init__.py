"""The synthetic sample consultation (kept apart from the stages): ``python -m analysis.sample``.

Modules: :mod:`~analysis.sample.generate` (entry point), :mod:`~analysis.sample.survey`,
:mod:`~analysis.sample.letters`, :mod:`~analysis.sample.compose` and :mod:`~analysis.sample.text`.
"""

from analysis.sample.generate import SEED, generate, main

__all__ = ["SEED", "generate", "main"]
