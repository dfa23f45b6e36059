"""The conv family: conv1d, conv2d, conv_transpose1d, conv_transpose2d and the core ops with a
layout (`convolution`, `convolution_transpose`).

Each op is a row of a table (input and weight shapes, arguments): forward against a plain
NumPy reference, a float64 gradient check, and forward + backward against torch where it is
installed, on contiguous and non-contiguous inputs, in both layouts. Then second derivatives,
Keras's strided 'same', the chunked and direct (depthwise) kernel paths, float16, unbatched
and empty inputs, and the bad inputs torch refuses, with torch's exception classes.
"""
import math
import types

import numpy as np
import pytest

import dualnet as dn
import dualnet.nn.functional as F
from dualnet.core.dispatch import kernels
from dualnet.core.ops.conv.ops import convolution, convolution_transpose

RNG = np.random.default_rng(0)


# --------------------------------------------------------------------------- NumPy references

def _pair(value, dims):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


def _pads(padding, dims, sizes, kernel, stride, dilation):
    if padding == "valid":
        return ((0, 0),) * dims
    if padding == "same":  # TensorFlow's rule; torch's for stride 1
        pads = []
        for n, k, s, d in zip(sizes, kernel, stride, dilation):
            total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    if isinstance(padding, (tuple, list)) and isinstance(padding[0], (tuple, list)):
        return tuple(tuple(p) for p in padding)
    return tuple((p, p) for p in _pair(padding, dims))


def ref_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """NCHW convolution, one strided window slice per kernel tap."""
    (sh, sw), (dh, dw) = _pair(stride, 2), _pair(dilation, 2)
    oc, cg, kh, kw = w.shape
    (pt, pb), (pl, pr) = _pads(padding, 2, x.shape[2:], (kh, kw), (sh, sw), (dh, dw))
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((x.shape[0], oc, oh, ow), x.dtype)
    per_out = oc // groups
    for g in range(groups):
        for i in range(kh):
            for j in range(kw):
                window = xp[:, g * cg:(g + 1) * cg, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                            j * dw:j * dw + sw * (ow - 1) + 1:sw]
                out[:, g * per_out:(g + 1) * per_out] += np.einsum(
                    "ncyx,oc->noyx", window, w[g * per_out:(g + 1) * per_out, :, i, j])
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def ref_conv2d_weight_grad(x, g, w_shape, stride=1, padding=0, dilation=1, groups=1):
    """d(sum(g * conv2d(x, w)))/dw: each tap's window of x correlated with g."""
    (sh, sw), (dh, dw) = _pair(stride, 2), _pair(dilation, 2)
    oc, cg, kh, kw = w_shape
    (pt, pb), (pl, pr) = _pads(padding, 2, x.shape[2:], (kh, kw), (sh, sw), (dh, dw))
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh, ow = g.shape[2:]
    out = np.zeros(w_shape, x.dtype)
    per_out = oc // groups
    for grp in range(groups):
        for i in range(kh):
            for j in range(kw):
                window = xp[:, grp * cg:(grp + 1) * cg, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                            j * dw:j * dw + sw * (ow - 1) + 1:sw]
                out[grp * per_out:(grp + 1) * per_out, :, i, j] = np.einsum(
                    "noyx,ncyx->oc", g[:, grp * per_out:(grp + 1) * per_out], window)
    return out


def ref_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                         dilation=1):
    """Each input pixel scatters weight * itself over its window; then the padding is cut."""
    (sh, sw), (ph, pw) = _pair(stride, 2), _pair(padding, 2)
    (oph, opw), (dh, dw) = _pair(output_padding, 2), _pair(dilation, 2)
    n, cin, h, wd = x.shape
    per_in, per_out, kh, kw = cin // groups, w.shape[1], w.shape[2], w.shape[3]
    full = np.zeros((n, per_out * groups, (h - 1) * sh + dh * (kh - 1) + 1 + oph,
                     (wd - 1) * sw + dw * (kw - 1) + 1 + opw), x.dtype)
    for g in range(groups):
        for i in range(kh):
            for j in range(kw):
                full[:, g * per_out:(g + 1) * per_out, i * dh:i * dh + sh * (h - 1) + 1:sh,
                     j * dw:j * dw + sw * (wd - 1) + 1:sw] += np.einsum(
                    "ncyx,co->noyx", x[:, g * per_in:(g + 1) * per_in],
                    w[g * per_in:(g + 1) * per_in, :, i, j])
    out_h = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    out_w = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    out = full[:, :, ph:ph + out_h, pw:pw + out_w]
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def _one_d(ref):
    """A 1-D reference from the 2-D one over a height of 1."""
    def ref_1d(x, w, b=None, **kwargs):
        lead = {"stride": 1, "dilation": 1, "padding": 0, "output_padding": 0}
        kwargs = {k: v if k not in lead or isinstance(v, str) else (lead[k], v)
                  for k, v in kwargs.items()}
        return ref(x[:, :, None], w[:, :, None], b, **kwargs)[:, :, 0]
    return ref_1d


