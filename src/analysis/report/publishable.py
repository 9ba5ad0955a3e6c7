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

import pandas as pd
import pyarrow as pa

from analysis.config import PUBLISHABLE_CONSENT

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
    raw = [c for c in RAW_COLUMNS if c in frame.columns]
    if raw:
        raise PublicationError(f"refusing to publish raw or identifying columns {raw}: publish only redacted text")
    base = frame.drop(columns=[c for c in [*WHO_COLUMNS, "consent"] if c in frame.columns]).reset_index(drop=True)
    if responses is None or base.empty:
        return base.iloc[0:0].reindex(columns=[*base.columns, *WHO_COLUMNS])
    who = responses[["response_id", "respondent_type", "sector", "organisation", "consent"]]
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
