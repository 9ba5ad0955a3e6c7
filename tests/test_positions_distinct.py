"""The stance models' features and predictions computed once per distinct text, against every text featurised.

Real ArgKP arguments (``cannabis``), repeated as campaign copies and identical short answers repeat: the fast
paths must give the very bytes of the code they replace (``fit_transform`` of every document; ``cross_fit``
featurising and predicting every text).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.positions import model as model_mod
from analysis.positions.features import fit_distinct, tfidf_featurizer
from analysis.positions.model import StanceModel, cross_fit
from analysis.vectorize import FastTfidfVectorizer


def _repeated(texts: list[str], seed: int = 5) -> list[str]:
    """The texts with some repeated up to 6 times, shuffled (seeded)."""
    rng = np.random.default_rng(seed)
    reps = rng.integers(1, 7, size=len(texts)) * (rng.random(len(texts)) < 0.4) + 1
    docs = [t for t, r in zip(texts, reps, strict=True) for _ in range(r)]
    return [docs[i] for i in rng.permutation(len(docs))]


def _same_csr(a, b) -> None:  # noqa: ANN001
    assert a.shape == b.shape and a.dtype == b.dtype
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert a.data.tobytes() == b.data.tobytes()


@pytest.mark.parametrize("analyzer", ["word", "char_wb"])
def test_fit_transform_with_doc_counts_is_fitting_every_document(cannabis, analyzer):
    docs = _repeated(cannabis["text"].tolist())
    first: dict[str, int] = {}
    rows = np.array([first.setdefault(d, len(first)) for d in docs])
    assert len(first) < len(docs)
    kw = dict(ngram_range=(1, 2), sublinear_tf=True) if analyzer == "word" else dict(analyzer="char_wb",
                                                                                     ngram_range=(2, 5))
    full = FastTfidfVectorizer(**kw)
    want = full.fit_transform(docs).tocsr()
    fast = FastTfidfVectorizer(**kw)
    got = fast.fit_transform(list(first), doc_counts=np.bincount(rows)).tocsr()
    assert fast.vocabulary_ == full.vocabulary_
    assert fast.idf_.tobytes() == full.idf_.tobytes()
    _same_csr(got[rows], want)
    _same_csr(fast.transform(docs[:40]).tocsr(), full.transform(docs[:40]).tocsr())


def test_doc_counts_refused_when_the_collection_size_matters(cannabis):
    assert not FastTfidfVectorizer(min_df=2).counts_distinct()
    with pytest.raises(ValueError, match="doc_counts"):
        FastTfidfVectorizer(max_df=0.5).fit_transform(["a b", "b c"], doc_counts=np.array([2, 1]))


def test_fit_distinct_rows_are_the_union_features_of_every_document(cannabis):
    docs = _repeated(cannabis["text"].tolist(), seed=9)
    want = tfidf_featurizer().fit_transform(docs).tocsr()
    got, rows = fit_distinct(tfidf_featurizer(), docs)
    assert rows is not None and got.shape[0] == len(set(docs))
    want.sort_indices()
    got = got.tocsr()
    got.sort_indices()
    _same_csr(model_mod._take_rows(got, rows), want)
    distinct = list(dict.fromkeys(docs))
    assert fit_distinct(tfidf_featurizer(), distinct)[1] is None  # nothing repeats: the plain path


@pytest.mark.parametrize("parallel", [False, True])
def test_cross_fit_once_per_distinct_text_is_the_per_row_code(cannabis, monkeypatch, parallel):
    texts = _repeated(cannabis["text"].tolist(), seed=13)
    label_of = dict(zip(cannabis["text"], cannabis["label"], strict=False))
    train, predict = texts[: len(texts) // 2], texts[len(texts) // 2:] + texts[:7]
    labels = [label_of[t] for t in train]
    monkeypatch.setattr(model_mod, "PARALLEL_MIN_ROWS", 10)
    fast = cross_fit(StanceModel(seed=3), train, labels, predict=predict, parallel=parallel)
    # the code it replaces: every text featurised and predicted
    monkeypatch.setattr(model_mod, "fit_distinct", lambda f, docs: (f.fit_transform(docs), None))
    slow = cross_fit(StanceModel(seed=3), train, labels, predict=predict, parallel=parallel)
    pd.testing.assert_frame_equal(fast[1], slow[1], check_exact=True)
    pd.testing.assert_frame_equal(fast[2], slow[2], check_exact=True)
    assert fast[0].classifier_.coef_.tobytes() == slow[0].classifier_.coef_.tobytes()
    assert fast[0].calibrator_.coef_ == slow[0].calibrator_.coef_
    assert len(fast[2]) == len(predict)


# --- closed answers read once per distinct value, and the answers read by the stage ------------------------------

def _closed_rowwise(answers: pd.DataFrame, questions: pd.DataFrame, cfg) -> tuple[pd.DataFrame, pd.DataFrame]:  # noqa: ANN001
    """The code :func:`closed_positions` replaced (row by row, memo per value), kept as the reference."""
    import json

    from analysis.positions.stage import _closed_answer, _norm
    from analysis.positions.text_stance import POS_COLS

    rows, others = [], []
    for _, q in questions[questions["kind"] == "closed"].iterrows():
        qid = q["question_id"]
        choices = {_norm(k): v for k, v in json.loads(q["choices"] or "{}").items()}
        qc = next((c for c in cfg.questions if c.id == qid), None)
        multi = bool(qc and qc.multi_select)
        sep = qc.choice_separator if qc else ";"
        other = _norm(qc.other_choice) if qc and qc.other_choice else None
        sub = answers[answers["question_id"] == qid]
        memo: dict = {}
        for rid, ans in zip(sub["response_id"].tolist(), sub["answer"].fillna("").tolist(), strict=True):
            hit = memo.get(ans)
            if hit is None:
                hit = memo[ans] = _closed_answer(str(ans), rid, q, choices, multi, sep, other)
            if hit[0] is not None:
                rows.append((rid, qid, hit[0], 1.0, "closed"))
            elif hit[1]:
                others.append((rid, qid, hit[1]))
    return (pd.DataFrame(rows, columns=POS_COLS), pd.DataFrame(others, columns=["response_id", "question_id", "text"]))


def _sample_ticks(other_choice: bool = False):
    """The bundled sample's survey ticks (real export layout), as ``core_answers`` rows, and its questions."""
    import json
    from pathlib import Path

    from analysis.config import load_config

    root = Path(__file__).resolve().parents[1] / "data" / "raw" / "sample"
    cfg = load_config(root / "consultation.yml")
    survey = pd.read_csv(root / "survey_export.csv", dtype=str, keep_default_na=False)
    src = cfg.sources[0]
    parts = []
    for q in cfg.closed_questions:
        col = src.columns[q.id]
        parts.append(pd.DataFrame({"response_id": survey[src.id_column], "question_id": q.id, "answer": survey[col],
                                   "language": "en"}))
    answers = pd.concat(parts, ignore_index=True)
    if other_choice:  # one question takes "Other (please specify)": unmatched labels become texts
        q0 = cfg.closed_questions[0]
        data = cfg.model_dump()
        for q in data["questions"]:
            if q["id"] == q0.id:
                q["choices"] = {**q["choices"], "Other": "none"}
                q["other_choice"] = "Other"
        from analysis.config import parse_config

        cfg = parse_config(data)
        hit = answers.index[answers["question_id"] == q0.id][::7]
        answers.loc[hit, "answer"] = [f"only if {i % 5}" for i in range(len(hit))]
    questions = pd.DataFrame([dict(question_id=q.id, text=q.text, kind=q.kind, choices=json.dumps(q.choices), order=i)
                              for i, q in enumerate(cfg.questions)])
    return cfg, answers, questions


