"""Designed wrong answers for 10_lecun1989 (see tests/roundtrip_cases.py for the format)."""

# Kept short: every submission is a full autograde run. The hidden tests also catch other mistakes
# (a transposed mask, one bias per map, forgetting the bias connections, a sum instead of a mean, a global
# instead of a per-row maximum, fill 0, the wrong direction, ddof=0, the normal quantile, ...).
CASES = [
    # --- Exercise 1: a full 12 -> 12 connection ---
    ("h2_mask_answer", "def h2_connection_mask():\n    return torch.ones(12, 12, dtype=torch.bool)\n",
     ["h2_mask_tests"]),
    # --- Exercise 2: shared weights counted once per position ---
    ("layer_counts_answer", "def layer_counts(n_maps, map_side, fan_in):\n"
     "    units = n_maps * map_side * map_side\n"
     "    return units * (fan_in + 1), units * (fan_in + 1)\n", ["layer_counts_tests"]),
    # --- Exercise 3: log(softmax) computed with exp of the raw logits: overflows ---
    ("cross_entropy_answer", "def stable_cross_entropy(logits, y):\n"
     "    p = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)\n"
     "    return -torch.log(p.gather(1, y[:, None])[:, 0]).mean()\n", ["cross_entropy_tests"]),
    # --- Exercise 5: shifts that wrap around (torch.roll) ---
    ("shift_answer", "def shift_images(x, shifts, fill=-1.0):\n"
     "    return torch.stack([torch.roll(x[k], (int(s[0]), int(s[1])), dims=(-2, -1))\n"
     "                        for k, s in enumerate(shifts)])\n", ["shift_tests"]),
    # --- Exercise 4: the standard error with the wrong n ---
    ("interval_answer", "def seed_interval(errors, confidence=0.95):\n"
     "    e = np.asarray(errors, dtype=float)\n"
     "    if len(e) < 2:\n"
     "        raise ValueError('need two values')\n"
     "    k = len(e)\n"
     "    return float(e.mean()), float(scipy.stats.t.ppf((1 + confidence) / 2, k - 1) * e.std(ddof=1) / np.sqrt(k - 1))\n",
     ["interval_tests"]),
]
