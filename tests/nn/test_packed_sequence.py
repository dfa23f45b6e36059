"""nn.utils.rnn and packed input to the recurrent layers, against torch.nn.utils.rnn and torch's
RNN / LSTM / GRU: packing, padding and their round trips give torch's values, batch_sizes and
sorted / unsorted indices (batch_first, enforce_sorted, total_length, padding_value, padding
side) and pass gradients back as torch's; with torch's weights copied in, RNN / LSTM (with
projections) / GRU over packed batches give torch's outputs, h_n, c_n and gradients of the input,
the initial states and every parameter (float64 to 1e-9, float32 to 1e-5); a float64 gradcheck of
a packed LSTM; bad lengths, sizes and states raise torch's exception classes naming the values."""
import numpy as np
import pytest

import dualnet as dn
from dualnet import nn
from dualnet.nn.utils import rnn as R

from _rnn_parity import TOL32, TOL64
from _rnn_parity import backward as _backward, close as _close
from _rnn_parity import compare_outputs_and_grads, gradcheck_projected_lstm
from _rnn_parity import leaf as _leaf, pair, torch as _torch

RNG = np.random.default_rng(7)
INPUT, HIDDEN, PROJ = 3, 5, 2
# torch's CPU build notes that it runs projections without oneDNN: nothing to act on here
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")


def _trr():
    return pytest.importorskip("torch.nn.utils.rnn")


def _same_ints(ours, theirs):
    if theirs is None:
        assert ours is None
        return
    assert ours.dtype == dn.int64 and ours.tolist() == theirs.tolist()


def _same_packed(ours, theirs, tol=TOL64):
    assert isinstance(ours, R.PackedSequence)
    _close(ours.data, theirs.data, tol)
    assert ours.batch_sizes.device.type == "cpu"
    _same_ints(ours.batch_sizes, theirs.batch_sizes)
    _same_ints(ours.sorted_indices, theirs.sorted_indices)
    _same_ints(ours.unsorted_indices, theirs.unsorted_indices)


# ties (two 3s, two 5s) check that the sort keeps torch's order for equal lengths
UNSORTED = [3, 5, 1, 5, 3, 2]
SORTED = sorted(UNSORTED, reverse=True)


# ------------------------------------------------------------------------- pack / pad

@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("total_length", [None, 7])
@pytest.mark.parametrize("padding_value", [0.0, -2.5])
def test_pack_pad_round_trip_matches_torch(batch_first, enforce_sorted, total_length,
                                           padding_value):
    trr = _trr()
    lengths = SORTED if enforce_sorted else UNSORTED
    steps, batch = max(lengths), len(lengths)
    x = _leaf(RNG.normal(size=(batch, steps, 2, 3) if batch_first else (steps, batch, 2, 3)))
    ours = R.pack_padded_sequence(x[0], lengths, batch_first, enforce_sorted)
    theirs = trr.pack_padded_sequence(x[1], lengths, batch_first, enforce_sorted)
    _same_packed(ours, theirs)
    padded, out_lengths = R.pad_packed_sequence(ours, batch_first, padding_value, total_length)
    tpadded, tout_lengths = trr.pad_packed_sequence(theirs, batch_first, padding_value,
                                                    total_length)
    assert tuple(padded.shape) == tuple(tpadded.shape)
    _close(padded, tpadded)
    _same_ints(out_lengths, tout_lengths)
    assert out_lengths.device.type == "cpu"
    _backward([padded, ours.data], [tpadded, theirs.data])
    _close(x[0].grad, x[1].grad)


def test_lengths_as_a_tensor_numpy_or_floats_read_as_torch():
    trr, torch = _trr(), _torch()
    x = RNG.normal(size=(5, 3, 2))
    expected = trr.pack_padded_sequence(torch.tensor(x), [5, 2, 1]).batch_sizes.tolist()
    for lengths in (dn.tensor([5, 2, 1]), dn.tensor([5, 2, 1], dtype=dn.int32),
                    np.array([5, 2, 1]), [5.0, 2.5, 1.0], dn.tensor([5.0, 2.0, 1.0])):
        assert R.pack_padded_sequence(dn.tensor(x), lengths).batch_sizes.tolist() == expected


