"""Offline, reproducible analysis of public consultation responses.

Stages (one module each): :mod:`analysis.ingest`, :mod:`analysis.redaction`, :mod:`analysis.campaigns`,
:mod:`analysis.themes`, :mod:`analysis.positions`, :mod:`analysis.counts`, :mod:`analysis.charts`,
:mod:`analysis.report`; :mod:`analysis.cli` chains them. Paths come from :mod:`analysis.paths`, the
consultation's settings from :mod:`analysis.config`, table contracts from :mod:`analysis.schemas`.
"""

__version__ = "0.1.0"
