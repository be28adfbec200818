"""Write the student-only repository: `make student-repo DEST=../course-students`.

    python tools/student_repo.py DEST

It holds what a student needs and nothing else, taken from the last commit (HEAD): the released notebooks, the
student package, the setup (Makefile, pyproject.toml, the lock, Binder and conda files), and the unit tests of
the student package plus the `make lab` and ipywidgets-7 tests, so that `make lab` and `make test` work there.
Everything else stays behind: instructor notebooks (solutions/), lesson sources and notebook builders, answer
cases, the hostile corpus, the instructor's tools and their tests, the benchmarks and the history. The list below
is what is *kept*, so a file added to the instructor repository later stays behind unless it is added here.

Then every file of DEST, whatever its type, is scanned for solution, hidden-test and mark-scheme content
(tools/leak_scan.py); on any finding DEST is left for inspection, not committed, and the command fails.
Otherwise DEST becomes a new git repository with a single commit, ready to push.
"""
from __future__ import annotations

import fnmatch
import io
import subprocess
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import leak_scan  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
STUDENT_PACKAGE = "course_utils"
KEEP = [
    "README.md", "LICENSE*", "Makefile", "pyproject.toml", "constraints.txt", "environment.yml", ".gitignore",
    "conftest.py", "binder/*", "notebooks/*", f"{STUDENT_PACKAGE}/*",
    # setup, and the scripts that regenerate the shipped data (the unit tests run them)
    "tools/python_range.py", "tools/system_packages.sh", "tools/double_descent_sweep.py", "tools/pretrain_base.py",
    "tools/transfer_curve.py",
    "tests/fresh_checkout.py", "tests/kernel_helpers.py", "tests/nbval_sanitize.cfg", "tests/widgets7-requirements.txt",
    "tests/test_make_lab.py", "tests/test_widgets7.py",
]


def student_tests(paths: list[str]) -> set[str]:
    """tests/test_<module>.py for every module of the student package: its unit tests."""
    modules = {Path(p).stem for p in paths if fnmatch.fnmatch(p, f"{STUDENT_PACKAGE}/*.py")}
    return {p for p in paths if p.startswith("tests/test_") and p[len("tests/test_"):-len(".py")] in modules}


def kept(paths: list[str]) -> list[str]:
    tests = student_tests(paths)
    return sorted(p for p in paths if p in tests or any(fnmatch.fnmatch(p, pattern) for pattern in KEEP))


def export(dest: Path) -> list[str]:
    """Extract the kept files of HEAD into ``dest``; returns their paths."""
    paths = subprocess.run(["git", "ls-tree", "-r", "--name-only", "HEAD"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.splitlines()
    files = kept(paths)
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD", "--", *files], cwd=REPO, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return files


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    dest = Path(argv[0]).expanduser().resolve()
    if dest.exists() and any(dest.iterdir()):
        print(f"error: {dest} exists and is not empty", file=sys.stderr)
        return 1
    if dest == REPO or REPO in dest.parents:
        print(f"error: {dest} is inside this repository; choose a folder outside it", file=sys.stderr)
        return 1
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout
    if dirty:
        print("note: uncommitted changes are not exported (the student repository is made from HEAD)", file=sys.stderr)
    dest.mkdir(parents=True, exist_ok=True)
    files = export(dest)
    problems = leak_scan.scan([dest])
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"error: {len(problems)} finding(s) of answer content in {dest}; not committed", file=sys.stderr)
        return 1
    git = ["git", "-c", "user.name=Course", "-c", "user.email=course@localhost", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-qm", "Course notebooks"], cwd=dest, check=True)
    print(f"wrote {dest}: {len(files)} files, scanned, one commit; push it to the students' repository")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
