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

import functools
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import engine, paths, schemas
from analysis.config import PUBLISHABLE_CONSENT, ConsultationConfig
from analysis.embeddings import EmbeddingCache, make_backend
from analysis.memory import give_back
from analysis.tables import read_optional, read_table, table_exists, table_path, write_table
from analysis.themes import chunked, fitcache
from analysis.themes.assign import (
    DEFAULT_MIN_SCORE,
    apply_operations,
    attribute_response_tags,
    prototype_texts,
)
from analysis.themes.chunked import Runner, chunk_rows, discover_in_chunks, forked, on_cluster
from analysis.themes.codebook import (
    DISCOVERED_PREFIX,
    OTHER,
    UNTRANSLATED,
    Codebook,
    draft_codebook,
    load_codebook,
    load_overrides,
)
from analysis.themes.discovery import discover
from analysis.themes.fit import (
    Fitted,
    Prepared,
    fit_questions,
    prepare_question,
    procedural_filter,
    store_units,
)
from analysis.themes.lexical import LexicalSpace
from analysis.themes.reading import StoredAnswers, Themed, themed_of
from analysis.themes.rows import distinct, filter_rows
from analysis.themes.rows import values as column_values

logger = logging.getLogger(__name__)

out_theme_model = schemas.out_theme_model

#: The columns of ``core_answers_clean`` the stage reads: all but ``answer`` (the unredacted text, which is never
#: themed: 270 MB of a 650 MB table at 200,000 responses with 90% campaign letters).
ANSWER_COLUMNS = ["response_id", "question_id", "language", "text_redacted", "campaign_id", "is_campaign_copy",
                  "personal_addition"]
THEME_COLS = ["question_id", "theme_id", "label", "description", "parent_id", "keywords"]
AT_COLS = ["response_id", "question_id", "theme_id", "score", "source"]
SPECIAL = {
    OTHER: ("Other (no codebook theme matched)", "Answers that match no theme above the threshold; read and code them."),
    UNTRANSLATED: ("Not in a themed language", "Answers in a language without seed phrases; translate or code them by hand."),
}


def resolve_min_score(settings, backend) -> float:
    """The theme score threshold: the configured ``min_score``, or the backend's default for ``auto``."""
    return settings.min_score if settings.min_score != "auto" else DEFAULT_MIN_SCORE[backend.name]


@dataclass
class _Assignment:
    """One question's themes before they are mapped to responses (internal to :func:`theme_question`)."""

    assigned: pd.DataFrame  # unit, theme_id, score
    themes: pd.DataFrame  # THEME_COLS
    source: str
    method: str
    thresholding: str
    threshold_of: dict[str, float]
    meta_ids: list[tuple[str, int, int]]  # theme id, defining texts, coded answers


def _assign_with_codebook(p: Prepared, codebook: Codebook, fitted: Fitted, *, question_id: str, backend, settings,
                          min_score: float) -> _Assignment:
    """Assign the codebook's themes with the fitted (calibrated) model, then apply the operations log."""
    resolved = codebook.resolved(question_id)
    base = codebook.questions[question_id].themes
    model, cal = fitted.model, fitted.calibration
    kw = {"max_themes": cal.max_themes or settings.max_themes_per_answer, "threshold_factor": cal.threshold_factor,
          "sentence_factor": cal.sentence_factor, "relative_score": cal.relative_score or settings.relative_score}
    _, picks = p.scorer.pick(model, p.units["unit"].tolist(), **(kw | {"threshold_factor": cal.factors(len(base))}))
    publish = model.linear_.calibrated if model.linear_ is not None else (lambda x: x)
    picked = [(u, j, s) for u, p_ in zip(p.units["unit"], picks, strict=True) for j, s in p_]
    rows = [{"unit": u, "theme_id": model.theme_ids[j], "score": v}
            for (u, j, _), v in zip(picked, published(publish, [s for _, _, s in picked]), strict=True)]
    assigned = apply_operations(pd.DataFrame(rows, columns=["unit", "theme_id", "score"]), codebook.operations,
                                question_id, scorer=p.scorer, embed=backend.encode, min_score=min_score, **kw)
    live = resolved.themes
    themes = pd.DataFrame([{"question_id": question_id, "theme_id": t.id, "label": t.label,
                            "description": t.description or None, "parent_id": t.parent,
                            "keywords": "; ".join(t.seed_phrases) or None} for t in live], columns=THEME_COLS)
    meta_ids = [(t.id, len(prototype_texts(t, p.covered)), sum(model.n_coded_[model.theme_ids.index(m)]
                 for m in _members(codebook, question_id, t.id) if m in model.theme_ids)) for t in live]
    logger.info("question %s: %d themes, method %s, %d analyst-coded answers used as few-shot examples; %s",
                question_id, len(live), model.method_, sum(model.n_coded_), cal.describe)
    thresholding = f"route {fitted.route}"
    if fitted.routes_tried:
        thresholding += f" (cross-fitted F1 of the others: {fitted.routes_tried})"
    thresholding += f"; {cal.describe}"
    if fitted.pooled_with and cal.n_coded:
        thresholding += f"; codes pooled over {len(fitted.pooled_with)} questions with the same themes"
    threshold_of = {tid: float(publish(np.float32(t * f)))
                    for tid, t, f in zip(model.theme_ids, model.thresholds_, cal.factors(len(base)), strict=True)}
    return _Assignment(assigned, themes, "assigned", model.method_, thresholding, threshold_of, meta_ids)


