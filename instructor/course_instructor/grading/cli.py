"""``course-grade``: autograde a whole class on nbgrader, in parallel, each kernel sandboxed.

    course-grade 00_welcome                       # submitted/<student>/00_welcome/ under the course root
    course-grade 00_welcome ~/Downloads/lms.zip   # or a flat folder / zip exported by an LMS
    course-grade feedback 00_welcome              # after grading by hand: regenerate the feedback (grading/export.py)
    course-grade export 00_welcome                # grades/00_welcome/lms.csv for the LMS
    make grade ASSIGNMENT=00_welcome [SUBMISSIONS=...] [GRADE_ARGS="--workers 4 --force"]
    course-grade 00_welcome --cluster local:4     # on Dask: a LocalCluster of 4 workers,
    course-grade 00_welcome --scheduler tcp://scheduler:8786   # or an existing cluster (docs/grading-at-scale.md)

Writes (course root): ``submitted/`` (normalised copies), ``autograded/``, ``gradebook.db`` (nbgrader),
``feedback/<student>/<assignment>/*.html``, and ``grades/<assignment>/grades.csv``,
``grades/<assignment>/grades.png``, ``grades/<assignment>/summary.txt`` and the class report
``grades/<assignment>/report.html`` (:mod:`.class_report`).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import json
import os
import queue
import sys
import time
from pathlib import Path
from typing import TypedDict

import nbformat

from ..release import RELEASE_DIR, REPO_ROOT, SOURCE_DIR
from . import class_report, collect, export, nbgrader_io, redact, report, sandbox, stages


class Question(TypedDict):
    """One test cell of one submission."""

    grade_id: str
    points: float
    max_points: float
    status: str  # passed | failed | timed out | crashed | not run | not graded | not submitted
    message: str  # why it failed (hidden-test text redacted)


class SubmissionResult(TypedDict, total=False):
    """What :meth:`Grader.grade` returns for one student (also a row of results.json)."""

    student: str
    status: str  # graded | timed out | crashed | invalid | missing
    score: float
    max_score: float
    notes: list[str]  # repairs, refusals and "for review" flags, shown to the student and in the CSV
    notebooks: dict[str, dict[str, list[Question]]]  # notebook name -> {"questions": [...]}
    cached: bool  # unchanged since the last run: not re-run
    timestamp: str | None
    seconds: float
    cpu_s: float  # CPU seconds of its kernels


VERSION = "2"  # bump to invalidate every cached result


def _fingerprint(paths: list[Path], settings: dict) -> str:
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes() if p.is_file() else b"")
    return h.hexdigest()


class Grader:
    def __init__(self, root: Path, assignment: str, *, workers: int = 1, cell_timeout: float = 60,
                 notebook_timeout: float = 600, limits: sandbox.Limits | None = None, sandboxed: bool = True,
                 show_hidden_tests: bool = False, force: bool = False):
        self.root, self.assignment = Path(root).resolve(), assignment
        self.workers, self.cell_timeout, self.notebook_timeout = workers, cell_timeout, notebook_timeout
        self.limits, self.sandboxed = limits or sandbox.Limits(), sandboxed
        self.show_hidden, self.force = show_hidden_tests, force
        src = self.root / SOURCE_DIR / assignment
        self.sources = {p.name: p for p in sorted(src.glob("*.ipynb"))}
        if not self.sources:
            raise SystemExit(f"error: no notebooks in {src}")
        self.source_nbs = {n: nbformat.read(p, as_version=4) for n, p in self.sources.items()}
        rel = self.root / RELEASE_DIR / assignment
        self.release_nbs = {n: nbformat.read(rel / n, as_version=4) for n in self.sources if (rel / n).is_file()}
        self.redactors = {n: redact.Redactor(nb, self.release_nbs.get(n)) for n, nb in self.source_nbs.items()}
        self.extra_files = {p.name: p for p in sorted(rel.glob("*"))
                            if p.is_file() and p.suffix != ".ipynb" and not p.name.startswith(".")} if rel.is_dir() else {}
        self.settings = {"version": VERSION, "cell_timeout": cell_timeout, "notebook_timeout": notebook_timeout,
                         "limits": vars(self.limits), "sandboxed": sandboxed, "show_hidden": show_hidden_tests}
        self.base_key = _fingerprint(list(self.sources.values()) + [rel / n for n in self.release_nbs], self.settings)
        self.slots: queue.Queue[int] = queue.Queue()
        for i in range(workers):
            self.slots.put(i)
        self.stages = [stage(self) for stage in stages.STAGES]

    # -- one student ----------------------------------------------------------------------
    def grade(self, sub: collect.Submission) -> SubmissionResult:
        """Grade one submission through :data:`.stages.STAGES`; never raises (a failure becomes the result's status)."""
        result: SubmissionResult = {"student": sub.student, "status": "graded", "score": 0.0, "notes": [], "notebooks": {},
                                    "max_score": sum(p for nb in self.source_nbs.values() for _, p in nbgrader_io.grade_ids(nb)),
                                    "cached": False, "timestamp": sub.timestamp}
        state = stages.State(sub, result, key=_fingerprint(sub.files, {"base": self.base_key}) if sub.folder else None)
        for stage in self.stages:
            state = stage.process(state)
            if state.done:
                break
        return state.result

    # -- the class ------------------------------------------------------------------------
    def save(self, result: dict) -> None:
        """Gradebook write (main thread only: one writer)."""
        if result["status"] == "missing" and not any((self.root / "autograded" / result["student"] / self.assignment).glob("*.ipynb")):
            return
        folder = self.root / "autograded" / result["student"] / self.assignment
        nbs = {p.name: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}
        nbgrader_io.save(self.root, self.assignment, result["student"], nbs, result.get("timestamp"))

    def run(self, subs: list[collect.Submission], progress: bool = True) -> list[SubmissionResult]:
        from tqdm.auto import tqdm

        results = []
        with cf.ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {pool.submit(self.grade, s): s for s in subs}
            bar = tqdm(total=len(futures), desc=f"grading {self.assignment}", unit="student", disable=not progress,
                       file=sys.stderr)
            for fut in cf.as_completed(futures):
                sub = futures[fut]
                try:
                    res = fut.result()
                except Exception as err:  # noqa: BLE001 - grade() should not raise; be safe anyway
                    res = {"student": sub.student, "status": "crashed", "score": 0.0, "max_score": 0.0, "notebooks": {},
                           "notes": [f"grader error: {type(err).__name__}: {err}"], "cached": False}
                try:
                    self.save(res)
                except Exception as err:  # noqa: BLE001
                    res["notes"].append(f"gradebook write failed: {type(err).__name__}: {err}")
                results.append(res)
                bar.set_postfix_str(f"{sub.student}: {res['status']} {res['score']:g}/{res['max_score']:g}")
                bar.update()
            bar.close()
        return sorted(results, key=lambda r: r["student"])


def grade_assignment(assignment: str, submissions: Path | None = None, *, root: Path = REPO_ROOT, workers: int | None = None,
                     force: bool = False, cell_timeout: float = 60, notebook_timeout: float = 600,
                     limits: sandbox.Limits | None = None, allow_unsandboxed: bool = False,
                     show_hidden_tests: bool = False, feedback: bool = True, student_regex: str | None = None,
                     progress: bool = True, out: Path | None = None, scheduler: str | None = None,
                     cluster: str | None = None) -> list[SubmissionResult]:
    """Grade every submission of ``assignment``; see the module docstring. Returns one dict per student.

    ``scheduler`` (a Dask scheduler's address or scheduler file) or ``cluster`` (``"local:N"``): grade on
    Dask workers (:mod:`.cluster`); this process still writes every output."""
    options = {k: v for k, v in locals().items() if k not in ("scheduler", "cluster")}
    if scheduler or cluster:
        from .cluster import Dask

        with Dask(scheduler, cluster) as dask:
            return _grade(**options, dask=dask)
    return _grade(**options, dask=None)


def _grade(assignment, submissions, *, root, workers, force, cell_timeout, notebook_timeout, limits, allow_unsandboxed,
           show_hidden_tests, feedback, student_regex, progress, out, dask) -> list[SubmissionResult]:
    root = Path(root).resolve()
    ok, why = dask.sandbox() if dask else sandbox.available()
    if not ok:
        if not allow_unsandboxed:
            raise SystemExit(f"error: no sandbox: {why}.\nRefusing to run students' code with your permissions. "
                             "Install bubblewrap, or pass --unsafe-no-sandbox if you trust every submission.")
        print("\n" + "!" * 78 + f"\nWARNING: NO SANDBOX ({why}).\nStudent code runs with YOUR permissions: it can read "
              "the hidden tests, the gradebook and other submissions, and use the network.\n" + "!" * 78 + "\n",
              file=sys.stderr)
    workers = dask.cores if dask else (workers or os.cpu_count() or 1)
    start = time.monotonic()
    nbgrader_io.ensure_assignment(root, assignment)
    grader = Grader(root, assignment, workers=workers, cell_timeout=cell_timeout, notebook_timeout=notebook_timeout,
                    limits=limits, sandboxed=ok, show_hidden_tests=show_hidden_tests, force=force)
    subs = collect.collect(Path(submissions) if submissions else root / "submitted", assignment, root,
                           list(grader.sources), student_regex, nbgrader_io.known_students(root))
    results = dask.run(grader, subs, progress) if dask else grader.run(subs, progress)
    out = Path(out) if out else root / "grades" / assignment
    report.write_csv(out / "grades.csv", results, assignment)
    report.figure(out / "grades.png", results, assignment)
    if feedback:
        export.feedback(root, assignment, quiet=True)  # with late penalties; prints nbgrader's error if it fails
    text = report.summary(results, assignment, time.monotonic() - start, workers, subs.problems)
    manual = export.manual_status(root, assignment)
    graded = [r for r in results if r["status"] != "missing"]
    if manual.points:
        text += "\n" + export.summary_line(manual, max((r["max_score"] for r in results), default=0), len(graded), assignment)
    (out / "summary.txt").write_text(text + "\n")
    (out / "results.json").write_text(json.dumps(results, indent=1))
    page = class_report.write(out / "report.html", results, assignment, grader.source_nbs, subs.problems)
    if progress:
        print(text)
        print(f"grades: {out / 'grades.csv'}\nfigure: {out / 'grades.png'}\nfeedback: {root / 'feedback'}")
        print(f"class report: {page.as_uri()}")
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("feedback", "export"):  # course-grade feedback|export <assignment>: grading/export.py
        return export.main(argv)
    p = argparse.ArgumentParser(prog="course-grade", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignment")
    p.add_argument("submissions", nargs="?", type=Path,
                   help="submitted/ folder (nbgrader layout), flat folder or zip (default: <root>/submitted)")
    p.add_argument("--root", type=Path, default=Path.cwd() if (Path.cwd() / "nbgrader_config.py").is_file() else REPO_ROOT,
                   help="course root with solutions/, notebooks/, gradebook.db (default: here)")
    p.add_argument("--workers", "-j", type=int, default=None, help="parallel kernels (default: CPU cores)")
    p.add_argument("--force", action="store_true", help="re-grade submissions that did not change")
    p.add_argument("--cell-timeout", type=float, default=60, help="seconds per cell (default 60)")
    p.add_argument("--notebook-timeout", type=float, default=600, help="seconds per notebook (default 600)")
    p.add_argument("--memory-mb", type=int, default=4096, help="address-space limit per kernel process (default 4096)")
    p.add_argument("--nproc", type=int, default=256, help="process/thread limit per kernel (default 256)")
    p.add_argument("--show-hidden-tests", action="store_true", help="show hidden-test code in feedback (default: results only)")
    p.add_argument("--no-feedback", action="store_true", help="do not run nbgrader generate_feedback")
    p.add_argument("--student-regex", help="for flat/zip input: regex on the file's relative path with a (?P<student>...) group")
    p.add_argument("--out", type=Path, help="folder for grades.csv, grades.png, summary.txt (default: <root>/grades/<assignment>)")
    dask = p.add_mutually_exclusive_group()
    dask.add_argument("--scheduler", metavar="ADDRESS",
                      help="grade on an existing Dask cluster: scheduler address (tcp://host:8786) or scheduler file")
    dask.add_argument("--cluster", metavar="local:N", help="grade on a Dask LocalCluster of N worker processes started here (instead of --workers)")
    p.add_argument("--unsafe-no-sandbox", action="store_true", help="run without bubblewrap (students' code gets your permissions)")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    limits = sandbox.Limits(memory_mb=a.memory_mb, nproc=a.nproc, cpu_s=int(max(a.notebook_timeout * 2, 60)))
    try:
        grade_assignment(a.assignment, a.submissions, root=a.root, workers=a.workers, force=a.force,
                         cell_timeout=a.cell_timeout, notebook_timeout=a.notebook_timeout, limits=limits,
                         allow_unsandboxed=a.unsafe_no_sandbox, show_hidden_tests=a.show_hidden_tests,
                         feedback=not a.no_feedback, student_regex=a.student_regex, progress=not a.quiet, out=a.out,
                         scheduler=a.scheduler, cluster=a.cluster)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f"error: {err}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
