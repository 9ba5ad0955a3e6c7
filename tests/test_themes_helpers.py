"""Builders shared by the themes tests (real ArgKP / Polis fixture text, small configs)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.config import parse_config

FIX = Path(__file__).parent / "fixtures" / "themes"


def config(open_ids=("q1",), **themes):
    """A consultation config with the given open questions (and theme settings)."""
    return parse_config({
        "id": "themes-test", "title": "themes test",
        "sources": [{"file": "x.csv", "format": "generic", "columns": {q: q for q in open_ids}}],
        "questions": [{"id": q, "text": f"question {q}", "kind": "open"} for q in open_ids],
        "settings": {"seed": 7, "themes": themes},
    })


def answers(texts, qid="q1", prefix="r", language="en"):
    """``core_answers_clean`` rows for plain (non-campaign) answers."""
    n = len(texts)
    return pd.DataFrame({
        "response_id": [f"{prefix}{i:03d}" for i in range(n)], "question_id": [qid] * n, "answer": list(texts),
        "language": [language] * n, "text_redacted": list(texts), "campaign_id": [None] * n,
        "is_campaign_copy": [False] * n, "personal_addition": [None] * n,
    })


def argkp():
    """The ArgKP fixture: arguments, key points, labels."""
    return (pd.read_csv(FIX / "argkp_arguments.csv"), pd.read_csv(FIX / "argkp_key_points.csv"),
            pd.read_csv(FIX / "argkp_labels.csv"))


def argkp_answers(qid="q1"):
    """The ArgKP fixture arguments as answers (response id = arg id)."""
    args, _, _ = argkp()
    df = answers(args["argument"].tolist(), qid=qid)
    df["response_id"] = args["arg_id"].tolist()
    return df


def argkp_codebook(qid="q1") -> dict:
    """A codebook whose themes are the fixture's key points (id = key point id)."""
    _, kps, _ = argkp()
    return {"version": 1, "questions": {qid: {"themes": [
        {"id": r.key_point_id, "label": r.key_point} for r in kps.itertuples()]}}}


def polis_texts():
    """The Polis fixture statements."""
    return pd.read_csv(FIX / "polis_biodiversity_comments.csv")["comment-body"].tolist()
