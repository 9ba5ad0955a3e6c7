"""Re-execute every notebook in place so its stored outputs match the code (``make notebooks``).

Runs each ``notebooks/NN_*.ipynb`` in order with the current environment's kernel, without timing metadata,
so the committed outputs are what nbval compares in CI. Pass notebook paths to run a subset.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path) -> None:
    """Execute one notebook in place (cwd = notebooks/)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=1800, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    print(f"executed {path.relative_to(ROOT)}")


def main(argv: list[str]) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    targets = [Path(a).resolve() for a in argv] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for p in targets:
        run(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
