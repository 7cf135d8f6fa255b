"""Ctrl-C and SIGTERM turned into a clean stop: the batch keeps every committed chunk for
``--resume`` and worker processes never see the parent's Ctrl-C."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

EXIT_SIGTERM = 143  # 128 + SIGTERM: stopped by `kill`, completed chunks kept (Ctrl-C: 130)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (completed runs kept) but exiting with 143."""


@contextmanager
def _sigterm_interrupts():
    """In the main thread, SIGTERM raises :class:`Terminated` like Ctrl-C raises
    KeyboardInterrupt, so `kill PID` stops a batch cleanly."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _CtrlCFlag:
    """Ctrl-C (and SIGTERM) set a flag instead of raising inside Dask's blocking calls
    (interrupting those logs spurious event-loop errors); the batch loop checks the flag and
    stops cleanly."""

    hit = False
    terminated = False

    def __enter__(self) -> _CtrlCFlag:
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = (
                signal.signal(signal.SIGINT, self._handler),
                signal.signal(signal.SIGTERM, self._handler),
            )
        return self

    def _handler(self, signum, frame) -> None:
        self.hit = True
        self.terminated = self.terminated or signum == signal.SIGTERM

    def raise_if_hit(self) -> None:
        if self.terminated:
            raise Terminated
        if self.hit:
            raise KeyboardInterrupt

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous[0])
            signal.signal(signal.SIGTERM, self._previous[1])


@contextmanager
def _sigint_ignored():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
