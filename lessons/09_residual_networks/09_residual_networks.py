# ---
# jupyter:
#   course:
#     budget_s: 60
#     gpu: false
#     minutes: 75
#     title: 'Residual networks: shattered gradients, ensembles of paths, smoother landscapes'
#     topics: shattered gradients and their autocorrelation, residual blocks, counting
#       paths, plain vs residual training, lesion study, effective path lengths, filter-normalised
#       loss landscapes
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 · Residual networks: shattered gradients, ensembles of paths, smoother landscapes
#
# **Time:** about 75 minutes · **Level:** after the lectures on training deep networks and the midterm review ·
# **Prerequisites:** notebooks 01 (skip connections keep one block's gradient alive), 02 (He initialisation) and 05
# (batch norm; the variance of a residual network grows with depth); the chain rule for Jacobians.
#
# ## Learning objectives
# By the end of this notebook you can:
# 1. show the **shattered gradient** phenomenon (Balduzzi et al., 2017): plot $\partial y/\partial x$ of shallow and
#    deep networks, measure its autocorrelation, and say how depth, skips and normalisation change it -- and how
#    clear the effect is;
# 2. write the forward pass of a residual MLP, with the skip added before or after the activation, and explain why
#    only one of the two is an exact "identity path";
# 3. count the paths through a residual network (the review's 16 and 8) and predict their length distribution;
# 4. train a deep plain MLP against residual ones and read the loss curves and per-layer gradient norms;
# 5. run a **lesion study** (Veit et al., 2016) and measure which path lengths carry the gradient; draw
#    filter-normalised loss-landscape slices (Li et al., 2018) of plain and residual networks.

# %% [markdown]
# Everything runs on a laptop CPU in about a minute: the networks are small (width 48-64, at most 50 layers) and the
# data are the bundled 8×8 digits. While nbgrader grades (or in CI's fast mode) the experiments shrink -- fewer random
# networks, one epoch of training, coarser landscape grids -- so some numbers printed then differ from a full run.
# Two demos use your answers (Exercises 1 and 4); they say so.

# %%
# %matplotlib inline
import copy
import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from course_utils import checks
from course_utils.data import load_digits, train_val_test_split
from course_utils.landscape import filter_normalized_direction, loss_slice_2d
from course_utils.mistakes import check_known_mistakes
from course_utils.nets import HiddenBlock, make_mlp
from course_utils.plots import plot_layer_norms, use_style
from course_utils.reproducibility import device, fast_mode, pick, quiet_warnings, seed_everything
from course_utils.residual import (
    correlation_length,
    gradient_curves,
    he_init_,
    path_gradients,
    plot_autocorrelations,
    plot_gradient_curves,
    shattering_explorer,
)
from course_utils.training import evaluate, fit

quiet_warnings()
use_style()
seed_everything(0)
DEVICE = device()

# %% [markdown]
# ## Recap
# A **residual block** (He et al., 2016) adds its input back to what its layers compute:
# $$h_k = h_{k-1} + f_k(h_{k-1}),$$
# so the layers only learn the *residual* $f_k = H - \text{identity}$ (the lecture's $\mathcal F(x) = H(x) - x$). By the
# chain rule its Jacobian is $\partial h_k/\partial h_{k-1} = I + \partial f_k/\partial h_{k-1}$: the identity passes the
# gradient back unscaled (notebook 01 checked this for one block).
#
# **Unravelling.** Multiply these Jacobians over a stack of blocks and expand the product: every term picks, in each
# block, either the identity (the skip) or $\partial f_k$ (the branch). For three blocks
# $$h_3 = h_0 + f_1(h_0) + f_2(h_1) + f_3(h_2), \qquad
# \frac{\partial h_3}{\partial h_0} = (I + J_3)(I + J_2)(I + J_1) = I + J_1 + J_2 + J_3 + J_2J_1 + J_3J_1 + J_3J_2 + J_3J_2J_1,$$
# with $J_k = \partial f_k/\partial h_{k-1}$ evaluated where the network is. Each term is one **path** from input to
# output; its *length* is the number of branches it goes through. Veit et al. (2016) read a residual network as an
# **ensemble of these paths**. The midterm review draws four blocks: "16 possible paths", "8 paths include $f_1$",
# and the gradient with respect to $f_1$'s output is a sum of 8 terms,
# $$\frac{\partial y}{\partial f_1} = I + \frac{\partial f_2}{\partial h_1} + \Big(\frac{\partial f_3}{\partial h_1} +
# \frac{\partial f_3}{\partial h_2}\frac{\partial f_2}{\partial h_1}\Big) + \Big(\frac{\partial f_4}{\partial h_1} +
# \frac{\partial f_4}{\partial h_2}\frac{\partial f_2}{\partial h_1} + \frac{\partial f_4}{\partial h_3}\frac{\partial
# f_3}{\partial h_1} + \frac{\partial f_4}{\partial h_3}\frac{\partial f_3}{\partial h_2}\frac{\partial f_2}{\partial h_1}\Big).$$
# (The review writes $\partial f_3/\partial f_1$ for what is, precisely, $\partial f_3/\partial h_1$ -- the derivative
# of block 3's branch with respect to its input, taken along the route through $f_1$'s output. Its phrase "the
# influence of $f_1$ ... takes 8 different forms" means exactly these 8 terms, one per path from $f_1$ to $y$.)
#
# **Shattered gradients** (Balduzzi et al., 2017; review: "The Shattered Gradient Phenomenon"). Take a network with one
# input and one output and look at $\partial y/\partial x$ as a function of $x$. For a ReLU network it is piecewise
# constant and jumps wherever some unit switches on or off. In a shallow network it changes slowly (like a random
# walk); in a deep plain network it jumps so often that nearby inputs get *unrelated* gradients (like white noise).
# Gradient descent assumes the gradient after a small step resembles the one before; shattered gradients break that.
# We measure "resembles" with the **autocorrelation** of the sampled curve $g_i = \partial y/\partial x(x_i)$:
# $$r(\tau) = \frac{\sum_{i=0}^{N-1-\tau} (g_i - \bar g)(g_{i+\tau} - \bar g)}{\sum_{i=0}^{N-1} (g_i - \bar g)^2}, \qquad
# \bar g = \frac1N \sum_{i=0}^{N-1} g_i .$$
# Balduzzi et al. prove that in plain feed-forward ReLU networks this correlation decays **exponentially** with depth,
# and in residual networks only **sublinearly** (like $1/\sqrt{L}$ with batch norm).

# %% [markdown]
# ## Part 1 · Shattered gradients
# We build networks with **one input and one output**, width 64, ReLU, He-initialised weights (notebook 02) and
# biases drawn from $N(0, 1)$, and compute $\partial y/\partial x$ with autograd at 256 evenly spaced inputs in
# $[-2, 2]$ (`course_utils.residual.gradient_curves`). Why random biases? With zero biases a ReLU network of a scalar
# input is *positively homogeneous*, $f(x) = x\,f(1)$ for $x>0$, so its gradient could only jump at $x = 0$. The
# variants: one hidden layer; 24 and 50 layers without skips ("plain"); 50 layers with a skip around every layer
# ($h + \mathrm{relu}(Wh + b)$, `make_mlp(..., residual=True)`); and the same with batch norm inside each branch
# ($h + \mathrm{relu}(\mathrm{BN}(Wh + b))$). Batch norm uses the statistics of the 256 inputs, held fixed (as in
# evaluation mode), so that each output depends on its own input only.
#
# ### 🔮 Predict first
# Sketch $\partial y/\partial x$ for the 1-layer and the 50-layer plain network. Which of the two residual networks
# will look more like the shallow one?

