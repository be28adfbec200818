"""Designed wrong answers for 06_dropout (see tests/roundtrip_cases.py for the format)."""

_SGD_OK_WD = """

def lecture_to_torch_weight_decay(lam, n):
    return 2.0 * lam / n
"""

_STOPPER = """
class EarlyStopping:
    def __init__(self, patience=5, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best_loss = float("inf")
        self.best_epoch = None
        self.counter = 0
        self.epoch = 0
        self.best_state = None

    def step(self, val_loss, model):
        self.epoch += 1
        if {improved}:
            self.best_loss = val_loss
            self.best_epoch = self.epoch
            self.counter = 0
            {save_best}
        else:
            self.counter += 1
        {save_always}
        return {stop}

    def restore(self, model):
        model.load_state_dict(self.best_state)
"""


def _stopper(improved="val_loss < self.best_loss - self.min_delta",
             save_best="self.best_state = copy.deepcopy(model.state_dict())", save_always="pass",
             stop="self.counter >= self.patience"):
    return _STOPPER.format(improved=improved, save_best=save_best, save_always=save_always, stop=stop)


_DROPOUT = """
def inverted_dropout(x, p, training=True, generator=None):
    {eval_branch}
    keep = {keep}
    return x * keep.to(x.dtype){scale}
"""


def _dropout(eval_branch="if not training:\n        return x.clone()", keep="torch.rand(x.shape, generator=generator) >= p",
             scale=" / (1.0 - p)"):
    return _DROPOUT.format(eval_branch=eval_branch, keep=keep, scale=scale)


_MC = """
def mc_dropout_predict(model, x, n_samples=100):
    {enable}
    with torch.no_grad():
        probs = torch.stack([torch.softmax(model(x), dim=1) for _ in range(n_samples)])
    {restore}
    return probs.mean(dim=0), probs.std(dim=0, correction=0)
"""

_MC_LOGITS = """
def mc_dropout_predict(model, x, n_samples=100):
    modes = [(m, m.training) for m in model.modules()]
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    with torch.no_grad():
        logits = torch.stack([model(x) for _ in range(n_samples)])
    for m, mode in modes:
        m.train(mode)
    probs = torch.softmax(logits, dim=2)
    return torch.softmax(logits.mean(dim=0), dim=1), probs.std(dim=0, correction=0)
"""

# Kept short: every submission is a full autograde run. The hidden tests also catch other mistakes
# (no division by n, wrong sign, modifying w in place, saving weights every epoch, ignoring min_delta,
# ignoring the generator, one mask per column, not restoring the module modes).
CASES = [
    # --- Exercise 1: SGD step with L2 ---
    ("sgd_l2_answer", "def sgd_l2_step(w, grad, lr, lam, n):\n    return w - lr * (grad + lam / n * w)\n"  # factor 2 lost
     + _SGD_OK_WD, ["sgd_l2_tests"]),
    # --- Exercise 2: proximal L1 step ---
    ("l1_prox_answer", "def l1_proximal_step(w, grad, lr, lam, n):\n"  # crosses zero instead of stopping at 0
     "    v = w - lr * grad\n    return v - lr * lam / n * torch.sign(v)\n", ["l1_prox_tests"]),
    ("l1_prox_answer", "def l1_proximal_step(w, grad, lr, lam, n):\n"  # the L2 rule's factor 2
     "    v = w - lr * grad\n    return torch.sign(v) * torch.clamp(v.abs() - 2 * lr * lam / n, min=0)\n",
     ["l1_prox_tests"]),
    # --- Exercise 3: early stopping ---
    ("early_stopping_answer", _stopper(save_best="self.best_state = model.state_dict()"),  # references: last weights
     ["early_stopping_tests"]),
    ("early_stopping_answer", _stopper(stop="self.counter > self.patience"), ["early_stopping_tests"]),  # off by one
    # --- Exercise 4: inverted dropout ---
    ("inverted_dropout_answer", _dropout(keep="torch.rand(x.shape, generator=generator) < p"),  # drops with 1 - p
     ["inverted_dropout_tests"]),
    ("inverted_dropout_answer", _dropout(scale=""), ["inverted_dropout_tests"]),  # forgets the 1/(1-p) rescale
    ("inverted_dropout_answer", _dropout(eval_branch="pass"), ["inverted_dropout_tests"]),  # drops at eval time
    # --- Exercise 5: MC dropout ---
    ("mc_dropout_answer", _MC.format(enable="model.eval()", restore="pass"), ["mc_dropout_tests"]),  # dropout never on
    ("mc_dropout_answer", _MC.format(enable="was = model.training\n    model.train()", restore="model.train(was)"),
     ["mc_dropout_tests"]),  # model.train(): batch norm uses and updates batch statistics
    ("mc_dropout_answer", _MC_LOGITS, ["mc_dropout_tests"]),  # softmax of the mean logits, not the mean softmax
]