def published(publish, scores) -> list[float]:
    """``[float(publish(np.float32(s))) for s in scores]``, the curve applied to all the scores at once.

    ``publish`` (:meth:`~analysis.themes.linear.PriorLinear.calibrated`, or the identity) maps each element on
    its own (NumPy's element-wise functions), so one call on the array gives each score's bits; one call per
    score cost 0.52 CPU s per 75,000 scores (about what a 50k consultation's questions pick), at once 0.007.
    """
    if not len(scores):
        return []
    return np.asarray(publish(np.asarray(scores, dtype=np.float32))).tolist()


def _assign_in_chunks(p: Prepared, *, run: Runner, **kw) -> _Assignment:
    """:func:`_assign_with_codebook` of a large question, a task a chunk of :func:`~analysis.themes.chunked.chunk_units`
    units (``themes-chunk-assign``). Each unit's themes are scored and picked on its own, the operations log applied
    unit by unit, so the chunks' rows joined and sorted as the whole question's are (``unit, theme_id``) are its."""
    size = chunked.chunk_units()
    got = run(_codebook_chunk, [p.units_slice(lo, lo + size) for lo in range(0, len(p.units), size)],
              label="themes-chunk-assign", shared=kw)
    rows = [g.assigned for g in got if len(g.assigned)] or [got[0].assigned]
    assigned = pd.concat(rows, ignore_index=True).sort_values(["unit", "theme_id"], kind="mergesort")
    return replace(got[0], assigned=assigned.reset_index(drop=True))


def _codebook_chunk(p: Prepared, **kw) -> _Assignment:
    """:func:`_assign_with_codebook` of a chunk of a question's units (a task)."""
    return _assign_with_codebook(p, **kw)


def _assign_by_discovery(p: Prepared, discovery, *, question_id: str, settings, min_score: float,
                         assigned: pd.DataFrame | None = None) -> _Assignment:
    """Each unit to its nearest discovered topic, plus other topics almost as close (multi-label).

    ``assigned``: those rows when already computed (a question discovered in chunks), else computed here.
    """
    if assigned is None:
        emb = p.emb
        cent = np.vstack([t.centroid for t in discovery.topics]) if discovery.topics else np.zeros((0, emb.shape[1]))
        sims = emb @ cent.T if len(cent) else np.zeros((len(emb), 0))
        assigned = chunk_rows(column_values(p.units["unit"]), np.asarray(discovery.labels), sims, min_score=min_score,
                              relative_score=settings.relative_score, max_themes=settings.max_themes_per_answer,
                              topic_ids=[t.topic_id for t in discovery.topics])
    themes = pd.DataFrame([{"question_id": question_id, "theme_id": t.topic_id, "label": t.label,
                            "description": DISCOVERED_PREFIX + " | ".join(t.representative),
                            "parent_id": None, "keywords": "; ".join(t.keywords)} for t in discovery.topics],
                          columns=THEME_COLS)
    thresholding = f"discovery: nearest topic centre; extra themes need {min_score:g} and the relative score"
    return _Assignment(assigned, themes, "discovered",
                       discovery.method, thresholding, {}, [(t.topic_id, t.size, 0) for t in discovery.topics])


