"""Positions from free text are per question: on for "why?" questions and whole submissions, off for a stand-alone
open question unless the analyst sets ``text_positions: true`` (real ArgKP arguments as the texts)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.config import load_config, parse_config
from analysis.errors import ConfigError
from analysis.positions.text_stance import text_positions


def _cfg(other: dict | None = None, why: dict | None = None):  # noqa: ANN202
    return parse_config({
        "id": "t", "title": "T",
        "sources": [{"file": "x.csv", "format": "generic"},
                    {"file": "letters", "format": "folder", "channel": "email", "question_id": "letter"}],
        "questions": [{"id": "q1", "text": "Legalise cannabis?", "kind": "closed",
                       "choices": {"Yes": "support", "No": "oppose"}},
                      {"id": "q1_why", "text": "Why?", "kind": "open", "related_question": "q1", **(why or {})},
                      {"id": "other", "text": "Is there anything else you would like to tell us?", "kind": "open",
                       **(other or {})},
                      {"id": "letter", "text": "Letter", "kind": "open"}],
        "settings": {"positions": {"min_training": 20}}})


def test_default_is_on_for_why_questions_and_letters_off_for_stand_alone_questions() -> None:
    cfg = _cfg()
    assert [cfg.text_positions_on(q) for q in ("q1", "q1_why", "other", "letter")] == [False, True, False, True]
    assert _cfg(other={"text_positions": True}).text_positions_on("other")
    assert not _cfg(why={"text_positions": False}).text_positions_on("q1_why")


def _answers(cannabis: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """35 ticked "why" texts (training), 15 unticked, 20 answers to the stand-alone question, 20 letters."""
    ids = cannabis["arg_id"].astype(str)
    parts = [("q1_why", slice(0, 50)), ("other", slice(50, 70)), ("letter", slice(70, 90))]
    answers = pd.concat([pd.DataFrame({"response_id": ids.iloc[s], "question_id": q, "answer": cannabis["text"].iloc[s],
                                       "language": "en"}) for q, s in parts], ignore_index=True)
    closed = pd.DataFrame({"response_id": ids.iloc[:35], "question_id": "q1", "position": cannabis["label"].iloc[:35],
                           "confidence": 1.0, "source": "closed"})
    return answers, closed


def test_a_stand_alone_question_gets_no_text_position_unless_switched_on(cannabis) -> None:
    answers, closed = _answers(cannabis)
    off = text_positions(answers, closed, None, _cfg())
    got = off.positions.groupby("question_id").size().to_dict()
    assert got == {"q1": 15, "letter": 20}  # 15 unticked why texts under q1, the letters; nothing for "other"
    on = text_positions(answers, closed, None, _cfg(other={"text_positions": True}))
    assert on.positions.groupby("question_id").size().to_dict() == {"q1": 15, "letter": 20, "other": 20}
    why_off = text_positions(answers, closed, None, _cfg(why={"text_positions": False}))
    assert why_off.positions.groupby("question_id").size().to_dict() == {"letter": 20}
    # the letters' model still learns from the ticked why texts (labels, not predictions)
    pd.testing.assert_frame_equal(why_off.positions[why_off.positions["question_id"] == "letter"].reset_index(drop=True),
                                  off.positions[off.positions["question_id"] == "letter"].reset_index(drop=True))


@pytest.mark.parametrize("question, message", [
    ({"id": "q1", "text": "T", "kind": "closed", "choices": {"Yes": "support"}, "text_positions": True},
     "questions.0: Value error, closed question 'q1': 'text_positions' applies to open questions only"),
    ({"id": "q2", "text": "T", "kind": "open", "text_positions": "sometimes"},
     "questions.0.text_positions: Input should be a valid boolean"),
])
def test_a_bad_text_positions_key_names_the_file_and_the_key(tmp_path: Path, question: dict, message: str) -> None:
    path = tmp_path / "consultation.yml"
    import yaml

    path.write_text(yaml.safe_dump({"id": "t", "title": "T", "sources": [{"file": "x.csv", "format": "generic"}],
                                    "questions": [question]}), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, check_files=False)
    assert str(path) in str(err.value) and message in str(err.value)
