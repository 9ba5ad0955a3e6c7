"""Redaction: personal information out of every answer, and the publication guard.

Modules: :mod:`~analysis.redaction.patterns` (detectors), :mod:`~analysis.redaction.redact`
(``redact``, ``redact_answers``), :mod:`~analysis.redaction.guard` (``guard``: the publication guard, with
detectors of its own, independent of redaction's). The package attribute ``guard`` is the function; import
the module's other names with ``from analysis.redaction.guard import ...``.
"""

from analysis.redaction.guard import PublicationGuardError, guard
from analysis.redaction.redact import redact, redact_answers
from analysis.redaction.stage import run

__all__ = ["PublicationGuardError", "guard", "redact", "redact_answers", "run"]