def theme_question(p: Prepared, *, question_id: str, backend, settings, seed: int,
                   codebook: Codebook | None = None, fitted: Fitted | None = None,
                   consenting: frozenset[str] | None = None, run: Runner | None = None):
    """Theme the answers of one question (pure: inputs are not modified).

    Args:
        p: The question's units and embeddings (:func:`analysis.themes.fit.prepare_question`).
        question_id: The question.
        backend: The fitted embedding backend (embeds prototype texts).
        settings: ``cfg.settings.themes``.
        seed: ``cfg.settings.seed``.
        codebook: Frozen codebook with this question, or ``None`` to discover.
        fitted: Its fitted model (:func:`analysis.themes.fit.fit_questions`, possibly pooled with other
            questions); required with a codebook.
        consenting: Response ids whose text may be published: a discovered theme's label quotes only their
            answers (``None``: no consent information, any answer).
        run: Runs tasks on the engine's workers: given, a question of more than
            :func:`~analysis.themes.chunked.chunk_units` units is discovered a chunk at a time
            (:func:`~analysis.themes.chunked.discover_in_chunks`) or assigned its codebook's themes a chunk at a time
            (:func:`_assign_in_chunks`); ``None``: whole, here.

    Returns:
        ``(themes, answer_themes, model_meta, discovery or None)`` frames.
    """
    min_score = resolve_min_score(settings, backend)
    discovery = None
    if codebook is not None and codebook.resolved(question_id) is not None:
        kw = dict(codebook=codebook, fitted=fitted, question_id=question_id, backend=backend, settings=settings,
                  min_score=min_score)
        if run is not None and len(p.units) > chunked.chunk_units():
            a = _assign_in_chunks(p, run=run, **kw)
        else:
            a = _assign_with_codebook(p, **kw)
    else:
        label_ok = None
        if consenting is not None:  # a unit (answer or campaign template) is quotable when an owner consented
            # one set look-up per owner (Series.isin made a PyArrow scalar of every consenting id, per question)
            quotable = {u for u, r in zip(column_values(p.owners["unit"]), column_values(p.owners["response_id"]),
                                          strict=True) if isinstance(r, str) and r in consenting}
            label_ok = [isinstance(u, str) and u in quotable for u in column_values(p.units["unit"])]
        kw = dict(question_id=question_id, seed=seed, n_topics=settings.n_topics, max_topics=settings.max_topics,
                  min_answers=settings.min_answers, label_ok=label_ok)
        got = None
        if run is not None and len(p.units) > chunked.chunk_units():
            assign = functools.partial(chunk_rows, min_score=min_score, relative_score=settings.relative_score,
                                       max_themes=settings.max_themes_per_answer)
            got = discover_in_chunks(p.units["text"].tolist(), p.emb, column_values(p.units["unit"]), assign=assign,
                                     run=run, **kw)
        if got is not None:
            discovery, rows = got
            rows = [r for r in rows if len(r)] or rows[:1]
            a = _assign_by_discovery(p, discovery, question_id=question_id, settings=settings, min_score=min_score,
                                     assigned=pd.concat(rows, ignore_index=True))
        else:
            discovery = discover(p.units["text"].tolist(), p.emb, **kw)
            a = _assign_by_discovery(p, discovery, question_id=question_id, settings=settings, min_score=min_score)
    at = _response_themes(a.assigned, p, question_id, a.source)
    shown = [OTHER] + ([UNTRANSLATED] if p.untranslated else [])
    special = [{"question_id": question_id, "theme_id": k, "label": SPECIAL[k][0], "description": SPECIAL[k][1],
                "parent_id": None, "keywords": None} for k in shown]
    themes = pd.concat([a.themes, pd.DataFrame(special, columns=THEME_COLS)], ignore_index=True)
    version = str(codebook.version) if codebook is not None else None
    meta = pd.DataFrame([{"question_id": question_id, "theme_id": tid, "method": a.method, "backend": backend.name,
                          "fingerprint": backend.fingerprint, "codebook_version": version, "n_defining_texts": n_def,
                          "n_coded_answers": n_cod,
                          "threshold": a.threshold_of.get(tid, float(min_score)), "thresholding": a.thresholding,
                          "n_answers": int((at["theme_id"] == tid).sum())} for tid, n_def, n_cod in a.meta_ids],
                        columns=list(out_theme_model.columns))  # no theme (< min_answers answers): empty, typed
    return themes, at[AT_COLS], meta, discovery


