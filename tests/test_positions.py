"""Positions stage: closed answers, analyst codes, precedence, and the stage run on real ArgKP text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.config import parse_config
from analysis.errors import ConfigError, InputError
from analysis.positions import stage as positions
from analysis.tables import read_table, write_table

FIX = Path(__file__).parent / "fixtures" / "positions"

LIKERT = {"Strongly agree": "support", "Agree": "support", "Neither agree nor disagree": "neutral",
          "Disagree": "oppose", "Strongly disagree": "oppose", "Don't know": "unsure"}


def _cfg(questions: list[dict], **settings) -> object:
    return parse_config({
        "id": "t", "title": "T", "sources": [{"file": "x.csv", "format": "generic"}],
        "questions": questions, "settings": settings,
    })


def _questions(cfg) -> pd.DataFrame:
    return pd.DataFrame([dict(question_id=q.id, text=q.text, kind=q.kind, choices=json.dumps(q.choices), order=i)
                         for i, q in enumerate(cfg.questions)])


def _answers(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["response_id", "question_id", "answer"]).assign(language="en")


def test_likert_and_yes_no_map_case_insensitively():
    cfg = _cfg([
        {"id": "q1", "text": "Agree?", "kind": "closed", "choices": LIKERT},
        {"id": "q2", "text": "Yes?", "kind": "closed", "choices": {"Yes": "support", "No": "oppose",
                                                                  "Not sure": "unsure"}},
    ])
    ans = _answers([("r1", "q1", "strongly  AGREE"), ("r2", "q1", "Disagree"), ("r3", "q1", "Neither agree nor disagree"),
                    ("r4", "q1", "Don't know"), ("r1", "q2", "No"), ("r2", "q2", "not sure"), ("r3", "q2", "  ")])
    pos, other = positions.closed_positions(ans, _questions(cfg), cfg)
    got = {(r, q): p for r, q, p in zip(pos["response_id"], pos["question_id"], pos["position"], strict=True)}
    assert got == {("r1", "q1"): "support", ("r2", "q1"): "oppose", ("r3", "q1"): "neutral",
                   ("r4", "q1"): "unsure", ("r1", "q2"): "oppose", ("r2", "q2"): "unsure"}
    assert set(pos["source"]) == {"closed"} and other.empty


def test_multi_select_resolution_and_none_choices():
    cfg = _cfg([{"id": "q1", "text": "Which?", "kind": "closed", "multi_select": True, "choice_separator": "|",
                 "choices": {"Keep A": "support", "Drop A": "oppose", "Unsure": "unsure", "Neutral": "neutral",
                             "No view": "none"}}])
    ans = _answers([("both", "q1", "Keep A|Drop A"), ("side", "q1", "Keep A|Neutral|Unsure"),
                    ("soft", "q1", "Neutral|Unsure"), ("none", "q1", "No view"), ("neu", "q1", "Neutral|No view")])
    pos, _ = positions.closed_positions(ans, _questions(cfg), cfg)
    got = dict(zip(pos["response_id"], pos["position"], strict=True))
    assert got == {"both": "unclear", "side": "support", "soft": "unsure", "neu": "neutral"}


def test_unmapped_choice_label_is_a_config_error_naming_question_label_and_response():
    cfg = _cfg([{"id": "q7", "text": "Agree?", "kind": "closed", "choices": LIKERT}])
    ans = _answers([("r1", "q7", "Agree"), ("resp-42", "q7", "Somewhat agree")])
    with pytest.raises(ConfigError) as err:
        positions.closed_positions(ans, _questions(cfg), cfg)
    msg = str(err.value)
    assert "q7" in msg and "Somewhat agree" in msg and "resp-42" in msg


def test_other_please_specify_text_goes_to_the_text_model():
    cfg = _cfg([{"id": "q1", "text": "Which?", "kind": "closed", "other_choice": "Other (please specify)",
                 "choices": {"Yes": "support", "No": "oppose", "Other (please specify)": "none"}}])
    ans = _answers([("r1", "q1", "Yes"), ("r2", "q1", "Only if the council pays for it")])
    pos, other = positions.closed_positions(ans, _questions(cfg), cfg)
    assert list(pos["response_id"]) == ["r1"]
    assert other.to_dict("records") == [{"response_id": "r2", "question_id": "q1",
                                          "text": "Only if the council pays for it"}]


def test_analyst_file_is_validated_and_why_questions_map_to_their_closed_question(tmp_path):
    cfg = _cfg([{"id": "q1", "text": "Agree?", "kind": "closed", "choices": LIKERT},
                {"id": "q1_why", "text": "Why?", "kind": "open", "related_question": "q1"}])
    (tmp_path / "analyst_positions.csv").write_text("response_id,question_id,position\nr1,q1_why,Oppose\n")
    got = positions.load_analyst_positions(tmp_path, cfg)
    assert got.to_dict("records") == [{"response_id": "r1", "question_id": "q1", "position": "oppose",
                                        "confidence": 1.0, "source": "analyst"}]
    (tmp_path / "analyst_positions.csv").write_text("response_id,question_id,position\nr1,q1,support\nr2,q1,maybe\n")
    with pytest.raises(InputError) as err:
        positions.load_analyst_positions(tmp_path, cfg)
    assert err.value.row == 3 and err.value.column == "position" and "maybe" in str(err.value)
    (tmp_path / "analyst_positions.csv").write_text("response_id,question_id,position\nr1,q1,support\nr1,q1_why,oppose\n")
    with pytest.raises(InputError, match="coded twice"):
        positions.load_analyst_positions(tmp_path, cfg)


def test_precedence_analyst_over_closed_over_text():
    cols = ["response_id", "question_id", "position", "confidence", "source"]
    text = pd.DataFrame([("r1", "q1", "oppose", 0.9, "text_model"), ("r2", "q1", "support", 0.7, "text_model"),
                         ("r2", "q1", "oppose", 0.8, "text_model")], columns=cols)
    closed = pd.DataFrame([("r1", "q1", "support", 1.0, "closed"), ("r3", "q1", "oppose", 1.0, "closed")], columns=cols)
    analyst = pd.DataFrame([("r3", "q1", "neutral", 1.0, "analyst")], columns=cols)
    out = positions.combine_positions(analyst, closed, None, text)
    got = {r: (p, s) for r, p, s in zip(out["response_id"], out["position"], out["source"], strict=True)}
    assert got == {"r1": ("support", "closed"), "r2": ("oppose", "text_model"), "r3": ("neutral", "analyst")}


# --- the stage on real text -----------------------------------------------------------------------


def _argkp_consultation(tmp_path: Path):
    """Two ArgKP motions as two closed questions, each with a "why" question, plus a letter question.

    Per motion: 60 respondents tick + write, 30 only write (their stance is hidden from the pipeline).
    Three extra respondents send a letter (open question without a closed one; answered in a column of the
    export, not a folder of letters, so its positions from text are switched on with ``text_positions``).
    """
    arg = pd.read_csv(FIX / "argkp_two_topics.csv")
    topics = sorted(arg["topic"].unique())
    qs, resp, ans, truth = [], [], [], {}
    for i, topic in enumerate(topics, start=1):
        qs += [{"id": f"q{i}", "text": topic, "kind": "closed", "choices": {"Support": "support", "Oppose": "oppose"}},
               {"id": f"q{i}_why", "text": "Why?", "kind": "open", "related_question": f"q{i}"}]
        sub = arg[arg["topic"] == topic].sample(frac=1.0, random_state=i).reset_index(drop=True)
        for j, r in sub.iterrows():
            rid = f"t{i}-{r['arg_id']}"
            label = "support" if r["stance"] == 1 else "oppose"
            resp.append(rid)
            ans.append((rid, f"q{i}_why", r["argument"]))
            if j < 60:
                ans.append((rid, f"q{i}", label.capitalize()))
            else:
                truth[(rid, f"q{i}")] = label
    qs.append({"id": "letter", "text": "Your letter", "kind": "open", "text_positions": True})
    letters = ["Legalising cannabis is a terrible idea and will harm young people. I strongly oppose it.",
               "I fully support this proposal; it is long overdue and will bring real benefits.",
               "asdf"]
    for k, text in enumerate(letters):
        resp.append(f"letter-{k}")
        ans.append((f"letter-{k}", "letter", text))
    cfg = parse_config({"id": "argkp", "title": "ArgKP as a consultation",
                        "sources": [{"file": "x.csv", "format": "generic"}], "questions": qs,
                        "settings": {"seed": 7, "positions": {"confidence_threshold": 0.6, "min_training": 20}}})
    answers = _answers(ans)
    clean = answers.assign(text_redacted=answers["answer"], campaign_id=None, is_campaign_copy=False,
                           personal_addition=None)
    responses = pd.DataFrame(dict(response_id=resp, source_file="x.csv", source_row=np.arange(2, len(resp) + 2),
                                  channel="online_survey", submitted_at=pd.NaT, respondent_type="individual",
                                  sector=None, organisation=None, consent="publish_anonymous", respondent_name=None,
                                  respondent_email=None))
    proc = tmp_path / "processed"
    write_table(_questions(cfg), "core_questions", proc)
    write_table(answers, "core_answers", proc)
    write_table(clean, "core_answers_clean", proc)
    write_table(responses, "core_responses", proc)
    raw = tmp_path / "raw"
    raw.mkdir()
    return cfg, raw, proc, truth


@pytest.fixture(scope="module")
def argkp_run(tmp_path_factory):
    cfg, raw, proc, truth = _argkp_consultation(tmp_path_factory.mktemp("argkp"))
    hidden = sorted(truth)[0]
    (raw / "analyst_positions.csv").write_text(
        f"response_id,question_id,position\n{hidden[0]},{hidden[1]}_why,neutral\n")
    written = positions.run(cfg, raw_dir=raw, processed_dir=proc)
    return cfg, raw, proc, truth, hidden, written


def test_run_end_to_end_on_argkp_text(argkp_run):
    cfg, raw, proc, truth, hidden, written = argkp_run
    assert {p.name for p in written} >= {"core_answer_positions.parquet", "core_position_disagreements.parquet",
                                          "core_position_confusion.parquet"}
    final = read_table("core_answer_positions", proc)
    by_key = final.set_index(["response_id", "question_id"])
    # ticks are kept as they are; the analyst code overrides the text model
    on_q = final[final["question_id"].isin(["q1", "q2"])]
    assert on_q["source"].value_counts().to_dict() == {"closed": 120, "text_model": 59, "analyst": 1}
    assert by_key.loc[hidden, "position"] == "neutral" and by_key.loc[hidden, "source"] == "analyst"
    # text-only respondents get positions on the closed question; decided ones are mostly right
    text_rows = final[final["source"] == "text_model"]
    on_closed = text_rows[text_rows["question_id"].isin(["q1", "q2"])]
    assert len(on_closed) == 59
    decided = on_closed[on_closed["position"] != "unclear"]
    correct = [truth[(r, q)] == p for r, q, p in zip(decided["response_id"], decided["question_id"],
                                                       decided["position"], strict=True)]
    assert len(decided) >= 30 and np.mean(correct) >= 0.75
    # below-threshold predictions are unclear, never a side
    assert (on_closed.loc[on_closed["confidence"] < 0.6, "position"] == "unclear").all()
    # letters get a position from the pooled model; gibberish is not forced into a side with high confidence
    letters = final[final["question_id"] == "letter"].set_index("response_id")
    assert list(letters.index) == ["letter-0", "letter-1", "letter-2"]
    # "I fully support this proposal; ..." opens with an explicit statement: read directly (text_cue)
    assert letters["source"].to_dict() == {"letter-0": "text_model", "letter-1": "text_cue", "letter-2": "text_model"}
    assert letters.loc["letter-1", "position"] == "support"
    # confusion: out-of-fold counts over the 60 ticked respondents of each motion (letters: pooled 120)
    conf = read_table("core_position_confusion", proc)
    assert conf.groupby("question_id")["n"].sum().to_dict() == {"letter": 120, "q1": 60, "q2": 60}
    dis = read_table("core_position_disagreements", proc)
    assert (dis["tick_position"] != dis["text_position"]).all() and (dis["text_confidence"] >= 0.6).all()
    assert set(dis["text_question_id"]) <= {"q1_why", "q2_why"}
    # deterministic: same input, byte-identical output
    before = (proc / "core_answer_positions.parquet").read_bytes()
    positions.run(cfg, raw_dir=raw, processed_dir=proc)
    assert (proc / "core_answer_positions.parquet").read_bytes() == before


def test_propose_for_consultation_skips_ticked_and_coded_answers(argkp_run):
    cfg, raw, proc, truth, hidden, _ = argkp_run
    prop = positions.propose_for_consultation(cfg, processed_dir=proc, n=8)
    assert len(prop) == 8 and list(prop["rank"]) == list(range(1, 9))
    ticked = set(read_table("core_answer_positions", proc).query("source != 'text_model'")["response_id"])
    assert hidden[0] in ticked and not set(prop["response_id"]) & ticked
    assert prop["margin"].is_monotonic_increasing
    assert set(prop["target_question_id"]) <= {"q1", "q2", "letter"}


def test_result_is_reused_only_while_the_inputs_of_the_positions_are_unchanged(argkp_run):
    cfg, raw, proc, truth, hidden, _ = argkp_run
    codes = (raw / "analyst_positions.csv").read_text()
    before = read_table("core_answer_positions", proc)
    # a themes-only change (core_answer_themes is not an input of the positions): the cached result, as it was
    write_table(pd.DataFrame({"response_id": [hidden[0]], "question_id": [f"{hidden[1]}_why"], "theme_id": ["t01"],
                              "score": [0.5], "source": ["assigned"]}), "core_answer_themes", proc)
    key = positions._result_key(cfg, raw, proc)
    assert positions._load_result(proc, key) is not None
    positions.run(cfg, raw_dir=raw, processed_dir=proc)
    pd.testing.assert_frame_equal(read_table("core_answer_positions", proc), before)
    try:  # a new analyst code: a new key, so the positions are computed again and the code is applied
        (raw / "analyst_positions.csv").write_text(
            f"response_id,question_id,position\n{hidden[0]},{hidden[1]}_why,oppose\n")
        assert positions._result_key(cfg, raw, proc) != key
        positions.run(cfg, raw_dir=raw, processed_dir=proc)
        after = read_table("core_answer_positions", proc).set_index(["response_id", "question_id"])
        assert after.loc[hidden, "position"] == "oppose" and after.loc[hidden, "source"] == "analyst"
    finally:
        (raw / "analyst_positions.csv").write_text(codes)
        positions.run(cfg, raw_dir=raw, processed_dir=proc)
    pd.testing.assert_frame_equal(read_table("core_answer_positions", proc), before)


def test_a_forced_run_with_every_input_unchanged_computes_instead_of_reusing_the_cache(argkp_run, monkeypatch):
    cfg, raw, proc, truth, hidden, _ = argkp_run
    positions.run(cfg, raw_dir=raw, processed_dir=proc)  # whatever ran before: the cache now holds these inputs
    before = read_table("core_answer_positions", proc)
    calls = []
    real = positions.assign_positions
    monkeypatch.setattr(positions, "assign_positions", lambda *a, **k: calls.append(1) or real(*a, **k))
    key = positions._result_key(cfg, raw, proc)
    # every input as the last run saw it: the stage runs again only when forced (a benchmark, `--force`): compute
    assert positions._load_result(proc, key) is None
    positions.run(cfg, raw_dir=raw, processed_dir=proc)
    assert calls == [1]
    pd.testing.assert_frame_equal(read_table("core_answer_positions", proc), before)
    # a themes-only change: the cached result is reused
    themes = proc / "core_answer_themes.parquet"
    old = themes.read_bytes() if themes.exists() else None
    try:
        write_table(pd.DataFrame({"response_id": [hidden[0]], "question_id": [f"{hidden[1]}_why"],
                                  "theme_id": ["t02"], "score": [0.25], "source": ["assigned"]}),
                    "core_answer_themes", proc)
        positions.run(cfg, raw_dir=raw, processed_dir=proc)
        assert calls == [1]
        pd.testing.assert_frame_equal(read_table("core_answer_positions", proc), before)
        positions.run(cfg, raw_dir=raw, processed_dir=proc)  # and forced again with those themes: computed
        assert calls == [1, 1]
    finally:
        if old is None:
            themes.unlink(missing_ok=True)
        else:
            themes.write_bytes(old)
