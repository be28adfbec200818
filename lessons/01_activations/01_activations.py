# ---
# jupyter:
#   course:
#     budget_s: 60
#     gpu: false
#     minutes: 90
#     title: 'Activations: saturation, vanishing gradients, dead ReLUs, skips'
#     topics: sigmoid, tanh, (leaky) ReLU and their derivatives, a stable sigmoid and
#       log-sigmoid, vanishing gradients in 15-layer nets, dead ReLUs, skip connections
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Activations: saturation, vanishing gradients, dead ReLUs and skip connections
#
# **Time:** about 90 minutes · **Level:** first lessons of the course · **Prerequisites:** notebook 00 (how
# exercises work, ReLU and its derivative), backpropagation as the chain rule, a little PyTorch.
#
# ## Learning objectives
# By the end of this notebook you can:
# 1. plot sigmoid, tanh, ReLU and leaky ReLU with their derivatives, and explain why $\sigma'(z) \le 0.25$
#    makes products of many such factors vanish;
# 2. implement these activations, the log-sigmoid and the derivatives **numerically stably** (no overflow, no
#    $\log 0$ at large $|z|$);
# 3. measure per-layer gradient norms in a deep network and tell *which* factor makes them vanish: the
#    activation's derivative or the weights;
# 4. make ReLU units die, measure the fraction of dead units correctly, and show leaky ReLU recovering;
# 5. show numerically why a skip connection keeps the gradient alive: $\partial L/\partial x =
#    (I + \partial\mathcal F/\partial x)^\top\, \partial L/\partial z$.

# %% [markdown]
# Everything runs on a laptop CPU in about a minute. While nbgrader grades your work the training demos
# shrink automatically (`pick(full=..., fast=...)`).

# %%
# %matplotlib inline
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils import checks
from course_utils.activations import dead_unit_fraction, hidden_preactivations, plot_activations, value_and_derivative
from course_utils.data import load_digits, train_val_test_split
from course_utils.nets import HiddenBlock, hidden_linears, layer_statistics, make_mlp
from course_utils.plots import plot_layer_norms, use_style
from course_utils.reproducibility import device, fast_mode, pick, quiet_warnings, seed_everything
from course_utils.training import fit

quiet_warnings()
use_style()
seed_everything(0)
DEVICE = device()

# The bundled handwritten digits (8x8 pixels in [0, 1], flattened to 64 features, 10 classes): no download.
X, y = load_digits(flatten=True)
split = train_val_test_split(X, y, fractions=(0.7, 0.15, 0.15), seed=0)
X_train, y_train = split.x_train.to(DEVICE), split.y_train.to(DEVICE)
X_val, y_val = split.x_val.to(DEVICE), split.y_val.to(DEVICE)
print(f"{len(X_train)} training and {len(X_val)} validation images of {X.shape[1]} pixels; fast mode: {fast_mode()}")

# %% [markdown]
# ## Recap: activations and the backward pass
# A hidden unit computes $z_j = \sum_i w_{j,i} h_i + b_j$ and outputs $h_j = g(z_j)$. The lecture's candidates
# (figure 10), with their derivatives:
#
# | activation | $g(z)$ | $g'(z)$ | largest $g'$ |
# |---|---|---|---|
# | sigmoid | $\sigma(z) = \dfrac{1}{1+e^{-z}}$ | $\sigma(z)\,(1-\sigma(z))$ | $0.25$ at $z=0$ |
# | tanh | $\tanh z$ | $1-\tanh^2 z$ | $1$ at $z=0$ |
# | ReLU | $\max(0, z)$ | $1$ if $z>0$, else $0$ | $1$ |
# | leaky ReLU | $\max(\alpha z, z)$, $0<\alpha<1$ | $1$ if $z>0$, else $\alpha$ | $1$ |
#
# (At $z=0$ ReLU and leaky ReLU have no derivative; PyTorch's autograd uses the left slope, $0$ and $\alpha$, and so
# do we.)
#
# Backpropagation (figure 11) computes, at a hidden unit,
# $$\delta_j = \frac{\partial L}{\partial z_j} = g'(z_j) \sum_k w_{k,j}\, \delta_k ,$$
# so the gradient reaching layer 1 of a deep network is a sum over paths, and **each path contributes a product**
# $\prod_\ell w_\ell\, g'(z_\ell)$ of one weight and one activation derivative per layer. If these factors are
# mostly below 1 the product shrinks exponentially with depth (*vanishing gradient*); above 1 it grows
# (*exploding gradient*).
#
# A **skip connection** computes $z = x + \mathcal F(x)$ with $\mathcal F(x) = g(h(x))$, $h(x) = Wx + b$. By the
# chain rule, for vectors,
# $$\frac{\partial L}{\partial x} = \Big(I + \frac{\partial \mathcal F}{\partial x}\Big)^{\!\top} \frac{\partial L}{\partial z}
#  = \frac{\partial L}{\partial z} + W^\top\big(g'(h(x)) \odot \tfrac{\partial L}{\partial z}\big).$$
# The lecture writes this as $\frac{dL}{dz}\,(g'(h(x))\,h'(x) + I)$: the same thing for a scalar, and for vectors it
# means the Jacobian product above. The identity term passes $\partial L/\partial z$ back **unscaled**.

# %% [markdown]
# ## Experiment 1 · The four activations and their derivatives (lecture figures 10, 12, 13, 14)
#
# ### 🔮 Predict first
# Sketch the derivative of each activation on $[-6, 6]$. Where is each one largest, and which ones are (almost) zero
# far from the origin?

# %%
ACTIVATIONS = {  # PyTorch's own functions: the demos never depend on your exercise answers
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "ReLU": torch.relu,
    "leaky ReLU (α=0.1)": lambda z: F.leaky_relu(z, 0.1),
}


ax_f, ax_d = plot_activations(ACTIVATIONS, z_max=6.0)
ax_d.axhline(0.25, color="gray", linestyle=":", label="0.25 = max of σ'")
ax_f.set_ylim(-1.5, 4)
ax_d.legend(loc="center right", fontsize=8)
plt.show()

# %% [markdown]
# **What to notice:** the sigmoid's derivative peaks at exactly 0.25 and is below 0.01 once $|z| > 4.6$; tanh's
# peaks at 1 but falls below 0.01 even sooner, for $|z| > 3$; ReLU's is exactly 1 for $z > 0$ and exactly 0 for $z < 0$; leaky ReLU's never
# drops below $\alpha$.

# %%
# NBVAL_CHECK_OUTPUT
z_check = torch.tensor([-10.0, -2.0, 0.0, 2.0, 10.0])
for name, fn in ACTIVATIONS.items():
    _, d_full = value_and_derivative(fn, torch.linspace(-6, 6, 601))
    _, d = value_and_derivative(fn, z_check)
    print(f"{name:19s} max g' = {float(d_full.max()):.3f}   g'(-10, -2, 0, 2, 10) = "
          + "  ".join(f"{v:.2g}" for v in d.tolist()))


# %% [markdown]
# ### Why a product of many $\sigma'$ vanishes
# Each sigmoid layer multiplies a path's gradient by $\sigma'(z_\ell) \le 0.25$, so through $L$ layers the
# derivatives alone contribute at most $0.25^L$: $0.25^{10} \approx 10^{-6}$. The lecture stops there; two
# corrections make the picture true:
#
# * The path product is $\prod_\ell w_\ell\, \sigma'(z_\ell)$: **the weights multiply too**. With $|w_\ell| > 4$ a factor
#   can exceed 1, so the bound on $\sigma'$ alone does not prove that gradients vanish. What happens in practice is
#   that large weights make $|z|$ large, which pushes $\sigma'$ far below 0.25 (saturation).
# * The real gradient is a **sum** over very many paths, with signs; its size depends on how the paths add up,
#   which is why Experiment 2 *measures* it.
#
# You will compute such a path product in Exercise 3. First the activations themselves.