# %%
SHATTER = {  # label -> (depth, residual, norm)
    "1 layer": (1, False, None),
    "24 layers, plain": (24, False, None),
    "50 layers, plain": (50, False, None),
    "24 layers, residual": (24, True, None),
    "50 layers, residual": (50, True, None),
    "24 layers, residual + BN": (24, True, "batch"),
    "50 layers, residual + BN": (50, True, "batch"),
}
SEEDS = range(pick(full=6, fast=1))  # one random network per seed; averages are over these
grad_curves = {}
for label, (depth, residual, norm) in SHATTER.items():
    x_grid, grad_curves[label] = gradient_curves(depth, residual, norm, seeds=SEEDS)  # (256,), (seeds, 256)
DX = float(x_grid[1] - x_grid[0])

shown = ["1 layer", "24 layers, plain", "50 layers, plain", "50 layers, residual", "50 layers, residual + BN"]
fig, axes = plt.subplots(1, len(shown), figsize=(16, 3.2), sharey=True)
plot_gradient_curves({label: (x_grid, grad_curves[label][0]) for label in shown}, axes=axes)
fig.suptitle("∂y/∂x of one random network each (standardised: mean 0, std 1)")
if fast_mode():  # while autograding: no figures, to keep grading fast
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()


# %% [markdown]
# **What to notice:** the 1-layer network's gradient wanders slowly, like a random walk; the 24- and 50-layer plain
# networks' gradients jump at almost every input -- neighbouring inputs get unrelated gradients. With skips the
# 50-layer gradient is smooth again; with batch norm in the branches it is rougher than the shallow one but has more
# structure than the plain one. Pictures of one network can mislead, so we measure.
#
# ### Exercise 1 -- the autocorrelation of a sampled curve (2 points)
# Implement `gradient_autocorrelation(g, max_lag)` for a 1-D float tensor `g` of length $N \ge 2$: return a 1-D tensor
# of length `max_lag + 1` whose entry $\tau$ is $r(\tau)$ from the recap, for $\tau = 0, 1, \dots,$ `max_lag`
# ($0 \le$ `max_lag` $\le N-1$). Note the details of this (standard) estimator:
# * subtract the mean $\bar g$ of the **whole** curve before multiplying;
# * the numerator sums the $N - \tau$ available products; the denominator is the sum of all $N$ squared deviations, so
#   $r(0) = 1$ and there is **no** per-lag rescaling by $N/(N-\tau)$;
# * this is not the Pearson correlation of `g[:-τ]` with `g[τ:]` (that one uses each segment's own mean and spread).
#
# If all values of `g` are equal, $r$ is undefined: raise a `ValueError`. Do not modify `g`. Return a floating-point
# tensor (its dtype may follow `g`'s).

# %% nbgrader={"grade": false, "grade_id": "autocorrelation_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gradient_autocorrelation(g, max_lag):
    """Autocorrelation r(0..max_lag) of a sampled curve.

    Args:
        g: float tensor (N,), N >= 2, not all values equal.
        max_lag: int, 0 <= max_lag <= N - 1.
    Returns:
        Float tensor (max_lag + 1,): r[tau] = sum_i (g_i - mean)(g_{i+tau} - mean) / sum_i (g_i - mean)^2.
    Raises:
        ValueError: if g is constant.
    """
    ### BEGIN SOLUTION
    centred = g - g.mean()
    denominator = (centred * centred).sum()
    if denominator == 0:
        raise ValueError("the curve is constant: its autocorrelation is undefined")
    n = centred.shape[0]
    return torch.stack([(centred[: n - lag] * centred[lag:]).sum() / denominator for lag in range(max_lag + 1)])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "autocorrelation_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 1
_r = checks.call(gradient_autocorrelation, torch.tensor([1.0, 2.0, 3.0, 4.0]), 3)
checks.check_shape(_r, (4,), "gradient_autocorrelation([1, 2, 3, 4], 3)")
check_known_mistakes(_r, [1.0, 0.25, -0.3, -0.45], {
    "correlate without removing the mean (subtract the mean of g first)": [1.0, 20 / 30, 11 / 30, 4 / 30],
    "rescale each lag by N / (N - tau) (the prompt's estimator has no per-lag rescaling)": [1.0, 1 / 3, -0.6, -1.8],
}, name="gradient_autocorrelation([1, 2, 3, 4], 3)", rtol=1e-5, atol=1e-6)
checks.check_close(_r, [1.0, 0.25, -0.3, -0.45], "gradient_autocorrelation([1, 2, 3, 4], 3)", rtol=1e-5, atol=1e-6)
### BEGIN HIDDEN TESTS
def _acf_tests():
    def ref(g, max_lag, centre=True, adjusted=False):
        c = g - g.mean() if centre else g
        n = len(c)
        return torch.stack([(c[: n - k] * c[k:]).sum() / (c * c).sum() * (n / (n - k) if adjusted else 1.0)
                            for k in range(max_lag + 1)])

    def pearson(g, max_lag):
        out = [torch.tensor(1.0, dtype=g.dtype)]
        for k in range(1, max_lag + 1):
            a, b = g[:-k] - g[:-k].mean(), g[k:] - g[k:].mean()
            out.append((a * b).sum() / torch.sqrt((a * a).sum() * (b * b).sum()))
        return torch.stack(out)

    gen = torch.Generator().manual_seed(9)
    walk = torch.cumsum(torch.randn(60, generator=gen, dtype=torch.float64), 0) + 5.0  # a random walk, mean far from 0
    before = walk.clone()
    got = checks.call(gradient_autocorrelation, walk, 20)
    checks.check_close(walk, before, "g after gradient_autocorrelation -- do not modify the input (no in-place -=)",
                       verbose=False)
    check_known_mistakes(got, ref(walk, 20), {
        "correlate without removing the mean (subtract the mean of g first)": lambda: ref(walk, 20, centre=False),
        "rescale each lag by N / (N - tau) (the prompt's estimator has no per-lag rescaling)":
            lambda: ref(walk, 20, adjusted=True),
        "compute the Pearson correlation of g[:-tau] and g[tau:] (use the whole curve's mean and the sum of all N "
        "squared deviations instead)": lambda: pearson(walk, 20),
        "return the lags in reverse order": lambda: ref(walk, 20).flip(0),
    }, name="gradient_autocorrelation(random walk of 60 points, 20)")
    checks.check_close(got, ref(walk, 20), "gradient_autocorrelation(random walk of 60 points, 20)", rtol=1e-6,
                       atol=1e-8, verbose=False)
    checks.check_close(checks.call(gradient_autocorrelation, walk, 0), [1.0], "gradient_autocorrelation(g, 0)",
                       verbose=False)
    checks.check_close(checks.call(gradient_autocorrelation, walk, 59), ref(walk, 59),
                       "gradient_autocorrelation(g of 60 points, 59) (the largest lag)", rtol=1e-6, atol=1e-8,
                       verbose=False)
    noise = torch.randn(200, generator=gen) * 3.0 - 2.0  # float32
    checks.check_close(checks.call(gradient_autocorrelation, noise, 10), ref(noise, 10),
                       "gradient_autocorrelation(float32 noise of 200 points, 10)", rtol=1e-4, atol=1e-5, verbose=False)
    checks.check_close(checks.call(gradient_autocorrelation, torch.tensor([3.0, -1.0]), 1), [1.0, -0.5],
                       "gradient_autocorrelation([3, -1], 1)", rtol=1e-5, atol=1e-6, verbose=False)
    checks.check_raises(gradient_autocorrelation, (torch.full((10,), 2.5), 3), ValueError,
                        name="gradient_autocorrelation(a constant curve, 3)", verbose=False)


_acf_tests()
del _acf_tests
### END HIDDEN TESTS

# %% [markdown]
# ### How far apart can two inputs be before their gradients decorrelate?
# The cell below uses **your** `gradient_autocorrelation` on every curve (all random networks of each variant) and
# averages over the networks. We summarise each average by its **correlation length**: the smallest distance
# $\tau\,\Delta x$ at which it falls below $0.5$ (`course_utils.residual.correlation_length`; $\Delta x = 4/255$).
#
# ### 🔮 Predict first
# Order the seven variants by correlation length. Does adding skips make the 50-layer network as smooth as the
# 1-layer one, smoother, or only less rough than the plain 50-layer one?

