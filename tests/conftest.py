"""Shared pytest setup: offline, deterministic, headless."""

from __future__ import annotations

import os

import analysis  # noqa: F401  (first: pins BLAS threads before numpy loads)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
