"""Shared helpers for the deep-learning course notebooks.

One module per concept:

- :mod:`course_utils.reproducibility` -- seeding, thread policy, device choice, fast mode
- :mod:`course_utils.data` -- offline data sets as tensors and seeded splits
- :mod:`course_utils.plots` -- the course's colour-blind-safe style and shared figures
- :mod:`course_utils.widgets` -- the one pattern every interactive app follows
- :mod:`course_utils.nets` -- deep MLPs (activation, skips, norm, dropout) and per-layer statistics
- :mod:`course_utils.training` -- a short training loop that records losses and gradient norms
- :mod:`course_utils.checks` -- checks that exercise tests call, with student-facing messages
- :mod:`course_utils.release` -- instructor tooling: nbgrader release of ``solutions/``
"""

__version__ = "0.1.0"