def test_integer_data_packs_and_pads_with_its_dtype():
    trr, torch = _trr(), _torch()
    x = RNG.integers(0, 9, size=(3, 4))
    ours = R.pack_padded_sequence(dn.tensor(x), [2, 4, 1], batch_first=True,
                                  enforce_sorted=False)
    theirs = trr.pack_padded_sequence(torch.tensor(x), [2, 4, 1], batch_first=True,
                                      enforce_sorted=False)
    assert ours.data.dtype == dn.int64 and ours.data.tolist() == theirs.data.tolist()
    assert R.pad_packed_sequence(ours, padding_value=7)[0].tolist() == \
        trr.pad_packed_sequence(theirs, padding_value=7)[0].tolist()


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, padding_side):
    trr = _trr()
    seqs = [_leaf(RNG.normal(size=(n, 2))) for n in (2, 4, 0, 1, 4)]
    ours = R.pad_sequence([a for a, _ in seqs], batch_first, 1.5, padding_side)
    theirs = trr.pad_sequence([b for _, b in seqs], batch_first, 1.5, padding_side)
    assert tuple(ours.shape) == tuple(theirs.shape)
    _close(ours, theirs)
    _backward([ours], [theirs])
    for a, b in seqs:
        _close(a.grad, b.grad)


def test_pad_sequence_defaults_dtype_and_tensor_input_as_torch():
    trr, torch = _trr(), _torch()
    seqs = [RNG.normal(size=(n,)) for n in (3, 1)]
    _close(R.pad_sequence([dn.tensor(s) for s in seqs]),
           trr.pad_sequence([torch.tensor(s) for s in seqs]))
    # the first sequence's dtype wins, as torch's copy into the output does
    mixed = R.pad_sequence([dn.zeros(2, 3), dn.ones(1, 3, dtype=dn.float64)])
    assert mixed.dtype == dn.float32 and mixed.shape == (2, 2, 3)
    # a tensor is iterated along dim 0
    stacked = RNG.normal(size=(2, 3))
    _close(R.pad_sequence(dn.tensor(stacked)), trr.pad_sequence(torch.tensor(stacked)))


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_unpack_sequence_and_unpad_match_torch(enforce_sorted):
    trr, torch = _trr(), _torch()
    lengths = SORTED if enforce_sorted else UNSORTED
    seqs = [_leaf(RNG.normal(size=(n, 2))) for n in lengths]
    ours = R.pack_sequence([a for a, _ in seqs], enforce_sorted)
    theirs = trr.pack_sequence([b for _, b in seqs], enforce_sorted)
    _same_packed(ours, theirs)
    unpacked, tunpacked = R.unpack_sequence(ours), trr.unpack_sequence(theirs)
    assert len(unpacked) == len(tunpacked)
    for a, b in zip(unpacked, tunpacked):
        assert tuple(a.shape) == tuple(b.shape)
        _close(a, b)
    _backward(unpacked, tunpacked)
    for a, b in seqs:
        _close(a.grad, b.grad)
    for batch_first in (False, True):
        padded = trr.pad_sequence([b.detach() for _, b in seqs], batch_first)
        lengths_t = torch.tensor(lengths)
        ours_split = R.unpad_sequence(dn.tensor(padded.numpy()), dn.tensor(lengths), batch_first)
        theirs_split = trr.unpad_sequence(padded, lengths_t, batch_first)
        for a, b in zip(ours_split, theirs_split):
            _close(a, b)


def test_unpad_sequence_leaves_its_input_alone():
    padded = dn.tensor([[1, 4], [2, 0], [3, 0]])
    assert [s.tolist() for s in R.unpad_sequence(padded, [3, 1])] == [[1, 2, 3], [4]]
    assert padded.shape == (3, 2)


