# ---
# jupyter:
#   course:
#     budget_s: 60
#     gpu: false
#     minutes: 75
#     title: 'Linear regions: shallow and deep ReLU networks, continuity, neural fields'
#     topics: "shallow-network notation and drawing, hinge lines and activation patterns,\
#       \ counting linear regions (Zaslavsky), depth and composition (Mont\xFAfar et\
#       \ al.), universal approximation, continuity and steps, neural fields with random\
#       \ Fourier features"
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 · Linear regions: from one hidden layer to many
#
# **Time:** about 75 minutes · **Level:** after 00–04 · **Prerequisites:** matrix products and broadcasting in
# PyTorch, ReLU (notebook 00), training with gradient descent; binomial coefficients $\binom{D}{j}$.
#
# ## Learning objectives
# By the end of this notebook you can:
# 1. draw a shallow network and write it both as scalar equations and in matrix form, and implement its forward
#    pass in plain tensors;
# 2. explain why a ReLU network is piecewise linear: find each hidden unit's hinge line, a point's activation
#    pattern, and the convex regions on which the network is one linear function;
# 3. count the regions of a shallow network with Zaslavsky's formula $\sum_{j=0}^{D_i}\binom{D}{j}$ and check it
#    against an empirical count on a grid;
# 4. explain what depth adds (composition multiplies regions, Montúfar et al. 2014) and what the universal
#    approximation theorem does and does not promise;
# 5. explain why a network's output is continuous -- no vertical steps -- and use random Fourier features to make
#    a coordinate network (a *neural field*) fit an image sharply.

# %% [markdown]
# Everything runs on a laptop CPU in well under a minute (a GPU is used when there is one). The photo for the neural
# field ships with matplotlib: nothing is downloaded. While nbgrader grades your work the training demos shrink
# (`pick(full=..., fast=...)`) and figures are not drawn (`use_style()` sees to that).

# %%
# %matplotlib inline
import math

import matplotlib.pyplot as plt
import torch

from course_utils import checks
from course_utils.mistakes import check_known_mistakes
from course_utils.neural_fields import (
    RandomFourierFeatures,
    field_mlp,
    fit_full_batch,
    load_field_image,
    pixel_coordinates,
    psnr,
)
from course_utils.plots import use_style
from course_utils.regions import (
    draw_network,
    make_grid,
    plot_output,
    plot_regions,
    random_shallow,
    region_map,
    regions_explorer,
    relu_mlp,
    review_network,
    tent_network,
)
from course_utils.reproducibility import device, pick, quiet_warnings, seed_everything

quiet_warnings()
use_style()
seed_everything(0)
DEVICE = device()

# %% [markdown]
# ## Recap: a shallow network, drawn and written
# The review lecture asks: *how would you draw and write this neural network?* Two inputs $x_1, x_2$, three hidden
# units, one output:
#
# $$h_d = a[\theta_{d0} + \theta_{d1}x_1 + \theta_{d2}x_2], \quad d = 1, 2, 3, \qquad
#   y = \phi_0 + \phi_1 h_1 + \phi_2 h_2 + \phi_3 h_3,$$
#
# with $a[z] = \mathrm{ReLU}(z) = \max(0, z)$. In matrix form, with $\boldsymbol\theta_0 = (\theta_{10}, \theta_{20},
# \theta_{30})^\top$ the hidden biases and $\boldsymbol\Theta$ the $3\times 2$ matrix of weights $\theta_{dj}$,
#
# $$\mathbf h = a[\boldsymbol\theta_0 + \boldsymbol\Theta\mathbf x], \qquad y = \phi_0 + \boldsymbol\phi^\top \mathbf h .$$
#
# In this notebook we store the first layer as **one** array `theta` of shape `(D, Di + 1)` whose column 0 holds the
# biases $\theta_{d0}$ and columns $1..D_i$ the weights, and the second as `phi` of shape `(D + 1,)` with $\phi_0$ first
# -- exactly the subscripts of the formula. The drawing: one circle per unit, one arrow per weight; biases are
# usually left out of the picture (they are the arrows from a constant input 1). This network has
# $3\cdot 3 + 4 = 13$ parameters.

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.2))
draw_network(ax, (2, 3, 1))
ax.set_title("$y = \\phi_0 + \\sum_d \\phi_d\\, a[\\theta_{d0} + \\theta_{d1}x_1 + \\theta_{d2}x_2]$")
plt.show()

# %% [markdown]
# ## Experiment 1 · Hinges, patterns and seven regions
# Each hidden unit's pre-activation $z_d = \theta_{d0} + \theta_{d1}x_1 + \theta_{d2}x_2$ is zero along a line, the unit's
# **hinge**: on one side the unit is *on* ($z_d > 0$, $h_d = z_d$), on the other *off* ($h_d = 0$; at $z_d = 0$ exactly ReLU
# outputs 0 too, so we count it as off). The list of which units are on at a point is its **activation pattern**.
# Where the pattern is fixed, every $h_d$ is either $0$ or an affine function of $\mathbf x$, so $y$ is **one linear
# function**: the network is piecewise linear. Each piece is the intersection of half-planes -- a **convex
# polygon** (a *polytope* in higher dimensions).
#
# We take the review's network with some concrete numbers, built in PyTorch as `Linear(2, 3) -> ReLU -> Linear(3, 1)`
# (`review_network()`), read its parameters into our `theta` and `phi`, and evaluate it on a $301\times301$ grid of
# the square $[-2, 2]^2$ (`region_map` finds each point's pattern): left, the plane coloured by activation pattern with
# the three hinges dashed; right, the output.
#
# ### 🔮 Predict first
# Three lines in the plane. Into how many regions can they cut it at most? When do you get fewer?

# %%
review_net = review_network()          # Linear(2, 3) -> ReLU -> Linear(3, 1), float64
with torch.no_grad():                  # nn.Linear stores weight (out, in) and bias (out,) separately
    theta_review = torch.cat([review_net[0].bias[:, None], review_net[0].weight], dim=1)   # (3, 3): bias first
    phi_review = torch.cat([review_net[2].bias, review_net[2].weight[0]])                 # (4,): phi_0 first
print("theta =", theta_review.tolist())
print("phi   =", phi_review.tolist())

grid = make_grid(extent=2.0, resolution=301)
patterns, labels, n_regions = region_map(review_net, grid.points)  # (301*301, 3) bool; a label per pattern; count
with torch.no_grad():
    y_grid = review_net(grid.points)[:, 0]