REFS = {"conv2d": ref_conv2d, "conv_transpose2d": ref_conv_transpose2d,
        "conv1d": _one_d(ref_conv2d), "conv_transpose1d": _one_d(ref_conv_transpose2d)}


# --------------------------------------------------------------------------- the table

CASES = []


def _row(id, op, x_shape, w_shape, bias=True, **kwargs):
    CASES.append(pytest.param(op, x_shape, w_shape, bias, kwargs, id=id))


_row("2d", "conv2d", (2, 3, 7, 6), (4, 3, 3, 3))
_row("2d-stride-pad", "conv2d", (2, 3, 9, 8), (4, 3, 3, 2), stride=2, padding=1)
_row("2d-tuples", "conv2d", (1, 2, 10, 9), (3, 2, 3, 3), False, stride=(2, 1), padding=(1, 2),
     dilation=(2, 1))
_row("2d-dilation", "conv2d", (2, 2, 9, 9), (2, 2, 3, 3), dilation=2, padding=2)
_row("2d-groups", "conv2d", (2, 4, 6, 6), (6, 2, 3, 3), groups=2)
_row("2d-depthwise", "conv2d", (2, 3, 6, 7), (3, 1, 3, 3), groups=3, padding=1)
_row("2d-depthwise-x3-stride", "conv2d", (2, 2, 7, 6), (6, 1, 3, 3), groups=2, stride=2)
_row("2d-same-even", "conv2d", (1, 2, 6, 5), (2, 2, 2, 4), padding="same")
_row("2d-same-dilated", "conv2d", (1, 2, 7, 7), (3, 2, 3, 3), False, padding="same", dilation=2)
_row("2d-valid", "conv2d", (2, 1, 5, 5), (2, 1, 2, 2), padding="valid")
_row("2d-pointwise", "conv2d", (2, 5, 4, 3), (3, 5, 1, 1))
_row("2d-pointwise-groups", "conv2d", (2, 4, 3, 3), (6, 2, 1, 1), groups=2)
_row("2d-kernel-fills-input", "conv2d", (2, 2, 3, 3), (4, 2, 3, 3))
_row("2d-stride-over-kernel", "conv2d", (1, 2, 9, 9), (2, 2, 2, 2), stride=3)
_row("2d-9-channels", "conv2d", (2, 9, 7, 6), (4, 9, 3, 3), stride=(1, 2), padding=1)
_row("2d-8-channels-groups-dilation", "conv2d", (2, 8, 7, 7), (4, 4, 3, 3), groups=2,
     dilation=(1, 2), padding=(0, 2))
_row("1d", "conv1d", (2, 3, 10), (4, 3, 3))
_row("1d-stride-pad-dilation", "conv1d", (2, 2, 11), (3, 2, 3), False, stride=2, padding=2,
     dilation=2)
_row("1d-same", "conv1d", (2, 2, 8), (2, 2, 4), padding="same")
_row("1d-depthwise", "conv1d", (2, 4, 9), (4, 1, 3), groups=4)
_row("t2d", "conv_transpose2d", (2, 3, 4, 5), (3, 2, 3, 3))
_row("t2d-stride-outpad", "conv_transpose2d", (2, 2, 3, 4), (2, 3, 3, 3), stride=2, padding=1,
     output_padding=1)
_row("t2d-groups-dilation", "conv_transpose2d", (1, 4, 3, 3), (4, 1, 2, 3), False, groups=2,
     dilation=2, stride=(2, 1))
