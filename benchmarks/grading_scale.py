"""Grading at scale: a synthetic class graded by the local pool and on a Dask LocalCluster, in one run.

The class: ``--n`` students (default 200) of one assignment (default 00_welcome), a fixed mix --
55 % the reference solution, 20 % one designed mistake of tests/cases/<assignment>.py, 10 % one
exercise left as the stub, 5 % the blank release, 5 % an answer that does not parse (SyntaxError)
and 5 % an unreadable file (not JSON) -- written twice, into two copies of a fresh course.
Both are graded with ``--workers``/``local:N`` = ``--cores`` (feedback off: it is timed apart).

Reported (stdout and benchmarks/results/grading_scale.json):

- wall time, submissions per minute per core (``n / minutes / cores``);
- overhead per submission: core-seconds not spent inside grading a submission,
  ``(cores x wall - sum of the submissions' own seconds) / n`` (collecting, the gradebook writes,
  scheduling and transfers; for Dask also the cluster's start, measured apart as ``cluster_start_s``);
- the client's serial work per submission: the gradebook write, re-timed on the pool's results both
  as the pool writes (``nbgrader_io.save``: a gradebook session each) and as the Dask client does
  (:mod:`course_instructor.grading.gradebook_writer`: one session), and ``nbgrader generate_feedback`` per student -- the parts that do not scale
  with workers (docs/grading-at-scale.md projects 10,000 students from these figures).

    .venv/bin/python benchmarks/grading_scale.py [--n 200] [--cores 2] [--assignment 00_welcome]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import nbformat  # noqa: E402

from course_instructor.grading import cli, cluster, nbgrader_io, sandbox  # noqa: E402
from course_instructor.grading.gradebook_writer import GradebookWriter  # noqa: E402
from roundtrip_cases import CASES  # noqa: E402
from roundtrip_helpers import STUB, exercises, make_course, reference_submission, with_answer, write_submission  # noqa: E402

MIX = [("reference", 55), ("mistake", 20), ("stub", 10), ("blank", 5), ("syntax error", 5), ("unreadable", 5)]


def synthetic_class(root: Path, assignment: str, n: int) -> dict[str, str]:
    """Write ``n`` submissions into ``root/submitted`` following :data:`MIX`; returns student -> kind."""
    names = sorted(p.name for p in (root / "notebooks" / assignment).glob("*.ipynb"))
    kinds = [k for k, pct in MIX for _ in range(pct)]
    plan = {f"s{i:05d}": kinds[(i * 37) % len(kinds)] for i in range(n)}  # spread the kinds evenly
    for name in names:
        source = nbformat.read(root / "solutions" / assignment / name, as_version=4)
        release = nbformat.read(root / "notebooks" / assignment / name, as_version=4)
        ref = reference_submission(release, source)
        answers = list(exercises(source))
        cases = [c for c in CASES.get(assignment, []) if c[0] in answers]
        for i, (student, kind) in enumerate(sorted(plan.items())):
            if kind == "unreadable":
                folder = root / "submitted" / student / assignment
                folder.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text("{ this is not a notebook")
                continue
            nb = {"reference": ref, "blank": release}.get(kind)
            if kind == "mistake" and cases:
                answer_id, code = cases[i % len(cases)][:2]
                nb = with_answer(ref, answer_id, code)
            elif kind in ("stub", "mistake"):
                nb = with_answer(ref, answers[i % len(answers)], STUB)
            elif kind == "syntax error":
                nb = with_answer(ref, answers[i % len(answers)], "def broken(:\n    return")
            write_submission(root, student, assignment, name, nb)
    return plan


def figures(results: list[dict], wall: float, cores: int) -> dict:
    own = [r.get("seconds", 0.0) for r in results]
    n = len(results)
    return {"wall_s": round(wall, 1), "per_min_per_core": round(n / (wall / 60) / cores, 2),
            "overhead_s_per_submission": round((cores * wall - sum(own)) / n, 2),
            "median_submission_s": round(statistics.median(own), 2), "kernel_cpu_s": round(sum(r.get("cpu_s", 0.0) for r in results), 1),
            "statuses": {s: sum(1 for r in results if r["status"] == s) for s in sorted({r["status"] for r in results})}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=200, help="students in the synthetic class (default 200)")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="pool workers = LocalCluster workers")
    p.add_argument("--assignment", default="00_welcome")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "grading_scale.json")
    a = p.parse_args()
    if a.n < 1 or a.cores < 1:
        raise SystemExit("--n and --cores must be at least 1")
    ok, why = sandbox.available()
    if not ok:
        raise SystemExit(f"needs the sandbox: {why}")
    out: dict = {"n": a.n, "cores": a.cores, "assignment": a.assignment, "mix": dict(MIX), "load_before": os.getloadavg()}
    opts = dict(feedback=False, progress=False, cell_timeout=60, notebook_timeout=600)
    with tempfile.TemporaryDirectory(prefix="grading-scale-") as tmp:
        pool_root = make_course(Path(tmp) / "pool", a.assignment)
        plan = synthetic_class(pool_root, a.assignment, a.n)
        dask_root = Path(tmp) / "dask"
        shutil.copytree(pool_root, dask_root)

        start = time.perf_counter()
        pool = cli.grade_assignment(a.assignment, root=pool_root, workers=a.cores, **opts)
        out["pool"] = figures(pool, time.perf_counter() - start, a.cores)
        print(f"pool ({a.cores} workers): {out['pool']}", flush=True)

        start = time.perf_counter()
        with cluster.Dask(cluster=f"local:{a.cores}"):
            pass
        out["cluster_start_s"] = round(time.perf_counter() - start, 1)
        start = time.perf_counter()
        on_dask = cli.grade_assignment(a.assignment, root=dask_root, cluster=f"local:{a.cores}", **opts)
        out["dask"] = figures(on_dask, time.perf_counter() - start, a.cores)
        print(f"LocalCluster ({a.cores} workers; start alone {out['cluster_start_s']} s): {out['dask']}", flush=True)
        same = {r["student"]: r["score"] for r in pool} == {r["student"]: r["score"] for r in on_dask}
        out["identical_scores"] = same

        # the client's serial work: gradebook writes (again, timed one by one) and feedback pages
        grader = cli.Grader(pool_root, a.assignment, workers=1)
        times, shared = [], []
        for res in pool:  # nbgrader_io.save, a new gradebook session per submission (the local pool's way)
            t0 = time.perf_counter()
            grader.save(res)
            times.append(time.perf_counter() - t0)
        with GradebookWriter(pool_root, a.assignment) as writer:  # one session for the run (the Dask client's way)
            for res in pool:
                t0 = time.perf_counter()
                writer.save(res)
                shared.append(time.perf_counter() - t0)
        for key, ts in (("gradebook_write_s", times), ("gradebook_write_one_session_s", shared)):
            out[key] = {"median": round(statistics.median(ts), 3), "mean": round(statistics.fmean(ts), 3),
                        "per_s": round(len(ts) / sum(ts), 1)}
        t0 = time.perf_counter()
        proc = nbgrader_io.generate_feedback(pool_root, a.assignment)
        out["feedback_s_per_student"] = round((time.perf_counter() - t0) / a.n, 3)
        out["feedback_rc"] = proc.returncode
        out["kinds"] = {k: sum(1 for v in plan.values() if v == k) for k, _ in MIX}
    out["load_after"] = os.getloadavg()
    print(f"gradebook writes: {out['gradebook_write_s']}, through one session {out['gradebook_write_one_session_s']}; feedback {out['feedback_s_per_student']} s per student; "
          f"identical scores: {same}; load average {out['load_before']} -> {out['load_after']}")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=1) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
