"""CPU kernels of the conv family: im2col / col2im in Numba, the products in BLAS (NumPy).

A convolution is a matrix product once each output pixel's receptive field is unrolled into a
column ("im2col"): per group, out (OC/G, P) = W (OC/G, C/G*kh*kw) @ cols (C/G*kh*kw, P), P the
output pixels. NumPy's `np.matmul` hands that to OpenBLAS (~180 GFLOP/s float32 here, where a
Numba loop nest reaches a small fraction of it); the unrolling and its adjoint, col2im (the
scatter-add that turns column gradients into an input gradient), are Numba loops
(cpu_im2col.py) that run at memory speed. The input gradient is col2im(W^T @ grad), the weight
gradient grad @ cols^T summed over the batch: each pass is one GEMM per chunk of images.

Each layout keeps its own column order, so neither pays for a transpose of its input:
- channels-first (N, C, H, W): cols (C*kh*kw, count*L) with the chunk's images side by side,
  rows in torch's weight order (c, i, j); W @ cols is (OC, count*L), each image's (OC, L)
  block then copied to its place in the output (a copy of whole rows). With unit width stride
  L = OH*Wp spans whole padded rows (see `_ChannelsFirst`), otherwise L = OH*OW.
- channels-last (N, H, W, C): cols (count*OH*OW, kh*kw*C), one row per output pixel in the
  order (group, i, j, channel); cols @ W^T is already (pixels, OC), i.e. NHWC.

The batch runs in chunks of images whose columns and product rows fit in
config.CONV_SCRATCH_BYTES: the unrolled input is kh*kw times the input (85 MB for 128 images
of 32x26x26 and a 3x3 kernel); a chunk stays in cache between its im2col and its GEMMs, and its
buffers stay under glibc's mmap threshold, where a whole-batch buffer would be page-faulted in
afresh on every call. (Skinny products gain most: the weight gradient of a 1-channel layer,
(32, K) @ (K, 9), runs 4x faster over K = 2048 pieces than over the whole batch, measured.)
Backward recomputes the columns rather than keeping 85 MB alive between the passes.

The Numba kernels are serial: OpenBLAS runs each GEMM on both cores, and a Numba `prange`
kernel between two GEMMs (Numba's OpenMP pool) costs ~7 ms per switch here, as each library's
spinning threads wait out the other's (measured); the copies are a small share of the time.
Depthwise-like convolutions (few channels per group) take the direct loops of cpu_direct.py.
"""
import numpy as np

from ...config import (CONV_DIRECT_MAX_CHANNELS, CONV_SCRATCH_BYTES, CONV_WIDE_MAX_WASTE)
from ..reduction.cpu import _sum_leading
from .cpu_direct import (direct_input_grad_nchw, direct_input_grad_nhwc, direct_nchw,
                         direct_nhwc, direct_weight_grad_nchw, direct_weight_grad_nhwc)
from .cpu_im2col import (_FEW_CHANNELS, col2im_nchw, col2im_nhwc, col2im_wide, im2col_nchw,
                         im2col_nhwc, im2col_nhwc_t, im2col_wide)


# --------------------------------------------------------------------------------- drivers