# %% [markdown]
# ### Exercise 1 -- a numerically stable sigmoid and log-sigmoid (2 points)
# Implement two functions for a floating tensor `x` of any shape and dtype (`float32` or `float64`), **without**
# torch's own versions (`torch.sigmoid`, `torch.special.expit`, `F.sigmoid`, `x.sigmoid()`, `F.logsigmoid`,
# `F.softplus`: the test cell switches those off):
#
# * `sigmoid(x)` $= \sigma(x) = 1/(1+e^{-x})$, values in $[0, 1]$;
# * `log_sigmoid(x)` $= \log\sigma(x) = -\log(1+e^{-x})$, values $\le 0$ -- the quantity a binary cross-entropy loss
#   computes from a logit (`BCEWithLogitsLoss` exists because of it).
#
# Both return a new tensor of the same shape and dtype as `x` and leave `x` unchanged.
#
# The catch is floating point. `torch.exp(x)` is `inf` once $x > 88.7$ in `float32` ($x > 709.8$ in `float64`), and
# $\sigma(x)$ itself rounds to exactly 0 once $x < -103$ in `float32` ($x < -745$ in `float64`). For the sigmoid alone
# this is harmless: the textbook $1/(1+e^{-x})$ survives in IEEE arithmetic ($e^{-x}$ overflows to `inf` and
# $1/\infty = 0$ is the right limit), while the equivalent $e^{x}/(1+e^{x})$ gives `inf/inf = nan`. The log is where
# it bites: `log(sigmoid(x))` is $\log 0 = -\infty$ for $x = -1000$, where the true value is $-1000$, and
# $-\log(1+e^{-x})$ overflows inside the exponential for the same $x$. A safe recipe never exponentiates a positive
# number and never takes the log of something that can round to 0: with $e = e^{-|x|} \in (0, 1]$,
# $$\sigma(x) = \frac{1}{1+e}\ (x \ge 0), \quad \sigma(x) = \frac{e}{1+e}\ (x < 0), \qquad
# \log\sigma(x) = \min(x, 0) - \operatorname{log1p}(e).$$
# The hidden tests compare with PyTorch at $|x|$ up to $10^4$ in `float32` and `float64` (`sigmoid` also at
# $\pm\infty$; `log_sigmoid` gets finite inputs), to within $10^{-6}$ (`float32`) or $10^{-12}$ (`float64`), absolute
# or relative, whichever is larger.

# %% nbgrader={"grade": false, "grade_id": "sigmoid_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid(x):
    """Logistic sigmoid 1 / (1 + exp(-x)), element-wise, without overflow.

    Args:
        x: floating-point tensor of any shape (float32 or float64).
    Returns:
        A new tensor, same shape and dtype as ``x``, with values in [0, 1]; no nan or inf
        for any finite or infinite input. ``x`` is left unchanged.
    """
    ### BEGIN SOLUTION
    e = torch.exp(-x.abs())  # in (0, 1]: never overflows
    return torch.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    ### END SOLUTION


def log_sigmoid(x):
    """log(sigmoid(x)) = -log(1 + exp(-x)), element-wise, finite for every finite x.

    Args:
        x: floating-point tensor of any shape (float32 or float64), finite values.
    Returns:
        A new tensor, same shape and dtype as ``x``, with values <= 0; about ``x`` for
        x << 0 (not -inf) and about ``-exp(-x)`` for x >> 0. ``x`` is left unchanged.
    """
    ### BEGIN SOLUTION
    return torch.clamp(x, max=0.0) - torch.log1p(torch.exp(-x.abs()))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "sigmoid_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 1
import contextlib

from course_utils.mistakes import check_known_mistakes


@contextlib.contextmanager
def builtin_sigmoid_switched_off():
    """While active, torch's own sigmoid / log-sigmoid functions raise: the exercise asks for your own."""
    def refuse(*args, **kwargs):
        raise checks.ExerciseError("Write these yourself: do not call torch.sigmoid, torch.special.expit, F.sigmoid, "
                                   "x.sigmoid(), F.logsigmoid or F.softplus in Exercise 1.")
    places = [(torch, "sigmoid"), (torch.special, "expit"), (F, "sigmoid"), (torch.Tensor, "sigmoid"),
              (F, "logsigmoid"), (F, "softplus")]
    saved = [getattr(owner, attr) for owner, attr in places]
    try:
        for owner, attr in places:
            setattr(owner, attr, refuse)
        yield
    finally:
        for (owner, attr), original in zip(places, saved):
            setattr(owner, attr, original)


def _check_log_sigmoid(xt, verbose=True):
    """log_sigmoid on finite inputs: type, dtype, shape, input unchanged, finite, the named slips, values."""
    tol = 1e-6 if xt.dtype == torch.float32 else 1e-12
    label = f"log_sigmoid(x) on {xt.dtype} inputs"
    before = xt.clone()
    with builtin_sigmoid_switched_off():
        out = checks.call(log_sigmoid, xt)
    checks.check_type(out, torch.Tensor, label)
    checks.check_dtype(out, xt.dtype, label)
    checks.check_shape(out, tuple(xt.shape), label)
    checks.check_close(xt, before, "x after log_sigmoid(x) -- it must not modify its input", verbose=False)
    checks.check_true(bool(torch.isfinite(out).all()),
                      f"{label} returned -inf or nan for large negative x (at x = {float(xt.min()):g} the true value is "
                      f"about {float(xt.min()):g}): either sigmoid(x) rounded to 0 before the log, or exp(-x) "
                      "overflowed to inf. Never take the log of a sigmoid and never exponentiate a positive number: "
                      "log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)).")
    want = F.logsigmoid(xt)
    check_known_mistakes(out, want, {
        "compute softplus(x) = log(1 + exp(x)) instead of log sigmoid(x) = -log(1 + exp(-x)) (a sign slip)":
            lambda: torch.logaddexp(torch.zeros_like(xt), xt),
        "return sigmoid(x) itself instead of its log": lambda: torch.sigmoid(xt),
    }, name=label, rtol=tol, atol=tol)
    checks.check_close(out, want, label, inputs=xt, rtol=tol, atol=tol, verbose=verbose)


x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 3.0])
x_big = torch.tensor([-1000.0, -100.0, -50.0, 50.0, 100.0, 1000.0])
want, want_big = torch.sigmoid(x), torch.sigmoid(x_big)
with builtin_sigmoid_switched_off():
    out = checks.call(sigmoid, x.clone())
    out_big = checks.call(sigmoid, x_big.clone())
checks.check_type(out, torch.Tensor, "sigmoid(x)")
checks.check_shape(out, x.shape, "sigmoid(x)")
checks.check_close(out, want, "sigmoid(x)", inputs=x, atol=1e-6)
checks.check_true(bool(torch.isfinite(out_big).all()), "sigmoid(x) returned nan or inf for large |x| "
                  f"(inputs {x_big.tolist()}, got {out_big.tolist()}): exp of a large number overflows. "
                  "Use exp(-|x|), which is never larger than 1.", success="sigmoid(x) is finite for |x| up to 1000")
checks.check_close(out_big, want_big, "sigmoid(x) at large |x| (float32)", inputs=x_big, atol=1e-6)
_check_log_sigmoid(x.clone())
_check_log_sigmoid(x_big.clone())
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(11)
x32 = torch.cat([torch.randn(200, generator=g) * 30, torch.tensor([0.0, -0.0, 88.0, 89.0, -88.0, -89.0, -104.0,
                 1e4, -1e4, float("inf"), float("-inf")])]).reshape(1, -1).repeat(2, 1)
x64 = torch.tensor([-1e4, -800.0, -710.0, -709.0, -40.0, -1e-3, 0.0, 1e-3, 40.0, 709.0, 710.0, 800.0, 1e4,
                    float("inf"), float("-inf")], dtype=torch.float64)
