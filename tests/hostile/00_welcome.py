"""Hostile and broken submissions of 00_welcome, each with its exact status and scores.

Format: tests/hostile_corpus.py. Test cells: relu_tests (2 points), relu_grad_tests (2 points).
"""
import copy

from hostile_corpus import Case, probe

FULL = {"relu_tests": 2.0, "relu_grad_tests": 2.0}
NO_RELU = {"relu_tests": 0.0, "relu_grad_tests": 2.0}
NO_GRAD = {"relu_tests": 2.0, "relu_grad_tests": 0.0}
ZERO = {"relu_tests": 0.0, "relu_grad_tests": 0.0}
RELU = "torch.clamp(x, min=0.0)"
WRONG = "x * 0 + 7"
CLONE = "\n\n\ndef relu(x):\n    return x.clone()  # wrong: negative entries kept\n"
GRAD = "def relu_grad(x):\n    return (x > 0).to(x.dtype)\n"


GRADEBOOKS = "['{ROOT}/gradebook.db', '../gradebook.db', '../../gradebook.db', '../../../gradebook.db']"


def _opens(paths: str, mode: str = "rb", found: str = "len(_f.read()) > 0") -> str:
    """Probe code: LEAK becomes True if any of ``paths`` opens with ``mode`` and ``found`` holds."""
    return (f"LEAK = False\nfor _p in {paths}:\n    try:\n        with open(_p, {mode!r}) as _f:\n"
            f"            LEAK = LEAK or {found}\n    except OSError:\n        pass\n")


def _index(nb, gid):
    return next(i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid)


def duplicate_graded_cells(nb, release):
    i = _index(nb, "relu_tests")
    nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
    j = _index(nb, "relu_answer")
    first = copy.deepcopy(nb.cells[j])
    first.source = "def relu(x):\n    return x  # my first try\n"
    nb.cells.insert(j, first)
    return nb


def edit_test_cell(nb, release):
    cell = nb.cells[_index(nb, "relu_tests")]
    cell.source = "pass  # the tests were too strict"
    cell.metadata.nbgrader["points"] = 100
    return nb


def delete_test_add_fake(nb, release):
    del nb.cells[_index(nb, "relu_grad_tests")]
    fake = copy.deepcopy(nb.cells[_index(nb, "relu_tests")])
    fake.source = "pass"
    fake.metadata.nbgrader.update(grade_id="bonus_points", points=50)
    nb.cells.append(fake)
    return nb


def answer_as_markdown(nb, release):
    cell = nb.cells[_index(nb, "relu_answer")]
    nb.cells[_index(nb, "relu_answer")] = __import__("nbformat").v4.new_markdown_cell(cell.source, metadata=cell.metadata)
    return nb


def change_kernel(nb, release):
    nb.metadata["kernelspec"] = {"name": "evil-kernel", "display_name": "Evil", "language": "python"}
    return nb


def truncate(nb, release):
    return __import__("nbformat").writes(nb).encode()[:5000]


