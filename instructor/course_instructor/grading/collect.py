"""Find the submissions to grade: nbgrader's layout, a flat folder, or a zip from an LMS.

Accepted inputs:

- nbgrader's ``submitted/<student>/<assignment>/<notebook>.ipynb`` (``timestamp.txt`` is read);
- a flat folder of files as learning-management systems export them, e.g.
  ``alice_00_welcome.ipynb``, ``smithjohn_12345_67890_00_welcome.ipynb`` (Canvas) or
  ``Alice Smith_4711_assignsubmission_file_/00_welcome.ipynb`` (Moodle): the student is the
  text before the first ``_`` of the file name (or of its folder); ``--student-regex`` overrides;
- a ``.zip`` of either.

Each student's files are copied into ``<root>/submitted/<student>/<assignment>/`` so that the
rest of nbgrader (formgrader, feedback) sees the usual layout.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

_SAFE = re.compile(r"[^A-Za-z0-9_.@-]+")
MAX_ZIP_BYTES = 2 * 1024**3


@dataclass
class Submission:
    student: str
    folder: Path | None  # <root>/submitted/<student>/<assignment>, or None if nothing was submitted
    files: list[Path] = field(default_factory=list)  # the notebooks found there
    timestamp: str | None = None


def safe_id(text: str) -> str:
    cleaned = _SAFE.sub("-", text.strip()).strip("-.")
    return cleaned or "unknown"


def _notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb")
                  if p.is_file() and ".ipynb_checkpoints" not in p.parts and not p.name.startswith("."))


def _extract(zip_path: Path, into: Path) -> Path:
    with zipfile.ZipFile(zip_path) as zf:
        total = 0
        for info in zf.infolist():
            name = Path(info.filename)
            if name.is_absolute() or ".." in name.parts:
                raise ValueError(f"unsafe path in {zip_path.name}: {info.filename}")
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                raise ValueError(f"{zip_path.name} unpacks to more than {MAX_ZIP_BYTES} bytes")
        zf.extractall(into)
    return into


def _is_nbgrader_layout(folder: Path, assignment: str) -> bool:
    return any((d / assignment).is_dir() for d in folder.iterdir() if d.is_dir())


def _student_of(rel: Path, notebook_stems: list[str], regex: re.Pattern | None) -> str:
    if regex is not None:
        m = regex.search(rel.as_posix())
        if m:
            return safe_id(m.groupdict().get("student") or m.group(1) if m.groups() else m.group(0))
    name = rel.parts[0] if len(rel.parts) > 1 else rel.stem
    for stem in notebook_stems:
        if name.endswith("_" + stem):
            name = name[: -len(stem) - 1]
    return safe_id(name.split("_")[0] if "_" in name else name)


def collect(source: Path, assignment: str, root: Path, notebooks: list[str],
            student_regex: str | None = None, known_students: list[str] | None = None) -> list[Submission]:
    """Every student's submission of ``assignment``, copied into ``<root>/submitted``.

    Students in ``known_students`` (e.g. from the gradebook) without any submission get a
    :class:`Submission` with ``folder=None`` (status "missing").
    """
    source = Path(source)
    submitted = Path(root) / "submitted"
    found: dict[str, Submission] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if source.is_file() and source.suffix == ".zip":
            source = _extract(source, Path(tmp))
            inner = [p for p in source.iterdir() if not p.name.startswith("__MACOSX")]
            if len(inner) == 1 and inner[0].is_dir() and not _is_nbgrader_layout(source, assignment):
                source = inner[0]
        if not source.is_dir():
            raise FileNotFoundError(f"no submissions folder or zip at {source}")
        if _is_nbgrader_layout(source, assignment):
            for student_dir in sorted(d for d in source.iterdir() if d.is_dir() and not d.name.startswith(".")):
                folder = student_dir / assignment
                student = safe_id(student_dir.name)
                if not folder.is_dir():
                    continue
                target = submitted / student / assignment
                if folder.resolve() != target.resolve():
                    if target.exists():
                        shutil.rmtree(target)
                    shutil.copytree(folder, target)
                stamp = target / "timestamp.txt"
                found[student] = Submission(student, target, _notebooks(target),
                                            stamp.read_text().strip() if stamp.is_file() else None)
        else:
            regex = re.compile(student_regex) if student_regex else None
            stems = [Path(n).stem for n in notebooks]
            groups: dict[str, list[Path]] = {}
            for path in _notebooks(source):
                groups.setdefault(_student_of(path.relative_to(source), stems, regex), []).append(path)
            for student, paths in sorted(groups.items()):
                target = submitted / student / assignment
                if target.exists():
                    shutil.rmtree(target)
                target.mkdir(parents=True)
                files = []
                for path in paths:
                    name = path.name
                    for stem in stems:  # "alice_00_welcome.ipynb" -> "00_welcome.ipynb"
                        if path.stem.endswith(stem) and path.stem != stem:
                            name = stem + ".ipynb"
                    dest = target / name
                    if dest.exists():
                        dest = target / path.name
                    shutil.copy2(path, dest)
                    files.append(dest)
                found[student] = Submission(student, target, sorted(files))
    for student in known_students or []:
        found.setdefault(student, Submission(student, None))
    return [found[s] for s in sorted(found)]
