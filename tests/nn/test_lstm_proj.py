"""nn.LSTM with projections (proj_size > 0) against torch.nn.LSTM(proj_size=...): with torch's
weights copied in, outputs, (h_n, c_n) and the gradients of the input, the initial states and
every parameter agree (float64) over layers, directions, batch_first, bias, dropout, given or
default states and unbatched input; a float64 gradcheck; parameter names, order, shapes and the
uniform(+-1/sqrt(hidden_size)) init as torch's; a torch-saved state_dict loads; bad sizes and
states raise torch's exception classes naming the values."""
import math

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn

from _rnn_parity import close as _close
from _rnn_parity import compare_outputs_and_grads, gradcheck_projected_lstm
from _rnn_parity import leaf as _leaf, pair, torch as _torch

RNG = np.random.default_rng(1)
SEQ, BATCH, INPUT, HIDDEN, PROJ = 4, 2, 3, 5, 2
# torch's CPU build notes that it runs projections without oneDNN: nothing to act on here
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")


def _pair(**options):
    """Our projected LSTM and torch's, both float64, ours holding torch's random weights."""
    return pair("LSTM", INPUT, HIDDEN, proj_size=PROJ, **options)


def _check(ours, theirs, options, unbatched=False, with_state=False):
    """Forward both with the same input (and states), compare every output, backward the same
    random weighting of all outputs through both and compare every gradient."""
    batch_first = options.get("batch_first", False)
    shape = (SEQ, INPUT) if unbatched else ((BATCH, SEQ, INPUT) if batch_first else
                                            (SEQ, BATCH, INPUT))
    x = _leaf(RNG.normal(size=shape))
    leaves = [x]
    stacks = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    lead = (stacks,) if unbatched else (stacks, BATCH)
    if with_state:
        h_0, c_0 = _leaf(RNG.normal(size=lead + (PROJ,))), _leaf(RNG.normal(size=lead + (HIDDEN,)))
        leaves += [h_0, c_0]
        out, tout = ours(x[0], (h_0[0], c_0[0])), theirs(x[1], (h_0[1], c_0[1]))
    else:
        out, tout = ours(x[0]), theirs(x[1])
    compare_outputs_and_grads(ours, theirs, [out[0], *out[1]], [tout[0], *tout[1]], leaves)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_batched_matches_torch(num_layers, bidirectional, batch_first, with_state):
    options = {"num_layers": num_layers, "bidirectional": bidirectional,
               "batch_first": batch_first}
    _check(*_pair(**options), options, with_state=with_state)


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_matches_torch(with_state, batch_first):
    options = {"num_layers": 2, "bidirectional": True, "batch_first": batch_first}
    _check(*_pair(**options), options, unbatched=True, with_state=with_state)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_without_bias_matches_torch(bidirectional):
    options = {"num_layers": 2, "bias": False, "bidirectional": bidirectional}
    _check(*_pair(**options), options, with_state=True)


def test_dropout_between_layers_matches_torch():
    torch = _torch()
    options = {"num_layers": 3, "bidirectional": True, "dropout": 1.0}
    # p = 1 zeroes every output of layers 0 and 1 in training, in both frameworks: deterministic
    ours, theirs = _pair(**options)
    _check(ours, theirs, options, with_state=True)
    # eval switches the dropout off in both
    ours.eval()
    theirs.eval()
    x = RNG.normal(size=(SEQ, BATCH, INPUT))
    _close(ours(dn.tensor(x))[0], theirs(torch.tensor(x))[0])
    # p = 0.5 in training: different masks give different outputs
    ours.train()
    ours.dropout = 0.5
    dn.manual_seed(0)
    first = ours(dn.tensor(x))[0].detach().numpy()
    assert not np.allclose(first, ours(dn.tensor(x))[0].detach().numpy())


def test_gradcheck_float64():
    gradcheck_projected_lstm(seq_len=2, batch=1, seed=2)


REPRS = ["LSTM(3, 4, proj_size=2)", "LSTM(3, 4, proj_size=1, bias=False)",
         "LSTM(3, 4, num_layers=3, bidirectional=True, batch_first=True, proj_size=3)",
         "LSTM(3, 4, 2, True, False, 0.25, True, 2)"]


@pytest.mark.parametrize("text", REPRS)
def test_parameters_and_repr_match_torch(text):
    ours = eval("nn." + text)  # noqa: S307
    theirs = eval("torch.nn." + text, {"torch": _torch()})  # noqa: S307
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [[tuple(w.shape) for w in group] for group in ours.all_weights] == \
        [[tuple(w.shape) for w in group] for group in theirs.all_weights]
    assert all(v.dtype == dn.float32 for v in ours.state_dict().values())


