"""The bubblewrap sandbox each grading kernel runs in.

What a kernel started by :func:`kernel_command` can and cannot do (Linux, ``bwrap`` installed):

- **No network**: its own network namespace with only a loopback device (``--unshare-net``).
- **Read-only system**: ``/usr``, ``/etc``, the Python installation, the course's virtual
  environment and the ``course_utils`` package are bound read-only; nothing else of the host
  exists inside (no ``/home``, ``/root``, ``/work``, no repository, so no ``gradebook.db``,
  no ``solutions/``, no other submission, no autograded or feedback folder).
- **Writable**: only three size-limited tmpfs, private to this kernel: the working directory,
  a small ``/dev/shm`` and ``/tmp`` (world-writable with the sticky bit, like a normal ``/tmp``: Matplotlib's and
  IPython's caches go there). Matplotlib's font list is built once per grader process, in a
  sandbox like the kernels' before any student code runs (:func:`font_cache`), and bound
  read-only into each kernel's ``/tmp/mpl`` (each kernel used to rebuild it: 0.2 CPU-s). No host folder is writable, as root or not: the kernel's sockets
  are in its ``/tmp`` (:data:`SOCKETS`), its connection file is bound read-only, and the grader
  reaches the sockets through ``/proc/<sandbox pid>/root`` (the pid bubblewrap reports on
  ``--info-fd``).
- **Its own PID, IPC and UTS namespaces**, a new session (no terminal injection), and it dies
  with the grader. It cannot see or signal the grader or other kernels.
- **Unprivileged**: when the grader runs as root (CI, containers), the kernel drops to a
  dedicated uid per worker slot and grader process (:func:`uid_for`), without capabilities; otherwise it runs in an
  unprivileged user namespace as the instructor's uid.
- **Resource limits** (``prlimit``): address space (``--memory-mb``, default 4096 MiB), CPU
  seconds, number of processes/threads (a fork storm stops at the limit), size of any file written.

Limits: no seccomp filter (the kernel can make any system call the kernel allows an
unprivileged process); memory is bounded per process (RLIMIT_AS), not per sandbox: up to
``nproc`` forked processes could each use that much. Without root, the process limit counts
all the instructor's processes, so it is set relative to their current number.
"""
from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

BWRAP = "bwrap"
UID_BASE = 61000
SOCKETS = "/tmp/.course-kernel"  # inside the sandbox: the kernel's IPC sockets are SOCKETS-1 ... SOCKETS-5
CONNECTION_FILE = "/tmp/.course-kernel.json"  # inside the sandbox: read-only
SHM_MB = 16  # /dev/shm (POSIX semaphores)
MPL_DIR = "/tmp/mpl"  # inside the sandbox: MPLCONFIGDIR


@dataclass
class Limits:
    """Resource limits for one kernel."""

    memory_mb: int = 4096
    cpu_s: int = 600
    nproc: int = 256
    file_mb: int = 64
    tmpfs_mb: int = 256  # the working directory
    tmp_mb: int = 256  # /tmp


def uid_for(slot: int) -> int:
    """The uid a root grader runs worker ``slot``'s kernels as: distinct per slot and per grader
    process, so that process limits and clean-up never mix two concurrent runs."""
    return UID_BASE + (os.getpid() % 4096) * 256 + slot % 256


def bwrap_path() -> str | None:
    return shutil.which(BWRAP)


def available() -> tuple[bool, str]:
    """Whether the sandbox can run here, and if not, why (a message for the instructor)."""
    if not sys.platform.startswith("linux"):
        return False, f"bubblewrap sandboxing needs Linux (this is {sys.platform})"
    path = bwrap_path()
    if path is None:
        return False, "bubblewrap (`bwrap`) is not installed; on Debian/Ubuntu: sudo apt-get install bubblewrap"
    probe = subprocess.run(
        [path, *_namespace_args(), *_base_binds(), "--", sys.executable, "-c", "pass"],
        capture_output=True, text=True, timeout=60,
    )
    if probe.returncode != 0:
        return False, f"bubblewrap is installed but cannot create a sandbox here: {probe.stderr.strip()[:300]}"
    return True, "bubblewrap"


def _namespace_args() -> list[str]:
    args = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "grader"]
    if os.geteuid() != 0:
        args.append("--unshare-user")
    return args


def _parents(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if str(p) != "/"]


def _ro_binds() -> list[Path]:
    """Host paths the kernel needs read-only: the Python installation, the venv, course_utils and
    course_instructor (the grading guard is imported in the kernel)."""
    import course_instructor
    import course_utils

    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(course_utils.__file__).resolve().parent,
             Path(course_instructor.__file__).resolve().parent}
    exe = Path(sys.executable)
    if exe.is_symlink():
        paths.add(exe.resolve().parent.parent)
    return sorted(p for p in paths if not str(p).startswith("/usr/"))


def _base_binds(tmp_mb: int | None = None) -> list[str]:
    """The read-only system, ``/proc``, ``/dev`` and a private ``/tmp`` (``tmp_mb`` MiB, mode 1777)."""
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev"]
    if tmp_mb:
        args += ["--size", str(tmp_mb * 1024 * 1024), "--perms", "1777"]
    args += ["--tmpfs", "/tmp"]
    for name in ("bin", "lib", "lib64", "lib32", "sbin"):
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    made: set[Path] = set()
    for path in _ro_binds():
        for parent in _parents(path):
            if parent not in made and parent not in (Path("/usr"), Path("/etc"), Path("/tmp")):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        args += ["--ro-bind", str(path), str(path)]
    return args


