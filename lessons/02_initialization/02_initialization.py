# ---
# jupyter:
#   course:
#     budget_s: 60
#     gpu: false
#     minutes: 60
#     title: 'Weight initialisation: variance collapse and explosion'
#     topics: zero and constant initialisation, variance collapse and explosion over
#       50 layers, He and Xavier (and the slide's misprint), an init-scale widget, training
#       with small, He and large weights
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Weight initialisation: variance collapse and explosion
#
# **Time:** about 60 minutes · **Level:** after `01_activations` · **Prerequisites:** backpropagation, the ReLU,
# mean and variance of a random variable; notebooks 00 and 01.
#
# ## Learning objectives
# By the end of this notebook you can:
# 1. explain why all-zero or constant weights leave every unit of a layer identical forever, and detect it;
# 2. derive the variance a weight must have so that activations keep their variance forward **and** gradients
#    keep theirs backward, and state the He and Xavier (Glorot) formulas correctly -- including the lecture's misprint;
# 3. reproduce the lecture's experiments: activation histograms per layer (figures 17/18) and the 50-layer
#    variance sweep of the review (figure 7.4): collapse, stability at $\sigma^2 = 2/D_h$, explosion;
# 4. initialise any PyTorch model by a named scheme and check it statistically against `torch.nn.init`;
# 5. see what a bad initialisation does to training on real data.

# %% [markdown]
# Everything runs on a laptop CPU in about a minute; a GPU is used for training when present.

# %%
# %matplotlib inline
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from course_utils import checks
from course_utils.data import load_digits, train_val_test_split
from course_utils.initialization import init_normal_, propagation_stats, variance_sweep
from course_utils.nets import HiddenBlock, hidden_linears, layer_statistics, make_mlp
from course_utils.plots import use_style
from course_utils.reproducibility import device, pick, quiet_warnings, seed_everything
from course_utils.training import fit

quiet_warnings()
use_style()
seed_everything(0)
DEVICE = device()

# %% [markdown]
# ## Recap: what the initial weights must do
# A hidden layer computes $\mathbf{f}_k = \boldsymbol\beta_k + \boldsymbol\Omega_k \mathbf{h}_k$ and
# $\mathbf{h}_{k+1} = a[\mathbf{f}_k]$ (the review's notation; $D_h$ units per layer). With independent weights of
# mean 0 and variance $\sigma_\Omega^2$, zero biases, and $D_h$ inputs per unit (the **fan-in**),
#
# $$\operatorname{Var}[f_k] = D_h\,\sigma_\Omega^2\,\mathbb{E}[h_k^2].$$
#
# For a ReLU, half of a symmetric pre-activation is zeroed, so $\mathbb{E}[h_{k+1}^2] = \tfrac12 \operatorname{Var}[f_k]$
# and therefore
#
# $$\operatorname{Var}[f_{k+1}] = \tfrac12 D_h\,\sigma_\Omega^2 \operatorname{Var}[f_k]
# \qquad\Longrightarrow\qquad \operatorname{Var}[f_K] = \left(\tfrac12 D_h \sigma_\Omega^2\right)^{K} \operatorname{Var}[f_0].$$
#
# The factor $\tfrac12 D_h\sigma_\Omega^2$ is raised to the power of the depth: below 1 the signal **collapses**
# exponentially, above 1 it **explodes**; only $\sigma_\Omega^2 = 2/D_h$ keeps it. Backpropagation
# ($\partial l/\partial \mathbf{f}_{k-1} = \mathbb{I}[\mathbf{f}_{k-1}>0] \odot \boldsymbol\Omega_k^\top \partial l/\partial \mathbf{f}_k$)
# multiplies by $\boldsymbol\Omega_k^\top$, whose rows have one entry per unit of the layer *above*: the gradients keep
# their variance when $\sigma_\Omega^2 = 2/D_{\text{out}}$ (the **fan-out**).
#
# | scheme | for | variance $\sigma^2$ | **standard deviation** $\sigma$ | uniform $U(-a, a)$ with the same variance |
# |---|---|---|---|---|
# | He / Kaiming (2015) | ReLU | $2/\text{fan\_in}$ | $\sqrt{2/\text{fan\_in}}$ | $a = \sqrt{6/\text{fan\_in}}$ |
# | Xavier / Glorot (2010) | tanh, linear | $2/(\text{fan\_in}+\text{fan\_out})$ | $\sqrt{2/(\text{fan\_in}+\text{fan\_out})}$ | $a = \sqrt{6/(\text{fan\_in}+\text{fan\_out})}$ |
#
# (A uniform distribution on $[-a, a]$ has variance $a^2/3$, hence the 6 under the root.) Xavier averages the two fans
# because the forward condition wants $1/\text{fan\_in}$ and the backward one $1/\text{fan\_out}$ (for an activation with
# slope 1 at 0, like tanh); He keeps the forward one (fan-in mode), which PyTorch also uses by default.
#
# > ⚠️ **The lecture slide has a misprint.** "*For ReLU: He scales by $2/\sqrt{N_{in}}$*" is wrong: He's standard deviation
# > is $\sqrt{2/N_{in}}$ -- the 2 is *inside* the root. For $N_{in} = 100$ that is $0.141$, not $0.2$; with $0.2$ every ReLU
# > layer doubles the variance ($\tfrac12 \cdot 100 \cdot 0.04 = 2$), and 50 layers multiply it by $2^{50} \approx 10^{15}$.
# > The same slide's "*Xavier scales by $1/\sqrt{N_{in}}$*" is LeCun's initialisation; Glorot and Bengio's formula is
# > $\sqrt{2/(N_{in}+N_{out})}$ (they agree only when $N_{in} = N_{out}$). And watch the review's notation: it gives
# > the **variance** $\sigma_\Omega^2 = 2/D_h$; `torch.nn.init.normal_(w, std=...)` wants the **standard deviation**.

# %% [markdown]
# ## Experiment 1 -- zero and constant initialisation: the symmetry problem
# The lecture: with all-zero weights "*all the outputs are zero ... won't learn*"; with a constant, "*hidden units all
# move in the same direction*". The review is precise: all units of a layer see the same gradients, get the same
# updates and represent the same function, so **every layer is effectively one unit wide**.
#
# ### 🔮 Predict first
# We train a 3-hidden-layer ReLU network (32 units per layer) on the digits for a few epochs, once with every weight set to
# 0.05 (biases 0) and once with He initialisation. After training, how many *different* units will the first hidden
# layer of each network have? What will the all-zero network have learned?

