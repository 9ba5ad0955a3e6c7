"""Languages guessed in a worker while an export is read (:mod:`analysis.ingest.langprefetch`) and the per-row
shortcuts of :func:`analysis.ingest.build.table_rows` give exactly the tables and rejects the stage gives when it
guesses every language itself, on a messy export (byte-order mark, a quoted cell spanning lines, a ragged row, blank
rows, an empty and a repeated response id, declared languages, attachments, unmapped types and consent values, dates
that cannot be read)."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from analysis.config import parse_config
from analysis.errors import ConfigError
from analysis.ingest import build, langprefetch, response_rows, stage
from analysis.ingest.language import default_guesser
from analysis.ingest.stage import ingest
from analysis.worker import WorkerError

TEXTS = [
    "I strongly support this proposal because it protects the privacy of ordinary people and their data.",
    "Ich unterstütze diesen Vorschlag nicht, weil er die Freiheit der Menschen einschränkt und zu weit geht.",
    "Je soutiens cette proposition car elle protège la vie privée des citoyens et de leurs familles.",
    "Kia ora koutou, e tautoko ana ahau i tēnei kaupapa mō ngā tāngata katoa o te motu nei.",
    "Estoy de acuerdo con esta propuesta porque protege los derechos de todas las personas del país.",
    "See attached.",
    "ok",
]
HEADER = ["Response ID", "Submitted on", "Language", "Type", "Name", "Consent", "Do you agree?", "Why?", "More",
          "Files"]


def _export(n: int) -> str:
    """A messy CSV export of about ``n`` rows (see the module docstring)."""
    rows = [HEADER]
    for i in range(n):
        why = TEXTS[i % len(TEXTS)] + ("" if i % 3 else f" Point {i}.")
        more = "Line one\nline two of a quoted cell" if i % 11 == 0 else TEXTS[(i * 5) % len(TEXTS)]
        when = "" if i % 23 == 0 else "next week" if i % 19 == 0 else f"{1 + i % 28:02d}/03/2024 10:{i % 60:02d}"
        rows.append([f"R{i}", when, ["", "en", "fr", "Deutsch", "zz"][i % 5],
                     ["Individual", "Organisation", "Someone else"][i % 3], ["Ann Lee", "anonymous", ""][i % 3],
                     ["Yes", "No", "Maybe"][i % 3] if i % 13 else "", ["Agree", "Disagree", ""][i % 3], why,
                     more if i % 4 else "", "letter.pdf" if i % 17 == 0 else ""])
    rows[5][0] = rows[3][0]  # a repeated response id
    rows[8][0] = ""  # an empty one
    rows[9] += ["stray", "fields"]  # a ragged row
    rows[12] = [""] * len(HEADER)  # a blank row
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return "\ufeff" + buf.getvalue()


def _cfg(consent_map: dict[str, str]) -> object:
    source = {"file": "export.csv", "format": "generic", "id_column": "Response ID",
              "submitted_at_column": "Submitted on", "language_column": "Language",
              "respondent_type_column": "Type", "respondent_type_map": {"Individual": "individual",
                                                                         "Organisation": "organisation"},
              "name_column": "Name", "consent_column": "Consent", "consent_map": consent_map,
              "attachment_column": "Files", "columns": {"q1": "Do you agree?", "q1_why": "Why?", "q2": "More"}}
    questions = [
        {"id": "q1", "text": "Do you agree?", "kind": "closed", "choices": {"Agree": "support", "Disagree": "oppose"}},
        {"id": "q1_why", "text": "Why?", "kind": "open", "related_question": "q1"},
        {"id": "q2", "text": "More", "kind": "open"},
    ]
    return parse_config({"id": "p", "title": "P", "sources": [source], "questions": questions})


CONSENT = {"Yes": "publish_named", "No": "do_not_publish", "Maybe": "publish_anonymous"}


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    (tmp_path / "export.csv").write_text(_export(400), encoding="utf-8", newline="")
    return tmp_path


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers become Arrow blocks every few rows, so the worker gets many blocks while the file is read."""
    monkeypatch.setattr(build, "ANSWER_BLOCK", 50)


def _same(a: tuple[dict[str, pd.DataFrame], pd.DataFrame], b: tuple[dict[str, pd.DataFrame], pd.DataFrame]) -> None:
    assert a[0].keys() == b[0].keys()
    for name in a[0]:
        pd.testing.assert_frame_equal(a[0][name], b[0][name])
    pd.testing.assert_frame_equal(a[1], b[1])


