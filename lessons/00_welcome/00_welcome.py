# ---
# jupyter:
#   course:
#     budget_s: 60
#     gpu: false
#     minutes: 20
#     title: 'Welcome: how the course notebooks work'
#     topics: how notebooks, exercises, checks and widgets work; ReLU and its derivative;
#       plotting losses and gradients
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 00 · Welcome: how the course notebooks work
#
# **Time:** about 20 minutes · **Level:** first notebook of the course · **Prerequisites:** Python and a
# little NumPy; no deep learning yet.
#
# ## Learning objectives
# By the end of this notebook you can:
# 1. open and run a course notebook locally, on Binder or on Colab, and tell which device (CPU or GPU) it uses;
# 2. solve an exercise cell, run its visible check, and act on the message it prints;
# 3. make a prediction before an experiment, then test it with an interactive widget;
# 4. implement the ReLU activation and its derivative -- the unit the next lessons are built on;
# 5. read a training run the way the lecture recommends: plot the losses, watch the gradients.

# %% [markdown]
# A GPU here means CUDA or Apple's MPS: the setup cell below picks the device and says which.

# %%
# %matplotlib inline
import platform

import ipywidgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch

from course_utils import checks
from course_utils.plots import use_style
from course_utils.reproducibility import device, fast_mode, quiet_warnings, seed_everything

quiet_warnings()
use_style()
seed_everything(0)
DEVICE = device()

# %% [markdown]
# ### Environment check
# If something below looks wrong (an import error, a very old version), see the README's troubleshooting section
# before you go on.

# %%
print(f"Python      {platform.python_version()}")
print(f"torch       {torch.__version__}")
print(f"numpy       {np.__version__}")
print(f"matplotlib  {matplotlib.__version__}")
print(f"ipywidgets  {ipywidgets.__version__}")
print(f"device      {DEVICE.type}, {torch.get_num_threads()} CPU thread(s) for torch")
print(f"fast mode   {fast_mode()}  (True while grading or in CI: heavy demos shrink)")


# %% [markdown]
# ## How exercises and checks work
# Exercises are functions with a docstring that says what they take and return. In your copy, the body is
#
# ```python
# # YOUR CODE HERE
# raise NotImplementedError()
# ```
#
# Replace both lines with your code. The cell after each exercise is a **test cell** (you cannot edit it): run it
# and read what it prints.
#
# * `✔ relu(x) matches the expected values` -- that check passed.
# * `ExerciseError: relu(x): 2 of 5 entries differ ... at [0] (input -2): expected 0, got 2` -- the message says
#   *what* was expected, *what* you returned and *where*. Fix your function, re-run its cell, then the test cell.
#
# When your work is graded, **hidden tests** run in the same cell as well: they try more inputs and the
# classic mistakes. Passing the visible checks is necessary, not sufficient -- the exercise text tells you what
# the hidden tests look at. Before you submit, restart the kernel and run everything (*Kernel → Restart Kernel
# and Run All Cells*); if the course uses nbgrader, its *Validate* button does the same. On Colab there is no
# nbgrader, but the visible checks work exactly the same.
#
# Questions marked *free response* are read by your instructor. Write a few sentences in the cell.
#
# Please do not copy, delete or reorder the exercise and test cells; the grader finds your answers by them.

# %% [markdown]
# ## Recap: the ReLU activation
# A unit computes $z = \mathbf{w}^\top \mathbf{x} + b$ and outputs $g(z)$. The lecture's candidate activations
# (figure 10) include the sigmoid $\sigma(z) = 1/(1+e^{-z})$ and the **rectified linear unit**
#
# $$\operatorname{ReLU}(z) = \max(0, z), \qquad
# \frac{d}{dz}\operatorname{ReLU}(z) = \begin{cases} 1 & z > 0 \\ 0 & z < 0 \end{cases}$$
#
# (figure 13). At $z = 0$ the derivative does not exist: the slope jumps from 0 to 1, and any value in $[0, 1]$ is
# a valid *subgradient*. Frameworks pick one; PyTorch's autograd uses **0**, and so do we.
#
# Backpropagation multiplies these derivatives along every path from a weight to the loss (figure 11), which is why
# their size matters so much: notebook 01 is about exactly that.

