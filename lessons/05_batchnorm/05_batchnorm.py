# ---
# jupyter:
#   course:
#     budget_s: 90
#     gpu: false
#     minutes: 105
#     title: 'Normalisation: input standardisation, batch norm and layer norm'
#     topics: input standardisation and whitening, batch norm in train and eval modes,
#       learning-rate range with and without it, the model.eval() pitfall, residual
#       variance growth, layer norm
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Normalisation: input standardisation, batch norm and layer norm
#
# **Time:** about 105 minutes · **Level:** after the lectures on training deep networks · **Prerequisites:** notebooks
# 00–02 (training loops, ReLU, He initialisation); mini-batch gradient descent; mean and variance.
#
# ## Learning objectives
# By the end of this notebook you can:
# 1. explain why correlated, unscaled inputs make a "ravine" that slows gradient descent, and fix it by
#    standardising (or whitening) with **training-split statistics only**;
# 2. implement batch normalisation for `(N, D)` inputs in training and evaluation mode -- batch statistics, the
#    learned scale γ and shift β (the lecture's δ), running statistics with momentum -- exactly as
#    `torch.nn.BatchNorm1d` does;
# 3. measure how batch norm widens the range of learning rates a deep (12-layer) network trains with, and say
#    what is known -- and what is not -- about why;
# 4. recognise the forgotten-`model.eval()` bug, and the growth of variance with depth in residual networks
#    without normalisation;
# 5. use layer normalisation as the batch-independent alternative and count the parameters and buffers
#    normalisation layers add.

# %% [markdown]
# Everything runs on a laptop CPU in about two minutes (the grids of training runs are the slowest part).
# While nbgrader grades (or in CI's fast mode) the experiments shrink, so some numbers printed then differ from a
# full run.

# %%
# %matplotlib inline
import copy
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from course_utils import checks
from course_utils.bn_explorer import bn_explorer, smooth
from course_utils.data import load_digits, train_val_test_split
from course_utils.initialization import init_normal_
from course_utils.mistakes import check_known_mistakes
from course_utils.nets import layer_statistics, make_mlp
from course_utils.optim_paths import Quadratic, gd_path, loss_grid, whiten
from course_utils.plots import use_style
from course_utils.reproducibility import device, fast_mode, pick, quiet_warnings, seed_everything
from course_utils.training import fit

quiet_warnings()
use_style()
seed_everything(0)
DEVICE = device()

# %% [markdown]
# ## Recap
# **Input standardisation.** For each input feature $j$, with the mean $\mu_j$ and standard deviation $\sigma_j$
# computed on the **training split**,
# $$x'_{ij} = \frac{x_{ij} - \mu_j}{\sigma_j}.$$
# The same $\mu_j, \sigma_j$ are applied to the validation and test splits. *Whitening* goes further and also
# removes the correlations: $x' = (x - \mu)\,C^{-1/2}$ with $C$ the training covariance, so the features have
# identity covariance.
#
# **Batch normalisation** (Ioffe & Szegedy, 2015) does the same for a hidden layer's pre-activations $h$, unit by
# unit, using the current mini-batch $\mathcal{B}$ during training:
# $$m_h = \frac{1}{|\mathcal{B}|}\sum_{i\in\mathcal{B}} h_i, \qquad
# s_h^2 = \frac{1}{|\mathcal{B}|}\sum_{i\in\mathcal{B}} (h_i - m_h)^2, \qquad
# \hat h_i = \frac{h_i - m_h}{\sqrt{s_h^2 + \epsilon}}, \qquad
# h_i \leftarrow \gamma\,\hat h_i + \delta .$$
# $\gamma$ and $\delta$ are **learned** per unit (PyTorch calls them `weight` and `bias`, the paper $\gamma$ and
# $\beta$; we write $\beta$ from here on). With $\gamma = \sqrt{s_h^2+\epsilon}$ and $\beta = m_h$ the layer could
# undo the normalisation, so it costs the network no expressive power.
#
# Two details where the lecture slides are loose -- we follow the paper and PyTorch:
# * The slides write $\hat h_i = (h_i - m_h)/(s_h + \epsilon)$, with $\epsilon$ **outside** the square root. The paper
#   and every framework put it **inside**: $\sqrt{s_h^2 + \epsilon}$. For units whose variance is of the order of
#   $\epsilon$ the two differ a lot.
# * The batch variance used to normalise is the **biased** one (divide by $|\mathcal{B}|$).
#
# **At test time** the output must not depend on which other examples share the batch, so batch norm uses fixed
# statistics: running averages collected during training. PyTorch updates them after every training batch with
# `momentum` $= 0.1$:
# $$\text{running\_mean} \leftarrow (1-\text{momentum})\,\text{running\_mean} + \text{momentum}\cdot m_h, \qquad
# \text{running\_var} \leftarrow (1-\text{momentum})\,\text{running\_var} + \text{momentum}\cdot \tfrac{|\mathcal{B}|}{|\mathcal{B}|-1}\, s_h^2 .$$
# Note the **unbiased** variance in the running update (an estimate of the population variance), although the
# biased one normalises the batch. (PyTorch's momentum is the weight of the *new* value; some other libraries
# use the opposite convention.) `model.train()` and `model.eval()` switch between the two behaviours.
#
# **Layer normalisation** (Ba, Kiros & Hinton, 2016) normalises each example over its own $D$ features instead of
# over the batch, with the same learned $\gamma, \beta$ per feature -- the same computation in training and at
# test time, and independent of the batch.

# %% [markdown]
# ## Part 1 · The ravine: why standardised inputs train faster
# The lecture: "you can make the loss surface much nicer by pre-processing ... we already discussed the ravine
# created by correlated features". Take the simplest model with a loss we can draw: least squares with two
# weights, $L(\mathbf{w}) = \frac1n\sum_i (\mathbf{w}^\top\mathbf{x}_i - y_i)^2$ (centred targets, no bias). It is a
# quadratic bowl whose Hessian $H = \frac2n X^\top X$ depends **only on the features**. Gradient descent with step
# $\alpha$ is stable only for $\alpha < 2/\lambda_{\max}(H)$, and then progresses along the flattest direction at a
# rate set by $\lambda_{\min}/\lambda_{\max}$: a large **condition number** $\kappa = \lambda_{\max}/\lambda_{\min}$
# means a long, narrow ravine.
#
# `course_utils.optim_paths` has the bowl (`Quadratic.least_squares`), plain gradient descent (`gd_path`) and ZCA
# whitening (`whiten`). Our two features are strongly correlated ($\rho = 0.9$), have different scales (1 and 4)
# and non-zero means.
#
# ### 🔮 Predict first
# We run gradient descent on the raw, the standardised and the whitened features, each with the step
# $\alpha = 1/\lambda_{\max}$ (half the largest stable one). Which one needs the fewest steps? Will standardising
# alone make the bowl perfectly round?

# %%
rng = np.random.default_rng(0)
n_points, rho = 200, 0.9
z = rng.standard_normal((n_points, 2))
X_raw = np.stack([z[:, 0], rho * z[:, 0] + np.sqrt(1 - rho ** 2) * z[:, 1]], axis=1) * [1.0, 4.0] + [1.0, 4.0]
y_reg = X_raw @ np.array([1.5, -0.5]) + 0.3 * rng.standard_normal(n_points)
y_reg = y_reg - y_reg.mean()

features = {
    "raw": X_raw,
    "standardised": (X_raw - X_raw.mean(0)) / X_raw.std(0),
    "whitened": whiten(X_raw),
}
STEPS = 100
ravine = {}
for name, X in features.items():
    q = Quadratic.least_squares(X, y_reg)
    lr = 1.0 / q.eigenvalues[-1]
    path = gd_path(q, w0=[0.0, 0.0], lr=lr, steps=STEPS)
    ravine[name] = {"q": q, "path": path, "lr": lr, "gap": q.loss(path) - q.loss(q.minimizer)}

