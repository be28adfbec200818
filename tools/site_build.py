"""The course as a website: `make site` builds a static site from the student notebooks.

    python tools/site_build.py [OUT]      # default build/site/; open OUT/index.html

Sphinx with myst-nb (configuration: site/conf.py) renders every notebook of ``notebooks/`` -- the student
versions, with their saved figures and the apps' static pictures; nothing is executed -- plus two generated
pages: a landing page (each lesson's title, time, topics and learning objectives, with Colab and Binder launch
links made like the README's, course_instructor.platforms) and the curriculum map (site/curriculum.yml: which
lecture and midterm-review sections each notebook covers). Sphinx's own search works offline.

It builds offline and the site loads nothing from elsewhere: the theme (furo) bundles its files, MathJax is
copied from the sphinx-mathjax-offline wheel (only what the pages load), the remote badge images of the
notebooks' first cell become plain links, and no ipywidgets JavaScript is added. Before Sphinx sees a notebook
(a copy), the Colab-only setup cell and the empty progress bars that stand in for tqdm's widgets are dropped.

After the build the output is checked, and the command fails on any finding:

* no solution, hidden-test or mark-scheme content (:func:`leak_findings`: tools/leak_scan.py on every file,
  and on the text of every page with its markup removed, so that highlighted code is read as its lines);
* no page, style sheet or script that loads CSS, JavaScript, fonts or images from another host
  (:func:`remote_assets`).
"""
from __future__ import annotations

import argparse
import copy
import html
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import leak_scan  # noqa: E402

NOTEBOOKS = REPO / "notebooks"
SITE = REPO / "site"
CURRICULUM = SITE / "curriculum.yml"
DEFAULT_OUT = REPO / "build" / "site"
#: What of MathJax 3 (in the sphinx-mathjax-offline wheel) the pages load: one combined file with every TeX
#: extension, its fonts and the lazily loaded menu and accessibility parts (tests/test_site.py sees no other request).
MATHJAX_DIST = ("sphinx-mathjax-offline", "sphinx-mathjax-offline/static/mathjax")
MATHJAX_FILES = ("tex-chtml-full.js", "output/chtml/fonts/woff-v2", "a11y", "ui")
#: The text output tqdm leaves where its progress widget was: "label:   0%|   | 0/25 [00:00<?, ?epoch/s]".
TQDM_PLACEHOLDER = re.compile(r"^[^\n]*\d+%\|[^\n]*\|\s*\d+/\d+\s*\[[^\n]*\]\s*$")


# --- what the pages say ------------------------------------------------------------------------------------

def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _generated(cell) -> str | None:
    return cell.get("metadata", {}).get("course", {}).get("generated")


def objectives(markdown: str) -> list[str]:
    """The items of the "Learning objectives" list in a lesson's title cell (markdown, one string per item)."""
    items: list[str] = []
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"#+\s*learning objectives", line, re.I)), None)
    if start is None:
        return items
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        item = re.match(r"\s{0,3}(?:\d+[.)]|[-*+])\s+(.*)", line)
        if item:
            items.append(item.group(1).strip())
        elif items and line.strip() and line[:1].isspace():
            items[-1] += " " + line.strip()
        elif items and line.strip():
            break
    return items


