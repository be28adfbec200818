"""Execute one repaired notebook cell by cell in a sandboxed kernel and score its test cells.

The grader (this process) keeps the notebook; the kernel receives one cell at a time, so a test
cell's code -- hidden tests included -- reaches the kernel only when that test cell runs, after
the student's cells before it have finished. The kernel talks to the grader over IPC sockets in
a private folder (it has no network).

Scoring: a test cell earns its points when it runs to the end without an exception (output on
stderr, warnings or printed text do not matter), the guard restored the pristine modules before
it (:mod:`course_instructor.grading.guard`, in its own namespace: :mod:`.namespace`), answered with the
digest of its snapshot, and nothing it recorded changed or was watched while it ran (:class:`_Guard`).

Never stop, never lose: a cell that runs past its time limit is interrupted; if the kernel
ignores the interrupt (a swallowed ``KeyboardInterrupt``) or dies (``os._exit``, a segfault, a
resource limit), the kernel is restarted, the cells before are replayed without being scored,
the offending cell is skipped and grading goes on (at most ``max_restarts`` times, within the
notebook's wall-clock limit). Test cells that passed keep their points. Cells after the last test
cell (demos) are not run: they cannot change a score.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Empty

import nbformat

from . import sandbox
from .repair import is_answer, is_test, meta

GRACE_S = 5.0  # after an interrupt, how long a cell may take to stop before the kernel is killed
STARTUP_S = 60.0
OUTPUT_CAP = 100_000  # characters of output kept per cell (the rest is counted, not kept)


@dataclass
class CellResult:
    index: int
    grade_id: str | None
    kind: str  # "test" | "answer" | "code"
    status: str  # tests: "passed" | "failed"; others: "ok" | "error"; any: "timed out" | "crashed" | "not run"
    points: float = 0.0
    max_points: float = 0.0
    message: str = ""
    seconds: float = 0.0


@dataclass
class RunResult:
    status: str  # "graded" | "timed out" | "crashed"
    cells: list[CellResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_s: float = 0.0  # CPU seconds of its kernels' processes (read from /proc, not from the kernel)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Reply:
    status: str  # "ok" | "error" | "timed out" | "crashed"
    outputs: list = field(default_factory=list)
    message: str = ""
    expressions: dict = field(default_factory=dict)


class _Outputs:
    def __init__(self, cap: int = OUTPUT_CAP):
        self.items: list = []
        self.size = 0
        self.dropped = 0
        self.cap = cap

    def add(self, msg: dict) -> None:
        out = nbformat.v4.output_from_msg(msg)
        size = len(json.dumps(out.get("data", out.get("text", ""))))
        if out.output_type == "error":  # always kept: it says why a test failed
            self.items.append(out)
            return
        if self.size + size > self.cap:
            self.dropped += size
            return
        self.size += size
        if out.output_type == "stream" and self.items and self.items[-1].get("name") == out.name:
            self.items[-1].text += out.text
        else:
            self.items.append(out)

    def final(self) -> list:
        if self.dropped:
            self.items.append(nbformat.v4.new_output(
                "stream", name="stdout", text=f"\n[grader: {self.dropped} more characters of output not kept]\n"))
        return self.items


def _error_text(outputs: list) -> str:
    for out in outputs:
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}"[:600]
    return ""


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its descendants (Linux /proc; 0 elsewhere)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total / _TICKS


def _read_until_closed(fd: int, deadline: float) -> bytes:
    """Everything written to pipe ``fd`` until its writer closes it (or ``deadline``); closes ``fd``."""
    import select

    data = b""
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
            if data.rstrip().endswith(b"}"):
                break
    finally:
        os.close(fd)
    return data


class Kernel:
    """An IPython kernel in the sandbox (or, if ``sandboxed`` is False, a plain subprocess)."""

    def __init__(self, slot: int, limits: sandbox.Limits, sandboxed: bool = True,
                 extra_files: dict[str, Path] | None = None):
        self.slot, self.limits, self.sandboxed = slot, limits, sandboxed
        self.extra_files = extra_files or {}
        self.proc: subprocess.Popen | None = None
        self.kc = None
        self.cpu_s = 0.0
        self.dir = Path(tempfile.mkdtemp(prefix=f"course-grade-{slot}-"))

    def start(self) -> None:
        """Start the kernel and connect to it.

        Sandboxed, the kernel's sockets live in its own bounded ``/tmp`` (:data:`sandbox.SOCKETS`):
        the kernel gets a read-only connection file, and the grader reaches the sockets through
        ``/proc/<sandbox pid>/root`` -- no host folder is writable from the sandbox, whether the
        grader runs as root or not.
        """
        import json

        from jupyter_client import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        cf = self.dir / "kernel.json"
        info = dict(transport="ipc", key=secrets.token_hex(16).encode(), shell_port=1, iopub_port=2, stdin_port=3,
                    control_port=4, hb_port=5)
        write_connection_file(str(cf), ip=sandbox.SOCKETS if self.sandboxed else str(self.dir / "k"), **info)
        os.chmod(cf, 0o644)
        log = open(self.dir / "kernel.log", "wb")
        pass_fds: tuple[int, ...] = ()
        if self.sandboxed:
            info_r, info_w = os.pipe()
            pass_fds = (info_w,)
            cmd = sandbox.kernel_command(cf, "/home/student", self.slot, self.limits, self.extra_files, info_fd=info_w)
            cwd, env = None, None
        else:
            work = self.dir / "work"
            work.mkdir()
            for name, path in self.extra_files.items():
                shutil.copy(path, work / name)
            cmd = ["prlimit", f"--as={self.limits.memory_mb * 1024 * 1024}", f"--cpu={self.limits.cpu_s}",
                   f"--fsize={self.limits.file_mb * 1024 * 1024}", "--",
                   sys.executable, "-m", "ipykernel_launcher", "-f", str(cf), "--HistoryManager.enabled=False"]
            cwd = work
            env = dict(os.environ, NBGRADER_EXECUTION="autograde", COURSE_NUM_THREADS="1", OMP_NUM_THREADS="1",
                       MPLBACKEND="module://matplotlib_inline.backend_inline")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=cwd, env=env,
                                     start_new_session=True, pass_fds=pass_fds)
        log.close()
        deadline = time.monotonic() + STARTUP_S
        ip = str(self.dir / "k")
        if self.sandboxed:
            os.close(info_w)
            try:
                ip = f"/proc/{json.loads(_read_until_closed(info_r, deadline))['child-pid']}/root{sandbox.SOCKETS}"
            except (ValueError, KeyError, TypeError) as err:
                raise RuntimeError(f"the sandbox did not start ({err}): {self.log_tail()}") from None
        kc = BlockingKernelClient()
        kc.load_connection_info({**info, "ip": ip})
        kc.start_channels()
        self.kc = kc
        while not Path(f"{ip}-1").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the kernel did not start: {self.log_tail()}")
            time.sleep(0.05)
        try:
            kc.wait_for_ready(timeout=max(1.0, deadline - time.monotonic()))
        except RuntimeError as err:
            raise RuntimeError(f"the kernel did not start ({err}): {self.log_tail()}") from None

    def log_tail(self) -> str:
        try:
            return (self.dir / "kernel.log").read_bytes()[-400:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def interrupt(self) -> None:
        msg = self.kc.session.msg("interrupt_request", content={})
        self.kc.control_channel.send(msg)

    def shutdown(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.proc is not None:
            self.cpu_s += _tree_cpu(self.proc.pid)
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait()
            self.proc = None
            if self.sandboxed and os.geteuid() == 0:
                deadline = time.monotonic() + 10
                while sandbox.uid_processes(self.slot) and time.monotonic() < deadline:
                    time.sleep(0.05)

    def cleanup(self) -> None:
        self.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, code: str, timeout: float, silent: bool = False, expressions: dict | None = None) -> Reply:
        """Execute ``code``; wait at most ``timeout`` s (then interrupt, then kill). Never raises."""
        try:
            return self._run(code, timeout, silent, expressions)
        except Exception as err:  # noqa: BLE001 - whatever the kernel did, the grader goes on
            self.shutdown()
            return Reply("crashed", [], f"lost contact with the kernel ({type(err).__name__}: {err})"[:300])

    def _run(self, code: str, timeout: float, silent: bool, expressions: dict | None) -> Reply:
        kc = self.kc
        msg_id = kc.execute(code, silent=silent, store_history=not silent, user_expressions=expressions or {},
                            allow_stdin=False, stop_on_error=False)
        outputs = _Outputs()
        deadline = time.monotonic() + timeout
        interrupted = False
        while True:
            if time.monotonic() > deadline:
                if not interrupted:
                    interrupted = True
                    try:
                        self.interrupt()
                    except Exception:  # noqa: BLE001 - a dead channel: the kill below follows
                        pass
                    deadline = time.monotonic() + GRACE_S
                    continue
                self.shutdown()
                return Reply("timed out", outputs.final(), f"timed out after {timeout:.0f} s; the kernel ignored the interrupt and was stopped")
            try:
                msg = kc.get_iopub_msg(timeout=0.2)
            except Empty:
                if not self.alive():
                    code = self.proc.returncode
                    self.shutdown()
                    return Reply("crashed", outputs.final(), f"the kernel died (exit status {code})")
                continue
            except Exception:  # noqa: BLE001 - a garbled message (e.g. from a forked child): ignore it
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"].get("execution_state") == "idle":
                break
            if kind in ("stream", "display_data", "execute_result", "error"):
                outputs.add(msg)
            elif kind == "clear_output":
                outputs = _Outputs()
        reply = None
        wait_until = time.monotonic() + 10
        while time.monotonic() < wait_until:
            try:
                msg = kc.get_shell_msg(timeout=0.5)
            except Empty:
                if not self.alive():
                    break
                continue
            except Exception:  # noqa: BLE001 - garbled message
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                reply = msg["content"]
                break
        final = outputs.final()
        if interrupted:
            return Reply("timed out", final, f"timed out after {timeout:.0f} s (interrupted)")
        if reply is None:
            return Reply("crashed", final, "no reply from the kernel")
        status = "ok" if reply.get("status") == "ok" and not _error_text(final) else "error"
        message = _error_text(final) or (f"{reply.get('ename')}: {reply.get('evalue')}" if reply.get("status") == "error" else "")
        return Reply(status, final, message, reply.get("user_expressions", {}) or {})


def _guard_answer(reply: Reply, key: str) -> tuple[str | None, str, str]:
    """What a guard call (:mod:`.guard`) answered: (digest or None, what it flagged, error message)."""
    import ast

    from .guard import OK

    value = reply.expressions.get(key, {})
    if reply.status != "ok":
        return None, "", reply.message or "the grading guard did not answer"
    if value.get("status") == "error":
        return None, "", f"{value.get('ename')}: {value.get('evalue')}"
    try:
        text = ast.literal_eval(str(value.get("data", {}).get("text/plain", "")))
    except (ValueError, SyntaxError):
        text = None
    if not isinstance(text, str) or not text.startswith(OK + " "):
        return None, "", "the grading guard did not answer (the kernel's namespace was tampered with)"
    digest, _, flags = text[len(OK) + 1:].partition(" | ")
    return digest, flags, ""


class _Guard:
    """The grader's side of the guard: snapshot once, restore before and verify after each test cell.

    A test cell scores only if the guard answered with the digest of the state it saved at the
    snapshot (a student who cleared or edited that state is caught), restored before the cell
    and found nothing changed or watched after it. What the guard undid before a test (an answer
    that patched a module, registered an input transformer, set a trace function ...) is noted
    "for review" with the test's grade_id; the test itself ran on the restored state.
    """

    def __init__(self, name: str, notes: list[str]):
        self.name, self.notes, self.digest = name, notes, None

    def snapshot(self, kernel: Kernel) -> None:
        reply = kernel.run("", STARTUP_S, silent=True, expressions={"s": f"{self.name}.snapshot(globals())"})
        self.digest, _, err = _guard_answer(reply, "s")
        if self.digest is None:
            self.notes.append(f"the grading guard could not take its snapshot: {err}"[:300])

    def run_test(self, kernel: Kernel, source: str, timeout: float, gid: str | None) -> tuple[Reply, str]:
        """Run one test cell between a restore and a verify; returns (reply, why it does not count)."""
        pre = kernel.run("", timeout, silent=True, expressions={"r": f"{self.name}.restore()"})
        digest, flags, err = _guard_answer(pre, "r")
        if flags:
            self._flag(gid, f"before the test, the grader undid or saw {flags}")
        why = err or ("" if digest == self.digest else "the grading guard's saved state was tampered with")
        if why and not err:
            self._flag(gid, why)
        reply = kernel.run(source, timeout) if kernel.alive() else pre
        if not kernel.alive():
            return reply, why
        post = kernel.run("", GRACE_S + 10, silent=True, expressions={"v": f"{self.name}.verify()"})
        digest2, _, err2 = _guard_answer(post, "v")
        if err2 and reply.status == "ok":
            why = why or err2
            self._flag(gid, err2)
        elif digest2 is not None and digest2 != self.digest and not why:
            why = "the grading guard's saved state was tampered with"
            self._flag(gid, why)
        if why and reply.status == "ok":
            reply.outputs.append(nbformat.v4.new_output(
                "error", ename="GradingError", evalue=why, traceback=[f"GradingError: {why}"]))
        return reply, why

    def _flag(self, gid: str | None, what: str) -> None:
        note = f"for review: test cell {gid}: {what}"[:400]
        if note not in self.notes:
            self.notes.append(note)


def grade_notebook(nb, slot: int = 0, limits: sandbox.Limits | None = None, cell_timeout: float = 60,
                   notebook_timeout: float = 600, sandboxed: bool = True, max_restarts: int = 3,
                   extra_files: dict[str, Path] | None = None, setup_timeout: float = 300) -> RunResult:
    """Run every code cell of ``nb`` (modified in place: outputs) and score its test cells.

    Cells before the first answer or test cell are the instructor's set-up (imports): no student
    code has run yet, so they get ``setup_timeout`` (a loaded machine must not turn a slow
    ``import torch`` into a failed submission); every later cell gets ``cell_timeout``.
    """
    limits = limits or sandbox.Limits()
    start = time.monotonic()
    nb_deadline = start + notebook_timeout
    guard = f"_course_guard_{secrets.token_hex(4)}"
    cells = nb.cells
    code_cells = [i for i, c in enumerate(cells) if c.cell_type == "code"]
    first_student = next((i for i in code_cells if is_answer(cells[i]) or is_test(cells[i])), None)
    # Cells after the last test cell cannot change a score: they are not run (nor are their outputs kept).
    last_test = max((i for i in code_cells if is_test(cells[i])), default=-1)
    for i in code_cells:
        if i > last_test:
            cells[i].outputs = []
    code_cells = [i for i in code_cells if i <= last_test]
    results: dict[int, CellResult] = {}
    skip: set[int] = set()
    notes: list[str] = []
    restarts = 0
    guard_side = _Guard(guard, notes)
    kernel: Kernel | None = None
    status = "graded"
    cpu = [0.0]  # CPU seconds of the kernels started for this notebook

    def new_kernel(upto: int) -> Kernel | None:
        """A fresh kernel that has run (unscored) every code cell before ``upto``."""
        k = Kernel(slot, limits, sandboxed, extra_files)
        try:
            k.start()
            r = k.run(f"import course_instructor.grading.guard as {guard}", STARTUP_S, silent=True)
            if r.status != "ok":
                raise RuntimeError(f"the grading guard could not be loaded: {r.message}")
            for j in code_cells:
                if j >= upto:
                    break
                if j == first_student:
                    guard_side.snapshot(k)
                if j in skip:
                    continue
                limit = setup_timeout if first_student is None or j < first_student else cell_timeout
                limit = max(1.0, min(limit, nb_deadline - time.monotonic()))
                if is_test(cells[j]):  # in its own namespace, as when it was scored
                    r, _ = guard_side.run_test(k, cells[j].source, limit, meta(cells[j]).get("grade_id"))
                else:
                    r = k.run(cells[j].source, limit)
                if r.status in ("timed out", "crashed"):
                    raise RuntimeError(f"replaying cell {j} after a restart failed: {r.message}")
            return k
        except Exception as err:  # noqa: BLE001 - reported in the result, never raised
            notes.append(str(err)[:300])
            k.cleanup()
            cpu[0] += k.cpu_s
            return None

    try:
        for i in code_cells:
            cell = cells[i]
            kind = "test" if is_test(cell) else "answer" if is_answer(cell) else "code"
            gid = meta(cell).get("grade_id")
            max_points = float(meta(cell).get("points", 0) or 0) if kind == "test" else 0.0
            result = CellResult(i, gid, kind, "not run", 0.0, max_points)
            results[i] = result
            remaining = nb_deadline - time.monotonic()
            if remaining <= 0:
                status = "timed out"
                result.message = "not run: the notebook's time limit was reached"
                continue
            if kernel is None:
                if restarts > max_restarts:
                    result.message = "not run: too many kernel restarts"
                    continue
                kernel = new_kernel(i)
                if kernel is None:
                    status = "crashed" if status == "graded" else status
                    restarts = max_restarts + 1
                    result.message = "not run: the kernel could not be (re)started"
                    continue
            if i == first_student:
                guard_side.snapshot(kernel)
            limit = setup_timeout if first_student is None or i < first_student else cell_timeout
            timeout = max(1.0, min(limit, remaining))
            t0 = time.monotonic()
            guard_msg = ""
            if kind == "test":
                reply, guard_msg = guard_side.run_test(kernel, cell.source, timeout, gid)
            else:
                reply = kernel.run(cell.source, timeout)
            result.seconds = round(time.monotonic() - t0, 2)
            cell.outputs = reply.outputs
            if reply.status in ("timed out", "crashed"):
                result.status = reply.status
                result.message = reply.message
                status = reply.status if status == "graded" else status
                if not kernel.alive():
                    kernel.cleanup()
                    cpu[0] += kernel.cpu_s
                    kernel = None
                    restarts += 1
                    skip.add(i)
                    if i == first_student:
                        first_student = next((j for j in code_cells if j > i and (is_answer(cells[j]) or is_test(cells[j]))), None)
                continue
            if kind == "test":
                passed = reply.status == "ok" and not guard_msg
                result.status = "passed" if passed else "failed"
                result.points = max_points if passed else 0.0
                result.message = "" if passed else (guard_msg or reply.message)
            else:
                result.status = reply.status
                result.message = reply.message
    finally:
        if kernel is not None:
            kernel.cleanup()
            cpu[0] += kernel.cpu_s
    if restarts:
        notes.append(f"the kernel was restarted {restarts} time(s); the cells that stopped it were skipped")
    return RunResult(status, [results[i] for i in sorted(results)], notes, round(time.monotonic() - start, 2),
                     round(cpu[0], 2))
