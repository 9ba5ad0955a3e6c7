"""A question's prepared units pickled for a themes task (the dask engine sends them to a worker).

On real text: the 80 ArgKP dev arguments of ``tests/fixtures/themes/coded_argkp`` (IBM, CDLA-Sharing 1.0; see the
README there), themed with their codebook (units, sentences and lexical rows) and by discovery (whole texts).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.config import ThemeSettings
from analysis.embeddings import make_backend
from analysis.themes.evaluate import _tables, draw_codes, load_folder
from analysis.themes.stage import theme_all, theme_question

CODED = Path(__file__).parent / "fixtures" / "themes" / "coded_argkp"


@pytest.fixture(scope="module", params=["codebook", "discovery"])
def themed(request):
    data = load_folder(CODED)
    settings = ThemeSettings(cache=False)
    answers, tags = _tables(data, draw_codes(data, [5], seed=0)[5])
    cfg = SimpleNamespace(open_questions=[SimpleNamespace(id=q) for q in sorted(data.codebook.questions)],
                          settings=SimpleNamespace(themes=settings, seed=0))
    book = data.codebook if request.param == "codebook" else None
    backend = make_backend(settings, 0)
    inspect: dict = {}
    theme_all(answers, cfg, backend=backend, codebook=book, tags=tags if book else None, inspect=inspect)
    return request.param, book, backend, settings, inspect


def _whole_pickle(p) -> int:
    """The size of ``p`` pickled with every field (as before ``Prepared.__getstate__``)."""
    return len(pickle.dumps(dict(p.__dict__), protocol=5))


def test_a_question_travels_once_and_themes_the_same_after(themed) -> None:
    kind, book, backend, settings, inspect = themed
    assert inspect["prepared"]
    for qid, p in inspect["prepared"].items():
        sent = pickle.dumps(p, protocol=5)
        # the vectors once (their views by unit were pickled a second time, each on its own)
        assert _whole_pickle(p) - len(sent) >= p.emb.nbytes > 0, qid
        q = pickle.loads(sent)
        assert list(q.unit_emb) == list(p.unit_emb)
        assert all(np.array_equal(q.unit_emb[u], v) for u, v in p.unit_emb.items())
        assert all(np.shares_memory(v, q.emb) for v in q.unit_emb.values())  # rows of the one array, as prepared
        assert q.scorer.unit_emb is q.unit_emb and q.scorer.lex is q.lex
        assert q.__getstate__()["unit_emb"] is None  # and sent on again as lightly
        assert (kind == "codebook") == bool(q.sent_mat) and (q.lex is not None) == (kind == "codebook")
        kw = dict(question_id=qid, backend=backend, settings=settings, seed=0, codebook=book,
                  fitted=inspect["fitted"].get(qid))
        before, after = theme_question(p, **kw), theme_question(q, **kw)
        for a, b in zip(before[:3], after[:3], strict=True):
            pd.testing.assert_frame_equal(a, b)
        if kind == "codebook":
            units = p.units["unit"].tolist()
            model = inspect["fitted"][qid].model
            np.testing.assert_array_equal(p.scorer(model, units), q.scorer(model, units))


def test_vectors_that_are_not_the_units_rows_travel_whole(themed) -> None:
    """A ``unit_emb`` edited after preparing (not ``emb``'s rows) is pickled as it is, never rebuilt from ``emb``."""
    _, _, _, _, inspect = themed
    p = next(iter(inspect["prepared"].values()))
    first = next(iter(p.unit_emb))
    p.unit_emb[first] = p.unit_emb[first] * 2  # a copy, not a view of emb
    try:
        q = pickle.loads(pickle.dumps(p, protocol=5))
        np.testing.assert_array_equal(q.unit_emb[first], p.unit_emb[first])
        assert not np.array_equal(q.unit_emb[first], q.emb[0])
    finally:
        p.unit_emb[first] = p.emb[0]
