"""course_utils.transfer: strategies, few-shot sampling, the second target and the shipped results."""
import pytest
import torch

from course_utils.pretrained import load_pretrained
from course_utils.transfer import (
    LABELS_PER_CLASS,
    STRATEGIES,
    few_shot,
    load_results,
    make_textures,
    summarise,
    target_data,
    train_eval,
    transfer_model,
)


@pytest.fixture(scope="module")
def base():
    return load_pretrained()


@pytest.mark.parametrize("strategy, trainable_prefixes", [
    ("scratch", ("features.0", "features.1", "features.2", "head")),
    ("linear", ("head",)),
    ("last_block", ("features.2", "head")),
    ("all", ("features.0", "features.1", "features.2", "head")),
])
def test_transfer_model_freezes_the_right_parameters(base, strategy, trainable_prefixes):
    model, groups = transfer_model(strategy, 7, base)
    assert model.head.out_features == 7
    for name, p in model.named_parameters():
        assert p.requires_grad == name.startswith(trainable_prefixes), name
    in_groups = {id(p) for g in groups for p in g["params"]}
    assert in_groups == {id(p) for p in model.parameters() if p.requires_grad}
    if strategy != "scratch":
        assert torch.equal(model.features[0][0].weight, base.features[0][0].weight)
        assert model.features[0][0].weight is not base.features[0][0].weight  # a copy: base untouched


def test_few_shot_and_targets():
    x_pool, y_pool, x_test, y_test = target_data("digits")
    assert x_pool.shape[1:] == (1, 16, 16) and len(x_pool) + len(x_test) == 1797
    idx = few_shot(y_pool, 3, seed=0)
    assert torch.equal(torch.bincount(y_pool[idx]), torch.full((10,), 3))
    assert torch.equal(idx, few_shot(y_pool, 3, seed=0)) and not torch.equal(idx, few_shot(y_pool, 3, seed=1))
    with pytest.raises(ValueError):
        few_shot(y_pool, 10_000)
    x, y = make_textures(4, seed=0)
    assert x.shape == (32, 1, 16, 16) and torch.equal(torch.bincount(y), torch.full((8,), 4))
    assert x.min() >= 0 and x.max() <= 1
    with pytest.raises(ValueError):
        target_data("cifar")


def test_train_eval_is_seeded_and_learns(base):
    x_pool, y_pool, x_test, y_test = target_data("digits")
    idx = few_shot(y_pool, 5, seed=0)
    a = train_eval("linear", (x_pool[idx], y_pool[idx]), (x_test, y_test), seed=0, steps=30, base=base)
    b = train_eval("linear", (x_pool[idx], y_pool[idx]), (x_test, y_test), seed=0, steps=30, base=base)
    assert a == b and a > 0.6
    c = train_eval("last_block", (x_pool[idx], y_pool[idx]), (x_test, y_test), seed=0, steps=10, augment=True,
                   base=base)
    assert 0.1 < c <= 1.0
    with pytest.raises(ValueError):
        transfer_model("everything", 10, base)


def test_shipped_results_cover_the_grid():
    results = load_results()
    summary = summarise(results["rows"])
    for st in STRATEGIES:
        for k in LABELS_PER_CLASS:
            for key in [("digits", st, k, False), ("digits", st, k, True), ("textures", st, k, False)]:
                mean, std, n = summary[key]
                assert 0 <= mean <= 1 and n >= 3
