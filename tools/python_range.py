"""The Python versions the course supports, read from ``requires-python`` in pyproject.toml (the one definition).

    python tools/python_range.py            # exit 0 on a supported Python, else one line on stderr and exit 1
    python tools/python_range.py versions   # the supported minor versions, e.g. "3.10 3.11 3.12 3.13"
    python tools/python_range.py oldest     # the oldest one, e.g. "3.10" (the lock is resolved from it upwards)

``make setup`` runs it with the interpreter it is about to use, so it only uses the standard library and syntax
that every Python 3 (and Python 2) parses: an unsupported interpreter must get the one line, not a traceback.
"""
import os
import re
import sys

PYPROJECT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyproject.toml")


def supported():
    """[(3, 10), (3, 11), ...] from ``requires-python = ">=3.A,<3.B"``."""
    with open(PYPROJECT) as f:
        text = f.read()
    match = re.search(r'^requires-python\s*=\s*"\s*>=\s*3\.(\d+)\s*,\s*<\s*3\.(\d+)\s*"', text, re.M)
    if not match:
        raise SystemExit("error: pyproject.toml must say requires-python = \">=3.A,<3.B\"")
    low, high = int(match.group(1)), int(match.group(2))
    return [(3, minor) for minor in range(low, high)]


def names(versions):
    return ["%d.%d" % v for v in versions]


def main(argv):
    versions = supported()
    if argv[1:] == ["versions"]:
        print(" ".join(names(versions)))
        return 0
    if argv[1:] == ["oldest"]:
        print(names(versions)[0])
        return 0
    if argv[1:]:
        sys.stderr.write(__doc__)
        return 2
    if tuple(sys.version_info[:2]) not in versions:
        listed = names(versions)
        sys.stderr.write("error: Python %s (%s) is not supported; the course works with Python %s or %s "
                         "(run make with PYTHON=python3.X)\n"
                         % (sys.version.split()[0], sys.executable, ", ".join(listed[:-1]), listed[-1]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