fig, (ax_r, ax_y) = plt.subplots(1, 2, figsize=(11, 4.3))
plot_regions(ax_r, labels, grid.extent, shape=grid.shape, theta=theta_review,
             title=f"{n_regions} activation patterns = {n_regions} linear regions")
plot_output(ax_y, y_grid, grid.extent, shape=grid.shape, title="output y: flat pieces that meet at the hinges")
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
print("distinct activation patterns on the grid:", n_regions)
for row in torch.unique(patterns, dim=0).int().tolist():
    print("  units on (h1, h2, h3):", row)


# %% [markdown]
# **What to notice:** three lines in general position cut the plane into **7** regions -- not $2^3 = 8$: one of the
# eight on/off combinations would need a point on the "wrong" side of all three lines at once, and the three
# half-planes do not meet. In the right panel the contour lines are straight and evenly spaced inside each region
# (a linear function) and bend only at the hinges. *Why does flat matter?* Because it is all a ReLU network can
# do: between hinges it cannot curve.

# %% [markdown]
# ### Exercise 1 -- the shallow network's forward pass (2 points)
# Implement `shallow_forward(x, theta, phi)` in plain tensor operations (no `nn.Linear`):
# $y_n = \phi_0 + \sum_{d=1}^{D} \phi_d\, \mathrm{ReLU}\big(\theta_{d0} + \sum_{j=1}^{D_i}\theta_{dj}\, x_{nj}\big)$ for every
# row $\mathbf x_n$ of `x`.
#
# * `x`: float tensor `(N, Di)`, one point per row; `theta`: `(D, Di + 1)`, column 0 the biases $\theta_{d0}$;
#   `phi`: `(D + 1,)`, entry 0 the output bias $\phi_0$.
# * Return a tensor of shape `(N,)` and `x`'s dtype. It must work for **any** $N$, $D_i$ and $D$ (they need not be
#   equal!), including $N = 1$, and must not modify its inputs.

# %% nbgrader={"grade": false, "grade_id": "shallow_forward_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def shallow_forward(x, theta, phi):
    """Output of the shallow ReLU network y = phi_0 + sum_d phi_d relu(theta_d0 + theta_d . x).

    Args:
        x: tensor (N, Di).
        theta: tensor (D, Di + 1); theta[:, 0] are the hidden biases, theta[:, 1:] the weights.
        phi: tensor (D + 1,); phi[0] is the output bias, phi[1:] the output weights.
    Returns:
        Tensor (N,), one output per row of x.
    """
    ### BEGIN SOLUTION
    pre = theta[:, 0] + x @ theta[:, 1:].T          # (N, D)
    return phi[0] + torch.relu(pre) @ phi[1:]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "shallow_forward_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 1
def _shallow_mistakes(got, x, theta, phi, label, rtol=1e-6, atol=1e-9):
    """Name the classic slips of a shallow forward pass, then compare with a float64 reference."""
    W, b, v, c = theta[:, 1:], theta[:, 0], phi[1:], phi[0]
    hidden = torch.relu(torch.nn.functional.linear(x.double(), W.double(), b.double()))
    want = torch.nn.functional.linear(hidden, v[None].double(), c[None].double())[:, 0]
    check_known_mistakes(got, want, {
        "ignore the hidden biases theta_d0 (column 0 of theta)": lambda: c + torch.relu(x @ W.T) @ v,
        "ignore the output bias phi_0": lambda: torch.relu(b + x @ W.T) @ v,
        "leave out the ReLU (then the network is linear)": lambda: c + (b + x @ W.T) @ v,
        "multiply by theta's weights untransposed (x @ W instead of x @ W.T): it runs only when Di == D, "
        "and gives the wrong numbers even then": lambda: c + torch.relu(b + x @ W) @ v,
        "read the biases from the last column of theta instead of column 0":
            lambda: c + torch.relu(theta[:, -1] + x @ theta[:, :-1].T) @ v,
    }, label, rtol=rtol, atol=atol)
    checks.check_shape(got, (len(x),), label)
    checks.check_close(got, want, label, rtol=rtol, atol=atol, verbose=False)


_x = torch.tensor([[0.0, 0.0], [1.0, -0.5], [-1.5, 1.0], [0.5, 0.5], [2.0, 1.0]], dtype=torch.float64)
_got = checks.call(shallow_forward, _x.clone(), theta_review.clone(), phi_review.clone(),
                   name="shallow_forward(x (5, 2), theta (3, 3), phi (4,))")
checks.check_type(_got, torch.Tensor, "shallow_forward(...)")
_shallow_mistakes(_got, _x, theta_review, phi_review, "shallow_forward(x (5, 2), theta (3, 3), phi (4,))")
print("✔ shallow_forward matches the review network at 5 points")
### BEGIN HIDDEN TESTS
def _hidden_shallow_tests():
    g = torch.Generator().manual_seed(81)
    for N, Di, D in [(7, 3, 5), (4, 4, 4), (3, 2, 2), (1, 2, 3), (6, 1, 4), (2, 5, 3)]:
        x = torch.randn(N, Di, generator=g, dtype=torch.float64)
        theta = torch.randn(D, Di + 1, generator=g, dtype=torch.float64)
        phi = torch.randn(D + 1, generator=g, dtype=torch.float64)
        copies = (x.clone(), theta.clone(), phi.clone())
        label = f"shallow_forward(x ({N}, {Di}), theta ({D}, {Di + 1}), phi ({D + 1},))"
        got = checks.call(shallow_forward, x, theta, phi, name=label)
        for before, after, what in zip(copies, (x, theta, phi), ("x", "theta", "phi")):
            checks.check_close(after, before, f"{what} after {label} -- do not modify the inputs", verbose=False)
        _shallow_mistakes(got, x, theta, phi, label)
    x32 = torch.randn(9, 2, generator=g)
    theta32, phi32 = torch.randn(4, 3, generator=g), torch.randn(5, generator=g)
    got = checks.call(shallow_forward, x32, theta32, phi32, name="shallow_forward in float32")
    checks.check_dtype(got, torch.float32, "shallow_forward(x float32, ...)")
    _shallow_mistakes(got, x32, theta32, phi32, "shallow_forward in float32", rtol=1e-4, atol=1e-5)


_hidden_shallow_tests()
del _hidden_shallow_tests
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 -- activation patterns (2 points)
# Implement `activation_pattern(x, theta)`: a **bool** tensor of shape `(N, D)` whose entry $[n, d]$ is `True` when
# hidden unit $d$ is on at point $n$, i.e. $\theta_{d0} + \sum_j \theta_{dj}x_{nj} > 0$ (strictly: at exactly $0$ ReLU
# outputs 0 and its derivative is 0, so the unit counts as off). Same shapes as Exercise 1: any $N$, $D_i$, $D$.
# Points exactly on a hinge occur on grids; the hidden tests use some.

