# ---
# jupyter:
#   course:
#     budget_s: 60
#     gpu: false
#     minutes: 70
#     title: 'Dropout and the other regularisers: L2, early stopping'
#     topics: over-fitting on purpose, L2 and torch's weight_decay, early stopping with
#       best-weight restore, inverted dropout, the ensemble view, MC dropout, validation
#       loss below training loss
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Dropout and the other regularisers: L2, early stopping
#
# **Time:** about 70 minutes · **Level:** after the lecture's *Regularization* section ·
# **Prerequisites:** notebook 00 (training with `fit`), cross-entropy, SGD; notebooks 01–05 help but are not needed.
#
# ## Learning objectives
# By the end of this notebook you can:
# 1. recognise over-fitting in training and validation curves, and build a set-up that over-fits on purpose;
# 2. write the SGD update with an L2 penalty and translate the lecture's $\lambda$ into PyTorch's `weight_decay`
#    (and say why AdamW is different), and explain why L1 gives sparse weights where L2 does not;
# 3. implement early stopping with patience that restores the *best* weights, and explain why it must use the
#    validation split and never the test split;
# 4. implement inverted dropout, explain why it equals the lecture's "scale at test time" in expectation, and
#    use dropout at test time (MC dropout) to measure uncertainty;
# 5. explain why, with dropout, the validation loss can be *below* the training loss.

# %% [markdown]
# Everything runs on a laptop CPU in about a minute: the data are the 8×8 handwritten digits that ship with
# scikit-learn, and all the training runs of the lesson are made once, in the first experiment, then reused.

# %%
# %matplotlib inline
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from course_utils import checks
from course_utils.data import load_digits
from course_utils.mistakes import check_known_mistakes
from course_utils.nets import make_mlp
from course_utils.plots import new_figure, use_style
from course_utils.regularization import format_table, plot_run, run_grid, small_train_split, train_run
from course_utils.regularization_explorer import regularization_explorer
from course_utils.reproducibility import device, fast_mode, pick, quiet_warnings, seed_everything

quiet_warnings()
use_style()
seed_everything(0)
DEVICE = device()

# %% [markdown]
# ## Recap: three ways to regularise a network
# A network with enough capacity can fit its training set perfectly, including the noise and accidents of that
# particular sample. Regularisation trades a little training fit for better generalisation. The lecture lists
# three techniques.
#
# **L2 regularisation ("weight decay").** Plain gradient descent updates each weight by
# $w^{t+1} = w^t - \alpha\,\partial L/\partial w^t$. Adding the penalty $\frac{\lambda}{n}\sum w^2$ to the loss
# ($n$ = number of training examples, $L$ = the *mean* loss over them) adds its gradient $\frac{2\lambda}{n}w$:
#
# $$w^{t+1} = w^t - \alpha\left(\frac{\partial L}{\partial w^t} + \frac{2\lambda}{n}\,w^t\right)
#           = \Bigl(1 - \frac{2\alpha\lambda}{n}\Bigr)w^t - \alpha\frac{\partial L}{\partial w^t}.$$
#
# Every step first shrinks ("decays") each weight by a constant factor, hence the name.
#
# **Early stopping.** Evaluate the validation loss after every epoch; stop when it has not improved for a while
# (the *patience*), and keep the weights from the best epoch.
#
# **Dropout.** At each training step, every hidden unit is set to zero with probability $p$, independently; at test
# time no unit is dropped. The expected input to the next layer must be the same in both cases, so one of them is
# rescaled:
#
# | version | training | test |
# |---|---|---|
# | lecture ("scale at test time") | $\tilde h = m \odot h$, $m_i \sim \text{Bernoulli}(1-p)$ | $h\,(1-p)$ |
# | inverted dropout (PyTorch's `nn.Dropout`) | $\tilde h = m \odot h \,/\, (1-p)$ | $h$ |
#
# Both give $\mathbb{E}[\text{training output}] = \text{test output}$. **Where the lecture is loose:** it says to
# "scale activations by dropout probability" at test time. The factor is the *keep* probability $1-p$ (with $p$
# the probability of dropping, PyTorch's convention); the original paper (Srivastava et al., 2014) calls the keep
# probability $p$, which is where the confusion comes from. PyTorch does the scaling during training instead, so
# the test-time network needs no change at all.

# %% [markdown]
# ## Experiment 1: a network that over-fits on purpose
# We train a wide MLP (64 inputs → 256 → 256 → 10, about 85 000 weights) on only **150** training digits, and
# judge it on 270 validation digits. The test split (another 269) stays locked away until the results table.
#
# All configurations this lesson needs -- dropout $p \in \{0, 0.25, 0.5, 0.75\}$ × weight decay
# $\in \{0, 10^{-2}, 3\cdot 10^{-2}\}$, same initial weights, same data order -- are trained now, once
# (`course_utils.regularization.run_grid`, SGD with momentum 0.9, learning rate 0.05, batches of 32). Later
# sections and the widget read from this grid.
#
# ### 🔮 Predict first
# With 150 examples and 85 000 weights: where will the training accuracy be after 60 epochs? Will the
# validation loss keep falling, flatten, or turn back up?

# %%
X, y = load_digits(flatten=True)
split = small_train_split(X, y, n_train=150, seed=0)
print(f"train {tuple(split.x_train.shape)}, validation {tuple(split.x_val.shape)}, test {tuple(split.x_test.shape)}")

EPOCHS = pick(full=60, fast=4)
DROPOUTS = pick(full=(0.0, 0.25, 0.5, 0.75), fast=(0.0, 0.5))
WEIGHT_DECAYS = pick(full=(0.0, 1e-2, 3e-2), fast=(0.0, 1e-2))
grid = run_grid(split, DROPOUTS, WEIGHT_DECAYS, epochs=EPOCHS, device=DEVICE)
none = grid[(0.0, 0.0)]
fig = plot_run(none, title="No regularisation: 150 training digits, 85k weights")
if fast_mode():  # while autograding: no figure, to keep grading fast
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()

# %% [markdown]
# **What to notice:** the training loss keeps falling -- by another factor of about 12 between epoch 20 and the
# last epoch (printed below) -- and the training accuracy reaches 100 %: the network memorises its 150 digits. The validation loss stops improving after
# about 20 epochs and validation accuracy stalls a little above 90 %. The widening gap between the curves is
# over-fitting: everything the network learns after epoch 20 is specific to its training sample.

# %%
# NBVAL_CHECK_OUTPUT
print("training accuracy reaches 100%:", none.train_acc == 1.0)
print("final validation loss at least 0.15 above training loss:", none.gap_loss > 0.15)
print("final validation loss more than 10x the training loss:", none.val_loss > 10 * none.train_loss)
_c = none.curves()
_at20 = _c["clean_train_loss"][_c["epoch"].index(20)] if 20 in _c["epoch"] else float("nan")
print(f"training loss at epoch 20 / at the last epoch: {_at20 / _c['clean_train_loss'][-1]:.0f}")


# %% [markdown]
# ## L2 regularisation and PyTorch's `weight_decay`
# PyTorch's optimisers take a `weight_decay` argument. For `torch.optim.SGD` it **adds `weight_decay * w` to the
# gradient** before the step:
#
# $$w \leftarrow w - \alpha\,(\nabla_w L + \texttt{weight\_decay}\cdot w).$$
#
# Compare with the lecture's rule: they are the same update when
#
# $$\texttt{weight\_decay} = \frac{2\lambda}{n}, \qquad\text{equivalently: adding } \tfrac{\texttt{weight\_decay}}{2}\lVert w\rVert^2
# \text{ to the mean loss.}$$
#
# Three details worth knowing:
# * The lecture's $\lambda$ is per data set: for the same $\lambda$, more training data means a smaller
#   `weight_decay`. Most code (and this notebook's grid) just picks `weight_decay` directly.
# * `weight_decay` decays **every** parameter you give the optimiser, biases included; the lecture's penalty is on
#   the weights $w_{i,j}$. To exclude biases, pass two parameter groups.
# * With momentum, SGD's `weight_decay` is still exactly an L2 penalty (the decay term goes through the momentum
#   buffer like the rest of the gradient). With **Adam** it is not "weight decay" in the lecture's sense: the
#   penalty gradient gets divided by Adam's per-weight scale, so weights with large gradients are barely decayed.
#   **AdamW** (Loshchilov & Hutter, 2019) *decouples* the decay: $w \leftarrow w - \alpha\,\texttt{weight\_decay}\,w -
#   \alpha\cdot(\text{Adam step})$.
#
# ### Exercise 1 -- one SGD step with an L2 penalty (2 points)
# Implement `sgd_l2_step` (the lecture's update, for a tensor of weights) and `lecture_to_torch_weight_decay`
# (the `weight_decay` that makes `torch.optim.SGD` do the same step). Return a **new** tensor; do not modify `w`.
# The hidden tests compare your step with `torch.optim.SGD` on random tensors.

