"""analysis.themes.rows: the stage's per-answer bookkeeping done once per distinct text gives what it replaced (#18).

Each fast path is compared with the code it replaced (kept here verbatim as ``_old_*``) on real answers (the ArgKP
and Pol.is fixtures) made into two questions with campaign copies, placeholders, blanks and missing values, in
pandas' Arrow-backed ``str`` columns and in object columns.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from test_themes_helpers import argkp_answers, polis_texts

from analysis.themes import fit, rows
from analysis.themes.fit import (
    PLACEHOLDER_MAX_WORDS,
    PLACEHOLDER_MIN_COUNT,
    PLACEHOLDER_MIN_SHARE,
    _split,
    _units,
    find_placeholders,
    has_content,
    normalise,
)


def _old_find_placeholders(answers: pd.DataFrame) -> dict[str, int]:
    if answers.empty:
        return {}
    texts = answers["text_redacted"].fillna("").astype(str)
    key = texts.map({t: normalise(t) for t in dict.fromkeys(texts)})  # each distinct text once
    short = key.str.count(" ").lt(PLACEHOLDER_MAX_WORDS) & key.ne("")
    df = pd.DataFrame({"q": answers["question_id"].to_numpy(), "key": key.to_numpy()})[short.to_numpy()]
    n_q = answers.groupby("question_id").size()
    counts = df.groupby(["q", "key"]).size().rename("n").reset_index()
    if counts.empty:
        return {}
    n_answers = counts["q"].map(n_q).astype(float)  # numbers, whatever string type the ids came in
    counts = counts[(counts["n"] >= PLACEHOLDER_MIN_COUNT) & (counts["n"] >= PLACEHOLDER_MIN_SHARE * n_answers)]
    spread = counts.groupby("key").agg(questions=("q", "nunique"), n=("n", "sum"))
    found = spread[spread["questions"] >= 2]
    return {str(k): int(n) for k, n in found["n"].items()}


def _old_themable(text, placeholders, seen: dict[str, bool]) -> bool:
    text = str(text)
    if text not in seen:
        seen[text] = has_content(text) and normalise(text) not in placeholders
    return seen[text]


def _old_units(q: pd.DataFrame, campaigns: pd.DataFrame | None, covered: set[str],
               placeholders: frozenset[str] | set[str] = frozenset()):
    templates = {}
    if campaigns is not None and len(campaigns):
        templates = dict(zip(campaigns["campaign_id"].astype(str), campaigns["template"].astype(str), strict=True))
    units, owners, untranslated, blank = {}, [], [], []
    seen: dict[str, bool] = {}
    content: dict[str, bool] = {}
    for r in q.itertuples(index=False):
        rid = str(r.response_id)
        if str(r.language or "") not in covered:
            untranslated.append(rid)
            continue
        is_copy = bool(r.is_campaign_copy) and isinstance(r.campaign_id, str) and r.campaign_id
        if is_copy:
            key = f"campaign:{r.campaign_id}"
            if key not in units:
                units[key] = templates.get(r.campaign_id) or str(r.text_redacted)
            owners.append((key, rid))
            extra = r.personal_addition if isinstance(r.personal_addition, str) else ""
            if extra not in content:
                content[extra] = has_content(extra)
            if content[extra]:
                units[f"own:{rid}"] = extra
                owners.append((f"own:{rid}", rid))
        elif _old_themable(r.text_redacted, placeholders, seen):
            units[f"own:{rid}"] = str(r.text_redacted)
            owners.append((f"own:{rid}", rid))
        else:
            blank.append(rid)
    udf = pd.DataFrame({"unit": list(units), "text": list(units.values())}, dtype=object)
    return udf, pd.DataFrame(owners, columns=["unit", "response_id"]), untranslated, blank


def _old_split_hash(q: pd.DataFrame, campaigns: pd.DataFrame | None, covered, placeholders, with_sentences) -> str:
    cols = ["response_id", "language", "is_campaign_copy", "campaign_id", "personal_addition", "text_redacted"]
    h = hashlib.sha256(f"units-v1:{sorted(covered)}:{sorted(placeholders)}:{with_sentences}".encode())
    frames = [(q, cols)] + ([(campaigns, ["campaign_id", "template"])] if campaigns is not None else [])
    for frame, names in frames:
        for c in names:
            h.update(f"\x1e{c}:{frame[c].dtype}\x1e".encode())
            h.update("\x1f".join("\x00" if not isinstance(v, str) and pd.isna(v) else repr(v) for v in frame[c].tolist())
                     .encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


def _answers(arrow: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two questions of real answers: plain ones, campaign copies with additions, placeholders, blanks, gaps."""
    args = argkp_answers()["text_redacted"].tolist()
    polis = polis_texts()
    template = " ".join(args[:12])
    rows_: list[dict] = []
    for qid, texts in (("q1", (args * 4)[:300]), ("q2", (polis * 3)[:300])):
        for i, t in enumerate(texts):
            rid = f"r{i:04d}"
            lang = ["en", "und", None, "mi", float("nan"), ""][i % 6]
            if i % 4 == 0:  # a campaign copy: the template with a personal addition (repeated, or none)
                extra = [args[i % 9], None, "", "Thanks.", polis[i % 5] + " " + args[i % 3]][i % 5]
                rows_.append(dict(response_id=rid, question_id=qid, language=lang, is_campaign_copy=True,
                                  campaign_id="c1" if i % 8 else "c2", personal_addition=extra,
                                  text_redacted=template + (" " + extra if extra else "")))
                continue
            if i % 7 == 0:
                t = ["Did not answer", "did NOT answer!", "N/A", "No response given", None, "-"][i % 6]
            elif i % 11 == 0:
                t = texts[0]  # a repeated answer
            rows_.append(dict(response_id=rid, question_id=qid, language=lang, is_campaign_copy=False,
                              campaign_id=None if i % 2 else float("nan"), personal_addition=None, text_redacted=t))
    df = pd.DataFrame(rows_)
    campaigns = pd.DataFrame({"campaign_id": ["c1", "c2"], "question_id": ["q1", "q1"], "size": [3, 2],
                              "template": [template, args[20]]})
    if arrow:
        for c in ("response_id", "question_id", "language", "campaign_id", "personal_addition", "text_redacted"):
            df[c] = df[c].astype("str")
    else:
        df = df.astype({c: object for c in df.columns if c != "is_campaign_copy"})
    return df, campaigns


