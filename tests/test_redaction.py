"""Redaction of personal identifiers and the publication guard."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import openpyxl  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.errors import AnalysisError  # noqa: E402
from analysis.redaction.guard import PublicationGuardError, guard  # noqa: E402
from analysis.redaction.patterns import ird_valid, luhn_valid, nhi_valid, url_is_personal  # noqa: E402
from analysis.redaction.redact import redact, redact_answers  # noqa: E402

FIX = Path(__file__).parent / "fixtures" / "campaigns"


def _kinds(text: str, names=()) -> list[str]:
    return [r.kind for r in redact(text, names)[1]]


def _luhn_complete(prefix: str) -> str:
    for d in "0123456789":
        if luhn_valid(prefix + d):
            return prefix + d
    raise AssertionError("unreachable")


def _ird_with_check(base8: str) -> str | None:
    for d in "0123456789":
        if ird_valid(base8 + d):
            return base8 + d
    return None


# --- validators ---------------------------------------------------------------------------------


def test_ird_check_digit_accepts_published_examples_and_rejects_neighbours():
    for good in ("49091850", "35901981", "49098576", "136410132"):
        assert ird_valid(good)
    assert not ird_valid("136410133")  # wrong check digit
    assert not ird_valid("9125568")  # too short
    assert not ird_valid("150000001")  # out of range


def test_ird_check_digit_rejects_most_random_numbers():
    rng = random.Random(1)
    numbers = [str(rng.randrange(10_000_001, 149_999_999)) for _ in range(2000)]
    share = sum(ird_valid(n) for n in numbers) / len(numbers)
    assert 0.03 < share < 0.15  # mod-11 lets roughly 1 in 11 through


def test_nhi_check_character_old_and_new_formats():
    for good in ("WLD9413", "ZAC5361", "ZSC21TN", "ZBN77VL"):
        assert nhi_valid(good)
    for bad in ("ZZZ0044", "ZZZ00AA", "ZIO1234", "AB12345"):
        assert not nhi_valid(bad)


def test_url_classification_keeps_institutions_and_hides_people():
    assert not url_is_personal("https://www.mfat.govt.nz/en/trade/free-trade-agreements")
    assert not url_is_personal("https://www.legislation.govt.nz/act/public/1991/0069/latest/whole.html")
    assert not url_is_personal("https://www.greenpeace.org/aotearoa/")
    assert url_is_personal("https://www.facebook.com/jane.doe.77")
    assert url_is_personal("https://twitter.com/janedoe")
    assert url_is_personal("www.janedoe-photography.co.nz/about")


# --- redact -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to jane.doe+consult@example.co.nz please", "EMAIL"),
        ("call me on 021 123 4567 after five", "PHONE"),
        ("my landline is (09) 379 1234.", "PHONE"),
        ("free phone 0800 838 383 anytime", "PHONE"),
        ("from the UK: +44 20 7946 0958", "PHONE"),
        ("in Australia +61 2 9876 5432", "PHONE"),
        ("IRD 49-091-850 for the refund", "IRD"),
        ("IRD 136 410 132 for the refund", "IRD"),
        ("my NHI is ZAC5361.", "NHI"),
        ("new NHI ZBN77VL here", "NHI"),
        ("I live at 12 Example Street in town", "ADDRESS"),
        ("Flat 3, 45 Queen St, Auckland", "ADDRESS"),
        ("post to PO Box 1234 Wellington", "ADDRESS"),
        ("farm at RD 2 Tauranga", "ADDRESS"),
        ("see https://www.facebook.com/jane.doe.77 for photos", "URL"),
    ],
)
def test_each_kind_is_redacted(text, kind):
    out, reds = redact(text)
    assert [r.kind for r in reds] == [kind]
    assert f"[{kind}]" in out
    start, end = reds[0].start, reds[0].end
    assert out == text[:start] + f"[{kind}]" + text[end:]


def test_cards_need_luhn():
    rng = random.Random(7)
    for prefix in ("4", "51", "2221", "6011"):
        digits = _luhn_complete(prefix + "".join(str(rng.randrange(10)) for _ in range(14 - len(prefix) + 1)))
        grouped = " ".join(digits[i : i + 4] for i in range(0, 16, 4))
        assert _kinds(f"card {grouped} thanks") == ["CARD"]
        broken = digits[:-1] + str((int(digits[-1]) + 1) % 10)
        assert "CARD" not in _kinds(f"card {broken} thanks")
    amex = _luhn_complete("37828224631000")
    assert _kinds(f"amex {amex[:4]} {amex[4:10]} {amex[10:]}") == ["CARD"]


def test_invalid_check_digits_are_not_redacted():
    bad_ird = "49091851"
    assert not ird_valid(bad_ird)
    assert "IRD" not in _kinds(f"reference {bad_ird[:2]}-{bad_ird[2:5]}-{bad_ird[5:]}")
    assert _kinds("code ZZZ0044 and ZZZ00AA") == []


@pytest.mark.parametrize(
    "text",
    [
        "See section 12 of the Act and section 4(2)(b).",
        "Under Article 15 of the Treaty, and Article 2.",
        "On 12 May 2024 and 2024-05-12 and 12/05/2024 we met.",
        "It costs $1,250,000 or $45.50 or NZ$12 million.",
        "About 45% (12.5 per cent) of 1,234,567 people in 2023.",
        "Version 3.2.1 of the plan, table 4.5, page 123, clause 7.",
        "https://www.mfat.govt.nz/en/trade/free-trade-agreements/ and https://www.stats.govt.nz/",
        "Between 1990 and 2020 the population grew from 3,400,000 to 5,100,000.",
        "Regulation 2021/1234 amends SR 2019/245.",
    ],
)
def test_look_alikes_are_left_alone(text):
    assert redact(text) == (text, [])


def test_real_nz_consultation_comments_have_no_false_identifiers():
    comments = pd.read_csv(FIX / "polis_nz_comments.csv")["comment-body"].astype(str)
    with_digits = comments[comments.str.contains(r"\d")]
    assert len(with_digits) > 20  # the fixture does exercise numbers
    for text in comments:
        kinds = set(_kinds(text))
        assert kinds <= {"URL"}, (text, kinds)  # only non-institutional links may go


def test_names_full_and_parts_whole_words_any_case():
    out, reds = redact("Jane Doe here. JANE again; doe too. Janet and Doeville stay. Li stays.", ["Jane Doe", "Li"])
    assert out == "[NAME] here. [NAME] again; [NAME] too. Janet and Doeville stay. Li stays."
    assert [r.kind for r in reds] == ["NAME"] * 3


def test_names_with_macrons_and_hyphens():
    out, _ = redact("Ko Mereana Te Āwhina-Ngata ahau. Mereana says kia ora. te reo stays", ["Mereana Te Āwhina-Ngata"])
    assert "Mereana" not in out and "Āwhina-Ngata" not in out
    assert "te reo stays" in out  # "Te" is shorter than 3 letters: never redacted alone


@pytest.mark.parametrize(
    "text",
    ["", "a", "。", "我的电话是 021 123 4567，邮箱 wang@example.cn", "رقمي 021 123 4567 شكرا",
     "Kia ora, ko Mere tōku ingoa, waea mai 09 379 1234"],
)
def test_any_script_and_tiny_texts(text):
    out, reds = redact(text)
    assert isinstance(out, str)
    for r in reds:
        assert 0 <= r.start < r.end <= len(text)
    if "021" in text or "09 379" in text:
        assert "[PHONE]" in out


def test_ten_megabyte_text():
    comments = pd.read_csv(FIX / "polis_nz_comments.csv")["comment-body"].astype(str)
    chunk = " ".join(comments) + " Email a.person@example.com now. "
    text = (chunk * (10_000_000 // len(chunk) + 1))[:10_000_000]
    out, reds = redact(text)
    assert "@example.com" not in out
    assert sum(r.kind == "EMAIL" for r in reds) == text.count("a.person@example.com")


# --- redact_answers -----------------------------------------------------------------------------


def _tables():
    responses = pd.DataFrame(
        {
            "response_id": ["r1", "r2", "r3"],
            "respondent_name": ["Aroha Ngata", None, "Support"],
            "respondent_email": ["aroha.ngata@example.nz", "sam.wilson@example.com", None],
        }
    )
    answers = pd.DataFrame(
        {
            "response_id": ["r1", "r1", "r2", "r3"],
            "question_id": ["q1", "q2", "q2", "q1"],
            "answer": ["Support", "I am Aroha, call 021 123 4567. aroha.ngata@example.nz", "Wilson here, Sam",
                       "Support"],
            "language": ["en"] * 4,
        }
    )
    questions = pd.DataFrame(
        {"question_id": ["q1", "q2"], "text": ["Do you agree?", "Why?"], "kind": ["closed", "open"],
         "choices": [json.dumps({"Support": "support", "Oppose": "oppose"}), "{}"], "order": [0, 1]}
    )
    return answers, responses, questions


def test_redact_answers_uses_each_respondents_own_name_and_email():
    answers, responses, questions = _tables()
    before = answers.copy()
    out, log = redact_answers(answers, responses, questions)
    pd.testing.assert_frame_equal(answers, before)  # input untouched
    red = dict(zip(zip(out.response_id, out.question_id, strict=True), out.text_redacted, strict=True))
    assert red[("r1", "q2")] == "I am [NAME], call [PHONE]. [EMAIL]"
    assert red[("r2", "q2")] == "[NAME] here, [NAME]"  # name parts from the email's local part
    assert red[("r3", "q1")] == "Support"  # a choice label is never redacted, whatever the name
    got = {(r.response_id, r.question_id, r.kind): r.count for r in log.itertuples()}
    assert got == {("r1", "q2", "EMAIL"): 1, ("r1", "q2", "NAME"): 1, ("r1", "q2", "PHONE"): 1,
                   ("r2", "q2", "NAME"): 2}


def test_copies_of_one_text_are_redacted_with_each_respondents_own_name():
    """Detection is cached per text: each copy still gets its own respondent's names, and only theirs."""
    text = "Aroha Ngata and Wiremu Smith both support this. Regards, the Ngata whanau. wiremu@example.com"
    answers = pd.DataFrame({"response_id": ["r1", "r2", "r3"], "question_id": "q1", "answer": [text] * 3,
                            "language": "en"})
    responses = pd.DataFrame({"response_id": ["r1", "r2", "r3"],
                              "respondent_name": ["Ngata", None, "Tama Harris"],
                              "respondent_email": [None, "wiremu.smith@example.com", None]})
    out, log = redact_answers(answers, responses)
    assert out["text_redacted"].tolist() == [
        "[NAME] and [NAME] both support this. Regards, the [NAME] whanau. [EMAIL]",
        "[NAME] and [NAME] both support this. Regards, the Ngata whanau. [EMAIL]",
        "[NAME] and [NAME] both support this. Regards, the Ngata whanau. [EMAIL]",
    ]
    assert [redact(text, names)[0] for names in (["Ngata"], [], ["Tama Harris"])] == [
        out["text_redacted"][0], out["text_redacted"][2], out["text_redacted"][2]]
    assert log.groupby("response_id")["count"].sum().to_dict() == {"r1": 4, "r2": 3, "r3": 3}