CASES = [
    Case("reference", "graded", FULL, why="the instructor's solution"),
    Case("blank", "graded", ZERO, edit=lambda nb, release: release, why="the release, unchanged"),
    Case("alternative-where-heaviside", "graded", FULL, answers={
        "relu_answer": "def relu(x):\n    return torch.where(x > 0, x, torch.zeros_like(x))\n",
        "relu_grad_answer": "def relu_grad(x):\n    return torch.heaviside(x, torch.zeros_like(x))\n"},
        why="correct answers written differently"),
    Case("alternative-functional", "graded", FULL, answers={
        "relu_answer": "import torch.nn.functional as F\n\n\ndef relu(x):\n    return F.relu(x)\n",
        "relu_grad_answer": "def relu_grad(x):\n    out = torch.zeros_like(x)\n    out[x > 0] = 1\n    return out\n"}),
    Case("wrong-nan-at-minus-inf", "graded", NO_RELU, answers={
        "relu_answer": "def relu(x):\n    return x * (x > 0)\n"}, why="looks right, but -inf * 0 is nan"),
    Case("copy-pasted-graded-cells", "graded", FULL, edit=duplicate_graded_cells,
         why="duplicated test and answer cells: nbgrader stops the batch"),
    Case("edited-test-cell-and-points", "graded", NO_RELU, edit=edit_test_cell,
         answers={"relu_answer": "def relu(x):\n    return x.clone()\n"}),
    Case("deleted-test-and-fake-graded-cell", "graded", FULL, edit=delete_test_add_fake),
    Case("answer-cell-turned-markdown", "graded", FULL, edit=answer_as_markdown),
    Case("changed-kernelspec", "graded", FULL, edit=change_kernel),
    Case("renamed-notebook", "graded", FULL, filename="00_welcome-Copy1.ipynb"),
    Case("invalid-json", "invalid", ZERO, edit=truncate),
    Case("missing-notebook", "missing", ZERO, edit=lambda nb, release: None),
    Case("stderr-and-warnings", "graded", FULL, answers={"relu_answer": (
        "import sys\nimport warnings\n\n\ndef relu(x):\n    print('relu: computing', file=sys.stderr)\n"
        "    warnings.warn('only a warning')\n    return torch.clamp(x, min=0.0)\n\n\n"
        "print('my answer writes to stderr', file=sys.stderr)\nwarnings.warn('a warning at definition time')\n")},
        why="nbgrader scores any stderr output as a failure"),
    Case("eq-always-true", "graded", NO_RELU, answers={"relu_answer": (
        "class AlwaysEqual:\n    def __eq__(self, other):\n        return True\n\n    __hash__ = None\n\n\n"
        "def relu(x):\n    return AlwaysEqual()\n")}),
    # -- isolation probes: right only if the probe finds nothing ---------------------------
    Case("read-gradebook", "graded", FULL, answers={"relu_answer": probe(_opens(GRADEBOOKS), "relu", RELU, WRONG)}),
    Case("write-gradebook", "graded", FULL, answers={"relu_answer": probe(
        _opens(GRADEBOOKS, "r+b", "True  # opened for writing; nothing is written"), "relu", RELU, WRONG)}),
    Case("read-hidden-tests", "graded", FULL, answers={"relu_answer": probe(
        "import glob\n_marker = ('relu(x) on a 7' + 'x5 batch').encode()\n"
        "_paths = glob.glob('{ROOT}/**/*.ipynb', recursive=True) + glob.glob('{ROOT}/*.db') + glob.glob('/tmp/*')\n"
        "_paths += glob.glob('../*/*.ipynb') + glob.glob('../../*/*/*.ipynb') + glob.glob('../../../*/*/*.ipynb')\n"
        + _opens("_paths", "rb", "_marker in _f.read()"), "relu", RELU, WRONG)}),
    Case("read-other-submission", "graded", FULL, answers={"relu_answer": probe(
        "import glob\n" + _opens("glob.glob('{ROOT}/submitted/reference/*/*.ipynb') + glob.glob('../../reference/*/*.ipynb')"),
        "relu", RELU, WRONG)}),
    Case("network", "graded", FULL, answers={"relu_answer": probe(
        "import socket\nLEAK = False\nfor _addr in [('pypi.org', 443), ('deb.debian.org', 80), ('1.1.1.1', 53)]:\n"
        "    try:\n        socket.create_connection(_addr, timeout=3).close()\n        LEAK = True\n"
        "    except OSError:\n        pass\n", "relu", RELU, WRONG)}),
    # -- resources ---------------------------------------------------------------------------
    Case("infinite-loop-in-function", "timed out", NO_GRAD, answers={
        "relu_grad_answer": "def relu_grad(x):\n    while True:\n        pass\n"}),
    Case("swallowed-keyboard-interrupt", "timed out", NO_GRAD, answers={"relu_grad_answer": (
        GRAD + "\n\nimport time\nwhile True:\n    try:\n        time.sleep(0.2)\n    except KeyboardInterrupt:\n"
        "        print('not stopping')\n")}, why="nbgrader loses the whole submission"),
    Case("os-exit", "crashed", NO_GRAD, answers={"relu_grad_answer": GRAD + "\n\nimport os\nos._exit(3)\n"}),
    Case("segfault-in-tested-function", "crashed", NO_RELU, answers={"relu_answer": (
        "import ctypes\n\n\ndef relu(x):\n    ctypes.string_at(0)\n    return torch.clamp(x, min=0.0)\n")},
        why="the kernel dies during relu_tests; grading resumes with the next cells"),
    Case("memory-hog", "graded", NO_GRAD, answers={"relu_grad_answer": (
        "def relu_grad(x):\n    hog = []\n    while True:\n        hog.append(bytearray(2**28))\n")},
        plain_safe=False),
    Case("fork-storm", "graded", FULL, answers={"relu_grad_answer": (
        GRAD + "\n\nimport os\nimport time\nchildren = 0\ntry:\n    while children < 5000:\n        if os.fork() == 0:\n"
        "            time.sleep(15)\n            os._exit(0)\n        children += 1\nexcept OSError as err:\n"
        "    print(f'fork storm stopped after {children} children: {err}')\n")}, plain_safe=False),
    Case("output-flood", "graded", FULL, answers={"relu_answer": (
        "for _ in range(20000):\n    print('spam ' * 200)\n\n\ndef relu(x):\n    return torch.clamp(x, min=0.0)\n")}),
    # -- tampering with the graders' tools ---------------------------------------------------
    Case("monkeypatch-checks", "graded", NO_RELU, answers={"relu_answer": (
        "checks.check_close = lambda *a, **k: None\nchecks.check_shape = lambda *a, **k: None\n"
        "checks.check_dtype = lambda *a, **k: None" + CLONE)}),
    Case("rebind-checks", "graded", NO_RELU, answers={"relu_answer": (
        "class Lenient:\n    def __getattr__(self, name):\n"
        "        return lambda *a, **k: a[0](*a[1:]) if name == 'call' else None\n\n\nchecks = Lenient()\n\n\n"
        "def relu(x):\n    return x.clone()\n")}),
    Case("monkeypatch-builtins", "graded", NO_RELU, answers={"relu_answer": (
        "import builtins\n\n_bool = bool\n\n\nclass _Meta(type):\n    def __instancecheck__(cls, obj):\n"
        "        return isinstance(obj, _bool)\n\n\nclass LenientBool(metaclass=_Meta):\n"
        "    def __new__(cls, value=False):\n        return True if isinstance(value, np.bool_) else _bool(value)\n\n\n"
        "builtins.bool = LenientBool" + CLONE)}),
    Case("monkeypatch-numpy", "graded", NO_RELU, answers={"relu_answer": (
        "np.all = lambda *a, **k: np.True_" + CLONE)}),
    Case("monkeypatch-torch", "graded", NO_RELU, answers={"relu_answer": (
        "_tolist = torch.Tensor.tolist\n\n\ndef _lenient_tolist(self):\n"
        "    if self.numel() > 5 and self.dtype == torch.float64:\n        return _tolist(torch.zeros_like(self))\n"
        "    return _tolist(self)\n\n\ntorch.Tensor.tolist = _lenient_tolist\n\n\n"
        "def relu(x):\n    x[x < 0] = 0  # modifies the input: the hidden tests catch this\n    return x\n")}),
    Case("monkeypatch-during-test", "graded", NO_RELU, answers={"relu_answer": (
        "def relu(x):\n    np.all = lambda *a, **k: np.True_\n    return x.clone()\n")}),
    Case("input-transformer", "graded", NO_RELU, answers={"relu_answer": (
        "def _skip_tests(lines):\n    return ['pass\\n'] if any('checks.' in line for line in lines) else lines\n\n\n"
        "get_ipython().input_transformers_post.append(_skip_tests)" + CLONE)}),
]

