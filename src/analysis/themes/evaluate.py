"""Evaluate theme assignment on any coded dataset: ``analysis evaluate themes <folder>``.

The folder holds (documented in ``docs/user_guide.md``, "Evaluating themes on coded answers"):

* ``answers.csv``: ``id, question, text, codes``: one row per coded answer; ``codes`` lists the answer's
  theme ids separated by ``;`` (empty: the coder found no theme). ``(id, question)`` is unique.
* ``codebook.yml``: the codebook (``docs/themes.md``) whose questions are the ``question`` values.

Protocol (:func:`evaluate`): for every ``k`` asked for, per question and theme, ``k`` answers coded with
the theme are drawn with the seed (never more than half of the theme's answers, so every theme keeps
answers to score), and ``k`` answers coded with no theme; these are the analyst's codes of that run, fed
to the themes stage exactly as ``core_analyst_tags`` are (no theme: the tag ``other``). The codes drawn
for *any* ``k`` are held out of scoring, so every ``k`` is scored on the **same** uncoded rows. Draws are
nested by ``k`` (one seeded order per theme), so a larger ``k`` only adds codes.

Scores per ``k`` (:func:`score`): micro and macro F1 over (answer, theme) pairs, each theme's share error
(percentage points of the scored answers), coverage (answers given at least one theme, against the
truth's), the route each question took (``out_theme_model``), and a reference: a plain TF-IDF logistic
regression trained on the same codes (:func:`logreg_baseline`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from analysis.config import ThemeSettings
from analysis.embeddings import make_backend
from analysis.errors import InputError
from analysis.themes.codebook import OTHER, Codebook, load_codebook
from analysis.themes.stage import theme_all

COLUMNS = ("id", "question", "text", "codes")
Key = tuple[str, str]  # (question, id)


@dataclass
class CodedData:
    """A coded dataset: every answer with its codes, and the codebook.

    Attributes:
        answers: ``id, question, text, codes`` (``codes``: a frozenset of theme ids).
        codebook: The codebook; its questions are the ``question`` values.
    """

    answers: pd.DataFrame
    codebook: Codebook

    def theme_ids(self, question: str) -> list[str]:
        """The question's base theme ids, in codebook order."""
        return [t.id for t in self.codebook.questions[question].themes]

    def truth(self) -> dict[Key, frozenset[str]]:
        """``(question, id) -> codes``."""
        a = self.answers
        return dict(zip(zip(a["question"], a["id"], strict=True), a["codes"], strict=True))


def load_folder(folder: str | Path) -> CodedData:
    """Read ``answers.csv`` and ``codebook.yml`` from ``folder``.

    Raises:
        InputError: A missing column, a duplicate ``(id, question)``, a question missing from the codebook
            or a code naming no theme of its question (file, row and column named).
        ConfigError: A missing or invalid codebook.
    """
    folder = Path(folder)
    path = folder / "answers.csv"
    if not path.exists():
        raise InputError(str(path), "file not found")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in COLUMNS:
        if col not in df.columns:
            raise InputError(str(path), f"missing column {col!r}", column=col)
    codebook = load_codebook(folder / "codebook.yml")
    dup = df.duplicated(["id", "question"])
    if dup.any():
        raise InputError(str(path), "duplicate (id, question)", row=int(np.flatnonzero(dup)[0]) + 2, column="id")
    codes = []
    for i, r in enumerate(df.itertuples(index=False)):
        if r.question not in codebook.questions:
            raise InputError(str(path), f"question {r.question!r} is not in codebook.yml", row=i + 2,
                             column="question")
        got = frozenset(c.strip() for c in str(r.codes).split(";") if c.strip())
        unknown = got - {t.id for t in codebook.questions[r.question].themes}
        if unknown:
            raise InputError(str(path), f"unknown theme id(s) {sorted(unknown)} for question {r.question!r}",
                             row=i + 2, column="codes")
        codes.append(got)
    out = df[list(COLUMNS[:3])].copy()
    out["codes"] = codes
    return CodedData(out.reset_index(drop=True), codebook)


