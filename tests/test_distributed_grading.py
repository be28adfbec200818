"""``course-grade`` on Dask (course_instructor/grading/cluster.py), tested on a LocalCluster.

The class is 00_welcome's round trip (tests/roundtrip_helpers.write_class: the reference, the
blank release, the stubs and the designed mistakes of tests/cases/00_welcome.py, packed): 5
submissions of the cheapest assignment, graded once by the local pool and once on a 2-worker
``LocalCluster`` (each run once per test process: :func:`pool_run`, :func:`cluster_run`; the class
report's test reads the pool run too). Then a batch during which a worker is killed (SIGKILL, as
the kernel's OOM killer or a lost node would) must still give every student exactly one row.
"""
from __future__ import annotations

import csv
import functools
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest

from course_instructor.grading import cli, cluster, collect, sandbox
from roundtrip_cases import CASES
from roundtrip_helpers import make_course, reference_submission, scores, write_class, write_submission

ASSIGNMENT = "00_welcome"
SANDBOX_OK, SANDBOX_WHY = sandbox.available()
OPTIONS = dict(cell_timeout=600, notebook_timeout=1800, progress=False, feedback=False,
               limits=sandbox.Limits(cpu_s=1800), allow_unsandboxed=not SANDBOX_OK)


def _by_student(results: list[dict]) -> dict[str, tuple]:
    """What must not depend on where a submission was graded: status, score, per-test points and status."""
    return {r["student"]: (r["status"], r["score"], r["max_score"],
                           {q["grade_id"]: (q["points"], q["status"]) for nb in r["notebooks"].values()
                            for q in nb["questions"]}) for r in results}


@functools.lru_cache(maxsize=None)
def _course() -> tuple[Path, dict, dict]:
    """00_welcome released and its round-trip class submitted, in a pristine course (copied by each run):
    (root, {(student, notebook): expected points}, {student: the stubs and mistakes it holds})."""
    root = make_course(Path(tempfile.mkdtemp(prefix="dask-class-")), ASSIGNMENT)
    expected, members = write_class(root, ASSIGNMENT, CASES.get(ASSIGNMENT, []))
    return root, expected, members


def _run(name: str, **kwargs) -> tuple[Path, list[dict], float]:
    pristine = _course()[0]
    root = pristine.parent / name
    shutil.copytree(pristine, root)
    start = time.perf_counter()
    results = cli.grade_assignment(ASSIGNMENT, root=root, **OPTIONS, **kwargs)
    return root, results, time.perf_counter() - start


@functools.lru_cache(maxsize=None)
def pool_run() -> tuple[Path, list[dict], float]:
    """The round-trip class of 00_welcome graded by the local pool (2 workers): (root, results, seconds)."""
    return _run("pool", workers=2)


@functools.lru_cache(maxsize=None)
def cluster_run() -> tuple[Path, list[dict], float]:
    """The same class graded on a 2-worker LocalCluster started by course-grade (--cluster local:2)."""
    return _run("cluster", cluster="local:2")


def test_parse_cluster():
    assert cluster.parse_cluster("local:3") == 3
    for bad in ("local", "local:0", "local:x", "k8s:2", ""):
        with pytest.raises(ValueError, match="local:N"):
            cluster.parse_cluster(bad)


def test_a_worker_without_sandbox_refuses(monkeypatch):
    """A worker whose bubblewrap does not work never grades a sandboxed run's submission unsandboxed."""
    monkeypatch.setattr(cluster, "_SANDBOX", (False, "bubblewrap is not installed"))
    job = cluster.Job(ASSIGNMENT, {}, {"sandboxed": True})
    with pytest.raises(RuntimeError, match="cannot sandbox: bubblewrap is not installed"):
        cluster.grade_remote(job, cluster.Payload("alice", {}))


