# ---
# jupyter:
#   course:
#     budget_s: 90
#     gpu: false
#     minutes: 60
#     title: Double descent
#     topics: min-norm least squares and the interpolation threshold, ridge, a batched
#       MNIST-1D width sweep, loss landscapes
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Double descent: from the classical U-curve to the interpolation threshold and beyond
#
# **Time:** about 60 minutes · **Level:** after the lecture *Deep neural networks* · **Prerequisites:** least
# squares, a little linear algebra (SVD, pseudo-inverse), notebook 00; PyTorch basics.
#
# ## Learning objectives
# By the end of this notebook you can:
# 1. compute the **minimum-norm least-squares** solution for any number of features, and say why `inv(XᵀX)` fails
#    when there are more features than samples;
# 2. produce a **double-descent curve** (test error against model size), locate the **interpolation threshold**, and
#    explain the peak through the norm of the solution;
# 3. show that a small ridge penalty flattens the peak and that the peak moves with the number of samples;
# 4. reproduce double descent in a neural network (MNIST-1D with label noise, width sweep), trained efficiently by
#    batching many models into one computation;
# 5. draw 1-D and 2-D slices of a network's loss landscape along filter-normalised directions.

# %% [markdown]
# Everything runs on a laptop CPU in about a minute and a half; with a GPU the network experiments use it
# automatically. The big neural-network sweep (28 widths × 1000 epochs) is **not** run here: it ships as a data
# file made by `tools/double_descent_sweep.py`, and this notebook runs a smaller version live.

# %%
# %matplotlib inline
# %config InlineBackend.print_figure_kwargs = {"bbox_inches": None}

import matplotlib.pyplot as plt
import numpy as np
import torch

from course_utils import checks, double_descent as dd
from course_utils.data import add_label_noise, make_mnist1d, make_regression_1d, regression_truth
from course_utils.plots import use_style
from course_utils.reproducibility import device, pick, quiet_warnings, seed_everything

quiet_warnings()
use_style()
seed_everything(0)
DEVICE = device()

# %% [markdown]
# ## Recap: three regimes of model size
# The lecture's *Double descent* section (after Belkin et al. 2019 and Boaz Barak's polynomial animation) describes
# what happens as a model with $d$ parameters is fitted to $n$ noisy training points:
#
# * $d$ small: the model cannot represent the true function (**under-fitting**, high bias);
# * $d$ growing towards $n$: it fits more and more of the noise; at $d = n$ -- the **interpolation threshold**, where
#   the model is just big enough to fit every training point exactly -- the fit is forced through every noisy point
#   and the test error peaks;
# * $d > n$: infinitely many parameter vectors fit the training data exactly. Which one we get matters. The
#   **minimum-norm** interpolant is smoother and smoother as $d$ grows, and the test error comes *down again*: the
#   second descent.
#
# For a linear model $\hat y = \boldsymbol\phi(x)^\top \mathbf w$ with feature matrix $\Phi \in \mathbb R^{n\times d}$
# (row $i$ is $\boldsymbol\phi(x_i)^\top$), the minimum-norm least-squares solution is
#
# $$\mathbf w^\star = \Phi^{+}\mathbf y = V\,\Sigma^{+}U^\top\mathbf y, \qquad \Phi = U\Sigma V^\top,\quad
# \Sigma^{+} = \operatorname{diag}(1/\sigma_i \text{ for } \sigma_i > 0,\ 0 \text{ otherwise}).$$
#
# It minimises $\lVert \Phi\mathbf w - \mathbf y\rVert^2$, and among all minimisers it has the smallest
# $\lVert\mathbf w\rVert$. When $d \le n$ and $\Phi$ has full column rank it equals the normal-equations solution
# $(\Phi^\top\Phi)^{-1}\Phi^\top\mathbf y$; when $d > n$, $\Phi^\top\Phi$ ($d\times d$, rank $\le n$) is **singular**
# and that formula is wrong. Ridge regression adds $\lambda\lVert\mathbf w\rVert^2$:
# $\mathbf w_\lambda = V\operatorname{diag}\!\big(\sigma_i/(\sigma_i^2+\lambda)\big)U^\top\mathbf y$.
#
# **A correction to a common claim.** The lecture says that beyond the threshold "SGD will select the minimal norm
# one". That is exactly true for *linear* least squares trained by (stochastic) gradient descent **started from
# zero**: the updates $\Phi^\top(\cdot)$ never leave the row space of $\Phi$, so the iterates converge to $\Phi^{+}\mathbf y$.
# For neural networks there is no such theorem in general; the implicit bias of SGD is more subtle, and Part 2 shows
# double descent there experimentally.

# %% [markdown]
# ## Part 1 -- double descent you can see in seconds
# Our features are the **Legendre polynomials** $P_0(x)=1$, $P_1(x)=x$,
# $(k+1)P_{k+1}(x) = (2k+1)\,x\,P_k(x) - k\,P_{k-1}(x)$, so $\boldsymbol\phi(x) = [P_0(x), \dots, P_{d-1}(x)]$: a
# polynomial of degree $d-1$, the lecture's animation. On $[-1,1]$ they stay between $-1$ and $1$, so degree 100 is as
# easy as degree 3 (powers $x^k$ would be hopelessly ill-conditioned). $P_0 = 1$ is the **bias feature**.
# `course_utils.double_descent.feature_sweep` builds these features and fits every $d$ at once; the two experiments
# below use it. After them you write the pieces yourself (Exercises 1-4).

# %% [markdown]
# ## Experiment 1 -- under, at and beyond the threshold
# We draw $n = 20$ noisy samples of $\sin(\pi x)$ and fit polynomials with $d = 5$, $d = n = 20$ and $d = 100$
# features by the minimum-norm solution (`dd.feature_sweep`, which fits every $d$ from 1 to 120 at once).
#
# ### 🔮 Predict first
# All three fits with $d \ge 20$ pass through every training point. Which of $d = 20$ and $d = 100$ do you expect
# to be wilder between the points?