fig, axes = plt.subplots(2, 3, figsize=(13, 8))
for col, (name, X) in enumerate(features.items()):
    ax = axes[0, col]
    ax.scatter(X[:, 0], X[:, 1], s=6, alpha=0.6)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(0, color="0.7", lw=0.8)
    ax.set(title=f"{name} features", xlabel="feature 1", ylabel="feature 2", aspect="equal")
    r = ravine[name]
    w_star, path = r["q"].minimizer, r["path"]
    span = 1.3 * max(np.abs(path - w_star).max(), 0.5)
    W1, W2, L = loss_grid(r["q"], (w_star[0] - span, w_star[0] + span), (w_star[1] - span, w_star[1] + span), n=81)
    ax = axes[1, col]
    levels = r["q"].loss(w_star) + np.logspace(-3, math.log10(L.max() - L.min() + 1e-9), 12)
    ax.contour(W1, W2, L, levels=levels, cmap="viridis", linewidths=0.8)
    ax.plot(path[:, 0], path[:, 1], "o-", ms=2.5, lw=1, color="C3", label=f"GD, {len(path) - 1} steps")
    ax.plot(*w_star, "k*", ms=12, label="minimum")
    ax.set(title=f"κ = {r['q'].condition_number:.3g}", xlabel="$w_1$", ylabel="$w_2$", aspect="equal")
    ax.legend(loc="lower left", fontsize=8)
fig.suptitle("Top: the input features. Bottom: loss contours and the path of gradient descent (step 1/λ_max)")
if fast_mode():
    plt.close(fig)
else:
    plt.show()

fig, ax = plt.subplots(figsize=(6.5, 3.6))
for name, r in ravine.items():
    ax.semilogy(np.maximum(r["gap"], 1e-16), label=f"{name} (κ = {r['q'].condition_number:.3g})")
ax.set(title="Gradient descent on the three versions of the same problem", xlabel="iteration",
       ylabel="loss − minimum loss", ylim=(1e-16, None))
ax.legend()
if fast_mode():  # while autograding: no figures, to keep grading fast
    plt.close(fig)
    print("(both figures skipped while autograding: run the notebook to see them)")
else:
    plt.show()


# %% [markdown]
# **What to notice:** on the raw features the path zig-zags across the narrow ravine and crawls along its floor;
# standardising removes the unequal scales and the offset (κ drops a lot) but the correlation still leaves an
# elongated bowl; whitening makes it perfectly round, and one step of size $1/\lambda_{\max}$ lands on the minimum.
# Standardisation is what everyone does for the inputs; whitening is rarely worth its cost in high dimensions.

# %%
# NBVAL_CHECK_OUTPUT
def steps_to(gap, tol=1e-6):
    below = np.flatnonzero(gap < tol)
    return f"{below[0]}" if len(below) else f"> {len(gap) - 1}"


for name, r in ravine.items():
    print(f"{name:13s} condition number {r['q'].condition_number:6.3g}   steps until loss gap < 1e-6: "
          f"{steps_to(r['gap'])}")


# %% [markdown]
# ### Exercise 1 -- standardise with training statistics (2 points)
# Implement `standardize(x_train, x_test)` for tensors of shape `(N_train, D)` and `(N_test, D)`:
# subtract the per-feature mean and divide by the per-feature standard deviation, **both computed on `x_train`
# only**, and apply them to both splits. Use the biased standard deviation (divide by $N$, i.e.
# `x.std(0, correction=0)`, as scikit-learn's `StandardScaler` does). A feature that is constant in the training
# split (standard deviation 0: the border pixels of the digits!) is divided by 1 instead, so no NaN appears. Do not
# modify the inputs.
#
# Why only the training split? The test split stands for data you have not seen yet; its statistics are not
# available when the model is deployed, and using them leaks information about the test set into the model. The
# hidden tests check that your test split is transformed with the training statistics, the constant-feature rule,
# and that the inputs are left unchanged.