# %%
MAX_LAG = 64
mean_acf = {label: np.mean([np.asarray(gradient_autocorrelation(torch.as_tensor(g), MAX_LAG), dtype=float)
                            for g in curves], axis=0)
            for label, curves in grad_curves.items()}
corr_len = {label: correlation_length(r, DX) for label, r in mean_acf.items()}

fig, ax = plt.subplots(figsize=(8, 4))
styles = {label: {"ls": "--"} for label in SHATTER if "24" in label}
plot_autocorrelations(mean_acf, DX, ax=ax, styles=styles)
ax.set_title(f"Autocorrelation of ∂y/∂x, mean over {len(SEEDS)} random networks per variant")
if fast_mode():
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()

# %%
# NBVAL_CHECK_OUTPUT
print("correlation length (input distance where r drops below 0.5):")
for label, length in corr_len.items():
    print(f"  {label:26s} {length:.2f}")

# %% [markdown]
# **What to notice -- and how clear it is.** Depth shatters the plain networks: the correlation length shrinks from
# about 0.5 (1 layer) to about 0.13 (24 layers) and 0.06 (50 layers), i.e. to a handful of grid steps. Skips *without*
# normalisation give the smoothest gradients of all -- smoother than the shallow network -- but that is no cure: the
# activations of that network grow like $2^L$ (notebook 05), the biases become negligible, and the later blocks barely
# add kinks. With batch norm in the branches (the trainable design) the curve is rough, but its correlation length
# stays at about 0.13 from 24 to 50 layers while the plain one halves: the "slower decay with depth" of Balduzzi et
# al., not a return to the shallow network. The effect varies a lot from one random network to the next (compare
# single networks in the widget): trust the averages, not one curve. A deeper or wider study would be needed to see
# the $1/\sqrt{L}$ law itself.

# %% [markdown]
# ### Explore: depth × skips × normalisation
# The widget computes the curves of 3 random networks (width 64) per setting when it is built (a few seconds) and then
# only looks them up; the right panel is the mean of **your** `gradient_autocorrelation` over the 3 networks, with the
# 1-layer network dashed for reference. Try batch norm *without* skips, and layer norm with skips.

# %%
explorer = shattering_explorer(gradient_autocorrelation, depths=pick(full=(1, 2, 4, 8, 16, 24, 32, 50), fast=(1, 8)),
                               seeds=pick(full=(0, 1, 2), fast=(0,)), max_lag=MAX_LAG)
explorer

# %%
_deep = max(explorer.controls["depth"].options)  # drive the app from code
_plain_bn = explorer.update(depth=_deep, residual=False, normalisation="batch norm").data["length"]
_res_ln = explorer.update(depth=_deep, residual=True, normalisation="layer norm").data["length"]

# %%
# NBVAL_CHECK_OUTPUT
print(f"depth {_deep}, batch norm without skips: correlation length {_plain_bn:.2f} (white noise: one grid step is "
      f"{DX:.3f})")
print(f"depth {_deep}, layer norm with skips:    correlation length {_res_ln:.2f}")
print("widget error:", explorer.state.error)


# %% [markdown]
# **What to notice:** batch norm without skips is the worst case: the gradient decorrelates within a single grid step
# -- white noise. In this measurement normalisation alone does not prevent shattering (it makes it worse); it is the
# skips that keep short, smooth paths from input to output.
#
# ## Part 2 · Residual blocks and the paths through them
# ### Exercise 2 -- the forward pass of a residual MLP (2 + 1 points)
# Implement `residual_forward(x, weights, biases, skip="after")`. `x` has shape `(N, D)`; `weights` is a list of $K$
# tensors $W_k$ of shape `(D, D)` and `biases` a list of $K$ tensors $b_k$ of shape `(D,)` (as in `nn.Linear`: the
# layer computes $h W_k^\top + b_k$). Starting from $h = x$, apply the $K$ blocks in order:
# * `skip="after"` -- the skip is added **after** the activation (this is `make_mlp(..., residual=True)` and the form
#   the unravelled view needs): $h \leftarrow h + \mathrm{relu}(h W_k^\top + b_k)$;
# * `skip="before"` -- the skip is added **before** the activation, which then acts on the sum (as in the original
#   ResNet block, whose last ReLU follows the addition): $h \leftarrow \mathrm{relu}(h + h W_k^\top + b_k)$.
#
# Return the final $h$, shape `(N, D)`. With $K = 0$ blocks return `x`'s values. Do not modify `x` in place.

# %% nbgrader={"grade": false, "grade_id": "residual_forward_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def residual_forward(x, weights, biases, skip="after"):
    """Forward pass through K residual blocks.

    Args:
        x: float tensor (N, D).
        weights: list of K float tensors (D, D); biases: list of K float tensors (D,).
        skip: "after" -> h + relu(h @ W.T + b);  "before" -> relu(h + h @ W.T + b).
    Returns:
        Float tensor (N, D), the output of the last block (x itself when K = 0).
    """
    ### BEGIN SOLUTION
    h = x
    for weight, bias in zip(weights, biases):
        z = h @ weight.T + bias
        h = h + torch.relu(z) if skip == "after" else torch.relu(h + z)
    return h
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "residual_after_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 2, skip="after"
_x = torch.tensor([[1.0, -2.0], [0.5, 1.0]])
_W = [torch.tensor([[1.0, 2.0], [0.0, 1.0]])]
_b = [torch.tensor([0.5, 0.0])]
_out = checks.call(residual_forward, _x.clone(), _W, _b, "after")
checks.check_shape(_out, (2, 2), "residual_forward(x (2, 2), one block, 'after')")
check_known_mistakes(_out, [[1.0, -2.0], [3.5, 2.0]], {
    "add the skip BEFORE the activation, relu(h + h W^T + b); skip='after' asks for h + relu(h W^T + b)":
        [[0.0, 0.0], [3.5, 2.0]],
    "forget the skip connection": [[0.0, 0.0], [3.0, 1.0]],
}, name="residual_forward(x, one block, 'after')", rtol=1e-5, atol=1e-6)
checks.check_close(_out, [[1.0, -2.0], [3.5, 2.0]], "residual_forward(x, one block, 'after')", rtol=1e-5, atol=1e-6)
### BEGIN HIDDEN TESTS
def _after_tests():
    def ref(x, ws, bs, skip="after", transpose=True, use_skip=True, skip_from_input=False):
        h = x
        for w, b in zip(ws, bs):
            z = h @ (w.T if transpose else w) + b
            base = (x if skip_from_input else h) if use_skip else 0.0
            h = base + torch.relu(z) if skip == "after" else torch.relu(base + z)
        return h

    gen = torch.Generator().manual_seed(3)
    x = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    ws = [torch.randn(4, 4, generator=gen, dtype=torch.float64) * 0.7 for _ in range(3)]
    bs = [torch.randn(4, generator=gen, dtype=torch.float64) * 0.5 for _ in range(3)]
    before = x.clone()
    got = checks.call(residual_forward, x, ws, bs, "after")
    checks.check_close(x, before, "x after residual_forward -- do not modify the input in place", verbose=False)
    check_known_mistakes(got, ref(x, ws, bs), {
        "add the skip BEFORE the activation, relu(h + h W^T + b); skip='after' asks for h + relu(h W^T + b)":
            lambda: ref(x, ws, bs, skip="before"),
        "forget the skip connection (h = relu(h W^T + b))": lambda: ref(x, ws, bs, use_skip=False),
        "multiply by W instead of W^T (nn.Linear computes h @ W.T + b)": lambda: ref(x, ws, bs, transpose=False),
        "add the network's input x in every block instead of the current h": lambda: ref(x, ws, bs, skip_from_input=True),
    }, name="residual_forward(x (5, 4), 3 blocks, 'after')")
    checks.check_close(got, ref(x, ws, bs), "residual_forward(x (5, 4), 3 blocks, 'after')", rtol=1e-6, atol=1e-8,
                       verbose=False)
    checks.check_close(checks.call(residual_forward, x, ws, bs), ref(x, ws, bs),
                       "residual_forward(x, weights, biases) with the default skip", rtol=1e-6, atol=1e-8, verbose=False)
    checks.check_close(checks.call(residual_forward, x, [], [], "after"), x, "residual_forward with no blocks",
                       verbose=False)
    one = x[:1, :1].float()
    checks.check_close(checks.call(residual_forward, one, [torch.tensor([[-2.0]])], [torch.tensor([1.0])], "after"),
                       ref(one, [torch.tensor([[-2.0]])], [torch.tensor([1.0])]), "residual_forward(x (1, 1), 'after')",
                       verbose=False)