def _assert_units_equal(got, want):
    for g, w in zip(got[:2], want[:2], strict=True):
        pd.testing.assert_frame_equal(g, w)
    assert got[2:] == want[2:]


@pytest.fixture(params=[rows.CHUNK, 7], ids=["chunk", "chunk7"])
def chunk(request, monkeypatch):
    """Rows converted a chunk at a time: the default size, and 7 rows (many chunks, a short last one)."""
    monkeypatch.setattr(rows, "CHUNK", request.param)
    return request.param


@pytest.mark.parametrize("arrow", [True, False])
def test_placeholders_are_found_as_before(arrow, chunk):
    """Same placeholders and counts (same order), long letters never normalised."""
    df, _ = _answers(arrow)
    found = find_placeholders(df)
    assert found == _old_find_placeholders(df) and list(found) == list(_old_find_placeholders(df))
    assert "did not answer" in found  # the fixture does hold one
    assert find_placeholders(df.iloc[:0]) == _old_find_placeholders(df.iloc[:0]) == {}
    sample = df[df["question_id"] == "q1"]  # one question: nothing is a placeholder
    assert find_placeholders(sample) == _old_find_placeholders(sample) == {}


def test_no_character_lower_cases_to_a_space_or_to_nothing():
    """What :func:`analysis.themes.fit._short_key` relies on: a key has one space per word after the first."""
    chars = (chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert [c for c in chars if c != " " and (" " in c.lower() or c.lower() == "")] == []


def test_short_keys_are_the_normalised_texts_of_few_words():
    texts = argkp_answers()["text_redacted"].tolist()[:200] + polis_texts()[:200] + [
        "", "-", "Did not answer", "one two three four five six", "one two three four five six seven",
        "ΟΔΟΣ ΟΔΟΣ", "a-b c'd e’f g h i", "1 2 3 4 5 6 7 8 word"]
    for t in texts:
        k = normalise(t)
        want = k if k != "" and k.count(" ") < PLACEHOLDER_MAX_WORDS else None
        assert fit._short_key(t) == want


@pytest.mark.parametrize("arrow", [True, False])
@pytest.mark.parametrize("placeholders", [frozenset(), frozenset({"did not answer", "n a", "no response given"}),
                                          frozenset({""}), frozenset({"a placeholder of very many words indeed"})])
def test_units_are_split_as_before(arrow, placeholders, chunk):
    """Same units, owners, untranslated and blank answers, question by question."""
    df, campaigns = _answers(arrow)
    for qid in ("q1", "q2"):
        q = df[df["question_id"] == qid]
        for covered in ({"en", "und", ""}, {"en", "und", "", "mi", "nan"}):
            _assert_units_equal(_units(q, campaigns, covered, placeholders),
                                _old_units(q, campaigns, covered, placeholders))
        _assert_units_equal(_units(q, None, {"en", "und", ""}, placeholders),
                            _old_units(q, None, {"en", "und", ""}, placeholders))


@pytest.mark.parametrize("arrow", [True, False])
def test_cache_keys_are_the_ones_before(arrow, tmp_path, chunk):
    """The units' cache files are named by the hash of the columns' Arrow buffers (``test_themes_discovery_rows.py``),
    the reprs' hash being what other columns still feed it: the same values give the same file, another text another
    one. (The placeholders are no longer kept: the stage finds them as it reads the answers, ``themes/reading.py``.)"""
    from analysis.themes import fitcache

    df, campaigns = _answers(arrow)
    q = df[df["question_id"] == "q1"]
    with fitcache.stored_in(tmp_path):
        _split(q, campaigns, {"en", "und", ""}, frozenset({"n a"}), True)
        assert len(list((tmp_path / "units").iterdir())) == 1
        _split(q.copy(), campaigns, {"en", "und", ""}, frozenset({"n a"}), True)
        assert len(list((tmp_path / "units").iterdir())) == 1  # the same values: the same file
        edited = q.assign(text_redacted=q["text_redacted"].where(q.index != q.index[0], "an edited answer"))
        _split(edited, campaigns, {"en", "und", ""}, frozenset({"n a"}), True)
    assert len(list((tmp_path / "units").iterdir())) == 2  # another text: another key
    for c in ("response_id", "campaign_id", "is_campaign_copy", "text_redacted"):
        assert rows.repr_joined(q[c]) == "\x1f".join(
            "\x00" if not isinstance(v, str) and pd.isna(v) else repr(v) for v in q[c].tolist())
    h1, h2 = hashlib.sha256(), hashlib.sha256()
    texts = df["text_redacted"].fillna("").astype(str)
    rows.hash_strings(h1, texts)
    for v in texts:
        h2.update(v.encode("utf-8", "surrogatepass") + b"\x1f")
    assert h1.hexdigest() == h2.hexdigest()


@pytest.mark.parametrize("arrow", [True, False])
def test_column_values_are_what_iterating_gives(arrow):
    df, _ = _answers(arrow)
    for c in df.columns:
        got, want = rows.values(df[c]).tolist(), list(df[c])
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert type(g) is type(w) and (g == w or (pd.isna(g) and pd.isna(w)))


def test_quotable_units_are_the_ones_isin_found():
    """theme_question's consenting owners -> quotable units -> label_ok, as Series.isin gave them."""
    df, campaigns = _answers(True)
    units, owners, _, _ = _units(df[df["question_id"] == "q1"], campaigns, {"en", "und", "", "mi"})
    consenting = frozenset(df["response_id"].iloc[::3])
    want_q = set(owners.loc[owners["response_id"].isin(consenting), "unit"])
    want = units["unit"].isin(want_q).tolist()
    got_q = {u for u, r in zip(rows.values(owners["unit"]), rows.values(owners["response_id"]), strict=True)
             if isinstance(r, str) and r in consenting}
    assert got_q == want_q and [isinstance(u, str) and u in got_q for u in rows.values(units["unit"])] == want
    assert any(want) and not all(want)


def test_distinct_rows_are_counted_as_before():
    """The count of distinct rounded embeddings, from one row per distinct text, and every row when a text's rows
    differ."""
    from analysis.embeddings import TfidfSvdBackend

    texts = argkp_answers()["text_redacted"].tolist()[:150]
    texts = texts + texts[:60] + ["same"] * 5 + texts[::7]
    emb = TfidfSvdBackend(n_components=32, seed=3).fit(texts).encode(texts)
    assert rows.n_distinct_rows(texts, emb) == len(np.unique(emb.round(5), axis=0))
    bad = emb.copy()
    bad[-1] += 1e-3  # a text whose rows differ: every row counts
    assert rows.n_distinct_rows(texts, bad) == len(np.unique(bad.round(5), axis=0))
    assert rows.n_distinct_rows(texts, bad) == rows.n_distinct_rows(texts, emb) + 1
    assert rows.n_distinct_rows(texts[:1], emb[:1]) == 1


@pytest.mark.parametrize("arrow", [True, False])
def test_rows_are_filtered_as_boolean_indexing_does(arrow):
    df, _ = _answers(arrow)
    df.index = df.index * 3 + 1  # labels kept, not positions
    for mask in ((df["question_id"] == "q2").to_numpy(), df["language"].isin(["en", "mi"]).to_numpy(),
                 np.zeros(len(df), dtype=bool), np.ones(len(df), dtype=bool)):
        got, want = rows.filter_rows(df, mask), df[mask]
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert got.dtypes.equals(want.dtypes) and got.columns.equals(want.columns) and got.index.equals(want.index)
        assert (rows._filtered(df, mask) is None) == (not arrow)  # Arrow columns: PyArrow's filter, not the fallback
        for c in df.columns:
            assert rows.values(got[c]).tolist() == rows.values(want[c]).tolist() or got[c].isna().any()


def test_response_sets_are_the_ones_iterating_gave():
    df, campaigns = _answers(True)
    _, owners, _, _ = _units(df[df["question_id"] == "q1"], campaigns, {"en", "und", ""})
    assert set(rows.values(owners["response_id"])) == set(owners["response_id"]) and len(owners)


def _old_corpus(sub: pd.DataFrame, campaigns: pd.DataFrame | None) -> list[str]:
    """The corpus ``_corpus`` gave before: every row's text, then the additions, then the templates."""
    corpus = sub["text_redacted"].astype(str).tolist() + sub["personal_addition"].dropna().astype(str).tolist()
    if campaigns is not None and len(campaigns):
        corpus += campaigns["template"].astype(str).tolist()
    return corpus


@pytest.mark.parametrize("arrow", [True, False])
def test_corpus_is_the_distinct_texts_in_order_and_fits_the_same(arrow, chunk):
    """The fits get the distinct texts in the order first met: the same texts, hash and sample as every row gave."""
    from analysis.embeddings import TfidfSvdBackend
    from analysis.themes.lexical import LexicalSpace
    from analysis.themes.reading import themed_of
    from analysis.themes.stage import _corpus

    df, campaigns = _answers(arrow)
    df["text_redacted"] = df["text_redacted"].fillna("")  # as read_table gives the non-nullable column
    for camp in (campaigns, None):
        old = _old_corpus(df, camp)
        got, book = _corpus(themed_of(df, camp, None).texts, df, camp, None)
        assert got == list(dict.fromkeys(old)) and len(got) < len(old) and book == []
        for sample in (5_000, 40):  # the whole corpus, and a seeded sample of it
            a = TfidfSvdBackend(n_components=16, seed=3, fit_sample=sample).fit(old, extra=["a theme", "Thanks."])
            b = TfidfSvdBackend(n_components=16, seed=3, fit_sample=sample).fit(got, extra=["a theme", "Thanks."])
            assert a.fingerprint == b.fingerprint
            np.testing.assert_array_equal(a.encode(old[:50]), b.encode(old[:50]))
        la, lb = LexicalSpace().fit(old, extra=["a theme"]), LexicalSpace().fit(got, extra=["a theme"])
        assert la.vectorizer_.vocabulary_ == lb.vectorizer_.vocabulary_
        assert (la.transform(old[:40]) != lb.transform(old[:40])).nnz == 0
    assert rows.distinct([df["response_id"], ["x", "r0001"]]) == list(dict.fromkeys([*df["response_id"], "x"]))


def test_joined_corpus_hash_is_the_hash_of_the_joined_texts():
    from analysis.embeddings import _joined_hash, text_hash

    texts = sorted(argkp_answers()["text_redacted"].tolist() + polis_texts() + ["", "é ü ß", "\x1f"])
    for chunk_ in (1, 7, 4096):
        assert _joined_hash(texts, chunk=chunk_) == text_hash("\x1f".join(texts))
    assert _joined_hash([]) == text_hash("") and _joined_hash(["one"], chunk=1) == text_hash("one")


@pytest.mark.parametrize("arrow", [True, False])
def test_joined_reprs_are_hashed_as_before(arrow, chunk):
    """Fed a chunk at a time, the same bytes as the whole joined text (missing values, bools, empty columns)."""
    df, campaigns = _answers(arrow)
    for frame in (df, df.iloc[:0], df.iloc[:1], campaigns):
        for c in frame.columns:
            h1, h2 = hashlib.sha256(), hashlib.sha256()
            rows.hash_repr_joined(h1, frame[c])
            h2.update(rows.repr_joined(frame[c]).encode("utf-8", "surrogatepass"))
            assert h1.hexdigest() == h2.hexdigest(), c
    assert df["campaign_id"].isna().any() and not df["response_id"].isna().any()


def test_themed_answers_are_the_rows_theme_all_filtered(tmp_path):
    """The stage reads the open questions' rows without ``answer``: the values theme_all filtered from the table."""
    from analysis.config import load_config
    from analysis.tables import read_table, write_table
    from analysis.themes.stage import ANSWER_COLUMNS, themed_answers

    df, _ = _answers(True)
    for c in ("response_id", "question_id", "language", "text_redacted"):  # the table's non-nullable columns
        df[c] = df[c].fillna("")
    df["answer"] = df["text_redacted"].str.upper()
    closed = df[df["question_id"] == "q1"].assign(question_id="c1")
    write_table(pd.concat([df, closed], ignore_index=True), "core_answers_clean", tmp_path)
    full = read_table("core_answers_clean", tmp_path)
    cfg = load_config(_config(tmp_path, ["q1", "q2"]))
    got = themed_answers(cfg, tmp_path)
    want = rows.filter_rows(full, full["question_id"].isin(["q1", "q2"]).to_numpy())[ANSWER_COLUMNS]
    # the closed question's rows are left out as the file is read: the rows are numbered from 0 (theme_all reads
    # values, never the index)
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_exact=True)
    assert got.dtypes.equals(want.dtypes) and len(got) < len(full)