# %% nbgrader={"grade": false, "grade_id": "standardize_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def standardize(x_train, x_test):
    """Standardise two splits with the training split's per-feature statistics.

    Args:
        x_train: float tensor (N_train, D).
        x_test: float tensor (N_test, D), same D.
    Returns:
        (train_std, test_std): new tensors of the same shapes, (x - mean) / std with mean and biased std
        of x_train along dim 0; where that std is 0, divide by 1 instead.
    """
    ### BEGIN SOLUTION
    mean = x_train.mean(dim=0)
    std = x_train.std(dim=0, correction=0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return (x_train - mean) / std, (x_test - mean) / std
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "standardize_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 1
x_tr = torch.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
x_te = torch.tensor([[3.0, 4.0], [7.0, 6.0]])
out = checks.call(standardize, x_tr.clone(), x_te.clone())
checks.check_type(out, tuple, "standardize(...)")
checks.check_equal(len(out), 2, "number of returned tensors")
s = math.sqrt(8 / 3)  # biased std of [1, 3, 5]
check_known_mistakes(out[0], [[-2 / s, -2 / s], [0.0, 0.0], [2 / s, 2 / s]],
                     {"use the unbiased standard deviation (divide by N - 1, torch's default for x.std(0)); "
                      "the task asks for the biased one, x.std(0, correction=0)": [[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0]]},
                     "standardize(x_train, x_test)[0]", rtol=1e-4, atol=1e-5)
checks.check_close(out[0], [[-2 / s, -2 / s], [0.0, 0.0], [2 / s, 2 / s]], "standardized training split", rtol=1e-4, atol=1e-5)
checks.check_close(out[1], [[0.0, -1 / s], [4 / s, 0.0]], "standardized test split", rtol=1e-4, atol=1e-5)
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(5)
x_tr = torch.randn(50, 4, generator=g) * torch.tensor([1.0, 3.0, 0.5, 2.0]) + torch.tensor([0.0, 5.0, -2.0, 1.0])
x_te = torch.randn(30, 4, generator=g) * 4.0 + 7.0  # the test split comes from a shifted distribution
x_tr[:, 2] = 1.5                                     # a constant feature (std 0 in training)
tr_before, te_before = x_tr.clone(), x_te.clone()
out = checks.call(standardize, x_tr, x_te)
checks.check_close(x_tr, tr_before, "x_train after standardize -- do not modify the inputs", verbose=False)
checks.check_close(x_te, te_before, "x_test after standardize -- do not modify the inputs", verbose=False)
mean, std = tr_before.mean(0), tr_before.std(0, correction=0)
std = torch.where(std > 0, std, torch.ones_like(std))
want_tr, want_te = (tr_before - mean) / std, (te_before - mean) / std
got_te = checks.as_array(out[1], "standardized test split")
checks.check_true(bool(np.all(np.isfinite(checks.as_array(out[0], "standardized training split")))),
                  "standardized training split contains NaN or inf: a feature that is constant in the training "
                  "split has std 0 -- divide it by 1 instead.")
cols = [0, 1, 3]
own_stats = np.allclose(got_te[:, cols].mean(0), 0, atol=1e-3) and np.allclose(got_te[:, cols].std(0), 1, atol=3e-2)
checks.check_true(not own_stats, "your standardized test split has mean 0 and std 1 exactly: you used the test "
                  "split's own statistics. Use the mean and std of x_train for both splits.")
pooled = torch.cat([tr_before, te_before])
checks.check_true(not np.allclose(got_te[:, cols], ((te_before - pooled.mean(0)) / pooled.std(0, correction=0))[:, cols].numpy(), atol=1e-3),
                  "you computed the statistics on training and test data together: use x_train only.")
_std_unbiased = tr_before.std(0)
_std_unbiased = torch.where(_std_unbiased > 0, _std_unbiased, torch.ones_like(_std_unbiased))
for _i, _want, _x in ((0, want_tr, tr_before), (1, want_te, te_before)):
    check_known_mistakes(out[_i], _want, {
        "use the unbiased standard deviation (divide by N - 1, torch's default for x.std(0)); the task asks for "
        "the biased one, x.std(0, correction=0)": (_x - mean) / _std_unbiased,
        "divide by the variance instead of the standard deviation": (_x - mean) / std ** 2,
        "forget to subtract the mean": _x / std},
        f"standardized {'training' if _i == 0 else 'test'} split", rtol=1e-4, atol=1e-4)
checks.check_close(out[0], want_tr, "standardized training split (50x4 with a constant feature)", rtol=1e-4, atol=1e-4, verbose=False)
checks.check_close(out[1], want_te, "standardized test split (50x4 with a constant feature)", rtol=1e-4, atol=1e-4, verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# From here on the digits (8×8 images flattened to 64 pixels; 70 % training, 15 % validation, 15 % test) are
# standardised with the training statistics. The cell uses torch directly, not your function, so it runs even if
# Exercise 1 is not done.

# %%
X_all, y_all = load_digits(size=8, flatten=True)
split = train_val_test_split(X_all, y_all, fractions=(0.7, 0.15, 0.15), seed=0)
pix_mean = split.x_train.mean(0)
pix_std = split.x_train.std(0, correction=0)
pix_std = torch.where(pix_std > 0, pix_std, torch.ones_like(pix_std))
Xtr, Xva, Xte = [(x - pix_mean) / pix_std for x in (split.x_train, split.x_val, split.x_test)]
ytr, yva, yte = split.y_train, split.y_val, split.y_test
print(f"{len(Xtr)} training, {len(Xva)} validation, {len(Xte)} test digits; "
      f"{int((split.x_train.std(0) == 0).sum())} pixels are constant in the training split")


# %% [markdown]
# ## Part 2 · Batch normalisation, by hand
# Input standardisation helps the first layer. "But what about the intermediate hidden layers?" Their inputs
# change whenever the earlier weights change. Batch norm standardises them too, with the statistics of each
# mini-batch while training and with running averages at test time.
#
# ### Exercise 2 -- batch norm forward, training and evaluation mode (3 + 2 points)
# Implement `batchnorm_forward` for an input `x` of shape `(N, D)` (the formulas are in the recap):
# * `training=True`: normalise with the batch mean and the **biased** batch variance, $\epsilon$ **inside** the
#   square root, then scale by `gamma` and shift by `beta`; return the running statistics updated with `momentum`
#   (PyTorch's convention, weight of the new value), using the **unbiased** batch variance for `running_var`.
# * `training=False`: normalise with `running_mean` and `running_var` (ε inside the square root) and return the
#   running statistics unchanged.
#
# Return new tensors; do not modify the arguments in place (`torch.nn.BatchNorm1d` updates its buffers in place,
# but a function without side effects is easier to test). Your result must match `torch.nn.BatchNorm1d` -- output
# and buffers -- in both modes. The hidden tests use batches of 2, units with a variance close to ε, other
# momenta and float64, and look for the classic slips: the unbiased variance in the normalisation, the biased one
# in the running update, ε outside the square root, batch statistics in evaluation mode.

# %% nbgrader={"grade": false, "grade_id": "batchnorm_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch normalisation of a (N, D) batch, as torch.nn.BatchNorm1d computes it.

    Args:
        x: float tensor (N, D).
        gamma, beta: float tensors (D,), the learned scale and shift.
        running_mean, running_var: float tensors (D,), the running statistics so far.
        training: bool; True uses and updates batch statistics, False uses the running ones.
        momentum: weight of the new batch statistic in the running average (PyTorch convention).
        eps: added to the variance inside the square root.
    Returns:
        (out, new_running_mean, new_running_var): out has shape (N, D); the running statistics have
        shape (D,) and are returned unchanged when training is False.
    """
    ### BEGIN SOLUTION
    if training:
        mean = x.mean(dim=0)
        var = x.var(dim=0, unbiased=False)
        n = x.shape[0]
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.clone(), running_var.clone()
    out = gamma * (x - mean) / torch.sqrt(var + eps) + beta
    return out, new_mean, new_var
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "batchnorm_train_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 2, training mode: compare with torch.nn.BatchNorm1d
def torch_batchnorm(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Reference: what torch.nn.BatchNorm1d returns and stores."""
    bn = nn.BatchNorm1d(x.shape[1], eps=eps, momentum=momentum).to(x.dtype)
    with torch.no_grad():
        bn.weight.copy_(gamma), bn.bias.copy_(beta)
        bn.running_mean.copy_(running_mean), bn.running_var.copy_(running_var)
    bn.train(training)
    with torch.no_grad():
        out = bn(x)
    return out, bn.running_mean.clone(), bn.running_var.clone()


def bn_args(n, d, seed, dtype=torch.float32, scale=None):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=dtype) * (torch.rand(d, generator=g, dtype=dtype) * 3 + 0.5 if scale is None else scale) + 2.0
    return (x, torch.rand(d, generator=g, dtype=dtype) + 0.5, torch.randn(d, generator=g, dtype=dtype),
            torch.randn(d, generator=g, dtype=dtype), torch.rand(d, generator=g, dtype=dtype) + 0.5)


def compare_bn(args, training, label, verbose=True, rtol=1e-4, atol=1e-5, **kw):
    got = checks.call(batchnorm_forward, *[a.clone() for a in args], training, **kw)
    checks.check_type(got, tuple, f"batchnorm_forward(..., training={training})")
    checks.check_equal(len(got), 3, "number of returned tensors", verbose=False)
    want = torch_batchnorm(*args, training, **kw)
    tol = dict(rtol=rtol, atol=atol, verbose=verbose)
    checks.check_close(got[0], want[0], f"output ({label})", **tol)
    checks.check_close(got[1], want[1], f"new running_mean ({label})", **tol)
    checks.check_close(got[2], want[2], f"new running_var ({label})", **tol)
    return got


compare_bn(bn_args(8, 3, seed=0), True, "training mode, batch of 8")
### BEGIN HIDDEN TESTS
def variant(args, training, *, norm_correction=0, run_correction=1, eps_inside=True, momentum=0.1, eps=1e-5):
    """A batch norm with one slip switched on, for diagnosing wrong answers."""
    x, gamma, beta, rm, rv = args
    mean, var = x.mean(0), x.var(0, correction=norm_correction)
    run_var = x.var(0, correction=run_correction)
    new_rm, new_rv = (1 - momentum) * rm + momentum * mean, (1 - momentum) * rv + momentum * run_var
    if not training:
        mean, var = rm, rv
    den = torch.sqrt(var + eps) if eps_inside else torch.sqrt(var) + eps
    return gamma * (x - mean) / den + beta, new_rm, new_rv


def same(got, want):
    try:
        return bool(np.allclose(checks.as_array(got), checks.as_array(want), rtol=1e-4, atol=1e-5))
    except Exception:  # a wrong shape or type: not this slip
        return False


args = bn_args(2, 5, seed=1)  # a batch of 2: biased and unbiased variance differ by a factor 2
got = checks.call(batchnorm_forward, *[a.clone() for a in args], True)
checks.check_true(not same(got[0], variant(args, True, norm_correction=1)[0]),
                  "training-mode output: you normalised with the unbiased batch variance (divide by N-1). "
                  "Batch norm normalises with the biased one (divide by N), e.g. x.var(0, unbiased=False).")
checks.check_true(not same(got[2], variant(args, True, run_correction=0)[2]),
                  "new running_var: you updated it with the biased batch variance. PyTorch's running_var "
                  "uses the unbiased one: var * N / (N - 1).")
checks.check_true(not same(got[1], 0.1 * args[3] + 0.9 * args[0].mean(0)),
                  "new running_mean: the momentum weights the NEW batch mean: (1 - momentum) * running_mean + "
                  "momentum * batch_mean.")
small = bn_args(16, 4, seed=2, scale=torch.tensor([1e-3, 3e-3, 1.0, 2.0]))  # variances near eps
got = checks.call(batchnorm_forward, *[a.clone() for a in small], True)
checks.check_true(not same(got[0], variant(small, True, eps_inside=False)[0]),
                  "training-mode output: eps is outside the square root, (x - mean) / (sqrt(var) + eps). "
                  "The task (and PyTorch) put it inside: (x - mean) / sqrt(var + eps).")
before = [a.clone() for a in args]
compare_bn(args, True, "training mode, batch of 2", verbose=False)
# float32 values 2.0 +- 1e-3: rounding alone moves these outputs by ~2e-4 (torch's own result changes with the
# number of threads), so this case gets a looser tolerance; eps inside/outside the root is checked above.
compare_bn(small, True, "training mode, units with variance near eps", verbose=False, rtol=1e-3, atol=1e-4)
compare_bn(bn_args(32, 7, seed=3), True, "training mode, momentum 0.3", verbose=False, momentum=0.3)
compare_bn(bn_args(10, 6, seed=4, dtype=torch.float64), True, "training mode, float64, eps 1e-3", verbose=False, eps=1e-3)
checks.call(batchnorm_forward, *args, True)
for a, b, nm in zip(args, before, ["x", "gamma", "beta", "running_mean", "running_var"]):
    checks.check_close(a, b, f"{nm} after batchnorm_forward -- do not modify the arguments in place", verbose=False)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "batchnorm_eval_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 2, evaluation mode
args = bn_args(8, 3, seed=10)
got = compare_bn(args, False, "evaluation mode, batch of 8")
checks.check_close(got[1], args[3], "running_mean returned in evaluation mode (must be unchanged)", verbose=False)
checks.check_close(got[2], args[4], "running_var returned in evaluation mode (must be unchanged)")
### BEGIN HIDDEN TESTS
def variant(args, training, *, norm_correction=0, run_correction=1, eps_inside=True, momentum=0.1, eps=1e-5):
    """A batch norm with one slip switched on, for diagnosing wrong answers."""
    x, gamma, beta, rm, rv = args
    mean, var = x.mean(0), x.var(0, correction=norm_correction)
    run_var = x.var(0, correction=run_correction)
    new_rm, new_rv = (1 - momentum) * rm + momentum * mean, (1 - momentum) * rv + momentum * run_var
    if not training:
        mean, var = rm, rv
    den = torch.sqrt(var + eps) if eps_inside else torch.sqrt(var) + eps
    return gamma * (x - mean) / den + beta, new_rm, new_rv


def same(got, want):
    try:
        return bool(np.allclose(checks.as_array(got), checks.as_array(want), rtol=1e-4, atol=1e-5))
    except Exception:  # a wrong shape or type: not this slip
        return False


got = checks.call(batchnorm_forward, *[a.clone() for a in args], False)
checks.check_true(not same(got[0], variant(args, True)[0]),
                  "evaluation-mode output: you normalised with the batch's own statistics. In evaluation mode "
                  "use running_mean and running_var, so that an example's output does not depend on its batch.")
small = bn_args(16, 4, seed=12)
small[4][:2] = torch.tensor([2e-6, 1e-5])  # running variances near eps
got = checks.call(batchnorm_forward, *[a.clone() for a in small], False)
checks.check_true(not same(got[0], variant(small, False, eps_inside=False)[0]),
                  "evaluation-mode output: eps is outside the square root. Use (x - running_mean) / "
                  "sqrt(running_var + eps).")
compare_bn(small, False, "evaluation mode, running variances near eps", verbose=False)
compare_bn(bn_args(1, 5, seed=13), False, "evaluation mode, a single example", verbose=False)
_ = compare_bn(bn_args(6, 4, seed=14, dtype=torch.float64), False, "evaluation mode, float64, eps 1e-3", verbose=False, eps=1e-3)
### END HIDDEN TESTS

# %% [markdown]
# Two facts about γ and β, checked with PyTorch's own layer: in training mode, each unit's output has mean β and
# standard deviation ≈ γ over the batch, whatever the scale of the input; and γ = $\sqrt{s^2+\epsilon}$, β = $m$
# turn the layer into the identity on that batch -- normalisation takes nothing away from what the network can
# represent.
#
# ### 🔮 Predict first
# Three units whose inputs have standard deviations 0.01, 1 and 100, with γ = (1, 2, 0.5) and β = (0, 1, −3). What
# mean and standard deviation will each unit's output have over the batch? Will all three match γ exactly?

# %%
bn = nn.BatchNorm1d(3)
x_demo = torch.randn(256, 3) * torch.tensor([0.01, 1.0, 100.0]) + torch.tensor([5.0, -1.0, 30.0])
with torch.no_grad():
    bn.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
    bn.bias.copy_(torch.tensor([0.0, 1.0, -3.0]))
    out = bn(x_demo)
    print("output mean per unit:", out.mean(0).numpy().round(3), "  (β =", bn.bias.numpy(), ")")
    print("output std per unit: ", out.std(0, correction=0).numpy().round(3), "  (γ =", bn.weight.numpy(), ")")
    bn.weight.copy_(torch.sqrt(x_demo.var(0, correction=0) + bn.eps))
    bn.bias.copy_(x_demo.mean(0))
    print("identity recovered:  ", torch.allclose(bn(x_demo), x_demo, rtol=1e-4, atol=1e-3))

# %% [markdown]
# Look at the first unit: its standard deviation is about 0.95γ, not γ. Its input varies by only 0.01, a variance
# of $10^{-4}$, just ten times ε, so $\sqrt{s^2+\epsilon}$ is noticeably larger than $s$. That is why where ε goes
# matters for units with small variance.

# %% [markdown]
# ## Part 3 · A 12-layer network with and without batch norm, over a range of learning rates
# The deep MLP of `course_utils.nets.make_mlp`: 12 hidden layers of 64 units, each `Linear -> [norm] -> ReLU`,
# trained on the standardised digits with plain SGD (batch 64) for a few epochs, at learning rates from 0.01 to 10,
# without normalisation, with batch norm and with layer norm. All networks start from He initialisation (notebook
# 02), which gives the un-normalised network its best chance; after the table we check what PyTorch's default
# initialisation does to it. (Batch norm does not care how the weights are scaled: it rescales every layer anyway.)
#
# A run **trains** if its loss never becomes NaN and it reaches at least 60 % validation accuracy (chance is 10 %).
#
# ### 🔮 Predict first
# Without normalisation, at which learning rate do you expect training to blow up? With batch norm, will the
# largest working learning rate be about the same, a few times larger, or more? Will batch norm also help at the
# *smallest* learning rates?

# %%
WIDTH = 64
EPOCHS = pick(full=6, fast=1)
LRS = pick(full=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], fast=[0.3, 3.0])
NORMS = {"no norm": None, "batch norm": "batch", "layer norm": "layer"}
N_FIT = pick(full=len(Xtr), fast=320)  # training digits per run (fewer while autograding)
HIST_BINS = np.linspace(-4, 2, 49)  # bins of log10 |activation|
X_probe = Xtr[:256].to(DEVICE)      # a fixed batch to look at the activations


