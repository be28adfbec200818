"""Designed wrong (and differently-right) answers for 01_activations (format: tests/roundtrip_cases.py).

Each case replaces one answer cell of the reference solution; the listed test cells must lose their
points and every other cell must keep them. An empty list is a correct answer written differently,
which must get full marks.
"""

SIGMOID = "sigmoid_answer"
GRADS = "activation_grads_answer"

_REFERENCE_GRADS = '''
def sigmoid_grad(x):
    e = torch.exp(-x.abs())
    return e / (1.0 + e) ** 2


def tanh_grad(x):
    return 1.0 - torch.tanh(x) ** 2


def leaky_relu_grad(x, alpha=0.1):
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, alpha))
'''

_REFERENCE_EX1 = '''
def sigmoid(x):
    e = torch.exp(-x.abs())
    return torch.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_sigmoid(x):
    return torch.clamp(x, max=0.0) - torch.log1p(torch.exp(-x.abs()))
'''


def _replace(src, replace):
    """``src`` with the named functions replaced by the given sources."""
    for name, body in replace.items():
        start = src.index(f"def {name}(")
        end = src.find("\n\n\ndef ", start)
        end = len(src) if end < 0 else end
        src = src[:start] + body.strip("\n") + src[end:]
    return src


def _ex1(**replace):
    """The reference sigmoid and log-sigmoid with some functions replaced."""
    return _replace(_REFERENCE_EX1, replace)


def _grads(**replace):
    """The reference derivatives with some functions replaced by the given sources."""
    return _replace(_REFERENCE_GRADS, replace)