_after_tests()
del _after_tests
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "residual_before_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 2, skip="before"
_out = checks.call(residual_forward, _x.clone(), _W, _b, "before")
checks.check_shape(_out, (2, 2), "residual_forward(x (2, 2), one block, 'before')")
check_known_mistakes(_out, [[0.0, 0.0], [3.5, 2.0]], {
    "add the skip AFTER the activation, h + relu(h W^T + b); skip='before' asks for relu(h + h W^T + b)":
        [[1.0, -2.0], [3.5, 2.0]],
}, name="residual_forward(x, one block, 'before')", rtol=1e-5, atol=1e-6)
checks.check_close(_out, [[0.0, 0.0], [3.5, 2.0]], "residual_forward(x, one block, 'before')", rtol=1e-5, atol=1e-6)
### BEGIN HIDDEN TESTS
def _before_tests():
    def ref(x, ws, bs, skip="before", transpose=True, use_skip=True):
        h = x
        for w, b in zip(ws, bs):
            z = h @ (w.T if transpose else w) + b
            base = h if use_skip else 0.0
            h = base + torch.relu(z) if skip == "after" else torch.relu(base + z)
        return h

    gen = torch.Generator().manual_seed(4)
    x = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    ws = [torch.randn(3, 3, generator=gen, dtype=torch.float64) * 0.7 for _ in range(4)]
    bs = [torch.randn(3, generator=gen, dtype=torch.float64) * 0.5 for _ in range(4)]
    before = x.clone()
    got = checks.call(residual_forward, x, ws, bs, "before")
    checks.check_close(x, before, "x after residual_forward -- do not modify the input in place", verbose=False)
    check_known_mistakes(got, ref(x, ws, bs), {
        "add the skip AFTER the activation, h + relu(h W^T + b); skip='before' asks for relu(h + h W^T + b)":
            lambda: ref(x, ws, bs, skip="after"),
        "forget the skip connection (h = relu(h W^T + b))": lambda: ref(x, ws, bs, use_skip=False),
        "multiply by W instead of W^T (nn.Linear computes h @ W.T + b)": lambda: ref(x, ws, bs, transpose=False),
    }, name="residual_forward(x (6, 3), 4 blocks, 'before')")
    checks.check_close(got, ref(x, ws, bs), "residual_forward(x (6, 3), 4 blocks, 'before')", rtol=1e-6, atol=1e-8,
                       verbose=False)
    checks.check_close(checks.call(residual_forward, x, [], [], "before"), x,
                       "residual_forward with no blocks, 'before'", verbose=False)


_before_tests()
del _before_tests
### END HIDDEN TESTS

# %% [markdown]
# Why does the lesson's network add the skip *after* the activation? Only then is the skip path an exact identity and
# the Jacobian exactly $I + J_k$, so the expansion into paths in the recap holds. With the ReLU after the addition, the
# ReLU gates the skip too: where $h + f(h) < 0$ even the "identity" path is cut (He et al.'s follow-up paper, 2016b,
# moved the activations into the branch for this reason).
#
# ### Checking the review's picture: 16 paths, 8 through $f_1$
# Four residual blocks of width 3 (`course_utils.nets.HiddenBlock`, skip after the activation). We enumerate the paths
# -- a path is the subset of branches it uses -- and add up, for each path, the product of its branch Jacobians; the
# sum must equal the Jacobian $\partial h_4/\partial h_0$ that autograd computes.

# %%
torch.manual_seed(0)
blocks4 = [HiddenBlock(3, 3, residual=True).double() for _ in range(4)]
h0 = torch.randn(3, dtype=torch.float64)
inputs4 = [h0]
for block in blocks4:
    inputs4.append(block(inputs4[-1][None])[0].detach())
branch_jac = [torch.autograd.functional.jacobian(lambda h, b=b: b(h[None])[0] - h, inputs4[k])
              for k, b in enumerate(blocks4)]
full_jac = torch.autograd.functional.jacobian(lambda h: blocks4[3](blocks4[2](blocks4[1](blocks4[0](h[None]))))[0], h0)
paths = [subset for r in range(5) for subset in itertools.combinations(range(1, 5), r)]
path_sum = torch.zeros(3, 3, dtype=torch.float64)
for subset in paths:
    term = torch.eye(3, dtype=torch.float64)
    for k in subset:  # branches in forward order: later Jacobians multiply from the left
        term = branch_jac[k - 1] @ term
    path_sum += term

# %%
# NBVAL_CHECK_OUTPUT
print("paths:", len(paths), "| through f1:", sum(1 in p for p in paths))
print("paths by length:", [sum(len(p) == r for p in paths) for r in range(5)])
print("sum of the 16 path terms equals autograd's Jacobian:", torch.allclose(path_sum, full_jac, atol=1e-12))
print("some paths:", ", ".join("skip only" if not p else "+".join(f"f{k}" for k in p) for p in paths[:7]), "...")


# %% [markdown]
# ### Exercise 3 -- counting paths (2 points)
# Implement `count_paths(n_blocks, through=None)` for a residual network of `n_blocks` blocks $h_k = h_{k-1} +
# f_k(h_{k-1})$ (`n_blocks` $\ge 0$):
# * `through=None`: the number of paths from the input to the output;
# * `through=j` ($1 \le j \le$ `n_blocks`): the number of those paths that go through the branch $f_j$.
#
# Return a Python `int`. Raise a `ValueError` if `n_blocks` is negative or `through` is not between 1 and `n_blocks`.
# Check yourself against the review: 4 blocks, 16 paths, 8 through $f_1$. (Careful: two wrong formulas happen to give
# 16 and 8 at four blocks -- the hidden tests use other sizes.)

