"""Numba kernels of the conv family's GEMM path: im2col (unroll each output pixel's receptive
field into a column) and col2im (its adjoint, the scatter-add back onto the input), for both
layouts. Contiguous arrays in, every element of the output written; no validation.

Contiguous inner loops go through 1-D views indexed from 0 (`_copy(dst, src)`): Numba checks
a signed index for wraparound, which keeps LLVM from vectorising `cols[row, base + t]`; a view
indexed by its loop counter has no such check (5x faster copies, measured). Strided gathers,
which do not vectorise anyway, index flat arrays instead (cheaper than a view per short row).
"""
import numba


@numba.njit(cache=True, inline="always")
def _copy(dst, src):
    for t in range(dst.size):
        dst[t] = src[t]


@numba.njit(cache=True, inline="always")
def _zero(dst):
    """dst[:] = 0 as a loop: Numba's slice assignment costs ~30 ns even when empty."""
    zero = dst.dtype.type(0)
    for t in range(dst.size):
        dst[t] = zero


@numba.njit(cache=True, inline="always")
def _add(dst, src):
    for t in range(dst.size):
        dst[t] += src[t]


@numba.njit(cache=True, inline="always")
def valid_range(offset, stride, size, count):
    """[lo, hi): the output positions o < count whose input position o*stride + offset lies in
    [0, size); the others read padding."""
    lo = 0 if offset >= 0 else min(count, (-offset + stride - 1) // stride)
    last = size - 1 - offset
    hi = 0 if last < 0 else min(count, last // stride + 1)
    return lo, max(lo, hi)


# --------------------------------------------------------------------------- channels first

@numba.njit(cache=True)
def im2col_nchw(x, n0, kh, kw, sh, sw, dh, dw, pt, pl, oh_size, ow_size, cols):
    """cols[(c*kh + i)*kw + j, (n*OH + oh)*OW + ow] = x[n0 + n, c, oh*sh - pt + i*dh,
    ow*sw - pl + j*dw] (zero outside the input): the chunk's images side by side. Strided rows
    are gathered through flat indices (cheaper than a strided view per output row)."""
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    pixels, row_len, plane = oh_size * ow_size, cols.shape[1], height * width
    xf, cf = x.reshape(-1), cols.reshape(-1)
    zero = cols.dtype.type(0)
    for n in range(row_len // pixels):
        for c in range(channels):
            src_plane = ((n0 + n) * channels + c) * plane
            for i in range(kh):
                for j in range(kw):
                    offset = j * dw - pl
                    lo, hi = valid_range(offset, sw, width, ow_size)
                    dst_row = ((c * kh + i) * kw + j) * row_len + n * pixels
                    for oh in range(oh_size):
                        ih = oh * sh - pt + i * dh
                        dst = dst_row + oh * ow_size
                        if ih < 0 or ih >= height:
                            for ow in range(ow_size):
                                cf[dst + ow] = zero
                            continue
                        src = src_plane + ih * width + offset
                        for ow in range(lo):
                            cf[dst + ow] = zero
                        for ow in range(lo, hi):
                            cf[dst + ow] = xf[src + ow * sw]
                        for ow in range(hi, ow_size):
                            cf[dst + ow] = zero


@numba.njit(cache=True)
def col2im_nchw(cols, n0, kh, kw, sh, sw, dh, dw, pt, pl, oh_size, ow_size, out):
    """The adjoint of im2col_nchw: out[n0 + n] = the sum of cols' entries at the input positions
    they were read from. (Here views beat flat indices, by ~20%: measured.)"""
    channels, height, width = out.shape[1], out.shape[2], out.shape[3]
    pixels = oh_size * ow_size
    for n in range(cols.shape[1] // pixels):
        for c in range(channels):
            _zero(out[n0 + n, c].reshape(-1))
            for i in range(kh):
                for j in range(kw):
                    row = (c * kh + i) * kw + j
                    offset = j * dw - pl
                    lo, hi = valid_range(offset, sw, width, ow_size)
                    for oh in range(oh_size):
                        ih = oh * sh - pt + i * dh
                        if ih < 0 or ih >= height or hi == lo:
                            continue
                        base = n * pixels + oh * ow_size
                        src = cols[row, base + lo:base + hi]
                        if sw == 1:
                            _add(out[n0 + n, c, ih, lo + offset:hi + offset], src)
                        else:
                            _add(out[n0 + n, c, ih, lo * sw + offset:(hi - 1) * sw + offset + 1:sw],
                                 src)


@numba.njit(cache=True)
def im2col_wide(xpad, n0, kh, kw, sh, dh, dw, oh_size, cols):
    """Columns over whole padded rows (unit width stride): cols[(c*kh + i)*kw + j, n*L + oh*Wp
    + w] = xpad[n0 + n, c, oh*sh + i*dh, w + j*dw] for every w < Wp (L = OH*Wp). Columns w >= OW
    are junk the drivers ignore; in exchange each (c, i, j) row of an image is one contiguous
    run of the input plane (with sh == 1), a plain copy instead of OH short ones."""
    channels, height, width = xpad.shape[1], xpad.shape[2], xpad.shape[3]
    plane, run = height * width, oh_size * width
    length, repeats = (run, 1) if sh == 1 else (width, oh_size)
    for n in range(cols.shape[1] // run):
        for c in range(channels):
            src_plane = xpad[n0 + n, c].reshape(-1)
            for i in range(kh):
                for j in range(kw):
                    row = (c * kh + i) * kw + j
                    for r in range(repeats):
                        start = (r * sh + i * dh) * width + j * dw
                        valid = max(0, min(length, plane - start))  # the plane's last row ends
                        dst = cols[row, n * run + r * length:n * run + (r + 1) * length]
                        _copy(dst[:valid], src_plane[start:start + valid])
                        _zero(dst[valid:])


@numba.njit(cache=True)
def col2im_wide(cols, kh, kw, sh, dh, dw, oh_size, out):
    """The adjoint of im2col_wide (from n0 = 0): out = the padded input gradient, each (c, i, j)
    row of cols added back along its run. The junk columns must hold zeros."""
    channels, height, width = out.shape[1], out.shape[2], out.shape[3]
    plane, run = height * width, oh_size * width
    length, repeats = (run, 1) if sh == 1 else (width, oh_size)
    for n in range(cols.shape[1] // run):
        for c in range(channels):
            dst_plane = out[n, c].reshape(-1)
            _zero(dst_plane)
            for i in range(kh):
                for j in range(kw):
                    row = (c * kh + i) * kw + j
                    for r in range(repeats):
                        start = (r * sh + i * dh) * width + j * dw
                        valid = max(0, min(length, plane - start))
                        base = n * run + r * length
                        _add(dst_plane[start:start + valid], cols[row, base:base + valid])


# ---------------------------------------------------------------------------- channels last
# Row (n, oh, ow) of cols holds the window in (group, i, j, channel) order. With one group and
# unit width dilation, a window row's kw taps are kw*C contiguous input values: one copy.
# Offsets into flat views of x and cols are computed once per input row, outside the loop over
# output pixels (a view per pixel and tap, as the first version made, cost 2-3x: measured).

@numba.njit(cache=True)
def im2col_nhwc(x, n0, groups, kh, kw, sh, sw, dh, dw, pt, pl, oh_size, ow_size, cols):
    """cols[(n*OH + oh)*OW + ow, ((g*kh + i)*kw + j)*Cg + cg] = x[n0 + n, ih, iw, g*Cg + cg] with
    ih = oh*sh - pt + i*dh, iw = ow*sw - pl + j*dw (zero outside the input)."""
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    if channels < _FEW_CHANNELS:
        _im2col_nhwc_few(x, n0, groups, kh, kw, sh, sw, dh, dw, pt, pl, oh_size, ow_size, cols)
        return
    per_group, row_len, span = channels // groups, cols.shape[1], kw * channels
    xf, cf = x.reshape(-1), cols.reshape(-1)
    runs = groups == 1 and dw == 1
    for task in range(cols.shape[0] // ow_size):
        n, oh = task // oh_size, task % oh_size
        for i in range(kh):
            ih = oh * sh - pt + i * dh
            inside = 0 <= ih < height
            src_row = ((n0 + n) * height + ih) * width * channels
            for ow in range(ow_size):
                dst = (task * ow_size + ow) * row_len
                iw0 = ow * sw - pl
                if runs:
                    block = cf[dst + i * span:dst + (i + 1) * span]
                    lo, hi = max(0, -iw0), min(kw, width - iw0)
                    if not inside or hi <= lo:
                        _zero(block)
                        continue
                    if lo > 0:
                        _zero(block[:lo * channels])
                    if hi < kw:
                        _zero(block[hi * channels:])
                    start = src_row + (iw0 + lo) * channels
                    _copy(block[lo * channels:hi * channels],
                          xf[start:start + (hi - lo) * channels])
                    continue
                for g in range(groups):
                    for j in range(kw):
                        at = dst + ((g * kh + i) * kw + j) * per_group
                        iw = iw0 + j * dw
                        if not inside or iw < 0 or iw >= width:
                            _zero(cf[at:at + per_group])
                        else:
                            start = src_row + iw * channels + g * per_group
                            _copy(cf[at:at + per_group], xf[start:start + per_group])


_FEW_CHANNELS = 8  # below this, a window tap is too short a copy: copy along the output row


@numba.njit(cache=True)
def _im2col_nhwc_few(x, n0, groups, kh, kw, sh, sw, dh, dw, pt, pl, oh_size, ow_size, cols):
    """im2col_nhwc for a few channels (a first layer's 1 or 3): per input channel and tap, one
    strided copy along the output row (a column of cols), so the loop overhead is paid per row
    instead of per window and tap."""
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    per_group, step = channels // groups, sw * channels
    xf = x.reshape(-1)
    for task in range(cols.shape[0] // ow_size):
        n, oh = task // oh_size, task % oh_size
        rows = cols[task * ow_size:(task + 1) * ow_size]
        for i in range(kh):
            ih = oh * sh - pt + i * dh
            src_row = ((n0 + n) * height + ih) * width * channels
            for j in range(kw):
                offset = j * dw - pl
                lo, hi = valid_range(offset, sw, width, ow_size)
                if ih < 0 or ih >= height:
                    lo, hi = ow_size, ow_size
                for c in range(channels):
                    g, cg = c // per_group, c % per_group
                    dst = rows[:, ((g * kh + i) * kw + j) * per_group + cg]
                    _zero(dst[:lo])
                    _zero(dst[hi:])
                    if hi > lo:
                        start = src_row + (offset + lo * sw) * channels + c
                        _copy(dst[lo:hi], xf[start:start + (hi - lo - 1) * step + 1:step])


@numba.njit(cache=True)
def col2im_nhwc(cols, n0, groups, kh, kw, sh, sw, dh, dw, pt, pl, oh_size, ow_size, out):
    """The adjoint of im2col_nhwc. Overlapping windows of one image write the same pixels, so
    the loop runs image by image."""
    height, width, channels = out.shape[1], out.shape[2], out.shape[3]
    per_group, row_len = channels // groups, cols.shape[1]
    of, cf = out.reshape(-1), cols.reshape(-1)
    runs = groups == 1 and dw == 1
    image_len = height * width * channels
    for n in range(cols.shape[0] // (oh_size * ow_size)):
        _zero(of[(n0 + n) * image_len:(n0 + n + 1) * image_len])
        for oh in range(oh_size):
            for i in range(kh):
                ih = oh * sh - pt + i * dh
                if ih < 0 or ih >= height:
                    continue
                dst_row = ((n0 + n) * height + ih) * width * channels
                for ow in range(ow_size):
                    src = ((n * oh_size + oh) * ow_size + ow) * row_len
                    iw0 = ow * sw - pl
                    if runs:
                        lo, hi = max(0, -iw0), min(kw, width - iw0)
                        if hi > lo:
                            a, b = dst_row + (iw0 + lo) * channels, src + (i * kw + lo) * channels
                            _add(of[a:a + (hi - lo) * channels], cf[b:b + (hi - lo) * channels])
                        continue
                    for g in range(groups):
                        for j in range(kw):
                            iw = iw0 + j * dw
                            if 0 <= iw < width:
                                a = dst_row + iw * channels + g * per_group
                                b = src + ((g * kh + i) * kw + j) * per_group
                                _add(of[a:a + per_group], cf[b:b + per_group])


@numba.njit(cache=True)
def im2col_nhwc_t(x, n0, kh, kw, sh, sw, dh, dw, pt, pl, oh_size, ow_size, cols_t):
    """im2col_nhwc transposed, for one group of few channels (a first layer's 1 or 3):
    cols_t[(i*kw + j)*C + c, (n*OH + oh)*OW + ow] = x[n0 + n, ih, iw, c]. Each row of cols_t is
    filled along output rows, a plain copy with one channel, where im2col_nhwc writes 9-float
    rows (1.1 ms against 1.8 ms for 128 MNIST images, measured); the products take cols_t.T."""
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    pixels, step = oh_size * ow_size, sw * channels
    xf = x.reshape(-1)
    for n in range(cols_t.shape[1] // pixels):
        for i in range(kh):
            for j in range(kw):
                offset = j * dw - pl
                lo, hi = valid_range(offset, sw, width, ow_size)
                for c in range(channels):
                    row = cols_t[(i * kw + j) * channels + c, n * pixels:(n + 1) * pixels]
                    for oh in range(oh_size):
                        ih = oh * sh - pt + i * dh
                        dst = row[oh * ow_size:(oh + 1) * ow_size]
                        if ih < 0 or ih >= height or hi == lo:
                            _zero(dst)
                            continue
                        _zero(dst[:lo])
                        _zero(dst[hi:])
                        start = (((n0 + n) * height + ih) * width + offset + lo * sw) * channels + c
                        _copy(dst[lo:hi], xf[start:start + (hi - lo - 1) * step + 1:step])
