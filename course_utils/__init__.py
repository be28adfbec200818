"""Shared helpers for the deep-learning course notebooks.

One module per concept:

- :mod:`course_utils.reproducibility` -- seeding, thread policy, device choice, fast mode
- :mod:`course_utils.data` -- offline data sets as tensors and seeded splits
- :mod:`course_utils.plots` -- the course's colour-blind-safe style and shared figures
- :mod:`course_utils.widgets` -- the one pattern every interactive app follows
- :mod:`course_utils.nets` -- deep MLPs (activation, skips, norm, dropout) and per-layer statistics
- :mod:`course_utils.training` -- a short training loop that records losses and gradient norms
- :mod:`course_utils.checks` -- checks that exercise tests call, with student-facing messages
- :mod:`course_utils.mistakes` -- test-cell helper naming a known mistake when an answer matches it
- :mod:`course_utils.activations` -- activation values/derivatives, hidden pre-activations, dead units
- :mod:`course_utils.activation_app` -- lesson 00's app: an activation, its derivative, where the gradient vanishes
- :mod:`course_utils.gradient_profile_app` -- lesson 01's app: per-layer gradient size and saturation
- :mod:`course_utils.initialization` -- initialisation schemes and forward/backward variance propagation
- :mod:`course_utils.init_scale_app` -- lesson 02's app: weight scale σ × activation × depth, all sweeps precomputed
- :mod:`course_utils.double_descent` -- min-norm feature regression and the batched width sweep
- :mod:`course_utils.double_descent_app` -- lesson 03's polynomial explorer and sweep browser
- :mod:`course_utils.landscape` -- filter-normalised loss-landscape slices
- :mod:`course_utils.conv` -- convolution arithmetic, the convolution explorer, receptive fields, LeNet
- :mod:`course_utils.bn_explorer` -- lesson 05's batch norm x learning rate x depth explorer
- :mod:`course_utils.optim_paths` -- gradient-descent paths on 2-D quadratics (the ravine)
- :mod:`course_utils.regularization` -- regularisation runs (L2, dropout, early stopping)
- :mod:`course_utils.regularization_explorer` -- lesson 06's dropout x weight-decay explorer
- :mod:`course_utils.glyphs` -- the pretraining source task: printed characters from matplotlib's fonts
- :mod:`course_utils.pretrained` -- the shipped pretrained base (checkpoint checked by sha256)
- :mod:`course_utils.augment` -- label-preserving augmentations written in torch
- :mod:`course_utils.transfer` -- transfer-learning strategies, few-shot runs and the shipped results
- :mod:`course_utils.regions` -- linear regions of ReLU networks: hinge lines, patterns, region maps
- :mod:`course_utils.neural_fields` -- coordinate networks and random Fourier features
- :mod:`course_utils.residual` -- shattered gradients, paths through residual blocks
- :mod:`course_utils.lecun1989` -- the 1989 digit recogniser, its data, the shipped ablation
- :mod:`course_utils.datasets_remote` -- optional MNIST/FashionMNIST download (pooch, hash-checked)

This is what students install (Colab's setup cell too): no answers and none of the instructor's tools, which
are a separate package, ``course_instructor`` in instructor/ (release, grading, platforms, kernel client).
"""

__version__ = "0.1.0"