# %% nbgrader={"grade": false, "grade_id": "activation_pattern_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def activation_pattern(x, theta):
    """Which hidden units are on (pre-activation > 0) at each point.

    Args:
        x: tensor (N, Di).
        theta: tensor (D, Di + 1), column 0 the biases.
    Returns:
        Bool tensor (N, D): True where theta[d, 0] + theta[d, 1:] . x[n] > 0.
    """
    ### BEGIN SOLUTION
    z = x @ theta[:, 1:].T + theta[:, 0]
    return z > 0
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "activation_pattern_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 2
def _pattern_check(got, x, theta, label):
    """Name the classic slips of an activation pattern, then compare with the reference."""
    W, b = theta[:, 1:], theta[:, 0]
    z = torch.nn.functional.linear(x.double(), theta[:, 1:].double(), theta[:, 0].double())  # pre-activations
    want = z > 0
    check_known_mistakes(got, want, {
        "count z = 0 as on (z >= 0); ReLU outputs 0 there, so a unit with zero pre-activation is off":
            lambda: z >= 0,
        "ignore the biases theta_d0 (column 0 of theta)": lambda: (x @ W.T) > 0,
        "return the pattern transposed, (D, N) instead of (N, D)": lambda: want.T.contiguous() if len(x) == len(theta)
        else None,
        "multiply by theta's weights untransposed (x @ W instead of x @ W.T): it runs only when Di == D":
            lambda: (b + x @ W) > 0,
        "return the activations relu(z) instead of True/False": lambda: torch.relu(z),
    }, label)
    checks.check_type(got, torch.Tensor, label)
    checks.check_shape(got, tuple(want.shape), label)
    checks.check_dtype(got, torch.bool, label + " (use a comparison such as z > 0, which gives bools)")
    checks.check_close(got.double(), want.double(), label, verbose=False)


_x = torch.tensor([[0.0, 0.0], [1.0, -0.5], [-1.5, 1.0], [0.5, 0.5], [2.0, 1.0]], dtype=torch.float64)
_got = checks.call(activation_pattern, _x.clone(), theta_review.clone(), name="activation_pattern(x (5, 2), theta (3, 3))")
_pattern_check(_got, _x, theta_review, "activation_pattern(x (5, 2), theta (3, 3))")
print("✔ activation_pattern is right at 5 points of the review network")
### BEGIN HIDDEN TESTS
def _hidden_pattern_tests():
    # hinges through grid points: x1 = 0, x2 = x1 and x1 + x2 = 1 hit the integer grid exactly
    theta = torch.tensor([[0.0, 1.0, 0.0], [0.0, -1.0, 1.0], [-1.0, 1.0, 1.0], [0.5, 0.0, -1.0]], dtype=torch.float64)
    pts = make_grid((-2.0, 2.0, -1.0, 1.0), (3, 5)).points           # 15 points, several on hinges
    got = checks.call(activation_pattern, pts.clone(), theta.clone(), name="activation_pattern with points on hinges")
    _pattern_check(got, pts, theta, "activation_pattern(x (15, 2)) with points exactly on hinges (z = 0)")
    g = torch.Generator().manual_seed(82)
    for N, Di, D in [(11, 3, 6), (4, 4, 4), (5, 2, 5), (1, 2, 3), (8, 1, 2)]:
        x = torch.randn(N, Di, generator=g, dtype=torch.float64)
        theta = torch.randn(D, Di + 1, generator=g, dtype=torch.float64)
        x_before = x.clone()
        label = f"activation_pattern(x ({N}, {Di}), theta ({D}, {Di + 1}))"
        got = checks.call(activation_pattern, x, theta, name=label)
        checks.check_close(x, x_before, f"x after {label} -- do not modify it", verbose=False)
        _pattern_check(got, x, theta, label)


_hidden_pattern_tests()
del _hidden_pattern_tests
### END HIDDEN TESTS

# %% [markdown]
# ## Widget · Move the hinges
# Three sliders per hidden unit set its line: the direction of its normal (the side where the unit is on) and its
# distance from the origin. The output weights stay fixed. The last slider stacks more hidden layers of 3 units with
# fixed random weights on top: their hinges are no longer straight lines but *bend* wherever a lower unit switches.
#
# ### 🔮 Predict first
# With one hidden layer, can you make the count drop below 7 inside the square? (Try parallel lines, or moving the
# crossing points out of view.) With 2, 3, 4 layers of 3 units -- more or fewer regions than with one layer of 3?

# %%
explorer = regions_explorer()
explorer

# %%
explorer_counts = {depth: explorer.update(depth=depth).data["n_regions"] for depth in (1, 2, 3, 4)}
parallel_count = explorer.update(depth=1, angle1=0, angle2=0, angle3=0, offset1=-0.5, offset2=0.0,
                                 offset3=0.5).data["n_regions"]
state = explorer.update(angle1=20, angle2=110, angle3=235, offset1=0.3, offset2=-0.2, offset3=0.5)

# %%
# NBVAL_CHECK_OUTPUT
for depth, count in explorer_counts.items():
    print(f"default lines, {depth} hidden layer(s) of 3 units: {count} regions in view")
print("three parallel hinges, one layer:", parallel_count, "regions")


# %% [markdown]
# **What to notice:** parallel hinges give only 4 regions; the maximum 7 needs every pair of lines to cross inside
# the view. Extra layers add regions -- with the default lines 7, 14, 26 and 32 for 1 to 4 layers: a layer-2 unit's
# hinge is a bent line, with one straight piece per layer-1 region it crosses. Twelve units in *one* layer could give
# up to 79 regions, though (the table below): depth does not automatically win (more on this below).

# %% [markdown]
# ## Counting regions: Zaslavsky's formula
# $D$ hinge hyperplanes in $D_i$ input dimensions, in *general position* (no two parallel, no three through one
# point when $D_i = 2$, ...), cut $\mathbb R^{D_i}$ into exactly
# $$N_{\text{regions}} = \sum_{j=0}^{D_i} \binom{D}{j}$$
# regions (Zaslavsky, 1975). Check it on the lecture's picture: $D = 3$, $D_i = 2$: $1 + 3 + 3 = 7$. Two special cases
# help you remember it: with **one input** ($D_i = 1$) $D$ points cut a line into $D + 1$ pieces; with **at least as
# many inputs as units** ($D_i \ge D$) all $2^D$ patterns occur, since $\sum_{j=0}^{D}\binom{D}{j} = 2^D$. Lines that
# are parallel or meet three at a time give **fewer** regions, so the formula is also the **maximum** for any
# shallow ReLU network with $D$ hidden units. (Its linear pieces can still merge: if two neighbouring regions happen to
# get the same linear function, the output has fewer distinct pieces than the hinges have regions.)

