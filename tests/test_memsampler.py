"""The end-to-end benchmark's measurements (``benchmarks/memsampler.py``): memory sampled by a separate process.

The former sampler was a thread of the measured process, which kept the run's zygote (``analysis.zygote``) from
forking. Each case runs in a fresh interpreter (the suite's own process may run other threads, see
``tests/test_zygote.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str) -> dict:
    """Run ``code`` (which prints one JSON line last) with ``benchmarks`` and ``src`` importable."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "benchmarks"), str(ROOT / "src")])
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_zygote_forks_while_memory_is_sampled_and_its_workers_cpu_is_counted():
    got = _run("""
import json, threading, time
from memsampler import PeakRSS, cpu_seconds, sampler_pid
from analysis import worker, zygote

def burn(seconds):
    t = time.process_time()
    while time.process_time() - t < seconds:
        pass
    return True

with PeakRSS() as mem:
    threads = threading.active_count()
    with zygote.running() as z:
        c = cpu_seconds()
        with worker.Worker() as w:
            w.call(burn, 0.6)
        worked = cpu_seconds() - c  # the zygote still runs: its worker was reaped by it, not by this process
        forked = z is not None and worker.STARTED["forked"] == 1
print(json.dumps({"threads": threads, "forked": forked, "worked": worked, "peak": mem.peak,
                  "sampler": sampler_pid()}))
""")
    assert got["threads"] == 1  # no sampling thread
    assert got["forked"]  # so the worker was forked by the zygote
    assert 0.5 <= got["worked"] < 1.5  # and its CPU seconds are in the measurement
    assert got["peak"] > 0 and got["sampler"]


def test_the_samplers_cpu_is_not_counted_and_a_childs_unique_memory_is():
    got = _run("""
import json, subprocess, sys, time
import psutil
from memsampler import PeakRSS, cpu_seconds, sampler_pid

with PeakRSS(every=0.001) as busy:  # the sampler reading as often as it may while this process sleeps
    c = cpu_seconds()
    before = sum(psutil.Process(sampler_pid()).cpu_times()[:2])
    time.sleep(3.0)  # about 1/31 of it reading (memsampler.WAIT_FACTOR)
    sampler_cpu = sum(psutil.Process(sampler_pid()).cpu_times()[:2]) - before
    spent = cpu_seconds() - c
code = "import time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); print(1, flush=True); time.sleep(3)"
with PeakRSS() as mem:
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    child.stdout.readline()  # its 200 MB are written
    time.sleep(0.3)
    child.kill()
    child.wait()
print(json.dumps({"before": busy.peak, "peak": mem.peak, "spent": spent, "sampler_cpu": sampler_cpu}))
""")
    assert got["sampler_cpu"] > 0.05  # the sampler did work during the block ...
    assert got["spent"] < 0.03  # ... that is not counted in this process tree's CPU seconds
    assert got["peak"] - got["before"] >= 180 * 2**20  # a child's own pages are


def test_system_seconds_count_a_childs_page_faults_and_not_its_computing():
    got = _run("""
import json, subprocess, sys
from memsampler import cpu_seconds

def measured(code):
    c, s = cpu_seconds(), cpu_seconds(system_only=True)
    subprocess.run([sys.executable, "-c", code], check=True)
    return cpu_seconds() - c, cpu_seconds(system_only=True) - s

# 1 GB of new pages, each written once: the kernel maps and zeroes every one (system time)
faults = measured("b = bytearray(2**30); b[::4096] = b'x' * len(b[::4096])")
# arithmetic in Python touching no new memory (and no clock: reading the CPU clock is a system call): user time
loop = measured("x = 0\\nfor i in range(10**7): x += i * i")
print(json.dumps({"faults": faults, "loop": loop}))
""")
    (f_cpu, f_sys), (l_cpu, l_sys) = got["faults"], got["loop"]
    assert 0.05 < f_sys <= f_cpu  # the page faults are system time, part of the CPU time
    assert l_cpu >= 0.2 and l_sys < 0.5 * l_cpu  # the loop's time is mostly user time
