"""The course website (`make site`, tools/site_build.py).

Quick tests: what the pages are made of (objectives, launch links, the curriculum table, the notebook copies
Sphinx sees) and that the site's checks find what they look for (a solution line hidden in highlighted code, a
remote style sheet).

Slow tests build the site into a temporary folder (about 30 s on a busy 2-core CPU) and check it: no answer
content (tools/leak_scan.py, the release's scan), no asset from another host, and, in Chromium (Playwright,
like tests/test_browser.py) over a local HTTP server with every other host blocked, that every page loads,
every image is decoded, the maths is typeset without errors, and the search finds a term of a lesson -- also
from file://. Screenshots and a JSON summary (build time, size, pages) go to ``test-artifacts/site/``.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

import pytest
from chromium_helpers import CHROMIUM, launch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import leak_scan  # noqa: E402
import site_build  # noqa: E402

ARTIFACTS = REPO / "test-artifacts" / "site"
#: A term only one lesson's text has, and that lesson's page: what the search must find.
SEARCH_TERM, SEARCH_PAGE = "Zaslavsky", "08_linear_regions/08_linear_regions.html"


def _curriculum_dir() -> Path | None:
    """The course's lecture texts (shared/curriculum/, outside the repository), where this machine has them."""
    candidates = [os.environ.get("COURSE_CURRICULUM", ""), REPO / "shared" / "curriculum",
                  REPO.parent / "shared" / "curriculum", "/work/shared/curriculum"]
    return next((Path(c) for c in candidates if c and any(Path(c).glob("*.txt"))), None)


# --- quick tests ------------------------------------------------------------------------------------------------

def test_objectives_are_read_from_the_title_cell():
    markdown = ("# 01 · Title\n\n**Time:** 90 minutes\n\n## Learning objectives\nBy the end you can:\n"
                "1. plot $\\sigma$ and\n   its derivative;\n2. implement it.\n\n## Next\n1. not an objective")
    assert site_build.objectives(markdown) == ["plot $\\sigma$ and its derivative;", "implement it."]
    assert site_build.objectives("# no objectives here") == []


def test_every_notebook_has_objectives_launch_links_and_a_curriculum_row():
    lessons = site_build.lessons()
    assert [lesson["assignment"] for lesson in lessons] == sorted(p.name for p in (REPO / "notebooks").iterdir()
                                                                  if p.is_dir())
    for lesson in lessons:
        assert lesson["objectives"], f"{lesson['doc']}: no 'Learning objectives' list found"
        assert lesson["colab"].startswith("https://colab.research.google.com/github/")
        assert lesson["binder"].startswith("https://mybinder.org/v2/gh/") and lesson["doc"] in lesson["binder"]
    landing = site_build.landing_page(lessons)
    assert all(f"({lesson['doc']}.ipynb)" in landing and lesson["colab"] in landing for lesson in lessons)
    page = site_build.curriculum_page(lessons, site_build.load_curriculum())
    for lesson in lessons:
        assert page.count(f"({lesson['doc']}.ipynb)") >= 2, f"{lesson['doc']} covers no lecture section"


def test_curriculum_sections_are_the_documents_headings():
    folder = _curriculum_dir()
    if folder is None:
        pytest.skip("the lecture texts (shared/curriculum/*.txt) are not on this machine; set COURSE_CURRICULUM")
    table = site_build.load_curriculum()
    for key, document in table["documents"].items():
        files = sorted(folder.glob(document["file"]))
        assert len(files) == 1, f"{document['file']} in {folder}"
        text = files[0].read_text(encoding="utf-8").replace("*", "")
        lines = {re.sub(r"^#+\s*", "", line).strip() for line in text.splitlines()}
        headings = lines | {re.sub(r"\s+\d+$", "", line) for line in lines}  # the table of contents' page numbers
        missing = [s for s in document["sections"] if s not in headings]
        assert not missing, f"{key}: not a heading of {files[0].name}: {missing}"


