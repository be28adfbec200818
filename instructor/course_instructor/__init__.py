"""The instructor's tools for the course, kept out of the package students install (course_utils).

- :mod:`course_instructor.release` -- nbgrader release of ``solutions/`` into ``notebooks/``
- :mod:`course_instructor.grading` -- ``course-grade``: sandboxed, repaired, parallel autograding on nbgrader
- :mod:`course_instructor.platforms` -- Colab/Binder links, badges and setup cell from one setting
- :mod:`course_instructor.kernel_client` -- a kernel client that never sleeps through a reply (nbclient, nbgrader)

Installed with the course package's ``instructor`` extra (``make setup`` in the instructor repository).
"""