def lessons(notebooks: Path = NOTEBOOKS) -> list[dict]:
    """One dict per student notebook ``notebooks/<assignment>/<name>.ipynb``, in order: assignment, name,
    title, topics, minutes (from its ``metadata.course``), objectives, doc (the page's name), colab, binder."""
    from course_instructor.platforms import binder_url, colab_url, notebook_path

    found = []
    for path in sorted(Path(notebooks).glob("*/*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        course = nb.get("metadata", {}).get("course", {})
        missing = [k for k in ("title", "topics", "minutes") if k not in course]
        if missing:
            raise ValueError(f"{path}: metadata.course lacks {missing} (the `course:` header of its lesson source)")
        text = "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown" and not _generated(c))
        assignment, name = path.parent.name, path.stem
        repo_path = notebook_path(assignment, name)
        found.append({"assignment": assignment, "name": name, "title": course["title"],
                      "topics": course["topics"], "minutes": course["minutes"], "objectives": objectives(text),
                      "doc": f"{assignment}/{name}", "colab": colab_url(repo_path), "binder": binder_url(repo_path)})
    if not found:
        raise ValueError(f"no notebooks in {notebooks} (expected notebooks/<assignment>/<name>.ipynb)")
    return found


def launch_links(lesson: dict) -> str:
    """HTML links that open the notebook in Colab or Binder (text: the site loads no remote badge image)."""
    return (f'<a class="launch" href="{html.escape(lesson["colab"])}">Open in Colab</a> '
            f'<a class="launch" href="{html.escape(lesson["binder"])}">Launch Binder</a>')


def site_notebook(nb: dict, lesson: dict) -> dict:
    """The notebook as its page shows it (a copy): launch links instead of remote badges, no Colab setup cell,
    no empty progress bars."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb["cells"]:
        kind = _generated(cell)
        if kind == "colab-setup":
            continue
        if kind == "badges":
            cell["source"] = launch_links(lesson)
        if cell["cell_type"] == "code":
            cell["outputs"] = [o for o in cell.get("outputs", []) if not _is_placeholder(o)]
        cells.append(cell)
    nb["cells"] = cells
    return nb


def _is_placeholder(output: dict) -> bool:
    data = output.get("data", {})
    if output.get("output_type") != "display_data" or set(data) != {"text/plain"}:
        return False
    return bool(TQDM_PLACEHOLDER.match(_source({"source": data["text/plain"]}).strip()))


def _number(lesson: dict) -> str:
    return lesson["assignment"].split("_", 1)[0]


def landing_page(found: list[dict], readme: Path = REPO / "README.md") -> str:
    """index.md: the course's description (the README's first paragraph), then every lesson."""
    intro = _readme_intro(readme.read_text(encoding="utf-8")) if readme.exists() else ""
    out = ["# Deep learning, hands on", "", intro, "",
           "Each lesson is a Jupyter notebook with experiments, interactive apps and graded exercises. These pages "
           "show the notebooks as students get them, with the figures of a full run; to run one, open it in Colab "
           "or Binder, or clone the course repository and run `make lab`. The [curriculum map](curriculum.md) "
           "shows which lecture sections each notebook covers.", "", "## The notebooks", ""]
    for lesson in found:
        out += [f"### {_number(lesson)} · [{lesson['title']}]({lesson['doc']}.ipynb)", "",
                f"<p class=\"lesson-meta\">about {lesson['minutes']} minutes · {html.escape(lesson['topics'])}</p>", ""]
        if lesson["objectives"]:
            out += ["By the end you can:", ""] + [f"{i}. {item}" for i, item in enumerate(lesson["objectives"], 1)]
            out.append("")
        out += [launch_links(lesson), ""]
    out += ["```{toctree}", ":hidden:", ":maxdepth: 1", ""] + [lesson["doc"] for lesson in found]
    out += ["curriculum", "```", ""]
    return "\n".join(out)


def _readme_intro(text: str) -> str:
    """The README's first paragraph after its title and generated badge."""
    text = re.sub(r"<!--.*?-->.*?<!--.*?-->", "", text, count=1, flags=re.S)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip() and not p.lstrip().startswith("#")]
    return paragraphs[0] if paragraphs else ""


def load_curriculum(path: Path = CURRICULUM) -> dict:
    import yaml

    table = yaml.safe_load(path.read_text(encoding="utf-8"))
    documents = table.get("documents", {})
    for assignment, covered in (table.get("notebooks") or {}).items():
        for document, sections in covered.items():
            if document not in documents:
                raise ValueError(f"{path}: {assignment} names an unknown document {document!r}")
            unknown = [s for s in sections if s not in documents[document]["sections"]]
            if unknown:
                raise ValueError(f"{path}: {assignment} covers sections not in {document!r}: {unknown}")
    return table