# --- publication guard --------------------------------------------------------------------------


def _clean_reports(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.md").write_text(
        "# You said\n\n1,234 responses (95% CI 0.42-0.48); see section 12 of the Act, Article 15.\n"
        "Contact: [EMAIL], [PHONE]. Published 12 May 2024. https://www.mfat.govt.nz/en/trade/\n",
        encoding="utf-8",
    )
    (folder / "counts.csv").write_text(
        "question_id,category,n,denominator,share\nq1,support,1234,5678,0.2173\nq1,oppose,4444,5678,0.7827\n",
        encoding="utf-8",
    )
    (folder / "report.html").write_text(
        "<html><body><h1>Results</h1><p>Version 3.2.1, 2023-2024, $1,250,000.</p>"
        '<a href="https://www.stats.govt.nz/">Stats NZ</a></body></html>\n', encoding="utf-8"
    )
    (folder / "notes.txt").write_text("Quotes are redacted: [NAME] said 'keep the reserve'.\n", encoding="utf-8")
    (folder / "data.json").write_text(json.dumps({"n": 1234, "share": 0.217, "quote": "[NAME] said no"}), encoding="utf-8")
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(["support", "oppose"], [1234, 4444])
    ax.set_title("Responses 2024")
    fig.savefig(folder / "chart.svg")
    fig.savefig(folder / "chart.png")
    plt.close(fig)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["question", "category", "n"])
    ws.append(["q1", "support", 1234])
    ws.append(["q1", "oppose", 4444])
    wb.save(folder / "tables.xlsx")


