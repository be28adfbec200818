# ---
# jupyter:
#   course:
#     budget_s: 60
#     gpu: false
#     minutes: 90
#     title: 'Capstone: the 1989 digit recogniser, 33 years later'
#     topics: LeCun et al. 1989 reproduced (shared weights, the 8-of-12 connection table,
#       tanh, +-1 targets, per-example SGD), parameter and connection counts, loss functions
#       from likelihoods, stable cross-entropy, modern training one change at a time
#       with 95% intervals, practical tips as experiments, ImageNet progress
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 10 · Capstone: the 1989 digit recogniser, 33 years later
#
# **Time:** about 90 minutes · **Level:** end of the course's deep-learning unit ·
# **Prerequisites:** convolution arithmetic and parameter sharing (notebook 04), dropout (06), SGD and
# cross-entropy; notebooks 01–07 all help.
#
# ## Learning objectives
# By the end of this notebook you can:
# 1. build the network of LeCun et al. (1989) from its description -- including the 8-of-12 connection table
#    between its two convolutional layers -- and check your parameter and connection counts against the paper;
# 2. derive least squares from a Gaussian likelihood and cross-entropy from a categorical one, write a
#    cross-entropy that never overflows, and explain why it trains classifiers faster;
# 3. judge an ablation honestly: compute a 95 % confidence interval over seeds and say which modern changes
#    really help this network;
# 4. use the practical tips as experiments: read a jagged or a flat loss curve, compare full-batch and
#    minibatch gradient descent at equal compute, and overfit a tiny subset before anything else;
# 5. explain what it means that the *same* network gets much better with better training and more data.

# %% [markdown]
# **Running it.** About a minute on a laptop CPU, no GPU needed. The 23-pass reproduction runs live (one
# example at a time, as in 1989); the ablation over seeds takes far longer, so its results ship with
# the course (made by `tools/lecun1989_ablation.py`, seeded) and the notebook reads them. Nothing is downloaded.
# While your work is autograded the live runs shrink to a few passes.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import scipy.stats
import torch
import torch.nn.functional as F

from course_utils import checks
from course_utils.lecun1989 import (
    HUMAN_TOP5,
    ILSVRC_TOP5,
    KARPATHY_2022,
    PAPER,
    Data1989,
    Net1989,
    ablation_explorer,
    count_connections,
    load_ablation,
    load_digits_1989,
    mask_or_full,
    plot_ablation,
    plot_ilsvrc,
    train_1989,
    train_bank,
)
from course_utils.mistakes import check_known_mistakes
from course_utils.plots import new_figure, show_images, use_style
from course_utils.reproducibility import fast_mode, pick, quiet_warnings, seed_everything

quiet_warnings()
use_style()
seed_everything(0)


def show(fig):
    """Show a figure; while autograding, close it instead (figures are slow to render)."""
    if fast_mode():
        plt.close(fig)
        print("(figure skipped while autograding: run the notebook to see it)")
    else:
        plt.show()


# %% [markdown]
# ## Recap: the lecture's closing example
# The lecture ends with *"Deep Neural Nets: 33 years ago and 33 years from now"*: a network for handwritten zip
# codes, published in 1989 (LeCun, Boser, Denker, Henderson, Howard, Hubbard and Jackel, *Backpropagation Applied
# to Handwritten Zip Code Recognition*), whose descendants read 10--20 % of the cheques in the US in the late
# 1990s. In 2022 Andrej Karpathy reproduced it in PyTorch and then improved it **without changing the network**.
# The published figures (test error):
#
# | | test error |
# |---|---|
# | the 1989 paper (7,291 training / 2,007 test images) | about 5 % |
# | Karpathy's reproduction of it | 4.14 % |
# | + modern training tricks, same network | 2.09 % |
# | same 1989 training, but more data (MNIST) | 3.05 % |
# | modern training + more data | 1.31 % |
#
# The lecture's point: *the network always had the capacity* to do this well; it was not learning the best
# weights. This notebook rebuilds the network, reproduces the training, and then adds the modern changes one at a
# time -- measuring, with error bars, what each is worth.
#
# **The network** (every unit: weighted sum of its inputs plus its own bias, then $\tanh$):
#
# | layer | units | each unit sees | weights shared? |
# |---|---|---|---|
# | input | 16×16 = 256 | -- (pixels scaled to $[-1, 1]$, background $-1$) | |
# | H1 | 12 maps × 8×8 = 768 | a 5×5 window of the input, stride 2 | within a map (biases are *not* shared) |
# | H2 | 12 maps × 4×4 = 192 | 5×5 windows in **8 of the 12** H1 maps, stride 2 | within a map |
# | H3 | 30 | all 192 H2 units | no |
# | output | 10 | all 30 H3 units | no |
#
# The 16×16 input is padded by 2 pixels with the background value $-1$ (so 5×5 windows with stride 2 give
# $\lfloor(16 + 4 - 5)/2\rfloor + 1 = 8$ positions per axis), and likewise the 8×8 H1 maps. The paper's training:
# targets $+1$ for the right digit and $-1$ for the nine others, mean squared error, weights drawn uniformly from
# $\pm 2.4/F_i$ ($F_i$ = fan-in), one weight update **per example**, 23 passes through the training set. (The paper
# used a diagonal second-order method to set per-weight step sizes; like Karpathy we use plain SGD, learning rate
# 0.03. That choice matters for the initialisation -- see the practical tips.)

# %% [markdown]
# ## The data: offline digits, not the paper's
# The paper trained on 7,291 and tested on 2,007 digits from US mail; Karpathy used MNIST at those sizes. This
# notebook runs **offline**, so it uses the 1,797 handwritten digits that ship with scikit-learn: 8×8 images,
# enlarged to 16×16 and scaled to $[-1, 1]$. That is **not** the paper's data set: it is about a fifth of the
# size, and its images are blurrier (they were 8×8). Absolute error rates are therefore not comparable with the
# paper's -- the *comparisons between training recipes* are what this notebook measures.
#
# Online and curious? `course_utils.lecun1989.load_mnist_1989()` downloads MNIST once (hash-checked, cached) and
# returns it at the paper's sizes; everything below accepts it in place of `data` (expect about 10 minutes
# for the 23 passes on 7,291 images). Nothing in this notebook or its tests needs it.

# %%
# NBVAL_CHECK_OUTPUT
data = load_digits_1989(n_test=500, seed=0)
print(f"{data.name}: {len(data.y_train):,} training and {len(data.y_test):,} test images "
      f"(the paper: {PAPER['train_images']:,} and {PAPER['test_images']:,})")
print("image tensor:", tuple(data.x_train.shape), "values from", data.x_train.min().item(), "to", data.x_train.max().item())
print("test images per class:", torch.bincount(data.y_test).tolist())

# %%
fig = show_images(data.x_train[:20], labels=data.y_train[:20].tolist(), ncols=10)
show(fig)


# %% [markdown]
# ## The H2 connection table
# In H2 each of the 12 maps reads only 8 of the 12 H1 maps. The paper says why (fewer weights, and different
# maps are pushed to extract different features) but not *which* 8. We use the pattern of Karpathy's
# reproduction, three blocks of four maps:
#
# * H2 maps 0–3 read H1 maps 0–7;
# * H2 maps 4–7 read H1 maps 4–11;
# * H2 maps 8–11 read H1 maps 0–3 and 8–11.
#
# Every H1 map is then read by exactly 8 H2 maps. In code, a connection table is a boolean mask
# `mask[o, i]` (True when H2 map `o` reads H1 map `i`); a convolution multiplies its weight tensor
# `(12 out, 12 in, 5, 5)` by `mask[:, :, None, None]`, so the switched-off weights are always zero and get zero
# gradient.
#
# ### Exercise 1 -- the connection mask (2 points)