HE = lambda fan_in, fan_out: math.sqrt(2.0 / fan_in)  # He initialisation (notebook 02): std of N(0, 2 / fan_in)


@torch.no_grad()
def activation_histograms(model, x):
    """Per hidden block: the distribution of log10 |output| over a batch (as training sees it: batch
    statistics, on a copy so the running statistics stay untouched), and the fraction of exact zeros.

    Returns (hist, zeros): hist (depth, len(HIST_BINS) - 1) fractions of all entries; zeros (depth,).
    """
    probe = copy.deepcopy(model).train()
    rows, zeros, h = [], [], x
    for block in probe.blocks:
        h = block(h)
        a = h.abs().flatten().cpu()
        finite = a[torch.isfinite(a) & (a > 0)].clamp(10 ** HIST_BINS[0], 10 ** HIST_BINS[-1])
        counts, _ = np.histogram(np.log10(finite.numpy()), bins=HIST_BINS)
        rows.append(counts / a.numel())
        zeros.append(float((a == 0).float().mean()))
    return np.array(rows), np.array(zeros)


def train_run(norm, lr, depth, epochs=EPOCHS, seed=0, he=True):
    """Train one deep MLP on the digits (He-initialised, or PyTorch's default initialisation if not ``he``);
    its history, model and activation histograms."""
    seed_everything(seed)
    model = make_mlp(64, 10, width=WIDTH, depth=depth, norm=norm)
    model = (init_normal_(model, HE) if he else model).to(DEVICE)
    before = activation_histograms(model, X_probe)
    history = fit(model, (Xtr[:N_FIT], ytr[:N_FIT]), (Xva, yva), epochs=epochs, lr=lr, batch_size=64, device=DEVICE,
                  seed=seed, record_grad_norms=False, progress=False)
    return {"history": history, "model": model, "hist_init": before,
            "hist_final": activation_histograms(model, X_probe)}