# %% [markdown]
# ### Exercise 3 -- the region count formula (2 points)
# Implement `max_regions(D, Di)`: the number of regions of $D$ hyperplanes in general position in $D_i$ dimensions,
# $\sum_{j=0}^{D_i}\binom{D}{j}$ (terms with $j > D$ are 0). Return an exact Python `int` -- the values get large, so use
# integer arithmetic (`math.comb`), not floats. `D >= 0` (no units: 1 region) and `Di >= 1`; raise `ValueError` for
# a negative `D` or `Di < 1`.

# %% nbgrader={"grade": false, "grade_id": "max_regions_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_regions(D, Di):
    """Zaslavsky's count: regions of D hyperplanes in general position in Di dimensions.

    Args:
        D: number of hidden units (hyperplanes), an int >= 0.
        Di: number of inputs (dimensions), an int >= 1.
    Returns:
        The exact int sum_{j=0}^{Di} comb(D, j).
    Raises:
        ValueError: if D < 0 or Di < 1.
    """
    ### BEGIN SOLUTION
    if D < 0 or Di < 1:
        raise ValueError(f"need D >= 0 and Di >= 1, got D={D}, Di={Di}")
    return sum(math.comb(D, j) for j in range(min(D, Di) + 1))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "max_regions_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 3
def _regions_check(D, Di, verbose=True):
    """Check max_regions(D, Di), naming the classic slips."""
    want = sum(math.comb(D, j) for j in range(0, Di + 1))
    label = f"max_regions(D={D}, Di={Di})"
    got = checks.call(max_regions, D, Di, name=label)
    if isinstance(got, float):
        checks.check_true(got.is_integer() and abs(got) < 2 ** 53 and int(got) == want,
                          f"{label} returned the float {got!r}; return the exact int {want} (floats lose digits "
                          "for large counts: use math.comb and integer sums)")
    check_known_mistakes(got, want, {
        "count the hidden units D instead of the regions": D,
        "count D + 1 regions -- true only for one input (Di = 1)": D + 1,
        "use 2**D, which is right only when Di >= D": 2 ** D,
        "stop the sum at j = Di - 1 instead of j = Di (off by one)": sum(math.comb(D, j) for j in range(Di)),
        "sum up to j = Di + 1 (off by one)": sum(math.comb(D, j) for j in range(Di + 2)),
        "start the sum at j = 1, leaving out comb(D, 0) = 1": sum(math.comb(D, j) for j in range(1, Di + 1)),
        "swap the arguments (comb(Di, j) summed up to D)": sum(math.comb(Di, j) for j in range(D + 1)),
    }, label, rtol=0, atol=0.5)
    checks.check_equal(got, want, label, verbose=verbose)


for _D, _Di in [(3, 2), (1, 2), (5, 1)]:
    _regions_check(_D, _Di)
checks.check_raises(max_regions, (-1, 2), ValueError, name="max_regions(-1, 2)")
### BEGIN HIDDEN TESTS
def _hidden_region_formula_tests():
    for D, Di in [(0, 2), (0, 1), (2, 2), (2, 5), (4, 10), (6, 2), (10, 3), (20, 5), (62, 2), (9, 9), (12, 11)]:
        _regions_check(D, Di, verbose=False)
    got = checks.call(max_regions, 200, 20, name="max_regions(200, 20)")
    checks.check_type(got, int, "max_regions(200, 20) (a huge count: an exact int)")
    checks.check_equal(got, sum(math.comb(200, j) for j in range(21)), "max_regions(200, 20)", verbose=False)
    checks.check_raises(max_regions, (3, 0), ValueError, name="max_regions(3, 0)", verbose=False)


_hidden_region_formula_tests()
del _hidden_region_formula_tests
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4 -- counting regions empirically (2 points)
# The formula is a maximum. What does a *given* network do? Implement `count_regions(x, theta)`: the number of
# **distinct activation patterns** among the points `x` (`(N, Di)`) for the first layer `theta` (`(D, Di + 1)`), with
# the convention of Exercise 2 (on means $z > 0$). Each distinct pattern seen is one linear region that the points
# visit. Return a Python `int`. You may call your `activation_pattern`. (Hint: `torch.unique` has a `dim` argument.)

# %% nbgrader={"grade": false, "grade_id": "count_regions_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def count_regions(x, theta):
    """Number of distinct activation patterns (z > 0) of the hidden units among the points x.

    Args:
        x: tensor (N, Di), N >= 1 points.
        theta: tensor (D, Di + 1), column 0 the biases.
    Returns:
        An int between 1 and N.
    """
    ### BEGIN SOLUTION
    on = (theta[:, 0] + x @ theta[:, 1:].T) > 0
    return int(torch.unique(on, dim=0).shape[0])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "count_regions_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 4
def _count_check(x, theta, label, verbose=True):
    """Check count_regions, naming the classic slips."""
    z = torch.nn.functional.linear(x.double(), theta[:, 1:].double(), theta[:, 0].double())  # pre-activations (N, D)

    def distinct(rows):
        return int(torch.unique(rows, dim=0).shape[0])

    want = distinct(z > 0)
    got = checks.call(count_regions, x.clone(), theta.clone(), name=label)
    check_known_mistakes(got, want, {
        "count the hidden units instead of the regions": theta.shape[0],
        "count sign patterns (-1, 0, +1): a point exactly on a hinge (z = 0) then makes an extra 'region'; "
        "z = 0 is off, as in Exercise 2": lambda: distinct(torch.sign(z)),
        "count z = 0 as on (z >= 0), unlike Exercise 2's convention (on means z > 0)": lambda: distinct(z >= 0),
        "count distinct activation values relu(z) instead of distinct on/off patterns": lambda: distinct(torch.relu(z)),
        "count distinct entries instead of distinct rows (use torch.unique(..., dim=0))":
            lambda: int(torch.unique(z > 0).numel()),
        "ignore the biases theta_d0": lambda: distinct((z - theta[:, 0]) > 0),
        "count distinct columns instead of rows (torch.unique(..., dim=1))": lambda: int(torch.unique(z > 0, dim=1).shape[1]),
    }, label, rtol=0, atol=0.5)
    checks.check_equal(got, want, label, verbose=verbose)


