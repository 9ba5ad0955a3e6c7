"""Positions stage: support / oppose / neutral / unsure / unclear per answer (a closed enum).

Modules: :mod:`~analysis.positions.stage` (``run``: closed answers, analyst codes, text stance, Pol.is
votes), :mod:`~analysis.positions.text_stance` (which texts train which model), :mod:`~analysis.positions.model`
(the stance classifier), :mod:`~analysis.positions.features`, :mod:`~analysis.positions.cues` (explicit
openers) and :mod:`~analysis.positions.polis_votes` (statement verdicts from votes).
"""

from analysis.positions.stage import propose_for_consultation, run

__all__ = ["propose_for_consultation", "run"]
