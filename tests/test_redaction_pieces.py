"""Detection per piece (paragraphs and sentences, :mod:`analysis.redaction.pieces`) finds exactly what detection
of the whole text finds (#18: campaign copies at 1M share their sentences, not their texts).

The texts are real (the ArgKP and Pol.is fixtures, the PII corpus, the bundled sample's answers, generated
campaign copies) and crafted to cross a cut: a sign-off whose name is past a paragraph break or a full stop, a
name ending a line, a title, initials, an obfuscated address, short sign-offs, digits next to a cut, gates read
on the whole text ("I am" in one paragraph, "my name  is" in another). The crafted cases are also checked to
break a naive cut (every paragraph break and every ". ", gates ignored): each safeguard is needed.
"""

from __future__ import annotations

import importlib

import pytest
from generated_consultation import generate
from test_redaction_fast_paths import TEXTS

from analysis.redaction import pieces
from analysis.redaction.parallel import Detector
from analysis.redaction.redact import redact_answers

R = importlib.import_module("analysis.redaction.redact")

#: Crafted texts that a naive cut (every paragraph break and every ". ", gates ignored) gets wrong.
BREAK_NAIVE = [
    "Kind regards,\n\nJane Smith",  # a sign-off's name two line breaks below
    "Nāku noa, nā\n\nHemi",
    "I agree with the plan. Thanks. Jane Smith",  # a weak sign-off, a full stop, its name
    "I agree with the plan. Regards, John. More text here.",  # the name must end its line
    "We met Dr. Aroha Ngata at the hui. It went well.",  # a title and its name
    "It was good, Jane Smith. Next time we will come.",  # "..., Jane Smith." reads up to the line's end
    "Send it to jane.doe. at example dot com please.",  # an obfuscated address across a full stop
    "It is a view. AT example.com it was.",
    "It is great. Love\nJane",  # "Love" closes a letter only at the start of a line
    "We went home. Na\nHemi",
    "12 Main Street\nWellington. Other things happen here. And more.",  # an address grown over a line break
    "I am here to say this.\n\nMy name  is jane smith and that is it.",  # the intro gate on in another paragraph
    "My friend said hello.\n\nJane Smith explained it all.",  # the speech gate
    "Look at the anecdote.\n\njane.doe at example.com wrote this.",  # the obfuscated-address gate
]
#: More crafted texts next to a cut (a naive cut happens to get them right).
NEAR_CUTS = [
    "We met with the boss. Dear Hemi, it was good. We left.",
    "We wrote to the Sir. Jane Smith replied today.",  # a title before a cut
    "This came from the U.S. Jane Smith said so. It was true.",  # initials
    "Call 021 555 1234\n\nThanks for reading.",  # the phone matcher reads two characters around a number
    "Thanks for reading.\n\n021 555 1234 is my number",
    "It is my view.\n\nOur\tneighbour Jane Smith agrees with it.",  # the relative gate
    "It was true. said Jane Smith. Yes.",  # " said" reads the space before it
    "I was born in a town.\n\nDOB - 12/03/1980 here.",
    "Regards,\r\n\r\nJane",
    "\n\nHello there. Jane Smith\n\n",
    "John Smith\n\nJane Doe",
    "We live there.\n\nPO Box 1234\n\nWellington 6011",
]
CROSSING = BREAK_NAIVE + NEAR_CUTS


def _whole(text: str):
    return R._detect_uncached(text)


def _same(got, want) -> bool:
    return (got.redacted == want.redacted and got.spans == want.spans and list(got.found) == list(want.found)
            and {k: sorted(v) for k, v in got.found.items()} == {k: sorted(v) for k, v in want.found.items()})


def _by_pieces(texts: list[str]) -> dict:
    with Detector(R._detect_piece, 1) as detector:
        return R._detect_texts(texts, {}, detector)


def _campaign_copies() -> list[str]:
    answers = generate(3000, share_1=0.6, share_2=0.1).answers
    return answers.loc[answers["truth"] != "", "text_redacted"].tolist()


def test_pieces_find_what_the_whole_text_finds():
    texts = list(dict.fromkeys(TEXTS + _campaign_copies() + CROSSING))
    got = _by_pieces(texts)
    cut = 0
    for text in texts:
        if text in got:
            assert _same(got[text], _whole(text)), text
            cut += len(pieces.cuts(text, {})) > 1
    assert len(got) > 0.95 * len(texts)  # few texts are detected whole (a gate on elsewhere in the text)
    assert cut > 2000  # most campaign copies are cut


