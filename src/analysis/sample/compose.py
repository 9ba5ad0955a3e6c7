"""Seeded text composition for the SYNTHETIC sample consultation.

:class:`Composer` turns the phrase banks of :mod:`analysis.sample.text` into varied answers: slot
filling, theme sentences with a lean, stance openers/closers, one-word and rambling answers, typos,
planted PII, te reo Māori mixing, and near-copies of campaign letters. Every random choice comes from
the ``random.Random`` passed in, so the same seed gives the same text.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field

from analysis.sample import text as T

_SLOT = re.compile(r"\{(\w+)\}")
_PROPER = {"I", "I'm", "New", "NZ", "Māori", "Te", "MFAT", "Aotearoa", "Pacific", "Iwi", "Budapest"}
_NEIGHBOURS = {
    "a": "sqw", "e": "wrd", "i": "uok", "o": "ipl", "u": "yij", "n": "bm", "t": "ry", "r": "et",
    "s": "adw", "l": "kp", "c": "xv", "d": "sf", "h": "gj", "m": "n", "g": "fh", "p": "o",
}

PHONE_FORMATS = ["mobile", "mobile_intl", "landline_paren", "landline_intl", "landline_dash"]


@dataclass
class Person:
    """A synthetic respondent's identity (all invented)."""

    first: str
    last: str
    email: str

    @property
    def name(self) -> str:
        """Full name."""
        return f"{self.first} {self.last}"


@dataclass
class Text:
    """A composed answer and the ground truth the generator knows about it."""

    text: str
    themes: list[str] = field(default_factory=list)
    stance: str | None = None  # stance the text expresses (None: none expressed)
    pii: list[tuple[str, str]] = field(default_factory=list)  # (kind, value)
    language: str = "en"  # en | mi | mixed
    personal: str = ""  # campaign copies: personal addition text


def strip_macrons(text: str) -> str:
    """Replace macronised vowels by plain ones (for fonts/encodings without them)."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _decap(s: str) -> str:
    first = s.split(" ", 1)[0].strip("'\"")
    if first in _PROPER or (len(first) > 1 and first[1].isupper()):
        return s
    return s[0].lower() + s[1:]


class _Phrasing:
    """Phrase-bank basics: templates, theme sentences, typos (base of :class:`Composer`).

    Args:
        rng: The seeded random generator every choice is drawn from.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    # --- basics --------------------------------------------------------------------------------
    def fill(self, template: str) -> str:
        """Fill ``{slot}`` placeholders (a capitalised slot name capitalises the value)."""

        def sub(m: re.Match[str]) -> str:
            key = m.group(1)
            value = self.rng.choice(T.SLOTS[key.lower()])
            return value[0].upper() + value[1:] if key[0].isupper() else value

        out = _SLOT.sub(sub, template)
        return out[0].upper() + out[1:]

    def sentence(self, theme: str, lean: str, used: set[str] | None = None) -> str:
        """One sentence on ``theme``, preferring the lean ``lean`` (``+``, ``-`` or ``0``).

        Templates in ``used`` are avoided when possible; the chosen one is added to it.
        """
        used = used if used is not None else set()
        bank = [(ln, t) for ln, t in T.THEMES[theme] if t not in used] or T.THEMES[theme]
        same = [t for ln, t in bank if ln == lean]
        zero = [t for ln, t in bank if ln == "0"]
        if lean != "0" and same and (not zero or self.rng.random() < 0.75):
            pool = same
        else:
            pool = zero or same or [t for _, t in bank]
        template = self.rng.choice(pool)
        used.add(template)
        return self.fill(template)

    def pick_themes(self, weights: dict[str, float], k: int) -> list[str]:
        """``k`` distinct themes drawn by weight."""
        items = dict(weights)
        out: list[str] = []
        for _ in range(min(k, len(items))):
            names = sorted(items)
            chosen = self.rng.choices(names, weights=[items[n] for n in names])[0]
            out.append(chosen)
            del items[chosen]
        return out

    def n_themes(self) -> int:
        """Number of themes of an ordinary answer (1-3, mostly 1)."""
        return self.rng.choices([1, 2, 3], weights=[55, 33, 12])[0]

    def typo(self, text: str, n: int | None = None) -> str:
        """Apply ``n`` (default 1-3) seeded character edits to letters of ``text``."""
        n = n if n is not None else self.rng.randint(1, 3)
        chars = list(text)
        for _ in range(n):
            idx = [i for i, c in enumerate(chars) if c.isalpha() and c.islower()]
            if len(idx) < 4:
                break
            i = self.rng.choice(idx[1:-1])
            op = self.rng.choice(["swap", "drop", "double", "near"])
            if op == "swap" and chars[i + 1].isalpha():
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
            elif op == "drop":
                del chars[i]
            elif op == "double":
                chars.insert(i, chars[i])
            else:
                chars[i] = self.rng.choice(_NEIGHBOURS.get(chars[i], "e"))
        return "".join(chars)


