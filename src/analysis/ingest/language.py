"""Language of each open-text answer (ISO 639-1 code, or ``und`` when undetermined).

Two sources, in order:

1. **The export's own language column** (``language_column`` of a source): the language the respondent chose
   (EU "Have your say" ``Language``, Qualtrics ``UserLanguage``). :func:`language_code` reads ISO 639-1/2/3
   codes (``IT``, ``ita``, ``pt-BR``) and language names in English or in the language itself (``Italian``,
   ``italiano``, ``te reo Māori``). A value it cannot read falls back to detection.
2. **Detection** with lingua (offline, models bundled in the wheel) among **every language lingua supports**
   (75), not a fixed list, in lingua's low-accuracy mode (trigram models only: 1 s and about 80 MB to load;
   the high-accuracy models of all 75 languages take 30 s and 1 GB). Measured on the sample's 3,311 open
   answers it agrees with the former 12-language high-accuracy detector on 3,302 (the rest are mixed
   English/Māori texts), and it no longer reads Italian as Spanish, Dutch or Swedish as German, or Finnish
   or Croatian as Tagalog. A restricted ``languages`` list uses the high-accuracy models.

Texts under :data:`MIN_WORDS` words (CJK characters count as words) or whose best language has a
confidence under ``min_confidence`` get ``und``. Identical texts are detected once, and only the first
:data:`MAX_CHARS` characters are used, so 100k answers with many form-letter copies stay fast.

**Obviously-English first pass** (:func:`obviously_english`). lingua costs about 2.4 ms of CPU per text (all
75 languages), which is 230 s for the 95,000 distinct answers of a 50,000-response consultation. Before lingua,
a word-list test settles texts of at least :data:`FAST_MIN_WORDS` words of which at least
:data:`FAST_MARKER_SHARE` are English function words (``the``, ``and``, ``should``, ...; the short words
other languages share, such as ``in``, ``is``, ``to``, ``me``, are left out) and at least :data:`FAST_LEXICON_SHARE`
are ordinary English words (pyspellchecker's English frequency list, subtitle count >= 100); lingua sees only
the rest (2-3% of the answers of ArgKP, the sample and a generated consultation; 7-20% of Pol.is's short
statements). Measured against lingua alone (``benchmarks/language_fast_path.py``): none of 5,826 non-English
texts is settled (word-frequency samples of 8 languages, Faker's word lists of 13, te reo Māori with and
without macrons); the 81 texts where they disagree (of 29,496 settled in ArgKP train+dev, eight Pol.is
conversations, the sample and a generated 10k consultation) are all English that lingua read as another language or left
undetermined: mostly texts of 5 to 12 words ("capital punishment is cruel and unusual punishment." -> ``sw``,
"The conslutaiton period was too short." -> ``nl``), and English with a Māori greeting ("Tēnā koutou. Why is
the government spending time on this when there is a housing crisis?" -> ``tl``).
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import re
import threading
from collections.abc import Sequence
from typing import Any

logger = logging.getLogger(__name__)

UNDETERMINED = "und"
MIN_WORDS = 3
MAX_CHARS = 400
#: Names and codes lingua does not know, respondents write, or exports use (endonyms, ISO 639-2/B codes).
_OTHER_NAMES = {
    "italiano": "it", "deutsch": "de", "français": "fr", "francais": "fr", "español": "es", "espanol": "es",
    "castellano": "es", "nederlands": "nl", "vlaams": "nl", "flemish": "nl", "svenska": "sv", "suomi": "fi",
    "hrvatski": "hr", "polski": "pl", "português": "pt", "portugues": "pt", "čeština": "cs", "cestina": "cs",
    "slovenčina": "sk", "slovencina": "sk", "slovenščina": "sl", "slovenscina": "sl", "slovenian": "sl",
    "magyar": "hu", "română": "ro", "romana": "ro", "български": "bg", "ελληνικά": "el", "dansk": "da",
    "eesti": "et", "latviešu": "lv", "latviesu": "lv", "lietuvių": "lt", "lietuviu": "lt", "malti": "mt",
    "maltese": "mt", "gaeilge": "ga", "te reo māori": "mi", "te reo maori": "mi", "te reo": "mi", "māori": "mi",
    "norwegian": "nb", "norsk": "nb", "luxembourgish": "lb", "lëtzebuergesch": "lb", "mandarin": "zh",
    "cantonese": "zh", "farsi": "fa", "filipino": "tl", "samoan": "sm", "gagana samoa": "sm", "tongan": "to",
    "русский": "ru", "українська": "uk", "中文": "zh", "日本語": "ja", "한국어": "ko", "tiếng việt": "vi",
    "ger": "de", "fre": "fr", "dut": "nl", "gre": "el", "cze": "cs", "slo": "sk", "rum": "ro", "chi": "zh",
    "per": "fa", "alb": "sq", "arm": "hy", "baq": "eu", "geo": "ka", "ice": "is", "mac": "mk", "mao": "mi",
    "may": "ms", "wel": "cy", "mlt": "mt", "ltz": "lb", "smo": "sm", "ton": "to",
}
_TOKEN = re.compile(r"[\s\-_/,;:()\[\]]+")


@functools.lru_cache(maxsize=1)
def _language_names() -> dict[str, str]:
    """Normalised name or code -> ISO 639-1 code, for every language lingua knows plus :data:`_OTHER_NAMES`."""
    from lingua import Language  # noqa: PLC0415

    names = dict(_OTHER_NAMES)
    for lang in Language.all():
        code = lang.iso_code_639_1.name.lower()
        names |= {lang.name.lower(): code, code: code, lang.iso_code_639_3.name.lower(): code}
    names |= {"bokmal": "nb", "bokmål": "nb", "nynorsk": "nn", "slovene": "sl"}
    names |= {code: code for code in set(_OTHER_NAMES.values())}
    return names


def language_code(value: str | None) -> str | None:
    """ISO 639-1 code of a language as an export or a respondent writes it, or ``None`` when unknown.

    Reads codes (``IT``, ``ita``, ``en-GB``, ``pt_BR``) and names in English or in the language itself
    (``Dutch``, ``Nederlands``, ``English (EN)``); case, accents as written, and separators do not matter.
    """
    if value is None:
        return None
    key = " ".join(value.split()).casefold()
    if not key or key in ("und", "unknown", "other", "n/a", "-"):
        return None
    names = _language_names()
    if key in names:
        return names[key]
    hits = {names[t] for t in _TOKEN.split(key) if t in names}
    return hits.pop() if len(hits) == 1 else None
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


#: First-pass thresholds (see the module docstring; chosen on ArgKP, Pol.is and the generated consultations).
FAST_MIN_WORDS = 5
FAST_MARKER_SHARE = 0.1
FAST_LEXICON_SHARE = 0.8
#: Subtitle count from which a word of pyspellchecker's English list is an ordinary English word.
FAST_LEXICON_COUNT = 100
#: English function words; "in", "is", "an", "so", "no", "was", "also", "will", "my", "to", "on", "as", "at",
#: "do" are left out (Dutch, German, Polish, te reo Māori or Tagalog use them too). A few kept words exist
#: elsewhere ("we", "for"), which the 10% share and the 80% English-word share absorb (see the benchmark).
_ENGLISH_MARKERS = frozenset("""
the and of that with this these those are be been being should would could have has not they their them there which
what who whom whose it its it's we our us you your for from by were because than then about more if but or can must
just only very how when where why any some such into other i'm don't doesn't isn't can't won't they're we're you're
there's that's i've we've
""".split())
_FAST_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


@functools.lru_cache(maxsize=1)
def _english_lexicon() -> frozenset[str]:
    """Ordinary English words: pyspellchecker's English list, subtitle count >= :data:`FAST_LEXICON_COUNT`."""
    import gzip  # noqa: PLC0415
    import json  # noqa: PLC0415
    from importlib import resources  # noqa: PLC0415

    with resources.files("spellchecker").joinpath("resources/en.json.gz").open("rb") as fh:
        counts = json.loads(gzip.decompress(fh.read()))
    return frozenset(w for w, n in counts.items() if n >= FAST_LEXICON_COUNT)