# %%
X, y = load_digits(size=8, flatten=True)
split = train_val_test_split(X, y, fractions=(0.7, 0.15, 0.15), seed=0)
train, val = (split.x_train, split.y_train), (split.x_val, split.y_val)


def constant_init_(model, value):
    """Every weight of every Linear layer = ``value``; biases 0."""
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                layer.weight.fill_(value)
                layer.bias.zero_()
    return model


def unit_spread(layer):
    """Largest difference between any unit's (weights, bias) and unit 0's."""
    params = torch.cat([layer.weight, layer.bias[:, None]], dim=1).detach()
    return float((params - params[0]).abs().max())


seed_everything(0)
sym_nets = {
    "all zero": constant_init_(make_mlp(64, 10, width=32, depth=3), 0.0),
    "constant 0.05": constant_init_(make_mlp(64, 10, width=32, depth=3), 0.05),
    "He": init_normal_(make_mlp(64, 10, width=32, depth=3), lambda fan_in, fan_out: math.sqrt(2 / fan_in)),
}
sym_hist = {name: fit(net, train, val=val, epochs=pick(full=5, fast=1), lr=0.05, momentum=0.9, device=DEVICE,
                      seed=0, desc=name) for name, net in sym_nets.items()}

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
for ax, (name, net) in zip(axes, sym_nets.items()):
    w = hidden_linears(net)[0].weight.detach().cpu()
    top = max(float(w.abs().max()), 1e-3)
    im = ax.imshow(w, cmap="coolwarm", aspect="auto", vmin=-top, vmax=top)
    ax.set(title=f"{name}: layer 1 after training", xlabel="input pixel", ylabel="unit (row of W)")
    fig.colorbar(im, ax=ax)
plt.show()

# %% [markdown]
# **What to notice:** after training, the constant-initialised layer has learned *something* -- its weights differ from
# pixel to pixel (the columns) -- but its 32 rows are still identical: every unit has the same weights as every other,
# so the layer is one unit copied 32 times. The He-initialised layer has 32 different units. The all-zero network has not
# changed its hidden weights at all: with $\boldsymbol\Omega_{k+1} = 0$ no gradient reaches layer $k$, and with $\mathbf h_k = 0$
# the gradient of $\boldsymbol\Omega_{k+1}$ is 0 as well; only the output biases learn (the class frequencies).

# %%
# NBVAL_CHECK_OUTPUT
for name, net in sym_nets.items():
    spreads = [unit_spread(layer) for layer in hidden_linears(net)]
    same = ["identical" if s < 1e-6 else "different" for s in spreads]
    print(f"{name:14s} units of hidden layers 1-3: {', '.join(same)};  "
          f"validation accuracy above 50%: {sym_hist[name].val_acc[-1] > 0.5}")


# %% [markdown]
# ### Exercise 1 -- a symmetry detector (2 points)
# Implement `units_identical(layer, atol=1e-6)` for an `nn.Linear`: return `True` if **all units** of the layer compute
# the same function, i.e. every unit's incoming weights *and* its bias equal those of unit 0 to within `atol`, and
# `False` otherwise. Remember that `layer.weight` has shape `(out_features, in_features)`: **one row per unit**. The
# layer may have no bias (`layer.bias is None`). Return a Python `bool`.
#
# The hidden tests use layers whose units are identical but whose weights differ from input to input (as after
# training from a constant), tiny floating-point differences below `atol`, units that differ only in their bias, and
# layers whose *columns* are identical but rows are not.

# %% nbgrader={"grade": false, "grade_id": "units_identical_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def units_identical(layer, atol=1e-6):
    """Whether every unit of a Linear layer has the same weights and bias as unit 0.

    Args:
        layer: a torch.nn.Linear; ``layer.weight`` has shape (out_features, in_features) and
            ``layer.bias`` shape (out_features,) or is None.
        atol: largest absolute difference that still counts as equal.
    Returns:
        A Python bool: True if all out_features units are identical (within atol), else False.
    """
    ### BEGIN SOLUTION
    params = layer.weight.detach()
    if layer.bias is not None:
        params = torch.cat([params, layer.bias.detach()[:, None]], dim=1)
    return bool((params - params[0]).abs().max() <= atol)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "units_identical_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 1
lin = nn.Linear(5, 4)
with torch.no_grad():
    lin.weight.fill_(0.3)
    lin.bias.fill_(0.1)
out = checks.call(units_identical, lin)
checks.check_true(isinstance(out, bool), f"units_identical should return a Python bool, got {type(out).__name__} "
                  "(use bool(...) or .item())")
checks.check_true(out, "units_identical(layer) is False for a layer whose weights are all 0.3 and biases all 0.1: "
                  "its 4 units are identical", success="constant layer: units identical")
torch.manual_seed(0)
lin = init_normal_(nn.Linear(5, 4), 0.5)
checks.check_true(checks.call(units_identical, lin) is False,
                  "units_identical(layer) is not False for a randomly initialised layer",
                  success="random layer: units differ")