def trains(run):
    """No NaN, and at least 60% validation accuracy at the end."""
    h = run["history"]
    return (not h.diverged) and h.val_acc[-1] >= 0.60


runs = {}
for norm_name, lr in tqdm([(nm, lr) for nm in NORMS for lr in LRS], desc="12-layer runs"):
    runs[(NORMS[norm_name], lr, 12)] = train_run(NORMS[norm_name], lr, depth=12)

# %%
colors = plt.cm.viridis(np.linspace(0, 0.9, len(LRS)))
fig, axes = plt.subplots(1, len(NORMS), figsize=(14, 4), sharey=True)
for ax, (norm_name, norm) in zip(axes, NORMS.items()):
    for color, lr in zip(colors, LRS):
        h = runs[(norm, lr, 12)]["history"]
        curve = smooth(h.step_loss)
        label = f"lr {lr:g}" + (" (diverged)" if h.diverged else "")
        ax.plot(np.arange(len(curve)), np.minimum(curve, 3.4), color=color, label=label,
                ls="--" if h.diverged else "-")
        if h.diverged:
            ax.plot(len(curve), 3.4, "x", color=color, ms=9)
    ax.set(title=norm_name, xlabel="SGD step", ylim=(0, 3.5))
axes[0].set_ylabel("training loss (10-step average)")
axes[-1].legend(fontsize=8, loc="lower left")
fig.suptitle("12-layer ReLU MLP on the digits: training loss for each learning rate (× = loss became NaN)")
if fast_mode():  # while autograding: no figure, to keep grading fast
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()

print("final validation accuracy" + "".join(f"{nm:>13s}" for nm in NORMS))
for lr in LRS:
    cells = []
    for norm in NORMS.values():
        h = runs[(norm, lr, 12)]["history"]
        cells.append("diverged" if h.diverged else f"{h.val_acc[-1]:.1%}")
    print(f"lr {lr:<8g}                 " + "".join(f"{c:>13s}" for c in cells))

largest = {}
for norm_name, norm in NORMS.items():
    ok = [lr for lr in LRS if trains(runs[(norm, lr, 12)])]
    largest[norm_name] = max(ok) if ok else float("nan")
    print(f"{norm_name:10s}: trains (>= 60% validation accuracy) for lr in {[f'{lr:g}' for lr in ok]}")

# %% [markdown]
# **What to notice** (numbers printed below): without normalisation the usable learning rates form a narrow window
# (0.03 to 0.1), and from lr 1 on the loss becomes NaN within a few steps. With batch norm the window moves up and is
# wider: the network trains up to lr 1, ten times the un-normalised limit. Above that, batch norm no longer produces
# NaN, but that does not mean it trains: at lr 3 it ends below our 60 % bar, and at lr 10 it ends at 10 % -- chance,
# a network that has learned nothing. Batch norm does **not** speed up the smallest learning rates (at lr 0.01 it
# is *below* the un-normalised network): its layers are insensitive to the scale of the weights, and its effective
# step shrinks as the weights grow. Layer norm helps at the smallest learning rate here (it trains at 0.01, the
# un-normalised network does not) but does not extend the range upwards: its largest working learning rate is the
# same as without normalisation, and at lr 1 it ends at chance. In fully connected networks its benefit is smaller
# than batch norm's. (With one seed and six epochs, neighbouring grid points can swap; the factor of ten for batch
# norm is the robust part.)

# %%
# NBVAL_CHECK_OUTPUT
# the largest learning rate that trains, in a form that does not flip with tiny numerical differences
print("no norm:    largest lr that trains is 0.1 or 0.3:", largest["no norm"] in (0.1, 0.3))
print("batch norm: largest lr that trains is 1 or 3:    ", largest["batch norm"] in (1.0, 3.0))
print("layer norm: largest lr that trains is 0.1 or 0.3:", largest["layer norm"] in (0.1, 0.3))
print("batch norm's largest learning rate is at least 3x the un-normalised one:",
      largest["batch norm"] >= 3 * largest["no norm"])
for norm_name, lr in (("no norm", 0.01), ("layer norm", 0.01), ("batch norm", 0.01), ("batch norm", 3.0),
                      ("batch norm", 10.0), ("layer norm", 1.0)):
    if (NORMS[norm_name], lr, 12) in runs:  # all of them, except in the shortened run while autograding
        h = runs[(NORMS[norm_name], lr, 12)]["history"]
        print(f"{norm_name}, lr {lr:g}: " + ("diverged" if h.diverged else f"validation accuracy {h.val_acc[-1]:.0%}"))

# %% [markdown]
# ### Without He initialisation
# All un-normalised runs above start from He initialisation. With PyTorch's *default* initialisation of `nn.Linear`
# (uniform, variance $1/(3\,\text{fan\_in})$, six times smaller than He's $2/\text{fan\_in}$) the signal shrinks
# layer by layer: notebook 01 (Experiment 2) measured the gradient of a 15-layer default-initialised ReLU network
# falling by a factor of about $10^4$ from the last hidden layer to the first. Here is our 12-layer network without
# normalisation, default-initialised, at the learning rates where the He-initialised one did best.
#
# ### 🔮 Predict first
# Will it reach the 60 % we call "trains" at any of them?

# %%
# NBVAL_CHECK_OUTPUT
default_runs = {lr: train_run(None, lr, depth=12, he=False) for lr in pick(full=(0.03, 0.1, 0.3), fast=(0.1,))}
for lr, run in default_runs.items():
    h = run["history"]
    result = "diverged" if h.diverged else f"validation accuracy {h.val_acc[-1]:.0%}"
    print(f"no norm, PyTorch's default initialisation, lr {lr:g}: {result}")

# %% [markdown]
# **What to notice:** at all three learning rates the default-initialised network ends at 10 % -- chance: in six
# epochs it learns nothing, where the He-initialised one trained at 0.03 and 0.1. Without normalisation, deep ReLU
# networks need a variance-preserving initialisation; batch norm makes the network insensitive to the weights'
# scale.
#
# ### Why does batch norm allow larger learning rates? What is known
# The paper that introduced batch norm explained it by reducing **internal covariate shift**: each layer's input
# distribution changes while earlier layers learn, and normalising supposedly stabilises it. Later work showed this
# is not the main reason. Santurkar et al. (2018) injected noise *after* batch norm so that the layer inputs shifted
# even more -- and training was still just as fast; they measured instead that batch norm makes the loss and its
# gradients **smoother** (smaller Lipschitz constants), so a large step stays predictive. Other, compatible
# explanations: a batch-normalised layer is invariant to the scale of its incoming weights, so a too-large step
# that inflates the weights is automatically damped (the effective learning rate is $\alpha/\lVert w\rVert^2$);
# and batch norm keeps every layer's activations in a fixed range, so gradients neither vanish nor explode on the
# way back (Bjorck et al., 2018). Treat "internal covariate shift" as a historical motivation, not as the mechanism.

# %% [markdown]
# ## Part 4 · The classic bug: forgetting `model.eval()`
# In training mode batch norm normalises each example with the statistics **of its batch**. Evaluate a model
# without `model.eval()` and its prediction for one example depends on which other examples happen to share its
# batch. (Worse, every such forward pass also updates the running statistics -- we work on copies below.)
#
# ### 🔮 Predict first
# We take the batch-norm network trained at lr 0.3 and classify the test digits (a) in evaluation mode,
# (b) in training mode in random batches of 16, (c) in training mode in batches that contain a single digit class
# each. Order the three accuracies. Then: does one example's predicted probability change with its batch-mates?

# %%
bn_model = runs[("batch", 0.3, 12)]["model"]


@torch.no_grad()
def accuracy_in_batches(model, X, y, order, batch_size=16, training=False):
    """Accuracy when the examples are fed in the given order in batches, in train or eval mode (on a copy)."""
    m = copy.deepcopy(model).train(training)
    correct = 0
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        if len(idx) < 2:  # training-mode batch norm needs at least 2 examples
            continue
        correct += int((m(X[idx].to(DEVICE)).argmax(1).cpu() == y[idx]).sum())
    return correct / len(order)