_font_lock = threading.Lock()
_font_cache: list = []  # [(file name, host path) or None], once computed


def font_cache() -> tuple[str, Path] | None:
    """Matplotlib's font list as a kernel sees it: (its file name, a host file to bind read-only).

    Built once per grader process by the course's own code in a sandbox with the kernels' view of
    the system (so every font path in it is valid there), before any student code runs. None where
    it cannot be built: each kernel then builds its own in ``/tmp/mpl``, as before.
    """
    with _font_lock:
        if not _font_cache:
            _font_cache.append(_build_font_cache())
        return _font_cache[0]


def _build_font_cache() -> tuple[str, Path] | None:
    bwrap = bwrap_path()
    if bwrap is None:
        return None
    code = ("import glob, os, sys\nimport matplotlib.font_manager\n"
            f"found = glob.glob('{MPL_DIR}/fontlist-*.json')\n"
            "sys.exit(1) if len(found) != 1 else sys.stdout.write(os.path.basename(found[0]) + '\\n' + open(found[0]).read())\n")
    cmd = [bwrap, *_namespace_args(), *_base_binds(64), "--clearenv", "--setenv", "MPLCONFIGDIR", MPL_DIR,
           "--setenv", "HOME", "/tmp", "--setenv", "LANG", "C.UTF-8", "--", sys.executable, "-c", code]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    name, _, text = proc.stdout.partition("\n")
    if proc.returncode != 0 or not re.fullmatch(r"fontlist-v[\w.]+\.json", name):
        return None
    try:
        json.loads(text)
    except ValueError:
        return None
    folder = Path(tempfile.mkdtemp(prefix="course-grade-mpl-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / name
    path.write_text(text)
    os.chmod(folder, 0o755)
    os.chmod(path, 0o644)
    return name, path


def kernel_command(connection_file: Path, workdir: str, slot: int, limits: Limits,
                   extra_ro: dict[str, Path] | None = None, info_fd: int | None = None) -> list[str]:
    """The command that starts an IPython kernel for ``connection_file`` inside the sandbox.

    Args:
        connection_file: written by the grader (``ip`` :data:`SOCKETS`); bound read-only at
            :data:`CONNECTION_FILE`.
        workdir: the kernel's working directory inside the sandbox (a tmpfs).
        slot: the worker slot; as root, the kernel runs as uid ``uid_for(slot)``.
        extra_ro: files to show read-only inside ``workdir`` (name -> host path), e.g. data
            files released with the assignment.
        info_fd: a file descriptor the caller passes on, for bubblewrap's JSON with the
            sandbox's pid (``child-pid``).
    """
    args = [bwrap_path() or BWRAP, *_namespace_args(), *_base_binds(limits.tmp_mb)]
    if info_fd is not None:
        args[1:1] = ["--info-fd", str(info_fd)]
    args += ["--ro-bind", str(connection_file), CONNECTION_FILE]
    fonts = font_cache()
    if fonts is not None:  # a writable MPLCONFIGDIR (Matplotlib's other caches) holding the prebuilt font list
        args += ["--perms", "1777", "--dir", MPL_DIR, "--ro-bind", str(fonts[1]), f"{MPL_DIR}/{fonts[0]}"]
    args += ["--size", str(limits.tmpfs_mb * 1024 * 1024), "--perms", "0777", "--tmpfs", workdir]
    for name, host in (extra_ro or {}).items():
        args += ["--ro-bind", str(host), f"{workdir}/{name}"]
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir, "TMPDIR": "/tmp", "LANG": "C.UTF-8",
        "NBGRADER_EXECUTION": "autograde", "COURSE_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline", "MPLCONFIGDIR": MPL_DIR,
        "IPYTHONDIR": "/tmp/ipython", "JUPYTER_PLATFORM_DIRS": "1",
    }
    args.append("--clearenv")
    for key, value in env.items():
        args += ["--setenv", key, value]
    # The sandbox's own root and /dev are tmpfs that bubblewrap made: read-only from here on (else a
    # kernel in a user namespace, the grader not being root, could fill RAM through them); a small
    # /dev/shm for semaphores.
    args += ["--size", str(SHM_MB * 1024 * 1024), "--perms", "1777", "--tmpfs", "/dev/shm",
             "--remount-ro", "/dev", "--remount-ro", "/"]
    args += ["--chdir", workdir]
    if os.geteuid() == 0:
        uid = str(uid_for(slot))
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                 "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all"]
        nproc = limits.nproc
    else:
        args.append("--")
        nproc = limits.nproc + _own_process_count()
    args += ["prlimit", f"--as={limits.memory_mb * 1024 * 1024}", f"--cpu={limits.cpu_s}", f"--nproc={nproc}",
             f"--fsize={limits.file_mb * 1024 * 1024}", "--core=0", "--",
             sys.executable, "-m", "ipykernel_launcher", "-f", CONNECTION_FILE,
             "--HistoryManager.enabled=False", "--IPKernelApp.quiet=True"]
    return args


def _own_process_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(list((entry / "task").iterdir()))
            except OSError:
                continue
    return count


def uid_processes(slot: int) -> int:
    """How many processes run as the slot's uid (0 when its last kernel is fully gone)."""
    uid = uid_for(slot)
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count