def obviously_english(text: str) -> bool:
    """Whether ``text`` is plainly English by word lists alone (the first pass before lingua).

    True when it has at least :data:`FAST_MIN_WORDS` words, at least :data:`FAST_MARKER_SHARE` of them English
    function words and at least :data:`FAST_LEXICON_SHARE` of them ordinary English words. False means "ask
    lingua", not "not English".
    """
    words = _FAST_TOKEN.findall(text.lower().replace("\u2019", "'"))
    n = len(words)
    if n < FAST_MIN_WORDS or sum(map(_ENGLISH_MARKERS.__contains__, words)) < FAST_MARKER_SHARE * n:
        return False
    return sum(map(_english_lexicon().__contains__, words)) >= FAST_LEXICON_SHARE * n


def _piece_counts(piece: str) -> tuple[int, int, int]:
    """``(words, English function words, ordinary English words)`` of a lower-cased piece of text."""
    words = _FAST_TOKEN.findall(piece)
    return len(words), sum(map(_ENGLISH_MARKERS.__contains__, words)), sum(map(_english_lexicon().__contains__, words))


class EnglishPass:
    """:func:`obviously_english` over many texts, counting each distinct sentence once.

    A word never holds a full stop, so a text's words are those of its pieces between full stops and the three counts
    of :func:`obviously_english` are the sums of its pieces' counts. Campaign copies and answers built from the
    same phrases share most sentences: each piece's words are found (a regex over the text, the costly part)
    once. :meth:`__call__` gives exactly :func:`obviously_english`'s answer (tests compare them on real texts).
    """

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int, int]] = {}

    def __call__(self, text: str) -> bool:
        """Whether ``text`` is plainly English (:func:`obviously_english`)."""
        counts = self._counts
        n = markers = known = 0
        for piece in text.lower().replace("\u2019", "'").split("."):
            c = counts.get(piece)
            if c is None:
                c = counts[piece] = _piece_counts(piece)
            n += c[0]
            markers += c[1]
            known += c[2]
        return n >= FAST_MIN_WORDS and markers >= FAST_MARKER_SHARE * n and known >= FAST_LEXICON_SHARE * n


