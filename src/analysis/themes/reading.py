"""The themed answers as the themes stage holds them: read a partition at a time, the campaign letters let go.

At 5,000,000 responses with 90% campaign copies the open answers' texts are 6.3 GB, nearly all of it the copies'
letters, which the stage reads only to fit its embedding space (every distinct text) and to find placeholders: a
copy's text unit is its campaign's template (:func:`analysis.themes.fit.prepare_question`). So the table is read a
part at a time (:func:`analysis.tables.iter_table`) and each part, before its copies' texts are emptied
(:func:`without_template_texts`), gives what those two read of it:

* its distinct texts, added to the corpus in the order first met (:func:`analysis.themes.rows.add_distinct`);
* its short texts and answers per question (:func:`analysis.themes.fit.placeholder_keys`);
* the rows of the responses an analyst tagged (the tags' attribution and the opt-in fine-tuning read their texts).

:func:`themed_of` makes the same :class:`Themed` from a frame in memory (one part), so both paths share every step:
what the stage computes from them is the same, byte for byte (``tests/test_themes_reading.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.tables import iter_table, table_rows
from analysis.themes.fit import placeholder_keys, placeholders_of
from analysis.themes.rows import add_distinct, filter_rows, is_in


@dataclass
class Themed:
    """The themed answers of a consultation, as :func:`analysis.themes.stage.theme_all` reads them.

    Attributes:
        rows: The open questions' ``core_answers_clean`` rows, in file order, with ``text_redacted`` emptied where
            it is never read (:func:`without_template_texts`).
        texts: Every distinct ``text_redacted`` (as ``str``) of the rows before that, in the order first met: the
            first part of the embedding space's corpus.
        placeholders: :func:`~analysis.themes.fit.find_placeholders` of the rows before that (``None`` when not
            asked for).
        tagged: The rows, texts kept, of the responses with an analyst tag (all of ``rows``' columns).
    """

    rows: pd.DataFrame
    texts: list[str]
    placeholders: dict[str, int] | None
    tagged: pd.DataFrame


def without_template_texts(sub: pd.DataFrame, campaigns: pd.DataFrame | None) -> pd.DataFrame:
    """``sub`` with ``text_redacted`` emptied where :func:`~analysis.themes.fit.prepare_question` never reads it:
    the campaign copies whose campaign has a (non-empty) template, whose unit is that template.

    The other columns are the same arrays (no copy); an Arrow-backed text column is rebuilt by PyArrow, holding
    only the texts still read, so the copies' letters are freed once no one else holds ``sub``.
    """
    if campaigns is None or not len(campaigns) or not len(sub):
        return sub
    # the templates as prepare_question reads them (fit._units): a copy's unit is its template when that is truthy
    templates = dict(zip(campaigns["campaign_id"].astype(str), campaigns["template"].astype(str), strict=True))
    templated = {c for c, t in templates.items() if t}
    if not templated:
        return sub
    unused = sub["is_campaign_copy"].fillna(False).astype(bool).to_numpy() & is_in(sub["campaign_id"], templated)
    if not unused.any():
        return sub
    col = sub["text_redacted"]
    chunked = getattr(col.array, "_pa_array", None)
    if chunked is not None:
        import pyarrow as pa  # noqa: PLC0415 - pandas' Arrow-backed columns need it anyway
        import pyarrow.compute as pc  # noqa: PLC0415

        kept = pd.array(pc.if_else(pa.array(~unused), chunked, pa.scalar("", type=chunked.type)), dtype=col.dtype)
        text = pd.Series(kept, index=col.index, name=col.name)
    else:
        text = col.mask(unused, "")
    return sub.assign(text_redacted=text)


def themed_of(sub: pd.DataFrame, campaigns: pd.DataFrame | None, tags: pd.DataFrame | None, *,
              texts: bool = True, keys: bool = True) -> Themed:
    """:class:`Themed` of the themed rows ``sub`` held in memory (its index kept; ``texts=False``: no corpus;
    ``keys=False``: no placeholders, ``None``)."""
    return _collect([sub], campaigns, tags, whole=True, texts=texts, keys=keys)


@dataclass(frozen=True)
class StoredAnswers:
    """``core_answers_clean``'s rows of some questions in a processed folder, read when :meth:`read` is called.

    Attributes:
        folder: The processed folder.
        question_ids: The questions whose rows are read (the open ones).
        columns: The columns read.
    """

    folder: Path
    question_ids: tuple[str, ...]
    columns: tuple[str, ...]

    def table_rows(self) -> int:
        """The table's rows, every question's (its files' metadata; nothing is read)."""
        return table_rows("core_answers_clean", self.folder)

    def read(self, campaigns: pd.DataFrame | None, tags: pd.DataFrame | None, *, texts: bool = True,
             keys: bool = True) -> Themed:
        """:class:`Themed` of the rows, read a part at a time (``texts=False``: no corpus; ``keys=False``: no
        placeholders, ``None``).

        Each part is validated as read (:func:`analysis.tables.iter_table`); what is held of it once the next is
        read is its rows with the copies' texts emptied, its distinct texts (those not met before), its short
        texts' keys and its tagged responses' rows. ``rows`` is the parts' rows concatenated (a new index, as
        :func:`~analysis.tables.read_table` gives).
        """
        parts = iter_table("core_answers_clean", self.folder, columns=list(self.columns),
                           where=("question_id", list(self.question_ids)))
        return _collect(parts, campaigns, tags, whole=False, texts=texts, keys=keys)


def _collect(parts: Iterable[pd.DataFrame], campaigns: pd.DataFrame | None, tags: pd.DataFrame | None, *,
             whole: bool, texts: bool, keys: bool) -> Themed:
    """:class:`Themed` of ``parts`` (each let go once read; ``whole``: one part, kept with its index)."""
    tag_ids = set(tags["response_id"].astype(str)) if tags is not None and len(tags) else set()
    seen: dict[str, None] = {}
    found, sizes, rows, tagged = [], [], [], []
    for part in parts:
        if texts:
            add_distinct(seen, part["text_redacted"].astype(str))
        if keys:
            k, n = placeholder_keys(part)
            found.append(k)
            sizes.append(n)
        tagged.append(filter_rows(part, is_in(part["response_id"], tag_ids)) if tag_ids else part.iloc[:0])
        rows.append(without_template_texts(part, campaigns))
        del part  # the texts emptied in ``rows`` are freed here, before the next part is read
    if whole:
        (out,), (tag,) = rows, tagged
    else:
        n_parts = len(rows)
        out, tag = (pd.concat(rows, ignore_index=True), pd.concat(tagged, ignore_index=True))
        if n_parts > 1:
            _unique_across_parts(out)
    rows.clear()
    placeholders = None if not keys else {} if not len(out) else placeholders_of(
        pd.concat(found, ignore_index=True) if len(found) > 1 else found[0],
        pd.concat(sizes).groupby(level=0).sum() if len(sizes) > 1 else sizes[0])
    return Themed(out, list(seen), placeholders, tag)


def _unique_across_parts(rows: pd.DataFrame) -> None:
    """Refuse ``core_answers_clean`` rows whose key repeats across its parts (each part's own keys were checked as
    it was read, as :func:`analysis.tables.read_table` checks the whole).

    Raises:
        TableSchemaError: Naming the table, the repeated key and its second row.
    """
    dup = rows.duplicated(["response_id", "question_id"]).to_numpy()
    if dup.any():
        from analysis.errors import TableSchemaError  # noqa: PLC0415

        i = int(dup.argmax())
        raise TableSchemaError(f"core_answers_clean: the key (response_id {rows['response_id'].iloc[i]!r}, "
                               f"question_id {rows['question_id'].iloc[i]!r}) is repeated across the table's parts "
                               f"(row {i} of the rows read): the table is not as write_table wrote it")