### BEGIN HIDDEN TESTS
def _layer(weight, bias=None):
    out_f, in_f = weight.shape
    layer = nn.Linear(in_f, out_f, bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
    return layer


g = torch.Generator().manual_seed(3)
row = torch.randn(1, 7, generator=g)
cases = [
    (_layer(row.repeat(6, 1), torch.full((6,), 0.2)), True,
     "6 identical rows [w_1 ... w_7] (different weights per input, same for every unit) and equal biases: identical units. "
     "Compare rows (units), not all entries with each other"),
    (_layer(row.repeat(6, 1) + 4e-7 * torch.rand(6, 7, generator=g), torch.zeros(6)), True,
     "rows that differ by less than 1e-6 (rounding noise) -- they count as identical within atol=1e-6; do not use =="),
    (_layer(row.repeat(6, 1), torch.arange(6.0)), False,
     "identical weight rows but different biases: the units compute different functions -- compare the biases too"),
    (_layer(torch.randn(6, 1, generator=g).repeat(1, 7), torch.zeros(6)), False,
     "each unit has constant weights but the units differ (identical *columns*, different rows): rows are units"),
    (_layer(torch.cat([row.repeat(5, 1), row + 0.5]), torch.zeros(6)), False,
     "only the last unit differs: check every unit, not just the first two"),
    (_layer(row.repeat(6, 1)), True, "a layer without bias (layer.bias is None) whose rows are identical"),
    (_layer(torch.cat([row.repeat(5, 1), row + 1e-3])), False, "the last unit differs by 1e-3 > atol, no bias"),
    (_layer(row), True, "a layer with a single unit"),
]
for layer, expected, what in cases:
    got = checks.call(units_identical, layer)
    checks.check_true(isinstance(got, bool), f"units_identical should return a Python bool, got {type(got).__name__}")
    checks.check_true(got is expected, f"units_identical returned {got} for {what}.")
loose = _layer(row.repeat(3, 1) + torch.tensor([[0.0], [0.01], [0.02]]), torch.zeros(3))
checks.check_true(checks.call(units_identical, loose, atol=0.05) is True,
                  "units_identical(layer, atol=0.05) should use the given atol (rows differ by at most 0.02)")
### END HIDDEN TESTS

# %% [markdown]
# Random initialisation breaks the symmetry: it is the reason we draw weights at random at all. The rest of this notebook
# is about *how large* those random weights should be.
#
# ## Experiment 2 -- the lecture's figures 17 and 18: activations layer by layer
# A ReLU network with five hidden layers of 100, 150, 200, 250 and 300 units (figure 18's sizes) gets a batch of
# 1000 standard-normal inputs with 100 features. We draw every weight from $N(0, \sigma^2)$, biases 0, with three fixed
# $\sigma$ -- too small (0.01), about right (0.1), too large (1.0) -- and with He's per-layer $\sigma_k = \sqrt{2/\text{fan\_in}_k}$,
# and look at the outputs of every layer.
#
# ### 🔮 Predict first
# With $\sigma = 0.01$ and fan-in 100, by what factor does the variance shrink per layer (use the recap's formula)?
# Roughly how small is the standard deviation after five layers? And with $\sigma = 1$?

# %%
WIDTHS = [100, 150, 200, 250, 300]
SCHEMES = {  # name -> std(fan_in, fan_out)
    "too small  σ = 0.01": lambda fan_in, fan_out: 0.01,
    "about right  σ = 0.1": lambda fan_in, fan_out: 0.1,
    "too large  σ = 1": lambda fan_in, fan_out: 1.0,
    "He  σ = √(2/fan_in)": lambda fan_in, fan_out: math.sqrt(2 / fan_in),
}


def widening_relu_net(widths=WIDTHS, in_features=100):
    """Hidden ReLU layers of the given widths (course_utils HiddenBlocks), then a Linear output."""
    sizes = [in_features] + list(widths)
    blocks = [HiddenBlock(a, b, "relu") for a, b in zip(sizes[:-1], sizes[1:])]
    return nn.Sequential(*blocks, nn.Linear(sizes[-1], 1))


seed_everything(0)
x_fig = torch.randn(pick(full=1000, fast=250), 100, device=DEVICE)
layer_outputs = {}
for name, std in SCHEMES.items():
    net = init_normal_(widening_relu_net(), std).to(DEVICE)
    h, outs = x_fig, []
    with torch.no_grad():
        for block in net[:-1]:
            h = block(h)
            outs.append(h.cpu())
    layer_outputs[name] = outs

shown = pick(full=list(range(len(WIDTHS))), fast=[0, len(WIDTHS) - 1])  # autograding: first and last layer
fig, axes = plt.subplots(len(SCHEMES), len(shown), figsize=(pick(full=13, fast=7), 8.5), squeeze=False)
for r, (name, outs) in enumerate(layer_outputs.items()):
    top = float(outs[0].quantile(0.995)) * 2  # one x-range per row: layer 1's, so collapse/explosion shows
    for col, c in enumerate(shown):
        ax, h = axes[r, col], outs[c]
        ax.hist(h[h > 0].clamp(max=top).numpy(), bins=40, range=(0, top), color=f"C{r}")
        ax.set_yticks([])
        ax.set_title(f"layer {c + 1} ({WIDTHS[c]} units)\nstd {float(h.std()):.2g}", fontsize=9)
        if col == 0:
            ax.set_ylabel(name, fontsize=9)
        if r == len(SCHEMES) - 1:
            ax.set_xlabel("ReLU output (> 0)")
fig.suptitle("ReLU outputs per layer (zeros left out; larger values piled up at the right edge)")
plt.show()

# %% [markdown]
# **What to notice:** with $\sigma = 0.01$ the outputs' standard deviation shrinks by a factor of 9-15 per layer until
# they are a spike at zero (collapse); with $\sigma = 1$ it grows 7- to 11-fold per layer and the outputs pile up at the
# right edge (explosion). The factor is $\sqrt{\tfrac12\,\text{fan\_in}\,\sigma^2}$, so it changes with the width. A fixed
# $\sigma = 0.1$ is close for these sizes but still drifts as the fan-in grows from 100 to 250, while He's per-layer
# $\sigma$ keeps the distribution the same from the first layer to the last -- the point of figure 18.

# %%
# NBVAL_CHECK_OUTPUT
for name, outs in layer_outputs.items():
    first, last = float(outs[0].std()), float(outs[-1].std())
    print(f"{name:22s} std of layer 5 / layer 1 ≈ 10^{round(math.log10(last / first)):+d}")


# %% [markdown]
# Experiment 2 used He's per-layer $\sigma$; time to write the formulas down as code.
#
# ### 🔮 Predict first
# A ReLU layer has 784 inputs and 256 outputs. Write down He's standard deviation and Xavier's, to two digits, before
# you implement them. Which is larger, and why does that make sense for a ReLU?

# %% [markdown]
# ### Exercise 2 -- He's standard deviation (1 point)
# Implement `he_std(fan_in)`: the **standard deviation** of He (Kaiming) normal initialisation for a ReLU layer with
# `fan_in` inputs per unit. The hidden tests try other fan-ins and reject the lecture's misprint and the variance.

# %% nbgrader={"grade": false, "grade_id": "he_std_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def he_std(fan_in):
    """Standard deviation of He (Kaiming) normal initialisation for ReLU layers.

    Args:
        fan_in: number of inputs of each unit of the layer, a positive int.
    Returns:
        A float: the standard deviation (not the variance) of the weights.
    """
    ### BEGIN SOLUTION
    return math.sqrt(2.0 / fan_in)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "he_std_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 2
out = checks.call(he_std, 100)
got = float(checks.as_array(out, "he_std(100)"))
checks.check_true(not math.isclose(got, 0.2, rel_tol=1e-3),
                  "he_std(100) = 0.2 = 2/sqrt(100): that is the lecture's misprint. The 2 goes inside the root.")
checks.check_true(not math.isclose(got, 0.02, rel_tol=1e-3),
                  "he_std(100) = 0.02 = 2/100: that is the variance; return its square root, the standard deviation.")
checks.check_true(not math.isclose(got, 0.1, rel_tol=1e-3),
                  "he_std(100) = 0.1 = sqrt(1/100): that is LeCun's scale for tanh (the one the slide calls Xavier). A ReLU zeroes half of its "
                  "inputs, so He doubles the variance: sqrt(2/fan_in).")
checks.check_close(out, math.sqrt(2 / 100), "he_std(100)")
checks.check_close(checks.call(he_std, 2), 1.0, "he_std(2)")
### BEGIN HIDDEN TESTS
for fan_in in (1, 3, 50, 784, 4096):
    got = float(checks.as_array(checks.call(he_std, fan_in), f"he_std({fan_in})"))
    checks.check_true(not math.isclose(got, 2 / math.sqrt(fan_in), rel_tol=1e-3),
                      f"he_std({fan_in}) = 2/sqrt({fan_in}): the lecture's misprint; He's std is sqrt(2/fan_in).")
    if fan_in != 2:
        checks.check_true(not math.isclose(got, 2 / fan_in, rel_tol=1e-3),
                          f"he_std({fan_in}) = 2/{fan_in} is the variance, not the standard deviation.")
    checks.check_close(got, math.sqrt(2 / fan_in), f"he_std({fan_in})", verbose=False)
ref = torch.nn.init.calculate_gain("relu") / math.sqrt(300)  # what torch.nn.init.kaiming_normal_ uses
checks.check_close(checks.call(he_std, 300), ref, "he_std(300) against torch's kaiming_normal_ std", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3 -- Xavier's standard deviation (1 point)
# Implement `xavier_std(fan_in, fan_out)`: the **standard deviation** of Xavier (Glorot) normal initialisation. The
# hidden tests use layers with `fan_in != fan_out` and reject the variance, the uniform bound $a$ and the slide's
# $1/\sqrt{\text{fan\_in}}$.

# %% nbgrader={"grade": false, "grade_id": "xavier_std_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def xavier_std(fan_in, fan_out):
    """Standard deviation of Xavier (Glorot) normal initialisation.

    Args:
        fan_in: inputs per unit of the layer (positive int).
        fan_out: units of the layer, i.e. outputs (positive int).
    Returns:
        A float: the standard deviation of the weights.
    """
    ### BEGIN SOLUTION
    return math.sqrt(2.0 / (fan_in + fan_out))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "xavier_std_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 3
def check_xavier(fan_in, fan_out, verbose=True):
    got = float(checks.as_array(checks.call(xavier_std, fan_in, fan_out), f"xavier_std({fan_in}, {fan_out})"))
    n, right = fan_in + fan_out, math.sqrt(2 / (fan_in + fan_out))
    wrong = {
        "2/(fan_in + fan_out), the variance -- take its square root": 2 / n,
        "sqrt(6/(fan_in + fan_out)), the bound a of the *uniform* variant, not a standard deviation": math.sqrt(6 / n),
        "1/sqrt(fan_in), the slide's formula (LeCun's); Glorot averages both fans": 1 / math.sqrt(fan_in),
        "sqrt(1/(fan_in + fan_out)): the 2 is missing": math.sqrt(1 / n),
    }
    for why, value in wrong.items():
        if not math.isclose(value, right, rel_tol=1e-3):
            checks.check_true(not math.isclose(got, value, rel_tol=1e-3), f"xavier_std({fan_in}, {fan_out}) = {got:.4g} = {why}.")
    checks.check_close(got, right, f"xavier_std({fan_in}, {fan_out})", verbose=verbose)


check_xavier(100, 100)
check_xavier(30, 20)
### BEGIN HIDDEN TESTS
for fan_in, fan_out in ((784, 256), (10, 1000), (1, 1), (512, 10)):
    check_xavier(fan_in, fan_out, verbose=False)
w = torch.nn.init.xavier_normal_(torch.empty(256, 784))  # torch's weight shape is (fan_out, fan_in)
checks.check_close(checks.call(xavier_std, 784, 256), float(w.std()), "xavier_std(784, 256) against torch",
                   rtol=0.02, verbose=False)
### END HIDDEN TESTS

# %%
# NBVAL_CHECK_OUTPUT
# The numbers every practitioner should recognise (torch's own functions, not your answers)
for fan_in, fan_out in ((100, 100), (784, 256), (256, 10)):
    he = torch.nn.init.calculate_gain("relu") / math.sqrt(fan_in)
    print(f"fan_in {fan_in:4d}, fan_out {fan_out:4d}:  He std {he:.4f} (misprint 2/sqrt(fan_in) = {2 / math.sqrt(fan_in):.4f})"
          f",  Xavier std {math.sqrt(2 / (fan_in + fan_out)):.4f}")


# %% [markdown]
# ### Exercise 4 -- initialise a model by a named scheme (3 points)
# Implement `initialize_(model, scheme)`: set the weights of **every** `nn.Linear` layer anywhere inside `model` (also
# nested ones, also the output layer) according to `scheme`, and every bias to **zero**; return the model.
#
# | `scheme` | weights |
# |---|---|
# | `"he"` | $N(0, \sigma^2)$ with $\sigma = \sqrt{2/\text{fan\_in}}$ |
# | `"xavier"` | $N(0, \sigma^2)$ with $\sigma = \sqrt{2/(\text{fan\_in}+\text{fan\_out})}$ |
# | `"he_uniform"` | $U(-a, a)$ with $a = \sqrt{6/\text{fan\_in}}$ |
# | `"xavier_uniform"` | $U(-a, a)$ with $a = \sqrt{6/(\text{fan\_in}+\text{fan\_out})}$ |
#
# Any other name raises `ValueError`. `model.modules()` visits every submodule; an `nn.Linear` stores `in_features`
# (fan-in) and `out_features` (fan-out); change parameters inside `with torch.no_grad():`. You may use your
# `he_std`/`xavier_std` or `torch.nn.init` -- the tests compare your weights *statistically* with `torch.nn.init`'s:
# their standard deviation layer by layer, their shape (normal or uniform), and the biases.

# %% nbgrader={"grade": false, "grade_id": "initialize_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def initialize_(model, scheme):
    """Initialise every nn.Linear layer of ``model`` in place by a named scheme; biases to zero.

    Args:
        model: a torch.nn.Module; all nn.Linear submodules (at any depth) are changed.
        scheme: "he", "xavier", "he_uniform" or "xavier_uniform".
    Returns:
        ``model``.
    Raises:
        ValueError: for an unknown scheme.
    """
    ### BEGIN SOLUTION
    if scheme not in ("he", "xavier", "he_uniform", "xavier_uniform"):
        raise ValueError(f"unknown scheme {scheme!r}")
    with torch.no_grad():
        for layer in model.modules():
            if not isinstance(layer, nn.Linear):
                continue
            fan_in, fan_out = layer.in_features, layer.out_features
            n = fan_in if scheme.startswith("he") else (fan_in + fan_out) / 2
            std = math.sqrt(1.0 / n)  # He: sqrt(2/fan_in); Xavier: sqrt(2/(fan_in+fan_out))
            if scheme.startswith("he"):
                std *= math.sqrt(2.0)
            if scheme.endswith("uniform"):
                bound = math.sqrt(3.0) * std
                layer.weight.uniform_(-bound, bound)
            else:
                layer.weight.normal_(0.0, std)
            if layer.bias is not None:
                layer.bias.zero_()
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "initialize_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 4 (the reference weights come from torch.nn.init)
REFERENCE = {
    "he": lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "xavier": torch.nn.init.xavier_normal_,
    "he_uniform": lambda w: torch.nn.init.kaiming_uniform_(w, nonlinearity="relu"),
    "xavier_uniform": torch.nn.init.xavier_uniform_,
}


def check_initialized(model, scheme, what, verbose=True):
    """Compare every Linear layer of ``model`` with torch.nn.init's ``scheme``: std, mean, shape, biases."""
    for i, layer in enumerate(m for m in model.modules() if isinstance(m, nn.Linear)):
        where = f"Linear layer {i + 1} ({layer.in_features} -> {layer.out_features}) of {what}, scheme {scheme!r}"
        w = layer.weight.detach().double()
        ref = REFERENCE[scheme](torch.empty(w.shape, dtype=torch.float64))
        std, ref_std = float(w.std()), float(ref.std())
        if not math.isclose(std, ref_std, rel_tol=0.05):
            hints = []
            flipped = float(REFERENCE[scheme](torch.empty(w.shape[::-1], dtype=torch.float64)).std())
            if scheme.startswith("he") and layer.in_features != layer.out_features and math.isclose(std, flipped, rel_tol=0.05):
                hints.append("it matches fan_out instead of fan_in (the weight's shape is (fan_out, fan_in))")
            if scheme == "he" and math.isclose(std, ref_std * math.sqrt(2), rel_tol=0.05):
                hints.append("it matches 2/sqrt(fan_in), the lecture's misprint; He's std is sqrt(2/fan_in)")
            if math.isclose(std, ref_std ** 2, rel_tol=0.05):
                hints.append("it matches the variance used as the standard deviation")
            if scheme.endswith("uniform") and math.isclose(std, ref_std / math.sqrt(3), rel_tol=0.05):
                hints.append("U(-a, a) has std a/sqrt(3): the bound must be a = sqrt(3) x std (sqrt(6/...))")
            if math.isclose(std, 1 / math.sqrt(3 * layer.in_features), rel_tol=0.05):
                hints.append("this layer looks untouched (torch's default init): initialise every Linear layer, "
                             "nested ones and the output layer too")
            raise checks.ExerciseError(f"{where}: weight std {std:.4g}, expected {ref_std:.4g} as from torch.nn.init"
                                       + (f"; {'; '.join(hints)}." if hints else "."))
        checks.check_close(float(w.mean()), 0.0, f"mean weight of {where}", atol=0.1 * ref_std, verbose=False)
        w0 = w.flatten() - w.mean()
        kurt = float((w0 ** 4).mean() / (w0 ** 2).mean() ** 2) - 3.0  # excess kurtosis: normal 0, uniform -1.2
        if scheme.endswith("uniform"):
            checks.check_true(abs(kurt + 1.2) < 0.25, f"{where}: the weights do not look uniform "
                              f"(excess kurtosis {kurt:.2f}; uniform: -1.2, normal: 0)")
            checks.check_true(float(w.abs().max()) <= math.sqrt(3) * ref_std * 1.01,
                              f"{where}: |w| reaches {float(w.abs().max()):.4g}, beyond the bound {math.sqrt(3) * ref_std:.4g}")
        else:
            checks.check_true(abs(kurt) < 0.4, f"{where}: the weights do not look normal "
                              f"(excess kurtosis {kurt:.2f}; normal: 0, uniform: -1.2)")
        if layer.bias is not None:
            checks.check_close(float(layer.bias.detach().abs().max()), 0.0,
                               f"largest |bias| of {where} (biases must be set to zero)", verbose=False)
    if verbose:
        print(f"✔ {what}, scheme {scheme!r}: every Linear layer matches torch.nn.init (std, mean, shape, zero biases)")


torch.manual_seed(0)
net = nn.Sequential(nn.Linear(400, 300), nn.ReLU(), nn.Linear(300, 200), nn.ReLU(), nn.Linear(200, 50))
checks.call(initialize_, net, "he")
check_initialized(net, "he", "a Sequential 400-300-200-50")
### BEGIN HIDDEN TESTS
models = {
    "a Sequential 400-300-200-50": lambda: nn.Sequential(nn.Linear(400, 300), nn.ReLU(), nn.Linear(300, 200),
                                                         nn.ReLU(), nn.Linear(200, 50)),
    "make_mlp(40, 10, width=200, depth=3) (nested Linear layers)": lambda: make_mlp(40, 10, width=200, depth=3),
    "make_mlp(300, 150, width=120, depth=2, bias=False)": lambda: make_mlp(300, 150, width=120, depth=2, bias=False),
}
for scheme in REFERENCE:
    for what, build in models.items():
        torch.manual_seed(1)
        model = build()
        checks.call(initialize_, model, scheme)
        check_initialized(model, scheme, what, verbose=False)
checks.check_raises(initialize_, (nn.Linear(3, 2), "orthogonal"), ValueError, name="initialize_(layer, 'orthogonal')",
                    verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ## Experiment 3 -- the review's figure 7.4: 50 layers, five variances
# The review's set-up: 50 hidden ReLU layers of $D_h = 100$ units, a 100-dimensional standard-normal input, one output,
# least-squares loss with the target fixed at $y = 0$, zero biases, and every weight drawn from $N(0, \sigma_\Omega^2)$ with
# $\sigma_\Omega^2 \in \{0.001, 0.01, 0.02, 0.1, 1.0\}$. We measure the variance of every layer's activations (forward)
# and of the loss gradient with respect to them (backward), using `course_utils.initialization.variance_sweep`, which
# builds the network with `make_mlp`, sets the weights with `init_normal_` and measures with `nets.layer_statistics`.
#
# The values span more than 250 orders of magnitude -- far beyond float32's range (about $10^{-45}$ to $10^{38}$),
# where they would turn into 0 and `inf` -- so this small experiment runs in float64 on the CPU.
#
# ### 🔮 Predict first
# For $\sigma_\Omega^2 = 0.1$ the per-layer factor is $\tfrac12 \cdot 100 \cdot 0.1 = 5$. What order of magnitude do
# you expect for the activation variance at layer 50? For $\sigma_\Omega^2 = 0.001$? Which curve should be flat?

# %%
SIGMA2 = [0.001, 0.01, 0.02, 0.1, 1.0]
sweep = variance_sweep(SIGMA2, variance=True, depth=50, width=100, batch=pick(full=256, fast=64), seed=0)
layers = np.arange(1, 51)

fig, (ax_f, ax_b) = plt.subplots(1, 2, figsize=(12, 4.2))
for i, s2 in enumerate(SIGMA2):
    label = f"σ² = {s2}" + ("  (= 2/D_h, He)" if s2 == 0.02 else "")
    ax_f.plot(layers, sweep["act_var"][i], label=label)
    ax_b.plot(layers, sweep["grad_var"][i], label=label)
ax_f.set(yscale="log", xlabel="hidden layer", ylabel="variance of activations", title="Forward pass")
ax_b.set(yscale="log", xlabel="hidden layer", ylabel="variance of ∂loss/∂activations", title="Backward pass")
ax_f.legend(fontsize=8)
fig.suptitle("Figure 7.4: 50 ReLU layers, D_h = 100, weights N(0, σ²)")
plt.show()

# %% [markdown]
# **What to notice:** on a log axis every curve is a straight line -- the variance is multiplied by the same factor
# $\tfrac12 D_h \sigma_\Omega^2$ at every layer -- and only $\sigma_\Omega^2 = 0.02 = 2/D_h$ stays flat, in both directions.
# The backward curves are steeper because the least-squares gradient at the output is proportional to the output,
# which has itself collapsed or exploded; the gradient then shrinks or grows again on its way back to layer 1.

# %%
# NBVAL_CHECK_OUTPUT
# Order of magnitude at layer 50, measured (one network, seed 0) and predicted by the recap's formula
# Var[h_50] = (1 - 1/pi)/2 * D_h sigma^2 * (D_h sigma^2 / 2)^49 for unit-variance inputs.
for i, s2 in enumerate(SIGMA2):
    measured = math.log10(sweep["act_var"][i, -1])
    theory = math.log10((1 - 1 / math.pi) / 2 * 100 * s2) + 49 * math.log10(100 * s2 / 2)
    print(f"σ² = {s2:<6} activation variance at layer 50 ≈ 1e{round(measured):+d}  (theory 1e{round(theory):+d}),"
          f"  gradient variance at layer 1 ≈ 1e{round(math.log10(sweep['grad_var'][i, 0])):+d}")


# %% [markdown]
# All five measurements agree with the formula to within about one order of magnitude (a width-100 layer is not
# infinitely wide: each layer's gain fluctuates by a few percent around its mean, and 50 such factors multiply), while
# they differ from each other by up to 150 orders of magnitude.
#
# ### Exercise 5 -- per-layer activation variance on a batch (2 points)
# Implement `activation_variances(layers, x)`: feed the batch `x` through the modules in `layers` one after the other
# and return the **variance** (not the standard deviation) of each module's output, over all its entries (batch and
# units together), as a list of Python floats, one per module, input side first. Use the **unbiased** estimator,
# which divides by (number of entries $-$ 1): it is what `tensor.var()` computes by default. (`np.var`,
# `tensor.var(unbiased=False)` and `((h - h.mean())**2).mean()` divide by the number of entries -- the biased
# estimator, a slightly smaller number that the tests reject by name.)
# For a network from `make_mlp`, `layers` is `model.blocks` (each block is Linear → activation), so you measure the
# *post-activation* outputs. No gradients are needed.

# %% nbgrader={"grade": false, "grade_id": "activation_variances_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def activation_variances(layers, x):
    """Variance of each layer's output when the batch ``x`` passes through ``layers`` in order.

    Args:
        layers: a sequence of torch modules (e.g. ``model.blocks`` of a make_mlp network).
        x: input batch, shape (N, in_features).
    Returns:
        A list of len(layers) floats: ``h_k.var()`` (unbiased, over all entries) for the output h_k
        of layer k.
    """
    ### BEGIN SOLUTION
    variances = []
    h = x
    with torch.no_grad():
        for layer in layers:
            h = layer(h)
            variances.append(float(h.var()))
    return variances
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "activation_variances_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 5 (compared with course_utils.nets.layer_statistics)
from course_utils.mistakes import check_known_mistakes


def _block_outputs(net, xb):
    with torch.no_grad():
        h, outs = xb, []
        for block in net.blocks:
            h = block(h)
            outs.append(h)
    return outs


def check_variances(net, xb, what, verbose=True):
    before = xb.clone()
    got = checks.call(activation_variances, net.blocks, xb)
    arr = checks.as_array(got, "activation_variances(...)")
    checks.check_shape(arr, (len(net.blocks),), f"activation_variances for {what} (one number per block)")
    expected = np.array(layer_statistics(net, xb)["act_var"])
    net.zero_grad()
    with torch.no_grad():
        h, pre, per_unit = xb, [], []
        for block in net.blocks:
            pre.append(float(block.linear(h).var()))
            h = block(h)
            per_unit.append(float(h.var(dim=0).mean()))
    for wrong, why in ((np.sqrt(expected), "standard deviations; return variances (h.var(), not h.std())"),
                       (np.array(pre), "the variances of the Linear outputs (pre-activations); measure each block's output"),
                       (np.array(per_unit), "the mean of per-unit variances; take the variance over all entries, h.var()")):
        checks.check_true(not np.allclose(arr, wrong, rtol=1e-4), f"activation_variances for {what} returned {why}")
    n_entries = np.array([float(h_k.numel()) for h_k in _block_outputs(net, xb)])
    check_known_mistakes(arr, expected, {
        "use the biased variance, dividing by the number of entries (np.var, var(unbiased=False)) instead of the "
        "unbiased one the exercise asks for, which divides by (entries - 1) like h.var()":
            expected * (n_entries - 1) / n_entries,
    }, name=f"activation_variances for {what}", rtol=1e-5, atol=0.0)
    checks.check_close(arr, expected, f"activation_variances for {what}", rtol=2e-5, verbose=verbose)
    checks.check_close(xb, before, "x after activation_variances (it must not be modified)", verbose=False)


torch.manual_seed(0)
check_variances(make_mlp(20, 3, width=50, depth=4, activation="relu"), torch.randn(128, 20), "a 4-layer ReLU net")
### BEGIN HIDDEN TESTS
for kwargs, n in ((dict(width=64, depth=7, activation="tanh"), 200), (dict(width=30, depth=5, activation="sigmoid"), 33),
                  (dict(width=40, depth=6, activation="relu", residual=True), 90)):
    torch.manual_seed(5)
    check_variances(make_mlp(12, 2, **kwargs), 3 * torch.randn(n, 12), f"make_mlp(12, 2, {kwargs})", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ## An interactive widget: find the critical σ yourself
# Pick an activation, a depth and a weight scale $\sigma$ (a log slider; the network has $D_h = 100$ units per layer,
# zero biases, standard-normal inputs). The left panels show the standard deviation of every layer's activations and of
# the gradient reaching them (a unit gradient at the output, so the backward pass is seen on its own). The right panel
# sweeps $\sigma$ and shows how far the signal gets to the last layer; the dashed line marks the critical value
# $\sigma^\ast = g/\sqrt{D_h}$ with $g = \sqrt2$ (ReLU), $\sqrt{2/(1+0.1^2)}$ (leaky ReLU, slope 0.1), 1 (tanh).
#
# ### 🔮 Predict first
# For tanh at depth 50, do you expect the activations to survive at $\sigma = 0.1$ as well as a ReLU network survives
# at $0.141$? What about the sigmoid: is there a $\sigma$ that keeps both its activations and its gradients steady?

# %%
from course_utils.init_scale_app import init_scale_app  # the widget's code

WIDGET_WIDTH = 100
SIGMA_GRID = np.logspace(-2, 0, pick(full=13, fast=4))
app = init_scale_app(SIGMA_GRID, width=WIDGET_WIDTH, sigma=0.1, activation="relu", depth=30)
app

# %% [markdown]
# **What to notice:** for ReLU the sweep curves pass through the order of 1 (neither collapse nor explosion) at the
# dashed $\sigma^\ast = \sqrt{2/100} \approx 0.14$, and the deeper the network the steeper the sweep -- an error in
# $\sigma$ is raised to the power of the depth. Tanh is best near $\sigma = 0.1$, where its activations and gradients
# shrink only slowly (polynomially, not exponentially); a little above it the gradients grow. For the sigmoid the
# gradient reaching layer 1 vanishes for *every* $\sigma$ (its derivative is at most $\tfrac14$, less once its
# off-centre outputs push the next layer into saturation) -- one reason it fell out of use in deep networks.

# %%
# NBVAL_CHECK_OUTPUT
# The app's numbers (its left panels: propagation_stats with a unit gradient at the output) at the critical σ and 3x
# away from it (ReLU, depth 30): ratio of the activation std at the last and the first layer
for sigma in (math.sqrt(2 / WIDGET_WIDTH) / 3, math.sqrt(2 / WIDGET_WIDTH), 3 * math.sqrt(2 / WIDGET_WIDTH)):
    data = propagation_stats(sigma, depth=30, width=WIDGET_WIDTH, activation="relu", batch=64, loss="sum")
    ratio = data["act_std"][-1] / data["act_std"][0]
    print(f"σ = {sigma:.3f}: activation std, layer 30 / layer 1 ≈ 10^{round(math.log10(ratio)):+d}")

# %% [markdown]
# ## Experiment 4 -- the consequence for training
# Now the same deep network (10 hidden ReLU layers of 100 units) is trained on the digits three times, identical except
# for the initial weights: too small ($\sigma = 0.3\,\sigma_{He}$), He, and too large ($\sigma = 2\,\sigma_{He}$).
#
# ### 🔮 Predict first
# Which run will learn fastest? What will the loss curve of the too-small run look like at the start -- and the
# too-large one?

# %%
INITS = {
    "too small (0.3 × He)": lambda fan_in, fan_out: 0.3 * math.sqrt(2 / fan_in),
    "He": lambda fan_in, fan_out: math.sqrt(2 / fan_in),
    "too large (2 × He)": lambda fan_in, fan_out: 2 * math.sqrt(2 / fan_in),
}
histories = {}
for name, std in INITS.items():
    seed_everything(0)
    net = init_normal_(make_mlp(64, 10, width=100, depth=10, activation="relu"), std)
    histories[name] = fit(net, train, val=val, epochs=pick(full=15, fast=1), lr=0.02, momentum=0.9,
                          batch_size=64, device=DEVICE, seed=0, desc=name)

fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharex=True, sharey=True)
for ax, (name, hist) in zip(axes, histories.items()):
    ax.plot(np.arange(1, len(hist.step_loss) + 1), hist.step_loss, lw=1, marker="." if hist.diverged else None)
    ax.axhline(math.log(10), color="grey", ls=":", lw=1, label="ln 10: guessing")
    outcome = f"diverged at step {len(hist.step_loss)}" if hist.diverged else f"val. acc. {hist.val_acc[-1]:.0%}"
    ax.set(title=f"{name}: {outcome}", xlabel="training step", yscale="log")
axes[0].set_ylabel("training loss (per mini-batch)")
axes[0].legend()
plt.show()

# %% [markdown]
# **What to notice:** He learns at once. The too-small network starts with outputs that carry almost no information
# about the input -- its loss sits at $\ln 10 \approx 2.3$ (guessing) while the tiny gradients slowly grow the weights --
# and the too-large one starts with enormous logits and loss, takes a few enormous steps and diverges (the loss
# becomes NaN and `fit` stops). `fit`'s message names both suspects, a learning rate too large for the model *or*
# initial weights too large; here the learning rate is the same in all three runs, so the initialisation is the
# cause. Initialisation only sets the *starting point*,
# but a deep network can waste its whole budget escaping a bad one (or never escape).

# %%
# NBVAL_CHECK_OUTPUT
small, he, large = (histories[name] for name in INITS)
print("He: validation accuracy above 85%:", he.val_acc[-1] > 0.85)
print("too small: still guessing after epoch 1 (loss 2.2-2.4):", 2.2 < small.train_loss[0] < 2.4)
print("too small: ends with a higher training loss than He:", small.train_loss[-1] > he.train_loss[-1])
print("too large: first loss above 10:", large.step_loss[0] > 10)
print("too large: diverged or ends above He:", large.diverged or large.train_loss[-1] > he.train_loss[-1])

# %% [markdown]
# ## Going further: what initialisation does not fix
# The review's own caveat: He initialisation "*avoid[s] exploding or vanishing values and gradients at the first step*"
# but "*does not guarantee that values and gradients stay well behaved after many steps*". And even at the first step
# it controls only the **size** of the gradient, not its **structure**: in a very deep plain network the gradient
# $\partial y/\partial x$ changes so quickly with the input $x$ that neighbouring inputs get almost unrelated gradients --
# the *shattered gradients* of Balduzzi et al. (2017), the review's last point. Normalisation and residual connections
# (the next notebooks) are the remedies it lists.
#
# ### Free response (2 points, graded by your instructor)
# Why must the variance be preserved **both** in the forward and in the backward pass -- what goes wrong in each
# direction if only the other one is preserved? And when a layer's fan-in and fan-out differ, which fan do you use, and
# why?

# %% [markdown] nbgrader={"grade": true, "grade_id": "free_response_variance", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Forward: if the activations' variance shrinks or grows by a constant factor per layer, after many layers they
# collapse to 0 (the output no longer depends on the input) or overflow (saturating activations, huge losses). Backward:
# the gradients are multiplied by $\boldsymbol\Omega_k^\top$ and the activation derivative at every layer, so their
# variance changes by a per-layer factor too; if it is not 1, the early layers get vanishing (they never learn) or
# exploding (unstable steps) updates. The weight gradient is the product of an activation (forward) and a backpropagated
# gradient (backward), so both must stay in range for every layer to learn at a similar rate. The forward condition
# depends on the fan-in ($\sigma^2 = 2/\text{fan\_in}$ for ReLU), the backward one on the fan-out
# ($2/\text{fan\_out}$); they cannot both hold when the fans differ. Xavier/Glorot compromise with the
# average of the two fans, $2/(\text{fan\_in}+\text{fan\_out})$; He showed that either choice alone is fine for ReLU networks, because the
# mismatch factor over the whole network is only the ratio of the first and last widths, not exponential in depth.
# PyTorch defaults to fan-in (`mode="fan_in"`), which keeps the forward pass exact; fan-out is chosen when the backward
# pass matters more.
#
# === BEGIN MARK SCHEME ===
# 2 points in total.
# * 1 point: forward -- activations collapse/explode exponentially with depth (output independent of input / overflow,
#   saturation); backward -- gradients vanish/explode so early layers do not learn or updates are unstable. Both
#   directions needed for the full point; one direction only: ½.
# * 1 point: the fans differ, so no single variance satisfies both; a justified choice: Xavier's compromise
#   $2/(\text{fan\_in}+\text{fan\_out})$, or fan-in (He, PyTorch's default, preserves the forward pass; the
#   mismatch is a constant factor, not exponential in depth), or fan-out (preserves gradients). A choice without a
#   reason: ½. Stating He as $2/\sqrt{\text{fan\_in}}$ (the misprint) or confusing variance and std: −½.
# === END MARK SCHEME ===

# %% [markdown]
# ## Check your understanding
# 1. A layer has 512 inputs and ReLU units. A classmate initialises it with `torch.nn.init.normal_(w, std=2/512)`. By
#    what factor does each such layer multiply the activation variance, roughly?
# 2. In the all-zero network of Experiment 1, which parameters receive a non-zero gradient in the first step?
# 3. The review states the backward condition as $\sigma_\Omega^2 = 2/D_{h'}$ with $D_{h'}$ the units of layer $k+1$.
#    Why the *next* layer's size?
# 4. Your network uses tanh. Why is He's $\sqrt{2/\text{fan\_in}}$ too large for it?
#
# <details><summary>Answers</summary>
#
# 1. Variance $= (2/512)^2 \approx 1.5\times10^{-5}$ instead of $2/512$; the factor is $\tfrac12 \cdot 512 \cdot (2/512)^2 =
#    1/256$ per layer: the activations collapse (the std-for-variance confusion, squared).
# 2. Only the output layer's biases. Every hidden output is $a[0] = 0$ (ReLU), so the output weights' gradients
#    $\partial l/\partial \mathbf f \, \mathbf h^\top$ are 0, and with $\boldsymbol\Omega = 0$ nothing flows back to the hidden
#    layers. The network can only learn the class frequencies.
# 3. Backpropagation multiplies by $\boldsymbol\Omega^\top$: each unit's gradient sums over the units it feeds, i.e. over
#    the fan-out.
# 4. tanh has slope 1 at 0 and zeroes nothing, so $\mathbb{E}[h^2] \approx \operatorname{Var}[f]$ (not half of it): the
#    variance-preserving choice is $1/\text{fan\_in}$ (or Xavier's average); $2/\text{fan\_in}$ doubles the variance per
#    layer until the units saturate.
# </details>
#
# ## Summary
# * Constant (or zero) weights make every unit of a layer identical forever: random initialisation breaks the symmetry.
# * The variance is multiplied by $\tfrac12 D_h\sigma^2$ per ReLU layer, forward (fan-in) and backward (fan-out), so it
#   collapses or explodes exponentially with depth unless $\sigma^2 = 2/D_h$.
# * **He:** std $\sqrt{2/\text{fan\_in}}$ (not $2/\sqrt{\text{fan\_in}}$ as on the slide); **Xavier:** std
#   $\sqrt{2/(\text{fan\_in}+\text{fan\_out})}$; uniform variants $U(-a, a)$ with $a = \sqrt3\,\text{std}$.
# * Variance and standard deviation are different numbers: `torch.nn.init.normal_` wants the std.
# * A bad initialisation stalls or destabilises training; good initialisation does not guarantee good behaviour later
#   (normalisation and residual connections take over from there).
#
# ## Further reading
# * Lecture: *Weight initialization*, *Weight initialization - normal*, *Weight initialization - He*; review:
#   *Initialization*, *Initialize weights to different variances*, *He initialization*, *The Shattered Gradient Phenomenon*.
# * X. Glorot and Y. Bengio, *Understanding the difficulty of training deep feedforward neural networks*, AISTATS 2010.
# * K. He, X. Zhang, S. Ren and J. Sun, *Delving Deep into Rectifiers: Surpassing Human-Level Performance on ImageNet
#   Classification*, ICCV 2015 (section 2.2).
# * S. J. D. Prince, *Understanding Deep Learning*, MIT Press 2023, section 7.5 (figure 7.4) and section 11.1.
# * D. Balduzzi et al., *The Shattered Gradients Problem: If resnets are the answer, then what is the question?*, ICML 2017.
# * PyTorch: `torch.nn.init` (`kaiming_normal_`, `xavier_normal_`, `calculate_gain`).
