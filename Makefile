# Two commands for everyone:  make lab   (set up and open JupyterLab)
#                             make test  (set up and run every test)
# Instructor commands:        make lessons (rebuild everything from lessons/), make author
#                             (edit lessons in JupyterLab); see CONTRIBUTING.md. Grading: README.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Extra arguments for `jupyter lab`, e.g. make lab LAB_ARGS="--no-browser --port=8899"
LAB_ARGS ?=
# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-k welcome"
PYTEST_ARGS ?=
# Parallel pytest workers; each notebook kernel then runs single-threaded (benchmarks/threads.py).
JOBS ?= 2

# Tools the venv provides (nbgrader runs `alembic`) are found on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

# The widget tests again, against the ipywidgets 7.7 API that Colab ships (a second, small venv).
W7_VENV  := .venv-widgets7
W7_STAMP := $(W7_VENV)/.installed

# Debian packages some tests need (command=package): Chromium for the browser test, bubblewrap
# (and setpriv) for the grading sandbox, python3-venv for the student repository's install test with Debian's own python3.
# `make test` installs them when root on Debian.
SYSTEM_PACKAGES := chromium=chromium bwrap=bubblewrap setpriv=util-linux py:ensurepip=python3-venv

ASSIGNMENTS := $(notdir $(patsubst %/,%,$(wildcard solutions/*/)))
# The student-only repository (make student-repo) has no solutions/: there this Makefile sets up and tests
# the student side only (no instructor tools from instructor/, no system packages for the sandbox and browser test).
INSTRUCTOR := $(if $(wildcard solutions),yes,)
COMMA := ,
EXTRAS := lab,test$(if $(INSTRUCTOR),$(COMMA)instructor$(COMMA)site,)

# make lessons LESSONS="01_activations 02_initialization" FORCE=1: only these, re-executed even if unchanged.
LESSONS ?=
FORCE ?=

.PHONY: help setup lab author lessons lint test test-setup test-fast test-widgets7 release grade formgrade feedback export lock benchmark clean system-packages student-repo site

help:
	@echo "make lab      set up .venv (first time) and open JupyterLab on notebooks/"
	@echo "make test     set up .venv (first time) and run every test"
	@echo "make lessons  rebuild from lessons/: sync with solutions/, re-run changed lessons, release notebooks/"
	@echo "make author   open JupyterLab on solutions/ (nbgrader tools; saving updates lessons/)"
	@echo "make release  the same as make lessons"
	@echo "make grade ASSIGNMENT=00_welcome [SUBMISSIONS=dir-or-zip] [GRADE_ARGS=...]  autograde a class (sandboxed, parallel)"
	@echo "make formgrade  the formgrader (grading by hand) in JupyterLab, for the instructor"
	@echo "make feedback ASSIGNMENT=00_welcome  regenerate the students' feedback (after grading by hand)"
	@echo "make export ASSIGNMENT=00_welcome    grades/<assignment>/lms.csv for the LMS (autograded, manual, total)"
	@echo "make test-fast  only the quick unit tests (no notebooks, no grading round trip)"
	@echo "make lock     re-resolve constraints.txt for every supported Python (tools/lock.py)"
	@echo "make student-repo DEST=dir  write the student-only repository (scanned for answers, one commit)"
	@echo "make benchmark  measure the torch thread policy (benchmarks/threads.py)"
	@echo "make site     build the course website from notebooks/ into build/site (tools/site_build.py; SITE_OUT=dir)"

setup: $(STAMP)

# Creates the virtual environment and installs the pinned dependencies and the course package.
$(STAMP): pyproject.toml constraints.txt $(wildcard instructor/pyproject.toml)
	@$(PYTHON) tools/python_range.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "error: $(PYTHON) cannot create a virtual environment; on Debian/Ubuntu: sudo apt-get install python3-venv" >&2; exit 1; }
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -c constraints.txt -e ".[$(EXTRAS)]" $(if $(INSTRUCTOR),-e ./instructor,)
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
	@# Students' JupyterLab gets no nbgrader instructor tools (Formgrader, Create Assignment, Course List menus, the
	@# formgrader's server extension), as on Binder (binder/postBuild); they keep Assignment List and Validate.
	$(BIN)/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader:formgrader @jupyter/nbgrader:create-assignment @jupyter/nbgrader:course-list >/dev/null 2>&1
	$(BIN)/jupyter server extension disable --sys-prefix nbgrader.server_extensions.formgrader nbgrader.server_extensions.course_list >/dev/null 2>&1
	touch $(STAMP)

# Jupyter refuses to run as root (containers, CI) unless told it may.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# Students' JupyterLab has none of nbgrader's instructor tools: make setup switches them off (above).
# make author and make formgrade switch them on for their own JupyterLab only (jupyter/README.md).
INSTRUCTOR_JUPYTER := JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter/instructor$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH),)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

# Editing lessons as notebooks: JupyterLab on the repository, opened at solutions/, with nbgrader's
# create-assignment toolbar; jupytext (jupytext.toml) writes every save to lessons/ too.
author: $(STAMP)
	$(INSTRUCTOR_JUPYTER) $(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/solutions $(ROOT_FLAG) $(LAB_ARGS)

# The one command: sync lessons/ <-> solutions/, re-execute lessons whose code changed, nbgrader release.
lessons: $(STAMP)
	$(BIN)/python -m course_instructor.lessons $(LESSONS) $(if $(FORCE),--force)

release: lessons

# ruff (lint and import order; settings in pyproject.toml) over the lessons, the packages and the tests
# (those of them this checkout has: the student repository has no lessons/ or instructor/).
LINT_PATHS := $(wildcard lessons course_utils instructor tests tools)
lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)

# The installs run side by side (pip is mostly one core; apt mostly waits on the network). The ipywidgets-7
# run is one of pytest's tests (tests/test_widgets7.py runs `make test-widgets7`), scheduled with the others.
test-setup:
	@$(MAKE) --no-print-directory -j3 $(STAMP) $(W7_STAMP) $(if $(INSTRUCTOR),system-packages,)

test: test-setup lint
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile --durations=10 $(PYTEST_ARGS)

$(W7_STAMP): tests/widgets7-requirements.txt
	test -x $(W7_VENV)/bin/python || $(PYTHON) -m venv $(W7_VENV)
	$(W7_VENV)/bin/python -m pip install -qq -r tests/widgets7-requirements.txt
	$(W7_VENV)/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(W7_STAMP)

test-widgets7: $(W7_STAMP)
	PYTHONPATH=$(CURDIR) EXPECT_IPYWIDGETS_MAJOR=7 $(W7_VENV)/bin/python -m pytest tests/test_widgets.py -p no:cacheprovider -p no:xdist -o addopts="" -q

# Only the quick unit tests (no notebook execution, no nbgrader round trip); TESTS="tests/test_checks.py ..." for some.
TESTS ?= tests
test-fast: $(STAMP) lint
	$(BIN)/python -m pytest $(TESTS) -m "not slow" $(PYTEST_ARGS)

# bubblewrap for the grading sandbox: installed where make runs as root on Debian (CI), else a note.
system-packages:
	@bash tools/system_packages.sh $(SYSTEM_PACKAGES)

# Autograde every submission of one assignment: make grade ASSIGNMENT=00_welcome [SUBMISSIONS=lms.zip]
ASSIGNMENT ?= $(firstword $(ASSIGNMENTS))
SUBMISSIONS ?=
GRADE_ARGS ?=
grade: $(STAMP)
	$(BIN)/course-grade $(ASSIGNMENT) $(SUBMISSIONS) $(GRADE_ARGS)

# Grading by hand: nbgrader's formgrader (opened in the browser; also JupyterLab's Nbgrader > Formgrader menu)
# on the gradebook course-grade wrote. Instructor only: students' JupyterLab does not have it. exchange/ is the
# (unused) nbgrader exchange set in nbgrader_config.py: present, the formgrader does not warn about it.
formgrade: $(STAMP)
	@mkdir -p exchange
	$(INSTRUCTOR_JUPYTER) $(BIN)/jupyter lab --ServerApp.root_dir=. --ServerApp.default_url=/formgrader $(ROOT_FLAG) $(LAB_ARGS)

# After grading by hand: every student's feedback again, with the manual scores and comments.
feedback: $(STAMP)
	$(BIN)/course-grade feedback $(ASSIGNMENT)

# One row per student (submission time, seconds late, autograded, manual, late penalty, total) for the LMS.
export: $(STAMP)
	$(BIN)/course-grade export $(ASSIGNMENT)

# One lock for every supported Python (environment markers), resolved by uv: tools/lock.py.
lock: $(STAMP)
	$(BIN)/python tools/lock.py

# The student-only repository: make student-repo DEST=../course-students (tools/student_repo.py).
student-repo: $(STAMP)
	@test -n "$(DEST)" || { echo "usage: make student-repo DEST=../course-students" >&2; exit 2; }
	$(BIN)/python tools/student_repo.py $(DEST)

# The course as a static website, built offline from the student notebooks (never executed): make site
# [SITE_OUT=dir]; open build/site/index.html. Fails on answer content or a remote asset in the result.
SITE_OUT ?= build/site
site: $(STAMP)
	@test -f tools/site_build.py || { echo "error: the website is built in the instructor repository (tools/site_build.py)" >&2; exit 2; }
	$(BIN)/python tools/site_build.py $(SITE_OUT)

benchmark: $(STAMP)
	$(BIN)/python benchmarks/threads.py

clean:
	rm -rf .pytest_cache gradebook.db autograded feedback .nbgrader.log grades.csv grades exchange
