"""Themes stage: who raised which themes, per open question (see ``docs/themes.md``).

Input ``core_answers_clean`` (plus ``core_campaigns`` and ``core_analyst_tags`` when present).
Outputs ``core_themes``, ``core_answer_themes`` (source ``discovered`` / ``assigned`` /
``overridden``) and ``out_theme_model`` (what each theme's model was built from).

* With ``<raw_dir>/codebook.yml``: every answer is assigned against the frozen codebook.
* Without: themes are discovered (:mod:`analysis.themes.discovery`), a draft codebook is written to
  ``<processed_dir>/codebook_draft.yml`` and the discovered topics are used as themes.

Text units: the REDACTED text is themed. A campaign (form letter) template is themed once and its
themes go to every copy; each copy's ``personal_addition`` is themed as that respondent's own words
and its themes are added to that copy only. Answers whose language is not covered (English,
undetermined, or a language the codebook has translated seed phrases for) get ``_untranslated``.
Analyst overrides (``<raw_dir>/overrides.csv``) are applied last, on every run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import paths, schemas
from analysis.config import ConsultationConfig
from analysis.embeddings import EmbeddingCache, make_backend
from analysis.tables import read_table, write_table
from analysis.themes.assign import (
    DEFAULT_MIN_SCORE,
    apply_operations,
    attribute_response_tags,
    prototype_texts,
)
from analysis.themes.codebook import (
    OTHER,
    UNTRANSLATED,
    Codebook,
    ResolvedQuestion,
    draft_codebook,
    load_codebook,
    load_overrides,
)
from analysis.themes.discovery import discover
from analysis.themes.fit import Fitted, Prepared, fit_questions, prepare_question, procedural_filter

logger = logging.getLogger(__name__)

out_theme_model = schemas.out_theme_model

THEME_COLS = ["question_id", "theme_id", "label", "description", "parent_id", "keywords"]
AT_COLS = ["response_id", "question_id", "theme_id", "score", "source"]
SPECIAL = {
    OTHER: ("Other (no codebook theme matched)", "Answers that match no theme above the threshold; read and code them."),
    UNTRANSLATED: ("Not in a themed language", "Answers in a language without seed phrases; translate or code them by hand."),
}


def theme_question(q: pd.DataFrame, *, question_id: str, embed_units, backend, settings, seed: int,
                   codebook: Codebook | None = None, campaigns: pd.DataFrame | None = None,
                   tags: pd.DataFrame | None = None, respondent_tags: dict[str, set[str]] | None = None,
                   prepared: Prepared | None = None, fitted: Fitted | None = None):
    """Theme the answers of one question (pure: inputs are not modified).

    Args:
        q: ``core_answers_clean`` rows of this question.
        question_id: The question.
        embed_units: Function ``(texts, key) -> embeddings`` (cached encode).
        backend: The fitted embedding backend (embeds prototype texts).
        settings: ``cfg.settings.themes``.
        seed: ``cfg.settings.seed``.
        codebook: Frozen codebook, or ``None`` to discover.
        campaigns: ``core_campaigns`` rows (templates).
        tags: ``core_analyst_tags`` rows (few-shot examples), question-level.
        respondent_tags: Response id -> every tag of a respondent coded at response level (their
            negatives: themes they raised nowhere), for the sentence classifier.
        prepared: The question's units and embeddings (:func:`analysis.themes.fit.prepare_question`),
            or ``None`` to prepare them here.
        fitted: Its fitted model (:func:`analysis.themes.fit.fit_questions`, possibly pooled with
            other questions), or ``None`` to fit it on this question alone.

    Returns:
        ``(themes, answer_themes, model_meta, discovery or None)`` frames.
    """
    resolved: ResolvedQuestion | None = codebook.resolved(question_id) if codebook is not None else None
    p = prepared or prepare_question(q, question_id=question_id, embed_units=embed_units, resolved=resolved,
                                     campaigns=campaigns)
    units, owners, untranslated, blank, emb, scorer = p.units, p.owners, p.untranslated, p.blank, p.emb, p.scorer
    min_score = settings.min_score if settings.min_score != "auto" else DEFAULT_MIN_SCORE[backend.name]
    kw = dict(max_themes=settings.max_themes_per_answer, relative_score=settings.relative_score)
    discovery = None
    if resolved is not None:
        base = codebook.questions[question_id].themes
        if fitted is None:
            fitted = fit_questions([p], codebook, backend=backend, settings=settings, seed=seed, min_score=min_score,
                                   tags=tags, respondent_tags=respondent_tags, **kw)[question_id]
        model, cal = fitted.model, fitted.calibration
        kw |= {"threshold_factor": cal.threshold_factor, "sentence_factor": cal.sentence_factor,
               "relative_score": cal.relative_score or settings.relative_score}
        _, picks = scorer.pick(model, units["unit"].tolist(), **(kw | {"threshold_factor": cal.factors(len(base))}))
        rows = [{"unit": u, "theme_id": model.theme_ids[j], "score": s}
                for u, p_ in zip(units["unit"], picks, strict=True) for j, s in p_]
        assigned = pd.DataFrame(rows, columns=["unit", "theme_id", "score"])
        assigned = apply_operations(assigned, codebook.operations, question_id, scorer=scorer,
                                    embed=backend.encode, min_score=min_score, **kw)
        live = resolved.themes
        themes = pd.DataFrame([{"question_id": question_id, "theme_id": t.id, "label": t.label,
                                "description": t.description or None, "parent_id": t.parent,
                                "keywords": "; ".join(t.seed_phrases) or None} for t in live], columns=THEME_COLS)
        source, method = "assigned", model.method_
        meta_ids = [(t.id, len(prototype_texts(t, p.covered)), sum(model.n_coded_[model.theme_ids.index(m)]
                     for m in _members(codebook, question_id, t.id) if m in model.theme_ids)) for t in live]
        n_coded_total = sum(model.n_coded_)
        logger.info("question %s: %d themes, method %s, %d analyst-coded answers used as few-shot examples; %s",
                    question_id, len(live), method, n_coded_total, cal.describe)
        thresholding = cal.describe
        if fitted.pooled_with and cal.n_coded:
            thresholding += f"; codes pooled over {len(fitted.pooled_with)} questions with the same themes"
        threshold_of = {tid: float(min_score * f) for tid, f in zip(model.theme_ids, cal.factors(len(base)),
                                                                     strict=True)}
    else:
        discovery = discover(units["text"].tolist(), emb, question_id=question_id, seed=seed,
                             n_topics=settings.n_topics, max_topics=settings.max_topics,
                             min_answers=settings.min_answers)
        rows = []
        cent = np.vstack([t.centroid for t in discovery.topics]) if discovery.topics else np.zeros((0, emb.shape[1]))
        sims = emb @ cent.T if len(cent) else np.zeros((len(emb), 0))
        for i, u in enumerate(units["unit"]):
            lab = int(discovery.labels[i]) if len(discovery.labels) else -1
            if lab < 0:
                continue
            rows.append({"unit": u, "theme_id": discovery.topics[lab].topic_id, "score": float(sims[i, lab])})
            # multi-label: other topics almost as close as the answer's own topic centre
            for j in np.argsort(-sims[i], kind="stable")[: settings.max_themes_per_answer]:
                if j != lab and sims[i, j] >= max(min_score, settings.relative_score * sims[i, lab]) and \
                        len([r for r in rows if r["unit"] == u]) < settings.max_themes_per_answer:
                    rows.append({"unit": u, "theme_id": discovery.topics[j].topic_id, "score": float(sims[i, j])})
        assigned = pd.DataFrame(rows, columns=["unit", "theme_id", "score"])
        themes = pd.DataFrame([{"question_id": question_id, "theme_id": t.topic_id, "label": t.label,
                                "description": "Examples: " + " | ".join(t.representative),
                                "parent_id": None, "keywords": "; ".join(t.keywords)} for t in discovery.topics],
                              columns=THEME_COLS)
        source, method = "discovered", discovery.method
        threshold_of = {}
        thresholding = f"discovery: nearest topic centre; extra themes need {min_score:g} and the relative score"
        meta_ids = [(t.topic_id, t.size, 0) for t in discovery.topics]
    # units -> responses (a response has a theme when any of its units has it; score = max)
    at = owners.merge(assigned, on="unit", how="left")
    at = at.dropna(subset=["theme_id"]).groupby(["response_id", "theme_id"], as_index=False)["score"].max()
    at["source"] = source
    themed = set(owners["response_id"]) | set(blank)
    missing = sorted(themed - set(at["response_id"]))
    extra = [pd.DataFrame({"response_id": missing, "theme_id": OTHER, "score": 0.0, "source": source})]
    if untranslated:
        extra.append(pd.DataFrame({"response_id": untranslated, "theme_id": UNTRANSLATED, "score": 0.0,
                                   "source": source}))
    at = pd.concat([at] + extra, ignore_index=True)
    at.insert(1, "question_id", question_id)
    shown = [OTHER] + ([UNTRANSLATED] if untranslated else [])
    special = [{"question_id": question_id, "theme_id": k, "label": SPECIAL[k][0], "description": SPECIAL[k][1],
                "parent_id": None, "keywords": None} for k in shown]
    themes = pd.concat([themes, pd.DataFrame(special, columns=THEME_COLS)], ignore_index=True)
    fp = backend.fingerprint
    version = str(codebook.version) if codebook is not None else None
    meta = pd.DataFrame([{"question_id": question_id, "theme_id": tid, "method": method, "backend": backend.name,
                          "fingerprint": fp, "codebook_version": version, "n_defining_texts": n_def,
                          "n_coded_answers": n_cod,
                          "threshold": threshold_of.get(tid, float(min_score)), "thresholding": thresholding,
                          "n_answers": int((at["theme_id"] == tid).sum())} for tid, n_def, n_cod in meta_ids])
    return themes, at[AT_COLS], meta, discovery


def _members(codebook: Codebook, qid: str, live_id: str) -> list[str]:
    """Base theme ids that became ``live_id`` through the operations log."""
    members = {b.id: {b.id} for b in codebook.questions[qid].themes}
    for op in codebook.operations:
        if op.question != qid:
            continue
        if op.op == "merge":
            members[op.into] = set().union(*(members.pop(i, set()) for i in op.ids))
        elif op.op == "rename" and op.new_id:
            members[op.new_id] = members.pop(op.id, set())
        elif op.op == "split":
            members.pop(op.id, None)
        elif op.op == "delete":
            members.pop(op.id, None)
    return sorted(members.get(live_id, set()))


def apply_overrides(answer_themes: pd.DataFrame, overrides: pd.DataFrame) -> pd.DataFrame:
    """Apply analyst overrides last (``add``: theme with score 1, ``remove``: drop it).

    An answer left with no theme gets ``other``; an added theme replaces ``other``.
    Rows are applied in file order (a later row wins).
    """
    at = answer_themes.copy()
    for r in overrides.itertuples(index=False):
        key = (at["response_id"] == r.response_id) & (at["question_id"] == r.question_id)
        if r.action == "add":
            at = at[~(key & at["theme_id"].isin([r.theme_id, OTHER]))]
            at = pd.concat([at, pd.DataFrame([{"response_id": r.response_id, "question_id": r.question_id,
                                               "theme_id": r.theme_id, "score": 1.0, "source": "overridden"}])],
                           ignore_index=True)
        else:
            at = at[~(key & (at["theme_id"] == r.theme_id))]
            if not ((at["response_id"] == r.response_id) & (at["question_id"] == r.question_id)).any():
                at = pd.concat([at, pd.DataFrame([{"response_id": r.response_id, "question_id": r.question_id,
                                                   "theme_id": OTHER, "score": 0.0, "source": "overridden"}])],
                               ignore_index=True)
    return at.reset_index(drop=True)


def theme_all(answers_clean: pd.DataFrame, cfg: ConsultationConfig, *, backend, cache: EmbeddingCache | None = None,
              codebook: Codebook | None = None, campaigns: pd.DataFrame | None = None,
              tags: pd.DataFrame | None = None, overrides: pd.DataFrame | None = None):
    """Theme every open question (pure core of :func:`run`).

    Returns:
        ``(core_themes, core_answer_themes, out_theme_model, discoveries)``.
    """
    st = cfg.settings.themes
    qids = [q.id for q in cfg.open_questions]
    sub = answers_clean[answers_clean["question_id"].isin(qids)]
    if hasattr(backend, "fit"):  # corpus-fitted backend: all themed texts + the codebook's base texts
        corpus = sub["text_redacted"].astype(str).tolist() + sub["personal_addition"].dropna().astype(str).tolist()
        if campaigns is not None and len(campaigns):
            corpus += campaigns["template"].astype(str).tolist()
        if codebook is not None:
            # base themes only: operations (even splits) never move the answers' embeddings
            corpus += [t for q in codebook.questions.values() for th in q.themes for t in prototype_texts(th)]
        backend.fit(corpus)

    def embed_units(texts, key):
        return cache.encode(backend, texts, key=key) if cache is not None else backend.encode(texts)

    respondent_tags: dict[str, set[str]] = {}
    if tags is not None and len(tags):
        whole = tags[tags["question_id"].fillna("").astype(str) == ""]
        for rid, tag in zip(whole["response_id"].astype(str), whole["tag"].astype(str), strict=True):
            respondent_tags.setdefault(rid, set()).add(tag)
    if codebook is not None and tags is not None and len(tags):
        # whole-response tags -> the answer of that response that scores the tagged theme highest
        min_score = st.min_score if st.min_score != "auto" else DEFAULT_MIN_SCORE[backend.name]
        attributed = attribute_response_tags(tags, sub, codebook, lambda t: embed_units(t, "tag_attribution"),
                                             min_score=min_score)
        tags = pd.concat([tags[tags["question_id"].fillna("").astype(str) != ""][["response_id", "question_id", "tag"]],
                          attributed], ignore_index=True)
    frames: dict[str, list] = {"themes": [], "at": [], "meta": []}
    discoveries = []
    books, prepared = {}, {}
    min_score = st.min_score if st.min_score != "auto" else DEFAULT_MIN_SCORE[backend.name]
    for qid in qids:
        if codebook is not None and codebook.resolved(qid) is None:
            logger.warning("codebook has no themes for open question %s: its answers all go to 'other'", qid)
        cb = codebook
        if codebook is not None and codebook.resolved(qid) is None:
            cb = _empty_codebook(qid)  # a codebook without this question: everything is 'other'
        books[qid] = cb
        keep = procedural_filter(cb, qid, backend.encode, min_score) if cb is not None else None
        prepared[qid] = prepare_question(sub[sub["question_id"] == qid], question_id=qid, embed_units=embed_units,
                                         resolved=cb.resolved(qid) if cb is not None else None, campaigns=campaigns,
                                         keep_sentence=keep)
    fitted = {}
    if codebook is not None:
        for qid in qids:  # questions missing from the codebook are fitted alone on their empty codebook
            if books[qid] is not codebook:
                fitted |= fit_questions([prepared[qid]], books[qid], backend=backend, settings=st,
                                        seed=cfg.settings.seed, min_score=min_score, tags=tags,
                                        respondent_tags=respondent_tags, max_themes=st.max_themes_per_answer,
                                        relative_score=st.relative_score)
        fitted |= fit_questions([prepared[q] for q in qids if books[q] is codebook], codebook, backend=backend,
                                settings=st, seed=cfg.settings.seed, min_score=min_score, tags=tags,
                                respondent_tags=respondent_tags, max_themes=st.max_themes_per_answer,
                                relative_score=st.relative_score)
    for qid in qids:
        themes, at, meta, disc = theme_question(sub[sub["question_id"] == qid], question_id=qid,
                                                embed_units=embed_units, backend=backend, settings=st,
                                                seed=cfg.settings.seed, codebook=books[qid], campaigns=campaigns,
                                                tags=tags, respondent_tags=respondent_tags,
                                                prepared=prepared[qid], fitted=fitted.get(qid))
        frames["themes"].append(themes)
        frames["at"].append(at)
        frames["meta"].append(meta)
        if disc is not None:
            discoveries.append(disc)
    at = pd.concat(frames["at"], ignore_index=True) if frames["at"] else pd.DataFrame(columns=AT_COLS)
    if overrides is not None and len(overrides):
        at = apply_overrides(at, overrides)
    themes = pd.concat(frames["themes"], ignore_index=True) if frames["themes"] else pd.DataFrame(columns=THEME_COLS)
    meta = pd.concat(frames["meta"], ignore_index=True) if frames["meta"] else None
    return themes, at, meta, discoveries


def _empty_codebook(qid: str) -> Codebook:
    return Codebook.model_validate({"questions": {qid: {"themes": []}}})


def _optional(table: str, folder: Path) -> pd.DataFrame | None:
    try:
        return read_table(table, folder)
    except FileNotFoundError:
        return None


def draft_codebook_for(cfg: ConsultationConfig, *, processed_dir: Path) -> str:
    """Discover themes on the processed answers and return a codebook draft (``analysis themes draft``).

    Discovery runs as if there were no codebook (any ``codebook.yml`` is ignored), so the analyst sees
    what the answers themselves group into. Nothing is written.

    Raises:
        FileNotFoundError: ``core_answers_clean`` is missing (run ``analysis ingest`` and
            ``analysis campaigns`` first).
    """
    processed_dir = Path(processed_dir)
    if not (processed_dir / "core_answers_clean.csv").exists():
        raise FileNotFoundError(f"{processed_dir / 'core_answers_clean.csv'} not found: run `analysis ingest "
                                f"{cfg.id}` and `analysis campaigns {cfg.id}` first")
    answers = read_table("core_answers_clean", processed_dir)
    backend = make_backend(cfg.settings.themes, cfg.settings.seed)
    cache = EmbeddingCache(paths.cache_dir(cfg.id) / "embeddings") if cfg.settings.themes.cache else None
    _, _, _, discoveries = theme_all(answers, cfg, backend=backend, cache=cache, codebook=None,
                                     campaigns=_optional("core_campaigns", processed_dir))
    return draft_codebook(discoveries, consultation=cfg.id)


def run(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path) -> list[Path]:
    """Run the themes stage: read inputs, assign (or discover), apply overrides, write outputs.

    Returns:
        Written paths: ``core_themes``, ``core_answer_themes``, ``out_theme_model`` (and
        ``codebook_draft.yml`` when there is no codebook).
    """
    raw_dir, processed_dir = Path(raw_dir), Path(processed_dir)
    answers = read_table("core_answers_clean", processed_dir)
    campaigns = _optional("core_campaigns", processed_dir)
    tags = _optional("core_analyst_tags", processed_dir)
    cb_path = raw_dir / "codebook.yml"
    codebook = load_codebook(cb_path) if cb_path.exists() else None
    backend = make_backend(cfg.settings.themes, cfg.settings.seed)
    cache = EmbeddingCache(paths.cache_dir(cfg.id) / "embeddings") if cfg.settings.themes.cache else None
    overrides = None
    if (raw_dir / "overrides.csv").exists():
        resolved = {q.id: (codebook.resolved(q.id) if codebook is not None else None) for q in cfg.open_questions}
        if codebook is None:
            logger.warning("overrides.csv without codebook.yml: theme ids refer to discovered topics (t01...)")
        overrides = load_overrides(raw_dir / "overrides.csv", answers, resolved)
    themes, at, meta, discoveries = theme_all(answers, cfg, backend=backend, cache=cache, codebook=codebook,
                                              campaigns=campaigns, tags=tags, overrides=overrides)
    if codebook is None and overrides is not None:
        known = set(zip(themes["question_id"], themes["theme_id"], strict=True))
        bad = [int(r.row) for r in overrides.itertuples() if (r.question_id, r.theme_id) not in known]
        if bad:
            from analysis.errors import InputError
            raise InputError(str(raw_dir / "overrides.csv"), "unknown theme id for this question", row=bad[0],
                             column="theme_id")
    out = [write_table(themes, "core_themes", processed_dir), write_table(at, "core_answer_themes", processed_dir)]
    if meta is not None:
        out.append(write_table(meta, "out_theme_model", processed_dir))
    if codebook is None:
        draft = processed_dir / "codebook_draft.yml"
        draft.write_text(draft_codebook(discoveries, consultation=cfg.id), encoding="utf-8")
        out.append(draft)
    return out
