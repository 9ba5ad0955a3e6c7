"""Exceptions with messages an analyst can act on (file, row, column, reason)."""

from __future__ import annotations


class AnalysisError(Exception):
    """Base class for every error the toolkit raises on purpose."""


class ConfigError(AnalysisError):
    """The consultation config is invalid, names a missing file, column or choice."""


class InputError(AnalysisError):
    """An input file cannot be read at all.

    Args:
        file: The file that failed.
        reason: What is wrong, in words an analyst understands.
        row: 1-based row number in the file, when known.
        column: Column name, when known.
    """

    def __init__(self, file: str, reason: str, row: int | None = None, column: str | None = None):
        self.file, self.reason, self.row, self.column = str(file), reason, row, column
        where = f"{file}"
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple:
        """Rebuilt from its fields (a stage's error crosses from its process to the pipeline's:
        :mod:`analysis.stageproc`)."""
        return (type(self), (self.file, self.reason, self.row, self.column))


class TableSchemaError(AnalysisError):
    """A persisted table does not match its schema (wrong dtype, missing column, duplicate key)."""