# %% nbgrader={"grade": false, "grade_id": "sgd_l2_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sgd_l2_step(w, grad, lr, lam, n):
    """One gradient-descent step with the lecture's L2 penalty.

    Args:
        w: weights, a float tensor of any shape.
        grad: dL/dw of the (mean) data loss, same shape as ``w``.
        lr: the learning rate alpha (a float > 0).
        lam: the lecture's regularisation strength lambda (a float >= 0).
        n: the number of training examples (an int >= 1).
    Returns:
        A new tensor, same shape as ``w``: w - lr * (grad + 2 * lam / n * w).
    """
    ### BEGIN SOLUTION
    return w - lr * (grad + 2.0 * lam / n * w)
    ### END SOLUTION


def lecture_to_torch_weight_decay(lam, n):
    """The ``weight_decay`` of ``torch.optim.SGD`` that gives the same update as ``sgd_l2_step``.

    Args:
        lam: the lecture's lambda (float >= 0); n: number of training examples (int >= 1).
    Returns:
        A float.
    """
    ### BEGIN SOLUTION
    return 2.0 * lam / n
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "sgd_l2_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 1
w = torch.tensor([1.0, -2.0, 0.5])
g = torch.tensor([0.1, 0.1, -0.2])
w_before = w.clone()
out = checks.call(sgd_l2_step, w, g, 0.1, 5.0, 100)
checks.check_close(w, w_before, "w after sgd_l2_step (it must not be modified)", verbose=False)
checks.check_shape(out, (3,), "sgd_l2_step(...)")
checks.check_close(out, [0.98, -1.99, 0.515], "sgd_l2_step(w=[1, -2, 0.5], grad=[0.1, 0.1, -0.2], lr=0.1, lam=5, n=100)")
checks.check_close(checks.call(lecture_to_torch_weight_decay, 5.0, 100), 0.1, "lecture_to_torch_weight_decay(5, 100)")
### BEGIN HIDDEN TESTS
def _torch_step(w, grad, lr, weight_decay):
    p = nn.Parameter(w.clone())
    opt = torch.optim.SGD([p], lr=lr, weight_decay=weight_decay)
    p.grad = grad.clone()
    opt.step()
    return p.detach()

