"""Language guess, date parsing, decoding and column naming helpers of the ingest stage."""

from __future__ import annotations

import codecs

import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.ingest.dates import parse_datetimes
from analysis.ingest.language import (
    LanguageGuesser,
    default_guesser,
    guess_languages,
    language_code,
    obviously_english,
    word_count,
)
from analysis.ingest.tabular import dedupe_columns
from analysis.ingest.text import decode_bytes


def test_language_guesses() -> None:
    texts = [
        "Compulsory voting would make the government represent everyone, not only the people who turn up.",
        "Kei te tautoko ahau i tēnei kaupapa, nā te mea he pai mō ō tātou tamariki me ō tātou mokopuna.",
        "我支持这个政策，因为它对我们的社区有很大的好处。",
        "Je ne suis pas d'accord avec cette proposition, elle coûte trop cher aux familles.",
        "Estoy de acuerdo con la propuesta porque ayuda a las familias trabajadoras.",
        "Ich bin gegen diesen Vorschlag, weil er zu teuer für die Gemeinden ist.",
        "저는 이 제안에 찬성합니다. 지역 사회에 도움이 됩니다.",
        "Yes",  # one word
        "no way",  # two words
        "",
    ]
    assert guess_languages(texts) == ["en", "mi", "zh", "fr", "es", "de", "ko", "und", "und", "und"]


def _guess_within_a_minute(texts: list[str]) -> list[str]:
    import signal

    signal.alarm(60)  # a hang ends the child (SIGALRM), which the parent reports as an error
    return guess_languages(texts)


def test_a_process_forked_after_guessing_guesses_the_same_without_lingua_s_threads() -> None:
    from analysis import stageproc

    texts = [
        "Je ne suis pas d'accord avec cette proposition, elle coûte trop cher aux familles.",
        "Ich bin gegen diesen Vorschlag, weil er zu teuer für die Gemeinden ist.",
        "Kei te tautoko ahau i tēnei kaupapa, nā te mea he pai mō ō tātou tamariki me ō tātou mokopuna.",
    ]
    here = guess_languages(texts)  # lingua's pool of threads started in this process
    assert here == ["fr", "de", "mi"]
    assert stageproc.run_in_child("ingest", lambda: _guess_within_a_minute(texts)) == here


def test_language_guesser_is_a_singleton_and_dedupes() -> None:
    assert default_guesser() is default_guesser()
    same = ["The proposal is fair to everyone in the region."] * 3
    assert guess_languages(same) == ["en", "en", "en"]
    strict = LanguageGuesser(languages=("ENGLISH", "FRENCH"), min_confidence=0.999, min_words=3)
    assert strict.guess(["bonjour hello merci thanks"]) == ["und"]  # mixed text: no language is certain


def test_word_count_counts_cjk_characters() -> None:
    assert word_count("我支持") == 3 and word_count("don't stop now") == 3 and word_count("12 34") == 0


def test_parse_datetimes_formats() -> None:
    got = parse_datetimes(["2024-03-01T10:00:00", "01/03/2024 10:00", "45352.5", "2024-03-01T10:00:00+13:00",
                           "3 February 2021", "Tue, 12 Mar 2024 14:05:00 +1300", "", None, "not a date"])
    assert got.tolist()[:6] == [pd.Timestamp("2024-03-01 10:00"), pd.Timestamp("2024-03-01 10:00"),
                                pd.Timestamp("2024-03-01 12:00"), pd.Timestamp("2024-02-29 21:00"),
                                pd.Timestamp("2021-02-03"), pd.Timestamp("2024-03-12 01:05")]
    assert got.iloc[6:].isna().all()


def test_parse_datetimes_month_first_only_when_the_column_needs_it() -> None:
    assert parse_datetimes(["03/04/2024", "05/06/2024"]).tolist() == [pd.Timestamp("2024-04-03"), pd.Timestamp("2024-06-05")]
    assert parse_datetimes(["03/04/2024", "12/31/2024"]).tolist() == [pd.Timestamp("2024-03-04"), pd.Timestamp("2024-12-31")]


