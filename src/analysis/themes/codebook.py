"""The analyst-owned codebook (``codebook.yml``) and analyst overrides (``overrides.csv``).

The codebook lists, per open question, the themes answers are coded against (id, label,
description, seed phrases, optional parent and translations), a ``version`` and an ``operations``
log applied in order: ``merge`` (ids -> a new id), ``rename``, ``split`` (a theme into parts each
defined by seed phrases) and ``delete`` (the theme's answers go to ``other``). Validation errors
(unknown theme id in an operation, duplicate id, a cycle in parents, ...) raise
:class:`~analysis.errors.ConfigError` naming the question, theme and operation.

Overrides (``response_id, question_id, theme_id, action add|remove, note``) are applied last by
:mod:`analysis.themes`; :func:`load_overrides` checks every row and names the bad one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from analysis.config import load_yaml
from analysis.errors import ConfigError, InputError

logger = logging.getLogger(__name__)

OTHER = "other"
UNTRANSLATED = "_untranslated"
#: Description of a discovered theme: examples quoted from its answers (internal: any respondent's text).
DISCOVERED_PREFIX = "Examples: "
RESERVED = {OTHER, UNTRANSLATED}
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ThemeDef(_Strict):
    """One theme of a question.

    Attributes:
        id: Stable id (letters, digits, ``_-.``); ``other`` and ``_untranslated`` are reserved.
        label: Short human label (published).
        description: What counts as this theme (also embedded into the prototype).
        seed_phrases: Phrases typical of the theme (English); they pull answers towards it.
        translations: Seed phrases in other languages (``{"mi": [...]}``); answers in those
            languages are then themed instead of routed to ``_untranslated``.
        parent: Id of the parent theme (hierarchical codebooks).
        examples: Informational example answers (from discovery); not used for scoring.
    """

    id: str = Field(pattern=ID_PATTERN)
    label: str
    description: str = ""
    seed_phrases: list[str] = Field(default_factory=list)
    translations: dict[str, list[str]] = Field(default_factory=dict)
    parent: str | None = None
    examples: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_reserved(self) -> ThemeDef:
        if self.id in RESERVED:
            raise ValueError(f"theme id {self.id!r} is reserved (used for answers that match no theme)")
        return self


class QuestionCodebook(_Strict):
    """The themes of one question."""

    themes: list[ThemeDef] = Field(default_factory=list)


class MergeOp(_Strict):
    """Merge ``ids`` into a new theme ``into`` (seed phrases and coded answers are pooled)."""

    op: Literal["merge"]
    question: str
    ids: list[str] = Field(min_length=2)
    into: str = Field(pattern=ID_PATTERN)
    label: str | None = None
    description: str | None = None


class RenameOp(_Strict):
    """Change a theme's label (and optionally its id / description)."""

    op: Literal["rename"]
    question: str
    id: str
    label: str | None = None
    new_id: str | None = Field(None, pattern=ID_PATTERN)
    description: str | None = None


class SplitPart(_Strict):
    """One part of a split, defined by its seed phrases."""

    id: str = Field(pattern=ID_PATTERN)
    label: str
    description: str = ""
    seed_phrases: list[str] = Field(min_length=1)


class SplitOp(_Strict):
    """Split theme ``id`` into ``into`` parts."""

    op: Literal["split"]
    question: str
    id: str
    into: list[SplitPart] = Field(min_length=2)


class DeleteOp(_Strict):
    """Delete a theme: answers whose best match it was go to ``other``."""

    op: Literal["delete"]
    question: str
    id: str


Operation = Annotated[MergeOp | RenameOp | SplitOp | DeleteOp, Field(discriminator="op")]


