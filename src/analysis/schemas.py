"""One pandera schema per persisted table, checked on every write and read.

Tables are named by layer (PUDL style): ``core_*`` are canonical, cleaned tables one stage builds and
later stages read; ``out_*`` are count tables for publication. :func:`validate` wraps pandera so a
wrong dtype, a missing column or a duplicate key raises :class:`~analysis.errors.TableSchemaError`
with the table name in the message.

Each stage owns the block of schemas it writes (marked below).
"""

from __future__ import annotations

from typing import get_args

import pandas as pd
import pandera.pandas as pa

from analysis.config import Consent
from analysis.errors import TableSchemaError

POSITIONS = ["support", "oppose", "neutral", "unsure", "unclear"]
#: The two sides of a proposal; every other position is "neither".
SIDES = ("support", "oppose")
NEITHER = tuple(p for p in POSITIONS if p not in SIDES)
CHANNELS = ["online_survey", "email", "document", "other"]
RESPONDENT_TYPES = ["individual", "organisation", "unknown"]
#: Publication consent of a respondent (:data:`analysis.config.Consent`; docs/user_guide.md, "Consent").
CONSENT_LEVELS = list(get_args(Consent))
THEME_SOURCES = ["discovered", "assigned", "overridden"]
POSITION_SOURCES = ["closed", "text_cue", "text_model", "analyst", "votes"]
COUNT_MODES = ["all", "unique"]
#: Kinds of personal information redaction replaces (``[EMAIL]`` ...), in the order they are detected.
REDACTION_KINDS = ["EMAIL", "URL", "CARD", "IRD", "NHI", "IP_ADDRESS", "DATE_OF_BIRTH", "PHONE", "SOCIAL_HANDLE", "ADDRESS", "NAME"]
#: Where a Pol.is statement's vote tallies came from.
VOTES_SOURCES = ["votes.csv", "participants-votes.csv", "comments.csv"]


def _str(nullable: bool = False, **kw) -> pa.Column:
    return pa.Column(str, nullable=nullable, **kw)


def _isin(values: list[str], nullable: bool = False) -> pa.Column:
    return pa.Column(str, pa.Check.isin(values), nullable=nullable)


# --- ingest (analysis.ingest) -------------------------------------------------------------------
core_questions = pa.DataFrameSchema(
    {
        "question_id": _str(),
        "text": _str(),
        "kind": _isin(["closed", "open"]),
        "choices": _str(),  # JSON object: choice label -> position (or "none"); "{}" for open questions
        "order": pa.Column(int, pa.Check.ge(0)),
    },
    unique=["question_id"],
    strict=True,
    coerce=True,
    name="core_questions",
)

core_responses = pa.DataFrameSchema(
    {
        "response_id": _str(),
        "source_file": _str(),
        "source_row": pa.Column(int, pa.Check.ge(1)),
        "channel": _isin(CHANNELS),
        "submitted_at": pa.Column("datetime64[ns]", nullable=True),
        "respondent_type": _isin(RESPONDENT_TYPES),
        "sector": _str(nullable=True),
        # the respondent's country or region (a breakdown attribute; absent in tables written before #16)
        "country": _str(nullable=True, required=False),
        "organisation": _str(nullable=True),
        "consent": _isin(CONSENT_LEVELS),  # what of this respondent's text may be published
        "respondent_name": _str(nullable=True),  # PII: only used for redaction, never published
        "respondent_email": _str(nullable=True),  # PII: only used for redaction, never published
    },
    unique=["response_id"],
    strict=True,
    coerce=True,
    name="core_responses",
)

core_answers = pa.DataFrameSchema(
    {
        "response_id": _str(),
        "question_id": _str(),
        "answer": _str(),  # choice label(s) for closed questions, raw text for open ones
        "language": _str(),  # ISO 639-1 guess ("en", "mi", ...) or "und" (undetermined)
    },
    unique=["response_id", "question_id"],
    strict=True,
    coerce=True,
    name="core_answers",
)

