"""Designed wrong answers for the nbgrader round trip, per assignment.

Each case: (answer cell grade_id, student source, grade_ids of the test cells that must fail).
Every other test cell must still get full marks. Generic cases (each answer left as the stub)
are generated automatically; these add the *common mistakes* each notebook's hidden tests must
catch.
"""

CASES: dict[str, list[tuple[str, str, list[str]]]] = {
    "00_welcome": [
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
    ],
}
