"""Campaigns stage: form-letter campaigns and near-duplicate submissions.

Modules: :mod:`~analysis.campaigns.stage` (detection, templates, personal additions, ``run``),
:mod:`~analysis.campaigns.text` (greeting/sign-off stripping), :mod:`~analysis.campaigns.near_duplicates`
(MinHash LSH clustering).
"""

from analysis.campaigns.stage import detect, detect_submissions, reconcile, run

__all__ = ["detect", "detect_submissions", "reconcile", "run"]