# %% nbgrader={"grade": false, "grade_id": "count_paths_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def count_paths(n_blocks, through=None):
    """Number of input-to-output paths of a residual network (or those through branch f_j).

    Args:
        n_blocks: int >= 0.
        through: None, or an int j with 1 <= j <= n_blocks.
    Returns:
        int.
    Raises:
        ValueError: n_blocks < 0, or through outside 1..n_blocks.
    """
    ### BEGIN SOLUTION
    if n_blocks < 0:
        raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
    if through is None:
        return 2 ** n_blocks
    if not 1 <= through <= n_blocks:
        raise ValueError(f"through must be between 1 and {n_blocks}, got {through}")
    return 2 ** (n_blocks - 1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "count_paths_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 3: the review's numbers
_n = checks.plain(checks.call(count_paths, 4), "count_paths(4)")
checks.check_true(_n != 8, "count_paths(4) = 8 = 2 x 4: each block doubles the number of paths (a path takes either "
                  "the skip or the branch of every block), so there are 2^n paths, not 2n.")
checks.check_equal(_n, 16, "count_paths(4)")
_n = checks.plain(checks.call(count_paths, 4, 1), "count_paths(4, through=1)")
checks.check_true(_n not in (6, 9), f"count_paths(4, through=1) = {_n}: a path through f_1 chooses skip or branch in "
                  "each of the 3 OTHER blocks, so the count doubles per block: 2^(n-1), not 2(n-1) or (n-1)^2.")
checks.check_equal(_n, 8, "count_paths(4, through=1)")
### BEGIN HIDDEN TESTS
def _count_tests():
    for n in (3, 5, 7):
        got = checks.plain(checks.call(count_paths, n), f"count_paths({n})")
        checks.check_true(not (got == 2 * n and 2 * n != 2 ** n),
                          f"count_paths({n}) = {got} = 2 x {n}: each block doubles the number of paths (every path "
                          f"either takes the skip or the branch), so there are 2^n paths, not 2n.")
        checks.check_true(not (got == n * n and n * n != 2 ** n),
                          f"count_paths({n}) = {got} = {n}^2: the count doubles with every block -- 2^n, not n^2 "
                          f"(at n = 4 the two agree by coincidence).")
        checks.check_equal(got, 2 ** n, f"count_paths({n})", verbose=False)
    for n, j in ((5, 3), (3, 3), (6, 1)):
        got = checks.plain(checks.call(count_paths, n, j), f"count_paths({n}, through={j})")
        checks.check_true(not (got == 2 * (n - 1) and 2 * (n - 1) != 2 ** (n - 1)),
                          f"count_paths({n}, through={j}) = {got} = 2 x ({n} - 1): a path through f_{j} chooses skip or "
                          f"branch in each of the OTHER {n - 1} blocks: 2^(n-1).")
        checks.check_true(not (got == (n - 1) ** 2 and (n - 1) ** 2 != 2 ** (n - 1)),
                          f"count_paths({n}, through={j}) = {got} = ({n} - 1)^2: the other blocks double the count each: "
                          f"2^(n-1).")
        checks.check_true(not (got == 2 ** n and n > 0),
                          f"count_paths({n}, through={j}) = {got}: that counts all paths; only half of them go through "
                          f"f_{j}.")
        checks.check_equal(got, 2 ** (n - 1), f"count_paths({n}, through={j})", verbose=False)
    checks.check_equal(checks.call(count_paths, 0), 1, "count_paths(0) (no blocks: one path, the identity)",
                       verbose=False)
    checks.check_equal(checks.call(count_paths, 1, 1), 1, "count_paths(1, through=1)", verbose=False)
    checks.check_equal(checks.call(count_paths, 40), 2 ** 40, "count_paths(40)", verbose=False)
    checks.check_equal(checks.call(count_paths, 20, 20), 2 ** 19, "count_paths(20, through=20)", verbose=False)
    checks.check_raises(count_paths, (4, 0), ValueError, name="count_paths(4, through=0)", verbose=False)
    checks.check_raises(count_paths, (4, 5), ValueError, name="count_paths(4, through=5)", verbose=False)
    checks.check_raises(count_paths, (-1,), ValueError, name="count_paths(-1)", verbose=False)


_count_tests()
del _count_tests
### END HIDDEN TESTS

# %% [markdown]
# ### How long are the paths?
# A path of length $l$ chooses $l$ of the $n$ branches: there are $\binom{n}{l}$ of them, a binomial distribution
# with mean $n/2$. The networks we train next have 19 residual blocks, so most of their $2^{19} \approx 5\times10^5$
# paths go through 8 to 11 branches. Whether those long paths also *matter* is what Part 4 measures.

# %%
# NBVAL_CHECK_OUTPUT
N_RES = 19
lengths = np.arange(N_RES + 1)
n_of_length = np.array([math.comb(N_RES, int(l)) for l in lengths])
print(f"{N_RES} blocks: {n_of_length.sum()} paths; most common lengths {lengths[n_of_length == n_of_length.max()]}; "
      f"share of paths with length 6..13: {n_of_length[6:14].sum() / n_of_length.sum():.3f}")

# %% [markdown]
# ## Part 3 · Training a deep plain MLP against residual ones
# Same data (the digits, pixels standardised with training-split statistics), same width (48), same depth (20 hidden
# layers, i.e. 19 residual blocks after the first layer), same optimiser (SGD, learning rate 0.01, momentum 0.9, batch
# 64, 6 epochs), four networks:
# * **plain, default init** -- PyTorch's default initialisation, no skips;
# * **plain, He init** -- the plain network's best chance (notebook 02);
# * **residual** -- skips after the activation, PyTorch's default initialisation (with He init the variance would
#   double in every block, notebook 05);
# * **residual + BN** -- the same with batch norm in each branch, $h + \mathrm{relu}(\mathrm{BN}(Wh + b))$.
#
# `fit` records each layer's weight-gradient norm, averaged over the steps of each epoch.
#
# ### 🔮 Predict first
# Which network will not learn at all? In which will the first layer's gradient be much smaller than the last
# layer's?

# %%
X_all, y_all = load_digits(flatten=True)
split = train_val_test_split(X_all, y_all, fractions=(0.7, 0.15, 0.15), seed=0)
pix_mean = split.x_train.mean(0)
pix_std = split.x_train.std(0)
pix_std = torch.where(pix_std > 0, pix_std, torch.ones_like(pix_std))
Xtr, Xva, Xte = [((x - pix_mean) / pix_std).to(DEVICE) for x in (split.x_train, split.x_val, split.x_test)]
ytr, yva, yte = split.y_train.to(DEVICE), split.y_val.to(DEVICE), split.y_test.to(DEVICE)
N_FIT = pick(full=len(Xtr), fast=320)  # fewer training digits while autograding

DEPTH, WIDTH, EPOCHS = 20, 48, pick(full=6, fast=1)
VARIANTS = {  # name -> (residual, norm, He init)
    "plain, default init": (False, None, False),
    "plain, He init": (False, None, True),
    "residual": (True, None, False),
    "residual + BN": (True, "batch", False),
}
nets, histories = {}, {}
for name, (residual, norm, he) in VARIANTS.items():
    net = make_mlp(64, 10, WIDTH, DEPTH, residual=residual, norm=norm, seed=0)
    if he:
        torch.manual_seed(0)
        he_init_(net)
    histories[name] = fit(net, (Xtr[:N_FIT], ytr[:N_FIT]), (Xva, yva), epochs=EPOCHS, lr=0.01, momentum=0.9,
                          batch_size=64, seed=0, desc=name)
    nets[name] = net.eval()


def linear_grad_norms(history, epoch=0):
    """Per hidden Linear layer (input side first), the mean weight-gradient norm of one epoch."""
    return [v[epoch] for k, v in history.grad_norms.items() if k.startswith("blocks.") and k.endswith(".linear")]


fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(13, 4.2))
for name, history in histories.items():
    ax_loss.plot(np.arange(1, len(history.step_loss) + 1), history.step_loss, lw=0.8, label=name)
ax_loss.set(xlabel="SGD step", ylabel="training loss (one batch)", yscale="log", title="Training loss")
ax_loss.legend(fontsize=8)
plot_layer_norms({name: linear_grad_norms(h) for name, h in histories.items()}, ax=ax_grad,
                 title="Weight-gradient norm per layer, epoch 1", xlabel="hidden layer (1 = input side)",
                 ylabel="mean ‖∂L/∂W‖")
ax_grad.get_legend().remove()
if fast_mode():
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()
for name, history in histories.items():
    g = linear_grad_norms(history)
    print(f"{name:20s} loss {history.train_loss[0]:7.3f} -> {history.train_loss[-1]:.3f}   "
          f"val. accuracy {history.val_acc[-1]:.1%}   gradient layer 1 / layer {DEPTH}: {g[0] / g[-1]:.2g}")

