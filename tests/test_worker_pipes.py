"""analysis.worker's pipes: wide pipes, a message that fits crosses in one write, larger ones in pieces (#18)."""

from __future__ import annotations

import os
import pickle
import threading
from pathlib import Path

import pytest

from analysis import worker as worker_mod
from analysis.worker import PIPE_BYTES, Worker


def _max_pipe() -> int:
    try:
        return int(Path("/proc/sys/fs/pipe-max-size").read_text())
    except (OSError, ValueError):
        return 0


wide = pytest.mark.skipif(_max_pipe() < PIPE_BYTES, reason="this system does not allow pipes of PIPE_BYTES")


def _drain(fd: int, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        while chunk := os.read(fd, 1 << 16):
            into.append(chunk)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


@wide
def test_a_message_that_fits_the_pipe_is_written_in_one_call(monkeypatch):
    r, w = os.pipe()
    try:
        assert worker_mod._widen(w) == PIPE_BYTES
        calls: list[int] = []
        real_write = os.write

        def counting(fd: int, data: bytes) -> int:
            calls.append(len(data))
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", counting)
        msg = (len, ([f"letter {i} " * 40 for i in range(600)],))  # ~250 KB: four pickle frames
        out = worker_mod._Outbox(w)
        pickle.dump(msg, out, protocol=pickle.HIGHEST_PROTOCOL)
        assert calls == []  # held until flushed
        out.flush()
        monkeypatch.undo()
        expected = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
        assert len(calls) == 1 and calls[0] == len(expected) > 2 * 65536  # more than a default pipe holds
        got: list[bytes] = []
        os.close(w)
        w = -1
        _drain(r, got).join()
        assert b"".join(got) == expected
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_a_large_message_is_written_in_pieces_none_above_the_piece_size_but_large_buffers(monkeypatch):
    r, w = os.pipe()
    got: list[bytes] = []
    reader = _drain(r, got)
    sizes: list[int] = []
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: sizes.append(len(data)) or real_write(fd, data))
    msg = ([f"line {i} " * 30 for i in range(20_000)], b"\x00" * (2 * PIPE_BYTES))  # ~5 MB of frames, 2 MB bytes
    out = worker_mod._Outbox(w)
    pickle.dump(msg, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()
    monkeypatch.undo()
    os.close(w)
    reader.join()
    os.close(r)
    assert pickle.loads(b"".join(got)) == msg
    assert len(sizes) > 3  # in pieces, never held whole
    assert max(sizes) >= 2 * PIPE_BYTES  # the large buffer went out as it was
    assert sorted(sizes)[-2] < 2 * PIPE_BYTES  # the frames: a piece at a time (the last frame may tip it over)


@wide
def test_the_worker_pipes_are_widened():
    import fcntl

    with Worker() as w:
        assert w.room == 0
        assert w.call(len, "abc") == 3
        assert w.room == PIPE_BYTES
        assert fcntl.fcntl(w._in.fileno(), fcntl.F_GETPIPE_SZ) == PIPE_BYTES
    assert w.room == 0


def test_results_larger_than_the_pipe_and_requests_sent_ahead_arrive_whole_and_in_order():
    big = "ā" * (3 * PIPE_BYTES)
    with Worker() as w:
        w.send(str.upper, big)  # three sends before any result is read: each fits the pipe or is read at once
        w.send(len, "x" * 1000)
        w.send(bytes, 2 * PIPE_BYTES)
        assert w.receive() == big.upper()
        assert w.receive() == 1000
        assert w.receive() == bytes(2 * PIPE_BYTES)
        assert w.call(sorted, [3, 1, 2]) == [1, 2, 3]


@pytest.mark.parametrize("nbytes", [100_000, 3 * PIPE_BYTES + 5])
def test_arrays_pickled_out_of_frame_cross_whole(nbytes):
    # protocol 5 hands the writer a numpy or Arrow array's buffer of 64 KiB or more as a PickleBuffer (no len()):
    # before the fix every such send failed and the callers (languages, counts, charts) silently computed here
    import numpy as np
    import pyarrow as pa

    arr = np.arange(nbytes // 8 + 1, dtype=np.int64)
    texts = pa.array([f"answer {i}" for i in range(nbytes // 16)], type=pa.large_string())
    with Worker() as w:
        assert w.call(bytes, arr) == arr.tobytes()
        assert w.call(len, texts) == len(texts)
        assert w.call(bytes, arr[::2]) == arr[::2].tobytes()  # not contiguous: pickled in the frame, as before