class _People(_Phrasing):
    """Synthetic people and the (fake) personal information planted in their answers."""

    def person(self) -> Person:
        """A random invented person."""
        first, last = self.rng.choice(T.FIRST_NAMES), self.rng.choice(T.LAST_NAMES)
        local = strip_macrons(f"{first}.{last}").lower().replace(" ", "").replace("'", "")
        if self.rng.random() < 0.4:
            local += str(self.rng.randint(1, 99))
        return Person(first, last, f"{local}@{self.rng.choice(T.EMAIL_DOMAINS)}")

    def phone(self) -> str:
        """An NZ phone number in one of several common formats."""
        r = self.rng
        fmt = r.choice(PHONE_FORMATS)
        if fmt == "mobile":
            return f"02{r.choice('1279')} {r.randint(100, 999)} {r.randint(1000, 9999)}"
        if fmt == "mobile_intl":
            return f"+64 2{r.choice('179')} {r.randint(100, 999)} {r.randint(1000, 9999)}"
        area = r.choice("34679")
        if fmt == "landline_paren":
            return f"(0{area}) 555 {r.randint(1000, 9999)}"
        if fmt == "landline_intl":
            return f"+64 {area} 555 {r.randint(1000, 9999):04d}"
        return f"0{area}-555-{r.randint(1000, 9999)}"

    def address(self) -> str:
        """An invented NZ street address."""
        suburb, city, post = self.rng.choice(T.SUBURBS)
        return f"{self.rng.randint(1, 240)} {self.rng.choice(T.STREETS)}, {suburb}, {city} {post}"

    def pii_sentence(self, person: Person) -> tuple[str, tuple[str, str]]:
        """A sentence carrying one piece of PII, and the planted ``(kind, value)``."""
        kind = self.rng.choices(["email", "phone", "address", "name"], weights=[30, 30, 15, 25])[0]
        if kind == "email":
            v = person.email
            s = self.rng.choice(["You can email me at {v} if you have questions.", "My email is {v}.",
                                 "Contact me: {v}", "Happy to discuss further, {v}"])
        elif kind == "phone":
            v = self.phone()
            s = self.rng.choice(["Feel free to call me on {v}.", "Ph {v}", "I can be reached on {v} during the day.",
                                 "My number is {v} if you want to talk."])
        elif kind == "address":
            v = self.address()
            s = self.rng.choice(["I live at {v} and this affects my whole street.", "My address is {v}.",
                                 "Please post the final report to {v}."])
        else:
            v = person.name
            s = self.rng.choice(["My name is {v}.", "I'm {v} and I wanted to have my say.",
                                 "This is {v} writing in a personal capacity.", "I'm {v}, a voter in this country."])
        return s.format(v=v), (kind, v)


