# ---
# jupyter:
#   course:
#     budget_s: 110
#     gpu: false
#     minutes: 110
#     title: 'Convolutions: arithmetic, parameter sharing, pooling and LeNet'
#     topics: convolution arithmetic (padding, stride, dilation), parameter sharing,
#       cross-correlation, pooling, translation equivariance, receptive fields, LeNet-5
#       against an MLP
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Convolutions: arithmetic, parameter sharing, pooling and LeNet
#
# **Time:** about 110 minutes · **Level:** after 00–03 · **Prerequisites:** tensors and `nn.Module` in PyTorch,
# training with `fit` (notebook 00), the cross-entropy loss; a little NumPy indexing.
#
# ## Learning objectives
# By the end of this notebook you can:
# 1. explain, with numbers for a real photo, why fully connected layers are a poor fit for images;
# 2. compute the output shape and parameter count of convolution and pooling layers as PyTorch does, say when the
#    kernel positions do not tile the input evenly, and check your arithmetic against PyTorch;
# 3. implement a convolution layer's forward pass and max pooling from scratch, and state precisely what
#    deep-learning "convolution" computes (cross-correlation);
# 4. show numerically that convolution is translation *equivariant* and a dense layer is not, and compute the
#    receptive field of a stack of layers;
# 5. walk through LeNet-5 layer by layer and train a LeNet-style network on handwritten digits, comparing it with
#    a fully connected network of the same size.

# %% [markdown]
# Everything runs on a laptop CPU in about a minute and a half, most of it for training two networks with three seeds
# in section 8 (`DEVICE` below switches to a GPU when there is
# one). Nothing is downloaded: the photo ships with matplotlib and the digits with scikit-learn.

# %%
# %matplotlib inline
from collections import OrderedDict

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils import checks
from course_utils.conv import (
    conv_arithmetic,
    conv_explorer,
    count_parameters,
    draw_receptive_field,
    layer_table,
    make_lenet,
    receptive_field_layout,
    translate,
)
from course_utils.data import load_digits, load_sample_image, train_val_test_split
from course_utils.mistakes import check_known_mistakes, matches
from course_utils.nets import make_mlp
from course_utils.plots import COLOR, plot_curves, use_style
from course_utils.reproducibility import device, pick, quiet_warnings, seed_everything
from course_utils.training import evaluate, fit

quiet_warnings()
use_style()
seed_everything(0)
DEVICE = device()

# %% [markdown]
# ## Recap: the convolutional layer
# A convolutional layer takes a volume $W_1 \times H_1 \times D_1$ (width, height, depth = channels) and has four
# hyperparameters: the number of filters $K$, the filter size $F$, the stride $S$ and the zero padding $P$ (added on
# **each** side). Each filter is small in width and height but spans the **full depth** $D_1$; it slides over the
# input and at every position computes a dot product plus a bias. Output:
#
# $$W_2 = \frac{W_1 - F + 2P}{S} + 1, \qquad H_2 = \frac{H_1 - F + 2P}{S} + 1, \qquad D_2 = K,$$
#
# and when the division leaves a remainder, code takes the whole part:
# $W_2 = \lfloor (W_1 - F + 2P)/S \rfloor + 1$ (below).
#
# with **parameter sharing**: $F \cdot F \cdot D_1$ weights per filter, so $F \cdot F \cdot D_1 \cdot K$ weights and
# $K$ biases in total, however large the image.
#
# **Pooling** has no parameters; it aggregates (usually the max of) each $F \times F$ window, per depth slice:
# $W_2 = (W_1 - F)/S + 1$, $H_2 = (H_1 - F)/S + 1$, $D_2 = D_1$.
#
# **Dilation** (an extension, not in the lecture): a kernel with $F$ taps spaced $D$ pixels apart spans
# $F_\text{eff} = D(F-1) + 1$ pixels; replace $F$ by $F_\text{eff}$ in the formula. It enlarges the receptive field
# without adding weights.
#
# **When is a setting invalid, and when is it only uneven?** It is *invalid* when an argument is out of range or the
# kernel does not fit into the padded input: there is no output at all. When $(W_1 - F + 2P)/S$ is not a whole
# number, the filter positions do not tile the input evenly. The lecture gives only the formula; PyTorch, like every
# framework, *rounds down*, $W_2 = \lfloor (W_1 - F + 2P)/S \rfloor + 1$, and silently never reads the last rows or
# columns. Treat that as a **warning** (you may be throwing away part of the image), not as an error: the first
# layer of every ResNet does it (section 2). Some course notes -- CS231n's, for one -- call such settings invalid
# and demand that the division be exact; that strict convention is stricter than what code computes. In this
# notebook the shape functions compute what PyTorch computes, and the explorer flags uneven tiling.
#
# **What is computed at one position -- and a correction to the lecture.** The lecture says the sliding dot product
# "effectively performs convolution". What `nn.Conv2d` (and every deep-learning library) computes is
# **cross-correlation**, the kernel is *not* flipped:
#
# $$\text{out}[k, i, j] = b_k + \sum_{c=1}^{D_1} \sum_{u=0}^{F-1} \sum_{v=0}^{F-1}
#    w[k, c, u, v] \; x_\text{pad}[c,\; iS + u,\; jS + v].$$
#
# Convolution in the mathematical sense uses $w[k, c, F-1-u, F-1-v]$, the kernel flipped in both directions. For a
# *learned* kernel the difference does not matter (the network would just learn the flipped kernel), which is why the
# name stuck; for a *given* kernel, such as an edge detector, it flips the result's sign or direction. We check
# this numerically below.

# %% [markdown]
# ## 1. Why fully connected layers fail on images
# The lecture names two problems: (1) every pixel is an input feature, so a dense layer needs a weight per pixel *per
# unit*; (2) those weights are tied to positions, so a pattern learned in one place is not recognised elsewhere.
#
# ### 🔮 Predict first
# The photo below is 600 × 512 pixels with 3 colour channels. A dense layer with 1000 units on top of it: how many
# weights? A convolutional layer with 64 filters of size 3 × 3? Write both numbers down (orders of magnitude are fine).

# %%
photo = load_sample_image("grace_hopper")             # (3, 600, 512), values in [0, 1]
n_inputs = photo.numel()
dense_params = n_inputs * 1000 + 1000                  # weights + biases
conv_params = 3 * 3 * 3 * 64 + 64                      # F*F*D1*K weights + K biases

fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [1, 1.4]})
ax_img.imshow(photo.permute(1, 2, 0))
ax_img.set(title=f"Grace Hopper, {photo.shape[1]}×{photo.shape[2]}×{photo.shape[0]} = {n_inputs:,} inputs")
ax_img.axis("off")
ax_bar.bar(["dense, 1000 units", "conv, 64 filters 3×3"], [dense_params, conv_params],
           color=[COLOR["vermillion"], COLOR["blue"]], label="parameters")
ax_bar.set_yscale("log")
ax_bar.set(title="parameters of one layer on this photo", ylabel="number of parameters (log scale)")
for i, v in enumerate([dense_params, conv_params]):
    ax_bar.text(i, v * 1.3, f"{v:,}", ha="center")
ax_bar.legend(loc="upper right")
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
print(f"inputs: {n_inputs:,}")
print(f"dense layer, 1000 units: {dense_params:,} parameters ({dense_params * 4 / 1e9:.1f} GB as float32)")
print(f"conv layer, 64 filters 3x3x3: {conv_params:,} parameters, the same for any image size")

# %% [markdown]
# **What to notice:** the dense layer needs almost a *billion* parameters (3.7 GB) for one layer on one modest photo;
# the convolutional layer needs 1,792, because each filter's 27 weights are shared across all 600 × 512 positions.
# The second problem, translation, gets its own experiment in section 5.

# %% [markdown]
# ## 2. The convolution explorer
# Move the sliders: input size $W_1$, kernel size $F$, padding $P$, stride $S$, dilation $D$. The left panel is the
# padded input (grey: padding; dashed: the original input); orange cells are the ones the kernel reads at its current
# position, and the output cell they produce is orange on the right. Press ▶ to step the kernel through every position
# in order. The kernel slider's maximum follows the padded input size (the kernel always fits), and the formula at the
# top has your numbers filled in. Settings where the positions do not tile the input are shown in red, with the cells
# no position ever reads hatched.
#
# ### 🔮 Predict first
# Input 7 × 7, kernel 3 × 3, no padding. How many output cells for stride 1? Stride 2? Stride 3 -- and which input
# cells does stride 3 never read? Then add padding 1 with stride 2, and try dilation 2 with stride 1: how large is the
# output, and why?

# %%
explorer = conv_explorer(W1=7, F=3, P=1, S=2, D=1)
explorer

# %% [markdown]
# The app keeps the numbers behind its picture in `explorer.state`, and `explorer.update(...)` moves its controls from code (that is how the tests drive it):

