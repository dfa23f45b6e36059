"""nn recurrent layers against torch: with torch's weights copied in, outputs, final states and
the gradients of the input, the initial states and every parameter agree (float64) for RNN /
LSTM / GRU over layers, directions, batch_first, given or default states and unbatched input;
state_dict keys, shapes, reprs, initial ranges and bad-input errors follow torch."""
import math
import warnings

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn

from _rnn_parity import close as _close
from _rnn_parity import compare_outputs_and_grads, leaf as _leaf, pair as _pair, torch as _torch

RNG = np.random.default_rng(0)
SEQ, BATCH, INPUT, HIDDEN = 4, 2, 3, 5

LAYERS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
LAYER_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def _run(kind, options, unbatched=False, with_state=False, batch_first=False):
    ours, theirs = _pair(kind, INPUT, HIDDEN, batch_first=batch_first, **options)
    shape = (SEQ, INPUT) if unbatched else ((BATCH, SEQ, INPUT) if batch_first else
                                            (SEQ, BATCH, INPUT))
    x = _leaf(RNG.normal(size=shape))
    leaves = [x]
    stacks = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    state_shape = (stacks, HIDDEN) if unbatched else (stacks, BATCH, HIDDEN)
    states = [_leaf(RNG.normal(size=state_shape)) for _ in range(2 if kind == "LSTM" else 1)]
    if with_state:
        leaves += states
        ours_hx = tuple(a for a, _ in states) if kind == "LSTM" else states[0][0]
        theirs_hx = tuple(b for _, b in states) if kind == "LSTM" else states[0][1]
        out, tout = ours(x[0], ours_hx), theirs(x[1], theirs_hx)
    else:
        out, tout = ours(x[0]), theirs(x[1])
    ours_outputs = [out[0], *(out[1] if kind == "LSTM" else (out[1],))]
    theirs_outputs = [tout[0], *(tout[1] if kind == "LSTM" else (tout[1],))]
    compare_outputs_and_grads(ours, theirs, ours_outputs, theirs_outputs, leaves)


@pytest.mark.parametrize("kind, options", LAYERS, ids=LAYER_IDS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_batched_matches_torch(kind, options, num_layers, bidirectional, batch_first,
                               with_state):
    _run(kind, dict(options, num_layers=num_layers, bidirectional=bidirectional),
         with_state=with_state, batch_first=batch_first)


@pytest.mark.parametrize("kind, options", LAYERS, ids=LAYER_IDS)
@pytest.mark.parametrize("with_state", [False, True])
def test_unbatched_matches_torch(kind, options, with_state):
    _run(kind, dict(options, num_layers=2, bidirectional=True), unbatched=True,
         with_state=with_state)


@pytest.mark.parametrize("kind, options", LAYERS, ids=LAYER_IDS)
def test_without_bias_matches_torch(kind, options):
    _run(kind, dict(options, bias=False, num_layers=2), with_state=True)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_dropout_between_layers(kind):
    torch = _torch()
    # p = 1 zeroes every output of layer 0 in training, in both frameworks: deterministic
    ours, theirs = _pair(kind, INPUT, HIDDEN, num_layers=2, dropout=1.0)
    x = RNG.normal(size=(SEQ, BATCH, INPUT))
    _close(ours(dn.tensor(x))[0], theirs(torch.tensor(x))[0])
    # in eval mode the dropout is off: the same as a stack without dropout
    ours.eval()
    theirs.eval()
    plain, plain_theirs = _pair(kind, INPUT, HIDDEN, num_layers=2)
    plain.load_state_dict(ours.state_dict())
    _close(ours(dn.tensor(x))[0], plain(dn.tensor(x))[0])
    _close(ours(dn.tensor(x))[0], theirs(torch.tensor(x))[0])
    # p = 0.5 in training: layer 0's outputs are zeroed or doubled, so the result differs
    ours.train()
    ours.dropout = 0.5
    dn.manual_seed(0)
    assert not np.allclose(ours(dn.tensor(x))[0].detach().numpy(),
                           plain(dn.tensor(x))[0].detach().numpy())


CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("RNNCell", {"bias": False}),
         ("LSTMCell", {}), ("LSTMCell", {"bias": False}), ("GRUCell", {}),
         ("GRUCell", {"bias": False})]