class _Answers(_People):
    """Survey answers: "why" answers to a closed question and free answers."""

    def why_answer(self, stance: str, lean: str, weights: dict[str, float], *, explicit: bool,
                   style: str = "normal") -> Text:
        """Explanation of a closed answer.

        Args:
            stance: The stance the text expresses (support, oppose, neutral, unsure).
            lean: The theme-sentence lean that fits that stance on this question.
            weights: Theme weights for this question.
            explicit: Always state the stance (opener or closer).
            style: ``normal``, ``short`` (one word) or ``long`` (rambling).
        """
        r = self.rng
        if style == "short":
            return Text(r.choice(T.SHORT[stance]), [], stance)
        k = 3 if style == "long" else self.n_themes()
        if stance == "unsure":
            k = min(k, 1)
        themes = self.pick_themes(weights, k)
        parts: list[str] = []
        used: set[str] = set()
        for th in themes:
            n = r.randint(2, 3) if style == "long" else (2 if r.random() < 0.2 else 1)
            ln = "0" if stance in ("neutral", "unsure") else lean
            if stance == "neutral" and r.random() < 0.5:
                ln = r.choice("+-")
            for _ in range(n):
                parts.append(self.sentence(th, ln, used))
            if style == "long" and r.random() < 0.6:
                parts.append(r.choice(T.ASIDES))
        if stance == "unsure" and r.random() < 0.4:
            parts, themes = [], []
        if parts and r.random() < 0.25:
            parts.insert(r.randint(0, len(parts)), r.choice(T.FILLERS))
        roll = r.random()
        opener = explicit or roll < 0.65
        closer = (not opener and (explicit or roll < 0.8)) or (style == "long" and r.random() < 0.5)
        expressed = opener or closer or (lean != "0" and stance in ("support", "oppose"))
        if opener:
            parts.insert(0, r.choice(T.OPENERS[stance]))
        if closer:
            parts.append(r.choice(T.CLOSERS[stance]))
        if style == "long":
            cut = max(1, len(parts) // 2)
            text = " ".join(parts[:cut]) + "\n\n" + " ".join(parts[cut:])
        else:
            text = " ".join(parts)
        return Text(text, themes, stance if expressed else None)

    def free_answer(self, lean: str, weights: dict[str, float], *, style: str = "normal") -> Text:
        """An 'anything else' answer: themes only, no stance recorded."""
        r = self.rng
        if style == "short":
            return Text(r.choice(T.NOTHING_ELSE), [])
        k = 3 if style == "long" else self.n_themes()
        themes = self.pick_themes(weights, k)
        parts: list[str] = []
        used: set[str] = set()
        for th in themes:
            for _ in range(r.randint(2, 3) if style == "long" else r.choice([1, 1, 2])):
                parts.append(self.sentence(th, lean, used))
            if style == "long" and r.random() < 0.6:
                parts.append(r.choice(T.ASIDES))
        if r.random() < 0.25:
            parts.insert(r.randint(0, len(parts)), r.choice(T.FILLERS))
        sep = "\n\n" if style == "long" else " "
        return Text(sep.join(parts), themes)



class Composer(_Answers):
    """Composes synthetic answers from the phrase banks: personalised answers and campaign copies.

    Args:
        rng: The seeded random generator every choice is drawn from.
    """

    def personalise(self, t: Text, person: Person, *, typo_p: float, pii_p: float, mix_p: float) -> Text:
        """Add typos, a PII sentence and te reo phrases to an English answer (ground truth kept)."""
        r = self.rng
        if len(t.text) > 12 and r.random() < typo_p:
            t.text = self.typo(t.text)
        if len(t.text) > 12 and r.random() < pii_p:
            s, pii = self.pii_sentence(person)
            t.text = f"{s} {t.text}" if r.random() < 0.4 else f"{t.text} {s}"
            t.pii.append(pii)
        if len(t.text) > 12 and r.random() < mix_p:
            pre, suf = r.choice(T.TE_REO_MIX)
            t.text = " ".join(x for x in (pre, t.text, suf) if x)
            t.language = "mixed"
        return t

    def personal_sentences(self, lean: str, n: int) -> tuple[list[str], list[str]]:
        """``n`` personal sentences (for campaign copies) and the themes they carry."""
        weights = {th: 1.0 for th in T.THEMES if th != "other"}
        weights["other"] = 0.4
        themes = self.pick_themes(weights, 1 if n <= 2 else 2)
        out: list[str] = []
        used: set[str] = set()
        for i in range(n):
            s = self.sentence(themes[i % len(themes)], lean, used)
            frame = self.rng.choice(T.PERSONAL_FRAMES)
            out.append(frame.format(s=_decap(s) if frame.startswith("Personally") else s))
        return out, sorted(set(themes))

    def campaign_copy(self, template: list[tuple[str, str]], core_themes: list[str], lean: str,
                      person: Person, *, personal_p: float = 0.8) -> Text:
        """A near-copy of a campaign letter with realistic edits.

        Edits: deleted (0-2) or swapped template sentences (never dropping a core theme), typos, 1-5
        personal sentences at the start, middle or end, different greetings and sign-offs.
        """
        r = self.rng
        body = list(template[:-1])
        n_del = r.choices([0, 1, 2], weights=[50, 35, 15])[0]
        for _ in range(n_del):
            cand = [i for i, (_, th) in enumerate(body)
                    if th and sum(1 for _, t2 in body if t2 == th) > 1]
            if cand:
                del body[r.choice(cand)]
        if r.random() < 0.25 and len(body) > 3:
            i = r.randrange(1, len(body) - 1)
            body[i], body[i + 1] = body[i + 1], body[i]
        sents = [s for s, _ in body]
        if r.random() < 0.3:
            for _ in range(r.randint(1, 2)):
                i = r.randrange(len(sents))
                sents[i] = self.typo(sents[i], 1)
        if r.random() < 0.6:
            sents.append(template[-1][0])
        personal: list[str] = []
        p_themes: list[str] = []
        if r.random() < personal_p:
            n = r.choices([1, 2, 3, 4, 5], weights=[35, 30, 18, 10, 7])[0]
            personal, p_themes = self.personal_sentences(lean, n)
            for s in personal:
                where = r.choice(["start", "start", "middle", "end", "end"])
                pos = {"start": 0, "middle": len(sents) // 2, "end": len(sents)}[where]
                sents.insert(pos, s)
        cut1 = max(1, len(sents) // 3)
        cut2 = max(cut1 + 1, 2 * len(sents) // 3)
        paras = [" ".join(sents[:cut1]), " ".join(sents[cut1:cut2]), " ".join(sents[cut2:])]
        paras = [p for p in paras if p]
        greeting = r.choice(T.GREETINGS)
        pii: list[tuple[str, str]] = []
        sign = ""
        if r.random() < 0.75:
            who = person.name if r.random() < 0.7 else person.first
            sign = f"{r.choice(T.SIGNOFFS)}\n{who}"
            pii.append(("name", who))
        text = "\n\n".join(x for x in [greeting, *paras, sign] if x)
        themes = sorted(set(core_themes) | set(p_themes))
        return Text(text, themes, None, pii, "en", " ".join(personal))