_g = torch.Generator().manual_seed(6)
for _lr, _lam, _n in [(0.05, 3.0, 150), (0.5, 0.0, 10), (0.01, 40.0, 1000)]:
    _w = torch.randn(4, 7, generator=_g, dtype=torch.float64)
    _grad = torch.randn(4, 7, generator=_g, dtype=torch.float64)
    _wd = checks.call(lecture_to_torch_weight_decay, _lam, _n)
    checks.check_close(_wd, 2 * _lam / _n, f"lecture_to_torch_weight_decay({_lam}, {_n}): torch adds weight_decay*w "
                       f"to the gradient, the lecture adds (2*lambda/n)*w", verbose=False)
    _out = checks.call(sgd_l2_step, _w.clone(), _grad, _lr, _lam, _n)
    checks.check_shape(_out, (4, 7), "sgd_l2_step(...) on a 4x7 weight matrix")
    _plain = _w - _lr * _grad
    checks.check_true(_lam == 0 or not np.allclose(checks.as_array(_out), checks.as_array(_plain)),
                      "sgd_l2_step ignores the penalty: it returned the plain gradient step w - lr*grad")
    checks.check_close(_out, _torch_step(_w, _grad, _lr, 2 * _lam / _n),
                       f"sgd_l2_step(lr={_lr}, lam={_lam}, n={_n}) compared with torch.optim.SGD(weight_decay=2*lam/n)"
                       f" -- check the factor 2, the division by n and the sign of the decay", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### The same thing, checked against PyTorch
# This cell uses only PyTorch (not your answer). It checks the factor convention three ways on one step, then
# shows that Adam's `weight_decay` is *not* decoupled weight decay, while AdamW's is.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
w0 = torch.randn(5, 3)
X_small, y_small = torch.randn(8, 5), torch.randint(0, 3, (8,))
lr, lam, n = 0.1, 4.0, 8
wd = 2 * lam / n


def data_loss(w):
    return nn.functional.cross_entropy(X_small @ w, y_small)  # the mean over the n = 8 examples


def one_step(make_opt, extra_loss=lambda w: 0.0):
    w = nn.Parameter(w0.clone())
    opt = make_opt([w])
    (data_loss(w) + extra_loss(w)).backward()
    opt.step()
    return w.detach()


w_penalty = one_step(lambda ps: torch.optim.SGD(ps, lr=lr), lambda w: lam / n * (w ** 2).sum())
w_decay = one_step(lambda ps: torch.optim.SGD(ps, lr=lr, weight_decay=wd))
w_plain = one_step(lambda ps: torch.optim.SGD(ps, lr=lr))
print("SGD(weight_decay=2*lam/n) == SGD on loss + (lam/n)*||w||^2:", torch.allclose(w_decay, w_penalty, atol=1e-6))
print("... == plain step minus lr*(2*lam/n)*w:", torch.allclose(w_decay, w_plain - lr * wd * w0, atol=1e-6))

w_adam = one_step(lambda ps: torch.optim.Adam(ps, lr=lr))
w_adam_wd = one_step(lambda ps: torch.optim.Adam(ps, lr=lr, weight_decay=wd))
w_adamw = one_step(lambda ps: torch.optim.AdamW(ps, lr=lr, weight_decay=wd))
print("AdamW == Adam step minus lr*weight_decay*w (decoupled):", torch.allclose(w_adamw, w_adam - lr * wd * w0, atol=1e-6))
print("Adam(weight_decay) == Adam step minus lr*weight_decay*w:", torch.allclose(w_adam_wd, w_adam - lr * wd * w0, atol=1e-6))

# %% [markdown]
# **What to notice:** for SGD the three descriptions -- penalty in the loss, `weight_decay`, explicit shrinking --
# are the same update. Adam's own `weight_decay` puts the penalty gradient *through* Adam's normalisation (on the
# first step Adam's update is about ±lr whatever the gradient's size), so the decay is not $\alpha\lambda' w$; AdamW
# applies it outside, as the lecture's picture of "decay" suggests.
#
# ### 🔮 Predict first
# In the grid we trained the same network with `weight_decay` $= 10^{-2}$ and $3\cdot10^{-2}$. What happens to the
# *training* loss, and to the gap between training and validation loss?

# %%
fig, axes = new_figure(1, 2)
for wd_value in WEIGHT_DECAYS:
    c = grid[(0.0, wd_value)].curves()
    line, = axes[0].plot(c["epoch"], c["clean_train_loss"], ls="--", lw=1.2)
    axes[0].plot(c["epoch"], c["val_loss"], color=line.get_color(), label=f"weight_decay={wd_value:g}")
    w_norm = sum((p.detach() ** 2).sum() for name, p in grid[(0.0, wd_value)].model.named_parameters()
                 if name.endswith("weight")).sqrt().item()
    axes[1].bar(f"{wd_value:g}", w_norm, color=line.get_color())
axes[0].set(yscale="log", xlabel="epoch", ylabel="cross-entropy loss",
            title="L2: training (dashed) and validation (solid) loss")
axes[0].legend()
axes[1].set(xlabel="weight_decay", ylabel="‖W‖ (all weight matrices)", title="Size of the trained weights")
if fast_mode():  # while autograding: no figure, to keep grading fast
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()


# %% [markdown]
# **What to notice:** weight decay keeps the weights much smaller; the training loss can no longer go to zero (the
# penalty pulls the weights back), and the gap between training and validation loss shrinks. Too much decay
# ($3\cdot10^{-2}$ here) starts to *under*-fit: the validation loss is higher than with moderate decay.

# %% [markdown]
# ## L1 regularisation: sparse weights
# The lecture's heading is "L1 *or* L2". L1 penalises the absolute values, $\frac{\lambda}{n}\sum_{i,j}|w_{i,j}|$ on
# the mean loss (the same $\lambda/n$ convention as the L2 penalty $\frac{\lambda}{n}\sum w^2$, whose gradient gave
# the lecture's $\frac{2\lambda}{n}w$). Its gradient is $\frac{\lambda}{n}\operatorname{sign}(w)$: a pull of the
# **same size** towards zero for every weight, however small. L2's pull $\frac{2\lambda}{n}w$ shrinks with the
# weight, so L2 makes all weights small but almost never exactly zero; L1 pushes the unhelpful weights all the way
# to zero and leaves a **sparse** model (feature selection: a zero weight ignores its input).
#
# ### 🔮 Predict first
# We train a linear softmax classifier on the 150 training digits (64 pixels → 10 classes, 640 weights and 10
# biases) three ways: no penalty, L2 and L1, both penalties with $\lambda/n = 10^{-2}$, by plain gradient descent on
# the penalised loss. What fraction of the 640 weights ends up exactly zero in each, and what fraction very small?

# %%
def linear_classifier(penalty, strength, prox=None, steps=pick(full=400, fast=40), lr=0.5):
    """Full-batch gradient descent on a 64 -> 10 linear softmax classifier of the 150 training digits.

    penalty: None, "l2" ((strength) * sum w^2 added to the loss) or "l1" ((strength) * sum |w|). With ``prox``,
    a function prox(w, grad, lr, lam, n) like Exercise 2's, the L1 penalty is handled by that step instead
    (lam / n = strength). Returns the trained weights (10, 64) and the validation accuracy.
    """
    torch.manual_seed(0)
    lin = nn.Linear(64, 10)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(lin(split.x_train), split.y_train)
        if penalty == "l2":
            loss = loss + strength * (lin.weight ** 2).sum()
        elif penalty == "l1" and prox is None:
            loss = loss + strength * lin.weight.abs().sum()
        lin.zero_grad()
        loss.backward()
        with torch.no_grad():
            lin.bias -= lr * lin.bias.grad
            if prox is None:
                lin.weight -= lr * lin.weight.grad
            else:
                lin.weight.copy_(prox(lin.weight.clone(), lin.weight.grad.clone(), lr, strength, 1))
    with torch.no_grad():
        val_acc = float((lin(split.x_val).argmax(1) == split.y_val).float().mean())
    return lin.weight.detach(), val_acc


def sparsity_report(results):
    for name, (w_lin, val_acc) in results.items():
        print(f"{name:22s} weights exactly 0: {(w_lin == 0).float().mean():5.1%}   |w| < 0.01: "
              f"{(w_lin.abs() < 0.01).float().mean():5.1%}   validation accuracy {val_acc:.2f}")


sparse = {"no penalty": linear_classifier(None, 0.0), "L2": linear_classifier("l2", 1e-2),
          "L1, gradient steps": linear_classifier("l1", 1e-2)}
fig, ax_hist = new_figure()
for name, (w_lin, _) in sparse.items():
    ax_hist.hist(w_lin.flatten().numpy(), bins=np.linspace(-1, 1, 81), histtype="step", lw=1.5, label=name)
ax_hist.set(yscale="log", xlabel="weight value", ylabel="number of weights", title="The 640 weights after training")
ax_hist.legend()
if fast_mode():  # while autograding: no figure, to keep grading fast
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()

# %%
# NBVAL_CHECK_OUTPUT
sparsity_report(sparse)


# %% [markdown]
# **What to notice:** L2 shrinks the weights (19.4 % end below 0.01 in size, against 3.1 % without a penalty) but
# leaves none at exactly zero. L1 by gradient steps pushes 80.8 % of them below 0.01, at the same validation accuracy
# (0.90 against 0.91 without a penalty, a few of the 270 validation digits) -- but not one of them is exactly zero:
# each step overshoots zero and the next one comes back, so they jitter around it.
#
# A plain (sub)gradient step cannot land exactly on zero: it jumps over it by $\alpha\lambda/n$ and back. The
# **proximal** step does the two parts separately: first the gradient step on the data loss, then shrink every
# weight towards zero by $\alpha\lambda/n$ and set to **exactly 0** the ones that would cross it
# (*soft-thresholding*, the update of ISTA and of the lasso's solvers):
#
# $$v = w - \alpha\,\frac{\partial L}{\partial w}, \qquad
#   w^{t+1} = \operatorname{sign}(v)\,\max\!\Big(|v| - \frac{\alpha\lambda}{n},\; 0\Big).$$
#
# ### Exercise 2 -- the proximal L1 step (2 points)
# Implement `l1_proximal_step(w, grad, lr, lam, n)`: first the gradient step $v = w - \alpha\,\partial L/\partial w$,
# then soft-thresholding with threshold $\alpha\lambda/n$ (not $2\alpha\lambda/n$: the penalty is
# $\frac{\lambda}{n}\sum|w|$): weights with $|v| \le \alpha\lambda/n$ become exactly 0, the others move towards 0 by
# $\alpha\lambda/n$ keeping their sign. Return a **new** tensor of `w`'s shape and dtype; do not modify `w`. The hidden
# tests look for the classic slips: shrinking before the gradient step, letting a weight cross zero instead of
# stopping at 0, and the factor 2 of the L2 rule.

# %% nbgrader={"grade": false, "grade_id": "l1_prox_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def l1_proximal_step(w, grad, lr, lam, n):
    """One proximal gradient step for the penalty (lam / n) * sum(|w|).

    Args:
        w: weights, a float tensor of any shape.
        grad: dL/dw of the (mean) data loss, same shape as ``w``.
        lr: the learning rate alpha (a float > 0).
        lam: the regularisation strength lambda (a float >= 0).
        n: the number of training examples (an int >= 1).
    Returns:
        A new tensor like ``w``: v = w - lr * grad, then sign(v) * max(|v| - lr * lam / n, 0).
    """
    ### BEGIN SOLUTION
    v = w - lr * grad
    return torch.sign(v) * torch.clamp(v.abs() - lr * lam / n, min=0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "l1_prox_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 2
def _l1_mistakes(got, w, grad, lr, lam, n, label):
    """Name the classic slips of a proximal L1 step before the general comparison."""
    t = lr * lam / n
    v = w - lr * grad
    right = torch.sign(v) * (v.abs() - t).clamp(min=0)
    check_known_mistakes(got, right, {
        "shrink before the gradient step (the gradient step comes first, then the soft-threshold)":
            torch.sign(w) * (w.abs() - t).clamp(min=0) - lr * grad,
        "subtract the threshold without stopping at zero (a weight whose |v| is below the threshold must become "
        "exactly 0, not cross to the other sign)": v - t * torch.sign(v),
        "use the threshold 2 * lr * lam / n of the L2 rule (the L1 penalty (lam/n) * sum|w| has the gradient "
        "(lam/n) * sign(w))": torch.sign(v) * (v.abs() - 2 * t).clamp(min=0),
        "forget the learning rate in the threshold (it is lr * lam / n)": torch.sign(v) * (v.abs() - lam / n).clamp(min=0),
        "take a plain subgradient step w - lr * (grad + lam/n * sign(w)); it never lands exactly on 0":
            w - lr * (grad + lam / n * torch.sign(w)),
    }, label)
    checks.check_close(got, right, label, rtol=1e-6, atol=1e-9, verbose=False)


_w = torch.tensor([1.0, -0.01, 0.05, -2.0], dtype=torch.float64)
_grad = torch.tensor([0.5, 0.1, -0.1, 0.0], dtype=torch.float64)
_before = _w.clone()
_out = checks.call(l1_proximal_step, _w, _grad, 0.1, 3.0, 10)
checks.check_close(_w, _before, "w after l1_proximal_step (it must not be modified)", verbose=False)
checks.check_shape(_out, (4,), "l1_proximal_step(...)")
_l1_mistakes(_out, _before, _grad, 0.1, 3.0, 10, "l1_proximal_step(w=[1, -0.01, 0.05, -2], grad=[0.5, 0.1, -0.1, 0], "
             "lr=0.1, lam=3, n=10)")
checks.check_close(_out, [0.92, 0.0, 0.03, -1.97], "l1_proximal_step(w=[1, -0.01, 0.05, -2], grad=[0.5, 0.1, -0.1, 0], "
                   "lr=0.1, lam=3, n=10)", atol=1e-9)
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(16)
for _lr, _lam, _n in [(0.05, 3.0, 150), (0.5, 0.0, 10), (0.2, 40.0, 100), (1.0, 1.0, 1), (0.1, 50.0, 10)]:
    _w = torch.randn(6, 9, generator=_g, dtype=torch.float64)
    _grad = torch.randn(6, 9, generator=_g, dtype=torch.float64)
    _before = _w.clone()
    _label = f"l1_proximal_step(w (6, 9), grad, lr={_lr}, lam={_lam}, n={_n})"
    _out = checks.call(l1_proximal_step, _w, _grad, _lr, _lam, _n, name=_label)
    checks.check_close(_w, _before, f"w after {_label} (it must not be modified)", verbose=False)
    checks.check_shape(_out, (6, 9), _label)
    _l1_mistakes(_out, _before, _grad, _lr, _lam, _n, _label)
    _v = _before - _lr * _grad
    _zero = (_v.abs() <= _lr * _lam / _n).numpy()
    checks.check_true(bool((checks.as_array(_out)[_zero] == 0).all()),
                      f"{_label}: a weight with |v| <= lr*lam/n is not exactly 0; soft-thresholding sets it to 0.",
                      verbose=False)
_w32 = torch.randn(3, 4, generator=_g)
_out32 = checks.call(l1_proximal_step, _w32, torch.zeros(3, 4), 0.1, 2.0, 1)
checks.check_dtype(_out32, torch.float32, "l1_proximal_step on float32 weights", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Your proximal step at work
# This cell trains the same classifier with the L1 penalty handled by **your** `l1_proximal_step` (it prints a note
# instead if Exercise 2 is not done yet).
#
# ### 🔮 Predict first
# With the same $\lambda/n$, how many of the 640 weights will now be exactly zero -- and which pixels lose all ten
# of their weights?

# %%
# NBVAL_CHECK_OUTPUT
try:
    sparse["L1, proximal steps"] = linear_classifier("l1", 1e-2, prox=l1_proximal_step)
except Exception as err:  # the exercise is not done yet
    print(f"l1_proximal_step does not run yet ({type(err).__name__}): finish Exercise 2 to see this experiment.")
else:
    sparsity_report(sparse)
    fig, (ax_hist, ax_img) = new_figure(1, 2)
    for name, (w_lin, _) in sparse.items():
        ax_hist.hist(w_lin.flatten().numpy(), bins=np.linspace(-1, 1, 81), histtype="step", lw=1.5, label=name)
    ax_hist.set(yscale="log", xlabel="weight value", ylabel="number of weights", title="The 640 weights")
    ax_hist.legend(fontsize="small")
    used = (sparse["L1, proximal steps"][0] != 0).sum(0).reshape(8, 8)
    image = ax_img.imshow(used.numpy(), cmap="viridis", vmin=0, vmax=10)
    fig.colorbar(image, ax=ax_img, label="classes with a non-zero weight")
    ax_img.set(title="L1 (proximal): pixels still in use", xticks=[], yticks=[])
    if fast_mode():  # while autograding: no figure, to keep grading fast
        plt.close(fig)
    else:
        plt.show()


# %% [markdown]
# **What to notice:** with the proximal step 80.6 % of the weights are exactly zero (the gradient steps left the
# same weights jittering around zero), at the same validation accuracy, 0.90. Every weight of the left and right
# border columns, where the digits have almost no ink, is zero, and no pixel keeps more than 6 of its 10 class
# weights (right panel). A sparse model is cheaper to store and run and tells you which inputs it uses. In deep
# networks L1 on the weights is rare (L2 / weight decay and dropout dominate), but the same idea appears as sparsity
# penalties on activations and in pruning.

# %% [markdown]
# ## Early stopping
# The validation curve of Experiment 1 had its minimum long before the end. Early stopping keeps that minimum:
#
# 1. after each epoch, compute the validation loss;
# 2. if it improved by more than `min_delta` on the best so far, remember the epoch and **copy** the weights;
# 3. otherwise count one more epoch without improvement; when the count reaches `patience`, stop;
# 4. load the remembered (best) weights back into the model.
#
# Patience matters because validation curves are noisy: stopping at the first uptick risks stopping too early (the
# lecture's warning). **Why not the test split?** Choosing the stopping epoch *by* a data set is fitting a
# hyper-parameter to it. Stop on the test set and the reported test accuracy is the best of many looks -- an
# optimistic, biased estimate. The test split must be touched once, at the very end; the validation split is what
# we tune on.
#
# ### Exercise 3 -- an `EarlyStopping` helper (3 points)
# Complete the class. `step(val_loss, model)` is called once per epoch (epochs count 1, 2, 3, ...) and returns
# `True` when training should stop. A pitfall the hidden tests look for: `model.state_dict()` returns
# *references* to the live parameter tensors, which the optimiser keeps changing in place -- store a **copy**
# (e.g. `copy.deepcopy(model.state_dict())`), or `restore` will give you the *last* weights, not the best.

# %% nbgrader={"grade": false, "grade_id": "early_stopping_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` epochs; restore the best weights.

    Args:
        patience: number of epochs without improvement after which ``step`` returns True (int >= 1).
        min_delta: an epoch improves only if ``val_loss < best_loss - min_delta`` (float >= 0).
    Attributes (read by the tests):
        best_loss: lowest validation loss seen so far (``float("inf")`` before the first step).
        best_epoch: the epoch (1-based count of ``step`` calls) that gave ``best_loss``; None before.
        counter: epochs since the last improvement.
    Methods:
        step(val_loss, model) -> bool: record one epoch; save a copy of ``model``'s weights when it
            improves; return True when ``counter`` has reached ``patience``.
        restore(model): load the saved best weights into ``model``.
    """

    def __init__(self, patience=5, min_delta=0.0):
        ### BEGIN SOLUTION
        self.patience = patience
        self.min_delta = min_delta
        self.best_loss = float("inf")
        self.best_epoch = None
        self.counter = 0
        self.epoch = 0
        self.best_state = None
        ### END SOLUTION

    def step(self, val_loss, model):
        ### BEGIN SOLUTION
        self.epoch += 1
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss = val_loss
            self.best_epoch = self.epoch
            self.counter = 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.counter += 1
        return self.counter >= self.patience
        ### END SOLUTION

    def restore(self, model):
        ### BEGIN SOLUTION
        model.load_state_dict(self.best_state)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "early_stopping_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 3
def _run_stopper(losses, patience, min_delta=0.0):
    '''Feed the losses to a fresh EarlyStopping; the model's weight is set to the epoch number (in place,
    as an optimiser would) before each step. Returns the stopper, the step results and the model.'''
    model = nn.Linear(2, 1)
    stopper = checks.call(EarlyStopping, patience=patience, min_delta=min_delta)
    results = []
    for epoch, loss in enumerate(losses, start=1):
        with torch.no_grad():
            model.weight.fill_(float(epoch))
        results.append(checks.call(stopper.step, loss, model, name="EarlyStopping.step"))
    return stopper, results, model


stopper, results, model = _run_stopper([1.0, 0.8, 0.85, 0.9, 0.95], patience=3)
checks.check_equal(tuple(bool(r) for r in results), (False, False, False, False, True),
                   "step(...) results for val losses [1.0, 0.8, 0.85, 0.9, 0.95], patience 3")
checks.check_close(stopper.best_loss, 0.8, "best_loss")
checks.check_equal(stopper.best_epoch, 2, "best_epoch")
checks.call(stopper.restore, model, name="EarlyStopping.restore")
checks.check_true(model.weight.detach()[0, 0].item() == 2.0,
                  f"after restore the weights are those of epoch {model.weight.detach()[0, 0].item():g}, expected those of "
                  "the best epoch, 2. Did you store model.state_dict() itself (references to tensors that keep "
                  "changing) instead of a copy?", success="restore() brings back the best epoch's weights")
### BEGIN HIDDEN TESTS
# The counter resets after an improvement; the best weights are those of the later best epoch.
stopper, results, model = _run_stopper([1.0, 0.9, 0.95, 0.97, 0.85, 0.9, 0.91, 0.92], patience=3)
checks.check_equal(tuple(bool(r) for r in results), (False,) * 7 + (True,),
                   "step(...) results for [1.0, 0.9, 0.95, 0.97, 0.85, 0.9, 0.91, 0.92], patience 3 (the counter "
                   "must restart after the improvement at epoch 5, and stop after exactly 3 epochs without one)",
                   verbose=False)
checks.check_equal(stopper.best_epoch, 5, "best_epoch for that sequence", verbose=False)
checks.call(stopper.restore, model, name="EarlyStopping.restore")
checks.check_true(model.weight.detach()[0, 0].item() == 5.0,
                  f"after restore the weights are those of epoch {model.weight.detach()[0, 0].item():g}, expected the best "
                  "epoch, 5: restore must load a COPY of the weights saved at the best epoch, not the last weights",
                  verbose=False)
# Restoring twice still gives the best weights (the stored copy must not alias the model).
with torch.no_grad():
    model.weight.fill_(-1.0)
checks.call(stopper.restore, model, name="EarlyStopping.restore")
checks.check_true(model.weight.detach()[0, 0].item() == 5.0, "a second restore() did not bring back the best weights",
                  verbose=False)
# patience 1 stops at the first epoch without improvement.
_, results, _ = _run_stopper([0.5, 0.4, 0.45], patience=1)
checks.check_equal(tuple(bool(r) for r in results), (False, False, True),
                   "step(...) results with patience 1 for [0.5, 0.4, 0.45]", verbose=False)
# An equal loss is not an improvement.
stopper, results, _ = _run_stopper([0.5, 0.5, 0.5], patience=2)
checks.check_equal(tuple(bool(r) for r in results), (False, False, True),
                   "step(...) results for [0.5, 0.5, 0.5], patience 2 (an equal loss is no improvement)", verbose=False)
checks.check_equal(stopper.best_epoch, 1, "best_epoch for [0.5, 0.5, 0.5]", verbose=False)
# min_delta: small improvements do not count.
stopper, results, model = _run_stopper([1.0, 0.95, 0.93, 0.92], patience=3, min_delta=0.1)
checks.check_equal(tuple(bool(r) for r in results), (False, False, False, True),
                   "step(...) results for [1.0, 0.95, 0.93, 0.92] with min_delta 0.1, patience 3 (improvements "
                   "smaller than min_delta do not count)", verbose=False)
checks.check_equal(stopper.best_epoch, 1, "best_epoch with min_delta 0.1 for [1.0, 0.95, 0.93, 0.92]", verbose=False)
checks.check_close(stopper.best_loss, 1.0, "best_loss with min_delta 0.1", verbose=False)
stopper, results, _ = _run_stopper([1.0, 0.85, 0.8, 0.79, 0.78], patience=3, min_delta=0.1)
checks.check_equal(stopper.best_epoch, 2, "best_epoch with min_delta 0.1 for [1.0, 0.85, 0.8, 0.79, 0.78]",
                   verbose=False)
checks.check_equal(tuple(bool(r) for r in results), (False,) * 4 + (True,),
                   "step(...) results for [1.0, 0.85, 0.8, 0.79, 0.78] with min_delta 0.1, patience 3", verbose=False)
# A real network: restore gives the weights of the best epoch, parameter by parameter.
_net = make_mlp(4, 3, width=8, depth=2, seed=1)
_stopper = checks.call(EarlyStopping, patience=2)
_snapshots = []
_opt = torch.optim.SGD(_net.parameters(), lr=0.5)
for _loss in [0.9, 0.7, 0.8, 0.75]:
    _snapshots.append({k: v.clone() for k, v in _net.state_dict().items()})
    checks.call(_stopper.step, _loss, _net, name="EarlyStopping.step")
    _opt.zero_grad()
    _net(torch.ones(2, 4)).sum().backward()
    _opt.step()                              # the weights change in place, as in training
checks.call(_stopper.restore, _net, name="EarlyStopping.restore")
for _k, _v in _net.state_dict().items():
    checks.check_close(_v, _snapshots[1][_k], f"restored parameter {_k} (expected the weights of epoch 2, the best)",
                       verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Early stopping on the over-fitting network
# The demo uses `course_utils.regularization.BestWeights`, the same algorithm written as a callback for `fit`
# (it does not depend on your answer). Patience 10, on the validation loss.
#
# ### 🔮 Predict first
# At which epoch will training stop, roughly? Will the restored model have a lower validation loss than the final
# model of Experiment 1 -- and a lower *training* loss?

# %%
stopped = train_run(split, patience=10, epochs=EPOCHS, device=DEVICE)
fig = plot_run(stopped, title=f"Early stopping: best epoch {stopped.best_epoch}, stopped at epoch "
                              f"{stopped.stopped_epoch or EPOCHS} (patience 10)")
if fast_mode():  # while autograding: no figure, to keep grading fast
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()
print(f"validation loss: restored model {stopped.val_loss:.3f}, model trained for {EPOCHS} epochs {none.val_loss:.3f}")
print(f"training loss:   restored model {stopped.train_loss:.4f}, model trained for {EPOCHS} epochs {none.train_loss:.4f}")


# %% [markdown]
# **What to notice:** training stops `patience` epochs after the validation minimum (dash-dotted line) and the model
# goes back to the best epoch (dotted line): lower validation loss than training on, and -- as a side effect -- a
# higher training loss, since the network has had less time to memorise.
#
# ## Dropout
# During training, each hidden unit is kept with probability $1-p$ and zeroed with probability $p$, a fresh random
# mask for every example and every step. `nn.Dropout(p)` implements **inverted** dropout: the kept units are
# multiplied by $1/(1-p)$, so the expected value of every unit is unchanged, $\mathbb{E}[\tilde h_i] = (1-p)\cdot
# \frac{h_i}{1-p} + p\cdot 0 = h_i$, and in `eval()` mode the layer does nothing.
#
# The lecture's figure 31, redrawn: the same network with two dropout masks ($p = 0.5$ on the hidden units). Each
# training step trains one such thinned network; all of them share the weights of the full one.

# %%
def draw_network(ax, keep_masks, title):
    '''Draw a 4-6-6-3 MLP; hidden units whose mask entry is False are crossed out, their edges removed.'''
    sizes = [4, 6, 6, 3]
    kept = [torch.ones(4, dtype=torch.bool), *keep_masks, torch.ones(3, dtype=torch.bool)]
    pos = [[(i, (n - 1) / 2 - j) for j in range(n)] for i, n in enumerate(sizes)]
    for layer in range(3):
        for a, (xa, ya) in enumerate(pos[layer]):
            for b, (xb, yb) in enumerate(pos[layer + 1]):
                if kept[layer][a] and kept[layer + 1][b]:
                    ax.plot([xa, xb], [ya, yb], color="0.6", lw=0.8, zorder=1)
    for layer, units in enumerate(pos):
        for j, (x_, y_) in enumerate(units):
            on = bool(kept[layer][j])
            ax.scatter(x_, y_, s=260, zorder=2, color="C0" if on else "white", edgecolors="k")
            if not on:
                ax.plot(x_, y_, marker="x", color="C5", markersize=12, mew=2, zorder=3)
    ax.set(title=title, xticks=range(4), xticklabels=["input", "hidden 1", "hidden 2", "output"], yticks=[])
    ax.grid(False)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)


steps = [  # keep masks (1 = kept) of hidden layers 1 and 2 at two training steps, as p = 0.5 might draw them
    [torch.tensor([1, 0, 1, 1, 0, 0]), torch.tensor([0, 1, 1, 0, 1, 0])],
    [torch.tensor([0, 1, 0, 1, 1, 1]), torch.tensor([1, 0, 0, 1, 0, 1])],
]
fig, axes = new_figure(1, 3, width=13, height=3.6)
draw_network(axes[0], [torch.ones(6, dtype=torch.bool)] * 2, "full network (test time)")
for k, masks in enumerate(steps, start=1):
    draw_network(axes[k], [m.bool() for m in masks], f"training step {k}: a thinned network")
if fast_mode():  # while autograding: no figure, to keep grading fast
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()


# %% [markdown]
# **What to notice:** every step uses a different sub-network, so no unit can rely on a particular other unit being
# present; at test time all units are on.
#
# ### Exercise 4 -- inverted dropout (3 points)
# Implement `inverted_dropout(x, p, training, generator)`. Use `generator` for **all** the randomness (e.g.
# `torch.rand(x.shape, generator=generator)`), so that the same seed gives the same mask. The checks are
# statistical: on a large tensor about a fraction $p$ of the entries must be zero and the mean must be preserved.
# The hidden tests look for the classic mistakes: dropping with probability $1-p$ instead of $p$, forgetting the
# $1/(1-p)$ rescale, and dropping in evaluation mode.

# %% nbgrader={"grade": false, "grade_id": "inverted_dropout_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def inverted_dropout(x, p, training=True, generator=None):
    """Inverted dropout, as torch.nn.functional.dropout computes it.

    Args:
        x: a float tensor of any shape (on the CPU).
        p: the probability of DROPPING each entry, 0 <= p < 1.
        training: if False (evaluation), return x unchanged (a copy or x itself).
        generator: a torch.Generator; draw every random number from it.
    Returns:
        A tensor with the shape and dtype of x: each entry is 0 with probability p, else x / (1 - p),
        independently. ``x`` itself is not modified.
    """
    ### BEGIN SOLUTION
    if not training or p == 0:
        return x.clone()
    keep = torch.rand(x.shape, generator=generator) >= p
    return x * keep.to(x.dtype) / (1.0 - p)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "inverted_dropout_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 4
def _dropout_stats(p, x, seed=0, training=True):
    x_before = x.clone()
    out = checks.call(inverted_dropout, x, p, training, torch.Generator().manual_seed(seed))
    checks.check_close(x, x_before, "x after inverted_dropout (it must not be modified)", verbose=False)
    checks.check_shape(out, tuple(x.shape), f"inverted_dropout(x, p={p})")
    checks.check_dtype(out, x.dtype, f"inverted_dropout(x, p={p})")
    return out, (out == 0).double().mean().item()


x = torch.ones(200, 500)
out, zeros = _dropout_stats(0.3, x)
checks.check_true(abs(zeros - 0.3) < 0.01,
                  f"with p=0.3, {zeros:.1%} of the entries are zero; about 30% should be. p is the probability "
                  f"of DROPPING a unit (PyTorch's convention).", success=f"p=0.3 zeroes {zeros:.1%} of the entries")
checks.check_close(out[out != 0], torch.full_like(out[out != 0], 1 / 0.7),
                   "the kept entries of inverted_dropout(ones, p=0.3) (each should be 1/(1-p))", verbose=False)
checks.check_true(abs(out.mean().item() - 1.0) < 0.02,
                  f"the mean of inverted_dropout(ones, p=0.3) is {out.mean().item():.3f}; inverted dropout keeps the "
                  "expected value, so it should be close to 1", success="the mean is preserved")
out_eval = checks.call(inverted_dropout, x, 0.3, False, torch.Generator().manual_seed(0))
checks.check_true(bool((checks.as_array(out_eval) == 1.0).all()),
                  "inverted_dropout(ones, p=0.3, training=False) changed some entries: in evaluation mode nothing is "
                  "dropped and nothing is rescaled", success="training=False returns x unchanged")
### BEGIN HIDDEN TESTS
# p = 0.2: catches keeping units with probability p (dropping with 1 - p).
_x = torch.rand(300, 400, generator=torch.Generator().manual_seed(11), dtype=torch.float64) + 0.5
_out, _zeros = _dropout_stats(0.2, _x, seed=3)
checks.check_true(abs(_zeros - 0.2) < 0.01,
                  f"with p=0.2, {_zeros:.1%} of the entries are zero; about 20% should be. Did you drop with "
                  "probability 1-p (keep a unit when rand < p)? p is the probability of DROPPING.", verbose=False)
_kept = _out != 0
checks.check_true(not torch.allclose(_out[_kept], _x[_kept]),
                  "the kept entries equal x: you forgot to rescale them by 1/(1-p), so the expected activation "
                  "shrinks to (1-p)*x", verbose=False)
checks.check_close(_out[_kept], _x[_kept] / 0.8, "the kept entries for p=0.2 (should be x/(1-p))", verbose=False)
_ratio = (_out.sum() / _x.sum()).item()
checks.check_true(abs(_ratio - 1.0) < 0.01,
                  f"sum(dropout(x)) / sum(x) = {_ratio:.3f} for p=0.2; inverted dropout preserves the expected value "
                  "(ratio close to 1)", verbose=False)
# p = 0.75, float64: fraction and rescale again.
_out, _zeros = _dropout_stats(0.75, _x, seed=4)
checks.check_true(abs(_zeros - 0.75) < 0.01, f"with p=0.75, {_zeros:.1%} of the entries are zero, expected about 75%",
                  verbose=False)
checks.check_close(_out[_out != 0], _x[_out != 0] * 4.0, "the kept entries for p=0.75 (should be x/(1-p) = 4x)",
                   verbose=False)
# Evaluation mode: no dropping, no scaling -- for every p.
for _p in (0.2, 0.5, 0.9):
    _ev = checks.call(inverted_dropout, _x, _p, False, torch.Generator().manual_seed(5))
    checks.check_true(bool((_ev == 0).sum() == 0),
                      f"inverted_dropout(x, p={_p}, training=False) zeroed {int((_ev == 0).sum())} entries: in "
                      "evaluation mode nothing is dropped", verbose=False)
    checks.check_close(_ev, _x, f"inverted_dropout(x, p={_p}, training=False) (should return x unchanged)",
                       verbose=False)
# p = 0 in training: identity.
checks.check_close(checks.call(inverted_dropout, _x, 0.0, True, torch.Generator().manual_seed(5)), _x,
                   "inverted_dropout(x, p=0, training=True)", verbose=False)
# The generator decides the mask: same seed, same output; another seed, another mask.
_a = checks.call(inverted_dropout, _x, 0.5, True, torch.Generator().manual_seed(7))
torch.manual_seed(123)                    # the global generator must play no part
_b = checks.call(inverted_dropout, _x, 0.5, True, torch.Generator().manual_seed(7))
_c = checks.call(inverted_dropout, _x, 0.5, True, torch.Generator().manual_seed(8))
checks.check_close(_a, _b, "two calls with generators seeded alike must give the same output (draw the mask "
                   "from `generator`)", verbose=False)
checks.check_true(not torch.equal(_a, _c), "generators with different seeds gave the same mask", verbose=False)
# Units are dropped independently: not whole rows or columns.
for _dim, _what in ((1, "rows"), (0, "columns")):
    _frac = (_a == 0).double().mean(dim=_dim)
    checks.check_true(bool(((_frac > 0.3) & (_frac < 0.7)).all()),
                      f"with p=0.5 the fraction of zeros varies wildly between {_what} (from {_frac.min():.2f} to "
                      f"{_frac.max():.2f}): draw an independent random number for every entry", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Inverted dropout and "scale at test time" are equal in expectation
# The cell below uses `torch.nn.functional.dropout` (not your answer). For one vector of activations $h$ it draws
# 20 000 masks and compares averages with what each version uses at test time.

# %%
# NBVAL_CHECK_OUTPUT
p = 0.5
torch.manual_seed(0)
h = torch.rand(6) + 0.5                                       # some positive activations
masks = (torch.rand(20000, 6) >= p).float()                   # 1 = kept, with probability 1 - p
lecture_train = masks * h                                     # lecture: drop, no scaling...
lecture_test = (1 - p) * h                                    # ...then scale by the KEEP probability at test time
inverted_train = nn.functional.dropout(h.expand(20000, 6), p=p, training=True)
inverted_test = nn.functional.dropout(h, p=p, training=False)  # = h
print("lecture:  mean over masks == (1-p) * h:", torch.allclose(lecture_train.mean(0), lecture_test, atol=0.02))
print("inverted: mean over masks == h:        ", torch.allclose(inverted_train.mean(0), inverted_test, atol=0.03))
print("the two versions differ by the constant factor 1-p:", torch.allclose(lecture_test / (1 - p), inverted_test))
print("nn.Dropout(0.5) on ones, train mode, takes the values:", sorted(set(nn.Dropout(0.5).train()(torch.ones(1000)).tolist())))

# %% [markdown]
# **What to notice:** the two conventions differ only by the constant factor $1-p$ on one layer's output, which the
# next layer's weights absorb: a network trained with one convention can be converted exactly into the other by
# rescaling weights. PyTorch's choice means `model.eval()` is all you need at test time.
#
# **The ensemble view.** A network with $N$ droppable units has $2^N$ "thinned" sub-networks that share weights;
# each training step trains one of them. At test time, the ideal prediction would be the *average* over all of
# them -- an ensemble. The deterministic eval-mode network is a cheap approximation of that average (the "weight
# scaling rule"): exact for one linear layer, only approximate through non-linearities. MC dropout computes the
# average by sampling instead.
#
# ### Dropout on the over-fitting network
#
# ### 🔮 Predict first
# With dropout $p = 0.75$ (three quarters of the hidden units off at every step), will the training loss that `fit`
# reports be above or below the validation loss?

# %%
heavy = grid[(DROPOUTS[-1], 0.0)]
fig = plot_run(heavy, title=f"Dropout p = {DROPOUTS[-1]}", reference=none)
if fast_mode():  # while autograding: no figure, to keep grading fast
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()
c = heavy.curves()
below = np.mean(np.array(c["val_loss"]) < np.array(c["train_loss"]))
print(f"validation loss below the training loss that fit reports in {below:.0%} of the epochs")

# %%
# NBVAL_CHECK_OUTPUT
print("with heavy dropout, validation loss below reported training loss in most epochs:", below > 0.5)
print("training loss re-measured with dropout off is below the validation loss at the end:",
      heavy.clean_train_loss[-1] < heavy.history.val_loss[-1])


# %% [markdown]
# **What to notice:** the training loss that the training loop reports (green) lies *above* the validation loss for
# the whole run, which looks impossible for a model that has seen the training data. The third curve --
# the same training set, measured again after each epoch in evaluation mode -- is below the validation loss, as
# usual. Why? That is the free-response question below.
#
# ### Free response (3 points, graded by your instructor)
# The lecture notes: *"when you use Dropout layers, you may notice that the validation/test loss seems better
# than the training loss! Why?"* Explain, using the figure above. Name at least two reasons, and say how you would
# check which training loss is the fair one to compare with the validation loss.

# %% [markdown] nbgrader={"grade": true, "grade_id": "free_response_val_below_train", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# The training loss that the loop reports is computed **with dropout on**: every example goes through a thinned
# network that has lost a fraction $p$ of its hidden units (a random, weaker sub-network), and the noise of the
# masks adds to the loss. The validation loss is computed in `eval()` mode with **every unit active**, i.e. the
# full network -- which approximates the average of the whole ensemble of sub-networks and is better than a typical
# member. So the two numbers are not measured on the same model. A second, smaller reason: the reported training
# loss is an average over the epoch's mini-batches, measured while the weights were still improving, whereas the
# validation loss is measured once, after the epoch with the final weights. (Regularisation penalties added to the
# training loss, or a validation set that happens to be easier, can also contribute.)
#
# The fair comparison re-evaluates the **training set in eval mode** after the epoch (the "dropout off" curve):
# that loss is below the validation loss, and the usual generalisation gap reappears.
#
# **Mark scheme (3 points):** 1 point: the reported training loss uses dropout (thinned, noisy network) while
# validation runs in eval mode with all units. 1 point: a second valid reason -- the epoch average is taken while
# the weights change (half an epoch behind), or the eval-mode network acts as an ensemble average, or an added
# penalty / an easier validation set. 1 point: the check -- re-evaluate the training set with `model.eval()` (or
# `torch.no_grad()` in eval mode) after the epoch and compare that with the validation loss.

# %% [markdown]
# ## MC dropout: dropout at test time as an uncertainty estimate
# Keeping dropout **on** at test time and averaging the predicted probabilities over many masks gives the
# Monte-Carlo estimate of the ensemble average (Gal & Ghahramani, 2016). The spread of the predictions across masks
# is a rough measure of how unsure the network is.
#
# ### Exercise 5 -- MC-dropout prediction (2 points)
# Implement `mc_dropout_predict(model, x, n_samples)`. Switch **only the `nn.Dropout` modules** to training mode
# (a model may also contain batch norm, which must keep using its running statistics), run `n_samples` forward
# passes without gradients, take the softmax of each, and return the mean and the standard deviation (biased,
# `correction=0`) of these **probabilities** over the samples -- not the softmax of the mean logits. Put every
# module back in the mode it was in. Hints: `model.modules()`, `isinstance(m, nn.Dropout)`, `torch.no_grad()`,
# `torch.stack`.

# %% nbgrader={"grade": false, "grade_id": "mc_dropout_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mc_dropout_predict(model, x, n_samples=100):
    """Monte-Carlo dropout: class probabilities averaged over random dropout masks.

    Args:
        model: a classifier returning logits (N, C); it may contain nn.Dropout and other layers (e.g. batch
            norm), and is usually in eval mode when called.
        x: inputs, shape (N, ...).
        n_samples: number of stochastic forward passes (>= 2).
    Returns:
        (mean, std): two tensors of shape (N, C) without gradient tracking: the mean and the standard
        deviation (over the samples; correction=0) of softmax(model(x)), with dropout ON and every other
        module in its usual mode. Afterwards every module is in the training/eval mode it was in before.
    """
    ### BEGIN SOLUTION
    modes = [(m, m.training) for m in model.modules()]
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    try:
        with torch.no_grad():
            probs = torch.stack([torch.softmax(model(x), dim=1) for _ in range(n_samples)])
    finally:
        for m, mode in modes:
            m.train(mode)
    return probs.mean(dim=0), probs.std(dim=0, correction=0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mc_dropout_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 5
_net = make_mlp(4, 3, width=32, depth=2, dropout=0.5, seed=0).eval()
_x = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
torch.manual_seed(0)
result = checks.call(mc_dropout_predict, _net, _x, 200)
checks.check_type(result, tuple, "mc_dropout_predict(...)")
mean, std = result
checks.check_shape(mean, (5, 3), "mean")
checks.check_shape(std, (5, 3), "std")
checks.check_close(mean.sum(dim=1), torch.ones(5), "mean.sum(dim=1) (each row is a probability distribution)")
checks.check_true(bool((std > 1e-4).any()),
                  "every std is 0: dropout was not active. Switch the nn.Dropout modules to training mode.",
                  success="the samples differ: dropout is on")
checks.check_true(not _net.training and not any(m.training for m in _net.modules()),
                  "after mc_dropout_predict the model is no longer in eval mode: restore every module's mode",
                  success="the model is back in eval mode")
### BEGIN HIDDEN TESTS
def _reference_mc(model, x, n):
    modes = [(m, m.training) for m in model.modules()]
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    with torch.no_grad():
        probs = torch.stack([torch.softmax(model(x), dim=1) for _ in range(n)])
    for m, mode in modes:
        m.train(mode)
    return probs.mean(0), probs.std(0, correction=0)

# Average the probabilities, not the logits: one dropped unit feeding large logits. Dropout keeps the unit
# (value 2) or drops it (0) with probability 1/2, so the mean of the softmaxes is about (2/3, 1/6, 1/6), while
# the softmax of the mean logits, softmax((10, 0, -10)), is almost (1, 0, 0).
_two = nn.Sequential(nn.Dropout(0.5), nn.Linear(1, 3)).eval()
with torch.no_grad():
    _two[1].weight.copy_(torch.tensor([[10.0], [0.0], [-10.0]]))
    _two[1].bias.zero_()
_one = torch.ones(4, 1)
_right = 0.5 * torch.softmax(torch.zeros(3), 0) + 0.5 * torch.softmax(torch.tensor([20.0, 0.0, -20.0]), 0)
_logit_avg = torch.softmax(torch.tensor([10.0, 0.0, -10.0]), 0)
torch.manual_seed(5)
_mean2, _ = checks.call(mc_dropout_predict, _two, _one, 400)
_mean2 = torch.as_tensor(checks.as_array(_mean2, "mean"))
checks.check_true(not bool(torch.allclose(_mean2, _logit_avg.expand(4, 3).double(), atol=0.05)),
                  "mc_dropout_predict averaged the logits and then took one softmax. MC dropout averages the "
                  "probabilities: take the softmax of EACH sample, then the mean over the samples.", verbose=False)
checks.check_close(_mean2, _right.expand(4, 3), "the MC mean for a network whose dropout decides between two very "
                   "different logit vectors (expected about 2/3, 1/6, 1/6)", atol=0.1, rtol=0, verbose=False)
torch.manual_seed(1)
_ref_mean, _ref_std = _reference_mc(_net, _x, 1000)
torch.manual_seed(2)
mean, std = checks.call(mc_dropout_predict, _net, _x, 500)
checks.check_true(not mean.requires_grad and not std.requires_grad,
                  "mean/std track gradients: run the forward passes under torch.no_grad()", verbose=False)
checks.check_close(mean, _ref_mean, "the MC mean of the softmax probabilities (500 samples; compared with 1000)",
                   atol=0.03, rtol=0, verbose=False)
checks.check_close(std, _ref_std, "the MC standard deviation of the softmax probabilities", atol=0.03, rtol=0,
                   verbose=False)
# A model with batch norm in eval mode: batch norm must keep its running statistics (and not update them).
_bn = make_mlp(4, 3, width=32, depth=2, norm="batch", dropout=0.3, seed=2)
_bn.train()
with torch.no_grad():
    for _ in range(20):
        _bn(torch.randn(64, 4) * 2 + 1)          # give the running statistics non-trivial values
_bn.eval()
_buffers = {k: v.clone() for k, v in _bn.state_dict().items()}
torch.manual_seed(3)
_ref_mean, _ = _reference_mc(_bn, _x, 1000)
torch.manual_seed(4)
mean, std = checks.call(mc_dropout_predict, _bn, _x, 500)
for _k, _v in _bn.state_dict().items():
    checks.check_close(_v, _buffers[_k], f"{_k} after mc_dropout_predict (switch only the Dropout modules to train "
                       "mode: model.train() also makes batch norm use and update batch statistics)", verbose=False)
checks.check_close(mean, _ref_mean, "the MC mean for a model with batch norm (only Dropout may be in train mode)",
                   atol=0.03, rtol=0, verbose=False)
checks.check_true(not any(m.training for m in _bn.modules()),
                  "after mc_dropout_predict some modules are left in training mode", verbose=False)
# A model in training mode stays in training mode.
_net.train()
checks.call(mc_dropout_predict, _net, _x, 5)
checks.check_true(all(m.training for m in _net.modules()),
                  "a model that was in training mode was not put back in training mode", verbose=False)
_ = _net.eval()
### END HIDDEN TESTS

# %% [markdown]
# ### MC dropout on the digits
# The demo uses your `mc_dropout_predict` from Exercise 5 on the network
# trained with $p = 0.5$, over the 269 test digits (this is evaluation of a finished model, not tuning).
#
# ### 🔮 Predict first
# Will the MC spread be larger for the digits the network gets wrong than for those it gets right?

# %%
dropout_run = grid[(0.5, 0.0)]
model = dropout_run.model.eval()
torch.manual_seed(0)
x_test, y_test = split.x_test.to(DEVICE), split.y_test.to(DEVICE)
mc_mean, mc_std = mc_dropout_predict(model, x_test, n_samples=pick(full=200, fast=10))
with torch.no_grad():
    det = torch.softmax(model(x_test), dim=1)
predicted = mc_mean.argmax(1)
spread = mc_std.gather(1, predicted[:, None])[:, 0].cpu()           # std of the predicted class's probability
correct = (predicted == y_test).cpu()
fig, ax = new_figure()
bins = np.linspace(0, float(spread.max()) + 1e-3, 25)
ax.hist(spread[correct].numpy(), bins=bins, alpha=0.7, density=True, label=f"correct ({int(correct.sum())})")
ax.hist(spread[~correct].numpy(), bins=bins, alpha=0.7, density=True, label=f"wrong ({int((~correct).sum())})")
ax.set(xlabel="MC-dropout std of the predicted class's probability", ylabel="density",
       title="MC dropout: the network is less sure when it is wrong")
ax.legend()
if fast_mode():  # while autograding: no figure, to keep grading fast
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()
print(f"test accuracy: deterministic (eval mode) {(det.argmax(1) == y_test).float().mean():.3f}, "
      f"MC average {(predicted == y_test).float().mean():.3f}")
print(f"largest gap between deterministic and MC-averaged probabilities: {(det - mc_mean).abs().max():.3f}")

# %%
# NBVAL_CHECK_OUTPUT
print("mean spread larger on wrong predictions than on right ones:", bool(spread[~correct].mean() > spread[correct].mean()))

# %% [markdown]
# **What to notice:** the eval-mode network and the MC average agree on almost every digit (the weight-scaling rule
# is a good approximation), but the probabilities are not identical. The spread is a useful warning sign: the
# misclassified digits have clearly larger spread than the correct ones -- not a calibrated probability, but
# information the single deterministic prediction does not give.
#
# ## Results: which regulariser helps?
# Five configurations of the same network, data and seed: nothing, L2 (`weight_decay` $=10^{-2}$), dropout
# ($p=0.5$), early stopping (patience 10), and all three. Only now do we evaluate on the **test** split, once per
# configuration. "Acc gap" is training minus validation accuracy, "loss gap" validation minus training loss, both
# with dropout off.
#
# ### 🔮 Predict first
# Which row has the smallest loss gap? Will any regulariser change the test accuracy by more than a couple of
# percentage points?

# %%
everything = train_run(split, dropout=0.5, weight_decay=1e-2, patience=10, epochs=EPOCHS, device=DEVICE)
table = {
    "none": none,
    "L2 (wd 1e-2)": grid[(0.0, 1e-2)],
    "dropout (p 0.5)": grid[(0.5, 0.0)],
    "early stopping": stopped,
    "all three": everything,
}
print(format_table(table))
fig, (ax_acc, ax_gap) = new_figure(1, 2)
names = list(table)
test_acc = np.array([r.test_acc for r in table.values()])
std_err = np.sqrt(test_acc * (1 - test_acc) / len(split.y_test))       # binomial standard error
ax_acc.bar(names, test_acc, yerr=std_err, capsize=4, label="test accuracy ± 1 standard error")
ax_acc.set(ylim=(0.8, 1.0), ylabel="test accuracy", title="Test accuracy (one seed)")
ax_acc.legend(loc="upper left")
ax_gap.bar(names, [r.gap_loss for r in table.values()], color="C1", label="validation - training loss")
ax_gap.set(ylabel="loss gap", title="Over-fitting: the loss gap")
ax_gap.legend(loc="upper right")
for ax in (ax_acc, ax_gap):
    ax.tick_params(axis="x", labelrotation=25)
if fast_mode():  # while autograding: no figure, to keep grading fast
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()

# %%
# NBVAL_CHECK_OUTPUT
gaps = {name: run.gap_loss for name, run in table.items()}
print("every regulariser shrinks the val - train loss gap:", all(g < gaps["none"] for name, g in gaps.items() if name != "none"))
print("all test accuracies between 85% and 97%:", all(0.85 <= r.test_acc <= 0.97 for r in table.values()))
print("test accuracies within 5 points of each other:", max(r.test_acc for r in table.values())
      - min(r.test_acc for r in table.values()) <= 0.05)

# %% [markdown]
# **What to notice:** every regulariser shrinks the loss gap, most of all in combination; the differences in test
# accuracy are small. Be honest about them: the test split has 269 digits, so one digit is 0.37 percentage points
# and the standard error of an accuracy near 92 % is about 1.7 points -- differences of one or two points between
# rows are within the noise of a single seed. To claim that one regulariser *beats* another you would repeat the
# runs over several seeds and splits. What the table shows reliably is the mechanism: smaller weights, noisier
# training or fewer epochs all make the network memorise less.
#
# ## Widget: dropout × weight decay
# Every point of the grid is a real training run made in Experiment 1, so moving a slider only looks a run up
# (`course_utils.regularization_explorer` draws it). The
# right panel shows the final validation accuracy for the whole grid; the square marks the current setting.
#
# ### 🔮 Predict first
# Start at $p = 0$, weight decay $0$. Which direction do you have to move to make the training and validation
# curves meet -- and when do they meet because *both* got worse?

# %%
app = regularization_explorer(grid, DROPOUTS, WEIGHT_DECAYS)
app

# %%
state = app.update(dropout=DROPOUTS[-1], weight_decay=WEIGHT_DECAYS[-1])
print(f"p={DROPOUTS[-1]}, decay {WEIGHT_DECAYS[-1]}: val - train loss {state.data['run'].gap_loss:.3f}, "
      f"train accuracy {state.data['run'].train_acc:.3f}")

# %% [markdown]
# **What to notice:** with no regularisation the curves are far apart; more dropout or more decay brings the
# training and validation losses closer. At the far corner (heavy dropout *and* strong decay) the training accuracy
# itself drops below 100 % and the validation accuracy is the worst of the grid: that is under-fitting -- the gap
# closes because the training fit got worse, not because the validation fit got better. The best validation
# accuracy is at moderate settings (one seed, so differences of a point or two are noise).
#
# ## Check your understanding
# 1. You train with `torch.optim.SGD(..., weight_decay=1e-3)` on 10 000 examples. What is the lecture's $\lambda$?
# 2. Your colleague picks the patience and the stopping epoch by looking at the test accuracy curve, then reports
#    the test accuracy at that epoch. What is wrong with the number?
# 3. A network was trained with `nn.Dropout(0.3)`. Its predictions change every time you call it on the same input.
#    What did your colleague forget?
# 4. In the lecture's convention (no scaling during training), what must you multiply the activations by at test
#    time for $p = 0.3$ (probability of dropping)?
# 5. Why is Adam's `weight_decay` not the same as AdamW's?
#
# <details><summary>Answers</summary>
#
# 1. $\texttt{weight\_decay} = 2\lambda/n$, so $\lambda = 10^{-3}\cdot 10\,000/2 = 5$.
# 2. The test set was used to choose a hyper-parameter (when to stop), so the reported accuracy is optimistically
#    biased; it is no longer an estimate on unseen data. Use the validation split to stop, then test once.
# 3. `model.eval()`: in training mode dropout keeps drawing new masks.
# 4. By the keep probability $1 - p = 0.7$ (not by $p$, as a literal reading of the lecture slide suggests).
# 5. Adam adds `weight_decay * w` to the gradient *before* its per-weight normalisation, so the decay is rescaled
#    weight by weight (it is an L2 penalty, not decay); AdamW shrinks the weights directly by `lr * weight_decay * w`.
# </details>
#
# ## Summary
# * Over-fitting shows as a growing gap between training and validation curves; a small training set and a big
#   network make it easy to provoke.
# * L2: $w \leftarrow w - \alpha(\partial L/\partial w + \frac{2\lambda}{n}w)$; in PyTorch's SGD,
#   `weight_decay` $= 2\lambda/n$ (penalty $\frac{\texttt{weight\_decay}}{2}\lVert w\rVert^2$ on the mean loss).
#   Adam's `weight_decay` is an L2 penalty; AdamW decouples the decay.
# * L1, $\frac{\lambda}{n}\sum|w|$, pulls every weight towards zero with the same force; its proximal step
#   (soft-thresholding) sets many weights to exactly zero -- a sparse model -- where L2 only shrinks them.
# * Early stopping watches the validation loss with patience and restores a *copy* of the best weights; the test
#   split is never used to decide anything.
# * Dropout zeroes units with probability $p$ during training; inverted dropout rescales by $1/(1-p)$ then so
#   nothing changes at test time -- equal in expectation to scaling by $1-p$ at test time. It trains an ensemble of
#   weight-sharing sub-networks; MC dropout samples that ensemble at test time to estimate uncertainty.
# * With dropout, the training loss a loop reports is measured on thinned networks; compare losses in eval mode.
# * On small data the effects on test accuracy are small and noisy; judge them over several seeds.
#
# ## Further reading
# * Lecture: *Regularization*, *L1 or L2 regularization*, *Early stopping*, *Dropout* (figure 31).
# * N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever, R. Salakhutdinov, *Dropout: A Simple Way to Prevent
#   Neural Networks from Overfitting*, JMLR 2014.
# * I. Loshchilov and F. Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019 (AdamW).
# * Y. Gal and Z. Ghahramani, *Dropout as a Bayesian Approximation*, ICML 2016 (MC dropout).
# * L. Prechelt, *Early Stopping -- But When?*, in *Neural Networks: Tricks of the Trade*, 1998.
# * Goodfellow, Bengio and Courville, *Deep Learning*, chapter 7 (regularisation), sections 7.1, 7.8 and 7.12.