class ResolvedQuestion(BaseModel):
    """The themes of one question after the operations log.

    Attributes:
        themes: Live themes, in codebook order.
        deleted: Deleted themes (kept as absorbing prototypes that route answers to ``other``).
        aliases: Old theme id -> live id (``other`` for deleted ids) for renames / merges / deletes.
        split_from: Old id -> the ids it was split into (an override naming it is an error).
    """

    themes: list[ThemeDef]
    deleted: list[ThemeDef] = Field(default_factory=list)
    aliases: dict[str, str] = Field(default_factory=dict)
    split_from: dict[str, list[str]] = Field(default_factory=dict)

    def ids(self) -> list[str]:
        """Live theme ids."""
        return [t.id for t in self.themes]

    def languages(self) -> set[str]:
        """Languages with seed phrases (English is always themed)."""
        return {"en"} | {lang for t in self.themes for lang, phrases in t.translations.items() if phrases}

    def resolve_id(self, theme_id: str) -> str:
        """Map an id (possibly renamed / merged / deleted) to a live id, ``other`` or raise KeyError."""
        seen = set()
        while theme_id in self.aliases and theme_id not in seen:
            seen.add(theme_id)
            theme_id = self.aliases[theme_id]
        if theme_id in self.split_from:
            raise KeyError(f"theme {theme_id!r} was split into {self.split_from[theme_id]}: name one of them")
        if theme_id in RESERVED or theme_id in self.ids():
            return theme_id
        raise KeyError(f"unknown theme {theme_id!r} (known: {sorted(self.ids())})")


def _check_themes(qid: str, themes: list[ThemeDef], where: str) -> None:
    ids = [t.id for t in themes]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"question {qid!r}{where}: duplicate theme id(s) {dupes}")
    known = set(ids)
    parent = {t.id: t.parent for t in themes}
    for t in themes:
        if t.parent is not None and t.parent not in known:
            raise ValueError(f"question {qid!r}{where}: theme {t.id!r} has unknown parent {t.parent!r}")
    for start in ids:
        path, node = [start], parent[start]
        while node is not None:
            if node in path:
                cycle = path[path.index(node):] + [node]
                raise ValueError(f"question {qid!r}{where}: cycle in parents: {' -> '.join(cycle)}")
            path.append(node)
            node = parent[node]


def _apply(qid: str, state: ResolvedQuestion, op, n: int) -> None:
    where = f"operation {n} ({op.op})"
    by_id = {t.id: t for t in state.themes}

    def need(tid: str) -> ThemeDef:
        if tid not in by_id:
            raise ValueError(f"{where} on question {qid!r}: unknown theme id {tid!r} (known: {sorted(by_id)})")
        return by_id[tid]

    def repoint(old: list[str], new: str | None) -> None:
        for t in state.themes:
            if t.parent in old:
                t.parent = new

    if isinstance(op, MergeOp):
        parts = [need(i) for i in op.ids]
        if op.into in by_id and op.into not in op.ids:
            raise ValueError(f"{where} on question {qid!r}: target id {op.into!r} already exists")
        merged = ThemeDef(
            id=op.into,
            label=op.label or " / ".join(p.label for p in parts),
            description=op.description if op.description is not None else " ".join(p.description for p in parts).strip(),
            seed_phrases=list(dict.fromkeys(s for p in parts for s in p.seed_phrases)),
            translations={lang: list(dict.fromkeys(s for p in parts for s in p.translations.get(lang, [])))
                          for lang in sorted({lang for p in parts for lang in p.translations})},
            parent=parts[0].parent if parts[0].parent not in op.ids else None,
        )
        pos = min(state.themes.index(p) for p in parts)
        state.themes = [t for t in state.themes if t.id not in op.ids]
        state.themes.insert(min(pos, len(state.themes)), merged)
        repoint(op.ids, op.into)
        for i in op.ids:
            if i != op.into:
                state.aliases[i] = op.into
    elif isinstance(op, RenameOp):
        t = need(op.id)
        if op.label is not None:
            t.label = op.label
        if op.description is not None:
            t.description = op.description
        if op.new_id and op.new_id != op.id:
            if op.new_id in by_id:
                raise ValueError(f"{where} on question {qid!r}: new_id {op.new_id!r} already exists")
            t.id = op.new_id
            repoint([op.id], op.new_id)
            state.aliases[op.id] = op.new_id
    elif isinstance(op, SplitOp):
        t = need(op.id)
        pos = state.themes.index(t)
        new = [ThemeDef(id=p.id, label=p.label, description=p.description, seed_phrases=p.seed_phrases,
                        parent=t.parent) for p in op.into]
        clash = [p.id for p in new if p.id in by_id and p.id != op.id]
        if clash:
            raise ValueError(f"{where} on question {qid!r}: part id(s) {clash} already exist")
        state.themes[pos:pos + 1] = new
        repoint([op.id], None)
        state.split_from[op.id] = [p.id for p in new]
    elif isinstance(op, DeleteOp):
        t = need(op.id)
        state.themes.remove(t)
        state.deleted.append(t)
        repoint([op.id], t.parent)
        state.aliases[op.id] = OTHER


