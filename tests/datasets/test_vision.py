"""dualnet.datasets.MNIST as a Dataset: samples, batches through DataLoader, file lookup and the
missing-files error. Never touches the network (download=False throughout)."""
from pathlib import Path

import numpy as np
import pytest

import dualnet as dn
from dualnet.datasets import MNIST, load_mnist, write_idx
from dualnet.utils.data import DataLoader, Subset, default_collate

REPO = Path(__file__).resolve().parents[2]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
FOUR_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.fixture(scope="module")
def small_test():
    return MNIST(train=False, subset="small")


@pytest.fixture
def fake_root(tmp_path):
    """A well-formed 6-image test split in tmp_path (train split absent)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5, 9], np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    return tmp_path, images, labels


def test_sample_is_unit_float_image_and_int_label(small_test):
    images, labels = load_mnist(train=False, subset="small")
    image, label = small_test[7]
    assert len(small_test) == 2000
    assert image.shape == (1, 28, 28) and image.dtype == dn.float32
    assert type(label) is int and label == int(labels[7])
    np.testing.assert_array_equal(image.numpy()[0], images[7].astype(np.float32) / 255)
    assert 0.0 <= image.min().item() and image.max().item() <= 1.0
    assert small_test.data.dtype == dn.uint8 and small_test.data.shape == (2000, 28, 28)
    assert small_test.targets.dtype == dn.int64 and small_test.targets[7].item() == label
    assert small_test.class_to_idx["3 - three"] == 3 and len(small_test.classes) == 10
    assert "subset='small'" in repr(small_test)


def test_matches_torchvision_to_tensor_scaling(small_test):
    torch = pytest.importorskip("torch")
    # ToTensor divides a uint8 image by 255 in float32: the same bits as ours.
    raw = torch.from_numpy(small_test.data.numpy()[:5].copy())
    expected = raw.unsqueeze(1).float().div(255)
    got = np.stack([small_test[i][0].numpy() for i in range(5)])
    np.testing.assert_array_equal(got, expected.numpy())


def test_transforms_apply_to_image_and_label(small_test):
    data = MNIST(train=False, subset="small", transform=lambda x: x.flatten() * 2,
                 target_transform=lambda y: y + 100)
    image, label = data[3]
    assert image.shape == (784,) and label == small_test[3][1] + 100
    np.testing.assert_allclose(image.numpy(), small_test[3][0].numpy().ravel() * 2)
    assert not hasattr(data, "_collated_batch")  # transforms are per sample: no batch shortcut
    images, labels = next(iter(DataLoader(data, batch_size=4)))
    assert images.shape == (4, 784) and labels.tolist() == [
        small_test[i][1] + 100 for i in range(4)]
    with pytest.raises(TypeError, match="transform must be callable"):
        MNIST(train=False, subset="small", transform="normalize")


def test_getitems_equals_per_item(small_test):
    picks = [5, 0, 1999, 5]
    batch = small_test.__getitems__(picks)
    for (image, label), index in zip(batch, picks):
        np.testing.assert_array_equal(image.numpy(), small_test[index][0].numpy())
        assert label == small_test[index][1] and type(label) is int


def test_loader_fast_path_equals_default_collate(small_test):
    loader = DataLoader(small_test, batch_size=64, shuffle=True,
                        generator=dn.Generator().manual_seed(0))
    slow = DataLoader(small_test, batch_size=64, shuffle=True,
                      collate_fn=lambda s: default_collate(s),
                      generator=dn.Generator().manual_seed(0))
    assert len(loader) == len(slow) == 32
    seen = []
    for (images, labels), (want_images, want_labels) in zip(loader, slow):
        assert images.shape[1:] == (1, 28, 28) and images.dtype == dn.float32
        assert labels.dtype == dn.int64
        np.testing.assert_array_equal(images.numpy(), want_images.numpy())
        np.testing.assert_array_equal(labels.numpy(), want_labels.numpy())
        seen.append(images.shape[0])
    assert sum(seen) == 2000
    subset = Subset(small_test, [10, 20, 30])
    images, labels = next(iter(DataLoader(subset, batch_size=3)))
    assert labels.tolist() == [small_test[i][1] for i in (10, 20, 30)]


def test_root_and_torchvision_layout(fake_root):
    root, images, labels = fake_root
    data = MNIST(root, train=False)
    assert len(data) == 6 and [data[i][1] for i in range(6)] == labels.tolist()
    np.testing.assert_array_equal(data[2][0].numpy()[0] * 255, images[2].astype(np.float32))
    torchvision_root = root / "tv"
    (torchvision_root / "MNIST" / "raw").mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (root / name).rename(torchvision_root / "MNIST" / "raw" / name)
    assert len(MNIST(torchvision_root, train=False)) == 6


def test_missing_files_error_says_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("DUALNET_DATA", str(tmp_path))
    with pytest.raises(RuntimeError) as caught:
        MNIST(train=True)
    message = str(caught.value)
    assert str(tmp_path / "mnist") in message and "train-images-idx3-ubyte.gz" in message
    assert "download=True" in message and "subset='small'" in message
    with pytest.raises(RuntimeError, match="not found"):
        MNIST(tmp_path / "empty", train=False)


def test_subset_only_by_name():
    with pytest.raises(ValueError, match="subset"):
        MNIST(subset="tiny")
    with pytest.raises(ValueError, match="root or subset"):
        MNIST("somewhere", subset="small")
    assert len(MNIST(train=True, subset="small")) == 10_000


@pytest.mark.skipif(not all((SHARED_MNIST / name).is_file() for name in FOUR_FILES),
                    reason=f"full MNIST not found in {SHARED_MNIST}")
def test_full_mnist():
    train, test = MNIST(SHARED_MNIST, train=True), MNIST(SHARED_MNIST, train=False)
    assert len(train) == 60_000 and len(test) == 10_000
    assert np.bincount(train.targets.numpy()).tolist()[:2] == [5923, 6742]
    loader = DataLoader(train, batch_size=128, shuffle=True, drop_last=True)
    assert len(loader) == 468
    images, labels = next(iter(loader))
    assert images.shape == (128, 1, 28, 28) and labels.shape == (128,)