def word_count(text: str) -> int:
    """Words in ``text``; each CJK character counts as one word (those scripts do not use spaces)."""
    cjk = len(_CJK.findall(text))
    return len(_WORD.findall(_CJK.sub(" ", text) if cjk else text)) + cjk


def has_words(text: str, k: int) -> bool:
    """Whether ``word_count(text) >= k``, reading only as far as the ``k``-th word when ``text`` has no CJK."""
    if _CJK.search(text):
        return word_count(text) >= k
    return k <= 0 or sum(1 for _ in itertools.islice(_WORD.finditer(text), k)) >= k


class LanguageGuesser:
    """Guesses the language of texts with a lingua detector built once.

    Args:
        languages: lingua ``Language`` member names to choose among (default ``None``: every language lingua
            supports, in low-accuracy mode; a list uses the high-accuracy models of those languages).
        min_confidence: Below this confidence of the best language, the guess is ``und``.
        min_words: Texts with fewer words are ``und``.
        fast_english: Settle :func:`obviously_english` texts as ``en`` without lingua (default ``True``; only
            when English is among ``languages``).
    """

    def __init__(self, languages: Sequence[str] | None = None, min_confidence: float = 0.6,
                 min_words: int = MIN_WORDS, fast_english: bool = True):
        self.languages = tuple(languages) if languages is not None else None
        self.min_confidence = min_confidence
        self.min_words = min_words
        self.fast_english = fast_english and (self.languages is None or "ENGLISH" in self.languages)
        self._detector = None
        self._lock = threading.Lock()

    @property
    def detector(self):
        """The lingua detector (built on first use, models preloaded)."""
        if self._detector is None:
            with self._lock:
                if self._detector is None:
                    from lingua import Language, LanguageDetectorBuilder  # noqa: PLC0415

                    if self.languages is None:
                        builder = LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode()
                    else:
                        langs = [getattr(Language, name) for name in self.languages]
                        builder = LanguageDetectorBuilder.from_languages(*langs).with_preloaded_language_models()
                    self._detector = builder.build()
        return self._detector

    def guess(self, texts: Sequence[str]) -> list[str]:
        """ISO 639-1 code (lower case) or ``und`` for each text, in order."""
        out = [UNDETERMINED] * len(texts)
        rows: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            if t:
                rows.setdefault(t[:MAX_CHARS], []).append(i)
        todo = {t: ix for t, ix in rows.items() if has_words(t, self.min_words)}  # counted once per text
        if self.fast_english:
            english = EnglishPass()  # obviously_english, each shared sentence counted once
            for text in [t for t in todo if english(t)]:
                for i in todo.pop(text):
                    out[i] = "en"
        if not todo:
            return out
        uniq = list(todo)
        results = _confidences(self.detector, uniq)
        for text, conf in zip(uniq, results, strict=True):
            if conf and conf[0].value >= self.min_confidence:
                code = conf[0].language.iso_code_639_1.name.lower()
                for i in todo[text]:
                    out[i] = code
        return out


#: The process that started lingua's pool of threads (its first parallel detection), ``None`` before.
_POOL_PID: int | None = None


def _confidences(detector: Any, texts: list[str]) -> list:
    """lingua's confidence values for each text: in parallel on lingua's pool of threads, or one text after another
    in a process forked from the one that started the pool. A fork copies no thread, and lingua, not knowing, would
    wait forever for the pool's threads (measured: a pipeline stage forked after the same process had guessed
    languages hung there). The values are the same but for the last digit (1,889 Pol.is comments: no language
    and no value differing by more than 1e-9)."""
    global _POOL_PID
    if _POOL_PID is None:
        _POOL_PID = os.getpid()
    if _POOL_PID == os.getpid():
        return detector.compute_language_confidence_values_in_parallel(texts)
    return [detector.compute_language_confidence_values(t) for t in texts]


_DEFAULT: LanguageGuesser | None = None


def default_guesser() -> LanguageGuesser:
    """The module-level guesser (lazy singleton: lingua's models load once per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = LanguageGuesser()
    return _DEFAULT


def guess_languages(texts: Sequence[str]) -> list[str]:
    """Language codes for ``texts`` with the default guesser."""
    return default_guesser().guess(texts)
