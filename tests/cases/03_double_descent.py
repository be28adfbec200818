"""Designed wrong answers for 03_double_descent (see tests/roundtrip_cases.py for the format)."""

CASES = [
    # Exercise 1: the feature map
    (
        "legendre_features_answer",  # forgot the bias feature: P_1 .. P_d instead of P_0 .. P_{d-1}
        "def legendre_features(x, d):\n"
        "    from numpy.polynomial import legendre\n"
        "    return legendre.legvander(np.asarray(x, dtype=float), d)[:, 1:]\n",
        ["legendre_features_tests"],
    ),
    (
        "legendre_features_answer",  # monomials x**k instead of Legendre polynomials
        "def legendre_features(x, d):\n"
        "    return np.asarray(x, dtype=float)[:, None] ** np.arange(d)\n",
        ["legendre_features_tests"],
    ),
    # Exercise 2: the minimum-norm solution
    (
        "min_norm_answer",  # normal equations: singular when d > n (and when rank-deficient)
        "def min_norm_solve(Phi, y):\n"
        "    return np.linalg.inv(Phi.T @ Phi) @ Phi.T @ y\n",
        ["min_norm_tests"],
    ),
    (
        "min_norm_answer",  # the d > n formula used everywhere: wrong for over-determined systems
        "def min_norm_solve(Phi, y):\n"
        "    return Phi.T @ np.linalg.solve(Phi @ Phi.T, y)\n",
        ["min_norm_tests"],
    ),
    (
        "min_norm_answer",  # a solve that only works for square systems
        "def min_norm_solve(Phi, y):\n"
        "    return np.linalg.solve(Phi, y)\n",
        ["min_norm_tests"],
    ),
    # Exercise 3: the test-error curve
    (
        "test_error_curve_answer",  # fitted on the test set
        "def test_error_curve(Phi_train, y_train, Phi_test, y_test, ds):\n"
        "    out = []\n"
        "    for d in ds:\n"
        "        w = np.linalg.pinv(Phi_test[:, :d]) @ y_test\n"
        "        out.append(np.mean((Phi_test[:, :d] @ w - y_test) ** 2))\n"
        "    return np.array(out)\n",
        ["test_error_curve_tests"],
    ),
    (
        "test_error_curve_answer",  # returns the training error instead of the test error
        "def test_error_curve(Phi_train, y_train, Phi_test, y_test, ds):\n"
        "    out = []\n"
        "    for d in ds:\n"
        "        w = np.linalg.pinv(Phi_train[:, :d]) @ y_train\n"
        "        out.append(np.mean((Phi_train[:, :d] @ w - y_train) ** 2))\n"
        "    return np.array(out)\n",
        ["test_error_curve_tests"],
    ),
    (
        "test_error_curve_answer",  # ignores d: always all D features
        "def test_error_curve(Phi_train, y_train, Phi_test, y_test, ds):\n"
        "    w = np.linalg.pinv(Phi_train) @ y_train\n"
        "    return np.array([np.mean((Phi_test @ w - y_test) ** 2) for d in ds])\n",
        ["test_error_curve_tests"],
    ),
    # Exercise 4: the interpolation threshold
    (
        "threshold_answer",  # returns the index, not the size
        "def interpolation_threshold(sizes, train_errors, tol=1e-8):\n"
        "    for i, err in enumerate(train_errors):\n"
        "        if err <= tol:\n"
        "            return i\n"
        "    return None\n",
        ["threshold_tests"],
    ),
    (
        "threshold_answer",  # the last size above tol + 1 (assumes the curve never rises again)
        "def interpolation_threshold(sizes, train_errors, tol=1e-8):\n"
        "    above = [s for s, e in zip(sizes, train_errors) if e > tol]\n"
        "    if not above:\n"
        "        return int(sizes[0])\n"
        "    later = [s for s in sizes if s > max(above)]\n"
        "    return int(later[0]) if later else None\n",
        ["threshold_tests"],
    ),
    (
        "threshold_answer",  # strict comparison: never finds the threshold with tol=0.0 (the demos' call)
        "def interpolation_threshold(sizes, train_errors, tol=1e-8):\n"
        "    for size, err in zip(sizes, train_errors):\n"
        "        if err < tol:\n"
        "            return int(size)\n"
        "    return None\n",
        ["threshold_tests"],
    ),
    (
        "threshold_answer",  # correct, written differently: numpy, first index where the error is <= tol
        "def interpolation_threshold(sizes, train_errors, tol=1e-8):\n"
        "    hits = np.flatnonzero(np.asarray(train_errors) <= tol)\n"
        "    return int(np.asarray(sizes)[hits[0]]) if hits.size else None\n",
        [],
    ),
]
