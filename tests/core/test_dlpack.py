"""dn.from_dlpack / Tensor.__dlpack__: zero-copy exchange with NumPy, torch and CuPy."""
import doctest

import numpy as np
import pytest

import dualnet as dn
from dualnet.core import dlpack

DTYPES = [dn.float16, dn.float32, dn.float64, dn.uint8, dn.int8, dn.int16, dn.int32, dn.int64,
          dn.bool]


@pytest.mark.parametrize("dtype", DTYPES, ids=[d.name for d in DTYPES])
def test_numpy_both_ways_share_memory(dtype):
    array = np.zeros((2, 3), dtype=dtype.np)
    t = dn.from_dlpack(array)
    assert t.dtype == dtype and t.shape == (2, 3) and t.device == dn.device("cpu")
    array[0, 1] = 1
    assert t[0, 1].item() == 1  # a write through NumPy is seen by the tensor
    back = np.from_dlpack(t)
    t[1, 2] = 1
    assert back[1, 2] == 1 and array[1, 2] == 1  # and a write through the tensor by NumPy
    assert back.__array_interface__["data"][0] == t.data_ptr()


def test_views_keep_their_strides():
    base = dn.arange(12.0).reshape(3, 4)
    view = base.t()[1:, ::2]
    array = np.from_dlpack(view)
    np.testing.assert_array_equal(array, view.numpy())
    assert array.strides == view.numpy().strides
    base[2, 1] = -1.0
    assert array[0, 1] == -1.0
    scalar = np.from_dlpack(dn.tensor(3.5))
    assert scalar.shape == () and scalar == 3.5


@pytest.mark.parity
@pytest.mark.parametrize("dtype", DTYPES, ids=[d.name for d in DTYPES])
def test_torch_both_ways_share_memory(dtype):
    torch = pytest.importorskip("torch")
    theirs = torch.zeros(2, 3, dtype=getattr(torch, dtype.name))
    ours = dn.from_dlpack(theirs)
    assert ours.dtype == dtype and ours.shape == (2, 3)
    theirs[1, 0] = 1
    assert ours[1, 0].item() == 1
    mine = dn.zeros(4, dtype=dtype)
    shared = torch.from_dlpack(mine)
    assert shared.dtype == theirs.dtype and shared.data_ptr() == mine.data_ptr()
    mine[2] = 1
    assert shared[2].item() == 1
    shared[3] = 1
    assert mine[3].item() == 1


@pytest.mark.parity
def test_torch_views_and_detached_parameters():
    torch = pytest.importorskip("torch")
    base = torch.arange(12.0).reshape(3, 4)
    ours = dn.from_dlpack(base.t())
    assert ours.stride() == (1, 4) and ours.tolist() == base.t().tolist()
    weight = torch.nn.Parameter(torch.ones(2))
    ours = dn.from_dlpack(weight.detach())
    assert not ours.requires_grad and ours.tolist() == [1.0, 1.0]
    assert torch.from_dlpack(dn.arange(6).reshape(2, 3).t()).stride() == (1, 3)
    with pytest.raises(RuntimeError, match=r"can't import the Tensor of dtype torch\.bfloat16"):
        dn.from_dlpack(torch.ones(2, dtype=torch.bfloat16))


def test_refusals():
    with pytest.raises(RuntimeError, match=r"can't export a tensor that requires grad.*detach"):
        np.from_dlpack(dn.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match=r"from_dlpack: expected an object with __dlpack__.*got "
                                        r"list"):
        dn.from_dlpack([1.0, 2.0])
    with pytest.raises(TypeError, match=r"from_dlpack: can't convert a NumPy array of dtype "
                                        r"complex64"):
        dn.from_dlpack(np.zeros(2, dtype=np.complex64))


class _Producer:
    """An array elsewhere: only its DLPack device is asked for before the refusal."""

    def __init__(self, device):
        self.device = device

    def __dlpack__(self, **kwargs):
        raise AssertionError("exported although the device was refused")

    def __dlpack_device__(self):
        return self.device


def test_devices_dualnet_lacks_are_named():
    with pytest.raises(RuntimeError, match=r"DLPack device type 8; dualnet has only CPU"):
        dn.from_dlpack(_Producer((8, 0)))
    if not dn.cuda.is_available():
        with pytest.raises(RuntimeError, match=r"lives on cuda:1, but CUDA is not available"):
            dn.from_dlpack(_Producer((2, 1)))


def test_cupy_on_the_gpu():
    if not dn.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    cupy = pytest.importorskip("cupy")
    theirs = cupy.zeros((2, 2), dtype=cupy.float32)
    ours = dn.from_dlpack(theirs)
    assert ours.device == dn.device("cuda", 0) and ours.dtype == dn.float32
    theirs[0, 1] = 5
    assert ours[0, 1].item() == 5.0
    back = cupy.from_dlpack(ours)
    ours[1, 1] = 7.0
    assert float(back[1, 1]) == 7.0 and back.data.ptr == ours.data_ptr()


def test_docstring_examples():
    result = doctest.testmod(dlpack, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
