"""CUDA kernels of the conv family, the twins of cpu.py: im2col / col2im as numba.cuda kernels,
the products through the array module (cuBLAS on CuPy).

Per group, out (OC/G, P) = W (OC/G, C/G*kh*kw) @ cols (C/G*kh*kw, P), P = OH*OW the output
pixels; a column's rows are in torch's weight order (c, i, j) in both layouts, so the weight
is used as it is stored:
- channels-first (N, C, H, W): cols (N, C*kh*kw, P), and the batched product W_g @ cols_g is
  (N, OC/G, P), i.e. NCHW already;
- channels-last (N, H, W, C): cols (N*P, C*kh*kw), one row per output pixel, and
  cols_g @ W_g^T is (N*P, OC/G), i.e. NHWC.
col2im, the adjoint of im2col, gathers: each input element sums the column entries that read
it (no atomics, so the input gradient is deterministic). The whole batch is one im2col (the GPU
holds it); cpu.py's depthwise direct loops have no twin here: they are the same arithmetic.
"""
from numba import cuda

from ...device import cuda_array_module
from .._cuda import launch

xp = cuda_array_module()


def _geometry_args(geom):
    (kh, kw), (sh, sw), (dh, dw), (pt, pl) = geom.kernel, geom.stride, geom.dilation, geom.pad
    return kh, kw, sh, sw, dh, dw, pt, pl, geom.out_size[0], geom.out_size[1]