def test_guard_passes_clean_reports_and_lists_images(tmp_path, caplog):
    _clean_reports(tmp_path / "reports")
    with caplog.at_level(logging.WARNING, logger="analysis.redaction"):
        guard(tmp_path / "reports")
    assert "chart.png" in caplog.text


@pytest.mark.parametrize(
    ("name", "kind"),
    [("summary.md", "EMAIL"), ("counts.csv", "PHONE"), ("report.html", "EMAIL"), ("notes.txt", "IRD"),
     ("data.json", "NHI"), ("chart.svg", "PHONE"), ("tables.xlsx", "CARD")],
)
def test_guard_fails_on_planted_identifier_in_each_file_type(tmp_path, name, kind):
    reports = tmp_path / "reports"
    _clean_reports(reports)
    planted = {"EMAIL": "jane.doe@example.com", "PHONE": "021 123 4567", "IRD": "49-091-850",
               "NHI": "ZAC5361", "CARD": _luhn_complete("411111111111111")}[kind]
    path = reports / name
    if name == "tables.xlsx":
        wb = openpyxl.load_workbook(path)
        wb.active["B5"] = f"call {planted}"
        wb.save(path)
        where = "Sheet!B5"
    elif name == "report.html":
        path.write_text(path.read_text().replace("Stats NZ</a>", f'Stats NZ</a><a href="mailto:{planted}">x</a>'))
        where = "1"
    elif name == "chart.svg":
        text = path.read_text()
        path.write_text(text.replace("Responses 2024", f"Responses {planted}"))
        where = str(next(i for i, line in enumerate(path.read_text().splitlines(), 1) if planted in line))
    else:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"\nreach me {planted}\n")
        where = str(len(path.read_text().splitlines()))
    with pytest.raises(PublicationGuardError) as exc:
        guard(reports)
    assert isinstance(exc.value, AnalysisError)
    assert (name, where, kind) in exc.value.findings
    assert f"{name}:{where}: {kind}" in str(exc.value)
    assert planted not in str(exc.value)  # the error never repeats the identifier