def test_packed_sequence_is_torchs_named_tuple():
    trr, torch = _trr(), _torch()
    seqs = [[1.0, 2.0], [3.0, 4.0, 5.0], [6.0]]
    ours = R.pack_sequence([dn.tensor(s) for s in seqs], enforce_sorted=False)
    theirs = trr.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    assert ours._fields == theirs._fields
    data, batch_sizes, sorted_indices, unsorted_indices = ours
    assert data is ours.data and batch_sizes is ours.batch_sizes
    assert repr(ours).startswith("PackedSequence(data=tensor([3., 1., 6., 4., 2., 5.]), "
                                 "batch_sizes=tensor([3, 2, 1]), sorted_indices=tensor([1, 0, 2])")
    assert not ours.is_cuda and not ours.is_pinned() and ours.pin_memory() is ours
    # to / cpu / float return self when nothing changes; a dtype change copies data only
    assert ours.to(dn.float32) is ours and ours.cpu() is ours and ours.float() is ours
    doubled = ours.double()
    assert doubled.data.dtype == dn.float64 and doubled.batch_sizes is ours.batch_sizes
    assert doubled.sorted_indices.dtype == dn.int64
    assert ours.long().data.dtype == dn.int64 and ours.char().data.dtype == dn.int8
    # the constructor forms torch allows; unsorted_indices is derived from sorted_indices
    made = R.PackedSequence(dn.zeros(3), dn.tensor([2, 1]), dn.tensor([1, 0]))
    assert made.unsorted_indices.tolist() == [1, 0]
    assert R.PackedSequence((dn.zeros(3), dn.tensor([2, 1]))).sorted_indices is None
    assert R.invert_permutation(dn.tensor([2, 0, 3, 1])).tolist() == \
        trr.invert_permutation(torch.tensor([2, 0, 3, 1])).tolist()
    assert R.invert_permutation(None) is None
    assert nn.utils.rnn.PackedSequence is R.PackedSequence


# ------------------------------------------------------------------------- recurrent layers

LAYERS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}),
          ("LSTM", {"proj_size": PROJ}), ("GRU", {})]
LAYER_IDS = ["rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru"]


def _pair(kind, options, float64=True):
    """Our layer and torch's, ours holding a copy of torch's random weights."""
    return pair(kind, INPUT, HIDDEN, float64=float64, **options)


def _run_packed(kind, options, enforce_sorted, with_state, float64=True, batch_first=False):
    trr = _trr()
    ours, theirs = _pair(kind, dict(options, batch_first=batch_first), float64)
    tol = TOL64 if float64 else TOL32
    lengths = SORTED if enforce_sorted else UNSORTED
    steps, batch = max(lengths), len(lengths)
    dtype = np.float64 if float64 else np.float32
    shape = (batch, steps, INPUT) if batch_first else (steps, batch, INPUT)
    x = _leaf(RNG.normal(size=shape).astype(dtype))
    leaves = [x]
    packed = R.pack_padded_sequence(x[0], lengths, batch_first, enforce_sorted)
    tpacked = trr.pack_padded_sequence(x[1], lengths, batch_first, enforce_sorted)
    stacks = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    lstm = kind == "LSTM"
    if with_state:
        sizes = [options.get("proj_size") or HIDDEN] + ([HIDDEN] if lstm else [])
        states = [_leaf(RNG.normal(size=(stacks, batch, n)).astype(dtype)) for n in sizes]
        leaves += states
        hx = tuple(a for a, _ in states) if lstm else states[0][0]
        thx = tuple(b for _, b in states) if lstm else states[0][1]
        out, tout = ours(packed, hx), theirs(tpacked, thx)
    else:
        out, tout = ours(packed), theirs(tpacked)
    _same_packed(out[0], tout[0], tol)
    padded, _ = R.pad_packed_sequence(out[0], batch_first)
    tpadded, _ = trr.pad_packed_sequence(tout[0], batch_first)
    ours_outputs = [padded, *(out[1] if lstm else (out[1],))]
    theirs_outputs = [tpadded, *(tout[1] if lstm else (tout[1],))]
    compare_outputs_and_grads(ours, theirs, ours_outputs, theirs_outputs, leaves, tol)