g = torch.Generator().manual_seed(0)
random_order = torch.randperm(len(Xte), generator=g)
by_class = torch.argsort(yte, stable=True)
acc = {
    "eval mode": accuracy_in_batches(bn_model, Xte, yte, random_order),
    "train mode,\nrandom batches": accuracy_in_batches(bn_model, Xte, yte, random_order, training=True),
    "train mode,\none class per batch": accuracy_in_batches(bn_model, Xte, yte, by_class, training=True),
}

# one test example, classified together with 20 (6 while grading) different random sets of 15 companions
example = 0
probs = {"train mode": [], "eval mode": []}
for trial in range(pick(full=20, fast=6)):
    companions = torch.randperm(len(Xte), generator=g)[:15]
    batch = torch.cat([Xte[example:example + 1], Xte[companions]]).to(DEVICE)
    for mode, training in (("train mode", True), ("eval mode", False)):
        m = copy.deepcopy(bn_model).train(training)
        with torch.no_grad():
            probs[mode].append(float(torch.softmax(m(batch), 1)[0, yte[example]]))

fig, (ax_a, ax_p) = plt.subplots(1, 2, figsize=(12, 3.8))
ax_a.bar(list(acc), list(acc.values()), color=["C0", "C1", "C3"])
ax_a.set(title="Test accuracy of the same trained network", ylabel="accuracy", ylim=(0, 1))
for mode, marker in (("train mode", "o"), ("eval mode", "s")):
    ax_p.plot(probs[mode], marker, ls="-", label=mode)
ax_p.set(title=f"P(correct class) for test example {example}, with 15 random batch-mates",
         xlabel="trial (a different set of batch-mates)", ylabel="probability", ylim=(0, 1.05))
ax_p.legend()
if fast_mode():  # while autograding: no figure, to keep grading fast
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()

# %% [markdown]
# **What to notice:** in evaluation mode the prediction for one example is the same whatever its batch-mates; in
# training mode it moves with them. With one class per batch, batch norm subtracts the batch mean -- which is
# essentially that class's average digit -- and the accuracy collapses. Always call `model.eval()` before
# validating, testing or deploying, and `model.train()` before training again (`course_utils.training.evaluate`
# and `fit` do this for you).

# %%
# NBVAL_CHECK_OUTPUT
spread = {mode: max(p) - min(p) for mode, p in probs.items()}
print("eval mode: the example's probability is the same with any batch-mates:", spread["eval mode"] < 1e-5)
print("train mode: it changes with the batch-mates:", spread["train mode"] > 1e-3)
print("one class per batch in train mode costs over 20 accuracy points:",
      acc["eval mode"] - acc["train mode,\none class per batch"] > 0.20)

# %% [markdown]
# ## Part 5 · Residual networks: variance grows with depth, normalisation tames it
# A residual block computes $x_{l+1} = x_l + f(x_l)$. If $f(x_l)$ is roughly uncorrelated with $x_l$, the variances
# add: $\operatorname{Var}(x_{l+1}) \approx \operatorname{Var}(x_l) + \operatorname{Var}(f(x_l))$. With He
# initialisation $f$ preserves the scale of its input, so the variance roughly **doubles with every block** --
# exponential growth with depth, and the gradients flowing back through $\partial x_{l+1}/\partial x_l = I +
# \partial f/\partial x_l$ grow the same way: the review's "exploding gradients in residual networks". The review
# notes two fixes: re-normalise after adding each residual, or -- more common -- put batch norm inside the
# residual branch. Then each branch adds a bounded amount of variance instead of doubling it, and the growth
# becomes **polynomial** in depth -- linear if every branch adds the same amount ($\operatorname{Var}(f) \approx$
# const). (A side effect worth knowing, De & Smith 2020: the skip path then
# dominates deep blocks, so a deep normalised ResNet behaves like a much shallower network at initialisation --
# one reason it is easy to train.)
#
# ### 🔮 Predict first
# A 50-layer residual MLP, He initialised, one batch of digits forward and backward. How large is the activation
# variance at the last block compared with the first: about 50×, about $2^{50}$×? And with batch norm or layer norm
# in each branch?

# %%
DEPTH_RES = pick(full=50, fast=10)
variants = {
    "residual, no norm": dict(residual=True, norm=None),
    "residual + batch norm": dict(residual=True, norm="batch"),
    "residual + layer norm": dict(residual=True, norm="layer"),
    "plain (no skips), no norm": dict(residual=False, norm=None),
}
res_stats = {}
for name, kw in variants.items():
    seed_everything(0)
    net = init_normal_(make_mlp(64, 10, width=WIDTH, depth=DEPTH_RES, **kw), HE).to(DEVICE).train()
    res_stats[name] = layer_statistics(net, X_probe)  # loss = sum of the logits: a unit upstream gradient

fig, (ax_v, ax_g) = plt.subplots(1, 2, figsize=(13, 4))
layers = np.arange(1, DEPTH_RES + 1)
for name, st in res_stats.items():
    ax_v.semilogy(layers, st["act_var"], label=name)
    ax_g.semilogy(layers, st["act_grad_std"], label=name)
ax_v.set(title="Forward: variance of each block's output", xlabel="block (layer)", ylabel="variance")
ax_g.set(title="Backward: std of dLoss/d(block output)", xlabel="block (layer)", ylabel="gradient std")
ax_v.legend(fontsize=8)
if fast_mode():  # while autograding: no figure, to keep grading fast
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()

# %% [markdown]
# **What to notice** (the ratios are printed below the figure): without normalisation the residual network's
# activations (left) and its gradients at the early layers (right) grow exponentially with depth -- a straight line
# on the log scale, a factor of 2.84 per block on average, $1.5\cdot10^{22}$ from block 1 to block 50. That is more
# than the doubling of the simple argument ($2^{49} \approx 6\cdot10^{14}$) because ReLU outputs are not centred:
# their mean adds to the skip path too. With normalisation in each branch the growth is polynomial, not exponential:
# with layer norm about **linear** (23× by block 25, 41× by block 50: proportional to depth), with batch norm faster
# than linear but still modest (210× and 930×: roughly the square of the depth). In both, the gradients at the first
# layer stay within a small factor of those at the last. The plain He-initialised network, for comparison, changes
# its variance only slowly (a factor 0.96 per block) -- but without skips it has no short paths for the gradient.

# %%
# NBVAL_CHECK_OUTPUT
mid = DEPTH_RES // 2
print(f"{'':26s} variance of block {mid} / block 1   block {DEPTH_RES} / block 1   mean factor per block")
for name, st in res_stats.items():
    var = np.asarray(st["act_var"], dtype=float)
    ratio_mid, ratio = var[mid - 1] / var[0], var[-1] / var[0]
    print(f"{name:26s} {ratio_mid:22.1e} {ratio:19.1e} {ratio ** (1 / (DEPTH_RES - 1)):20.2f}")

# %% [markdown]
# ### Layer normalisation: the batch-independent alternative
# Layer norm normalises each example over its own features, so it needs no batch statistics, behaves the same in
# training and evaluation mode, and works with a batch of one -- which is why recurrent networks and transformers
# use it. Batch norm in training mode cannot even run on a single example.
#
# ### 🔮 Predict first
# The same example is put into two batches whose other members differ. For batch norm and for layer norm (both in
# training mode): is its output the same in both batches? And what happens when the batch holds only that one
# example?

# %%
torch.manual_seed(0)
bn_layer, ln_layer = nn.BatchNorm1d(5), nn.LayerNorm(5)
x_one = torch.randn(1, 5)
batch_a = torch.cat([x_one, torch.randn(7, 5)])
batch_b = torch.cat([x_one, 3 * torch.randn(7, 5) + 2])
with torch.no_grad():
    for name, layer in (("batch norm", bn_layer), ("layer norm", ln_layer)):
        same_output = torch.allclose(layer(batch_a)[0], layer(batch_b)[0])
        print(f"{name}: output for the same example in two different batches identical? {same_output}")
    try:
        bn_layer(x_one)
    except ValueError as err:
        print("batch norm on a batch of one, training mode ->", err)
    print("layer norm on a batch of one:", ln_layer(x_one).numpy().round(3))