def test_unknown_sections_and_unmapped_notebooks_are_refused(tmp_path):
    table = tmp_path / "curriculum.yml"
    table.write_text("documents:\n  lecture:\n    title: L\n    file: x\n    sections: [A, B]\n"
                     "notebooks:\n  00_x:\n    lecture: [C]\n")
    with pytest.raises(ValueError, match="not in 'lecture'.*C"):
        site_build.load_curriculum(table)
    table.write_text("documents:\n  lecture:\n    title: L\n    file: x\n    sections: [A]\nnotebooks: {}\n")
    lesson = {"assignment": "00_x", "doc": "00_x/00_x", "title": "X"}
    with pytest.raises(ValueError, match="maps no lecture sections.*00_x"):
        site_build.curriculum_page([lesson], site_build.load_curriculum(table))


def test_the_output_folder_must_be_a_site_or_new(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for out in (tmp_path, REPO, REPO.parent):
        with pytest.raises(ValueError, match="choose"):
            site_build.build(out)
    assert (tmp_path / "notes.txt").exists()


def test_the_page_copy_has_links_not_remote_badges_and_no_colab_setup_or_empty_progress_bars():
    lesson = site_build.lessons()[1]
    nb = json.loads((REPO / "notebooks" / f"{lesson['doc']}.ipynb").read_text())
    copy = site_build.site_notebook(nb, lesson)
    text = json.dumps(copy)
    assert "colab-badge.svg" not in text and "badge_logo.svg" not in text
    assert 'class="launch"' in site_build._source(copy["cells"][0])
    assert not any(site_build._generated(c) == "colab-setup" for c in copy["cells"])
    assert not re.search(r"0%\|", text)
    images = sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
    assert images and text.count('"image/png"') == images, "every figure stays"
    assert json.dumps(nb) != text and "colab-badge.svg" in json.dumps(nb), "the notebook itself is not changed"


def test_a_solution_line_in_highlighted_code_is_found(tmp_path):
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    answers = leak_scan.answers()
    line = sorted(line for line in answers.lines if "=" in line and "<" not in line)[0]
    page = f"<html><body><div class='highlight'>{highlight(line, PythonLexer(), HtmlFormatter())}</div></body></html>"
    assert line not in page, "the markup hides the line from a plain text scan"
    (tmp_path / "page.html").write_text(page)
    assert any(line in finding for finding in site_build.leak_findings(tmp_path, answers))


def test_remote_assets_are_found_and_links_are_not(tmp_path):
    (tmp_path / "a.html").write_text('<link rel="stylesheet" href="https://cdn.example.org/x.css">'
                                     '<script src="//cdn.example.org/y.js"></script><img src="_images/z.png">'
                                     '<a href="https://colab.research.google.com/x">Open in Colab</a>'
                                     '<style>@font-face { src: url(https://fonts.example.org/f.woff2) }</style>')
    (tmp_path / "b.css").write_text("@import 'https://cdn.example.org/t.css'; .a { background: url(local.png) }")
    found = "\n".join(site_build.remote_assets(tmp_path))
    for url in ("cdn.example.org/x.css", "//cdn.example.org/y.js", "fonts.example.org/f.woff2", "cdn.example.org/t.css"):
        assert url in found
    assert "colab" not in found and "local.png" not in found and "_images" not in found


# --- the built site -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "html"
    start = time.perf_counter()
    lessons = site_build.build(out)
    seconds = time.perf_counter() - start
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    summary = {"build_s": round(seconds, 1), "size_mb": round(site_build.size_bytes(out) / 1e6, 2),
               "pages": sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")),
               "images": len(list((out / "_images").glob("*")))}
    (ARTIFACTS / "summary.json").write_text(json.dumps(summary, indent=1))
    return out, lessons


@pytest.mark.slow
def test_site_builds_without_answers_or_remote_assets(built):
    out, lessons = built
    pages = {p.relative_to(out).as_posix() for p in out.rglob("*.html")}
    assert {f"{lesson['doc']}.html" for lesson in lessons} | {"index.html", "curriculum.html", "search.html"} <= pages
    assert site_build.leak_findings(out) == []
    assert site_build.remote_assets(out) == []
    figures = sum(1 for nb in (REPO / "notebooks").glob("*/*.ipynb")
                  for c in json.loads(nb.read_text())["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    assert len(list((out / "_images").glob("*.png"))) == figures, "every saved figure is on the site"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve(folder: Path):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.slow
def test_site_in_chromium(built):
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (make test installs it on Debian as root; or set COURSE_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make setup)")
    out, lessons = built
    server = _serve(out)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    remote, failed, seen = [], [], {}
    try:
        with sync_api.sync_playwright() as p:
            # no host but the local server resolves: whatever the site would load from elsewhere fails, and is recorded
            browser = launch(p, "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1")
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: r.url.startswith((base, "data:")) or remote.append(r.url))
            page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
            page.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico")
                    and failed.append(f"{r.url} (HTTP {r.status})"))
            for name in sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")):
                response = page.goto(base + name, wait_until="load")
                assert response is not None and response.ok, name
                if page.evaluate("() => !!window.MathJax"):
                    page.wait_for_function("() => window.MathJax.startup && window.MathJax.startup.promise", timeout=30_000)
                    page.evaluate("() => window.MathJax.startup.promise")
                seen[name] = page.evaluate("""() => ({
                    title: document.title,
                    images: document.images.length,
                    broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),
                    math: document.querySelectorAll('mjx-container').length,
                    math_errors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent),
                    dollars: (() => {  // display maths left as TeX, outside code
                        const text = (document.querySelector('article') || document.body).cloneNode(true);
                        text.querySelectorAll('pre, code').forEach(e => e.remove());
                        return text.textContent.includes('$$');
                    })(),
                })""")
                page.screenshot(path=str(ARTIFACTS / (name.replace("/", "__")[:-5] + ".png")))
            for lesson in lessons:
                name = f"{lesson['doc']}.html"
                assert seen[name]["images"] > 0 and seen[name]["math"] > 0, (name, seen[name])
            assert {n: s["broken"] for n, s in seen.items() if s["broken"]} == {}
            assert {n: s["math_errors"] for n, s in seen.items() if s["math_errors"]} == {}
            assert [n for n, s in seen.items() if s["dollars"]] == [], "untypeset $$ maths"

            source = (REPO / "notebooks" / SEARCH_PAGE).with_suffix(".ipynb").read_text(encoding="utf-8")
            assert SEARCH_TERM in source, f"choose another SEARCH_TERM: {SEARCH_PAGE} no longer says {SEARCH_TERM}"
            page.goto(f"{base}search.html?q={SEARCH_TERM}")
            page.wait_for_selector("#search-results ul.search li", timeout=30_000)
            hits = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
            page.screenshot(path=str(ARTIFACTS / "search.png"))
            assert any(h.split("#")[0].endswith(SEARCH_PAGE) for h in hits), hits
            # and straight from the folder, without a server (searchindex.js is a script, not a fetch; the
            # summaries under each hit need one and stay empty)
            page = browser.new_page()
            page.goto((out / "search.html").as_uri() + f"?q={SEARCH_TERM}")
            page.wait_for_selector("#search-results ul.search li", timeout=30_000)
            hits = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
            assert any(h.split("#")[0].endswith(SEARCH_PAGE) for h in hits), hits
            browser.close()
    finally:
        server.shutdown()
    (ARTIFACTS / "pages.json").write_text(json.dumps(seen, indent=1))
    assert remote == [], f"the site tried to load from elsewhere: {remote[:10]}"
    assert failed == [], failed[:10]
