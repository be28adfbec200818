"""Designed wrong answers for 09_residual_networks (see tests/roundtrip_cases.py for the format)."""

_FORWARD = ("def residual_forward(x, weights, biases, skip='after'):\n"
            "    h = x\n"
            "    for w, b in zip(weights, biases):\n"
            "        z = h @ w.T + b\n"
            "        if skip == 'after':\n"
            "            h = {after}\n"
            "        else:\n"
            "            h = {before}\n"
            "    return h\n")

_COUNT = ("def count_paths(n_blocks, through=None):\n"
          "    if n_blocks < 0:\n"
          "        raise ValueError('negative')\n"
          "    if through is None:\n"
          "        return {total}\n"
          "    if not 1 <= through <= n_blocks:\n"
          "        raise ValueError('no such block')\n"
          "    return {through}\n")

_ACF = ("def gradient_autocorrelation(g, max_lag):\n"
        "    c = {centre}\n"
        "    d = (c * c).sum()\n"
        "    if d == 0:\n"
        "        raise ValueError('constant')\n"
        "    return torch.stack([(c[:len(c) - k] * c[k:]).sum() / d for k in range(max_lag + 1)])\n")

_LESION = ("def lesion_accuracy_drop(model, x, y, block):\n"
           "    import copy\n"
           "    net = copy.deepcopy(model).{mode}()\n"
           "    with torch.no_grad():\n"
           "        full = (net(x).argmax(1) == y).float().mean().item()\n"
           "        net.blocks[block] = torch.nn.Identity()\n"
           "        cut = (net(x).argmax(1) == y).float().mean().item()\n"
           "    return {result}\n")

# One case per mistake the issue names, plus a correct answer written differently for two exercises.
CASES = [
    # the skip added after the activation where the prompt asks for before ...
    ("residual_forward_answer", _FORWARD.format(after="h + torch.relu(z)", before="h + torch.relu(z)"),
     ["residual_before_tests"]),
    # ... and the reverse: added before the activation where it asks for after
    ("residual_forward_answer", _FORWARD.format(after="torch.relu(h + z)", before="torch.relu(h + z)"),
     ["residual_after_tests"]),
    # correct, written with torch.nn.functional.linear and clamp
    ("residual_forward_answer",
     _FORWARD.format(after="h + torch.nn.functional.linear(h, w, b).clamp(min=0)",
                     before="(h + torch.nn.functional.linear(h, w, b)).clamp(min=0)"), []),
    ("count_paths_answer", _COUNT.format(total="2 * n_blocks", through="2 * (n_blocks - 1)"),  # 2k
     ["count_paths_tests"]),
    ("count_paths_answer", _COUNT.format(total="n_blocks ** 2", through="(n_blocks - 1) ** 2"),  # k squared
     ["count_paths_tests"]),
    ("autocorrelation_answer", _ACF.format(centre="g"),  # correlating without removing the mean
     ["autocorrelation_tests"]),
    # correct, via numpy
    ("autocorrelation_answer",
     "def gradient_autocorrelation(g, max_lag):\n"
     "    a = np.asarray(g, dtype=float)\n"
     "    a = a - a.mean()\n"
     "    if not np.any(a):\n"
     "        raise ValueError('constant curve')\n"
     "    full = np.correlate(a, a, mode='full')[len(a) - 1:]\n"
     "    return torch.tensor(full[:max_lag + 1] / full[0])\n", []),
    ("lesion_answer", _LESION.format(mode="train", result="full - cut"),  # the lesioned network in train mode
     ["lesion_tests"]),
    ("lesion_answer", _LESION.format(mode="eval", result="full - cut"), []),  # correct, via a copy
]
