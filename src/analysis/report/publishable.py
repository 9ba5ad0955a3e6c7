"""The one gate every published respondent text passes: consent, redacted text only, safe attribution.

Every text the report publishes (quotes in the summary and the workbook, Pol.is statement quotes,
campaign letters in the workbook) goes through :func:`publishable_text`, which applies the rules of
docs/user_guide.md, "Consent":

* **Consent.** Only texts of respondents whose ``consent`` (``core_responses``) is ``publish_named``
  or ``publish_anonymous`` are kept. ``do_not_publish`` (which includes every response without a
  consent record: emailed letters, document folders, a source without a consent column, unless the
  config says otherwise) keeps the text out of everything published; the response still counts in
  every number.
* **Redacted text only.** The frame may hold ``text_redacted`` / ``personal_addition`` and other
  derived columns, never a raw or identifying column (:data:`RAW_COLUMNS`): passing one is a bug and
  raises :class:`PublicationError`.
* **Attribution** by respondent type ("An individual", "An organisation (sector)", "A respondent");
  an organisation is named only when its consent is ``publish_named``; a person is never named. A
  text that names its own organisation (case-insensitive) is dropped unless that consent is
  ``publish_named``: publishing it would name them.

The full text of every answer, whatever its consent, is for analysts only: it goes to the internal
workbook under the processed folder (:func:`analysis.report.tables.write_internal_workbook`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.config import PUBLISHABLE_CONSENT
from analysis.report.joins import key_rows

#: Columns that never reach a published output (raw text, identities, file names that may hold names).
RAW_COLUMNS = ("answer", "respondent_name", "respondent_email", "raw", "source_file")
#: Columns :func:`publishable_text` adds (replacing any of the same name in the frame).
WHO_COLUMNS = ["respondent_type", "sector", "organisation", "attribution"]
#: Text columns searched for a respondent's own organisation name.
TEXT_COLUMNS = ("text_redacted", "personal_addition", "template", "quote")


class PublicationError(ValueError):
    """A frame about to be published carries raw or identifying columns (a bug, never silenced)."""


def values(column: pd.Series) -> list:
    """A column's values as a Python list, fast for Arrow-backed columns (a missing value is ``None``).

    Iterating an Arrow-backed ``str`` column converts one value at a time (about 3 µs each: seconds for the
    candidate quotes of 50,000 responses); Arrow converts the whole column at once. Missing values come back
    as ``None`` instead of ``nan``: only for callers that test values with ``isinstance``.
    """
    if isinstance(column.dtype, pd.StringDtype | pd.ArrowDtype):
        return pa.array(column.array).to_pylist()
    return column.tolist()


def _s(v: object) -> str:
    return v.strip() if isinstance(v, str) else ""


def _names(organisation: object, texts: tuple) -> bool:
    """``organisation`` (a name of at least 3 characters) occurs in one of ``texts``, ignoring case."""
    org = _s(organisation).casefold()
    return len(org) >= 3 and any(isinstance(t, str) and org in t.casefold() for t in texts)


def attribution(respondent_type: object, sector: object = None, organisation: object = None,
                consent: object = "do_not_publish") -> str:
    """Who said it, without identifying a person.

    Args:
        respondent_type: ``individual`` | ``organisation`` | ``unknown``.
        sector: The organisation's sector (shown in brackets).
        organisation: The organisation's name: shown only when ``consent`` is ``publish_named``.
        consent: The respondent's consent.

    Returns:
        ``"Clinic Trust (health)"``, ``"An organisation (health)"``, ``"An individual"`` or ``"A respondent"``.
    """
    if respondent_type == "organisation":
        org, sec = _s(organisation), _s(sector)
        if consent == "publish_named" and org:
            return f"{org} ({sec})" if sec else org
        return f"An organisation ({sec})" if sec else "An organisation"
    if respondent_type == "individual":
        return "An individual"
    return "A respondent"


def publishable_text(frame: pd.DataFrame, responses: pd.DataFrame | None) -> pd.DataFrame:
    """The rows of ``frame`` whose text may be published, with who-said-it columns safe to print.

    The rows are chosen by :func:`publishable_rows` and taken once (no merged copy of the texts, then a filtered
    one); attributions are worked out once per distinct respondent type, sector, organisation and consent.

    Args:
        frame: Texts to publish, one row per text, keyed by ``response_id`` (redacted text and derived
            columns only).
        responses: ``core_responses`` (``respondent_type``, ``sector``, ``organisation``, ``consent``).
            ``None``: nothing is known about consent, so nothing is published.

    Returns:
        The rows of respondents whose consent is in :data:`PUBLISHABLE_CONSENT`, in their original order
        (index reset), with :data:`WHO_COLUMNS` set: ``organisation`` holds a name only for an organisation
        that chose ``publish_named``, ``attribution`` comes from :func:`attribution`. Dropped: rows whose
        response is unknown to ``responses``, and texts naming their own organisation without ``publish_named``.

    Raises:
        PublicationError: ``frame`` has a column of :data:`RAW_COLUMNS`.
    """
    _refuse_raw(frame)
    base = frame.drop(columns=[c for c in [*WHO_COLUMNS, "consent"] if c in frame.columns]).reset_index(drop=True)
    if responses is None or base.empty:
        return base.iloc[0:0].reindex(columns=[*base.columns, *WHO_COLUMNS])
    kept = publishable_rows(base, responses)
    if kept is None:
        return _publishable_merged(base, responses)
    rows, who = kept
    return safe_who(pd.concat([base.iloc[rows].reset_index(drop=True), who], axis=1))


def _refuse_raw(frame: pd.DataFrame) -> None:
    raw = [c for c in RAW_COLUMNS if c in frame.columns]
    if raw:
        raise PublicationError(f"refusing to publish raw or identifying columns {raw}: publish only redacted text")


def publishable_rows(frame: pd.DataFrame, responses: pd.DataFrame,
                     texts: Callable[[np.ndarray], list[list]] | None = None) -> tuple[np.ndarray, pd.DataFrame] | None:
    """The rows of ``frame`` :func:`publishable_text` keeps, and their respondents, without copying a text.

    The respondents are joined by row number; the self-naming check reads the texts of the rows it may drop only
    (an organisation name of at least 3 characters, consent other than ``publish_named``).

    Args:
        frame: ``response_id`` of each text (no column of :data:`RAW_COLUMNS`, nor of :data:`WHO_COLUMNS`).
        responses: ``core_responses``.
        texts: The values of the text columns (:data:`TEXT_COLUMNS` order) of the given rows of ``frame``, for the
            self-naming check (default: ``frame``'s own columns of :data:`TEXT_COLUMNS`).

    Returns:
        ``(rows, who)``: the kept rows' positions in ``frame``, ascending, and their ``respondent_type``,
        ``sector``, ``organisation`` and ``consent`` (one row each, index reset; finish with :func:`safe_who`);
        ``None`` when a respondent column is neither text nor ``object`` (a missing match would change its dtype in
        the merge :func:`publishable_text` stands for: merge instead).
    """
    _refuse_raw(frame)
    who = responses[["response_id", *WHO_COLUMNS[:3], "consent"]].drop_duplicates("response_id")
    if not all(who[c].dtype == object or isinstance(who[c].dtype, pd.StringDtype) for c in who.columns[1:]):
        return None
    if texts is None:
        def texts(rows: np.ndarray) -> list[list]:
            return [values(frame[c].iloc[rows]) for c in TEXT_COLUMNS if c in frame.columns]
    found_at = key_rows(frame, who, "response_id")  # who's ids are unique: the merge's rows, by Arrow
    if found_at is None:
        at = frame[["response_id"]].merge(who[["response_id"]].assign(_w=np.arange(len(who))), on="response_id",
                                          how="left", validate="many_to_one")["_w"].to_numpy(dtype=float,
                                                                                             na_value=np.nan)
        found_at = np.where(np.isnan(at), -1, at).astype(np.int64)
    found = found_at >= 0
    w = np.where(found, found_at, 0)
    consent = who["consent"].to_numpy(dtype=object, na_value=None)[w]
    rows = np.flatnonzero(found & np.logical_or.reduce([consent == c for c in PUBLISHABLE_CONSENT]))
    org_codes, orgs = pd.factorize(who["organisation"])
    long_org = np.array([len(_s(o).casefold()) >= 3 for o in orgs] + [False], dtype=bool)  # [-1]: missing
    at_check = np.flatnonzero(long_org[org_codes[w[rows]]] & (consent[rows] != "publish_named"))
    if len(at_check):
        check = rows[at_check]
        cols = texts(check)
        names = [orgs[k] for k in org_codes[w[check]].tolist()]
        named_self = np.array([_names(o, tuple(col[i] for col in cols)) for i, o in enumerate(names)], dtype=bool)
        rows = np.delete(rows, at_check[named_self])  # rows ascending and distinct: np.setdiff1d's result
    return rows, who.iloc[w[rows], 1:].reset_index(drop=True)


def safe_who(out: pd.DataFrame) -> pd.DataFrame:
    """``out`` (rows of :func:`publishable_rows` with their respondents) with an organisation named only when it
    chose ``publish_named``, the ``attribution`` column added and ``consent`` dropped."""
    named = (out["consent"] == "publish_named") & (out["respondent_type"] == "organisation")
    out["organisation"] = out["organisation"].where(named, None)
    out["attribution"] = _attributions(out)
    return out.drop(columns="consent")


def _attributions(out: pd.DataFrame) -> list[str]:
    """:func:`attribution` of each row of ``out``, called once per distinct combination of its four columns."""
    code = np.zeros(len(out), dtype=np.int64)
    uniques = []
    for c in ("respondent_type", "sector", "organisation", "consent"):
        k, u = pd.factorize(out[c])
        code = code * (len(u) + 1) + (k + 1)  # 0: missing
        uniques.append([None, *u])
    if not len(out):
        return []
    combos, inverse = np.unique(code, return_inverse=True)
    found = []
    for v in combos.tolist():
        parts = []
        for u in reversed(uniques):
            v, k = divmod(v, len(u))
            parts.append(u[k])
        found.append(attribution(*reversed(parts)))
    return np.asarray(found, dtype=object)[inverse.reshape(-1)].tolist()


def _publishable_merged(base: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    """:func:`publishable_text` by merging the respondents into the texts (the code it replaces; its test compares
    the two); still used when a respondent column is neither text nor ``object``."""
    who = responses[["response_id", *WHO_COLUMNS[:3], "consent"]]
    out = base.merge(who.drop_duplicates("response_id"), on="response_id", how="left", validate="many_to_one")
    out = out[out["consent"].isin(PUBLISHABLE_CONSENT)].reset_index(drop=True)
    texts = [values(out[c]) for c in TEXT_COLUMNS if c in out.columns]
    self_named = [c != "publish_named" and _names(o, tuple(col[i] for col in texts))
                  for i, (c, o) in enumerate(zip(values(out["consent"]), values(out["organisation"]), strict=True))]
    out = out[~pd.Series(self_named, index=out.index, dtype=bool)].reset_index(drop=True)
    named = (out["consent"] == "publish_named") & (out["respondent_type"] == "organisation")
    out["organisation"] = out["organisation"].where(named, None)
    out["attribution"] = [attribution(t, s, o, c) for t, s, o, c in
                          zip(*(values(out[k]) for k in ("respondent_type", "sector", "organisation", "consent")),
                              strict=True)]
    return out.drop(columns="consent")