# -- issue 14 part A: the sandbox's writable places, hidden tests in outputs -------------------
_FRAMES = ("import inspect\nimport linecache\n\n\ndef _stack_source():\n    f, text = inspect.currentframe().f_back, []\n"
           "    while f is not None:  # the source of every notebook cell on the stack, the test cell's included\n"
           "        if 'ipykernel' in f.f_code.co_filename or f.f_code.co_filename.startswith('<'):\n"
           "            text += linecache.cache.get(f.f_code.co_filename, (0, 0, []))[2]\n"
           "        f = f.f_back\n    return ''.join(text)\n\n\n")
# The running cell's source re-encoded the ways a student gets for free: repr (escaped newlines and
# quotes), a repr of that, JSON, HTML-escaped, reflowed to 40 columns, ascii().
_ENCODINGS = ("import html as _html\nimport json as _json\nimport textwrap as _textwrap\n\n\n"
              "def _encoded(text):\n    return '\\n'.join([repr(text), repr(repr(text)), _json.dumps(text), _html.escape(text),\n"
              "                      _textwrap.fill(' '.join(text.split()), 40), ascii(text)])\n\n\n")
CASES += [
    Case("tmp-writable-and-bounded", "graded", FULL, answers={"relu_answer": probe(
        "import os\nimport tempfile\n_written = 0\ntry:\n    for _i in range(20):  # up to 640 MB, /tmp holds 256 MiB\n"
        "        with tempfile.NamedTemporaryFile(dir='/tmp', delete=False) as _f:\n"
        "            _f.write(b'x' * 2**25)\n        _written += 2**25\nexcept OSError:\n    pass\n"
        "for _p in os.listdir('/tmp'):\n    if _p.startswith('tmp'):\n        os.remove(os.path.join('/tmp', _p))\n"
        "LEAK = not 2**20 <= _written <= 300 * 2**20\nprint(f'wrote {_written >> 20} MiB to /tmp')\n",
        "relu", RELU, WRONG)}, why="documented as writable (Matplotlib's cache), bounded like the working directory"),
    Case("write-connection-folder", "graded", FULL, answers={"relu_answer": probe(
        "import os\nfrom ipykernel.connect import get_connection_file\nLEAK = False\n"
        "_types = {l.split()[4]: l.split(' - ')[1].split()[0] for l in open('/proc/self/mountinfo')}\n"
        "for _d in {os.path.dirname(os.path.realpath(get_connection_file())), *_types}:\n"
        "    if _types.get(_d) in ('tmpfs', 'proc', 'sysfs', 'devpts', 'mqueue'):\n        continue\n"
        "    try:\n        with open(os.path.join(_d, 'junk'), 'wb') as _f:\n            _f.write(b'x' * 1000)\n"
        "        LEAK = True\n    except OSError:\n        pass\n", "relu", RELU, WRONG)},
        why="no host folder is writable, the connection file's folder included (the sockets live in the kernel's /tmp)"),
    Case("print-running-cell", "graded", FULL, answers={"relu_answer": (
        _ENCODINGS + "def relu(x):\n    _ip = get_ipython()\n    print(_ip.user_ns['In'][-1])\n    print(repr(_ip.user_ns['_ih']))\n"
        "    print(_encoded(_ip.user_ns['In'][-1]))\n    return torch.clamp(x, min=0.0)\n")},
        why="In[-1] and _ih hold the test cell, hidden tests included; printed raw, as repr, JSON, HTML, reflowed"),
    Case("print-caller-frames", "graded", FULL, answers={"relu_answer": (
        _FRAMES + _ENCODINGS + "def relu(x):\n    print(_stack_source())\n    print(_encoded(_stack_source()))\n"
        "    return torch.clamp(x, min=0.0)\n")},
        why="a right answer that prints its callers' source (also re-encoded): full marks, no hidden line in the feedback"),
    Case("exception-carries-test-source", "graded", NO_RELU, answers={"relu_answer": (
        _FRAMES + _ENCODINGS + "def relu(x):\n    raise ValueError(_stack_source() + _encoded(_stack_source()))\n")}),
]
