"""Re-execute the committed notebooks in place, or check that doing so twice changes no byte.

``python scripts/run_notebooks.py [NAME ...]`` is ``analysis notebooks --in-place`` (what ``make notebooks``
runs). ``--check`` executes them twice and exits 1 naming every notebook whose bytes differ between the two
runs (the stored outputs must be deterministic, or nbval in CI would compare against noise).
"""

from __future__ import annotations

import argparse
import hashlib
import sys

from analysis.notebooks import execute_in_place, notebook_paths


def _digests(names: list[str] | None) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in notebook_paths(names)}


def main(argv: list[str]) -> int:
    """Run the notebooks (and with ``--check`` compare two runs); returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook stems (e.g. 03_themes); default: all")
    parser.add_argument("--check", action="store_true", help="run twice; fail if the second run changes a byte")
    args = parser.parse_args(argv)
    names = args.names or None
    for p in execute_in_place(names):
        print(f"executed notebooks/{p.name}")
    if not args.check:
        return 0
    first = _digests(names)
    execute_in_place(names)
    changed = sorted(n for n, d in _digests(names).items() if first[n] != d)
    for n in changed:
        print(f"not deterministic: notebooks/{n} changed on a second run", file=sys.stderr)
    print("byte-identical on a second run" if not changed else f"{len(changed)} notebook(s) changed")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
