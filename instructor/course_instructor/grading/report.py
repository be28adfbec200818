"""The grading run's outputs: grades CSV, terminal summary, grade-distribution figure."""
from __future__ import annotations

import csv
import statistics
from collections import Counter
from pathlib import Path

CSV_FIELDS = ["student", "assignment", "notebook", "question", "points", "max_points", "status", "detail"]


def rows(results: list[dict], assignment: str) -> list[dict]:
    """One row per (student, test cell), then one "(total)" row per student with the notes."""
    out = []
    for res in results:
        for nb_name, nb in res["notebooks"].items():
            for q in nb["questions"]:
                out.append({"student": res["student"], "assignment": assignment, "notebook": nb_name,
                            "question": q["grade_id"], "points": q["points"], "max_points": q["max_points"],
                            "status": res["status"], "detail": q["status"] + (f": {q['message']}" if q["message"] else "")})
        out.append({"student": res["student"], "assignment": assignment, "notebook": "", "question": "(total)",
                    "points": res["score"], "max_points": res["max_score"], "status": res["status"],
                    "detail": "; ".join(res["notes"])})
    return out


def write_csv(path: Path, results: list[dict], assignment: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows(results, assignment))
    return path


def summary(results: list[dict], assignment: str, seconds: float, workers: int, problems: list[str] = ()) -> str:
    """The run in a few lines: counts, score statistics, every student with a note, and the
    files of the class export that belong to no student and were not graded (``problems``)."""
    statuses = Counter(r["status"] for r in results)
    graded = [r["score"] for r in results if r["status"] != "missing"]
    max_score = max((r["max_score"] for r in results), default=0)
    lines = [f"{assignment}: {len(results)} students in {seconds:.1f} s with {workers} worker(s) "
             f"({sum(1 for r in results if r.get('cached'))} unchanged, not re-run)",
             "  " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))]
    if graded:
        lines.append(f"  autograded score out of {max_score:g}: mean {statistics.mean(graded):.2f}, "
                     f"median {statistics.median(graded):g}, min {min(graded):g}, max {max(graded):g}")
    for r in results:
        if r["status"] != "graded" or r["notes"]:
            lines.append(f"  {r['student']:20s} {r['status']:10s} {r['score']:g}/{r['max_score']:g}  {'; '.join(r['notes'])[:160]}")
    if problems:
        lines.append(f"  {len(problems)} file(s) of the export were not graded:")
        lines += [f"    {p}" for p in problems]
    return "\n".join(lines)


def figure(path: Path, results: list[dict], assignment: str) -> Path | None:
    """A histogram of the students' autograded totals, coloured by status."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_utils.plots import use_style

    use_style()
    scored = [r for r in results if r["status"] != "missing"]
    if not scored:
        return None
    max_score = max(r["max_score"] for r in scored) or 1
    fig, ax = plt.subplots(figsize=(7, 3.6))
    statuses = sorted({r["status"] for r in scored})
    bins = [x - 0.5 for x in range(int(max_score) + 2)]
    ax.hist([[r["score"] for r in scored if r["status"] == s] for s in statuses], bins=bins, stacked=True,
            label=statuses, rwidth=0.8)
    ax.set(title=f"{assignment}: autograded scores ({len(scored)} submissions)", xlabel=f"score (out of {max_score:g})",
           ylabel="students")
    ax.legend(title="status")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
