"""nn.MultiheadAttention and the Transformer encoder against torch: with torch's weights copied
in, outputs, attention weights and the gradients of the inputs and of every parameter agree
(float64) across masks, kdim/vdim, bias options, batch_first and unbatched calls; state_dict
keys, reprs, initialisation and bad-input errors follow torch."""
import warnings

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn

RNG = np.random.default_rng(0)
EMBED, HEADS, BATCH, TARGET, SOURCE = 8, 2, 2, 3, 4
TOL = {"rtol": 1e-9, "atol": 1e-11}


def _torch():
    return pytest.importorskip("torch")


def _copy_weights(ours, theirs):
    ours.load_state_dict({k: dn.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})


def _leaf(array):
    torch = _torch()
    return dn.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def _both(array):
    torch = _torch()
    return dn.tensor(array), torch.tensor(array)


def _close(ours, theirs):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TOL)


def _backward_and_compare(outputs, leaves, ours, theirs):
    torch = _torch()
    ours_total, theirs_total = 0, 0
    for a, b in outputs:
        seed = RNG.normal(size=tuple(b.shape))
        ours_total = ours_total + (a * dn.tensor(seed)).sum()
        theirs_total = theirs_total + (b * torch.tensor(seed)).sum()
    ours_total.backward()
    theirs_total.backward()
    for a, b in leaves:
        _close(a.grad, b.grad)
    ours_params = dict(ours.named_parameters())
    assert list(ours_params) == [n for n, _ in theirs.named_parameters()]
    for name, param in theirs.named_parameters():
        _close(ours_params[name].grad, param.grad)


def _mha_pair(**options):
    torch = _torch()
    theirs = torch.nn.MultiheadAttention(EMBED, HEADS, dtype=torch.float64, **options)
    ours = nn.MultiheadAttention(EMBED, HEADS, dtype=dn.float64, **options)
    if options.get("bias", True):  # torch starts these at 0: make them count in the comparison
        with torch.no_grad():
            theirs.in_proj_bias.normal_()
            theirs.out_proj.bias.normal_()
    _copy_weights(ours, theirs)
    return ours, theirs


def _padding_mask(kind, batch, source):
    """True = masked; the first key always stays visible (no all-masked rows, hence no NaN)."""
    keep = RNG.uniform(size=(batch, source)) < 0.6
    keep[:, 0] = True
    if kind == "bool":
        return ~keep
    return np.where(keep, 0.0, -1e4) + RNG.normal(size=(batch, source)) * 0.1


def _attn_mask(kind, target, source, batch_heads=None):
    shape = (target, source) if batch_heads is None else (batch_heads, target, source)
    blocked = RNG.uniform(size=shape) < 0.4
    blocked[..., 0] = False
    if kind == "bool":
        return blocked
    return np.where(blocked, -np.inf, 0.0) + RNG.normal(size=shape) * 0.1


MHA_OPTIONS = [
    {}, {"batch_first": True}, {"bias": False}, {"kdim": 3, "vdim": 5},
    {"kdim": 3, "vdim": 5, "batch_first": True, "bias": False}, {"add_bias_kv": True},
    {"add_zero_attn": True}, {"add_bias_kv": True, "add_zero_attn": True, "kdim": 6},
]


@pytest.mark.parametrize("options", MHA_OPTIONS)
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("masks", [(None, None), ("bool", None), (None, "bool"),
                                   ("float", "float"), ("bool", "bool3d")])
def test_mha_matches_torch(options, need_weights, average, masks):
    ours, theirs = _mha_pair(**options)
    batch_first = options.get("batch_first", False)
    kdim, vdim = options.get("kdim", EMBED), options.get("vdim", EMBED)
    layout = (lambda s, f: (BATCH, s, f)) if batch_first else (lambda s, f: (s, BATCH, f))
    query, key, value = (_leaf(RNG.normal(size=layout(s, f)))
                         for s, f in ((TARGET, EMBED), (SOURCE, kdim), (SOURCE, vdim)))
    kwargs_ours, kwargs_theirs = {}, {}
    padding_kind, mask_kind = masks
    if padding_kind:
        kwargs_ours["key_padding_mask"], kwargs_theirs["key_padding_mask"] = _both(
            _padding_mask(padding_kind, BATCH, SOURCE))
    if mask_kind:
        if mask_kind == "bool3d":
            mask = _attn_mask("bool", TARGET, SOURCE, BATCH * HEADS)
        else:
            mask = _attn_mask(mask_kind, TARGET, SOURCE)
        kwargs_ours["attn_mask"], kwargs_theirs["attn_mask"] = _both(mask)
    out, weights = ours(query[0], key[0], value[0], need_weights=need_weights,
                        average_attn_weights=average, **kwargs_ours)
    tout, tweights = theirs(query[1], key[1], value[1], need_weights=need_weights,
                            average_attn_weights=average, **kwargs_theirs)
    _close(out, tout)
    outputs = [(out, tout)]
    if need_weights:
        assert tuple(weights.shape) == tuple(tweights.shape)
        _close(weights, tweights)
        outputs.append((weights, tweights))
    else:
        assert weights is None and tweights is None
    _backward_and_compare(outputs, [query, key, value], ours, theirs)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_self_attention_and_unbatched_match_torch(need_weights):
    ours, theirs = _mha_pair()
    x = _leaf(RNG.normal(size=(TARGET, EMBED)))  # unbatched (L, E), query is key is value
    mask = _both(_attn_mask("bool", TARGET, TARGET, HEADS))
    padding = _both(_padding_mask("bool", 1, TARGET)[0])
    out, weights = ours(x[0], x[0], x[0], key_padding_mask=padding[0], attn_mask=mask[0],
                        need_weights=need_weights)
    tout, tweights = theirs(x[1], x[1], x[1], key_padding_mask=padding[1], attn_mask=mask[1],
                            need_weights=need_weights)
    _close(out, tout)
    outputs = [(out, tout)]
    if need_weights:
        assert tuple(weights.shape) == tuple(tweights.shape) == (TARGET, TARGET)
        _close(weights, tweights)
        outputs.append((weights, tweights))
    _backward_and_compare(outputs, [x], ours, theirs)


