"""Deep fully connected networks for the experiments, and per-layer statistics of them.

The lessons on activations, initialisation, batch normalisation and dropout all study the same
object: a deep MLP whose hidden layers are ``Linear -> [norm] -> activation -> [dropout]``, optionally
with identity skip connections. :func:`make_mlp` builds it; :func:`layer_statistics` runs one batch
forward and backward and reports, per hidden layer, what the lecture asks us to watch: the spread of
activations (forward) and of gradients (backward)::

    net = make_mlp(64, 10, width=100, depth=15, activation="sigmoid")
    stats = layer_statistics(net, X, y)          # one forward + backward pass
    stats["weight_grad_norm"]                      # list, one float per hidden Linear, input side first

Shapes: inputs ``(N, in_features)``, logits ``(N, out_features)``.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.1),
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "identity": nn.Identity,
}
NORMS = (None, "batch", "layer")


def activation_module(name: str) -> nn.Module:
    """A fresh activation module by name: one of ``ACTIVATIONS`` (leaky ReLU has slope 0.1)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class HiddenBlock(nn.Module):
    """One hidden layer: ``Linear -> [norm] -> activation -> [dropout]``, plus ``x`` if residual.

    Attributes ``linear``, ``norm``, ``act``, ``drop`` are the parts; ``residual`` says whether the
    input is added back (``out = x + block(x)``; needs equal input and output width).
    """

    def __init__(self, width_in: int, width_out: int, activation: str = "relu", *, residual: bool = False,
                 norm: str | None = None, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if residual and width_in != width_out:
            raise ValueError(f"a residual block needs equal widths, got {width_in} -> {width_out}")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.residual = residual
        self.linear = nn.Linear(width_in, width_out, bias=bias)
        self.norm = {None: nn.Identity, "batch": lambda: nn.BatchNorm1d(width_out),
                     "layer": lambda: nn.LayerNorm(width_out)}[norm]()
        self.act = activation_module(activation)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.drop(self.act(self.norm(self.linear(x))))
        return x + out if self.residual else out


class MLP(nn.Module):
    """``in_features -> depth hidden blocks of `width` -> Linear head``; see :func:`make_mlp`."""

    def __init__(self, in_features: int, out_features: int, width: int, depth: int, activation: str = "relu",
                 *, residual: bool = False, norm: str | None = None, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features), ("width", width),
                            ("depth", depth)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        blocks = [HiddenBlock(in_features, width, activation, norm=norm, dropout=dropout, bias=bias)]
        blocks += [HiddenBlock(width, width, activation, residual=residual, norm=norm, dropout=dropout, bias=bias)
                   for _ in range(depth - 1)]
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(width, out_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (N, in_features) -> logits (N, out_features); ``x`` of more dims is flattened."""
        h = x.flatten(1) if x.dim() > 2 else x
        for block in self.blocks:
            h = block(h)
        return self.head(h)


def make_mlp(in_features: int, out_features: int, width: int = 100, depth: int = 10, activation: str = "relu",
             *, residual: bool = False, norm: str | None = None, dropout: float = 0.0, bias: bool = True,
             seed: int | None = None) -> MLP:
    """Build a deep MLP with ``depth`` hidden layers of ``width`` units.

    Args:
        activation: one of ``ACTIVATIONS`` ("relu", "leaky_relu", "sigmoid", "tanh", "identity").
        residual: add identity skip connections around hidden layers 2..depth (layer 1 changes width).
        norm: None, "batch" (BatchNorm1d) or "layer" (LayerNorm), between Linear and activation.
        dropout: drop probability after each activation (0 = none).
        seed: if given, initialise the weights from this seed (torch's default init), leaving the
            global RNG as it was.
    Returns:
        An :class:`MLP`; ``model.blocks[i].linear`` is hidden layer ``i + 1``.
    """
    if seed is None:
        return MLP(in_features, out_features, width, depth, activation, residual=residual, norm=norm,
                   dropout=dropout, bias=bias)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLP(in_features, out_features, width, depth, activation, residual=residual, norm=norm,
                   dropout=dropout, bias=bias)


def hidden_linears(model: nn.Module) -> list[nn.Linear]:
    """The Linear layers of a model in forward order, without the last one (the output head)."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(linears) < 2:
        raise ValueError("the model needs at least one hidden Linear layer before the output layer")
    return linears[:-1]


def layer_statistics(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None,
                     loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                     saturation: float = 0.05) -> dict[str, list[float]]:
    """One forward and backward pass on a batch; statistics per hidden layer, input side first.

    Each hidden layer is a hidden ``nn.Linear`` (see :func:`hidden_linears`); its *activation* is the
    output of the module that follows it inside a :class:`HiddenBlock` (the block's output), or the
    Linear's output for other models.

    Args:
        x: a batch (N, in_features) on the model's device.
        y: class labels (N,) for cross-entropy; if None, the loss is ``logits.sum()`` (a unit upstream
            gradient), which is what a pure signal-propagation experiment wants.
        loss_fn: overrides the loss.
        saturation: a sigmoid/tanh unit counts as saturated where its local derivative is below this
            fraction of the activation's maximum derivative.
    Returns:
        dict of lists (length = number of hidden layers), all plain floats:
        ``preact_std`` std of the Linear outputs; ``act_std`` and ``act_var`` std/variance of the layer
        outputs; ``act_grad_std`` std of dLoss/d(layer output); ``weight_grad_norm`` Frobenius norm of
        dLoss/dW; ``saturated`` fraction of units whose activation derivative is below ``saturation`` x
        its maximum (sigmoid, tanh) or exactly 0 (ReLU); NaN for other activations.
        The model's parameter gradients are left as computed (call ``model.zero_grad()`` after).
    """
    linears = hidden_linears(model)
    outputs: dict[int, torch.Tensor] = {}
    preacts: dict[int, torch.Tensor] = {}
    act_inputs: dict[int, torch.Tensor] = {}
    handles = []
    block_of = {}
    for block in model.modules():
        if isinstance(block, HiddenBlock):
            block_of[id(block.linear)] = block
    for i, lin in enumerate(linears):
        def keep_pre(_m, _inp, out, i=i):
            preacts[i] = out.detach()
        handles.append(lin.register_forward_hook(keep_pre))
        target = block_of.get(id(lin), lin)
        if isinstance(target, HiddenBlock):
            def keep_act_in(_m, inp, _out, i=i):
                act_inputs[i] = inp[0].detach()
            handles.append(target.act.register_forward_hook(keep_act_in))

        def keep_out(_m, _inp, out, i=i):
            out.retain_grad()
            outputs[i] = out
        handles.append(target.register_forward_hook(keep_out))
    try:
        model.zero_grad(set_to_none=True)
        logits = model(x)
        if loss_fn is not None:
            loss = loss_fn(logits, y)
        elif y is not None:
            loss = F.cross_entropy(logits, y)
        else:
            loss = logits.sum()
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    stats: dict[str, list[float]] = {k: [] for k in ("preact_std", "act_std", "act_var", "act_grad_std",
                                                     "weight_grad_norm", "saturated")}
    for i, lin in enumerate(linears):
        out = outputs[i]
        stats["preact_std"].append(float(_wide(preacts[i]).std()))
        stats["act_std"].append(float(_wide(out.detach()).std()))
        stats["act_var"].append(float(_wide(out.detach()).var()))
        grad = out.grad
        stats["act_grad_std"].append(float(_wide(grad).std()) if grad is not None else float("nan"))
        wg = lin.weight.grad
        stats["weight_grad_norm"].append(float(wg.norm()) if wg is not None else float("nan"))
        block = block_of.get(id(lin))
        stats["saturated"].append(_saturated_fraction(block.act, act_inputs[i], saturation) if block is not None
                                  else float("nan"))
    return stats


def _saturated_fraction(act: nn.Module, z: torch.Tensor, saturation: float) -> float:
    """Fraction of (example, unit) entries of the activation input ``z`` where its derivative is ~0."""
    if isinstance(act, nn.Sigmoid):
        s = torch.sigmoid(z)
        return float((s * (1 - s) < saturation * 0.25).float().mean())
    if isinstance(act, nn.Tanh):
        return float((1 - torch.tanh(z) ** 2 < saturation).float().mean())
    if isinstance(act, nn.ReLU):
        return float((z <= 0).float().mean())
    return float("nan")


def _wide(t: torch.Tensor) -> torch.Tensor:
    """``t`` as float32 for statistics, but float64 kept as is (its range reaches far beyond float32's)."""
    return t if t.dtype == torch.float64 else t.float()