# %% nbgrader={"grade": false, "grade_id": "h2_mask_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def h2_connection_mask():
    """The H2 connection table described above.

    Returns:
        A torch.bool tensor of shape (12, 12): entry [o, i] is True when H2 map o reads H1 map i
        (rows: the 12 H2 maps, columns: the 12 H1 maps). Each row and each column has 8 True entries.
    """
    ### BEGIN SOLUTION
    mask = torch.zeros(12, 12, dtype=torch.bool)
    mask[0:4, 0:8] = True
    mask[4:8, 4:12] = True
    mask[8:12, 0:4] = True
    mask[8:12, 8:12] = True
    return mask
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "h2_mask_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 1
mask = checks.call(h2_connection_mask)
checks.check_type(mask, torch.Tensor, "h2_connection_mask()")
checks.check_shape(mask, (12, 12), "h2_connection_mask()")
checks.check_dtype(mask, torch.bool, "h2_connection_mask()")
checks.check_true(not bool(checks.plain(mask).all()),
                  "every H2 map reads all 12 H1 maps: that is a full 12 -> 12 connection; the paper connects each H2 "
                  "map to only 8 of the 12 H1 maps", success="not a full 12 -> 12 connection")
checks.check_equal(tuple(checks.plain(mask).sum(dim=1).tolist()), (8,) * 12,
                   "the number of H1 maps each H2 map reads (row sums)")
### BEGIN HIDDEN TESTS
def _mask_checks():
    got = checks.plain(h2_connection_mask())
    want = torch.zeros(12, 12, dtype=torch.bool)
    for outs, ins in ((range(0, 4), range(0, 8)), (range(4, 8), range(4, 12)), (range(8, 12), (0, 1, 2, 3, 8, 9, 10, 11))):
        for o in outs:
            want[o, list(ins)] = True
    check_known_mistakes(got.int(), want.int(), {
        "connect every H2 map to all 12 H1 maps (a full 12 -> 12 connection instead of 8 of 12)": torch.ones(12, 12),
        "swap the axes: the rows must be the H2 (output) maps and the columns the H1 (input) maps": want.T.int(),
    }, name="h2_connection_mask()")
    checks.check_equal(tuple(got.sum(dim=0).tolist()), (8,) * 12,
                       "how many H2 maps read each H1 map (column sums)", verbose=False)
    checks.check_close(got.int(), want.int(), "h2_connection_mask() compared with the table in the text", verbose=False)
    a, b = checks.plain(h2_connection_mask()), checks.plain(h2_connection_mask())
    b[0, 0] = not bool(b[0, 0])
    checks.check_true(bool(a[0, 0]) != bool(b[0, 0]), "two calls return the same tensor object: return a new mask "
                      "each call", verbose=False)


_mask_checks()
del _mask_checks
### END HIDDEN TESTS

# %% [markdown]
# ## Counting parameters and connections
# The paper states three numbers: **1,256 units, 64,660 connections, 9,760 independent parameters.** Shared
# weights are what makes the last two so different: a connection is a (unit, input) pair with a weight -- plus
# one per unit for its bias -- and many connections use the *same* weight.
#
# ### Exercise 2 -- count a layer (2 points)
# A layer has `n_maps` feature maps of `map_side × map_side` units; each unit has `fan_in` incoming weights
# and its own bias; all units of one map share their `fan_in` weights (their biases are not shared). Return the
# number of independent parameters and of connections (weights + biases, one per unit). A fully connected layer
# is the special case `map_side = 1` (every unit is its own map).

# %% nbgrader={"grade": false, "grade_id": "layer_counts_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def layer_counts(n_maps, map_side, fan_in):
    """Parameters and connections of a layer with shared weights and one bias per unit.

    Args:
        n_maps: number of feature maps (int >= 1).
        map_side: each map has map_side x map_side units (int >= 1).
        fan_in: incoming weights of each unit (int >= 1).
    Returns:
        (parameters, connections): a tuple of two Python ints.
    """
    ### BEGIN SOLUTION
    units = n_maps * map_side * map_side
    parameters = n_maps * fan_in + units
    connections = units * (fan_in + 1)
    return int(parameters), int(connections)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "layer_counts_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 2
result = checks.call(layer_counts, 12, 8, 25)
checks.check_type(result, tuple, "layer_counts(12, 8, 25)")
checks.check_equal(len(result), 2, "len(layer_counts(12, 8, 25))")
check_known_mistakes(list(result), [1068, 19968], {
    "count the shared weights once per position (768 units x 25 weights): the 768 units of H1 share 12 sets of "
    "25 weights": [19968, 19968],
    "give each map one shared bias: in the 1989 network every unit has its own bias": [312, 19968],
}, name="layer_counts(12, 8, 25)")
checks.check_equal(result, (1068, 19968), "layer_counts(12, 8, 25) -- H1: (parameters, connections)")
### BEGIN HIDDEN TESTS
def _count_checks():
    for n_maps, side, fan_in in [(12, 4, 200), (30, 1, 192), (10, 1, 30), (6, 28, 25), (3, 5, 7), (1, 1, 1)]:
        units = n_maps * side * side
        want = (n_maps * fan_in + units, units * (fan_in + 1))
        got = checks.call(layer_counts, n_maps, side, fan_in)
        checks.check_type(got, tuple, f"layer_counts({n_maps}, {side}, {fan_in})")
        label = f"layer_counts({n_maps}, {side}, {fan_in})"
        check_known_mistakes(list(got), list(want), {
            "count the shared weights once per position (every unit's weights counted again): shared weights are "
            "ONE set of fan_in parameters per map": [units * (fan_in + 1), want[1]],
            "give each map one shared bias: in the 1989 network every unit has its own bias":
                [n_maps * (fan_in + 1), want[1]],
            "forget the biases' connections (one per unit)": [want[0], units * fan_in],
        }, name=label)
        checks.check_equal(got, want, label, verbose=False)
    total = [checks.call(layer_counts, *args) for args in [(12, 8, 25), (12, 4, 200), (30, 1, 192), (10, 1, 30)]]
    checks.check_equal(sum(t[0] for t in total), 9760, "the total parameters of the four layers (the paper: 9,760)",
                       verbose=False)
    checks.check_equal(sum(t[1] for t in total), 64660, "the total connections (the paper: 64,660)", verbose=False)


_count_checks()
del _count_checks
### END HIDDEN TESTS

# %% [markdown]
# ### The counts against the paper
# The cell below uses your connection mask from Exercise 1 (and so do the runs after it; if your mask is not
# ready they use the full 12 → 12 table and say so). It counts parameters by reading the tensors of a real network
# (`Net1989` stores H2's weights as a full 12×12 table and multiplies them by the mask, so only the entries the
# mask keeps are counted), and it counts connections by walking every 5×5 window tap by tap.
#
# 🔮 **Predict first:** the windows at the border of the image hang over the padding. Does the paper's 64,660
# count the taps that land on the padding?

# %%
# NBVAL_CHECK_OUTPUT
H2_MASK = mask_or_full(h2_connection_mask)   # YOUR table from Exercise 1 (the full table if it is not done yet)
net = Net1989(H2_MASK)
units = 16 * 16 + 12 * 8 * 8 + 12 * 4 * 4 + 30 + 10
stored = sum(p.numel() for p in net.parameters())
connections = count_connections(H2_MASK)
print(f"units:       {units:,} (paper {PAPER['units']:,})")
print(f"parameters:  {net.used_parameters():,} (paper {PAPER['parameters']:,}); stored entries {stored:,}, "
      f"of which {stored - net.used_parameters():,} are H2 weights the mask switches off")