# %% [markdown]
# ### Exercise 3 -- layer norm forward (2 points)
# Implement `layernorm_forward(x, gamma, beta, eps)` for `x` of shape `(N, D)`: normalise **each row** with its own
# mean and biased variance over its `D` features (ε inside the square root), then scale by `gamma` and shift by
# `beta` (both of shape `(D,)`). It must match `torch.nn.functional.layer_norm(x, (D,), gamma, beta, eps)`. The
# hidden tests check a batch of one, that a row's output does not depend on the other rows, rows with a variance
# near ε, and float64.

# %% nbgrader={"grade": false, "grade_id": "layernorm_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Layer normalisation of a (N, D) batch: each example over its own D features.

    Args:
        x: float tensor (N, D).
        gamma, beta: float tensors (D,).
        eps: added to the variance inside the square root.
    Returns:
        Tensor (N, D): gamma * (x - row mean) / sqrt(row biased variance + eps) + beta.
    """
    ### BEGIN SOLUTION
    mean = x.mean(dim=1, keepdim=True)
    var = x.var(dim=1, unbiased=False, keepdim=True)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "layernorm_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 3
g = torch.Generator().manual_seed(20)
x = torch.randn(6, 4, generator=g) * 3 + 1
gamma, beta = torch.rand(4, generator=g) + 0.5, torch.randn(4, generator=g)
out = checks.call(layernorm_forward, x.clone(), gamma, beta)
checks.check_shape(out, (6, 4), "layernorm_forward(x, gamma, beta)")
checks.check_close(out, F.layer_norm(x, (4,), gamma, beta, 1e-5), "layernorm_forward(x, gamma, beta)", rtol=1e-4, atol=1e-5)
### BEGIN HIDDEN TESTS
def ln_ref(x, gamma, beta, eps=1e-5):
    return F.layer_norm(x, (x.shape[1],), gamma, beta, eps)


got = checks.as_array(checks.call(layernorm_forward, x.clone(), gamma, beta), "layernorm_forward")
over_batch = gamma * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + 1e-5) + beta
checks.check_true(not np.allclose(got, over_batch.numpy(), atol=1e-4),
                  "layernorm_forward normalised over the batch (dim 0): that is batch norm. Layer norm uses each "
                  "row's own mean and variance over its D features (dim 1, keepdim=True).")
one = x[:1].clone()
checks.check_close(checks.call(layernorm_forward, one, gamma, beta), ln_ref(one, gamma, beta),
                   "layernorm_forward on a batch of one", rtol=1e-4, atol=1e-5, verbose=False)
x2 = x.clone()
x2[1:] = 100 * torch.randn(5, 4, generator=g)
checks.check_close(checks.call(layernorm_forward, x2, gamma, beta)[0], ln_ref(x, gamma, beta)[0],
                   "row 0 of layernorm_forward after changing the OTHER rows (must not change)", rtol=1e-4, atol=1e-5, verbose=False)
tiny = torch.randn(5, 8, generator=g) * torch.tensor([[1e-3], [3e-3], [1.0], [2.0], [1e-2]])
g8, b8 = torch.rand(8, generator=g) + 0.5, torch.randn(8, generator=g)
got = checks.as_array(checks.call(layernorm_forward, tiny, g8, b8), "layernorm_forward")
eps_out = g8 * (tiny - tiny.mean(1, keepdim=True)) / (tiny.std(1, correction=0, keepdim=True) + 1e-5) + b8
checks.check_true(not np.allclose(got, eps_out.numpy(), rtol=1e-4, atol=1e-5),
                  "layernorm_forward: eps is outside the square root. Use sqrt(var + eps).")
checks.check_true(not np.allclose(got, (g8 * (tiny - tiny.mean(1, keepdim=True)) / torch.sqrt(tiny.var(1, keepdim=True) + 1e-5) + b8).numpy(), rtol=1e-4, atol=1e-5),
                  "layernorm_forward: you used the unbiased variance (divide by D-1); layer norm uses the biased one.")
checks.check_close(got, ln_ref(tiny, g8, b8), "layernorm_forward on rows with variance near eps", rtol=1e-4, atol=1e-5, verbose=False)
x64 = torch.randn(3, 5, generator=g, dtype=torch.float64)
g64, b64 = torch.rand(5, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)
out64 = checks.call(layernorm_forward, x64, g64, b64, 1e-3)
checks.check_dtype(out64, torch.float64, "layernorm_forward for float64 input")
checks.check_close(out64, ln_ref(x64, g64, b64, 1e-3), "layernorm_forward, float64, eps 1e-3", rtol=1e-6, atol=1e-8, verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4 -- what normalisation adds to a model (2 points)
# `make_mlp(in_features, out_features, width, depth, norm=...)` builds `depth` hidden blocks
# (`Linear(in, width)`, then `depth - 1` times `Linear(width, width)`, each with a bias, each followed by the norm
# layer if any) and an output `Linear(width, out_features)`. Implement `count_parameters_and_buffers(...)`, which
# returns `(n_parameters, n_buffer_entries)`: the number of learnable numbers (what `model.parameters()` holds) and
# the number of entries in the model's **buffers** (`model.buffers()`: tensors saved in the `state_dict` but not
# trained by the optimiser). Work it out with a formula -- what does `nn.BatchNorm1d(width)` learn, what does it
# store, and what does `nn.LayerNorm(width)` have? Look at `nn.BatchNorm1d(3).state_dict()` if unsure: every
# buffer entry counts, including a counter you may not expect.

# %% nbgrader={"grade": false, "grade_id": "param_count_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def count_parameters_and_buffers(in_features, out_features, width, depth, norm=None):
    """Learnable parameters and buffer entries of make_mlp(in_features, out_features, width, depth, norm=norm).

    Args:
        in_features, out_features, width, depth: positive ints.
        norm: None, "batch" or "layer".
    Returns:
        (n_parameters, n_buffer_entries): a tuple of two ints.
    """
    ### BEGIN SOLUTION
    n_params = (in_features * width + width) + (depth - 1) * (width * width + width) + (width * out_features + out_features)
    n_buffers = 0
    if norm in ("batch", "layer"):
        n_params += depth * 2 * width          # gamma and beta per unit
    if norm == "batch":
        n_buffers += depth * (2 * width + 1)   # running_mean, running_var, num_batches_tracked
    return n_params, n_buffers
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "param_count_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 4: compare with a real model
def true_counts(*args, norm=None):
    model = make_mlp(*args, norm=norm)
    return sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers())


got = checks.call(count_parameters_and_buffers, 64, 10, 32, 3, "batch")
checks.check_type(got, tuple, "count_parameters_and_buffers(64, 10, 32, 3, 'batch')")
checks.check_equal(got, true_counts(64, 10, 32, 3, norm="batch"), "count_parameters_and_buffers(64, 10, 32, 3, 'batch')")
### BEGIN HIDDEN TESTS
n_par, n_buf = true_counts(20, 5, 16, 4, norm="batch")
got = checks.call(count_parameters_and_buffers, 20, 5, 16, 4, "batch")
checks.check_true(not (len(got) == 2 and int(got[1]) == n_buf - 4),
                  "buffer count is short by one per batch-norm layer: BatchNorm1d also stores "
                  "num_batches_tracked, one entry.")
checks.check_true(not (len(got) == 2 and int(got[0]) == n_par - 4 * 2 * 16),
                  "parameter count misses batch norm's learned gamma and beta (2 x width per layer).")
for args, norm in [((20, 5, 16, 4), "batch"), ((64, 10, 100, 12), None), ((64, 10, 100, 12), "layer"),
                   ((3, 2, 7, 1), "batch"), ((8, 8, 8, 2), "layer"), ((5, 3, 9, 20), None)]:
    checks.check_equal(checks.call(count_parameters_and_buffers, *args, norm), true_counts(*args, norm=norm),
                       f"count_parameters_and_buffers{args + (norm,)}", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ## Part 6 · Explore: batch norm × learning rate × depth
# A grid of real training runs, computed once below (about half a minute; smaller while grading). Each setting
# shows the training loss, with the other batch-norm setting dashed for comparison, and the distribution of every
# hidden block's activations -- before training and after -- as a heat map: one row per layer, the horizontal axis
# is $\log_{10}|a|$ (exact zeros from ReLU are not shown; their share is in the title).
#
# ### 🔮 Predict first
# Without batch norm, at depth 20: what happens to the activations' scale from the first layer to the last at
# initialisation? At which learning rate does the deep network without batch norm stop training, and how does that
# change with depth?

# %%
GRID_LRS = pick(full=[0.01, 0.1, 1.0, 10.0], fast=[0.3, 3.0])
GRID_DEPTHS = pick(full=[4, 12, 20], fast=[4, 12])
todo = [(norm, lr, d) for d in GRID_DEPTHS for norm in (None, "batch") for lr in GRID_LRS
        if (norm, lr, d) not in runs]
for norm, lr, d in tqdm(todo, desc="widget grid"):
    runs[(norm, lr, d)] = train_run(norm, lr, depth=d)


widget_app = bn_explorer(runs, GRID_LRS, GRID_DEPTHS, HIST_BINS)
widget_app

# %% [markdown]
# **What to notice:** switch batch norm off at depth 20: even with He initialisation the activations' scale drifts
# from layer to layer (the band moves right towards the last layers), and the largest usable learning rate shrinks
# as the network gets deeper; at a large learning rate the un-normalised network diverges within a few steps. With
# batch norm every layer's activations sit at the same scale before *and* after training, at every depth.

# %%
state = widget_app.update(batch_norm=False, lr=max(GRID_LRS), depth=max(GRID_DEPTHS))  # drive the app from code

# %%
# NBVAL_CHECK_OUTPUT
print("no batch norm, largest lr, deepest: diverged =", state.data["diverged"], "| error:", state.error)

# %% [markdown]
# ### Free response (3 points, graded by your instructor)
# Your experiment in Part 3 trained with much larger learning rates once batch norm was added. Explain **why**
# batch norm lets you raise the learning rate. Give at least two mechanisms, and say what the evidence is against
# the original "internal covariate shift" explanation.

# %% [markdown] nbgrader={"grade": true, "grade_id": "free_response_bn_learning_rate", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# Model answer: (1) **Scale invariance:** the output of a batch-normalised layer does not change if its incoming
# weights are multiplied by a constant. A large step that inflates the weights therefore does not inflate the
# activations; and the gradient with respect to those weights scales like $1/\lVert w\rVert$, so the effective
# step $\alpha/\lVert w\rVert^2$ shrinks automatically when the weights grow -- a built-in brake. (2) **Controlled
# scale in every layer:** activations are re-standardised layer after layer, so they cannot grow or shrink
# exponentially with depth; the backward gradients stay in range too, and a step of a given size has a comparable
# effect on every layer. (3) **Smoother loss landscape:** Santurkar et al. (2018) measured that batch norm makes the
# loss and its gradient change more slowly (smaller Lipschitz constants of the loss and of the gradient), so the
# gradient stays a good guide over a longer step and larger steps do not overshoot. Against internal covariate
# shift: the same paper added random noise after batch norm, making the layer-input distributions shift *more*;
# training was still as fast as with plain batch norm; and standard networks with batch norm do not show reduced
# distribution shift in their measurements.
#
# === BEGIN MARK SCHEME ===
# 3 points in total.
# * 1 point: one correct mechanism explained (scale invariance / automatic effective-learning-rate reduction, or
#   activations kept in a fixed range so nothing explodes or vanishes with depth). Naming it without explanation: ½.
# * 1 point: a second, different mechanism (any of the above, or the smoother loss/gradient -- a larger step stays
#   reliable).
# * 1 point: the evidence against internal covariate shift (Santurkar et al. 2018: injecting noise that increases
#   the shift does not slow training; the benefit correlates with smoothness instead). Saying only "ICS is wrong"
#   without evidence: ½.
# No credit for "batch norm reduces overfitting" or "it standardises the inputs" without a link to the step size.
# === END MARK SCHEME ===

# %% [markdown]
# ## Check your understanding
# 1. You standardise the test split with its own mean and std and the test accuracy goes *up*. Why is that result
#    not trustworthy?
# 2. Batch norm follows a `Linear` layer. Why is that `Linear`'s bias useless (and often switched off with
#    `bias=False`)?
# 3. Your model has batch norm and you evaluate it with a batch size of 1 and get an error. What did you forget?
# 4. Why does a 50-layer residual network without normalisation have exploding activations even though each block
#    is He initialised?
# 5. Why is layer norm, not batch norm, the choice for a model trained with batches of 2?
#
# <details><summary>Answers</summary>
#
# 1. The test split must simulate unseen data; its statistics are not available when predicting one new example,
#    and using them leaks information. The score no longer measures deployment performance.
# 2. Batch norm subtracts the batch mean of every unit, which removes any constant added before it; β does the
#    shifting instead.
# 3. `model.eval()`: in training mode batch norm needs at least two examples to compute a variance.
# 4. Each block *adds* its output to the skip path; with He initialisation the branch's output has about the same
#    variance as its input, so the variance at least doubles per block: $2^{49} \approx 6\cdot10^{14}$ from the first
#    block to the 50th by that argument. Part 5 measured more, a factor 2.84 per block and $1.5\cdot10^{22}$ in all,
#    because the ReLU outputs' non-zero mean adds up along the skip path as well.
# 5. Batch statistics from 2 examples are extremely noisy (and the training/test discrepancy is large); layer norm
#    uses each example's own features and does not depend on the batch at all.
# </details>
#
# ## Summary
# * Correlated, unscaled inputs make an ill-conditioned loss (a ravine); standardising with **training** statistics
#   helps, whitening makes the bowl round.
# * Batch norm: batch mean and **biased** batch variance, $\epsilon$ inside the square root, learned γ and β; running
#   statistics (momentum 0.1, **unbiased** variance) at test time; `model.train()` / `model.eval()` switch.
# * In our 12-layer MLP it widened the range of working learning rates about tenfold upwards. The mechanism is not
#   "internal covariate shift" but scale invariance and a smoother loss landscape.
# * Residual networks without normalisation grow their variance exponentially with depth (here a factor 2.84 per
#   block, $1.5\cdot10^{22}$ over 50 blocks); normalisation in the branch makes the growth polynomial (layer norm:
#   about linear, 41× over 50 blocks; batch norm: 930×). Layer norm is the batch-independent alternative.
# * Without normalisation a 12-layer ReLU network needs He initialisation: with PyTorch's default it stayed at chance.
#
# ## Further reading
# * Lecture: *Normalization* (input standardisation, batch normalization); review: *Residual Network as Ensemble of
#   Networks*, *Exploding Gradients in Residual Networks*, *Batch Normalization*.
# * S. Ioffe and C. Szegedy, *Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate
#   Shift*, ICML 2015.
# * S. Santurkar, D. Tsipras, A. Ilyas and A. Madry, *How Does Batch Normalization Help Optimization?*, NeurIPS 2018.
# * J. Bjorck, C. Gomes, B. Selman and K. Weinberger, *Understanding Batch Normalization*, NeurIPS 2018.
# * J. L. Ba, J. R. Kiros and G. E. Hinton, *Layer Normalization*, 2016.
# * A. Veit, M. Wilber and S. Belongie, *Residual Networks Behave Like Ensembles of Relatively Shallow Networks*,
#   NeurIPS 2016; S. De and S. Smith, *Batch Normalization Biases Residual Blocks Towards the Identity Function in
#   Deep Networks*, NeurIPS 2020.
# * Y. LeCun, L. Bottou, G. Orr and K.-R. Müller, *Efficient BackProp*, 1998 (why standardised, decorrelated inputs
#   train faster).
#
# **Next:** `06_dropout` -- dropout, L2 and early stopping.
