"""Offline, reproducible analysis of public consultation responses.

Stages (one module each): :mod:`analysis.ingest`, :mod:`analysis.redaction`, :mod:`analysis.campaigns`,
:mod:`analysis.themes`, :mod:`analysis.positions`, :mod:`analysis.counts`, :mod:`analysis.charts`,
:mod:`analysis.report`; :mod:`analysis.cli` chains them. Paths come from :mod:`analysis.paths`, the
consultation's settings from :mod:`analysis.config`, table contracts from :mod:`analysis.schemas`.
"""

import os as _os

# One BLAS/OpenMP thread unless the user says otherwise: multi-threaded BLAS sums floats in a different order,
# which changes classifier outputs in the last digits (measured: 572 of 6,396 position rows differed between a
# threaded and a single-threaded run). Set before numpy/scipy load their BLAS; `analysis.pipeline` also limits
# already-loaded libraries with threadpoolctl.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