for xt, tol in ((x32, 1e-6), (x64, 1e-12)):
    want = torch.sigmoid(xt)
    x_before = xt.clone()
    with builtin_sigmoid_switched_off():
        out = checks.call(sigmoid, xt)
    checks.check_type(out, torch.Tensor, f"sigmoid(x) for {xt.dtype} input")
    checks.check_dtype(out, xt.dtype, f"sigmoid(x) for {xt.dtype} input")
    checks.check_shape(out, tuple(xt.shape), f"sigmoid(x) for {xt.dtype} input")
    checks.check_close(xt, x_before, "x after sigmoid(x) -- sigmoid must not modify its input", verbose=False)
    checks.check_true(bool(torch.isfinite(out).all()), f"sigmoid(x) returned nan or inf on {xt.dtype} inputs with "
                      "large |x|: exp of a large number overflows. Use exp(-|x|).")
    checks.check_close(out, want, f"sigmoid(x) on {xt.dtype} inputs up to |x| = 1e4", inputs=xt, atol=tol,
                       verbose=False)
    finite = xt[torch.isfinite(xt)].reshape(-1)
    _check_log_sigmoid(finite, verbose=False)
    _check_log_sigmoid(finite[:6].reshape(2, 3).clone(), verbose=False)
_check_log_sigmoid(torch.tensor([-750.0, -745.5, 30.0, 36.0], dtype=torch.float64), verbose=False)
del _check_log_sigmoid
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 -- the derivatives (3 points)
# Implement the derivatives of sigmoid, tanh and leaky ReLU, element-wise, as tensors of the same shape and
# floating dtype as `x`:
#
# * `sigmoid_grad(x)` $= \sigma(x)(1-\sigma(x))$, stable for large $|x|$ (no `nan`, no `inf`); you may use your
#   `sigmoid` from Exercise 1 or `torch.sigmoid` here;
# * `tanh_grad(x)` $= 1 - \tanh^2 x$;
# * `leaky_relu_grad(x, alpha)` $= 1$ for $x > 0$ and $\alpha$ for $x \le 0$ (PyTorch's convention at 0).
#
# The checks compare with what autograd computes for `torch.sigmoid`, `torch.tanh` and `F.leaky_relu`, including
# $|x|$ up to $10^4$ in `float32` and `float64`.

# %% nbgrader={"grade": false, "grade_id": "activation_grads_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid_grad(x):
    """Derivative of the sigmoid, element-wise: sigmoid(x) * (1 - sigmoid(x)).

    Args:
        x: floating-point tensor of any shape.
    Returns:
        Tensor of the same shape and dtype as ``x``, values in [0, 0.25], never nan or inf.
    """
    ### BEGIN SOLUTION
    e = torch.exp(-x.abs())  # sigma'(x) = e^{-|x|} / (1 + e^{-|x|})^2 is even in x
    return e / (1.0 + e) ** 2
    ### END SOLUTION


def tanh_grad(x):
    """Derivative of tanh, element-wise: 1 - tanh(x)**2.

    Args:
        x: floating-point tensor of any shape.
    Returns:
        Tensor of the same shape and dtype as ``x``, values in [0, 1].
    """
    ### BEGIN SOLUTION
    return 1.0 - torch.tanh(x) ** 2
    ### END SOLUTION


def leaky_relu_grad(x, alpha=0.1):
    """Derivative of leaky ReLU max(alpha * x, x), element-wise.

    Args:
        x: floating-point tensor of any shape.
        alpha: the slope for x <= 0, a float in (0, 1).
    Returns:
        Tensor of the same shape and dtype as ``x``: 1 where x > 0, alpha where x <= 0.
    """
    ### BEGIN SOLUTION
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, alpha))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "activation_grads_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 2
def autograd_derivative(fn, x):
    return value_and_derivative(fn, x)[1]  # g'(x) by autograd (course_utils.activations)