_count_check(make_grid(2.0, 65).points, theta_review, "count_regions(65 x 65 grid on [-2, 2]^2, review network)")
### BEGIN HIDDEN TESTS
def _hidden_count_tests():
    # three hinges through one grid point (0, 0) and one hinge through a grid column: z = 0 happens exactly
    theta = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [-0.5, 1.0, 0.0]], dtype=torch.float64)
    _count_check(make_grid(1.0, (9, 5)).points, theta, "count_regions(9 x 5 grid, hinges through grid points)", False)
    _count_check(make_grid((-3.0, 1.0, -0.5, 0.5), (5, 33)).points, theta,
                 "count_regions(5 x 33 grid, hinges through grid points)", False)
    g = torch.Generator().manual_seed(84)
    for N, Di, D in [(500, 3, 6), (4, 4, 4), (300, 2, 8), (1, 2, 3), (50, 1, 5)]:
        x = torch.randn(N, Di, generator=g, dtype=torch.float64)
        theta = torch.randn(D, Di + 1, generator=g, dtype=torch.float64)
        _count_check(x, theta, f"count_regions(x ({N}, {Di}), theta ({D}, {Di + 1}))", False)


_hidden_count_tests()
del _hidden_count_tests
### END HIDDEN TESTS

# %% [markdown]
# ## Experiment 2 · The formula against the grid
# Random shallow networks with $D$ hidden units on two inputs (`random_shallow`, all parameters standard normal),
# counted with **your** `max_regions` and `count_regions` on a $300\times300$ grid of a small square $[-2, 2]^2$ and of
# a large one $[-20, 20]^2$. (This cell uses your answers to Exercises 3 and 4: solve those first.)
#
# ### 🔮 Predict first
# Will the grid count ever exceed the formula? Which window will come closer to it, and why?

# %%
# NBVAL_CHECK_OUTPUT
n_side = pick(full=300, fast=60)
small, large = make_grid(2.0, n_side).points, make_grid(20.0, n_side).points
print(" D   formula   grid [-2,2]^2   grid [-20,20]^2")
comparison = {}
for D in (1, 2, 3, 4, 6, 8, 12):
    theta, _ = random_shallow(D, inputs=2, seed=D)
    comparison[D] = (max_regions(D, 2), count_regions(small, theta), count_regions(large, theta))
    print(f"{D:2d} {comparison[D][0]:9d} {comparison[D][1]:15d} {comparison[D][2]:17d}")
print("the grid never finds more regions than the formula:", all(f >= max(a, b) for f, a, b in comparison.values()))

# %% [markdown]
# **What to notice:** the grid never finds more regions than the formula (it cannot: every pattern it sees is a
# region). The small window misses many: crossings of random lines often lie far from the origin (for $D = 1$ the
# only line misses the window altogether). The large window finds all of them up to $D = 6$, but not for $D = 8$ and
# $12$: some crossings lie farther out still, and its grid spacing (0.13) is too coarse for the small regions near the
# origin. An empirical count is a **lower bound**, valid for the window and the resolution you used.

# %% [markdown]
# ## Depth: composing functions multiplies regions
# The lecture: a network with **one** hidden layer and enough units can approximate any continuous function on a
# bounded region as closely as we like -- the **universal approximation theorem** (Cybenko 1989; Hornik 1991; for ReLU,
# Leshno et al. 1993). Two things it does *not* promise: (1) *how many* units that takes -- it can be enormous -- and
# (2) that gradient descent will *find* those weights. Deep networks "compose" functions and can make many more
# regions from the same number of units.
#
# The cleanest example is a fold. The "tent" $t(x) = 2\,\mathrm{ReLU}(x) - 4\,\mathrm{ReLU}(x - \tfrac12)$ maps $[0, 1]$
# onto $[0, 1]$ going up and then down -- 2 pieces, from 2 hidden units. Apply it $L$ times: every piece of the
# previous layer is folded again, so $t\circ t\circ\cdots\circ t$ has $2^L$ pieces from only $2L$ units in $L$ layers.
# A shallow network with $2L$ units has at most $2L + 1$ pieces on a line (Zaslavsky with $D_i = 1$). Montúfar et al.
# (2014) generalise this: a deep network can have a number of regions **exponential in depth**, far beyond any
# shallow network with as many units.
#
# ### 🔮 Predict first
# With $L = 6$ layers (12 units), how many linear pieces does the composed tent map have? And a shallow network with
# 12 units, at most?

# %%
x_line = ((torch.arange(20000, dtype=torch.float64) + 0.37) / 20000)[:, None]   # avoids the hinges k / 2^L
fig, ax = plt.subplots(figsize=(8, 3.6))
print(" L   units   pieces (deep)   shallow bound 2L + 1")
tent_pieces = {}
for L in range(1, 7):
    net = tent_network(L)                     # L hidden layers of 2 units, weights as above
    tent_pieces[L] = region_map(net, x_line).count
    print(f"{L:2d} {2 * L:7d} {tent_pieces[L]:15d} {2 * L + 1:20d}")
    if L in (1, 2, 4):
        with torch.no_grad():
            ax.plot(x_line[:, 0], net(x_line)[:, 0], label=f"L = {L}: {tent_pieces[L]} pieces")
ax.set(xlabel="x", ylabel="output", title="The tent map composed L times: 2^L pieces from 2L units")
ax.legend(loc="lower right")
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
print("pieces of the composed tent map, L = 1..6:", [tent_pieces[L] for L in range(1, 7)])
print("each is 2**L:", all(tent_pieces[L] == 2 ** L for L in range(1, 7)))


# %% [markdown]
# **What to notice:** each extra layer of just 2 units doubles the pieces (counted as distinct activation patterns on
# 20000 points of $(0, 1)$ that avoid the hinges, which sit at multiples of $2^{-L}$: a point exactly on one would show
# up as an extra "pattern" of its own). That is the *capacity* argument for depth. Does a
# **random** or a **trained** deep network use it? We compare, on the 2-D plane, networks with (almost) the same
# number of parameters: one hidden layer of 44 units (177 parameters) and three hidden layers of 8 (177 parameters),
# with He-scaled random weights, and then after fitting both to a wavy target $\sin(3x_1)\cos(3x_2)$ on $[-2, 2]^2$.
#
# ### 🔮 Predict first
# Which of the two random networks has more regions in view? After training?

# %%
def n_params(net):
    return sum(p.numel() for p in net.parameters())