# %%
print("the app now:", explorer.state.values)
print("   ", explorer.state.data["arith"].message)
# explorer.update(W1=7, P=0, S=3) would move the sliders and redraw; conv_arithmetic gives the same numbers:
for stride in (1, 2, 3):
    print(f"P=0, S={stride}: {conv_arithmetic(7, 3, padding=0, stride=stride).message}")

# %%
# NBVAL_CHECK_OUTPUT
for W1, F_, P, S, D in [(32, 5, 0, 1, 1), (28, 5, 2, 1, 1), (7, 3, 1, 2, 1), (7, 3, 0, 3, 1), (9, 3, 0, 1, 2), (224, 7, 3, 2, 1)]:
    a = conv_arithmetic(W1, F_, P, S, D)
    print(f"W1={W1:3d} F={F_} P={P} S={S} D={D}: (W1 - F_eff + 2P)/S + 1 = {float(a.exact):6.2f}, PyTorch's W2 = "
          f"{a.size:3d}, tiles evenly: {a.valid}")


# %% [markdown]
# **What to notice:** with $P = (F-1)/2$ and $S = 1$ the output keeps the input size ("same" padding); each
# stride step divides the number of positions; a stride that does not tile the padded input leaves cells unread,
# which PyTorch handles by rounding down -- silently. The last row is the first layer of a ResNet on a 224 × 224
# image: $(224 - 7 + 6)/2 + 1 = 112.5$, so PyTorch gives 112, which is what every ResNet diagram shows.

# %% [markdown]
# ## 3. The arithmetic, as code
# The explorer computed the sizes for you; three exercises now turn the formulas into functions. Shapes are **channels first**, as in PyTorch:
# an input volume is `(D1, H1, W1)`. The hidden tests compare your functions with PyTorch on hundreds of random
# settings, and require a `ValueError` with a clear message for invalid ones.
#
# ### Exercise 1 -- output shape of a convolutional layer (3 points)
# Implement `conv_output_shape`: what PyTorch computes, $\lfloor (W_1 - F_\text{eff} + 2P)/S \rfloor + 1$ (and the same
# for $H$), with $F_\text{eff} = D(F-1)+1$ for the dilation $D$. Raise `ValueError` (with a message that says what is
# wrong) when a size, `num_filters`, `kernel_size`, `stride` or `dilation` is below 1 or `padding` is negative, or when
# the dilated kernel is larger than the padded input. Height and width can differ; the padding goes on both sides.
# When the positions do not tile the input evenly, return the rounded-down size (a strict answer that raises
# `ValueError` there instead, CS231n's convention, is accepted too).