x = torch.tensor([-4.0, -1.0, 0.0, 0.5, 3.0])
x_big = torch.tensor([-1000.0, -100.0, 100.0, 1000.0])
for label, student, reference in [
    ("sigmoid_grad(x)", sigmoid_grad, torch.sigmoid),
    ("tanh_grad(x)", tanh_grad, torch.tanh),
    ("leaky_relu_grad(x, 0.1)", lambda t: leaky_relu_grad(t, 0.1), lambda t: F.leaky_relu(t, 0.1)),
]:
    out = checks.call(student, x.clone(), name=label)
    checks.check_type(out, torch.Tensor, label)
    checks.check_dtype(out, torch.float32, label)
    checks.check_close(out, autograd_derivative(reference, x), label + " against autograd", inputs=x, atol=1e-6)
    out_big = checks.call(student, x_big.clone(), name=label)
    checks.check_close(out_big, autograd_derivative(reference, x_big), label + " at large |x|", inputs=x_big,
                       atol=1e-6)
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(12)
for dtype, tol in ((torch.float32, 1e-6), (torch.float64, 1e-12)):
    xt = torch.cat([torch.randn(300, generator=g, dtype=dtype) * 20,
                    torch.tensor([0.0, 1e-3, -1e-3, 30.0, -30.0, 88.0, 89.0, -89.0, 710.0, -710.0, 1e4, -1e4,
                                  float("inf"), float("-inf")], dtype=dtype)]).reshape(2, 157)
    for label, student, reference in [
        ("sigmoid_grad(x)", sigmoid_grad, torch.sigmoid),
        ("tanh_grad(x)", tanh_grad, torch.tanh),
        ("leaky_relu_grad(x, 0.1)", lambda t: leaky_relu_grad(t, 0.1), lambda t: F.leaky_relu(t, 0.1)),
        ("leaky_relu_grad(x, 0.02)", lambda t: leaky_relu_grad(t, 0.02), lambda t: F.leaky_relu(t, 0.02)),
    ]:
        x_before = xt.clone()
        out = checks.call(student, xt, name=label)
        checks.check_type(out, torch.Tensor, label)
        checks.check_dtype(out, dtype, f"{label} for {dtype} input")
        checks.check_shape(out, (2, 157), label)
        checks.check_close(xt, x_before, f"x after {label} -- it must not modify its input", verbose=False)
        checks.check_true(bool(torch.isfinite(out).all()), f"{label} returned nan or inf for {dtype} inputs with large "
                          "|x|: an exp overflowed (inf/inf = nan). Compute it from a stable sigmoid or exp(-|x|).")
        checks.check_close(out, autograd_derivative(reference, xt), f"{label} on {dtype} inputs against autograd",
                           inputs=xt, atol=tol, verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3 -- the product of derivatives along a path (2 points)
# Figure 11 of the lecture: the gradient that reaches an early weight along one path is the product of the local
# derivatives met on the way, one weight and one activation derivative per layer. Implement
# `path_gradient(weights, preacts, grad_fn)` returning
# $$\prod_{\ell=1}^{L} w_\ell\, g'(z_\ell)$$
# for a path of $L$ layers, where `grad_fn` is the activation's derivative (for example `tanh_grad`). An empty path
# ($L = 0$) has product 1. The visible check builds a chain of single units, $z_\ell = w_\ell h_{\ell-1} + b_\ell$,
# $h_\ell = g(z_\ell)$, and compares your product with autograd's $\partial h_L / \partial h_0$.

# %% nbgrader={"grade": false, "grade_id": "path_gradient_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def path_gradient(weights, preacts, grad_fn):
    """Product of the local derivatives along one path: prod_l weights[l] * grad_fn(preacts[l]).

    Args:
        weights: 1-D tensor (L,), the weight on the path entering layer l.
        preacts: 1-D tensor (L,), the pre-activation z_l of the path's unit in layer l.
        grad_fn: the activation's derivative, an element-wise function tensor -> tensor.
    Returns:
        A 0-dim tensor (a Python float is accepted too): the product; 1 if L = 0.
    """
    ### BEGIN SOLUTION
    return torch.prod(weights * grad_fn(preacts))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "path_gradient_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 3
def chain_and_autograd(weights, biases, act, h0=0.3):
    """Run a chain of single units; return (pre-activations, d h_L / d h_0 by autograd)."""
    h0 = torch.tensor(h0, dtype=weights.dtype, requires_grad=True)
    h, zs = h0, []
    for w, b in zip(weights, biases):
        z = w * h + b
        zs.append(z.detach())
        h = act(z)
    h.backward()
    return torch.stack(zs), h0.grad


def torch_sigmoid_grad(t):
    return torch.sigmoid(t) * (1 - torch.sigmoid(t))


w = torch.tensor([2.0, -1.5, 0.5, 3.0])
b = torch.tensor([0.1, -0.2, 0.3, 0.0])
z, want = chain_and_autograd(w, b, torch.sigmoid)
out = checks.call(path_gradient, w.clone(), z.clone(), torch_sigmoid_grad)
checks.check_shape(out, (), "path_gradient(...) (a single number)")
checks.check_close(out, want, "path_gradient for a 4-layer sigmoid chain against autograd", rtol=1e-4)
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(13)
w = torch.randn(30, generator=g, dtype=torch.float64) * 1.5
b = torch.randn(30, generator=g, dtype=torch.float64) * 0.5
z, want = chain_and_autograd(w, b, torch.tanh)
out = checks.call(path_gradient, w.clone(), z.clone(), lambda t: 1 - torch.tanh(t) ** 2)
checks.check_close(out, want, "path_gradient for a 30-layer tanh chain against autograd", rtol=1e-8, atol=0,
                   verbose=False)
w = torch.tensor([1.0, 2.0, -1.0])
z = torch.tensor([0.5, -0.5, 1.0])
checks.check_close(checks.call(path_gradient, w, z, lambda t: (t > 0).to(t.dtype)), 0.0,
                   "path_gradient through a ReLU unit with negative pre-activation", verbose=False)
checks.check_close(checks.call(path_gradient, torch.tensor([4.0]), torch.tensor([0.0]), torch_sigmoid_grad), 1.0,
                   "path_gradient for one sigmoid unit with w = 4, z = 0", verbose=False)
checks.check_close(checks.call(path_gradient, torch.zeros(0), torch.zeros(0), torch_sigmoid_grad), 1.0,
                   "path_gradient for an empty path (L = 0)", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### 🔮 Predict first
# Take paths of $L$ sigmoid units whose pre-activations are random, $z_\ell \sim \mathcal N(0, s^2)$. How does the
# typical product of the $L$ derivatives compare with the bound $0.25^L$ for $s = 1$? For $s = 4$ (large weights)?

# %%
torch.manual_seed(0)
depths = np.arange(1, 31)
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(depths, 0.25 ** depths, "k--", label="bound 0.25^L")
for label, fn, scale in [("sigmoid, z ~ N(0, 1)", torch.sigmoid, 1.0),
                         ("sigmoid, z ~ N(0, 4²)", torch.sigmoid, 4.0),
                         ("tanh, z ~ N(0, 1)", torch.tanh, 1.0)]:
    z_paths = torch.randn(2000, depths[-1], dtype=torch.float64) * scale   # 2000 random paths
    factors = value_and_derivative(fn, z_paths)[1]                           # g'(z) at every layer of every path
    typical = factors.cumprod(dim=1).median(dim=0).values                      # product over the first L layers
    ax.plot(depths, typical, label=label)
ax.set(yscale="log", xlabel="number of layers L on the path", ylabel="median product of g'(z)",
       title="Products of activation derivatives along a path")
ax.legend()
plt.show()

# %% [markdown]
# **What to notice:** even unsaturated sigmoids ($s = 1$) sit just below the bound ($\sigma' \approx 0.2$ per layer);
# saturated ones ($s = 4$) lose more than a factor 10 per layer. tanh's derivative is close to 1 near 0, so its
# product decays far more slowly -- but it decays too. The weights on the path multiply in as well: that is what
# Experiment 2 untangles.

# %% [markdown]
# ## Experiment 2 · Gradient norms per layer in a deep network
# Five networks with 15 hidden layers of 64 units on the digits: sigmoid, tanh, ReLU, leaky ReLU ($\alpha = 0.1$)
# and ReLU with skip connections around layers 2–15 (`course_utils.nets.make_mlp`, PyTorch's default
# initialisation, identical random seed). For each we measure $\lVert \partial L / \partial W_\ell \rVert$ for every
# hidden layer $\ell$ on a batch of 512 training images (`layer_statistics`), at initialisation and after a few
# epochs of SGD, and report the **first-to-last ratio** $\lVert \partial L/\partial W_1\rVert / \lVert \partial L/\partial W_{15}\rVert$.
#
# ### 🔮 Predict first
# Rank the five networks by their first-to-last ratio at initialisation. Which ones will learn anything in five
# epochs? Write down an order of magnitude for the sigmoid network's ratio (hint: $0.25^{14}$).

# %%
VARIANTS = {  # label -> make_mlp arguments
    "sigmoid": dict(activation="sigmoid"),
    "tanh": dict(activation="tanh"),
    "ReLU": dict(activation="relu"),
    "leaky ReLU": dict(activation="leaky_relu"),
    "ReLU + skip": dict(activation="relu", residual=True),
}
DEPTH, WIDTH = 15, 64
x_stats, y_stats = X_train[:512], y_train[:512]

grad_norms = {"init": {}, "trained": {}}
val_accuracy = {}
for name, kwargs in VARIANTS.items():
    net = make_mlp(64, 10, width=WIDTH, depth=DEPTH, seed=0, **kwargs).to(DEVICE)
    grad_norms["init"][name] = layer_statistics(net, x_stats, y_stats)["weight_grad_norm"]
    history = fit(net, (X_train, y_train), val=(X_val, y_val), epochs=pick(full=5, fast=1), lr=0.05,
                  momentum=0.9, batch_size=64, seed=0, record_grad_norms=False, desc=name)
    grad_norms["trained"][name] = layer_statistics(net, x_stats, y_stats)["weight_grad_norm"]
    val_accuracy[name] = history.val_acc[-1]

fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
for ax, when in zip(axes, ["init", "trained"]):
    plot_layer_norms(grad_norms[when], ax=ax, xlabel="hidden layer (1 = input side)", ylabel="‖∂L/∂W‖",
                     title=f"Weight-gradient norm per layer, {'at initialisation' if when == 'init' else 'after training'}")
axes[1].get_legend().remove()
plt.show()

print(f"{'network':12s} {'first/last at init':>19s} {'after training':>15s} {'val. accuracy':>14s}")
for name in VARIANTS:
    r0 = grad_norms["init"][name][0] / grad_norms["init"][name][-1]
    r1 = grad_norms["trained"][name][0] / grad_norms["trained"][name][-1]
    print(f"{name:12s} {r0:19.2g} {r1:15.2g} {val_accuracy[name]:14.0%}")


# %% [markdown]
# **What to notice:** the gradient reaching layer 1 of the sigmoid network is about $10^{-12}$ of that at layer 15 --
# it cannot learn at all -- while skip connections keep every layer's gradient within about an order of magnitude. Training
# does not cure vanishing: after five epochs the plain networks' first layers still receive (almost) nothing, and
# only the residual network has learned the digits.

# %%
# NBVAL_CHECK_OUTPUT
def magnitude(ratio):
    """A coarse, machine-independent description of a first-to-last gradient ratio."""
    for limit, words in [(1e-8, "below 1e-8 (vanished)"), (1e-3, "1e-8 .. 1e-3 (vanishing)"),
                         (1e-1, "1e-3 .. 0.1 (shrinking)"), (10.0, "0.1 .. 10 (healthy)")]:
        if ratio < limit:
            return words
    return "above 10 (exploding)"


ratios = {name: grad_norms["init"][name][0] / grad_norms["init"][name][-1] for name in VARIANTS}
for name in VARIANTS:
    print(f"{name:12s} first/last gradient ratio at init: {magnitude(ratios[name])}")
print("sigmoid has the smallest ratio:", min(ratios, key=ratios.get) == "sigmoid")
print("ReLU + skip has the largest ratio:", max(ratios, key=ratios.get) == "ReLU + skip")


# %% [markdown]
# ### Whose fault is it: the activation or the weights?
# ReLU's derivative is exactly 1 where it is active, yet the plain ReLU network above lost a factor of about
# $10^{4}$. The lecture's story (*ReLU does not saturate, so it fixes vanishing gradients*) leaves out the weights.
# PyTorch's default initialisation draws $W$ uniformly with variance $1/(3 \cdot \text{fan\_in})$; a ReLU layer passes
# about half of the signal, so on its way back each layer multiplies the gradient by a factor of roughly
# $\sqrt{\text{fan\_in} \cdot \tfrac{1}{3\,\text{fan\_in}} \cdot \tfrac12} \approx 0.4$. The *weights* are too small;
# the activation is not to blame. (The weight gradient $\partial L/\partial W_\ell = \delta_\ell\, h_{\ell-1}^\top$ also
# contains the forward activations and the biases, so the measured ratio is not simply $0.4^{14}$.)
#
# Re-initialise the same networks with a **variance-preserving** scale -- LeCun's, $\operatorname{Var}(w) =
# 1/\text{fan\_in}$, for sigmoid and tanh, and He's, $\operatorname{Var}(w) = 2/\text{fan\_in}$ (i.e. std
# $\sqrt{2/\text{fan\_in}}$), for the ReLUs -- and measure again at initialisation. (The lecture slide calls
# $1/\text{fan\_in}$ "Xavier"; it is LeCun's (1998). Xavier/Glorot's own formula averages the fan-in and the fan-out,
# $\operatorname{Var}(w) = 2/(\text{fan\_in}+\text{fan\_out})$; here every hidden layer has 64 inputs and 64 outputs,
# so the two coincide. Notebook 02 derives all three.)
#
# ### 🔮 Predict first
# Which networks will now have a ratio near 1? Can any weight scale rescue the sigmoid?

# %%
def variance_preserving_init(net, activation):
    """He (ReLU family, Var = 2/fan_in) or LeCun (sigmoid, tanh, Var = 1/fan_in) normal init of every hidden
    Linear; zero biases. (LeCun's 1/fan_in equals Xavier/Glorot's 2/(fan_in + fan_out) only for square layers.)"""
    gain = 2.0 if "relu" in activation else 1.0
    for lin in hidden_linears(net):
        nn.init.normal_(lin.weight, std=math.sqrt(gain / lin.in_features))
        nn.init.zeros_(lin.bias)


torch.manual_seed(0)
rescaled, last_act_std = {}, {}
for name, kwargs in VARIANTS.items():
    net = make_mlp(64, 10, width=WIDTH, depth=DEPTH, seed=0, **kwargs).to(DEVICE)
    variance_preserving_init(net, kwargs["activation"])
    stats = layer_statistics(net, x_stats, y_stats)
    rescaled[name] = stats["weight_grad_norm"]
    last_act_std[name] = stats["act_std"][-1]
    if name == "sigmoid":
        sigmoid_saturated = max(stats["saturated"])

ax = plot_layer_norms(rescaled, xlabel="hidden layer (1 = input side)", ylabel="‖∂L/∂W‖",
                      title="At initialisation, variance-preserving weights (LeCun / He)")
plt.show()
for name in VARIANTS:
    print(f"{name:12s} first/last ratio {rescaled[name][0] / rescaled[name][-1]:9.2g}   "
          f"std of layer-15 activations {last_act_std[name]:9.3g}")
print(f"largest fraction of saturated units in any layer of the sigmoid network: {sigmoid_saturated:.1%}")

# %% [markdown]
# **What to notice:** with the right weight scale tanh, ReLU and leaky ReLU pass the gradient through 15 layers almost
# unchanged (ratio near 1). The sigmoid still loses about $0.25^{14} \approx 4\times10^{-9}$ although none of its
# units is saturated: its derivative is at most 0.25 *everywhere*, and weights large enough to compensate (×4) push
# its inputs into saturation. (It also outputs values around 0.5, never centred on 0.) And the residual network with
# He weights *explodes* (see the std of its layer-15 activations) -- every block adds its own variance to the
# identity path, so the activations grow with depth; the lecture's "skip connections avoid vanishing gradients" is true, but deep residual networks also need
# normalisation (review lecture, *Deep learning depends on gradient descent*; notebook 05).

# %% [markdown]
# ### Is ReLU "more subject to exploding gradients" than sigmoid and tanh?
# The lecture says so in passing. What is true: nothing in a ReLU layer *damps* the backward pass. Its derivative is
# exactly 1 on the active half, it never saturates and its output is unbounded, so the size of the gradient is set by
# the weights alone -- each layer multiplies it by about $\sqrt{\tfrac12\,\text{fan\_in}\,\operatorname{Var}(w)}$, and with
# weights larger than He's it grows exponentially with depth. A tanh or sigmoid layer has a brake: large weights push
# its units into saturation, where $g'$ is small, which pulls the per-layer factor back down. So ReLU does not *cause*
# exploding gradients (at He's scale it neither explodes nor vanishes, as above); it lacks the saturation that hides a
# too-large initialisation -- at the price of the vanishing gradients saturation brings. The cure is the right scale
# (notebook 02), normalisation (notebook 05) or gradient clipping.
#
# ### 🔮 Predict first
# Take the variance-preserving networks above and double every hidden weight (std $\times 2$). Which grows more from
# layer 15 back to layer 1, the gradient of the ReLU network or of the tanh network?

# %%
# NBVAL_CHECK_OUTPUT
for name in ("tanh", "ReLU"):
    net = make_mlp(64, 10, width=WIDTH, depth=DEPTH, seed=0, **VARIANTS[name]).to(DEVICE)
    variance_preserving_init(net, VARIANTS[name]["activation"])
    with torch.no_grad():
        for lin in hidden_linears(net):
            lin.weight.mul_(2.0)  # twice the variance-preserving standard deviation
    act_grad = layer_statistics(net, x_stats, y_stats)["act_grad_std"]  # std of dL/dh per hidden layer
    per_layer = (act_grad[0] / act_grad[-1]) ** (1 / (DEPTH - 1))
    print(f"{name:5s} weights x2: gradient std, layer 1 / layer 15 ≈ 10^{round(math.log10(act_grad[0] / act_grad[-1])):+d}"
          f"  (about x{per_layer:.1f} per layer)")

# %% [markdown]
# **What to notice:** with doubled weights the ReLU network's gradient doubles at every layer, exactly as
# $\sqrt{\tfrac12 \cdot 64 \cdot 4 \cdot \tfrac{2}{64}} = 2$ predicts: about $10^4$ from layer 15 back to layer 1. The tanh
# network's grows only about 1.2-fold per layer: its units saturate and absorb most of the excess. It still grows --
# tanh is braked, not immune.

# %% [markdown]
# ## Experiment 3 · Dead ReLUs, and leaky ReLU recovering
# A ReLU unit whose pre-activation is $\le 0$ for **every** input it sees outputs 0 and has derivative 0 for all of
# them: no gradient reaches its weights or its bias, so gradient descent never changes them. It is *dead*. Units
# die when a large negative bias is learned, or after one too-large step of gradient descent throws their weights
# far off.
#
# We kill them on purpose: the same 2-hidden-layer network (64 units each), trained with Adam, with **every
# first-layer bias shifted by −3** so that $z = w^\top x + b < 0$ for all training images. We record the fraction
# of first-layer units that are dead on the whole training set as training goes on
# (`course_utils.activations.dead_unit_fraction`). For leaky ReLU we count a unit as "dead" when it is in its
# negative regime for all images -- but there it still has slope $\alpha = 0.1$.
#
# ### 🔮 Predict first
# Sketch both curves. Will any ReLU unit come back? Will the leaky ReLU units stay negative?

# %%
from tqdm.auto import tqdm


def train_with_dead_units(activation, steps, bias_shift=-3.0, seed=0):
    """Train a 2-hidden-layer net whose first-layer biases start at b - 3; record layer 1's dead fraction."""
    net = make_mlp(64, 10, width=64, depth=2, activation=activation, seed=seed).to(DEVICE)
    with torch.no_grad():
        hidden_linears(net)[0].bias.add_(bias_shift)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(seed)
    record = {"step": [], "dead": []}
    for step in tqdm(range(steps + 1), desc=activation):
        if step % 5 == 0:
            record["step"].append(step)
            record["dead"].append(dead_unit_fraction(hidden_preactivations(net, X_train)[0]))
        if step == steps:
            break
        idx = torch.randint(len(X_train), (64,), generator=g).to(DEVICE)
        loss = F.cross_entropy(net(X_train[idx]), y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        record["val_acc"] = float((net(X_val).argmax(1) == y_val).float().mean())
    return record


dead_runs = {name: train_with_dead_units(name, steps=pick(full=150, fast=40)) for name in ["relu", "leaky_relu"]}
fig, ax = plt.subplots(figsize=(7, 4))
for name, label in [("relu", "ReLU"), ("leaky_relu", "leaky ReLU (α = 0.1)")]:
    run = dead_runs[name]
    ax.plot(run["step"], run["dead"], marker=".", label=f"{label}: val. accuracy {run['val_acc']:.0%}")
ax.set(xlabel="training step", ylabel="fraction of layer-1 units dead on all images", ylim=(-0.03, 1.03),
       title="Dead units after a −3 bias shift")
ax.legend()
plt.show()

# %% [markdown]
# **What to notice:** the ReLU line never moves: with every first-layer unit dead, no gradient reaches layer 1, and
# layer 2 only ever sees zeros, so only biases and the output layer can learn -- the network gives every image the
# same prediction and stays at chance. The leaky ReLU units
# receive gradients scaled by $\alpha$ and climb back into the positive regime within a few dozen steps.
#
# Two precise points the lecture glosses over. *Permanent* holds for a unit that is dead on **all** the data and
# whose inputs do not change -- like these first-layer units, whose inputs are the fixed pixels. A dead unit in a
# deeper layer can come back to life when the layers below it change its inputs. And "no gradient" is about the
# loss: momentum, or weight decay, can still move a dead unit's weights. (Here Adam helps the leaky units: it rescales
# their small $\alpha$-sized gradients; plain SGD brings them back more slowly.)

# %%
# NBVAL_CHECK_OUTPUT
relu_run, leaky_run = dead_runs["relu"], dead_runs["leaky_relu"]
print("ReLU: all layer-1 units dead at the start and at the end:", relu_run["dead"][0] == 1.0 and relu_run["dead"][-1] == 1.0)
print("ReLU network stays near chance (val. accuracy < 20%):", relu_run["val_acc"] < 0.2)
print("leaky ReLU: fewer than half of the units still negative at the end:", leaky_run["dead"][-1] < 0.5)
print("leaky ReLU network learns (val. accuracy > 50%):", leaky_run["val_acc"] > 0.5)


# %% [markdown]
# ### Exercise 4 -- the fraction of dead units of a layer (2 points)
# Implement `dead_fraction(preacts)`: given the pre-activations $z$ of one ReLU layer on a batch, shape
# `(N, units)` (rows are examples, columns are units), return the fraction of **units** that are dead on the
# whole batch, i.e. whose $z \le 0$ for **every** example. ($z = 0$ counts as dead: ReLU's derivative there is 0.)
#
# Careful: the fraction of *entries* with $z \le 0$ is a different number -- about one half in a healthy ReLU layer,
# where every unit is off for some examples and on for others. Return a Python float (or a 0-dim tensor) in $[0, 1]$.

# %% nbgrader={"grade": false, "grade_id": "dead_fraction_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dead_fraction(preacts):
    """Fraction of units (columns) whose pre-activation is <= 0 for every example (row).

    Args:
        preacts: tensor (N, units) of pre-activations of one layer on a batch of N examples.
    Returns:
        A float in [0, 1]: (number of dead units) / units.
    """
    ### BEGIN SOLUTION
    dead = (preacts <= 0).all(dim=0)
    return dead.float().mean().item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "dead_fraction_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 4
z = torch.tensor([[-1.0, 2.0, -3.0, 0.5],
                  [-2.0, -1.0, -0.5, 1.0],
                  [-0.1, -4.0, -2.0, -1.0]])  # unit 0 and unit 2 are dead; units 1 and 3 fire for some rows
out = checks.call(dead_fraction, z.clone())
checks.check_shape(out, (), "dead_fraction(z) (a single number)")
checks.check_close(out, 0.5, "dead_fraction(z) for 2 dead units out of 4 "
                   "(the fraction of entries <= 0 would be 0.75; per unit, 2 of 4 are dead)")
### BEGIN HIDDEN TESTS
z = torch.tensor([[0.0, -1.0, 1.0, -2.0, 0.0],
                  [0.0, -1.0, -1.0, -3.0, 0.5]])  # exact zeros count as dead
checks.check_close(checks.call(dead_fraction, z.clone()), 0.6, "dead_fraction with exact zeros (z = 0 is dead)",
                   verbose=False)
g = torch.Generator().manual_seed(14)
z = torch.randn(200, 50, generator=g, dtype=torch.float64)
z[:, :13] = -z[:, :13].abs() - 0.01  # 13 dead units out of 50
z_before = z.clone()
out = checks.call(dead_fraction, z)
checks.check_close(z, z_before, "preacts after dead_fraction -- it must not modify its input", verbose=False)
checks.check_close(out, 13 / 50, "dead_fraction on a 200 x 50 batch with 13 dead units", verbose=False)
z = torch.randn(3, 40, generator=g)
z[:, :5] = -1.0
z[1, 5:] = z[1, 5:].abs() + 0.1  # units 5.. fire for example 1
z[0, 5:20] = -1.0  # example 0 is negative for 20 units, but only 5 units are negative for all examples
checks.check_close(checks.call(dead_fraction, z), 5 / 40,
                   "dead_fraction when one example is negative on many units (deadness is per unit, over all examples)",
                   verbose=False)
checks.check_close(checks.call(dead_fraction, -torch.ones(1, 7)), 1.0, "dead_fraction for a batch of one example",
                   verbose=False)
checks.check_close(checks.call(dead_fraction, torch.ones(64, 3)), 0.0, "dead_fraction with no dead unit",
                   verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ## Experiment 4 · The skip connection's identity path
# A residual block computes $z = x + \mathcal F(x)$ with $\mathcal F(x) = g(Wx + b)$ (`course_utils.nets.HiddenBlock`
# with `residual=True`). We take a sigmoid block with a **large bias** (+6), so that all its units saturate
# ($\sigma \approx 1$) and $\partial\mathcal F/\partial x \approx 0$, push an upstream gradient $\partial L/\partial z$ through it with autograd, and
# compare with the formula
# $$\frac{\partial L}{\partial x} = \Big(I + \operatorname{diag}\big(g'(Wx+b)\big)\, W\Big)^{\!\top} \frac{\partial L}{\partial z}.$$
#
# ### 🔮 Predict first
# How large is $\lVert \partial L/\partial x\rVert / \lVert \partial L/\partial z\rVert$ for the saturated block with the
# skip? And without it?

# %%
seed_everything(1)
D = 64
x = torch.randn(1, D, device=DEVICE)
dL_dz = torch.randn(1, D, device=DEVICE)
results = {}
for residual in (True, False):
    torch.manual_seed(1)  # the same weights for both blocks
    block = HiddenBlock(D, D, "sigmoid", residual=residual).to(DEVICE)
    with torch.no_grad():
        block.linear.bias.add_(6.0)  # a large bias: every sigmoid unit sits near 1, saturated
    x_in = x.clone().requires_grad_(True)
    block(x_in).backward(dL_dz)  # autograd: x_in.grad = (dz/dx)^T dL/dz
    with torch.no_grad():
        h = block.linear(x)
        s = torch.sigmoid(h)
        jac_F = (s * (1 - s)).T * block.linear.weight  # dF/dx = diag(g'(h)) W, shape (D, D)
        jac = jac_F + torch.eye(D, device=DEVICE) if residual else jac_F
        formula = dL_dz @ jac  # row vector times Jacobian = (J^T dL/dz)^T
        saturated = float((s * (1 - s) < 0.0125).float().mean())
    results[residual] = {"autograd": x_in.grad, "formula": formula, "saturated": saturated,
                         "ratio": float(x_in.grad.norm() / dL_dz.norm())}

for residual, r in results.items():
    gap = float((r["autograd"] - r["formula"]).abs().max())
    print(f"{'with skip   ' if residual else 'without skip'}: {r['saturated']:.0%} of units saturated, "
          f"max |autograd - formula| = {gap:.1e}, ||dL/dx|| / ||dL/dz|| = {r['ratio']:.3g}")
fig, ax = plt.subplots(figsize=(7, 3.6))
ax.bar(["‖∂L/∂z‖ (upstream)", "‖∂L/∂x‖ with skip", "‖∂L/∂x‖ without skip"],
       [float(dL_dz.norm()), float(results[True]["autograd"].norm()), float(results[False]["autograd"].norm())],
       color=["C7", "C0", "C1"])
ax.set(yscale="log", ylabel="gradient norm (log scale)", title="One saturated sigmoid block: gradient reaching x")
plt.show()

# %% [markdown]
# **What to notice:** autograd and the formula agree to float precision. Without the skip, the saturated block lets
# through only a small fraction of the gradient; with it, $\partial L/\partial x \approx \partial L/\partial z$: the identity
# term carries the gradient back unscaled whatever $\mathcal F$ does. Stack 15 such blocks and the difference is the
# one between Experiment 2's sigmoid network and its residual sibling.

# %%
# NBVAL_CHECK_OUTPUT
for residual, r in results.items():
    same = torch.allclose(r["autograd"], r["formula"], rtol=1e-4, atol=1e-5)
    print(f"{'with skip':12s}" if residual else f"{'without skip':12s}",
          f"autograd equals the formula: {same};",
          f"gradient kept (ratio > 0.5): {r['ratio'] > 0.5};  mostly saturated: {r['saturated'] > 0.5}")


# %% [markdown]
# ### Exercise 5 -- a residual block's forward pass (2 points)
# Implement `residual_forward(x, linear, act)`: the block $z = x + g(Wx + b)$ of the lecture, where `linear` is an
# `nn.Linear` (computing $Wx + b$) and `act` an element-wise activation function. The activation goes **inside** the
# residual branch: adding $x$ after it is what makes the identity term of $\partial L/\partial x$ exact. Keep the
# computation differentiable (no `.detach()`, no in-place change of `x`), and raise a `ValueError` if `linear`
# changes the width (`in_features != out_features`), since then $x$ cannot be added.

# %% nbgrader={"grade": false, "grade_id": "residual_forward_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def residual_forward(x, linear, act):
    """Forward pass of a residual block: x + act(linear(x)).

    Args:
        x: tensor (N, D), a batch of N inputs of width D.
        linear: an nn.Linear with in_features == out_features == D.
        act: an element-wise activation function, tensor -> tensor (e.g. torch.relu).
    Returns:
        Tensor (N, D), differentiable with respect to x and to linear's parameters.
    Raises:
        ValueError: if linear.in_features != linear.out_features.
    """
    ### BEGIN SOLUTION
    if linear.in_features != linear.out_features:
        raise ValueError(f"a residual block needs equal widths, got {linear.in_features} -> {linear.out_features}")
    return x + act(linear(x))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "residual_forward_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 5
torch.manual_seed(5)
lin = nn.Linear(4, 4)
x = torch.randn(3, 4)
out = checks.call(residual_forward, x.clone(), lin, torch.relu)
checks.check_type(out, torch.Tensor, "residual_forward(x, linear, relu)")
checks.check_shape(out, (3, 4), "residual_forward(x, linear, relu)")
with torch.no_grad():
    want = x + torch.relu(lin(x))
checks.check_close(out, want, "residual_forward(x, linear, relu) = x + relu(linear(x))", atol=1e-6)
checks.check_raises(residual_forward, (x, nn.Linear(4, 5), torch.relu), ValueError,
                    name="residual_forward with a Linear(4, 5)")
### BEGIN HIDDEN TESTS
torch.manual_seed(6)
lin = nn.Linear(16, 16)
with torch.no_grad():
    lin.weight.mul_(10.0)  # saturating sigmoid: the skip must carry the gradient
x = torch.randn(8, 16, dtype=torch.float32)
x_before = x.clone()
with torch.no_grad():
    want = x + torch.sigmoid(lin(x))
x_in = x.clone().requires_grad_(True)
out = checks.call(residual_forward, x_in, lin, torch.sigmoid)
checks.check_close(x_in.detach(), x_before, "x after residual_forward -- it must not modify its input", verbose=False)
checks.check_close(out.detach() if isinstance(out, torch.Tensor) else out, want,
                   "residual_forward(x, linear, sigmoid) = x + sigmoid(linear(x))", atol=1e-5, verbose=False)
checks.check_true(isinstance(out, torch.Tensor) and out.requires_grad,
                  "residual_forward's output does not depend differentiably on x: no .detach(), no torch.no_grad().")
v = torch.randn(8, 16)
out.backward(v)
with torch.no_grad():
    s = torch.sigmoid(lin(x))
    want_grad = v + (v * s * (1 - s)) @ lin.weight  # (I + dF/dx)^T v, row by row
checks.check_close(x_in.grad, want_grad, "dL/dx through residual_forward (should be (I + dF/dx)^T dL/dz)",
                   rtol=1e-4, atol=1e-5, verbose=False)
lin64 = nn.Linear(5, 5).double()
x64 = torch.randn(1, 5, dtype=torch.float64)
with torch.no_grad():
    checks.check_close(checks.call(residual_forward, x64, lin64, torch.tanh), x64 + torch.tanh(lin64(x64)),
                       "residual_forward on one float64 example with tanh", rtol=1e-10, verbose=False)
checks.check_raises(residual_forward, (torch.randn(2, 6), nn.Linear(6, 3), torch.tanh), ValueError,
                    name="residual_forward with a Linear(6, 3)", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ## Widget · Activation × depth × input scale
# Build a fresh network (64 units per layer, PyTorch's default initialisation, seed 0) and push 256 training
# images through it, multiplied by an *input scale*. Left: the gradient's size at each layer's output,
# $\operatorname{std}(\partial L/\partial h_\ell)$; right: the percentage of saturated units per layer (sigmoid/tanh:
# $g'(z)$ below 5% of its maximum; ReLU: $z \le 0$; leaky ReLU never saturates). Each update is one forward and
# one backward pass.
#
# ### 🔮 Predict first
# Sigmoid, depth 10: what happens to the layer-1 saturation when you raise the input scale from 1 to 30? Does
# switching on the skip connections change the saturation, the gradient, or both?

# %%
from course_utils.gradient_profile_app import gradient_profile_app  # the widget's code

app = gradient_profile_app(X_train[:256], y_train[:256])
app

# %% [markdown]
# **What to notice:** scale the inputs up and most of the sigmoid's first layer saturates; the gradient then
# collapses right there, at layer 1. ReLU's inactive fraction stays near one half whatever the scale (ReLU is
# scale-invariant, $\max(0, cz) = c\max(0, z)$ for $c > 0$; only the biases break this a little). With skips on, the gradient curve flattens even where the
# branches saturate.

# %%
state = app.update(activation="sigmoid", depth=10, input_scale=30.0, skip=False)
print(f"sigmoid, depth 10, input x30: {state.data['saturated'][0]:.0f}% of layer-1 units saturated, "
      f"first/last gradient ratio {state.data['ratio']:.2g}")
state = app.update(skip=True)
print(f"  ... with skip connections: first/last gradient ratio {state.data['ratio']:.2g}")

# %% [markdown]
# ### Free response (3 points, graded by your instructor)
# Why does a **saturated** sigmoid unit "kill" learning -- for its own weights *and* for the layers below it? And
# why is a **dead ReLU** unit's death permanent, while a leaky ReLU unit in the same situation can recover? Be
# precise about when "permanent" is true.

# %% [markdown] nbgrader={"grade": true, "grade_id": "free_response_saturation_death", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# A unit's weight gradient is $\partial L/\partial w_{j,i} = \delta_j h_i$ with $\delta_j = g'(z_j)\sum_k w_{k,j}\delta_k$.
# When the sigmoid saturates ($|z_j|$ large), $g'(z_j) \approx 0$, so $\delta_j \approx 0$: its own weights barely
# change, and since $\delta_j$ is also the factor through which the gradient travels further back, every path through
# this unit carries almost nothing to the layers below -- on top of $\sigma' \le 0.25$ shrinking every path anyway.
# The unit only slowly escapes saturation because the step that would move it out is itself tiny.
#
# A ReLU unit with $z_j \le 0$ for every input has $g'(z_j) = 0$ exactly, so $\delta_j = 0$ for every example: the
# gradient of its weights and bias is exactly zero and gradient descent never moves them. If its inputs are fixed
# (a first-layer unit on a fixed data set) nothing can ever change $z_j$, so the death is permanent; a dead unit deeper
# in the network can only be revived indirectly, if the layers below change its inputs (or by momentum / weight
# decay, which act without the loss gradient). A leaky ReLU has $g'(z) = \alpha > 0$ for $z < 0$, so the unit still
# receives a (smaller) gradient that can move its weights and bias back into the positive regime, as in Experiment 3.
#
# **Mark scheme (3 points):**
# * 1 point: saturation means $g'(z) \approx 0$, which makes this unit's weight gradient small **and** multiplies every
#   backpropagated path through it, so lower layers get (almost) no gradient (one of the two: ½).
# * 1 point: a dead ReLU has derivative exactly 0 for **all** inputs, so its weight/bias gradients are exactly zero and
#   the weights never change -- permanent when its inputs do not change (½ if "permanent" is stated without the
#   reason; full credit needs the zero gradient for every example).
# * 1 point: leaky ReLU's slope $\alpha > 0$ in the negative region keeps a non-zero gradient, so the unit can move back
#   (½ for "it has a small slope" without saying why that lets it recover).

# %% [markdown]
# ## Check your understanding
# 1. $0.25^{L}$ bounds the product of $L$ sigmoid derivatives. Why does that alone *not* prove that a deep sigmoid
#    network's gradient vanishes, and why does it vanish in practice anyway?
# 2. Experiment 2's plain ReLU network had a first-to-last ratio of about $10^{-4}$, yet ReLU's derivative is 1 where it
#    is active. What shrank the gradient, and how did the second figure show it?
# 3. A layer's pre-activations on a batch give "fraction of entries $\le 0$" = 0.5 and "fraction of dead units" = 0.
#    Is the layer healthy? What would 0.5 and 0.5 mean?
# 4. In $z = x + g(Wx+b)$, why would writing $z = g(x + Wx + b)$ lose the guarantee of the identity term?
#
# <details><summary>Answers</summary>
#
# 1. The path product also contains the weights, and $|w| > 4$ could compensate; and the gradient is a sum of many
#    signed paths. In practice weights large enough to compensate push $|z|$ up and the sigmoid saturates, so the
#    factors get even smaller (Experiment 2 with LeCun's variance-preserving weights: still $\sim 10^{-9}$).
# 2. The weights: PyTorch's default initialisation has variance $1/(3\,\text{fan\_in})$, too small to preserve the signal
#    through ReLU layers. With He initialisation ($\operatorname{Var} = 2/\text{fan\_in}$) the ratio was close to 1.
# 3. Yes: every unit fires for about half of the examples, which is normal. 0.5 dead units means half the units never
#    fire on any example: they get no gradient and the layer is effectively half as wide.
# 4. Then $\partial z/\partial x = \operatorname{diag}(g'(\cdot))\,(I + W)$: the identity is multiplied by $g'$, which is 0 for a
#    ReLU that is off and tiny for a saturated sigmoid, so the gradient can vanish again.
# </details>
#
# ## Summary
# * $\sigma'(z) \le 0.25$ and saturates for $|z| \gtrsim 4$; tanh's derivative reaches 1 but saturates too; ReLU's is exactly
#   1 or 0; leaky ReLU's never drops below $\alpha$.
# * Back-propagated gradients are sums of products $\prod_\ell w_\ell g'(z_\ell)$: both the derivatives **and** the weights
#   decide whether they vanish. Measured on 15-layer networks at initialisation, the first-to-last gradient ratio was
#   about $10^{-12}$ for sigmoid, $6\times10^{-3}$ for tanh, $10^{-4}$ for (leaky) ReLU with PyTorch's default weights,
#   and of order 1 with skip connections; with He (ReLU) or LeCun (tanh, sigmoid; $\operatorname{Var} =
#   1/\text{fan\_in}$, which the slide calls Xavier) weights tanh and ReLU came close to 1, the sigmoid did not.
# * Compute the sigmoid and its log stably: never exponentiate a positive number, never take the log of something
#   that can round to 0 ($\log\sigma(x) = \min(x, 0) - \operatorname{log1p}(e^{-|x|})$).
# * A ReLU unit is dead when $z \le 0$ for **all** examples (per unit, over the batch); with fixed inputs that is
#   permanent; leaky ReLU keeps a gradient $\alpha$ and recovers.
# * Skip connections add an identity term: $\partial L/\partial x = (I + \partial\mathcal F/\partial x)^\top \partial L/\partial z$.
#   They keep the gradient alive but do not by themselves keep activations bounded -- deep residual networks need
#   normalisation.
#
# ## Further reading
# * Lecture: *Recall: activation functions*, *Sigmoid: vanishing gradient (1), (2)*, *ReLU: Dead ReLU*, *ReLU: Leaky
#   ReLU*, *Skip connections*; review lecture: *Deep Learning depends on Gradient Descent*, *The Shattered Gradient
#   Phenomenon*.
# * Y. Bengio, P. Simard and P. Frasconi, *Learning long-term dependencies with gradient descent is difficult*, IEEE
#   Transactions on Neural Networks, 1994.
# * Y. LeCun, L. Bottou, G. Orr and K.-R. Müller, *Efficient BackProp*, in *Neural Networks: Tricks of the Trade*,
#   1998 (the $1/\text{fan\_in}$ initialisation).
# * X. Glorot and Y. Bengio, *Understanding the difficulty of training deep feedforward neural networks*, AISTATS 2010.
# * A. Maas, A. Hannun and A. Ng, *Rectifier nonlinearities improve neural network acoustic models*, ICML 2013
#   (leaky ReLU).
# * K. He, X. Zhang, S. Ren and J. Sun, *Deep residual learning for image recognition*, CVPR 2016.
# * D. Balduzzi et al., *The shattered gradients problem: if resnets are the answer, then what is the question?*,
#   ICML 2017.
# * L. Lu, Y. Shin, Y. Su and G. Karniadakis, *Dying ReLU and initialization: theory and numerical examples*, 2019.
#
# **Next:** `02_initialization` -- variance collapse and explosion, and the LeCun, He and Xavier formulas.
