"""The ingest stage: every configured source -> the canonical ``core_*`` tables, a ledger and rejects.

For a Pol.is source it also writes the statements' vote tallies (``core_statement_votes``), from the raw
export on every run: the positions stage reads them only from the processed folder.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis import engine
from analysis.config import ConsultationConfig, SourceConfig, source_path
from analysis.errors import ConfigError, InputError
from analysis.ingest import langprefetch, polis
from analysis.ingest.build import (
    AnswerRows,
    SourceRows,
    block_listener,
    merge,
    questions_table,
    unmapped_error,
)
from analysis.ingest.formats import export_format
from analysis.ingest.langprefetch import Prefetch, todo_starts
from analysis.ingest.language import UNDETERMINED, LanguageGuesser, default_guesser, guess_languages
from analysis.schemas import SCHEMAS
from analysis.tables import partition_rows, remove_table, write_partitions, write_table

logger = logging.getLogger(__name__)

#: Tables :func:`run` writes (the rejects table last); ``core_statement_votes`` only when a source is Pol.is.
#: Distinct answer beginnings given to the language guesser at a time (lingua holds 75 values for each).
GUESS_BATCH = 20_000
OUTPUT_TABLES = ("core_questions", "core_responses", "core_answers", "core_analyst_tags", "ledger",
                 "core_statement_votes", "core_rejects")


def _frame(rows: list[dict], table: str) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(SCHEMAS[table].columns))


def read_source(cfg: ConsultationConfig, source: SourceConfig, raw_dir: Path) -> SourceRows:
    """Read one source with the reader for its ``format``.

    Raises:
        InputError: The file cannot be read at all.
        ConfigError: The config does not fit the file (missing column, sheet, question id), or ``file`` leaves
            ``raw_dir`` or goes through a symbolic link.
    """
    path = source_path(raw_dir, source.file)  # inside raw_dir, through no symbolic link (else ConfigError)
    label = Path(source.file).as_posix()
    if not path.exists():
        raise InputError(label, f"source not found under {raw_dir}")
    fmt = export_format(source.format)
    return fmt.read(fmt, cfg, source, path, label)


def _open_ids(cfg: ConsultationConfig) -> pa.Array | None:
    """Ids of the open questions whose answers' languages are guessed (``None``: no detection)."""
    if not cfg.settings.language_detection:
        return None
    return pa.array(sorted(q.id for q in cfg.questions if q.kind == "open"), pa.large_string())


def _answers_frame(cfg: ConsultationConfig, rows: AnswerRows, guesser: LanguageGuesser | None,
                   key_order: bool = False, prefetch: Prefetch | None = None) -> pd.DataFrame:
    """``core_answers`` of ``rows``: an export's own language kept, else ``und`` or (open answers, when
    ``settings.language_detection``) the guessed one.

    The answers stay Arrow columns (:meth:`~analysis.ingest.build.AnswerRows.table`) until the frame wraps them;
    languages are settled a block of rows at a time (:func:`_languages`). With ``key_order`` the rows are put in
    key order (response, question) first: :func:`~analysis.tables.write_table` then stores the frame as it is
    instead of copying every column into that order; ``rows`` is then emptied, and a column's blocks go once it
    is one array, before it is put in order (at most two copies of the texts at a time). ``prefetch``: the worker
    that guessed languages while the rows were read (:mod:`analysis.ingest.langprefetch`).
    """
    held = _answers_columns(cfg, rows, guesser, key_order, prefetch)
    if held is None:
        return pd.DataFrame([], columns=list(SCHEMAS["core_answers"].columns))
    cols, order = held.columns, held.order
    out = {}
    for name in list(cols):  # one column at a time: a consumed column's blocks go once it is one array
        col = _one_chunk(cols.pop(name))
        out[name] = col if order is None else col.take(order)
        del col
    return pa.table(out).to_pandas()


