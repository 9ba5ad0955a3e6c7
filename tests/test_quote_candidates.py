"""The quote candidates (one row per answer and theme, consent applied, each text trimmed) against the former
row-by-row computation they replace, on the sample and on a generated consultation with campaign copies."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from generated_consultation import generate

from analysis.report import quotes
from analysis.report.publishable import publishable_text, values


def _former_candidates(answers_clean: pd.DataFrame, answer_themes: pd.DataFrame, answer_positions: pd.DataFrame | None,
                responses: pd.DataFrame, max_chars: int) -> pd.DataFrame:
    keep = ["response_id", "question_id", "text_redacted", "personal_addition", "campaign_id", "is_campaign_copy"]
    c = answer_themes[["response_id", "question_id", "theme_id", "score"]].merge(
        answers_clean[keep], on=["response_id", "question_id"], how="inner")
    if answer_positions is not None and len(answer_positions):
        c = c.merge(answer_positions[["response_id", "question_id", "position"]],
                    on=["response_id", "question_id"], how="left")
    else:
        c["position"] = None
    c = publishable_text(c, responses)  # consent, redacted text only, safe attribution
    rows = []
    trims: dict[str, quotes.Trimmed | None] = {}  # an answer raising several themes, or a campaign copy, is trimmed once

    def trim(t: str) -> quotes.Trimmed | None:
        if t not in trims:
            trims[t] = quotes.trim_quote(t, max_chars)
        return trims[t]

    names = ("text_redacted", "is_campaign_copy", "campaign_id", "personal_addition", "position", "attribution",
             "question_id", "theme_id", "response_id", "score")
    for rec in (dict(zip(names, row, strict=True)) for row in zip(*(values(c[k]) for k in names), strict=True)):
        text = rec["text_redacted"] if isinstance(rec["text_redacted"], str) else ""
        is_copy = bool(rec["is_campaign_copy"]) and isinstance(rec["campaign_id"], str)
        trimmed, letter = None, False
        if is_copy:
            add = rec["personal_addition"]
            if isinstance(add, str) and add.strip():
                t = trim(add)
                if t is not None and t.text in text:
                    start = text.index(t.text)
                    trimmed = quotes.Trimmed(t.text, start, start + len(t.text), bool(text[:start].strip()),
                                      bool(text[start + len(t.text):].strip()))
            if trimmed is None:
                letter = True
        if trimmed is None:
            trimmed = trim(text)
        if trimmed is None or not quotes._WORD.search(trimmed.text):
            continue
        pos = rec["position"] if isinstance(rec["position"], str) else None
        attrib = rec["attribution"]
        if letter:
            attrib = f"{attrib} (campaign letter)"
        rows.append(dict(question_id=str(rec["question_id"]), theme_id=str(rec["theme_id"]), position=pos,
                         response_id=str(rec["response_id"]), score=float(rec["score"]),
                         trimmed=trimmed, attribution=attrib, campaign_id=rec["campaign_id"] if is_copy else None,
                         is_campaign_letter=letter))
    return pd.DataFrame(rows)



def _same(answers_clean, answer_themes, answer_positions, responses, max_chars=300) -> pd.DataFrame:
    new = quotes._candidates(answers_clean, answer_themes, answer_positions, responses, max_chars)
    former = _former_candidates(answers_clean, answer_themes, answer_positions, responses, max_chars)
    pd.testing.assert_frame_equal(new, former, check_exact=True)
    return new


def test_candidates_match_the_former_rows_on_the_sample(sample_results) -> None:
    from analysis import paths
    from analysis.report.load import load_tables

    t = load_tables(paths.processed_dir("sample"))
    cand = _same(t["core_answers_clean"], t["core_answer_themes"], t.get("core_answer_positions"),
                 t["core_responses"])
    assert len(cand) > 100 and cand["is_campaign_letter"].any() and cand["campaign_id"].notna().any()
    assert _same(t["core_answers_clean"], t["core_answer_themes"], None, t["core_responses"], 80).shape[0] > 100


def _generated(n: int, seed: int = 5) -> dict[str, pd.DataFrame]:
    """Answers of a generated consultation, made into quote inputs: campaign copies with personal additions (in
    the text, elsewhere, blank, with a redaction token), several themes per answer, every kind of consent."""
    g = generate(n, seed)
    rnd = random.Random(seed)
    a = g.answers.copy()
    copy = a["truth"] != ""
    adds = []
    for text, c in zip(a["text_redacted"], copy, strict=True):
        r = rnd.random()
        last = text.strip().split(". ")[-1] if c else None
        adds.append(None if not c else last if r < 0.5 else "" if r < 0.6 else "Not in the text at all." if r < 0.7
                    else f"{last} [EMAIL]" if r < 0.8 else "..." if r < 0.85 else last)
    texts = [f"{t} Contact [EMAIL]." if rnd.random() < 0.1 else t for t in a["text_redacted"]]
    answers = pd.DataFrame(dict(response_id=a["response_id"], question_id=a["question_id"],
                                text_redacted=pd.array(texts, dtype="str"), personal_addition=adds,
                                campaign_id=np.where(copy, a["truth"], None), is_campaign_copy=copy))
    themes = [(r, q, f"t{k}", round(rnd.random(), 2)) for r, q in zip(a["response_id"], a["question_id"], strict=True)
              for k in rnd.sample(range(6), rnd.randint(0, 3))]
    answer_themes = pd.DataFrame(themes, columns=["response_id", "question_id", "theme_id", "score"])
    positions = pd.DataFrame(dict(response_id=a["response_id"], question_id=a["question_id"],
                                  position=[rnd.choice(["support", "oppose", "neutral", None]) for _ in range(len(a))]))
    ids = sorted(set(a["response_id"]))
    responses = pd.DataFrame(dict(
        response_id=ids, respondent_type=[rnd.choice(["individual", "organisation", "unknown"]) for _ in ids],
        sector=[rnd.choice(["health", None]) for _ in ids], organisation=[rnd.choice(["Clinic Trust", None]) for _ in ids],
        consent=[rnd.choice(["publish_named", "publish_anonymous", "do_not_publish"]) for _ in ids]))
    return dict(answers_clean=answers, answer_themes=answer_themes, answer_positions=positions, responses=responses)


@pytest.mark.parametrize("max_chars", [300, 60])
def test_candidates_match_the_former_rows_on_a_generated_consultation(max_chars) -> None:
    f = _generated(1500)
    cand = _same(f["answers_clean"], f["answer_themes"], f["answer_positions"], f["responses"], max_chars)
    assert cand["is_campaign_letter"].any() and (cand["campaign_id"].notna() & ~cand["is_campaign_letter"]).any()
    assert cand["trimmed"].map(lambda t: t.has_redaction).any()
    q = quotes.select_quotes(f["answers_clean"], f["answer_themes"], f["answer_positions"], f["responses"], seed=3)
    assert len(q) > 20


def test_stored_trims_give_the_rows_of_a_fresh_trim(tmp_path) -> None:
    """The trim store (kept between report runs) against trimming every text, on real quote inputs: a first run
    fills it, a second reads every trim from it, both give the rows of the code it replaces; a different
    ``max_chars`` never reads the other's trims; the store is rewritten with the last run's texts only."""
    f = _generated(1500)
    args = (f["answers_clean"], f["answer_themes"], f["answer_positions"], f["responses"])
    former = _former_candidates(*args, 300)
    first = quotes._candidates(*args, 300, trim_store=tmp_path)
    (path,) = tmp_path.glob("trims-300-*.npy")
    again = quotes._candidates(*args, 300, trim_store=tmp_path)
    pd.testing.assert_frame_equal(first, former, check_exact=True)
    pd.testing.assert_frame_equal(again, former, check_exact=True)
    short = quotes._candidates(*args, 60, trim_store=tmp_path)  # another length: its own file, the other removed
    pd.testing.assert_frame_equal(short, _former_candidates(*args, 60), check_exact=True)
    assert not path.exists() and len(list(tmp_path.glob("trims-60-*.npy"))) == 1
    fewer = {k: v[f["answers_clean"]["question_id"] != f["answers_clean"]["question_id"].iloc[0]]
             if k == "answers_clean" else v for k, v in f.items()}
    quotes._candidates(fewer["answers_clean"], *args[1:], 60, trim_store=tmp_path)
    store = quotes.TrimStore(tmp_path, 60)
    assert set(store.stored) and set(store.stored) <= {quotes.text_key(t) for t in set(
        fewer["answers_clean"]["text_redacted"]) | set(fewer["answers_clean"]["personal_addition"].dropna())}


def test_a_stored_trim_is_what_is_used_and_a_changed_module_starts_afresh(tmp_path, monkeypatch) -> None:
    """The store is read (a planted trim shows in the rows), and a store written by other trimming rules (another
    source of the module) is not: its file name carries the module's hash."""
    f = _generated(300)
    args = (f["answers_clean"], f["answer_themes"], f["answer_positions"], f["responses"], 300)
    quotes._candidates(*args, trim_store=tmp_path)
    (path,) = tmp_path.glob("trims-300-*.npy")
    stored = np.load(path)
    row = {k: i for i, k in enumerate(stored["key"].tolist())}
    cand = quotes._candidates(*args)
    text = next(t for t in f["answers_clean"]["text_redacted"] if quotes.text_key(t) in row
                and stored["start"][row[quotes.text_key(t)]] >= 0 and len(t) > 9
                and t in set(cand["trimmed"].map(lambda x: x.text)))
    i = row[quotes.text_key(text)]
    stored["start"][i], stored["end"][i], stored["leading"][i], stored["trailing"][i] = 2, 9, True, True
    np.save(path, stored)  # a planted span: the quote is text[2:9]
    got = quotes._candidates(*args, trim_store=tmp_path)
    assert (2, 9) in set(got["trimmed"].map(lambda x: (x.start, x.end)))
    assert any((x.text, x.leading, x.trailing) == (text[2:9], True, True) for x in got["trimmed"])
    # the same store, read by a module whose source differs: a new file, the planted trim is not used
    real = quotes.Path.read_bytes
    monkeypatch.setattr(quotes.Path, "read_bytes",
                        lambda self: real(self) + b"# changed" if self == quotes.Path(quotes.__file__) else real(self))
    pd.testing.assert_frame_equal(quotes._candidates(*args, trim_store=tmp_path), cand, check_exact=True)
    monkeypatch.undo()
    assert not path.exists()
    quotes._candidates(*args, trim_store=tmp_path)  # the module's own file again
    stored = np.load(path)
    stored["end"][i] = len(text) + 1  # a span beyond its text (a damaged file): trimmed again
    np.save(path, stored)
    pd.testing.assert_frame_equal(quotes._candidates(*args, trim_store=tmp_path), cand, check_exact=True)
