"""Benchmark the ingest stage on a generated Citizen Space-like export (default 100,000 rows).

Usage::

    python benchmarks/ingest.py --data /work/shared/data            # 100k rows
    python benchmarks/ingest.py --data /work/shared/data --rows 20000 --xlsx

Open-text answers are real crowd-written arguments (IBM ArgKP 2021, CDLA-Sharing 1.0, Bar-Haim et al.
2020), two random arguments joined per answer so nearly every text is distinct (no help from the
language guesser's de-duplication). Prints measured numbers only: file size, wall time of reading
+ building the tables with and without language detection, rows/s, and language-detection texts/s.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

from analysis.config import parse_config
from analysis.ingest import ingest
from analysis.ingest.language import default_guesser

Q1 = "1. Do you agree with the proposal?"
Q1_WHY = "1a. Please explain your answer"
Q2 = "2. Which changes would you support?"
Q3 = "3. Any other comments?"
AGREE = ["Strongly agree", "Agree", "Neither agree nor disagree", "Disagree", "Strongly disagree"]
CHANGES = ["Online voting", "Weekend polling days", "Fines for not voting"]


def generate(path: Path, rows: int, texts: list[str], seed: int = 1) -> None:
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Response ID", "Submitted on", "Are you responding as an individual or an organisation?",
                    "Organisation name", "May we publish your response?", Q1, Q1_WHY, Q2, Q3, "Tags"])
        for i in range(rows):
            org = rng.random() < 0.1
            w.writerow([f"ANON-{i:07d}", f"{1 + i % 28:02d}/0{1 + i % 9}/2024 {i % 24:02d}:{i % 60:02d}",
                        "Organisation" if org else "Individual", f"Org {i % 500}" if org else "",
                        rng.choice(["Yes", "No"]), rng.choice(AGREE),
                        f"{rng.choice(texts)} {rng.choice(texts)}" if rng.random() < 0.85 else "",
                        ";".join(c for c in CHANGES if rng.random() < 0.4),
                        rng.choice(texts) if rng.random() < 0.3 else "", "cost; fairness" if rng.random() < 0.1 else ""])


def config(file: str, language: bool):
    return parse_config({
        "id": "bench", "title": "Bench",
        "sources": [{"file": file, "format": "citizen_space", "id_column": "Response ID",
                     "submitted_at_column": "Submitted on",
                     "respondent_type_column": "Are you responding as an individual or an organisation?",
                     "respondent_type_map": {"Individual": "individual", "Organisation": "organisation"},
                     "organisation_column": "Organisation name", "consent_column": "May we publish your response?",
                     "columns": {"q1": Q1, "q1_why": Q1_WHY, "q2": Q2, "q3": Q3}, "analyst_tag_columns": {"Tags": ""}}],
        "questions": [
            {"id": "q1", "text": Q1, "kind": "closed", "choices": dict.fromkeys(AGREE, "none")},
            {"id": "q1_why", "text": Q1_WHY, "kind": "open", "related_question": "q1"},
            {"id": "q2", "text": Q2, "kind": "closed", "multi_select": True, "choices": dict.fromkeys(CHANGES, "none")},
            {"id": "q3", "text": Q3, "kind": "open"},
        ],
        "settings": {"language_detection": language},
    })


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="folder holding argkp-2021/")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--xlsx", action="store_true", help="also time the same rows saved as .xlsx")
    args = ap.parse_args()
    texts = pd.read_csv(args.data / "argkp-2021" / "arguments_train.csv")["argument"].astype(str).tolist()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp)
        generate(raw / "export.csv", args.rows, texts)
        print(f"rows: {args.rows}; export.csv: {(raw / 'export.csv').stat().st_size / 1e6:.1f} MB")
        t0 = time.perf_counter()
        default_guesser().detector  # noqa: B018 - load lingua's models once, timed separately
        print(f"lingua model load: {time.perf_counter() - t0:.1f} s")
        for lang in (False, True):
            t0, c0 = time.perf_counter(), time.process_time()
            tables, rejects = ingest(config("export.csv", lang), raw)
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            n_open = int(tables["core_answers"]["question_id"].isin(["q1_why", "q3"]).sum())
            print(f"language_detection={lang}: {dt:.1f} s wall ({cpu:.1f} s CPU), {args.rows / dt:,.0f} rows/s; "
                  f"{len(tables['core_answers']):,} answers ({n_open:,} open texts), {len(rejects)} rejects")
            if lang:
                ans = tables["core_answers"]
                t0, c0 = time.perf_counter(), time.process_time()
                default_guesser().guess(ans.loc[ans["question_id"].isin(["q1_why", "q3"]), "answer"].tolist())
                dl, cl = time.perf_counter() - t0, time.process_time() - c0
                print(f"language detection alone: {n_open / dl:,.0f} texts/s ({dl:.1f} s wall, {cl:.1f} s CPU on all cores)")
                print("languages:", ans["language"].value_counts().to_dict())
        if args.xlsx:
            df = pd.read_csv(raw / "export.csv", dtype=str, keep_default_na=False)
            df.to_excel(raw / "export.xlsx", index=False)
            t0 = time.perf_counter()
            tables, _ = ingest(config("export.xlsx", False), raw)
            dt = time.perf_counter() - t0
            print(f"xlsx (no language detection): {dt:.1f} s, {args.rows / dt:,.0f} rows/s")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
