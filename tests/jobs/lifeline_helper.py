"""A stand-in worker for the lifeline tests: starts one child bound to it, writes the child's pid,
then waits to be killed. ``python -m tests.jobs.lifeline_helper PID_FILE pipe|poll``."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

from tailor.jobs.lifeline import bind_to_parent


def child(parent_pid: int, lifeline: Connection | None) -> None:
    """Bound to its parent without the parent-death signal: only the second line can stop it."""
    bind_to_parent(parent_pid, lifeline, use_prctl=False)
    time.sleep(120)


def main() -> None:
    pid_file, mode = sys.argv[1], sys.argv[2]
    mp = multiprocessing.get_context("spawn")
    read_end, write_end = mp.Pipe(duplex=False)
    proc = mp.Process(target=child, args=(os.getpid(), read_end if mode == "pipe" else None), daemon=True)
    proc.start()
    read_end.close()
    Path(pid_file).write_text(str(proc.pid))
    time.sleep(120)
    write_end.close()


if __name__ == "__main__":
    main()
