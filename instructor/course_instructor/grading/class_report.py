"""The class report ``grades/<assignment>/report.html``: what the class got wrong, in one offline page.

From the results of a grading run (:meth:`.cli.Grader.grade`'s dicts) and the instructor's notebooks:

- **per test cell**: pass rate, mean points, and its discrimination;
- **per exercise** (an autograded answer cell with the test cells after it, up to the next answer
  cell): difficulty (mean points / max points, as in classical test theory's item "p-value") and
  discrimination, the *corrected item-total correlation*: Pearson's r between the item's points
  and the rest of the score (total minus the item), over the submissions that were graded, so an
  item is not correlated with itself. Undefined (shown as "n/a") when the item or the rest has no
  variance, e.g. everyone passed;
- the **most frequent failure messages** per test cell among attempted answers, grouped
  (:func:`failure_group`): a mistake named by ``course_utils.mistakes.check_known_mistakes``
  ("... returns what you get if you <what>") counts as that mistake whatever the input in the
  message, the ``course_utils.checks`` messages by kind (wrong dtype, wrong shape, returned
  None...), other messages (a lesson's own check naming a mistake) with their numbers replaced by
  ``#``; a stub left in place (``NotImplementedError``) or a notebook not sent counts apart, as
  "not attempted";
- status counts, submissions flagged for review (or not graded cleanly) with the reason,
  grading time per submission, a score histogram and a difficulty x discrimination scatter.

Students appear only by the id the instructor gave; the page embeds its pictures (base64 PNG) and
loads nothing: it can be mailed or opened offline, and nothing in it is sent anywhere.
"""
from __future__ import annotations

import base64
import html
import io
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .repair import is_answer, is_test, meta

GRADED = ("graded", "timed out", "crashed")  # statuses whose scores count in the item statistics
TOP = 5  # failure groups shown per test cell

_NAMED = re.compile(r"returns what you get if you (.+?)\.?\s*$", re.S)
_CHECKS = [  # (pattern on the message, group) for course_utils.checks' own messages
    (re.compile(r"is None\. Did you forget to `return`"), "returned None (a forgotten `return`)"),
    (re.compile(r"has dtype .+, expected "), "wrong dtype"),
    (re.compile(r"has no dtype"), "not an array or tensor"),
    (re.compile(r"has shape .+, expected "), "wrong shape"),
    (re.compile(r"should be a .+, but it is a "), "wrong type"),
    (re.compile(r"is a ragged list"), "ragged list"),
    (re.compile(r"^NameError: name '.+' is not defined"), "a name the test needs is not defined (the answer cell raised?)"),
    (re.compile(r"^TimeoutError|timed out", re.I), "timed out"),
]
# the release's stub left in place: raised as it is, or named by a check ("f is not implemented yet")
UNATTEMPTED = re.compile(r"^NotImplementedError|\bis not implemented yet\b")
UNATTEMPTED_STATUSES = ("not submitted", "not graded")
_NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def failure_group(message: str) -> tuple[str, str]:
    """(kind, label) of a failed test's message: kind is "named mistake", "check" or "message"."""
    text = (message or "").strip()
    if not text:
        return "message", "(no message)"
    named = _NAMED.search(text)
    if named:
        return "named mistake", "you " + " ".join(named.group(1).split())
    for pattern, label in _CHECKS:
        if pattern.search(text):
            return "check", label
    first = text.splitlines()[0]
    return "message", _NUMBER.sub("#", first)[:200]


@dataclass
class Item:
    """An exercise (autograded answer cell) or a test cell, with every graded submission's points."""

    name: str
    max_points: float
    points: list[float] = field(default_factory=list)
    rest: list[float] = field(default_factory=list)  # total minus this item, same order

    @property
    def difficulty(self) -> float | None:
        return statistics.fmean(self.points) / self.max_points if self.points and self.max_points else None

    @property
    def discrimination(self) -> float | None:
        return correlation(self.points, self.rest)