for name, per_layer in connections.items():
    print(f"connections, {name:16s}: {sum(per_layer.values()):,}  {per_layer}")
print(f"paper: {PAPER['connections']:,}")

# %% [markdown]
# **What to notice:** units and parameters match the paper exactly. Connections match only if every unit counts
# all 25 taps of its window, including the taps on the padding: 64,660. Counting only taps that land on real
# pixels (or real H1 units) gives 51,232. So the paper counted each unit's full receptive field -- a convention,
# not an error, but it is where a careful recount differs. About 9,760 parameters are used 64,660 times: that
# ratio of almost 7 is what weight sharing buys.

# %% [markdown]
# ## Reproducing 1989
# 🔮 **Predict first:** 23 passes, one example at a time, about 30,000 weight updates on 1,297 images. Will the
# training error reach zero? Will the test error be closer to the paper's 5 % or to zero?
#
# `train_1989` does exactly the paper's recipe for one network: tanh, MSE against ±1 targets, per-example SGD
# (learning rate 0.03), a new random order each pass. (It is written out in NumPy because 30,000 tiny steps
# through autograd would be several times slower; `train_bank`, used later, runs the same maths in PyTorch.)
# We start from weights uniform in $\pm 2.4/\sqrt{F_i}$, Karpathy's reading of the initialisation -- the
# practical tips below show why the literal $\pm 2.4/F_i$ does not work with plain SGD.

# %%
PASSES = pick(full=PAPER["passes"], fast=1)
faithful = Net1989(H2_MASK, init="sqrt", seed=0)
history = train_1989(faithful, data, passes=PASSES, lr=0.03, seed=0)
fig, (ax_err, ax_loss) = new_figure(1, 2, width=12, height=3.8)
ax_err.plot(100 * history.test_error[0], marker="o", ms=3, label="test")
ax_err.plot(100 * history.train_error[0], marker="o", ms=3, label="training")
ax_err.axhline(100 * PAPER["test_error"], ls="--", color="C3", label="paper's test error (its own data)")
ax_err.set(xlabel="pass", ylabel="error (%)", ylim=(0, 20), title="The 1989 recipe on the offline digits")
ax_err.legend()
ax_loss.plot(np.arange(1, history.loss.shape[1] + 1) * history.steps_per_chunk, history.loss[0])
ax_loss.set(xlabel="examples seen", ylabel="MSE (mean over 100 examples)", yscale="log", title="Training loss")
show(fig)
print(f"after {PASSES} passes: training error {100 * history.train_error[0, -1]:.2f}%, "
      f"test error {100 * history.test_error[0, -1]:.2f}% "
      f"({round(history.test_error[0, -1] * len(data.y_test))} of {len(data.y_test)} test digits wrong)")

# %%
# NBVAL_CHECK_OUTPUT
print("test error between 2% and 8%:", 0.02 <= history.test_error[0, -1] <= 0.08)
print("training error below 1%:", history.train_error[0, -1] < 0.01)
shipped_baseline = load_ablation()["runs"]["baseline"]
print(f"shipped runs of the recipe (23 passes, one example per step, lr {shipped_baseline['lr']:g}), "
      f"{len(shipped_baseline['test_error'])} seeds: {', '.join(f'{100 * e:.1f}%' for e in shipped_baseline['test_error'])}")

# %% [markdown]
# **What to notice:** the network fits its training set almost perfectly within a few passes and the test error
# then flattens a few percent above it -- the same picture as in the paper (a training error far below its 5 %
# test error). The test error of one run moves by about a percentage point from seed to seed (the shipped runs above:
# the same recipe, with the learning rate the ablation below chose on validation data), so one run is not a
# measurement of the recipe. Keep that in mind for the ablation.
#
# ## Loss functions from likelihoods
# Both losses of this notebook are negative log-likelihoods of a model of the targets.
#
# **Least squares = Gaussian likelihood.** Model each target as the network's output plus Gaussian noise,
# $t_j \sim \mathcal N(f_j(x), \sigma^2)$. The negative log-likelihood of one example is
# $$-\log p(t \mid x) = \frac{1}{2\sigma^2}\sum_j \big(t_j - f_j(x)\big)^2 + \text{const},$$
# so maximising the likelihood is minimising the squared error. The paper's ±1 targets and tanh outputs fit
# this model: a regression onto 10 numbers.
#
# **Cross-entropy = categorical likelihood.** Model the *label* $y$ as one draw from a categorical distribution
# whose probabilities are the softmax of the outputs ("logits") $z$: $p(y = c \mid x) = e^{z_c}/\sum_k e^{z_k}$.
# The negative log-likelihood of one example is
# $$-\log p(y \mid x) = -z_y + \log \sum_k e^{z_k}.$$
#
# **Why cross-entropy trains a classifier faster.** Look at the gradient with respect to an output's
# pre-activation $z$. For MSE through tanh it is $2\,(\tanh z - t)\,(1 - \tanh^2 z)$: when the output is
# *confidently wrong* ($\tanh z \approx +1$, $t = -1$) the factor $1 - \tanh^2 z$ is near zero, so the worst
# mistakes are corrected most slowly. For cross-entropy it is $\mathrm{softmax}(z)_c - [c = y]$: largest exactly
# when the network is confidently wrong. Cross-entropy is also what we want to *report*: calibrated class
# probabilities, not ten numbers near ±1.

# %%
z = torch.linspace(-4, 4, 201)
mse_grad = 2 * (torch.tanh(z) - (-1.0)) * (1 - torch.tanh(z) ** 2)  # target -1: z > 0 is wrong
logits = torch.stack([z, torch.zeros_like(z)], dim=1)  # two classes; the true class is the second
ce_grad = torch.softmax(logits, dim=1)[:, 0]  # d(cross-entropy)/dz for the wrong class's logit
fig, ax = new_figure()
ax.plot(z, mse_grad, label="MSE through tanh, target -1")
ax.plot(z, ce_grad, label="cross-entropy, wrong class's logit")
ax.axvspan(1.5, 4, color="C3", alpha=0.1, label="confidently wrong")
ax.set(xlabel="pre-activation z of a wrong output", ylabel="gradient dLoss/dz",
       title="How hard each loss pushes a wrong output down")
ax.legend()
show(fig)


# %% [markdown]
# **What to notice:** the MSE gradient peaks near $z \approx 0.66$ and then dies away as the wrong output
# saturates; the cross-entropy gradient keeps growing towards 1.
#
# ### Exercise 3 -- a cross-entropy that never overflows (3 points)
# Compute the mean cross-entropy from logits *without* `F.cross_entropy`, `F.log_softmax` or `torch.logsumexp`
# (those are what we compare with). The direct formula `-log(softmax(z)[y])` computes $e^{z}$, which overflows
# for logits above about 89 in float32 (and 710 in float64) and gives `inf`/`nan`. Use the log-sum-exp trick:
# with $m = \max_k z_k$, $\log\sum_k e^{z_k} = m + \log\sum_k e^{z_k - m}$, where every exponent is $\le 0$.