# %%
N_TRAIN, NOISE = 20, 0.3
D_MAX = 120
x_tr, y_tr = (t[:, 0].numpy() for t in make_regression_1d(N_TRAIN, NOISE, seed=0, fn="sine"))
x_te, y_te = (t[:, 0].numpy() for t in make_regression_1d(1000, NOISE, seed=1000, fn="sine"))
x_grid = np.linspace(-1, 1, 400)
truth = regression_truth("sine", torch.tensor(x_grid)).numpy()
ds = np.arange(1, D_MAX + 1)
sweep = dd.feature_sweep(x_tr, y_tr, x_te, y_te, ds, x_grid=x_grid)

fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
for ax, d in zip(axes, [5, N_TRAIN, 100]):
    ax.plot(x_grid, truth, "k--", lw=1, label="true function")
    ax.plot(x_grid, sweep["grid_pred"][d - 1], label=f"min-norm fit, d = {d}")
    ax.plot(x_tr, y_tr, "o", color="C1", label="training data")
    ax.set(title=f"d = {d}: test MSE {sweep['test_mse'][d - 1]:.3g}", xlabel="x", ylim=(-3, 3))
axes[0].set_ylabel("y")
axes[0].legend(loc="lower left")
plt.show()

# %% [markdown]
# **What to notice:** at $d = n$ there is exactly one interpolating polynomial and it swings wildly between the
# points; with $d = 100$ the *minimum-norm* interpolant also hits every point but spends its norm carefully and is
# much calmer.

# %% [markdown]
# ## Experiment 2 -- the double-descent curve and the norm of the solution
# ### 🔮 Predict first
# Sketch the test error against $d$ from 1 to 120. Where is it largest? And the norm $\lVert\mathbf w^\star\rVert$?

# %%
fig, (ax_e, ax_n) = plt.subplots(1, 2, figsize=(12, 3.8))
ax_e.semilogy(ds, sweep["train_mse"] + 1e-16, label="training MSE")
ax_e.semilogy(ds, sweep["test_mse"], label="test MSE")
ax_e.axvline(N_TRAIN, color="C3", ls=":", label=f"d = n = {N_TRAIN}")
ax_e.set(title=f"Double descent: n = {N_TRAIN} noisy samples", xlabel="number of features d", ylabel="mean squared error",
         ylim=(1e-3, None))
ax_e.legend()
ax_n.semilogy(ds, sweep["norm"], color="C2", label="‖w*‖")
ax_n.axvline(N_TRAIN, color="C3", ls=":", label=f"d = n = {N_TRAIN}")
ax_n.set(title="Norm of the minimum-norm solution", xlabel="number of features d", ylabel="‖w*‖₂")
ax_n.legend()
plt.show()

# %% [markdown]
# **What to notice:** the test error peaks exactly where the training error first hits zero, at $d = n$ (the dotted
# line), and so does the
# norm of the solution: to pass through every noisy point with barely enough freedom, the fit needs huge
# coefficients. Every extra feature beyond $n$ gives the fit more ways to interpolate, and the minimum-norm choice
# uses them to *shrink* the norm -- that is why the curve comes back down. (Log scale: the peak is orders of magnitude
# above the rest.)

# %%
# NBVAL_CHECK_OUTPUT
print("training MSE below 1e-10 for every d >= n =", N_TRAIN, ":", bool(np.all(sweep["train_mse"][N_TRAIN - 1:] < 1e-10)),
      "; for d = n - 1:", bool(sweep["train_mse"][N_TRAIN - 2] < 1e-10))
print("test error peaks at d =", int(ds[np.argmax(sweep["test_mse"])]), "; norm peaks at d =", int(ds[np.argmax(sweep["norm"])]))
print("second descent (test MSE at d = 120 below 1% of the peak):", bool(sweep["test_mse"][-1] < 0.01 * sweep["test_mse"].max()))


# %% [markdown]
# ## Now build it yourself: the four pieces behind these pictures
# The experiments above used the course's `dd.feature_sweep`. Exercises 1-4 rebuild it from its parts: the feature
# map, the minimum-norm solution (read the recap's SVD formula again), the test-error curve and the threshold finder.
# The demos after Exercise 4 -- the widget and Part 2 -- call your `interpolation_threshold` to mark the threshold in
# their figures, so finish it first.
#
# ### Exercise 1 -- the feature map (2 points)
# Implement `legendre_features(x, d)`. Use the recurrence above, or `numpy.polynomial.legendre.legvander`. The hidden
# tests check $d = 1$ (only the bias column), large $d$, and that the first column is the bias.