#: Procedural sentences of emailed submissions (openings, cover notes, closings) that raise no theme.
#: A codebook without ``ignore_phrases`` uses these; ``ignore_phrases: []`` turns the filter off.
PROCEDURAL_PHRASES = (
    "I am writing to make a submission on the consultation.",
    "Please accept this email as my submission.",
    "Please find attached our submission.",
    "Thank you for the opportunity to comment on the proposal.",
    "We welcome the opportunity to comment.",
    "I would like to make a short submission.",
    "This submission is made on behalf of our organisation and its members.",
    "We would be happy to meet officials to discuss this submission.",
    "Thank you for considering my views.",
    "I look forward to seeing the results of the consultation.",
    "Please keep me informed about the next steps.",
    "Please contact me if you have any questions about this submission.",
)


class Codebook(_Strict):
    """A consultation's codebook: themes per question plus the analyst's operations log.

    Attributes:
        ignore_phrases: Sentences that raise no theme (letter openings, sign-offs): a sentence closer to
            one of them than to every theme's definition is not themed on its own (the whole answer
            still is). Default: :data:`PROCEDURAL_PHRASES`.
    """

    version: int | str = 1
    consultation: str | None = None
    questions: dict[str, QuestionCodebook] = Field(default_factory=dict)
    operations: list[Operation] = Field(default_factory=list)
    ignore_phrases: list[str] = Field(default_factory=lambda: list(PROCEDURAL_PHRASES))
    _resolved: dict[str, ResolvedQuestion] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _validate(self) -> Codebook:
        for qid, q in self.questions.items():
            _check_themes(qid, q.themes, "")
        self._resolved = self._resolve()
        return self

    def _resolve(self) -> dict[str, ResolvedQuestion]:
        out = {qid: ResolvedQuestion(themes=[t.model_copy(deep=True) for t in q.themes])
               for qid, q in self.questions.items()}
        for n, op in enumerate(self.operations, start=1):
            if op.question not in out:
                raise ValueError(f"operation {n} ({op.op}): unknown question {op.question!r} "
                                 f"(codebook questions: {sorted(out)})")
            _apply(op.question, out[op.question], op, n)
            _check_themes(op.question, out[op.question].themes, f" after operation {n} ({op.op})")
        return out

    def resolved(self, question_id: str) -> ResolvedQuestion | None:
        """The question's themes after all operations (``None`` if the codebook has no such question)."""
        return self._resolved.get(question_id)


def _format(source: str, err: ValidationError) -> str:
    lines = [f"{source}: invalid codebook"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"  - {loc or '<top>'}: {msg}")
    return "\n".join(lines)


def parse_codebook(data: dict, source: str | Path = "<codebook>") -> Codebook:
    """Validate a codebook mapping.

    Raises:
        ConfigError: Naming the file and every problem (question, theme id, operation number).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the codebook must be a YAML mapping, got {type(data).__name__}")
    try:
        return Codebook.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format(str(source), err)) from None


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate ``codebook.yml``.

    Raises:
        ConfigError: Missing file, bad YAML or invalid content.
    """
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"codebook not found: {p}")
    return parse_codebook(load_yaml(p), p)  # UTF-8, no duplicate keys (errors name the file and line)