@pytest.mark.parametrize("kind, options", LAYERS, ids=LAYER_IDS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("enforce_sorted", [True, False], ids=["sorted", "unsorted"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
def test_packed_layers_match_torch(kind, options, num_layers, bidirectional, enforce_sorted,
                                   with_state):
    _run_packed(kind, dict(options, num_layers=num_layers, bidirectional=bidirectional),
                enforce_sorted, with_state)


@pytest.mark.parametrize("kind, options", LAYERS, ids=LAYER_IDS)
def test_packed_layers_match_torch_float32(kind, options):
    _run_packed(kind, dict(options, num_layers=2, bidirectional=True), False, True,
                float64=False)


@pytest.mark.parametrize("kind, options", LAYERS, ids=LAYER_IDS)
def test_packed_input_ignores_batch_first_and_bias_false_as_torch(kind, options):
    # batch_first describes padded tensors only: a packed batch is always time-major
    _run_packed(kind, dict(options, bias=False, bidirectional=True), False, True,
                batch_first=True)


def test_packed_equal_lengths_match_the_padded_run():
    lstm = nn.LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True, dtype=dn.float64)
    x = dn.tensor(RNG.normal(size=(4, 3, INPUT)))
    output, (h_n, c_n) = lstm(x)
    packed_output, (packed_h, packed_c) = lstm(R.pack_padded_sequence(x, [4, 4, 4]))
    padded, _ = R.pad_packed_sequence(packed_output)
    for a, b in ((output, padded), (h_n, packed_h), (c_n, packed_c)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **TOL64)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_packed_dropout_between_layers(kind):
    trr, torch = _trr(), _torch()
    # p = 1 zeroes every output of layer 0 in training in both frameworks: deterministic
    ours, theirs = _pair(kind, {"num_layers": 2, "dropout": 1.0})
    x = RNG.normal(size=(5, 3, INPUT))
    out = ours(R.pack_padded_sequence(dn.tensor(x), [5, 3, 2]))[0]
    tout = theirs(trr.pack_padded_sequence(torch.tensor(x), [5, 3, 2]))[0]
    _close(out.data, tout.data)


def test_packed_lstm_gradcheck_float64():
    gradcheck_projected_lstm(
        seq_len=3, batch=3, seed=3,
        wrap_input=lambda x: R.pack_padded_sequence(x, [2, 3, 1], enforce_sorted=False),
        unwrap_output=lambda output: R.pad_packed_sequence(output, padding_value=0.5)[0])


# ------------------------------------------------------------------------- errors

def test_pack_padded_sequence_errors():
    x = dn.randn(4, 3, 2)
    with pytest.raises(RuntimeError, match=r"sorted in decreasing order.*enforce_sorted.*"
                                           r"\[2, 3, 1\]"):
        R.pack_padded_sequence(x, [2, 3, 1])
    with pytest.raises(RuntimeError, match=r"greater than 0.*0 at index 1"):
        R.pack_padded_sequence(x, [3, 0, 0])
    with pytest.raises(RuntimeError, match=r"greater than 0.*-1"):
        R.pack_padded_sequence(x, [3, -1, 2], enforce_sorted=False)
    with pytest.raises(RuntimeError, match=r"len\(lengths\).*2 lengths.*batch of 3"):
        R.pack_padded_sequence(x, [3, 2])
    with pytest.raises(RuntimeError, match=r"1D CPU int64.*2D"):
        R.pack_padded_sequence(x, dn.tensor([[3, 2, 1]]))
    with pytest.raises(RuntimeError, match=r"1D CPU int64"):
        R.pack_padded_sequence(x, 3)
    with pytest.raises(TypeError, match="lengths"):
        R.pack_padded_sequence(x, "abc")
    with pytest.raises(RuntimeError, match=r"lengths has 5.*4 steps"):
        R.pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(RuntimeError, match="empty"):
        R.pack_padded_sequence(dn.zeros(0, 3), [1, 1, 1])
    with pytest.raises(TypeError, match="input must be a Tensor"):
        R.pack_padded_sequence([[1.0]], [1])


def test_pad_errors():
    packed = R.pack_sequence([dn.zeros(3), dn.zeros(2)])
    with pytest.raises(ValueError, match=r"total_length=2.*3"):
        R.pad_packed_sequence(packed, total_length=2)
    with pytest.raises(TypeError, match="PackedSequence"):
        R.pad_packed_sequence(dn.zeros(3, 2))
    with pytest.raises(RuntimeError, match="empty list"):
        R.pad_sequence([])
    with pytest.raises(RuntimeError, match="padding_side.*'middle'"):
        R.pad_sequence([dn.zeros(2)], padding_side="middle")
    with pytest.raises(RuntimeError, match=r"trailing dims.*\[2, 3\].*sequences\[1\].*\[3, 2\]"):
        R.pad_sequence([dn.zeros(2, 3), dn.zeros(3, 2)])
    with pytest.raises(RuntimeError, match="iterable"):
        R.pad_sequence(5)
    with pytest.raises(RuntimeError, match="greater than 0"):
        R.pack_sequence([dn.zeros(2, 3), dn.zeros(0, 3)])
    with pytest.raises(ValueError, match="3 lengths for a batch of 2"):
        R.unpad_sequence(dn.zeros(4, 2), [1, 2, 3])


def test_packed_layer_errors():
    packed = R.pack_padded_sequence(dn.randn(4, 3, INPUT), [4, 2, 1])
    with pytest.raises(RuntimeError, match=r"h_0.*\[1, 3, 2\].*\[1, 2, 2\]"):
        nn.LSTM(INPUT, HIDDEN, proj_size=2)(packed, (dn.zeros(1, 2, 2), dn.zeros(1, 3, HIDDEN)))
    with pytest.raises(RuntimeError, match=r"hx.*\[2, 3, 5\]"):
        nn.GRU(INPUT, HIDDEN, num_layers=2)(packed, dn.zeros(2, 4, HIDDEN))
    with pytest.raises(RuntimeError, match=r"RNN.*input_size=4"):
        nn.RNN(4, HIDDEN)(packed)
    with pytest.raises(RuntimeError, match="LSTM.*float32.*float64"):
        nn.LSTM(INPUT, HIDDEN, dtype=dn.float64)(packed)


@pytest.mark.skipif(not dn.cuda.is_available(), reason="needs CUDA")
def test_cuda_lengths_are_refused_and_packed_layers_run_on_cuda():
    x = dn.randn(4, 3, INPUT)
    with pytest.raises(RuntimeError, match="1D CPU int64.*cuda"):
        R.pack_padded_sequence(x.cuda(), dn.tensor([4, 2, 1]).cuda())
    with pytest.raises(ValueError, match="batch_sizes must be on the CPU"):
        R.PackedSequence(dn.zeros(3).cuda(), dn.tensor([2, 1]).cuda())
    lstm = nn.LSTM(INPUT, HIDDEN, bidirectional=True)
    packed = R.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
    expected, (h_n, _) = lstm(packed)
    moved = packed.cuda()
    assert moved.is_cuda and moved.sorted_indices.is_cuda and not moved.batch_sizes.is_cuda
    output, (cuda_h, _) = lstm.cuda()(moved)
    np.testing.assert_allclose(output.data.detach().cpu().numpy(), expected.data.detach().numpy(),
                               **TOL32)
    np.testing.assert_allclose(cuda_h.cpu().detach().numpy(), h_n.detach().numpy(), **TOL32)
