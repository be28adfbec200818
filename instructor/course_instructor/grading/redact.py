"""Keep hidden-test code out of everything a student sees, by content.

Hiding the hidden tests' *cells* is not enough: an answer can print the running cell (``In[-1]``,
``_ih``), the source of its caller's frame, or raise an exception whose message carries the test
source, and all of that lands in outputs, error messages and notes. :class:`Redactor` knows the
hidden tests' lines and removes every line of text that carries one, before anything is written
to ``autograded/``, the feedback or the grades CSV.

Matching is on a normal form of the text, so re-encodings a student gets for free are seen through:
text is compared on its letters, digits and underscores only (whitespace, quotes, reflowed or
re-indented lines, ``repr`` brackets and commas do not matter), after decoding backslash escapes
(``\\n``, ``\\'``, ``\\xe9``, ``\\u00e9``, any number of backslashes: ``repr``, JSON, a repr of a
repr), HTML character references (``&lt;``, ``&#39;``, ``&amp;quot;``) and terminal colour codes
(tracebacks). A hidden line found anywhere in that normal form, even spread over several lines of
the text, removes all the lines it spans. Lines the student can see anyway (they also appear in
the release) and very short ones are not secrets and are left alone. What an answer re-encodes
on purpose (base64, reversed, one character per line with noise between) is not recognised.
"""
from __future__ import annotations

import copy
import html
import re

MARK = "[grader: a line of hidden test code was removed here]"
MIN_CHARS = 10  # shorter hidden lines ("x = 1") give nothing away
# One token of encoded text: a colour code (raw or escaped), an escape sequence with any number of
# backslashes, an HTML character reference (also double-escaped), or one character.
_TOKEN = re.compile(
    r"\x1b\[[0-9;]*[A-Za-z]"
    r"|\\+(?:x1b|u001b|033|e)\[[0-9;]*[A-Za-z]"
    r"|\\+(?:u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|N\{[^}]{1,60}\}|[0-7]{1,3}|.)"
    r"|&(?:amp;)*(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
    r"|.", re.S)
_ESCAPES = {"n": "\n", "r": "\n", "t": "\t", "f": "\n", "v": "\n", "a": "", "b": "", "0": ""}


def _decode(token: str) -> str:
    """What one token stands for (only its word characters matter)."""
    if len(token) == 1:
        return token
    if token[0] == "\x1b":
        return ""
    if token[0] == "&":
        return html.unescape("&" + token.rsplit("&amp;", 1)[-1].lstrip("&"))
    body = token.lstrip("\\")
    try:
        if body[0] in "xuU" and len(body) > 1:
            return chr(int(body[1:], 16))
        if body[0].isdigit():
            return chr(int(body, 8))
        if body[0] == "N" and len(body) > 1:
            import unicodedata

            return unicodedata.lookup(body[2:-1])
    except (ValueError, KeyError, OverflowError):
        return ""
    if "[" in body:  # an escaped colour code
        return ""
    return _ESCAPES.get(body, body)


def normal(text: str) -> tuple[str, list[int]]:
    """``text``'s normal form (word characters of the decoded text) and, for each of its
    characters, where in ``text`` the token it came from starts."""
    chars, where = [], []
    for m in _TOKEN.finditer(text):
        for ch in _decode(m.group()):
            if ch.isalnum() or ch == "_":
                chars.append(ch)
                where.append(m.start())
    return "".join(chars), where


def _key(text: str) -> str:
    return normal(text)[0]


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
        """``text`` with every line that carries (part of the span of) a hidden test line replaced by :data:`MARK`."""
        if not self.keys or not text:
            return text
        key, where = normal(text)
        if len(key) < len(self.keys[0]):
            return text
        spans = []
        for k in self.keys:
            i = key.find(k)
            while i >= 0:
                spans.append((where[i], where[i + len(k) - 1]))
                i = key.find(k, i + 1)
        if not spans:
            return text
        starts = [0]
        starts += [m.end() for m in re.finditer("\n", text)]
        lines = text.split("\n")
        gone = set()
        import bisect

        for a, b in spans:
            gone.update(range(bisect.bisect_right(starts, a) - 1, bisect.bisect_right(starts, b)))
        out, previous = [], False
        for i, line in enumerate(lines):
            if i in gone:
                if not previous:
                    out.append(MARK)
                previous = True
            else:
                out.append(line)
                previous = False
        return "\n".join(out)
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
