"""Write the numbered notebooks from the cell lists below (``make notebooks`` then executes them).

Keeping the cells here keeps the notebooks thin and reviewable: every cell calls the ``analysis`` package;
no analysis logic lives in a notebook. Each notebook has a ``parameters`` cell (papermill / nbclient can run it
with another consultation) and a first cell that silences warnings and progress bars so the stored outputs,
which nbval compares in CI, hold only the results.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]

SETUP = """\
# Setup: quiet, deterministic output (nbval compares every stored output in CI).
import analysis  # first: pins BLAS to one thread before numpy loads, so floats match `analysis run`
import logging
import os
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pandas as pd
from threadpoolctl import threadpool_limits

threadpool_limits(1, user_api="blas")  # byte-identical floats, as in `analysis run`
pd.set_option("display.width", 140)
pd.set_option("display.max_colwidth", 90)
pd.set_option("display.float_format", "{:.3f}".format)

from analysis import paths
from analysis.config import load_config
from analysis.tables import read_table"""

PARAMS = """\
# Parameters (papermill): the consultation folder under data/raw.
consultation = "sample\""""

LOAD = """\
cfg = load_config(consultation)
raw_dir = paths.raw_dir(consultation)
processed_dir = paths.processed_dir(cfg.id)
print(cfg.title)
print(f"{len(cfg.sources)} source(s), {len(cfg.questions)} questions, count mode: {cfg.settings.count_mode}, seed: {cfg.settings.seed}")"""


