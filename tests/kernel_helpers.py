"""Run Jupyter kernels from tests without letting a stuck kernel stall the whole run.

We saw, rarely and only under load (parallel test workers, a fresh CI clone), a kernel start
and then sit idle while its client waited forever for a reply -- with ipykernel 7.4 and once
with 6.29 -- and the clients' own timeouts did not fire. Every kernel a test starts therefore
runs in a subprocess with a hard wall-clock limit, and a run that hits the limit is retried
once (the work is idempotent: executing a notebook, or ``nbgrader autograde --force``). A
second timeout fails the test with what the process printed.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import nbformat


def run_with_retry(cmd: list[str], *, timeout: float, attempts: int = 2, **kwargs) -> subprocess.CompletedProcess:
    """Run ``cmd`` (text mode, output captured) with a wall-clock limit, retrying on timeout.

    The command runs in its own process group, and a timeout kills the whole group, kernels
    included. Raises ``AssertionError`` after ``attempts`` timeouts.
    """
    out = ""
    for attempt in range(1, attempts + 1):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, **kwargs)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
            return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            out = (stdout + stderr)[-3000:]
            print(f"\n[kernel_helpers] {' '.join(map(str, cmd[:6]))} ... timed out after {timeout:.0f} s "
                  f"(attempt {attempt} of {attempts})", file=sys.stderr)
    raise AssertionError(f"{cmd[:6]} timed out {attempts} times after {timeout:.0f} s each; last output:\n{out}")


def execute_notebook(nb, workdir: Path, *, timeout: float = 180, cell_timeout: int = 30):
    """Execute ``nb`` with nbconvert in a subprocess (widget state is stored) and return the
    executed notebook. The kernel is the ``python3`` kernelspec of this interpreter's env.

    ``cell_timeout`` also bounds nbclient's wait for the kernel's first ``kernel_info`` reply,
    which under load was sometimes lost: the client then waited the whole timeout (120 s by
    default) before going on. Tests run small cells, so 30 s is plenty.
    """
    path = Path(workdir) / "executed.ipynb"
    nbformat.write(nb, path)
    cmd = [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace",
           f"--ExecutePreprocessor.timeout={cell_timeout}", "--ExecutePreprocessor.interrupt_on_timeout=True",
           "--ExecutePreprocessor.kernel_name=python3", str(path)]
    proc = run_with_retry(cmd, timeout=timeout, cwd=workdir)
    if proc.returncode != 0:
        raise AssertionError(f"executing the notebook failed:\n{proc.stderr[-3000:]}")
    return nbformat.read(path, as_version=4)