region_grid = make_grid(2.0, 200)
train_x = make_grid(2.0, 40).points                                   # 1600 training points
train_y = (torch.sin(3 * train_x[:, 0]) * torch.cos(3 * train_x[:, 1]))[:, None]
depth_nets = {"shallow 2-44-1": [2, 44, 1], "deep 2-8-8-8-1": [2, 8, 8, 8, 1]}
depth_results = {}
for name, widths in depth_nets.items():
    net = relu_mlp(widths, seed=0, dtype=torch.float32).to(DEVICE)
    before = region_map(net, region_grid.points).count
    fit = fit_full_batch(net.to(DEVICE), train_x, train_y, steps=pick(full=800, fast=30), lr=1e-2, desc=name)
    _, after_labels, after = region_map(net, region_grid.points)
    depth_results[name] = {"params": n_params(net), "random": before, "trained": after, "mse": fit["final_mse"],
                           "labels": after_labels}

fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
for ax, (name, r) in zip(axes, depth_results.items()):
    plot_regions(ax, r["labels"], region_grid.extent, shape=region_grid.shape,
                 title=f"{name} after training: {r['trained']} regions")
plt.show()
print(f"{'network':16s} {'parameters':>10s} {'regions (random)':>17s} {'regions (trained)':>18s} {'train MSE':>10s}")
for name, r in depth_results.items():
    print(f"{name:16s} {r['params']:10d} {r['random']:17d} {r['trained']:18d} {r['mse']:10.4f}")
print("Zaslavsky maximum for the shallow network:", max_regions(44, 2))   # your max_regions from Exercise 3

# %%
# NBVAL_CHECK_OUTPUT
r_shallow, r_deep = depth_results["shallow 2-44-1"], depth_results["deep 2-8-8-8-1"]
print("parameters, shallow and deep:", r_shallow["params"], r_deep["params"])
print("equal parameter counts:", r_shallow["params"] == r_deep["params"])
print("random: shallow has more regions in view than deep:", r_shallow["random"] > r_deep["random"])
print("trained: shallow still has more regions than deep:", r_shallow["trained"] > r_deep["trained"])
print("yet the deep network fits the wavy target better (lower training MSE):", r_deep["mse"] < r_shallow["mse"])

# %% [markdown]
# **What to notice:** the *possible* count grows exponentially with depth, but typical random networks are nowhere near
# it -- here the shallow network has more regions in view than the deep one with the same parameter count, before and
# after training, and training changes the counts only a little. Yet the deep network fits the wavy target better:
# *where* the regions are and how the pieces are arranged matters more than how many there are. This matches what Hanin & Rolnick (2019) proved
# and measured: for typical weights the number of regions grows with the *total number of units*, not
# exponentially with depth. Depth buys *possible* complexity (like the tent map) and, empirically, easier training of
# useful compositions -- not automatically more regions. Be careful with the slide's slogan "deep uses fewer units":
# it is a statement about what *can* be represented.

# %% [markdown]
# ## Continuity: no vertical steps
# Every layer is continuous (affine maps and ReLU), so the network is **continuous**: it cannot jump. To imitate a
# step $y = \mathbb 1[x > 0]$ it must climb from 0 to 1 over some width $w$, with slope $1/w$. With two ReLU units:
# $$s_w(x) = \tfrac1w\,\mathrm{ReLU}\big(x + \tfrac w2\big) - \tfrac1w\,\mathrm{ReLU}\big(x - \tfrac w2\big).$$
# A steeper transition needs a larger weight $1/w$ -- and the **second** unit with exactly the opposite weight, or the
# output would keep rising with slope $1/w$ after the step: steepening one line requires a matching change to keep
# the next piece flat. The mean squared error over $[-1, 1]$ is $\frac1{24}w$: it shrinks only as the weights grow. A
# smooth activation does not help: $\sigma(x/w)$ also needs weight $1/w$, with error $\approx 0.19\,w$.
#
# ### 🔮 Predict first
# Shrink $w$ from 0.2 to 0.002. What happens to the largest weight, to the MSE, and to the slope after the step if the
# second unit is dropped?

# %%
# NBVAL_CHECK_OUTPUT
x_step = torch.linspace(-1, 1, 200001, dtype=torch.float64)
y_step = (x_step > 0).double()
print("    w   largest weight   MSE two ReLUs   w/24       MSE sigmoid(x/w)   slope after step without unit 2")
for w in (0.2, 0.02, 0.002):
    ramp = torch.relu(x_step + w / 2) / w - torch.relu(x_step - w / 2) / w
    one_unit = torch.relu(x_step + w / 2) / w
    smooth = torch.sigmoid(x_step / w)
    slope_after = float((one_unit[-1] - one_unit[-2]) / (x_step[-1] - x_step[-2]))
    print(f"{w:6.3f} {1 / w:15.0f} {float(((ramp - y_step) ** 2).mean()):15.6f} {w / 24:9.6f}"
          f" {float(((smooth - y_step) ** 2).mean()):18.6f} {slope_after:25.0f}")

# %% [markdown]
# Now let gradient descent fit the step (401 points on $[-1, 1]$, Adam, full batch) with networks of growing width and
# depth, and with a smooth activation (tanh). Where is the error?

# %%
x_fit = torch.linspace(-1, 1, 401, dtype=torch.float32)[:, None]
y_fit = (x_fit > 0).float()
step_nets = {
    "ReLU, 1 layer of 8": relu_mlp([1, 8, 1], seed=1, dtype=torch.float32),
    "ReLU, 1 layer of 128": relu_mlp([1, 128, 1], seed=1, dtype=torch.float32),
    "ReLU, 3 layers of 16": relu_mlp([1, 16, 16, 16, 1], seed=1, dtype=torch.float32),
    "tanh, 1 layer of 128": field_mlp(None, width=128, depth=1, activation="tanh", in_features=1, seed=1),
}
step_fits = {}
x_dense = torch.linspace(-1, 1, 8001)[:, None]                # 20 points between two training points
y_dense = (x_dense > 0).float()
fig, (ax_f, ax_e) = plt.subplots(1, 2, figsize=(12, 4))
ax_f.plot(x_dense[:, 0], y_dense[:, 0], color="black", lw=3, alpha=0.3, label="target step")
for name, net in step_nets.items():
    fit_full_batch(net.to(DEVICE), x_fit, y_fit, steps=pick(full=600, fast=40), lr=1e-2, desc=name)
    with torch.no_grad():
        pred = net(x_dense.to(DEVICE)).cpu()[:, 0]
    err2 = (pred - y_dense[:, 0]) ** 2
    near = x_dense[:, 0].abs() < 0.1
    slope = float(((pred[1:] - pred[:-1]) / (x_dense[1:, 0] - x_dense[:-1, 0])).max())
    step_fits[name] = {"mse": float(err2.mean()), "near_share": float(err2[near].sum() / err2.sum()), "slope": slope}
    ax_f.plot(x_dense[:, 0], pred, label=name)
    ax_e.semilogy(x_dense[:, 0], err2 + 1e-12, label=name)