# %% [markdown]
# ### 🔮 Predict first
# Before you write any code: what are ReLU and its derivative at $z = -2, -0.5, 0, 0.5, 2$? Write your prediction
# down (on paper is fine); the test cells below will tell you if you were right.

# %% [markdown]
# ### Exercise 1 -- ReLU (2 points)
# Implement `relu(x)` for a tensor `x` of any shape and floating dtype. Return a **new** tensor of the same shape and
# dtype; do not modify `x` (a caller may still need its values -- the hidden tests check this). `torch.clamp` or
# `torch.where` are good tools. The hidden tests also try large batches, `float64` inputs and $\pm\infty$.

# %% nbgrader={"grade": false, "grade_id": "relu_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relu(x):
    """Rectified linear unit, element-wise.

    Args:
        x: floating-point tensor of any shape.
    Returns:
        A new tensor, same shape and dtype as ``x``: ``x`` where ``x > 0``, else 0.
        ``x`` itself is left unchanged.
    """
    ### BEGIN SOLUTION
    return torch.clamp(x, min=0.0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "relu_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 1 (run this cell after yours)
x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0])
out = checks.call(relu, x.clone())
checks.check_type(out, torch.Tensor, "relu(x)")
checks.check_shape(out, x.shape, "relu(x)")
checks.check_close(out, [0.0, 0.0, 0.0, 0.5, 2.0], "relu(x)", inputs=x)
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(1)
x = torch.randn(7, 5, generator=g) * 100
x_before = x.clone()
out = checks.call(relu, x)
checks.check_close(x, x_before, "x after relu(x) -- relu must not modify its input", verbose=False)
checks.check_close(out, torch.clamp(x_before, min=0.0), "relu(x) on a 7x5 batch", verbose=False)
checks.check_dtype(out, torch.float32, "relu(x) for float32 input")
x64 = torch.tensor([-1e300, 1e300, -0.0, 3.5], dtype=torch.float64)
out64 = checks.call(relu, x64)
checks.check_dtype(out64, torch.float64, "relu(x) for float64 input")
checks.check_close(out64, [0.0, 1e300, 0.0, 3.5], "relu(x) for float64 input", verbose=False)
checks.check_close(checks.call(relu, torch.tensor([float("-inf"), float("inf")])), [0.0, float("inf")],
                   "relu(x) at -inf and +inf", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 -- the derivative of ReLU (2 points)
# Implement `relu_grad(x)`: the derivative of ReLU at every entry of `x`, as a tensor of the **same floating dtype**
# as `x` (not booleans), using PyTorch's convention that the derivative at exactly 0 is **0**. The visible check
# compares your answer with what autograd computes; the hidden tests try other shapes and dtypes.

# %% nbgrader={"grade": false, "grade_id": "relu_grad_answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relu_grad(x):
    """Derivative of ReLU, element-wise.

    Args:
        x: floating-point tensor of any shape.
    Returns:
        Tensor of the same shape and dtype as ``x``: 1 where ``x > 0``, 0 where ``x <= 0``.
    """
    ### BEGIN SOLUTION
    return (x > 0).to(x.dtype)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "relu_grad_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Visible checks for Exercise 2
x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0])
out = checks.call(relu_grad, x)
checks.check_dtype(out, torch.float32, "relu_grad(x)")
checks.check_close(out, [0.0, 0.0, 0.0, 1.0, 1.0], "relu_grad(x)", inputs=x)
x_auto = torch.tensor([-3.0, -1.0, 0.0, 0.25, 4.0], requires_grad=True)
torch.relu(x_auto).sum().backward()  # autograd: d/dx of sum(relu(x)) is relu'(x) at each entry
checks.check_close(checks.call(relu_grad, x_auto.detach()), x_auto.grad, "relu_grad(x) against autograd",
                   inputs=x_auto.detach())
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(2)
x = torch.randn(4, 3, 6, generator=g, dtype=torch.float64)
x[0, 0, :3] = 0.0
x_auto = x.clone().requires_grad_(True)
torch.relu(x_auto).sum().backward()
out = checks.call(relu_grad, x)
checks.check_dtype(out, torch.float64, "relu_grad(x) for float64 input")
checks.check_shape(out, (4, 3, 6), "relu_grad(x)")
checks.check_close(out, x_auto.grad, "relu_grad(x) on a 4x3x6 batch against autograd", verbose=False)
### END HIDDEN TESTS