def test_guard_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        guard(tmp_path / "nope")


def test_signature_after_a_sign_off_is_a_name_even_without_the_export_name():
    assert redact("I agree.\nKind regards,\nAroha Sharma")[0] == "I agree.\nKind regards,\n[NAME]"
    assert redact("Ngā mihi, Sam van der Berg\n")[0] == "Ngā mihi, [NAME]\n"
    for text in ("Thanks, New Zealand should act now.", "Many thanks to the team for this work.",
                 "Apart from Working For Families, changes favour the wealthy."):
        assert redact(text) == (text, [])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I'm Jack Henare and I wanted to have my say.", "I'm [NAME] and I wanted to have my say."),
        ("This is Graham Anderson writing in a personal capacity.", "This is [NAME] writing in a personal capacity."),
        ("My name is Aroha and I live here.", "My name is [NAME] and I live here."),
        ("Ngā mihi nui,\nTama Harris\nCo-convenor", "Ngā mihi nui,\n[NAME]\nCo-convenor"),
        ("Nāku noa, nā\nSusan Harris", "Nāku noa, nā\n[NAME]"),
        ("I'm Māori and this matters.", "I'm Māori and this matters."),
        ("I am New Zealand born and bred.", "I am New Zealand born and bred."),
        ("Ko Te Tiriti o Waitangi te tūāpapa.", "Ko Te Tiriti o Waitangi te tūāpapa."),
        ("Ko Tama Harris tōku ingoa.", "Ko [NAME] tōku ingoa."),
    ],
)
def test_self_introductions_and_te_reo_signoffs_without_a_name_column(text, expected):
    assert redact(text)[0] == expected