@pytest.mark.slow
def test_cluster_grades_like_the_local_pool():
    """Identical status, score and per-test points and statuses; the client wrote autograded/,
    the cache entries and the gradebook exactly as the pool did."""
    pool_root, pool, _ = pool_run()
    dask_root, on_dask, seconds = cluster_run()
    print(f"\n{len(on_dask)} submissions on a 2-worker LocalCluster in {seconds:.1f} s (cluster start included); "
          f"pool {pool_run()[2]:.1f} s")
    assert _by_student(on_dask) == _by_student(pool)
    expected = _course()[1]
    for (student, name), want in expected.items():
        got = scores(dask_root, ASSIGNMENT, name.removesuffix(".ipynb"), student)
        assert {k: got[k] for k in want} == want, student
        assert (dask_root / "autograded" / student / ASSIGNMENT / name).is_file()
    cache = {p.parent.parent.name: json.loads(p.read_text())["key"]
             for p in (dask_root / "autograded").glob(f"*/{ASSIGNMENT}/.course-grade.json")}
    pool_cache = {p.parent.parent.name: json.loads(p.read_text())["key"]
                  for p in (pool_root / "autograded").glob(f"*/{ASSIGNMENT}/.course-grade.json")}
    assert cache == pool_cache and len(cache) == len(pool)
    assert (dask_root / "grades" / ASSIGNMENT / "report.html").is_file()


@pytest.mark.slow
def test_cluster_run_fills_the_cache():
    """The cache entries the client wrote for the cluster's results answer a second run: nothing
    unchanged would be sent to the workers again (the client's FromCache, run without a cluster)."""
    dask_root, first, _ = cluster_run()
    grader = cli.Grader(dask_root, ASSIGNMENT, limits=OPTIONS["limits"], cell_timeout=600, notebook_timeout=1800,
                        sandboxed=SANDBOX_OK)
    subs = collect.collect(dask_root / "submitted", ASSIGNMENT, dask_root, list(grader.sources))
    again = [cluster._from_cache(grader, sub, cli._fingerprint) for sub in subs]
    assert all(r is not None and r["cached"] for r in again), [s.student for s, r in zip(subs, again) if r is None]
    assert _by_student(again) == _by_student(first)


class _Killer(threading.Thread):
    """Kills (SIGKILL) the first worker seen grading a submission, once it has been at it for ``after`` s."""

    def __init__(self, address: str, after: float = 1.0):
        super().__init__(daemon=True)
        self.address, self.after = address, after
        self.killed: list[str] = []  # task keys that were running on the killed worker
        self.stop = threading.Event()

    def run(self) -> None:
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            while not self.stop.is_set():
                busy = {w: keys for w, keys in client.processing().items()
                        if any(str(k).startswith("course-grade-") for k in keys)}
                if busy:
                    worker, keys = next(iter(busy.items()))
                    time.sleep(self.after)
                    pid = client.run(os.getpid, workers=[worker])[worker]
                    os.kill(pid, signal.SIGKILL)
                    self.killed = [str(k) for k in keys]
                    return
                time.sleep(0.05)


@pytest.mark.slow
def test_killed_worker_loses_nothing(tmp_path):
    """A worker killed mid-submission: its submission is graded again elsewhere; every student has
    exactly one result, one CSV total and one gradebook submission, with the right score."""
    from distributed import LocalCluster

    root = make_course(tmp_path, ASSIGNMENT)
    import nbformat

    name = f"{ASSIGNMENT}.ipynb"
    source = nbformat.read(root / "solutions" / ASSIGNMENT / name, as_version=4)
    reference = reference_submission(nbformat.read(root / "notebooks" / ASSIGNMENT / name, as_version=4), source)
    students = [f"s{i}" for i in range(6)]
    for s in students:
        write_submission(root, s, ASSIGNMENT, name, reference)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=0, dashboard_address=None) as lc:
        killer = _Killer(lc.scheduler_address)
        killer.start()
        try:
            results = cli.grade_assignment(ASSIGNMENT, root=root, scheduler=lc.scheduler_address, **OPTIONS)
        finally:
            killer.stop.set()
            killer.join(timeout=30)
    assert killer.killed, "no worker was killed while grading (the batch finished first?)"
    assert sorted(r["student"] for r in results) == students
    full = results[0]["max_score"]
    assert all(r["status"] == "graded" and r["score"] == full and not r["notes"] for r in results), results
    with open(root / "grades" / ASSIGNMENT / "grades.csv") as fh:
        totals = [r["student"] for r in csv.DictReader(fh) if r["question"] == "(total)"]
    assert sorted(totals) == students
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        subs = [s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions]
    assert sorted(subs) == students
