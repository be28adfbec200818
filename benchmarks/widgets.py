"""How long every lesson's interactive app takes to answer a control change (the target: p95 <= 100 ms).

Apps are *found*, not listed: each instructor notebook ``solutions/<a>/<a>.ipynb`` is executed top to
bottom in a fresh kernel (by nbclient, in a temporary copy of its folder), and then, in the same
kernel, every live :class:`course_utils.widgets.App` is collected (named by the notebook variable
that holds it). Each app gets ``--changes`` random control changes from a fixed seed -- a control
picked at random, then a value on its grid (a slider step, a drop-down option, the other state of a
check box) -- and each ``app.update(...)`` is timed: compute + draw + PNG, what a student waits for
before the browser's own round trip. Printed: median, p95 and max per app (and the p95 of the kernel's
CPU time, a steadier figure on a shared machine); written to ``benchmarks/results/widgets[-TAG].json``
and, as a markdown table, ``widgets[-TAG].md``.

The kernel runs as a student's does in the course (full lessons unless ``--fast``) but with one torch
thread (``COURSE_NUM_THREADS=1``: the course's policy whenever the CPU is shared, see
``course_utils.reproducibility`` and ``benchmarks/threads.py``). ``--repo DIR`` measures another
checkout's lessons and ``course_utils`` with this environment (e.g. ``--repo /path/to/main`` for the
figures before a change), so "before" and "after" can be measured back to back at the same load.

``--browser LESSON`` measures instead what a student feels in JupyterLab: the lesson runs in
JupyterLab in Chromium (the Playwright harness of ``tests/test_browser.py``), then the first slider of
one app is dragged ``--drags`` times with the mouse; each figure is the time from releasing the
mouse to the new picture in the page (comm round trip, kernel update, PNG transfer and display).

Not a test: timings depend on the machine and its load (printed with every table)::

    .venv/bin/python benchmarks/widgets.py [LESSON ...] [--fast] [--changes 20] [--repo DIR] [--tag TAG]
    .venv/bin/python benchmarks/widgets.py --browser 01 [--app TITLE] [--slider LABEL] [--drags 20] [--fast]
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
TARGET_MS = 100.0
_MARKER = "COURSE-WIDGET-BENCHMARK "

def time_apps(namespace: dict, changes: int, seed: int) -> list[dict]:
    """Time ``changes`` random control changes of every live App; ``namespace`` names them (a notebook's
    globals). Runs inside the lesson's kernel (its source is sent there), so it imports what it needs."""
    import gc
    import math
    import random
    import time

    from course_utils.widgets import App

    def grid_value(control, rng):
        """A random value on the control's grid, or None for a control this benchmark cannot set."""
        kind = type(control).__name__
        if kind in ("Checkbox", "ToggleButton"):
            return not control.value
        if hasattr(control, "options"):
            values = [o[1] if isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) else o
                      for o in control.options]
            return rng.choice(values) if values else None
        if not all(hasattr(control, a) for a in ("min", "max", "step")) or isinstance(control.value, tuple):
            return None
        steps = int(math.floor((control.max - control.min) / control.step + 1e-9))
        x = control.min + rng.randint(0, steps) * control.step
        if kind == "FloatLogSlider":
            return min(max(control.base ** x, control.base ** control.min), control.base ** control.max)
        if kind == "IntSlider":
            return int(x)
        return min(round(x, 12), control.max)

    def is_app(obj):
        try:
            return isinstance(obj, App)
        except ReferenceError:  # a dead weak proxy
            return False

    gc.collect()
    named = {}
    for name, value in list(namespace.items()):
        if is_app(value) and not name.startswith("_"):
            named.setdefault(id(value), name)
    found = [o for o in gc.get_objects() if is_app(o)]
    order = {k: i for i, k in enumerate(named)}
    found.sort(key=lambda a: order.get(id(a), len(order)))
    results = []
    for k, app in enumerate(found):
        name = named.get(id(app), f"app#{k}")
        rng = random.Random(f"{seed}:{name}")
        settable = [c for c in app.controls if grid_value(app.controls[c], random.Random(0)) is not None]
        times, cpu, errors, moves = [], [], [], []
        for _ in range(changes if settable else 0):
            control = rng.choice(settable)
            value = grid_value(app.controls[control], rng)
            for _retry in range(10):  # prefer a change that changes something
                if value != app.controls[control].value:
                    break
                value = grid_value(app.controls[control], rng)
            start, start_cpu = time.perf_counter(), time.process_time()
            state = app.update(**{control: value})
            times.append(1000 * (time.perf_counter() - start))
            cpu.append(1000 * (time.process_time() - start_cpu))
            moves.append([control, value if isinstance(value, (bool, int, float, str)) else repr(value)])
            if state.error:
                errors.append(state.error)
        results.append({"app": name, "title": app.title, "controls": list(app.controls), "ms": times, "cpu_ms": cpu,
                        "moves": moves, "errors": errors[:3], "n_errors": len(errors),
                        "n_computes": app.state.n_computes})
    return results