def correlation(x: list[float], y: list[float]) -> float | None:
    """Pearson's r of two equally long lists; None when either has no variance or fewer than 3 values."""
    if len(x) != len(y):
        raise ValueError(f"correlation of lists of different lengths ({len(x)} and {len(y)})")
    if len(x) < 3:
        return None
    mx, my = statistics.fmean(x), statistics.fmean(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


def exercises(source_nbs: dict) -> dict[str, list[str]]:
    """``"<notebook>: <answer id>"`` -> the test cells' grade_ids after that answer cell (up to the next).

    Test cells before any autograded answer cell form an item named after the notebook."""
    out: dict[str, list[str]] = {}
    for name, nb in source_nbs.items():
        current = f"{Path(name).stem}: (before any answer)"
        for cell in nb.cells:
            m = meta(cell)
            if cell.get("cell_type") == "code" and is_answer(cell) and not m.get("grade"):
                current = f"{Path(name).stem}: {m.get('grade_id')}"
            elif is_test(cell):
                out.setdefault(current, []).append(m["grade_id"])
    return out


def _questions(result: dict) -> dict[str, dict]:
    return {q["grade_id"]: q for nb in result.get("notebooks", {}).values() for q in nb.get("questions", [])}


@dataclass
class Analysis:
    """The numbers of the report (kept apart from the HTML so that tests can read them)."""

    assignment: str
    n: int
    statuses: Counter
    scores: list[float]
    max_score: float
    tests: dict[str, Item]
    items: dict[str, Item]
    groups: dict[str, list[str]]  # exercise -> its test cells' grade_ids
    failures: dict[str, Counter]  # test grade_id -> Counter{(kind, label): count}, attempted answers only
    unattempted: Counter  # test grade_id -> failures of submissions that left the stub (or sent no notebook)
    examples: dict[str, dict[tuple[str, str], str]]  # test grade_id -> group -> one raw message
    flagged: list[tuple[str, str, str]]  # (student, status, reason)
    seconds: list[float]  # grading time of each submission graded in this run (not cached)
    problems: list[str]

    def top_failures(self, grade_id: str, k: int = TOP) -> list[tuple[tuple[str, str], int]]:
        return self.failures.get(grade_id, Counter()).most_common(k)


def analyse(results: list[dict], assignment: str, source_nbs: dict, problems: list[str] = ()) -> Analysis:
    """Everything the report shows, from the run's results and the instructor's notebooks."""
    groups = exercises(source_nbs)
    counted = [r for r in results if r.get("status") in GRADED]
    test_max: dict[str, float] = {}
    for r in results:
        for gid, q in _questions(r).items():
            test_max[gid] = q["max_points"]
    tests = {gid: Item(gid, mx) for gid, mx in test_max.items()}
    items = {name: Item(name, sum(test_max.get(g, 0.0) for g in gids)) for name, gids in groups.items()}
    failures: dict[str, Counter] = {gid: Counter() for gid in test_max}
    examples: dict[str, dict] = {gid: {} for gid in test_max}
    unattempted: Counter = Counter()
    for r in counted:
        qs = _questions(r)
        total = sum(q["points"] for q in qs.values())
        for gid, item in tests.items():
            pts = qs[gid]["points"] if gid in qs else 0.0
            item.points.append(pts)
            item.rest.append(total - pts)
        for name, gids in groups.items():
            pts = sum(qs[g]["points"] for g in gids if g in qs)
            items[name].points.append(pts)
            items[name].rest.append(total - pts)
        for gid, q in qs.items():
            if q["points"] < q["max_points"]:
                if q["status"] in UNATTEMPTED_STATUSES or UNATTEMPTED.search(q["message"] or ""):
                    unattempted[gid] += 1
                    continue
                group = failure_group(q["message"]) if q["status"] == "failed" else ("status", q["status"])
                failures[gid][group] += 1
                examples[gid].setdefault(group, q["message"])
    flagged = []
    for r in results:
        review = [n for n in r.get("notes", []) if "review" in n.lower()]
        if review or r.get("status") not in ("graded", "missing"):
            flagged.append((r["student"], r.get("status", "?"), "; ".join(review or r.get("notes", []))[:400]))
    return Analysis(assignment, len(results), Counter(r.get("status", "?") for r in results),
                    [r["score"] for r in counted], max((r.get("max_score", 0.0) for r in results), default=0.0),
                    tests, items, groups, failures, unattempted, examples, flagged,
                    [r["seconds"] for r in results if not r.get("cached") and r.get("seconds") is not None],
                    list(problems))


# -- the page --------------------------------------------------------------------------------------

def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _figures(a: Analysis) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_utils.plots import use_style

    use_style()
    figs = {}
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    top = max(a.max_score, max(a.scores, default=0.0), 1.0)
    bins = [x - 0.5 for x in range(int(math.ceil(top)) + 2)] if top <= 40 else 40  # whole points: one bar each
    ax.hist(a.scores, bins=bins, color="#4477aa", rwidth=0.85)
    ax.set(title=f"Scores ({len(a.scores)} graded submissions)", xlabel=f"score (out of {a.max_score:g})",
           ylabel="submissions")
    figs["scores"] = _png(fig)

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    pts = [(it.difficulty, it.discrimination, name) for name, it in a.items.items()
           if it.difficulty is not None and it.discrimination is not None]
    if pts:
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=40, color="#cc6677", zorder=3)
        for x, y, name in pts:
            ax.annotate(name.split(": ", 1)[-1], (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    else:
        ax.text(0.5, 0.5, "no exercise has both a difficulty and a discrimination\n(every submission scored alike)",
                ha="center", va="center", transform=ax.transAxes)
    ax.axhline(0.2, color="gray", lw=0.8, ls="--")
    ax.set(xlim=(-0.02, 1.02), ylim=(-1.02, 1.02), xlabel="difficulty: mean points / max points (1 = everyone passed)",
           ylabel="discrimination (item-rest r)", title="Exercises: difficulty x discrimination")
    figs["scatter"] = _png(fig)

    if a.seconds:
        fig, ax = plt.subplots(figsize=(6.4, 2.6))
        ax.hist(a.seconds, bins=20, color="#999933", rwidth=0.85)
        ax.set(title="Grading time per submission", xlabel="seconds (wall clock, on its worker)", ylabel="submissions")
        figs["seconds"] = _png(fig)
    return figs


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "n/a" if x is None else format(x, spec)


_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}.named{color:#a0302a;font-weight:600}
.low{background:#fde8e8}img{max-width:100%}small{color:#666}"""


def render(a: Analysis) -> str:
    """The report as one self-contained HTML page."""
    e = html.escape
    figs = _figures(a)
    n_counted = len(a.scores)
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(a.assignment)}: class report</title>"
           f"<style>{_CSS}</style></head><body>",
           f"<h1>{e(a.assignment)}: class report</h1>",
           f"<p>{a.n} students; {n_counted} graded submissions count in the statistics below"
           f" (statuses {', '.join(e(s) for s in GRADED)}). Students are named by their id only.</p>",
           "<h2>Status</h2><table><tr><th>status</th><th>students</th></tr>"]
    out += [f"<tr><td>{e(s)}</td><td class='num'>{c}</td></tr>" for s, c in sorted(a.statuses.items())]
    out.append("</table>")
    if a.scores:
        out.append(f"<h2>Scores</h2><p>mean {statistics.fmean(a.scores):.2f}, median {statistics.median(a.scores):g}"
                   f" out of {a.max_score:g}</p><img alt='score histogram' src='{figs['scores']}'>")
    out.append("<h2>Exercises</h2><p>Difficulty = mean points / max points; discrimination = correlation of the "
               "exercise's points with the rest of the score (corrected item-total r; below 0.2, shaded, the exercise "
               "separates strong from weak students poorly, or everyone scored alike: n/a).</p>"
               "<table><tr><th>exercise</th><th>test cells</th><th>max</th><th>mean points</th><th>difficulty</th>"
               "<th>discrimination</th></tr>")
    for name, it in a.items.items():
        d = it.discrimination
        out.append(f"<tr{' class=low' if d is None or d < 0.2 else ''}><td>{e(name)}</td>"
                   f"<td>{len(a.groups[name])}</td><td class='num'>{it.max_points:g}</td>"
                   f"<td class='num'>{_fmt(statistics.fmean(it.points) if it.points else None)}</td>"
                   f"<td class='num'>{_fmt(it.difficulty)}</td><td class='num'>{_fmt(d)}</td></tr>")
    out.append(f"</table><img alt='difficulty x discrimination' src='{figs['scatter']}'>")
    out.append("<h2>Test cells</h2><p>Most frequent failures per test cell among the answers that were attempted "
               "(a mistake named by the checks is counted as that mistake; other messages with their numbers replaced "
               "by #); a stub left in place or a notebook not sent counts as not attempted.</p><table><tr><th>test cell</th>"
               "<th>pass rate</th><th>mean points</th><th>max</th><th>discrimination</th><th>not attempted</th>"
               "<th>most frequent failures of attempted answers</th></tr>")
    for gid, it in a.tests.items():
        passed = sum(1 for p in it.points if p >= it.max_points) / len(it.points) if it.points else None
        fails = "".join(f"<li><span class='{'named' if kind == 'named mistake' else ''}'>"
                        f"{e(kind)}: {e(label)}</span> &times; {count}"
                        f"<br><small>{e(a.examples[gid][(kind, label)][:240])}</small></li>"
                        for (kind, label), count in a.top_failures(gid))
        out.append(f"<tr id='test-{e(gid)}'><td>{e(gid)}</td><td class='num'>{_fmt(passed, '.0%')}</td>"
                   f"<td class='num'>{_fmt(statistics.fmean(it.points) if it.points else None)}</td>"
                   f"<td class='num'>{it.max_points:g}</td><td class='num'>{_fmt(it.discrimination)}</td>"
                   f"<td class='num'>{a.unattempted[gid]}</td><td><ol>{fails}</ol></td></tr>")
    out.append("</table><h2>Flagged for review</h2>")
    if a.flagged:
        out.append("<table><tr><th>student</th><th>status</th><th>reason</th></tr>")
        out += [f"<tr><td>{e(s)}</td><td>{e(st)}</td><td>{e(why)}</td></tr>" for s, st, why in a.flagged]
        out.append("</table>")
    else:
        out.append("<p>None.</p>")
    if a.problems:
        out.append("<h3>Files of the export given to no student</h3><ul>" + "".join(f"<li>{e(p)}</li>" for p in a.problems) + "</ul>")
    out.append("<h2>Grading time</h2>")
    if a.seconds:
        s = sorted(a.seconds)
        out.append(f"<p>{len(s)} submissions graded in this run: median {statistics.median(s):.1f} s, "
                   f"90th percentile {s[min(len(s) - 1, int(0.9 * len(s)))]:.1f} s, max {s[-1]:.1f} s per submission."
                   f"</p><img alt='grading time per submission' src='{figs['seconds']}'>")
    else:
        out.append("<p>Every submission was unchanged since the last run (cached).</p>")
    out.append("</body></html>")
    return "\n".join(out)


def write(path: Path, results: list[dict], assignment: str, source_nbs: dict, problems: list[str] = ()) -> Path:
    """Write the class report to ``path`` (a self-contained HTML page) and return the path."""
    a = analyse(results, assignment, source_nbs, problems)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(a), encoding="utf-8")
    return path
