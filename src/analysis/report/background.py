"""Run one independent piece of the report (the internal workbook) in a forked process while the rest is built.

:class:`Background` forks when the platform can (``fork`` start method) and runs the function in this process
otherwise; either way :meth:`Background.result` returns what it returned or raises what it raised. The
function writes the same bytes wherever it runs, so outputs do not depend on it.
"""

from __future__ import annotations

import gc
import multiprocessing
import traceback
from collections.abc import Callable
from typing import Any


class Background:
    """``fn()`` started at once in a forked process; :meth:`result` waits for it.

    Args:
        fn: The work (any callable: with ``fork`` nothing is pickled but its return value).
    """

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._proc = None
        self._value: tuple[str, Any] | None = None
        if "fork" not in multiprocessing.get_all_start_methods():
            self._value = _call(fn)
            return
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_forked_main, args=(fn, send), name="analysis-background")
        # the objects alive now are frozen for the fork: the child's collections then leave their pages alone (a
        # collection writes to every object it visits, and each page written is copied into the child)
        gc.freeze()
        try:
            self._proc.start()
        finally:
            gc.unfreeze()
        send.close()

    def result(self) -> Any:
        """What ``fn()`` returned.

        Raises:
            Exception: What ``fn()`` raised (or a ``RuntimeError`` when the forked process died).
        """
        if self._proc is not None:
            try:
                self._value = self._recv.recv()
            except EOFError:
                self._value = ("error", RuntimeError(f"background process died (exit code {self._proc.exitcode})"))
            finally:
                self._recv.close()
                self._proc.join()
                self._proc = None
        status, value = self._value
        if status == "error":
            raise value
        return value


def _call(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except Exception as err:  # handed to the caller of result()
        return "error", err


def _forked_main(fn: Callable[[], Any], send: Any) -> None:
    """Body of the forked process: send ``("ok", value)`` or ``("error", exception)`` back."""
    status, value = _call(fn)
    try:
        send.send((status, value))
    except Exception:  # an exception that does not pickle: send its traceback
        send.send(("error", RuntimeError("".join(traceback.format_exception(value)) if status == "error"
                                         else f"background result does not pickle: {value!r}")))
    finally:
        send.close()