@pytest.mark.parametrize("kind, options", CELLS)
@pytest.mark.parametrize("unbatched", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_cells_match_torch(kind, options, unbatched, with_state):
    ours, theirs = _pair(kind, INPUT, HIDDEN, **options)
    x = _leaf(RNG.normal(size=(INPUT,) if unbatched else (BATCH, INPUT)))
    state_shape = (HIDDEN,) if unbatched else (BATCH, HIDDEN)
    states = [_leaf(RNG.normal(size=state_shape)) for _ in range(2 if kind == "LSTMCell" else 1)]
    leaves = [x]
    if with_state:
        leaves += states
        if kind == "LSTMCell":
            out, tout = ours(x[0], (states[0][0], states[1][0])), \
                theirs(x[1], (states[0][1], states[1][1]))
        else:
            out, tout = ours(x[0], states[0][0]), theirs(x[1], states[0][1])
    else:
        out, tout = ours(x[0]), theirs(x[1])
    out, tout = (list(out), list(tout)) if kind == "LSTMCell" else ([out], [tout])
    compare_outputs_and_grads(ours, theirs, out, tout, leaves)


REPRS = ["RNN(3, 4)", "RNN(3, 4, 2, 'relu', False, True, 0.5, True)", "LSTM(3, 4)",
         "LSTM(3, 4, num_layers=3, bidirectional=True, batch_first=True)",
         "GRU(3, 4, bias=False, dropout=0.25, num_layers=2)", "RNNCell(3, 4)",
         "RNNCell(3, 4, bias=False, nonlinearity='relu')", "LSTMCell(3, 4, bias=False)",
         "GRUCell(3, 4)"]


@pytest.mark.parametrize("text", REPRS)
def test_state_dict_and_repr_match_torch(text):
    namespace = {"torch": _torch()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = eval("nn." + text), eval("torch.nn." + text, namespace)  # noqa: S307
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert all(v.dtype == dn.float32 for v in ours.state_dict().values())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


@pytest.mark.parametrize("text", REPRS)
def test_initial_weights_are_uniform_in_one_over_sqrt_hidden(text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = eval("nn." + text)  # noqa: S307
    bound = 1 / math.sqrt(layer.hidden_size)
    values = np.concatenate([p.detach().numpy().ravel() for p in layer.parameters()])
    assert np.all(np.abs(values) <= bound) and values.std() > bound / 4


def test_all_weights_and_flatten_parameters():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    lstm.flatten_parameters()
    groups = lstm.all_weights
    assert len(groups) == 4 and all(len(g) == 4 for g in groups)
    assert groups[1][0] is lstm.weight_ih_l0_reverse


def test_float32_runs_and_trains():
    lstm = nn.LSTM(INPUT, HIDDEN, batch_first=True)
    output, (h_n, _) = lstm(dn.randn(BATCH, SEQ, INPUT))
    assert output.dtype == dn.float32
    np.testing.assert_allclose(output[:, -1].detach().numpy(), h_n[0].detach().numpy())
    output.sum().backward()
    assert all(p.grad is not None for p in lstm.parameters())


def test_wrong_input_size_names_it_and_the_shape():
    with pytest.raises(RuntimeError, match=r"LSTM.*\[4, 2, 7\].*input_size=3"):
        nn.LSTM(3, 5)(dn.randn(4, 2, 7))
    with pytest.raises(RuntimeError, match=r"GRUCell.*\[2, 7\].*input_size=3"):
        nn.GRUCell(3, 5)(dn.randn(2, 7))


def test_wrong_initial_state_shape():
    with pytest.raises(RuntimeError, match=r"h_0.*\[2, 2, 5\].*\[1, 2, 5\]"):
        nn.LSTM(3, 5, num_layers=2)(dn.randn(4, 2, 3), (dn.zeros(1, 2, 5), dn.zeros(2, 2, 5)))
    with pytest.raises(RuntimeError, match=r"c_0.*\[1, 2, 5\].*\[1, 3, 5\]"):
        nn.LSTM(3, 5)(dn.randn(4, 2, 3), (dn.zeros(1, 2, 5), dn.zeros(1, 3, 5)))
    with pytest.raises(RuntimeError, match=r"hx.*2-D.*\[1, 1, 5\]"):
        nn.GRU(3, 5)(dn.randn(4, 3), dn.zeros(1, 1, 5))
    with pytest.raises(RuntimeError, match=r"hx.*\[3, 5\].*\[2, 5\]"):
        nn.RNNCell(3, 5)(dn.randn(2, 3), dn.zeros(3, 5))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"RNN.*\[2, 2, 2, 3\]"):
        nn.RNN(3, 5)(dn.randn(2, 2, 2, 3))
    with pytest.raises(TypeError, match="tuple"):
        nn.LSTM(3, 5)(dn.randn(4, 2, 3), dn.zeros(1, 2, 5))
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(3, 5, dropout=1.5)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 5, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        nn.LSTM(3, 0)
    with pytest.raises(RuntimeError, match="LSTM.*float64.*float32"):
        nn.LSTM(3, 5)(dn.randn(4, 2, 3, dtype=dn.float64))
    with pytest.raises(RuntimeError, match="GRUCell.*float64.*float32"):
        nn.GRUCell(3, 5)(dn.randn(2, 3, dtype=dn.float64))
    with pytest.raises(ValueError, match="proj_size"):
        nn.LSTM(3, 5, proj_size=5)  # LSTM with projections: tests/nn/test_lstm_proj.py
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.LSTM(3, 5, dropout=0.5)
