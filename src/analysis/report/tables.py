"""Public tables (reports folder) and the internal analyst workbook (processed folder).

* ``<reports>/tables.xlsx`` and ``<reports>/tables/<count table>.csv`` are published: every count
  table (without ``evidence_ids``), Pol.is theme support and statement tallies, the selected quotes
  (respondents who consented only, see :mod:`analysis.report.publishable`), themes, campaigns (a
  campaign letter's text only when one of its senders consented), the ledger, and rejected rows
  without their raw content. No answer text beyond the quotes; no ``answer``, ``respondent_name`` or
  ``respondent_email``; organisation names only where ``publish_named``.
* ``<processed>/internal/INTERNAL_analyst_workbook.xlsx`` (:data:`INTERNAL_WORKBOOK`) is for the
  analysts only, never published: every answer's redacted text with its consent, organisation,
  themes and position (:func:`coded_answers`), and the rejected rows with their raw content.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.charts.data import theme_labels
from analysis.config import ConsultationConfig
from analysis.report import coded_arrow, coded_csv
from analysis.report.joins import key_rows
from analysis.report.load import public_path
from analysis.report.publishable import publishable_text
from analysis.report.workbook import neutralise_frame, write_workbook
from analysis.themes.codebook import DISCOVERED_PREFIX, OTHER, UNTRANSLATED

#: The internal workbook, relative to the consultation's processed folder (not for publication).
INTERNAL_WORKBOOK = Path("internal") / "INTERNAL_analyst_workbook.xlsx"
#: Where ``coded_answers`` goes instead of a sheet when it has more than :data:`INTERNAL_SHEET_MAX_ROWS` rows.
INTERNAL_CODED_CSV = Path("internal") / "INTERNAL_coded_answers.csv"
#: Most answers written as a sheet of the internal workbook. Above it the sheet is a CSV beside the workbook:
#: at 50,000 responses (297,131 answers) xlsxwriter took 32 of the report's ~80 CPU seconds for that one
#: sheet, and a sheet that long is slow to open too; the CSV (UTF-8 with BOM, so Excel reads the accents)
#: takes about 2 s.
INTERNAL_SHEET_MAX_ROWS = 100_000
#: Campaigns sheet text of a campaign letter none of whose senders consented to publication.
WITHHELD_TEMPLATE = "(withheld: no sender of this letter consented to publication)"

COUNT_COLUMNS = ["table", "question_id", "group", "group_label", "category", "category_label", "n", "denominator",
                 "share", "ci_low", "ci_high", "suppressed", "count_mode"]


def publishable_counts(counts: pd.DataFrame, themes: pd.DataFrame | None) -> pd.DataFrame:
    """Count rows without evidence ids, with theme labels beside theme ids, sorted by key."""
    df = counts.copy()
    labels: dict[tuple[str, str], str] = {}
    if themes is not None and len(themes):
        for qid in themes["question_id"].unique():
            for tid, lab in theme_labels(themes, qid).items():
                labels[(str(qid), tid)] = lab
    df["group_label"] = [labels.get((str(q), str(g)), "") for q, g in zip(df["question_id"], df["group"], strict=True)]
    df["category_label"] = [labels.get((str(q), str(c)), "") for q, c in
                            zip(df["question_id"], df["category"], strict=True)]
    df = df[COUNT_COLUMNS]
    return df.sort_values(["table", "count_mode", "question_id", "group", "category"], kind="mergesort").reset_index(
        drop=True)


#: The leading columns of :func:`coded_answers` taken from ``core_answers_clean`` (then, when it exists, from
#: ``core_responses``): a codebook edit leaves them unchanged (:mod:`analysis.report.coded_csv` keeps them rendered).
ANSWER_COLUMNS = ["response_id", "question_id", "text_redacted", "personal_addition", "campaign_id", "is_campaign_copy"]
RESPONDENT_COLUMNS = ["channel", "respondent_type", "sector", "organisation", "consent"]


def coded_answers(tables: dict, *, row_ids: bool = False) -> pd.DataFrame:
    """One row per answer, whatever its consent: redacted text, campaign flags, respondent (type, sector,
    organisation, ``consent``), themes and position. For the internal workbook only.

    With ``row_ids`` a last column ``_row`` holds each row's row number in ``core_answers_clean``.
    """
    ans = tables.get("core_answers_clean")
    if ans is None:
        return pd.DataFrame()
    out = ans[ANSWER_COLUMNS].copy()
    if row_ids:
        out["_row"] = np.arange(len(out))
    resp = tables.get("core_responses")
    if resp is not None:
        r = resp[["response_id", *RESPONDENT_COLUMNS]]
        out = out.merge(r, on="response_id", how="left")
    joined = theme_lists(tables)
    if joined is not None:
        out = out.merge(joined, on=["response_id", "question_id"], how="left")
    pos = tables.get("core_answer_positions")
    if pos is not None and len(pos):
        p = pos.rename(columns={"confidence": "position_confidence", "source": "position_source"})
        out = out.merge(p, on=["response_id", "question_id"], how="left")
    out = out.sort_values(["question_id", "response_id"], kind="mergesort").reset_index(drop=True)
    return out[[c for c in out.columns if c != "_row"] + ["_row"]] if row_ids else out


def theme_lists(tables: dict) -> pd.DataFrame | None:
    """Each answer's themes for :func:`coded_answers`: ``response_id``, ``question_id``, ``theme_ids`` and
    ``theme_labels`` (by descending score, joined with ``"; "``), or ``None`` without theme rows."""
    at = tables.get("core_answer_themes")
    if at is None or not len(at):
        return None
    labels = {}
    themes = tables.get("core_themes")
    if themes is not None:
        labels = {(str(q), str(t)): str(lab) for q, t, lab in
                  zip(themes["question_id"], themes["theme_id"], themes["label"], strict=True)}
    at = at.sort_values(["response_id", "question_id", "score", "theme_id"], ascending=[True, True, False, True],
                        kind="mergesort")
    return _joined_themes(at.assign(label=_labels(at, labels)))


def _labels(at: pd.DataFrame, labels: dict[tuple[str, str], str]) -> list[str]:
    """``labels.get((str(q), str(t)), str(t))`` of each row's question and theme, looked up once per pair."""
    cq, uq = pd.factorize(at["question_id"])
    ct, ut = pd.factorize(at["theme_id"])
    if (cq < 0).any() or (ct < 0).any():  # a missing id: row by row, as str() renders it
        return _labels_each(at, labels)
    cp, up = pd.factorize(cq.astype(np.int64) * len(ut) + ct)
    per_pair = [labels.get((str(uq[k // len(ut)]), str(ut[k % len(ut)])), str(ut[k % len(ut)])) for k in up]
    return np.asarray(per_pair, dtype=object)[cp].tolist()


def _labels_each(at: pd.DataFrame, labels: dict[tuple[str, str], str]) -> list[str]:
    """:func:`_labels`, one row at a time (the code it replaces; its test compares the two)."""
    return [labels.get((str(q), str(t)), str(t)) for q, t in zip(at["question_id"], at["theme_id"], strict=True)]


def _joined_themes(at: pd.DataFrame) -> pd.DataFrame:
    """One row per ``(response_id, question_id)`` of ``at`` (sorted by them), its ``theme_id`` and ``label`` values
    joined with ``"; "`` in row order: ``groupby(...).agg("; ".join)`` in one pass over the sorted rows."""
    keys = at[["response_id", "question_id"]]
    if keys.isna().any().any():  # groupby drops missing keys: keep its exact behaviour
        g = at.groupby(["response_id", "question_id"], sort=False)
        agg = pd.DataFrame({"theme_ids": g["theme_id"].agg("; ".join), "theme_labels": g["label"].agg("; ".join)})
        return agg.reset_index()
    new = np.ones(len(at), dtype=bool)
    if len(at) > 1 and all(_arrow_text_dtype(keys[c]) for c in keys.columns):  # compared by Arrow, no str objects
        changed = [pc.not_equal(a.slice(1), a.slice(0, len(a) - 1)) for a in map(coded_arrow.arrow_text, map(
            keys.__getitem__, keys.columns))]
        new[1:] = pc.or_(*changed).to_numpy(zero_copy_only=False)
    else:
        rid, qid = keys["response_id"].to_numpy(), keys["question_id"].to_numpy()
        new[1:] = (rid[1:] != rid[:-1]) | (qid[1:] != qid[:-1])
    starts = np.flatnonzero(new).tolist() + [len(at)]
    first = keys[new].reset_index(drop=True)
    joined = [_join_runs(at[c], starts) for c in ("theme_id", "label")]
    return first.assign(theme_ids=joined[0], theme_labels=joined[1])


def _join_runs(column: pd.Series, starts: list[int]) -> list[str] | pd.api.extensions.ExtensionArray:
    """``"; ".join`` of the values of each run ``column[starts[i]:starts[i + 1]]`` (by Arrow when all are text: then
    as the text array a list of the joined strings would become, without making the strings)."""
    if column.dtype == object or not pd.api.types.is_string_dtype(column.dtype) or column.isna().any():
        values = column.tolist()  # what "; ".join does with anything but text (raise, or not)
        return ["; ".join(values[a:b]) for a, b in itertools.pairwise(starts)]
    values = coded_arrow.arrow_text(column)
    runs = pa.LargeListArray.from_arrays(pa.array(starts, type=pa.int64()), values)
    return pd.array(pc.binary_join(runs, pa.scalar("; ", pa.large_string())), dtype=_TEXT)


#: The dtype pandas gives a column assigned a list of Python strings.
_TEXT = pd.Series(["x"]).dtype


def _arrow_text_dtype(column: pd.Series) -> bool:
    """Whether ``column`` is text held by Arrow (compared there as Python compares the strings)."""
    return isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow"


def quote_items(quotes: pd.DataFrame, k: int) -> list[dict[str, str | None]]:
    """The first ``k`` quotes by rank as ``{"text", "lang"}``: ``lang`` is the answer's language code when it is
    not English (``"mi"`` for te reo M\u0101ori), so the page marks it up (WCAG 3.1.2), else ``None``."""
    rows = quotes.sort_values("rank").head(k)
    langs = rows["lang"] if "lang" in rows.columns else pd.Series(None, index=rows.index, dtype=object)
    return [{"text": str(text), "lang": lang if isinstance(lang, str) and lang not in ("en", "und", "") else None}
            for text, lang in zip(rows["display"], langs, strict=True)]


def with_languages(quotes: pd.DataFrame, answers: pd.DataFrame | None) -> pd.DataFrame:
    """``quotes`` plus a ``lang`` column: the language of the answer each quote comes from (missing: ``None``)."""
    if answers is None or quotes.empty or "language" not in answers.columns:
        return quotes.assign(lang=None)
    langs = answers[["response_id", "question_id", "language"]].drop_duplicates(["response_id", "question_id"])
    out = quotes.merge(langs.rename(columns={"language": "lang"}), on=["response_id", "question_id"], how="left")
    out.index = quotes.index
    return out


#: Published names and descriptions of the two catch-all "themes" (their internal texts are instructions to
#: analysts, e.g. "translate or code them by hand", not findings).
SET_ASIDE_THEMES = {
    OTHER: ("Other: matched no theme", "Answers that matched none of the consultation's themes."),
    UNTRANSLATED: ("Not machine-themed (language)", "Answers in a language the theme model does not cover, such "
                   "as te reo M\u0101ori; counted here, not assigned to themes automatically."),
}


def public_themes(themes: pd.DataFrame) -> pd.DataFrame:
    """``core_themes`` for publication: a discovered theme's description and keywords come from respondents'
    answers (whatever their consent), so they are blanked; codebook texts (the analyst's) stay; the catch-all
    themes get their published wording (:data:`SET_ASIDE_THEMES`)."""
    discovered = themes["description"].fillna("").astype(str).str.startswith(DISCOVERED_PREFIX)
    out = themes.assign(description=themes["description"].where(~discovered, None),
                        keywords=themes["keywords"].where(~discovered, None))
    for tid, (label, text) in SET_ASIDE_THEMES.items():
        hit = out["theme_id"].astype(str) == tid
        out.loc[hit, "label"], out.loc[hit, "description"] = label, text
    return out


def published_campaigns(tables: dict) -> pd.DataFrame | None:
    """``core_campaigns`` for publication: a letter's text only when one of its senders may be quoted.

    The template is taken from the copies that pass :func:`~analysis.report.publishable.publishable_text`;
    a campaign without one keeps its size and shows :data:`WITHHELD_TEMPLATE`.
    """
    camps, ans = tables.get("core_campaigns"), tables.get("core_answers_clean")
    if camps is None:
        return None
    members = pd.DataFrame(columns=["response_id", "campaign_id"])
    if ans is not None:
        copy = ans["is_campaign_copy"].astype(bool) & ans["campaign_id"].notna()
        members = _sender_kinds(ans.loc[copy, ["response_id", "campaign_id"]], tables.get("core_responses"), camps)
    ok = publishable_text(members.merge(camps[["campaign_id", "template"]], on="campaign_id"),
                          tables.get("core_responses"))
    text = dict(zip(ok["campaign_id"], ok["template"], strict=True))
    return camps.assign(template=[text.get(c, WITHHELD_TEMPLATE) for c in camps["campaign_id"]])


def _sender_kinds(members: pd.DataFrame, responses: pd.DataFrame | None, camps: pd.DataFrame) -> pd.DataFrame:
    """The first of each campaign's senders with the same consent and organisation, in order.

    :func:`~analysis.report.publishable.publishable_text` passes a sender of a letter on their consent and, for
    the self-naming check, their organisation and the letter (one per campaign): a campaign has a sender who passes
    exactly when one of these does. The letter was otherwise copied once per sender (at 200,000 responses, 180,000
    copies of two letters) to be searched for each sender's organisation. Unchanged when a campaign id repeats in
    ``camps`` (the merge then pairs a sender with several letters).
    """
    if responses is None or members.empty or not camps["campaign_id"].is_unique:
        return members
    who = responses[["response_id", "consent", "organisation"]].drop_duplicates("response_id")
    at = key_rows(members, who, "response_id")  # the merge's rows by Arrow (who's ids are unique)
    if at is None:
        kinds = members[["response_id", "campaign_id"]].merge(who, on="response_id", how="left",
                                                              validate="many_to_one")
    else:
        kinds = pd.DataFrame({"campaign_id": members["campaign_id"].to_numpy(), **{
            c: pd.api.extensions.take(who[c].array, at, allow_fill=True) for c in ("consent", "organisation")}})
    return members[~kinds.duplicated(["campaign_id", "consent", "organisation"]).to_numpy()]


def write_internal_workbook(cfg: ConsultationConfig, tables: dict, processed_dir: Path, *,
                            csv_store: Path | None = None) -> list[Path]:
    """Write :data:`INTERNAL_WORKBOOK` under ``processed_dir``: the analysts' full-text tables.

    Sheets: ``README`` (what this is, and that it must not be published), ``coded_answers``
    (:func:`coded_answers`, every respondent whatever their consent) and ``rejects`` with raw content.
    Above :data:`INTERNAL_SHEET_MAX_ROWS` answers, ``coded_answers`` is written to
    :data:`INTERNAL_CODED_CSV` instead (the README sheet says so).

    The CSV is written column by column from the tables (:mod:`analysis.report.coded_arrow`) when their dtypes
    allow, else from the :func:`coded_answers` frame. ``csv_store`` (that frame's path only): a folder keeping the
    CSV's answer and respondent columns rendered between runs (:mod:`analysis.report.coded_csv`); only for
    ``tables`` read from ``processed_dir``'s own tables, whose files key what it keeps. The file is the same bytes
    either way.

    Returns:
        The written paths (the workbook, and the CSV when there is one).
    """
    sheets: dict[str, pd.DataFrame] = {"README": pd.DataFrame({"item": [
        "INTERNAL: NOT FOR PUBLICATION", "consultation", "contents", "consent"], "value": [
        "Full text of every answer, including respondents who refused publication. Share only with the analysis team.",
        cfg.title, "coded_answers: every answer (redacted text, respondent, consent, themes, position); "
                   "rejects: rejected rows with their raw content",
        "Publish nothing from this workbook: the report publishes only texts of respondents whose consent is "
        "publish_named or publish_anonymous (docs/user_guide.md, Consent)."]})}
    written = []
    csv_path = Path(processed_dir) / INTERNAL_CODED_CSV
    csv_path.unlink(missing_ok=True)  # from an earlier, larger run
    ans = tables.get("core_answers_clean")
    if ans is not None and len(ans) > INTERNAL_SHEET_MAX_ROWS:  # the CSV (merges add rows, never remove them)
        plan = coded_arrow.plan(tables, ANSWER_COLUMNS, RESPONDENT_COLUMNS, theme_lists(tables))
        if plan is not None and coded_arrow.write(plan, csv_path):
            sheets["README"].loc[len(sheets["README"])] = _csv_readme(plan.n, csv_path)
            if tables.get("core_rejects") is not None:
                sheets["rejects"] = tables["core_rejects"]
            return [write_workbook(sheets, Path(processed_dir) / INTERNAL_WORKBOOK), csv_path]
    ca = coded_answers(tables, row_ids=csv_store is not None)
    rows = ca.pop("_row").to_numpy() if "_row" in ca.columns else None
    if len(ca) > INTERNAL_SHEET_MAX_ROWS:
        sheets["README"].loc[len(sheets["README"])] = _csv_readme(len(ca), csv_path)
        n_static = len(ANSWER_COLUMNS) + (len(RESPONDENT_COLUMNS) if tables.get("core_responses") is not None else 0)
        if rows is not None and coded_csv.write_coded_csv(ca, rows, n_static, csv_path, store=csv_store,
                                                          key=coded_csv.static_key(Path(processed_dir))):
            written.append(csv_path)
        else:
            written.append(_csv(ca, csv_path, encoding="utf-8-sig", float_format=None))
    elif len(ca):
        sheets["coded_answers"] = ca
    if tables.get("core_rejects") is not None:
        sheets["rejects"] = tables["core_rejects"]
    return [write_workbook(sheets, Path(processed_dir) / INTERNAL_WORKBOOK), *written]


def _csv_readme(n: int, csv_path: Path) -> list[str]:
    """The README row of a coded-answers CSV of ``n`` rows."""
    return ["coded_answers", f"{n:,} answers, more than a sheet holds comfortably: in {csv_path.name}, "
                             "beside this workbook (the same columns; for the analysis team only)"]


def _csv(df: pd.DataFrame, path: Path, *, encoding: str = "utf-8", float_format: str | None = "%.4f") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # 4 decimals is the precision a share needs; longer digit runs are flagged as phone numbers by the guard
    neutralise_frame(df).to_csv(path, index=False, lineterminator="\n", encoding=encoding, float_format=float_format)
    return path


#: What each column of the count sheets means (printed on the workbook's "about" sheet).
COLUMN_DEFINITIONS = {
    "table": "Which count: responses, position, theme, theme_position, theme_respondent_type, campaign, ...",
    "question_id": "The question's short id (as in the questions sheet); * for the whole consultation.",
    "group": "The row of the table: a respondent type, a channel, a theme id, or 'all'.",
    "category": "The column of the table: a position, a theme id, a respondent type, ...",
    "n": "Respondents (or statements) in the cell. Empty when suppressed.",
    "denominator": "Respondents (or statements) the share is of: those who answered the question, in the group.",
    "share": "n / denominator, shown as a percentage. Empty when suppressed.",
    "ci_low": "Lower end of the 95% Wilson score interval of the share.",
    "ci_high": "Upper end of the 95% Wilson score interval of the share.",
    "suppressed": ("TRUE when the cell is hidden: fewer than min_cell respondents, or the next-smallest cell of a "
                   "row whose total would otherwise give a hidden cell away (secondary suppression)."),
    "count_mode": "all = every response counts once; unique = each form-letter campaign counts once.",
    "group_label": "The theme's published name when group is a theme id (else empty).",
    "category_label": "The theme's published name when category is a theme id (else empty).",
    "label": "The theme's published name.",
    "agree_share": "Pol.is: agree votes / (agree + disagree votes) on the theme's statements.",
}


#: Readable titles of the public workbook's sheets (Excel allows 31 characters): count tables by their
#: ``out_counts.table`` name, the other sheets by their internal key. Unknown names are kept as they are.
SHEET_TITLES = {
    "about": "About",
    "questions": "Questions",
    "responses": "Responses by channel",
    "responses_total": "Responses in total",
    "campaign": "Campaign members",
    "option": "Options chosen",
    "option_respondent_type": "Options by respondent type",
    "theme": "Themes raised",
    "theme_respondent_type": "Themes by respondent type",
    "position": "Positions",
    "position_respondent_type": "Positions by respondent type",
    "theme_position": "Positions by theme",
    "position_adjusted": "Positions, adjusted",
    "position_respondent_type_adjusted": "Positions by type, adjusted",
    "theme_position_adjusted": "Positions by theme, adjusted",
    "polis_statements": "Statements",
    "polis_votes": "Votes",
    "polis_voters": "Voters",
    "theme_support": "Theme support",
    "statement_votes": "Statement votes",
    "quotes": "Quotes",
    "themes": "Theme list",
    "campaigns": "Campaign letters",
    "ledger": "Ledger",
    "rejects": "Rejected rows",
}


def sheet_title(name: str) -> str:
    """The readable workbook sheet title of a sheet key or count table (see :data:`SHEET_TITLES`).

    Breakdown tables (``responses_<attribute>``, ``option_<attribute>``) read "Responses by <attribute>" and
    "Options by <attribute>"; other unknown names are kept as they are (at most Excel's 31 characters).
    """
    if name in SHEET_TITLES:
        return SHEET_TITLES[name]
    for prefix, title in (("responses_", "Responses by"), ("option_", "Options by")):
        if name.startswith(prefix):
            return f"{title} {name[len(prefix):].replace('_', ' ')}"[:31]
    return name


def about_sheet(cfg: ConsultationConfig, attribution: list[str] | None = None,
                count_tables: list[str] | None = None) -> pd.DataFrame:
    """The workbook's first sheet: the consultation, its settings, the attribution the data licence requires
    (e.g. CC BY for republished Pol.is statements) and what each count column means."""
    items = [("consultation", cfg.title), ("count_mode", cfg.settings.count_mode),
             ("min_cell", str(cfg.settings.min_cell)), ("seed", str(cfg.settings.seed)), ("synthetic", str(cfg.synthetic))]
    items += [("attribution", para) for para in attribution or []]
    items += [(f"sheet: {sheet_title(t)}", f"count table '{t}' (tables/{t}.csv)") for t in count_tables or []]
    items += [(f"column: {col}", text) for col, text in COLUMN_DEFINITIONS.items()]
    return pd.DataFrame(items, columns=["item", "value"])


def write_tables(cfg: ConsultationConfig, tables: dict, quotes: pd.DataFrame, reports_dir: Path,
                 attribution: list[str] | None = None,
                 campaigns: Callable[[], pd.DataFrame | None] | None = None) -> list[Path]:
    """Write ``tables.xlsx`` and ``tables/<count table>.csv``.

    Args:
        cfg: The consultation config.
        tables: Loaded tables (``None`` for missing ones); its ``out_counts`` (every count mode) gives the
            count sheets, one per ``out_counts.table``.
        quotes: Selected quotes.
        reports_dir: Output folder.
        attribution: Paragraphs of the data licence's attribution statement (the "about" sheet prints them).
        campaigns: Returns :func:`published_campaigns` of ``tables`` (computed here when not given).

    Returns:
        The written paths.
    """
    written: list[Path] = []
    all_counts = tables.get("out_counts")
    sheets: dict[str, pd.DataFrame] = {}
    pub = publishable_counts(all_counts, tables.get("core_themes")) if all_counts is not None and len(all_counts) else None
    sheets["about"] = about_sheet(cfg, attribution, sorted(set(pub["table"].astype(str))) if pub is not None else [])
    if tables.get("core_questions") is not None:
        sheets["questions"] = tables["core_questions"]
    if pub is not None:
        for name, sub in pub.groupby("table", sort=True):
            sheets[str(name)] = sub.reset_index(drop=True)
            written.append(_csv(sub, reports_dir / "tables" / f"{name}.csv"))
    support = tables.get("out_theme_support")
    if support is not None and len(support):  # Pol.is: how strongly each theme's statements were supported
        th = tables.get("core_themes")
        if th is not None and len(th):
            support = support.merge(th[["question_id", "theme_id", "label"]], on=["question_id", "theme_id"],
                                    how="left")
        sheets["theme_support"] = support
        written.append(_csv(support, reports_dir / "tables" / "theme_support.csv"))
    votes = tables.get("core_statement_votes")
    if votes is not None and len(votes):
        sheets["statement_votes"] = votes
    if len(quotes):
        sheets["quotes"] = quotes.drop(columns=["display"], errors="ignore")
    if tables.get("core_themes") is not None:
        sheets["themes"] = public_themes(tables["core_themes"])
    published = campaigns() if campaigns is not None else published_campaigns(tables)
    if published is not None:
        sheets["campaigns"] = published
    if tables.get("ledger") is not None:
        sheets["ledger"] = tables["ledger"].assign(file=tables["ledger"]["file"].map(public_path))
    if tables.get("core_rejects") is not None:
        rej = tables["core_rejects"]
        sheets["rejects"] = rej.assign(file=rej["file"].map(public_path),
                                       raw_chars=rej["raw"].fillna("").str.len()).drop(columns="raw")
    titled = {sheet_title(k): v for k, v in sheets.items()}
    written.append(write_workbook(titled, reports_dir / "tables.xlsx"))
    return written
