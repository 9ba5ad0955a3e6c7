"""What the positions stage lets go of, with the same positions (issue #17, 5,000,000 responses): the texts once
grouped by question, the why-questions' pairs pooled only for a letters question's model, and the themes read only
for a Pol.is consultation's statement votes. Real text: ArgKP-2021 arguments (IBM Debater, CC BY-SA 3.0)."""

from __future__ import annotations

import pandas as pd
from test_positions import _argkp_consultation

from analysis.positions import stage as positions
from analysis.positions.text_stance import _no_rows
from analysis.tables import read_table


def test_an_empty_frame_of_the_texts_holds_none_of_their_buffers(tmp_path):
    cfg, raw, proc, _truth = _argkp_consultation(tmp_path)
    texts = read_table("core_answers_clean", proc, columns=["response_id", "question_id", "text_redacted"])
    none = _no_rows(texts)
    pd.testing.assert_frame_equal(none, texts.head(0))
    whole = texts["text_redacted"].array._pa_array.get_total_buffer_size()
    assert whole > 10_000  # pandas' head(0) keeps the whole column's buffers:
    assert texts.head(0)["text_redacted"].array._pa_array.get_total_buffer_size() == whole
    assert all(none[c].array._pa_array.get_total_buffer_size() < 64 for c in texts.columns)


def test_the_themes_are_not_read_without_statement_votes(tmp_path, monkeypatch):
    cfg, raw, proc, _truth = _argkp_consultation(tmp_path)
    read: list[str] = []
    real = positions.read_optional
    monkeypatch.setattr(positions, "read_optional", lambda name, folder: read.append(name) or real(name, folder))
    positions.run(cfg, raw_dir=raw, processed_dir=proc)
    assert "core_answer_themes" not in read and len(read_table("core_answer_positions", proc)) > 0
