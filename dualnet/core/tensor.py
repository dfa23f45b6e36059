"""Tensor: an array on a device, its dtype, and its place in the autograd graph.

Math methods and operators are bound from the op families (`dualnet/core/ops`) when the core
package is imported, so every method is the same function as its `dn.<name>` twin.
"""
import numpy as np

from . import autograd as _autograd
from . import config
from .device import CPU, array_module, to_device, to_host
from .dtypes import from_numpy_dtype, get_default_dtype, to_dtype


_PRINT_LINEWIDTH = 80  # torch's default print linewidth, so reprs wrap where torch's do


class _VersionCounter:
    """Shared by a tensor and its views; bumped by every in-place change of their memory."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class Size(tuple):
    """A tensor's shape: a tuple that also answers numel()."""

    __slots__ = ()

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"dualnet.Size([{', '.join(str(s) for s in self)}])"

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out


class Tensor:
    """An n-dimensional array with a dtype, a device and (optionally) a gradient.

    >>> import dualnet as dn
    >>> x = dn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([[2., 4.],
            [6., 8.]])
    """

    __slots__ = ("_data", "_dtype", "_device", "_requires_grad", "grad", "grad_fn", "_output_nr",
                 "_version", "_base", "_view_fn", "_grad_acc", "_backward_hooks", "_retains_grad",
                 "__weakref__", "__dict__")

    __array_priority__ = 1000  # NumPy defers `array * tensor` to Tensor.__rmul__

    def __init__(self, data=None, *, dtype=None, device=None, requires_grad=False):
        from .creation import _to_array

        array, dev = _to_array([] if data is None else data, dtype or get_default_dtype(), device)
        self._init(array, dev, None, requires_grad)

    def _init(self, array, dev, dtype, requires_grad):
        self._data = array
        self._dtype = dtype if dtype is not None else from_numpy_dtype(array.dtype)
        self._device = dev
        self._requires_grad = False
        self.grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._version = _VersionCounter()
        self._base = None
        self._view_fn = None
        self._grad_acc = None
        self._backward_hooks = None
        self._retains_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(array, dev, dtype, requires_grad, grad_fn, output_nr, version):
        """Fast internal constructor: no validation, no copies."""
        t = object.__new__(Tensor)
        if isinstance(array, np.generic):
            array = np.asarray(array)
        t._data = array
        t._dtype = dtype if dtype is not None else from_numpy_dtype(array.dtype)
        t._device = dev
        t._requires_grad = requires_grad
        t.grad = None
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._version = version if version is not None else _VersionCounter()
        t._base = None
        t._view_fn = None
        t._grad_acc = None
        t._backward_hooks = None
        t._retains_grad = False
        return t

    @staticmethod
    def _zeros(shape, dtype, dev):
        return Tensor._make(array_module(dev).zeros(shape, dtype.np), dev, dtype, False, None, 0, None)

    @staticmethod
    def _full(shape, value, dtype, dev):
        return Tensor._make(array_module(dev).full(shape, value, dtype.np), dev, dtype, False, None, 0,
                            None)

    @staticmethod
    def _from_value(value, dtype, dev):
        from .creation import _to_array

        array, dev = _to_array(value, dtype, dev)
        return Tensor._make(array, dev, None, False, None, 0, None)

    # ------------------------------------------------------------------ attributes

    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        from .ops._common import normalize_dim

        return self._data.shape[normalize_dim(dim, self._data.ndim, "size")]

    @property
    def dtype(self):
        return self._dtype

    @property
    def device(self):
        return self._device

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        return self._dtype.itemsize

    @property
    def itemsize(self):
        return self._dtype.itemsize

    @property
    def nbytes(self):
        return int(self._data.nbytes)

    def stride(self, dim=None):
        strides = tuple(s // self._dtype.itemsize for s in self._data.strides)
        return strides if dim is None else strides[dim]

    def is_contiguous(self, memory_format=None):
        return bool(self._data.flags.c_contiguous)

    def is_floating_point(self):
        return self._dtype.is_floating_point

    @property
    def is_cuda(self):
        return self._device.type == "cuda"

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def data_ptr(self):
        if self._device.type == "cpu":
            return self._data.__array_interface__["data"][0]
        return self._data.data.ptr

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        """Start (or stop) recording operations on this leaf tensor."""
        requires_grad = bool(requires_grad)
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("requires_grad_: you can only change requires_grad flags of leaf "
                               "tensors; use .detach() to get a tensor outside the graph")
        if requires_grad and not self._dtype.is_floating_point:
            raise RuntimeError(f"requires_grad_: only tensors of floating point dtype can require "
                               f"gradients, got {self._dtype}")
        self._requires_grad = requires_grad
        return self

    @property
    def data(self):
        """The same memory as a tensor outside the graph (torch's `.data`)."""
        return self.detach()

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data: expected a Tensor, got {type(value).__name__}")
        self._data, self._dtype, self._device = value._data, value._dtype, value._device
        self._version.value += 1

    @property
    def T(self):
        from .ops import shape as _shape

        return _shape.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    # ------------------------------------------------------------------ autograd

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`."""
        _autograd.backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self):
        """The same memory (and version counter) with no history; requires_grad=False."""
        t = Tensor._make(self._data, self._device, self._dtype, False, None, 0, self._version)
        return t

    def detach_(self):
        if self._base is not None and self._base.requires_grad:
            raise RuntimeError("detach_: can't detach a view of a tensor in the graph in place; "
                               "use .detach() instead")
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self):
        """Keep `.grad` of this non-leaf tensor after backward (leaves always keep theirs)."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("retain_grad: can't retain_grad on a tensor that has "
                                   "requires_grad=False")
            return
        if self._retains_grad:
            return
        self._retains_grad = True
        import weakref

        ref = weakref.ref(self)

        def keep(grad):
            owner = ref()
            if owner is not None:
                owner.grad = grad.detach() if owner.grad is None else owner.grad + grad.detach()

        keep.retains_grad = True
        self._add_hook(keep)

    @property
    def retains_grad(self):
        return self._retains_grad

    def register_hook(self, hook):
        """Call hook(grad) when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                               "require gradient")
        return self._add_hook(hook)

    def _add_hook(self, hook):
        if self.grad_fn is None:
            if self._backward_hooks is None:
                self._backward_hooks = []
            hooks = self._backward_hooks
        else:
            table = self.grad_fn.__dict__.setdefault("_tensor_hooks", {})
            hooks = table.setdefault(self._output_nr, [])
        if hooks and getattr(hooks[-1], "retains_grad", False):
            hooks.insert(len(hooks) - 1, hook)  # .grad keeps what every hook made of it (torch)
        else:
            hooks.append(hook)
        return _autograd._RemovableHandle(hooks, hook)

    # ------------------------------------------------------------------ conversion

    def numpy(self, *, force=False):
        """The CPU array itself (shares memory), like torch's `.numpy()`."""
        if self._requires_grad and not force:
            raise RuntimeError("numpy(): can't call numpy() on a tensor that requires grad; use "
                               "tensor.detach().numpy() instead")
        if self._device.type != "cpu":
            if force:
                return self.cpu()._data
            raise TypeError(f"numpy(): the tensor is on {self._device}; copy it to host memory "
                            f"first with .cpu()")
        return self._data

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """DLPack export, sharing memory (see `dualnet.core.dlpack`)."""
        from .dlpack import to_dlpack

        return to_dlpack(self, stream, max_version, dl_device, copy)

    def __dlpack_device__(self):
        from .dlpack import dlpack_device

        return dlpack_device(self)

    def __array__(self, dtype=None, copy=None):
        if self._device.type != "cpu":
            raise TypeError(f"can't convert a tensor on {self._device} to a NumPy array; use "
                            f".cpu() first")
        array = self._data
        if dtype is not None and array.dtype != dtype:
            return array.astype(dtype)
        return array.copy() if copy else array

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"item(): a tensor with {self._data.size} elements (shape "
                               f"{list(self._data.shape)}) cannot be converted to a Python scalar")
        return self._host().reshape(()).item()

    def tolist(self):
        return self._host().tolist()

    def _host(self):
        return self._data if self._device.type == "cpu" else to_host(self._data)

    def __float__(self):
        self._check_one_element("float")
        return float(self.item())

    def __int__(self):
        self._check_one_element("int")
        return int(self.item())

    def _check_one_element(self, to):
        if self._data.size != 1:  # torch raises ValueError here (item() raises RuntimeError)
            raise ValueError(f"{to}(): only one-element tensors can be converted to Python "
                             f"scalars, got shape {list(self._data.shape)}")

    def __index__(self):
        if self._dtype.is_floating_point or self._data.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an "
                            f"index, got {self._dtype} of shape {list(self._data.shape)}")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self._data.size} elements is "
                               f"ambiguous; use .any() or .all()")
        return bool(self.item())

    def __complex__(self):
        return complex(self.item())

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self):
        return id(self)

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self._host(), self._dtype.name, str(self._device), self._requires_grad))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("deepcopy: only tensors created by the user (graph leaves) support "
                               "the deepcopy protocol; .detach() it first")
        t = Tensor._make(self._data.copy(), self._device, self._dtype, self._requires_grad, None, 0,
                         None)
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    def to(self, *args, **kwargs):
        """`to(dtype)`, `to(device)`, `to(device, dtype)`, `to(other)`; differentiable, no copy if same."""
        dev, dtype, copy = _parse_to(self, args, kwargs)
        out = self
        if dtype is not None and dtype is not self._dtype:
            from .ops.elementwise.ops import cast

            out = cast(out, dtype)
            copy = False
        if dev is not None and dev != out._device:
            from .ops.elementwise.ops import to_device as _move

            out = _move(out, dev)
            copy = False
        if copy:
            out = out.clone()
        return out

    def type(self, dtype=None):
        if dtype is None:
            return f"dualnet.{self._dtype.name}"
        return self.to(to_dtype(dtype))

    def cpu(self):
        return self.to(CPU)

    def cuda(self, device=None):
        return self.to(to_device("cuda" if device is None else device))

    def float(self):
        return self.to(to_dtype("float32"))

    def double(self):
        return self.to(to_dtype("float64"))

    def half(self):
        return self.to(to_dtype("float16"))

    def long(self):
        return self.to(to_dtype("int64"))

    def int(self):
        return self.to(to_dtype("int32"))

    def short(self):
        return self.to(to_dtype("int16"))

    def bool(self):
        return self.to(to_dtype("bool"))

    def byte(self):
        return self.to(to_dtype("uint8"))

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from .creation import tensor

        return tensor(data, dtype=dtype or self._dtype, device=device or self._device,
                      requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import zeros

        return zeros(*size, dtype=dtype or self._dtype, device=device or self._device,
                     requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import ones

        return ones(*size, dtype=dtype or self._dtype, device=device or self._device,
                    requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        from .creation import full

        return full(size, fill_value, dtype=dtype or self._dtype, device=device or self._device,
                    requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import empty

        return empty(*size, dtype=dtype or self._dtype, device=device or self._device,
                     requires_grad=requires_grad)

    # ------------------------------------------------------------------ printing

    def __repr__(self):
        host = self._host()
        body = np.array2string(
            host, separator=", ", prefix="tensor(", threshold=config.PRINT_THRESHOLD,
            edgeitems=config.PRINT_EDGEITEMS, max_line_width=_PRINT_LINEWIDTH,
            formatter={"all": _element_formatter(host)},
        ).replace(", ...,", ",  ...,") if host.size else "[]"  # torch pads the summary mark
        extras = []
        default_dtype = self._dtype is get_default_dtype() or self._dtype.name in ("int64", "bool")
        if host.size == 0 and host.shape != (0,):
            extras.append(f"size={tuple(host.shape)}")
        if not default_dtype:
            extras.append(f"dtype={self._dtype!r}")
        if self._device.type != "cpu":
            extras.append(f"device='{self._device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__}Backward0>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        suffix = "".join(", " + e for e in extras)
        return f"tensor({body}{suffix})"

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0 or self._data.size == 1 and spec:
            return format(self.item(), spec)
        return repr(self)

    # ------------------------------------------------------------------ in-place plumbing

    def _bump_version(self):
        self._version.value += 1

    def _inplace_add_array(self, array):
        from .dispatch import kernels

        kernels("elementwise", self._device).add(self._data, array, out=self._data)
        self._version.value += 1


_autograd._tensor_cls = Tensor


def _summarized(array, edge):
    """The elements repr shows: the first and last `edge` along every dim of a large array."""
    if array.ndim == 0:
        return array.reshape(1)
    if array.shape[0] > 2 * edge:
        array = np.concatenate([array[:edge], array[-edge:]])
    if array.ndim == 1:
        return array
    return np.concatenate([_summarized(row, edge) for row in array])


def _element_formatter(host):
    """Each element as torch prints it (torch/_tensor_str.py's _Formatter): integral floats as
    `1.`, others with PRINT_PRECISION decimals, scientific when the magnitudes span > 1e3 (or
    pass 1e8 / fall under 1e-4); every element padded to one width."""
    shown = _summarized(host, config.PRINT_EDGEITEMS) if host.size > config.PRINT_THRESHOLD \
        else host.reshape(-1)
    digits = config.PRINT_PRECISION
    if host.dtype.kind == "b":
        def fmt(v):
            return "True" if v else "False"
        width = max(len(fmt(v)) for v in shown)
    elif host.dtype.kind != "f":
        fmt = str
        width = max(len(str(v)) for v in shown)
    else:
        values = shown.astype(np.float64)
        finite = values[np.isfinite(values) & (values != 0)]
        int_mode, sci_mode = True, False
        if finite.size:
            smallest, largest = np.abs(finite).min(), np.abs(finite).max()
            int_mode = bool(np.all(finite == np.ceil(finite)))
            sci_mode = largest / smallest > 1000.0 or largest > 1.0e8 or (
                not int_mode and smallest < 1.0e-4)

        def fmt(v):
            v = float(v)
            if sci_mode:
                return f"{v:.{digits}e}"
            if int_mode:
                return f"{v:.0f}" + ("." if np.isfinite(v) else "")
            return f"{v:.{digits}f}"
        width = max([1] + [len(fmt(v)) for v in finite])  # torch sizes by the non-zero finite values

    def pad(v):
        text = fmt(v)
        return " " * (width - len(text)) + text

    return pad


def _rebuild(array, dtype_name, device_name, requires_grad):
    t = Tensor._make(np.array(array, dtype=to_dtype(dtype_name).np), CPU, None, False, None, 0, None)
    if device_name != "cpu":
        t = t.to(device_name)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _parse_to(t, args, kwargs):
    from .device import device as _device_cls
    from .dtypes import dtype as _dtype_cls

    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dev, dtype = a._device, a._dtype
        elif isinstance(a, _dtype_cls) or (isinstance(a, type) and a in (float, int, bool)):
            dtype = a
        elif isinstance(a, (str, _device_cls, int)) and not isinstance(a, bool):
            if isinstance(a, str) and a.split(":")[0] not in ("cpu", "cuda"):
                try:
                    dtype = to_dtype(a)
                except TypeError:  # neither a dtype name nor a device: torch's device error
                    _device_cls(a)
                    raise
            else:
                dev = a
        elif isinstance(a, (np.dtype, type)):
            dtype = a
        else:
            raise TypeError(f"to(): expected a device, a dtype or a tensor, got {a!r}")
    return (None if dev is None else to_device(dev)), (None if dtype is None else to_dtype(dtype)), copy