def _response_themes(assigned: pd.DataFrame, p: Prepared, question_id: str, source: str) -> pd.DataFrame:
    """Units -> responses: a response has a theme when any of its units has it (score = max); the rest ``other``."""
    at = p.owners.merge(assigned, on="unit", how="left")
    at = at.dropna(subset=["theme_id"]).groupby(["response_id", "theme_id"], as_index=False)["score"].max()
    at["source"] = source
    themed = set(column_values(p.owners["response_id"])) | set(p.blank)  # the values iterating gave, at once
    missing = sorted(themed - set(column_values(at["response_id"])))
    extra = [pd.DataFrame({"response_id": missing, "theme_id": OTHER, "score": 0.0, "source": source})]
    if p.untranslated:
        extra.append(pd.DataFrame({"response_id": p.untranslated, "theme_id": UNTRANSLATED, "score": 0.0,
                                   "source": source}))
    at = pd.concat([at] + extra, ignore_index=True)
    at.insert(1, "question_id", question_id)
    return at


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


def theme_all(answers_clean: pd.DataFrame | StoredAnswers, cfg: ConsultationConfig, *, backend,
              cache: EmbeddingCache | None = None, codebook: Codebook | None = None,
              campaigns: pd.DataFrame | None = None, tags: pd.DataFrame | None = None,
              overrides: pd.DataFrame | None = None, inspect: dict | None = None,
              consenting: frozenset[str] | None = None):
    """Theme every open question (pure core of :func:`run`).

    Args:
        answers_clean: ``core_answers_clean`` (its open questions' rows are themed), or the open questions' rows
            of a stored table (:class:`~analysis.themes.reading.StoredAnswers`: read a part at a time, the
            campaign copies' letters never held whole). Either gives the same tables.
        cfg: The consultation (``open_questions``, ``settings.themes``, ``settings.seed``).
        backend: The embedding backend (fitted here when it is corpus-fitted).
        cache: Embedding cache, or ``None``.
        codebook: The frozen codebook, or ``None`` to discover.
        campaigns: ``core_campaigns``.
        tags: ``core_analyst_tags``.
        overrides: Loaded ``overrides.csv``.
        consenting: Response ids whose text may be quoted in a discovered theme's label (``None``: any).
        inspect: When given, filled with ``prepared`` and ``fitted`` (question id -> its
            :class:`~analysis.themes.fit.Prepared` / :class:`~analysis.themes.fit.Fitted`), for evaluation.

    Returns:
        ``(core_themes, core_answer_themes, out_theme_model, discoveries)``.
    """
    st = cfg.settings.themes
    qids = [q.id for q in cfg.open_questions]
    books = {qid: _book(codebook, qid) for qid in qids}
    if isinstance(answers_clean, StoredAnswers):
        ahead_ok = answers_clean.table_rows() >= AHEAD_MIN_ROWS
        read = functools.partial(answers_clean.read, campaigns, tags)
    else:
        themed = answers_clean["question_id"].isin(qids).to_numpy()
        sub = answers_clean if themed.all() else filter_rows(answers_clean, themed)  # read only, never modified
        ahead_ok = len(sub) >= AHEAD_MIN_ROWS
        read = functools.partial(themed_of, sub, campaigns, tags)
        del sub
    del answers_clean  # the caller may hold no reference (run(), themed_answers()): the rows go with ``read``
    # the units, computed into the store by a second process while this one fits the backend: forked before this
    # one reads the answers, it reads them itself (what it inherits, this process never writes to: no page of the
    # corpus's strings is copied for it); it also finds the placeholders and hands them over (a file in the store),
    # so this process reads the answers without looking for them
    handoff = _handoff_path() if ahead_ok else None
    ahead = (fitcache.fork_ahead(functools.partial(_units_ahead, read, campaigns, books, qids, handoff))
             if handoff is not None else None)
    got = read(keys=ahead is None)
    # from here on a campaign copy's letter is read only through its campaign's template (prepare_question): the
    # rows hold the copies' texts emptied (at 5,000,000 responses with 90% copies, 5.3 of the 6.3 GB of text read)
    sub, placeholders, tagged = got.rows, got.placeholders, got.tagged
    answers_corpus, codebook_texts = _corpus(got.texts, sub, campaigns, codebook)
    del got
    if hasattr(backend, "fit"):  # corpus-fitted backend: all themed texts + the codebook's base texts
        backend.fit(answers_corpus, extra=codebook_texts, store=cache.folder if cache is not None else None)
    if codebook is not None and getattr(st, "finetune", "off") == "setfit":  # opt-in: tune the encoder on the codes
        from analysis.themes.setfit import tuned_backend

        backend = tuned_backend(backend, tagged, tags, codebook, cfg.settings.seed)
    # discovery scores the dense embeddings only: the lexical space is for a codebook's themes
    store = fitcache.folder()  # word counts kept by the hash of their texts (a codebook edit counts only its own)
    lexical = (LexicalSpace(store / "lexical" if store is not None else None).fit(answers_corpus, extra=codebook_texts)
               if codebook is not None else None)
    del answers_corpus  # the distinct texts, read by the two fits only
    give_back()  # their strings' heap pages (at 1,000,000 responses 1.0 GB, kept by glibc once freed)
    if ahead is not None:
        ahead.wait()
        ahead = None
    if placeholders is None:  # found by the forked process; read again if it handed none over (it failed)
        placeholders = _handed_over(handoff)
        if placeholders is None:
            logger.warning("the placeholders were not handed over by the forked process: the answers read again")
            placeholders = read(texts=False).placeholders
    del read
    if placeholders:
        logger.info("placeholders set apart (not themed): %s",
                    "; ".join(f"{k!r} x{n}" for k, n in sorted(placeholders.items(), key=lambda x: -x[1])))

    def embed_units(texts, key):
        return cache.encode(backend, texts, key=key) if cache is not None else backend.encode(texts)

    respondent_tags: dict[str, set[str]] = {}
    if tags is not None and len(tags):
        whole = tags[tags["question_id"].fillna("").astype(str) == ""]
        for rid, tag in zip(whole["response_id"].astype(str), whole["tag"].astype(str), strict=True):
            respondent_tags.setdefault(rid, set()).add(tag)
    min_score = resolve_min_score(st, backend)
    if codebook is not None and tags is not None and len(tags):
        # whole-response tags -> the answer of that response that scores the tagged theme highest
        attributed = attribute_response_tags(tags, tagged, codebook, lambda t: embed_units(t, "tag_attribution"),
                                             min_score=min_score)
        tags = pd.concat([tags[tags["question_id"].fillna("").astype(str) != ""][["response_id", "question_id", "tag"]],
                          attributed], ignore_index=True)
    del tagged
    eng = engine.active()
    # discovery on the Dask engine: each question prepared, then sent to the cluster (or, more than chunk_units()
    # units, its chunks' tasks run) before the next is prepared, the smallest first, so this process holds one
    # question's units and vectors at a time (at 5,000,000 responses all five held 13.9 of the stage's 21.9 GB)
    one_at_a_time = eng is not None and codebook is None and inspect is None
    # otherwise the largest question first: its rows, units and vectors are the stage's peak, then held beside no
    # other question's prepared units (each question is prepared on its own: the order changes nothing it computes)
    order = _largest_first(sub, qids)[::-1] if one_at_a_time else _largest_first(sub, qids)
    shared = dict(backend=backend, settings=st, seed=cfg.settings.seed, consenting=consenting)
    shared = eng.share(shared) if one_at_a_time else shared
    prepared, done, sent = {}, {}, []
    for i, qid in enumerate(order):
        if codebook is not None and codebook.resolved(qid) is None:
            logger.warning("codebook has no themes for open question %s: its answers all go to 'other'", qid)
        cb = books[qid]
        keep = procedural_filter(cb, qid, backend.encode, min_score) if cb is not None else None
        # the question's rows: a copy, let go as soon as its units are prepared
        p = prepare_question(filter_rows(sub, (sub["question_id"] == qid).to_numpy(bool, na_value=False)),
                             question_id=qid, embed_units=embed_units,
                             resolved=cb.resolved(qid) if cb is not None else None, campaigns=campaigns,
                             keep_sentence=keep, lexical=lexical, placeholders=frozenset(placeholders),
                             with_sentences=cb is not None)  # discovery clusters whole texts
        if i == len(order) - 1:
            sub = None  # from here on the prepared units are all that is read
            give_back()
        if not one_at_a_time:
            prepared[qid] = p
        elif len(p.units) > chunked.chunk_units():
            done[qid] = theme_question(p, question_id=qid, backend=backend, settings=st, seed=cfg.settings.seed,
                                       codebook=None, fitted=None, consenting=consenting,
                                       run=functools.partial(on_cluster, eng))
        else:
            sent.append((qid, eng.submit(_theme_item, [(qid, p, None, None)], cost=[len(p.owners)],
                                         label="themes-question", large=True, shared=shared)))
        del p
        if one_at_a_time:
            give_back()
    if one_at_a_time:
        done |= {qid: s.result()[0] for qid, s in sent}
        return _assembled(done, qids, overrides)
    books, prepared = {q: books[q] for q in qids}, {q: prepared[q] for q in qids}  # in the questions' order
    fitted = {}
    if codebook is not None:
        fit_kw = dict(backend=backend, settings=st, seed=cfg.settings.seed, min_score=min_score, tags=tags,
                      respondent_tags=respondent_tags, max_themes=st.max_themes_per_answer,
                      relative_score=st.relative_score, lexical=lexical)
        for qid in qids:  # questions missing from the codebook are fitted alone on their empty codebook
            if books[qid] is not codebook:
                fitted |= fit_questions([prepared[qid]], books[qid], **fit_kw)
        fitted |= fit_questions([prepared[q] for q in qids if books[q] is codebook], codebook, **fit_kw)
    if inspect is not None:
        inspect.update(prepared=prepared, fitted=fitted)

    def theme_one(qid: str):
        return theme_question(prepared[qid], question_id=qid, backend=backend, settings=st, seed=cfg.settings.seed,
                              codebook=books[qid], fitted=fitted.get(qid), consenting=consenting)

    # each question is themed on its own (pure): side by side, in forked processes, the questions with the most
    # answers handed out first (a 1M consultation's letters question, 3x the others, had been started last)
    # a question of more than chunk_units() units runs its chunks' tasks itself (discovered, or assigned its
    # codebook's themes, a chunk a task), after the others are handed out; the others are a task each
    big = [q for q in qids if len(prepared[q].units) > chunked.chunk_units()]
    whole = [q for q in qids if q not in big]
    cost = [len(prepared[q].owners) for q in whole]
    if eng is not None:  # the Dask engine: a task a question, sent what it reads (the shared models once)
        sent = eng.submit(_theme_item, [(q, prepared[q], books[q], fitted.get(q)) for q in whole], cost=cost,
                          label="themes-question", large=True, shared=shared)
        if inspect is None:  # each let go here once sent (the stage's process peak at 1M: 5,224 -> 4,765 MB)
            for q in whole:
                del prepared[q]
        for q in big:
            done[q] = theme_question(prepared[q], question_id=q, backend=backend, settings=st, seed=cfg.settings.seed,
                                     codebook=books[q], fitted=fitted.get(q), consenting=consenting,
                                     run=functools.partial(on_cluster, eng))
            if inspect is None:  # its units and vectors, let go before the next is themed and the results gathered
                del prepared[q]
                give_back()
        done |= dict(zip(whole, sent.result(), strict=True))
    else:  # the other questions in forked workers while a larger one's chunks are computed here beside them
        pending = fitcache.start_forked(theme_one, whole, cost=cost)
        try:
            for q in big:  # (its chunks forked when no worker runs: fewer than two other questions)
                done[q] = theme_question(prepared[q], question_id=q, backend=backend, settings=st,
                                         seed=cfg.settings.seed, codebook=books[q], fitted=fitted.get(q),
                                         consenting=consenting, run=forked)
                if inspect is None:
                    del prepared[q]
        except BaseException:
            pending.cancel()
            raise
        done |= dict(zip(whole, pending.result(), strict=True))
    return _assembled(done, qids, overrides)


