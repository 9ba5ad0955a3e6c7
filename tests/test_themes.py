"""Themes stage end to end on real ArgKP / Polis text: determinism, codebook edits, overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from test_themes_helpers import answers, argkp_answers, argkp_codebook, config, polis_texts

from analysis.counts.themes import theme_counts
from analysis.embeddings import TfidfSvdBackend
from analysis.errors import ConfigError, InputError
from analysis.tables import read_table, write_table
from analysis.themes import stage as themes
from analysis.themes.codebook import parse_codebook
from analysis.themes.discovery import discover

OUTPUTS = ["core_themes.parquet", "core_answer_themes.parquet", "out_theme_model.parquet"]


@pytest.fixture()
def dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_DATA_PROCESSED", str(tmp_path / "processed-root"))
    raw, proc = tmp_path / "raw", tmp_path / "proc"
    raw.mkdir()
    return raw, proc


def _run(cfg, raw, proc):
    themes.run(cfg, raw_dir=raw, processed_dir=proc)
    return {name: (proc / name).read_bytes() for name in OUTPUTS}


def _sets(proc) -> dict[str, set[str]]:
    at = read_table("core_answer_themes", proc)
    return {rid: set(g["theme_id"]) for rid, g in at.groupby("response_id")}


def test_discovery_is_deterministic_and_leaves_nothing_unassigned():
    texts = polis_texts()
    emb = TfidfSvdBackend(seed=5).fit(texts).encode(texts)
    a = discover(texts, emb, question_id="q1", seed=5)
    b = discover(texts, TfidfSvdBackend(seed=5).fit(texts).encode(texts), question_id="q1", seed=5)
    assert np.array_equal(a.labels, b.labels) and [t.label for t in a.topics] == [t.label for t in b.topics]
    assert (a.labels < 0).mean() < 0.10
    assert 2 <= len(a.topics) <= 30 and sum(t.size for t in a.topics) == len(texts)
    sizes = [t.size for t in a.topics]
    assert sizes == sorted(sizes, reverse=True)
    for t in a.topics:  # keywords are content words and the representatives come from the topic
        assert t.keywords and not {"the", "and", "of"} & set(t.keywords)
        members = {texts[i] for i in np.flatnonzero(a.labels == int(t.topic_id[1:]) - 1)}
        assert set(t.representative) <= members


def test_degenerate_inputs():
    be = TfidfSvdBackend(seed=1)
    empty = discover([], np.zeros((0, 4), np.float32))
    assert empty.topics == [] and len(empty.labels) == 0
    three = ["more money for rivers", "protect the birds", "less tax"]
    small = discover(three, be.fit(three).encode(three), min_answers=5)
    assert small.topics == [] and list(small.labels) == [-1, -1, -1]
    same = ["Protect our native birds."] * 12
    one = discover(same, TfidfSvdBackend(seed=1).fit(same).encode(same))
    assert len(one.topics) == 1 and set(one.labels) == {0} and one.topics[0].size == 12


def _bertopic_reference(texts, emb, k, seed):
    """What discovery ran before it stopped importing BERTopic: the BERTopic object, same configuration."""
    from bertopic import BERTopic
    from bertopic.vectorizers import ClassTfidfTransformer
    from sklearn.decomposition import PCA
    from sklearn.feature_extraction.text import CountVectorizer

    from analysis.themes.discovery import _kmeans, _relabel_by_size

    model = BERTopic(umap_model=PCA(n_components=int(min(50, emb.shape[1], len(texts) - 1)), svd_solver="full",
                                    random_state=seed),
                     hdbscan_model=_kmeans(k, seed),
                     vectorizer_model=CountVectorizer(stop_words="english", ngram_range=(1, 2), min_df=1),
                     ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True), calculate_probabilities=False,
                     top_n_words=10, verbose=False)
    raw = np.asarray(model.fit_transform(texts, embeddings=emb.copy())[0])
    labels = _relabel_by_size(raw)
    return labels, {int(labels[np.flatnonzero(raw == t)[0]]): [w for w, _ in model.get_topic(t) if w]
                    for t in sorted(set(raw.tolist()))}


@pytest.mark.slow
def test_discovery_reproduces_bertopic_without_importing_it():
    pytest.importorskip("bertopic")
    from analysis.themes.discovery import _bertopic

    for texts in (polis_texts(), argkp_answers()["text_redacted"].tolist()):
        emb = TfidfSvdBackend(seed=3).fit(texts).encode(texts)
        for k, seed in ((2, 0), (7, 3), (15, 20211)):
            labels, keywords = _bertopic(texts, emb, k, seed, None, None)
            ref_labels, ref_keywords = _bertopic_reference(texts, emb, k, seed)
            assert np.array_equal(labels, ref_labels) and keywords == ref_keywords


def test_run_degenerate_questions(dirs):
    raw, proc = dirs
    cfg = config(open_ids=("q1", "q2", "q3"))
    df = pd.concat([answers(["more money for rivers", "protect the birds", "less tax"], qid="q2", prefix="a"),
                    answers(["Protect our native birds."] * 8, qid="q3", prefix="b")], ignore_index=True)
    write_table(df, "core_answers_clean", proc)
    _run(cfg, raw, proc)
    at = read_table("core_answer_themes", proc)
    assert "q1" not in set(at["question_id"])  # no answers, no themes, no error
    assert set(at.loc[at["question_id"] == "q2", "theme_id"]) == {"other"}
    assert set(at.loc[at["question_id"] == "q3", "theme_id"]) == {"t01"}
    draft = yaml.safe_load((proc / "codebook_draft.yml").read_text())
    assert [t["id"] for t in draft["questions"]["q3"]["themes"]] == ["t01"]


def test_two_runs_identical_and_cache_reused(dirs, caplog):
    raw, proc = dirs
    cfg = config()
    write_table(argkp_answers(), "core_answers_clean", proc)
    first = _run(cfg, raw, proc)
    draft = (proc / "codebook_draft.yml").read_text()
    caplog.set_level("INFO", logger="analysis.embeddings")
    second = _run(cfg, raw, proc)
    assert first == second and draft == (proc / "codebook_draft.yml").read_text()
    assert "80 texts, 0 encoded, 80 from cache" in caplog.text
    at = read_table("core_answer_themes", proc)
    assert set(at["source"]) == {"discovered"} and at["response_id"].nunique() == 80
    assert (at["theme_id"] == "other").mean() < 0.10
    parse_codebook(yaml.safe_load(draft))


def test_codebook_edits_change_exactly_what_was_edited(dirs):
    raw, proc = dirs
    cfg = config()
    write_table(argkp_answers(), "core_answers_clean", proc)
    book = argkp_codebook()
    (raw / "codebook.yml").write_text(yaml.safe_dump(book))
    _run(cfg, raw, proc)
    before, themes_before = _sets(proc), read_table("core_themes", proc)
    assert (read_table("core_answer_themes", proc)["source"] == "assigned").all()
    target = next(r for r, s in sorted(before.items()) if "other" not in s)
    drop = sorted(before[target])[0]
    other_rid = next(r for r, s in sorted(before.items()) if s == {"other"})
    book["version"] = 2
    book["operations"] = [
        {"op": "merge", "question": "q1", "ids": ["kp_4_0", "kp_4_1"], "into": "expression_bullying"},
        {"op": "rename", "question": "q1", "id": "kp_4_6", "label": "Cost to families"},
    ]
    (raw / "codebook.yml").write_text(yaml.safe_dump(book))
    pd.DataFrame([
        {"response_id": target, "question_id": "q1", "theme_id": drop, "action": "remove", "note": "not said"},
        {"response_id": other_rid, "question_id": "q1", "theme_id": "kp_4_9", "action": "add", "note": "implied"},
    ]).to_csv(raw / "overrides.csv", index=False)
    edited = _run(cfg, raw, proc)
    after = _sets(proc)
    merge = {"kp_4_0": "expression_bullying", "kp_4_1": "expression_bullying"}
    for rid, s in before.items():
        expected = {merge.get(t, t) for t in s}
        if rid == target:
            expected = {merge.get(t, t) for t in s - {drop}} or {"other"}
        if rid == other_rid:
            expected = {"kp_4_9"}
        assert after[rid] == expected, rid
    at = read_table("core_answer_themes", proc)
    assert set(at.loc[at["source"] == "overridden", "response_id"]) == {other_rid} | (
        {target} if after[target] == {"other"} else set())
    t_after = read_table("core_themes", proc).set_index("theme_id")
    assert t_after.loc["kp_4_6", "label"] == "Cost to families"
    assert "expression_bullying" in t_after.index and "kp_4_0" not in t_after.index
    unchanged = themes_before.set_index("theme_id").drop(["kp_4_0", "kp_4_1", "kp_4_6"])
    pd.testing.assert_frame_equal(unchanged, t_after.drop(["expression_bullying", "kp_4_6"]).loc[unchanged.index])
    meta = read_table("out_theme_model", proc).set_index("theme_id")
    assert set(meta["codebook_version"]) == {"2"} and meta.loc["expression_bullying", "n_defining_texts"] == 1
    # overrides survive every re-run
    assert _run(cfg, raw, proc) == edited


def test_bad_codebook_and_overrides_stop_the_run(dirs):
    raw, proc = dirs
    cfg = config()
    write_table(argkp_answers(), "core_answers_clean", proc)
    book = argkp_codebook()
    book["operations"] = [{"op": "rename", "question": "q1", "id": "kp_9_9", "label": "x"}]
    (raw / "codebook.yml").write_text(yaml.safe_dump(book))
    with pytest.raises(ConfigError, match="unknown theme id 'kp_9_9'"):
        themes.run(cfg, raw_dir=raw, processed_dir=proc)
    book["operations"] = []
    book["questions"]["q1"]["themes"][0]["parent"] = "kp_4_1"
    book["questions"]["q1"]["themes"][1]["parent"] = "kp_4_0"
    (raw / "codebook.yml").write_text(yaml.safe_dump(book))
    with pytest.raises(ConfigError, match="cycle in parents"):
        themes.run(cfg, raw_dir=raw, processed_dir=proc)
    (raw / "codebook.yml").write_text(yaml.safe_dump(argkp_codebook()))
    pd.DataFrame([{"response_id": "arg_4_0", "question_id": "q1", "theme_id": "kp_4_0", "action": "add"},
                  {"response_id": "nobody", "question_id": "q1", "theme_id": "kp_4_0", "action": "add"}]
                 ).to_csv(raw / "overrides.csv", index=False)
    with pytest.raises(InputError, match=r"overrides.csv, row 2, column 'response_id'"):
        themes.run(cfg, raw_dir=raw, processed_dir=proc)


def test_split_delete_languages_campaigns_and_few_shot(dirs, caplog):
    raw, proc = dirs
    cfg = config()
    base = argkp_answers()
    mi = answers(["Me tiaki tātou i ngā manu me ngā awa", "He nui rawa te utu o ngā kākahu kura"], prefix="m",
                 language="mi")
    template = "School uniforms are expensive and a burden for poor families who cannot afford them."
    camp = answers([template] * 6, prefix="c")
    camp["campaign_id"] = "camp1"
    camp["is_campaign_copy"] = True
    camp.loc[0, "personal_addition"] = "Children should be able to express themselves through their clothes."
    write_table(pd.concat([base, mi, camp], ignore_index=True), "core_answers_clean", proc)
    write_table(pd.DataFrame({"campaign_id": ["camp1"], "question_id": ["q1"], "size": [6], "template": [template]}),
                "core_campaigns", proc)
    book = argkp_codebook()
    (raw / "codebook.yml").write_text(yaml.safe_dump(book))
    _run(cfg, raw, proc)
    before = _sets(proc)
    assert before["m000"] == before["m001"] == {"_untranslated"}
    copies = [before[f"c{i:03d}"] for i in range(6)]
    assert all(c == copies[1] for c in copies[2:]) and copies[0] >= copies[1]  # template themed once
    assert copies[0] != copies[1]  # the personal addition adds that respondent's own theme
    book["operations"] = [
        {"op": "split", "question": "q1", "id": "kp_4_6", "into": [
            {"id": "cost_parents", "label": "Cost to parents", "seed_phrases": ["parents pay", "families afford"]},
            {"id": "cost_school", "label": "Cost to schools", "seed_phrases": ["school budget", "programs"]}]},
        {"op": "delete", "question": "q1", "id": "kp_4_9"},
    ]
    (raw / "codebook.yml").write_text(yaml.safe_dump(book))
    _run(cfg, raw, proc)
    after = _sets(proc)
    for rid in before:  # the split re-scores only kp_4_6's answers; the delete sends kp_4_9's to other
        expected = before[rid] - {"kp_4_6", "kp_4_9", "other"}
        assert after[rid] - {"cost_parents", "cost_school", "other"} == expected, rid
        assert bool(after[rid] & {"cost_parents", "cost_school"}) == ("kp_4_6" in before[rid]), rid
        if before[rid] == {"kp_4_9"}:
            assert after[rid] == {"other"}
    # few-shot: analyst tags become examples (counted in the metadata); translations theme te reo answers
    args = base.iloc[:12]
    write_table(pd.DataFrame({"response_id": args["response_id"], "question_id": "q1",
                              "tag": ["kp_4_2"] * 6 + ["school uniforms SAVES costs"] * 6, "source_column": "x"}),
                "core_analyst_tags", proc)
    book["questions"]["q1"]["themes"][0]["translations"] = {"mi": ["manu", "awa", "kākahu"]}
    (raw / "codebook.yml").write_text(yaml.safe_dump(book))
    caplog.set_level("INFO", logger="analysis.themes")
    _run(cfg, raw, proc)
    tagged = _sets(proc)
    assert "_untranslated" not in tagged["m000"] | tagged["m001"]
    meta = read_table("out_theme_model", proc).set_index("theme_id")
    assert "12 analyst-coded answers used as few-shot examples" in caplog.text
    assert meta.loc["kp_4_2", "n_coded_answers"] == 6 and meta.loc["kp_4_3", "n_coded_answers"] == 6


def test_theme_counts_both_modes(dirs):
    raw, proc = dirs
    cfg = config()
    base = answers(["Protect rivers and wetlands from farm runoff."] * 3 + ["Lower taxes for small business."] * 2)
    camp = answers(["Protect rivers and wetlands from farm runoff now."] * 5, prefix="c")
    camp["campaign_id"], camp["is_campaign_copy"] = "k1", True
    ans = pd.concat([base, camp], ignore_index=True)
    at = pd.DataFrame({"response_id": ans["response_id"], "question_id": "q1",
                       "theme_id": ["rivers"] * 3 + ["tax"] * 2 + ["rivers"] * 5, "score": 0.5, "source": "assigned"})
    resp = pd.DataFrame({"response_id": ans["response_id"],
                         "respondent_type": ["individual"] * 4 + ["organisation"] + ["individual"] * 5})
    out = theme_counts(at, ans, resp, cfg)
    t = out[out["table"] == "theme"].set_index(["count_mode", "category"])
    assert t.loc[("all", "rivers"), "denominator"] == 10 and t.loc[("unique", "rivers"), "denominator"] == 6
    assert t.loc[("unique", "rivers"), "evidence_ids"].count(";") == 7  # all 8 responses behind the 4 units
    assert bool(t.loc[("unique", "rivers"), "suppressed"])  # 4 units < min_cell 5
    # all mode: tax (2) is hidden, and rivers + tax = 10 = the denominator, so rivers is hidden too (secondary
    # suppression): otherwise tax = 10 - 8 could be recovered
    assert bool(t.loc[("all", "tax"), "suppressed"]) and bool(t.loc[("all", "rivers"), "suppressed"])
    rt = out[(out["table"] == "theme_respondent_type") & (out["count_mode"] == "all")]
    assert set(rt["group"]) == {"individual", "organisation"}


def test_cli_themes_draft_writes_a_valid_codebook(dirs, monkeypatch):
    """``analysis themes draft`` discovers themes on the processed answers and writes an editable draft."""
    from typer.testing import CliRunner

    from analysis.cli import app
    from analysis.themes.codebook import load_codebook

    raw, proc = dirs
    root = raw.parent
    (root / "data-raw" / "mini").mkdir(parents=True)
    monkeypatch.setenv("ANALYSIS_DATA_RAW", str(root / "data-raw"))
    monkeypatch.setenv("ANALYSIS_DATA_PROCESSED", str(root / "data-processed"))
    cfg = config(open_ids=("q1",))
    (root / "data-raw" / "mini" / "consultation.yml").write_text(
        yaml.safe_dump(cfg.model_dump(mode="json", exclude_none=True)), encoding="utf-8")
    (root / "data-raw" / "mini" / "x.csv").write_text("q1\nsome answer\n", encoding="utf-8")
    target = root / "draft.yml"
    runner = CliRunner()
    missing = runner.invoke(app, ["themes", "draft", "mini", "--out", str(target)])
    assert missing.exit_code != 0 and "core_answers_clean" in missing.output and not target.exists()
    write_table(answers(polis_texts()[:80], qid="q1"), "core_answers_clean", root / "data-processed" / cfg.id)
    done = runner.invoke(app, ["themes", "draft", "mini", "--out", str(target)])
    assert done.exit_code == 0, done.output
    book = load_codebook(target)
    assert len(book.questions["q1"].themes) >= 2 and all(t.seed_phrases for t in book.questions["q1"].themes)