ax_f.set(xlabel="x", ylabel="y", title="Fits of a step: always a ramp")
ax_f.legend(fontsize=8)
ax_e.set(xlabel="x", ylabel="squared error (log scale)", title="Where the error is (on a 20x finer grid)",
         ylim=(1e-8, 2))
plt.show()
for name, r in step_fits.items():
    print(f"{name:22s} MSE {r['mse']:.4f}   share of squared error within |x| < 0.1: {r['near_share']:.0%}   "
          f"steepest slope {r['slope']:.0f}, so the jump takes at least {1 / r['slope']:.3f} in x")

# %%
# NBVAL_CHECK_OUTPUT
print("every fit puts most of its squared error within |x| < 0.1 (5% of the interval):",
      all(r["near_share"] > 0.5 for r in step_fits.values()))
print("every fit has a finite steepest slope (no vertical jump):", all(math.isfinite(r["slope"]) for r in step_fits.values()))

# %% [markdown]
# **What to notice:** more width or depth sharpens the ramp and lowers the error, but the error stays concentrated at
# the jump; every fit is a ramp of finite slope. A network can fit all 401 *training* points almost exactly by putting
# the whole ramp between two neighbouring samples ($x = 0$ and $x = 0.005$) -- the finer evaluation grid shows that
# ramp. tanh, a smooth activation, behaves no better. The slide's point stands
# exactly: **not a vertical line** -- and a steeper one costs larger weights, balanced by other units.

# %% [markdown]
# ## Neural fields: a network that *is* an image
# A **neural field** is a network that takes coordinates and returns the quantity at that position: here
# $(x_1, x_2) \mapsto$ brightness of a $64\times64$ grey-scale photo. We train on every other pixel in each direction
# ($32 \times 32 = 1024$ pixels) and measure the error on the other 3072 pixels it never saw, in PSNR
# ($10\log_{10}(1/\text{MSE})$, higher is better; predicting the mean brightness everywhere gives about 12 dB).
#
# Four networks, each 3 hidden layers of 64 ReLU units, Adam:
# 1. **raw coordinates** -- the plain coordinate network;
# 2. **random Fourier features** (Tancik et al., 2020): first map $\mathbf x \mapsto [\cos(2\pi B\mathbf x), \sin(2\pi
#    B\mathbf x)]$ with a fixed random $64\times2$ matrix $B$, entries $\mathcal N(0, \sigma^2)$, $\sigma = 4$;
# 3. the same with $\sigma = 30$;
# 4. raw coordinates, but every first-layer bias shifted by $-3$ at the start.
#
# ### 🔮 Predict first
# Which one will be blurry, which one noisy, and which one will not learn the picture at all?

# %%
image = load_field_image(64)                                  # (64, 64) in [0, 1]
coords = pixel_coordinates(64, 64)                            # (4096, 2) in [0, 1]^2
pixels = image.reshape(-1, 1)
train_mask = torch.zeros(64, 64, dtype=torch.bool)
train_mask[::2, ::2] = True
train_mask = train_mask.reshape(-1)

dead_start = field_mlp(None, width=64, depth=3, seed=0)
with torch.no_grad():
    dead_start[0].bias.sub_(3.0)                                 # z = w.x + b - 3 < 0 for every pixel
fields = {
    "raw coordinates": field_mlp(None, width=64, depth=3, seed=0),
    "Fourier features, σ = 4": field_mlp(RandomFourierFeatures(2, 64, scale=4.0, seed=0), width=64, depth=3, seed=0),
    "Fourier features, σ = 30": field_mlp(RandomFourierFeatures(2, 64, scale=30.0, seed=0), width=64, depth=3, seed=0),
    "raw, biases − 3 (dead units)": dead_start,
}
field_results = {}
for name, net in fields.items():
    fit = fit_full_batch(net.to(DEVICE), coords[train_mask], pixels[train_mask], steps=pick(full=300, fast=15),
                         lr=1e-3, desc=name)
    with torch.no_grad():
        recon = net(coords.to(DEVICE)).cpu()
    test_mse = float(((recon - pixels)[~train_mask] ** 2).mean())
    field_results[name] = {"train": fit["final_mse"], "test": test_mse, "image": recon.reshape(64, 64),
                           "std": float(recon.std())}

