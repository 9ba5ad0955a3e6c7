"""The positions' inputs hold each open answer's text once (``answer`` = the text to model), and the positions are
those read from the answers with both ``answer`` and ``text_redacted`` (real ArgKP arguments, some redacted, some
with no redacted text, ticks whose redacted text differs from the tick)."""

from __future__ import annotations

import pandas as pd
from test_positions import _argkp_consultation

from analysis.positions import stage as positions
from analysis.positions.text_stance import text_column, text_questions
from analysis.tables import read_table


def test_inputs_with_one_text_column_give_the_same_positions(tmp_path):
    cfg, raw, proc, _truth = _argkp_consultation(tmp_path)
    questions, answers, analyst, _votes, stmt_pos = positions.positions_inputs(cfg, raw, proc)
    both = read_table("core_answers_clean", proc, columns=["response_id", "question_id", "answer", "text_redacted"])
    assert "text_redacted" not in answers.columns
    pd.testing.assert_frame_equal(answers, positions._one_text_column(both, set(text_questions(cfg))))

    is_open = both["question_id"].isin(text_questions(cfg)).to_numpy()
    redacted = both["text_redacted"].astype(object).copy()
    n = len(both)
    redacted[is_open & (pd.RangeIndex(n) % 5 == 0)] = None  # no redacted text: the raw answer is read
    edit = is_open & (pd.RangeIndex(n) % 5 == 1)
    redacted[edit] = both.loc[edit, "answer"].str.replace("cannabis", "[REDACTED]", regex=False)
    redacted[~is_open] = "never read"  # a tick's redacted text: the tick is read from ``answer``
    both = both.assign(text_redacted=pd.Series(redacted, dtype=both["answer"].dtype))
    one = positions._one_text_column(both, set(text_questions(cfg)))
    assert list(one.columns) == ["response_id", "question_id", "answer"]
    assert text_column(one).tolist() != one["answer"].where(~is_open, both["answer"]).tolist()
    assert text_column(one)[is_open].tolist() == text_column(both)[is_open].tolist()
    assert one["answer"][~is_open].tolist() == both["answer"][~is_open].tolist()

    got = positions.assign_positions(cfg, one, questions, analyst, statement_positions=stmt_pos)[:3]
    want = positions.assign_positions(cfg, both, questions, analyst, statement_positions=stmt_pos)[:3]
    for g, w in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(g, w)
    assert len(got[0]) > 0