_row("t2d-groups", "conv_transpose2d", (1, 4, 3, 3), (4, 3, 2, 2), groups=2)
_row("t2d-outpad-under-dilation", "conv_transpose2d", (1, 2, 3, 3), (2, 2, 3, 3), dilation=2,
     output_padding=1)
_row("t1d", "conv_transpose1d", (2, 3, 5), (3, 2, 3), stride=3, padding=1, output_padding=2)

_CHANNELS_LAST = {"conv2d": "NHWC", "conv_transpose2d": "NHWC", "conv1d": "NLC",
                  "conv_transpose1d": "NLC"}


def _bias_size(op, w_shape, kwargs):
    return w_shape[1] * kwargs.get("groups", 1) if "transpose" in op else w_shape[0]


def _make(op, x_shape, w_shape, bias, kwargs, dtype, contiguous=True):
    def make(shape):
        if contiguous:
            return RNG.standard_normal(shape).astype(dtype)
        return RNG.standard_normal(shape[::-1]).astype(dtype).T
    b = RNG.standard_normal(_bias_size(op, w_shape, kwargs)).astype(dtype) if bias else None
    return make(x_shape), make(w_shape), b


def _to_last(a):
    return np.moveaxis(a, 1, -1)


def _from_last(a):
    return np.moveaxis(a, -1, 1)


def _core(op, x, w, b, kwargs, layout):
    """The core op with a layout, for a row written in torch's argument names."""
    if "transpose" in op:
        return convolution_transpose(x, w, b, layout=layout, **kwargs)
    return convolution(x, w, b, layout=layout, **kwargs)


# --------------------------------------------------------------------------- generic tests

@pytest.mark.parametrize("op,x_shape,w_shape,bias,kwargs", CASES)
def test_forward_matches_numpy(op, x_shape, w_shape, bias, kwargs):
    x, w, b = _make(op, x_shape, w_shape, bias, kwargs, np.float64)
    got = getattr(F, op)(dn.from_numpy(x), dn.from_numpy(w), None if b is None else
                         dn.from_numpy(b), **kwargs)
    want = REFS[op](x, w, b, **kwargs)
    assert tuple(got.shape) == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op,x_shape,w_shape,bias,kwargs", CASES)
def test_gradcheck(op, x_shape, w_shape, bias, kwargs):
    x, w, b = (None if a is None else dn.tensor(a, requires_grad=True)
               for a in _make(op, x_shape, w_shape, bias, kwargs, np.float64))
    inputs = (x, w) if b is None else (x, w, b)
    assert dn.autograd.gradcheck(lambda *t: getattr(F, op)(*t, **kwargs), inputs)


SECOND = [c for c in CASES if c.id in ("2d-stride-pad", "2d-depthwise", "1d", "t2d-stride-outpad")]


@pytest.mark.parametrize("op,x_shape,w_shape,bias,kwargs", SECOND)
def test_gradgradcheck(op, x_shape, w_shape, bias, kwargs):
    x, w, b = (None if a is None else dn.tensor(a, requires_grad=True)
               for a in _make(op, x_shape, w_shape, bias, kwargs, np.float64))
    inputs = (x, w) if b is None else (x, w, b)
    assert dn.autograd.gradgradcheck(lambda *t: getattr(F, op)(*t, **kwargs), inputs)


TOLERANCE = {np.float32: dict(rtol=1e-5, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-11)}


def _run(fn, x, w, b, seed):
    """fn's output and the gradients of sum(out * seed) w.r.t. x, w and b, as NumPy arrays."""
    out = fn(x, w, b)
    (out * seed).sum().backward()
    return [out.detach().numpy()] + [t.grad.numpy() for t in (x, w, b) if t is not None]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("layout", ["first", "last"])
@pytest.mark.parametrize("dtype,contiguous", [(np.float32, True), (np.float32, False),
                                              (np.float64, True)],
                         ids=["float32", "float32-strided", "float64"])
