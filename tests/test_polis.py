"""Pol.is reader, statement positions and theme support on a real (cut) conversation."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import ingest
from analysis.config import load_config, parse_config
from analysis.counts.rules import wilson_interval
from analysis.errors import ConfigError, InputError
from analysis.ingest.polis import polis_question_id, read_polis
from analysis.positions import stage as positions
from analysis.positions.polis_votes import statement_positions, theme_support
from analysis.tables import read_table, write_table

FIX = Path(__file__).parent / "fixtures" / "polis" / "biodiversity-small"
EXAMPLE = Path(__file__).parents[1] / "data" / "raw" / "polis-nz-biodiversity"


def _expected_from_votes_csv() -> pd.DataFrame:
    """Tallies computed independently: latest vote per (voter, statement) by timestamp."""
    v = pd.read_csv(FIX / "votes.csv").sort_values("timestamp", kind="mergesort")
    v = v.drop_duplicates(["voter-id", "comment-id"], keep="last")
    t = v.pivot_table(index="comment-id", columns="vote", values="voter-id", aggfunc="count", fill_value=0)
    t = t.rename(columns={1: "agrees", -1: "disagrees", 0: "passes"})
    t.index = "polis:" + t.index.astype(str)
    return t


def test_read_polis_keeps_accepted_statements_and_rejects_moderated_ones():
    tables, rejects = read_polis(FIX)
    com = pd.read_csv(FIX / "comments.csv")
    accepted = com[com["moderated"] != -1]
    ans = tables["core_answers"]
    assert sorted(ans["response_id"]) == sorted("polis:" + accepted["comment-id"].astype(str))
    assert set(ans["question_id"]) == {"statements"}
    assert dict(zip(ans["response_id"], ans["answer"], strict=True))[f"polis:{accepted['comment-id'].iloc[0]}"] == \
        accepted["comment-body"].iloc[0].strip()
    assert len(rejects) == (com["moderated"] == -1).sum() == 4
    assert set(rejects["reason"]) == {"moderated out"} and rejects["raw"].notna().all()
    assert rejects["file"].iloc[0] == "biodiversity-small/comments.csv"
    q = tables["core_questions"].iloc[0]
    assert q["kind"] == "open" and q["text"] == "Protecting and Restoring NZ’s Biodiversity"
    led = tables["ledger"].set_index("file")
    assert led.loc["biodiversity-small/comments.csv", "rows_read"] == 24
    assert led.loc["biodiversity-small/comments.csv", "rows_rejected"] == 4
    resp = tables["core_responses"]
    assert set(resp["respondent_type"]) == {"unknown"} and resp["submitted_at"].notna().all()


def test_votes_csv_tallies_match_an_independent_count():
    tables, _ = read_polis(FIX)
    sv = tables["core_statement_votes"].set_index("response_id")
    exp = _expected_from_votes_csv().reindex(sv.index, fill_value=0)
    assert (sv["votes_source"] == "votes.csv").all()
    for col in ("agrees", "disagrees", "passes"):
        assert sv[col].tolist() == exp[col].astype(int).tolist()
    assert (sv["n_voters"] == sv["agrees"] + sv["disagrees"] + sv["passes"]).all()
    assert sv["agrees"].sum() > 0


def test_without_votes_csv_the_participant_matrix_then_the_comment_tallies_are_used(tmp_path):
    conv = tmp_path / "conv"
    shutil.copytree(FIX, conv)
    full = read_polis(FIX)[0]["core_statement_votes"].set_index("response_id")
    (conv / "votes.csv").unlink()
    pv = read_polis(conv)[0]["core_statement_votes"].set_index("response_id")
    assert (pv["votes_source"] == "participants-votes.csv").all()
    assert pv[["agrees", "disagrees", "passes"]].equals(full[["agrees", "disagrees", "passes"]])
    (conv / "participants-votes.csv").unlink()
    tal = read_polis(conv)[0]["core_statement_votes"].set_index("response_id")
    com = pd.read_csv(FIX / "comments.csv").query("moderated != -1")
    assert (tal["votes_source"] == "comments.csv").all() and tal["passes"].isna().all()
    assert tal.loc["polis:" + com["comment-id"].astype(str), "agrees"].tolist() == com["agrees"].tolist()


def test_bad_input_is_named(tmp_path):
    with pytest.raises(InputError, match="comments.csv is missing"):
        read_polis(tmp_path)
    (tmp_path / "comments.csv").write_text("comment-id,moderated\n1,1\n")
    with pytest.raises(InputError) as err:
        read_polis(tmp_path)
    assert err.value.column == "comment-body"
    (tmp_path / "comments.csv").write_text("comment-id,moderated,comment-body\n1,1,Fine\n1,1,Again\nx,1,Bad id\n2,7,Odd\n")
    tables, rej = read_polis(tmp_path)
    assert list(tables["core_answers"]["response_id"]) == ["polis:1"]
    assert sorted(rej["row"].tolist()) == [3, 4, 5]
    assert any("duplicate comment-id 1" in r for r in rej["reason"])


def test_statement_positions_need_a_clear_majority():
    votes = pd.DataFrame({"response_id": ["polis:1", "polis:2", "polis:3", "polis:4"], "question_id": "statements",
                          "agrees": [90, 10, 6, 0], "disagrees": [10, 90, 5, 0], "passes": [3, 0, 1, 0],
                          "n_voters": [103, 100, 12, 0], "votes_source": "votes.csv"})
    got = statement_positions(votes).set_index("response_id")
    assert got["position"].to_dict() == {"polis:1": "support", "polis:2": "oppose", "polis:3": "unclear",
                                         "polis:4": "unclear"}
    assert got.loc["polis:1", "confidence"] == pytest.approx(0.9) and got.loc["polis:4", "confidence"] == 0.0
    assert set(got["source"]) == {"votes"}


def test_theme_support_pools_votes_of_a_themes_statements():
    votes = pd.DataFrame({"response_id": ["polis:1", "polis:2", "polis:3"], "question_id": "statements",
                          "agrees": [40, 10, 5], "disagrees": [10, 30, 5], "passes": [5, 2, pd.NA],
                          "n_voters": [55, 42, pd.NA], "votes_source": "votes.csv"})
    themes = pd.DataFrame({"response_id": ["polis:1", "polis:2", "polis:3", "polis:1"], "question_id": "statements",
                           "theme_id": ["pests", "pests", "water", "water"], "score": 1.0, "source": "assigned"})
    out = theme_support(votes, themes).set_index("theme_id")
    assert out.loc["pests", "n_statements"] == 2 and out.loc["pests", "agrees"] == 50
    assert out.loc["pests", "disagrees"] == 40 and out.loc["pests", "passes"] == 7
    assert out.loc["pests", "agree_share"] == pytest.approx(50 / 90)
    assert (out.loc["pests", "ci_low"], out.loc["pests", "ci_high"]) == pytest.approx(wilson_interval(50, 90))
    assert pd.isna(out.loc["water", "passes"]) and out.loc["water", "agree_share"] == pytest.approx(45 / 60)


def test_positions_run_on_a_polis_consultation(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(FIX, raw / "conversation")
    (raw / "consultation.yml").write_text(
        "id: p\ntitle: P\nsources:\n  - file: conversation\n    format: polis\n    question_id: statements\n"
        "questions:\n  - id: statements\n    text: Statements\n    kind: open\n")
    cfg = load_config(raw / "consultation.yml")
    tables, _ = read_polis(raw / "conversation", file_label="conversation")
    proc = tmp_path / "proc"
    for name in ("core_questions", "core_responses", "core_answers"):
        write_table(tables[name], name, proc)
    themes = pd.DataFrame({"response_id": tables["core_answers"]["response_id"].iloc[:6], "question_id": "statements",
                           "theme_id": ["a", "a", "a", "b", "b", "b"], "score": 1.0, "source": "assigned"})
    write_table(themes, "core_answer_themes", proc)
    # the votes table is ingest's: without it positions refuses rather than re-reading the raw export
    with pytest.raises(FileNotFoundError, match="core_statement_votes"):
        positions.run(cfg, raw_dir=raw, processed_dir=proc)
    write_table(tables["core_statement_votes"], "core_statement_votes", proc)
    written = {p.name for p in positions.run(cfg, raw_dir=raw, processed_dir=proc)}
    assert {"core_answer_positions.parquet", "out_theme_support.parquet"} <= written
    assert "core_statement_votes.parquet" not in written
    final = read_table("core_answer_positions", proc)
    assert len(final) == 20 and set(final["source"]) == {"votes"}
    sv = read_table("core_statement_votes", proc).set_index("response_id")
    sup = final.set_index("response_id")
    for rid, r in sup.iterrows():
        a, d = sv.loc[rid, "agrees"], sv.loc[rid, "disagrees"]
        if r["position"] == "support":
            assert wilson_interval(a, a + d)[0] > 0.5
        elif r["position"] == "oppose":
            assert wilson_interval(a, a + d)[1] < 0.5
    assert read_table("out_theme_support", proc)["theme_id"].tolist() == ["a", "b"]


def test_bundled_example_config_and_provenance():
    cfg = load_config(EXAMPLE / "consultation.yml")
    assert cfg.sources[0].format == "polis" and [q.id for q in cfg.open_questions] == ["statements"]
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    assert "0bc2ce0f32c673f68da20b57bce15c457aa787b5" in readme and "CC BY 4.0" in readme
    assert "https://compdemocracy.org/case-studies/2019-scoop-hivemind-biodiversity" in readme
    listed = dict(re.findall(r"\| `([\w\-.]+\.csv)` \|.*\| `([0-9a-f]{64})` \|", readme))
    assert set(listed) == {p.name for p in (EXAMPLE / "conversation").glob("*.csv")}
    for name, digest in listed.items():
        assert hashlib.sha256((EXAMPLE / "conversation" / name).read_bytes()).hexdigest() == digest
    tables, rejects = read_polis(EXAMPLE / "conversation")
    assert len(tables["core_answers"]) == 154 and len(rejects) == 162


def _polis_config(qids: tuple[str, ...] = ("statements",), **source) -> dict:
    return {"id": "p", "title": "P", "sources": [{"file": "conversation", "format": "polis", **source}],
            "questions": [{"id": q, "text": q, "kind": "open"} for q in qids]}


def test_polis_question_id_is_the_sources_or_the_only_open_question():
    cfg = parse_config(_polis_config())
    assert polis_question_id(cfg, cfg.sources[0]) == "statements"
    cfg = parse_config(_polis_config(("statements", "other")))
    with pytest.raises(ConfigError, match="conversation: a 'polis' source needs question_id"):
        polis_question_id(cfg, cfg.sources[0])
    cfg = parse_config(_polis_config(("statements", "other"), question_id="other"))
    assert polis_question_id(cfg, cfg.sources[0]) == "other"


def test_ingest_writes_statement_votes_and_drops_them_when_the_polis_source_goes(tmp_path):
    raw, proc = tmp_path / "raw", tmp_path / "proc"
    shutil.copytree(FIX, raw / "conversation")
    written = {p.name for p in ingest.run(parse_config(_polis_config()), raw_dir=raw, processed_dir=proc)}
    assert "core_statement_votes.parquet" in written
    sv = read_table("core_statement_votes", proc).set_index("response_id")
    exp = _expected_from_votes_csv().reindex(sv.index, fill_value=0)
    assert sv["agrees"].tolist() == exp["agrees"].astype(int).tolist() and sv["agrees"].sum() > 0
    assert set(sv.index) == set(read_table("core_answers", proc)["response_id"])
    (raw / "export.csv").write_text("id,Why?\nR1,Because rivers matter.\n", encoding="utf-8")
    cfg = parse_config({"id": "p", "title": "P", "questions": [{"id": "why", "text": "Why?", "kind": "open"}],
                        "sources": [{"file": "export.csv", "format": "generic", "id_column": "id",
                                     "columns": {"why": "Why?"}}]})
    written = {p.name for p in ingest.run(cfg, raw_dir=raw, processed_dir=proc)}
    assert "core_statement_votes.parquet" not in written and not (proc / "core_statement_votes.parquet").exists()
    assert positions.run(cfg, raw_dir=raw, processed_dir=proc)  # no Pol.is source: no votes table needed