# --- de-identification on real text: names, addresses, national formats (docs/redaction.md) ----------

PII_FIX = Path(__file__).parent / "fixtures" / "pii"


def test_real_statements_are_left_alone_at_least_98_percent():
    polis = pd.read_csv(PII_FIX / "polis_statements.csv")["comment-body"].astype(str).tolist()
    args = pd.read_csv(PII_FIX / "argkp_arguments.csv")["argument"].astype(str).tolist()
    assert len(polis) == 300 and len(args) == 300
    for texts in (polis, args):
        altered = [t for t in texts if redact(t)[0] != t]
        assert len(altered) / len(texts) < 0.02, altered


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sincerely,\nMr. John Smith", "Sincerely,\n[NAME]"),
        ("Yours faithfully,\n\nJ.R. Smith.", "Yours faithfully,\n\n[NAME]."),
        ("Kind regards, Jane Doe (Mrs)", "Kind regards, [NAME]"),
        ("sincerely, john smith", "sincerely, [NAME]"),
        ("Signed: Aroha Ngata", "Signed: [NAME]"),
        ("Ngā mihi. Sincerely, María José García", "Ngā mihi. Sincerely, [NAME]"),
        ("Nā Hemi Walker", "Nā [NAME]"),
        ("God bless America, John Smith!", "God bless America, [NAME]!"),
        ("My name is jane smith and I object.", "My name is [NAME] and I object."),
        ("As Harrison Papadopoulos said, nobody asked us.", "As [NAME] said, nobody asked us."),
        ("Dr Ngata from the council agreed.", "[NAME] from the council agreed."),
    ],
)
def test_names_in_sign_offs_introductions_and_running_text(text, expected):
    assert redact(text)[0] == expected


