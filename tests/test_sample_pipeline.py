"""Acceptance checks on the bundled sample: ingest → campaigns → positions against its ground truth.

The sample is synthetic and its generator wrote the truth (data/raw/sample/ground_truth/), so these tests measure
the pipeline, not the generator. Runs the real stages into a temp folder (about a minute).
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import ingest, paths
from analysis.campaigns import stage as campaigns
from analysis.config import load_config
from analysis.positions import stage as positions
from analysis.redaction import stage as redaction
from analysis.tables import read_table

GT = paths.raw_dir("sample") / "ground_truth"


@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> tuple:
    cfg = load_config("sample")
    raw = paths.raw_dir("sample")
    out = tmp_path_factory.mktemp("sample_processed")
    ingest.run(cfg, raw_dir=raw, processed_dir=out)
    redaction.run(cfg, raw_dir=raw, processed_dir=out)
    campaigns.run(cfg, raw_dir=raw, processed_dir=out)
    positions.run(cfg, raw_dir=raw, processed_dir=out)
    return cfg, out


def _keys(out) -> dict:
    """response_id -> ground-truth key (the survey's Response ID, or the letter's file name)."""
    r = read_table("core_responses", out)
    key = r.source_file.str.replace(r"^.*/", "", regex=True)
    survey = r.source_file.str.endswith("survey_export.csv")
    key[survey] = r.response_id[survey].str.split(":", n=1).str[1]
    return dict(zip(r.response_id, key, strict=True))


def test_ledger_reconciles_for_every_file(processed):
    _, out = processed
    ledger = read_table("ledger", out)
    assert (ledger.rows_read == ledger.rows_kept + ledger.rows_rejected).all()
    survey = ledger[ledger.file.str.endswith("survey_export.csv")].iloc[0]
    assert survey.rows_read == 1500 and survey.rows_kept == 1500
    emails = ledger[ledger.file.str.contains("emails")]
    assert len(emails) == 30 and emails.rows_read.sum() == 30
    rejects = read_table("core_rejects", out)
    ocr = rejects[rejects.reason.str.contains("OCR")]
    assert len(ocr) == 1  # the scanned letter is a reject saying it needs OCR, not an empty response
    responses = read_table("core_responses", out)
    assert len(responses) == ledger.rows_kept.sum()
    letters = responses[responses.channel != "online_survey"]
    assert not letters.response_id.str.contains("Submission from").any()  # no sender names in ids


def test_campaign_found_with_template_and_personal_additions(processed):
    _, out = processed
    clean = read_table("core_answers_clean", out)
    camps = read_table("core_campaigns", out)
    truth = pd.read_csv(GT / "campaigns.csv", dtype=str, keep_default_na=False)
    truth = truth[truth.campaign_id != ""]
    got = clean[clean.is_campaign_copy].assign(key=lambda d: d.response_id.map(_keys(out)))
    true_pairs = set(zip(truth.response_key, truth.question_id, strict=True))
    got_pairs = set(zip(got.key, got.question_id, strict=True))
    tp = len(true_pairs & got_pairs)
    precision, recall = tp / len(got_pairs), tp / len(true_pairs)
    f1 = 2 * precision * recall / (precision + recall)
    assert f1 >= 0.95, (precision, recall)
    biggest = camps.sort_values("size", ascending=False).iloc[0]
    assert biggest["size"] >= 280 and len(biggest["template"].split()) >= 100
    assert got.personal_addition.notna().mean() > 0.5
    rec = campaigns.reconcile(clean, camps)
    assert rec["balanced"].all()


def test_closed_positions_equal_ground_truth_exactly(processed):
    _, out = processed
    pos = read_table("core_answer_positions", out).assign(key=lambda d: d.response_id.map(_keys(out)))
    truth = pd.read_csv(GT / "positions.csv", dtype=str, keep_default_na=False)
    ticked = truth[truth.basis.isin(["tick", "contradicts"])]
    m = ticked.merge(pos, left_on=["response_key", "question_id"], right_on=["key", "question_id"], how="left",
                     suffixes=("_true", ""))
    assert (m.source == "closed").all()
    assert (m.position_true == m.position).all()
    for q in ["q1", "q2", "q3", "q4"]:
        a = m[m.question_id == q].position_true.value_counts().sort_index()
        b = pos[(pos.question_id == q) & (pos.source == "closed")].position.value_counts().sort_index()
        assert a.equals(b.rename(a.name)) or a.to_dict() == b.to_dict()


def test_text_only_positions_come_from_the_text(processed):
    _, out = processed
    pos = read_table("core_answer_positions", out).assign(key=lambda d: d.response_id.map(_keys(out)))
    truth = pd.read_csv(GT / "positions.csv", dtype=str, keep_default_na=False)
    text_only = truth[truth.basis == "text_only"].merge(
        pos, left_on=["response_key", "question_id"], right_on=["key", "question_id"], suffixes=("_true", ""))
    assert len(text_only) == (truth.basis == "text_only").sum()
    assert text_only.source.isin(["text_model", "text_cue"]).all()
    decided = text_only[text_only.position != "unclear"]
    assert (decided.position_true == decided.position).mean() >= 0.9
    for side in ["support", "oppose", "neutral", "unsure"]:
        gap = abs((text_only.position_true == side).mean() - (text_only.position == side).mean())
        assert gap <= 0.05, (side, gap)  # pooled over the four questions (216 text-only answers)
        for q, sub in text_only.groupby("question_id"):
            # per question (about 50 answers each): the 5 pp target
            q_gap = abs((sub.position_true == side).mean() - (sub.position == side).mean())
            assert q_gap <= 0.05, (q, side, q_gap)
