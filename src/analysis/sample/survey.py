"""The SYNTHETIC Citizen Space-style survey export of the sample consultation, with ground truth.

Modelled on the shape of New Zealand's 2021 consultation on principles for negotiating a UN
cybercrime convention; every respondent, answer and organisation is invented. See
:mod:`analysis.sample` for the entry point.
"""

from __future__ import annotations

import csv
import io
import random
import tempfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from analysis.sample import text as T
from analysis.sample.compose import Composer, Person, Text

#: Closed questions: id -> (CSV header, question text, lean of a *support* answer).
CLOSED: dict[str, tuple[str, str, str]] = {
    "q1": ("1. Draft principle 1: the convention should contain strong protections for human rights and "
           "privacy. To what extent do you agree?",
           "The convention should contain strong protections for human rights and privacy.", "+"),
    "q2": ("2. Draft principle 2: New Zealand should be open to a convention with a broad scope, covering "
           "crimes committed using computers (such as online fraud or harmful content) as well as attacks on "
           "computer systems. To what extent do you agree?",
           "New Zealand should be open to a convention with a broad scope, covering crimes committed using "
           "computers (such as online fraud or harmful content) as well as attacks on computer systems.", "-"),
    "q3": ("3. Draft principle 3: the convention should be consistent with existing frameworks such as the "
           "Budapest Convention, and with New Zealand law. To what extent do you agree?",
           "The convention should be consistent with existing frameworks such as the Budapest Convention, "
           "and with New Zealand law.", "+"),
    "q4": ("4. Draft principle 4: the negotiations should be inclusive and transparent, involving civil "
           "society, industry, the technical community, Māori and Pacific partners. To what extent do you agree?",
           "The negotiations should be inclusive and transparent, involving civil society, industry, the "
           "technical community, Māori and Pacific partners.", "+"),
}
WHY_HEADER = "{n}a. Please explain your answer"
OTHER_ID = "q5_other"
OTHER_HEADER = "5. Is there anything else you would like to tell us?"
ANALYST_HEADER = "Analyst: themes"
LIKERT = {"Strongly agree": "support", "Agree": "support", "Neither agree nor disagree": "neutral",
          "Disagree": "oppose", "Strongly disagree": "oppose"}
CONSENT = ["Yes, you may publish my response, including my name", "Yes, but please withhold my name",
           "No, please do not publish my response"]
META = ["Response ID", "Submitted on", "What is your name?", "What is your email address?",
        "Are you responding as an individual or on behalf of an organisation?",
        "What is the name of your organisation?", "Which sector best describes your organisation?",
        "May we publish your response?"]

#: Theme weights per question.
WEIGHTS: dict[str, dict[str, float]] = {
    "q1": {"human_rights": 5, "misuse_speech": 3, "data_access": 2, "te_tiriti": 1, "scope": 0.7,
           "cooperation": 0.8, "budapest": 0.5, "multistakeholder": 0.3, "pacific_capacity": 0.2, "other": 0.3},
    "q2": {"scope": 5, "misuse_speech": 3, "cooperation": 2.5, "human_rights": 1.5, "data_access": 1,
           "budapest": 0.7, "other": 0.3},
    "q3": {"budapest": 5, "cooperation": 2, "data_access": 2, "human_rights": 1.5, "scope": 1, "other": 0.3},
    "q4": {"multistakeholder": 5, "te_tiriti": 2.5, "pacific_capacity": 2, "human_rights": 0.7,
           "cooperation": 0.5, "other": 0.3},
    OTHER_ID: {"other": 3, "pacific_capacity": 2, "cooperation": 2, "te_tiriti": 1.5, "human_rights": 1.5,
               "data_access": 1, "misuse_speech": 1, "multistakeholder": 1, "budapest": 0.5, "scope": 1},
}
#: Stance probabilities (support, oppose, neutral) per attitude and question.
STANCE_P: dict[str, dict[str, tuple[float, float, float]]] = {
    "rights": {"q1": (.93, .02, .05), "q2": (.1, .8, .1), "q3": (.7, .1, .2), "q4": (.85, .05, .1)},
    "security": {"q1": (.45, .35, .2), "q2": (.75, .1, .15), "q3": (.35, .35, .3), "q4": (.45, .35, .2)},
    "mixed": {"q1": (.6, .15, .25), "q2": (.35, .35, .3), "q3": (.45, .2, .35), "q4": (.6, .15, .25)},
}
OPEN_FROM = datetime(2021, 10, 18, 9, 0)
CLOSE_AT = datetime(2021, 11, 19, 17, 0)
_ID_CHARS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass
class Survey:
    """The generated export rows and their ground truth."""

    header: list[str]
    rows: list[list[str]]
    themes: list[tuple[str, str, str]] = field(default_factory=list)
    positions: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)
    campaigns: list[tuple[str, str, str, str]] = field(default_factory=list)
    pii: list[tuple[str, str, str, str]] = field(default_factory=list)
    languages: list[tuple[str, str, str]] = field(default_factory=list)
    analyst: list[tuple[str, str, str]] = field(default_factory=list)  # key, truth, coded


