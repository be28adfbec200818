"""nbgrader configuration for the course (read from the repository root).

solutions/<assignment>/<notebook>.ipynb   instructor version (nbgrader "source")
notebooks/<assignment>/<notebook>.ipynb   student version (nbgrader "release"), made by
                                          `make release`; never edited by hand
"""
import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearSolutions,
    ComputeChecksums,
    GetGrades,
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    SaveCells,
)

from course_instructor.grading.export import DropGraderNotes
from course_instructor.release import KeepDemoOutputs, PlatformCells

c = get_config()  # noqa: F821 -- provided by traitlets when this file is loaded

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.course_id = "deep-learning-course"
# nbgrader's exchange (release/collect through a shared folder) is not used: submissions come from an LMS
# export or a folder (course-grade). A folder of the course keeps the formgrader from warning that the
# default /srv/nbgrader/exchange is missing; `make formgrade` creates it.
c.Exchange.root = os.path.join(c.CourseDirectory.root, "exchange")
# Never copied from autograded/ into a student's feedback: course-grade's own files (its cache, the
# record of what was graded by hand) besides nbgrader's defaults.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".course-grade*"]
# The formgrader's "Manage Assignments" page would print this configuration, and cannot (the preprocessors
# below are classes): it logs a warning on every visit instead.
c.FormgradeExtension.debug = False

# nbgrader's default pipeline with ClearOutput replaced by KeepDemoOutputs, so the student
# release keeps the lesson's figures, and PlatformCells adding the cells every student notebook
# shares (badges, how to run, Colab setup) from one template (see instructor/course_instructor/release.py).
c.GenerateAssignment.preprocessors = [
    PlatformCells,
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    ClearSolutions,
    KeepDemoOutputs,
    CheckCellMetadata,
    ComputeChecksums,
    SaveCells,
    ClearHiddenTests,
    ClearMarkScheme,
    ComputeChecksums,
    CheckCellMetadata,
]

# Feedback: nbgrader's default pipeline, after dropping the model answer and mark scheme that course-grade
# puts next to each hand-graded answer for the grader (instructor/course_instructor/grading/export.py).
c.GenerateFeedback.preprocessors = [DropGraderNotes, GetGrades, CSSHTMLHeaderPreprocessor]
# Late submissions: nbgrader's penalty ("none", or "zero": a late submission scores 0) from the due date
# (`nbgrader db assignment add <assignment> --duedate=...`) and each submission's timestamp
# (course-grade: timestamp.txt, else the submitted file's time). course-grade feedback/export apply it.
c.LateSubmissionPlugin.penalty_method = "none"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Per-cell limit while validating/autograding (heavy demos shrink under NBGRADER_EXECUTION).
c.Execute.timeout = 120
# nbclient (inside nbgrader) sometimes sleeps through a kernel reply after a cell that used an
# ipywidgets Output (every course app does) and only wakes at the cell timeout: 120 s lost per
# stall. This client polls in short slices instead (instructor/course_instructor/kernel_client.py has the details).
c.AsyncKernelManager.client_class = "course_instructor.kernel_client.SlicedPollKernelClient"