def curriculum_page(found: list[dict], table: dict) -> str:
    """curriculum.md: each document's sections in order with the notebooks that cover them, then per notebook."""
    links = {lesson["assignment"]: f"[{_number(lesson)} · {lesson['title']}]({lesson['doc']}.ipynb)"
             for lesson in found}
    covered = table.get("notebooks") or {}
    unmapped = sorted(set(links) - set(covered))
    if unmapped:
        raise ValueError(f"{CURRICULUM.name} maps no lecture sections for {unmapped}: add them under `notebooks:`")
    out = ["# Curriculum map", "",
           "Which sections of the course's lecture on deep networks and of its midterm review each notebook covers "
           "(the sections its *Further reading* names). A section without a notebook is marked with a dash.", ""]
    for key, document in table["documents"].items():
        out += [f"## {document['title']}", "", "| section | notebooks |", "|---|---|"]
        for section in document["sections"]:
            who = [links[a] for a in links if section in covered.get(a, {}).get(key, [])]
            out.append(f"| {_cell(section)} | {', '.join(who) if who else '—'} |")
        out.append("")
    out += ["## By notebook", "", "| notebook | " + " | ".join(d["title"] for d in table["documents"].values()) + " |",
            "|---|" + "---|" * len(table["documents"])]
    for assignment, link in links.items():
        cells = ["; ".join(_cell(s) for s in covered[assignment].get(key, [])) or "—" for key in table["documents"]]
        out.append(f"| {link} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


# --- the build -------------------------------------------------------------------------------------------------

def stage(src: Path, notebooks: Path = NOTEBOOKS) -> list[dict]:
    """Write the Sphinx source folder ``src``: the pages' notebooks and the generated pages."""
    found = lessons(notebooks)
    for lesson in found:
        nb = json.loads((Path(notebooks) / f"{lesson['doc']}.ipynb").read_text(encoding="utf-8"))
        target = src / f"{lesson['doc']}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(site_notebook(nb, lesson), ensure_ascii=False, indent=1), encoding="utf-8")
    (src / "index.md").write_text(landing_page(found), encoding="utf-8")
    (src / "curriculum.md").write_text(curriculum_page(found, load_curriculum()), encoding="utf-8")
    return found


def copy_mathjax(out: Path) -> None:
    dist, folder = MATHJAX_DIST
    try:
        root = Path(importlib.metadata.distribution(dist).locate_file(folder))
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeError(f"{dist} is not installed: it is in the course's `site` extra (make setup)") from None
    for name in MATHJAX_FILES:
        source, target = root / name, out / "_static" / "mathjax" / name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def build(out: Path = DEFAULT_OUT, notebooks: Path = NOTEBOOKS, strict: bool = True) -> list[dict]:
    """Build the site into ``out`` (replaced); returns the lessons. ``strict``: a Sphinx warning fails the build."""
    out = Path(out).resolve()
    if out == REPO or out in REPO.parents:
        raise ValueError(f"{out} holds the repository; choose a folder of its own (default {DEFAULT_OUT})")
    if out.exists() and any(out.iterdir()) and not (out / "searchindex.js").exists():
        raise ValueError(f"{out} exists and is not a site built before (it is replaced): choose an empty or new folder")
    with tempfile.TemporaryDirectory(prefix="course-site-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        found = stage(src, notebooks)
        if out.exists():
            shutil.rmtree(out)
        cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(SITE), "-d", str(Path(tmp) / "doctrees"),
               *(["-W", "--keep-going"] if strict else []), str(src), str(out)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"sphinx-build failed ({result.returncode}):\n{result.stdout[-4000:]}{result.stderr[-4000:]}")
    copy_mathjax(out)
    shutil.rmtree(out / ".doctrees", ignore_errors=True)
    (out / ".buildinfo").unlink(missing_ok=True)
    return found


# --- checks of the built site -----------------------------------------------------------------------------------

def page_text(page: str) -> str:
    """The text of an HTML page as a reader sees it, line by line: scripts and styles dropped, tags removed
    (syntax-highlighted code becomes its source lines again), entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1\s*>", "", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]*>", "", page))


def leak_findings(out: Path, found: leak_scan.Answers | None = None) -> list[str]:
    """Solution, hidden-test and mark-scheme content in the built site (tools/leak_scan.py, the release's scan):
    every file as it is, and every HTML page's text."""
    found = found or leak_scan.answers()
    problems = leak_scan.scan([out], found)
    for page in sorted(Path(out).rglob("*.html")):
        problems += leak_scan.scan_text(f"{page} (text)", page_text(page.read_text(encoding="utf-8")), found)
    return problems


REMOTE = r"(?:https?:)?//"
_ASSET_HTML = re.compile(rf"<(?:script|img|iframe|source|video|audio|embed)\b[^>]*\bsrc\s*=\s*[\"']?({REMOTE}[^\"'\s>]+)"
                         rf"|<link\b[^>]*\bhref\s*=\s*[\"']?({REMOTE}[^\"'\s>]+)", re.I)
_ASSET_CSS = re.compile(rf"url\(\s*[\"']?({REMOTE}[^\"')\s]+)|@import\s+[\"']({REMOTE}[^\"']+)", re.I)


def remote_assets(out: Path) -> list[str]:
    """Every script, style sheet, font, image or frame that a page or style sheet of the site would load from
    another host (``http(s)://`` or ``//``). Links a reader clicks (``<a href>``) are not assets."""
    problems = []
    for path in sorted(Path(out).rglob("*")):
        if path.suffix not in (".html", ".css"):
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        pattern = _ASSET_HTML if path.suffix == ".html" else _ASSET_CSS
        problems += [f"{path}: loads {a or b}" for a, b in pattern.findall(text)]
        if path.suffix == ".html":
            for style in re.findall(r"<style\b[^>]*>(.*?)</style>", text, flags=re.S | re.I):
                problems += [f"{path}: a style loads {a or b}" for a, b in _ASSET_CSS.findall(style)]
    return problems


def size_bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default=str(DEFAULT_OUT), help="output folder (replaced; default build/site)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    start = time.perf_counter()
    try:
        found = build(out)
    except (RuntimeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    problems = leak_findings(out) + remote_assets(out)
    for line in problems:
        print(line, file=sys.stderr)
    pages = len(list(out.rglob("*.html")))
    print(f"built {out}: {len(found)} notebooks, {pages} pages, {size_bytes(out) / 1e6:.1f} MB in {seconds:.0f} s; "
          f"{len(problems)} finding(s) of answer content or remote assets")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
