"""A large question discovered and assigned a chunk of units at a time (:mod:`analysis.themes.chunked`).

On real text: the ArgKP arguments and Pol.is statements of the test fixtures (IBM ArgKP-2021, CDLA-Sharing 1.0;
Pol.is, CC BY 4.0; see the READMEs beside them), ~650 distinct answers as one question, with the sizes made small
(chunks of 256 units, k-means fitted on a sample of 200, predicted 64 at a time) so that the fixture is cut as a
million-response question is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_themes_helpers import answers, config

from analysis.embeddings import make_backend
from analysis.errors import ConfigError
from analysis.themes import chunked, discovery, fitcache
from analysis.themes import stage as themes

FIX = Path(__file__).parent / "fixtures"


def _texts() -> list[str]:
    frames = [(FIX / "campaigns" / "argkp_arguments.csv", "argument"), (FIX / "campaigns" / "polis_nz_comments.csv",
              "comment-body"), (FIX / "positions" / "argkp_two_topics.csv", "argument"),
              (FIX / "themes" / "polis_biodiversity_comments.csv", "comment-body")]
    seen: dict[str, None] = {}
    for path, col in frames:
        seen.update(dict.fromkeys(str(t) for t in pd.read_csv(path)[col].dropna()))
    return list(seen)


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(discovery, "FIT_MAX_UNITS", 200)
    monkeypatch.setattr(discovery, "_PREDICT_BLOCK", 64)
    monkeypatch.setenv(chunked.CHUNK_ENV, "256")
    monkeypatch.setattr(fitcache, "WORKERS", 2)


def _theme(texts, consenting=None):
    cfg = config(("q1",))
    return themes.theme_all(answers(texts), cfg, backend=make_backend(cfg.settings.themes, cfg.settings.seed),
                            consenting=consenting)


def test_the_fixture_is_cut_in_chunks_as_a_large_question_is(small):
    texts = _texts()
    assert len(texts) > 2 * 256 and chunked.chunk_units() == 256
    assert [len(c.texts) for c in chunked.chunks(texts, np.zeros((len(texts), 2)), texts, None, 256)] == \
        [256, 256, len(texts) - 512]


@pytest.mark.parametrize("consent", [False, True])
def test_chunks_find_the_whole_questions_topics_and_themes(small, monkeypatch, caplog, consent):
    """Same clusters (the same fit, each unit predicted alike), same sizes, c-TF-IDF keywords, labels and
    representative answers; centres and scores equal to float32 precision; every response the same themes."""
    texts = _texts()
    rids = [f"r{i:03d}" for i in range(len(texts))]
    consenting = frozenset(rids[::3]) if consent else None
    with caplog.at_level("INFO", logger="analysis.themes.chunked"):
        t1, at1, meta1, (d1,) = _theme(texts, consenting=consenting)
    assert "3 chunks of up to 256" in caplog.text
    monkeypatch.setenv(chunked.CHUNK_ENV, str(10**9))  # the question whole
    t0, at0, meta0, (d0,) = _theme(texts, consenting=consenting)
    assert d1.method == d0.method == "bertopic:pca+kmeans" and d1.k_rule == d0.k_rule
    np.testing.assert_array_equal(d1.labels, d0.labels)
    assert len(d0.topics) >= 10
    for a, b in zip(d1.topics, d0.topics, strict=True):
        assert (a.topic_id, a.size, a.keywords, a.representative, a.label) == \
            (b.topic_id, b.size, b.keywords, b.representative, b.label)
        np.testing.assert_allclose(a.centroid, b.centroid, atol=1e-6)
    pd.testing.assert_frame_equal(t1, t0)
    key = ["response_id", "theme_id"]
    m = at1.merge(at0, on=key, how="outer", indicator=True, suffixes=("", "_whole"))
    assert (m["_merge"] == "both").all()
    np.testing.assert_allclose(m["score"], m["score_whole"], atol=1e-5)
    pd.testing.assert_frame_equal(meta1.drop(columns="n_answers"), meta0.drop(columns="n_answers"))


def test_chunks_in_forked_processes_give_what_one_process_gives(small, monkeypatch):
    """The local engine's forked runner against each step's tasks run one after another here: same bytes."""
    texts = _texts()
    consenting = frozenset(f"r{i:03d}" for i in range(0, len(texts), 2))
    want = _theme(texts, consenting=consenting)
    monkeypatch.setattr(fitcache, "WORKERS", 1)
    got = _theme(texts, consenting=consenting)
    for a, b in zip(got[:3], want[:3], strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_a_question_at_or_below_the_chunk_size_is_themed_whole(small, monkeypatch):
    calls = []
    monkeypatch.setattr(themes, "discover_in_chunks", lambda *a, **k: calls.append(1))
    _theme(_texts()[:200])
    assert calls == []
    _theme(_texts()[:300])
    assert calls == [1]


@pytest.mark.parametrize("value", ["0", "-5", "many", "2.5"])
def test_a_bad_chunk_size_is_a_config_error(monkeypatch, value):
    monkeypatch.setenv(chunked.CHUNK_ENV, value)
    with pytest.raises(ConfigError, match=chunked.CHUNK_ENV):
        chunked.chunk_units()


CODED = FIX / "themes" / "coded_argkp"
OPERATIONS = """operations:
  - {op: merge, question: topic00_con, ids: [kp_4_1, kp_4_4], into: bullying_equality, label: Bullying and equality}
  - {op: split, question: topic00_con, id: kp_4_2, into: [
      {id: discipline, label: Discipline, seed_phrases: [instill discipline, obey rules]},
      {id: focus, label: Focus on learning, seed_phrases: [focus on learning, fewer distractions]}]}
  - {op: delete, question: topic00_pro, id: kp_4_7}