def test_pieces_share_the_sentences_of_campaign_copies():
    copies = _campaign_copies()
    seen: dict = {}
    distinct = {text[s:e] for text in copies for s, e in pieces.cuts(text, seen)}
    assert sum(map(len, distinct)) < 0.2 * sum(map(len, set(copies)))


def test_every_safeguard_is_needed():
    """Cutting every paragraph break and every ". ", gates ignored, finds something else in each text of
    :data:`BREAK_NAIVE` (so the test above can fail)."""
    def naive(text: str, seen: dict) -> list[tuple[int, int]]:
        bounds, start = [], 0
        for i in range(len(text)):
            if text.startswith("\n\n", i) and i >= start and not text.startswith("\n", i + 2):
                bounds.append((start, i))
                start = i + 2
            elif text.startswith(". ", i) and i >= start:
                bounds.append((start, i + 1))
                start = i + 2
        return [*bounds, (start, len(text))]

    got = _by_pieces(CROSSING)
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(pieces, "cuts", naive)
        mp.setattr(R, "_clash", lambda *args: False)
        naive_got = _by_pieces(CROSSING)
    finally:
        mp.undo()
    for text in CROSSING:
        want = _whole(text)
        if text in got:
            assert _same(got[text], want), text
        assert _same(naive_got[text], want) is (text not in BREAK_NAIVE), text


def test_a_gate_on_elsewhere_makes_the_text_detected_whole():
    for text in ("I am here to say this.\n\nMy name  is jane smith and that is it.",
                 "My friend said hello.\n\nJane Smith explained it all."):
        assert len(pieces.cuts(text, {})) == 2
        assert text not in _by_pieces([text])
        assert _whole(text).spans  # the whole text finds the name


def test_redact_answers_is_the_same_for_any_block_and_process_count(monkeypatch):
    import pandas as pd

    texts = _campaign_copies()[:400] + CROSSING
    answers = pd.DataFrame({"response_id": [f"r{i % 300}" for i in range(len(texts))],
                            "question_id": "q5_other", "answer": texts})
    responses = pd.DataFrame({"response_id": [f"r{i}" for i in range(300)],
                              "respondent_name": ["Jane Smith" if i % 3 else None for i in range(300)],
                              "respondent_email": [f"hemi.ngata{i}@example.com" for i in range(300)]})
    want = [R.redact(t, R._respondent_names("Jane Smith" if int(r[1:]) % 3 else None, f"hemi.ngata{r[1:]}@example.com"))
            for r, t in zip(answers["response_id"], texts, strict=True)]
    monkeypatch.setattr(R, "BLOCK_ROWS", 97)
    monkeypatch.setattr("analysis.redaction.parallel.PARALLEL_MIN_TEXTS", 50)
    for workers in (1, 2):
        red, log = redact_answers(answers, responses, workers=workers)
        assert red["text_redacted"].tolist() == [w[0] for w in want]
        assert int(log["count"].sum()) == sum(len(w[1]) for w in want)


def test_blocks_give_one_column_and_true_reject_rows(monkeypatch):
    """Each block's texts become Arrow strings at once (not a Python str per row until the end); the column is one
    contiguous array, as before (the Parquet file's bytes depend on it), and a reject names its table row."""
    import pandas as pd

    texts = [f"Answer {i}. Kind regards, Jane" for i in range(250)]
    answers = pd.DataFrame({"response_id": [f"r{i}" for i in range(250)], "question_id": "q1", "answer": texts})
    responses = pd.DataFrame({"response_id": [f"r{i}" for i in range(250)],
                              "respondent_name": [None] * 200 + ["Zed Quux"] + [None] * 49, "respondent_email": None})
    monkeypatch.setattr(R, "BLOCK_ROWS", 97)
    real = R.person_names.find_own_names

    def failing(text, terms):  # the own-name search fails for row 200 (the only respondent with a name)
        if text == texts[200]:
            raise ValueError("boom")
        return real(text, terms)

    monkeypatch.setattr(R.person_names, "find_own_names", failing)
    rejects: list[dict] = []
    red, _log = redact_answers(answers, responses, rejects=rejects, workers=1)
    want = pd.Series([R.redact(t)[0] if i != 200 else "" for i, t in enumerate(texts)], dtype=object).astype(str)
    assert red["text_redacted"].dtype == want.dtype
    assert red["text_redacted"].tolist() == want.tolist()
    assert red["text_redacted"].array.__arrow_array__().num_chunks == 1
    assert [r["row"] for r in rejects] == [201]
    assert rejects[0]["reason"] == "redaction failed for response r200: ValueError: boom"
