"""Find answer content in anything a student receives: a folder, a wheel, a zip.

    python tools/leak_scan.py PATH [PATH ...]     # exit 1 and list the findings, if any

What counts as answer content comes from the instructor notebooks in solutions/ (the one definition):

* nbgrader's region markers -- ``BEGIN SOLUTION``, ``BEGIN HIDDEN TESTS``, ``BEGIN MARK SCHEME`` (and their END);
* every line of a solution or hidden-test region, and of a mark-scheme cell, that is specific enough to be
  an answer (:data:`MIN_LINE`, after stripping blanks: ``return x`` is everywhere, a formula is not);
* in Python source, a definition (``def``/``class``, at any depth) of a graded name: a function or class that
  an answer cell defines (``legendre_features``, ...).

Every file is read, whatever its type: notebooks through their JSON (cell sources and text outputs), zip
archives (wheels) member by member, everything else as text (UTF-8, undecodable bytes ignored).
"""
from __future__ import annotations

import ast
import io
import json
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
MARKERS = re.compile(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)")
MIN_LINE = 30  # characters of a stripped line, below which a line is too generic to be an answer
REGION = re.compile(r"^\s*#+\s*BEGIN (SOLUTION|HIDDEN TESTS)\s*$(.*?)^\s*#+\s*END \1\s*$", re.M | re.S)


@dataclass(frozen=True)
class Answers:
    names: frozenset[str]   # graded function and class names
    lines: frozenset[str]   # stripped lines of solution, hidden-test and mark-scheme content


def _cells(notebook: Path):
    return json.loads(notebook.read_text(encoding="utf-8"))["cells"]


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def answers(solutions: Path = SOLUTIONS) -> Answers:
    names: set[str] = set()
    secret: set[str] = set()
    public: set[str] = set()  # lines nbgrader leaves in the student version (e.g. a visible test repeated hidden)
    for notebook in sorted(solutions.glob("*/*.ipynb")):
        for cell in _cells(notebook):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            source = _source(cell)
            if meta.get("solution") and cell["cell_type"] == "code":
                tree = ast.parse(source)
                names |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
            if meta.get("task") or (meta.get("solution") and cell["cell_type"] == "markdown"):
                regions, rest = [source], ""  # mark schemes, model answers to free responses
            else:
                regions, rest = [m.group(2) for m in REGION.finditer(source)], REGION.sub("", source)
            for region in regions:
                secret |= {line.strip() for line in region.splitlines() if len(line.strip()) >= MIN_LINE}
            public |= {line.strip() for line in rest.splitlines()}
    return Answers(frozenset(names), frozenset(line for line in secret - public if not MARKERS.search(line)))


def _texts(label: str, data: bytes):
    """(label, text) pieces of one file's content: zip members one by one, notebooks cell by cell, and the whole."""
    if data[:4] == b"PK\x03\x04" and zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield from _texts(f"{label}!{member}", archive.read(member))
        return
    text = data.decode("utf-8", errors="ignore")
    if label.endswith(".ipynb"):
        try:
            cells = json.loads(text)["cells"]
        except (ValueError, KeyError, TypeError):
            cells = []
        for i, cell in enumerate(cells):
            yield f"{label} cell {i}", _source(cell)
            for output in cell.get("outputs", []):
                for piece in [output.get("text", "")] + list(output.get("data", {}).values()):
                    yield f"{label} cell {i} output", "".join(piece) if isinstance(piece, list) else str(piece)
    yield label, text


def scan_text(label: str, text: str, found: Answers) -> list[str]:
    problems = [f"{label}: nbgrader marker {m.group(0)!r}" for m in MARKERS.finditer(text)]
    stripped = {line.strip() for line in text.splitlines()}
    problems += [f"{label}: a line of a solution region: {line!r}" for line in sorted(found.lines & stripped)]
    if label.endswith(".py"):
        try:
            tree = ast.parse(text)
        except SyntaxError:
            tree = None
        if tree is not None:
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in found.names:
                    problems.append(f"{label}:{node.lineno}: defines {node.name!r}, the name of a graded answer")
    return problems


def scan(paths, found: Answers | None = None) -> list[str]:
    """Findings (one line each) in every file under ``paths`` (files or folders)."""
    found = found or answers()
    problems: list[str] = []
    for root in map(Path, paths):
        files = [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)
        for path in files:
            for label, text in _texts(str(path), path.read_bytes()):
                problems += scan_text(label, text, found)
    return problems


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    problems = scan(argv)
    for line in problems:
        print(line)
    print(f"{len(problems)} finding(s) in {', '.join(argv)}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