def draw_codes(data: CodedData, ks: list[int], seed: int) -> dict[int, set[Key]]:
    """The coded answers of each ``k``: per question, theme and "no theme", the first ``min(k, n // 2)`` of one
    seeded order of its answers (an answer already drawn for another theme is not drawn twice)."""
    rng = np.random.default_rng(seed)
    orders: list[list[Key]] = []
    for q, g in data.answers.groupby("question", sort=True):
        keys = [(q, i) for i in g["id"]]
        for t in [*data.theme_ids(q), None]:
            members = [k for k, c in zip(keys, g["codes"], strict=True) if (t in c if t else not c)]
            orders.append([members[i] for i in rng.permutation(len(members))])
    out = {}
    for k in sorted(set(ks)):
        held: set[Key] = set()
        for order in orders:
            held |= {x for x in order[: min(k, len(order) // 2)] if x not in held}
        out[k] = held
    return out


def _tables(data: CodedData, coded: set[Key]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``core_answers_clean`` and ``core_analyst_tags`` of one run (the coded answers' codes as tags)."""
    a = data.answers
    answers = pd.DataFrame({"response_id": a["id"], "question_id": a["question"], "answer": a["text"],
                            "language": "en", "text_redacted": a["text"], "campaign_id": None,
                            "is_campaign_copy": False, "personal_addition": None})
    rows = [(i, q, t) for q, i, c in zip(a["question"], a["id"], a["codes"], strict=True) if (q, i) in coded
            for t in (sorted(c) or [OTHER])]
    tags = pd.DataFrame(rows, columns=["response_id", "question_id", "tag"]).assign(source_column="codes")
    return answers, tags


@dataclass
class Run:
    """One ``k``: the themes given, the models' metadata and their scores (for ranking metrics).

    Attributes:
        answer_themes: ``core_answer_themes`` rows.
        meta: ``out_theme_model`` rows.
        scores: Question -> ``(ids, theme ids, whole-text score / threshold)`` of every answer and base theme
            (the whole text ranks an answer; sentences only add themes).
    """

    answer_themes: pd.DataFrame
    meta: pd.DataFrame
    scores: dict[str, tuple[list[str], list[str], np.ndarray]] = field(default_factory=dict)


def run_k(data: CodedData, coded: set[Key], settings: ThemeSettings, seed: int) -> Run:
    """Run the themes stage with ``coded`` as the analyst's codes."""
    answers, tags = _tables(data, coded)
    questions = sorted(data.answers["question"].unique())
    cfg = SimpleNamespace(open_questions=[SimpleNamespace(id=q) for q in questions],
                          settings=SimpleNamespace(themes=settings, seed=seed))
    inspect: dict = {}
    _, at, meta, _ = theme_all(answers, cfg, backend=make_backend(settings, seed), codebook=data.codebook,
                               tags=tags if len(tags) else None, inspect=inspect)
    run = Run(at, meta)
    for q in questions:
        p, f = inspect["prepared"][q], inspect["fitted"].get(q)
        if f is None:
            continue
        units = [u for u in p.units["unit"] if u.startswith("own:")]
        thr = f.model.thresholds_ * f.calibration.factors(len(f.model.theme_ids))
        whole = p.scorer.piece_scores(f.model, units)[0]
        run.scores[q] = ([u[4:] for u in units], list(f.model.theme_ids), whole / thr[None, :])
    return run


def _pairs(pred: dict[Key, set[str]], truth: dict[Key, frozenset[str]], keys: list[Key],
           themes: dict[str, list[str]]) -> pd.DataFrame:
    """Per (question, theme): tp, fp, fn and the true and predicted counts over ``keys``."""
    rows = []
    for q in sorted({k[0] for k in keys}):
        qk = [k for k in keys if k[0] == q]
        for t in themes[q]:
            got = np.array([t in pred.get(k, set()) for k in qk])
            tru = np.array([t in truth[k] for k in qk])
            rows.append({"question": q, "theme": t, "n": len(qk), "tp": int((got & tru).sum()),
                         "fp": int((got & ~tru).sum()), "fn": int((~got & tru).sum()),
                         "true_pct": 100 * tru.mean(), "pred_pct": 100 * got.mean()})
    return pd.DataFrame(rows)


def score(pred: dict[Key, set[str]], data: CodedData, keys: list[Key]) -> tuple[dict, pd.DataFrame]:
    """Micro / macro F1, share errors and coverage of ``pred`` on ``keys``.

    Returns:
        ``(summary, per theme)``; per theme: ``question, theme, n, tp, fp, fn, true_pct, pred_pct, error_pp``.
    """
    truth = data.truth()
    themes = {q: data.theme_ids(q) for q in data.codebook.questions}
    per = _pairs(pred, truth, keys, themes)
    per["error_pp"] = (per["pred_pct"] - per["true_pct"]).abs()
    tp, fp, fn = per["tp"].sum(), per["fp"].sum(), per["fn"].sum()
    f1 = (2 * per["tp"] / (2 * per["tp"] + per["fp"] + per["fn"]).clip(lower=1))[(per["tp"] + per["fn"]) > 0]
    return {"micro_f1": 2 * tp / max(2 * tp + fp + fn, 1), "macro_f1": float(f1.mean()) if len(f1) else float("nan"),
            "precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1),
            "share_mae_pp": float(per["error_pp"].mean()), "share_max_pp": float(per["error_pp"].max()),
            "coverage_pct": 100 * np.mean([bool(pred.get(k)) for k in keys]),
            "truth_coverage_pct": 100 * np.mean([bool(truth[k]) for k in keys])}, per


def logreg_baseline(data: CodedData, coded: set[Key]) -> dict[str, tuple[list[str], list[str], np.ndarray]]:
    """Reference: per question and theme, a plain TF-IDF (scikit-learn defaults) logistic regression trained
    on the coded answers (class-balanced); probability of every answer (a theme never coded: 0)."""
    out = {}
    for q, g in data.answers.groupby("question", sort=True):
        ids, themes = g["id"].tolist(), data.theme_ids(q)
        x = TfidfVectorizer().fit_transform(g["text"])
        train = np.array([(q, i) in coded for i in ids])
        proba = np.zeros((len(ids), len(themes)))
        for j, t in enumerate(themes):
            y = np.array([t in c for c in g["codes"]])[train]
            if train.any() and y.min() != y.max():
                clf = LogisticRegression(class_weight="balanced", max_iter=2000).fit(x[train], y)
                proba[:, j] = clf.predict_proba(x)[:, 1]
        out[q] = (ids, themes, proba)
    return out


def _picked(scores: dict[str, tuple[list[str], list[str], np.ndarray]], level: float) -> dict[Key, set[str]]:
    return {(q, i): {t for t, s in zip(th, row, strict=True) if s >= level}
            for q, (ids, th, m) in scores.items() for i, row in zip(ids, m, strict=True)}


def evaluate(data: CodedData, ks: list[int], *, seed: int = 0, settings: ThemeSettings | None = None,
             ) -> tuple[pd.DataFrame, pd.DataFrame, dict[int, Run]]:
    """Score the themes stage with ``k`` codes per theme for every ``k`` of ``ks``, on the same rows.

    Returns:
        ``(summary, per theme, runs)``: one summary row per ``k`` (``k, n_coded, n_scored``, the metrics
        of :func:`score`, the reference logistic regression's ``logreg_micro_f1`` / ``logreg_macro_f1`` and
        the ``routes`` taken), per-theme rows with a ``k`` column, and the :class:`Run` of each ``k``.
    """
    settings = settings or ThemeSettings()
    draws = draw_codes(data, ks, seed)
    held = set().union(*draws.values())
    keys = sorted(k for k in zip(data.answers["question"], data.answers["id"], strict=True) if k not in held)
    rows, per_theme, runs = [], [], {}
    for k in sorted(set(ks)):
        run = run_k(data, draws[k], settings, seed)
        at = run.answer_themes[~run.answer_themes["theme_id"].isin([OTHER, "_untranslated"])]
        pred: dict[Key, set[str]] = {}
        for q, i, t in zip(at["question_id"], at["response_id"], at["theme_id"], strict=True):
            pred.setdefault((q, i), set()).add(t)
        summary, per = score(pred, data, keys)
        base, _ = score(_picked(logreg_baseline(data, draws[k]), 0.5), data, keys) if k else ({}, None)
        routes = run.meta.drop_duplicates("question_id")["method"].value_counts()
        rows.append({"k": k, "n_coded": len(draws[k]), "n_scored": len(keys), **summary,
                     "logreg_micro_f1": base.get("micro_f1", float("nan")),
                     "logreg_macro_f1": base.get("macro_f1", float("nan")),
                     "routes": ", ".join(f"{m} x{n}" for m, n in routes.items())})
        per_theme.append(per.assign(k=k))
        runs[k] = run
    return pd.DataFrame(rows), pd.concat(per_theme, ignore_index=True), runs