@cuda.jit
def _im2col(x, channels_last, kh, kw, sh, sw, dh, dw, pt, pl, oh_size, ow_size, zero, cols):
    # cols is flat: (N, C*kh*kw, P) channels-first, (N, P, C*kh*kw) channels-last
    if channels_last:
        height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    else:
        channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    pixels = oh_size * ow_size
    rows = channels * kh * kw
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, cols.size, stride):
        n = k // (rows * pixels)
        rest = k % (rows * pixels)
        if channels_last:
            p, r = rest // rows, rest % rows
        else:
            r, p = rest // pixels, rest % pixels
        c, i, j = r // (kh * kw), (r // kw) % kh, r % kw
        ih = (p // ow_size) * sh - pt + i * dh
        iw = (p % ow_size) * sw - pl + j * dw
        value = zero
        if 0 <= ih < height and 0 <= iw < width:
            value = x[n, ih, iw, c] if channels_last else x[n, c, ih, iw]
        cols[k] = value


@cuda.jit
def _col2im(cols, channels_last, kh, kw, sh, sw, dh, dw, pt, pl, oh_size, ow_size, zero, out):
    # out[n, c, h, w] (or [n, h, w, c]) = the sum of the column entries im2col read it into
    if channels_last:
        height, width, channels = out.shape[1], out.shape[2], out.shape[3]
    else:
        channels, height, width = out.shape[1], out.shape[2], out.shape[3]
    pixels = oh_size * ow_size
    rows = channels * kh * kw
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        if channels_last:
            c = k % channels
            w = (k // channels) % width
            h = (k // (channels * width)) % height
            n = k // (channels * width * height)
        else:
            w = k % width
            h = (k // width) % height
            c = (k // (width * height)) % channels
            n = k // (width * height * channels)
        total = zero
        for i in range(kh):
            top = h + pt - i * dh
            if top < 0 or top % sh != 0 or top // sh >= oh_size:
                continue
            for j in range(kw):
                left = w + pl - j * dw
                if left < 0 or left % sw != 0 or left // sw >= ow_size:
                    continue
                p = (top // sh) * ow_size + left // sw
                r = (c * kh + i) * kw + j
                if channels_last:
                    total += cols[(n * pixels + p) * rows + r]
                else:
                    total += cols[(n * rows + r) * pixels + p]
        if channels_last:
            out[n, h, w, c] = total
        else:
            out[n, c, h, w] = total


def _columns(x, geom):
    """im2col of the whole batch: (N, C*kh*kw, P) channels-first, (N*P, C*kh*kw) channels-last."""
    kh, kw = geom.kernel
    channels_last = geom.layout == "NHWC"
    n, channels = x.shape[0], x.shape[3 if channels_last else 1]
    pixels = geom.out_size[0] * geom.out_size[1]
    rows = channels * kh * kw
    cols = xp.empty(n * rows * pixels, x.dtype)
    launch(_im2col, cols.size, x, channels_last, *_geometry_args(geom), x.dtype.type(0), cols)
    return cols.reshape((n * pixels, rows) if channels_last else (n, rows, pixels))


def _blocks(weight, groups):
    """(per-group output slice, per-group column-row slice, W_g as (OC/G, C/G*kh*kw)) per group."""
    oc = weight.shape[0]
    per_out, ckk = oc // groups, weight.size // oc
    wmat = weight.reshape(oc, ckk)
    for g in range(groups):
        rows_out = slice(g * per_out, (g + 1) * per_out)
        yield rows_out, slice(g * ckk, (g + 1) * ckk), wmat[rows_out]


def conv_forward(x, weight, bias, geom, out, relu=False):
    """out = conv(x, weight) + bias, in geom.layout; weight is torch's (OC, C/G, kh, kw). With
    `relu`, out = max(out, 0) in place."""
    n, oc = x.shape[0], weight.shape[0]
    pixels = geom.out_size[0] * geom.out_size[1]
    cols = _columns(x, geom)
    if geom.layout == "NHWC":
        out2 = out.reshape(n * pixels, oc)
        if geom.groups == 1:
            xp.matmul(cols, weight.reshape(oc, -1).T, out=out2)
        else:
            for rows_out, rows_col, wg in _blocks(weight, geom.groups):
                out2[:, rows_out] = xp.matmul(cols[:, rows_col], wg.T)
        if bias is not None:
            out2 += bias
        return xp.maximum(out, 0, out=out) if relu else out
    out3 = out.reshape(n, oc, pixels)
    if geom.groups == 1:
        xp.matmul(weight.reshape(oc, -1), cols, out=out3)
    else:
        for rows_out, rows_col, wg in _blocks(weight, geom.groups):
            out3[:, rows_out] = xp.matmul(wg, cols[:, rows_col])
    if bias is not None:
        out3 += bias.reshape(oc, 1)
    return xp.maximum(out, 0, out=out) if relu else out


def conv_input_grad(grad, weight, geom, out):
    """out = d(sum(grad * conv(x, weight)))/dx: the transposed convolution of grad by weight."""
    n, oc = grad.shape[0], weight.shape[0]
    channels_last = geom.layout == "NHWC"
    pixels = geom.out_size[0] * geom.out_size[1]
    rows = weight.size // oc * geom.groups
    if channels_last:
        grad2 = grad.reshape(n * pixels, oc)
        cols = xp.empty((n * pixels, rows), grad.dtype)
        for rows_out, rows_col, wg in _blocks(weight, geom.groups):
            cols[:, rows_col] = xp.matmul(grad2[:, rows_out], wg)
    else:
        grad3 = grad.reshape(n, oc, pixels)
        cols = xp.empty((n, rows, pixels), grad.dtype)
        for rows_out, rows_col, wg in _blocks(weight, geom.groups):
            cols[:, rows_col] = xp.matmul(wg.T, grad3[:, rows_out])
    launch(_col2im, out.size, cols.reshape(-1), channels_last, *_geometry_args(geom),
           out.dtype.type(0), out)
    return out


def conv_weight_grad(x, grad, geom, out):
    """out = d(sum(grad * conv(x, weight)))/dweight, in torch's (OC, C/G, kh, kw) layout."""
    n, oc = x.shape[0], out.shape[0]
    pixels = geom.out_size[0] * geom.out_size[1]
    cols = _columns(x, geom)
    acc = out.reshape(oc, -1)
    if geom.layout == "NHWC":
        grad2 = grad.reshape(n * pixels, oc)
        for rows_out, rows_col, _ in _blocks(out, geom.groups):
            acc[rows_out] = xp.matmul(grad2[:, rows_out].T, cols[:, rows_col])
        return out
    grad3 = grad.reshape(n, oc, pixels)
    for rows_out, rows_col, _ in _blocks(out, geom.groups):
        # one batched product per group, summed over the images
        acc[rows_out] = xp.matmul(grad3[:, rows_out], cols[:, rows_col].transpose(0, 2, 1)).sum(0)
    return out


def relu_bias_grad(grad, out, result, bias_grad):
    """The backward of a channels-last convolution fused with relu: result = grad where `out`
    is positive (or NaN) else grad * 0, bias_grad = result summed over all axes but the last."""
    xp.multiply(grad, ~(out <= 0), out=result)
    xp.sum(result.reshape(-1, result.shape[-1]), axis=0, out=bias_grad)