def test_prefetched_languages_give_the_same_tables(raw: Path, small_blocks: None, monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    cfg = _cfg(CONSENT)
    used = []
    codes = langprefetch.Prefetch.codes

    def spy(self: langprefetch.Prefetch, distinct: pa.Array) -> pa.Array | None:
        out = codes(self, distinct)
        used.append((self.blocks, out is not None))
        return out

    monkeypatch.setattr(langprefetch.Prefetch, "codes", spy)
    with caplog.at_level(logging.WARNING):
        fetched = ingest(cfg, raw)
    warnings = caplog.text
    here = ingest(cfg, raw, guesser=default_guesser())  # a guesser given: no worker
    assert len(used) == 1 and used[0][0] > 5 and used[0][1]  # the worker had many blocks and answered
    _same(fetched, here)
    tables, rejects = fetched
    langs = set(tables["core_answers"]["language"])
    assert {"en", "de", "fr", "mi", "es", "und"} <= langs
    reasons = list(rejects["reason"])
    assert any(r.startswith("ragged row") for r in reasons) and "blank row" in reasons
    assert "empty response id" in reasons and any(r.startswith("duplicate response id 'R2'") for r in reasons)
    assert any("points to an attachment" in r for r in reasons)
    assert any("unparseable date 'next week'" in r for r in reasons)
    assert any("\n" in a for a in tables["core_answers"]["answer"])  # the quoted cell spanning lines
    ledger = tables["ledger"].iloc[0]
    assert ledger["rows_read"] == ledger["rows_kept"] + ledger["rows_rejected"] == 400
    assert "'Someone else' (" in warnings and "is not in respondent_type_map" in warnings
    assert "language 'zz' (" in warnings


def test_languages_settled_a_group_of_blocks_at_a_time_are_the_same(raw: Path, small_blocks: None,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The codes are asked for a few blocks at a time (the stage never holds every distinct beginning): the worker
    is asked several times, keeps its codes between the asks, and the tables are those of one ask for the whole."""
    cfg = _cfg(CONSENT)
    whole = ingest(cfg, raw)
    asked = []
    codes = langprefetch.Prefetch.codes

    def spy(self: langprefetch.Prefetch, distinct: pa.Array) -> pa.Array | None:
        out = codes(self, distinct)
        asked.append((len(distinct), out is not None))
        return out

    monkeypatch.setattr(langprefetch.Prefetch, "codes", spy)
    monkeypatch.setattr(stage, "SETTLE_AT", 20)
    grouped = ingest(cfg, raw)
    assert len(asked) >= 3 and all(ok for _n, ok in asked)
    _same(grouped, whole)
    _same(ingest(cfg, raw, guesser=default_guesser()), whole)  # and guessed here, a group at a time


def test_a_failing_worker_changes_nothing(raw: Path, small_blocks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def send(self, *args: object) -> None:
            raise WorkerError("no worker here")

        def kill(self) -> None:
            pass

    monkeypatch.setattr(langprefetch, "Worker", Broken)
    cfg = _cfg(CONSENT)
    _same(ingest(cfg, raw), ingest(cfg, raw, guesser=default_guesser()))


def test_worker_side_functions_guess_as_the_guesser() -> None:
    texts = TEXTS + ["", TEXTS[1][:20]]
    try:
        assert langprefetch.guess_new(pa.array(texts[:3] * 2, pa.large_string())) == 3
        assert langprefetch.guess_new(pa.array(texts[:4], pa.large_string())) == 1  # three seen already
        got = langprefetch.codes_of(pa.array(texts, pa.large_string())).to_pylist()  # the rest guessed now
    finally:
        langprefetch._CODES.clear()
    assert got == default_guesser().guess(texts)
    assert not langprefetch._CODES  # forgotten once given


def test_unmapped_consent_values_listed_with_every_row(raw: Path) -> None:
    with pytest.raises(ConfigError) as err:
        ingest(_cfg({"Yes": "publish_named", "No": "do_not_publish"}), raw, guesser=default_guesser())
    msg = str(err.value)
    assert "'Maybe': rows 4, 7, 16, 19, 22 and 116 more" in msg  # the memo of mapped values still records every row


def test_one_core_reads_without_a_worker(raw: Path, small_blocks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(langprefetch, "worth_it", lambda: False)
    started = []
    monkeypatch.setattr(langprefetch.Prefetch, "__init__", lambda *a, **k: started.append(1))
    cfg = _cfg(CONSENT)
    _same(ingest(cfg, raw), ingest(cfg, raw, guesser=default_guesser()))
    assert not started


def test_responses_kept_in_small_blocks_give_the_same_tables(raw: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kept rows become frames 7 at a time (not a dict a response held to the end): the same tables and the
    same rejects (an unparseable date's row, the attachment pointers' rows, both found through the blocks)."""
    cfg = _cfg(CONSENT)
    whole = ingest(cfg, raw, guesser=default_guesser())
    monkeypatch.setattr(response_rows, "RESPONSE_BLOCK", 7)
    blocks = ingest(cfg, raw, guesser=default_guesser())
    _same(blocks, whole)
    reasons = list(blocks[1]["reason"])
    assert any("unparseable date 'next week'" in r for r in reasons)
    assert any("points to an attachment" in r for r in reasons)
    assert len(blocks[0]["core_responses"]) > 7 * 10


def test_response_rows_read_like_the_list_of_dicts() -> None:
    rows = [{"response_id": f"R{i}", "source_file": "f.csv", "source_row": i + 2, "channel": "survey",
             "submitted_at": None, "consent": "publish_named"} for i in range(10)]
    held = response_rows.ResponseRows(rows[:4])
    held += rows[4:]
    more = response_rows.ResponseRows(rows[:2])
    held += more
    assert len(held) == 12
    assert held.column("response_id") == [r["response_id"] for r in rows] + ["R0", "R1"]
    with pytest.raises(ValueError, match="3 values for 12 rows"):
        held.set_column("consent", ["x"] * 3)
    expected = pd.DataFrame(rows + rows[:2], columns=list(response_rows.COLUMNS))
    pd.testing.assert_frame_equal(held.frame(), expected)
    pd.testing.assert_frame_equal(held.frame(consume=True), expected)
    assert len(held) == 0 and held.frame().empty
