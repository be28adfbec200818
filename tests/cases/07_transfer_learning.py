"""Designed wrong answers for 07_transfer_learning (see tests/roundtrip_cases.py for the format).

Each is a mistake the issue names or a common one; the round trip checks that it loses exactly the
points of the listed test cells.
"""

CASES = [
    (   # freezes the weights but leaves the base in train mode: batch-norm statistics drift
        "freeze_answer",
        "def freeze_all_but_head(model):\n"
        "    for p in model.parameters():\n"
        "        p.requires_grad_(False)\n"
        "    for p in model.head.parameters():\n"
        "        p.requires_grad_(True)\n"
        "    return sum(p.numel() for p in model.parameters() if p.requires_grad)\n",
        ["freeze_tests"],
    ),
    (   # counts every parameter, not only the trainable ones
        "freeze_answer",
        "def freeze_all_but_head(model):\n"
        "    model.eval()\n"
        "    for name, p in model.named_parameters():\n"
        "        p.requires_grad_(name.startswith('head.'))\n"
        "    return sum(p.numel() for p in model.parameters())\n",
        ["freeze_tests"],
    ),
    (   # head with a hard-coded input width: right for GlyphNet only
        "head_answer",
        "def replace_head(model, num_classes):\n"
        "    model.head = nn.Linear(256, num_classes)\n"
        "    return model\n",
        ["head_tests"],
    ),
    (   # head with the wrong input width: the old head's *output* width
        "head_answer",
        "def replace_head(model, num_classes):\n"
        "    model.head = nn.Linear(model.head.out_features, num_classes)\n"
        "    return model\n",
        ["head_tests"],
    ),
    (   # optimiser still holds the frozen parameters (with weight decay they move)
        "groups_answer",
        "def make_param_groups(model, base_lr, head_lr, weight_decay=0.0):\n"
        "    head = list(model.head.parameters())\n"
        "    base = [p for n, p in model.named_parameters() if not n.startswith('head.')]\n"
        "    return [{'params': base, 'lr': base_lr, 'weight_decay': weight_decay},\n"
        "            {'params': head, 'lr': head_lr, 'weight_decay': weight_decay}]\n",
        ["groups_tests"],
    ),
    (   # learning rates swapped
        "groups_answer",
        "def make_param_groups(model, base_lr, head_lr, weight_decay=0.0):\n"
        "    head = [p for p in model.head.parameters() if p.requires_grad]\n"
        "    base = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith('head.')]\n"
        "    return [{'params': base, 'lr': head_lr, 'weight_decay': weight_decay},\n"
        "            {'params': head, 'lr': base_lr, 'weight_decay': weight_decay}]\n",
        ["groups_tests"],
    ),
    (   # gradients computed during extraction, detached afterwards
        "features_answer",
        "def extract_features(model, x, batch_size=256):\n"
        "    model.eval()\n"
        "    return torch.cat([model.embed(x[i:i + batch_size]).detach() for i in range(0, len(x), batch_size)])\n",
        ["features_tests"],
    ),
    (   # no eval mode: batch statistics in the features, running statistics drift
        "features_answer",
        "def extract_features(model, x, batch_size=256):\n"
        "    with torch.no_grad():\n"
        "        return torch.cat([model.embed(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])\n",
        ["features_tests"],
    ),
    (   # torch.roll wraps content around the border
        "translate_answer",
        "def random_translate(x, max_shift, generator=None):\n"
        "    shifts = torch.randint(-max_shift, max_shift + 1, (len(x), 2), generator=generator)\n"
        "    return torch.stack([torch.roll(x[i], (dy, dx), dims=(-2, -1)) for i, (dy, dx) in enumerate(shifts.tolist())])\n",
        ["translate_tests"],
    ),
    (   # one shift for the whole batch
        "translate_answer",
        "def random_translate(x, max_shift, generator=None):\n"
        "    m = max_shift\n"
        "    dy, dx = torch.randint(-m, m + 1, (2,), generator=generator).tolist()\n"
        "    h, w = x.shape[-2:]\n"
        "    padded = F.pad(x, (m, m, m, m))\n"
        "    return padded[..., m - dy:m - dy + h, m - dx:m - dx + w].clone()\n",
        ["translate_tests"],
    ),
    (   # torch.randint(-m, m, ...): the upper bound is exclusive, so the shift never reaches +m
        "translate_answer",
        "def random_translate(x, max_shift, generator=None):\n"
        "    n, _, h, w = x.shape\n"
        "    m = max_shift\n"
        "    shifts = torch.randint(-m, m, (n, 2), generator=generator) if m else torch.zeros(n, 2, dtype=torch.long)\n"
        "    padded = F.pad(x, (m, m, m, m))\n"
        "    out = torch.empty_like(x)\n"
        "    for i, (dy, dx) in enumerate(shifts.tolist()):\n"
        "        out[i] = padded[i, :, m - dy:m - dy + h, m - dx:m - dx + w]\n"
        "    return out\n",
        ["translate_tests"],
    ),
]