# %% [markdown]
# ## Experiment: ReLU next to the other activations
# This figure uses PyTorch's own functions (not your answers), so it is right even if an exercise is not done yet.
# Derivatives come from autograd.
#
# ### 🔮 Predict first
# Before you run the cell: which of the four derivatives is largest at $z = 2$, and which one is (almost) zero at
# $z = -5$?

# %%
from course_utils.activations import value_and_derivative  # an activation and its derivative, by autograd

ACTIVATIONS = {
    "ReLU": torch.relu,
    "leaky ReLU (α=0.1)": lambda z: torch.nn.functional.leaky_relu(z, 0.1),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}


z = torch.linspace(-5, 5, 501)
fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(10, 3.6))
for name, fn in ACTIVATIONS.items():
    f, d = value_and_derivative(fn, z)
    ax_f.plot(z, f, label=name)
    ax_d.plot(z, d, label=name)
ax_f.set(title="activation g(z)", xlabel="z", ylabel="g(z)", ylim=(-1.5, 5))
ax_d.set(title="derivative g'(z)", xlabel="z", ylabel="g'(z)")
ax_d.legend(loc="upper left")
plt.show()

# %% [markdown]
# **What to notice:** ReLU's derivative is exactly 1 for every positive input -- the gradient passes through unchanged
# -- and exactly 0 for negative ones. The sigmoid's derivative never exceeds 0.25 and is almost 0 a few units away
# from the origin: that is the *saturation* the lecture warns about.

# %%
# NBVAL_CHECK_OUTPUT
z_check = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0])
for name, fn in ACTIVATIONS.items():
    f, d = value_and_derivative(fn, z_check)
    print(f"{name:20s} g  = " + "  ".join(f"{v + 0.0:+.3f}" for v in f.tolist()))
    print(f"{'':20s} g' = " + "  ".join(f"{v + 0.0:+.3f}" for v in d.tolist()))

# %% [markdown]
# ## An interactive widget
# Every notebook has at least one widget like this. Change a control and the figure updates; sliders that trigger
# heavy work update when you release them. If you read this notebook on GitHub or as HTML, you see a static
# picture of the widget's first state instead.
#
# ### 🔮 Predict first
# Pick the sigmoid. How far from 0 must $z$ be for $\sigma'(z)$ to drop below 0.01? Guess, then move the range
# slider and read the shaded region.

# %%
from course_utils.activation_app import activation_data, activation_explorer  # the widget's code

app = activation_explorer(activation="sigmoid", slope=0.1, z_max=8.0)
app

# %% [markdown]
# The app keeps its last result in `app.state`, so you -- and the tests -- can read the numbers behind the picture.
# Notice the difference between the two ways of passing (almost) no gradient: the sigmoid and tanh *saturate* on both
# sides, where their derivative is tiny but never zero; ReLU's derivative is exactly zero on the whole negative side
# and exactly one on the positive side.

# %%
state = app.update(activation="tanh", z_max=4.0)  # drive the app from code, as the tests do
print(f"tanh on [-4, 4]: max derivative {state.data['max_grad']:.3f}, below 0.01 on {state.data['small_fraction']:.0%}")

# %%
# NBVAL_CHECK_OUTPUT
for name in ["sigmoid", "tanh", "ReLU"]:
    data = activation_data(name, slope=0.1, z_max=8.0)
    print(f"{name:8s} max derivative {data['max_grad']:.3f}, below 0.01 on {data['small_fraction']:.0%} of [-8, 8]")

# %% [markdown]
# ## Plot your losses, watch your gradients
# The lecture's practical advice: always plot the training and validation loss, and look at gradient magnitudes
# per layer. `course_utils.training.fit` is a short training loop that records both (read its code -- it is
# meant to be read). Here a small ReLU network learns the handwritten digits that ship with scikit-learn
# (8×8 images, 10 classes).
#
# ### 🔮 Predict first
# After a few epochs, which layer do you expect to have the largest gradient: the first or the last?

