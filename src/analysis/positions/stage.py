"""Positions stage: one support / oppose / neutral / unsure / unclear position per response × question.

Sources, in order of precedence (the final row's ``source`` says which one won):

1. ``analyst`` — a human code from ``analyst_positions.csv`` in the raw folder
   (``response_id, question_id, position``) overrides everything.
2. ``closed`` — the respondent's tick, mapped through the question's ``choices``.
3. ``votes`` — Pol.is statements: the position of a *statement* from its agree/disagree votes
   (:mod:`analysis.positions.polis_votes`); this is not a respondent's position.
4. ``text_model`` — the per-consultation stance model (:mod:`analysis.positions.text_stance`), for the open
   questions whose positions from text are on (question key ``text_positions``; by default "why?" questions
   and whole submissions, off for stand-alone open questions).

Closed answers: a label is matched case- and whitespace-insensitively to the question's choices. A
label that matches no choice is a :class:`~analysis.errors.ConfigError` naming the question, the
label and the response, unless the question has an ``other_choice``: then the text is the
respondent's "Other (please specify)" answer, mapped like that choice (usually ``none``) and handed
to the text model. Choices mapped to ``none`` give no position. A multi-select answer resolves as:
exactly one side (support *or* oppose) among its choices → that side (neutral / unsure alongside a
side do not cancel it); both sides → ``unclear``; no side → ``unsure`` if any choice is unsure,
else ``neutral``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import schemas
from analysis.config import ConsultationConfig
from analysis.errors import ConfigError, InputError
from analysis.hashing import sha256_file
from analysis.memory import give_back
from analysis.positions.model import StanceModel, propose_for_coding
from analysis.positions.text_stance import POS_COLS, text_column, text_positions, text_questions
from analysis.tables import read_optional, read_table, table_digest, table_exists, write_table

log = logging.getLogger(__name__)

ANALYST_FILE = "analyst_positions.csv"
#: Tables the positions themselves depend on (``core_answer_themes`` only feeds ``out_theme_support``).
POSITION_TABLES = ("core_answers_clean", "core_answers", "core_questions", "core_responses", "core_statement_votes")


def _norm(label: str) -> str:
    return " ".join(str(label).split()).casefold()


def resolve_multi(positions: list[str]) -> str | None:
    """Resolve the positions of several ticked choices into one (see module docstring)."""
    ps = {p for p in positions if p != "none"}
    if not ps:
        return None
    sides = ps & set(schemas.SIDES)
    if len(sides) == 1:
        return sides.pop()
    if len(sides) == 2:
        return "unclear"
    return "unsure" if "unsure" in ps else "neutral"


def closed_positions(
    answers: pd.DataFrame, questions: pd.DataFrame, cfg: ConsultationConfig | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map closed answers to positions through each question's choices.

    Args:
        answers: ``core_answers`` / ``core_answers_clean`` (``answer`` holds the choice label(s)).
        questions: ``core_questions`` (``choices`` JSON label → position).
        cfg: Config for multi-select / separator / other choice (defaults when ``None``).

    Returns:
        ``(positions, other_texts)``: positions in ``core_answer_positions`` columns (source ``closed``,
        confidence 1); ``other_texts`` = ``response_id, question_id, text`` of "Other" answers whose
        choice gives no position (to be read by the text model).

    Raises:
        ConfigError: An answer holds a label that matches no choice (question, label and response named).
    """
    rows, others = [], []
    closed = questions[questions["kind"] == "closed"]
    for _, q in closed.iterrows():
        qid = q["question_id"]
        choices = {_norm(k): v for k, v in json.loads(q["choices"] or "{}").items()}
        qc = next((c for c in cfg.questions if c.id == qid), None) if cfg is not None else None
        multi = bool(qc and qc.multi_select)
        sep = qc.choice_separator if qc else ";"
        other = _norm(qc.other_choice) if qc and qc.other_choice else None
        sub = answers[(answers["question_id"] == qid).to_numpy()]
        # tick-box answers repeat a handful of values: each distinct one read once, in the order first met (so a
        # label matching no choice is reported with the first response giving it, as row by row)
        codes, values = pd.factorize(sub["answer"].fillna(""), sort=False)
        rids = sub["response_id"].to_numpy(dtype=object)
        firsts = np.unique(codes, return_index=True)[1]
        hits = [_closed_answer(str(ans), rids[i], q, choices, multi, sep, other)
                for ans, i in zip(values.tolist(), firsts.tolist(), strict=True)]
        pos = np.array([h[0] for h in hits], dtype=object)[codes]  # no code is -1: missing answers were filled
        text = np.array([h[1] for h in hits], dtype=object)[codes]
        has = np.array([h[0] is not None for h in hits], dtype=bool)[codes]
        oth = ~has & np.array([bool(h[1]) for h in hits], dtype=bool)[codes]
        rows.append(pd.DataFrame({"response_id": rids[has], "question_id": qid, "position": pos[has],
                                  "confidence": 1.0, "source": "closed"}))
        others.append(pd.DataFrame({"response_id": rids[oth], "question_id": qid, "text": text[oth]}))
    return _frame(rows, POS_COLS), _frame(others, ["response_id", "question_id", "text"])