def _assembled(done: dict[str, tuple], qids: list[str], overrides: pd.DataFrame | None) -> tuple:
    """:func:`theme_all`'s tables from each question's :func:`theme_question` result (in ``qids`` order), the
    overrides applied."""
    frames: dict[str, list] = {"themes": [], "at": [], "meta": []}
    discoveries = []
    for themes, at, meta, disc in (done[q] for q in qids):
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


def _theme_item(item: tuple, *, backend, settings, seed: int, consenting: frozenset[str] | None):
    """:func:`theme_question` of one ``(question_id, prepared, codebook, fitted)`` (a Dask task)."""
    qid, prepared, codebook, fitted = item
    return theme_question(prepared, question_id=qid, backend=backend, settings=settings, seed=seed,
                          codebook=codebook, fitted=fitted, consenting=consenting)


#: Answers (rows of ``core_answers_clean``: the themed rows of a frame, every row of a stored table) from which the
#: units are computed ahead (:func:`_units_ahead`): below, the fork costs more than it saves.
AHEAD_MIN_ROWS = 50_000


def _book(codebook: Codebook | None, qid: str) -> Codebook | None:
    """The codebook a question is themed with: ``codebook``, or an empty one when it has no themes for the question
    (everything is ``other``); ``None`` (discovery) without a codebook."""
    if codebook is not None and codebook.resolved(qid) is None:
        return _empty_codebook(qid)
    return codebook


