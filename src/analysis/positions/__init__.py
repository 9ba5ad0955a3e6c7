"""Positions stage: support / oppose / neutral / unsure / unclear per answer (a closed enum).

Modules: :mod:`~analysis.positions.stage` (``run``: closed answers, analyst codes, text stance, Pol.is
votes), :mod:`~analysis.positions.text_stance` (which texts train which model), :mod:`~analysis.positions.model`
(the stance classifier), :mod:`~analysis.positions.parallel` (several questions' models side by side),
:mod:`~analysis.positions.prefetch` (the positions computed in a second process while the themes stage runs),
:mod:`~analysis.positions.features`, :mod:`~analysis.positions.cues` (explicit openers) and
:mod:`~analysis.positions.polis_votes` (statement verdicts from votes).

``run`` and ``propose_for_consultation`` are imported from the stage module on first use, so the second process
fitting stance models (:mod:`analysis.positions.parallel`) imports only the model, not the stage's tables.
"""

from __future__ import annotations

from typing import Any

__all__ = ["propose_for_consultation", "run", "start_early", "worker_modules"]


def __getattr__(name: str) -> Any:
    if name == "worker_modules":  # what the run's zygote imports ahead for that worker (analysis.zygote)
        from analysis.positions import prefetch  # noqa: PLC0415 - lazily, see the module docstring

        return prefetch.worker_modules
    if name == "start_early":  # the pipeline starts the positions while the themes stage runs
        from analysis.positions import prefetch  # noqa: PLC0415 - lazily, see the module docstring

        return prefetch.start_early
    if name in __all__:
        from analysis.positions import stage  # noqa: PLC0415 - lazily, see the module docstring

        return getattr(stage, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