@pytest.mark.parametrize("op,x_shape,w_shape,bias,kwargs", CASES)
def test_torch_parity(op, x_shape, w_shape, bias, kwargs, dtype, contiguous, layout):
    """Forward and every gradient against torch, in torch's layout and in the channels-last
    one (the core op, input and gradient moved to channels last and back)."""
    torch = pytest.importorskip("torch")
    x, w, b = _make(op, x_shape, w_shape, bias, kwargs, dtype, contiguous)
    t_args = [None if a is None else torch.from_numpy(np.array(a)).requires_grad_()
              for a in (x, w, b)]
    t_out = getattr(torch.nn.functional, op)(*t_args, **kwargs)
    seed = RNG.standard_normal(tuple(t_out.shape)).astype(dtype)
    (t_out * torch.from_numpy(seed)).sum().backward()
    want = [t_out.detach().numpy()] + [t.grad.numpy() for t in t_args if t is not None]
    if layout == "first":
        d_args = [None if a is None else dn.from_numpy(a).requires_grad_() for a in (x, w, b)]
        got = _run(lambda *t: getattr(F, op)(*t, **kwargs), *d_args, dn.from_numpy(seed))
    else:
        keep = np.ascontiguousarray if contiguous else np.asarray  # a moveaxis view: strided
        d_args = [None if a is None else dn.from_numpy(keep(a)).requires_grad_()
                  for a in (_to_last(x), w, b)]
        got = _run(lambda *t: _core(op, *t, kwargs, _CHANNELS_LAST[op]), *d_args,
                   dn.from_numpy(np.ascontiguousarray(_to_last(seed))))
        got[0], got[1] = _from_last(got[0]), _from_last(got[1])
    assert len(got) == len(want)
    for g, w_ in zip(got, want):
        assert g.shape == w_.shape and g.dtype == w_.dtype
        np.testing.assert_allclose(g, w_, **TOLERANCE[dtype])


# --------------------------------------------------------------------------- paths and layouts

@pytest.mark.parametrize("size,stride", [(7, 2), (8, 2), (9, 3), (5, 1)])
def test_keras_strided_same_pads_the_odd_pixel_last(size, stride):
    """TensorFlow's 'same' (the core op's, any stride): output ceil(size / stride)."""
    x = RNG.standard_normal((2, size, size + 1, 3))
    w = RNG.standard_normal((4, 3, 3, 3))
    got = convolution(dn.from_numpy(x), dn.from_numpy(w), stride=stride, padding="same",
                      layout="NHWC")
    want = ref_conv2d(_from_last(x), w, stride=stride, padding="same")
    assert got.shape == (2, math.ceil(size / stride), math.ceil((size + 1) / stride), 4)
    np.testing.assert_allclose(_from_last(got.numpy()), want, rtol=1e-12, atol=1e-12)
    explicit = _pads("same", 2, (size, size + 1), (3, 3), (stride, stride), (1, 1))
    again = convolution(dn.from_numpy(x), dn.from_numpy(w), stride=stride, padding=explicit,
                        layout="NHWC")
    np.testing.assert_array_equal(again.numpy(), got.numpy())