def _frame(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """The parts one after the other; with no row, the empty frame of ``columns`` a list of no rows gives."""
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame([], columns=columns)


def _closed_answer(ans: str, rid: str, q: pd.Series, choices: dict[str, str], multi: bool, sep: str,
                   other: str | None) -> tuple[str | None, str]:
    """Position of one stored closed answer and the text of its "Other" part ("" when none) (:func:`closed_positions`).

    Raises:
        ConfigError: A label matches no choice (question, label and response ``rid`` named).
    """
    if not ans.strip():
        return None, ""
    labels = [x for x in (ans.split(sep) if multi else [ans]) if x.strip()]
    found, other_text = [], []
    for lab in labels:
        key = _norm(lab)
        if key in choices:
            found.append(choices[key])
        elif other is not None and other in choices:
            found.append(choices[other])
            other_text.append(lab.strip())
        else:
            raise ConfigError(
                f"question {q['question_id']!r}: answer label {lab.strip()!r} of response {rid!r} matches no choice "
                f"in the config (known: {sorted(json.loads(q['choices']))}); add it to 'choices' "
                f"(position or 'none') or set 'other_choice'"
            )
    return resolve_multi(found), " ".join(other_text)


def load_analyst_positions(raw_dir: Path, cfg: ConsultationConfig) -> pd.DataFrame | None:
    """Read ``analyst_positions.csv`` (``response_id, question_id, position``) if present.

    Question ids of "why" questions are mapped to the closed question they explain.

    Raises:
        InputError: Missing column, unknown question, unknown position or duplicate code (row named).
    """
    path = Path(raw_dir) / ANALYST_FILE
    if not path.exists():
        return None
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ("response_id", "question_id", "position"):
        if col not in df.columns:
            raise InputError(str(path), f"missing required column {col!r}", column=col)
    known = {q.id for q in cfg.questions}
    out = []
    seen: dict[tuple[str, str], int] = {}
    for i, r in enumerate(df.itertuples(index=False), start=2):
        pos = str(r.position).strip().lower()
        qid = str(r.question_id).strip()
        if qid not in known:
            raise InputError(str(path), f"unknown question {qid!r}", row=i, column="question_id")
        if pos not in schemas.POSITIONS:
            raise InputError(str(path), f"unknown position {r.position!r} (use one of {schemas.POSITIONS})",
                             row=i, column="position")
        key = (str(r.response_id).strip(), cfg.reported_under(qid))
        if key in seen:
            raise InputError(str(path), f"response {key[0]!r} coded twice for question {key[1]!r} "
                             f"(also row {seen[key]})", row=i, column="response_id")
        seen[key] = i
        out.append((*key, pos, 1.0, "analyst"))
    return pd.DataFrame(out, columns=POS_COLS)


def combine_positions(*sources: pd.DataFrame | None) -> pd.DataFrame:
    """Final position per (response, question): analyst > closed > votes > text_model.

    Among rows of the same source (e.g. two "why" texts for one closed question) the most confident wins.
    """
    prio = {"analyst": 0, "closed": 1, "votes": 2, "text_cue": 3, "text_model": 4}
    parts = [s[POS_COLS] for s in sources if s is not None and len(s)]
    if not parts:
        return pd.DataFrame(columns=POS_COLS)
    df = pd.concat(parts, ignore_index=True)
    df["_p"] = df["source"].map(prio)
    df = df.sort_values(["response_id", "question_id", "_p", "confidence", "position"],
                        ascending=[True, True, True, False, True], kind="mergesort")
    return df.drop_duplicates(["response_id", "question_id"]).drop(columns="_p").reset_index(drop=True)


def _answers(processed_dir: Path) -> pd.DataFrame:
    clean = read_optional("core_answers_clean", processed_dir)
    return clean if clean is not None else read_table("core_answers", processed_dir)


def assign_positions(
    cfg: ConsultationConfig,
    answers: pd.DataFrame,
    questions: pd.DataFrame,
    analyst: pd.DataFrame | None,
    *,
    statement_positions: pd.DataFrame | None = None,
    model: StanceModel | None = None,
):
    """Pure core of the stage.

    Returns:
        ``(answer_positions, disagreements, confusion, text_result)``.
    """
    closed, other_texts = closed_positions(answers, questions, cfg)
    tr = text_positions(answers, closed, analyst, cfg, extra_texts=other_texts, exclude=statement_positions,
                        model=model)
    final = combine_positions(analyst, closed, statement_positions, tr.positions)
    return final, tr.disagreements, tr.confusion, tr


def positions_inputs(cfg: ConsultationConfig, raw_dir: Path, processed_dir: Path) -> tuple:
    """What :func:`assign_positions` reads: ``(questions, answers, analyst codes, statement votes, statement
    positions)`` (the last two ``None`` without Pol.is votes). Raises what the analyst file's checks raise."""
    from analysis.positions import polis_votes as statement_support

    questions = read_table("core_questions", processed_dir)
    table = "core_answers_clean" if table_exists("core_answers_clean", processed_dir) else "core_answers"
    analyst = load_analyst_positions(raw_dir, cfg)
    votes = statement_support.load_statement_votes(cfg, processed_dir)
    stmt_pos = None
    if votes is not None:  # statements present among every answer (the keys only)
        keys = read_table(table, processed_dir, columns=["response_id", "question_id"])
        stmt_pos = statement_support.statement_positions(votes, keys)
    # the answers the positions read, of the questions they read: ticks, and the texts of the open questions
    # text_positions reads (not the letters of a question whose positions from text are off: at 200,000
    # responses with 90% campaign copies those were 40% of the characters read), nor the columns they do not
    read = sorted(set(questions.loc[questions["kind"] == "closed", "question_id"].tolist()) | set(text_questions(cfg)))
    columns = ["response_id", "question_id", "answer"] + (["text_redacted"] if table == "core_answers_clean" else [])
    answers = _one_text_column(read_table(table, processed_dir, columns=columns, where=("question_id", read)),
                               set(text_questions(cfg)))
    give_back()  # the batches read and the redacted column (at 200,000 responses 220 MB kept by the pools)
    return questions, answers, analyst, votes, stmt_pos


def _one_text_column(answers: pd.DataFrame, open_ids: set[str]) -> pd.DataFrame:
    """``answers`` without ``text_redacted``: an open question's ``answer`` is its text to model (:func:`text_column`,
    the redacted text, the raw answer where there is none), a closed one's its tick as read. What the positions
    read is the same (the ticks from ``answer``, the texts through :func:`text_column`), and each open answer is
    held once, not twice, while the stance models are fitted."""
    if "text_redacted" not in answers.columns:
        return answers
    is_open = answers["question_id"].isin(open_ids).to_numpy()
    answer = answers["answer"].where(~is_open, answers["text_redacted"].fillna(answers["answer"]))
    return answers[["response_id", "question_id"]].assign(answer=answer)


def run(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path) -> list[Path]:
    """Write ``core_answer_positions``, ``core_position_disagreements``, ``core_position_confusion``
    and, for Pol.is consultations, ``out_theme_support`` (from ``core_statement_votes``, which ingest writes)."""
    from analysis.positions import polis_votes as statement_support
    from analysis.positions import prefetch

    raw_dir, processed_dir = Path(raw_dir), Path(processed_dir)
    questions, answers, analyst, votes, stmt_pos = positions_inputs(cfg, raw_dir, processed_dir)
    written: list[Path] = []
    key = _result_key(cfg, raw_dir, processed_dir)
    cached = _load_result(processed_dir, key)
    _record_themes(processed_dir)
    if cached is not None:
        final, dis, conf = cached
        log.info("positions: inputs unchanged since the cached result (a themes-only change); reused")
    else:
        # computed ahead, while the themes stage ran, from these very inputs (same key), or computed now
        ahead = prefetch.take(processed_dir, key)
        if ahead is not None:
            final, dis, conf = ahead
        else:
            final, dis, conf, _ = assign_positions(cfg, answers, questions, analyst, statement_positions=stmt_pos)
        _save_result(processed_dir, key, (final, dis, conf))
    written.append(write_table(final, "core_answer_positions", processed_dir))
    written.append(write_table(dis, "core_position_disagreements", processed_dir))
    written.append(write_table(conf, "core_position_confusion", processed_dir))
    # the themes only for a Pol.is consultation's statement votes (at 5,000,000 responses 2.4 GB read for nothing)
    themes = read_optional("core_answer_themes", processed_dir) if votes is not None else None
    if themes is not None:
        sup = statement_support.theme_support(votes, themes)
        written.append(write_table(sup, "out_theme_support", processed_dir))
    n_src = final["source"].value_counts().to_dict() if len(final) else {}
    log.info("positions: %d rows %s, %d tick/text disagreements", len(final), n_src, len(dis))
    return written


def _result_key(cfg: ConsultationConfig, raw_dir: Path, processed_dir: Path) -> str:
    """Hash of everything the positions depend on: the tables they read (not the themes), the analyst codes,
    the configuration and the whole package's source."""
    from analysis.pipeline import _package_hash  # noqa: PLC0415 - the pipeline imports this stage

    h = hashlib.sha256(cfg.model_dump_json().encode())
    for name in POSITION_TABLES:
        h.update(f"{name}:{table_digest(name, processed_dir)}".encode())
    analyst = raw_dir / ANALYST_FILE
    h.update(f"analyst:{sha256_file(analyst) if analyst.is_file() else 'absent'}".encode())
    h.update(_package_hash().encode())
    return h.hexdigest()


def _result_path(processed_dir: Path) -> Path:
    return processed_dir / "cache" / "positions" / "result.pkl"


def _themes_hash(processed_dir: Path) -> str:
    return table_digest("core_answer_themes", processed_dir)


def _themes_record(processed_dir: Path) -> Path:
    return _result_path(processed_dir).with_name("themes.sha256")


def _record_themes(processed_dir: Path) -> None:
    """Remember the themes this run saw (:func:`_load_result` compares the next run's with them)."""
    path = _themes_record(processed_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_themes_hash(processed_dir) + "\n", encoding="utf-8")


def _load_result(processed_dir: Path, key: str) -> tuple[pd.DataFrame, ...] | None:
    """The cached ``(positions, disagreements, confusion)`` of the same inputs, else ``None``.

    A codebook edit re-runs the stages after themes; the positions do not read the themes, so their
    result (the stance models: most of the stage's time) is reused as it is when nothing else changed.
    Reused only when the themes *did* change since the last run: with every input as it was, the stage runs
    again only because it was asked to (``--force``, or its outputs are missing), and then it computes.
    """
    path = _result_path(processed_dir)
    if not path.is_file():
        return None
    record = _themes_record(processed_dir)
    if record.is_file() and record.read_text(encoding="utf-8").strip() == _themes_hash(processed_dir):
        return None
    try:
        with path.open("rb") as f:
            stored = pickle.load(f)  # noqa: S301 - written by this stage, in the consultation's own cache
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    return stored["frames"] if isinstance(stored, dict) and stored.get("key") == key else None


def _save_result(processed_dir: Path, key: str, frames: tuple[pd.DataFrame, ...]) -> None:
    path = _result_path(processed_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump({"key": key, "frames": frames}, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


def propose_for_consultation(cfg: ConsultationConfig, *, processed_dir: Path, n: int = 20) -> pd.DataFrame:
    """The next ``n`` text answers an analyst should code, over every open question.

    Answers already positioned by a tick or an analyst are excluded; the rest are ranked by
    :func:`analysis.positions.model.propose_for_coding` per question (uncertainty with diversity) and the
    batch is split across questions in proportion to their uncoded answers.

    Returns:
        ``response_id, question_id, target_question_id, text, margin, rank`` (write the chosen
        positions into ``analyst_positions.csv`` with ``question_id`` = ``target_question_id``).
    """
    processed_dir = Path(processed_dir)
    questions = read_table("core_questions", processed_dir)
    answers = _answers(processed_dir)
    final = read_optional("core_answer_positions", processed_dir)
    analyst = final[final["source"] == "analyst"] if final is not None else None
    closed, other_texts = closed_positions(answers, questions, cfg)
    tr = text_positions(answers, closed, analyst, cfg, extra_texts=other_texts)
    done = set()
    if final is not None:
        fx = final[final["source"].isin(["closed", "analyst"])]
        done = set(zip(fx["response_id"], fx["question_id"], strict=True))
    texts = answers[["response_id", "question_id"]].copy()
    texts["text"] = text_column(answers)
    pools = {}
    for q in cfg.open_questions:
        if not cfg.text_positions_on(q.id):
            continue
        t = cfg.reported_under(q.id)
        pool = texts[(texts["question_id"] == q.id) & (texts["text"].str.strip() != "")]
        pool = pool[[(r, t) not in done for r in pool["response_id"]]]
        pool = pool[~pool["response_id"].isin(set(closed.loc[closed["question_id"] == t, "response_id"]))]
        if len(pool):
            pools[q.id] = pool.assign(target_question_id=t).reset_index(drop=True)
    total = sum(len(p) for p in pools.values())
    out = []
    for qid, pool in sorted(pools.items()):
        k = max(1, round(n * len(pool) / total)) if total else 0
        prop = propose_for_coding(tr.models.get(qid), pool, min(k, len(pool)), cfg.settings.seed)
        out.append(prop)
    cols = ["response_id", "question_id", "target_question_id", "text", "margin", "rank"]
    if not out:
        return pd.DataFrame(columns=cols)
    df = pd.concat(out, ignore_index=True).sort_values(["margin", "question_id", "rank"], kind="mergesort")
    df = df.head(n).reset_index(drop=True)
    df["rank"] = range(1, len(df) + 1)
    return df[cols]
