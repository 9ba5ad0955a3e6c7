"""The bundled SYNTHETIC sample consultation, with ground truth.

``python -m analysis.sample [--out DIR] [--seed N]`` regenerates ``data/raw/sample/`` byte for byte:
a Citizen Space-style survey export (~1,500 responses, two form-letter campaigns, te reo Māori
answers, planted PII, typos, contradicting ticks), ~30 emailed submissions (.txt, .eml with and without
DOCX/PDF attachments, .docx, .pdf, one scanned PDF without a text layer), ``consultation.yml``, the
ground truth the generator knows (themes, positions, campaigns, PII, languages), a README and a
provenance file with sha256 sums.

It is modelled on the *shape* of New Zealand's 2021 consultation on draft principles for negotiating
a UN cybercrime convention; every respondent, answer and organisation is invented.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import logging
import random
from collections import Counter
from pathlib import Path

import yaml

from analysis import paths
from analysis.sample import text as T
from analysis.sample.letters import Letter, build_letters, write_letters
from analysis.sample.survey import (
    ANALYST_HEADER,
    CLOSED,
    CONSENT,
    LIKERT,
    META,
    OTHER_HEADER,
    OTHER_ID,
    WHY_HEADER,
    Survey,
    generate_survey,
)

logger = logging.getLogger(__name__)

SEED = 20211
#: Date recorded in the provenance file (fixed so regeneration is byte-identical).
SAMPLE_DATE = "2026-11-28"
LICENCE = "CC0-1.0 (synthetic data; the generator code is MIT like the rest of the project)"
EMAIL_QUESTION = "email_submission"
GT = "ground_truth"


def _csv_bytes(header: list[str], rows: list, lineterminator: str = "\n") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=lineterminator)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def config_dict(seed: int = SEED) -> dict:
    """The sample's ``consultation.yml`` as a dict (valid for :func:`analysis.config.parse_config`)."""
    questions: list[dict] = []
    columns: dict[str, str] = {}
    for i, (qid, (header, text, _)) in enumerate(CLOSED.items(), start=1):
        questions.append({"id": qid, "text": text, "kind": "closed", "choices": dict(LIKERT)})
        questions.append({"id": f"{qid}_why", "text": "Please explain your answer", "kind": "open",
                          "related_question": qid})
        columns[qid] = header
        columns[f"{qid}_why"] = WHY_HEADER.format(n=i)
    questions.append({"id": OTHER_ID, "text": "Is there anything else you would like to tell us?", "kind": "open"})
    questions.append({"id": EMAIL_QUESTION, "text": "Submission received by email (whole letter)", "kind": "open"})
    columns[OTHER_ID] = OTHER_HEADER
    return {
        "id": "sample",
        "title": "SYNTHETIC sample: draft principles for negotiating a UN cybercrime convention",
        "organisation": "Synthetic Ministry (modelled on NZ MFAT's 2021 consultation; not real data)",
        "opened": "2021-10-18",
        "closed": "2021-11-19",
        "synthetic": True,
        "sources": [
            {
                "file": "survey_export.csv",
                "format": "citizen_space",
                "channel": "online_survey",
                "id_column": META[0],
                "submitted_at_column": META[1],
                "name_column": META[2],
                "email_column": META[3],
                "respondent_type_column": META[4],
                "respondent_type_map": {"Individual": "individual", "Organisation": "organisation"},
                "organisation_column": META[5],
                "sector_column": META[6],
                "consent_column": META[7],
                "consent_map": dict(zip(CONSENT, ["publish_named", "publish_anonymous", "do_not_publish"], strict=True)),
                "columns": columns,
                "analyst_tag_columns": {ANALYST_HEADER: ""},
            },
            {"file": "emails", "format": "folder", "channel": "email", "question_id": EMAIL_QUESTION},
        ],
        "questions": questions,
        "settings": {"seed": seed, "count_mode": "unique", "min_cell": 5},
    }


def _letter_truth(letters: list[Letter]) -> dict[str, list]:
    out: dict[str, list] = {"themes": [], "campaigns": [], "pii": [], "languages": [], "emails": []}
    for lt in letters:
        key, q, t = lt.file, EMAIL_QUESTION, lt.truth
        out["emails"].append([key, lt.fmt.replace("_scanned", ""), lt.attachment, lt.encoding, lt.respondent_type,
                              lt.organisation, lt.expected, "; ".join(lt.notes)])
        if lt.expected != "ok":
            continue
        out["themes"] += [[key, q, th] for th in sorted(set(t.themes))]
        out["campaigns"].append([key, q, lt.campaign, t.personal])
        out["pii"] += [[key, q, k, v] for k, v in t.pii]
        if t.language != "en":
            out["languages"].append([key, q, t.language])
    return out


