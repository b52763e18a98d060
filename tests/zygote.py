"""Run `python -m netlib ARGV` as a forked child of one warm process, bounded in time, with its peak memory.

test_hostile_paths.py runs some 70 commands to see each refuse a hostile path. As fresh interpreters each
paid ~2.5 s of CPU importing torch, most of that test file's cost. Here one process imports the heavy
third-party libraries once (torch, numpy, Pillow; not netlib, whose modules then read this case's
environment as a fresh process would) and forks a child per command that runs netlib's real entry point,
`netlib.cli.main.main(own_process=True)`, with the command's argv, environment and working folder.

Started as a script: it reads one JSON request per line on stdin and answers one JSON line on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


class Zygote:
    """The warm process, from the test's side."""

    def __init__(self, cwd: Path):
        env = {**os.environ, "OMP_NUM_THREADS": "1"}  # before torch loads, as every tested command has it
        self.proc = subprocess.Popen([sys.executable, __file__], cwd=cwd, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def run(self, argv: list[str], env: dict, cwd: Path, limit_s: float, stderr: Path) -> tuple[int, float, int]:
        """(exit status, seconds, peak resident KiB) of the command; killed (-9) at limit_s."""
        request = {"argv": argv, "env": env, "cwd": str(cwd), "limit_s": limit_s, "stderr": str(stderr)}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the zygote ended (exit {self.proc.wait()})")
        answer = json.loads(line)
        return answer["code"], answer["seconds"], answer["maxrss"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _child(request: dict) -> None:
    """In the forked child: become the command (never returns)."""
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        null = os.open(os.devnull, os.O_RDWR)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(err, 2)
        sys.argv = ["netlib", *request["argv"]]
        sys.path[0] = os.getcwd()  # as `python -m netlib` run there has it (the script's folder otherwise)
        from netlib.cli.main import main

        code = main(own_process=True)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:  # what a fresh interpreter would print for an uncaught exception
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _serve() -> None:
    import numpy  # noqa: F401  the imports every command pays for; netlib itself stays unimported
    import PIL.Image  # noqa: F401
    import torch  # noqa: F401

    for line in sys.stdin:
        request = json.loads(line)
        t = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request)
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - t > request["limit_s"]:
                os.kill(pid, 9)
                _, status, usage = os.wait4(pid, 0)
                break
            time.sleep(0.02)
        answer = {"code": os.waitstatus_to_exitcode(status), "seconds": time.monotonic() - t,
                  "maxrss": usage.ru_maxrss}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
