"""A job's child process dies with the worker that started it.

A worker that is SIGKILLed (or crashes) cannot stop its children, and a child that lives on keeps
training and writing under a job that will be reaped and run again. Two independent lines make the
child exit:

1. On Linux the child asks the kernel for ``SIGKILL`` when its parent dies
   (``prctl(PR_SET_PDEATHSIG)``), then checks that the parent is still the worker that started it, to
   close the race where the worker died before the call. The kernel ties this to the *thread* that
   started the child: executors start children from the worker's loop thread, which outlives them.
2. Everywhere, a watchdog thread in the child waits on a *lifeline*: the read end of a pipe whose
   only write end stays in the worker. When the worker dies, the kernel closes that end and the
   read sees EOF; the watchdog also polls the parent pid. Either way the child exits at once.

The worker closes its end when it is done with the child, which also tells a child that is still
running to exit.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
from multiprocessing.connection import Connection

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_S = 0.5
# exit status of a child whose worker went away (it cannot be reported to anyone; it shows in logs)
PARENT_GONE_EXIT = 75


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _parent_gone(parent_pid: int) -> None:
    log.warning("worker %d is gone: job process %d exits", parent_pid, os.getpid())
    os._exit(PARENT_GONE_EXIT)


def watch_parent(
    parent_pid: int, lifeline: Connection | None, *, interval_s: float = WATCH_INTERVAL_S
) -> None:
    """Exit this process as soon as ``lifeline`` reaches EOF or the parent is no longer ``parent_pid``."""
    while True:
        if lifeline is not None:
            try:
                if lifeline.poll(interval_s):  # readable: EOF (the worker's end closed) or a stop word
                    _parent_gone(parent_pid)
            except (EOFError, OSError):
                _parent_gone(parent_pid)
        else:
            threading.Event().wait(interval_s)
        if os.getppid() != parent_pid:
            _parent_gone(parent_pid)


def bind_to_parent(parent_pid: int, lifeline: Connection | None, *, use_prctl: bool = True) -> None:
    """Make this (child) process die with ``parent_pid``: the parent-death signal where the platform
    has one, and a watchdog thread on ``lifeline`` and the parent pid everywhere."""
    if use_prctl:
        set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before (or while) we asked
        _parent_gone(parent_pid)
    threading.Thread(
        target=watch_parent, args=(parent_pid, lifeline), name="parent-watchdog", daemon=True
    ).start()
