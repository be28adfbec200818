"""Designed wrong answers for 00_welcome (see tests/roundtrip_cases.py for the format)."""

CASES = [
    (
        "relu_answer",
        "def relu(x):\n    x[x < 0] = 0\n    return x\n",  # right values, but overwrites the input
        ["relu_tests"],
    ),
    (
        "relu_grad_answer",
        "def relu_grad(x):\n    return (x >= 0).float()\n",  # derivative 1 at x = 0
        ["relu_grad_tests"],
    ),
    (
        "relu_grad_answer",
        "def relu_grad(x):\n    return x > 0\n",  # a boolean tensor, not a float one
        ["relu_grad_tests"],
    ),
]