@pytest.mark.parametrize("other_choice", [False, True])
def test_closed_positions_per_distinct_value_is_the_row_by_row_code(other_choice):
    from analysis.positions.stage import closed_positions

    cfg, answers, questions = _sample_ticks(other_choice)
    want = _closed_rowwise(answers, questions, cfg)
    got = closed_positions(answers, questions, cfg)
    assert len(want[0]) > 1000 and (len(want[1]) > 0) == other_choice
    pd.testing.assert_frame_equal(got[0], want[0], check_exact=True)
    pd.testing.assert_frame_equal(got[1], want[1], check_exact=True)


def test_closed_positions_names_the_first_response_with_a_bad_label_as_row_by_row():
    from analysis.errors import ConfigError
    from analysis.positions.stage import closed_positions

    cfg, answers, questions = _sample_ticks()
    q0 = answers.index[answers["question_id"] == cfg.closed_questions[1].id]
    answers.loc[q0[[40, 90]], "answer"] = ["Somewhat agree", "Kind of"]
    answers.loc[q0[20], "answer"] = "Kind of"
    errors = []
    for fn in (_closed_rowwise, closed_positions):
        with pytest.raises(ConfigError) as err:
            fn(answers, questions, cfg)
        errors.append(str(err.value))
    assert errors[0] == errors[1] and "Kind of" in errors[0]


def test_read_where_is_the_rows_of_the_whole_table(tmp_path):
    from analysis.tables import read_table, write_table

    cfg, answers, _ = _sample_ticks()
    write_table(answers, "core_answers", tmp_path)
    keep = [cfg.closed_questions[2].id, cfg.closed_questions[0].id, "absent"]
    whole = read_table("core_answers", tmp_path)
    want = whole[whole["question_id"].isin(keep)].reset_index(drop=True)
    got = read_table("core_answers", tmp_path, columns=["response_id", "question_id", "answer"],
                     where=("question_id", keep))
    pd.testing.assert_frame_equal(got, want[["response_id", "question_id", "answer"]], check_exact=True)
    assert read_table("core_answers", tmp_path, where=("question_id", [])).empty
