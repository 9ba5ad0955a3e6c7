"""The themed answers read a part at a time (``analysis.themes.reading``, issue #17): what the themes stage holds and
computes is what the whole table gave.

Real answers: ArgKP-2021 arguments (IBM Debater, CC BY-SA 3.0) and Pol.is comments (CC BY 4.0) as two questions
with campaign copies, placeholders and blanks (``test_themes_rows._answers``); and the bundled sample consultation
through the stage, its answers table cut in small partitions.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_themes_ahead import cleaned  # noqa: F401 - the sample up to its campaigns stage (a module fixture)
from test_themes_rows import _answers

from analysis import paths, tables
from analysis.embeddings import make_backend
from analysis.tables import read_optional, read_table, table_files, write_table
from analysis.themes import stage as themes
from analysis.themes.fit import find_placeholders
from analysis.themes.reading import StoredAnswers, themed_of, without_template_texts

COLUMNS = tuple(themes.ANSWER_COLUMNS)


def _table() -> tuple[pd.DataFrame, pd.DataFrame]:
    """``core_answers_clean`` rows of the two questions plus a closed one, and the campaigns.

    A campaign whose template is short (``"No comment"``), copied in both questions: its copies' texts are
    emptied in the rows held, and they are what makes ``"no comment"`` a placeholder, so the placeholders must be
    found before the texts are let go.
    """
    df, campaigns = _answers(True)
    short = df.index[~df["is_campaign_copy"].to_numpy(bool)][1::6]
    df.loc[short, ["is_campaign_copy", "campaign_id", "text_redacted", "personal_addition"]] = [
        True, "c4", "No comment", None]
    closed = df[df["question_id"] == "q1"].assign(question_id="q9", text_redacted="Agree", is_campaign_copy=False,
                                                  campaign_id=None, personal_addition=None)
    df = pd.concat([df, closed], ignore_index=True)
    for c in ("language", "text_redacted"):
        df[c] = df[c].fillna("")
    df["answer"] = df["text_redacted"]
    campaigns = pd.concat([campaigns, pd.DataFrame({"campaign_id": ["c4"], "question_id": ["q1"], "size": [len(short)],
                                                    "template": ["No comment"]})], ignore_index=True)
    return df, campaigns


def test_the_table_read_in_parts_gives_what_the_whole_gave(tmp_path, monkeypatch):
    df, campaigns = _table()
    tags = pd.DataFrame({"response_id": ["r0003", "r0004", "r0150", "r9999"]})
    monkeypatch.setenv(tables.PARTITION_ENV, "97")
    write_table(df, "core_answers_clean", tmp_path)
    assert len(table_files("core_answers_clean", tmp_path)) >= 6
    whole = read_table("core_answers_clean", tmp_path, columns=list(COLUMNS), where=("question_id", ["q1", "q2"]))
    source = StoredAnswers(tmp_path, ("q1", "q2"), COLUMNS)
    got, want = source.read(campaigns, tags), themed_of(whole, campaigns, tags)

    pd.testing.assert_frame_equal(got.rows, want.rows)
    pd.testing.assert_frame_equal(got.rows, without_template_texts(whole, campaigns))
    copies = whole["campaign_id"].isin(["c1", "c2", "c4"]).to_numpy() & whole["is_campaign_copy"].to_numpy(bool)
    assert copies.sum() > 100 and (got.rows.loc[copies, "text_redacted"] == "").all()
    assert got.texts == want.texts == list(dict.fromkeys(whole["text_redacted"].astype(str)))
    assert "No comment" in got.texts and len(got.texts) < len(whole)
    assert got.placeholders == want.placeholders == find_placeholders(whole)
    assert got.placeholders.get("no comment", 0) >= 10  # counted on the copies' texts before they were emptied
    assert find_placeholders(got.rows).get("no comment") is None  # ... which the rows held no longer show
    pd.testing.assert_frame_equal(got.tagged, want.tagged.reset_index(drop=True))
    pd.testing.assert_frame_equal(got.tagged, whole[whole["response_id"].isin(tags["response_id"])]
                                  .reset_index(drop=True))
    assert set(got.tagged["question_id"]) == {"q1", "q2"} and (got.tagged["text_redacted"] != "").all()
    bare = source.read(campaigns, None, texts=False)
    assert bare.texts == [] and bare.placeholders == got.placeholders and bare.tagged.empty
    pd.testing.assert_frame_equal(bare.rows, got.rows)


@pytest.mark.parametrize("ahead", [False, True], ids=["here", "ahead"])
def test_the_stage_on_a_partitioned_table_writes_what_the_frame_gave(cleaned, tmp_path, monkeypatch, ahead):  # noqa: F811
    """``theme_all`` of the stored table (read in 500-row parts; with the units computed ahead by a forked process
    that reads the table itself) gives the same three tables as ``theme_all`` of the whole frame."""
    cfg, raw, out = cleaned
    folder = tmp_path / "parts"
    shutil.copytree(out, folder)
    monkeypatch.setenv(tables.PARTITION_ENV, "500")
    write_table(read_table("core_answers_clean", out), "core_answers_clean", folder)
    assert len(table_files("core_answers_clean", folder)) > 3
    monkeypatch.setattr(themes, "AHEAD_MIN_ROWS", 0 if ahead else 10**12)
    kw = dict(codebook=themes.load_codebook(raw / "codebook.yml") if (raw / "codebook.yml").exists() else None,
              campaigns=read_optional("core_campaigns", out), tags=read_optional("core_analyst_tags", out))
    got = {}
    for name, answers in (("frame", read_table("core_answers_clean", out)),
                          ("stored", themes.stored_answers(cfg, folder))):
        monkeypatch.setenv("ANALYSIS_DATA_PROCESSED", str(tmp_path / f"{name}-root"))  # an empty store each
        with themes.fitcache.stored_in(paths.cache_dir(cfg.id) / "themes"):
            tables_ = themes.theme_all(answers, cfg, backend=make_backend(cfg.settings.themes, cfg.settings.seed),
                                       **kw)[:3]
        got[name] = tables_
        if ahead:
            assert list((tmp_path / f"{name}-root").rglob("units/*.pkl"))  # the forked process stored them
    assert kw["codebook"] is not None and kw["tags"] is not None and len(kw["tags"])
    for frame, stored in zip(got["frame"], got["stored"], strict=True):
        pd.testing.assert_frame_equal(stored, frame)


def test_answers_of_no_open_question_read_as_nothing(tmp_path):
    df, campaigns = _table()
    write_table(df, "core_answers_clean", tmp_path)
    got = StoredAnswers(Path(tmp_path), ("q7",), COLUMNS).read(campaigns, None)
    assert got.rows.empty and got.texts == [] and got.placeholders == {} and got.tagged.empty
    assert list(got.rows.columns) == list(COLUMNS)


class _Cluster:
    """An engine that computes its tasks here, at once, recording what each task was sent (what the stage's
    process must let go of is what it sent: the real cluster's byte-identity is ``test_engine.py``'s)."""

    def __init__(self):
        self.calls: list[tuple[str, int]] = []

    def share(self, values: dict) -> dict:
        return dict(values)

    def submit(self, fn, items, *, label, cost=None, shared=None, large=False):
        self.calls.append((label, len(items)))
        out = [fn(x, **(shared or {})) for x in items]
        return type("Done", (), {"result": lambda self_: out})()

    def map(self, fn, items, *, label, shared=None, large=False, cost=None):
        return self.submit(fn, items, label=label, shared=shared, large=large).result()


def test_discovery_on_the_cluster_holds_one_questions_units_at_a_time(monkeypatch):
    """On the Dask engine, discovery prepares a question, sends it (or runs its chunks' tasks) and lets it go
    before preparing the next, the smallest first; locally every question's units are prepared first. The same
    tables either way."""
    import weakref

    from test_themes_helpers import config

    from analysis import engine
    from analysis.themes import chunked, discovery

    df, campaigns = _table()
    df = df[(df["question_id"] != "q2") | (df["response_id"] < "r0040")]  # q2: 40 answers, q1: 300
    monkeypatch.setattr(discovery, "FIT_MAX_UNITS", 60)
    monkeypatch.setenv(chunked.CHUNK_ENV, "50")
    cfg = config(("q1", "q2"))
    refs: list[weakref.ref] = []
    held: list[tuple[str, int]] = []
    prepare = themes.prepare_question

    def counted(rows, **kw):
        held.append((kw["question_id"], sum(r() is not None for r in refs)))  # prepared earlier, still held
        p = prepare(rows, **kw)
        refs.append(weakref.ref(p))
        return p

    monkeypatch.setattr(themes, "prepare_question", counted)
    got = {}
    for name, eng in (("local", None), ("cluster", _Cluster())):
        held.clear()
        refs.clear()
        monkeypatch.setattr(engine, "_ACTIVE", eng)
        got[name] = themes.theme_all(df, cfg, backend=make_backend(cfg.settings.themes, cfg.settings.seed),
                                     campaigns=campaigns)[:3]
        if name == "local":
            assert held == [("q1", 0), ("q2", 1)]  # the largest first, both held
        else:
            assert held == [("q2", 0), ("q1", 0)]  # the smallest first, each let go once sent
            assert ("themes-question", 1) in eng.calls  # q2 whole, a task
            assert any(label == "themes-chunk-counts" for label, _ in eng.calls)  # q1 in chunks
    for local, cluster in zip(got["local"], got["cluster"], strict=True):
        pd.testing.assert_frame_equal(cluster, local)


def test_a_key_repeated_in_another_part_is_refused(tmp_path, monkeypatch):
    """As ``read_table`` refuses it (``test_tables_partitioned.py``): each part is checked as read, then the keys
    across the parts."""
    from analysis.errors import TableSchemaError

    df, campaigns = _table()
    monkeypatch.setenv(tables.PARTITION_ENV, "97")
    write_table(df, "core_answers_clean", tmp_path)
    first, second = table_files("core_answers_clean", tmp_path)[:2]
    dup = pd.concat([pd.read_parquet(second).iloc[:-1], pd.read_parquet(first).iloc[:1]], ignore_index=True)
    dup.to_parquet(second, index=False)  # part 1 now repeats part 0's first key
    with pytest.raises(TableSchemaError, match="core_answers_clean"):
        read_table("core_answers_clean", tmp_path)
    with pytest.raises(TableSchemaError, match=r"core_answers_clean: the key \(response_id 'r0000'"):
        StoredAnswers(Path(tmp_path), ("q1", "q2"), COLUMNS).read(campaigns, None)
