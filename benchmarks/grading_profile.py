"""Where the time of one ``course-grade`` submission goes: CPU seconds per phase, grader and kernel.

For each assignment given, a throwaway course is released and ``--students`` copies of the
reference submission are graded by ``course-grade`` as the round-trip tests run it (sandboxed,
one worker, feedback included). The run is instrumented, not changed:

* **sandbox start**: ``bwrap ... python -c pass`` minus a plain ``python -c pass`` (median of 5);
* **kernel**: each call the grader makes into a kernel is timed and the CPU seconds of the
  kernel's process tree (``/proc``) are read before and after it: kernel start (ipykernel up to
  ready), the grading guard's import, its snapshot/restore/verify calls, the notebook's set-up
  cells (the imports before the first answer cell), answer cells, test cells, other cells;
* **grader**: the grader process's own CPU (``getrusage``) split with cProfile into gradebook
  writes (nbgrader's ``Gradebook``), notebook repair/collection, writing the autograded notebook,
  the report, and ``nbgrader generate_feedback`` (a subprocess: its CPU is the children's).

CPU seconds are far less distorted by other jobs on a shared machine than wall seconds. Not a
test. ``.venv/bin/python benchmarks/grading_profile.py 00_welcome 04_convolution --students 3``
prints a table and writes benchmarks/results/grading_profile.json.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import nbformat  # noqa: E402

from course_instructor.grading import cli, execute, nbgrader_io, sandbox  # noqa: E402
from roundtrip_helpers import is_autograded_answer, is_test, make_course, reference_submission, write_submission  # noqa: E402


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def sandbox_start(repeat: int = 5) -> dict:
    """Median wall and CPU seconds of a process in the sandbox vs the same process without it."""
    out = {}
    base = sandbox.bwrap_path()
    cmds = {"plain": [sys.executable, "-c", "pass"]}
    if base:
        cmds["sandboxed"] = [base, *sandbox._namespace_args(), *sandbox._base_binds(256), "--", sys.executable, "-c", "pass"]
    for name, cmd in cmds.items():
        walls, cpus = [], []
        for _ in range(repeat):
            c0, t0 = _children_cpu(), time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
            cpus.append(_children_cpu() - c0)
        out[name] = {"wall_s": round(statistics.median(walls), 3), "cpu_s": round(statistics.median(cpus), 3)}
    return out


class KernelProbe:
    """Wraps :class:`execute.Kernel` start/run to attribute wall and CPU seconds to phases."""

    def __init__(self, kinds: dict[str, str]):
        self.kinds = kinds  # cell source -> phase
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def _phase(self, code: str, expressions: dict | None) -> str:
        if expressions:
            expr = next(iter(expressions.values()))
            return "guard " + expr.split(".")[-1].split("(")[0]
        if code.startswith("import course_instructor.grading.guard"):
            return "guard import"
        return self.kinds.get(code, "other code cells")

    def install(self):
        probe = self
        start, run = execute.Kernel.start, execute.Kernel.run

        def timed_start(kernel):
            t0 = time.perf_counter()
            start(kernel)
            probe._add("kernel start (to ready)", time.perf_counter() - t0, execute._tree_cpu(kernel.proc.pid))

        def timed_run(kernel, code, timeout, silent=False, expressions=None):
            pid = kernel.proc.pid if kernel.proc else None
            c0 = execute._tree_cpu(pid) if pid else 0.0
            t0 = time.perf_counter()
            reply = run(kernel, code, timeout, silent, expressions)
            c1 = execute._tree_cpu(pid) if pid and kernel.proc else c0
            probe._add(probe._phase(code, expressions), time.perf_counter() - t0, c1 - c0)
            return reply

        execute.Kernel.start, execute.Kernel.run = timed_start, timed_run
        return lambda: (setattr(execute.Kernel, "start", start), setattr(execute.Kernel, "run", run))

    def _add(self, phase: str, wall: float, cpu: float) -> None:
        self.wall[phase] += wall
        self.cpu[phase] += cpu
        self.calls[phase] += 1


def cell_kinds(source_nb) -> dict[str, str]:
    kinds, seen_answer = {}, False
    for cell in source_nb.cells:
        if cell.cell_type != "code":
            continue
        if is_autograded_answer(cell):
            seen_answer = True
        kind = ("test cells" if is_test(cell) else "answer cells" if is_autograded_answer(cell)
                else "other code cells" if seen_answer else "set-up cells (imports)")
        kinds.setdefault(cell.source, kind)
    return kinds


GRADER_BUCKETS = {  # cProfile: a function's cumulative time is counted in the first bucket it matches
    "gradebook writes (nbgrader Gradebook)": ("nbgrader_io.py", "save"),
    "generate_feedback (waiting)": ("nbgrader_io.py", "generate_feedback"),
    "gradebook set-up": ("nbgrader_io.py", "ensure_assignment"),
    "collect submissions": ("collect.py", "collect"),
    "repair/transplant notebooks": ("repair.py", "transplant"),
    "write autograded notebook": ("nbgrader_io.py", "write_autograded"),
    "report (csv, figure)": ("report.py", "figure"),
}


def profile(assignment: str, students: int, workdir: Path) -> dict:
    root = make_course(workdir / assignment, assignment)
    names = sorted(p.name for p in (root / "notebooks" / assignment).glob("*.ipynb"))
    kinds: dict[str, str] = {}
    for name in names:
        source = nbformat.read(root / "solutions" / assignment / name, as_version=4)
        release = nbformat.read(root / "notebooks" / assignment / name, as_version=4)
        ref = reference_submission(release, source)
        kinds.update(cell_kinds(source))
        kinds.update(cell_kinds(ref))
        for i in range(students):
            write_submission(root, f"student{i}", assignment, name, ref)
    probe = KernelProbe(kinds)
    undo = probe.install()
    feedback_cpu = [0.0, 0.0]
    gen = nbgrader_io.generate_feedback

    def timed_feedback(*a, **k):
        c0, t0 = _children_cpu(), time.perf_counter()
        try:
            return gen(*a, **k)
        finally:
            feedback_cpu[0] += _children_cpu() - c0
            feedback_cpu[1] += time.perf_counter() - t0

    nbgrader_io.generate_feedback = timed_feedback
    prof = cProfile.Profile()
    c_self, c_kids, t0 = _self_cpu(), _children_cpu(), time.perf_counter()
    try:
        prof.enable()
        results = cli.grade_assignment(assignment, root=root, workers=1, cell_timeout=600, notebook_timeout=1800,
                                       limits=sandbox.Limits(cpu_s=1800), progress=False,
                                       allow_unsandboxed=not sandbox.available()[0])
        prof.disable()
    finally:
        undo()
        nbgrader_io.generate_feedback = gen
    wall, grader_cpu = time.perf_counter() - t0, _self_cpu() - c_self
    assert all(r["score"] == r["max_score"] for r in results), [(r["student"], r["score"], r["notes"]) for r in results]
    stats = pstats.Stats(prof)
    grader = {}
    for label, (filename, func) in GRADER_BUCKETS.items():
        cum = sum(v[3] for k, v in stats.stats.items() if k[0].endswith(filename) and k[2] == func)
        grader[label] = round(cum / students, 3)
    n = students
    kernel = {p: {"cpu_s": round(probe.cpu[p] / n, 3), "wall_s": round(probe.wall[p] / n, 3),
                  "calls": round(probe.calls[p] / n, 1)} for p in sorted(probe.cpu, key=lambda p: -probe.cpu[p])}
    kernels_cpu = sum(r.get("cpu_s", 0.0) for r in results) / n
    return {
        "assignment": assignment, "students": n, "wall_s_per_submission": round(wall / n, 2),
        "kernel_cpu_s_per_submission": round(kernels_cpu, 2),
        "grader_cpu_s_per_submission": round(grader_cpu / n, 2),
        "feedback_cpu_s_per_submission": round(feedback_cpu[0] / n, 2),
        "feedback_wall_s_per_submission": round(feedback_cpu[1] / n, 2),
        "other_children_cpu_s_per_submission": round((_children_cpu() - c_kids - feedback_cpu[0]) / n, 2),
        "kernel_phases": kernel, "grader_phases_wall_s": grader,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("assignments", nargs="*", default=["00_welcome"])
    ap.add_argument("--students", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "grading_profile.json",
                    help="where the JSON results go")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="grading-profile-"))
    out = {"load_average": os.getloadavg(), "cpus": os.cpu_count(), "sandbox_start": sandbox_start(), "assignments": []}
    for assignment in args.assignments:
        res = profile(assignment, args.students, work)
        out["assignments"].append(res)
        print(f"\n== {assignment}: {res['students']} submissions, per submission: wall {res['wall_s_per_submission']} s, "
              f"kernel CPU {res['kernel_cpu_s_per_submission']} s, grader CPU {res['grader_cpu_s_per_submission']} s, "
              f"feedback CPU {res['feedback_cpu_s_per_submission']} s")
        for phase, v in res["kernel_phases"].items():
            print(f"  kernel  {phase:28s} {v['cpu_s']:6.2f} CPU-s {v['wall_s']:6.2f} s  ({v['calls']:g} calls)")
        for phase, secs in res["grader_phases_wall_s"].items():
            print(f"  grader  {phase:40s} {secs:6.2f} s")
    print(f"\nsandbox start: {out['sandbox_start']}; load average at start {out['load_average']}")
    out["python"] = sys.executable  # whose course_instructor and course_utils were profiled
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