core_analyst_tags = pa.DataFrameSchema(
    {
        "response_id": _str(),
        "question_id": _str(),  # "" when the tag applies to the whole response
        "tag": _str(),
        "source_column": _str(),
    },
    unique=["response_id", "question_id", "tag"],
    strict=True,
    coerce=True,
    name="core_analyst_tags",
)

core_rejects = pa.DataFrameSchema(
    {
        "file": _str(),
        "row": pa.Column("Int64", nullable=True),
        "column": _str(nullable=True),
        "reason": _str(),
        "raw": _str(nullable=True),  # the rejected content, so nothing is lost
    },
    strict=True,
    coerce=True,
    name="core_rejects",
)


def _ledger_balances(df: pd.DataFrame) -> pd.Series:
    return df["rows_read"] == df["rows_kept"] + df["rows_rejected"]


ledger = pa.DataFrameSchema(
    {
        "file": _str(),
        "reader": _str(),
        "rows_read": pa.Column(int, pa.Check.ge(0)),
        "rows_kept": pa.Column(int, pa.Check.ge(0)),
        "rows_rejected": pa.Column(int, pa.Check.ge(0)),
        "sha256": _str(),
    },
    checks=[pa.Check(_ledger_balances, error="rows_read must equal rows_kept + rows_rejected")],
    unique=["file"],
    strict=True,
    coerce=True,
    name="ledger",
)

#: Per-statement vote tallies of a Pol.is conversation (written by ingest from the raw export, every run).
core_statement_votes = pa.DataFrameSchema(
    {
        "response_id": _str(),
        "question_id": _str(),
        "agrees": pa.Column(int, pa.Check.ge(0)),
        "disagrees": pa.Column(int, pa.Check.ge(0)),
        "passes": pa.Column("Int64", pa.Check.ge(0), nullable=True),  # <NA>: unknown (tallies only)
        "n_voters": pa.Column("Int64", pa.Check.ge(0), nullable=True),
        "votes_source": _isin(VOTES_SOURCES),
    },
    unique=["response_id"],
    strict=True,
    coerce=True,
    name="core_statement_votes",
)

# --- campaigns + redaction (analysis.campaigns, analysis.redaction) -----------------------------
core_answers_clean = pa.DataFrameSchema(
    {
        "response_id": _str(),
        "question_id": _str(),
        "answer": _str(),
        "language": _str(),
        "text_redacted": _str(),
        "campaign_id": _str(nullable=True),
        "is_campaign_copy": pa.Column(bool),
        "personal_addition": _str(nullable=True),  # redacted text not in the campaign template
    },
    unique=["response_id", "question_id"],
    strict=True,
    coerce=True,
    name="core_answers_clean",
)

core_campaigns = pa.DataFrameSchema(
    {
        "campaign_id": _str(),
        "question_id": _str(),
        "size": pa.Column(int, pa.Check.ge(1)),  # 1: a lone copy of a campaign found in another question
        "template": _str(),  # redacted
    },
    unique=["campaign_id"],
    strict=True,
    coerce=True,
    name="core_campaigns",
)

core_submission_campaigns = pa.DataFrameSchema(
    {
        "response_id": _str(),
        "campaign_id": _str(),  # S01, S02 ...: whole-submission campaigns
        "size": pa.Column(int, pa.Check.ge(2)),
    },
    unique=["response_id"],
    strict=True,
    coerce=True,
    name="core_submission_campaigns",
)

#: Answers whose redaction failed (their text is left empty, never unredacted; expected empty).
core_redaction_rejects = pa.DataFrameSchema(core_rejects.columns, strict=True, coerce=True,
                                            name="core_redaction_rejects")

