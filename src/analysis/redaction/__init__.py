"""Redaction: personal information out of every answer, and the publication guard.

Modules: :mod:`~analysis.redaction.patterns` (detectors), :mod:`~analysis.redaction.redact`
(``redact``, ``redact_answers``, ``guard``).
"""

from analysis.redaction.redact import PublicationGuardError, guard, redact, redact_answers

__all__ = ["PublicationGuardError", "guard", "redact", "redact_answers"]