class KeyOrderedAnswers:
    """``core_answers`` held as Arrow columns in file order, and the rows' key order: given a part at a time.

    :func:`run` writes a table of more than :func:`~analysis.tables.partition_rows` answers from this, one
    partition's rows put in order and made a frame at a time (:func:`~analysis.tables.write_partitions`), so neither
    a second copy of the texts nor every answer as a Python string is ever held (at 2,000,000 responses: the
    stage's peak 10,019 -> 9,365 MB, the same files).

    Args:
        columns: The table's columns (``core_answers``' order), in file order: Arrow blocks.
        order: Row indices putting them in key order, or ``None`` when they are.
    """

    def __init__(self, columns: dict[str, pa.ChunkedArray], order: pa.Array | None) -> None:
        self.columns = columns
        self.order = order
        self._rows = len(next(iter(columns.values())))

    def __len__(self) -> int:
        return self._rows

    def parts(self, rows: int) -> Iterator[pd.DataFrame]:
        """The table in key order, ``rows`` rows a frame (the frames :func:`_answers_frame` gives, cut there)."""
        order = None if self.order is None else np.asarray(self.order.to_numpy(), dtype=np.int64)
        for start in range(0, self._rows, rows):
            stop = min(start + rows, self._rows)
            idx = np.arange(start, stop, dtype=np.int64) if order is None else order[start:stop]
            yield pa.table({name: _take(col, idx) for name, col in self.columns.items()}).to_pandas()

    def frame(self) -> pd.DataFrame:
        """The whole table as one frame (what :func:`_answers_frame` gives)."""
        return pd.concat(list(self.parts(self._rows)), ignore_index=True) if self._rows else pd.DataFrame(
            [], columns=list(self.columns))


def _take(col: pa.ChunkedArray, idx: np.ndarray) -> pa.Array:
    """``col.take(idx)`` as one array, copying only the rows taken: Arrow's ``take`` of a chunked array first
    joins its chunks (a copy of the whole column, measured: 1.1 GB for a 1.1 GB column)."""
    if col.num_chunks == 1:
        return col.chunk(0).take(pa.array(idx))
    if not len(idx):
        return pa.array([], col.type)
    sizes = np.fromiter((len(c) for c in col.chunks), dtype=np.int64, count=col.num_chunks)
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    which = np.searchsorted(bounds, idx, side="right") - 1
    by_chunk = np.argsort(which, kind="stable")
    idx_sorted, which_sorted = idx[by_chunk], which[by_chunk]
    runs = np.flatnonzero(np.r_[True, which_sorted[1:] != which_sorted[:-1]])
    ends = np.r_[runs[1:], len(idx)]
    pieces = [col.chunk(int(which_sorted[a])).take(pa.array(idx_sorted[a:b] - bounds[which_sorted[a]]))
              for a, b in zip(runs.tolist(), ends.tolist(), strict=True)]
    gathered = pa.concat_arrays(pieces)
    back = np.empty(len(idx), dtype=np.int64)
    back[by_chunk] = np.arange(len(idx), dtype=np.int64)
    return gathered.take(pa.array(back))


def _answers_columns(cfg: ConsultationConfig, rows: AnswerRows, guesser: LanguageGuesser | None,
                     key_order: bool, prefetch: Prefetch | None) -> KeyOrderedAnswers | None:
    """The answers' columns (``core_answers``' order, languages settled) and their key order when ``key_order``
    (``rows`` is then emptied); ``None`` when there is no answer."""
    table = rows.table(consume=key_order)
    if not table.num_rows:
        return None
    cols = dict(zip(table.column_names, table.columns, strict=True))
    cols["language"] = _languages(table, _open_ids(cfg), guesser, prefetch)
    order = _key_order(table) if key_order else None
    del table
    return KeyOrderedAnswers({name: cols.pop(name) for name in SCHEMAS["core_answers"].columns}, order)


def _languages(table: pa.Table, open_ids: pa.Array | None, guesser: LanguageGuesser | None,
               prefetch: Prefetch | None = None) -> pa.ChunkedArray:
    """The ``language`` column: the export's own code, else ``und``, else (an answer to a question in ``open_ids``)
    the guess.

    The guess depends on a text's first :data:`~analysis.ingest.language.MAX_CHARS` characters alone, so each
    distinct beginning of a group of blocks is guessed once (:func:`_settle`), :data:`GUESS_BATCH` at a time: only
    those beginnings become Python strings, and lingua's confidence values (75 objects a text) are never held for
    every text at once. The beginnings are found a block of rows at a time, and settled a group of blocks holding
    :data:`SETTLE_AT` distinct beginnings at a time, so neither a copy of every text nor every distinct beginning
    is held (at 2,000,000 responses the latter had added 3 GB to the stage's peak). With ``prefetch`` the codes come
    from its worker when it has them (the same codes: a guess depends on the text alone).
    """
    langs: list[pa.Array] = []
    group: list[tuple[int, pa.Array, pa.DictionaryArray]] = []  # (block, rows to guess, their beginnings)
    held = 0
    for block in table.to_batches():
        own = block.column("language")
        declared = pc.fill_null(pc.not_equal(own, UNDETERMINED), False)  # None and "und" are not a language
        langs.append(pc.if_else(declared, own, pa.scalar(UNDETERMINED, pa.large_string())))
        if open_ids is None:
            continue
        todo, starts = todo_starts(block, open_ids)
        if not len(starts):
            continue
        group.append((len(langs) - 1, todo, pc.dictionary_encode(starts)))  # the block's distinct beginnings
        held += len(group[-1][2].dictionary)
        if held >= SETTLE_AT:
            _settle(group, langs, guesser, prefetch)
            group, held = [], 0
    _settle(group, langs, guesser, prefetch)
    return pa.chunked_array(langs, pa.large_string())