# %% nbgrader={"grade": false, "grade_id": "legendre_features_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def legendre_features(x, d):
    """Legendre feature matrix.

    Args:
        x: 1-D array of n inputs in [-1, 1].
        d: number of features, an integer >= 1.
    Returns:
        float64 array of shape (n, d); column k is P_k(x), so column 0 is all ones.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    Phi = np.empty((len(x), d))
    Phi[:, 0] = 1.0
    if d > 1:
        Phi[:, 1] = x
    for k in range(1, d - 1):
        Phi[:, k + 1] = ((2 * k + 1) * x * Phi[:, k] - k * Phi[:, k - 1]) / (k + 1)
    return Phi
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "legendre_features_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 1
x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
Phi = checks.call(legendre_features, x, 3)
checks.check_shape(Phi, (5, 3), "legendre_features(x, 3)")
checks.check_close(Phi[:, 0], np.ones(5), "column 0 of legendre_features(x, 3) (the bias feature P_0 = 1)")
checks.check_close(Phi, np.stack([np.ones(5), x, (3 * x**2 - 1) / 2], axis=1), "legendre_features(x, 3)")
### BEGIN HIDDEN TESTS
from numpy.polynomial import legendre as _L

rng = np.random.default_rng(3)
x = rng.uniform(-1, 1, 17)
checks.check_shape(checks.call(legendre_features, x, 1), (17, 1), "legendre_features(x, 1)", verbose=False)
checks.check_close(checks.call(legendre_features, x, 1), np.ones((17, 1)), "legendre_features(x, 1): only the bias column", verbose=False)
Phi = checks.call(legendre_features, x, 40)
checks.check_shape(Phi, (17, 40), "legendre_features(x, 40)", verbose=False)
checks.check_close(Phi[:, 0], np.ones(17), "column 0 of legendre_features(x, 40) must be the bias feature (all ones)", verbose=False)
checks.check_close(Phi, _L.legvander(x, 39), "legendre_features(x, 40)", atol=1e-9, verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 -- the minimum-norm solution (3 points)
# Implement `min_norm_solve(Phi, y)`: the least-squares solution with the smallest norm, for **any** shape of `Phi` --
# more rows than columns, more columns than rows, and rank-deficient. `np.linalg.pinv`, `np.linalg.lstsq(...,
# rcond=None)` or your own SVD are all fine. The hidden tests compare with `numpy.linalg.lstsq` and `pinv` on
# under- and over-determined systems, including rank-deficient ones. Do **not** use `inv(Phi.T @ Phi)`: think
# about why before you read the recap again.

# %% nbgrader={"grade": false, "grade_id": "min_norm_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def min_norm_solve(Phi, y):
    """Minimum-norm least-squares solution of Phi @ w ≈ y.

    Args:
        Phi: float array of shape (n, d), any n and d, possibly rank-deficient.
        y: float array of shape (n,).
    Returns:
        w: float array of shape (d,), minimising ||Phi w - y|| and, among all minimisers, ||w||.
    """
    ### BEGIN SOLUTION
    U, s, Vt = np.linalg.svd(np.asarray(Phi, dtype=np.float64), full_matrices=False)
    keep = s > 1e-12 * s.max()
    return Vt[keep].T @ ((U[:, keep].T @ np.asarray(y, dtype=np.float64)) / s[keep])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "min_norm_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 2
rng = np.random.default_rng(0)
A = rng.normal(size=(8, 3)); b = rng.normal(size=8)          # over-determined: 8 equations, 3 unknowns
w = checks.call(min_norm_solve, A, b)
checks.check_shape(w, (3,), "min_norm_solve(Phi, y) for Phi of shape (8, 3)")
checks.check_close(w, np.linalg.lstsq(A, b, rcond=None)[0], "min_norm_solve on an over-determined system", atol=1e-8)
A = rng.normal(size=(4, 9)); b = rng.normal(size=4)          # under-determined: d > n
w = checks.as_array(checks.call(min_norm_solve, A, b), "min_norm_solve(Phi, y)")
checks.check_close(A @ w, b, "Phi @ w for a 4 x 9 system (d > n: the fit must interpolate; note that Phi.T @ Phi "
                   "is then singular, so inv(Phi.T @ Phi) cannot be used)", atol=1e-8)
checks.check_close(w, np.linalg.pinv(A) @ b, "min_norm_solve on an under-determined system (4 x 9)", atol=1e-8)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(11)
def _probe(A, b, what):
    w = checks.call(min_norm_solve, A, b)
    checks.check_shape(w, (A.shape[1],), f"min_norm_solve for {what}", verbose=False)
    checks.check_close(w, np.linalg.pinv(A) @ b, f"min_norm_solve for {what} (compared with pinv)", atol=1e-7, verbose=False)
    checks.check_close(w, np.linalg.lstsq(A, b, rcond=None)[0], f"min_norm_solve for {what} (compared with lstsq)", atol=1e-7, verbose=False)
_probe(rng.normal(size=(30, 12)), rng.normal(size=30), "a 30 x 12 system (over-determined)")
_probe(rng.normal(size=(10, 60)), rng.normal(size=10), "a 10 x 60 system (under-determined: d > n, where inv(Phi.T @ Phi) is singular)")
_probe(rng.normal(size=(7, 7)), rng.normal(size=7), "a square 7 x 7 system")
_probe(rng.normal(size=(20, 3)) @ rng.normal(size=(3, 8)), rng.normal(size=20), "a rank-3, 20 x 8 system (over-determined, rank-deficient)")
_probe(rng.normal(size=(6, 2)) @ rng.normal(size=(2, 15)), rng.normal(size=6), "a rank-2, 6 x 15 system (under-determined, rank-deficient)")
A = rng.normal(size=(12, 5)); A = np.hstack([A, A[:, :2]])    # duplicated columns
_probe(A, rng.normal(size=12), "a 12 x 7 system with two duplicated columns")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3 -- the test-error curve (2 points)
# Implement `test_error_curve(Phi_train, y_train, Phi_test, y_test, ds)`: for each $d$ in `ds`, fit the minimum-norm
# solution on the **training** data using the first $d$ columns of `Phi_train`, then return the mean squared error on
# the **test** data (first $d$ columns of `Phi_test`). Use your `min_norm_solve` or `np.linalg.lstsq(..., rcond=None)`.
# The hidden tests catch a model fitted on the test set and a model that ignores $d$.

# %% nbgrader={"grade": false, "grade_id": "test_error_curve_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def test_error_curve(Phi_train, y_train, Phi_test, y_test, ds):
    """Test MSE of the minimum-norm fit with the first d features, for each d in ds.

    Args:
        Phi_train: (n_train, D) training features; y_train: (n_train,) targets.
        Phi_test: (n_test, D) test features; y_test: (n_test,) targets.
        ds: sequence of feature counts, each in 1..D.
    Returns:
        float array of shape (len(ds),): mean((Phi_test[:, :d] @ w_d - y_test)**2), where w_d is
        fitted on the training data only.
    """
    ### BEGIN SOLUTION
    errors = []
    for d in ds:
        w = np.linalg.lstsq(Phi_train[:, :d], y_train, rcond=None)[0]
        errors.append(np.mean((Phi_test[:, :d] @ w - y_test) ** 2))
    return np.array(errors)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_error_curve_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 3
rng = np.random.default_rng(1)
xa, xb = rng.uniform(-1, 1, 12), rng.uniform(-1, 1, 50)
ya, yb = np.sin(np.pi * xa) + 0.1 * rng.normal(size=12), np.sin(np.pi * xb) + 0.1 * rng.normal(size=50)
Pa, Pb = np.polynomial.legendre.legvander(xa, 29), np.polynomial.legendre.legvander(xb, 29)
_ds = [1, 4, 12, 30]
curve = checks.call(test_error_curve, Pa, ya, Pb, yb, _ds)
checks.check_shape(curve, (4,), "test_error_curve(..., ds) with 4 values of d")
expected = dd.feature_sweep(xa, ya, xb, yb, _ds)["test_mse"]
fit_on_test = dd.feature_sweep(xb, yb, xb, yb, _ds)["test_mse"]
checks.check_true(not np.allclose(checks.as_array(curve), fit_on_test, rtol=1e-3),
                  "test_error_curve: these are the errors of a model fitted on the TEST set. Fit w on "
                  "(Phi_train[:, :d], y_train) only, then measure the error on (Phi_test[:, :d], y_test).")
checks.check_close(curve, expected, "test_error_curve", rtol=1e-4, inputs=np.array(_ds))
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(5)
xa, xb = rng.uniform(-1, 1, 20), rng.uniform(-1, 1, 200)
ya, yb = np.cos(2 * xa) + 0.3 * rng.normal(size=20), np.cos(2 * xb) + 0.3 * rng.normal(size=200)
Pa, Pb = np.polynomial.legendre.legvander(xa, 59), np.polynomial.legendre.legvander(xb, 59)
_ds = np.arange(1, 61)
curve = checks.call(test_error_curve, Pa, ya, Pb, yb, _ds)
ref = dd.feature_sweep(xa, ya, xb, yb, _ds)
_on_test = np.array([np.mean((Pb[:, :d] @ np.linalg.lstsq(Pb[:, :d], yb, rcond=None)[0] - yb) ** 2) for d in _ds])
checks.check_true(not np.allclose(np.asarray(curve, dtype=float)[:15], _on_test[:15], rtol=1e-3),
                  "test_error_curve: your errors are those of a model fitted on the TEST set. Fit w on "
                  "(Phi_train[:, :d], y_train) only, then measure the error on (Phi_test[:, :d], y_test).")
checks.check_close(curve, ref["test_mse"], "test_error_curve for d = 1..60 (n_train = 20)", rtol=1e-3, verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4 -- locating the interpolation threshold (2 points)
# The interpolation threshold is the **smallest** model size at which the training error is (numerically) zero.
# Implement `interpolation_threshold(sizes, train_errors, tol)`: return the first size whose training error is
# **at most** `tol` (`error <= tol`; an error exactly equal to `tol` counts), as an element of `sizes` (an
# integer), not its index; return `None` if no training error is `<= tol`. `sizes` is increasing; the curve may touch
# `tol`, rise again and fall (return the first size). The edge case that matters: the demos below call it with
# `tol=0.0` on classification errors (percentages, exactly 0 once every training label is fitted), where only
# `error <= 0` finds the threshold -- a strict `error < tol` never does. It works for any curve: numbers of
# features here, hidden widths in Part 2.

# %% nbgrader={"grade": false, "grade_id": "threshold_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def interpolation_threshold(sizes, train_errors, tol=1e-8):
    """Smallest model size whose training error is <= tol.

    Args:
        sizes: increasing sequence of model sizes (ints).
        train_errors: sequence of the same length, the training error at each size.
        tol: the training error that counts as zero.
    Returns:
        An int from sizes (the first with train_error <= tol; equality counts, also for
        tol = 0.0), or None if no training error is <= tol.
    """
    ### BEGIN SOLUTION
    for size, err in zip(sizes, train_errors):
        if err <= tol:
            return int(size)
    return None
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "threshold_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 4
checks.check_equal(checks.call(interpolation_threshold, [1, 2, 3, 4, 5], [0.5, 0.2, 1e-12, 0.0, 0.0]), 3,
                   "interpolation_threshold([1, 2, 3, 4, 5], [0.5, 0.2, 1e-12, 0, 0])")
checks.check_true(checks.call(interpolation_threshold, [1, 2], [0.5, 0.2]) is None,
                  "interpolation_threshold should return None when the training error never reaches tol",
                  verbose=True, success="returns None when the model never interpolates")
checks.check_equal(checks.call(interpolation_threshold, [4, 8, 16, 32], [12.5, 3.0, 0.0, 0.0], tol=0.0), 16,
                   "interpolation_threshold([4, 8, 16, 32], [12.5, 3, 0, 0], tol=0.0) -- an error equal to tol counts "
                   "(error <= tol, not error < tol): with tol=0.0 a strict comparison never finds the threshold")
### BEGIN HIDDEN TESTS
checks.check_equal(checks.call(interpolation_threshold, [10, 20, 30], [0.3, 0.1, 0.1], tol=0.1), 20,
                   "interpolation_threshold([10, 20, 30], [0.3, 0.1, 0.1], tol=0.1) -- an error exactly equal to tol "
                   "counts (error <= tol, not error < tol)", verbose=False)
checks.check_equal(checks.call(interpolation_threshold, np.array([2, 5, 9]), np.array([40.0, 0.0, 0.0]), tol=0.0), 5,
                   "interpolation_threshold on percentages with tol=0.0 (as the demos call it): error <= tol, "
                   "not error < tol", verbose=False)
checks.check_equal(checks.call(interpolation_threshold, [10, 20, 40, 80], [3.0, 0.05, 0.0, 0.0], tol=0.1), 20,
                   "interpolation_threshold([10, 20, 40, 80], [3, 0.05, 0, 0], tol=0.1) -- return the size, not its index",
                   verbose=False)
checks.check_equal(checks.call(interpolation_threshold, np.array([2, 4, 6, 8, 10]), np.array([1.0, 0.0, 0.3, 0.0, 0.0]), tol=1e-8), 4,
                   "interpolation_threshold when the training error touches zero once, rises and falls again (the FIRST size)",
                   verbose=False)
checks.check_equal(checks.call(interpolation_threshold, [5, 7, 9], [0.0, 0.0, 0.0]), 5,
                   "interpolation_threshold when every model interpolates", verbose=False)
_x = np.random.default_rng(8).uniform(-1, 1, 15)
_curve = dd.feature_sweep(_x, np.sin(3 * _x), _x, np.sin(3 * _x), np.arange(1, 41))["train_mse"]
checks.check_equal(checks.call(interpolation_threshold, np.arange(1, 41), _curve, tol=1e-10),
                   int(np.arange(1, 41)[np.flatnonzero(_curve <= 1e-10)[0]]),
                   "interpolation_threshold on a real training-error curve", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# Your `interpolation_threshold` on Experiment 2's training-error curve (this cell uses your answer to Exercise 4):

# %%
# NBVAL_CHECK_OUTPUT
threshold = interpolation_threshold(ds, sweep["train_mse"], tol=1e-10)
print("interpolation threshold d =", threshold, "for n =", N_TRAIN)

# %% [markdown]
# ## Experiment 3 -- ridge flattens the peak, and the peak moves with n
# ### 🔮 Predict first
# (a) With a small ridge penalty $\lambda = 10^{-3}$, what happens to the peak? (b) With $n = 30$ samples instead of
# 20, where does it move?

# %%
fig, (ax_r, ax_m) = plt.subplots(1, 2, figsize=(12, 3.8))
for lam in [0.0, 1e-6, 1e-3, 1e-1]:
    s = sweep if lam == 0 else dd.feature_sweep(x_tr, y_tr, x_te, y_te, ds, ridge=lam)
    ax_r.semilogy(ds, s["test_mse"], label="min-norm (λ = 0)" if lam == 0 else f"ridge λ = {lam:g}")
ax_r.axvline(N_TRAIN, color="k", ls=":", lw=1)
ax_r.set(title=f"Ridge flattens the peak (n = {N_TRAIN})", xlabel="number of features d", ylabel="test MSE")
ax_r.legend()
peaks = {}
for n_demo in [10, 20, 30]:
    xa, ya = (t[:, 0].numpy() for t in make_regression_1d(n_demo, NOISE, seed=n_demo, fn="sine"))
    s = dd.feature_sweep(xa, ya, x_te, y_te, ds)
    peaks[n_demo] = int(ds[np.argmax(s["test_mse"])])
    line, = ax_m.semilogy(ds, s["test_mse"], label=f"n = {n_demo}")
    ax_m.axvline(n_demo, color=line.get_color(), ls=":", lw=1)
ax_m.set(title="The peak sits at d = n", xlabel="number of features d", ylabel="test MSE")
ax_m.legend()
plt.show()
ridge_peak = dd.feature_sweep(x_tr, y_tr, x_te, y_te, ds, ridge=1e-3)["test_mse"].max()

# %% [markdown]
# **What to notice:** even $\lambda = 10^{-3}$ removes the peak almost entirely (it caps the norm the fit may use), and
# the dotted lines show that the peak follows $n$: it is the *ratio* of parameters to data points that matters, not
# model size alone.

# %%
# NBVAL_CHECK_OUTPUT
print("peak position for n = 10, 20, 30:", [peaks[k] for k in (10, 20, 30)])
print("ridge 1e-3 lowers the peak more than 100x:", bool(ridge_peak < sweep["test_mse"].max() / 100))

# %% [markdown]
# ## Widget -- explore the curve
# Move $d$: the fit (left) and the cursor on the error curve (right) move together. Change the noise, the number of
# samples $n$ or switch ridge on; *resample* draws new training data. Each setting is fitted once for every $d$, so
# moving the $d$ slider only looks up numbers (`course_utils.double_descent_app` holds the widget's code).
#
# ### 🔮 Predict first
# Set the noise to 0. Is there still a peak at $d = n$?

# %%
from course_utils.double_descent_app import polynomial_fit_app

part1_app = polynomial_fit_app(n=N_TRAIN, noise=NOISE, d_max=D_MAX)
part1_app

# %% [markdown]
# The answer, from the widget's own numbers: without noise the peak at $d = n$ is gone. The square system is still
# ill-conditioned, but there is nothing for it to amplify -- the data lie on a smooth function, which the
# interpolant at $d = n$ follows; the largest test error is then the under-fitting one at $d = 1$. The peak is
# noise amplified by a just-interpolating fit.

# %%
noise_runs = {noise: part1_app.update(d=N_TRAIN, n=N_TRAIN, noise=noise, ridge=False).data for noise in (NOISE, 0.0)}
state = part1_app.update(noise=NOISE)

# %%
# NBVAL_CHECK_OUTPUT
for noise, run in noise_runs.items():
    print(f"noise {noise}: test MSE at d = n = {N_TRAIN} about 1e{round(np.log10(run['test_mse'])):+d}; "
          f"largest at d = {run['peak_d']}")

# %% [markdown]
# ## Part 2 -- double descent in a neural network
# UDL (Prince, *Understanding Deep Learning*, section 8.4 and notebook 8.3) trains MLPs
# $40 \to w \to w \to 10$ with ReLU on **MNIST-1D** (4000 training examples, **15% of the training labels wrong**) for
# hidden widths $w$ from 2 to 400, 1000 epochs of SGD each. Label noise is what makes the peak visible: near the
# threshold, the network can *just* memorise the wrong labels, and doing so wrecks its test predictions.
#
# Training 28 networks for 1000 epochs each is too long for a lesson, so the full sweep ships as a data file (below),
# and this notebook trains 12 widths for 60 epochs live. `dd.train_width_sweep` trains **all widths at once**: each
# group of similar widths is padded to its largest width and stored as stacked weight tensors, so one batched matrix
# product per layer computes every model of the group. Padded units start at zero and stay exactly zero, so each model
# follows the same trajectory as it would alone (the course's unit tests check this).
#
# ### 🔮 Predict first
# With 4000 training examples, roughly what width $w$ gives as many parameters as training examples
# ($w^2 + 52w + 10$ parameters)? Where do you expect the test error to peak?

# %%
N_LIVE = pick(full=4000, fast=200)
data = make_mnist1d(num_samples=2 * N_LIVE, train_split=0.5, seed=42)
y_noisy, flipped = add_label_noise(data["y_train"], 0.15, num_classes=10, seed=0)
LIVE_WIDTHS = pick(full=[4, 8, 12, 16, 20, 26, 35, 45, 60, 80, 120, 200], fast=[4, 16, 64])
LIVE_EPOCHS, LIVE_LR = pick(full=60, fast=2), 0.05
print(f"{len(y_noisy)} training examples, {int(flipped.sum())} with a wrong label; {len(data['y_test'])} test examples")
seed_everything(0)
live = dd.train_width_sweep(data["x_train"], y_noisy, data["x_test"], data["y_test"], LIVE_WIDTHS,
                            epochs=LIVE_EPOCHS, lr=LIVE_LR, seed=0, device=DEVICE)


# %%
def plot_width_sweep(result, epoch_index=-1, ax=None, title=""):
    # Train and test error against hidden width at one recorded epoch, with the two reference widths.
    ax = ax or plt.gca()
    widths, params = result["widths"], result["num_params"]
    n_train = result.get("num_train", None)
    ax.semilogx(widths, result["train_error"][epoch_index], "o-", ms=3, label="training error (noisy labels)")
    ax.semilogx(widths, result["test_error"][epoch_index], "o-", ms=3, label="test error")
    thr = interpolation_threshold(widths, result["train_error"][epoch_index], tol=0.0)  # your Exercise 4
    if thr is not None:
        ax.axvline(thr, color="C3", ls=":", label=f"training error reaches 0: w = {thr}")
    if n_train is not None:
        w_eq = widths[np.argmin(np.abs(params - n_train))]
        ax.axvline(w_eq, color="k", ls="--", lw=1, label=f"#parameters ≈ #training examples: w ≈ {w_eq}")
    ax.set(title=title, xlabel="hidden width w", ylabel="error (%)", ylim=(0, 100))
    ax.legend(fontsize="small")
    return ax


live["num_train"] = len(y_noisy)
plot_width_sweep(live, title=f"Live sweep: {len(y_noisy)} examples, 15% label noise, {LIVE_EPOCHS} epochs at lr {LIVE_LR}")
plt.show()

# %% [markdown]
# **What to notice:** small networks under-fit. The test error has a bump near the dashed line, where the number of
# parameters equals the number of training examples, and falls again for the widest networks. The training error,
# though, reaches zero (the dotted line: every label memorised, the 600 wrong ones too) only at a *larger* width,
# where the test error is already coming down. That is the price of a short run: 60 epochs (at 5× UDL's learning rate)
# are not enough for the networks near the bump to memorise everything. With longer training the width at which the
# training error reaches zero moves left, towards the bump, and the bump grows -- the full run below shows it.

# %%
# NBVAL_CHECK_OUTPUT
final_test, final_train = live["test_error"][-1], live["train_error"][-1]
w_eq = int(LIVE_WIDTHS[np.argmin(np.abs(live["num_params"] - len(y_noisy)))])
past_first_descent = np.asarray(LIVE_WIDTHS) >= 10                  # the tiny networks under-fit: skip them
bump_w = int(np.asarray(LIVE_WIDTHS)[past_first_descent][np.argmax(final_test[past_first_descent])])
zero_w = interpolation_threshold(LIVE_WIDTHS, final_train, tol=0.0)  # your Exercise 4
print("widths trained:", len(live["widths"]), "; #parameters ≈ #training examples at w =", w_eq)
print("test-error bump at w =", bump_w, "; training error first 0 at w =", zero_w)
print("bump within a factor 1.5 of w =", w_eq, ":", bool(w_eq / 1.5 <= bump_w <= 1.5 * w_eq))
print("training error reaches 0 only beyond the bump:", zero_w is not None and zero_w > bump_w)

# %% [markdown]
# ### The full sweep (shipped with the course)
# `tools/double_descent_sweep.py` runs UDL's full setting -- 4000 training and 4000 test examples, 15% label noise,
# 28 widths from 2 to 400, up to 1000 epochs, SGD (learning rate 0.01, momentum 0.9, batches of 100) -- and saves
# train and test error at about 35 log-spaced epochs to `course_utils/assets/double_descent_mnist1d.npz`. The cell
# below prints how many epochs the shipped file holds and whether the run was complete.

# %%
full = dd.load_sweep()
settings = __import__("json").loads(str(full["settings"]))
full["num_train"] = settings["num_train"]
print(f"{settings['num_train']} training examples, {len(full['widths'])} widths, recorded up to epoch {int(full['epochs'][-1])} "
      f"on {settings['device']}; run complete: {bool(full['complete'])}")
plot_width_sweep(full, title=f"Full sweep: MNIST-1D, 4000 examples, 15% label noise, epoch {int(full['epochs'][-1])}")
plt.show()

# %% [markdown]
# **What to notice:** after 1000 epochs the peak of the test error and the width where the training error reaches zero
# nearly coincide, close to the dashed line where the number of parameters equals the number of training examples.
# Earlier in training the training error reaches zero only at much larger widths, and that width moves left as
# training goes on (printed below) -- which is why the 60-epoch live run found it far to the right of its bump. For
# 10-class cross-entropy the threshold is where the network can *memorise* these labels, which depends on the
# architecture and the training time, not on a parameter count alone (Nakkiran et al. call it the *effective model
# complexity*).

# %%
# NBVAL_CHECK_OUTPUT
fin, widths = full["test_error"][-1], full["widths"]
beyond_first_descent = widths >= 10                      # the tiny networks under-fit: skip the classical part
peak_w = int(widths[beyond_first_descent][np.argmax(fin[beyond_first_descent])])
thr_w = interpolation_threshold(widths, full["train_error"][-1], tol=0.0)
print("widths in the shipped sweep:", len(widths), "from", int(widths[0]), "to", int(widths[-1]))
print("second peak within a factor 2 of the interpolation threshold:",
      thr_w is not None and bool(thr_w / 2 <= peak_w <= 2 * thr_w))
print("widest network beats the peak by more than 5 points:", bool(fin[-1] < fin[beyond_first_descent].max() - 5))
w_eq_full = int(widths[np.argmin(np.abs(full["num_params"] - settings["num_train"]))])
print(f"after epoch {int(full['epochs'][-1])}: test-error peak at w = {peak_w}, training error 0 from w = {thr_w}, "
      f"#parameters ≈ #examples at w = {w_eq_full}")
for epoch in (100, 200, 500):
    ei = int(np.searchsorted(full["epochs"], epoch, side="right")) - 1
    print(f"  after epoch {int(full['epochs'][ei])}: training error 0 from w =",
          interpolation_threshold(widths, full["train_error"][ei], tol=0.0))

# %% [markdown]
# ### Widget -- browse the full sweep (width × epochs)
# Double descent also happens **over training time** (*epoch-wise double descent*, Nakkiran et al. 2019). Move the
# epoch slider to watch the width curve form; move the width slider to see one network's errors over training.

# %%
from course_utils.double_descent_app import sweep_browser_app  # the widget's code

sweep_app = sweep_browser_app(full, threshold=lambda w, err: interpolation_threshold(w, err, tol=0.0),  # your Ex. 4
                              num_train=settings["num_train"])
sweep_app

# %% [markdown]
# ## Going further -- the loss landscape
# The lecture shows a picture from Li et al. (2018) of a deep network's loss around its trained weights $\theta^\star$
# and calls it "not so friendly". We can only look at slices: $f(\alpha) = L(\theta^\star + \alpha\delta)$ along a
# random direction $\delta$, or $f(\alpha,\beta) = L(\theta^\star + \alpha\delta + \beta\eta)$ on a plane. Li et al.'s
# **filter normalisation** scales each filter of $\delta$ (here: each unit's incoming weights, a row of a weight
# matrix) to the norm of the same filter in $\theta^\star$, so that slices of different networks are comparable; bias
# directions are zero. `course_utils.landscape` implements it.
#
# ### 🔮 Predict first
# Which has the flatter, wider minimum along a random direction: a network near the interpolation threshold, or a
# much wider one?

# %%
from course_utils.landscape import filter_normalized_direction, loss_slice_1d, loss_slice_2d

loss_fn = torch.nn.functional.cross_entropy
xs, ys = data["x_train"][:1000].to(DEVICE), y_noisy[:1000].to(DEVICE)  # 1000 examples keep it quick
alphas = np.linspace(-1, 1, pick(full=41, fast=9))
narrow_w = LIVE_WIDTHS[len(LIVE_WIDTHS) // 2 - 1] if len(LIVE_WIDTHS) > 3 else LIVE_WIDTHS[0]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
for w in [narrow_w, LIVE_WIDTHS[-1]]:
    net = dd.trained_mlp(live["model"], w)
    for k in range(3):
        direction = filter_normalized_direction(net, torch.Generator().manual_seed(k))
        ax1.plot(alphas, loss_slice_1d(net, loss_fn, xs, ys, direction, alphas),
                 color="C0" if w == narrow_w else "C1", alpha=0.8, label=f"width {w}" if k == 0 else None)
ax1.set(title="1-D slices (3 random filter-normalised directions each)", xlabel="α", ylabel="training loss",
        yscale="log")
ax1.legend()
net = dd.trained_mlp(live["model"], LIVE_WIDTHS[-1])
g = torch.Generator().manual_seed(10)
d1, d2 = filter_normalized_direction(net, g), filter_normalized_direction(net, g)
grid = np.linspace(-1, 1, pick(full=21, fast=5))
Z = loss_slice_2d(net, loss_fn, xs, ys, d1, d2, grid, grid)
cs = ax2.contourf(grid, grid, np.log10(Z), levels=20, cmap="viridis")
fig.colorbar(cs, ax=ax2, label="log10 training loss")
ax2.plot([0], [0], "w*", ms=12, label="trained weights θ*")
ax2.set(title=f"2-D slice, width {LIVE_WIDTHS[-1]}", xlabel="α (direction δ)", ylabel="β (direction η)")
ax2.legend(loc="upper right")
plt.show()

# %% [markdown]
# **What to notice:** with filter normalisation, $\alpha = 1$ means "a step as large as the weights themselves". The
# wide network, which memorised every training label (the wrong ones too), sits at the bottom of a deep, narrow well:
# its training loss is hundreds of times lower than the narrow network's (the ratio is printed below), and a step of a
# quarter of its weights' size raises it by orders of magnitude (log scale). The narrow network's curves are flatter,
# but do not read that as a *better* minimum: it is a **plateau of high loss** -- that network never fitted its
# training data -- and its test error is no lower than the wide network's (printed below). "Flat minima generalise"
# compares minima of similar loss; here flatness only says the model is too small to fit. Both slices of these
# *shallow* networks look smooth and bowl-shaped: the chaotic, "unfriendly" landscapes in the lecture's picture come
# from *deep* networks without skip connections (Li et al. show that skip connections and width make them smooth
# again). A slice is only a 1-D or 2-D view of a function of thousands of weights, so try several directions before
# concluding anything.

# %%
# NBVAL_CHECK_OUTPUT
centre_loss = {}
for w in [narrow_w, LIVE_WIDTHS[-1]]:
    with torch.no_grad():
        centre_loss[w] = float(loss_fn(dd.trained_mlp(live["model"], w)(xs), ys))
wi_narrow, wi_wide = LIVE_WIDTHS.index(narrow_w), len(LIVE_WIDTHS) - 1
print(f"training loss at θ* (1000 examples): width {narrow_w} {centre_loss[narrow_w]:.2f}, width {LIVE_WIDTHS[-1]} "
      f"{centre_loss[LIVE_WIDTHS[-1]]:.1g}; ratio ≈ {centre_loss[narrow_w] / centre_loss[LIVE_WIDTHS[-1]]:.1g}")
print(f"width {narrow_w}: training error {live['train_error'][-1][wi_narrow]:.0f}%, test error "
      f"{live['test_error'][-1][wi_narrow]:.0f}%;  width {LIVE_WIDTHS[-1]}: training error "
      f"{live['train_error'][-1][wi_wide]:.0f}%, test error {live['test_error'][-1][wi_wide]:.0f}%")

# %% [markdown]
# ### Free response (3 points, graded by your instructor)
# Why can a model with **more parameters than data points** generalise better than one with **exactly as many**? Use
# what you saw: the norm of the solution, the choice among many interpolants, and the role of noise. Mention what
# changes with a ridge penalty.

# %% [markdown] nbgrader={"grade": true, "grade_id": "free_response_overparameterised", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# With exactly as many parameters as data points ($d = n$) there is, generically, exactly **one** parameter vector
# that fits the training data, and it must pass through every *noisy* point with no freedom left. The feature matrix
# is square and badly conditioned (smallest singular value near 0), so $\mathbf w = \Phi^{-1}\mathbf y$ amplifies the
# noise: the norm of the solution explodes and the function swings wildly between the points, so the test error is
# huge. With $d > n$ there are infinitely many interpolants; the minimum-norm one (which gradient descent from zero
# finds for linear models) uses the extra directions to fit the same points with a much *smaller* norm, i.e. a
# smoother function, so the variance caused by the noise falls and the test error comes back down. Without noise the
# peak nearly disappears; a ridge penalty also caps the norm and removes the peak -- the peak is a variance effect
# of unregularised interpolation, not of size itself.
#
# **Mark scheme (3 points):** 1 point: at $d = n$ the interpolant is unique and forced through the noise (ill-
# conditioned, huge norm/variance). 1 point: beyond $n$ many interpolants exist and the minimum-norm (implicitly
# selected) one is smoother / has smaller norm, so test error falls. 1 point: connects to noise or regularisation
# (the peak is driven by label/target noise; ridge or early stopping removes it). Half points for partially correct
# statements; no credit for "more parameters always generalise better".

# %% [markdown]
# ## Check your understanding
# 1. Why does `np.linalg.inv(Phi.T @ Phi)` fail (or return garbage) when $d > n$?
# 2. In Part 2's live run the test error has its bump near the width where parameters ≈ training examples, but the
#    training error reaches zero only at a larger width. Why, and what does longer training change?
# 3. What happens to the peak if you remove all noise from the training targets (Part 1 widget, noise 0)? Why?
# 4. Why do we *not* choose $d$ by the test error? What should we use instead?
#
# <details><summary>Answers</summary>
#
# 1. $\Phi^\top\Phi$ is $d\times d$ with rank at most $n < d$: it is singular. Floating point may still "invert" it,
#    giving enormous, meaningless numbers.
# 2. Whether a network fits every (noisy) training label depends not only on its size but on the optimiser and the
#    number of epochs: 60 epochs are too few for the networks near the bump to memorise all 600 wrong labels. With
#    longer training the width at which the training error reaches zero moves left, towards the bump, and the bump
#    grows (the full sweep). Parameters ≈ examples is only a rough guide to the width that can just memorise.
# 3. It disappears (the widget cell after Part 1's widget prints it): the square system is still ill-conditioned, but
#    without noise there is nothing to amplify, and the largest test error is the under-fitting one at $d = 1$. The
#    peak is the noise being amplified by a badly conditioned, just-interpolating fit.
# 4. Choosing by the test error fits a hyperparameter on the test set; the test error then no longer estimates
#    performance on new data. Use a validation set (or cross-validation).
# </details>
#
# ## Summary
# * The minimum-norm least-squares solution $\Phi^{+}\mathbf y$ works for every shape; the normal equations do not
#   when $d > n$.
# * Test error against model size can descend, peak at the **interpolation threshold** and descend again; the norm of
#   the solution peaks there too.
# * Regularisation (ridge, here) flattens the peak; the peak moves with the number of samples.
# * Neural networks show the same curve (MNIST-1D with label noise): the test-error bump sits near the width where
#   parameters ≈ training examples, and the width at which the training error reaches zero moves towards it with
#   longer training. Training many widths as one batched computation makes such sweeps cheap.
# * Loss-landscape slices with filter-normalised directions make the "unfriendly" landscape visible. A flatter slice is
#   not a better minimum by itself: the narrow network's flat valley was a high-loss plateau.
#
# ## Further reading
# * Lecture: *Deep neural networks*, *Double descent: animation*, *Double descent curve*, *Loss landscape*.
# * M. Belkin, D. Hsu, S. Ma, S. Mandal, *Reconciling modern machine-learning practice and the classical bias–variance
#   trade-off*, PNAS 2019.
# * P. Nakkiran et al., *Deep Double Descent: Where Bigger Models and More Data Hurt*, ICLR 2020.
# * S. J. D. Prince, *Understanding Deep Learning* (2023), section 8.4 and notebook 8.3.
# * R. Schaeffer et al., *Double Descent Demystified*, 2023 (a linear-regression account like Part 1).
# * H. Li, Z. Xu, G. Taylor, C. Studer, T. Goldstein, *Visualizing the Loss Landscape of Neural Nets*, NeurIPS 2018.
# * S. Greydanus, *Scaling down deep learning* (MNIST-1D), 2020.
