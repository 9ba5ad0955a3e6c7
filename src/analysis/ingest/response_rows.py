"""``core_responses`` rows of a source as they are read: blocks of rows made frames, not a dict a response.

A reader makes one dict per kept row (:meth:`analysis.ingest.build._SourceReader.response`), every one held until
the table is built. :class:`ResponseRows` takes the dicts as a list would and turns every :data:`RESPONSE_BLOCK` of
them into a frame (``pd.DataFrame(dicts, columns=...)``, as the table is built from them), which holds a pointer a
value (the strings are the dicts' own), so a block's dicts go once it is made: at 2,000,000 responses the ingest
stage's process held 5.6 GB once the export was read, against 6.2 GB with the dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.schemas import SCHEMAS

#: Kept rows turned into a frame at a time.
RESPONSE_BLOCK = 1 << 16
#: The columns of every block: ``core_responses``' (a key a row's dict lacks is missing there, as in a frame made
#: of the dicts).
COLUMNS = tuple(SCHEMAS["core_responses"].columns)


class ResponseRows:
    """``core_responses`` rows in file order: frame blocks, then the rows added since (dicts).

    Reads like the list of dicts it replaced for what the readers do with it (``append``, ``len``, ``+=`` of a list
    or of another :class:`ResponseRows`); :meth:`column` and :meth:`set_column` give and take one column of every
    row; :meth:`frame` gives the table (the frame ``pd.DataFrame(every dict, columns=COLUMNS)`` is).
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]] = ()) -> None:
        self._blocks: list[pd.DataFrame] = []
        self._pending: list[Mapping[str, Any]] = []
        self._n_blocks = 0
        self += rows

    def append(self, row: Mapping[str, Any]) -> None:
        """Add one row (a dict of ``core_responses`` values)."""
        self._pending.append(row)
        if len(self._pending) >= RESPONSE_BLOCK:
            self.flush()

    def flush(self) -> None:
        """Turn the rows added since the last flush into a block."""
        if self._pending:
            self._blocks.append(pd.DataFrame(self._pending, columns=list(COLUMNS)))
            self._n_blocks += len(self._pending)
            self._pending = []

    def __iadd__(self, rows: Iterable[Mapping[str, Any]]) -> ResponseRows:
        if isinstance(rows, ResponseRows):
            self.flush()
            rows.flush()
            self._blocks += rows._blocks
            self._n_blocks += rows._n_blocks
        else:
            for row in rows:
                self.append(row)
        return self

    def __len__(self) -> int:
        return self._n_blocks + len(self._pending)

    def column(self, name: str) -> list[Any]:
        """One column of every row, in order (the values the dicts held)."""
        self.flush()
        return [v for block in self._blocks for v in block[name].tolist()]

    def set_column(self, name: str, values: Sequence[Any] | np.ndarray) -> None:
        """Replace one column of every row with ``values`` (one a row, in order)."""
        self.flush()
        if len(values) != self._n_blocks:
            raise ValueError(f"ResponseRows.set_column({name!r}): {len(values)} values for {self._n_blocks} rows")
        start = 0
        for block in self._blocks:
            block[name] = values[start:start + len(block)]
            start += len(block)

    def frame(self, consume: bool = False) -> pd.DataFrame:
        """Every row as one frame (``consume``: the blocks are let go, the rows emptied)."""
        self.flush()
        blocks = self._blocks
        if consume:
            self._blocks, self._n_blocks = [], 0
        if not blocks:
            return pd.DataFrame([], columns=list(COLUMNS))
        return blocks[0].copy() if len(blocks) == 1 and not consume else pd.concat(blocks, ignore_index=True)