# %% nbgrader={"grade": false, "grade_id": "cross_entropy_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def stable_cross_entropy(logits, y):
    """Mean cross-entropy of integer labels under softmax(logits), computed stably.

    Args:
        logits: float tensor (N, C), any finite values (e.g. 1000.0).
        y: int64 tensor (N,) of class indices in 0..C-1.
    Returns:
        A 0-d float tensor (same dtype as logits): mean over the N examples of
        -logits[n, y[n]] + log(sum_k exp(logits[n, k])). It must stay finite for huge logits, and
        gradients must flow through it (use torch operations).
    """
    ### BEGIN SOLUTION
    m = logits.max(dim=1, keepdim=True).values
    log_norm = m[:, 0] + torch.log(torch.exp(logits - m).sum(dim=1))
    return (log_norm - logits.gather(1, y[:, None])[:, 0]).mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "cross_entropy_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 3
_z = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])
_y = torch.tensor([0, 1])
got = checks.call(stable_cross_entropy, _z, _y)
checks.check_shape(got, (), "stable_cross_entropy(...) (a 0-d tensor: the mean)")
checks.check_close(got, F.cross_entropy(_z, _y), "stable_cross_entropy on small logits, compared with F.cross_entropy")
_big = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 800.0, 1.0]])
got = checks.call(stable_cross_entropy, _big, torch.tensor([1, 1]))
checks.check_true(bool(torch.isfinite(checks.plain(got))),
                  "stable_cross_entropy on logits of size 1000 is not finite: log(softmax(z)) computed with exp(z) "
                  "overflows -- subtract the largest logit first (log-sum-exp)", success="finite for logits of 1000")
checks.check_close(got, F.cross_entropy(_big, torch.tensor([1, 1])), "stable_cross_entropy on logits of size 1000")
### BEGIN HIDDEN TESTS
def _ce_checks():
    gen = torch.Generator().manual_seed(3)
    for n, c, scale, dtype in [(7, 10, 1.0, torch.float32), (5, 3, 50.0, torch.float64), (4, 10, 300.0, torch.float32),
                               (6, 4, 2000.0, torch.float64), (1, 2, 1.0, torch.float32)]:
        z = (torch.randn(n, c, generator=gen, dtype=torch.float64) * scale).to(dtype)
        y = torch.randint(0, c, (n,), generator=gen)
        want = F.cross_entropy(z, y)
        got = checks.call(stable_cross_entropy, z.clone(), y.clone())
        label = f"stable_cross_entropy on logits of scale {scale:g} ({dtype})"
        checks.check_true(bool(torch.isfinite(torch.as_tensor(checks.as_array(got)))),
                          f"{label} is not finite: the direct log(softmax) overflows when exp(logit) exceeds the "
                          "largest float. Subtract each row's maximum before exponentiating (log-sum-exp).",
                          verbose=False)
        check_known_mistakes(got, want, {
            "sum the losses instead of taking the mean over the examples": F.cross_entropy(z, y, reduction="sum"),
            "forget the minus sign": -want,
            "subtract the maximum but forget to add it back (log-sum-exp = m + log(sum(exp(z - m))))":
                lambda: (torch.log(torch.exp(z - z.max(1, keepdim=True).values).sum(1))
                         - z.gather(1, y[:, None])[:, 0]).mean(),
            "subtract one global maximum instead of each row's own (rows far below it underflow to log(0))":
                lambda: (z.max() + torch.log(torch.exp(z - z.max()).sum(1)) - z.gather(1, y[:, None])[:, 0]).mean(),
        }, name=label, rtol=1e-4, atol=1e-4)
        checks.check_close(got, want, label, rtol=1e-4, atol=1e-4, verbose=False)
    # gradients flow and match torch's
    z = torch.randn(5, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 4, (5,), generator=gen)
    out = checks.call(stable_cross_entropy, z, y)
    checks.check_true(isinstance(out, torch.Tensor) and out.requires_grad,
                      "stable_cross_entropy does not keep the autograd graph: compute it with torch operations "
                      "(no .item(), .numpy() or float())", verbose=False)
    grad, = torch.autograd.grad(out, z)
    want_grad, = torch.autograd.grad(F.cross_entropy(z, y), z)
    checks.check_close(grad, want_grad, "the gradient of stable_cross_entropy", verbose=False)


_ce_checks()
del _ce_checks
### END HIDDEN TESTS

# %% [markdown]
# ## Modern training, one change at a time
# Karpathy's changes, all of which leave the network's layers and sizes alone:
#
# 1. **cross-entropy** on the 10 outputs (as logits) instead of MSE on tanh outputs;
# 2. **AdamW** (Karpathy: learning rate $3\cdot10^{-4}$; weight decay $10^{-4}$) with the learning rate decayed linearly to
#    a tenth by the end, instead of constant-rate SGD;
# 3. **data augmentation**: every training image shifted by a random $-1$, $0$ or $+1$ pixels in each direction;
# 4. **dropout** ($p = 0.25$) on the 192 H2 units;
# 5. **ReLU** instead of tanh in the hidden layers.
#
# The shipped grid trained, on the same data, the 1989 recipe, **each change alone**, and **all five
# together**, every one the paper's way: one example per weight update, 23 passes. A change of loss or optimiser
# changes the best learning rate, so a fair comparison tunes it **per setting**, and never on the test set: 297 of
# the 1,297 training images were held out as a *validation* set, every rate of a small grid (SGD: 0.003, 0.01,
# 0.03, 0.1; AdamW: $10^{-4}$, $3\cdot10^{-4}$, $10^{-3}$) trained on the other 1,000, and the rate with the lowest
# validation error won. Then each setting trained on all 1,297 images with its rate, over 5 seeds (seed $s$ gives
# the same initial weights and the same order of examples in every setting), and was tested once on the 500 test
# images. `tools/lecun1989_ablation.py` does all of this, seeded.
#
# 🔮 **Predict first:** which single change will help most on 1,297 images? Will all five together beat every
# single one?

# %%
# NBVAL_CHECK_OUTPUT
ablation = load_ablation()
runs = ablation["runs"]
print(f"shipped: {len(runs)} settings x {len(ablation['meta']['seeds'])} seeds, {ablation['meta']['passes']} passes, "
      f"{ablation['meta']['n_train']} training / {ablation['meta']['n_test']} test images")
names = {key: run["setting"].label().replace("cross_entropy", "cross-entropy") for key, run in runs.items()}
print(f"{'setting':48s} {'lr':>6s} {'mean':>6s}   test error of each seed (%)")
for key, run in runs.items():
    errors = 100 * run["test_error"]
    print(f"{names[key]:48s} {run['lr']:6g} {errors.mean():5.2f}%   {'  '.join(f'{e:4.1f}' for e in errors)}")


# %% [markdown]
# Each row is five numbers, and they scatter: one test digit is 0.2 percentage points, and a different seed moves
# a run by a point or more. Before calling a change an improvement we need an interval for each mean.
#
# ### Exercise 4 -- a 95 % confidence interval over seeds (2 points)
# For the $k$ test errors $e_1,\dots,e_k$ of one setting (one per seed), return the mean $\bar e$ and the
# half-width of the $t$ interval:
# $$\bar e \pm t_{k-1}\!\left(\tfrac{1+c}{2}\right)\frac{s}{\sqrt{k}},\qquad
#   s^2 = \frac{1}{k-1}\sum_{i}(e_i - \bar e)^2,$$
# with $t_{k-1}(q)$ the $q$-quantile of Student's $t$ with $k-1$ degrees of freedom
# (`scipy.stats.t.ppf(q, k - 1)`) and $c$ the confidence (0.95). Note which $n$ goes where: the standard error
# divides by $\sqrt{k}$, the *number of seeds* (not the number of test images), and $s$ uses $k - 1$.