def header() -> list[str]:
    """CSV header of the export, in column order."""
    cols = list(META)
    for i, (h, _, _) in enumerate(CLOSED.values(), start=1):
        cols += [h, WHY_HEADER.format(n=i)]
    return [*cols, OTHER_HEADER, ANALYST_HEADER]


def _lean(q: str, stance: str) -> str:
    sup = CLOSED[q][2]
    if stance == "support":
        return sup
    if stance == "oppose":
        return "-" if sup == "+" else "+"
    return "0"


def _tick(rng: random.Random, stance: str) -> str:
    if stance == "support":
        return rng.choice(["Strongly agree", "Agree"])
    if stance == "oppose":
        return rng.choices(["Disagree", "Strongly disagree"], weights=[55, 45])[0]
    return "Neither agree nor disagree"


def _response_ids(rng: random.Random, n: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        c = "".join(rng.choice(_ID_CHARS) for _ in range(9))
        rid = f"ANON-{c[:4]}-{c[4:8]}-{c[8]}"
        if rid not in seen:
            seen.add(rid)
            out.append(rid)
    return out


def _when(rng: random.Random, kind: str) -> datetime:
    if kind == "campaign_1":
        start, span = datetime(2021, 11, 3, 7, 0), rng.expovariate(1 / 30) % (5 * 24)
        return start + timedelta(hours=span, minutes=rng.randint(0, 59))
    if kind == "campaign_2":
        return datetime(2021, 11, 12, 8, 0) + timedelta(minutes=rng.randint(0, 3 * 24 * 60))
    total = (CLOSE_AT - OPEN_FROM).total_seconds() / 60
    u = max(rng.random(), rng.random()) if rng.random() < 0.4 else rng.random()
    t = OPEN_FROM + timedelta(minutes=int(u * total))
    if t.hour < 7:
        t += timedelta(hours=8)
    return min(t, CLOSE_AT)


def _org_name(rng: random.Random) -> str:
    return f"{rng.choice(T.ORG_PREFIX)} {rng.choice(T.ORG_CORE)} {rng.choice(T.ORG_SUFFIX)}"


@dataclass
class _Resp:
    rid: str
    kind: str
    person: Person
    when: datetime
    cells: dict[str, str] = field(default_factory=dict)
    texts: dict[str, Text] = field(default_factory=dict)


def generate_survey(rng: random.Random, n: int = 1500, n_campaign_1: int = 300, n_campaign_2: int = 40,
                    n_te_reo_respondents: int = 8) -> Survey:
    """Generate the survey export and its ground truth.

    Args:
        rng: Seeded random generator.
        n: Number of responses (campaign respondents included).
        n_campaign_1: Respondents sending campaign 1 (opposes an expansive convention) in ``q5_other``.
        n_campaign_2: Respondents sending campaign 2 (supports the convention).
        n_te_reo_respondents: Respondents who answer in te reo Māori.

    Returns:
        The rows (sorted by submission time) and every ground-truth table.
    """
    sv = Survey(header(), [])
    resps = list(_responses(rng, sv, n, n_campaign_1, n_campaign_2, n_te_reo_respondents))
    for i, (truth, tags) in _analyst(rng, [_themes(r) for r in resps], len(resps)).items():
        resps[i].cells[ANALYST_HEADER] = tags
        resps[i].cells["_analyst_truth"] = truth
    resps.sort(key=lambda r: (r.when, r.rid))
    for rsp in resps:
        _truth(sv, rsp)
        sv.rows.append([rsp.cells.get(h, "") for h in sv.header])
    return sv


def _responses(rng: random.Random, sv: Survey, n: int, n_campaign_1: int, n_campaign_2: int,
               n_te_reo_respondents: int) -> Iterator[_Resp]:
    """Each respondent in turn (the order of generation; ``sv.positions`` gets their ticks' truth)."""
    comp = Composer(rng)
    kinds = ["campaign_1"] * n_campaign_1 + ["campaign_2"] * n_campaign_2
    kinds += ["regular"] * (n - len(kinds))
    rng.shuffle(kinds)
    ids = _response_ids(rng, n)
    regular = [i for i, k in enumerate(kinds) if k == "regular"]
    te_reo_resp = set(rng.sample(regular, n_te_reo_respondents))
    te_reo_items = list(range(len(T.TE_REO)))
    rng.shuffle(te_reo_items)
    for i, kind in enumerate(kinds):
        person = comp.person()
        rsp = _Resp(ids[i], kind, person, _when(rng, kind))
        _respondent_meta(rng, rsp)
        attitude = {"campaign_1": "rights", "campaign_2": "security"}.get(kind) or rng.choices(
            ["rights", "security", "mixed"], weights=[50, 30, 20])[0]
        text_only = set(rng.sample(sorted(CLOSED), rng.choice([1, 1, 1, 2]))) if (
            kind == "regular" and rng.random() < 0.15) else set()
        for q in CLOSED:
            _closed(rng, comp, sv, rsp, q, attitude, q in text_only,
                    te_reo_items if i in te_reo_resp else None)
        _other(rng, comp, rsp, attitude, te_reo_items if i in te_reo_resp else None)
        yield rsp


def _themes(rsp: _Resp) -> tuple[str, ...]:
    """The themes of a respondent's texts (sorted, each once)."""
    return tuple(sorted({th for t in rsp.texts.values() for th in t.themes}))


def write_export(path: Path, rng: random.Random, n: int, n_campaign_1: int, n_campaign_2: int,
                 n_te_reo_respondents: int) -> int:
    """Write the survey export of :func:`generate_survey` to ``path`` (UTF-8 CSV), without its ground truth and
    without holding the respondents: the same bytes as writing ``generate_survey(...)``'s header and rows with
    ``csv.writer(lineterminator="\\n")``, for any size.

    Each respondent's row but its last column (the analyst's codes, drawn once every respondent is made) is
    written as made to a spool file; the rows are then copied in submission order. What is held is a few numbers
    and the id of each respondent (the process peaked at 696 MB for 2,000,000), not the respondents (5 KB each: the
    former generator held 10.8 GB at 2,000,000).

    Returns:
        The number of rows written (``n``).
    """
    hdr = header()
    if hdr[-1] != ANALYST_HEADER:  # the analyst's codes are appended last (below)
        raise AssertionError("write_export: the analyst's column is not the last")
    sv = Survey(hdr, [])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    when_us: list[int] = []
    rids: list[str] = []
    spans = array("q")  # each row's offset in the spool, then its length
    themes: list[tuple[str, ...]] = []
    seen: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per distinct set of themes
    with tempfile.TemporaryFile(dir=path.parent) as spool:
        at = 0
        for rsp in _responses(rng, sv, n, n_campaign_1, n_campaign_2, n_te_reo_respondents):
            sv.positions.clear()
            buf.seek(0)
            buf.truncate()
            w.writerow([rsp.cells.get(h, "") for h in hdr[:-1]])
            line = buf.getvalue()[:-1].encode("utf-8")
            spool.write(line)
            spans.extend((at, len(line)))
            at += len(line)
            when_us.append((rsp.when - OPEN_FROM) // timedelta(microseconds=1))
            rids.append(rsp.rid)
            th = _themes(rsp)
            themes.append(seen.setdefault(th, th))
        codes = {i: tags for i, (_truth, tags) in _analyst(rng, themes, len(rids)).items()}
        del themes, seen
        order = np.lexsort((np.array(rids), np.array(when_us, dtype=np.int64)))
        del when_us, rids
        spool.flush()
        spool.seek(0)
        while spool.read(1 << 24):  # one pass in the spool's order first: the copy reads a row at a time in another
            pass  # order, one disk read a row where the spool's pages were not kept (3 MB/s against 57 once read)
        with path.open("wb") as out:
            buf.seek(0)
            buf.truncate()
            w.writerow(hdr)
            out.write(buf.getvalue().encode("utf-8"))
            for i in order.tolist():
                spool.seek(spans[2 * i])
                out.write(spool.read(spans[2 * i + 1]))
                out.write(b"," + _field(w, buf, codes.get(i, "")) + b"\n")
    return len(order)


def _field(w: Any, buf: io.StringIO, value: str) -> bytes:
    """``value`` as ``w`` writes it as a row's last field (after a comma)."""
    if not value:
        return b""
    buf.seek(0)
    buf.truncate()
    w.writerow(["", value])
    return buf.getvalue()[1:-1].encode("utf-8")


def _respondent_meta(rng: random.Random, rsp: _Resp) -> None:
    c = rsp.cells
    c["Response ID"] = rsp.rid
    c["Submitted on"] = rsp.when.strftime("%d/%m/%Y %H:%M")
    rtype = "Individual" if rsp.kind != "regular" else rng.choices(
        ["Individual", "Organisation", ""], weights=[88, 11, 1])[0]
    c[META[4]] = rtype
    org = rtype == "Organisation"
    if rng.random() < (0.95 if org else 0.65):
        c[META[2]] = rsp.person.name
    if rng.random() < (0.9 if org else 0.55):
        c[META[3]] = rsp.person.email
    if org:
        c[META[5]] = _org_name(rng)
        c[META[6]] = rng.choice(T.SECTORS)
    c[META[7]] = rng.choices(CONSENT, weights=[45, 38, 17])[0] if rng.random() > 0.02 else ""


def _stance(rng: random.Random, attitude: str, q: str, kind: str) -> str:
    if kind == "campaign_1" and q == "q2":
        return rng.choices(["oppose", "neutral"], weights=[93, 7])[0]
    if kind == "campaign_2" and q == "q2":
        return rng.choices(["support", "neutral"], weights=[90, 10])[0]
    p = STANCE_P[attitude][q]
    return rng.choices(["support", "oppose", "neutral"], weights=list(p))[0]


def _te_reo(items: list[int] | None, stance: str | None, strict: bool = False) -> Text | None:
    """Take an unused te reo answer compatible with ``stance`` (``strict``: it must state it)."""
    if not items:
        return None
    for j in list(items):
        text, themes, st = T.TE_REO[j]
        ok = st == stance if strict else (stance is None or st in (stance, None))
        if ok:
            items.remove(j)
            return Text(text, list(themes), st if stance is not None else None, language="mi")
    return None


def _closed(rng: random.Random, comp: Composer, sv: Survey, rsp: _Resp, q: str, attitude: str,
            text_only: bool, te_reo: list[int] | None) -> None:
    n = q[1]
    stance = _stance(rng, attitude, q, rsp.kind)
    tick = ""
    if text_only:
        write = True
        if rng.random() < 0.15:
            stance = "unsure"
    elif rng.random() < 0.07:
        write = False
    else:
        tick = _tick(rng, stance)
        write = rng.random() < (0.25 if rsp.kind != "regular" else 0.55)
    rsp.cells[CLOSED[q][0]] = tick
    if not write:
        if tick:
            sv.positions.append((rsp.rid, q, LIKERT[tick], "tick", f"{q}_why", ""))
        return
    text_stance = stance
    contradicts = bool(tick) and stance in ("support", "oppose") and rng.random() < 0.06
    if contradicts:
        text_stance = "oppose" if stance == "support" else "support"
    use_te_reo = rng.random() < 0.5 and not contradicts
    t = _te_reo(te_reo if use_te_reo else None, stance, strict=text_only)
    if t is None:
        style = rng.choices(["normal", "short", "long"], weights=[89, 7, 4])[0]
        if rsp.cells.get(META[4]) == "Organisation" and style == "short":
            style = "normal"
        t = comp.why_answer(text_stance, _lean(q, text_stance), WEIGHTS[q],
                            explicit=text_only or contradicts, style=style)
        t = comp.personalise(t, rsp.person, typo_p=0.1, pii_p=0.05, mix_p=0.025)
    rsp.cells[WHY_HEADER.format(n=n)] = t.text
    rsp.texts[f"{q}_why"] = t
    pos = LIKERT[tick] if tick else t.stance
    basis = "contradicts" if contradicts else ("tick" if tick else "text_only")
    if pos:
        sv.positions.append((rsp.rid, q, pos, basis, f"{q}_why", t.stance or ""))


def _other(rng: random.Random, comp: Composer, rsp: _Resp, attitude: str, te_reo: list[int] | None) -> None:
    if rsp.kind in ("campaign_1", "campaign_2"):
        c1 = rsp.kind == "campaign_1"
        t = comp.campaign_copy(T.CAMPAIGN_1 if c1 else T.CAMPAIGN_2,
                               T.CAMPAIGN_1_THEMES if c1 else T.CAMPAIGN_2_THEMES, "+" if c1 else "-", rsp.person)
    else:
        t = _te_reo(te_reo, None)
        if t is None:
            if rng.random() >= 0.35:
                return
            lean = {"rights": "+", "security": "-", "mixed": "0"}[attitude]
            style = rng.choices(["normal", "short", "long"], weights=[74, 20, 6])[0]
            t = comp.free_answer(lean, WEIGHTS[OTHER_ID], style=style)
            if style != "short":
                t = comp.personalise(t, rsp.person, typo_p=0.1, pii_p=0.05, mix_p=0.025)
    rsp.cells[OTHER_HEADER] = t.text
    rsp.texts[OTHER_ID] = t


def _analyst(rng: random.Random, themes: list[tuple[str, ...]], n: int) -> dict[int, tuple[str, str]]:
    """An analyst coded ~10% of responses (whole response), from the truth with ~5% noise.

    Args:
        rng: The generator's random generator (drawn after every respondent is made).
        themes: Each respondent's themes (:func:`_themes`), in the order of generation.
        n: The number of respondents.

    Returns:
        Respondent (its place in ``themes``) -> (its themes, the analyst's codes), each ``;``-joined.
    """
    coded = [i for i, th in enumerate(themes) if th]
    all_themes = sorted(T.CODEBOOK)
    out: dict[int, tuple[str, str]] = {}
    for i in rng.sample(coded, round(0.1 * n)):
        truth = themes[i]
        tags = []
        for th in truth:
            x = rng.random()
            if x < 0.03:
                continue  # missed
            tags.append(rng.choice(all_themes) if x < 0.05 else th)  # miscoded
        if rng.random() < 0.05:
            tags.append(rng.choice(all_themes))  # spurious extra
        out[i] = (";".join(truth), ";".join(sorted(set(tags))))
    return out


def _truth(sv: Survey, rsp: _Resp) -> None:
    for qid, t in rsp.texts.items():
        for th in sorted(set(t.themes)):
            sv.themes.append((rsp.rid, qid, th))
        cid = {"campaign_1": "campaign_1", "campaign_2": "campaign_2"}.get(rsp.kind, "") if qid == OTHER_ID else ""
        sv.campaigns.append((rsp.rid, qid, cid, t.personal))
        for kind, value in t.pii:
            sv.pii.append((rsp.rid, qid, kind, value))
        if t.language != "en":
            sv.languages.append((rsp.rid, qid, t.language))
    if ANALYST_HEADER in rsp.cells:
        sv.analyst.append((rsp.rid, rsp.cells["_analyst_truth"], rsp.cells[ANALYST_HEADER]))
