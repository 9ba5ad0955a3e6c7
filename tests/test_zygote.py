"""Runs ``tests/zygote_cases.py`` (the zygote's cases) in a fresh pytest process and requires every case to pass.

A zygote is forked only by a process that runs no other thread (a fork copies only the calling one). The whole
suite's process runs some by the time these cases come (asyncio's child-watcher thread stays after the browser
tests), so there the zygote would be refused and the cases would test the fallback only. (#18)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE / "zygote_cases.py"


def test_the_zygote_cases_pass_in_a_process_without_other_threads():
    expected = len(re.findall(r"^def test_", CASES.read_text(encoding="utf-8"), flags=re.M))
    assert expected >= 10
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(CASES)],
                          cwd=HERE.parent, env=env, capture_output=True, text=True, timeout=900)
    tail = done.stdout[-6000:] + done.stderr[-3000:]
    assert done.returncode == 0, tail
    assert re.search(rf"\b{expected} passed\b", done.stdout), tail  # every case ran: none skipped or deselected
