"""Codebook validation, operations log, draft round trip and overrides checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from test_themes_helpers import answers, polis_texts

from analysis.errors import ConfigError, InputError
from analysis.themes.codebook import load_codebook, load_overrides, parse_codebook
from analysis.themes.discovery import discover

BASE = {
    "version": 2,
    "questions": {"q1": {"themes": [
        {"id": "cost", "label": "Cost", "seed_phrases": ["too expensive"]},
        {"id": "price", "label": "Prices", "seed_phrases": ["prices rise"]},
        {"id": "env", "label": "Environment", "seed_phrases": ["rivers", "birds"]},
        {"id": "misc", "label": "Misc"},
        {"id": "water", "label": "Water", "parent": "env"},
    ]}},
}


def _with_ops(*ops):
    return {**BASE, "operations": list(ops)}


def test_operations_resolve_in_order():
    cb = parse_codebook(_with_ops(
        {"op": "merge", "question": "q1", "ids": ["cost", "price"], "into": "money", "label": "Money"},
        {"op": "rename", "question": "q1", "id": "money", "label": "Cost of living"},
        {"op": "split", "question": "q1", "id": "env", "into": [
            {"id": "env_land", "label": "Land", "seed_phrases": ["forest"]},
            {"id": "env_sea", "label": "Sea", "seed_phrases": ["ocean"]}]},
        {"op": "delete", "question": "q1", "id": "misc"},
    ))
    rq = cb.resolved("q1")
    assert rq.ids() == ["money", "env_land", "env_sea", "water"]
    money = rq.themes[0]
    assert money.label == "Cost of living" and money.seed_phrases == ["too expensive", "prices rise"]
    assert rq.themes[3].parent is None  # its parent was split: no single parent remains
    assert rq.resolve_id("cost") == "money" and rq.resolve_id("misc") == "other"
    with pytest.raises(KeyError, match="split into"):
        rq.resolve_id("env")
    # the base themes are kept untouched for assignment
    assert [t.id for t in cb.questions["q1"].themes] == ["cost", "price", "env", "misc", "water"]


@pytest.mark.parametrize("data, message", [
    (_with_ops({"op": "merge", "question": "q1", "ids": ["cost", "nope"], "into": "x"}),
     r"operation 1 \(merge\).*unknown theme id 'nope'"),
    (_with_ops({"op": "rename", "question": "q9", "id": "cost", "label": "x"}), r"unknown question 'q9'"),
    (_with_ops({"op": "merge", "question": "q1", "ids": ["cost", "price"], "into": "x"},
               {"op": "delete", "question": "q1", "id": "cost"}), r"operation 2 \(delete\).*unknown theme id 'cost'"),
    ({"questions": {"q1": {"themes": [{"id": "a", "label": "A"}, {"id": "a", "label": "B"}]}}},
     r"duplicate theme id\(s\) \['a'\]"),
    ({"questions": {"q1": {"themes": [{"id": "a", "label": "A", "parent": "b"}, {"id": "b", "label": "B", "parent": "c"},
                                      {"id": "c", "label": "C", "parent": "a"}]}}}, r"cycle in parents: a -> b -> c -> a"),
    ({"questions": {"q1": {"themes": [{"id": "a", "label": "A", "parent": "zz"}]}}}, r"unknown parent 'zz'"),
    ({"questions": {"q1": {"themes": [{"id": "other", "label": "A"}]}}}, r"reserved"),
    (_with_ops({"op": "explode", "question": "q1", "id": "cost"}), r"operations\.0"),
])
def test_invalid_codebooks_name_the_problem(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_codebook(data, "codebook.yml")


def test_load_codebook_errors(tmp_path):
    with pytest.raises(ConfigError, match="codebook not found"):
        load_codebook(tmp_path / "codebook.yml")
    (tmp_path / "codebook.yml").write_text("questions: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_codebook(tmp_path / "codebook.yml")


def test_draft_codebook_round_trips():
    from analysis.embeddings import TfidfSvdBackend
    from analysis.themes.codebook import draft_codebook

    texts = polis_texts()
    emb = TfidfSvdBackend(seed=3).fit(texts).encode(texts)
    disc = discover(texts, emb, question_id="q1", seed=3)
    text = draft_codebook([disc], consultation="polis")
    cb = parse_codebook(yaml.safe_load(text))
    rq = cb.resolved("q1")
    assert rq.ids() == [t.topic_id for t in disc.topics] and len(rq.ids()) >= 2
    assert all(t.examples and t.seed_phrases for t in rq.themes)
    assert all(ex in texts for t in rq.themes for ex in t.examples)


def _overrides(tmp_path, rows):
    path = tmp_path / "overrides.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_overrides_checked_row_by_row(tmp_path):
    cb = parse_codebook(_with_ops({"op": "merge", "question": "q1", "ids": ["cost", "price"], "into": "money"}))
    ans = answers(["a b c", "d e f"])
    resolved = {"q1": cb.resolved("q1")}
    ok = load_overrides(_overrides(tmp_path, [
        {"response_id": "r000", "question_id": "q1", "theme_id": "cost", "action": "add", "note": "merged id"},
        {"response_id": "r001", "question_id": "q1", "theme_id": "env", "action": "REMOVE", "note": ""}]), ans, resolved)
    assert ok["theme_id"].tolist() == ["money", "env"] and ok["action"].tolist() == ["add", "remove"]
    bad = [
        ({"response_id": "r999", "question_id": "q1", "theme_id": "env", "action": "add"}, "row 2, column 'response_id'"),
        ({"response_id": "r000", "question_id": "q1", "theme_id": "nope", "action": "add"}, "row 2, column 'theme_id'"),
        ({"response_id": "r000", "question_id": "q7", "theme_id": "env", "action": "add"}, "row 2, column 'question_id'"),
        ({"response_id": "r000", "question_id": "q1", "theme_id": "env", "action": "flip"}, "row 2, column 'action'"),
    ]
    good = {"response_id": "r000", "question_id": "q1", "theme_id": "env", "action": "add"}
    for row, where in bad:
        with pytest.raises(InputError, match=where):
            load_overrides(_overrides(tmp_path, [good, row]), ans, resolved)
    assert load_overrides(tmp_path / "absent.csv", ans, resolved).empty
    assert np.all(ok["row"].to_numpy() == [1, 2])
