"""``AnswerRows``: the answers of every source kept as four columns give the same ``core_answers`` as the dicts they
replaced, on the bundled sample (survey export and e-mailed letters) and the Pol.is example."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.config import load_config
from analysis.ingest import build, stage
from analysis.ingest.build import AnswerRows, merge
from analysis.ingest.language import MAX_CHARS
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
    """A stand-in guesser that records what it was asked (the language of a text: the parity of the length of its
    first MAX_CHARS characters, which are all the real guesser reads)."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def guess(self, texts):
        self.asked.append(list(texts))
        return ["en" if len(t[:MAX_CHARS]) % 2 else "mi" for t in texts]


def _in_blocks(rows: AnswerRows, size: int) -> AnswerRows:
    out = AnswerRows()
    for i, row in enumerate(rows, start=1):
        out.append(row)
        if i % size == 0:
            out.flush()
    assert len(out._blocks) == len(rows) // size
    return out


def test_blocks_read_like_the_rows_they_hold(source_rows):
    _, results = source_rows
    rows = merge(results)
    dicts = list(rows.answers)
    blocked = _in_blocks(rows.answers, 64)
    assert len(blocked) == len(dicts) and list(blocked) == dicts
    assert blocked.table().num_rows == len(dicts)
    both = AnswerRows(dicts[:10])
    both += blocked  # rows, then blocks and the rows after them: file order kept
    assert list(both) == dicts[:10] + dicts
    assert both.answer == [d["answer"] for d in dicts[:10] + dicts]  # the lists give every row
    assert not both._blocks


def test_a_reader_flushes_its_answers_a_block_at_a_time(monkeypatch):
    cfg = load_config(RAW / "sample" / "consultation.yml")
    tabular = [s for s in cfg.sources if s.format != "folder"]
    monkeypatch.setattr(build, "ANSWER_BLOCK", 100)
    res = stage.read_source(cfg, tabular[0], RAW / "sample")
    assert len(res.answers._blocks) >= 5 and res.answers.pending() < 100 + len(tabular[0].columns)
    monkeypatch.setattr(build, "ANSWER_BLOCK", 1 << 30)
    whole = stage.read_source(cfg, tabular[0], RAW / "sample")
    assert not whole.answers._blocks and list(res.answers) == list(whole.answers)


@pytest.mark.parametrize("blocks", [False, True])
def test_languages_settled_before_the_frame_match_the_frame_path(source_rows, blocks, monkeypatch):
    cfg, results = source_rows
    if blocks:  # answers turned into Arrow blocks of 50 rows (as a reader flushes them), beginnings guessed 7 at a time
        monkeypatch.setattr(stage, "GUESS_BATCH", 7)
        for r in results:
            r.answers = _in_blocks(r.answers, 50)
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
    # each distinct beginning is asked about once, in the order the old path first met it
    (asked_before,) = old_guesser.asked
    beginnings = list(dict.fromkeys(t[:MAX_CHARS] for t in asked_before))
    assert [t for batch in new_guesser.asked for t in batch] == beginnings and len(beginnings) > 50
    assert max(map(len, new_guesser.asked)) <= stage.GUESS_BATCH
    assert len(rows.answers) == 0 and len(expected) == n  # consumed: the table holds the answers now
