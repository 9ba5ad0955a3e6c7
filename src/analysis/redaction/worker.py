"""The redaction worker process, ``python -m analysis.redaction.worker MODULE:FUNCTION`` (see :mod:`.parallel`)."""

from __future__ import annotations

import sys

from analysis.redaction.parallel import serve

if __name__ == "__main__":  # pragma: no cover - run in the worker process
    serve(sys.argv[1])