@pytest.mark.parametrize("text", REPRS)
def test_initial_weights_are_uniform_in_one_over_sqrt_hidden(text):
    layer = eval("nn." + text)  # noqa: S307
    bound = 1 / math.sqrt(layer.hidden_size)
    for name, param in layer.named_parameters():
        values = param.detach().numpy().ravel()
        assert np.all(np.abs(values) <= bound), name
    values = np.concatenate([p.detach().numpy().ravel() for p in layer.parameters()])
    assert values.std() > bound / 4


def test_projection_init_is_uniform():
    # U(-b, b) has standard deviation b / sqrt(3); 2 x 32 x 64 draws pin it within a few %
    layer = nn.LSTM(3, 64, proj_size=32, bidirectional=True)
    bound = 1 / math.sqrt(64)
    values = np.concatenate([layer.weight_hr_l0.detach().numpy().ravel(),
                             layer.weight_hr_l0_reverse.detach().numpy().ravel()])
    assert np.all(np.abs(values) <= bound)
    assert abs(values.std() - bound / math.sqrt(3)) < 0.05 * bound


def test_state_dict_saved_by_torch_loads(tmp_path):
    torch = _torch()
    theirs = torch.nn.LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True, proj_size=PROJ)
    path = tmp_path / "lstm.pt"
    torch.save(theirs.state_dict(), path)
    ours = nn.LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True, proj_size=PROJ)
    ours.load_state_dict(dn.load(path))
    x = RNG.normal(size=(SEQ, BATCH, INPUT)).astype(np.float32)
    out, (h_n, c_n) = ours(dn.tensor(x))
    with torch.no_grad():
        tout, (th_n, tc_n) = theirs(torch.tensor(x))
    for a, b in ((out, tout), (h_n, th_n), (c_n, tc_n)):
        np.testing.assert_allclose(a.detach().numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_float32_runs_and_trains():
    lstm = nn.LSTM(INPUT, HIDDEN, proj_size=PROJ, batch_first=True, bidirectional=True)
    output, (h_n, c_n) = lstm(dn.randn(BATCH, SEQ, INPUT))
    assert output.dtype == dn.float32
    assert tuple(output.shape) == (BATCH, SEQ, 2 * PROJ)
    assert tuple(h_n.shape) == (2, BATCH, PROJ) and tuple(c_n.shape) == (2, BATCH, HIDDEN)
    # the last forward step and the first backward step are the final states
    np.testing.assert_allclose(output[:, -1, :PROJ].detach().numpy(), h_n[0].detach().numpy())
    np.testing.assert_allclose(output[:, 0, PROJ:].detach().numpy(), h_n[1].detach().numpy())
    output.sum().backward()
    assert all(p.grad is not None for p in lstm.parameters())


def test_bad_proj_size():
    with pytest.raises(ValueError, match=r"LSTM.*proj_size=5.*hidden_size=5"):
        nn.LSTM(3, 5, proj_size=5)
    with pytest.raises(ValueError, match=r"LSTM.*proj_size.*-1"):
        nn.LSTM(3, 5, proj_size=-1)
    with pytest.raises(TypeError, match=r"LSTM.*proj_size.*float"):
        nn.LSTM(3, 5, proj_size=1.5)
    with pytest.raises(ValueError, match=r"proj_size.*only supported for LSTM"):
        nn.RNNBase("GRU", 3, 5, proj_size=2)


def test_wrong_state_shapes_name_proj_size_and_the_shapes():
    lstm = nn.LSTM(3, 5, proj_size=2)
    x = dn.randn(4, 2, 3)
    # h_0 must have proj_size features, c_0 hidden_size
    with pytest.raises(RuntimeError, match=r"h_0.*\[1, 2, 2\].*proj_size.*\[1, 2, 5\]"):
        lstm(x, (dn.zeros(1, 2, 5), dn.zeros(1, 2, 5)))
    with pytest.raises(RuntimeError, match=r"c_0.*\[1, 2, 5\].*hidden_size.*\[1, 2, 2\]"):
        lstm(x, (dn.zeros(1, 2, 2), dn.zeros(1, 2, 2)))
    with pytest.raises(RuntimeError, match=r"h_0.*2-D.*\[1, 1, 2\]"):
        lstm(dn.randn(4, 3), (dn.zeros(1, 1, 2), dn.zeros(1, 5)))
    with pytest.raises(RuntimeError, match=r"LSTM.*float32.*h_0.*float64"):
        lstm(x, (dn.zeros(1, 2, 2, dtype=dn.float64), dn.zeros(1, 2, 5)))
    with pytest.raises(RuntimeError, match=r"LSTM.*\[4, 2, 7\].*input_size=3"):
        lstm(dn.randn(4, 2, 7))