@pytest.mark.parametrize(("data", "expected"), [
    ("Tēnā koutou".encode(), "Tēnā koutou"),
    (codecs.BOM_UTF8 + "Tēnā".encode(), "Tēnā"),
    ("Tēnā koutou".encode("utf-16"), "Tēnā koutou"),
    ("Tēnā koutou, a long enough line".encode("utf-16-le"), "Tēnā koutou, a long enough line"),
    ("café – don’t".encode("cp1252"), "café – don’t"),
    ("Ta\u0304na\u0304".encode(), "Tānā"),  # combining macrons are NFC-normalised
])
def test_decode_bytes(data: bytes, expected: str) -> None:
    assert decode_bytes(data, "f.csv")[0] == expected


def test_decode_bytes_rejects_binary() -> None:
    with pytest.raises(InputError, match="f.csv: not a text file: the content is a PDF"):
        decode_bytes(b"%PDF-1.7 ...", "f.csv")
    with pytest.raises(InputError, match="f.csv: not a text file"):
        decode_bytes(bytes(range(32)) * 20, "f.csv")


def test_dedupe_columns() -> None:
    assert dedupe_columns(["Q", "Q", "", "q", "Q (2)"], "f.csv") == ["Q", "Q (3)", "column 3", "q (4)", "Q (2)"]


def test_english_first_pass_settles_plain_english_only() -> None:
    """The word-list pass before lingua: plain English is settled; other languages, te reo Māori (with or
    without macrons) and English mixed with te reo are left to lingua."""
    english = ["Compulsory voting would make the government represent everyone, not only the people who turn up.",
               "capital punishment is cruel and unusual punishment.", "The conslutaiton period was too short."]
    others = ["Ritengo che questa proposta sia molto importante per il futuro dei cittadini europei.",
              "Ik vind dat dit voorstel heel belangrijk is voor de toekomst van Europa.",
              "Ich bin gegen diesen Vorschlag, weil er zu teuer für die Gemeinden ist.",
              "Kei te tautoko ahau i tēnei kaupapa, nā te mea he pai mō ō tātou tamariki me ō tātou mokopuna.",
              "Kei te tautoko ahau i tenei kaupapa, na te mea he pai mo o tatou tamariki me o tatou mokopuna.",
              "Principles like kaitiakitanga and tino rangatiratanga apply to data too.",
              "Not sure at all."]  # under 5 words
    assert [obviously_english(t) for t in english] == [True] * 3
    assert [obviously_english(t) for t in others] == [False] * len(others)
    fast, slow = default_guesser(), LanguageGuesser(fast_english=False)
    assert fast.guess(others[:5]) == slow.guess(others[:5]) == ["it", "nl", "de", "mi", "mi"]
    assert fast.guess(english) == ["en"] * 3  # lingua alone reads the last two as sw and nl
    assert LanguageGuesser(languages=("FRENCH", "GERMAN")).fast_english is False  # English not a choice


def test_language_guesses_among_all_lingua_languages() -> None:
    """Italian was read as Spanish, Dutch and Swedish as German, Finnish and Croatian as Tagalog (12-language list)."""
    texts = [
        "Ritengo che questa proposta sia molto importante per il futuro dei cittadini europei.",
        "Ik vind dat dit voorstel heel belangrijk is voor de toekomst van Europa.",
        "Jag tycker att detta förslag är mycket viktigt för Europas framtid.",
        "Mielestäni tämä ehdotus on erittäin tärkeä Euroopan tulevaisuudelle.",
        "Smatram da je ovaj prijedlog vrlo važan za budućnost Europe, ali pravila moraju biti jednostavna.",
        "Uważam, że ta propozycja jest bardzo ważna dla przyszłości Europy i jej obywateli.",
    ]
    assert guess_languages(texts) == ["it", "nl", "sv", "fi", "hr", "pl"]


@pytest.mark.parametrize(("value", "code"), [
    ("IT", "it"), ("ita", "it"), ("Italian", "it"), ("italiano", "it"), ("en-GB", "en"), ("pt_BR", "pt"),
    ("English (EN)", "en"), ("Nederlands", "nl"), ("Te reo Māori", "mi"), ("ger", "de"), ("Bokmål", "nb"),
    ("Maltese", "mt"), ("Other", None), ("xx", None), ("", None), (None, None), ("EN / FR", None),
])
def test_language_code_reads_codes_and_names(value: str | None, code: str | None) -> None:
    assert language_code(value) == code