# %%
# NBVAL_CHECK_OUTPUT
_acc = {name: h.val_acc[-1] for name, h in histories.items()}
_ratio = {name: linear_grad_norms(h)[0] / linear_grad_norms(h)[-1] for name, h in histories.items()}
print("plain, default init stays at chance (val. accuracy < 15 %):", _acc["plain, default init"] < 0.15)
print("its first layer gets < 1e-4 of the last layer's gradient:", _ratio["plain, default init"] < 1e-4)
print("both residual networks beat the He-initialised plain one:",
      min(_acc["residual"], _acc["residual + BN"]) > _acc["plain, He init"])
print("residual + BN is the best, above 90 %:", max(_acc, key=_acc.get) == "residual + BN" and _acc["residual + BN"] > 0.9)


# %% [markdown]
# **What to notice:** with PyTorch's default initialisation the plain 20-layer network does not learn at all: its
# first layer receives a vanishing fraction of the last layer's gradient (notebook 01's story). He initialisation lets
# the plain network learn, slowly. The residual networks train fastest, with the *same* default initialisation that
# failed without skips, and the residual network's gradient is about equally large in every layer -- the identity
# paths deliver it. (The residual networks start with a high loss: their activations grow through the stack; batch
# norm in the branches keeps that growth in check and gives the best network.)

# %% [markdown]
# ## Part 4 · Lesion study: delete a block
# Veit et al. (2016) deleted single blocks from trained networks at test time. A plain network is a single path:
# remove one layer and the layers after it receive inputs they were never trained on. A residual network is an
# ensemble of $2^n$ paths: deleting block $j$ removes the half of the paths that go through $f_j$ and leaves the other
# half -- among them many short ones -- intact.
#
# ### Exercise 4 -- the accuracy drop of a lesioned network (2 points)
# Implement `lesion_accuracy_drop(model, x, y, block)`. `model` is a `course_utils.nets.MLP` (what `make_mlp` returns,
# possibly with batch norm): `model.blocks` is an `nn.ModuleList` of hidden blocks applied in order, and `model.head`
# the output layer, so `model(x)` computes `x -> blocks[0] -> blocks[1] -> ... -> head`. Deleting block `block` means
# that the block's input is passed on unchanged (for a residual block: neither its skip nor its branch is added; the
# block is simply not applied). Return
# $$\text{accuracy(full model)} - \text{accuracy(model without blocks[block])}$$
# as a number, where accuracy is the fraction of rows of `x` (shape `(N, D)`) whose largest logit is at the label `y`
# (int64, shape `(N,)`), both computed in **evaluation mode** (a trained network is always evaluated in eval mode:
# batch norm must use its running statistics). You may assume `1 <= block < len(model.blocks)`. Leave `model` as it
# was: same parameters, same buffers (running statistics), same mode (training or evaluation) afterwards.

# %% nbgrader={"grade": false, "grade_id": "lesion_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lesion_accuracy_drop(model, x, y, block):
    """Accuracy lost when hidden block `block` of an MLP is deleted (evaluation mode).

    Args:
        model: a course_utils.nets.MLP (model.blocks, model.head); left unchanged.
        x: float tensor (N, D); y: int64 tensor (N,) of class labels.
        block: int, 1 <= block < len(model.blocks).
    Returns:
        accuracy(full) - accuracy(without blocks[block]), a number in [-1, 1].
    """
    ### BEGIN SOLUTION
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            full = (model(x).argmax(dim=1) == y).float().mean().item()
            h = x
            for index, layer in enumerate(model.blocks):
                if index != block:
                    h = layer(h)
            lesioned = (model.head(h).argmax(dim=1) == y).float().mean().item()
    finally:
        model.train(was_training)
    return full - lesioned
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "lesion_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 4, on a tiny hand-made plain network: block 0 = relu(x), block 1 swaps the two features
def _swap_net():
    net = make_mlp(2, 2, width=2, depth=2)
    with torch.no_grad():
        net.blocks[0].linear.weight.copy_(torch.eye(2))
        net.blocks[1].linear.weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
        net.head.weight.copy_(torch.eye(2))
        for lin in (net.blocks[0].linear, net.blocks[1].linear, net.head):
            lin.bias.zero_()
    return net.eval()


_net = _swap_net()
_xs = torch.tensor([[2.0, 1.0], [1.0, 2.0], [3.0, 1.0], [1.0, 4.0]])
_ys = torch.tensor([1, 0, 1, 1])  # the full network predicts [1, 0, 1, 0]; without the swap, [0, 1, 0, 1]
_drop = checks.call(lesion_accuracy_drop, _net, _xs, _ys, 1)
checks.check_close(_drop, 0.75 - 0.25, "lesion_accuracy_drop(swap network, block 1)", rtol=1e-6, atol=1e-6)
checks.check_true(len(_net.blocks) == 2 and isinstance(_net.blocks[1], HiddenBlock)
                  and bool(_net.blocks[1].linear.weight[0, 1] == 1.0),
                  "lesion_accuracy_drop changed the model: delete the block in a copy, or skip it in your own loop.",
                  success="the model is unchanged")
### BEGIN HIDDEN TESTS
def _lesion_tests():
    def accuracy(net, x, y, skip=None, training=False):
        net = copy.deepcopy(net).train(training)
        with torch.no_grad():
            h = x
            for i, b in enumerate(net.blocks):
                if i != skip:
                    h = b(h)
            return (net.head(h).argmax(1) == y).float().mean().item()

    gen = torch.Generator().manual_seed(7)
    net = make_mlp(6, 3, width=8, depth=4, residual=True, norm="batch", seed=11)
    net.train()
    with torch.no_grad():  # running statistics from inputs that look nothing like the test batch
        for _ in range(30):
            net(torch.randn(32, 6, generator=gen) * 3.0 + 2.0)
    x = torch.randn(40, 6, generator=gen)
    net.eval()
    with torch.no_grad():
        y = net(x).argmax(1)
    y[::3] = (y[::3] + 1) % 3  # a third of the labels wrong: full accuracy about 2/3
    state = {k: v.clone() for k, v in net.state_dict().items()}
    for block in (1, 3):
        want = accuracy(net, x, y) - accuracy(net, x, y, skip=block)
        got = checks.call(lesion_accuracy_drop, net, x, y, block)
        name = f"lesion_accuracy_drop(residual + BN network, block {block})"
        check_known_mistakes(got, want, {
            "evaluate in TRAINING mode (batch norm then uses the batch's statistics and updates its running "
            "statistics); call model.eval() first": lambda: accuracy(net, x, y, training=True)
            - accuracy(net, x, y, skip=block, training=True),
            "subtract the other way round (return full - lesioned)": lambda: -want,
            "return the lesioned accuracy instead of the drop": lambda: accuracy(net, x, y, skip=block),
            "return a percentage (use fractions in [0, 1])": lambda: 100 * want,
        }, name=name)
        checks.check_close(got, want, name, rtol=1e-6, atol=1e-6, verbose=False)
        for k, v in net.state_dict().items():
            checks.check_close(v, state[k], f"the model's {k} after lesion_accuracy_drop -- leave the model unchanged "
                               "(evaluate in eval mode, delete the block in a copy)", verbose=False)
        checks.check_true(not net.training and len(net.blocks) == 4,
                          "after lesion_accuracy_drop the model must still have all its blocks and be in the mode it "
                          "was in (here: evaluation)")
    net.train()
    checks.call(lesion_accuracy_drop, net, x, y, 2)
    checks.check_true(net.training, "lesion_accuracy_drop left a model that was in training mode in evaluation mode: "
                      "restore the mode it had (model.train(was_training)).")
    for k, v in net.state_dict().items():
        checks.check_close(v, state[k], f"the model's {k} after lesion_accuracy_drop on a model in training mode",
                           verbose=False)
    plain = make_mlp(5, 4, width=6, depth=5, seed=12).eval()
    xp = torch.randn(30, 5, generator=gen)
    yp = torch.randint(0, 4, (30,), generator=gen)
    checks.check_close(checks.call(lesion_accuracy_drop, plain, xp, yp, 4),
                       accuracy(plain, xp, yp) - accuracy(plain, xp, yp, skip=4),
                       "lesion_accuracy_drop(plain network, last block)", rtol=1e-6, atol=1e-6, verbose=False)


