"""Designed wrong answers for 02_initialization (see tests/roundtrip_cases.py for the format)."""

_INIT_TEMPLATE = '''
def initialize_(model, scheme):
    if scheme not in ("he", "xavier", "he_uniform", "xavier_uniform"):
        raise ValueError(scheme)
    with torch.no_grad():
        for layer in {layers}:
            if not isinstance(layer, nn.Linear):
                continue
            fan_in, fan_out = layer.in_features, layer.out_features
            if scheme.startswith("he"):
                std = {he}
            else:
                std = math.sqrt(2 / (fan_in + fan_out))
            if scheme.endswith("uniform"):
                layer.weight.uniform_(-{bound}, {bound})
            else:
                layer.weight.normal_(0, std)
            if layer.bias is not None{bias_guard}:
                layer.bias.zero_()
    return model
'''


def _initialize(layers="model.modules()", he="math.sqrt(2 / fan_in)", bound="math.sqrt(3) * std", bias_guard=""):
    return _INIT_TEMPLATE.format(layers=layers, he=he, bound=bound, bias_guard=bias_guard)


_VARIANCES_TEMPLATE = '''
def activation_variances(layers, x):
    out = []
    h = x
    with torch.no_grad():
        for layer in layers:
            {body}
    return out
'''

CASES = [
    # he_std: the lecture's misprint, and the variance instead of the standard deviation
    ("he_std_answer", "def he_std(fan_in):\n    return 2 / math.sqrt(fan_in)\n", ["he_std_tests"]),
    ("he_std_answer", "def he_std(fan_in):\n    return 2 / fan_in\n", ["he_std_tests"]),
    # xavier_std: variance; the slide's 1/sqrt(fan_in)
    ("xavier_std_answer", "def xavier_std(fan_in, fan_out):\n    return 2 / (fan_in + fan_out)\n", ["xavier_std_tests"]),
    ("xavier_std_answer", "def xavier_std(fan_in, fan_out):\n    return 1 / math.sqrt(fan_in)\n", ["xavier_std_tests"]),
    # units_identical: exact ==, ignoring the bias, comparing columns
    ("units_identical_answer",
     "def units_identical(layer, atol=1e-6):\n"
     "    p = layer.weight if layer.bias is None else torch.cat([layer.weight, layer.bias[:, None]], 1)\n"
     "    return bool((p == p[0]).all())\n",
     ["units_identical_tests"]),
    ("units_identical_answer",
     "def units_identical(layer, atol=1e-6):\n"
     "    w = layer.weight.detach()\n"
     "    return bool((w - w[0]).abs().max() <= atol)\n",
     ["units_identical_tests"]),
    ("units_identical_answer",
     "def units_identical(layer, atol=1e-6):\n"
     "    w = layer.weight.detach()\n"
     "    return bool((w - w[:, :1]).abs().max() <= atol)\n",
     ["units_identical_tests"]),
    # initialize_: misprint, fan_out, first layer only, biases kept, the normal std used as the uniform bound
    # (variance-for-std is caught in he_std; the hidden tests name it here too)
    ("initialize_answer", _initialize(he="2 / math.sqrt(fan_in)"), ["initialize_tests"]),
    ("initialize_answer", _initialize(he="math.sqrt(2 / fan_out)"), ["initialize_tests"]),
    ("initialize_answer", _initialize(layers="[m for m in model.modules() if isinstance(m, nn.Linear)][:1]"),
     ["initialize_tests"]),
    ("initialize_answer", _initialize(bias_guard=" and False"), ["initialize_tests"]),
    ("initialize_answer", _initialize(bound="std"), ["initialize_tests"]),
    # activation_variances: std instead of variance, pre-activations
    ("activation_variances_answer",
     _VARIANCES_TEMPLATE.format(body="h = layer(h)\n            out.append(float(h.std()))"),
     ["activation_variances_tests"]),
    ("activation_variances_answer",
     _VARIANCES_TEMPLATE.format(body="out.append(float(layer.linear(h).var()))\n            h = layer(h)"),
     ["activation_variances_tests"]),
    # the biased estimator (divides by the number of entries): named as such by the test
    ("activation_variances_answer",
     _VARIANCES_TEMPLATE.format(body="h = layer(h)\n            out.append(float(h.var(unbiased=False)))"),
     ["activation_variances_tests"]),
    # correct, written differently: numpy's unbiased variance in float64
    ("activation_variances_answer",
     _VARIANCES_TEMPLATE.format(body="h = layer(h)\n            out.append(float(np.var(h.double().numpy(), ddof=1)))"),
     []),
]
