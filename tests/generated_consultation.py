"""Answers of a generated survey consultation with campaign ground truth, without ingest or redaction.

Usable from tests (``tests/`` is on ``sys.path``) and from benchmarks (``sys.path`` insert). The texts are the
sample generator's (:func:`analysis.sample.survey.generate_survey`) with the campaign mix of
``benchmarks/end_to_end.py`` (20% / 2.7% of respondents send campaign 1 / 2 in ``q5_other``); the raw text
stands in for ``text_redacted`` (sign-off names are stripped by campaign normalisation anyway).
"""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from analysis.sample.survey import CLOSED, OTHER_HEADER, OTHER_ID, WHY_HEADER, generate_survey, write_export

OPEN_QUESTIONS = [f"{q}_why" for q in CLOSED] + [OTHER_ID]


@dataclass
class GeneratedConsultation:
    """``answers`` (``response_id, question_id, text_redacted, truth``) and each response's campaign.

    ``truth`` is the generator's campaign of the answer (``""``: none); ``respondent_campaign`` maps every
    response id to the campaign its respondent sent (``""``: none).
    """

    answers: pd.DataFrame
    respondent_campaign: dict[str, str]


def generate(n: int, seed: int = 20211, share_1: float = 0.2, share_2: float = 40 / 1500) -> GeneratedConsultation:
    """A survey of ``n`` responses; ``share_1`` / ``share_2`` of respondents send campaign 1 / 2."""
    sv = generate_survey(random.Random(f"{seed}:survey"), n=n, n_campaign_1=int(share_1 * n),
                         n_campaign_2=int(share_2 * n), n_te_reo_respondents=int(8 * n / 1500))
    cols = {f"{q}_why": sv.header.index(WHY_HEADER.format(n=i)) for i, q in enumerate(CLOSED, start=1)}
    cols[OTHER_ID] = sv.header.index(OTHER_HEADER)
    truth = {(rid, qid): cid for rid, qid, cid, _personal in sv.campaigns}
    rows = [(row[0], qid, row[c]) for row in sv.rows for qid, c in cols.items() if row[c].strip()]
    answers = pd.DataFrame(rows, columns=["response_id", "question_id", "text_redacted"])
    answers["truth"] = [truth.get((r, q), "") for r, q in zip(answers["response_id"], answers["question_id"],
                                                                strict=True)]
    by_resp = {rid: cid for (rid, qid), cid in truth.items() if qid == OTHER_ID}
    return GeneratedConsultation(answers, {row[0]: by_resp.get(row[0], "") for row in sv.rows})


def write_survey(raw: Path, n: int, seed: int = 20211, campaign_share: float | None = None) -> None:
    """Write a survey-only consultation of ``n`` responses under ``raw`` (its ``consultation.yml`` and export), as
    ``benchmarks/end_to_end.py`` runs it.

    ``campaign_share``: the share of respondents who send a campaign letter, 8:1 between the two campaigns
    (default: the sample's 22.7%).
    """
    sample = importlib.import_module("analysis.sample.generate")  # the module (the package exports the function)
    raw.mkdir(parents=True, exist_ok=True)
    scale = n / 1500
    c1, c2 = int(300 * scale), int(40 * scale)
    if campaign_share is not None:
        c1, c2 = int(n * campaign_share * 8 / 9), int(n * campaign_share / 9)
    write_export(raw / "survey_export.csv", random.Random(f"{seed}:survey"), n, c1, c2, int(8 * scale))
    cfg = sample.config_dict(seed)
    cfg["id"] = raw.name
    cfg["sources"] = [s for s in cfg["sources"] if s["format"] != "folder"]
    cfg["questions"] = [q for q in cfg["questions"] if q["id"] != sample.EMAIL_QUESTION]
    (raw / "consultation.yml").write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
