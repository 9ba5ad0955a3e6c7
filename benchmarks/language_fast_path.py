"""Agreement and speed of the obviously-English first pass (``analysis.ingest.language.obviously_english``).

Usage::

    python benchmarks/language_fast_path.py --data /work/shared/data [--processed data/processed/sample ...]

For every corpus it compares the first pass with lingua alone (the detector the pass sits in front of):
how many texts the pass settles as English, how many of those lingua labels otherwise (printed, with the
text), and the CPU time of each. English corpora: ArgKP 2021 train + dev arguments, every Pol.is
conversation's comments under ``--data``, and the open answers of each ``--processed`` folder (a
``core_answers.csv`` with ``core_questions.csv``). Non-English corpora (the pass must settle none):
frequency-weighted word samples of pyspellchecker's German, Spanish, French, Italian, Dutch, Portuguese,
Basque and Latvian lists, Faker's lorem word lists of 13 locales, and the te reo Māori sentences of the
tests and the sample generator (those mostly of non-English words), with and without macrons. Texts are de-duplicated and cut to
``MAX_CHARS`` as the guesser does. Prints measured numbers only.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import json
import random
import re
import time
import unicodedata
from collections import Counter
from importlib import resources
from pathlib import Path

import pandas as pd

from analysis.ingest.language import (
    MAX_CHARS,
    LanguageGuesser,
    _english_lexicon,
    obviously_english,
    word_count,
)

ROOT = Path(__file__).resolve().parents[1]
SPELL_LANGS = ("de", "es", "fr", "it", "nl", "pt", "eu", "lv")
LOREM = ("cs_CZ", "da_DK", "de_DE", "es_ES", "fr_FR", "it_IT", "la", "nl_NL", "pl_PL", "tl_PH", "fil_PH", "vi_VN",
         "az_AZ")


def unique(texts) -> list[str]:
    """Distinct detection texts (cut to ``MAX_CHARS``, at least 3 words), as the guesser sends them."""
    out: dict[str, None] = {}
    for t in texts:
        if isinstance(t, str) and t and word_count(t[:MAX_CHARS]) >= 3:
            out.setdefault(t[:MAX_CHARS], None)
    return list(out)


def english_corpora(data: Path, processed: list[Path]) -> dict[str, list[str]]:
    corp = {}
    args = pd.concat([pd.read_csv(data / "argkp-2021" / f"arguments_{s}.csv") for s in ("train", "dev")])
    corp["argkp train+dev"] = unique(args["argument"])
    for path in sorted((data / "polis").glob("*/comments.csv")):
        corp[f"polis {path.parent.name}"] = unique(pd.read_csv(path)["comment-body"])
    for folder in processed:
        ans, qs = pd.read_csv(folder / "core_answers.csv"), pd.read_csv(folder / "core_questions.csv")
        open_q = set(qs.loc[qs["kind"] == "open", "question_id"])
        corp[f"answers {folder.name}"] = unique(ans.loc[ans["question_id"].isin(open_q), "answer"])
    return corp


def foreign_corpora(seed: int = 5) -> dict[str, list[str]]:
    rng = random.Random(seed)
    corp = {}
    for lang in SPELL_LANGS:
        with resources.files("spellchecker").joinpath(f"resources/{lang}.json.gz").open("rb") as fh:
            counts = json.loads(gzip.decompress(fh.read()))
        words, weights = zip(*sorted(counts.items(), key=lambda kv: -kv[1])[:8000], strict=True)
        corp[f"spellchecker {lang}"] = [" ".join(rng.choices(words, weights=weights, k=rng.randint(4, 40))) + "."
                                        for _ in range(400)]
    for loc in LOREM:
        words = importlib.import_module(f"faker.providers.lorem.{loc}").Provider.word_list
        corp[f"faker lorem {loc}"] = [" ".join(rng.choices(words, k=rng.randint(4, 40))) + "." for _ in range(200)]
    src = (ROOT / "tests" / "test_ingest_text.py").read_text() + (ROOT / "src/analysis/sample/text.py").read_text()
    mi = [s for s in re.findall(r'"([^"\n]{20,})"', src) if any(c in s for c in "āēīōū") or " te " in s]
    lexicon = _english_lexicon()
    mi = [s for s in mi if sum(w.lower() in lexicon for w in s.split()) < 0.5 * len(s.split())]  # not English about Māori
    corp["te reo (tests, sample generator)"] = mi
    corp["te reo without macrons"] = ["".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))
                                      for s in mi]
    return corp


def compare(name: str, texts: list[str], lingua: LanguageGuesser, show: int) -> Counter:
    t0 = time.process_time()
    fast = [obviously_english(t) for t in texts]
    t_fast = time.process_time() - t0
    t0 = time.process_time()
    ref = lingua.guess(texts)
    t_lingua = time.process_time() - t0
    dis = [(r, t) for t, r, f in zip(texts, ref, fast, strict=True) if f and r != "en"]
    n = max(len(texts), 1)
    print(f"{name:45s} {len(texts):6d} texts; settled {sum(fast) / n:6.1%} (lingua says en: "
          f"{sum(r == 'en' for r in ref) / n:6.1%}); disagree {len(dis):3d}; first pass {t_fast * 1e6 / n:4.0f} us/text, "
          f"lingua {t_lingua * 1e3 / n:.2f} ms/text")
    for r, t in dis[:show]:
        print(f"    lingua {r}: {t[:110]!r}")
    return Counter(n=len(texts), settled=sum(fast), disagree=len(dis), fast=t_fast, lingua=t_lingua)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="folder holding argkp-2021/ and polis/")
    ap.add_argument("--processed", type=Path, nargs="*", default=[], help="processed folders with core_answers.csv")
    ap.add_argument("--show", type=int, default=5, help="disagreements printed per corpus")
    args = ap.parse_args()
    lingua = LanguageGuesser(fast_english=False)
    lingua.detector  # noqa: B018 - load the models before timing
    obviously_english("load the word list before timing")
    totals = {}
    for kind, corpora in (("English", english_corpora(args.data, args.processed)), ("non-English", foreign_corpora())):
        print(f"--- {kind} corpora")
        totals[kind] = sum((compare(k, v, lingua, args.show) for k, v in corpora.items()), Counter())
    for kind, c in totals.items():
        print(f"{kind}: {c['n']} texts, {c['settled']} settled by the first pass, {c['disagree']} of them not 'en' for "
              f"lingua; CPU: first pass {c['fast']:.2f} s, lingua {c['lingua']:.1f} s "
              f"(first pass + lingua on the rest: about {(c['fast'] + c['lingua'] * (1 - c['settled'] / c['n'])):.1f} s)")


if __name__ == "__main__":
    main()
