"""Designed wrong answers for 04_convolution (see tests/roundtrip_cases.py for the format)."""

_SHAPE_OK = '''
def conv_output_shape(input_shape, num_filters, kernel_size, stride=1, padding=0, dilation=1):
    D1, H1, W1 = input_shape
    if min(D1, H1, W1, num_filters, kernel_size, stride, dilation) < 1 or padding < 0:
        raise ValueError("bad argument")
    span = dilation * (kernel_size - 1) + 1
    out = []
    for n in (H1, W1):
        free = {FREE}
        if free < 0 or free % stride:
            raise ValueError("invalid")
        out.append(free // stride + 1)
    return (num_filters, out[0], out[1])
'''

_CONV2D = '''
def conv2d(x, weight, bias=None, stride=1, padding=0):
    N, C, H, W = x.shape
    K, C_w, FH, FW = weight.shape
    if C != C_w:
        raise ValueError("channels differ")
    xp = {PAD}
    H2 = (xp.shape[2] - FH) // stride + 1
    W2 = (xp.shape[3] - FW) // stride + 1
    w = {WEIGHT}
    out = torch.zeros(N, K, H2, W2, dtype=x.dtype)
    for i in range(H2):
        for j in range(W2):
            window = xp[:, :, i * stride:i * stride + FH, j * stride:j * stride + FW]
            out[:, :, i, j] = (window.unsqueeze(1) * w.unsqueeze(0)).sum(dim=(2, 3, 4))
    {BIAS}
    return out
'''

_POOL = '''
def max_pool2d(x, kernel_size, stride=None):
    stride = {STRIDE}
    N, C, H, W = x.shape
    H2 = (H - kernel_size) // stride + 1
    W2 = (W - kernel_size) // stride + 1
    out = torch.empty(N, C, H2, W2, dtype=x.dtype)
    for i in range(H2):
        for j in range(W2):
            window = x[:, :, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size]
            out[:, :, i, j] = {REDUCE}
    return out
'''

_BIAS_OK = "out = out if bias is None else out + bias.view(1, K, 1, 1)"
_PAD_OK = "F.pad(x, (padding, padding, padding, padding))"

