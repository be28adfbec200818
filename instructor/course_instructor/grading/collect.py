"""Find the submissions to grade: nbgrader's layout, a flat folder, or a zip from an LMS.

Accepted inputs:

- nbgrader's ``submitted/<student>/<assignment>/<notebook>.ipynb`` (``timestamp.txt`` is read);
- a flat folder of files as learning-management systems export them, e.g.
  ``alice_00_welcome.ipynb``, ``smithjohn_12345_67890_00_welcome.ipynb`` (Canvas) or
  ``Alice Smith_4711_assignsubmission_file_/00_welcome.ipynb`` (Moodle): the student is the
  text before the first ``_`` of the file name (or of its folder); ``--student-regex`` overrides;
- a ``.zip`` of either.

A symbolic link or special file in a submission is refused with a note (never followed: it
could point at the instructor's solutions); student names that sanitise to the same id get
distinct ids with a note (never merged); a damaged class export loses only its damaged members.

Each student's files are copied into ``<root>/submitted/<student>/<assignment>/`` so that the
rest of nbgrader (formgrader, feedback) sees the usual layout.

The submission time (nbgrader's timestamp, from which it computes how late a submission is) is
``timestamp.txt`` where the submission has one (nbgrader's own ``collect`` writes it), otherwise
the modification time of the newest notebook submitted: for a zip, the time stored with each
member (an LMS writes its upload time there; a zip keeps no time zone: it is read as UTC), for a folder the file's time on disk. Copies keep these times.
"""
from __future__ import annotations

import datetime
import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from . import archive

_SAFE = re.compile(r"[^A-Za-z0-9_.@-]+")
KEEP = ("timestamp.txt",)  # files other than notebooks that are read from a submission
ORIGIN = ".course-grade-origin"  # in a copy made under a new id: the folder name it was copied from


@dataclass
class Submission:
    student: str
    folder: Path | None  # <root>/submitted/<student>/<assignment>, or None if nothing was submitted
    files: list[Path] = field(default_factory=list)  # the notebooks found there
    timestamp: str | None = None
    notes: list[str] = field(default_factory=list)  # what collecting refused or renamed (for the student)


@dataclass
class Collection:
    """The class: one :class:`Submission` per student, and what could be given to nobody."""

    submissions: list[Submission] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __iter__(self):
        return iter(self.submissions)

    def __len__(self) -> int:
        return len(self.submissions)


def safe_id(text: str) -> str:
    cleaned = _SAFE.sub("-", text.strip()).strip("-.")
    return cleaned or "unknown"


def unique_ids(names) -> dict[str, str]:
    """A distinct safe id for each raw student name: names that sanitise to the same id are never
    merged; a name that already is a safe id keeps it, the others get ``-2``, ``-3``..."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(set(names), key=lambda n: (safe_id(n) != n, n)):
        base = candidate = safe_id(name)
        k = 2
        while candidate in taken:
            candidate, k = f"{base}-{k}", k + 1
        taken.add(candidate)
        ids[name] = candidate
    return ids


def _collision_notes(ids: dict[str, str]) -> dict[str, list[str]]:
    by_base: dict[str, list[str]] = {}
    for name in ids:
        by_base.setdefault(safe_id(name), []).append(name)
    notes: dict[str, list[str]] = {}
    for names in by_base.values():
        if len(names) > 1:
            listing = ", ".join(f"{n!r} as {ids[n]!r}" for n in sorted(names))
            for n in names:
                notes[n] = [f"student names that give the same id were kept apart: {listing}"]
    return notes


def _scan(folder: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The regular files of ``folder`` worth reading (notebooks, timestamp.txt), and (relative
    path, why) for what was refused: symbolic links (they could point at the instructor's files) and special
    files (FIFOs, devices) are never followed or read."""
    kept, refused = [], []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            try:
                mode = os.lstat(path).st_mode
            except OSError as err:
                refused.append((rel, f"could not be read ({err.strerror})"))
                continue
            if stat.S_ISLNK(mode):
                refused.append((rel, "a symbolic link, refused"))
                if name in dirnames:
                    dirnames.remove(name)
            elif stat.S_ISDIR(mode):
                continue
            elif not stat.S_ISREG(mode):
                refused.append((rel, "not a regular file, refused"))
            elif (name.endswith(".ipynb") and not name.startswith(".")) or name in KEEP:
                kept.append(path)
    return kept, refused