def test_mha_causal_hint_uses_the_mask():
    torch = _torch()
    ours, theirs = _mha_pair(batch_first=True)
    x = RNG.normal(size=(BATCH, TARGET, EMBED))
    causal = np.triu(np.ones((TARGET, TARGET), bool), 1)
    out, _ = ours(dn.tensor(x), dn.tensor(x), dn.tensor(x), attn_mask=dn.tensor(causal),
                  is_causal=True, need_weights=False)
    tout, _ = theirs(torch.tensor(x), torch.tensor(x), torch.tensor(x),
                     attn_mask=torch.tensor(causal), is_causal=True, need_weights=False)
    _close(out, tout)
    with pytest.raises(RuntimeError, match="is_causal"):
        ours(dn.tensor(x), dn.tensor(x), dn.tensor(x), is_causal=True)


def test_mha_dropout_only_in_training():
    mha = nn.MultiheadAttention(EMBED, HEADS, dropout=0.5)
    x = dn.randn(TARGET, BATCH, EMBED)
    mha.eval()
    first, weights = mha(x, x, x)
    np.testing.assert_allclose(first.detach().numpy(), mha(x, x, x)[0].detach().numpy())
    np.testing.assert_allclose(weights.detach().sum(-1).numpy(), 1.0, rtol=1e-6)
    mha.train()
    dn.manual_seed(0)
    _, dropped = mha(x, x, x, average_attn_weights=False)
    values = np.unique(np.round(dropped.detach().numpy(), 6))
    assert 0.0 in values and not np.allclose(dropped.detach().sum(-1).numpy(), 1.0)


@pytest.mark.parametrize("options", MHA_OPTIONS)
def test_mha_state_dict_repr_and_init_match_torch(options):
    torch = _torch()
    theirs = torch.nn.MultiheadAttention(EMBED, HEADS, **options)
    ours = nn.MultiheadAttention(EMBED, HEADS, **options)
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    for name in ("embed_dim", "kdim", "vdim", "num_heads", "head_dim", "batch_first",
                 "_qkv_same_embed_dim", "add_zero_attn", "dropout"):
        assert getattr(ours, name) == getattr(theirs, name)
    if ours.in_proj_bias is not None:  # zero biases, Glorot-uniform projections
        assert not ours.in_proj_bias.detach().numpy().any()
        assert not ours.out_proj.bias.detach().numpy().any()
    projection = ours.in_proj_weight if ours.in_proj_weight is not None else ours.q_proj_weight
    bound = np.sqrt(6.0 / sum(projection.shape)) if ours.in_proj_weight is None else \
        np.sqrt(6.0 / (EMBED + 3 * EMBED))
    assert np.abs(projection.detach().numpy()).max() <= bound


def test_mha_bad_inputs():
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    mha = nn.MultiheadAttention(EMBED, HEADS)
    x = dn.randn(TARGET, BATCH, EMBED)
    with pytest.raises(RuntimeError, match=r"embed_dim=8.*\[3, 2, 5\]"):
        mha(dn.randn(TARGET, BATCH, 5), x, x)
    with pytest.raises(RuntimeError, match=r"attn_mask.*\[3, 3\].*\[3, 4\]"):
        mha(x, x, x, attn_mask=dn.zeros(TARGET, 4, dtype=dn.bool))
    with pytest.raises(RuntimeError, match=r"key_padding_mask.*\[2, 3\].*\[2, 4\]"):
        mha(x, x, x, key_padding_mask=dn.zeros(BATCH, 4, dtype=dn.bool))
    with pytest.raises(RuntimeError, match="3-D.*2-D"):
        mha(x, dn.randn(TARGET, EMBED), x)
    with pytest.raises(RuntimeError, match="batch"):
        mha(x, dn.randn(TARGET, 3, EMBED), dn.randn(TARGET, 3, EMBED))


# ------------------------------------------------------------------------------ Transformer

