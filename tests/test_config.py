"""The consultation config: valid files load, every mistake is a clear error naming it."""

from __future__ import annotations

import pytest
import yaml

from analysis.config import load_config, parse_config
from analysis.errors import ConfigError

BASE = {
    "id": "demo",
    "title": "Demo consultation",
    "sources": [{"file": "export.csv", "format": "citizen_space", "columns": {"q1": "Do you agree?", "q1_why": "Why?"}}],
    "questions": [
        {"id": "q1", "text": "Do you agree?", "kind": "closed", "choices": {"Agree": "support", "Disagree": "oppose"}},
        {"id": "q1_why", "text": "Why?", "kind": "open", "related_question": "q1"},
    ],
}


def _write(tmp_path, data, with_export=True):
    p = tmp_path / "consultation.yml"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    if with_export:
        (tmp_path / "export.csv").write_text("a\n1\n", encoding="utf-8")
    return p


def test_valid_config_loads_with_default_settings(tmp_path):
    cfg = load_config(_write(tmp_path, BASE))
    assert cfg.id == "demo"
    assert [q.id for q in cfg.open_questions] == ["q1_why"]
    assert cfg.settings.seed == 20211 and cfg.settings.min_cell == 5


def test_missing_source_file_is_named(tmp_path):
    p = _write(tmp_path, BASE, with_export=False)
    with pytest.raises(ConfigError, match="export.csv"):
        load_config(p)


def test_unknown_question_in_columns_is_named():
    data = {**BASE, "sources": [{"file": "x.csv", "format": "generic", "columns": {"q9": "Col"}}]}
    with pytest.raises(ConfigError, match="q9"):
        parse_config(data)


def test_closed_question_without_choices_is_an_error():
    data = {**BASE, "questions": [{"id": "q1", "text": "t", "kind": "closed"}, BASE["questions"][1]]}
    with pytest.raises(ConfigError, match="choices"):
        parse_config(data)


def test_bad_position_in_choice_map_is_an_error():
    q = {"id": "q1", "text": "t", "kind": "closed", "choices": {"Agree": "yes please"}}
    with pytest.raises(ConfigError, match="choices"):
        parse_config({**BASE, "questions": [q, BASE["questions"][1]]})


def test_typo_in_key_is_an_error():
    with pytest.raises(ConfigError, match="titel"):
        parse_config({**BASE, "titel": "x"})


def test_unknown_format_and_duplicate_ids():
    with pytest.raises(ConfigError, match="format"):
        parse_config({**BASE, "sources": [{"file": "x", "format": "excel97"}]})
    with pytest.raises(ConfigError, match="duplicate question ids"):
        parse_config({**BASE, "questions": [BASE["questions"][1], BASE["questions"][1]], "sources": []})


def test_not_yaml_and_missing_file(tmp_path):
    p = tmp_path / "consultation.yml"
    p.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yml")


def test_format_names_are_the_registry_and_validating_imports_no_ingest():
    """The config's list of format names is the ingest registry's; validating a config imports no ingest module."""
    import subprocess
    import sys

    from analysis.config import FORMAT_NAMES
    from analysis.ingest.formats import FORMATS

    assert FORMAT_NAMES == frozenset(FORMATS)
    code = ("import sys, yaml; from analysis.config import parse_config; "
            f"parse_config(yaml.safe_load({yaml.safe_dump(BASE)!r}), 'x.yml'); "
            "print(sorted(m for m in sys.modules if m.startswith('analysis.ingest') or m == 'pandas'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
