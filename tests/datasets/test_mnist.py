"""MNIST idx reader and loader. Never touches the network: downloads go to file:// URLs."""

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from dualnet.datasets import load_mnist, mnist_dir, read_idx, write_idx
from dualnet.datasets import mnist as mnist_module

REPO = Path(__file__).resolve().parents[2]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
FOUR_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

needs_full_mnist = pytest.mark.skipif(
    not all((SHARED_MNIST / name).is_file() for name in FOUR_FILES),
    reason=f"full MNIST not found in {SHARED_MNIST}",
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any real download attempt fails the test instead of reaching out."""

    def refuse(url, *args, **kwargs):
        if not str(url).startswith("file:"):
            raise AssertionError(f"test tried to open {url}")
        return real_urlopen(url, *args, **kwargs)

    real_urlopen = mnist_module.urllib.request.urlopen
    monkeypatch.setattr(mnist_module.urllib.request, "urlopen", refuse)


@pytest.fixture
def fake_mnist(tmp_path):
    """A tiny, well-formed MNIST split in tmp_path/src: 5 train and 3 test images."""
    source = tmp_path / "src"
    source.mkdir()
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 5), ("t10k", 3)):
        write_idx(source / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        write_idx(source / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, count, dtype=np.uint8))
    return source


# --- the shipped subset -------------------------------------------------------


@pytest.mark.parametrize("train, count", [(True, 10_000), (False, 2_000)])
def test_small_subset_shapes_dtypes_and_labels(train, count):
    images, labels = load_mnist(subset="small", train=train)
    assert images.shape == (count, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (count,) and labels.dtype == np.uint8
    assert labels.min() == 0 and labels.max() == 9
    assert set(np.unique(labels)) == set(range(10))
    assert images.max() == 255 and images.min() == 0
    assert images.flags.writeable and labels.flags.writeable


def test_small_subset_is_only_loaded_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("DUALNET_DATA", str(tmp_path))
    with pytest.raises(RuntimeError, match="not found"):
        load_mnist(download=False)
    with pytest.raises(ValueError, match="subset"):
        load_mnist(subset="tiny")
    with pytest.raises(ValueError, match="root or subset"):
        load_mnist(root=tmp_path, subset="small")


def test_subset_files_stay_small():
    shipped = sorted((REPO / "dualnet" / "datasets" / "data").glob("*.gz"))
    assert len(shipped) == 4
    assert sum(path.stat().st_size for path in shipped) < 3_000_000


# --- the full set ---------------------------------------------------------------


@needs_full_mnist
def test_full_mnist_from_shared_data():
    images, labels = load_mnist(root=SHARED_MNIST, train=True, download=False)
    assert images.shape == (60_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60_000,) and labels.dtype == np.uint8
    test_images, test_labels = load_mnist(root=SHARED_MNIST, train=False, download=False)
    assert test_images.shape == (10_000, 28, 28) and test_labels.shape == (10_000,)
    assert np.bincount(labels, minlength=10).min() > 5_000
    # The shipped subset is the head of each split (tools/make_mnist_subset.py).
    small_images, small_labels = load_mnist(subset="small", train=False)
    np.testing.assert_array_equal(small_images, test_images[:2_000])
    np.testing.assert_array_equal(small_labels, test_labels[:2_000])


# --- idx reading and writing -----------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", [".gz", ""])
def test_idx_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = tmp_path / f"data-idx3{suffix}"
    write_idx(path, array)
    loaded = read_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)


def test_compression_is_detected_from_content_not_name(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"  # no .gz, but gzip'd content
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 3])))
    np.testing.assert_array_equal(read_idx(path), [7, 3])


def test_write_idx_is_byte_reproducible(tmp_path):
    array = np.arange(100, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def _idx_bytes(array):
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.tobytes()


@pytest.mark.parametrize(
    "make_bytes, message",
    [
        (lambda good: good[:-10], "truncated idx file"),
        (lambda good: good[:6], "truncated idx header"),
        (lambda good: good[:2], "truncated idx file"),
        (lambda good: good + b"\x00", "left over"),
        (lambda good: b"\x00\x00\x42\x01" + good[4:], "magic number"),
        (lambda good: b"\x01\x00\x08\x01" + good[4:], "magic number"),
        (lambda good: b"\x00\x00\x08\x00" + good[4:], "magic number"),
    ],
    ids=["data-cut", "header-cut", "magic-cut", "trailing-bytes", "bad-type", "bad-zero-bytes", "zero-dims"],
)
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_corrupt_idx_raises_value_error_naming_the_file(tmp_path, make_bytes, message, compress):
    good = _idx_bytes(np.arange(50, dtype=np.uint8).reshape(5, 10))
    data = make_bytes(good)
    path = tmp_path / "broken-idx2-ubyte"
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_stream_raises_value_error(tmp_path):
    compressed = gzip.compress(_idx_bytes(np.arange(5000, dtype=np.uint8)))
    path = tmp_path / "cut-idx1-ubyte.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(ValueError, match="gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_garbled_gzip_stream_raises_value_error(tmp_path):
    compressed = bytearray(gzip.compress(_idx_bytes(np.arange(5000, dtype=np.uint8))))
    compressed[20:40] = b"\xff" * 20
    path = tmp_path / "garbled-idx1-ubyte.gz"
    path.write_bytes(bytes(compressed))
    with pytest.raises(ValueError, match=str(path).replace("\\", "\\\\")):
        read_idx(path)


def test_huge_claimed_shape_is_truncation_not_allocation(tmp_path):
    path = tmp_path / "liar-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3]) + np.asarray([60_000, 60_000, 60_000], ">u4").tobytes() + b"\x00" * 10)
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


def test_loader_rejects_images_of_the_wrong_shape(tmp_path, fake_mnist):
    write_idx(fake_mnist / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 27), np.uint8))
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        load_mnist(root=fake_mnist, train=False, download=False)


def test_loader_rejects_count_mismatch(tmp_path, fake_mnist):
    write_idx(fake_mnist / "t10k-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="3 images but .* 4 labels"):
        load_mnist(root=fake_mnist, train=False, download=False)


# --- where the files are looked for ----------------------------------------------


def test_data_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DUALNET_DATA", raising=False)
    assert mnist_dir() == tmp_path / "home" / ".dualnet" / "datasets" / "mnist"
    monkeypatch.setenv("DUALNET_DATA", str(tmp_path / "data"))
    assert mnist_dir() == tmp_path / "data" / "mnist"
    assert mnist_dir(tmp_path / "explicit") == tmp_path / "explicit"


def test_loads_from_dualnet_data(monkeypatch, tmp_path, fake_mnist):
    fake_mnist.rename(tmp_path / "mnist")
    monkeypatch.setenv("DUALNET_DATA", str(tmp_path))
    images, labels = load_mnist(train=False, download=False)
    assert images.shape == (3, 28, 28) and labels.shape == (3,)


def test_uncompressed_files_are_read_too(tmp_path, fake_mnist):
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (fake_mnist / name[:-3]).write_bytes(gzip.decompress((fake_mnist / name).read_bytes()))
        (fake_mnist / name).unlink()
    images, labels = load_mnist(root=fake_mnist, download=False)
    assert images.shape == (5, 28, 28) and labels.shape == (5,)


def test_missing_files_without_download_name_directory_and_files(tmp_path, monkeypatch):
    monkeypatch.setenv("DUALNET_DATA", str(tmp_path))
    with pytest.raises(RuntimeError) as info:
        load_mnist(download=False)
    message = str(info.value)
    assert str(tmp_path / "mnist") in message
    for name in FOUR_FILES:
        assert name in message
    assert not (tmp_path / "mnist").exists()  # download=False creates nothing


# --- downloading (from file:// URLs) ---------------------------------------------


def _serve(monkeypatch, source, mirrors):
    """Point the downloader at file:// mirrors, with checksums of the files in source."""
    sums = {name: hashlib.md5((source / name).read_bytes()).hexdigest() for name in FOUR_FILES}
    monkeypatch.setattr(mnist_module, "_FILE_MD5", sums)
    monkeypatch.setattr(mnist_module, "_MIRRORS", tuple(mirrors))


def test_download_fills_the_directory_atomically(tmp_path, monkeypatch, fake_mnist):
    _serve(monkeypatch, fake_mnist, [(tmp_path / "nowhere").as_uri() + "/", fake_mnist.as_uri() + "/"])
    target = tmp_path / "cache" / "mnist"
    images, labels = load_mnist(root=target, train=False)
    assert images.shape == (3, 28, 28) and labels.shape == (3,)
    assert sorted(path.name for path in target.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_download_with_bad_checksum_leaves_nothing_behind(tmp_path, monkeypatch, fake_mnist):
    _serve(monkeypatch, fake_mnist, [fake_mnist.as_uri() + "/"])
    monkeypatch.setitem(mnist_module._FILE_MD5, "t10k-images-idx3-ubyte.gz", "0" * 32)
    target = tmp_path / "cache"
    with pytest.raises(RuntimeError, match="MD5 mismatch") as info:
        load_mnist(root=target, train=False)
    assert str(target) in str(info.value)
    assert list(target.iterdir()) == []  # no partial or unverified file


def test_download_failure_names_directory_and_files(tmp_path, monkeypatch, fake_mnist):
    _serve(monkeypatch, fake_mnist, [(tmp_path / "offline").as_uri() + "/"])
    monkeypatch.setenv("DUALNET_DATA", str(tmp_path / "data"))
    with pytest.raises(RuntimeError) as info:
        load_mnist()
    message = str(info.value)
    assert "download failed" in message and str(tmp_path / "data" / "mnist") in message
    for name in FOUR_FILES:
        assert name in message