#: Distinct beginnings (counted block by block) whose codes :func:`_languages` settles at a time.
SETTLE_AT = 8 * GUESS_BATCH


def _settle(group: list[tuple[int, pa.Array, pa.DictionaryArray]], langs: list[pa.Array],
            guesser: LanguageGuesser | None, prefetch: Prefetch | None) -> None:
    """Put the guessed code of each row to guess of ``group``'s blocks in ``langs`` (each distinct beginning of the
    group guessed once, in the order they first occur)."""
    if not group:
        return
    merged = pc.dictionary_encode(pa.concat_arrays([enc.dictionary for _b, _t, enc in group]))
    distinct, where = merged.dictionary, merged.indices  # where: a block's beginning -> its distinct one
    del merged
    codes = prefetch.codes(distinct) if prefetch is not None else None
    if codes is None and guesser is None:
        codes = _guessed_on_cluster(distinct)
    if codes is None:
        guesser = guesser or default_guesser()
        codes = pa.array([code for i in range(0, len(distinct), GUESS_BATCH)
                          for code in guesser.guess(distinct.slice(i, GUESS_BATCH).to_pylist())], pa.large_string())
    del distinct
    start = 0
    for i, todo, enc in group:
        size = len(enc.dictionary)
        langs[i] = pc.replace_with_mask(langs[i], todo, codes.take(where.slice(start, size).take(enc.indices)))
        start += size


def _guessed_on_cluster(distinct: pa.Array) -> pa.Array | None:
    """The default guesser's codes for ``distinct`` computed on the Dask engine's cluster, :data:`GUESS_BATCH`
    beginnings a task (``ingest-language``); ``None`` on the local engine, or when the cluster fails (with a
    warning: the caller then guesses here, the same codes)."""
    eng = engine.active()
    if eng is None:
        return None
    batches = [distinct.slice(i, GUESS_BATCH).to_pylist() for i in range(0, len(distinct), GUESS_BATCH)]
    try:
        guessed = eng.map(guess_languages, batches, label="ingest-language")
    except engine.EngineError as err:
        logger.warning("language guessing on the Dask cluster failed (%s); guessing here", err)
        return None
    return pa.array([code for batch in guessed for code in batch], pa.large_string())


def _key_order(table: pa.Table) -> pa.Array | None:
    """Row indices putting ``table`` in key order (response, question; stable), ``None`` when it already is."""
    keys = table.select(["response_id", "question_id"])
    order = pc.sort_indices(keys, sort_keys=[("response_id", "ascending"), ("question_id", "ascending")])
    if pc.all(pc.equal(order, pa.array(np.arange(len(order), dtype=np.uint64)))).as_py():
        return None
    return order