_TIME_APPS_SOURCE = inspect.getsource(time_apps)  # read now: the file may change while a run goes on


def _kernel_code(changes: int, seed: int) -> str:
    """The cell run after the lesson's last one: defines :func:`time_apps`, prints its result, and
    deletes what it defined, so nothing is left in the student's namespace."""
    return (_TIME_APPS_SOURCE + "\n\nimport json as _json\n"
            f"print({_MARKER!r} + _json.dumps(time_apps(globals(), {changes}, {seed})))\n"
            "del time_apps, _json\n")


def lessons(repo: Path) -> list[str]:
    return sorted(p.name for p in (repo / "solutions").iterdir() if p.is_dir() and list(p.glob("*.ipynb")))


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def kernel_env(repo: Path, fast: bool) -> dict:
    """The lesson kernel's environment: ``repo``'s course_utils first, one torch thread, full or fast."""
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "CI", "PYTEST_XDIST_WORKER")}
    if repo != REPO:  # measure another checkout without writing into it
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(COURSE_FAST="1" if fast else "0", COURSE_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(repo), str(repo / "instructor"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]))
    return env


def measure_lesson(repo: Path, lesson: str, fast: bool, changes: int, seed: int, timeout: int = 1800) -> dict:
    """Run one instructor notebook, then time its apps in the same kernel; a dict for the JSON."""
    import nbformat
    from nbclient import NotebookClient

    from course_instructor.kernel_client import SlicedPollKernelManager  # nbclient stalls on Output widgets

    source = repo / "solutions" / lesson
    (path,) = source.glob("*.ipynb")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / lesson
        shutil.copytree(source, work)
        nb = nbformat.read(work / path.name, as_version=4)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                                kernel_manager_class=SlicedPollKernelManager, resources={"metadata": {"path": str(work)}})
        start = time.perf_counter()
        with client.setup_kernel(env=kernel_env(repo, fast)):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            run_s = time.perf_counter() - start
            cell = nbformat.v4.new_code_cell(_kernel_code(changes, seed))
            nb.cells.append(cell)
            client.execute_cell(cell, len(nb.cells) - 1)
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    line = next((ln for ln in text.splitlines() if ln.startswith(_MARKER)), None)
    if line is None:
        raise RuntimeError(f"{lesson}: the benchmark cell printed no result:\n{text[-2000:]}")
    return {"lesson": lesson, "notebook_s": round(run_s, 1), "apps": json.loads(line[len(_MARKER):])}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between order statistics (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarise(record: dict) -> None:
    """Add median / p95 / max of the wall-clock and the CPU milliseconds to each app's record."""
    for app in record["apps"]:
        for key, values in (("", app["ms"]), ("cpu_", app.get("cpu_ms", []))):
            app.update({f"{key}median_ms": round(statistics.median(values), 1) if values else None,
                        f"{key}p95_ms": round(percentile(values, 95), 1) if values else None,
                        f"{key}max_ms": round(max(values), 1) if values else None})


def _fmt(ms) -> str:
    return "-" if ms is None else f"{ms:,.0f}"


def table(records: list[dict]) -> str:
    """The markdown table: wall-clock median / p95 / max, and the p95 of the kernel's CPU time
    (single-threaded, so on a loaded machine it tells what the update costs on an idle one)."""
    rows = [f"| lesson / app | changes | median ms | p95 ms | max ms | CPU p95 ms | errors | p95 <= {TARGET_MS:.0f} ms |",
            "|---|---|---|---|---|---|---|---|"]
    for record in records:
        if "error" in record:
            rows.append(f"| {record['lesson']} | - | - | - | - | - | {record['error'][:60]} | no |")
            continue
        if not record["apps"]:
            rows.append(f"| {record['lesson']} (no app) | 0 | - | - | - | - | 0 | - |")
        for app in record["apps"]:
            ok = app["p95_ms"] is not None and app["p95_ms"] <= TARGET_MS and not app["n_errors"]
            rows.append(f"| {record['lesson'][:2]} {app['app']} | {len(app['ms'])} | {_fmt(app['median_ms'])} | "
                        f"{_fmt(app['p95_ms'])} | {_fmt(app['max_ms'])} | {_fmt(app.get('cpu_p95_ms'))} | "
                        f"{app['n_errors']} | {'yes' if ok else 'NO'} |")
    return "\n".join(rows)


def git_revision(repo: Path) -> str:
    try:
        rev = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# --------------------------------------------------------------------------------------------------
# In the browser: JupyterLab + Chromium, the harness of tests/test_browser.py
# --------------------------------------------------------------------------------------------------
# Records, in the page's own clock, when the mouse is released and when the app's picture changes.
_WATCH_JS = """(app) => {
  const w = window.__courseBench = {releases: [], pictures: []};
  const src = () => { const img = app.querySelector('.jp-OutputArea-output img'); return img ? img.src : null; };
  let last = src();
  document.addEventListener('pointerup', () => w.releases.push(performance.now()), true);
  document.addEventListener('mouseup', () => w.releases.push(performance.now()), true);
  new MutationObserver(() => { const now = src(); if (now && now !== last) { last = now; w.pictures.push(performance.now()); } })
    .observe(app, {childList: true, subtree: true, attributes: true, attributeFilter: ['src']});
}"""


def _harness():
    """tests/test_browser.py as a module (its JupyterLab fixture and helpers)."""
    if str(REPO / "tests") not in sys.path:  # its helpers (chromium_helpers) sit next to it
        sys.path.insert(0, str(REPO / "tests"))
    spec = importlib.util.spec_from_file_location("course_browser_harness", REPO / "tests" / "test_browser.py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # pytest.skip(...) at import: no Chromium or Playwright
        raise SystemExit(f"the browser harness is not available: {exc}") from None
    return module


def measure_browser(lesson: str, app_name: str | None, slider_name: str | None, drags: int, seed: int,
                    fast: bool) -> dict:
    harness = _harness()
    lab = contextlib.contextmanager(harness.lab.__wrapped__)

    class _Factory:  # what the fixture asks of pytest's tmp_path_factory
        def __init__(self, root):
            self.root = Path(root)

        def mktemp(self, name):
            path = self.root / name
            path.mkdir()
            return path

    rng = random.Random(seed)
    record = {"lesson": lesson, "mode": "fast" if fast else "full", "drags": []}
    with tempfile.TemporaryDirectory() as tmp, lab(_Factory(tmp)) as (base, token, _root):
        with harness.playwright_sync.sync_playwright() as p:
            browser = harness.launch(p)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            harness._open(page, base, token, f"solutions/{lesson}/{lesson}.ipynb")
            if not fast:  # the fixture starts JupyterLab in fast mode; the kernel reads the flag at run time
                page.evaluate("""() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel
                    .requestExecute({code: "import os; os.environ['COURSE_FAST'] = '0'"}).done""")
            harness.RUN_ALL_TIMEOUT_S = 1800
            record["run_all"] = harness._run_all(page)
            apps = page.locator(".course-app")
            index = 0
            if app_name:  # the app whose title matches, else the first
                titles = [apps.nth(i).inner_text().split("\n", 1)[0] for i in range(apps.count())]
                index = next((i for i, t in enumerate(titles) if app_name.lower() in t.lower()), 0)
            app = apps.nth(index)
            app.scroll_into_view_if_needed()
            page.wait_for_function("el => el.querySelector('.jp-OutputArea-output img') !== null",
                                   arg=app.element_handle(), timeout=60_000)
            record["app_title"] = app.inner_text().split("\n", 1)[0]
            sliders = app.locator(".widget-slider")
            labels = [sliders.nth(i).locator(".widget-label").first.inner_text() for i in range(sliders.count())]
            chosen = next((i for i, t in enumerate(labels) if slider_name and slider_name.lower() in t.lower()), 0)
            record["slider"] = labels[chosen]
            handle = sliders.nth(chosen).locator(".noUi-handle").first
            track = sliders.nth(chosen).locator(".noUi-target").first
            page.evaluate(_WATCH_JS, app.element_handle())
            box = track.bounding_box()
            for _ in range(drags):
                hb = handle.bounding_box()
                x0, y0 = hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2
                target = box["x"] + rng.uniform(0.05, 0.95) * box["width"]
                before = page.evaluate("window.__courseBench.pictures.length")
                page.mouse.move(x0, y0)
                page.mouse.down()
                page.mouse.move(target, y0, steps=5)
                page.mouse.up()
                released = page.evaluate("window.__courseBench.releases.length")
                try:  # a new picture after the release (a continuous slider also sends the values on the way)
                    page.wait_for_function(
                        f"window.__courseBench.pictures.length > {before} && "
                        f"window.__courseBench.pictures[window.__courseBench.pictures.length - 1] > "
                        f"window.__courseBench.releases[{released} - 1]", timeout=30_000, polling="raf")
                except harness.playwright_sync.TimeoutError:
                    record["drags"].append(None)  # the same value again: no new picture
                    continue
                time.sleep(0.5)  # let a late frame (the final value) arrive
                w = page.evaluate("window.__courseBench")
                record["drags"].append(round(w["pictures"][-1] - w["releases"][released - 1], 1))
            page.screenshot(path=str(Path(tmp) / "page.png"))
            browser.close()
    ms = [d for d in record["drags"] if d is not None]
    record.update(median_ms=round(statistics.median(ms), 1) if ms else None,
                  p95_ms=round(percentile(ms, 95), 1) if ms else None)
    return record


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("lessons", nargs="*", help="lesson folders (or their number prefixes); default: all")
    p.add_argument("--fast", action="store_true", help="run the lessons in fast mode (quicker; apps may be smaller)")
    p.add_argument("--changes", type=int, default=20, help="random control changes per app (default 20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repo", type=Path, default=REPO, help="checkout whose lessons and course_utils are measured")
    p.add_argument("--tag", default="", help="writes benchmarks/results/widgets-TAG.json (default widgets.json)")
    p.add_argument("--browser", metavar="LESSON", help="measure slider drags of one lesson's app in JupyterLab")
    p.add_argument("--app", help="with --browser: part of the app's title (default: the lesson's first app)")
    p.add_argument("--slider", help="with --browser: part of the slider's label (default: the app's first slider)")
    p.add_argument("--drags", type=int, default=20, help="with --browser: number of drags (default 20)")
    a = p.parse_args(argv)
    repo = a.repo.resolve()
    known = lessons(repo)
    chosen = [next((k for k in known if k == x or k.startswith(x)), x) for x in (a.lessons or known)]
    unknown = [x for x in chosen + ([a.browser] if a.browser else []) if x not in known
               and not any(k.startswith(x) for k in known)]
    if unknown:
        p.error(f"unknown lesson(s) {unknown}; known: {known}")
    if a.changes < 1 or a.drags < 1:
        p.error("--changes and --drags must be at least 1")
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "repo": str(repo), "revision": git_revision(repo),
            "mode": "fast" if a.fast else "full", "torch_threads": 1, "cpus": os.cpu_count(),
            "python": platform.python_version(), "seed": a.seed, "load_before": load_average()}
    print(f"{meta['date']}  {repo} @ {meta['revision']}  mode {meta['mode']}  load average {meta['load_before']}")
    RESULTS.mkdir(exist_ok=True)
    if a.browser:
        lesson = next(k for k in known if k.startswith(a.browser))
        record = measure_browser(lesson, a.app, a.slider, a.drags, a.seed, a.fast)
        meta["load_after"] = load_average()
        out = RESULTS / f"widgets-browser{'-' + a.tag if a.tag else ''}.json"
        out.write_text(json.dumps({**meta, "browser": record}, indent=1) + "\n")
        print(f"{lesson} / {record['app_title']} / slider {record['slider']!r}: release -> new picture in the page, "
              f"median {record['median_ms']} ms, p95 {record['p95_ms']} ms over {len(record['drags'])} drags "
              f"({record['drags'].count(None)} without a new picture); load average {meta['load_after']}")
        print(f"wrote {out.relative_to(REPO)}")
        return 0
    records = []
    for lesson in chosen:
        print(f"{lesson}: running the notebook ...", flush=True)
        try:
            record = measure_lesson(repo, lesson, a.fast, a.changes, a.seed)
        except Exception as exc:  # report and go on with the next lesson
            record = {"lesson": lesson, "error": f"{type(exc).__name__}: {str(exc)[-500:]}"}
            print(f"  failed: {record['error']}", flush=True)
        else:
            summarise(record)
            for app in record["apps"]:
                print(f"  {app['app']}: median {app['median_ms']} ms, p95 {app['p95_ms']} ms, CPU p95 {app['cpu_p95_ms']} ms "
                      f"({app['n_errors']} errors; notebook {record['notebook_s']} s)", flush=True)
        record["load"] = load_average()
        records.append(record)
    meta["load_after"] = load_average()
    note = (f"{meta['date']}, {repo.name} @ {meta['revision']}, {meta['mode']} lessons, {a.changes} changes per app, "
            f"seed {a.seed}\n\n{table(records)}\n\nload average (1, 5, 15 min) before {meta['load_before']}, after "
            f"{meta['load_after']}; {meta['cpus']} CPUs, one torch thread\n")
    print("\n" + note)
    out = RESULTS / f"widgets{'-' + a.tag if a.tag else ''}.json"
    out.write_text(json.dumps({**meta, "lessons": records}, indent=1) + "\n")
    out.with_suffix(".md").write_text(note)
    print(f"wrote {out.relative_to(REPO)} and {out.with_suffix('.md').name}")
    slow = [f"{r['lesson']}/{x['app']}" for r in records for x in r.get("apps", [])
            if x["p95_ms"] is None or x["p95_ms"] > TARGET_MS or x["n_errors"]]
    return 1 if slow or any("error" in r for r in records) else 0


if __name__ == "__main__":
    raise SystemExit(main())