def _config(folder, open_ids: list[str]):
    """A consultation.yml with the given open questions and one closed question (``c1``)."""
    import yaml

    qs = [{"id": q, "text": q, "kind": "open"} for q in open_ids]
    qs.append({"id": "c1", "text": "c1", "kind": "closed", "choices": {"Yes": "support", "No": "oppose"}})
    path = folder / "consultation.yml"
    path.write_text(yaml.safe_dump({"id": "t", "title": "t", "organisation": "o", "opened": "2021-01-01",
                                    "closed": "2021-02-01", "sources": [], "questions": qs}), encoding="utf-8")
    return path


def test_more_words_than_is_the_count_of_finditer_matches():
    """One match of the atomic-group pattern says what counting ``finditer``'s matches (up to ``limit + 1``) said,
    for the themes' word pattern and another, on real answers and on texts made to trip a backtracking pattern."""
    import re
    from itertools import islice

    def old(text: str, limit: int, word: re.Pattern) -> bool:
        return sum(1 for _ in islice(word.finditer(text), limit + 1)) > limit

    df, _ = _answers(True)
    texts = [str(t) for t in df["text_redacted"].fillna("").tolist()] + polis_texts() + [
        "", " ", "a", "1 2 3 4 5 6 7 8", "a1 b2 c3 d4 e5 f6 g7", "'a' 'b' 'c' 'd' 'e' 'f'", "x-y-z a b c d e f",
        "é ü ß ω ç ñ ø", "__a__ b_ c_ d_ e_ f_ g_", "a\nb\nc\nd\ne\nf\ng", "abc" * 2000, "a " * 6, "a " * 7,
        "1a 2b 3c 4d 5e 6f 7g", "’a ’b ’c ’d ’e ’f ’g", "ab-cd'ef gh", "a" + "-" * 50 + "b c d e f g", "ΣΊΣΥΦΟΣ ς x",
    ]
    other = re.compile(r"\d+")
    for limit in (-1, 0, 1, 2, 5, 6, 7, 12):
        for word in (fit._WORD, other):
            got = [rows.more_words_than(t, limit, word) for t in texts]
            assert got == [old(t, limit, word) for t in texts], (limit, word.pattern)
    assert rows.more_words_than("a b c d e f g", 6, fit._WORD) and not rows.more_words_than("a b c d e f", 6, fit._WORD)