def _largest_first(sub: pd.DataFrame, qids: list[str]) -> list[str]:
    """The questions by decreasing number of rows in ``sub`` (ties in ``qids`` order)."""
    sizes = sub["question_id"].value_counts(sort=False)
    return sorted(qids, key=lambda q: (-int(sizes.get(q, 0)), qids.index(q)))


def _units_ahead(read: Callable[..., Themed], campaigns: pd.DataFrame | None, books: dict[str, Codebook | None],
                 qids: list[str], handoff: Path) -> None:
    """The placeholders (written to ``handoff``) and each question's units (into the themes store), as
    :func:`theme_all` needs them next.

    Run by a forked process (:func:`analysis.themes.fitcache.fork_ahead`) while :func:`theme_all` reads the answers
    and fits the embedding backend: the answers read the same way (``read``, without the corpus), then the same
    calls on the same inputs (:func:`analysis.themes.fit.store_units` on each question's rows, with the arguments
    :func:`theme_all` hands :func:`analysis.themes.fit.prepare_question`), so its look-ups find them.
    """
    got = read(texts=False)
    placeholders, sub = frozenset(got.placeholders), got.rows
    tmp = handoff.with_suffix(".tmp")
    tmp.write_text(json.dumps(got.placeholders, ensure_ascii=False), encoding="utf-8")
    tmp.replace(handoff)
    del got
    for qid in _largest_first(sub, qids):
        cb = books[qid]
        store_units(filter_rows(sub, (sub["question_id"] == qid).to_numpy(bool, na_value=False)),
                    resolved=cb.resolved(qid) if cb is not None else None, campaigns=campaigns,
                    placeholders=placeholders, with_sentences=cb is not None)