#: Every answer with its personal information replaced by ``[KIND]`` tokens (the redaction stage).
core_answers_redacted = pa.DataFrameSchema(
    {
        "response_id": _str(),
        "question_id": _str(),
        "answer": _str(),
        "language": _str(),
        "text_redacted": _str(),
    },
    unique=["response_id", "question_id"],
    strict=True,
    coerce=True,
    name="core_answers_redacted",
)

core_redaction_log = pa.DataFrameSchema(
    {
        "response_id": _str(),
        "question_id": _str(),
        "kind": _isin(REDACTION_KINDS),
        "count": pa.Column(int, pa.Check.ge(1)),
    },
    unique=["response_id", "question_id", "kind"],
    strict=True,
    coerce=True,
    name="core_redaction_log",
)

# --- themes (analysis.themes) --------------------------------------------------------------------
core_themes = pa.DataFrameSchema(
    {
        "question_id": _str(),
        "theme_id": _str(),
        "label": _str(),
        "description": _str(nullable=True),
        "parent_id": _str(nullable=True),
        "keywords": _str(nullable=True),
    },
    unique=["question_id", "theme_id"],
    strict=True,
    coerce=True,
    name="core_themes",
)

core_answer_themes = pa.DataFrameSchema(
    {
        "response_id": _str(),
        "question_id": _str(),
        "theme_id": _str(),
        "score": pa.Column(float),
        "source": _isin(THEME_SOURCES),
    },
    unique=["response_id", "question_id", "theme_id"],
    strict=True,
    coerce=True,
    name="core_answer_themes",
)

# --- positions (analysis.positions) --------------------------------------------------------------
core_answer_positions = pa.DataFrameSchema(
    {
        "response_id": _str(),
        "question_id": _str(),
        "position": _isin(POSITIONS),
        "confidence": pa.Column(float, pa.Check.in_range(0.0, 1.0)),
        "source": _isin(POSITION_SOURCES),
    },
    unique=["response_id", "question_id"],
    strict=True,
    coerce=True,
    name="core_answer_positions",
)

#: Respondents whose tick and text disagree (text predicted with confidence >= threshold, out of fold).
core_position_disagreements = pa.DataFrameSchema(
    {
        "response_id": _str(),
        "question_id": _str(),  # the closed question ticked
        "text_question_id": _str(),  # the open question whose text disagrees
        "tick_position": _isin(POSITIONS),
        "text_position": _isin(POSITIONS),
        "text_confidence": pa.Column(float, pa.Check.in_range(0.0, 1.0)),
    },
    unique=["response_id", "question_id", "text_question_id"],
    strict=True,
    coerce=True,
    name="core_position_disagreements",
)

#: Cross-validated confusion counts of the text model, per question.
core_position_confusion = pa.DataFrameSchema(
    {
        "question_id": _str(),
        "true_position": _isin(POSITIONS),
        "predicted_position": _isin(POSITIONS),
        "n": pa.Column(int, pa.Check.ge(0)),
    },
    unique=["question_id", "true_position", "predicted_position"],
    strict=True,
    coerce=True,
    name="core_position_confusion",
)

#: Pooled vote support of each theme of Pol.is statements.
out_theme_support = pa.DataFrameSchema(
    {
        "question_id": _str(),
        "theme_id": _str(),
        "n_statements": pa.Column(int, pa.Check.ge(1)),
        "agrees": pa.Column(int, pa.Check.ge(0)),
        "disagrees": pa.Column(int, pa.Check.ge(0)),
        "passes": pa.Column("Int64", pa.Check.ge(0), nullable=True),
        "agree_share": pa.Column(float, nullable=True),
        "ci_low": pa.Column(float, nullable=True),
        "ci_high": pa.Column(float, nullable=True),
    },
    unique=["question_id", "theme_id"],
    strict=True,
    coerce=True,
    name="out_theme_support",
)