def _one_chunk(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """``col`` as one array (the frame's columns are one chunk each, as a frame built from lists has them)."""
    if isinstance(col, pa.ChunkedArray):
        return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    return col


def assemble(cfg: ConsultationConfig, rows: SourceRows, guesser: LanguageGuesser | None = None, *,
             consume: bool = False, prefetch: Prefetch | None = None, parts_above: int | None = None,
             ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Turn merged source rows into the ingest tables (pure: no I/O).

    Args:
        cfg: The config (questions; ``settings.language_detection``).
        rows: All sources' rows (see :func:`~analysis.ingest.build.merge`).
        guesser: Language guesser (default: the module-level lingua one).
        consume: ``rows`` is the caller's to give up: its answers are emptied once the answers table holds them
            (a million answers' texts are not kept twice), and the answers table is in key order (response,
            question), the order it is stored in, rather than file order.
        prefetch: Languages guessed in a worker while the rows were read (see :func:`ingest`).
        parts_above: With ``consume``, more answers than this are given as a :class:`KeyOrderedAnswers` (made a
            frame a part at a time when written) instead of a frame.

    Returns:
        ``(tables, rejects)`` as :func:`ingest`.

    Raises:
        ConfigError: Unmapped closed-answer labels, or two sources giving the same response id / file.
    """
    if rows.unmapped:
        raise unmapped_error(rows.unmapped)
    dup_ids = [k for k, n in Counter(rows.responses.column("response_id")).items() if n > 1]
    if dup_ids:
        raise ConfigError(f"two sources produce the same response ids (give the files different names): {sorted(dup_ids)[:5]}")
    dup_files = [k for k, n in Counter(r["file"] for r in rows.ledger).items() if n > 1]
    if dup_files:
        raise ConfigError(f"the same file is configured as a source twice: {sorted(dup_files)}")
    if consume and parts_above is not None and len(rows.answers) > parts_above:
        answers = _answers_columns(cfg, rows.answers, guesser, True, prefetch)
    else:
        answers = _answers_frame(cfg, rows.answers, guesser, key_order=consume, prefetch=prefetch)
    if consume:  # the frame holds its own (Arrow) copy of the texts: the rows' strings can go now
        rows.answers = AnswerRows()
    tags = _frame(rows.tags, "core_analyst_tags").drop_duplicates(["response_id", "question_id", "tag"])
    responses = rows.responses.frame(consume=consume)
    responses["submitted_at"] = pd.to_datetime(responses["submitted_at"]).astype("datetime64[ns]")
    tables = {
        "core_questions": questions_table(cfg),
        "core_responses": responses,
        "core_answers": answers,
        "core_analyst_tags": tags.reset_index(drop=True),
        "ledger": _frame(rows.ledger, "ledger"),
    }
    rejects = _frame(rows.rejects, "core_rejects")
    rejects["row"] = rejects["row"].astype("Int64")
    return tables, rejects


def ingest(cfg: ConsultationConfig, raw_dir: Path, guesser: LanguageGuesser | None = None, *,
           parts_above: int | None = None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Read every source of ``cfg`` into the canonical tables.

    Args:
        cfg: The consultation config.
        raw_dir: Folder the sources' ``file`` paths are relative to.
        guesser: Language guesser (default: the module-level lingua one).
        parts_above: More answers than this are given as a :class:`KeyOrderedAnswers` (see :func:`assemble`).

    Returns:
        ``(tables, rejects)``: ``tables`` maps ``core_questions``, ``core_responses``, ``core_answers``,
        ``core_analyst_tags``, ``ledger`` and, when a source is Pol.is, ``core_statement_votes`` to
        DataFrames; ``rejects`` is ``core_rejects``.

    Raises:
        InputError: A file cannot be read (names the file, and row/column when known).
        ConfigError: The config does not fit the files (every problem of one kind listed at once).
    """
    open_ids = _open_ids(cfg)
    # the default guesser's work goes to a worker, a block of answers at a time, while the files are read (on the
    # Dask engine, to the cluster once they are read: _guessed_on_cluster)
    use = (guesser is None and open_ids is not None and len(open_ids) and engine.active() is None
           and langprefetch.worth_it())
    prefetch = Prefetch(open_ids) if use else None
    with prefetch or contextlib.nullcontext():
        with block_listener(prefetch):
            results = [read_source(cfg, s, Path(raw_dir)) for s in cfg.sources]
        votes = [r.statement_votes for r in results if isinstance(r, polis.PolisRows)]
        rows = merge(results)
        del results  # the merged rows hold everything now; the answers' strings go once the table holds them
        tables, rejects = assemble(cfg, rows, guesser, consume=True, prefetch=prefetch, parts_above=parts_above)
    if votes:
        tables["core_statement_votes"] = pd.concat(votes, ignore_index=True)
    return tables, rejects


def run(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path) -> list[Path]:
    """Stage entry point: :func:`ingest` and write :data:`OUTPUT_TABLES` to ``processed_dir``.

    A table this run does not produce (``core_statement_votes`` without a Pol.is source) is removed from
    ``processed_dir``, so one written for an earlier version of the config never outlives it.
    """
    per = partition_rows()
    tables, rejects = ingest(cfg, raw_dir, parts_above=per)
    tables["core_rejects"] = rejects
    out = []
    for name in OUTPUT_TABLES:
        table = tables.get(name)
        if isinstance(table, KeyOrderedAnswers):  # a part at a time (see the class)
            out.append(write_partitions(table.parts(per), name, processed_dir, len(table)))
        elif table is not None:
            out.append(write_table(table, name, processed_dir))
        else:
            remove_table(name, processed_dir)
    n_rej = int(tables["ledger"]["rows_rejected"].sum())
    logger.info("ingest: %d responses, %d answers, %d rejected rows (%d reject/warning entries)",
                len(tables["core_responses"]), len(tables["core_answers"]), n_rej, len(rejects))
    return out