def draft_codebook(discoveries, consultation: str | None = None, version: int = 1) -> str:
    """Turn discovery results into a codebook draft an analyst edits.

    Args:
        discoveries: Iterable of :class:`analysis.themes.discovery.DiscoveryResult` (one per question).
        consultation: Consultation id written in the header.
        version: Version number of the draft.

    Returns:
        YAML text (valid input for :func:`parse_codebook`).
    """
    questions: dict[str, dict] = {}
    for d in discoveries:
        themes = []
        for t in d.topics:
            themes.append({"id": t.topic_id, "label": t.label,
                           "description": f"Discovered topic ({t.size} answers). Keywords: {', '.join(t.keywords[:8])}",
                           "seed_phrases": list(t.keywords[:5]), "examples": list(t.representative[:3])})
        questions[d.question_id] = {"themes": themes}
    body = {"version": version, "consultation": consultation, "questions": questions, "operations": []}
    parse_codebook(body, "<draft>")  # the draft must itself be valid
    header = (
        "# Codebook draft written by theme discovery. Edit it, then save it as codebook.yml in the\n"
        "# consultation's raw folder: themes are then ASSIGNED against it on every run.\n"
        "# Edit labels / descriptions / seed_phrases freely; record merges, renames, splits and deletes\n"
        "# under 'operations' (see docs/themes.md) so the history stays auditable.\n"
    )
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=110)


OVERRIDE_COLUMNS = ["response_id", "question_id", "theme_id", "action", "note"]


def load_overrides(path: str | Path, answers: pd.DataFrame, resolved: dict[str, ResolvedQuestion | None]) -> pd.DataFrame:
    """Read and check ``overrides.csv``.

    Args:
        path: The file (missing file: no overrides).
        answers: ``core_answers_clean`` (to check response/question pairs exist).
        resolved: Question id -> resolved codebook question (or ``None`` for discovered themes, then
            ``theme_ids`` of the discovered topics must be given via ``ResolvedQuestion``).

    Returns:
        ``response_id, question_id, theme_id, action, note, row`` with theme ids mapped through
        renames / merges (``row``: 1-based data row in the file, header excluded).

    Raises:
        InputError: Naming the file, row and column of a bad entry (unknown response, question or
            theme, bad action).
    """
    p = Path(path)
    if not p.exists():
        return pd.DataFrame(columns=OVERRIDE_COLUMNS + ["row"])
    df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in OVERRIDE_COLUMNS[:4] if c not in df.columns]
    if missing:
        raise InputError(str(p), f"missing column(s) {missing}; expected {OVERRIDE_COLUMNS}")
    if "note" not in df.columns:
        df["note"] = ""
    pairs = set(zip(answers["response_id"].astype(str), answers["question_id"].astype(str), strict=True))
    rows = []
    for i, r in enumerate(df.itertuples(index=False), start=1):
        rid, qid, tid, action = (str(r.response_id).strip(), str(r.question_id).strip(),
                                 str(r.theme_id).strip(), str(r.action).strip().lower())
        if action not in ("add", "remove"):
            raise InputError(str(p), f"action must be 'add' or 'remove', got {r.action!r}", row=i, column="action")
        if qid not in resolved:
            raise InputError(str(p), f"unknown question {qid!r}", row=i, column="question_id")
        if (rid, qid) not in pairs:
            raise InputError(str(p), f"unknown response {rid!r} for question {qid!r}", row=i, column="response_id")
        rq = resolved[qid]
        try:
            tid = rq.resolve_id(tid) if rq is not None else tid
        except KeyError as err:
            raise InputError(str(p), str(err.args[0]), row=i, column="theme_id") from None
        rows.append({"response_id": rid, "question_id": qid, "theme_id": tid, "action": action,
                     "note": str(r.note), "row": i})
    logger.info("%s: %d override rows", p, len(rows))
    return pd.DataFrame(rows, columns=OVERRIDE_COLUMNS + ["row"])
