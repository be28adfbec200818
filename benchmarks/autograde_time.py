"""How long autograding one submission takes, per assignment (the standard's budget: 15 s).

For each assignment: a throwaway course is released, the reference submission (the release with
every answer filled in from the instructor version) is submitted by one student, and

* ``autograde``: the wall time of ``nbgrader autograde <assignment> --student ref`` -- one whole
  nbgrader process: start-up, gradebook, copying, executing the notebook, scoring;
* ``kernel``: the notebook alone, executed in a fresh kernel by nbclient with the environment
  nbgrader gives it (``NBGRADER_EXECUTION=autograde``, one torch thread): kernel start plus cells;
* ``slowest``: the three slowest cells of that run.

Each figure is the median of ``--repeat`` runs. Not a test: timings depend on the machine and on
its load (printed); run it on an idle machine for wall times worth quoting. Next to each wall time
the CPU seconds of the processes it ran (``autograde_cpu_s``: nbgrader and its kernel;
``kernel_cpu_s``: the kernel), which other work on the machine changes far less.

    .venv/bin/python benchmarks/autograde_time.py [ASSIGNMENT ...] [--repeat 3]

Prints a table and writes benchmarks/results/autograde_time.json.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from course_instructor.kernel_client import SlicedPollKernelManager  # noqa: E402
from course_instructor.release import nbgrader_env  # noqa: E402
from roundtrip_helpers import make_course, points_of, reference_submission, scores, write_submission  # noqa: E402

BUDGET_S = 15.0


def assignments() -> list[str]:
    return sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir() and list(p.glob("*.ipynb")))


def _cell_seconds(cell) -> float | None:
    ex = cell.metadata.get("execution", {})
    if "iopub.execute_input" not in ex or "shell.execute_reply" not in ex:
        return None
    start = datetime.fromisoformat(ex["iopub.execute_input"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def _children_cpu_s() -> float:
    """CPU seconds (user + system) of this process's finished and reaped children, and theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def kernel_run(path: Path) -> tuple[float, float, list[tuple[float, int, str]]]:
    """Execute ``path`` as nbgrader would.

    Returns:
        (wall seconds, kernel CPU seconds, [(cell wall seconds, index, first line)] slowest first).
    """
    nb = nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in ("NBGRADER_EXECUTION", "COURSE_NUM_THREADS")}
    os.environ.update(NBGRADER_EXECUTION="autograde", COURSE_NUM_THREADS="1")
    try:
        start, cpu = time.perf_counter(), _children_cpu_s()
        NotebookClient(nb, timeout=600, kernel_name="python3", kernel_manager_class=SlicedPollKernelManager,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        seconds, cpu = time.perf_counter() - start, _children_cpu_s() - cpu
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    cells = [(s, i, (c.source.splitlines() or [""])[0][:60]) for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (s := _cell_seconds(c)) is not None]
    return seconds, cpu, sorted(cells, reverse=True)


def autograde_run(root: Path, assignment: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of nbgrader and its kernel) of one ``nbgrader autograde``."""
    cmd = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--student=ref", "--force",
           f"--CourseDirectory.root={root}"]
    start, cpu = time.perf_counter(), _children_cpu_s()
    proc = subprocess.run(cmd, cwd=REPO, env=nbgrader_env(), capture_output=True, text=True, timeout=900)
    seconds, cpu = time.perf_counter() - start, _children_cpu_s() - cpu
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader autograde {assignment} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, cpu


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("assignments", nargs="*", help="default: every assignment in solutions/")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args(argv)
    known = assignments()
    unknown = [x for x in a.assignments if x not in known]
    if unknown:
        p.error(f"unknown assignment(s) {unknown}; known: {known}")
    if a.repeat < 1:
        p.error("--repeat must be at least 1")
    out = {"load_before": os.getloadavg(), "repeat": a.repeat, "budget_s": BUDGET_S, "assignments": {}}
    print(f"{'assignment':<22} {'autograde':>10} {'(CPU)':>7} {'kernel':>8} {'(CPU)':>7}  slowest cells (kernel run)")
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in a.assignments or known:
            root = make_course(Path(tmp) / assignment, assignment)
            (name,) = [q.name for q in (root / "solutions" / assignment).glob("*.ipynb")]
            source = nbformat.read(root / "solutions" / assignment / name, as_version=4)
            release = nbformat.read(root / "notebooks" / assignment / name, as_version=4)
            write_submission(root, "ref", assignment, name, reference_submission(release, source))
            graded = [autograde_run(root, assignment) for _ in range(a.repeat)]
            grade, grade_cpu = (statistics.median(r[i] for r in graded) for i in (0, 1))
            got = scores(root, assignment, name[:-len(".ipynb")], "ref")
            runs = [kernel_run(root / "submitted" / "ref" / assignment / name) for _ in range(a.repeat)]
            kernel, kernel_cpu = (statistics.median(r[i] for r in runs) for i in (0, 1))
            slowest = runs[-1][2][:3]
            full_marks = all(got.get(k) == pts for k, pts in points_of(source).items())
            out["assignments"][assignment] = {"autograde_s": round(grade, 1), "kernel_s": round(kernel, 1),
                                              "autograde_cpu_s": round(grade_cpu, 1), "kernel_cpu_s": round(kernel_cpu, 1),
                                              "slowest_cells": [[round(s, 2), i, src] for s, i, src in slowest],
                                              "within_budget": grade <= BUDGET_S, "scored": full_marks}
            flag = ("" if grade <= BUDGET_S else "  OVER BUDGET") + ("" if full_marks else "  NOT FULL MARKS")
            print(f"{assignment:<22} {grade:>9.1f}s {grade_cpu:>6.1f}s {kernel:>7.1f}s {kernel_cpu:>6.1f}s  "
                  + "; ".join(f"{s:.1f}s #{i}" for s, i, _ in slowest) + flag, flush=True)
    out["load_after"] = os.getloadavg()
    results = REPO / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "autograde_time.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"load average before/after: {out['load_before']} / {out['load_after']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