# %%
from course_utils.data import load_digits, train_val_test_split
from course_utils.reproducibility import pick
from course_utils.training import fit

X, y = load_digits(size=8, flatten=True)
split = train_val_test_split(X, y, fractions=(0.7, 0.15, 0.15), seed=0)
seed_everything(0)
model = torch.nn.Sequential(
    torch.nn.Linear(64, 64), torch.nn.ReLU(),
    torch.nn.Linear(64, 64), torch.nn.ReLU(),
    torch.nn.Linear(64, 10),
)
history = fit(model, (split.x_train, split.y_train), val=(split.x_val, split.y_val),
              epochs=pick(full=25, fast=3), lr=0.1, momentum=0.9, batch_size=64, device=DEVICE, seed=0)
history.plot()
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(split.x_train)} training, {len(split.x_val)} validation, {len(split.x_test)} test images")
print("validation accuracy above 90%:", history.val_acc[-1] > 0.90)
print("validation loss went down:", history.val_loss[-1] < history.val_loss[0])

# %% [markdown]
# **What to notice:** both losses fall together at first; if the validation loss turned up while the training loss
# kept falling, the network would be starting to overfit (notebook 06). The gradient norms stay within a factor
# of a few across layers here -- a healthy, shallow network. Notebook 01 shows what they look like in a deep
# sigmoid network.

# %% [markdown]
# ### Free response (2 points, graded by your instructor)
# The sigmoid's derivative is at most 0.25. In a chain of 10 sigmoid layers, by at most what factor can these
# derivatives alone scale a gradient on its way back to the first layer? Why does ReLU avoid this, and what new
# problem does its zero derivative create?

# %% [markdown] nbgrader={"grade": true, "grade_id": "free_response_saturation", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# At most $0.25^{10} \approx 9.5 \times 10^{-7}$: each layer multiplies the backpropagated gradient by a factor no
# larger than 0.25 (and much smaller when the unit saturates), so the first layers barely learn -- the vanishing
# gradient. ReLU's derivative is exactly 1 for positive inputs, so along active paths the product of derivatives
# is 1 and does not shrink with depth. But for negative inputs it is exactly 0: a unit whose input is negative for
# every example gets no gradient, its weights never change, and it can stay "dead" for good.
#
# **Mark scheme (2 points):** 1 point for the bound $0.25^{10}$ (about $10^{-6}$) with the reason that the
# derivatives multiply along the path (either one alone: ½). 1 point for explaining that ReLU's derivative is 1
# for positive inputs *and* that its zero derivative for negative inputs can leave units permanently dead
# (either one alone: ½).

# %% [markdown]
# ## Check your understanding
# 1. Your `relu` returned the right numbers but the hidden test said it modified its input. Why does that matter
#    in a network?
# 2. Why does the visible check of Exercise 2 compare with autograd instead of a hand-written list?
# 3. What does `pick(full=25, fast=3)` do, and when is the fast value used?
#
# <details><summary>Answers</summary>
#
# 1. The same tensor is often used again, for example by backpropagation or by a skip connection; overwriting it
#    silently changes other computations.
# 2. Autograd is the ground truth the network trains with; matching it on many inputs also tests the convention at 0.
# 3. It returns 3 while nbgrader grades (or in CI) and 25 otherwise, so grading stays fast but the lesson is full size.
# </details>
#
# ## Summary
# * Notebooks run anywhere; the setup cell seeds everything and picks the device.
# * Exercises: replace the stub, run the visible checks, read their messages; hidden tests try edge cases.
# * ReLU passes gradients through unchanged where it is active and blocks them completely where it is not.
# * Widgets keep their numbers in `app.state`; training runs record losses and per-layer gradient norms.
#
# ## Further reading
# * Lecture: *Recall: activation functions*, *Sigmoid: vanishing gradient*, *ReLU: Dead ReLU*, and the practical
#   tips at the end of the review lecture.
# * V. Nair and G. Hinton, *Rectified Linear Units Improve Restricted Boltzmann Machines*, ICML 2010.
# * X. Glorot, A. Bordes and Y. Bengio, *Deep Sparse Rectifier Neural Networks*, AISTATS 2011.
#
# **Next:** `01_activations` -- vanishing gradients, dead ReLUs and skip connections in a deep network.