CASES = [
    # ---- Exercise 1: sigmoid and log-sigmoid ------------------------------------------------------
    # the textbook form exp(x) / (1 + exp(x)): inf / inf = nan for large x
    (SIGMOID, _ex1(sigmoid="def sigmoid(x):\n    return torch.exp(x) / (1 + torch.exp(x))\n"), ["sigmoid_tests"]),
    # calls the built-in the exercise asks to write
    (SIGMOID, _ex1(sigmoid="def sigmoid(x):\n    return torch.sigmoid(x)\n"), ["sigmoid_tests"]),
    # log of the sigmoid: sigmoid(x) rounds to 0 for x < -103 (float32) and log(0) = -inf
    (SIGMOID, _ex1(log_sigmoid="def log_sigmoid(x):\n    return torch.log(sigmoid(x))\n"), ["sigmoid_tests"]),
    # -log(1 + exp(-x)) written directly: exp(-x) overflows to inf for x < -88.7 (float32)
    (SIGMOID, _ex1(log_sigmoid="def log_sigmoid(x):\n    return -torch.log1p(torch.exp(-x))\n"), ["sigmoid_tests"]),
    # sign slip: softplus(x) = log(1 + exp(x)) instead of log sigmoid(x)
    (SIGMOID, _ex1(log_sigmoid="def log_sigmoid(x):\n"
                               "    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))\n"),
     ["sigmoid_tests"]),
    # calls F.logsigmoid, which the exercise asks to write
    (SIGMOID, _ex1(log_sigmoid="def log_sigmoid(x):\n    return F.logsigmoid(x)\n"), ["sigmoid_tests"]),
    # correct, written differently: the tanh identity and 1 / (1 + exp(-x)) (safe in IEEE arithmetic) for the
    # sigmoid; logaddexp and a two-branch log1p for the log-sigmoid
    (SIGMOID, _ex1(sigmoid="def sigmoid(x):\n    return 0.5 * (1 + torch.tanh(0.5 * x))\n",
                   log_sigmoid="def log_sigmoid(x):\n    return -torch.logaddexp(torch.zeros_like(x), -x)\n"), []),
    (SIGMOID, _ex1(sigmoid="def sigmoid(x):\n    return 1 / (1 + torch.exp(-x))\n",
                   log_sigmoid="def log_sigmoid(x):\n    neg = torch.clamp(x, max=0.0)\n"
                               "    return torch.where(x < 0, x - torch.log1p(torch.exp(neg)),\n"
                               "                       -torch.log1p(torch.exp(-torch.clamp(x, min=0.0))))\n"), []),
    # ---- Exercise 2: derivatives ----------------------------------------------------------------
    # the overflowing derivative exp(-x) / (1 + exp(-x))^2: inf / inf = nan for large negative x
    (GRADS, _grads(sigmoid_grad="def sigmoid_grad(x):\n    e = torch.exp(-x)\n    return e / (1 + e) ** 2\n"),
     ["activation_grads_tests"]),
    # returns the activation instead of its derivative
    (GRADS, _grads(sigmoid_grad="def sigmoid_grad(x):\n    return torch.sigmoid(x)\n"), ["activation_grads_tests"]),
    # tanh derivative without the square
    (GRADS, _grads(tanh_grad="def tanh_grad(x):\n    return 1 - torch.tanh(x)\n"), ["activation_grads_tests"]),
    # ReLU's derivative instead of leaky ReLU's
    (GRADS, _grads(leaky_relu_grad="def leaky_relu_grad(x, alpha=0.1):\n    return (x > 0).to(x.dtype)\n"),
     ["activation_grads_tests"]),
    # correct, written differently: via torch.sigmoid, and leaky grad by arithmetic
    (GRADS, _grads(sigmoid_grad="def sigmoid_grad(x):\n    s = torch.sigmoid(x)\n    return s * (1 - s)\n",
                   leaky_relu_grad="def leaky_relu_grad(x, alpha=0.1):\n"
                                   "    pos = (x > 0).to(x.dtype)\n    return pos + alpha * (1 - pos)\n"), []),
    # ---- Exercise 3: path product ----------------------------------------------------------------
    # adds the factors instead of multiplying them
    ("path_gradient_answer", "def path_gradient(weights, preacts, grad_fn):\n"
                             "    return torch.sum(weights * grad_fn(preacts))\n", ["path_gradient_tests"]),
    # forgets the weights: only the activation derivatives
    ("path_gradient_answer", "def path_gradient(weights, preacts, grad_fn):\n"
                             "    return torch.prod(grad_fn(preacts))\n", ["path_gradient_tests"]),
    # correct, written differently: a Python loop returning a float
    ("path_gradient_answer", "def path_gradient(weights, preacts, grad_fn):\n    total = 1.0\n"
                             "    for w, z in zip(weights, preacts):\n        total *= float(w) * float(grad_fn(z))\n"
                             "    return total\n", []),
    # ---- Exercise 4: dead units -------------------------------------------------------------------
    # fraction of entries <= 0 instead of fraction of units dead on the whole batch
    ("dead_fraction_answer", "def dead_fraction(preacts):\n    return (preacts <= 0).float().mean().item()\n",
     ["dead_fraction_tests"]),
    # per example instead of per unit (wrong axis)
    ("dead_fraction_answer", "def dead_fraction(preacts):\n    return (preacts <= 0).all(dim=1).float().mean().item()\n",
     ["dead_fraction_tests"]),
    # strict < 0: a unit whose pre-activation is exactly 0 (derivative 0) is not counted
    ("dead_fraction_answer", "def dead_fraction(preacts):\n    return (preacts < 0).all(dim=0).float().mean().item()\n",
     ["dead_fraction_tests"]),
    # ---- Exercise 5: residual block ---------------------------------------------------------------
    # forgets the skip connection
    ("residual_forward_answer", "def residual_forward(x, linear, act):\n"
                                "    if linear.in_features != linear.out_features:\n        raise ValueError('widths')\n"
                                "    return act(linear(x))\n", ["residual_forward_tests"]),
    # activation after the addition: act(x + F)
    ("residual_forward_answer", "def residual_forward(x, linear, act):\n"
                                "    if linear.in_features != linear.out_features:\n        raise ValueError('widths')\n"
                                "    return act(x + linear(x))\n", ["residual_forward_tests"]),
    # detaches the identity path: right values, but no gradient through the skip
    ("residual_forward_answer", "def residual_forward(x, linear, act):\n"
                                "    if linear.in_features != linear.out_features:\n        raise ValueError('widths')\n"
                                "    return x.detach() + act(linear(x))\n", ["residual_forward_tests"]),
]