_lesion_tests()
del _lesion_tests
### END HIDDEN TESTS

# %% [markdown]
# ### The lesion study
# The cell below uses **your** `lesion_accuracy_drop` on the test digits (this evaluates finished networks; nothing is
# tuned on it), deleting each of the blocks 2..20 in turn, for the He-initialised plain network and the two residual
# ones.
#
# ### 🔮 Predict first
# How much accuracy does the plain network lose when one of its 20 layers is removed? And the residual networks?

# %%
LESIONED = ["plain, He init", "residual", "residual + BN"]
lesion_drops = {name: np.array([float(lesion_accuracy_drop(nets[name], Xte, yte, j)) for j in range(1, DEPTH)])
                for name in LESIONED}
test_acc = {name: evaluate(nets[name], (Xte, yte))[1] for name in VARIANTS}

fig, ax = plt.subplots(figsize=(8, 3.8))
for name in LESIONED:
    ax.plot(np.arange(2, DEPTH + 1), 100 * lesion_drops[name], "o-", ms=4, label=f"{name} (test acc. {test_acc[name]:.0%})")
ax.axhline(0, color="0.6", lw=0.8)
ax.set(xlabel="deleted hidden block", ylabel="test accuracy lost (points)", title="Deleting one block after training")
ax.legend(fontsize=8)
if fast_mode():
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()
for name in LESIONED:
    d = lesion_drops[name]
    print(f"{name:15s} test accuracy {test_acc[name]:.1%}; accuracy lost when one block is deleted: "
          f"median {100 * np.median(d):.1f} points, largest {100 * d.max():.1f} (block {int(d.argmax()) + 2})")

# %%
# NBVAL_CHECK_OUTPUT
print("plain: deleting any one block costs more than 20 points:", bool(lesion_drops["plain, He init"].min() > 0.20))
for name in ("residual", "residual + BN"):
    print(f"{name}: median loss below 2 points:", bool(np.median(lesion_drops[name]) < 0.02))

# %% [markdown]
# **What to notice:** the plain network collapses whichever layer is removed -- it is one long path, and every layer
# after the gap sees inputs it was not trained for. The residual networks hardly notice most deletions (the median
# loss is a fraction of a point); in the batch-norm network one early block matters more. This is the behaviour of an ensemble,
# as Veit et al. found for ResNets on ImageNet and CIFAR.
#
# ### Which paths carry the gradient?
# Most paths of our 19-block networks are 8 to 11 branches long. Following Veit et al. we measure, at 100 validation
# digits, the gradient that reaches the first residual block along (a) a single path of length $l$ (averaged over
# random paths) and (b) all $\binom{19}{l}$ paths of length $l$ together (`course_utils.residual.path_gradients`; the
# sum over $l$ of (b), as vectors, is exactly the gradient autograd computes).
#
# ### 🔮 Predict first
# Each branch Jacobian shrinks the gradient a little. Which lengths will carry most of the gradient: the common ones
# near 9 or 10, or shorter ones?

# %%
n_probe = pick(full=100, fast=8)
path_grads = {name: path_gradients(nets[name], Xva[:n_probe], yva[:n_probe], n_samples=pick(full=20, fast=1))
              for name in ("residual", "residual + BN")}
fig, (ax_a, ax_b, ax_c) = plt.subplots(1, 3, figsize=(15, 3.8))
ax_a.bar(lengths, n_of_length / n_of_length.sum(), color="0.6")
ax_a.set(xlabel="path length l (branches used)", ylabel="share of all paths", title="How many paths have length l")
for name, pg in path_grads.items():
    ax_b.semilogy(pg["length"], pg["per_path"], "o-", ms=3, label=name)
    ax_c.plot(pg["length"], pg["total"] / pg["total"].sum(), "o-", ms=3, label=name)
ax_b.set(xlabel="path length l", ylabel="gradient norm along one path",
         title="One path of length l (mean of sampled paths)")
ax_c.set(xlabel="path length l", ylabel="share of the summed norms", title="All paths of length l together")
ax_c.legend(fontsize=8)
if fast_mode():
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()

# %%
# NBVAL_CHECK_OUTPUT
for name, pg in path_grads.items():
    share = pg["total"] / pg["total"].sum()
    decay = pg["per_path"][1:6] / pg["per_path"][:5]
    print(f"{name:14s} the largest share is at a length <= 3: {bool(np.argmax(share) <= 3)}; lengths 0-5 carry over "
          f"90 %: {bool(share[:6].sum() > 0.9)}; one more branch shrinks a path's gradient by > 3x: "
          f"{bool(np.all(decay < 1 / 3))}")

# %% [markdown]
# **What to notice:** every extra branch on a path shrinks its gradient several-fold, much faster than the number of
# paths grows at short lengths. So the gradient is carried by **short** paths -- at most a handful of branches -- even
# though almost all paths are long: the *effective* depth of these 20-layer networks is far below 20. Veit et al.
# found the same for a 110-layer ResNet, whose gradient came mostly from paths 5 to 17 blocks long. (In the residual
# network without batch norm the direct path, length 0, dominates: its branches are small compared with the growing
# skip signal.)

# %% [markdown]
# ## Part 5 · The loss landscape with and without skips
# The lecture's figure (Li et al., 2018) shows the loss of a deep network without skips as a chaotic surface, and with
# skips as a smooth bowl. We reproduce the comparison at CPU scale: the loss on 256 training digits on a plane through
# the trained weights $\theta^\star$, $L(\theta^\star + \alpha\delta + \beta\eta)$, along two random **filter-normalised**
# directions (each unit's incoming weights in $\delta$ scaled to the norm of the same unit's weights in $\theta^\star$;
# `course_utils.landscape`, notebook 03), for the He-initialised plain network and the residual network (no batch norm,
# so both are plain stacks of Linear + ReLU). $\alpha = 1$ is a step as large as the weights themselves.
#
# ### 🔮 Predict first
# Which slice will be rougher? Will the difference be as dramatic as the lecture's picture of a 56-layer network?

# %%
GRID = np.linspace(-1, 1, pick(full=21, fast=5))
n_land = pick(full=256, fast=64)
slices = {}
for name in ("plain, He init", "residual"):
    net = nets[name].eval()
    gen = torch.Generator().manual_seed(0)
    d1, d2 = filter_normalized_direction(net, gen), filter_normalized_direction(net, gen)
    slices[name] = loss_slice_2d(net, F.cross_entropy, Xtr[:n_land], ytr[:n_land], d1, d2, GRID, GRID)

fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
for ax, (name, Z) in zip(axes, slices.items()):
    cs = ax.contour(GRID, GRID, np.log10(Z), levels=20, cmap="viridis")
    fig.colorbar(cs, ax=ax, label="log10 training loss")
    ax.plot([0], [0], "k*", ms=10, label="trained weights θ*")
    ax.set(title=f"{name}: loss from {Z.min():.2g} to {Z.max():.2g}", xlabel="α (direction δ)",
           ylabel="β (direction η)", aspect="equal")
    ax.legend(loc="upper right", fontsize=8)
if fast_mode():
    plt.close(fig)
    print("(figure skipped while autograding: run the notebook to see it)")
else:
    plt.show()


# %%
# NBVAL_CHECK_OUTPUT
def roughness(Z):
    """Share of interior grid points where log-loss is locally concave (a discrete Laplacian < 0)."""
    lz = np.log(Z)
    laplacian = lz[:-2, 1:-1] + lz[2:, 1:-1] + lz[1:-1, :-2] + lz[1:-1, 2:] - 4 * lz[1:-1, 1:-1]
    return float((laplacian < 0).mean())