def test_own_name_and_introduction_merge_into_one_token():
    # the export gives only the first name; the introduction adds the surname: one token, no surname left
    assert redact("My name is Hemi Rāwiri and I farm.", ["Hemi"])[0] == "My name is [NAME] and I farm."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cheers,\nAroha Sharma\n154 Pōhutukawa Drive, Te Aro, Wellington 6011",
         "Cheers,\n[NAME]\n[ADDRESS]"),
        ("We are at 189 Kauri Crescent, Hillcrest, Hamilton 3216 and flood often.", "We are at [ADDRESS] and flood often."),
        ("Sincerely,\nMr. John Smith\nSpringfield, IL 62704", "Sincerely,\n[NAME]\n[ADDRESS]"),
        ("Unit 4, 12 Smith Street, Fitzroy VIC 3065", "[ADDRESS]"),
        ("Flat 2, 14 High Street, Oxford OX1 4AB", "[ADDRESS]"),
        ("1600 Pennsylvania Avenue NW, Washington, DC 20500", "[ADDRESS]"),
        ("347 rue Sainte-Catherine\nMontréal QC  H2X 1Y4", "[ADDRESS]"),
        ("91 Kingsway\nBristol\nBS8 1TH", "[ADDRESS]"),
        ("my postcode is 3216, thanks", "my postcode is [ADDRESS], thanks"),
    ],
)
def test_addresses_take_suburb_city_and_postcode_with_them(text, expected):
    assert redact(text)[0] == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to jane (at) example (dot) com please", "EMAIL"),
        ("write to jane.doe[at]example.co.nz please", "EMAIL"),
        ("write to JANE AT EXAMPLE DOT COM please", "EMAIL"),
        ("see janedoe.co.nz/about for photos", "URL"),
        ("my blog is jane-doe.com", "URL"),
        ("call 0412 345 678 any time", "PHONE"),  # AU mobile
        ("call (02) 9876 5432 any time", "PHONE"),  # AU landline
        ("call 020 7946 0123 any time", "PHONE"),  # UK London
        ("call (212) 734-5678 any time", "PHONE"),  # US
        ("call (416) 363-4567 any time", "PHONE"),  # CA
        ("my nhi is zac5361 thanks", "NHI"),
        ("from 203.94.12.7 twice", "IP_ADDRESS"),
        ("from 2001:db8:85a3::8a2e:370:7334 twice", "IP_ADDRESS"),
        ("follow @jane_doe77 for updates", "SOCIAL_HANDLE"),
    ],
)
def test_new_formats_are_redacted(text, kind):
    out, reds = redact(text)
    assert [r.kind for r in reds] == [kind], out
    assert f"[{kind}]" in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DOB: 14/03/1985", "DOB: [DATE_OF_BIRTH]"),
        ("I was born on 3 March 1962 in Gisborne.", "I was born on [DATE_OF_BIRTH] in Gisborne."),
        ("date of birth 1985-03-14.", "date of birth [DATE_OF_BIRTH]."),
    ],
)
def test_dates_of_birth_only_when_marked(text, expected):
    assert redact(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "The meeting on 14/03/2024 was born out of frustration.",  # a date, but not a birth date
        "The library opens at 12:30:45 and closes at 5.",
        "Node.js and the report.pdf were attached, e.g. in section 4.2.1.",
        "Vision 2050\nThe plan sets targets for 2030.",
        "Widen Scottsville Road and Campbell Ln before the new school opens.",
        "Bowling Green should fund the Paul Walker Golf Course.",
        "I'm Māori and I am New Zealand born; this is Te Tiriti.",
        "Thanks, New Zealand should act now.",
        "We meet @ 5pm at the marae.",
        "Please reconsider, Thank You!",
        "Dear MFAT,\n\nI am writing to comment on the draft.",
        "Hello,\n\nPersonally, foreign law enforcement should not get access.",
        "Grant Funding for the Green Party and May Day events.",
    ],
)
def test_look_alikes_of_the_new_detectors_are_left_alone(text):
    assert redact(text) == (text, [])


def test_name_lexicon_api():
    from analysis.redaction.names import find_person_names, is_first_name, is_person_name, is_surname

    assert is_person_name("Aroha") and is_person_name("ngata") and is_person_name("García")
    assert is_first_name("Rāwiri") and is_first_name("rawiri") and is_surname("Fa'asalele")
    assert not is_person_name("Council") and not is_person_name("water") and not is_person_name("May")
    text = "Kind regards,\nTama Harris"
    assert [(text[s:e], k) for s, e, k in find_person_names(text)] == [("Tama Harris", "NAME")]


def test_redaction_log_uses_schema_kinds():
    from analysis.schemas import REDACTION_KINDS

    text = "DOB: 14/03/1985, IP 203.94.12.7, @jane_doe, jane (at) example (dot) com, Springfield, IL 62704"
    kinds = {r.kind for r in redact(text)[1]}
    assert kinds == {"DATE_OF_BIRTH", "IP_ADDRESS", "SOCIAL_HANDLE", "EMAIL", "ADDRESS"}
    assert kinds <= set(REDACTION_KINDS)