def _encoder_layer_pair(**options):
    torch = _torch()
    theirs = torch.nn.TransformerEncoderLayer(EMBED, HEADS, 16, dtype=torch.float64, **options)
    ours = nn.TransformerEncoderLayer(EMBED, HEADS, 16, dtype=dn.float64, **options)
    with torch.no_grad():  # non-trivial biases and norm affines
        for name, param in theirs.named_parameters():
            if name.endswith("bias") or name.startswith("norm"):
                param.add_(torch.tensor(RNG.normal(size=tuple(param.shape)) * 0.3))
    _copy_weights(ours, theirs)
    ours.eval()
    theirs.eval()
    return ours, theirs


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("options", [{}, {"batch_first": True, "activation": "gelu"},
                                     {"bias": False, "layer_norm_eps": 1e-3}])
@pytest.mark.parametrize("with_masks", [False, True])
def test_encoder_layer_matches_torch_in_eval(norm_first, options, with_masks):
    ours, theirs = _encoder_layer_pair(norm_first=norm_first, **options)
    shape = (BATCH, TARGET, EMBED) if options.get("batch_first") else (TARGET, BATCH, EMBED)
    x = _leaf(RNG.normal(size=shape))
    kwargs = [{}, {}]
    if with_masks:
        for i, mask in enumerate(_both(_attn_mask("bool", TARGET, TARGET))):
            kwargs[i]["src_mask"] = mask
        for i, mask in enumerate(_both(_padding_mask("bool", BATCH, TARGET))):
            kwargs[i]["src_key_padding_mask"] = mask
    out, tout = ours(x[0], **kwargs[0]), theirs(x[1], **kwargs[1])
    _close(out, tout)
    _backward_and_compare([(out, tout)], [x], ours, theirs)


def test_encoder_layer_with_activation_module_matches_torch():
    torch = _torch()
    theirs = torch.nn.TransformerEncoderLayer(EMBED, HEADS, 16, activation=torch.nn.GELU("tanh"),
                                              dtype=torch.float64)
    ours = nn.TransformerEncoderLayer(EMBED, HEADS, 16, activation=nn.GELU("tanh"),
                                      dtype=dn.float64)
    assert repr(ours) == repr(theirs)
    _copy_weights(ours, theirs)
    ours.eval()
    theirs.eval()
    x = _leaf(RNG.normal(size=(TARGET, BATCH, EMBED)))
    out, tout = ours(x[0]), theirs(x[1])
    _close(out, tout)
    _backward_and_compare([(out, tout)], [x], ours, theirs)


@pytest.mark.parametrize("final_norm", [False, True])
def test_encoder_matches_torch(final_norm):
    torch = _torch()
    ours_layer, theirs_layer = _encoder_layer_pair(batch_first=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.TransformerEncoder(
            theirs_layer, 2, norm=torch.nn.LayerNorm(EMBED, dtype=torch.float64) if final_norm
            else None, enable_nested_tensor=False)
    ours = nn.TransformerEncoder(ours_layer, 2, norm=nn.LayerNorm(EMBED, dtype=dn.float64)
                                 if final_norm else None, enable_nested_tensor=False)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with torch.no_grad():  # make the two copies differ, so each layer's weights matter
        theirs.layers[1].linear1.weight.mul_(-0.5)
    _copy_weights(ours, theirs)
    ours.eval()
    theirs.eval()
    x = _leaf(RNG.normal(size=(BATCH, TARGET, EMBED)))
    padding = _both(_padding_mask("bool", BATCH, TARGET))
    out = ours(x[0], src_key_padding_mask=padding[0])
    tout = theirs(x[1], src_key_padding_mask=padding[1])
    _close(out, tout)
    _backward_and_compare([(out, tout)], [x], ours, theirs)


def test_encoder_layers_are_independent_copies():
    layer = nn.TransformerEncoderLayer(EMBED, HEADS, 16)
    encoder = nn.TransformerEncoder(layer, 3)
    weights = [block.linear1.weight for block in encoder.layers]
    assert len({id(w) for w in weights}) == 3 and all(w is not layer.linear1.weight
                                                        for w in weights)
    np.testing.assert_array_equal(weights[0].detach().numpy(), weights[2].detach().numpy())


def test_encoder_layer_bad_activation():
    with pytest.raises(RuntimeError, match="activation"):
        nn.TransformerEncoderLayer(EMBED, HEADS, activation="swish")
    with pytest.raises(TypeError, match="activation"):
        nn.TransformerEncoderLayer(EMBED, HEADS, activation=3)


def test_encoder_layer_dropout_in_training_changes_the_output():
    layer = nn.TransformerEncoderLayer(EMBED, HEADS, 16, dropout=0.5)
    x = dn.randn(TARGET, BATCH, EMBED)
    dn.manual_seed(0)
    trained = layer(x)
    layer.eval()
    assert not np.allclose(trained.detach().numpy(), layer(x).detach().numpy())
    np.testing.assert_allclose(layer(x).detach().numpy(), layer(x).detach().numpy())