# --- counts (analysis.counts) --------------------------------------------------------------------
out_counts = pa.DataFrameSchema(
    {
        "table": _str(),  # which count: position, theme, theme_position, theme_respondent_type, ...
        "question_id": _str(),
        "group": _str(),  # the row dimension value (theme id, respondent type, "all")
        "category": _str(),  # the column dimension value (position, theme id, ...)
        "n": pa.Column("Int64", nullable=True),  # <NA> when suppressed
        "denominator": pa.Column(int, pa.Check.ge(0)),
        "share": pa.Column(float, nullable=True),
        "ci_low": pa.Column(float, nullable=True),
        "ci_high": pa.Column(float, nullable=True),
        "suppressed": pa.Column(bool),
        "count_mode": _isin(COUNT_MODES),
        # response ids behind n (not published): the first counts.rules.EVIDENCE_MAX, sorted and ";"-joined, and
        # how many there are (counts.evidence.cell_response_ids lists them all)
        "evidence_ids": _str(nullable=True),
        "evidence_n": pa.Column(int, pa.Check.ge(0)),
    },
    unique=["table", "question_id", "group", "category", "count_mode"],
    strict=True,
    coerce=True,
    name="out_counts",
)

#: What each theme's model was built from and how its threshold was set (written by the themes stage).
out_theme_model = pa.DataFrameSchema(
    {
        "question_id": pa.Column(str),
        "theme_id": pa.Column(str),
        "method": pa.Column(str),
        "backend": pa.Column(str),
        "fingerprint": pa.Column(str),
        "codebook_version": pa.Column(str, nullable=True),
        "n_defining_texts": pa.Column(int, pa.Check.ge(0)),
        "n_coded_answers": pa.Column(int, pa.Check.ge(0)),
        "threshold": pa.Column(float),
        "thresholding": pa.Column(str),
        "n_answers": pa.Column(int, pa.Check.ge(0)),
    },
    unique=["question_id", "theme_id"], strict=True, coerce=True, name="out_theme_model",
)


SCHEMAS: dict[str, pa.DataFrameSchema] = {
    s.name: s
    for s in [
        core_questions,
        core_responses,
        core_answers,
        core_analyst_tags,
        core_rejects,
        ledger,
        core_statement_votes,
        core_answers_clean,
        core_campaigns,
        core_submission_campaigns,
        core_answers_redacted,
        core_redaction_log,
        core_redaction_rejects,
        core_themes,
        core_answer_themes,
        core_answer_positions,
        core_position_disagreements,
        core_position_confusion,
        out_theme_support,
        out_counts,
        out_theme_model,
    ]
}


def validate(df: pd.DataFrame, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Validate ``df`` against the schema of ``table`` and return the coerced copy.

    Args:
        df: The table.
        table: Its name (a key of :data:`SCHEMAS`).
        columns: Validate against these columns' part of the schema only (a table read in part:
            :func:`analysis.tables.read_table`); default: the whole schema.

    Returns:
        A validated, dtype-coerced copy with columns in schema order.

    Raises:
        TableSchemaError: Naming the table and what is wrong (missing column, bad dtype, duplicate key).
        KeyError: ``table`` has no schema.
    """
    if table not in SCHEMAS:
        raise KeyError(f"no schema is registered for table {table!r}; known tables: {sorted(SCHEMAS)}")
    schema = SCHEMAS[table] if columns is None else SCHEMAS[table].select_columns(columns)
    try:
        out = schema.validate(df.reset_index(drop=True), lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        lines = [f"table {table!r} does not match its schema:"]
        for _, r in fc.head(20).iterrows():
            lines.append(f"  - {r.get('schema_context')} {r.get('column')!s}: {r.get('check')} (value: {r.get('failure_case')!r}, index: {r.get('index')})")
        if len(fc) > 20:
            lines.append(f"  ... and {len(fc) - 20} more failures")
        raise TableSchemaError("\n".join(lines)) from None
    return out[[c for c in schema.columns if c in out.columns]]  # an optional column may be absent
