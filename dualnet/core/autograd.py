"""Reverse-mode autograd: grad mode, the Function base class (a graph node) and the engine.

A recorded op is an instance of a `Function` subclass: `forward(ctx, *args)` computes the
result and saves what backward needs; `backward(ctx, *grad_outputs)` returns one gradient per
forward argument. Backward is written with Tensor ops, so running it with grad mode on
(`create_graph=True`) records a graph of its own: that is how second derivatives work.
"""
import functools
import weakref

_grad_enabled = True


def is_grad_enabled():
    return _grad_enabled


def _set_grad_enabled(mode):
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = bool(mode)
    return previous


class _GradMode:
    """Context manager and decorator that sets grad mode, restoring it on exit."""

    mode = None

    def __new__(cls, orig_func=None, *args, **kwargs):
        if callable(orig_func):  # `@no_grad` without parentheses, as torch allows
            return cls()(orig_func)
        return super().__new__(cls)

    def __enter__(self):
        self._previous = _set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc):
        _set_grad_enabled(self._previous)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Ops inside record nothing: results have requires_grad=False (inference, optimizer steps)."""

    mode = False


class enable_grad(_GradMode):
    """Turn recording back on inside a `no_grad` block."""

    mode = True


class set_grad_enabled(_GradMode):
    def __init__(self, mode):
        self.mode = bool(mode)
        self._previous = _set_grad_enabled(self.mode)  # also works as a plain call, like torch

    def __enter__(self):
        return self

    def __call__(self, fn):
        _set_grad_enabled(self._previous)
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class inference_mode(no_grad):
    def __init__(self, mode=True):
        self.mode = not mode


class _Freed:
    """Marks a node whose saved tensors were released after a backward without retain_graph."""


_FREED = _Freed()


class Function:
    """Base of every recorded op; subclass it with static `forward(ctx, ...)` / `backward(ctx, ...)`.

    Users' subclasses get Tensors in `forward` (run under no_grad) and return Tensors. The core's
    own ops set `_array_forward = True`: their forward returns raw arrays, which `apply` wraps.

    >>> class Square(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return 2 * x * grad
    """

    _array_forward = False  # core ops: forward returns arrays, no no_grad wrapper needed
    _save_output = False  # core ops: backward may read `ctx.output` (e.g. exp, sigmoid)
    _differentiable = True

    def save_for_backward(self, *tensors):
        self._saved = tuple(tensors)
        # non-tensors (Python scalars a binary op got) are kept as they are, without a version
        self._saved_versions = tuple(getattr(getattr(t, "_version", None), "value", None)
                                     for t in tensors)

    @property
    def saved_tensors(self):
        saved = getattr(self, "_saved", None)
        if saved is _FREED:
            raise RuntimeError(_freed_message(self))
        if saved is None:
            return ()
        for t, version in zip(saved, self._saved_versions):
            if version is not None and t._version.value != version:
                raise RuntimeError(_modified_message(self, t, version))
        return saved

    @property
    def output(self):
        """The op's (first) output as a tensor whose grad_fn is this node (for double backward)."""
        record = self._saved_out
        if record is _FREED:
            raise RuntimeError(_freed_message(self))
        array, dev, dtype, version_box, version = record
        if version_box.value != version:
            raise RuntimeError(_modified_message(self, None, version, array.shape, version_box.value))
        return _tensor_cls._make(array, dev, dtype, True, self, 0, version_box)

    def mark_non_differentiable(self, *tensors):
        self._non_diff = {id(t) for t in tensors}

    def mark_dirty(self, *tensors):
        pass  # in-place user Functions: the returned tensor carries the new version already

    def set_materialize_grads(self, value):
        self._materialize = bool(value)

    @property
    def next_functions(self):
        return tuple((None, 0) if e is None else e for e in self._next)

    def name(self):
        """The op's name for messages: its `opname` where it has one, else the class name."""
        return getattr(self, "opname", None) or type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__}Backward0 object>"

    def register_hook(self, hook):
        """Call hook(grad_inputs, grad_outputs) after this node's backward has run."""
        hooks = self.__dict__.setdefault("_post_hooks", [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def register_prehook(self, hook):
        hooks = self.__dict__.setdefault("_node_pre_hooks", [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    @classmethod
    def apply(cls, *args):
        ctx = cls.__new__(cls)
        requires = False
        if _grad_enabled and cls._differentiable:
            for a in args:
                if getattr(a, "_requires_grad", False):
                    requires = True
                    break
        if requires:
            ctx.needs_input_grad = tuple(getattr(a, "_requires_grad", False) is True for a in args)
        if cls._array_forward:
            raw = cls.forward(ctx, *args)
        else:
            if not requires:
                ctx.needs_input_grad = tuple(getattr(a, "_requires_grad", False) is True
                                             for a in args)
            previous = _set_grad_enabled(False)
            try:
                raw = cls.forward(ctx, *args)
            finally:
                _set_grad_enabled(previous)
        return _wrap_outputs(ctx, raw, args, requires)

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError(f"{type(ctx).__name__} must define forward (abstract)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(f"{type(ctx).__name__} must define backward (abstract)")


def _wrap_outputs(ctx, raw, args, requires):
    Tensor = _tensor_cls
    dev = ctx.__dict__.get("device")
    if dev is None:
        for a in args:
            if isinstance(a, Tensor):
                dev = a._device
                break
        else:
            from .device import CPU

            dev = CPU
    if not requires and type(raw) is not tuple and not isinstance(raw, Tensor):
        return Tensor._make(raw, dev, None, False, None, 0, None)  # the common no-grad case
    single = not isinstance(raw, tuple)
    outs = (raw,) if single else raw
    non_diff = ctx.__dict__.get("_non_diff", ())
    wrapped = []
    meta = []
    for nr, out in enumerate(outs):
        if isinstance(out, Tensor):
            array, dtype = out._data, out._dtype
            reuse = out if (out.grad_fn is None and not any(out is a for a in args)) else None
        else:
            array, reuse = out, None
            dtype = None
        diff = requires and (id(out) not in non_diff) and _float_kind(array)
        if reuse is not None:
            t = reuse
            t._requires_grad = diff
            t.grad_fn = ctx if diff else None
            t._output_nr = nr
        else:
            t = Tensor._make(array, dev, dtype, diff, ctx if diff else None, nr, None)
        wrapped.append(t)
        meta.append((t._data.shape, t._dtype))
    if requires:
        ctx._next = tuple(_edge(a) if getattr(a, "_requires_grad", False) is True else None
                          for a in args)
        ctx._out_meta = meta
        if ctx._save_output:
            first = wrapped[0]
            ctx._saved_out = (first._data, dev, first._dtype, first._version, first._version.value)
    return wrapped[0] if single else tuple(wrapped)


_tensor_cls = None  # set by tensor.py once Tensor exists (autograd sits below tensor)


def _float_kind(array):
    return array.dtype.kind == "f"


class AccumulateGrad:
    """The node at a leaf: adds the incoming gradient into `leaf.grad` (or hands it to grad())."""

    __slots__ = ("variable", "__weakref__")

    def __init__(self, variable):
        self.variable = variable

    _next = ()

    def name(self):
        return "AccumulateGrad"

    @property
    def next_functions(self):
        return ()

    def __repr__(self):
        return "<AccumulateGrad>"


def _edge(t):
    if t._base is not None:
        _refresh_view(t)
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    ref = t._grad_acc
    acc = ref() if ref is not None else None
    if acc is None:
        acc = AccumulateGrad(t)
        t._grad_acc = weakref.ref(acc)
    return (acc, 0)


def _refresh_view(view):
    """A view whose base (or a sibling view) changed in place since its grad_fn was recorded
    takes its history anew from the base, as torch regenerates a view's grad_fn: without this
    its gradient would skip the in-place op."""
    recorded = view.__dict__.get("_view_version")
    if recorded is None or recorded == view._version.value or view._view_fn is None:
        return
    base = view._base
    if base._requires_grad:
        previous = _set_grad_enabled(True)
        try:
            fresh = view._view_fn(base)
        finally:
            _set_grad_enabled(previous)
        view.grad_fn, view._output_nr = fresh.grad_fn, fresh._output_nr
    view._view_version = view._version.value


class _RemovableHandle:
    def __init__(self, container, item):
        self._container, self._item = container, item

    def remove(self):
        try:
            self._container.remove(self._item)
        except ValueError:
            pass


def _describe(shape, dtype=None):
    dims = ", ".join(str(s) for s in shape)
    return f"[{dims}]" + (f" {dtype}" if dtype is not None else "")


def _freed_message(node):
    return (f"backward through {node.name()} a second time: its saved tensors were freed after the "
            f"first backward. Pass retain_graph=True to the first backward() (or autograd.grad) "
            f"if you need to backward through the graph again")


def _modified_message(node, t, version, shape=None, now=None):
    if t is not None:
        shape, now = t.shape, t._version.value
    return (f"a tensor that {node.name()} saved for the gradient computation, of shape "
            f"{_describe(shape)}, has been modified by an in-place operation: it was at version "
            f"{version} when saved and is now at version {now}. Use an out-of-place op "
            f"(e.g. x = x + y instead of x += y), or .clone() the tensor before changing it")


# --------------------------------------------------------------------------------------- engine


def _topological_order(roots):
    """Nodes reachable from `roots`, each before every node it sends gradients to."""
    order, seen = [], set()
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(root._next))]
        while stack:
            node, children = stack[-1]
            for edge in children:
                if edge is not None and id(edge[0]) not in seen:
                    seen.add(id(edge[0]))
                    stack.append((edge[0], iter(edge[0]._next)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=None, allow_unused=False,
                 accumulate=True):
    """Propagate gradients from `tensors` (seeded with `grad_tensors`) back to the leaves.

    accumulate=True adds into leaves' `.grad` (Tensor.backward); otherwise the gradients of
    `inputs` are returned (autograd.grad) and no `.grad` is touched.
    """
    from .tensor import Tensor

    roots, buffers = [], {}
    for t, g in zip(tensors, grad_tensors):
        node, nr = _edge(t)
        roots.append(node)
        slot = buffers.setdefault(id(node), [None] * _num_outputs(node))
        slot[nr] = g if slot[nr] is None else slot[nr] + g

    captures = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError(f"autograd.grad: inputs must be Tensors, got {type(t).__name__} at {i}")
            if not t.requires_grad:
                raise RuntimeError(f"autograd.grad: input {i} (shape {_describe(t.shape)}) does not "
                                   f"require grad")
            node, nr = _edge(t)
            captures.setdefault((id(node), nr), []).append(i)
    results = [None] * (len(inputs) if inputs is not None else 0)
    # arrays a leaf's .grad must not alias: the caller's seeds (copied if stored, not up front)
    stored = {id(g._data) for g in grad_tensors}

    previous = _set_grad_enabled(create_graph)
    try:
        for node in _topological_order(roots):
            grads = buffers.pop(id(node), None)
            if grads is None:
                continue
            if type(node) is AccumulateGrad:
                grad = _run_tensor_hooks(node.variable._backward_hooks, grads[0])
                key = (id(node), 0)
                if key in captures:
                    for i in captures[key]:
                        results[i] = grad
                elif accumulate and inputs is None:
                    _accumulate(node.variable, grad, create_graph, stored)
                continue
            grads = _prepare_grads(node, grads)
            for nr, grad in enumerate(grads):
                key = (id(node), nr)
                if key in captures:
                    for i in captures[key]:
                        results[i] = grad
            for hook in node.__dict__.get("_node_pre_hooks", ()):
                new = hook(tuple(grads))
                if new is not None:
                    grads = list(new)
            if getattr(node, "_saved", None) is _FREED:
                raise RuntimeError(_freed_message(node))
            in_grads = type(node).backward(node, *grads)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            if len(in_grads) < len(node._next):
                raise RuntimeError(f"function {node.name()}.backward returned {len(in_grads)} "
                                   f"gradients, but forward took {len(node._next)} arguments")
            for hook in node.__dict__.get("_post_hooks", ()):
                hook(in_grads, tuple(grads))
            for edge, grad in zip(node._next, in_grads):
                if edge is None or grad is None:
                    continue
                if not isinstance(grad, Tensor):
                    raise TypeError(f"function {node.name()}.backward returned a "
                                    f"{type(grad).__name__} where a Tensor gradient was expected")
                target, nr = edge
                slot = buffers.get(id(target))
                if slot is None:
                    slot = buffers[id(target)] = [None] * _num_outputs(target)
                slot[nr] = grad if slot[nr] is None else slot[nr] + grad
            if not retain_graph:
                _release(node)
    finally:
        _set_grad_enabled(previous)

    if inputs is not None:
        for i, grad in enumerate(results):
            if grad is None and not allow_unused:
                raise RuntimeError(f"autograd.grad: input {i} (shape {_describe(inputs[i].shape)}) "
                                   f"was not used to compute the outputs; pass allow_unused=True "
                                   f"to get None for it")
            if grad is not None and not create_graph:
                results[i] = grad.detach()
        return tuple(results)
    return None


def _num_outputs(node):
    meta = getattr(node, "_out_meta", None)
    return 1 if meta is None else len(meta)


def _prepare_grads(node, grads):
    """Run tensor hooks, fill missing output grads with zeros, and match each grad to its output."""
    from .tensor import Tensor

    meta = node._out_meta
    hooks = node.__dict__.get("_tensor_hooks")
    out = []
    for nr, grad in enumerate(grads):
        shape, dtype = meta[nr]
        if hooks is not None and nr in hooks:
            grad = _run_tensor_hooks(hooks[nr], grad)
        if grad is None:
            if dtype.is_floating_point:
                grad = Tensor._zeros(shape, dtype, _node_device(node))
        else:
            if grad._dtype is not dtype and dtype.is_floating_point:
                grad = grad.to(dtype)
            if grad.shape != shape:
                raise RuntimeError(f"{node.name()}: got a gradient of shape {_describe(grad.shape)} "
                                   f"for an output of shape {_describe(shape)}")
        out.append(grad)
    return out


def _node_device(node):
    for edge in node._next:
        if edge is not None:
            target = edge[0]
            if type(target) is AccumulateGrad:
                return target.variable._device
    from .device import CPU

    return node.__dict__.get("device", CPU)


def _run_tensor_hooks(hooks, grad):
    if not hooks or grad is None:
        return grad
    for hook in list(hooks):
        new = hook(grad)
        if new is not None:
            grad = new
    return grad


def _accumulate(leaf, grad, create_graph, stored):
    if grad.shape != leaf.shape:
        raise RuntimeError(f"gradient of shape {_describe(grad.shape)} does not match the leaf "
                           f"tensor's shape {_describe(leaf.shape)}")
    if grad._dtype is not leaf._dtype:
        grad = grad.to(leaf._dtype)
    if grad._device != leaf._device:
        grad = grad.to(leaf._device)
    if leaf.grad is None:
        if not create_graph:
            grad = grad.detach()
            # a broadcast gradient (a reduction's backward) is a read-only, stride-0 view:
            # later accumulation writes into .grad, so it gets memory of its own
            if (id(grad._data) in stored or grad._base is not None
                    or not getattr(grad._data.flags, "writeable", True) or 0 in grad._data.strides):
                grad = grad.clone()
            stored.add(id(grad._data))
        leaf.grad = grad
    elif create_graph or leaf.grad.requires_grad:
        leaf.grad = leaf.grad + grad
    else:
        leaf.grad._inplace_add_array(grad._data)


def _release(node):
    if getattr(node, "_saved", None) is not None:
        node._saved = _FREED
    if getattr(node, "_saved_out", None) is not None:
        node._saved_out = _FREED


# ------------------------------------------------------------------------------- public helpers


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of `tensors` into the leaves' `.grad` (torch.autograd.backward)."""
    from .tensor import Tensor

    tensors = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    elif isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,)
    grads = tuple(_seed_grad(t, g, "backward", create_graph) for t, g in zip(tensors, grad_tensors))
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        found = run_backward(tensors, grads, retain_graph, create_graph, inputs, allow_unused=True)
        for leaf, g in zip(inputs, found):
            if g is not None:
                _accumulate(leaf, g, create_graph, set())
        return
    run_backward(tensors, grads, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """Return d(outputs)/d(inputs) without touching `.grad`; create_graph=True allows higher orders.

    >>> import dualnet as dn
    >>> x = dn.tensor([2.0], requires_grad=True)
    >>> (g,) = dn.autograd.grad((x ** 3).sum(), x, create_graph=True)
    >>> (gg,) = dn.autograd.grad(g.sum(), x)
    >>> g.item(), gg.item()
    (12.0, 12.0)
    """
    from .tensor import Tensor

    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = (inputs,) if single_input else tuple(inputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"autograd.grad: got {len(grad_outputs)} grad_outputs for "
                           f"{len(outputs)} outputs")
    grads = tuple(_seed_grad(t, g, "autograd.grad", create_graph)
                  for t, g in zip(outputs, grad_outputs))
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    result = run_backward(outputs, grads, retain_graph, create_graph, inputs,
                          allow_unused=allow_unused, accumulate=False)
    if materialize_grads:
        result = tuple(Tensor._zeros(i.shape, i._dtype, i._device) if r is None else r
                       for i, r in zip(inputs, result))
    return result


def _seed_grad(t, g, who, create_graph=False):
    from .tensor import Tensor

    if not t.requires_grad:
        raise RuntimeError(f"{who}: the output of shape {_describe(t.shape)} does not require grad "
                           f"and has no grad_fn (was it computed under no_grad, or from tensors "
                           f"without requires_grad=True?)")
    if g is None:
        if t.numel() != 1:
            raise RuntimeError(f"{who}: a gradient can be implicitly created only for scalar "
                               f"outputs, but the output has shape {_describe(t.shape)}; pass "
                               f"gradient= (a tensor of that shape)")
        return Tensor._full(t.shape, 1, t._dtype, t._device)
    if not isinstance(g, Tensor):
        g = Tensor._from_value(g, t._dtype, t._device)
    if g.shape != t.shape:
        raise RuntimeError(f"{who}: gradient has shape {_describe(g.shape)} but the output has "
                           f"shape {_describe(t.shape)}")
    if create_graph and g.requires_grad:  # higher-order: the seed's own history is kept
        return g if g._dtype is t._dtype else g.to(t._dtype)
    return g.detach() if g._dtype is t._dtype else g.detach().to(t._dtype)