def _truth_files(sv: Survey, letters: list[Letter]) -> dict[str, bytes]:
    lt = _letter_truth(letters)
    files = {
        "themes.csv": _csv_bytes(["response_key", "question_id", "theme_id"],
                                 sorted([list(r) for r in sv.themes] + lt["themes"])),
        "positions.csv": _csv_bytes(
            ["response_key", "question_id", "position", "basis", "text_question_id", "text_position"],
            sorted(list(r) for r in sv.positions)),
        "campaigns.csv": _csv_bytes(["response_key", "question_id", "campaign_id", "personal_addition"],
                                    sorted([list(r) for r in sv.campaigns] + lt["campaigns"])),
        "pii.csv": _csv_bytes(["response_key", "question_id", "kind", "value"],
                              sorted([list(r) for r in sv.pii] + lt["pii"])),
        "languages.csv": _csv_bytes(["response_key", "question_id", "language"],
                                    sorted([list(r) for r in sv.languages] + lt["languages"])),
        "themes_codebook.csv": _csv_bytes(["theme_id", "label", "description"],
                                          [[k, lab, d] for k, (lab, d) in T.CODEBOOK.items()]),
        "emails.csv": _csv_bytes(["file", "format", "attachment", "encoding", "respondent_type", "organisation",
                                  "expected", "notes"], lt["emails"]),
        "analyst_tags.csv": _csv_bytes(["response_key", "true_themes", "coded_themes"], sorted(sv.analyst)),
    }
    return {f"{GT}/{k}": v for k, v in files.items()}


def _stats(sv: Survey, letters: list[Letter]) -> dict[str, int]:
    camp = Counter(r[2] for r in sv.campaigns if r[2]) + Counter(lt.campaign for lt in letters if lt.campaign)
    basis = Counter(r[3] for r in sv.positions)
    return {
        "responses": len(sv.rows), "emails": len(letters), "campaign_1": camp["campaign_1"],
        "campaign_2": camp["campaign_2"], "te_reo": sum(1 for r in sv.languages if r[2] == "mi") + sum(
            1 for lt in letters if lt.truth.language == "mi"), "text_only": basis["text_only"],
        "contradicts": basis["contradicts"], "pii": len(sv.pii), "analyst_coded": len(sv.analyst),
    }


README = """# Sample consultation (SYNTHETIC)

**Everything in this folder is synthetic.** No respondent, answer, letter, name, email address, phone
number, street address or organisation is real. It was generated by `analysis.sample` (seed {seed}) to
demonstrate and test the toolkit, and is released under {licence}.

The sample is modelled on the *shape* of New Zealand's 2021 public consultation (Ministry of Foreign
Affairs and Trade) on draft principles for New Zealand's participation in negotiating a UN cybercrime
convention: an online Citizen Space survey with agree/disagree questions on each draft principle,
"please explain" questions, a final "anything else" question, and letters sent by email. The draft
principles here are written in our own words; they are not the Ministry's text.

Regenerate (byte-identical): `python -m analysis.sample` (or `--out DIR --seed N`).

## Contents

| File | What it is |
|---|---|
| `consultation.yml` | Config for `analysis.config.load_config` (`synthetic: true`). |
| `survey_export.csv` | Citizen Space-style export: {responses} responses, UTF-8, CRLF rows, `Submitted on` as dd/mm/yyyy HH:MM (NZ time). |
| `emails/` | {emails} emailed submissions: .txt (one in Windows-1252, some CRLF), .eml (some with a DOCX or PDF attachment holding the submission and a short cover note in the body), .docx, .pdf, and one scanned PDF with no text layer that ingest must reject ("needs OCR"). |
| `ground_truth/` | What the generator knows (below). Never read by the pipeline. |
| `provenance.yml` | Source, date, licence and sha256 of every file. |

## What is in the data

- Four closed 5-point questions (`q1`-`q4`, blank = not answered), a "please explain" after each
  (`q1_why`-`q4_why`), and `q5_other` ("anything else"). Note that principle 2 (`q2`) is phrased as
  *openness to a broad scope*, so people who want a narrow treaty **disagree** with it.
- Ten themes (`ground_truth/themes_codebook.csv`); answers carry 0-3 themes (campaign copies and
  long letters more).
  Theme sentences are templates with synonym slots and deliberately overlapping vocabulary.
- Stance in the text agrees with the tick except in the `contradicts` cases ({contradicts}); {text_only}
  closed answers were skipped but explained in text (`text_only`).
- Campaign 1 (opposes an expansive convention): {campaign_1} near-copies (survey `q5_other` and emails),
  with greetings, sign-offs, deleted/swapped sentences, typos and 1-5 personal sentences. Campaign 2
  (supports the convention): {campaign_2} copies. Campaign-1 senders mostly tick Disagree on `q2`.
- {te_reo} answers wholly in te reo Māori, plus English answers with te reo phrases (`mixed`).
- Planted PII in free text: {pii} values in survey answers (including names in campaign sign-offs),
  plus letter signatures: emails, NZ phone numbers in several formats, street addresses, names.
- Typos (seeded character edits) in ~10% of texts; one-word and long rambling answers.
- `Analyst: themes`: {analyst_coded} responses coded by a simulated analyst (";"-separated theme ids, whole
  response) from the truth with ~5% noise (`ground_truth/analyst_tags.csv` shows both).
- PDF letters are set in Helvetica without macrons (as many real PDFs are): "Maori", not "Māori".

## Ground truth (`ground_truth/`)

`response_key` is the `Response ID` for survey rows and the file name for emails.

- `themes.csv`: response_key, question_id, theme_id: one row per label. Campaign copies carry the
  template's themes plus those of their personal sentences.
- `positions.csv`: response_key, question_id (the closed question), position (support / oppose / neutral
  / unsure), basis (`tick`: from the tick; `text_only`: no tick, from the explanation; `contradicts`:
  the explanation contradicts the tick, position is the tick), text_question_id (the "please explain"
  question), text_position (stance the explanation expresses; empty when it expresses none).
  Emails and `q5_other` have no positions.
- `campaigns.csv`: response_key, question_id, campaign_id (empty: not a copy), personal_addition (the
  sentences added to the template; empty if none). One row per non-empty free-text answer.
- `pii.csv`: response_key, question_id, kind (email / phone / address / name), value as planted.
- `languages.csv`: response_key, question_id, language (`mi`: te reo Māori; `mixed`: English with te reo).
  Unlisted answers are English.
- `themes_codebook.csv`: theme_id, label, description.
- `emails.csv`: file, format, attachment, encoding, respondent_type, organisation, expected (`ok` or
  `reject: needs OCR`), notes.
- `analyst_tags.csv`: response_key, true_themes, coded_themes for the analyst-coded responses.
"""


