"""Campaign (form-letter) detection, templates, personal additions, reconciliation and the stage."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.campaigns.stage import (
    derive_template,
    describe_campaigns,
    detect,
    detect_submissions,
    find_campaigns,
    normalise,
    reconcile,
    run,
    split_sentences,
    strip_boilerplate,
)
from analysis.config import CampaignSettings, parse_config
from analysis.counts.rules import counting_units
from analysis.redaction import stage as redaction_stage
from analysis.tables import read_table, write_table

FIX = Path(__file__).parent / "fixtures" / "campaigns"
SEED = 20211


@pytest.fixture(scope="module")
def arguments() -> pd.DataFrame:
    return pd.read_csv(FIX / "argkp_arguments.csv")


def _s(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _typo(s: str, rng: random.Random) -> str:
    i = rng.randrange(5, len(s) - 5)
    return s[:i] + s[i + 1] + s[i] + s[i + 2:]


def _copy(template: list[str], personal: list[str], rng: random.Random) -> tuple[str, list[str]]:
    """A copy with greeting/sign-off, maybe a deleted sentence, a typo, and 1-3 personal sentences."""
    sents = list(template)
    if rng.random() < 0.3:
        sents.pop(rng.randrange(len(sents)))
    if rng.random() < 0.4:
        j = rng.randrange(len(sents))
        sents[j] = _typo(sents[j], rng)
    added = rng.sample(personal, rng.randint(1, 3))
    for p in added:
        sents.insert(rng.choice([0, len(sents)]), p)
    greet = rng.choice(["Dear Minister,\n", "Kia ora,\n", ""])
    sign = rng.choice(["\nKind regards,\nAroha", "\nNgā mihi, Sam", "\nSent from my iPhone", ""])
    return greet + " ".join(sents) + sign, added


def _corpus(arguments: pd.DataFrame, sizes: list[int], n_indep: int, seed: int = SEED):
    """Campaign copies built from fixture arguments plus independent responses from other arguments."""
    rng = random.Random(seed)
    pool = [_s(a) for a in arguments["argument"]]
    rng.shuffle(pool)
    templates = [pool[i * 6:(i + 1) * 6] for i in range(len(sizes))]
    rest = pool[len(sizes) * 6:]
    personal, indep_pool = rest[: len(rest) // 2], rest[len(rest) // 2:]
    texts, truth, added = [], [], []
    for c, n in enumerate(sizes):
        for _ in range(n):
            t, a = _copy(templates[c], personal, rng)
            texts.append(t)
            truth.append(c)
            added.append(a)
    for i in range(n_indep):  # each independent argument is used once: no shared passages
        k = 1 + i % 2
        texts.append(" ".join(indep_pool[:k]))
        indep_pool = indep_pool[k:] or rest[len(rest) // 2:]
        truth.append(-1)
        added.append(None)
    return texts, np.array(truth), templates, added


# --- normalisation ------------------------------------------------------------------------------


def test_boilerplate_is_stripped_but_body_kept():
    assert strip_boilerplate("Dear Minister,\nI oppose the bill. It is bad.\nKind regards,\nJohn Smith") == (
        "I oppose the bill. It is bad.")
    assert strip_boilerplate("Kia ora koutou, I support it.\nNgā mihi, Mere\nSent from my iPhone") == "I support it."
    assert strip_boilerplate("Hello. I think thanks are due to the council.") == "I think thanks are due to the council."
    assert strip_boilerplate("") == ""


def test_normalise_folds_case_punctuation_diacritics_and_splits_cjk():
    a = normalise("Dear Minister, PROTECT   the Māori  reserve!!\nRegards, [NAME]")
    b = normalise("protect the maori reserve")
    assert a == b
    assert normalise("我们反对这个法案") == "我 们 反 对 这 个 法 案"
    assert normalise("نحن نعارض هذا") .split() == ["نحن", "نعارض", "هذا"]


# --- detection ----------------------------------------------------------------------------------


def _pairwise(truth: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    same_t = (truth[:, None] == truth[None, :]) & (truth[:, None] >= 0)
    same_p = (pred[:, None] == pred[None, :]) & (pred[:, None] >= 0)
    iu = np.triu_indices(len(truth), 1)
    tp = (same_t & same_p)[iu].sum()
    return tp / max(1, same_p[iu].sum()), tp / max(1, same_t[iu].sum())


def test_near_copies_found_and_independents_left_alone(arguments):
    texts, truth, _, _ = _corpus(arguments, [5, 12, 30], 70)
    pred = find_campaigns(texts, CampaignSettings(), SEED)
    precision, recall = _pairwise(truth, pred)
    assert precision == 1.0
    assert recall >= 0.95
    assert (pred[truth < 0] == -1).all()
    assert len(set(pred[truth >= 0].tolist()) - {-1}) == 3


def test_min_size_is_respected(arguments):
    texts, truth, _, _ = _corpus(arguments, [4], 40)
    assert (find_campaigns(texts, CampaignSettings(min_size=5), SEED) == -1).all()
    pred = find_campaigns(texts, CampaignSettings(min_size=4), SEED)
    assert len(set(pred[truth == 0].tolist())) == 1 and (pred[truth == 0] >= 0).all()


def test_short_identical_answers_are_not_a_campaign():
    texts = ["I agree."] * 50 + ["Yes"] * 20
    assert (find_campaigns(texts, CampaignSettings(), SEED) == -1).all()


def test_exact_copies_collapse(arguments):
    letter = " ".join(_s(a) for a in arguments["argument"][:5])
    texts = [letter] * 7 + [letter.upper()] * 3 + [_s(a) for a in arguments["argument"][5:60]]
    pred = find_campaigns(texts, CampaignSettings(), SEED)
    assert len(set(pred[:10].tolist())) == 1 and pred[0] >= 0
    assert (pred[10:] == -1).all()


def test_chains_do_not_merge_unrelated_campaigns(arguments):
    rng = random.Random(3)
    pool = [_s(a) for a in arguments["argument"]]
    a_t, b_t = pool[:6], pool[6:12]
    personal = pool[12:80]
    texts, truth = [], []
    for c, tmpl in enumerate((a_t, b_t)):
        for _ in range(15):
            texts.append(_copy(tmpl, personal, rng)[0])
            truth.append(c)
    for i in range(4):  # bridges: a third of A + a third of B + own words link the two groups pairwise
        texts.append(" ".join(a_t[i:i + 2] + b_t[i:i + 2] + personal[-2 - i:]))
        truth.append(-1)
    pred = find_campaigns(texts, CampaignSettings(), SEED)
    truth = np.array(truth)
    labels_a, labels_b = set(pred[truth == 0].tolist()), set(pred[truth == 1].tolist())
    assert len(labels_a) == 1 and len(labels_b) == 1 and labels_a != labels_b and -1 not in labels_a | labels_b


def test_template_and_personal_additions(arguments):
    texts, truth, templates, added = _corpus(arguments, [30], 20, seed=5)
    settings = CampaignSettings()
    pred = find_campaigns(texts, settings, SEED)
    tmpl, adds = describe_campaigns(texts, pred, settings)
    (label,) = tmpl
    assert tmpl[label] == " ".join(templates[0])  # typos/deletions are minorities: the template is exact
    for i in np.flatnonzero(pred == label):
        assert adds[i] == " ".join(s for s in split_in_order(texts[i], added[i]))
    assert all(adds[i] is None for i in np.flatnonzero(pred < 0))


def split_in_order(text: str, sentences: list[str]) -> list[str]:
    return sorted(sentences, key=text.index)


def test_derive_template_orders_sentences_and_falls_back_to_medoid():
    bodies = ["A one here. B two here. C three here."] * 3 + ["A one here. C three here. Extra bit."]
    assert derive_template(bodies) == ["A one here.", "B two here.", "C three here."]
    assert derive_template(["Only x.", "Only y."], share=0.9) in (["Only x."], ["Only y."])


# --- detect / reconcile / submissions -----------------------------------------------------------


def _answers(arguments: pd.DataFrame) -> pd.DataFrame:
    texts, _, _, _ = _corpus(arguments, [6, 15], 30)
    texts2, _, _, _ = _corpus(arguments, [8], 43, seed=9)
    n = len(texts)
    rows = [{"response_id": f"R{i:04d}", "question_id": "q2", "answer": t, "language": "en"}
            for i, t in enumerate(texts)]
    rows += [{"response_id": f"R{i:04d}", "question_id": "q3", "answer": t, "language": "en"}
             for i, t in enumerate(texts2[:n])]
    rows += [{"response_id": f"R{i:04d}", "question_id": "q1", "answer": "Support", "language": "en"}
             for i in range(n)]
    df = pd.DataFrame(rows)
    df["text_redacted"] = df["answer"]
    return df


def test_detect_ids_flags_and_reconcile(arguments, tmp_path):
    answers = _answers(arguments)
    before = answers.copy()
    clean, camps = detect(answers, ["q2", "q3"], CampaignSettings(), SEED)
    pd.testing.assert_frame_equal(answers, before)
    assert list(camps["campaign_id"]) == [f"C{i:02d}" for i in range(1, len(camps) + 1)]
    assert list(camps["size"]) == sorted(camps["size"], reverse=True)
    for cid, size in zip(camps["campaign_id"], camps["size"], strict=True):
        members = clean[clean["campaign_id"] == cid]
        assert len(members) == size and members["is_campaign_copy"].all()
        assert members["personal_addition"].notna().all()
    non = clean[clean["campaign_id"].isna()]
    assert not non["is_campaign_copy"].any() and non["personal_addition"].isna().all()
    assert clean.loc[clean["question_id"] == "q1", "campaign_id"].isna().all()  # closed: never searched
    rec = reconcile(clean, camps).set_index("question_id")
    assert rec["balanced"].all()
    units = counting_units(clean, "unique")
    for qid in ("q2", "q3"):
        q = camps[camps["question_id"] == qid]
        assert rec.loc[qid, "n_all"] == (clean["question_id"] == qid).sum()
        assert rec.loc[qid, "n_unique"] == units.loc[units["question_id"] == qid, "unit_id"].nunique()
        assert rec.loc[qid, "n_all"] == rec.loc[qid, "n_unique"] + int((q["size"] - 1).sum())
    assert rec.loc["q1", "n_campaigns"] == 0
    # deterministic, byte-identical output
    p1 = write_table(clean, "core_answers_clean", tmp_path / "a").read_bytes()
    clean2, camps2 = detect(answers.sample(frac=1, random_state=1), ["q2", "q3"], CampaignSettings(), SEED)
    p2 = write_table(clean2, "core_answers_clean", tmp_path / "b").read_bytes()
    assert p1 == p2
    assert write_table(camps, "core_campaigns", tmp_path / "a").read_bytes() == write_table(
        camps2, "core_campaigns", tmp_path / "b").read_bytes()


def test_reconcile_detects_a_broken_table(arguments):
    clean, camps = detect(_answers(arguments), ["q2"], CampaignSettings(), SEED)
    broken = camps.copy()
    broken.loc[0, "size"] += 1
    assert not reconcile(clean, broken).set_index("question_id").loc["q2", "balanced"]


def test_whole_submission_campaigns(arguments):
    rng = random.Random(11)
    pool = [_s(a) for a in arguments["argument"]]
    rows = []
    for i in range(40):
        if i < 8:  # the same two-part letter split over q2 and q3
            parts = (" ".join(pool[:3]), " ".join(pool[3:6]) + " " + rng.choice(pool[20:]))
        else:
            parts = (" ".join(rng.sample(pool[20:], 2)), " ".join(rng.sample(pool[20:], 2)))
        for qid, text in zip(("q2", "q3"), parts, strict=True):
            rows.append({"response_id": f"R{i:03d}", "question_id": qid, "text_redacted": text})
    subs = detect_submissions(pd.DataFrame(rows), ["q2", "q3"], CampaignSettings(), SEED)
    assert sorted(subs["response_id"]) == [f"R{i:03d}" for i in range(8)]
    assert set(subs["campaign_id"]) == {"S01"} and set(subs["size"]) == {8}


# --- the stage, end to end, with hostile inputs --------------------------------------------------


def _write_inputs(arguments: pd.DataFrame, processed: Path) -> dict[str, str]:
    answers = _answers(arguments).drop(columns="text_redacted")
    extra = {
        "R0040": "",
        "R0041": "x",
        "R0042": "我们反对这个法案。请保护环境。我的电话是 021 123 4567。",
        "R0043": "نحن نعارض هذا القانون. اتصل بي على 021 123 4567",
        "R0044": "Kia ora, ko Mereana tōku ingoa. Me tiaki te whenua, te moana me ngā awa o Aotearoa. Ngā mihi.",
        "R0045": ("Protect the reserve. " * 500_000)[:10_000_000],
    }
    for rid, text in extra.items():
        answers.loc[(answers["response_id"] == rid) & (answers["question_id"] == "q3"), "answer"] = text
    rids = sorted(answers["response_id"].unique())
    responses = pd.DataFrame({
        "response_id": rids, "source_file": "export.csv", "source_row": range(1, len(rids) + 1),
        "channel": "online_survey", "submitted_at": pd.NaT, "respondent_type": "individual", "sector": None,
        "organisation": None, "consent": "publish_anonymous",
        "respondent_name": ["Mereana Walker" if r == "R0044" else None for r in rids],
        "respondent_email": [f"person{i}@example.com" for i in range(len(rids))],
    })
    answers.loc[answers["response_id"] == "R0010", "answer"] += " Email me: person10@example.com"
    questions = pd.DataFrame({
        "question_id": ["q1", "q2", "q3"], "text": ["Agree?", "Why?", "Anything else?"],
        "kind": ["closed", "open", "open"],
        "choices": [json.dumps({"Support": "support", "Oppose": "oppose"}), "{}", "{}"], "order": [0, 1, 2],
    })
    write_table(answers, "core_answers", processed)
    write_table(responses, "core_responses", processed)
    write_table(questions, "core_questions", processed)
    return extra


def test_run_end_to_end_with_hostile_texts(arguments, tmp_path):
    processed = tmp_path / "processed"
    extra = _write_inputs(arguments, processed)
    cfg = parse_config({
        "id": "t", "title": "t", "sources": [{"file": "export.csv", "format": "generic"}],
        "questions": [{"id": "q1", "text": "Agree?", "kind": "closed", "choices": {"Support": "support"}},
                      {"id": "q2", "text": "Why?", "kind": "open"}, {"id": "q3", "text": "Else?", "kind": "open"}],
    })
    redacted = redaction_stage.run(cfg, raw_dir=tmp_path / "raw", processed_dir=processed)
    assert {p.name for p in redacted} == {"core_answers_redacted.parquet", "core_redaction_log.parquet",
                                          "core_redaction_rejects.parquet"}
    assert read_table("core_redaction_rejects", processed).empty
    paths = run(cfg, raw_dir=tmp_path / "raw", processed_dir=processed)
    assert {p.name for p in paths} == {"core_answers_clean.parquet", "core_campaigns.parquet", "core_submission_campaigns.parquet"}
    clean = read_table("core_answers_clean", processed).set_index(["response_id", "question_id"])
    assert len(clean) == len(read_table("core_answers", processed))
    q3 = clean.xs("q3", level="question_id")
    assert q3.loc["R0040", "text_redacted"] == "" and q3.loc["R0041", "text_redacted"] == "x"
    assert "[PHONE]" in q3.loc["R0042", "text_redacted"] and "[PHONE]" in q3.loc["R0043", "text_redacted"]
    assert q3.loc["R0044", "text_redacted"].startswith("Kia ora, ko [NAME] tōku ingoa.")
    assert len(q3.loc["R0045", "text_redacted"]) == len(extra["R0045"])
    assert "person10@example.com" not in clean["text_redacted"].str.cat()
    log = read_table("core_redaction_log", processed)
    assert set(log["kind"]) >= {"EMAIL", "PHONE", "NAME"}
    camps = read_table("core_campaigns", processed)
    assert len(camps) >= 3 and reconcile(clean.reset_index(), camps)["balanced"].all()


def test_a_stock_sentence_many_people_use_is_not_a_campaign(arguments):
    pool = [_s(a) for a in arguments["argument"]]
    stock = "Cooperation should only ever be with countries that genuinely respect the rule of law."
    texts = [f"{pool[2 * i]} {stock} {pool[2 * i + 1]}" for i in range(40)]
    assert (find_campaigns(texts, CampaignSettings(), SEED) == -1).all()
    copies = [" ".join(pool[100:106]) + " " + pool[i] for i in range(10)]  # a real letter still is one
    assert len(set(find_campaigns(texts + copies, CampaignSettings(), SEED)[40:].tolist())) == 1


def test_a_lone_copy_in_another_question_joins_the_known_letter(arguments):
    rng = random.Random(4)
    pool = [_s(a) for a in arguments["argument"]]
    letter, personal = pool[:6], pool[6:60]
    rows = [{"response_id": f"S{i:02d}", "question_id": "q5", "text_redacted": _copy(letter, personal, rng)[0]}
            for i in range(12)]
    rows += [{"response_id": f"E{i:02d}", "question_id": "email", "text_redacted": " ".join(pool[60 + 2 * i:62 + 2 * i])}
             for i in range(10)]
    rows.append({"response_id": "E99", "question_id": "email", "text_redacted": _copy(letter, personal, rng)[0]})
    answers = pd.DataFrame(rows).assign(answer=lambda d: d["text_redacted"], language="en")
    clean, camps = detect(answers, ["q5", "email"], CampaignSettings(), SEED)
    by_q = camps.set_index("question_id")
    assert by_q.loc["q5", "size"] == 12 and by_q.loc["email", "size"] == 1
    assert by_q.loc["q5", "template"] == by_q.loc["email", "template"]
    assert sorted(split_sentences(by_q.loc["q5", "template"])) == sorted(split_sentences(" ".join(letter)))
    lone = clean.set_index("response_id").loc["E99"]
    assert lone["is_campaign_copy"] and lone["campaign_id"] == by_q.loc["email", "campaign_id"]
    assert clean.loc[clean["response_id"].str.startswith("E") & (clean["response_id"] != "E99"), "campaign_id"].isna().all()
    assert reconcile(clean, camps)["balanced"].all()


def test_signature_index_and_agreement_counts_match_a_full_comparison(arguments):
    """The shortcuts of the clustering loop give what comparing every text would give."""
    from analysis.campaigns.near_duplicates import ColumnIndex, MinHasher, _Heaviest, _heaviest, matches

    texts = [normalise(t) for t in arguments["argument"].astype(str).tolist()[:400]]
    texts += texts[:50]  # exact repeats: identical signatures
    sig, _n = MinHasher(128, 3, SEED).signatures(texts)
    full = np.count_nonzero(sig[:, None, :] == sig[None, :60, :], axis=2)
    assert np.array_equal(matches(sig[:, None, :], sig[None, :60, :]), full)
    index = ColumnIndex(sig)
    for ref in range(60):
        agree, counts = index.agreements(sig[ref])
        assert np.array_equal(agree, np.flatnonzero(full[:, ref]))
        assert np.array_equal(counts, full[agree, ref])
    rng = np.random.default_rng(SEED)
    weight = rng.integers(1, 4, len(texts))
    can = np.sort(rng.choice(len(texts), 200, replace=False))
    alive = np.zeros(len(texts), dtype=bool)
    alive[can] = True
    ranked = _Heaviest(can, weight)
    while alive.any():
        left = np.flatnonzero(alive)
        assert np.array_equal(ranked.top(alive, 10), _heaviest(left, weight, 10))
        alive[rng.choice(left, min(len(left), 17), replace=False)] = False


def test_alive_set_draws_what_a_draw_from_the_compacted_array_draws(monkeypatch):
    """Order-statistic draws (no compaction per centre) consume the generator and return texts exactly as
    ``rng.choice`` on the compacted array does, while texts die in uneven batches."""
    import analysis.campaigns.near_duplicates as nd
    from analysis.campaigns.near_duplicates import _AliveSet

    base = np.random.default_rng(SEED)
    monkeypatch.setattr(nd, "_SMALL", 1000)  # the blocks above it, the compacted array below
    for n, block in ((1, 16), (37, 4), (700, 16), (5000, 64)):
        alive = np.zeros(n + 50, dtype=bool)
        idx = np.sort(base.choice(n + 50, n, replace=False))
        alive[idx] = True
        fast, slow = np.random.default_rng(n), np.random.default_rng(n)
        live = _AliveSet(idx, alive, block=block)
        while len(live):
            left = idx[alive[idx]]
            assert len(live) == len(left) and np.array_equal(live.array(), left)
            for k in (1, 20, 100):
                k = min(k, len(left))
                assert np.array_equal(live.choice(fast, k), slow.choice(left, k, replace=False))
            assert np.array_equal(live.take(np.arange(len(left))), left)
            gone = base.choice(left, min(len(left), int(base.integers(1, 40))), replace=False)
            gone = np.concatenate([gone, np.setdiff1d(base.choice(n + 50, 3), idx)])  # texts outside the set
            gone = gone[alive[gone] | ~np.isin(gone, idx)]
            alive[gone] = False
            live.remove(gone)
        assert fast.integers(2**62) == slow.integers(2**62)  # same state after every draw


def test_run_with_whole_submissions_in_the_worker_writes_the_same_tables(arguments, tmp_path, monkeypatch, caplog):
    import logging

    import analysis.campaigns.stage as stage

    cfg = parse_config({
        "id": "t", "title": "t", "sources": [{"file": "export.csv", "format": "generic"}],
        "questions": [{"id": "q1", "text": "Agree?", "kind": "closed", "choices": {"Support": "support"}},
                      {"id": "q2", "text": "Why?", "kind": "open"}, {"id": "q3", "text": "Else?", "kind": "open"}],
    })
    out = {}
    for threshold in (10**9, 1):  # here, then in the worker
        processed = tmp_path / str(threshold)
        _write_inputs(arguments, processed)
        redaction_stage.run(cfg, raw_dir=tmp_path / "raw", processed_dir=processed)
        monkeypatch.setattr(stage, "PARALLEL_MIN_ANSWERS", threshold)
        with caplog.at_level(logging.WARNING, logger="analysis.campaigns.stage"):
            out[threshold] = {p.name: p.read_bytes() for p in run(cfg, raw_dir=tmp_path / "raw", processed_dir=processed)}
    assert "failed in the worker" not in caplog.text  # the worker did run
    assert out[1] == out[10**9]
    subs = read_table("core_submission_campaigns", tmp_path / "1")
    assert len(subs) and subs["campaign_id"].str.startswith("S").all()