_rise = {name: Z.max() / Z[len(GRID) // 2, len(GRID) // 2] for name, Z in slices.items()}  # largest / centre loss
print("over the same filter-normalised distance the plain network's loss rises over 100x more than the residual "
      "one's:", bool(_rise["plain, He init"] > 100 * _rise["residual"]))
print("the plain slice has more locally concave points:",
      bool(roughness(slices["plain, He init"]) > roughness(slices["residual"])))

# %% [markdown]
# **What to notice -- and how clear it is.** Both slices are bowls around $\theta^\star$: at 20 layers of width 48 we do
# not get the lecture's chaotic surface (Li et al. needed convolutional networks of 56 and more layers without skips to
# see it; their 20-layer network without skips still looked convex). The difference is nevertheless visible: the plain
# network's contours are wrinkled and its loss rises by orders of magnitude more over the same filter-normalised
# distance (compare the ranges in the panel titles), while the residual network's contours are smooth ellipses with fewer locally concave points. Skips make the
# landscape smoother and wider even where it is not yet chaotic. A 2-D slice is one view of a function of about 48 000
# weights: change the seed of the directions before concluding much.

# %% [markdown]
# ### Free response (3 points, graded by your instructor)
# Why do **shorter paths** dominate the gradient of a residual network -- although most of its paths are long -- and
# what does that say about the "depth" of a deep residual network? Use what you measured in Part 4 (lesion study,
# gradient per path length) and the path counts of Exercise 3.

# %% [markdown] nbgrader={"grade": true, "grade_id": "free_response_short_paths", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# Model answer: the gradient along one path is a product of the Jacobians of the branches it uses (the skips
# contribute the identity). At initialisation and after training these branch Jacobians are "small" relative to the
# identity -- especially with batch norm, where the skip signal grows with depth and each branch adds a bounded
# amount -- so each additional branch multiplies the path's gradient by a factor below 1: in our networks a path's
# gradient shrank several-fold per extra branch, i.e. exponentially in its length. The number of paths of length $l$
# is $\binom{n}{l}$, which peaks at $n/2$ but grows only polynomially near the short end; exponential decay beats it, so
# the total gradient from all paths of length $l$ peaks at short lengths (a few branches) although most of the $2^n$
# paths are long. Consequences for depth: a residual network with $n$ blocks behaves like an **ensemble of many
# relatively shallow networks** (Veit et al.); its *effective* depth -- the length of the paths that carry gradient and
# are trained -- is far smaller than its nominal depth. This is why deleting a block barely hurts (it removes half the
# paths but leaves many short ones, and no path depends on all blocks), while a plain network collapses. Depth still
# matters, but in a different way: it multiplies the number of (short) paths and lets very long paths exist, rather
# than making the network a single very deep chain; residual networks do not truly solve the problem of training
# very long paths -- they sidestep it.
#
# === BEGIN MARK SCHEME ===
# 3 points in total.
# * 1 point: a path's gradient is a product of branch Jacobians, each typically shrinking it (norm below 1 relative
#   to the identity), so it decays (exponentially) with the path length. Saying only "long paths vanish" without the
#   product: ½.
# * 1 point: combines this with the counts -- $\binom{n}{l}$ paths of length $l$, most paths long, but the decay wins,
#   so the summed contribution peaks at short lengths; uses a measurement (gradient per path length, or the lesion
#   study) as evidence. Counts or evidence alone: ½.
# * 1 point: the conclusion about depth -- the network acts like an ensemble of relatively shallow networks; its
#   effective depth is much smaller than its nominal depth (explaining the mild lesion drops); depth adds paths rather
#   than one long chain. A vague "depth doesn't matter": ½ at most.
# No credit for "skips prevent vanishing gradients" without relating it to path lengths.
# === END MARK SCHEME ===

# %% [markdown]
# ## Check your understanding
# 1. Why does a ReLU network of a scalar input with all biases zero have a gradient $\partial y/\partial x$ that can
#    only jump at $x = 0$?
# 2. A residual network has 6 blocks. How many paths avoid block 2? How many paths have length exactly 2?
# 3. Why does deleting a block from a trained residual network with batch norm have to be evaluated in `eval()`
#    mode -- what goes wrong in training mode, even without the deletion?
# 4. The residual network without normalisation had the smoothest $\partial y/\partial x$ of all. Why is that not a
#    reason to prefer it?
# 5. With the ReLU after the addition, $h \leftarrow \mathrm{relu}(h + f(h))$, is the network still exactly a sum over
#    $2^n$ paths? Why (not)?
#
# <details><summary>Answers</summary>
#
# 1. Without biases every layer is positively homogeneous: $f(cx) = c\,f(x)$ for $c > 0$. So $f(x) = x f(1)$ for
#    $x > 0$ and $f(x) = -x f(-1)$ for $x < 0$: two straight lines, one kink at 0.
# 2. Avoiding block 2: the other 5 blocks choose freely, $2^5 = 32$ (= 64 - 32 through it). Length 2: $\binom{6}{2} = 15$.
# 3. In training mode batch norm normalises with the statistics of the batch being evaluated (and updates its running
#    statistics), so predictions depend on which examples share the batch and the model changes as you measure it.
#    The trained network is defined with its running statistics, i.e. in evaluation mode.
# 4. Its activations (and gradients) grow exponentially with depth (notebook 05): it is smooth because the later
#    blocks hardly act on the input's fine structure, and it is numerically fragile and hard to train at large depth.
# 5. No: the ReLU also acts on the skip, so the identity path is cut wherever the sum is negative; the Jacobian is
#    $D(I + J)$ with a 0/1 diagonal $D$, and the clean expansion into paths with identity skips no longer holds.
# </details>
#
# ## Summary
# * Deep plain ReLU networks **shatter** their gradients: $\partial y/\partial x$ decorrelates within a tiny input
#   distance, and more so with depth (in our measurement the correlation length halved from 24 to 50 layers). Skips
#   slow this decay down; with batch norm in the branches it hardly changed from 24 to 50 layers. Batch norm without
#   skips gave white noise.
# * A residual network with $n$ blocks has $2^n$ paths, $2^{n-1}$ through each block, $\binom{n}{l}$ of length $l$;
#   with the skip after the activation its Jacobian is exactly the sum over these paths.
# * Trained at depth 20, the plain network with default initialisation did not learn, He initialisation helped, skips
#   helped more and skips with batch norm most.
# * Lesion study: deleting a block ruins a plain network but barely touches a residual one; the gradient flows through
#   short paths -- residual networks behave like ensembles of relatively shallow networks.
# * Filter-normalised slices: smoother, flatter around the minimum with skips; the lecture's chaotic picture needs
#   much deeper networks than we can train here.
#
# ## Further reading
# * Lecture: *Skip connections*, *Loss landscape*; midterm review: *The Shattered Gradient Phenomenon*, *Residual
#   Network as Ensemble of Networks*, *Exploding Gradients in Residual Networks*.
# * K. He, X. Zhang, S. Ren and J. Sun, *Deep Residual Learning for Image Recognition*, CVPR 2016; and *Identity
#   Mappings in Deep Residual Networks*, ECCV 2016.
# * D. Balduzzi, M. Frean, L. Leary, J. P. Lewis, K. W.-D. Ma and B. McWilliams, *The Shattered Gradients Problem: If
#   resnets are the answer, then what is the question?*, ICML 2017.
# * A. Veit, M. Wilber and S. Belongie, *Residual Networks Behave Like Ensembles of Relatively Shallow Networks*,
#   NeurIPS 2016.
# * H. Li, Z. Xu, G. Taylor, C. Studer and T. Goldstein, *Visualizing the Loss Landscape of Neural Nets*, NeurIPS 2018.
# * S. J. D. Prince, *Understanding Deep Learning*, MIT Press 2023, chapter 11 (residual networks; the review's figures).