def generate(out_dir: Path | None = None, seed: int = SEED) -> list[Path]:
    """Generate the whole sample into ``out_dir`` (default ``data/raw/sample``).

    Args:
        out_dir: Target folder (created; generated sub-folders are emptied first).
        seed: Seed of every random choice.

    Returns:
        The files written, provenance last.
    """
    out = Path(out_dir) if out_dir is not None else paths.raw_dir("sample")
    for sub in ("emails", GT):
        if (out / sub).is_dir():
            for f in sorted((out / sub).iterdir()):
                if f.is_file():
                    f.unlink()
    out.mkdir(parents=True, exist_ok=True)
    sv = generate_survey(random.Random(f"{seed}:survey"))
    letter_rng = random.Random(f"{seed}:letters")
    letters = build_letters(letter_rng)
    files: dict[str, bytes] = {
        "consultation.yml": yaml.safe_dump(config_dict(seed), sort_keys=False, allow_unicode=True,
                                           width=200).encode("utf-8"),
        "survey_export.csv": _csv_bytes(sv.header, sv.rows, lineterminator="\r\n"),
        **_truth_files(sv, letters),
    }
    stats = _stats(sv, letters)
    files["README.md"] = README.format(seed=seed, licence=LICENCE, **stats).encode("utf-8")
    written = []
    for rel, data in files.items():
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        written.append(p)
    written += write_letters(letters, out / "emails", letter_rng)
    written.append(write_provenance(out, written, seed))
    logger.info("sample written to %s: %s", out, stats)
    return written


def write_provenance(out: Path, files: list[Path], seed: int) -> Path:
    """Write ``provenance.yml`` listing every file with source, date, licence and sha256."""
    entries = []
    source = f"synthetic, generated by analysis.sample with seed {seed}"
    for p in sorted(files, key=lambda f: f.relative_to(out).as_posix()):
        data = p.read_bytes()
        entries.append({"file": p.relative_to(out).as_posix(), "source": source, "date": SAMPLE_DATE,
                        "licence": LICENCE, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    doc = {
        "synthetic": True,
        "source": source,
        "date": SAMPLE_DATE,
        "licence": LICENCE,
        "generator": "python -m analysis.sample",
        "files": entries,
    }
    path = out / "provenance.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=200), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m analysis.sample [--out DIR] [--seed N]``."""
    ap = argparse.ArgumentParser(description="Regenerate the SYNTHETIC sample consultation.")
    ap.add_argument("--out", type=Path, default=None, help="target folder (default: data/raw/sample)")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    generate(args.out, args.seed)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