def test_asymmetric_padding_gradcheck():
    x = dn.tensor(RNG.standard_normal((1, 5, 4, 2)), requires_grad=True)
    w = dn.tensor(RNG.standard_normal((3, 2, 3, 2)), requires_grad=True)
    assert dn.autograd.gradcheck(
        lambda a, b: convolution(a, b, stride=2, padding=((0, 2), (1, 0)), layout="NHWC"), (x, w))


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("scratch", [1, 3000])
def test_chunked_batches_match_one_chunk(monkeypatch, layout, scratch):
    """A tiny scratch budget runs one image per chunk (or a few, with a remainder)."""
    cpu = kernels("conv", dn.device("cpu"))
    x = RNG.standard_normal((5, 3, 8, 7))
    w = RNG.standard_normal((4, 3, 3, 3))
    if layout == "NHWC":
        x = np.ascontiguousarray(_to_last(x))
    results = []
    for budget in (cpu.CONV_SCRATCH_BYTES, scratch):
        monkeypatch.setattr(cpu, "CONV_SCRATCH_BYTES", budget)
        xt, wt = dn.tensor(x, requires_grad=True), dn.tensor(w, requires_grad=True)
        out = convolution(xt, wt, stride=2, padding=1, layout=layout)
        (out * out).sum().backward()
        results.append([out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("groups,w_shape", [(4, (4, 1, 3, 3)), (4, (8, 1, 3, 3)),
                                            (2, (4, 2, 3, 3)), (2, (8, 2, 3, 3))],
                         ids=["depthwise", "depthwise-x2", "direct-2x2", "gemm-2x4"])
def test_grouped_paths_match_reference(layout, groups, w_shape):
    """Few channels per group take the direct loops, more take per-group GEMMs."""
    x = RNG.standard_normal((3, 4, 7, 6))
    w = RNG.standard_normal(w_shape)
    xt = dn.tensor(np.ascontiguousarray(_to_last(x)) if layout == "NHWC" else x,
                   requires_grad=True)
    wt = dn.tensor(w, requires_grad=True)
    out = convolution(xt, wt, stride=(1, 2), padding=1, groups=groups, layout=layout)
    got = out.detach().numpy()
    got = _from_last(got) if layout == "NHWC" else got
    np.testing.assert_allclose(got, ref_conv2d(x, w, None, (1, 2), 1, 1, groups), rtol=1e-12,
                               atol=1e-12)
    assert dn.autograd.gradcheck(
        lambda a, b: convolution(a, b, stride=(1, 2), padding=1, groups=groups, layout=layout),
        (dn.tensor(xt.detach().numpy()[:1, :, :4], requires_grad=True), wt))


@pytest.mark.parametrize("op,x_shape,w_shape,bias,kwargs", CASES)
def test_wide_columns_match_narrow_ones(monkeypatch, op, x_shape, w_shape, bias, kwargs):
    """Channels-first unit-width-stride convolutions unroll whole padded rows when that wastes
    little GEMM work; forcing either column layout gives the same numbers."""
    cpu = kernels("conv", dn.device("cpu"))
    arrays = _make(op, x_shape, w_shape, bias, kwargs, np.float64)
    results = []
    for waste in (0.0, 100.0):
        monkeypatch.setattr(cpu, "CONV_WIDE_MAX_WASTE", waste)
        x, w, b = (None if a is None else dn.tensor(a, requires_grad=True) for a in arrays)
        out = getattr(F, op)(x, w, b, **kwargs)
        (out * out).sum().backward()
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in (x, w, b)
                                                  if t is not None])
    for narrow, wide in zip(*results):
        np.testing.assert_allclose(wide, narrow, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_weight_gradient_of_a_first_layer(layout):
    """One input channel: the weight gradient is a skinny (9, K) @ (K, 4) product, computed
    over K in pieces (K = 3 images x 28 rows x 32 padded columns here)."""
    x = RNG.standard_normal((3, 1, 30, 32))
    g = RNG.standard_normal((3, 4, 30, 32))
    w = dn.tensor(RNG.standard_normal((4, 1, 3, 3)), requires_grad=True)
    data = np.ascontiguousarray(_to_last(x)) if layout == "NHWC" else x
    seed = np.ascontiguousarray(_to_last(g)) if layout == "NHWC" else g
    out = convolution(dn.from_numpy(data), w, padding=1, layout=layout)
    out.backward(dn.from_numpy(seed))
    np.testing.assert_allclose(w.grad.numpy(), ref_conv2d_weight_grad(x, g, (4, 1, 3, 3),
                                                                      padding=1),
                               rtol=1e-12, atol=1e-10)


def test_conv_transpose_is_the_input_gradient_of_conv():
    x = dn.tensor(RNG.standard_normal((2, 3, 9, 8)), requires_grad=True)
    w = dn.tensor(RNG.standard_normal((4, 3, 3, 3)))
    y = F.conv2d(x, w, stride=2, padding=1)
    g = dn.tensor(RNG.standard_normal(tuple(y.shape)))
    y.backward(g)
    t = F.conv_transpose2d(g, w, stride=2, padding=1, output_padding=(0, 1))
    np.testing.assert_allclose(t.numpy(), x.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_float16_is_computed_in_float32():
    x = RNG.standard_normal((2, 3, 6, 6)).astype(np.float16)
    w = RNG.standard_normal((4, 3, 3, 3)).astype(np.float16)
    xt, wt = dn.from_numpy(x).requires_grad_(), dn.from_numpy(w).requires_grad_()
    out = F.conv2d(xt, wt, padding=1)
    assert out.dtype is dn.float16
    want = ref_conv2d(x.astype(np.float32), w.astype(np.float32), padding=1)
    np.testing.assert_allclose(out.detach().numpy().astype(np.float32), want, rtol=1e-2, atol=2e-2)
    out.sum().backward()
    assert xt.grad.dtype is dn.float16 and wt.grad.dtype is dn.float16


def test_unbatched_input():
    x, w, b = dn.randn(3, 7, 6), dn.randn(4, 3, 3, 3), dn.randn(4)
    out = F.conv2d(x, w, b, padding=1)
    assert out.shape == (4, 7, 6)
    np.testing.assert_allclose(out.numpy(), F.conv2d(x[None], w, b, padding=1)[0].numpy())
    assert F.conv1d(dn.randn(3, 8), dn.randn(2, 3, 3)).shape == (2, 6)
    assert F.conv_transpose2d(dn.randn(3, 4, 4), dn.randn(3, 2, 3, 3), stride=2).shape == \
        (2, 9, 9)


def test_empty_batch():
    x = dn.zeros(0, 3, 5, 5, requires_grad=True)
    w = dn.randn(4, 3, 3, 3, requires_grad=True)
    out = F.conv2d(x, w)
    assert out.shape == (0, 4, 3, 3)
    out.sum().backward()
    assert x.grad.shape == (0, 3, 5, 5) and not w.grad.numpy().any()


def test_no_graph_without_requires_grad_and_grad_fn_when_needed():
    x, w = dn.randn(1, 2, 4, 4), dn.randn(3, 2, 3, 3)
    assert F.conv2d(x, w).grad_fn is None
    assert F.conv2d(x, w.requires_grad_()).grad_fn is not None


def test_in_place_change_of_saved_input_is_an_error():
    x = dn.randn(1, 2, 4, 4, requires_grad=True)
    w = dn.randn(3, 2, 3, 3, requires_grad=True)
    h = x * 1
    out = F.conv2d(h, w)
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.sum().backward()


# --------------------------------------------------------------------------- bad input

X4, W4 = (2, 4, 5, 5), (6, 4, 3, 3)

BAD = [
    ("rank-2-input", lambda: F.conv2d(dn.ones(5, 5), dn.ones(*W4)), RuntimeError,
     r"conv2d: expected a 3-D \(unbatched\) or 4-D \(batched\) input.*\[5, 5\].*\[6, 4, 3, 3\]"),
    ("rank-5-input", lambda: F.conv2d(dn.ones(1, *X4), dn.ones(*W4)), RuntimeError,
     r"\[1, 2, 4, 5, 5\]"),
    ("conv1d-rank", lambda: F.conv1d(dn.ones(*X4), dn.ones(6, 4, 3)), RuntimeError,
     r"conv1d: expected a 2-D \(unbatched\) or 3-D"),
    ("weight-rank", lambda: F.conv2d(dn.ones(*X4), dn.ones(6, 4, 3)), RuntimeError,
     r"conv2d: expected a 4-D weight.*\[6, 4, 3\]"),
    ("channel-mismatch", lambda: F.conv2d(dn.ones(*X4), dn.ones(6, 3, 3, 3)), RuntimeError,
     r"groups=1, weight of shape \[6, 3, 3, 3\], expected input of shape \[2, 4, 5, 5\] to have "
     r"3 channels, but got 4"),
    ("in-channels-not-divisible", lambda: F.conv2d(dn.ones(2, 5, 5, 5), dn.ones(6, 2, 3, 3),
                                                   groups=2), RuntimeError,
     r"groups=2.*\[6, 2, 3, 3\].*\[2, 5, 5, 5\] to have 4 channels, but got 5"),
    ("out-channels-not-divisible", lambda: F.conv2d(dn.ones(*X4), dn.ones(5, 2, 3, 3), groups=2),
     RuntimeError, r"groups=2, weight of shape \[5, 2, 3, 3\] has 5 output channels, not "
                   r"divisible"),
    ("kernel-too-large", lambda: F.conv2d(dn.ones(*X4), dn.ones(6, 4, 7, 7)), RuntimeError,
     r"padded input size per channel \(5 x 5\) is smaller than the \(dilated\) kernel size "
     r"\(7 x 7\).*\[2, 4, 5, 5\].*\[6, 4, 7, 7\]"),
    ("dilated-kernel-too-large", lambda: F.conv1d(dn.ones(1, 1, 5), dn.ones(1, 1, 3),
                                                  dilation=3), RuntimeError, r"\(5\).*\(7\)"),
    ("same-strided", lambda: F.conv2d(dn.ones(*X4), dn.ones(*W4), stride=2, padding="same"),
     RuntimeError, r"padding='same' is not supported for strided convolutions"),
    ("bad-padding-string", lambda: F.conv2d(dn.ones(*X4), dn.ones(*W4), padding="full"),
     RuntimeError, r"invalid padding string 'full'"),
    ("negative-padding", lambda: F.conv2d(dn.ones(*X4), dn.ones(*W4), padding=-1), RuntimeError,
     r"negative padding is not supported"),
    ("zero-stride", lambda: F.conv2d(dn.ones(*X4), dn.ones(*W4), stride=0), RuntimeError,
     r"non-positive stride"),
    ("zero-dilation", lambda: F.conv2d(dn.ones(*X4), dn.ones(*W4), dilation=(1, 0)),
     RuntimeError, r"non-positive dilation"),
    ("zero-groups", lambda: F.conv2d(dn.ones(*X4), dn.ones(*W4), groups=0), RuntimeError,
     r"non-positive groups"),
    ("stride-length", lambda: F.conv2d(dn.ones(*X4), dn.ones(*W4), stride=(1, 1, 1)),
     RuntimeError, r"expected stride to be a single integer or a list of 2 values"),
    ("float-stride", lambda: F.conv2d(dn.ones(*X4), dn.ones(*W4), stride=1.5), TypeError,
     r"stride must be an int"),
    ("bias-shape", lambda: F.conv2d(dn.ones(*X4), dn.ones(*W4), dn.ones(5)), RuntimeError,
     r"expected bias to be 1-D with 6 elements, got bias of shape \[5\]"),
    ("dtype-mismatch", lambda: F.conv2d(dn.ones(*X4, dtype=dn.float64), dn.ones(*W4)),
     RuntimeError, r"same dtype, got float64 and float32"),
    ("integer-input", lambda: F.conv2d(dn.ones(*X4, dtype=dn.int64), dn.ones(*W4, dtype=dn.int64)),
     RuntimeError, r"floating point"),
    ("not-a-tensor", lambda: F.conv2d(np.ones(X4), dn.ones(*W4)), TypeError,
     r"input must be a Tensor"),
    ("transpose-channels", lambda: F.conv_transpose2d(dn.ones(*X4), dn.ones(3, 6, 3, 3)),
     RuntimeError, r"transposed=1, weight of shape \[3, 6, 3, 3\], expected input of shape "
                   r"\[2, 4, 5, 5\] to have 3 channels"),
    ("transpose-output-padding", lambda: F.conv_transpose2d(dn.ones(*X4), dn.ones(4, 6, 3, 3),
                                                            stride=2, output_padding=2),
     RuntimeError, r"output padding must be smaller than either stride or dilation"),
    ("transpose-too-small", lambda: F.conv_transpose2d(dn.ones(1, 4, 1, 1), dn.ones(4, 6, 1, 1),
                                                       padding=2), RuntimeError,
     r"non-positive output size \(-3, -3\)"),
    ("transpose-padding-string", lambda: F.conv_transpose2d(dn.ones(*X4), dn.ones(4, 6, 3, 3),
                                                            padding="same"), TypeError,
     r"padding must be an int"),
    ("core-layout", lambda: convolution(dn.ones(*X4), dn.ones(*W4), layout="HWCN"), ValueError,
     r"layout must be one of"),
    ("core-nhwc-channels", lambda: convolution(dn.ones(*X4), dn.ones(*W4), layout="NHWC"),
     RuntimeError, r"expected input of shape \[2, 4, 5, 5\] to have 4 channels, but got 5"),
]


@pytest.mark.parametrize("call,exc,pattern", [pytest.param(c, e, p, id=i) for i, c, e, p in BAD])
def test_bad_inputs(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


# dualnet-only cases: the core op's layout, a NumPy input, and integer convolution (which torch
# computes and we refuse)
_DUALNET_ONLY = ("core-layout", "core-nhwc-channels", "not-a-tensor", "integer-input")


@pytest.mark.parametrize("call,exc", [pytest.param(c, e, id=i) for i, c, e, _ in BAD
                                      if i not in _DUALNET_ONLY])
def test_bad_inputs_raise_the_class_torch_raises(call, exc):
    """The same calls, with `dn` and `F` bound to torch and torch.nn.functional."""
    torch = pytest.importorskip("torch")
    scope = dict(call.__globals__, dn=torch, F=torch.nn.functional)
    on_torch = types.FunctionType(call.__code__, scope, call.__name__)
    with pytest.raises(exc):
        on_torch()


FUSED_CASES = [  # (layout, x shape (channels-first), weight shape, groups, kwargs): every path
    ("NCHW", (2, 3, 7, 6), (4, 3, 3, 3), 1, dict(padding=1)),
    ("NHWC", (2, 9, 7, 6), (4, 9, 3, 3), 1, dict(stride=2, padding=1)),  # GEMM rows
    ("NHWC", (2, 1, 7, 6), (4, 1, 3, 3), 1, dict(padding=1)),  # few channels: transposed
    ("NHWC", (2, 3, 7, 6), (4, 3, 2, 2), 1, dict(stride=(2, 1), dilation=2)),
    ("NHWC", (2, 8, 5, 5), (4, 8, 1, 1), 1, {}),  # pointwise
    ("NCHW", (2, 4, 6, 6), (4, 1, 3, 3), 4, dict(padding=1)),  # direct (depthwise)
    ("NHWC", (2, 4, 6, 6), (8, 1, 3, 3), 4, dict(padding=1)),
]


@pytest.mark.parametrize("layout,x_shape,w_shape,groups,kwargs", FUSED_CASES)
def test_fused_relu_is_relu_of_the_convolution(layout, x_shape, w_shape, groups, kwargs):
    """convolution(..., relu=True) (Keras's activation="relu") equals relu(convolution(...)) in
    value and gradient, and its gradient passes gradcheck and gradgradcheck."""
    x = RNG.standard_normal(x_shape)
    data = np.ascontiguousarray(_to_last(x)) if layout == "NHWC" else x
    w, b = RNG.standard_normal(w_shape), RNG.standard_normal(w_shape[0])
    results = []
    for fused in (False, True):
        xt, wt, bt = (dn.tensor(a, requires_grad=True) for a in (data, w, b))
        out = convolution(xt, wt, bt, groups=groups, layout=layout, relu=fused, **kwargs)
        out = out if fused else F.relu(out)
        (out * out).sum().backward()
        results.append([out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()])
    assert (results[1][0] == 0).any() and (results[1][0] > 0).any()
    for plain, fused in zip(*results):
        np.testing.assert_allclose(fused, plain, rtol=1e-12, atol=1e-12)
    small = dn.tensor(data[:1], requires_grad=True)
    wt, bt = dn.tensor(w, requires_grad=True), dn.tensor(b, requires_grad=True)
    f = lambda a, c, d: convolution(a, c, d, groups=groups, layout=layout, relu=True, **kwargs)
    assert dn.autograd.gradcheck(f, (small, wt, bt))
    assert dn.autograd.gradgradcheck(f, (small, wt, bt))


@pytest.mark.parametrize("channels", [1, 3, 7])
@pytest.mark.parametrize("kwargs", [dict(padding=1), dict(stride=2, dilation=2, padding=2),
                                    dict(stride=(3, 1), padding=((0, 2), (1, 0)))])
def test_few_channel_columns_match_the_channels_first_path(channels, kwargs):
    """Channels-last convolutions of fewer than 8 channels unroll their input transposed; they
    agree with the channels-first path (other kernels) in output and both gradients."""
    x = RNG.standard_normal((3, channels, 9, 8))
    w = RNG.standard_normal((5, channels, 3, 3))
    g = None
    results = []
    for layout in ("NCHW", "NHWC"):
        data = np.ascontiguousarray(_to_last(x)) if layout == "NHWC" else x
        xt, wt = dn.tensor(data, requires_grad=True), dn.tensor(w, requires_grad=True)
        out = convolution(xt, wt, layout=layout, **kwargs)
        if g is None:
            g = RNG.standard_normal(tuple(out.shape))
        out.backward(dn.tensor(np.ascontiguousarray(_to_last(g)) if layout == "NHWC" else g))
        got, grad_x = out.detach().numpy(), xt.grad.numpy()
        if layout == "NHWC":
            got, grad_x = _from_last(got), _from_last(grad_x)
        results.append([got, grad_x, wt.grad.numpy()])
    for first, last in zip(*results):
        np.testing.assert_allclose(last, first, rtol=1e-12, atol=1e-12)