def nb(title: str, intro: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """Build one notebook: title, setup, parameters, load, then (markdown, code) pairs."""
    out = [new_markdown_cell(f"# {title}\n\n{intro}"), new_code_cell(SETUP)]
    p = new_code_cell(PARAMS)
    p.metadata["tags"] = ["parameters"]
    out += [p, new_code_cell(LOAD)]
    for md, code in cells:
        if md:
            out.append(new_markdown_cell(md))
        if code:
            out.append(new_code_cell(code))
    for i, cell in enumerate(out):
        cell["id"] = f"c{i:02d}"  # stable ids: rebuilding gives a clean diff
    book = new_notebook(cells=out)
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    book.metadata["language_info"] = {"name": "python"}
    return book


NOTEBOOKS = {
    "01_ingest.ipynb": nb(
        "01 · Ingest and ledger",
        "Reads every export named in `consultation.yml` into the canonical tables. Every input row ends in a table "
        "or in the rejects table with its reason; the ledger proves it per file.",
        [
            ("", "from analysis import ingest\n\nwritten = ingest.run(cfg, raw_dir=raw_dir, processed_dir=processed_dir)\nsorted(p.name for p in written)"),
            ("## Ledger: rows read = rows kept + rows rejected, per file",
             "ledger = read_table(\"ledger\", processed_dir)\nassert (ledger.rows_read == ledger.rows_kept + ledger.rows_rejected).all()\nledger.drop(columns=\"sha256\")"),
            ("## Rejects and warnings (nothing is dropped silently)",
             "rejects = read_table(\"core_rejects\", processed_dir)\nrejects[[\"file\", \"row\", \"column\", \"reason\"]]"),
            ("## Who responded",
             "responses = read_table(\"core_responses\", processed_dir)\npd.crosstab(responses.channel, responses.respondent_type, margins=True)"),
            ("## Answers per question, and languages detected in free text",
             "answers = read_table(\"core_answers\", processed_dir)\nanswers.groupby(\"question_id\").size().rename(\"answers\").to_frame()"),
            ("", "answers.loc[answers.language != \"und\", \"language\"].value_counts()"),
        ],
    ),
    "02_campaigns.ipynb": nb(
        "02 · Campaigns and de-identification",
        "Redacts personal information (everything downstream reads `text_redacted`) and finds form-letter "
        "campaigns: their template, size and each copy's personal additions.",
        [
            ("", "from analysis import campaigns\n\nwritten = campaigns.run(cfg, raw_dir=raw_dir, processed_dir=processed_dir)\nsorted(p.name for p in written)"),
            ("## Campaigns found",
             "camp = read_table(\"core_campaigns\", processed_dir)\ncamp.assign(template=camp.template.str.slice(0, 100) + \"…\")"),
            ("## Counts both ways reconcile: all = unique + Σ(size − 1)",
             "clean = read_table(\"core_answers_clean\", processed_dir)\ncampaigns.reconcile(clean, camp)"),
            ("## Personal additions go on to theme analysis as the respondent's own words",
             "copies = clean[clean.is_campaign_copy & clean.personal_addition.notna()]\nprint(f\"{len(copies)} campaign copies carry a personal addition\")\ncopies[[\"response_id\", \"campaign_id\", \"personal_addition\"]].head(5)"),
            ("## What was redacted",
             "read_table(\"core_redaction_log\", processed_dir).groupby(\"kind\")[\"count\"].sum().rename(\"redactions\").to_frame()"),
        ],
    ),
    "03_themes.ipynb": nb(
        "03 · Themes",
        "Assigns themes from the analyst's `codebook.yml` (or discovers topics and drafts a codebook when there is "
        "none), applies `overrides.csv` last, and counts themes per question with the response ids behind each count.",
        [
            ("", "from analysis import themes\n\nwritten = themes.run(cfg, raw_dir=raw_dir, processed_dir=processed_dir)\nsorted(p.name for p in written)"),
            ("## The codebook in use",
             "core_themes = read_table(\"core_themes\", processed_dir)\ncore_themes.groupby(\"question_id\").size().rename(\"themes\").to_frame()"),
            ("",
             "core_themes.loc[core_themes.question_id == cfg.open_questions[0].id, [\"theme_id\", \"label\", \"keywords\"]]"),
            ("## Theme counts (published count mode), with 95% intervals",
             "answer_themes = read_table(\"core_answer_themes\", processed_dir)\nclean = read_table(\"core_answers_clean\", processed_dir)\nresponses = read_table(\"core_responses\", processed_dir)\n"
             "tc = themes.theme_counts(answer_themes, clean, responses, cfg)\n"
             "tc[(tc.table == \"theme\") & (tc.count_mode == cfg.settings.count_mode)][[\"question_id\", \"category\", \"n\", \"denominator\", \"share\", \"ci_low\", \"ci_high\", \"suppressed\"]]"),
            ("## Where each assignment came from", "answer_themes.groupby(\"source\").size().rename(\"rows\").to_frame()"),
        ],
    ),
    "04_positions.ipynb": nb(
        "04 · Positions",
        "Support / oppose / neutral / unsure per question from ticks, and from free text with a stance model trained "
        "on this consultation's own ticked answers. Low-confidence predictions are `unclear`, never forced.",
        [
            ("", "from analysis import positions\n\nwritten = positions.run(cfg, raw_dir=raw_dir, processed_dir=processed_dir)\nsorted(p.name for p in written)"),
            ("## Positions per question and where they came from",
             "pos = read_table(\"core_answer_positions\", processed_dir)\npd.crosstab([pos.question_id, pos.source], pos.position)"),
            ("## Tick and text disagree: for the analyst to check",
             "dis = read_table(\"core_position_disagreements\", processed_dir)\nprint(f\"{len(dis)} answers where the tick and the text disagree\")\ndis.head(5)"),
            ("## Active learning: code these next\n\nThe answers below would improve the stance model most. Code them in "
             "`data/raw/<consultation>/analyst_positions.csv` (response_id, question_id, position) and re-run.",
             "proposals = positions.propose_for_consultation(cfg, processed_dir=processed_dir, n=10)\nproposals"),
        ],
    ),
    "05_results.ipynb": nb(
        "05 · Results: counts, charts, summary",
        "Counts in both modes with Wilson 95% intervals and small-cell suppression, then the charts, the "
        "*We asked / You said / We did* summary and the workbook, and finally the publication guard. The count "
        "tables below are the published numbers: CI fails if they change.",
        [
            ("", "from analysis import counts_stage, report\nfrom analysis.redaction.redact import guard\n\ncounts_stage.run(cfg, raw_dir=raw_dir, processed_dir=processed_dir)\nout = read_table(\"out_counts\", processed_dir)\nout.groupby([\"table\", \"count_mode\"]).size().rename(\"rows\").to_frame()"),
            ("## Positions per closed question (published count mode)",
             "cols = [\"question_id\", \"category\", \"n\", \"denominator\", \"share\", \"ci_low\", \"ci_high\", \"suppressed\"]\n"
             "out[(out.table == \"position\") & (out.count_mode == cfg.settings.count_mode) & (out.group == \"all\")][cols]"),
            ("## Responses by channel and respondent type, both count modes",
             "out[out.table == \"responses_total\"][[\"count_mode\", \"category\", \"n\", \"denominator\"]]"),
            ("## Charts, summary and workbook",
             "reports_dir = paths.reports_dir(cfg.id)\nwritten = report.run(cfg, raw_dir=raw_dir, processed_dir=processed_dir, reports_dir=reports_dir)\n"
             "guard(reports_dir)\nprint(f\"{len(written)} files written; publication guard: clean\")\nsorted({p.suffix for p in written})"),
            ("", "print((reports_dir / \"summary.md\").read_text(encoding=\"utf-8\")[:2500])"),
        ],
    ),
    "06_review.ipynb": nb(
        "06 · Review and agreement",
        "How well does the model agree with the analyst's own coding? Cohen's kappa per theme on the answers the "
        "analyst coded (Citizen Space analyst fields or `overrides.csv`).",
        [
            ("", "from analysis.themes.agreement import theme_agreement\n\ntags = read_table(\"core_analyst_tags\", processed_dir)\nanswer_themes = read_table(\"core_answer_themes\", processed_dir)\nprint(f\"{tags.response_id.nunique()} responses coded by an analyst\")"),
            ("## Agreement per theme", "agreement = theme_agreement(tags, answer_themes)\nagreement"),
            ("", "print(f\"mean kappa over themes: {agreement.kappa.mean():.3f}\")"),
        ],
    ),
}


def main() -> None:
    """Write every notebook (without outputs; run ``scripts/run_notebooks.py`` next)."""
    for name, book in NOTEBOOKS.items():
        nbformat.write(book, ROOT / "notebooks" / name)
        print(f"wrote notebooks/{name}")


if __name__ == "__main__":
    main()
