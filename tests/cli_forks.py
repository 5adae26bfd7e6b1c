"""Run ``propylon`` commands for tests in forked children of one process that imported the CLI
once, instead of a new interpreter per command.

Importing the CLI (SQLAlchemy, the admin service layer, typer) takes most of a command's
second; tests run hundreds of commands. Each command still runs in a process of its own, with
its own environment, arguments, standard streams and exit status, exactly as
``python -m propylon.cli ARGS`` would: the parent here only imported modules (no event loop, no
thread, no connection), and a child forked from it starts from that state.

The protocol on the server's stdin/stdout is one JSON line each way: ``{"args", "env"}`` in,
``{"rc", "stdout", "stderr"}`` out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any

_SERVER = r"""
import json, os, signal, sys, tempfile, traceback
import propylon.cli.main as cli

def run(req):
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(60)  # a command that hangs ends as one run with a timeout would
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            os.environ.clear()
            os.environ.update(req["env"])
            sys.argv = ["propylon", *req["args"]]
            try:
                cli.main()
                code = 0
            except SystemExit as exc:
                c = exc.code
                code = c if isinstance(c, int) else (0 if c is None else 1)
                if not isinstance(c, int) and c is not None:
                    print(c, file=sys.stderr)
            except BaseException:
                traceback.print_exc()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    out.seek(0)
    err.seek(0)
    rc = os.waitstatus_to_exitcode(status)
    return {"rc": rc, "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace")}

reply = os.fdopen(os.dup(1), "w")
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
for line in sys.stdin:
    reply.write(json.dumps(run(json.loads(line))) + "\n")
    reply.flush()
"""


class CliForks:
    """One fork server per test process (started on first use, ended with the process)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def _server(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _SERVER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        return self._proc

    def run(
        self, args: list[str], env: dict[str, str], check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        with self._lock:
            proc = self._server()
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps({"args": args, "env": env}) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the CLI fork server ended")
        done: dict[str, Any] = json.loads(line)
        result = subprocess.CompletedProcess(
            ["propylon", *args], done["rc"], done["stdout"], done["stderr"]
        )
        if check:
            result.check_returncode()
        return result

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait(timeout=10)


FORKS = CliForks()