"""


def _coded(tmp_path: Path, monkeypatch, chunk: int | None, workers: int = 2):
    import shutil

    from analysis.config import ThemeSettings
    from analysis.themes.evaluate import _tables, draw_codes, load_folder

    folder = tmp_path / "coded"
    if not folder.exists():
        shutil.copytree(CODED, folder)
        with (folder / "codebook.yml").open("a", encoding="utf-8") as f:
            f.write(OPERATIONS)
    if chunk is None:
        monkeypatch.delenv(chunked.CHUNK_ENV, raising=False)
    else:
        monkeypatch.setenv(chunked.CHUNK_ENV, str(chunk))
    monkeypatch.setattr(fitcache, "WORKERS", workers)
    data = load_folder(folder)
    settings = ThemeSettings(cache=False)
    answers_, tags = _tables(data, draw_codes(data, [5], seed=0)[5])
    cfg = config(tuple(sorted(data.codebook.questions)))
    assert data.codebook.operations
    return themes.theme_all(answers_, cfg, backend=make_backend(settings, 0), codebook=data.codebook, tags=tags)


def test_a_codebooks_themes_assigned_a_chunk_at_a_time_are_the_whole_questions(tmp_path, monkeypatch):
    """ArgKP's coded arguments (two questions of 40) with a merge, a split and a delete in the operations log, in
    chunks of 16 units: every response the same themes, the same scores to float32 precision, the same themes and
    model summary; and the same bytes with the chunks in forked processes or here."""
    whole = _coded(tmp_path, monkeypatch, None)
    parts = _coded(tmp_path, monkeypatch, 16)
    calls: list[int] = []
    real = themes._codebook_chunk
    monkeypatch.setattr(themes, "_codebook_chunk", lambda p, **kw: calls.append(len(p.units)) or real(p, **kw))
    here = _coded(tmp_path, monkeypatch, 16, workers=1)
    assert sorted(calls) == [8, 8, 16, 16, 16, 16]  # two questions of 40 units, 3 chunks each
    themes_, at, meta, _ = parts
    assert {"bullying_equality", "discipline", "focus"} <= set(at["theme_id"]) and "kp_4_7" not in set(at["theme_id"])
    pd.testing.assert_frame_equal(themes_, whole[0])
    pd.testing.assert_frame_equal(meta, whole[2])
    key = ["response_id", "question_id", "theme_id", "source"]
    m = at.merge(whole[1], on=key, how="outer", indicator=True, suffixes=("", "_whole"))
    assert (m["_merge"] == "both").all() and len(m) == len(at) == len(whole[1])
    np.testing.assert_allclose(m["score"], m["score_whole"], atol=1e-6)
    for a, b in zip(here[:3], parts[:3], strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
