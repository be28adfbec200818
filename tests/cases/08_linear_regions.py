"""Designed wrong answers for 08_linear_regions (see tests/roundtrip_cases.py for the format)."""

_FORWARD = '''
def shallow_forward(x, theta, phi):
    pre = {PRE}
    return {OUT}
'''

_PATTERN = '''
def activation_pattern(x, theta):
    z = {Z}
    return {ON}
'''

_REGIONS = '''
import math


def max_regions(D, Di):
    if D < 0 or Di < 1:
        raise ValueError("need D >= 0 and Di >= 1")
    return {RETURN}
'''

_COUNT = '''
def count_regions(x, theta):
    z = {Z}
    return {RETURN}
'''

_PRE_OK = "theta[:, 0] + x @ theta[:, 1:].T"
_Z_OK = "x @ theta[:, 1:].T + theta[:, 0]"

CASES = [
    # shallow_forward: ignores the hidden biases theta_d0
    ("shallow_forward_answer",
     _FORWARD.replace("{PRE}", "x @ theta[:, 1:].T").replace("{OUT}", "phi[0] + torch.relu(pre) @ phi[1:]"),
     ["shallow_forward_tests"]),
    # shallow_forward: ignores the output bias phi_0
    ("shallow_forward_answer",
     _FORWARD.replace("{PRE}", _PRE_OK).replace("{OUT}", "torch.relu(pre) @ phi[1:]"),
     ["shallow_forward_tests"]),
    # shallow_forward: weights untransposed -- runs only when Di == D (shapes that pass only for square inputs)
    ("shallow_forward_answer",
     _FORWARD.replace("{PRE}", "theta[:, 0] + x @ theta[:, 1:]").replace("{OUT}", "phi[0] + torch.relu(pre) @ phi[1:]"),
     ["shallow_forward_tests"]),
    # shallow_forward: the bias read from the last column
    ("shallow_forward_answer",
     _FORWARD.replace("{PRE}", "theta[:, -1] + x @ theta[:, :-1].T")
     .replace("{OUT}", "phi[0] + torch.relu(pre) @ phi[1:]"),
     ["shallow_forward_tests"]),
    # activation_pattern: treats a zero pre-activation as on
    ("activation_pattern_answer", _PATTERN.replace("{Z}", _Z_OK).replace("{ON}", "z >= 0"),
     ["activation_pattern_tests"]),
    # activation_pattern: ignores the bias
    ("activation_pattern_answer", _PATTERN.replace("{Z}", "x @ theta[:, 1:].T").replace("{ON}", "z > 0"),
     ["activation_pattern_tests"]),
    # activation_pattern: (D, N) instead of (N, D) -- right only if you never look at the shape
    ("activation_pattern_answer", _PATTERN.replace("{Z}", _Z_OK).replace("{ON}", "(z > 0).T"),
     ["activation_pattern_tests"]),
    # activation_pattern: weights untransposed -- passes only for square inputs
    ("activation_pattern_answer", _PATTERN.replace("{Z}", "x @ theta[:, 1:] + theta[:, 0]").replace("{ON}", "z > 0"),
     ["activation_pattern_tests"]),
    # activation_pattern: 0/1 floats instead of bools
    ("activation_pattern_answer", _PATTERN.replace("{Z}", _Z_OK).replace("{ON}", "(z > 0).float()"),
     ["activation_pattern_tests"]),
    # max_regions: counts hidden units instead of regions
    ("max_regions_answer", _REGIONS.replace("{RETURN}", "D"), ["max_regions_tests"]),
    # max_regions: off by one, the sum stops at Di - 1
    ("max_regions_answer", _REGIONS.replace("{RETURN}", "sum(math.comb(D, j) for j in range(Di))"),
     ["max_regions_tests"]),
    # max_regions: off by one, the sum goes to Di + 1
    ("max_regions_answer", _REGIONS.replace("{RETURN}", "sum(math.comb(D, j) for j in range(Di + 2))"),
     ["max_regions_tests"]),
    # max_regions: leaves out j = 0
    ("max_regions_answer", _REGIONS.replace("{RETURN}", "sum(math.comb(D, j) for j in range(1, Di + 1))"),
     ["max_regions_tests"]),
    # max_regions: 2**D for every Di
    ("max_regions_answer", _REGIONS.replace("{RETURN}", "2 ** D"), ["max_regions_tests"]),
    # max_regions: float arithmetic loses digits for large counts
    ("max_regions_answer",
     _REGIONS.replace("{RETURN}", "float(sum(math.factorial(D) / (math.factorial(j) * math.factorial(D - j)) "
                                  "for j in range(min(D, Di) + 1)))"),
     ["max_regions_tests"]),
    # count_regions: counts hidden units instead of regions
    ("count_regions_answer", _COUNT.replace("{Z}", _Z_OK).replace("{RETURN}", "theta.shape[0]"),
     ["count_regions_tests"]),
    # count_regions: sign patterns make points on a hinge an extra region (zero pre-activation inconsistently)
    ("count_regions_answer",
     _COUNT.replace("{Z}", _Z_OK).replace("{RETURN}", "int(torch.unique(torch.sign(z), dim=0).shape[0])"),
     ["count_regions_tests"]),
    # count_regions: z >= 0 counts as on, unlike Exercise 2
    ("count_regions_answer", _COUNT.replace("{Z}", _Z_OK).replace("{RETURN}", "int(torch.unique(z >= 0, dim=0).shape[0])"),
     ["count_regions_tests"]),
    # count_regions: ignores the bias
    ("count_regions_answer",
     _COUNT.replace("{Z}", "x @ theta[:, 1:].T").replace("{RETURN}", "int(torch.unique(z > 0, dim=0).shape[0])"),
     ["count_regions_tests"]),
    # count_regions: distinct entries instead of distinct rows
    ("count_regions_answer", _COUNT.replace("{Z}", _Z_OK).replace("{RETURN}", "int(torch.unique(z > 0).numel())"),
     ["count_regions_tests"]),
    # count_regions: distinct columns -- can pass only for square inputs
    ("count_regions_answer",
     _COUNT.replace("{Z}", _Z_OK).replace("{RETURN}", "int(torch.unique(z > 0, dim=1).shape[1])"),
     ["count_regions_tests"]),
]