CASES = [
    # conv_output_shape: padding applied once instead of on both sides
    ("conv_output_shape_answer", _SHAPE_OK.replace("{FREE}", "n + padding - span"), ["conv_output_shape_tests"]),
    # conv_output_shape: dilation ignored (F instead of F_eff)
    ("conv_output_shape_answer", _SHAPE_OK.replace("{FREE}", "n + 2 * padding - kernel_size"),
     ["conv_output_shape_tests"]),
    # conv_output_shape: rounds down like PyTorch (accepted) but never raises: a kernel larger than the padded
    # input gives a size < 1 instead of a ValueError. (_SHAPE_OK raises on uneven tiling: strict, also accepted.)
    ("conv_output_shape_answer",
     "def conv_output_shape(input_shape, num_filters, kernel_size, stride=1, padding=0, dilation=1):\n"
     "    D1, H1, W1 = input_shape\n"
     "    span = dilation * (kernel_size - 1) + 1\n"
     "    return (num_filters, (H1 + 2 * padding - span) // stride + 1, (W1 + 2 * padding - span) // stride + 1)\n",
     ["conv_output_shape_tests"]),
    # conv_output_shape: keeps the input depth D1 instead of D2 = K
    ("conv_output_shape_answer",
     _SHAPE_OK.replace("{FREE}", "n + 2 * padding - span").replace("return (num_filters,", "return (D1,"),
     ["conv_output_shape_tests"]),
    # conv_param_count: forgets the bias
    ("conv_param_count_answer",
     "def conv_param_count(in_channels, num_filters, kernel_size, bias=True):\n"
     "    if min(in_channels, num_filters, kernel_size) < 1:\n"
     "        raise ValueError('bad')\n"
     "    return kernel_size * kernel_size * in_channels * num_filters\n",
     ["conv_param_count_tests"]),
    # conv_param_count: forgets the input depth D1
    ("conv_param_count_answer",
     "def conv_param_count(in_channels, num_filters, kernel_size, bias=True):\n"
     "    if min(in_channels, num_filters, kernel_size) < 1:\n"
     "        raise ValueError('bad')\n"
     "    return kernel_size * kernel_size * num_filters + (num_filters if bias else 0)\n",
     ["conv_param_count_tests"]),
    # pool_output_shape: default stride 1 instead of the kernel size
    ("pool_output_shape_answer",
     "def pool_output_shape(input_shape, kernel_size, stride=None):\n"
     "    stride = 1 if stride is None else stride\n"
     "    D1, H1, W1 = input_shape\n"
     "    if min(D1, H1, W1, kernel_size, stride) < 1 or kernel_size > min(H1, W1):\n"
     "        raise ValueError('bad')\n"
     "    if (H1 - kernel_size) % stride or (W1 - kernel_size) % stride:\n"
     "        raise ValueError('not an integer')\n"
     "    return (D1, (H1 - kernel_size) // stride + 1, (W1 - kernel_size) // stride + 1)\n",
     ["pool_output_shape_tests"]),
    # pool_output_shape: rounds down (accepted) but never raises: a window larger than the input gives size 0
    ("pool_output_shape_answer",
     "def pool_output_shape(input_shape, kernel_size, stride=None):\n"
     "    stride = kernel_size if stride is None else stride\n"
     "    D1, H1, W1 = input_shape\n"
     "    return (D1, (H1 - kernel_size) // stride + 1, (W1 - kernel_size) // stride + 1)\n",
     ["pool_output_shape_tests"]),
    # conv2d: float32 buffer for float64 input (torch.zeros without dtype=x.dtype)
    ("conv2d_answer", _CONV2D.replace("{PAD}", _PAD_OK).replace("{WEIGHT}", "weight").replace("{BIAS}", _BIAS_OK)
     .replace("dtype=x.dtype", "dtype=torch.float32"), ["conv2d_tests"]),
    # conv2d: float32 arithmetic on float64 input, cast back at the end
    ("conv2d_answer", _CONV2D.replace("{PAD}", "F.pad(x.float(), (padding, padding, padding, padding))")
     .replace("{WEIGHT}", "weight.float()").replace("{BIAS}", _BIAS_OK.replace("out + bias", "out + bias.float()"))
     .replace("dtype=x.dtype", "dtype=torch.float32").replace("    return out", "    return out.to(x.dtype)"),
     ["conv2d_tests"]),
    # conv2d: flipped kernel (true convolution instead of cross-correlation)
    ("conv2d_answer", _CONV2D.replace("{PAD}", _PAD_OK).replace("{WEIGHT}", "weight.flip(-1, -2)")
     .replace("{BIAS}", _BIAS_OK), ["conv2d_tests"]),
    # conv2d: padding on one side only
    ("conv2d_answer", _CONV2D.replace("{PAD}", "F.pad(x, (padding, 0, padding, 0))").replace("{WEIGHT}", "weight")
     .replace("{BIAS}", _BIAS_OK), ["conv2d_tests"]),
    # conv2d: bias forgotten
    ("conv2d_answer", _CONV2D.replace("{PAD}", _PAD_OK).replace("{WEIGHT}", "weight").replace("{BIAS}", "pass"),
     ["conv2d_tests"]),
    # max_pool2d: averages
    ("max_pool2d_answer", _POOL.replace("{STRIDE}", "kernel_size if stride is None else stride")
     .replace("{REDUCE}", "window.mean(dim=(2, 3))"), ["max_pool2d_tests"]),
    # max_pool2d: default stride 1
    ("max_pool2d_answer", _POOL.replace("{STRIDE}", "1 if stride is None else stride")
     .replace("{REDUCE}", "window.amax(dim=(2, 3))"), ["max_pool2d_tests"]),
    # max_pool2d: maximum taken across channels as well
    ("max_pool2d_answer", _POOL.replace("{STRIDE}", "kernel_size if stride is None else stride")
     .replace("{REDUCE}", "window.amax(dim=(1, 2, 3)).unsqueeze(1)"), ["max_pool2d_tests"]),
    # receptive_field: strides ignored
    ("receptive_field_answer",
     "def receptive_field(layers):\n    return 1 + sum(k - 1 for k, s in layers)\n", ["receptive_field_tests"]),
    # receptive_field: each layer multiplied by its own stride
    ("receptive_field_answer",
     "def receptive_field(layers):\n"
     "    r, jump = 1, 1\n"
     "    for k, s in layers:\n"
     "        jump *= s\n"
     "        r += (k - 1) * jump\n"
     "    return r\n", ["receptive_field_tests"]),
]
