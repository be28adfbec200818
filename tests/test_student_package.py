"""The package a student installs (the course-utils wheel) holds no answer and none of the instructor's tools.

The answers are collected from the instructor notebooks (tools/leak_scan.py): the names that nbgrader answer
cells define, and the lines of solution, hidden-test and mark-scheme regions. The wheel is built from a fresh
copy of the sources (a stale build/ folder could carry deleted modules into it).
"""
from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest
from fresh_checkout import copy_checkout, load_tool

# The three reference answers the package once shipped under the exercises' own names.
ONCE_SHIPPED = {"legendre_features", "interpolation_threshold", "mc_dropout_predict"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    source = copy_checkout(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(source)], check=True, capture_output=True)
    (found,) = out.glob("course_utils-*.whl")
    return found


def test_answers_are_collected_from_the_solutions():
    answers = load_tool("leak_scan").answers()
    assert ONCE_SHIPPED <= answers.names and len(answers.names) > 30
    assert "return probs.mean(0), probs.std(0, correction=0)" in answers.lines  # 06's MC dropout answer


def test_student_wheel_holds_no_answer(wheel):
    problems = load_tool("leak_scan").scan([wheel])
    assert not problems, "the student package holds answer content:\n" + "\n".join(problems)


def test_scan_finds_an_answer_put_back(wheel, tmp_path):
    """The check above is real: the wheel with 03's answer added to a module fails it."""
    leak_scan = load_tool("leak_scan")
    tampered = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "course_utils/double_descent.py":
                data += b"\n\ndef interpolation_threshold(ds, errors, tol=1e-8):\n    return None\n"
            dst.writestr(item, data)
    problems = leak_scan.scan([tampered])
    assert any("defines 'interpolation_threshold'" in p for p in problems), problems


def test_student_wheel_has_only_the_student_package(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    packages = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert packages == {"course_utils"}, packages
    for tool in ("grading", "release", "platforms", "kernel_client"):  # the instructor's (instructor/)
        assert not any(name.startswith(f"course_utils/{tool}") for name in names), tool
    assert "course_utils/checks.py" in names and "course_utils/assets/glyphnet.pt" in names


def test_colab_installs_only_the_student_package():
    """The notebooks' Colab setup cell installs the repository's root project, the student package, no extra."""
    import importlib.metadata

    from packaging.requirements import Requirement

    from course_instructor import platforms

    requirement = Requirement(platforms.install_spec())
    assert requirement.name == importlib.metadata.metadata("course_utils")["Name"] == "course-utils", requirement
    assert not requirement.extras, requirement
    assert "#subdirectory=" not in str(requirement.url)
    assert f"'{platforms.install_spec()}'" in platforms.setup_cell_source()
