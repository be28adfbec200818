"""Designed wrong answers for 05_batchnorm (see tests/roundtrip_cases.py for the format)."""

_BN_HEAD = "def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):\n"


def _bn(norm_var="x.var(dim=0, unbiased=False)", run_var="x.var(dim=0, unbiased=True)",
        den="torch.sqrt(var + eps)", eval_stats="running_mean, running_var",
        new_mean="(1 - momentum) * running_mean + momentum * mean"):
    return (_BN_HEAD
            + "    if training:\n"
            + "        mean = x.mean(dim=0)\n"
            + f"        var = {norm_var}\n"
            + f"        new_mean = {new_mean}\n"
            + f"        new_var = (1 - momentum) * running_var + momentum * {run_var}\n"
            + "    else:\n"
            + f"        mean, var = {eval_stats}\n"
            + "        new_mean, new_var = running_mean, running_var\n"
            + f"    out = gamma * (x - mean) / {den} + beta\n"
            + "    return out, new_mean, new_var\n")


_STD = ("def standardize(x_train, x_test):\n"
        "    m, s = {stats}\n"
        "    s = torch.where(s > 0, s, torch.ones_like(s))\n"
        "    return (x_train - m) / s, (x_test - {m_test}) / {s_test}\n")

_LN = ("def layernorm_forward(x, gamma, beta, eps=1e-5):\n"
       "    mean = x.mean(dim={dim}, keepdim=True)\n"
       "    var = x.var(dim={dim}, unbiased=False, keepdim=True)\n"
       "    return gamma * (x - mean) / {den} + beta\n")

_COUNT = ("def count_parameters_and_buffers(in_features, out_features, width, depth, norm=None):\n"
          "    p = in_features * width + width + (depth - 1) * (width * width + width) + width * out_features + out_features\n"
          "    b = 0\n"
          "    if norm is not None:\n"
          "        p += {norm_params}\n"
          "    if norm == 'batch':\n"
          "        b += {bn_buffers}\n"
          "    return p, b\n")

# One case per mistake the issue names, plus one per other exercise. The hidden tests also catch a reversed
# momentum, in-place buffer updates, pooled train+test statistics, eps outside the root in layer norm and
# miscounted gamma/beta; those are left out here to keep one autograde round within nbgrader's time limit.
CASES = [
    ("batchnorm_answer", _bn(norm_var="x.var(dim=0)"),  # unbiased variance in the normalisation
     ["batchnorm_train_tests"]),
    ("batchnorm_answer", _bn(run_var="x.var(dim=0, unbiased=False)"),  # biased variance in the running update
     ["batchnorm_train_tests"]),
    ("batchnorm_answer", _bn(den="(torch.sqrt(var) + eps)"),  # eps outside the square root (the slides' formula)
     ["batchnorm_train_tests", "batchnorm_eval_tests"]),
    ("batchnorm_answer", _bn(eval_stats="x.mean(dim=0), x.var(dim=0, unbiased=False)"),  # batch stats at eval time
     ["batchnorm_eval_tests"]),
    ("standardize_answer",  # the test split standardised with its own statistics
     _STD.format(stats="x_train.mean(0), x_train.std(0, correction=0)", m_test="x_test.mean(0)",
                 s_test="x_test.std(0, correction=0)"),
     ["standardize_tests"]),
    ("standardize_answer",  # a constant training feature gives 0/0 = NaN
     "def standardize(x_train, x_test):\n"
     "    m, s = x_train.mean(0), x_train.std(0, correction=0)\n"
     "    return (x_train - m) / s, (x_test - m) / s\n",
     ["standardize_tests"]),
    ("standardize_answer",  # torch's default std is the unbiased one (divide by N - 1)
     _STD.format(stats="x_train.mean(0), x_train.std(0)", m_test="m", s_test="s"),
     ["standardize_tests"]),
    ("layernorm_answer", _LN.format(dim=0, den="torch.sqrt(var + eps)"),  # normalised over the batch: batch norm
     ["layernorm_tests"]),
    ("param_count_answer", _COUNT.format(norm_params="2 * width * depth", bn_buffers="2 * width * depth"),
     ["param_count_tests"]),  # forgets num_batches_tracked
]