def _notebooks(files: list[Path]) -> list[Path]:
    return sorted(p for p in files if p.suffix == ".ipynb")


def _wanted(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    hidden = any((p.startswith(".") and p not in (".", "..")) or p == "__MACOSX" for p in parts)
    return not hidden and (
        name.endswith(".ipynb") or parts[-1] in KEEP)


def _extract(zip_path: Path, into: Path, limits: archive.ZipLimits = archive.ZipLimits()) -> list[tuple[str, str]]:
    """Unpack the wanted members into ``into``; returns (member, problem) for each one not unpacked."""
    problems = []
    times = _member_times(zip_path)
    for entry in archive.entries(zip_path, _wanted, limits):
        if entry.data is None:
            problems.append((entry.name, entry.problem))
            continue
        dest = into.joinpath(*entry.name.replace("\\", "/").split("/"))
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(entry.data)
            if entry.name in times:
                os.utime(dest, (times[entry.name], times[entry.name]))
        except OSError as err:
            problems.append((entry.name, f"could not be unpacked ({err.strerror})"))
    return problems


def _member_times(zip_path: Path) -> dict[str, float]:
    """Member name -> the time stored with it in the zip (no time zone there: read as UTC), as a POSIX time."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            out = {}
            for info in zf.infolist():
                try:
                    out[info.filename] = datetime.datetime(*info.date_time, tzinfo=datetime.timezone.utc).timestamp()
                except ValueError:  # an impossible date in a damaged entry: no time
                    pass
            return out
    except (OSError, zipfile.BadZipFile, ValueError):
        return {}


def _file_time(files: list[Path]) -> str | None:
    """The newest modification time of the submitted notebooks, in UTC (ISO 8601), or None."""
    times = [os.lstat(p).st_mtime for p in files if p.suffix == ".ipynb"]
    if not times:
        return None
    return datetime.datetime.fromtimestamp(max(times), datetime.timezone.utc).isoformat()


def _copy(path: Path, dest: Path) -> None:
    """Copy a regular file and keep its modification time (the submission time when no timestamp.txt is sent)."""
    shutil.copyfile(path, dest, follow_symlinks=False)
    st = os.lstat(path)
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))


def _is_nbgrader_layout(folder: Path, assignment: str) -> bool:
    return any((d / assignment).is_dir() for d in folder.iterdir() if d.is_dir() and not d.is_symlink())


def _student_of(rel: Path, notebook_stems: list[str], regex: re.Pattern | None) -> str:
    """The raw student name (not yet a safe id) a file at ``rel`` belongs to."""
    if regex is not None:
        m = regex.search(rel.as_posix())
        if m:
            return m.groupdict().get("student") or m.group(1) if m.groups() else m.group(0)
    name = rel.parts[0] if len(rel.parts) > 1 else rel.stem
    for stem in notebook_stems:
        if name.endswith("_" + stem):
            name = name[: -len(stem) - 1]
    return name.split("_")[0] if "_" in name else name


def _copy_files(files: list[Path], source: Path, target: Path) -> list[Path]:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    copied = []
    for path in files:
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        _copy(path, dest)
        copied.append(dest)
    return copied


def collect(source: Path, assignment: str, root: Path, notebooks: list[str],
            student_regex: str | None = None, known_students: list[str] | None = None) -> Collection:
    """Every student's submission of ``assignment``, copied into ``<root>/submitted``.

    Never all-or-nothing: a file that cannot be read (a symbolic link, a special file, a damaged
    or over-large zip member, an unsafe path) is refused with a note for its student, or in
    :attr:`Collection.problems` if it belongs to nobody recognisable; everything else is graded.
    Students in ``known_students`` (e.g. from the gradebook) without any submission get a
    :class:`Submission` with ``folder=None`` (status "missing").
    """
    source = Path(source)
    submitted = Path(root) / "submitted"
    found: dict[str, Submission] = {}
    problems: list[str] = []
    stems = [Path(n).stem for n in notebooks]
    regex = re.compile(student_regex) if student_regex else None
    with tempfile.TemporaryDirectory() as tmp:
        unpacked: list[tuple[str, str]] = []
        if source.is_file() and source.suffix.lower() == ".zip":
            unpacked = _extract(source, Path(tmp))
            source = Path(tmp)
            inner = [p for p in source.iterdir()]
            if len(inner) == 1 and inner[0].is_dir() and not _is_nbgrader_layout(source, assignment):
                prefix = inner[0].name + "/"
                unpacked = [(m[len(prefix):] if m.startswith(prefix) else m, why) for m, why in unpacked]
                source = inner[0]
        if not source.is_dir():
            raise FileNotFoundError(f"no submissions folder or zip at {source}")
        nbgrader_layout = _is_nbgrader_layout(source, assignment)
        raw: dict[str, dict] = {}  # raw student name -> {"files": [...], "notes": [...], "folder": Path}

        def refuse(rel: str, why: str, student: str | None = None) -> None:
            """A file not graded: noted for its student, or for the class if it has none."""
            path = Path(rel)
            if student is None and not archive.unsafe_name(rel):
                if nbgrader_layout and len(path.parts) >= 2:
                    student = path.parts[0]
                elif not nbgrader_layout and rel.endswith(".ipynb"):
                    student = _student_of(path, stems, regex)
            if student is None:
                problems.append(f"{rel!r}: {why}; not graded (no student could be told from it)")
            else:
                raw.setdefault(student, {"files": [], "notes": []})["notes"].append(f"{path.name!r}: {why}; not graded")

        for member, why in unpacked:
            refuse(member, why)
        if nbgrader_layout:
            for student_dir in sorted(d for d in source.iterdir() if not d.name.startswith(".")):
                folder = student_dir / assignment
                if student_dir.is_symlink() or folder.is_symlink():
                    refuse(f"{student_dir.name}/{assignment}", "a symbolic link, refused", student_dir.name)
                    continue
                if not folder.is_dir():
                    continue
                origin = folder / ORIGIN  # our own copy of a folder under a new id, made by an earlier run
                if origin.is_file() and not origin.is_symlink() and (source / origin.read_text().strip()).is_dir():
                    continue
                files, refused = _scan(folder)
                entry = raw.setdefault(student_dir.name, {"files": [], "notes": []})
                entry.update(folder=folder, files=files)
                for rel, why in refused:
                    refuse(rel, why, student_dir.name)
        else:
            files, refused = _scan(source)
            for path in _notebooks(files):
                raw.setdefault(_student_of(path.relative_to(source), stems, regex), {"files": [], "notes": []})["files"].append(path)
            for rel, why in refused:
                refuse(rel, why)
        ids = unique_ids(raw)
        collisions = _collision_notes(ids)
        for name, entry in sorted(raw.items()):
            student = ids[name]
            target = submitted / student / assignment
            notes = collisions.get(name, []) + entry["notes"]
            if nbgrader_layout and "folder" in entry:
                folder = entry["folder"]
                files = entry["files"] if folder.resolve() == target.resolve() else _copy_files(entry["files"], folder, target)
                if student != name:
                    (target / ORIGIN).write_text(name + "\n")
            elif entry["files"]:
                files = []
                if target.exists():
                    shutil.rmtree(target)
                target.mkdir(parents=True)
                for path in entry["files"]:
                    dest = target / path.name
                    for stem in stems:  # "alice_00_welcome.ipynb" -> "00_welcome.ipynb"
                        if path.stem.endswith(stem) and path.stem != stem and not (target / f"{stem}.ipynb").exists():
                            dest = target / f"{stem}.ipynb"
                    k = 2
                    while dest.exists():  # two files of one student with the same name: keep both
                        dest, k = target / f"{path.stem}-{k}.ipynb", k + 1
                    _copy(path, dest)
                    files.append(dest)
            else:
                files, target = [], None
            stamp = next((f for f in files if f.name == "timestamp.txt" and f.parent.name == assignment), None)
            found[student] = Submission(student, target, _notebooks(files),
                                        stamp.read_text().strip() if stamp else _file_time(files), notes)
    for student in known_students or []:
        found.setdefault(student, Submission(student, None))
    return Collection([found[s] for s in sorted(found)], problems)
