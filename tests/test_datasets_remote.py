"""course_utils.datasets_remote against a local HTTP server serving small IDX fixture files."""
import functools
import gzip
import hashlib
import http.server
import socket
import threading

import numpy as np
import pytest
import torch

from course_utils.datasets_remote import DatasetUnavailable, load_mnist, read_idx


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture()
def server(tmp_path):
    """Serve 5 fake 28x28 images and labels for each split; yield (base_url, md5 hashes, arrays)."""
    root = tmp_path / "www"
    root.mkdir()
    rng = np.random.default_rng(0)
    arrays, hashes = {}, {}
    for prefix in ("train", "t10k"):
        images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=5, dtype=np.uint8)
        arrays[prefix] = (images, labels)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte.gz"
            data = gzip.compress(_idx_bytes(array), mtime=0)
            (root / name).write_bytes(data)
            hashes[name] = "md5:" + hashlib.md5(data).hexdigest()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", hashes, arrays, httpd
    httpd.shutdown()
    httpd.server_close()


def test_read_idx_roundtrip(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(_idx_bytes(array))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), array)
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad.idx")


def test_download_parse_and_cache(server, tmp_path):
    url, hashes, arrays, httpd = server
    cache = tmp_path / "cache"
    x, y = load_mnist("fashion", "train", base_url=url, hashes=hashes, path=cache)
    assert x.shape == (5, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    np.testing.assert_allclose(x[:, 0].numpy(), arrays["train"][0] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y.numpy(), arrays["train"][1])
    x_test, _ = load_mnist("fashion", "test", limit=3, base_url=url, hashes=hashes, path=cache)
    assert x_test.shape == (3, 1, 28, 28)
    httpd.shutdown()  # offline now: the cached, hash-checked copy is used
    x2, y2 = load_mnist("fashion", "train", base_url=url, hashes=hashes, path=cache)
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_hash_mismatch_is_an_error(server, tmp_path):
    url, hashes, _, _ = server
    wrong = dict(hashes, **{"train-labels-idx1-ubyte.gz": "md5:" + "0" * 32})
    with pytest.raises(DatasetUnavailable, match="hash"):
        load_mnist("mnist", "train", base_url=url, hashes=wrong, path=tmp_path / "cache")
    assert not (tmp_path / "cache" / "train-labels-idx1-ubyte.gz").exists()


def test_offline_gives_a_clear_error(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DatasetUnavailable, match="offline"):
        load_mnist("mnist", "test", base_url=f"http://127.0.0.1:{port}/", path=tmp_path / "cache")


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        load_mnist("mnist", "validation")
    with pytest.raises(ValueError, match="name"):
        load_mnist("kmnist", "train")
