"""Keep hidden-test code out of everything a student sees, by content.

Hiding the hidden tests' *cells* is not enough: an answer can print the running cell (``In[-1]``,
``_ih``), the source of its caller's frame, or raise an exception whose message carries the test
source, and all of that lands in outputs, error messages and notes. :class:`Redactor` knows the
hidden tests' lines and replaces any line of text that contains one -- verbatim, escaped or
quoted (lines are compared on their letters, digits and underscores only) -- before anything is
written to ``autograded/``, the feedback or the grades CSV. Lines the student can see anyway
(they also appear in the release) and very short ones are not secrets and are left alone.
What an answer re-encodes on purpose (base64, reversed) is not recognised.
"""
from __future__ import annotations

import copy
import re

MARK = "[grader: a line of hidden test code was removed here]"
MIN_CHARS = 10  # shorter hidden lines ("x = 1") give nothing away
_NON_WORD = re.compile(r"\W+")


def _key(text: str) -> str:
    return _NON_WORD.sub("", text)


def _sources(nb) -> list[str]:
    return [c.source if isinstance(c.source, str) else "".join(c.source) for c in nb.cells]


def hidden_lines(nb) -> list[str]:
    """The lines nbgrader's ClearHiddenTests removes from ``nb`` (the delimiters included)."""
    from nbgrader.preprocessors import ClearHiddenTests

    clear, lines = ClearHiddenTests(enforce_metadata=False), []
    for i, cell in enumerate(copy.deepcopy(nb).cells):
        before = cell.source.split("\n")
        kept = set(clear.preprocess_cell(cell, {}, i)[0].source.split("\n"))
        lines += [line for line in before if line not in kept]
    return lines


class Redactor:
    """Removes the hidden tests of ``source_nb`` from text (``release_nb``: what students see)."""

    def __init__(self, source_nb, release_nb=None, min_chars: int = MIN_CHARS):
        visible = _key("\n".join(_sources(release_nb))) if release_nb is not None else ""
        keys = {_key(line) for line in hidden_lines(source_nb)}
        self.keys = sorted((k for k in keys if len(k) >= min_chars and k not in visible), key=len)

    def text(self, text: str) -> str:
        """``text`` with every line that carries a hidden test line replaced by :data:`MARK`."""
        if not self.keys or not text:
            return text
        lines = text.split("\n")
        for i, line in enumerate(lines):
            key = _key(line)
            if len(key) >= len(self.keys[0]) and any(k in key for k in self.keys):
                lines[i] = MARK
        return "\n".join(lines)

    def notebook(self, nb) -> None:
        """Redact every output of every cell of ``nb`` in place (streams, results, errors)."""
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                if "text" in out:
                    out["text"] = self._any(out["text"])
                for field in ("ename", "evalue"):
                    if field in out:
                        out[field] = self.text(str(out[field]))
                if "traceback" in out:
                    out["traceback"] = [self.text(t) for t in out["traceback"]]
                for mime, value in out.get("data", {}).items():
                    if not mime.startswith("image/"):
                        out["data"][mime] = self._any(value)

    def _any(self, value):
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._any(v) for v in value]
        if isinstance(value, dict):
            return {k: self._any(v) for k, v in value.items()}
        return value