def _handoff_path() -> Path | None:
    """Where :func:`_units_ahead` writes the placeholders it finds (``None`` without a themes store: no fork)."""
    store = fitcache.folder()
    if store is None:
        return None
    store.mkdir(parents=True, exist_ok=True)
    return store / f"placeholders-handed-{os.getpid()}-{time.monotonic_ns()}.json"


def _handed_over(handoff: Path | None) -> dict[str, int] | None:
    """The placeholders :func:`_units_ahead` wrote to ``handoff`` (the file then removed), else ``None``."""
    if handoff is None or not handoff.is_file():
        return None
    try:
        found = {str(k): int(n) for k, n in json.loads(handoff.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError, AttributeError):
        return None
    finally:
        handoff.unlink(missing_ok=True)
    return found


def _corpus(texts: list[str], sub: pd.DataFrame, campaigns: pd.DataFrame | None,
            codebook: Codebook | None) -> tuple[list[str], list[str]]:
    """Texts a corpus-fitted space is fitted on: every distinct themed text, then the codebook's base theme texts.

    Returned apart: a large corpus fits the embedding backend without the codebook's texts
    (:meth:`analysis.embeddings.TfidfSvdBackend.fit`), so a codebook edit reuses the cached vectors.

    The themed texts are each answer's text (``texts``: :attr:`~analysis.themes.reading.Themed.texts`, read before
    the copies' letters were let go), each personal addition (of ``sub``), then each campaign template, as strings,
    de-duplicated in the order first met: both fits (:meth:`~analysis.embeddings.TfidfSvdBackend.fit`,
    :meth:`~analysis.themes.lexical.LexicalSpace.fit`) de-duplicate their corpus in that order themselves, so they
    fit the same texts, and only the distinct ones are ever held as Python strings (the list of every row's text
    was 370 MB at 200,000 responses with 90% campaign letters).
    """
    parts = [texts, sub["personal_addition"].dropna().astype(str)]
    if campaigns is not None and len(campaigns):
        parts.append(campaigns["template"].astype(str))
    corpus = distinct(parts)
    book: list[str] = []
    if codebook is not None:
        # base themes only: operations (even splits) never move the answers' embeddings
        book = [t for q in codebook.questions.values() for th in q.themes for t in prototype_texts(th)]
    return corpus, book


def _empty_codebook(qid: str) -> Codebook:
    return Codebook.model_validate({"questions": {qid: {"themes": []}}})


def themed_answers(cfg: ConsultationConfig, processed_dir: Path) -> pd.DataFrame:
    """The ``core_answers_clean`` rows of the open questions, in file order, without the ``answer`` column.

    :func:`theme_all` reads these rows and columns only (:data:`ANSWER_COLUMNS`): the same values as the whole
    table filtered by :func:`theme_all` itself, with neither the unthemed column nor the closed questions' rows.
    The other rows are left out as the file is read (``read_table``'s ``where``), never held: the closed
    questions' ticks were 3.7 of 5.7 million rows at a million responses (their ids alone hundreds of MB).
    """
    return read_table("core_answers_clean", processed_dir, columns=ANSWER_COLUMNS,
                      where=("question_id", [q.id for q in cfg.open_questions]))


def stored_answers(cfg: ConsultationConfig, processed_dir: Path) -> StoredAnswers:
    """:func:`themed_answers`'s rows and columns, to be read by :func:`theme_all` a part at a time."""
    return StoredAnswers(Path(processed_dir), tuple(q.id for q in cfg.open_questions), tuple(ANSWER_COLUMNS))


def draft_codebook_for(cfg: ConsultationConfig, *, processed_dir: Path) -> str:
    """Discover themes on the processed answers and return a codebook draft (``analysis themes draft``).

    Discovery runs as if there were no codebook (any ``codebook.yml`` is ignored), so the analyst sees
    what the answers themselves group into. Nothing is written.

    Raises:
        FileNotFoundError: ``core_answers_clean`` is missing (run ``analysis ingest`` and
            ``analysis campaigns`` first).
    """
    processed_dir = Path(processed_dir)
    if not table_exists("core_answers_clean", processed_dir):
        raise FileNotFoundError(f"{table_path('core_answers_clean', processed_dir)} not found: run `analysis ingest "
                                f"{cfg.id}` and `analysis campaigns {cfg.id}` first")
    backend = make_backend(cfg.settings.themes, cfg.settings.seed)
    cache = EmbeddingCache(paths.cache_dir(cfg.id) / "embeddings") if cfg.settings.themes.cache else None
    _, _, _, discoveries = theme_all(stored_answers(cfg, processed_dir), cfg, backend=backend, cache=cache,
                                     codebook=None,
                                     campaigns=read_optional("core_campaigns", processed_dir))
    return draft_codebook(discoveries, consultation=cfg.id)


def run(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path) -> list[Path]:
    """Run the themes stage: read inputs, assign (or discover), apply overrides, write outputs.

    Returns:
        Written paths: ``core_themes``, ``core_answer_themes``, ``out_theme_model`` (and
        ``codebook_draft.yml`` when there is no codebook).
    """
    raw_dir, processed_dir = Path(raw_dir), Path(processed_dir)
    campaigns = read_optional("core_campaigns", processed_dir)
    tags = read_optional("core_analyst_tags", processed_dir)
    consenting = None
    if table_exists("core_responses", processed_dir):  # its two columns the themes read, not the whole table
        responses = read_table("core_responses", processed_dir, columns=["response_id", "consent"])
        consenting = frozenset(responses.loc[responses["consent"].isin(PUBLISHABLE_CONSENT), "response_id"])
        del responses
    cb_path = raw_dir / "codebook.yml"
    codebook = load_codebook(cb_path) if cb_path.exists() else None
    backend = make_backend(cfg.settings.themes, cfg.settings.seed)
    cache = EmbeddingCache(paths.cache_dir(cfg.id) / "embeddings") if cfg.settings.themes.cache else None
    overrides = None
    if (raw_dir / "overrides.csv").exists():
        resolved = {q.id: (codebook.resolved(q.id) if codebook is not None else None) for q in cfg.open_questions}
        if codebook is None:
            logger.warning("overrides.csv without codebook.yml: theme ids refer to discovered topics (t01...)")
        pairs = read_table("core_answers_clean", processed_dir, columns=["response_id", "question_id"])
        overrides = load_overrides(raw_dir / "overrides.csv", pairs, resolved)
        del pairs
    # fitted models kept by a hash of their inputs: a re-run (codebook edit) refits only what changed
    with fitcache.stored_in(paths.cache_dir(cfg.id) / "themes" if cfg.settings.themes.cache else None):
        # the answers are read by theme_all, a part at a time (the copies' letters let go as each part is read)
        themes, at, meta, discoveries = theme_all(stored_answers(cfg, processed_dir), cfg, backend=backend,
                                                  cache=cache, codebook=codebook, campaigns=campaigns, tags=tags,
                                                  overrides=overrides, consenting=consenting)
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