# %% nbgrader={"grade": false, "grade_id": "conv_output_shape_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_output_shape(input_shape, num_filters, kernel_size, stride=1, padding=0, dilation=1):
    """Shape of the output volume of a 2-D convolutional layer with square kernels.

    Args:
        input_shape: (D1, H1, W1), positive ints: channels, height, width.
        num_filters: K, the number of filters (int >= 1).
        kernel_size: F (int >= 1); the kernel is F x F (x D1).
        stride: S (int >= 1), the same along height and width.
        padding: P (int >= 0) zeros added on each side (top and bottom, left and right).
        dilation: D (int >= 1); the kernel then spans D*(F-1)+1 pixels.
    Returns:
        A tuple of ints (D2, H2, W2) = (K, (H1 - F_eff + 2P) // S + 1, (W1 - F_eff + 2P) // S + 1).
    Raises:
        ValueError: an argument out of range, or a kernel larger than the padded input.
    """
    ### BEGIN SOLUTION
    D1, H1, W1 = input_shape
    if min(D1, H1, W1, num_filters, kernel_size, stride, dilation) < 1 or padding < 0:
        raise ValueError(f"sizes, num_filters, kernel_size, stride and dilation must be >= 1 and padding >= 0; "
                         f"got input_shape={input_shape}, K={num_filters}, F={kernel_size}, S={stride}, "
                         f"P={padding}, D={dilation}")
    span = dilation * (kernel_size - 1) + 1
    sizes = []
    for name, n in (("H1", H1), ("W1", W1)):
        free = n + 2 * padding - span
        if free < 0:
            raise ValueError(f"the kernel spans {span} pixels but the padded input has {name} + 2P = {n + 2 * padding}")
        sizes.append(free // stride + 1)  # rounded down when the positions do not tile the input evenly
    return (num_filters, sizes[0], sizes[1])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "conv_output_shape_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 1
def _floor_or_strict(fn, args, want, label, verbose=True):
    """Uneven tiling: accept PyTorch's rounded-down size, or a ValueError (the strict convention)."""
    try:
        got = checks.call(fn, *args, name=label)
    except checks.ExerciseError as err:
        if isinstance(err.__cause__, ValueError):
            if verbose:
                print(f"{label} raises ValueError (the strict convention; accepted)")
            return
        raise
    checks.check_equal(got, want, label + " (rounded down, as PyTorch does)", verbose=verbose)


checks.check_equal(checks.call(conv_output_shape, (1, 32, 32), 6, 5), (6, 28, 28), "conv_output_shape((1, 32, 32), 6, 5)")
checks.check_equal(checks.call(conv_output_shape, (6, 14, 14), 16, 5), (16, 10, 10), "conv_output_shape((6, 14, 14), 16, 5)")
checks.check_equal(checks.call(conv_output_shape, (3, 7, 7), 2, 3, 2, 1), (2, 4, 4),
                   "conv_output_shape((3, 7, 7), 2, 3, stride=2, padding=1)")
checks.check_equal(checks.call(conv_output_shape, (3, 9, 5), 4, 3, 1, 0, 2), (4, 5, 1),
                   "conv_output_shape((3, 9, 5), 4, 3, dilation=2)")
_floor_or_strict(conv_output_shape, ((1, 7, 7), 1, 3, 3), (1, 2, 2),
                 "conv_output_shape((1, 7, 7), 1, 3, stride=3), where (7 - 3)/3 + 1 = 2.33,")
checks.check_raises(conv_output_shape, ((1, 4, 4), 1, 7), ValueError,
                    name="conv_output_shape((1, 4, 4), 1, 7), a 7x7 kernel on a 4x4 input,")
### BEGIN HIDDEN TESTS
import random as _random

_rng = _random.Random(4)
_valid, _invalid = [], []
while len(_valid) < 300 or len(_invalid) < 100:
    _shape = (_rng.randint(1, 4), _rng.randint(1, 40), _rng.randint(1, 40))
    _K, _F, _S, _P, _D = _rng.randint(1, 8), _rng.randint(1, 7), _rng.randint(1, 4), _rng.randint(0, 3), _rng.choice([1, 1, 1, 2, 3])
    _span = _D * (_F - 1) + 1
    _fits = all(n + 2 * _P >= _span for n in _shape[1:])
    _tiles = _fits and all((n + 2 * _P - _span) % _S == 0 for n in _shape[1:])
    if _tiles and len(_valid) < 300:
        _valid.append((_shape, _K, _F, _S, _P, _D))
    elif _fits and not _tiles and len(_invalid) < 100:
        _invalid.append((_shape, _K, _F, _S, _P, _D))
for _shape, _K, _F, _S, _P, _D in _invalid:  # uneven tiling: rounded down, or a ValueError (strict)
    _x = torch.empty(1, *_shape, device="meta")
    _w = torch.empty(_K, _shape[0], _F, _F, device="meta")
    _want = tuple(F.conv2d(_x, _w, stride=_S, padding=_P, dilation=_D).shape[1:])
    _floor_or_strict(conv_output_shape, (_shape, _K, _F, _S, _P, _D), _want,
                     f"conv_output_shape({_shape}, {_K}, {_F}, stride={_S}, padding={_P}, dilation={_D})", verbose=False)
_invalid = []
for _shape, _K, _F, _S, _P, _D in _valid:
    _x = torch.empty(1, *_shape, device="meta")
    _w = torch.empty(_K, _shape[0], _F, _F, device="meta")
    _want = tuple(F.conv2d(_x, _w, stride=_S, padding=_P, dilation=_D).shape[1:])
    _label = f"conv_output_shape({_shape}, {_K}, {_F}, stride={_S}, padding={_P}, dilation={_D})"
    checks.check_equal(checks.call(conv_output_shape, _shape, _K, _F, _S, _P, _D, name=_label), _want, _label,
                       verbose=False)
_invalid += [((1, 4, 4), 1, 7, 1, 1, 1), ((1, 9, 9), 1, 3, 1, 0, 5), ((2, 8, 3), 1, 5, 1, 0, 1), ((1, 3, 20), 1, 3, 2, 0, 2),
             ((1, 8, 8), 1, 3, 0, 1, 1), ((1, 8, 8), 1, 3, 1, -1, 1), ((1, 8, 8), 0, 3, 1, 1, 1),
             ((1, 8, 8), 1, 0, 1, 1, 1), ((1, 8, 8), 1, 3, 1, 1, 0), ((0, 8, 8), 1, 3, 1, 1, 1)]
for _args in _invalid:
    checks.check_raises(conv_output_shape, _args, ValueError,
                        name=f"conv_output_shape{_args} (an invalid setting)", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 -- parameter count of a convolutional layer (2 points)
# Implement `conv_param_count`: all weights and biases of a layer with `num_filters` filters of size
# `kernel_size × kernel_size` over `in_channels` input channels. Raise `ValueError` when an argument is below 1.
# (Two classic slips the hidden tests look for: forgetting that each filter spans the full input depth, and
# forgetting the biases.)

# %% nbgrader={"grade": false, "grade_id": "conv_param_count_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_param_count(in_channels, num_filters, kernel_size, bias=True):
    """Number of learnable parameters of nn.Conv2d(in_channels, num_filters, kernel_size, bias=bias).

    Args:
        in_channels: D1 (int >= 1).
        num_filters: K (int >= 1).
        kernel_size: F (int >= 1), square kernels.
        bias: whether each filter has a bias.
    Returns:
        An int: F*F*D1*K weights, plus K biases if ``bias``.
    Raises:
        ValueError: an argument below 1.
    """
    ### BEGIN SOLUTION
    if min(in_channels, num_filters, kernel_size) < 1:
        raise ValueError(f"in_channels, num_filters and kernel_size must be >= 1, "
                         f"got {in_channels}, {num_filters}, {kernel_size}")
    return kernel_size * kernel_size * in_channels * num_filters + (num_filters if bias else 0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "conv_param_count_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 2
checks.check_equal(checks.call(conv_param_count, 1, 6, 5), 156, "conv_param_count(1, 6, 5) (LeNet's C1)")
checks.check_equal(checks.call(conv_param_count, 3, 64, 3), 1792, "conv_param_count(3, 64, 3)")
checks.check_equal(checks.call(conv_param_count, 3, 64, 3, False), 1728, "conv_param_count(3, 64, 3, bias=False)")
checks.check_raises(conv_param_count, (0, 6, 5), ValueError, name="conv_param_count(0, 6, 5)")
### BEGIN HIDDEN TESTS
import random as _random

_rng = _random.Random(5)
for _ in range(300):
    _D1, _K, _F, _bias = _rng.randint(1, 64), _rng.randint(1, 64), _rng.randint(1, 7), _rng.random() < 0.7
    _want = sum(p.numel() for p in nn.Conv2d(_D1, _K, _F, bias=_bias, device="meta").parameters())
    _label = f"conv_param_count({_D1}, {_K}, {_F}, bias={_bias})"
    _got = checks.call(conv_param_count, _D1, _K, _F, _bias, name=_label)
    if _bias and _got == _want - _K:
        raise checks.ExerciseError(f"{_label} is {_got}, expected {_want}: you forgot the {_K} biases (one per filter).")
    if _D1 > 1 and _got in (_F * _F * _K + _K * _bias, _F * _F * _K):
        raise checks.ExerciseError(f"{_label} is {_got}, expected {_want}: each filter spans all {_D1} input channels.")
    checks.check_equal(_got, _want, _label, verbose=False)
for _args in [(0, 1, 1), (1, 0, 1), (1, 1, 0), (-3, 4, 3)]:
    checks.check_raises(conv_param_count, _args, ValueError, name=f"conv_param_count{_args}", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3 -- output shape of a pooling layer (2 points)
# Implement `pool_output_shape` for max (or average) pooling without padding, as PyTorch computes it:
# $W_2 = \lfloor (W_1 - F)/S \rfloor + 1$, the same for $H$, and the depth is unchanged. As in PyTorch, `stride=None`
# means "stride equal to the kernel size". Raise `ValueError` when an argument is below 1 or the window is larger than
# the input. (As in Exercise 1, a strict answer that also raises `ValueError` when the windows do not tile the input
# evenly is accepted.)

# %% nbgrader={"grade": false, "grade_id": "pool_output_shape_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pool_output_shape(input_shape, kernel_size, stride=None):
    """Shape of the output of a 2-D pooling layer (no padding, square windows).

    Args:
        input_shape: (D1, H1, W1), positive ints.
        kernel_size: F (int >= 1).
        stride: S (int >= 1), or None for S = F.
    Returns:
        A tuple of ints (D1, (H1 - F) // S + 1, (W1 - F) // S + 1).
    Raises:
        ValueError: an argument below 1, or a window larger than the input.
    """
    ### BEGIN SOLUTION
    stride = kernel_size if stride is None else stride
    D1, H1, W1 = input_shape
    if min(D1, H1, W1, kernel_size, stride) < 1:
        raise ValueError(f"sizes, kernel_size and stride must be >= 1, got {input_shape}, F={kernel_size}, S={stride}")
    sizes = []
    for name, n in (("H1", H1), ("W1", W1)):
        if kernel_size > n:
            raise ValueError(f"the {kernel_size}x{kernel_size} window is larger than {name} = {n}")
        sizes.append((n - kernel_size) // stride + 1)
    return (D1, sizes[0], sizes[1])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "pool_output_shape_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 3
checks.check_equal(checks.call(pool_output_shape, (6, 28, 28), 2), (6, 14, 14), "pool_output_shape((6, 28, 28), 2)")
checks.check_equal(checks.call(pool_output_shape, (16, 7, 9), 3, 2), (16, 3, 4), "pool_output_shape((16, 7, 9), 3, stride=2)")
_floor_or_strict(pool_output_shape, ((1, 7, 7), 2), (1, 3, 3),
                 "pool_output_shape((1, 7, 7), 2), where (7 - 2)/2 + 1 = 3.5,")
checks.check_raises(pool_output_shape, ((1, 3, 8), 4), ValueError,
                    name="pool_output_shape((1, 3, 8), 4), a 4x4 window on a 3x8 input,")
### BEGIN HIDDEN TESTS
import random as _random

_rng = _random.Random(6)
_valid, _invalid = [], []
while len(_valid) < 300 or len(_invalid) < 100:
    _shape = (_rng.randint(1, 64), _rng.randint(1, 40), _rng.randint(1, 40))
    _F, _S = _rng.randint(1, 5), _rng.choice([None, None, 1, 2, 3])
    _s = _F if _S is None else _S
    _fits = all(n >= _F for n in _shape[1:])
    _tiles = _fits and all((n - _F) % _s == 0 for n in _shape[1:])
    if _tiles and len(_valid) < 300:
        _valid.append((_shape, _F, _S))
    elif _fits and not _tiles and len(_invalid) < 100:
        _invalid.append((_shape, _F, _S))
for _shape, _F, _S in _invalid:  # uneven tiling: rounded down, or a ValueError (strict)
    _want = tuple(F.max_pool2d(torch.empty(1, *_shape, device="meta"), _F, _S).shape[1:])
    _floor_or_strict(pool_output_shape, (_shape, _F, _S), _want, f"pool_output_shape({_shape}, {_F}, stride={_S})",
                     verbose=False)
_invalid = []
for _shape, _F, _S in _valid:
    _want = tuple(F.max_pool2d(torch.empty(1, *_shape, device="meta"), _F, _S).shape[1:])
    _label = f"pool_output_shape({_shape}, {_F}, stride={_S})"
    checks.check_equal(checks.call(pool_output_shape, _shape, _F, _S, name=_label), _want, _label, verbose=False)
_invalid += [((1, 3, 8), 4, 1), ((1, 8, 5), 6, None), ((1, 8, 8), 0, 1), ((1, 8, 8), 2, 0), ((0, 8, 8), 2, 2)]
for _args in _invalid:
    checks.check_raises(pool_output_shape, _args, ValueError, name=f"pool_output_shape{_args} (an invalid setting)",
                        verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Convolution, from scratch
# ### Exercise 4 -- a naive `conv2d` forward pass (4 points)
# Implement the forward pass of a convolutional layer with loops over the output positions: a batch of multi-channel
# images, several filters, stride, zero padding on all four sides, and an optional bias. It must match
# `torch.nn.functional.conv2d` (which computes **cross-correlation**: do not flip the kernel). Positions that do not fit
# are dropped, as in PyTorch: $H_2 = \lfloor (H + 2P - F)/S \rfloor + 1$. Return a tensor of `x`'s dtype, computed in that dtype (the tests use
# float64; `torch.zeros` makes float32 unless you pass `dtype=x.dtype`). Raise `ValueError` if `x` and `weight` have
# different numbers of channels. Use only tensor operations you know (`torch.zeros`, slicing, `*`, `.sum`), not
# `F.conv2d`, `F.unfold` or `nn.Conv2d`. Hint: `F.pad` (or writing `x` into the middle of a zero tensor) does the padding;
# one loop over output rows and one over columns, each doing a whole `(N, C, F, F)` window against all `K` filters at once,
# is fast enough.

# %% nbgrader={"grade": false, "grade_id": "conv2d_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D cross-correlation, as computed by torch.nn.functional.conv2d.

    Args:
        x: tensor (N, C, H, W), a batch of N images with C channels.
        weight: tensor (K, C, FH, FW), K filters spanning all C channels.
        bias: tensor (K,) or None.
        stride: int >= 1, the same along height and width.
        padding: int >= 0 zeros added on every side.
    Returns:
        Tensor (N, K, H2, W2) with H2 = (H + 2P - FH) // S + 1 and W2 = (W + 2P - FW) // S + 1, of x's dtype:
        out[n, k, i, j] = bias[k] + sum_{c,u,v} weight[k, c, u, v] * x_padded[n, c, i*S + u, j*S + v].
    Raises:
        ValueError: x and weight have different numbers of channels.
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    K, C_w, FH, FW = weight.shape
    if C != C_w:
        raise ValueError(f"x has {C} channels but the filters span {C_w}")
    xp = F.pad(x, (padding, padding, padding, padding))
    H2 = (H + 2 * padding - FH) // stride + 1
    W2 = (W + 2 * padding - FW) // stride + 1
    out = torch.zeros(N, K, H2, W2, dtype=x.dtype, device=x.device)
    for i in range(H2):
        for j in range(W2):
            window = xp[:, :, i * stride:i * stride + FH, j * stride:j * stride + FW]  # (N, C, FH, FW)
            out[:, :, i, j] = (window.unsqueeze(1) * weight.unsqueeze(0)).sum(dim=(2, 3, 4))
    if bias is not None:
        out = out + bias.view(1, K, 1, 1)
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "conv2d_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 4
def _conv2d_mistake(got, x, w, b, stride, padding):
    """Raise a pointed message when `got` is what a classic wrong conv2d returns."""
    p = padding
    mistakes = {"flip the kernel. That is convolution in the maths sense; conv2d computes cross-correlation, "
                "with w[k, c, u, v] multiplying x_padded[c, i*S + u, j*S + v]":
                    lambda: F.conv2d(x, w.flip(-1, -2), b, stride=stride, padding=p),
                "ignore the stride": lambda: F.conv2d(x, w, b, stride=1, padding=p),
                "forget to add the bias": lambda: F.conv2d(x, w, None, stride=stride, padding=p),
                "pad one side only (P zeros go on the top AND the bottom, the left AND the right)":
                    lambda: F.conv2d(F.pad(x, (p, 0, p, 0)), w, b, stride=stride),
                "pad the bottom and right only (P zeros go on every side)":
                    lambda: F.conv2d(F.pad(x, (0, p, 0, p)), w, b, stride=stride),
                "ignore the padding": lambda: F.conv2d(x, w, b, stride=stride)}
    name = f"conv2d(x {tuple(x.shape)}, weight {tuple(w.shape)}, stride={stride}, padding={padding})"
    right = F.conv2d(x, w, b, stride=stride, padding=p)
    if isinstance(got, torch.Tensor) and got.dtype != x.dtype:
        raise checks.ExerciseError(f"{name} returns {got.dtype} for {x.dtype} input: create the output with "
                                   "dtype=x.dtype (torch.zeros(...) is float32 unless you pass a dtype).")
    if x.dtype == torch.float64 and not matches(got, right, 1e-6, 1e-9) and matches(got, right, 1e-3, 1e-5):
        raise checks.ExerciseError(f"{name} agrees with F.conv2d only to float32 precision: you computed in float32 "
                                   "(x.float(), or a float32 buffer). Keep the input's dtype, float64 here.")
    check_known_mistakes(got, right, mistakes, name)


_g = torch.Generator().manual_seed(0)
_x = torch.randn(2, 3, 7, 6, generator=_g, dtype=torch.float64)
_w = torch.randn(4, 3, 3, 3, generator=_g, dtype=torch.float64)
_b = torch.randn(4, generator=_g, dtype=torch.float64)
for _stride, _padding in [(1, 0), (2, 1)]:
    _label = f"conv2d(x (2, 3, 7, 6), weight (4, 3, 3, 3), bias, stride={_stride}, padding={_padding})"
    _got = checks.call(conv2d, _x, _w, _b, stride=_stride, padding=_padding, name=_label)
    _conv2d_mistake(_got, _x, _w, _b, _stride, _padding)
    checks.check_close(_got, F.conv2d(_x, _w, _b, stride=_stride, padding=_padding), _label, rtol=1e-6, atol=1e-9)
checks.check_raises(conv2d, (_x, _w[:, :2], _b), ValueError, name="conv2d with 3-channel x and 2-channel filters")
### BEGIN HIDDEN TESTS
import random as _random

_rng = _random.Random(7)
for _trial in range(25):
    _N, _C, _K = _rng.randint(1, 2), _rng.randint(1, 3), _rng.randint(1, 3)
    _H, _W, _F = _rng.randint(3, 9), _rng.randint(3, 9), _rng.randint(1, 4)
    _stride, _padding = _rng.randint(1, 3), _rng.randint(0, 2)
    if _F > min(_H, _W) + 2 * _padding:
        continue
    _x = torch.randn(_N, _C, _H, _W, generator=_g, dtype=torch.float64)
    _w = torch.randn(_K, _C, _F, _F, generator=_g, dtype=torch.float64)
    _b = None if _trial % 4 == 0 else torch.randn(_K, generator=_g, dtype=torch.float64)
    _label = (f"conv2d(x {tuple(_x.shape)}, weight {tuple(_w.shape)}, bias {'None' if _b is None else 'given'}, "
              f"stride={_stride}, padding={_padding})")
    _got = checks.call(conv2d, _x, _w, _b, stride=_stride, padding=_padding, name=_label)
    _conv2d_mistake(_got, _x, _w, _b, _stride, _padding)
    checks.check_close(_got, F.conv2d(_x, _w, _b, stride=_stride, padding=_padding), _label, rtol=1e-6, atol=1e-9,
                       verbose=False)
_x32 = torch.randn(1, 2, 5, 5, generator=_g)
_w32 = torch.randn(3, 2, 2, 3, generator=_g)
_got = checks.call(conv2d, _x32, _w32, None, stride=1, padding=1, name="conv2d with a 2x3 kernel in float32")
checks.check_close(_got, F.conv2d(_x32, _w32, None, padding=1), "conv2d with a 2x3 kernel in float32",
                   rtol=1e-4, atol=1e-5, verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Cross-correlation or convolution? Check it.
# SciPy has both operations: `scipy.signal.correlate2d` (no flip) and `scipy.signal.convolve2d` (kernel flipped). Which
# one does `F.conv2d` agree with? We use an asymmetric kernel, because for a kernel that equals its own 180° rotation
# (a box blur, a Gaussian) the two are the same.
#
# ### 🔮 Predict first
# Which of the three comparisons below print `True`?

# %%
# NBVAL_CHECK_OUTPUT
from scipy import signal

image = load_sample_image("grace_hopper", size=64, gray=True)[0].double()     # (64, 64)
kernel = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]], dtype=torch.float64)  # Sobel-x
torch_out = F.conv2d(image[None, None], kernel[None, None])[0, 0].numpy()
print("F.conv2d == correlate2d:                 ", np.allclose(torch_out, signal.correlate2d(image.numpy(), kernel.numpy(), mode="valid")))
print("F.conv2d == convolve2d:                  ", np.allclose(torch_out, signal.convolve2d(image.numpy(), kernel.numpy(), mode="valid")))
print("F.conv2d == convolve2d of flipped kernel:", np.allclose(torch_out, signal.convolve2d(image.numpy(), kernel.flip(0, 1).numpy(), mode="valid")))

# %% [markdown]
# **What to notice:** PyTorch's "convolution" is cross-correlation; true convolution with this kernel gives the
# *negated* edge map. For learned filters the name is harmless, but when you copy a textbook kernel (or compare with
# `scipy.signal.convolve2d`) the flip matters.

# %% [markdown]
# ### Filters on a real image
# Hand-made kernels show what a single filter can detect. Each panel is `F.conv2d` of the grey-scale photo with one
# 3 × 3 to 9 × 9 kernel (padding keeps the size).
#
# ### 🔮 Predict first
# The Sobel-x kernel above weighs the left column $+1, +2, +1$ and the right column $-1, -2, -1$. Where will its output be
# large: on vertical edges, on horizontal edges, or on flat regions? And what sign does a dark-to-bright edge (left to
# right) get?

# %%
gray = load_sample_image("grace_hopper", size=(240, 205), gray=True)        # (1, 240, 205)
gauss = torch.exp(-torch.arange(-4, 5.0) ** 2 / (2 * 2.0 ** 2))
filters = {
    "Sobel-x (vertical edges)": kernel.float(),
    "Sobel-y (horizontal edges)": kernel.float().T,
    "box blur 5×5": torch.full((5, 5), 1 / 25),
    "Gaussian blur σ=2, 9×9": torch.outer(gauss, gauss) / torch.outer(gauss, gauss).sum(),
    "Laplacian (edges, all directions)": torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
}
fig, axes = plt.subplots(2, 3, figsize=(9, 6.6))
axes = axes.ravel()
axes[0].imshow(gray[0], cmap="gray")
axes[0].set_title("input (grey scale)")
for ax, (name, k) in zip(axes[1:], filters.items()):
    out = F.conv2d(gray[None], k[None, None], padding=k.shape[-1] // 2)[0, 0]
    if "blur" in name:
        ax.imshow(out, cmap="gray")
    else:
        limit = float(out.abs().quantile(0.99))
        im = ax.imshow(out, cmap="PuOr", vmin=-limit, vmax=limit)
        fig.colorbar(im, ax=ax, shrink=0.7, label="filter response")
    ax.set_title(name)
for ax in axes:
    ax.axis("off")
fig.suptitle("one filter, applied at every position of the photo")
plt.show()

# %% [markdown]
# **What to notice:** the same 9 (or 25, or 81) shared weights, applied everywhere, pick out vertical edges, horizontal
# edges or smooth the image; a dark-to-bright step from left to right gives a *negative* Sobel-x response here
# (cross-correlation: the left column has the + weights). A CNN's first layer learns kernels like these from data -- we
# will look at some in section 8.

# %% [markdown]
# ## 5. Translation equivariance
# The review lecture states it as $f(t(x)) = t(f(x))$: shifting the input and then convolving gives the same as
# convolving and then shifting the output. A dense layer has no such property: its weights belong to positions.
#
# ### 🔮 Predict first
# We shift a 32 × 32 image 3 pixels down and 2 left. For a random convolution and a random dense layer (1024 → 1024, its
# output viewed as a 32 × 32 map), how large is $\lVert f(t(x)) - t(f(x)) \rVert$ relative to $\lVert f(x) \rVert$?
# Exactly 0, small, or large? Where in the image could the convolution's error be non-zero?

# %%
seed_everything(1)
x32 = load_sample_image("grace_hopper", size=32, gray=True)[None]           # (1, 1, 32, 32)
shift = lambda z: translate(z, 3, -2)                                       # t: 3 down, 2 left, zeros shifted in
conv_layer = nn.Conv2d(1, 1, 5, padding=2, bias=False)
dense_layer = nn.Linear(32 * 32, 32 * 32, bias=False)
dense = lambda z: dense_layer(z.flatten(1)).view(-1, 1, 32, 32)
border = 5                                                                  # ignore 5 px at the edges

results = {}
with torch.no_grad():
    for name, f in {"convolution": conv_layer, "dense layer": dense}.items():
        a, b = f(shift(x32)), shift(f(x32))
        inner = (slice(None), slice(None), slice(border, -border), slice(border, -border))
        results[name] = (a, b, float((a - b)[inner].norm() / b[inner].norm()))

fig, axes = plt.subplots(2, 3, figsize=(10, 6.6))
for row, (name, (a, b, rel)) in zip(axes, results.items()):
    for ax, img, title in zip(row, [a, b, a - b], ["f(t(x))", "t(f(x))", "difference"]):
        ax.imshow(img[0, 0], cmap="gray")
        ax.set_title(f"{name}: {title}")
        ax.axis("off")
    row[2].set_title(f"{name}: difference\n(relative, inside: {rel:.1e})")
fig.suptitle("shift then layer, or layer then shift?")
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
for name, (a, b, rel) in results.items():
    print(f"{name:12s} equivariant inside the border: {rel < 1e-5}")
print("convolution differs near the border:", bool((results["convolution"][0] - results["convolution"][1]).abs().max() > 1e-4))


# %% [markdown]
# **What to notice:** away from the border the convolution's difference is zero up to rounding -- the same filter
# is applied at every position, so moving the input moves the output. Near the border it is not exact: zero padding
# and pixels shifted in or out break the symmetry (with circular padding and a circular shift it would be exact
# everywhere). The dense layer's output changes completely. Max pooling adds only a little *invariance*: a shift by a
# multiple of the pool stride moves its output by one cell, other shifts change it.

# %% [markdown]
# ### Exercise 5 -- max pooling (2 points)
# Implement `max_pool2d`: for each image and **each channel separately**, the maximum over every `kernel_size ×
# kernel_size` window, moving by `stride` (default: `kernel_size`). No padding; windows that do not fit are dropped
# as in PyTorch. Watch out: the inputs may be negative.

# %% nbgrader={"grade": false, "grade_id": "max_pool2d_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_pool2d(x, kernel_size, stride=None):
    """Max pooling, as torch.nn.functional.max_pool2d(x, kernel_size, stride).

    Args:
        x: tensor (N, C, H, W).
        kernel_size: F (int >= 1), square windows.
        stride: S (int >= 1), or None for S = F.
    Returns:
        Tensor (N, C, H2, W2) with H2 = (H - F) // S + 1 and W2 = (W - F) // S + 1:
        out[n, c, i, j] = max over u, v < F of x[n, c, i*S + u, j*S + v].
    """
    ### BEGIN SOLUTION
    stride = kernel_size if stride is None else stride
    N, C, H, W = x.shape
    H2 = (H - kernel_size) // stride + 1
    W2 = (W - kernel_size) // stride + 1
    out = torch.empty(N, C, H2, W2, dtype=x.dtype, device=x.device)
    for i in range(H2):
        for j in range(W2):
            window = x[:, :, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size]
            out[:, :, i, j] = window.amax(dim=(2, 3))
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "max_pool2d_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 5
def _pool_mistake(got, x, k, s):
    """Raise a pointed message when `got` is what a classic wrong max_pool2d returns."""
    right = F.max_pool2d(x, k, s)
    check_known_mistakes(got, right, {
        "average instead of taking the maximum": F.avg_pool2d(x, k, s),
        "take the maximum over the channels too (pool each channel separately)":
            right.amax(dim=1, keepdim=True).expand(-1, x.shape[1], -1, -1),
        "start from 0 instead of the first value (the inputs can be negative)": right.clamp(min=0),
    }, f"max_pool2d(x {tuple(x.shape)}, {k}, stride={s})", rtol=1e-5, atol=1e-7)


_x = torch.tensor([[[[1.0, 2.0, -1.0, 0.0], [3.0, 4.0, -5.0, -2.0], [0.0, 0.0, 7.0, 1.0], [-1.0, 9.0, 2.0, 2.0]]]])
_got = checks.call(max_pool2d, _x, 2, name="max_pool2d(4x4 example, 2)")
_pool_mistake(_got, _x, 2, None)
checks.check_close(_got, [[[[4.0, 0.0], [9.0, 7.0]]]], "max_pool2d(4x4 example, 2)")
_g = torch.Generator().manual_seed(1)
_x = torch.randn(2, 3, 7, 7, generator=_g) - 1.0
_got = checks.call(max_pool2d, _x, 3, 2, name="max_pool2d(x (2, 3, 7, 7), 3, stride=2)")
_pool_mistake(_got, _x, 3, 2)
checks.check_close(_got, F.max_pool2d(_x, 3, 2), "max_pool2d(x (2, 3, 7, 7), 3, stride=2)")
### BEGIN HIDDEN TESTS
import random as _random

_rng = _random.Random(8)
for _ in range(30):
    _N, _C, _H, _W = _rng.randint(1, 3), _rng.randint(1, 4), _rng.randint(2, 11), _rng.randint(2, 11)
    _F = _rng.randint(1, min(_H, _W, 4))
    _S = _rng.choice([None, 1, 2, 3])
    _x = torch.randn(_N, _C, _H, _W, generator=_g, dtype=torch.float64) - 2.0
    _label = f"max_pool2d(x {tuple(_x.shape)}, {_F}, stride={_S})"
    _got = checks.call(max_pool2d, _x, _F, _S, name=_label)
    _pool_mistake(_got, _x, _F, _S)
    checks.check_close(_got, F.max_pool2d(_x, _F, _S), _label, verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Receptive fields
# A unit in layer $L$ depends on a window of the input: its **receptive field**. One 3 × 3 convolution sees 3 × 3 pixels;
# a unit on top of it sees 3 × 3 units, each 3 × 3 pixels wide and overlapping, so 5 × 5 pixels. Every layer with
# kernel $F_l$ adds $F_l - 1$ of *its input's* units, and a unit in layer $l-1$ is $\prod_{m<l} S_m$ input pixels away
# from its neighbour (the "jump"):
#
# $$r_L = 1 + \sum_{l=1}^{L} (F_l - 1) \prod_{m=1}^{l-1} S_m .$$
#
# Pooling counts as a layer ($F = S = 2$ for 2 × 2 pooling). With dilation, $F_l$ becomes $F_\text{eff}$.
#
# ### Exercise 6 -- receptive field of a stack (2 points)
# Implement `receptive_field(layers)` for a list of `(kernel_size, stride)` pairs, input side first. It returns the
# width of the receptive field in input pixels (an int; the field is that many pixels squared in 2-D). An empty stack
# returns 1: a pixel sees itself.

# %% nbgrader={"grade": false, "grade_id": "receptive_field_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def receptive_field(layers):
    """Receptive field of one unit on top of a stack of convolution / pooling layers.

    Args:
        layers: list of (kernel_size, stride) pairs of ints >= 1, input side first.
    Returns:
        An int r: one unit of the last layer depends on r x r input pixels.
    """
    ### BEGIN SOLUTION
    r, jump = 1, 1
    for kernel_size, stride in layers:
        r += (kernel_size - 1) * jump
        jump *= stride
    return r
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "receptive_field_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 6
checks.check_equal(checks.call(receptive_field, [(3, 1)]), 3, "receptive_field([(3, 1)])")
checks.check_equal(checks.call(receptive_field, [(3, 1), (3, 1)]), 5, "receptive_field([(3, 1), (3, 1)])")
checks.check_equal(checks.call(receptive_field, [(3, 2), (3, 2), (3, 2)]), 15, "receptive_field([(3, 2)] * 3)")
checks.check_equal(checks.call(receptive_field, [(5, 1), (2, 2), (5, 1), (2, 2)]), 16,
                   "receptive_field of LeNet's C1, S2, C3, S4")
### BEGIN HIDDEN TESTS
import math as _math
import random as _random

_rng = _random.Random(9)
checks.check_equal(checks.call(receptive_field, []), 1, "receptive_field([])", verbose=False)
for _ in range(200):
    _layers = [(_rng.randint(1, 7), _rng.randint(1, 3)) for _ in range(_rng.randint(1, 6))]
    _want = 1 + sum((k - 1) * _math.prod(s for _, s in _layers[:i]) for i, (k, _) in enumerate(_layers))
    _got = checks.call(receptive_field, list(_layers), name=f"receptive_field({_layers})")
    _own = 1 + sum((k - 1) * _math.prod(s for _, s in _layers[:i + 1]) for i, (k, _) in enumerate(_layers))
    if _got == 1 + sum(k - 1 for k, _ in _layers) and _got != _want:
        raise checks.ExerciseError(f"receptive_field({_layers}) is {_got}, expected {_want}: the strides of the layers "
                                   f"below spread each step apart, multiply (F - 1) by the product of earlier strides.")
    if _got == _own and _got != _want:
        raise checks.ExerciseError(f"receptive_field({_layers}) is {_got}, expected {_want}: a layer's own stride "
                                   f"only affects the layers above it.")
    checks.check_equal(_got, _want, f"receptive_field({_layers})", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Receptive fields, drawn and measured
# The drawing follows one unit at the top down to the input (1-D; in 2-D the field is a square). Then we *measure* the
# field: backpropagate from one output unit of a real stack of PyTorch layers and count the input pixels whose
# gradient is non-zero. The demo uses `course_utils.conv.receptive_field_layout`, not your function, so it works
# whatever state your exercise is in.
#
# ### 🔮 Predict first
# Three 3 × 3 convolutions, or one 7 × 7: same receptive field? And how much does a 2 × 2 max pool in the middle of the
# stack add?

# %%
stacks = {
    "three 3×3 convs": [(3, 1), (3, 1), (3, 1)],
    "3×3, 3×3, pool 2, 3×3": [(3, 1), (3, 1), (2, 2), (3, 1)],
}
fig, axes = plt.subplots(2, 1, figsize=(9, 7.5))
for ax, (name, stack) in zip(axes, stacks.items()):
    draw_receptive_field(stack, names=[f"{'pool' if s == 2 else 'conv'} {k}×{k}" for k, s in stack], ax=ax)
    ax.set_title(f"{name}: " + ax.get_title())
plt.show()


def measured_receptive_field(stack, size=40):
    """Width of the input region that one central output unit of a real conv/pool stack depends on."""
    layers = [nn.AvgPool2d(k, s) if s > 1 else nn.Conv2d(1, 1, k) for k, s in stack]
    for layer in layers:
        if isinstance(layer, nn.Conv2d):
            nn.init.constant_(layer.weight, 1.0)
    x = torch.rand(1, 1, size, size, requires_grad=True)
    out = nn.Sequential(*layers)(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    cols = x.grad[0, 0].abs().sum(dim=0).nonzero()
    return int(cols.max() - cols.min() + 1)


# %%
# NBVAL_CHECK_OUTPUT
for name, stack in {**stacks, "one 7×7 conv": [(7, 1)], "LeNet C1-S4": [(5, 1), (2, 2), (5, 1), (2, 2)]}.items():
    formula = receptive_field_layout(stack)["receptive_field"]
    print(f"{name:24s} formula {formula:2d}, measured by backprop {measured_receptive_field(stack):2d}")

# %% [markdown]
# **What to notice:** three 3 × 3 layers see 7 × 7 pixels, like one 7 × 7 layer, with $3 \cdot 9 = 27$ instead of 49
# weights per channel pair and two more non-linearities -- the reason modern networks stack small kernels. A 2 × 2 pool
# doubles the jump, so every layer after it grows the field twice as fast.
# (The measurement uses unit weights and *average* pooling: max pooling passes the gradient only to the largest value
# of each window, so backprop through it would show which pixels won, not which ones the unit can depend on.)

# %% [markdown]
# ## 7. LeNet-5, layer by layer
# LeNet-5 (LeCun et al., 1998) reads a 32 × 32 image: C1 6 filters 5 × 5 → S2 2 × 2 subsampling → C3 16 filters 5 × 5 →
# S4 2 × 2 subsampling → C5 120 filters 5 × 5 → F6 84 units → 10 outputs. The table computes every shape and parameter
# count **with your functions** from exercises 1-3 and compares with PyTorch (`layer_table` runs a real network and
# records each layer's output). A dense layer with $n$ inputs is a 1 × 1 convolution on a 1 × 1 map with $n$ channels,
# so `conv_param_count(n, m, 1)` counts it. If an exercise is not done yet, its column shows the error instead.
#
# ### 🔮 Predict first
# Before you run it: what shape leaves S4, and which layer holds most of the 61,706 parameters -- a convolution or a
# dense layer? (Use your formula for C5: 120 filters of 5 × 5 over 16 channels.)

# %%
LENET5 = [("C1", "conv", 6, 5), ("S2", "pool", None, 2), ("C3", "conv", 16, 5), ("S4", "pool", None, 2),
          ("C5", "conv", 120, 5), ("F6", "dense", 84, None), ("output", "dense", 10, None)]
layers, depth = [], 1
for name, kind, n, k in LENET5:
    if kind == "conv":
        layers.append((name, nn.Conv2d(depth, n, k)))
    elif kind == "pool":
        layers.append((name, nn.MaxPool2d(k)))
    else:
        if name == "F6":
            layers.append(("flatten", nn.Flatten()))
        layers.append((name, nn.Linear(depth, n)))
    depth = n or depth
lenet5 = nn.Sequential(OrderedDict(layers))
torch_rows = {row["name"]: row for row in layer_table(lenet5, (1, 32, 32))}


def attempt(fn, *args):
    """Call one of your functions; return its result or a short description of the error."""
    try:
        return fn(*args)
    except Exception as err:
        return f"{type(err).__name__}"


print(f"{'layer':7s} {'your shape':>16s} {'torch shape':>16s} {'your params':>12s} {'torch params':>12s}")
shape, total = (1, 32, 32), 0
for name, kind, n, k in LENET5:
    if kind == "conv":
        mine, params = attempt(conv_output_shape, shape, n, k), attempt(conv_param_count, shape[0], n, k)
    elif kind == "pool":
        mine, params = attempt(pool_output_shape, shape, k), 0
    else:
        size = shape[0] * shape[1] * shape[2] if isinstance(shape, tuple) and len(shape) == 3 else shape[0]
        mine, params = (n,), attempt(conv_param_count, size, n, 1)
    row = torch_rows[name]
    ok = tuple(mine) == row["output_shape"] and params == row["params"] if isinstance(mine, tuple) else False
    params = f"{params:,}" if isinstance(params, int) else str(params)
    print(f"{name:7s} {str(mine):>16s} {str(row['output_shape']):>16s} {params:>12s} {row['params']:>12,d}  "
          + ("✓" if ok else "✗"))
    shape = tuple(mine) if isinstance(mine, tuple) else row["output_shape"]
print(f"total parameters (torch): {count_parameters(lenet5):,}")

# %% [markdown]
# **Where the usual picture (and the lecture's "LeNet-like" figure) differs from the 1998 network.** The table is the
# network as it is usually re-implemented today. The paper's LeNet-5 has 60,000 trainable parameters, not 61,706:
# its S2 and S4 "subsampling" layers sum each 2 × 2 window and multiply by a *trainable* coefficient plus a bias
# (12 and 32 parameters); its C3 connects each of the 16 maps to only a subset of S2's 6 maps (1,516 parameters instead
# of 2,416), to break symmetry and save computation; its units use a scaled tanh; and its 10 outputs are Euclidean
# RBF units, not a linear layer with softmax. C5 *is* a convolution, but on a 5 × 5 input a 5 × 5 kernel gives a 1 × 1
# map, so it is the same as a dense layer -- which is why modern versions write it as one.

# %% [markdown]
# ## 8. A LeNet-style network against an MLP on handwritten digits
# The bundled digits are 8 × 8 images; we enlarge them to 16 × 16. `make_lenet(16)` is the network above with padding 2
# in C1 (16 → 16 → 8 → 4 → 2) and 21,386 parameters. Against it: an MLP with one hidden layer of 80 ReLU units, 21,370
# parameters -- the same budget spent without any assumption about images. Both are trained the same way (Adam, 15
# epochs, batch 64) on the same 70 % of the data, each with three seeds (three initialisations and data orders); we
# report accuracy on the 15 % test split, as it is and with every test digit shifted by a few pixels (up, down, left,
# right; zeros shifted in). Neither network sees shifted digits in training.
#
# How large a difference can we trust? The test split has 269 digits: one digit is 0.37 percentage points, and the
# standard error of a single accuracy near 97 % is $\sqrt{0.97 \cdot 0.03 / 269} \approx 1$ point. Differences
# smaller than that -- or than the spread over seeds -- are noise (notebook 06 comes back to this).
#
# ### 🔮 Predict first
# Which reaches the higher test accuracy on the digits as they are, and is the difference larger than the noise? Then:
# if every test digit is shifted by 2 pixels, which model loses more?

# %%
X, y = load_digits(size=16)                                     # (1797, 1, 16, 16), values in [0, 1]
split = train_val_test_split(X, y, fractions=(0.7, 0.15, 0.15), seed=0)
train, val, test = (split.x_train, split.y_train), (split.x_val, split.y_val), (split.x_test, split.y_test)
EPOCHS = pick(full=15, fast=1)
SEEDS = pick(full=(0, 1, 2), fast=(0,))
SHIFTS = [0, 1, 2, 3]
builders = {"LeNet-style CNN": lambda seed: make_lenet(16, seed=seed),
            "MLP, 80 hidden units": lambda seed: make_mlp(256, 10, width=80, depth=1, seed=seed)}


def shifted_accuracy(model, s):
    """Test accuracy with every digit moved s pixels (mean over up, down, left, right; s = 0: unmoved)."""
    moves = [(s, 0), (-s, 0), (0, s), (0, -s)] if s else [(0, 0)]
    return float(np.mean([evaluate(model, (translate(split.x_test, dy, dx), split.y_test))[1] for dy, dx in moves]))


models, histories = {}, {}
accuracy = {name: np.zeros((len(SEEDS), len(SHIFTS))) for name in builders}   # [seed, shift]
for name, build in builders.items():
    for i, seed in enumerate(SEEDS):
        model = build(seed)
        history = fit(model, train, val, epochs=EPOCHS, lr=3e-3, optimizer="adam", batch_size=64, device=DEVICE,
                      seed=seed, record_grad_norms=False, desc=f"{name}, seed {seed}")
        accuracy[name][i] = [shifted_accuracy(model, s) for s in SHIFTS]
        if i == 0:
            models[name], histories[name] = model, history

fig, (ax_loss, ax_shift) = plt.subplots(1, 2, figsize=(11, 4))
curves = {}
for name, h in histories.items():
    curves[f"{name}, train"] = (h.epoch, h.train_loss)
    curves[f"{name}, validation"] = (h.epoch, h.val_loss)
plot_curves(curves, ax=ax_loss, ylabel="cross-entropy loss", title="loss curves (seed 0)", logy=True)
for name, acc in accuracy.items():
    ax_shift.errorbar(SHIFTS, acc.mean(0), yerr=acc.std(0), marker="o", capsize=4, label=f"{name} (mean ± std over seeds)")
ax_shift.set(xlabel="shift of the test digits (pixels)", ylabel="test accuracy", title="accuracy on shifted test digits",
             xticks=SHIFTS)
ax_shift.legend()
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
print(f"test accuracy in %, mean ± std over {len(SEEDS)} seeds; 1 digit = {100 / len(split.y_test):.2f} points")
print(f"{'':22s}" + "".join(f"{f'shift {s}':>14s}" for s in SHIFTS))
for name, acc in accuracy.items():
    print(f"{name:22s}" + "".join(f"{100 * m:8.1f} ± {100 * sd:3.1f}" for m, sd in zip(acc.mean(0), acc.std(0))))
gap = 100 * (accuracy["LeNet-style CNN"] - accuracy["MLP, 80 hidden units"])        # [seed, shift], same seed paired
print(f"{'CNN - MLP (points)':22s}" + "".join(f"{m:8.1f} ± {sd:3.1f}" for m, sd in zip(gap.mean(0), gap.std(0))))

# %% [markdown]
# **What to notice:** on the digits as they are, the two networks tie: 96.7 % for the CNN and 96.9 % for the MLP
# (mean over three seeds), a difference of −0.2 ± 0.6 points -- less than one test digit, well inside the spread over
# seeds and the standard error of 269 test digits. This experiment shows **no real difference** there. The MLP is a
# strong baseline because the images are tiny and well aligned; with one seed you could have "found" either winner.
# The difference appears when the digits move: at a shift of 2 pixels the CNN keeps 61.3 % against the MLP's 50.2 %,
# 11.1 ± 1.6 points ahead, and it stays about 10 points ahead at 3 pixels -- far more than the spread. Neither network is translation *invariant* (the CNN's convolutions are
# equivariant, but its dense head F5 still ties features to positions, and two 2 × 2 pools give only a little
# invariance), but the CNN loses less: its filters recognise a stroke wherever it is. Training with shifted copies
# (data augmentation) or pooling over the whole map (global average pooling) would make it more invariant. (The
# review lecture's "Performance" figure shows a larger gap on a harder task, MNIST-1D.)
#
# **Does pooling prevent over-fitting?** The lecture lists "prevent overfitting" among pooling's effects. What is true:
# pooling has no parameters, and by shrinking the maps it shrinks the dense layers after it (here F5 has
# $16 \cdot 2 \cdot 2 \cdot 120 + 120 = 7{,}800$ parameters instead of $16 \cdot 12 \cdot 12 \cdot 120 + 120$ = 276,600 without
# the two pools), and it adds a little tolerance to small shifts. Fewer parameters and a built-in invariance can
# reduce over-fitting, but pooling is not a regulariser in the sense of L2 or dropout (notebook 06): it changes the
# architecture, does not trade training fit for generalisation, and a pooled network can over-fit just as well.
# Its main purposes are less computation and a faster-growing receptive field (section 6).

# %% [markdown]
# ### What the CNN's first layer learned
# The six 5 × 5 filters of C1 and their feature maps (after ReLU) for one test digit.
#
# ### 🔮 Predict first
# What will the learned 5 × 5 filters look like: random noise, blobs, or oriented strokes like the Sobel kernels of
# section 4? And will every filter respond to this digit somewhere?

# %%
cnn = models["LeNet-style CNN"].cpu().eval()
digit = split.x_test[:1]
with torch.no_grad():
    maps = cnn.act1(cnn.C1(digit))[0]
fig, axes = plt.subplots(2, 7, figsize=(12, 4))
axes[0, 0].imshow(digit[0, 0], cmap="gray_r")
axes[0, 0].set_title(f"input ({int(split.y_test[0])})")
axes[1, 0].axis("off")
w = cnn.C1.weight.detach()[:, 0]
limit = float(w.abs().max())
for k in range(6):
    axes[0, k + 1].imshow(w[k], cmap="PuOr", vmin=-limit, vmax=limit)
    axes[0, k + 1].set_title(f"filter {k}")
    axes[1, k + 1].imshow(maps[k], cmap="viridis")
    axes[1, k + 1].set_title(f"feature map {k}")
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("C1 after training: filters (top; purple = positive, orange = negative weight) and ReLU feature maps (bottom)")
plt.show()

# %% [markdown]
# **What to notice:** the filters are small oriented edge and stroke detectors, not unlike Sobel kernels; each
# feature map lights up where its pattern occurs in the digit, at any position -- the same weights everywhere.
# A filter whose map is empty (all zeros after the ReLU) does not respond to this digit at all, and if that holds for every
# input it is a "dead" unit that gets no gradient. With only 15 epochs on 1,258 images the filters stay noisy; longer
# training on MNIST gives cleaner ones.

# %% [markdown]
# ## 9. Sharing across time: the idea behind recurrent networks
# The lecture's two lines on recurrent networks: where ConvNets find *spatial* patterns wherever they occur in an image,
# RNNs find *temporal* patterns wherever they occur in a sequence. Both do it with **weight sharing**. A 1-D convolution
# applies the same kernel at every position of a sequence; a recurrent cell applies the same update at every time
# step, $h_t = \tanh(W_x x_t + W_h h_{t-1} + b)$, so its parameters do not depend on the sequence length either. The
# difference is what one output can see: a convolution's output at step $t$ depends on a fixed window (its receptive
# field, section 6), a recurrent state $h_t$ on **everything** before $t$, through the chain of $h$'s.
#
# ### 🔮 Predict first
# A 1-D convolution (4 filters of width 3) and an RNN (4 hidden units) read a sequence of 20 numbers. How many
# parameters does each have, and how many for a sequence of 1000? If we change only the *first* number of the
# sequence, how many of the 20 outputs of each change?

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
conv1d = nn.Conv1d(1, 4, kernel_size=3).double()                  # the same 4 x 3 kernel at every position
rnn = nn.RNN(input_size=1, hidden_size=4, batch_first=True).double()  # the same cell at every time step
seq = torch.randn(1, 20, dtype=torch.float64)
poked = seq.clone()
poked[0, 0] += 1.0                                      # change only the first element
with torch.no_grad():
    conv_a, conv_b = conv1d(seq[:, None]), conv1d(poked[:, None])                  # (1, 4, 18)
    rnn_a, rnn_b = rnn(seq[:, :, None])[0], rnn(poked[:, :, None])[0]              # (1, 20, 4)
conv_changed = int((conv_a - conv_b).abs().amax(dim=1).gt(0).sum())
rnn_changed = int((rnn_a - rnn_b).abs().amax(dim=2).gt(0).sum())
print(f"parameters: 1-D convolution {count_parameters(conv1d)}, RNN {count_parameters(rnn)} "
      "(for sequences of any length: 20 or 1000)")
print(f"after changing the first element: {conv_changed} of {conv_a.shape[-1]} convolution outputs change, "
      f"{rnn_changed} of {rnn_a.shape[1]} RNN outputs change")

# %% [markdown]
# **What to notice:** both layers have a handful of parameters that are reused at every step, so they work on
# sequences of any length -- the same reason a convolution works on images of any size. The convolution's output
# changes only where its window covers the changed element; the RNN's state carries the change to every later step.
# Recurrent networks, their training (backpropagation through time) and their exploding and vanishing gradients are
# a later lecture's topic.

# %% [markdown]
# ### Free response (3 points, graded by your instructor)
# The review lecture says a convolutional network has a **better inductive bias** for images. Explain what weight
# sharing assumes about images, why that assumption helps a network learn from a limited number of examples, and give
# one situation (or kind of data) where the assumption is wrong or too strong. Use at least one number or observation
# from this notebook.

# %% [markdown] nbgrader={"grade": true, "grade_id": "free_response_inductive_bias", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# Weight sharing assumes that the same local pattern means the same thing wherever it appears (stationarity), and
# locality that nearby pixels matter together. So the network applies one small filter at every position: it
# searches a much smaller family of functions -- all of them plausible for images -- and every position is a
# training example for the same weights, so information is shared across locations. With the same 21k parameters
# the CNN was no better than the MLP on the centred test digits (96.7 % against 96.9 %, within the noise of three
# seeds and 269 test digits) but lost much less accuracy when the digits were shifted by 2 pixels (61 % against 50 %);
# on the photo a conv layer needs 1,792 parameters where a dense layer needs 922 million. The assumption is wrong where absolute
# position matters: e.g. aligned faces or medical scans where the left side differs from the right, tabular data whose
# "neighbouring" columns are unrelated, or the location of a word in a form; there one adds position information or
# uses locally connected / dense layers.
#
# === BEGIN MARK SCHEME ===
# 3 points in total:
# - 1 point: what weight sharing assumes -- the same feature is useful at every location (translation
#   equivariance / stationarity; locality may be mentioned too).
# - 1 point: why it helps -- fewer parameters / a smaller, plausible hypothesis space, statistics pooled across
#   positions, so less data is needed and generalisation (including to shifted inputs) is better; backed by a number
#   or observation from this notebook (shift robustness, parameter counts, the seed-averaged accuracies). Without
#   any number: ½. Claiming that the CNN is more accurate on the unshifted digits is not supported by this notebook's
#   data (the difference is within the noise); it earns no evidence credit.
# - 1 point: a sensible case where the bias is wrong or too strong (position-dependent meaning, non-grid data such as
#   tables, rotation or scale changes that convolution does not handle), with a reason.
# === END MARK SCHEME ===

# %% [markdown]
# ## Check your understanding
# 1. A layer has 64 filters of size 3 × 3 on a 128-channel input. How many parameters? What changes if the input image
#    doubles in size?
# 2. Input 32 × 32, kernel 5, stride 2, no padding. Valid? What would PyTorch output, and which pixels would it ignore?
# 3. You copy a "blur to the right" kernel from a textbook that uses true convolution into `nn.Conv2d`. What happens?
# 4. Why is max pooling only approximately translation invariant?
# 5. What is the receptive field of the last unit of LeNet's C1-S2-C3-S4, and what does that mean for a 16 × 16 input?
#
# <details><summary>Answers</summary>
#
# 1. $3 \cdot 3 \cdot 128 \cdot 64 + 64 = 73{,}792$. Nothing: the count does not depend on the image size (the output
#    grows instead).
# 2. $(32 - 5)/2 + 1 = 14.5$: the positions do not tile the input evenly (invalid under CS231n's strict convention).
#    PyTorch computes $\lfloor 27/2 \rfloor + 1 = 14$, outputs 14 × 14 and never reads the last row and column.
# 3. The kernel is applied without the flip, so the image is blurred to the left: flip the kernel (`kernel.flip(-1, -2)`)
#    to reproduce the textbook.
# 4. A shift by a multiple of the pool's stride moves the output by whole cells; other shifts move the maximum to a
#    different window or let a different value win. Only small shifts inside a window leave the output unchanged.
# 5. 16 × 16 pixels (exercise 6). On our 16 × 16 digits, padded to 20 × 20 in C1, each of the 2 × 2 units of S4 sees
#    a 16 × 16 window -- most of the digit -- and the dense layers then combine the four into a view of the whole image.
# </details>
#
# ## Summary
# * Dense layers on images need a weight per pixel per unit and tie what they learn to positions; convolutions share
#   $F \cdot F \cdot D_1$ weights (plus a bias) per filter across all positions.
# * $W_2 = (W_1 - F_\text{eff} + 2P)/S + 1$ with $F_\text{eff} = D(F-1)+1$; $D_2 = K$; parameters
#   $F^2 D_1 K + K$. Pooling: $W_2 = (W_1 - F)/S + 1$, $D_2 = D_1$, no parameters. When the division is not exact,
#   code rounds down ($\lfloor\cdot\rfloor$) and ignores the last rows and columns: a warning sign, not an error.
# * Deep-learning "convolution" is cross-correlation (no kernel flip).
# * Convolution is translation equivariant (exactly, away from the borders); pooling adds a little invariance; a dense
#   layer has neither.
# * Receptive fields grow by $(F_l - 1)\prod_{m<l} S_m$ per layer; stacks of small kernels see as far as one large one.
# * With the same parameter budget, a LeNet-style CNN is no more accurate than an MLP on small, centred digits (the
#   difference is within the noise of one test split and three seeds) but is much more robust to shifted digits
#   (about 11 points ahead at a 2-pixel shift): that is where its inductive bias shows. Pooling has no parameters and shrinks the layers after it; it is not a
#   regulariser in itself.
# * Weight sharing across positions (convolutions) has a twin across time steps (recurrent networks).
#
# ## Further reading
# * Lecture: *Convolutional units* to *Actual LeNet-5 (1998)*; review lecture: *Convolution with kernel size 3*,
#   *Receptive fields*, *Performance*, *Why?*.
# * Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, *Gradient-based learning applied to document recognition*,
#   Proc. IEEE 86(11), 1998 (LeNet-5).
# * CS231n notes, *Convolutional Neural Networks* (the animated demo in the lecture's figure 25).
# * V. Dumoulin and F. Visin, *A guide to convolution arithmetic for deep learning*, 2016 (padding, stride, dilation).
# * S. Prince, *Understanding Deep Learning*, chapter 10 (equivariance, receptive fields, MNIST-1D).
# * F. Yu and V. Koltun, *Multi-scale context aggregation by dilated convolutions*, ICLR 2016.