# %% nbgrader={"grade": false, "grade_id": "interval_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def seed_interval(errors, confidence=0.95):
    """Mean and half-width of the t confidence interval of the mean over seeds.

    Args:
        errors: a 1-D sequence (list, NumPy array or tensor) of k >= 2 numbers.
        confidence: the confidence level c, 0 < c < 1.
    Returns:
        (mean, half_width): two Python floats.
    Raises:
        ValueError: fewer than 2 values.
    """
    ### BEGIN SOLUTION
    e = np.asarray(errors, dtype=float).reshape(-1)
    k = len(e)
    if k < 2:
        raise ValueError(f"need at least 2 values, got {k}")
    half = scipy.stats.t.ppf((1 + confidence) / 2, k - 1) * e.std(ddof=1) / np.sqrt(k)
    return float(e.mean()), float(half)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "interval_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 4
result = checks.call(seed_interval, [0.04, 0.05, 0.06])
checks.check_type(result, tuple, "seed_interval([0.04, 0.05, 0.06])")
checks.check_close(result[0], 0.05, "the mean of [0.04, 0.05, 0.06]")
check_known_mistakes(result[1], 4.302652729911275 * 0.01 / np.sqrt(3), {
    "divide by sqrt(k - 1) instead of sqrt(k): the standard error uses k, the number of seeds":
        4.302652729911275 * 0.01 / np.sqrt(2),
    "compute s with n instead of n - 1 (np.std's default ddof=0)": 4.302652729911275 * np.std([0.04, 0.05, 0.06]) / np.sqrt(3),
}, name="the half-width for [0.04, 0.05, 0.06]")
checks.check_close(result[1], 4.302652729911275 * 0.01 / np.sqrt(3), "the half-width for [0.04, 0.05, 0.06]")
checks.check_raises(seed_interval, ([0.05],), ValueError, name="seed_interval([0.05]) (one value has no interval)")
### BEGIN HIDDEN TESTS
def _interval_checks():
    gen = np.random.default_rng(4)
    for k, conf in [(5, 0.95), (2, 0.95), (10, 0.9), (30, 0.99)]:
        e = 0.05 + 0.01 * gen.standard_normal(k)
        for form in (list(e), e, torch.tensor(e)):
            got = checks.call(seed_interval, form, conf)
            checks.check_type(got, tuple, f"seed_interval(<{k} values>, {conf})")
            mean = float(np.mean(e))
            t = scipy.stats.t.ppf((1 + conf) / 2, k - 1)
            want = t * np.std(e, ddof=1) / np.sqrt(k)
            checks.check_close(got[0], mean, f"the mean of {k} values", verbose=False)
            check_known_mistakes(got[1], want, {
                "divide by sqrt(k - 1) instead of sqrt(k): the standard error uses the number of seeds k":
                    t * np.std(e, ddof=1) / np.sqrt(k - 1),
                "compute s with n instead of n - 1 (np.std's default ddof=0): the sample standard deviation divides "
                "by k - 1": t * np.std(e) / np.sqrt(k),
                "take the normal quantile (1.96 for 95%) instead of Student's t with k - 1 degrees of freedom":
                    scipy.stats.norm.ppf((1 + conf) / 2) * np.std(e, ddof=1) / np.sqrt(k),
                "use the standard deviation s instead of the standard error s / sqrt(k)": t * np.std(e, ddof=1),
                "use k degrees of freedom instead of k - 1":
                    scipy.stats.t.ppf((1 + conf) / 2, k) * np.std(e, ddof=1) / np.sqrt(k),
                "use the quantile at c instead of (1 + c) / 2 (a two-sided interval leaves (1 - c)/2 in each tail)":
                    scipy.stats.t.ppf(conf, k - 1) * np.std(e, ddof=1) / np.sqrt(k),
            }, name=f"the half-width for {k} seeds at confidence {conf}", rtol=1e-6, atol=1e-12)
            checks.check_close(got[1], want, f"the half-width for {k} seeds at confidence {conf}", verbose=False)
    checks.check_raises(seed_interval, ([],), ValueError, name="seed_interval([])", verbose=False)
    got = checks.call(seed_interval, [0.03, 0.03, 0.03])
    checks.check_close(got[1], 0.0, "the half-width of three equal errors", atol=1e-12, verbose=False)


_interval_checks()
del _interval_checks
### END HIDDEN TESTS

# %% [markdown]
# ### The ablation with intervals
# This cell uses **your** `seed_interval` (Exercise 4) for every setting.

# %%
intervals = {key: seed_interval(run["test_error"]) for key, run in runs.items()}
keys = list(runs)
fig, ax = new_figure(width=9, height=5)
plot_ablation([names[k] for k in keys], [intervals[k][0] for k in keys], [intervals[k][1] for k in keys], ax=ax,
              reference={"paper (its own data)": PAPER["test_error"],
                         "Karpathy, modern training (MNIST)": KARPATHY_2022["modern training"]})
show(fig)

# %%
# NBVAL_CHECK_OUTPUT
base_mean, base_half = intervals["baseline"]
print(f"{'setting':48s} {'mean':>6s}  95% interval      vs 1989 recipe")
for key in keys:
    mean, half = intervals[key]
    lower, upper = mean - half, mean + half
    verdict = ("better" if upper < base_mean - base_half else "worse" if lower > base_mean + base_half
               else "overlaps")
    print(f"{names[key]:48s} {100 * mean:5.2f}%  [{100 * lower:5.2f}, {100 * upper:5.2f}]  "
          f"{'' if key == 'baseline' else verdict}")
curve_after = {key: 100 * run["curves"][:, 1].mean() for key, run in runs.items()}  # test error after pass 1
print(f"after the first pass: 1989 recipe {curve_after['baseline']:.1f}%, cross-entropy {curve_after['cross_entropy']:.1f}%")
train_errors = {key: 100 * run["train_error"].mean() for key, run in runs.items()}
print("training error at the end (%):", ", ".join(f"{names[key]} {e:.2f}" for key, e in train_errors.items()))
relu_val = runs["relu"]["validation_error"]
print(f"ReLU alone, validation error by learning rate: {', '.join(f'{lr}: {100 * e:.1f}%' for lr, e in relu_val.items())}")


# %% [markdown]
# **What to notice:** read the table with the intervals, not the means. "better"/"worse" above is a
# conservative rule (the two intervals do not overlap); where they overlap, the data cannot tell the
# settings apart at five seeds. What the table says:
#
# * **All five changes together halve the error** of the 1989 recipe, from about 2.8 % to 1.3 %, and the intervals
#   are far apart: the same network, trained better. That is the shape of Karpathy's result (4.1 % → 2.1 % on
#   MNIST); the absolute numbers differ because the data differ (a fifth of the size, blurrier digits).
# * **No single change is a clear win on its own** at five seeds: AdamW (2.3 %), shifts (2.5 %), ReLU (2.9 %) and
#   cross-entropy (3.0 %) all overlap the recipe's interval. The 1989 recipe with a tuned learning rate already fits
#   its 1,297 training images almost perfectly in 23 passes, so a change that only speeds up fitting has little
#   left to fix. Cross-entropy *does* train faster, as the likelihood argument predicts (below: its test error
#   after the first pass is well below the recipe's), but with 23 passes the MSE runs catch up.
# * **Dropout alone looks worse** (4.0 %, its interval just overlapping): with only 23 passes it slows the fitting of
#   the training set (its training error is the highest of the table) without the faster optimiser that helps it
#   in the full combination.
# * **The learning rate is part of each change.** ReLU at the rate that suits the tanh recipe best (0.1) does not train at all
#   (about 90 % validation error: the units die or blow up in the first steps -- the lecture's warning about dead
#   ReLUs and exploding gradients); at 0.03 it matches tanh. Without a rate tuned per setting, the ablation would
#   have blamed ReLU for a bad learning rate. Three settings chose the largest rate of their grid, so a wider
#   grid might improve them a little further.
#
# A change is only "one change" relative to the rest of the recipe it joins: the grid tests each change alone and
# all five together, not which combination of them does the work.
#
# ## Data augmentation: shifting digits
# A digit moved by one pixel is still the same digit, so shifted copies are free extra training data -- the
# "more data" that the lecture calls "almost always the most helpful thing you can do", made from the data we
# have.
#
# ### Exercise 5 -- shift images by whole pixels (3 points)
# Shift every image by its own `(down, right)` offset, each in $\{-1, 0, 1\}$. Pixels that move in from outside
# take the value `fill` (the background, $-1$ for our images); pixels pushed over the edge are lost. Do **not**
# use `torch.roll`: it wraps pixels around, so ink leaving at the bottom reappears at the top.

