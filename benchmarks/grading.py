"""course-grade against plain `nbgrader autograde`, in one run.

1. Throughput: the same well-behaved submissions of 00_welcome (reference, blank, one stub per
   exercise, the designed mistakes of tests/cases, repeated to --n students) graded by
   ``nbgrader autograde`` (sequential, unsandboxed) and by ``course-grade`` (--workers, sandboxed)
   in two copies of a fresh course. Reports seconds per submission and the ratio.
2. Correctness: every case of the hostile corpus (tests/hostile/) graded by plain nbgrader, one
   ``--student`` at a time (so that one hang or crash cannot hide the others), under a time limit
   and ``prlimit --as``; a case counts as wrong when nbgrader's per-question scores differ from the
   case's expected scores or nbgrader did not finish within --case-timeout (reported as rc=None). Cases marked ``plain_safe=False`` (the fork
   storm: unbounded for root without a sandbox) are not run unsandboxed and are listed.

    .venv/bin/python benchmarks/grading.py [--n 8] [--workers 2] [--skip-corpus] [--jobs 2] [--cases NAME ...]

Prints a table and writes benchmarks/results/grading.json.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import shutil
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import nbformat  # noqa: E402

from course_instructor.grading import cli, sandbox  # noqa: E402
from course_instructor.release import nbgrader_env  # noqa: E402
from hostile_corpus import build, load  # noqa: E402
from roundtrip_cases import CASES  # noqa: E402
from roundtrip_helpers import STUB, exercises, make_course, reference_submission, scores, with_answer, write_submission  # noqa: E402

ASSIGNMENT = "00_welcome"
NAME = "00_welcome.ipynb"


def benign(root: Path, n: int) -> list[str]:
    source = nbformat.read(root / "solutions" / ASSIGNMENT / NAME, as_version=4)
    release = nbformat.read(root / "notebooks" / ASSIGNMENT / NAME, as_version=4)
    ref = reference_submission(release, source)
    kinds = [ref, release] + [with_answer(ref, a, STUB) for a in exercises(source)]
    kinds += [with_answer(ref, a, code) for a, code, _ in CASES.get(ASSIGNMENT, [])]
    students = []
    for i in range(n):
        student = f"s{i:03d}"
        write_submission(root, student, ASSIGNMENT, NAME, kinds[i % len(kinds)])
        students.append(student)
    return students


def plain(root: Path, *extra: str, timeout: float = 3600) -> tuple[float, int | None]:
    cmd = ["prlimit", f"--as={4096 * 1024 * 1024}", "--", sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT,
           "--force", f"--CourseDirectory.root={root}", *extra]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=nbgrader_env(), capture_output=True, text=True, timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        code = None
    return time.perf_counter() - start, code


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--skip-corpus", action="store_true")
    p.add_argument("--case-timeout", type=float, default=240)
    p.add_argument("--cases", nargs="*", help="only these corpus cases, and no throughput run")
    p.add_argument("--jobs", type=int, default=2, help="plain nbgrader corpus cases run at once (separate courses)")
    a = p.parse_args()
    ok, why = sandbox.available()
    if not ok:
        raise SystemExit(f"needs the sandbox: {why}")
    out = {"load_before": os.getloadavg(), "n": a.n, "workers": a.workers}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not a.cases:
            throughput(a, tmp, out)
        if not a.skip_corpus:
            corpus(a, tmp, out)
    out["load_after"] = os.getloadavg()
    results = REPO / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    name = "grading-cases.json" if a.cases else "grading.json"
    (results / name).write_text(json.dumps(out, indent=1))
    print(f"load average before/after: {out['load_before']} / {out['load_after']}")
    return 0


def throughput(a, tmp: Path, out: dict) -> None:
    r1 = make_course(tmp / "plain", ASSIGNMENT)
    r2 = make_course(tmp / "ours", ASSIGNMENT)
    benign(r1, a.n)
    benign(r2, a.n)
    t_plain, code = plain(r1)
    start = time.perf_counter()
    cli.grade_assignment(ASSIGNMENT, root=r2, workers=a.workers, feedback=False, progress=False)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    cli.grade_assignment(ASSIGNMENT, root=r2, workers=a.workers, feedback=False, progress=False)
    t_rerun = time.perf_counter() - start
    out.update(plain_s=round(t_plain, 1), plain_rc=code, ours_s=round(t_ours, 1), rerun_unchanged_s=round(t_rerun, 1),
               ratio=round(t_plain / t_ours, 2))
    print(f"throughput, {a.n} well-behaved submissions: nbgrader autograde {t_plain:.1f} s "
          f"({t_plain / a.n:.1f} s each), course-grade --workers {a.workers} {t_ours:.1f} s "
          f"({t_ours / a.n:.1f} s each): ratio {t_plain / t_ours:.2f}x; unchanged re-run {t_rerun:.1f} s", flush=True)


def corpus(a, tmp: Path, out: dict) -> None:
    base = make_course(tmp / "corpus", ASSIGNMENT)
    cases = [c for c in load()[ASSIGNMENT] if not a.cases or c.name in a.cases]
    source = base / "solutions" / ASSIGNMENT / NAME
    for case in cases:
        build(case, base, ASSIGNMENT, source, base / "notebooks" / ASSIGNMENT / NAME)
    skipped = [c.name for c in cases if not c.plain_safe]

    def one(case):
        # each case in its own copy of the course: one gradebook per nbgrader process
        root = tmp / f"case-{case.name}" / "course"
        shutil.copytree(base, root)
        # the probes aim at the corpus course's paths: point them at this copy
        for nb_path in (root / "submitted").glob("*/*/*.ipynb"):
            nb_path.write_text(nb_path.read_text().replace(str(base), str(root)))
        seconds, code = plain(root, f"--student={case.name}", timeout=a.case_timeout)
        try:
            got = {k: scores(root, ASSIGNMENT, "00_welcome", case.name)[k] for k in case.scores}
        except Exception as err:  # noqa: BLE001 - no submission in the gradebook
            got = f"no grades ({type(err).__name__})"
        if isinstance(got, dict):  # an ungraded cell (None) counts 0 in nbgrader's export
            got = {k: (v or 0.0) for k, v in got.items()}
        right = got == case.scores or (case.status in ("missing", "invalid") and not isinstance(got, dict))
        shutil.rmtree(root.parent, ignore_errors=True)
        return {"case": case.name, "expected": case.scores, "nbgrader": got, "rc": code,
                "seconds": round(seconds, 1), "verdict": "right" if right and code is not None else "WRONG"}

    rows = []
    with cf.ThreadPoolExecutor(a.jobs) as pool:
        for row in pool.map(one, [c for c in cases if c.plain_safe]):
            rows.append(row)
            print(f"  {row['case']:36s} {row['verdict']:6s} rc={row['rc']} {row['seconds']:6.1f} s  "
                  f"got {row['nbgrader']}", flush=True)
    wrong = [r["case"] for r in rows if r["verdict"] == "WRONG"]
    out.update(corpus=rows, plain_wrong=wrong, plain_not_run=skipped)
    print(f"plain nbgrader gets {len(wrong)} of {len(rows)} corpus cases wrong: {', '.join(wrong)}", flush=True)
    if skipped:
        print(f"not run unsandboxed: {', '.join(skipped)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
