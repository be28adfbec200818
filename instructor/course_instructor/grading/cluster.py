"""Grade a class on Dask workers: ``course-grade ... --scheduler ADDRESS`` or ``--cluster local:N``.

The split: the **client** (the machine that runs ``course-grade``) collects the submissions,
answers unchanged ones from the cache, sends each other submission to the cluster, and alone
writes everything (``autograded/``, the cache entries, ``gradebook.db``, the reports). A
**worker** receives the assignment once (its source and release notebooks and data files, as
bytes: it needs no shared file system and never sees the gradebook), then one submission per
task, grades it with the same :class:`~.cli.Grader` and stages as a local run (its kernel in
the worker's own bubblewrap sandbox), and returns the result and the autograded notebooks.

Resilience is Dask's: a task whose worker dies (killed, out of memory, node lost) is re-run on
another worker; since a worker writes nothing the client keeps, a re-run cannot leave a second
row. A task that fails on ``allowed-failures`` workers in a row (``distributed.scheduler.
allowed-failures``, 3 by default), or raises twice, becomes a "crashed" row with the reason: the
batch never stops. The client writes the gradebook as results arrive, through one open session
(:mod:`.gradebook_writer`: its serial write rate bounds the class's).

A worker never grades unsandboxed unless the client said so (``--unsafe-no-sandbox``): each
worker probes bubblewrap itself (:func:`worker_sandbox`), and the run refuses to start if any
worker cannot sandbox. Deployment (Kubernetes, Slurm/PBS) and measured throughput:
docs/grading-at-scale.md.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from . import collect, sandbox, stages
from .gradebook_writer import GradebookWriter

ALLOWED_RETRIES = 1  # a task that *raises* is retried once (a worker that dies is Dask's allowed-failures)


@dataclass
class Job:
    """What every worker needs to grade one assignment, shipped once per worker (no shared disk)."""

    assignment: str
    files: dict[str, bytes]  # path relative to the course root (solutions/<a>/..., notebooks/<a>/...) -> bytes
    options: dict  # Grader keyword options: cell_timeout, notebook_timeout, limits (dict), sandboxed, show_hidden_tests
    key: str = ""

    def __post_init__(self):
        if not self.key:
            h = hashlib.sha256(repr(sorted(self.options.items())).encode())
            for rel, data in sorted(self.files.items()):
                h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
            self.key = h.hexdigest()[:16]


@dataclass
class Payload:
    """One submission as bytes (the worker rebuilds a :class:`.collect.Submission` from it)."""

    student: str
    files: dict[str, bytes] | None  # notebook file name -> bytes; None: nothing submitted (no folder)
    timestamp: str | None = None
    notes: list[str] = field(default_factory=list)


def job_for(grader) -> Job:
    """The assignment of a client-side :class:`~.cli.Grader`, as a :class:`Job`."""
    from ..release import RELEASE_DIR, SOURCE_DIR

    files = {f"{SOURCE_DIR}/{grader.assignment}/{name}": path.read_bytes() for name, path in grader.sources.items()}
    rel = grader.root / RELEASE_DIR / grader.assignment
    for name in grader.release_nbs:
        files[f"{RELEASE_DIR}/{grader.assignment}/{name}"] = (rel / name).read_bytes()
    for name, path in grader.extra_files.items():
        files[f"{RELEASE_DIR}/{grader.assignment}/{name}"] = path.read_bytes()
    options = {"cell_timeout": grader.cell_timeout, "notebook_timeout": grader.notebook_timeout,
               "limits": dict(vars(grader.limits)), "sandboxed": grader.sandboxed,
               "show_hidden_tests": grader.show_hidden}
    return Job(grader.assignment, files, options)


def payload_for(sub: collect.Submission) -> Payload:
    files = {p.name: p.read_bytes() for p in sub.files if p.is_file()} if sub.folder is not None else None
    return Payload(sub.student, files, sub.timestamp, list(sub.notes))


# -- on the worker ---------------------------------------------------------------------------------

_GRADERS: dict[str, object] = {}  # Job.key -> Grader on a private course root (one per worker process)
_LOCK = threading.Lock()
_SANDBOX: tuple[bool, str] | None = None


def worker_sandbox() -> tuple[bool, str]:
    """Whether bubblewrap works on this worker (probed once per process), and if not, why."""
    global _SANDBOX
    if _SANDBOX is None:
        _SANDBOX = sandbox.available()
    return _SANDBOX


def _nthreads() -> int:
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


def _grader(job: Job):
    from .cli import Grader

    with _LOCK:
        if job.key not in _GRADERS:
            root = Path(tempfile.mkdtemp(prefix=f"course-grade-worker-{job.key}-"))
            for rel, data in job.files.items():
                path = root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            opts = dict(job.options)
            limits = sandbox.Limits(**opts.pop("limits"))
            _GRADERS[job.key] = Grader(root, job.assignment, workers=_nthreads(), limits=limits, force=True, **opts)
        return _GRADERS[job.key]


def grade_remote(job: Job, payload: Payload) -> tuple[dict, dict[str, bytes]]:
    """Grade one submission on this worker: (the result, {autograded file name: bytes}).

    Runs every stage of a local run on a private copy of the course (the cache is the client's:
    ``force``); what the Write stage leaves is read back and deleted, so the worker keeps nothing.
    """
    if job.options.get("sandboxed") and not worker_sandbox()[0]:
        raise RuntimeError(f"worker {os.uname().nodename} cannot sandbox: {worker_sandbox()[1]}")
    g = _grader(job)
    out = g.root / "autograded" / payload.student / job.assignment
    shutil.rmtree(out, ignore_errors=True)
    folder, files = None, []
    if payload.files is not None:
        folder = Path(tempfile.mkdtemp(prefix="sub-", dir=g.root))
        for name, data in payload.files.items():
            (folder / name).write_bytes(data)
            files.append(folder / name)
    try:
        sub = collect.Submission(payload.student, folder, sorted(files), payload.timestamp, list(payload.notes))
        result = g.grade(sub)
        written = {p.name: p.read_bytes() for p in sorted(out.glob("*")) if p.is_file()} if out.is_dir() else {}
    finally:
        shutil.rmtree(out, ignore_errors=True)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return result, written


# -- on the client ---------------------------------------------------------------------------------

def parse_cluster(spec: str) -> int:
    """``local:N`` -> N (workers of a LocalCluster on this machine)."""
    kind, _, n = spec.partition(":")
    if kind != "local" or not n.isdigit() or int(n) < 1:
        raise ValueError(f"--cluster {spec!r}: expected local:N with N >= 1 (e.g. local:4); "
                         "for a cluster elsewhere, start its scheduler and pass --scheduler ADDRESS")
    return int(n)


class Dask:
    """A connection to a Dask cluster for one grading run (a context manager).

    ``scheduler``: an address (``tcp://host:8786``) or a scheduler file (JSON, as dask-jobqueue
    or ``dask scheduler --scheduler-file`` write it); ``cluster``: ``local:N`` starts a
    ``LocalCluster`` of N single-threaded worker processes, closed with the run.
    """

    def __init__(self, scheduler: str | None = None, cluster: str | None = None, timeout: float = 60):
        try:
            from distributed import Client, LocalCluster
        except ImportError as err:  # pragma: no cover - a dependency of course-instructor
            raise SystemExit(f"error: --scheduler/--cluster need Dask's `distributed` package ({err})") from None
        if bool(scheduler) == bool(cluster):
            raise ValueError("give exactly one of --scheduler ADDRESS and --cluster local:N")
        self.cluster = None
        if cluster:
            n = parse_cluster(cluster)
            self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=0,
                                        dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self.cluster, timeout=timeout)
        elif scheduler and Path(scheduler).expanduser().is_file():
            self.client = Client(scheduler_file=str(Path(scheduler).expanduser()), timeout=timeout)
        else:
            self.client = Client(scheduler, timeout=timeout)
        self.client.wait_for_workers(1, timeout=timeout)

    def __enter__(self) -> Dask:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    @property
    def cores(self) -> int:
        """Worker threads (= kernels graded at once) in the cluster now."""
        return sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()) or 1

    def sandbox(self) -> tuple[bool, str]:
        """(every worker can sandbox, why not): probed on the workers, not here."""
        found = self.client.run(worker_sandbox)
        bad = {addr: why for addr, (ok, why) in found.items() if not ok}
        if not bad:
            return True, "bubblewrap on every worker"
        addr, why = next(iter(bad.items()))
        return False, f"{len(bad)} of {len(found)} Dask worker(s) cannot sandbox (e.g. {addr}: {why})"

    def run(self, grader, subs, progress: bool = True) -> list[dict]:
        """Grade ``subs`` on the cluster; write every result here, one per student, sorted by student."""
        from distributed import as_completed
        from tqdm.auto import tqdm

        from .cli import _fingerprint

        results, todo = [], {}
        for sub in subs:
            cached = _from_cache(grader, sub, _fingerprint)
            if cached is not None:
                results.append(cached)
            else:
                todo[sub.student] = sub
        bar = tqdm(total=len(subs), initial=len(results), desc=f"grading {grader.assignment} on Dask",
                   unit="student", disable=not progress, file=sys.stderr)
        if todo:
            job = self.client.scatter(job_for(grader), broadcast=True, hash=False)
            futures = {self.client.submit(grade_remote, job, payload_for(sub), pure=False, retries=ALLOWED_RETRIES,
                                          key=f"course-grade-{grader.assignment}-{sub.student}-{os.urandom(4).hex()}"): sub
                       for sub in todo.values()}
            with GradebookWriter(grader.root, grader.assignment) as gradebook:
                for fut in as_completed(futures):
                    sub = futures.pop(fut)
                    try:
                        res, written = fut.result()
                        _write(grader, sub.student, written)
                    except Exception as err:  # noqa: BLE001 - one submission's failure never stops the batch
                        res = {"student": sub.student, "status": "crashed", "score": 0.0, "max_score": 0.0,
                               "notebooks": {}, "cached": False, "timestamp": sub.timestamp,
                               "notes": [f"grader error on the cluster: {type(err).__name__}: {str(err)[:300]}"]}
                    try:
                        gradebook.save(res)
                    except Exception as err:  # noqa: BLE001
                        res["notes"].append(f"gradebook write failed: {type(err).__name__}: {err}")
                    results.append(res)
                    fut.release()
                    bar.set_postfix_str(f"{sub.student}: {res['status']} {res['score']:g}/{res['max_score']:g}")
                    bar.update()
        bar.close()
        return sorted(results, key=lambda r: r["student"])


def _from_cache(grader, sub, fingerprint) -> dict | None:
    """The cached result of an unchanged submission (the FromCache stage, run here), or None."""
    key = fingerprint(sub.files, {"base": grader.base_key}) if sub.folder else None
    state = stages.State(sub, {"student": sub.student, "notes": []}, key=key)
    state = stages.FromCache(grader).process(state)
    return state.result if state.done else None


def _write(grader, student: str, written: dict[str, bytes]) -> None:
    """The worker's autograded files (notebooks and the cache entry) into this course root."""
    folder = grader.root / "autograded" / student / grader.assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in written.items():
        if Path(name).name != name or name in ("", ".", ".."):
            raise ValueError(f"unexpected file name from a worker: {name!r}")
        (folder / name).write_bytes(data)
