"""A `python` for run.sh's end-to-end tests whose every call is a fresh process forked from a server that
has already imported torch, transformers, TRL, PEFT and actrep.

run.sh's tiny pipeline makes ~30 Python calls per test, and on a 2-core machine each spent ~6 s of its
~8 s importing. Here the calls keep what the tests check (run.sh's orchestration: stages, reuse, reruns,
failures): each is its own process, with run.sh's arguments, environment, working directory, stdin, stdout
and stderr, run as `python` would (`-m module`, `-c code`, `-` reading stdin, or a script), and its exit
status goes back to run.sh. A call whose form is not one of these, or that finds no server, runs the real
interpreter instead.

    python tests/forked_python.py serve SOCKET [MODULE...]  # the server (prints "ready" once it listens)
    python -S tests/forked_python.py SOCKET ARGS...         # one call: like `python ARGS...`

The client sends its three standard descriptors over the UNIX socket (SCM_RIGHTS) and forwards SIGTERM,
SIGINT and SIGHUP to the forked process, so run.sh can still stop a stage; a client that is killed
outright (a test's timeout) takes its forked process with it. `torch.distributed.run --no-python` with the
client as its program forks every rank from the server too (`Server.torchrun`): the launcher, its
environment per rank and its handling of a failed rank stay torchrun's. tests/conftest.py starts one
server per session (fixture `forked_python`).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PRELOAD = ["actrep", "torch", "transformers", "trl", "peft", "matplotlib.pyplot", "actrep.cli", "actrep.train.sft",
           "actrep.train.grpo", "actrep.train.stage0", "actrep.evaluate.local", "actrep.report"]
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def serve(path: str, extra: list[str]) -> None:
    import importlib

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # no tokenizer threads alive at fork time
    for name in PRELOAD + extra:
        importlib.import_module(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps finished calls
    print("ready", flush=True)
    while True:
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the call's own subprocesses report their status
            os._exit(run_call(connection))
        connection.close()


def run_call(connection: socket.socket) -> int:
    """In the forked process: take the client's descriptors, environment and directory, run, report."""
    import atexit

    message, descriptors, _, _ = socket.recv_fds(connection, 1 << 20, 3)
    request = json.loads(message)
    for descriptor, target in zip(descriptors, (0, 1, 2)):
        os.dup2(descriptor, target)
        os.close(descriptor)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    connection.send(str(os.getpid()).encode())
    threading.Thread(target=_end_with_the_client, args=(connection,), daemon=True).start()
    if os.environ.get("OMP_NUM_THREADS"):
        import torch

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    code = run_as_python(request["argv"])
    atexit._run_exitfuncs()  # what the interpreter does on the way out (TensorBoard writers, loggers, ...)
    sys.stdout.flush()
    sys.stderr.flush()
    connection.send(str(code).encode())
    return code


def _end_with_the_client(connection: socket.socket) -> None:
    """The client sends nothing after its request: the connection's end means the client is gone (killed
    by a timeout, say, with no signal to forward) or has its status already; either way this process ends."""
    connection.recv(1)
    os.kill(os.getpid(), signal.SIGKILL)


def run_as_python(argv: list[str]) -> int:
    """Run ARGV in this process as `python ARGV...` would (`-m module`, `-c code`, `-` reading stdin, or a
    script: the same sys.argv and sys.path[0]); returns the exit status, the traceback printed on an error."""
    import runpy
    import traceback

    try:
        if argv[0] == "-m":
            sys.argv, sys.path[0] = argv[1:], os.getcwd()
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        elif argv[0] == "-c":
            sys.argv, sys.path[0] = ["-c", *argv[2:]], ""
            exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
        elif argv[0] == "-":
            sys.argv, sys.path[0] = list(argv), ""
            exec(compile(sys.stdin.read(), "<stdin>", "exec"), {"__name__": "__main__"})
        else:
            sys.argv, sys.path[0] = list(argv), os.path.dirname(os.path.abspath(argv[0]))
            runpy.run_path(argv[0], run_name="__main__")
        return 0
    except SystemExit as exit:
        if not isinstance(exit.code, (int, type(None))):
            print(exit.code, file=sys.stderr)
        return exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    except BaseException:
        traceback.print_exc()
        return 1


def call(path: str, argv: list[str]) -> int:
    """In the client: run ARGV in a forked process of the server at PATH; the real python if that cannot be."""
    runnable = argv and (argv[0] in ("-m", "-c") and len(argv) > 1 or argv[0] == "-" or not argv[0].startswith("-"))
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        if not runnable:
            raise OSError("not a form the server runs")
        connection.connect(path)
    except OSError:
        os.execv(sys.executable, [sys.executable, *argv])
    request = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
    socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])
    pid = connection.recv(64)
    if not pid:
        print("forked_python: the server's forked process ended before it started the call", file=sys.stderr)
        return 1
    pid = int(pid)
    for number in FORWARDED:
        signal.signal(number, lambda received, frame: os.kill(pid, received))
    status = connection.recv(64)
    if not status:
        print(f"forked_python: the call's process {pid} ended without an exit status", file=sys.stderr)
        return 1
    return int(status)


class Server:
    """A running server (started with ENV on top of this process's environment, preloading PRELOAD and
    EXTRA) and the commands that run `python ARGS...` in its forked processes."""

    def __init__(self, log: Path, env: dict[str, str] | None = None, extra: tuple[str, ...] = ()):
        self.socket = Path(tempfile.mkdtemp(prefix="actrep-py-")) / "python.sock"  # a UNIX socket path stays short
        self._log = open(log, "w")
        self._process = subprocess.Popen([sys.executable, __file__, "serve", str(self.socket), *extra],
                                         env={**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})},
                                         stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL, text=True)
        if self._process.stdout.readline().strip() != "ready":
            self.close()
            raise RuntimeError(f"the forked-python server did not start: {Path(log).read_text()[-3000:]}")
        self.python = [sys.executable, "-S", __file__, str(self.socket)]  # use it as `python`

    def torchrun(self, processes: int) -> list[str]:
        """`python -m torch.distributed.run` whose every rank is a forked process: append `-m module ...` or a script."""
        return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--no-python", *self.python]

    def shim(self, path: Path, prelude: str = "") -> Path:
        """An executable `python` at PATH for programs that take an interpreter (run.sh's PYTHON, a bench's
        --python); PRELUDE: bash lines run first."""
        path.write_text(f'#!/bin/bash\n{prelude}exec {shlex.join(self.python)} "$@"\n')
        path.chmod(0o755)
        return path

    def close(self) -> None:
        self._process.terminate()
        self._process.wait()
        self._log.close()
        shutil.rmtree(self.socket.parent, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(call(sys.argv[1], sys.argv[2:]))