# %% nbgrader={"grade": false, "grade_id": "shift_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def shift_images(x, shifts, fill=-1.0):
    """Shift each image by whole pixels, filling the uncovered border with ``fill``.

    Args:
        x: float tensor (N, C, H, W) with H, W >= 2. Not modified.
        shifts: int64 tensor (N, 2); shifts[n] = (dy, dx), each in {-1, 0, 1}: image n moves dy pixels
            down (up if negative) and dx pixels right (left if negative).
        fill: the value of the pixels that move in from outside.
    Returns:
        A new tensor like x: out[n, :, i, j] = x[n, :, i - dy, j - dx] where that pixel exists, else fill.
    """
    ### BEGIN SOLUTION
    n, c, h, w = x.shape
    padded = F.pad(x, (1, 1, 1, 1), value=fill)
    out = torch.empty_like(x)
    for k in range(n):
        dy, dx = int(shifts[k, 0]), int(shifts[k, 1])
        out[k] = padded[k, :, 1 - dy:1 - dy + h, 1 - dx:1 - dx + w]
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "shift_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 5
_x = torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)
got = checks.call(shift_images, _x, torch.tensor([[1, 0]]), -1.0)
checks.check_shape(got, (1, 1, 3, 3), "shift_images(x (1, 1, 3, 3), [[1, 0]])")
check_known_mistakes(got, [[[[-1.0, -1.0, -1.0], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]], {
    "wrap pixels around the edge (torch.roll): the row that moves in must be the fill value": torch.roll(_x, 1, dims=2),
}, name="shift_images(one pixel down)")
checks.check_close(got[0, 0], [[-1.0, -1.0, -1.0], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
                   "shift_images([[1,2,3],[4,5,6],[7,8,9]], one pixel down)")
got = checks.call(shift_images, _x, torch.tensor([[0, -1]]), 0.0)
checks.check_close(got[0, 0], [[2.0, 3.0, 0.0], [5.0, 6.0, 0.0], [8.0, 9.0, 0.0]],
                   "shift_images(..., one pixel left, fill=0)")
### BEGIN HIDDEN TESTS
def _reference_shift(x, shifts, fill):
    out = torch.full_like(x, fill)
    h, w = x.shape[-2:]
    for k, (dy, dx) in enumerate(shifts.tolist()):
        out[k, :, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            x[k, :, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def _shift_checks():
    gen = torch.Generator().manual_seed(5)
    for n, c, h, w, fill in [(9, 1, 16, 16, -1.0), (9, 3, 5, 7, 0.5), (20, 1, 2, 2, -1.0)]:
        x = torch.rand(n, c, h, w, generator=gen, dtype=torch.float64) + 2.0
        if n == 9:
            shifts = torch.tensor([[dy, dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
        else:
            shifts = torch.randint(-1, 2, (n, 2), generator=gen)
        before = x.clone()
        got = checks.call(shift_images, x, shifts.clone(), fill)
        label = f"shift_images(x {tuple(x.shape)}, shifts, fill={fill})"
        checks.check_close(x, before, f"x after {label} (it must not be modified)", verbose=False)
        want = _reference_shift(x, shifts, fill)
        rolled = torch.stack([torch.roll(x[k], (int(dy), int(dx)), dims=(-2, -1)) for k, (dy, dx) in enumerate(shifts)])
        check_known_mistakes(got, want, {
            "wrap pixels around the edge (torch.roll): pixels that move in must be the fill value, not the pixels "
            "that fell off the other side": rolled,
            "fill with 0 instead of `fill` (our background is -1)": _reference_shift(x, shifts, 0.0),
            "move the images the wrong way (dy > 0 must move the image DOWN, dx > 0 RIGHT)":
                _reference_shift(x, -shifts, fill),
            "swap dy and dx": _reference_shift(x, shifts.flip(1), fill),
        }, name=label)
        checks.check_close(got, want, label, verbose=False)
    # zero shifts give the images back
    x = torch.rand(4, 1, 6, 6, generator=gen)
    checks.check_close(checks.call(shift_images, x, torch.zeros(4, 2, dtype=torch.int64), -1.0), x,
                       "shift_images with all shifts 0", verbose=False)


_shift_checks()
del _shift_checks
### END HIDDEN TESTS

# %% [markdown]
# Here is what the augmentation does to a few training digits (this cell uses your `shift_images`); the red
# frame is where the 16×16 image was:

# %%
offsets = torch.tensor([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1], [1, 1]])
digit = data.x_train[:1].expand(len(offsets), 1, 16, 16)
fig = show_images(shift_images(digit, offsets, -1.0), labels=[f"shift {tuple(o.tolist())}" for o in offsets], ncols=6)
show(fig)

# %% [markdown]
# ## Widget: tick the modern changes on and off
# Tick changes to see the shipped result of that setting: its bar is outlined on the left (the bars use your
# 95 % intervals), and on the right its test error after each pass -- a thin line per seed, their mean thick --
# next to the live run of the 1989 recipe you trained above (grey). The shipped grid holds each change alone and
# all five together, so other combinations say they were not trained.
#
# 🔮 **Predict first:** which setting's learning curve is still falling at the last pass -- i.e. would gain from
# more passes?

# %%
app = ablation_explorer(runs, intervals, live_curve=history.test_error[0])
app

# %%
state = app.update(cross_entropy=True, adamw=False, shifts=True, dropout=False, relu=False)
print("chosen:", state.data["key"], "| shipped:", state.data["run"] is not None)
state = app.update(cross_entropy=True, adamw=True, shifts=True, dropout=True, relu=True)
print(f"all five changes: test error {100 * intervals[state.data['key']][0]:.2f}% over "
      f"{len(state.data['run']['test_error'])} seeds")

# %% [markdown]
# ## Practical tips, as experiments
# The midterm review's practical tips are rules about *reading training*. Each one below is a small, real run
# (with `train_bank`, which trains several copies of the network side by side, each with its own setting).
#
# ### 1. "Plot your losses. If jagged, the learning rate is too high."
# 🔮 **Predict first:** minibatches of 16, plain SGD. What does the loss curve look like at learning rate 0.03,
# 0.3 and 1?

# %%
STEPS = pick(full=200, fast=30)
rates = [0.03, 0.3, 1.0]
bank = Net1989(H2_MASK, n_models=3, init="sqrt", seed=[0, 0, 0])
tip_lr = train_bank(bank, data, passes=3, lr=rates, batch_size=16, seeds=[0, 0, 0], record_every=1,
                    max_steps=STEPS, progress=False)
fig, ax = new_figure(width=9, height=3.6)
for i, rate in enumerate(rates):
    ax.plot(tip_lr.loss[i], lw=1, label=f"learning rate {rate:g}: test error {100 * tip_lr.test_error[i, -1]:.1f}%")
ax.set(xlabel="step (minibatch of 16)", ylabel="MSE of the minibatch", yscale="log",
       title="Same network, same batches: only the learning rate differs")
ax.legend()
show(fig)


# %%
# NBVAL_CHECK_OUTPUT
def roughness(loss):
    """Median relative change of the loss from one step to the next, over the second half of training."""
    second = loss[len(loss) // 2:]
    return float(np.median(np.abs(np.diff(np.log(second)))))


rough = [roughness(loss) for loss in tip_lr.loss]
print("lr 0.3 is more jagged than lr 0.03 (median step-to-step change):", rough[1] > 2 * rough[0])
print("lr 0.3 reaches a lower loss than lr 0.03:", tip_lr.loss[1, -20:].mean() < tip_lr.loss[0, -20:].mean())
print("lr 1 ends stuck near MSE 0.4 (the loss of answering -1 on all ten outputs):",
      0.35 < tip_lr.loss[2, -20:].mean() < 0.45 and roughness(tip_lr.loss[2]) < rough[1])

# %% [markdown]
# **What to notice:** at 0.03 the curve falls slowly and fairly smoothly. At 0.3 it jumps up and down from step to
# step -- jagged -- but still trends down: this rate is at the edge, fast but noisy (a schedule that lowers it
# later would smooth the end). At 1 the first steps overshoot so far that the tanh units saturate and the loss
# sticks near 0.4 -- the loss of answering $-1$ on all ten outputs, $(2^2 + 9 \cdot 0)/10$. A jagged curve says "lower the
# learning rate"; a curve that jumps and then goes dead flat is the same problem one step further, and the next
# tip shows how to recognise a flat loss.
#
# ### 2. "If flat, look at the gradients."
# The paper's initialisation, taken literally (uniform in $\pm 2.4/F_i$, so H2's weights are within $\pm 0.012$),
# next to Karpathy's $\pm 2.4/\sqrt{F_i}$, both trained one example at a time with SGD at 0.03. We record the
# review's measure of gradient size: the sum of the absolute values of all gradient entries.
#
# 🔮 **Predict first:** which one learns, and what does the other one's gradient look like?

# %%
FLAT_STEPS = pick(full=600, fast=150)
bank = Net1989(H2_MASK, n_models=2, init=["paper", "sqrt"], seed=[0, 0])
tip_flat = train_bank(bank, data, passes=1, seeds=[0, 0], record_every=50, grad_abs=True, max_steps=FLAT_STEPS,
                      progress=False)  # one example per step, 600 steps
fig, (ax_l, ax_g) = new_figure(1, 2, width=12, height=3.6)
steps = np.arange(1, tip_flat.loss.shape[1] + 1) * 50
for i, name in enumerate(["paper, literally: 2.4 / fan_in", "Karpathy: 2.4 / sqrt(fan_in)"]):
    ax_l.plot(steps, tip_flat.loss[i], label=name)
    ax_g.plot(steps, tip_flat.grad_abs[i], label=name)
ax_l.set(xlabel="examples seen", ylabel="MSE (mean over 50 examples)", title="Loss")
ax_g.set(xlabel="examples seen", ylabel="sum of |gradient entries|", yscale="log", title="Gradient size")
ax_l.legend()
show(fig)

# %%
# NBVAL_CHECK_OUTPUT
late = slice(tip_flat.loss.shape[1] // 2, None)  # the second half of the run
ratio = tip_flat.grad_abs[1, late].mean() / tip_flat.grad_abs[0, late].mean()
print("literal init: gradient more than 5x smaller than with 2.4/sqrt(fan_in) (second half):", ratio > 5)
print("literal init: loss flat after the first 100 examples (within 2%):",
      np.ptp(tip_flat.loss[0, 2:]) < 0.02 * tip_flat.loss[0, 2:].mean())
print("literal init: loss stuck near 0.36, the variance of the +-1 targets:", abs(tip_flat.loss[0, -1] - 0.36) < 0.02)
print("literal init: test error still above 50% after 600 examples:", tip_flat.test_error[0, -1] > 0.5)
print("sqrt init: test error below 30% after 600 examples:", tip_flat.test_error[1, -1] < 0.3)

# %% [markdown]
# **What to notice:** with the literal initialisation the loss drops within a hundred examples to about 0.36 and
# stays there. 0.36 is the variance of the targets (each is $-1$ nine times in ten, mean $-0.8$): the network
# answers $-0.8$ on every output whatever the image -- which only the output biases are needed for -- and its
# gradient is about ten times smaller than the working network's. The weights below the output are so small
# that almost no signal about the image gets through, and almost no gradient gets back. A flat loss with a small
# gradient means the signal is not getting through, not that training has converged. The paper's second-order method rescaled each weight's step size, which rescued small
# gradients; plain SGD has no such help. This is why Karpathy (and this notebook) use $2.4/\sqrt{F_i}$, a
# LeCun-style scale that keeps the signal's variance from shrinking from layer to layer.
#
# ### 3. "Stochastic gradient descent is your friend": full batch against minibatches at equal compute
# Both runs below see every training image the same number of times (5 passes, the same compute); one takes a step
# after every 32 images, the other after all 1,297.
#
# 🔮 **Predict first:** how many steps does each get, and which is better after 5 passes?

# %%
BATCH_PASSES = pick(full=5, fast=1)
results = {}
for batch in (32, len(data.y_train)):
    bank = Net1989(H2_MASK, init="sqrt", seed=0)
    results[batch] = train_bank(bank, data, passes=BATCH_PASSES, lr=0.3, batch_size=batch, record_every=1,
                                seeds=0, progress=False)
fig, ax = new_figure(width=8, height=3.6)
for batch, h in results.items():
    label = "full batch" if batch == len(data.y_train) else f"minibatch of {batch}"
    ax.plot(np.arange(h.test_error.shape[1]), 100 * h.test_error[0], marker="o",
            label=f"{label}: {h.loss.shape[1]} steps")
ax.set(xlabel="passes through the training set (= compute)", ylabel="test error (%)",
       title="Same compute, SGD lr 0.3: minibatches against the full batch")
ax.legend()
show(fig)

# %%
# NBVAL_CHECK_OUTPUT
for batch, h in results.items():
    print(f"batch {batch:5d}: {h.loss.shape[1]:4d} steps, final test error below 20%: {h.test_error[0, -1] < 0.2}")

# %% [markdown]
# **What to notice:** with the same number of gradient evaluations, the minibatch run takes 40 times more
# steps and is far ahead; the full-batch run's steps are better estimates of the gradient, but it gets only five
# of them. Minibatch gradients are noisy -- and that is good enough.
#
# ### 4. "Get a small network working first": overfit a tiny subset
# Before a long run, check that the whole pipeline can drive the training loss to zero on a handful of examples.
# If it cannot fit 20 images, more data or a bigger network will not help: something is broken (a wrong label
# order, a learning rate of zero, a detached graph...).

# %%
tiny = Data1989(data.x_train[:20], data.y_train[:20], data.x_test, data.y_test, "20 training images")
small = Net1989(H2_MASK, init="sqrt", seed=0)
tip_tiny = train_1989(small, tiny, passes=pick(full=40, fast=5), lr=0.03, seed=0, record_every=20, progress=False)
fig, ax = new_figure(width=8, height=3.4)
ax.plot(np.arange(1, tip_tiny.loss.shape[1] + 1), tip_tiny.loss[0], marker="o", ms=3)
ax.set(xlabel="pass through the 20 images", ylabel="MSE", yscale="log", title="Sanity check: overfit 20 images")
show(fig)

# %%
# NBVAL_CHECK_OUTPUT
print(f"training error on the 20 images: {round(20 * tip_tiny.train_error[0, -1])} of 20")
print("loss fell by more than 10x:", tip_tiny.loss[0, -1] < tip_tiny.loss[0, 0] / 10)

# %% [markdown]
# **What to notice:** 20 images are memorised within a few passes (the test error on the 500 held-out images
# stays high, of course -- that is not the point of this check). Only after this works is a long run worth
# starting.
#
# ## 33 years of progress: ImageNet
# The same recipe -- convolutional networks trained by backpropagation, with more data, more compute and better
# training -- is what moved the ImageNet Large Scale Visual Recognition Challenge (1.2 million images, 1,000
# classes). The figure shows the top-5 error of the winning entry each year (published results) and Andrej
# Karpathy's 2014 estimate of a trained human's top-5 error.

# %%
fig, ax = new_figure(width=9, height=3.8)
plot_ilsvrc(ax=ax)
show(fig)

# %%
# NBVAL_CHECK_OUTPUT
for year, error, entry in ILSVRC_TOP5:
    print(f"{year}: {100 * error:4.1f}% ({entry})")
print(f"human estimate: {100 * HUMAN_TOP5:.1f}%")

# %% [markdown]
# **What to notice:** the error falls by more than a third in 2012, the first year a deep convolutional network
# (AlexNet) won, and drops below the human estimate in 2015 (ResNet). After 2017 the challenge stopped: top-5
# error on ImageNet was no longer a useful measure of progress.
#
# ### Free response (3 points, graded by your instructor)
# The lecture says: with modern training and without changing the 1989 network, the test error falls from about
# 4 % to about 2 % (and to 1.3 % with more data). **What does it mean that the *same* network gets from 4 % to
# 2 %?** Use the words *capacity* and *training*, refer to at least one result of this notebook, and say what this
# implies for judging a model architecture.

# %% [markdown] nbgrader={"grade": true, "grade_id": "free_response_same_network", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# The network's **capacity** -- the set of functions its 9,760 parameters can represent -- did not change: the
# 2 % solution was always a setting of the same weights. What changed is **training**: the loss we optimise
# (cross-entropy gives large gradients exactly for confident mistakes), the optimiser and its schedule, and
# regularisation and augmentation that change *which* of the many weight settings that fit the training set we
# end up in. The 1989 recipe reached near-zero training error but not the best weights for unseen data, so its
# test error measured the recipe as much as the network. In this notebook: the 1989 run fits its training set
# almost perfectly yet stays a few percent wrong on test data; all five modern changes together halve its test
# error (about 2.8 % to 1.3 %, intervals far apart) with exactly the same layers, while each change alone stays
# within the noise -- the improvement comes from how the weights are found, not from the model. Implication: an architecture's result is only as
# good as its training; comparing architectures needs equally good (and equally tuned) training, several seeds
# and intervals -- a "worse" architecture may just be under-trained.
#
# === BEGIN MARK SCHEME ===
# **3 points.** 1 point: capacity (what the network can represent) was sufficient all along; the improvement
# comes from finding better weights, not from a bigger or different model. 1 point: names at least one way
# training changes which weights are found (loss function / optimiser and schedule / regularisation such as
# dropout / augmentation or more data), with a reason, and refers to a result of this notebook (e.g. the
# near-zero training error with a higher test error, an ablation row with its interval, or the literal init
# that does not train). 1 point: the implication -- judge architectures only with comparable, well-tuned
# training (and seeds/intervals); a result reflects model + data + training together. Half a point off for
# claiming the network "grew" or that the 2 % comes from extra parameters.
# === END MARK SCHEME ===

# %% [markdown]
# ## Check your understanding
# 1. Why does H1 have 1,068 parameters but 19,968 connections?
# 2. Your run fits its training set almost perfectly but misses a few percent of the test digits. Is the network
#    too small?
# 3. You run two settings once each and get 3.6 % and 3.2 % on 500 test images. What can you conclude?
# 4. Why is `log(softmax(z))` a bad way to compute the cross-entropy, and what does PyTorch do instead?
# 5. Your training loss is flat from the first step. What do you plot next, and what would a tiny value mean?
#
# <details><summary>Answers</summary>
#
# 1. The 768 units of a map share 12 sets of 25 weights (300 parameters) plus one bias each (768): 1,068. Each
#    unit still has 25 weighted inputs and a bias: 768 × 26 = 19,968 connections.
# 2. No: it fits the training set almost perfectly, so capacity is not what limits it; its generalisation
#    (training recipe, amount of data) is.
# 3. Nothing yet: 0.4 points is two digits out of 500, well within the seed-to-seed spread. Repeat over seeds and
#    compare intervals.
# 4. It computes $e^{z}$, which overflows for large logits (inf/inf = nan). `F.cross_entropy` uses
#    `log_softmax`, i.e. the log-sum-exp trick with the maximum subtracted.
# 5. The gradient size per layer (e.g. the sum of absolute gradient entries). Tiny gradients mean no signal
#    reaches the weights (too-small initial weights, saturated or dead units, a detached graph); the network is
#    not "done".
# </details>
#
# ## Summary
# * The 1989 network: 16×16 input in $[-1, 1]$, H1 12×8×8 (5×5, stride 2), H2 12×4×4 reading 8 of 12 maps, 30
#   hidden, 10 outputs, tanh, ±1 targets with MSE, per-example SGD for 23 passes -- 1,256 units, 9,760
#   parameters, 64,660 connections if every window tap counts (51,232 counting only real inputs).
# * MSE is the negative log-likelihood of a Gaussian model, cross-entropy of a categorical one; the latter
#   trains classifiers faster and must be computed with log-sum-exp.
# * An ablation needs several seeds, intervals and a learning rate tuned per setting on validation data: one run of
#   one setting is not a measurement. Here all five modern changes together halve the 1989 recipe's error (about
#   2.8 % → 1.3 % on the offline digits); no single change is a clear win alone.
# * Practical tips: jagged loss → learning rate too high; flat loss → look at the gradients; minibatches beat
#   the full batch at equal compute; overfit a tiny subset first.
# * The same network improves with better training and more data: its capacity was never the limit.
#
# ## Further reading
# * Lecture: *Example: Deep Neural Nets: 33 years ago and 33 years from now*, *Example: Progress on ImageNet*;
#   midterm review: *Practical Tips*.
# * Y. LeCun, B. Boser, J. S. Denker, D. Henderson, R. E. Howard, W. Hubbard, L. D. Jackel, *Backpropagation
#   Applied to Handwritten Zip Code Recognition*, Neural Computation 1(4), 1989.
# * A. Karpathy, *Deep Neural Nets: 33 Years Ago and 33 Years from Now*, blog post, 2022 (and its repository
#   `karpathy/lecun1989-repro`).
# * Y. LeCun, L. Bottou, G. Orr, K.-R. Müller, *Efficient BackProp*, 1998 (initialisation, tanh, targets).
# * O. Russakovsky et al., *ImageNet Large Scale Visual Recognition Challenge*, IJCV 2015 (including the human
#   top-5 estimate).
# * I. Loshchilov and F. Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019 (AdamW).