fig, axes = plt.subplots(1, 5, figsize=(15, 3.4))
axes[0].imshow(image, cmap="gray", vmin=0, vmax=1)
axes[0].set_title("the photo (64 × 64)")
for ax, (name, r) in zip(axes[1:], field_results.items()):
    ax.imshow(r["image"].clamp(0, 1), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{name}\nunseen pixels: {psnr(r['test']):.1f} dB", fontsize=9)
for ax in axes:
    ax.axis("off")
plt.show()
print(f"{'network':30s} {'train MSE':>10s} {'unseen MSE':>11s} {'PSNR unseen':>12s}")
for name, r in field_results.items():
    print(f"{name:30s} {r['train']:10.5f} {r['test']:11.5f} {psnr(r['test']):10.1f} dB")

# %%
# NBVAL_CHECK_OUTPUT
res = field_results
print(f"predicting the mean brightness everywhere: {psnr(float(((pixels - pixels.mean()) ** 2).mean())):.0f} dB")
print("Fourier features (σ = 4) beat raw coordinates on unseen pixels:",
      res["Fourier features, σ = 4"]["test"] < res["raw coordinates"]["test"])
print("σ = 30 fits the training pixels yet does worse on unseen ones than σ = 4:",
      res["Fourier features, σ = 30"]["train"] < res["raw coordinates"]["train"]
      and res["Fourier features, σ = 30"]["test"] > res["Fourier features, σ = 4"]["test"])
print("the dead-unit network outputs a constant:", res["raw, biases − 3 (dead units)"]["std"] < 1e-6)

# %% [markdown]
# **What to notice:** the raw coordinate network is **blurry**: it fits the broad shading and misses the edges, even on
# the training pixels. This is *spectral bias*: a ReLU network of modest size, trained by gradient descent, fits
# low-frequency functions first and high frequencies very slowly -- and every edge needs many small regions.
# Fourier features hand the network sines and cosines of the right frequencies; the fit turns sharp. Their scale
# $\sigma$ matters: with $\sigma = 30$ the frequencies are far above what 32 samples per side can pin down, and the
# network fits the training pixels while producing noise in between. The last network is **stuck at a constant**:
# every first-layer unit is off at every pixel, so no gradient reaches layers 1-3 and only the output bias learns --
# the mean brightness. A learning rate so large that one step pushes all units off, or badly scaled inputs, can end in
# the same place: the "networks that just trained constants" of the review lecture.

# %% [markdown]
# ### Free response (3 points, graded by your instructor)
# Why can a ReLU network not draw a vertical step -- and what does that mean for **classification** boundaries, where
# we *do* want a sharp decision between two classes?

# %% [markdown] nbgrader={"grade": true, "grade_id": "free_response_vertical_step", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# The network is a composition of affine maps and ReLUs, all continuous, so its output is a continuous (indeed
# piecewise linear and Lipschitz) function of the input: it cannot jump. The best it can do is a ramp of some width $w$;
# the ramp's slope $1/w$ is a product of weights along the paths through the network, so a steeper step needs larger
# weights, plus a second unit (or other compensating weights) to cancel the slope and make the output flat again after
# the step. The error of the fit is concentrated at the jump and shrinks only as the weights grow.
#
# For classification this is not a limitation on the *boundary*: the network outputs a continuous score (a logit)
# and the class is decided by thresholding it (logit $> 0$, or an argmax). The decision boundary is the set where the
# score crosses zero -- a sharp curve, made of straight pieces (one per linear region it crosses). What stays
# continuous is the *confidence*: near the boundary the predicted probability passes through intermediate values over a
# band whose width shrinks only as the weights grow; a very confident, sharp transition needs large weights (which
# weight decay discourages), and points close to the boundary always get uncertain scores.
#
# === BEGIN MARK SCHEME ===
# 3 points in total:
# * 1 point: continuity -- affine maps and ReLU are continuous, so the composition is continuous; a jump is impossible
#   (½ for "piecewise linear" without saying why that forbids a jump).
# * 1 point: a steeper transition needs larger weights (slope = product of weights) and compensating units/weights to
#   flatten the output again (½ for only one of the two).
# * 1 point: classification thresholds a continuous score, so the boundary itself is sharp (a piecewise linear zero
#   set), while the confidence changes gradually across it / sharpness costs large weights (½ for "the boundary is
#   where the output crosses the threshold" without the consequence for confidence or weights).
# === END MARK SCHEME ===

# %% [markdown]
# ## Check your understanding
# 1. Two inputs, four hidden units in general position: how many regions? With 2 inputs and 2 units? With 5 inputs and
#    4 units?
# 2. A point lies exactly on unit 2's hinge. What is unit 2's output there, and which pattern does Exercise 2 give it?
# 3. An empirical count on a grid gives 40 regions for $D = 12$, $D_i = 2$, while the formula gives 79. Name two
#    reasons.
# 4. The universal approximation theorem says one hidden layer suffices. Why do we still use deep networks?
# 5. Your coordinate network outputs the same grey value at every pixel after training. Name two causes and a check
#    for each.
#
# <details><summary>Answers</summary>
#
# 1. $1 + 4 + 6 = 11$; $1 + 2 + 1 = 4 = 2^2$; $2^4 = 16$ (with $D_i \ge D$ every pattern occurs).
# 2. $\mathrm{ReLU}(0) = 0$: the unit is off, pattern entry `False` (on means $z > 0$).
# 3. Crossings outside the window (the grid only sees part of the plane), regions thinner than the grid spacing --
#    and the network's lines need not be in general position (parallel lines, three through a point) but random ones
#    almost surely are.
# 4. The theorem does not bound the number of units, which can be huge; depth composes functions and can represent
#    some functions with exponentially fewer units (the tent map), and deep networks are in practice easier to train to
#    good solutions -- though random deep networks do not automatically have more regions.
# 5. Dead first-layer units (check: the fraction of units with $z \le 0$ at every pixel; here all of them) or a bad scale
#    (too large a learning rate, unnormalised coordinates; check the loss curve and the pre-activation ranges).
# </details>
#
# ## Summary
# * A shallow network $y = \phi_0 + \sum_d \phi_d\, a[\theta_{d0} + \boldsymbol\theta_d^\top\mathbf x]$: draw one circle per
#   unit and one arrow per weight; in code, one matrix product, a ReLU and a dot product.
# * Each hidden unit has a hinge hyperplane; the activation pattern is constant on convex regions, and on each region
#   the network is one linear function. The review's network has **7** regions; $D$ units in $D_i$ dimensions give at
#   most $\sum_{j\le D_i}\binom{D}{j}$ (Zaslavsky), and a grid count is a lower bound for the window it covers.
# * Depth can multiply regions ($2^L$ pieces from $2L$ units by folding), but typical random or trained networks use a
#   tiny fraction of that capacity. Universal approximation guarantees existence, not size or learnability.
# * Networks are continuous: a step becomes a ramp whose steepness costs large, balanced weights; smooth activations
#   share the limitation. Classification boundaries are sharp because the score is *thresholded*.
# * Coordinate networks are blurry (spectral bias), can get stuck at a constant (dead units, bad scales), and become
#   sharp with random Fourier features of a well-chosen scale.
#
# ## Further reading
# * Review lecture: *How would you draw and write this neural network?*, *Number of output regions*, *Why does flat
#   matter?*, *Neural networks have continuous output*, *My Obsession with Neural Fields*; lecture: *Recap* and *Deep
#   neural networks*.
# * S. Prince, *Understanding Deep Learning*, MIT Press 2023, chapters 3 (shallow networks) and 4 (deep networks).
# * T. Zaslavsky, *Facing up to arrangements: face-count formulas for partitions of space by hyperplanes*, Memoirs of
#   the AMS, 1975.
# * G. Montúfar, R. Pascanu, K. Cho and Y. Bengio, *On the number of linear regions of deep neural networks*, NeurIPS
#   2014.
# * B. Hanin and D. Rolnick, *Complexity of linear regions in deep networks*, ICML 2019; *Deep ReLU networks have
#   surprisingly few activation patterns*, NeurIPS 2019.
# * G. Cybenko, *Approximation by superpositions of a sigmoidal function*, 1989; M. Leshno, V. Lin, A. Pinkus and
#   S. Schocken, *Multilayer feedforward networks with a nonpolynomial activation function can approximate any
#   function*, 1993.
# * M. Telgarsky, *Benefits of depth in neural networks*, COLT 2016 (the tent-map construction).
# * N. Rahaman et al., *On the spectral bias of neural networks*, ICML 2019.
# * M. Tancik et al., *Fourier features let networks learn high frequency functions in low dimensional domains*,
#   NeurIPS 2020.
