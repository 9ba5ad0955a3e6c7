"""Path confinement: inputs are read only from inside the consultation's raw folder.

Symbolic links in input folders are listed as rejects and never read; ``file:`` entries cannot leave the
consultation folder; command line consultation names cannot leave ``data/raw``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from analysis import ingest, paths
from analysis.cli import app
from analysis.config import load_config, parse_config, source_path
from analysis.errors import ConfigError, InputError
from analysis.ingest.documents import read_folder
from analysis.ingest.polis import read_polis
from analysis.ingest.tabular import read_table
from analysis.tables import read_table as read_processed

FIX = Path(__file__).parent / "fixtures"
SUBMISSIONS = FIX / "ingest" / "submissions"
POLIS = FIX / "polis" / "biodiversity-small"
PASSWD = Path("/etc/passwd")
#: Text of a file outside the consultation folder: it must never reach a table or a message.
SECRET = "OUTSIDE-SECRET-7f3a: this line lives outside the consultation folder"
QUESTION = {"id": "q1", "text": "Your views", "kind": "open"}


def _passwd_first_line() -> str:
    if not PASSWD.is_file():
        pytest.skip("no /etc/passwd on this system")
    return PASSWD.read_text(encoding="utf-8", errors="replace").splitlines()[0]


def _write_config(folder: Path, sources: list[dict], cid: str = "mini") -> Path:
    cfg = {"id": cid, "title": "Path confinement test", "sources": sources, "questions": [QUESTION]}
    path = folder / "consultation.yml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


@pytest.fixture()
def env(tmp_path, monkeypatch):
    """Raw / processed / reports roots in ``tmp_path`` and a secret file outside the raw root."""
    for var, name in (("ANALYSIS_DATA_RAW", "raw"), ("ANALYSIS_DATA_PROCESSED", "processed"),
                      ("ANALYSIS_REPORTS", "reports")):
        monkeypatch.setenv(var, str(tmp_path / name))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET + "\n", encoding="utf-8")
    (tmp_path / "raw").mkdir()
    return tmp_path


@pytest.fixture()
def emails(env) -> Path:
    """Consultation ``mini``: a folder source with two real submissions and five kinds of symbolic link."""
    raw = env / "raw" / "mini"
    folder = raw / "emails"
    folder.mkdir(parents=True)
    for name in ("003-letter.txt", "009-notes.md"):
        shutil.copy(SUBMISSIONS / name, folder / name)
    (raw / "inner").mkdir()
    (raw / "inner" / "kept-out.txt").write_text("A file inside the consultation, outside the source.\n",
                                                encoding="utf-8")
    (folder / "passwd.txt").symlink_to(PASSWD)  # a file outside (the case)
    (folder / "secret.txt").symlink_to(env / "outside" / "secret.txt")
    (folder / "alias.txt").symlink_to("003-letter.txt")  # a file inside the folder
    (folder / "outside-dir").symlink_to(env / "outside", target_is_directory=True)  # a folder outside
    (folder / "inner-dir").symlink_to(raw / "inner", target_is_directory=True)  # a folder inside
    _write_config(raw, [{"file": "emails", "format": "folder", "question_id": "q1"}])
    return raw


LINKS = ["emails/alias.txt", "emails/inner-dir", "emails/outside-dir", "emails/passwd.txt", "emails/secret.txt"]


def test_symlinks_in_a_folder_source_are_rejected_and_never_read(emails, env):
    first = _passwd_first_line()
    processed = env / "processed" / "mini"
    ingest.run(load_config(emails / "consultation.yml"), raw_dir=emails, processed_dir=processed)
    ledger = read_processed("ledger", processed)
    rejects = read_processed("core_rejects", processed).fillna("")
    responses = read_processed("core_responses", processed)

    assert sorted(responses["source_file"]) == ["emails/003-letter.txt", "emails/009-notes.md"]
    links = ledger[ledger["file"].isin(LINKS)].set_index("file")
    assert sorted(links.index) == LINKS  # every link listed, a linked folder as one entry, never entered
    assert (links[["rows_read", "rows_kept", "rows_rejected"]].astype(int).to_numpy() == [1, 0, 1]).all()
    assert (links["sha256"] == "").all()  # nothing behind a link was read, not even to hash it
    counts = ledger[["rows_read", "rows_kept", "rows_rejected"]].astype(int)
    assert (counts["rows_read"] == counts["rows_kept"] + counts["rows_rejected"]).all()
    assert sorted(ledger["file"]) == sorted([*LINKS, "emails/003-letter.txt", "emails/009-notes.md"])
    link_rejects = rejects[rejects["reason"] == "symlink"]
    assert sorted(link_rejects["file"]) == LINKS and (link_rejects["raw"] == "").all()

    for table in sorted(processed.glob("*.parquet")):
        text = read_processed(table.stem, processed).to_csv(index=False)
        assert first not in text and SECRET not in text and "inside the consultation, outside" not in text, table.name


def test_a_pipe_in_a_folder_source_is_a_reject_not_a_hang(tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "009-notes.md", folder / "a.md")
    os.mkfifo(folder / "pipe.txt")  # opening it for reading would block forever
    docs = read_folder(folder, "letters")
    assert [(d.file, d.reason) for d in docs] == [
        ("letters/a.md", None), ("letters/pipe.txt", "not a regular file (a device, pipe or socket)")]


def test_stage_cache_hashes_a_link_by_its_target_name_not_by_what_it_points_to(emails, env):
    from analysis.pipeline import _hash_tree

    before = _hash_tree(emails / "emails")
    (env / "outside" / "secret.txt").write_text("changed outside\n", encoding="utf-8")
    assert _hash_tree(emails / "emails") == before  # the linked file was not read
    (emails / "emails" / "secret.txt").unlink()
    (emails / "emails" / "secret.txt").symlink_to(PASSWD)
    assert _hash_tree(emails / "emails") != before  # re-pointing the link re-runs ingest
    (emails / "emails" / "009-notes.md").write_text("An edited submission.\n", encoding="utf-8")
    assert _hash_tree(emails / "emails") != _hash_tree(emails / "inner")  # regular files still hashed


def test_folder_source_that_is_itself_a_symlink_is_a_config_error(env):
    raw = env / "raw" / "mini"
    raw.mkdir()
    (raw / "letters").symlink_to(SUBMISSIONS, target_is_directory=True)
    cfg_path = _write_config(raw, [{"file": "letters", "format": "folder", "question_id": "q1"}])
    with pytest.raises(ConfigError, match=r"consultation\.yml: source file 'letters' goes through a symbolic link"):
        load_config(cfg_path)
    cfg = load_config(cfg_path, check_files=False)
    with pytest.raises(ConfigError, match="symbolic link"):  # ingest checks again: it may be called directly
        ingest.ingest(cfg, raw)


def test_configured_csv_that_is_a_symlink_or_behind_a_linked_folder_is_refused(env):
    first = _passwd_first_line()
    raw = env / "raw" / "mini"
    raw.mkdir()
    (raw / "export.csv").symlink_to(PASSWD)
    (raw / "exports").symlink_to(PASSWD.parent, target_is_directory=True)
    for file, link in (("export.csv", "export.csv"), ("exports/passwd", "exports")):
        cfg_path = _write_config(raw, [{"file": file, "format": "generic", "columns": {"q1": "Why"}}])
        with pytest.raises(ConfigError) as err:
            load_config(cfg_path)
        msg = str(err.value)
        assert str(cfg_path) in msg and repr(file) in msg and f"symbolic link ({link})" in msg
        assert first not in msg
        with pytest.raises(ConfigError) as err:
            ingest.ingest(load_config(cfg_path, check_files=False), raw)
        assert first not in str(err.value)
    with pytest.raises(InputError, match="is a symbolic link") as err:  # the reader on its own refuses it too
        read_table(raw / "export.csv", "export.csv", reader="generic")
    assert first not in str(err.value)


@pytest.mark.parametrize("value", ["../../../etc/passwd", "/etc/passwd", "../mini/export.csv",
                                   "exports/../../x.csv", "..\\..\\etc\\passwd", "C:\\Windows\\win.ini", ""])
def test_file_outside_the_consultation_folder_is_a_config_error(env, value):
    first = _passwd_first_line()
    raw = env / "raw" / "mini"
    raw.mkdir()
    (raw / "export.csv").write_text("Why\nBecause rivers matter.\n", encoding="utf-8")
    source = {"file": "export.csv", "format": "generic", "columns": {"q1": "Why"}}
    cfg_path = _write_config(raw, [source, {**source, "file": value}])
    with pytest.raises(ConfigError) as err:
        load_config(cfg_path, check_files=False)  # refused by validation alone, before any file is touched
    msg = str(err.value)
    assert str(cfg_path) in msg and "sources.1.file" in msg and repr(value) in msg
    assert first not in msg and "root:" not in msg
    with pytest.raises(ConfigError, match="source file"):
        source_path(raw, value)


def test_source_path_accepts_plain_relative_paths(tmp_path):
    (tmp_path / "exports").mkdir()
    assert source_path(tmp_path, "exports/a.csv") == tmp_path / "exports" / "a.csv"
    assert source_path(tmp_path, "missing.csv") == tmp_path / "missing.csv"  # existence is the caller's check
    cfg = parse_config({"id": "x", "title": "t", "questions": [QUESTION],
                        "sources": [{"file": "exports/a.csv", "format": "generic", "columns": {"q1": "Why"}}]})
    assert cfg.sources[0].file == "exports/a.csv"


def test_symlinked_polis_files_are_listed_and_not_read(env):
    folder = env / "raw" / "conv"
    folder.mkdir()
    shutil.copy(POLIS / "comments.csv", folder / "comments.csv")
    (folder / "votes.csv").symlink_to(POLIS / "votes.csv")
    (env / "outside" / "summary.csv").write_text(f"topic,{SECRET}\n", encoding="utf-8")
    (folder / "summary.csv").symlink_to(env / "outside" / "summary.csv")
    tables, rejects = read_polis(folder)
    ledger = tables["ledger"].set_index("file")
    for name in ("conv/votes.csv", "conv/summary.csv"):
        assert ledger.loc[name, ["rows_read", "rows_kept", "rows_rejected"]].tolist() == [1, 0, 1]
        assert ledger.loc[name, "sha256"] == ""
    assert set(rejects.loc[rejects["reason"] == "symlink", "file"]) == {"conv/votes.csv", "conv/summary.csv"}
    assert set(tables["core_statement_votes"]["votes_source"]) == {"comments.csv"}  # the link was not read
    assert SECRET not in tables["core_questions"]["text"].iloc[0]
    (folder / "comments.csv").unlink()
    (folder / "comments.csv").symlink_to(POLIS / "comments.csv")
    with pytest.raises(InputError, match="comments.csv: is a symbolic link"):
        read_polis(folder)


# --- command line names -----------------------------------------------------------------------------
HOSTILE = ["../outside/evil", "/etc", "a/b", "..", ".hidden", "a\\b", "a..b", "", "mini/../mini"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused_by_paths(env, name):
    for fn in (paths.raw_dir, paths.processed_dir, paths.reports_dir, paths.config_path, paths.cache_dir):
        with pytest.raises(ConfigError, match="is not a plain name"):
            fn(name)


@pytest.mark.parametrize("name", ["../outside/evil", "/etc", "a/b", "..", ".hidden"])
def test_hostile_names_are_refused_by_the_cli(env, name):
    evil = env / "outside" / "evil"  # raw/../outside/evil holds a config that must never be read
    evil.mkdir()
    (evil / "export.csv").write_text("Why\nEvil answer\n", encoding="utf-8")
    _write_config(evil, [{"file": "export.csv", "format": "generic", "columns": {"q1": "Why"}}], cid="evil")
    runner = CliRunner()
    for args in (["ingest", name], ["run", name], ["themes", "draft", name], ["positions", "propose", name]):
        res = runner.invoke(app, args)
        assert res.exit_code != 0, (args, res.output)
        assert f"consultation name {name!r} is not a plain name" in res.output, (args, res.output)
    assert not (env / "processed").exists() and not (env / "reports").exists()


def test_a_plain_name_and_a_config_path_inside_data_raw_still_work(emails, env):
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", "mini"])
    assert res.exit_code == 0, res.output
    assert (env / "processed" / "mini" / "ledger.parquet").exists()
    res = runner.invoke(app, ["ingest", str(emails / "consultation.yml"), "--force"])
    assert res.exit_code == 0, res.output
    assert paths.resolve_config("mini") == emails / "consultation.yml"
    assert paths.check_name("polis-nz-biodiversity.v2_1") == "polis-nz-biodiversity.v2_1"


def test_a_config_path_outside_data_raw_is_refused(env):
    outside_cfg = _write_config(env / "outside", [{"file": "secret.txt", "format": "folder", "question_id": "q1"}])
    (env / "raw" / "link").symlink_to(env / "outside", target_is_directory=True)
    runner = CliRunner()
    for value in (str(outside_cfg), str(env / "raw" / "link" / "consultation.yml"), str(env / "raw" / "x.yml")):
        res = runner.invoke(app, ["ingest", value])
        assert res.exit_code != 0 and f"config path {value!r} is not inside a consultation folder" in res.output
        with pytest.raises(ConfigError, match="not inside a consultation folder"):
            paths.resolve_config(value)
    assert not (env / "processed").exists()
