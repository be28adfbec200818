"""Reproducibility: one seed for everything, a measured thread policy, device choice, fast mode.

Every notebook starts with::

    from course_utils.reproducibility import seed_everything, device, fast_mode
    seed_everything(0)
    DEVICE = device()

Thread policy (measured with ``benchmarks/threads.py`` on the course's 2-core CPU machines,
200 SGD steps, seconds; "busy" = another CPU-bound process running, as when tests run in
parallel or a class is graded)::

    workload            idle 1 thr  idle 2 thr  busy 1 thr  busy 2 thr
    deep MLP (128 wide)       0.51        0.42        0.49        1.57
    wide MLP (1024 wide)      6.63        3.62        5.40        8.60
    LeNet-style CNN           3.86        3.22        3.20        9.24

Two threads help a little on an idle machine (1.2-1.8x) and hurt a lot when the cores are
shared (1.6-3x slower). So: when several kernels may run at once -- under nbgrader
(``NBGRADER_EXECUTION``), in CI, or in a pytest-xdist worker -- torch gets **one** thread;
interactively it keeps torch's default (one per physical core). ``COURSE_NUM_THREADS``
overrides both.
"""
from __future__ import annotations

import os
import random
import warnings

import numpy as np

__all__ = [
    "seed_everything",
    "configure_threads",
    "device",
    "fast_mode",
    "grading",
    "pick",
    "quiet_warnings",
]

_FALSEY = {"", "0", "false", "no", "off"}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in _FALSEY


def grading() -> bool:
    """True while nbgrader runs the notebook (``nbgrader validate`` or ``autograde``, also through
    ``course-grade``): nbgrader sets ``NBGRADER_EXECUTION`` in the kernel's environment."""
    return _env_flag("NBGRADER_EXECUTION")


def fast_mode() -> bool:
    """Whether heavy demos should shrink their work.

    True while nbgrader validates or autogrades (it sets ``NBGRADER_EXECUTION``; grading one
    submission must stay fast whatever else is set). Otherwise ``COURSE_FAST`` decides when
    set (``1``/``0``), and failing that, whether we run in CI (``CI`` set). The notebook tests
    set ``COURSE_FAST=0`` so CI executes the full lessons and checks their saved numbers.
    """
    if grading():
        return True
    if os.environ.get("COURSE_FAST", "").strip():
        return _env_flag("COURSE_FAST")
    return _env_flag("CI")


def pick(full, fast):
    """Return ``fast`` in fast mode and ``full`` otherwise.

    Example: ``epochs = pick(full=30, fast=3)``.
    """
    return fast if fast_mode() else full


def _shared_cpu() -> bool:
    """True where several kernels are likely to share the CPU (grading, CI, parallel tests)."""
    return (
        grading()
        or _env_flag("CI")
        or "PYTEST_XDIST_WORKER" in os.environ
    )


def configure_threads(num_threads: int | None = None) -> int:
    """Apply the course's torch thread policy and return the number of intra-op threads.

    Args:
        num_threads: an explicit count (>= 1). ``None`` applies the policy described in the
            module docstring: ``COURSE_NUM_THREADS`` if set, else 1 on a shared CPU, else
            torch's default.
    Raises:
        ValueError: if the requested count is not a positive integer.
    """
    import torch

    if num_threads is None and os.environ.get("COURSE_NUM_THREADS", "").strip():
        raw = os.environ["COURSE_NUM_THREADS"].strip()
        try:
            num_threads = int(raw)
        except ValueError:
            raise ValueError(f"COURSE_NUM_THREADS must be a positive integer, got {raw!r}") from None
    if num_threads is None and _shared_cpu():
        num_threads = 1
    if num_threads is not None:
        if isinstance(num_threads, bool) or not isinstance(num_threads, (int, np.integer)) or num_threads < 1:
            raise ValueError(f"num_threads must be a positive integer, got {num_threads!r}")
        torch.set_num_threads(int(num_threads))
    return torch.get_num_threads()


def _deterministic_algorithms(torch) -> None:
    """``torch.use_deterministic_algorithms(True, warn_only=True)`` without its import of
    ``torch._inductor.config``, which loads torch's whole compiler (~800 modules, 1.5-2.9 CPU-s
    at every kernel start; benchmarks/results/grading_profile.md) to set one flag. The flag is
    set on torch's C core, as the public call does after its import, and the compiler's own
    switch through ``TORCHINDUCTOR_DETERMINISTIC``, which its config reads when first imported
    (or directly, if it already is)."""
    import sys

    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None or "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=True)
        return
    os.environ["TORCHINDUCTOR_DETERMINISTIC"] = "1"
    setter(True, warn_only=True)


def seed_everything(seed: int = 0, deterministic: bool = True) -> int:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA).

    Args:
        seed: a non-negative integer below 2**32.
        deterministic: also ask torch for deterministic algorithms (``warn_only``, so an
            operation without a deterministic version still runs) and disable cuDNN
            benchmarking. Results then repeat exactly on the same machine and device.
    Returns:
        The seed, so a cell can show which one it used.
    Also applies :func:`configure_threads`.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    seed = int(seed)
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses; this process is already hashed
    if deterministic:
        # cuBLAS needs this for deterministic matrix products on CUDA >= 10.2.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        _deterministic_algorithms(torch)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    configure_threads()
    return seed


def device(verbose: bool = True, prefer: str | None = None):
    """Pick the best available torch device: CUDA, then Apple MPS, then CPU.

    Args:
        verbose: print one line saying which device was chosen and why.
        prefer: force ``"cpu"``, ``"cuda"`` or ``"mps"`` (also via ``COURSE_DEVICE``). A device
            that is not available raises ``RuntimeError`` rather than silently falling back.
    Returns:
        A ``torch.device``.
    """
    import torch

    prefer = prefer or os.environ.get("COURSE_DEVICE") or None
    mps = getattr(torch.backends, "mps", None)
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": bool(mps is not None and mps.is_available()),
        "cpu": True,
    }
    if prefer is not None:
        prefer = prefer.lower()
        if prefer not in available:
            raise ValueError(f"prefer must be one of 'cuda', 'mps', 'cpu', got {prefer!r}")
        if not available[prefer]:
            raise RuntimeError(f"device {prefer!r} was requested but is not available on this machine")
        chosen = prefer
    else:
        chosen = next(name for name in ("cuda", "mps", "cpu") if available[name])
    dev = torch.device(chosen)
    if verbose:
        if chosen == "cuda":
            detail = f"CUDA GPU: {torch.cuda.get_device_name(0)}"
        elif chosen == "mps":
            detail = "Apple GPU (MPS)"
        else:
            detail = f"CPU ({torch.get_num_threads()} torch threads); no GPU found -- everything still runs, just slower"
        print(f"Using {detail}")
    return dev


def quiet_warnings() -> None:
    """Silence warnings that third-party libraries print to stderr during graded cells.

    nbgrader scores any stderr output in a test cell as a failure, so notebooks call this once
    at the top. Errors are unaffected.
    """
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