def _chunk(images, per_image_elements, itemsize):
    """Images per chunk so that one chunk's working set (its columns and its rows of the
    product or gradient, `per_image_elements` per image) fits in the scratch budget."""
    return max(1, min(images, CONV_SCRATCH_BYTES // max(1, per_image_elements * itemsize)))


# Weight-gradient products with fewer than _SKINNY_PRODUCT outputs run over K in pieces.
_SKINNY_PRODUCT, _SKINNY_PIECE = 4096, 2048


def _chunks(images, step):
    for n0 in range(0, images, step):
        yield n0, min(step, images - n0)


def _geometry_args(geom):
    (kh, kw), (sh, sw), (dh, dw), (pt, pl) = geom.kernel, geom.stride, geom.dilation, geom.pad
    return kh, kw, sh, sw, dh, dw, pt, pl, geom.out_size[0], geom.out_size[1]


def _pointwise(geom):
    """A 1x1 kernel, stride 1, no padding: channels-last input is its own column matrix."""
    return (geom.kernel == (1, 1) and geom.stride == (1, 1) and geom.pad == (0, 0)
            and geom.in_size == geom.out_size)


def _direct(geom, weight):
    """Few channels per group (depthwise): the direct loop nests beat thin per-group GEMMs."""
    oc, per_in = weight.shape[0], weight.shape[1]
    return geom.groups > 1 and per_in * (oc // geom.groups) <= CONV_DIRECT_MAX_CHANNELS


def _few_channels_nhwc(geom, x):
    """A channels-last dense convolution of a few input channels: its columns go transposed
    (`im2col_nhwc_t`), one row per tap and channel, filled by plain copies."""
    return geom.groups == 1 and x.shape[3] < _FEW_CHANNELS


def _relu(a):
    """a = max(a, 0) in place (NaN stays NaN, as the relu op)."""
    return np.maximum(a, 0, out=a)


def _weight_rows_nhwc(weight, groups):
    """(OC, Cg, kh, kw) -> (G, OC/G, kh*kw*Cg), each row in im2col_nhwc's column order."""
    oc, cg, kh, kw = weight.shape
    w = weight.reshape(groups, oc // groups, cg, kh, kw).transpose(0, 1, 3, 4, 2)
    return np.ascontiguousarray(w).reshape(groups, oc // groups, kh * kw * cg)


class _ChannelsFirst:
    """The channels-first GEMM path, chunk by chunk: per chunk, cols (C*kh*kw, count*L) hold
    the chunk's images side by side (L columns each), so that one GEMM per group,
    W (OC, C*kh*kw) @ cols, serves the whole chunk, and each image's (OC, L) block of the
    product is then moved to its place in the (N, OC, OH, OW) output.

    With unit width stride the columns run over whole padded rows (L = OH*Wp, `im2col_wide`):
    copies at memory speed, for a few junk columns per row (Wp - OW of every Wp), taken while
    they cost at most config.CONV_WIDE_MAX_WASTE of the GEMM. Otherwise L = OH*OW (`im2col_nchw`).
    """

    def __init__(self, geom, images, channels, oc, dtype):
        (kh, kw), (sh, sw), (dh, dw), (pt, pl) = geom.kernel, geom.stride, geom.dilation, geom.pad
        self.geom, self.oc, self.dtype = geom, oc, np.dtype(dtype)
        self.oh, self.ow = geom.out_size
        # the padded extent the windows read: rows / columns past it are never used
        self.hp, self.wp = (self.oh - 1) * sh + (kh - 1) * dh + 1, self.ow + (kw - 1) * dw
        self.wide = sw == 1 and self.wp <= CONV_WIDE_MAX_WASTE * self.ow
        self.width = self.wp if self.wide else self.ow
        self.run = self.oh * self.width
        self.ckk = channels * kh * kw
        self.padded = self.wide and (pt or pl or self.hp != geom.in_size[0]
                                     or self.wp != geom.in_size[1])
        # a chunk's working set: its columns and its (OC, count*L) product / gradient
        self.step = _chunk(images, (self.ckk + oc) * self.run, self.dtype.itemsize)
        self.channels = channels
        self._cols = np.empty(self.ckk * self.step * self.run, dtype)
        self._side = np.empty(oc * self.step * self.run, dtype)
        self._pad = np.empty(self.step * channels * self.hp * self.wp, dtype) \
            if self.padded else None

    def _padded_view(self, count):
        return self._pad[:count * self.channels * self.hp * self.wp].reshape(
            count, self.channels, self.hp, self.wp)

    def _window(self):
        """(rows, cols) slices of the input and of its padded copy that overlap."""
        (pt, pl), (h, w) = self.geom.pad, self.geom.in_size
        rows, cols = min(h, self.hp - pt), min(w, self.wp - pl)
        return ((slice(0, rows), slice(0, cols)),
                (slice(pt, pt + rows), slice(pl, pl + cols)))

    def column_buffer(self, count):
        return self._cols[:self.ckk * count * self.run].reshape(self.ckk, count * self.run)

    def columns(self, x, n0, count):
        """The chunk's column matrix (C*kh*kw, count*L)."""
        cols = self.column_buffer(count)
        (kh, kw), (sh, sw), (dh, dw), (pt, pl) = (self.geom.kernel, self.geom.stride,
                                                  self.geom.dilation, self.geom.pad)
        if not self.wide:
            im2col_nchw(x, n0, kh, kw, sh, sw, dh, dw, pt, pl, self.oh, self.ow, cols)
        elif self.padded:
            padded = self._padded_view(count)
            (src_h, src_w), (dst_h, dst_w) = self._window()
            padded[...] = 0
            padded[:, :, dst_h, dst_w] = x[n0:n0 + count, :, src_h, src_w]
            im2col_wide(padded, 0, kh, kw, sh, dh, dw, self.oh, cols)
        else:
            im2col_wide(x, n0, kh, kw, sh, dh, dw, self.oh, cols)
        return cols

    def product(self, count):
        return self._side[:self.oc * count * self.run].reshape(self.oc, count * self.run)

    def _blocks(self, side, count):
        """side (OC, count*L) as (count, OC, OH, OW): each image's valid columns."""
        return side.reshape(self.oc, count, self.oh, self.width)[..., :self.ow].transpose(
            1, 0, 2, 3)

    def scatter(self, side, n0, count, bias, out):
        """out[n0:n0 + count] = the product's image blocks (+ bias)."""
        if bias is None:
            out[n0:n0 + count] = self._blocks(side, count)
        else:
            np.add(self._blocks(side, count), bias.reshape(1, -1, 1, 1), out=out[n0:n0 + count])

    def gather(self, grad, n0, count):
        """grad[n0:n0 + count] side by side as (OC, count*L), zeros in the junk columns."""
        side = self.product(count)
        if self.width != self.ow:
            side.reshape(self.oc, count, self.oh, self.width)[..., self.ow:] = 0
        self._blocks(side, count)[...] = grad[n0:n0 + count]
        return side

    def input_grad(self, cols, n0, count, out):
        """out[n0:n0 + count] = col2im of the chunk's column gradient."""
        (kh, kw), (sh, sw), (dh, dw), (pt, pl) = (self.geom.kernel, self.geom.stride,
                                                  self.geom.dilation, self.geom.pad)
        if not self.wide:
            col2im_nchw(cols, n0, kh, kw, sh, sw, dh, dw, pt, pl, self.oh, self.ow, out)
        elif self.padded:
            padded = self._padded_view(count)
            col2im_wide(cols, kh, kw, sh, dh, dw, self.oh, padded)
            (src_h, src_w), (dst_h, dst_w) = self._window()
            target = out[n0:n0 + count]
            if (src_h.stop, src_w.stop) != tuple(self.geom.in_size):
                target[...] = 0  # input rows / columns no window reads get no gradient
            target[:, :, src_h, src_w] = padded[:, :, dst_h, dst_w]
        else:
            col2im_wide(cols, kh, kw, sh, dh, dw, self.oh, out[n0:n0 + count])


def conv_forward(x, weight, bias, geom, out, relu=False):
    """out = conv(x, weight) + bias, in geom.layout; weight is torch's (OC, C/G, kh, kw). With
    `relu`, out = max(out, 0), applied while each chunk is in cache (a pass of its own over a
    first layer's output costs ~2 ms a step on the Keras MNIST convnet)."""
    groups, n_images = geom.groups, x.shape[0]
    oc, cg, kh, kw = weight.shape
    ckk, pixels = cg * kh * kw, geom.out_size[0] * geom.out_size[1]
    per_out = oc // groups
    args = _geometry_args(geom)
    if _direct(geom, weight):
        if geom.layout == "NCHW":
            out[...] = 0 if bias is None else bias.reshape(oc, 1, 1)
            direct_nchw(x, weight, *args[:8], out)
        else:
            out[...] = 0 if bias is None else bias
            direct_nhwc(x, np.ascontiguousarray(weight.transpose(2, 3, 1, 0)), *args[2:8], out)
        return _relu(out) if relu else out
    if geom.layout == "NCHW":
        path = _ChannelsFirst(geom, n_images, x.shape[1], oc, x.dtype)
        wmat = weight.reshape(oc, ckk)
        for n0, count in _chunks(n_images, path.step):
            cols, side = path.columns(x, n0, count), path.product(count)
            for g in range(groups):
                np.matmul(wmat[g * per_out:(g + 1) * per_out], cols[g * ckk:(g + 1) * ckk],
                          out=side[g * per_out:(g + 1) * per_out])
            path.scatter(side, n0, count, bias, out)
            if relu:
                _relu(out[n0:n0 + count])
        return out
    step = _chunk(n_images, (groups * ckk + oc) * pixels, x.itemsize)
    wrows = _weight_rows_nhwc(weight, groups)
    out2 = out.reshape(n_images * pixels, oc)
    if _pointwise(geom) and groups == 1:
        np.matmul(x.reshape(n_images * pixels, ckk), wrows[0].T, out=out2)
        if bias is not None:
            out2 += bias
        return _relu(out) if relu else out
    cols_buf = np.empty(step * pixels * groups * ckk, x.dtype)
    few = _few_channels_nhwc(geom, x)
    for n0, count in _chunks(n_images, step):
        rows = out2[n0 * pixels:(n0 + count) * pixels]
        if few:
            cols_t = cols_buf[:ckk * count * pixels].reshape(ckk, count * pixels)
            im2col_nhwc_t(x, n0, *args, cols_t)
            np.matmul(cols_t.T, wrows[0].T, out=rows)
        else:
            cols = cols_buf[:count * pixels * groups * ckk].reshape(count * pixels,
                                                                    groups * ckk)
            im2col_nhwc(x, n0, groups, *args, cols)
            for g in range(groups):
                np.matmul(cols[:, g * ckk:(g + 1) * ckk], wrows[g].T,
                          out=rows[:, g * per_out:(g + 1) * per_out])
        if bias is not None:
            rows += bias  # while the chunk's rows are in cache: a pass of its own cost 2 ms
        if relu:
            _relu(rows)
    return out


def conv_input_grad(grad, weight, geom, out):
    """out = d(sum(grad * conv(x, weight)))/dx: the transposed convolution of grad by weight."""
    groups, n_images = geom.groups, grad.shape[0]
    oc, cg, kh, kw = weight.shape
    ckk, pixels = cg * kh * kw, geom.out_size[0] * geom.out_size[1]
    per_out = oc // groups
    args = _geometry_args(geom)
    if _direct(geom, weight):
        if geom.layout == "NCHW":
            direct_input_grad_nchw(grad, weight, *args[:8], out)
        else:
            direct_input_grad_nhwc(grad, np.ascontiguousarray(weight.transpose(2, 3, 1, 0)),
                                   *args[2:8], out)
        return out
    if geom.layout == "NCHW":
        path = _ChannelsFirst(geom, n_images, out.shape[1], oc, grad.dtype)
        wmat = weight.reshape(oc, ckk)
        for n0, count in _chunks(n_images, path.step):
            side = path.gather(grad, n0, count)
            cols = path.column_buffer(count)
            for g in range(groups):
                np.matmul(wmat[g * per_out:(g + 1) * per_out].T,
                          side[g * per_out:(g + 1) * per_out], out=cols[g * ckk:(g + 1) * ckk])
            path.input_grad(cols, n0, count, out)
        return out
    step = _chunk(n_images, (groups * ckk + oc) * pixels, grad.itemsize)
    wrows = _weight_rows_nhwc(weight, groups)
    grad2 = grad.reshape(n_images * pixels, oc)
    if _pointwise(geom) and groups == 1:
        np.matmul(grad2, wrows[0], out=out.reshape(n_images * pixels, ckk))
        return out
    cols_buf = np.empty(step * pixels * groups * ckk, grad.dtype)
    for n0, count in _chunks(n_images, step):
        cols = cols_buf[:count * pixels * groups * ckk].reshape(count * pixels, groups * ckk)
        rows = grad2[n0 * pixels:(n0 + count) * pixels]
        for g in range(groups):
            np.matmul(rows[:, g * per_out:(g + 1) * per_out], wrows[g],
                      out=cols[:, g * ckk:(g + 1) * ckk])
        col2im_nhwc(cols, n0, groups, *args, out)
    return out


def conv_weight_grad(x, grad, geom, out):
    """out = d(sum(grad * conv(x, weight)))/dweight, in torch's (OC, C/G, kh, kw) layout."""
    groups, n_images = geom.groups, x.shape[0]
    oc, cg, kh, kw = out.shape
    ckk, pixels = cg * kh * kw, geom.out_size[0] * geom.out_size[1]
    per_out = oc // groups
    args = _geometry_args(geom)
    if _direct(geom, out):
        if geom.layout == "NCHW":
            direct_weight_grad_nchw(x, grad, *args[:8], out)
        else:
            out_t = np.empty((kh, kw, cg, oc), out.dtype)
            direct_weight_grad_nhwc(x, grad, *args[2:8], out_t)
            out[...] = out_t.transpose(3, 2, 0, 1)
        return out
    if geom.layout == "NCHW":
        path = _ChannelsFirst(geom, n_images, x.shape[1], oc, x.dtype)
        acc = out.reshape(oc, ckk)  # rows (c, i, j): torch's order already
        acc[...] = 0
        # cols @ grad^T: OpenBLAS runs it ~20% faster than grad @ cols^T. A skinny product (a
        # first layer's (9, K) @ (K, 32)) goes in K pieces that stay in L2: 4x faster.
        product_t = np.empty((ckk, per_out), out.dtype)
        piece = _SKINNY_PIECE if ckk * per_out < _SKINNY_PRODUCT else None
        for n0, count in _chunks(n_images, path.step):
            cols, side = path.columns(x, n0, count), path.gather(grad, n0, count)
            for g in range(groups):
                rows_c = slice(g * ckk, (g + 1) * ckk)
                rows_g = slice(g * per_out, (g + 1) * per_out)
                for a in range(0, cols.shape[1], piece or cols.shape[1]):
                    b = a + (piece or cols.shape[1])
                    np.matmul(cols[rows_c, a:b], side[rows_g, a:b].T, out=product_t)
                    acc[rows_g] += product_t.T
        return out
    # cols^T @ grad: OpenBLAS runs it 15-25% faster than grad^T @ cols on these shapes
    product_t = np.empty((ckk, per_out), out.dtype)
    step = _chunk(n_images, (groups * ckk + oc) * pixels, x.itemsize)
    acc_t = np.zeros((groups, ckk, per_out), out.dtype)  # rows in im2col_nhwc's (i, j, c) order
    grad2 = grad.reshape(n_images * pixels, oc)
    pointwise = _pointwise(geom) and groups == 1
    cols_buf = None if pointwise else np.empty(step * pixels * groups * ckk, x.dtype)
    # as in the NCHW path: a skinny product (a first layer's (32, K) @ (K, 9)) in K pieces
    piece = _SKINNY_PIECE if ckk * per_out < _SKINNY_PRODUCT else None
    few = not pointwise and _few_channels_nhwc(geom, x)
    for n0, count in _chunks(n_images, step):
        rows = grad2[n0 * pixels:(n0 + count) * pixels]
        if pointwise:
            cols_t = x[n0:n0 + count].reshape(count * pixels, ckk).T
        elif few:
            cols_t = cols_buf[:ckk * count * pixels].reshape(ckk, count * pixels)
            im2col_nhwc_t(x, n0, *args, cols_t)
        else:
            cols = cols_buf[:count * pixels * groups * ckk].reshape(count * pixels, groups * ckk)
            im2col_nhwc(x, n0, groups, *args, cols)
            cols_t = cols.T
        for g in range(groups):
            for a in range(0, rows.shape[0], piece or rows.shape[0]):
                b = a + (piece or rows.shape[0])
                np.matmul(cols_t[g * ckk:(g + 1) * ckk, a:b],
                          rows[a:b, g * per_out:(g + 1) * per_out], out=product_t)
                acc_t[g] += product_t
    out[...] = acc_t.reshape(groups, kh, kw, cg, per_out).transpose(0, 4, 3, 1, 2).reshape(
        oc, cg, kh, kw)
    return out


# ------------------------------------------------------------------- fused relu backward

def relu_bias_grad(grad, out, result, bias_grad):
    """The backward of a channels-last convolution fused with relu, in one pass: result = grad
    where the relu output `out` is positive (or NaN) else grad * 0 (relu's backward), and
    bias_grad = result summed over every axis but the last (the bias gradient). Separately, the
    bias sum is a second pass over the layer's whole gradient (1.5 ms a step for the Keras MNIST
    convnet's first layer)."""
    channels = grad.shape[-1]
    _sum_leading(grad.reshape(-1, channels), bias_grad, out.reshape(-1, channels),
                 result.reshape(-1, channels))
