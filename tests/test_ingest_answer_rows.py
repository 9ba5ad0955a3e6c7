"""``AnswerRows``: the answers of every source kept as four columns give the same ``core_answers`` as the dicts they
replaced, on the bundled sample (survey export and e-mailed letters) and the Pol.is example."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.config import load_config
from analysis.ingest import stage
from analysis.ingest.build import AnswerRows, merge
from analysis.schemas import SCHEMAS

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
COLUMNS = list(SCHEMAS["core_answers"].columns)


@pytest.fixture(scope="module", params=["sample", "polis-nz-biodiversity"])
def source_rows(request):
    cfg = load_config(RAW / request.param / "consultation.yml")
    results = [stage.read_source(cfg, s, RAW / request.param) for s in cfg.sources]
    return cfg, results


def test_columns_give_the_frame_the_dicts_gave(source_rows):
    _, results = source_rows
    rows = merge(results)
    assert isinstance(rows.answers, AnswerRows) and len(rows.answers) > 100
    dicts = list(rows.answers)  # the list of dicts the readers built before
    assert set(dicts[0]) == set(AnswerRows.COLUMNS)
    expected = pd.DataFrame(dicts, columns=COLUMNS)
    got = rows.answers.frame(COLUMNS)
    pd.testing.assert_frame_equal(got, expected)
    assert got.dtypes.tolist() == expected.dtypes.tolist()


def test_concatenating_sources_keeps_file_order(source_rows):
    _, results = source_rows
    merged = merge(results)
    assert list(merged.answers) == [a for r in results for a in r.answers]
    rebuilt = AnswerRows()
    for r in results:
        rebuilt += list(r.answers)  # dicts appended one by one, as the document and Pol.is readers do
    assert rebuilt.response_id == merged.answers.response_id
    assert rebuilt.answer == merged.answers.answer
    assert rebuilt.language == merged.answers.language


def test_assembled_table_is_valid_and_accounts_for_every_answer(source_rows):
    cfg, results = source_rows
    rows = merge(results)
    tables, _ = stage.assemble(cfg, rows)
    answers = tables["core_answers"]
    SCHEMAS["core_answers"].validate(answers)
    assert len(answers) == len(rows.answers)
    assert answers["answer"].tolist() == rows.answers.answer


def test_a_missing_language_is_none_and_empty_rows_give_an_empty_frame():
    rows = AnswerRows([{"response_id": "r1", "question_id": "q1", "answer": "Yes"}])
    rows.add("r2", "q1", "No", "en")
    assert list(rows) == [{"response_id": "r1", "question_id": "q1", "answer": "Yes", "language": None},
                          {"response_id": "r2", "question_id": "q1", "answer": "No", "language": "en"}]
    empty = AnswerRows().frame(COLUMNS)
    pd.testing.assert_frame_equal(empty, pd.DataFrame([], columns=COLUMNS))


def _old_language_column(cfg, rows, guesser) -> pd.DataFrame:
    """The replaced path (e55ef97): the frame first, then the language settled on its columns."""
    answers = rows.answers.frame(COLUMNS)
    kinds = {q.id: q.kind for q in cfg.questions}
    declared = (answers["language"].notna() & answers["language"].ne("und")).to_numpy()
    answers["language"] = answers["language"].where(declared, "und")
    if cfg.settings.language_detection and len(answers):
        todo = answers["question_id"].map(kinds).eq("open").to_numpy() & ~declared
        texts = [a for a, detect in zip(rows.answers.answer, todo.tolist(), strict=True) if detect]
        if texts:
            answers.loc[todo, "language"] = guesser.guess(texts)
    return answers


class _Guesser:
    """A stand-in guesser that records what it was asked (the language of a text: its length's parity)."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def guess(self, texts):
        self.asked.append(list(texts))
        return ["en" if len(t) % 2 else "mi" for t in texts]


def test_languages_settled_before_the_frame_match_the_frame_path(source_rows):
    cfg, results = source_rows
    rows = merge(results)
    # declared languages of every kind the readers give: a code, "und", None, an empty string
    declared = ["mi", "und", None, "", "en"]
    rows.answers.language = [declared[i % 5] if i % 3 == 0 else lang for i, lang in enumerate(rows.answers.language)]
    old_guesser, new_guesser = _Guesser(), _Guesser()
    expected = _old_language_column(cfg, rows, old_guesser)
    n = len(rows.answers)
    tables, _ = stage.assemble(cfg, rows, new_guesser, consume=True)
    # consumed rows give the table in key order, the order write_table stores it in
    expected = expected.sort_values(["response_id", "question_id"], kind="mergesort").reset_index(drop=True)
    pd.testing.assert_frame_equal(tables["core_answers"], expected)
    assert new_guesser.asked == old_guesser.asked and sum(map(len, new_guesser.asked)) > 50
    assert len(rows.answers) == 0 and len(expected) == n  # consumed: the table holds the answers now
