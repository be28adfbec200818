"""Binder: the configuration is checked with repo2docker itself, without Docker (``--no-build``).

Asserts the buildpack repo2docker picks, the Python version, and the install plan: the pinned,
CPU-only requirements installed *before* the repository is copied (a layer cached across
commits), then postBuild installing the course package and switching nbgrader's instructor
extensions off.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BINDER = REPO / "binder"
repo2docker = pytest.importorskip("repo2docker", reason="jupyter-repo2docker is not installed (make setup)")


@contextmanager
def _cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def test_repo2docker_picks_the_python_buildpack_for_python_3_11():
    from repo2docker.app import Repo2Docker

    app = Repo2Docker()
    with _cwd(REPO):
        picked = next(bp for bp in (BP(base_image=app.base_image) for BP in app.buildpacks) if bp.detect())
        assert type(picked).__name__ == "PythonBuildPack"
        assert picked.python_version == "3.11"
        assert picked.binder_dir == "binder"  # so root-level files (Makefile, pyproject.toml) are ignored


@pytest.fixture(scope="module")
def dockerfile() -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "repo2docker", "--no-build", "--no-run", "--debug", str(REPO)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stdout + proc.stderr
    assert "FROM " in text, text[-3000:]
    return text


def test_install_plan_caches_the_pinned_requirements_before_copying_the_repo(dockerfile):
    copy_requirements = dockerfile.index("COPY --chown=0:0 src/binder/requirements.txt")
    pip_install = dockerfile.index('pip install --no-cache-dir -r "binder/requirements.txt"')
    copy_repo = dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    post_build = dockerfile.index("RUN ./binder/postBuild")
    assert copy_requirements < pip_install < copy_repo < post_build
    assert "Building conda environment for python=3.11" in dockerfile


def test_requirements_are_cpu_only_pinned_and_in_sync_with_constraints():
    text = (BINDER / "requirements.txt").read_text()
    assert "--extra-index-url=https://download.pytorch.org/whl/cpu" in text
    assert re.search(r"^torch==[\d.]+\+cpu$", text, re.M)
    packages = [l for l in text.splitlines() if l and not l.startswith(("#", "-"))]
    assert all("==" in l for l in packages), [l for l in packages if "==" not in l]
    names = {l.split("==")[0] for l in packages}
    assert {"nbgrader", "jupyterlab", "ipywidgets", "ipykernel", "numpy", "mnist1d"} <= names
    assert not names & {"pytest", "nbval", "playwright", "jupyter-repo2docker"}, "test tools do not belong on Binder"
    assert not any(n.startswith("nvidia-") for n in names)
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "binder_requirements.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_post_build_installs_the_course_and_only_student_extensions():
    post = (BINDER / "postBuild").read_text()
    assert os.access(BINDER / "postBuild", os.X_OK)
    assert "pip install --no-cache-dir --no-deps -e ." in post
    for plugin in ("formgrader", "create-assignment", "course-list"):
        assert f"labextension disable --level=sys_prefix @jupyter/nbgrader:{plugin}" in post
    for ext in ("formgrader", "course_list"):
        assert f"server extension disable --sys-prefix nbgrader.server_extensions.{ext}" in post
    assert "validate" not in post and "assignment-list" not in post  # the students' tools stay on
