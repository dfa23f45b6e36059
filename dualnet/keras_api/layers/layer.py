"""`keras.layers.Layer`: the base of every keras_api layer and model. It IS an `nn.Module`: its
trainable weights are registered Parameters (in Keras layout, under their Keras names), its
non-trainable weights are buffers, so `parameters()` / `state_dict()` see exactly Keras's weights.

Subclasses create weights with `add_weight` in `build(input_shape)` and compute in
`call(inputs, training=None)`; `__call__` builds on the first call, checks `input_spec`, resolves
`training` from the outer call, and on `KerasTensor`s records a functional-graph node instead.
"""
import inspect
import re
import warnings

import numpy as np

from ...core.autograd import no_grad
from ...core.creation import from_numpy, zeros
from ...core.dtypes import to_dtype
from ...core.tensor import Tensor
from ...nn import Module, ModuleList, Parameter
from .. import _devices
from .keras_tensor import (KerasTensor, Node, flatten, has_symbolic, map_structure, pack_like,
                           unique_name)

__all__ = ["Layer", "InputSpec"]


class _UnrecognizedArguments(ValueError, TypeError):
    """Keras raises ValueError for unknown constructor keywords; Python code expects TypeError."""


class InputSpec:
    """What a layer accepts as its first input: `ndim` / `min_ndim` / `max_ndim`, fixed `axes`
    ({axis: size}) or a full `shape` (None = any); checked on every call once the layer is built.

    >>> spec = InputSpec(min_ndim=2, axes={-1: 784})
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = dtype
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.name = name
        self.optional = optional

    def __repr__(self):
        fields = [f"{key}={value}" for key, value in
                  (("dtype", self.dtype), ("shape", self.shape), ("ndim", self.ndim),
                   ("max_ndim", self.max_ndim), ("min_ndim", self.min_ndim),
                   ("axes", self.axes or None)) if value is not None]
        return f"InputSpec({', '.join(fields)})"

    def check(self, layer_name, index, shape):
        """ValueError naming the layer, what it expected and the shape it received."""
        rank = len(shape)
        prefix = f"Input {index} of layer '{layer_name}' is incompatible with the layer"
        if self.ndim is not None and rank != self.ndim:
            raise ValueError(f"{prefix}: expected ndim={self.ndim}, found ndim={rank}. Full "
                             f"shape received: {shape}")
        if self.min_ndim is not None and rank < self.min_ndim:
            raise ValueError(f"{prefix}: expected min_ndim={self.min_ndim}, found ndim={rank}. "
                             f"Full shape received: {shape}")
        if self.max_ndim is not None and rank > self.max_ndim:
            raise ValueError(f"{prefix}: expected max_ndim={self.max_ndim}, found ndim={rank}. "
                             f"Full shape received: {shape}")
        for axis, size in self.axes.items():
            if size is None or not -rank <= axis < rank:
                continue
            if shape[axis] is not None and shape[axis] != size:
                raise ValueError(f"{prefix}: expected axis {axis} of input shape to have value "
                                 f"{size}, but received input with shape {shape}")
        if self.shape is not None:
            for want, got in zip(self.shape, shape):
                if want is not None and got is not None and want != got:
                    raise ValueError(f"{prefix}: expected shape={self.shape}, found "
                                     f"shape={shape}")


class _CallContext:
    """The outermost running layer call and its `training` value, which inner calls inherit."""

    __slots__ = ("training", "entry", "loss_layers")

    def __init__(self):
        self.training = None
        self.entry = None
        self.loss_layers = []  # layers that added a loss since the outermost call began


_CONTEXT = _CallContext()


def _snake_case(name):
    """Keras's automatic layer names: "BatchNormalization" -> "batch_normalization",
    "Conv2D" -> "conv2d" (an uppercase run splits only before a capitalized word)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)  # before each Capitalized word
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)  # between a lower and an upper
    return name.lower()


def _policy_name(dtype):
    """A dtype policy name from a string, a dualnet/NumPy dtype, or Keras's policy config."""
    if dtype is None:
        return "float32"
    if isinstance(dtype, dict):  # {"class_name": "DTypePolicy", "config": {"name": ...}}
        return dtype.get("config", {}).get("name", "float32")
    name = getattr(dtype, "name", None)
    if isinstance(name, str):
        return name
    return str(np.dtype(dtype))


def _to_tensor(value, dtype, device=None):
    """NumPy arrays and Python numbers become Tensors (on `device`, else the CPU); floats in
    the layer's dtype (Keras casts float inputs to the compute dtype and keeps integer inputs as
    they are)."""
    if isinstance(value, Tensor) or value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (np.ndarray, np.generic, float, int)) or (
            isinstance(value, list) and value and not isinstance(value[0], (Tensor, list))):
        array = np.asarray(value)
        if array.dtype.kind == "f" or array.dtype.kind == "c":
            array = array.astype(dtype.np, copy=False)
        elif array.dtype.kind == "b":
            pass
        tensor = from_numpy(np.ascontiguousarray(array))
        return tensor if device is None or device.type == "cpu" else tensor.to(device)
    return value


def _signature_flags(cls):
    """Cached per class: what call() and build() accept."""
    flags = cls.__dict__.get("_keras_signature")
    if flags is None:
        call_params = inspect.signature(cls.call).parameters
        build_params = [p for name, p in inspect.signature(cls.build).parameters.items()
                        if name != "self" and p.kind in (p.POSITIONAL_ONLY,
                                                         p.POSITIONAL_OR_KEYWORD)]
        call_names = [n for n in call_params if n != "self"
                      and call_params[n].kind not in (inspect.Parameter.VAR_POSITIONAL,
                                                      inspect.Parameter.VAR_KEYWORD)]
        flags = {"training": "training" in call_params, "mask": "mask" in call_params,
                 # the call takes `mask` or `<arg>_mask`: Keras fills it from the inputs' masks
                 "mask_args": any(n == "mask" or n.endswith("_mask") for n in call_names),
                 "call_names": call_names,
                 "build_names": [p.name for p in build_params]}
        setattr(cls, "_keras_signature", flags)
    return flags


class _WeightInfo:
    __slots__ = ("key", "trainable", "regularizer", "constraint")

    def __init__(self, key, trainable, regularizer, constraint):
        self.key, self.trainable = key, trainable
        self.regularizer, self.constraint = regularizer, constraint


class Layer(Module):
    """Base class of keras_api layers: override `build(input_shape)` (create weights with
    `add_weight`) and `call(inputs, training=None)`.

    >>> import numpy as np
    >>> from dualnet.keras_api import layers
    >>> class Scale(layers.Layer):
    ...     def build(self, input_shape):
    ...         self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones",
    ...                                      name="scale")
    ...     def call(self, inputs):
    ...         return inputs * self.scale
    >>> layer = Scale()
    >>> tuple(layer(np.ones((2, 3), "float32")).shape), [n for n, _ in layer.named_parameters()]
    ((2, 3), ['scale'])
    """

    def __init__(self, *, activity_regularizer=None, trainable=True, dtype=None, autocast=True,
                 name=None, **kwargs):
        Module.__init__(self)
        input_dim = kwargs.pop("input_dim", None)
        input_shape = (input_dim,) if input_dim is not None else kwargs.pop("input_shape", None)
        if kwargs:
            raise _UnrecognizedArguments(f"Unrecognized keyword arguments passed to "
                                         f"{type(self).__name__}: {kwargs}")
        if name is None:
            name = unique_name(_snake_case(type(self).__name__))
        elif not isinstance(name, str) or "/" in name:
            raise ValueError(f"{type(self).__name__}: name must be a string without '/', "
                             f"got {name!r}")
        d = self.__dict__
        d["name"] = name
        d["_input_shape_arg"] = None if input_shape is None else tuple(input_shape)
        d["_dtype_name"] = _policy_name(dtype)
        d["_dtype"] = to_dtype(d["_dtype_name"])
        d["autocast"] = autocast
        d["_trainable"] = bool(trainable)
        d["built"] = False
        d["_weight_infos"] = []
        d["_losses"] = []
        d["_inbound_nodes"] = []
        d["_build_shapes"] = None
        d["input_spec"] = None
        # as Keras: a layer that defines compute_mask supports masking; others opt in
        d["supports_masking"] = type(self).compute_mask is not Layer.compute_mask
        d["activity_regularizer"] = None
        if activity_regularizer is not None:
            from .. import regularizers
            d["activity_regularizer"] = regularizers.get(activity_regularizer)

    # ------------------------------------------------------------------ overridables

    def build(self, input_shape):
        """Create the weights for inputs of `input_shape` (a tuple, None for the batch)."""
        self.built = True

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not define call(); "
                                  f"subclasses implement call(inputs, training=None)")

    def forward(self, *args, **kwargs):
        # the nn.Module door: hooks registered with register_forward_hook wrap `call`
        return self.call(*args, **kwargs)

    def compute_mask(self, inputs, previous_mask):
        """The mask of the outputs (a bool tensor, True where a step is valid) from the inputs
        and their mask; the base passes the input's mask on (for a layer that supports
        masking). Overriding it makes a layer support masking."""
        return previous_mask

    def compute_output_shape(self, *args, **kwargs):
        """Output shape(s) for input shape(s); the base runs `call` on zeros to find them (each
        None dim tried at sizes 1 and 2: a dim that follows it stays None)."""
        specs = map_structure(lambda s: KerasTensor(s, self._dtype_name, name="probe"),
                              args[0] if len(args) == 1 else list(args))
        outputs = self._infer_by_running((specs,) if len(args) == 1 else tuple(specs), kwargs)
        return map_structure(lambda t: t.shape, outputs)

    def compute_output_spec(self, *args, **kwargs):
        """KerasTensors describing the call's outputs (Keras's name for symbolic inference)."""
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            shapes = map_structure(lambda t: t.shape if isinstance(t, KerasTensor) else t,
                                   args[0])
            out = self.compute_output_shape(shapes)
            if isinstance(out, tuple) and all(d is None or isinstance(d, (int, np.integer))
                                              for d in out):
                return KerasTensor(out, self._dtype_name)
            return map_structure_shapes(out, self._dtype_name)
        return self._infer_by_running(args, kwargs)

    def _infer_by_running(self, args, kwargs):
        """Run `call` on zero tensors in place of KerasTensors (no graph, no gradient).

        Limitation: a layer whose output size depends on a None input dim in a way that is not
        the identity at sizes 1 and 2 (say, 2*n) gets that output dim as None."""
        results = []
        place = _devices.input_device(self)  # the zeros go where the weights are
        for fill in (1, 2):
            def concrete(leaf, fill=fill):
                if not isinstance(leaf, KerasTensor):
                    return leaf
                shape = tuple(fill if d is None else d for d in leaf.shape)
                return zeros(*shape, dtype=to_dtype(leaf.dtype), device=place)
            call_kwargs = map_structure(concrete, kwargs)
            if _signature_flags(type(self))["training"] and call_kwargs.get("training") is None:
                call_kwargs["training"] = False
            with no_grad():
                results.append(self.call(*map_structure(concrete, args), **call_kwargs))
            has_none = any(d is None for leaf in flatten([list(args), kwargs])
                           if isinstance(leaf, KerasTensor) for d in leaf.shape)
            if not has_none:
                break
        first = flatten(results[0])
        second = flatten(results[-1])
        specs = []
        for a, b in zip(first, second):
            if not isinstance(a, Tensor):
                specs.append(a)
                continue
            shape = tuple(None if da != db else da for da, db in zip(a.shape, b.shape))
            specs.append(KerasTensor(shape, a.dtype))
        return pack_like(results[0], specs)

    # ------------------------------------------------------------------ __call__

    def __call__(self, *args, **kwargs):
        if not args:
            raise ValueError(f"Layer '{self.name}' was called without inputs: pass the input "
                             f"tensor(s) as the first positional argument")
        first = args[0]
        if not isinstance(first, Tensor):
            if has_symbolic(args, kwargs):
                return self._symbolic_call(args, kwargs)
            place = _devices.input_device(self)  # NumPy inputs go where the weights are
            args = map_structure(lambda v: _to_tensor(v, self._dtype, place), args)
            if kwargs:
                kwargs = {k: (_to_tensor(v, self._dtype, place) if k != "training" else v)
                          for k, v in kwargs.items()}
            first = args[0]
        elif (self.autocast and first._dtype is not self._dtype
              and first._dtype.is_floating_point):
            converted = first.to(self._dtype)
            mask = getattr(first, "_keras_mask", None)
            if mask is not None:  # the mask stays with the converted input (as Keras keeps it)
                converted._keras_mask = mask
            args = (converted,) + args[1:]
            first = args[0]
        if not self.built:
            with _devices.building_on(first):  # weights follow the data outside device scopes
                self._build_from(args, kwargs, lambda v: tuple(v.shape))
        spec = self.input_spec
        if spec is not None:
            self._check_input_spec(spec, first)
        flags = _signature_flags(type(self))
        first_mask = getattr(first, "_keras_mask", None) if isinstance(first, Tensor) else None
        if flags["mask_args"] and (first_mask is not None or len(args) > 1 or not isinstance(
                first, Tensor) or (kwargs and kwargs.keys() != {"training"})):
            _populate_masks(flags["call_names"], args, kwargs)  # (a lone unmasked tensor: none)
        previous_mask = kwargs.get("mask")
        if previous_mask is None:
            previous_mask = first_mask if isinstance(first, Tensor) else map_structure(
                _mask_of, first)
        context = _CONTEXT
        outer_training = context.training
        training = kwargs.pop("training", None) if "training" in kwargs else None
        if training is None:
            training = outer_training
        entry = context.entry is None
        if entry:
            context.entry = self
            for layer in context.loss_layers:
                layer._losses.clear()
            context.loss_layers.clear()
        context.training = training
        try:
            if training is not None and flags["training"]:
                kwargs["training"] = training
            outputs = Module.__call__(self, *args, **kwargs)
            if self.activity_regularizer is not None:
                self._add_activity_loss(outputs)
            if self.supports_masking:
                self._set_mask_metadata(first, outputs, previous_mask)
            elif previous_mask is not None and any(
                    m is not None for m in flatten(previous_mask)):
                warnings.warn(f"Layer '{self.name}' (of type {type(self).__name__}) was passed "
                              f"an input with a mask attached to it. However, this layer does "
                              f"not support masking and will therefore destroy the mask "
                              f"information. Downstream layers will not see the mask.",
                              stacklevel=2)
        finally:
            context.training = outer_training
            if entry:
                context.entry = None
        return outputs

    def _set_mask_metadata(self, inputs, outputs, previous_mask):
        """Attach `compute_mask(inputs, previous_mask)` to the outputs as `_keras_mask`, unless
        every output already carries a mask (the call set them itself)."""
        if previous_mask is None and type(self).compute_mask is Layer.compute_mask:
            return  # nothing to pass on
        flat_outputs = [outputs] if isinstance(outputs, Tensor) else flatten(outputs)
        if all(getattr(x, "_keras_mask", None) is not None for x in flat_outputs):
            return
        output_masks = self.compute_mask(inputs, previous_mask)
        if output_masks is None:
            return
        flat_masks = [output_masks] if isinstance(output_masks, Tensor) else flatten(
            output_masks)
        for tensor, mask in zip(flat_outputs, flat_masks):
            if (mask is not None and isinstance(tensor, Tensor)
                    and getattr(tensor, "_keras_mask", None) is None):
                tensor._keras_mask = mask

    def _check_input_spec(self, spec, first):
        if isinstance(spec, (list, tuple)):
            values = flatten(first) if not isinstance(first, (Tensor, KerasTensor)) else [first]
            for index, (one, value) in enumerate(zip(spec, values)):
                if one is not None and value is not None:
                    one.check(self.name, index, tuple(value.shape))
        elif isinstance(first, (Tensor, KerasTensor)):
            spec.check(self.name, 0, tuple(first.shape))

    def _build_from(self, args, kwargs, shape_of):
        """Call build() with the shapes of the call's tensors (Keras's `<arg>_shape` rule)."""
        def shapes(value):
            return map_structure(lambda v: shape_of(v) if isinstance(v, (Tensor, KerasTensor))
                                 else v, value)
        flags = _signature_flags(type(self))
        build_names = flags["build_names"]
        if len(build_names) <= 1:
            input_shape = shapes(args[0])
            self._build_shapes = {"input_shape": input_shape}
            self.build(input_shape) if build_names else self.build()
        else:
            named = dict(zip(flags["call_names"], args))
            named.update({k: v for k, v in kwargs.items() if k in flags["call_names"]})
            build_kwargs = {}
            for name in build_names:
                arg = name[:-len("_shape")] if name.endswith("_shape") else name
                if arg in named and named[arg] is not None:
                    build_kwargs[name] = shapes(named[arg])
            self._build_shapes = build_kwargs
            self.build(**build_kwargs)
        self.built = True

    def _symbolic_call(self, args, kwargs):
        if not self.built:
            self._build_from(args, kwargs, lambda v: v.shape)
        if self.input_spec is not None:
            self._check_input_spec(self.input_spec, args[0])
        outputs = self.compute_output_spec(*args, **kwargs)
        # a tensor already in the graph (a call returning its input) gets a fresh symbol
        outputs = map_structure(lambda t: KerasTensor(t.shape, t.dtype)
                                if isinstance(t, KerasTensor) and t._keras_history is not None
                                else t, outputs)
        if self.supports_masking:
            self._symbolic_masks(args[0], kwargs.get("mask"), outputs)
        Node(self, args, kwargs, outputs)
        return outputs

    def _symbolic_masks(self, first, given, outputs):
        """As Keras, the KerasTensors of a masking layer carry their mask's spec (a bool
        KerasTensor as `_keras_mask`); found by running compute_mask on zeros and all-True
        masks (the run masks themselves are rebuilt from the data at each call)."""
        previous = given if given is not None else map_structure(
            lambda t: getattr(t, "_keras_mask", None) if isinstance(t, KerasTensor) else None,
            first)
        if (not any(m is not None for m in flatten(previous))
                and type(self).compute_mask is Layer.compute_mask):
            return
        results = []
        for fill in (1, 2):
            def concrete(leaf, fill=fill):
                if not isinstance(leaf, KerasTensor):
                    return leaf
                shape = tuple(fill if d is None else d for d in leaf.shape)
                if to_dtype(leaf.dtype).name == "bool":
                    return zeros(*shape, dtype=to_dtype("bool")) == 0
                return zeros(*shape, dtype=to_dtype(leaf.dtype))
            try:
                with no_grad():
                    masks = self.compute_mask(map_structure(concrete, first),
                                              map_structure(concrete, previous))
            except Exception:  # a mask rule that needs real values: no spec, as before
                return
            results.append([m for m in ([masks] if isinstance(masks, Tensor)
                                        else flatten(masks))])
        flat_outputs = flatten(outputs)
        for tensor, one, two in zip(flat_outputs, results[0], results[1]):
            if isinstance(tensor, KerasTensor) and isinstance(one, Tensor):
                shape = tuple(None if a != b else a for a, b in zip(one.shape, two.shape))
                tensor._keras_mask = KerasTensor(shape, "bool")

    def _add_activity_loss(self, outputs):
        for output in flatten(outputs):
            if isinstance(output, Tensor):
                penalty = self.activity_regularizer(output)
                if output.ndim > 0 and output.shape[0] > 0:
                    # per-example strength, whatever the batch size (as Keras does)
                    penalty = penalty / output.shape[0]
                self.add_loss(penalty)

    # ------------------------------------------------------------------ weights

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, autocast=True,
                   regularizer=None, constraint=None, aggregation="none",
                   overwrite_with_gradient=False, name=None):
        """Create a weight, register it on this module under `name`, and return it: an
        nn.Parameter when trainable, a buffer (plain Tensor) when not."""
        from .. import initializers, regularizers
        dtype_name = self._dtype_name if dtype is None else _policy_name(dtype)
        dt = to_dtype(dtype_name)
        shape = () if shape is None else tuple(int(s) for s in shape)
        if initializer is None:
            initializer = "glorot_uniform" if dt.is_floating_point else "zeros"
        init = initializers.get(initializer)
        value = init(shape, dtype=dtype_name)
        if isinstance(value, Tensor):
            value = value.detach()
            if value.dtype is not dt:
                value = value.to(dt)
        else:
            value = from_numpy(np.array(value, dtype=dt.np).reshape(shape))
        if tuple(value.shape) != shape:
            raise ValueError(f"Layer '{self.name}': initializer {initializer!r} returned shape "
                             f"{tuple(value.shape)} for weight '{name}' of shape {shape}")
        value = value.to(_devices.weight_device())
        key = self._free_key(name or "variable")
        if trainable:
            weight = Parameter(value, requires_grad=self._trainable)
        else:
            weight = value
        if overwrite_with_gradient:  # the Keras optimizers assign its gradient to it (float8)
            weight.overwrite_with_gradient = True
        info = _WeightInfo(key, bool(trainable), regularizers.get(regularizer),
                           _constraint(constraint))
        self._weight_infos.append(info)
        self._register_weight(key, weight, trainable and self._trainable)
        return weight

    def _free_key(self, name):
        key, count = name, 0
        while (key in self._parameters or key in self._buffers or key in self._modules
               or key in self.__dict__ or hasattr(type(self), key)):
            count += 1
            key = f"{name}_{count}"
        return key

    def _register_weight(self, key, weight, as_parameter):
        self._parameters.pop(key, None)
        self._buffers.pop(key, None)
        if as_parameter:
            self._parameters[key] = weight
        else:
            self._buffers[key] = weight

    def _weight(self, info):
        value = self._parameters.get(info.key)
        return value if value is not None else self._buffers.get(info.key)

    def __setattr__(self, name, value):
        infos = self.__dict__.get("_weight_infos")
        if isinstance(value, Tensor) and infos is not None:
            for info in infos:
                if self._weight(info) is value:
                    if info.key != name:  # `self.w = self.add_weight(name="kernel")`
                        self._rename_weight(info, name)
                    return
            if isinstance(value, Parameter) and name not in self._parameters:
                # an nn.Parameter set directly is a weight too (parameters() == weights)
                Module.__setattr__(self, name, value)
                infos.append(_WeightInfo(name, value.requires_grad, None, None))
                return
        if (isinstance(value, list) and value and all(isinstance(v, Layer) for v in value)
                and "_modules" in self.__dict__):
            value = ModuleList(value)  # a list of layers is tracked as Keras does
        Module.__setattr__(self, name, value)

    def _rename_weight(self, info, new_key):
        if new_key in self._parameters or new_key in self._buffers or new_key in self._modules:
            raise ValueError(f"Layer '{self.name}': attribute '{new_key}' already holds another "
                             f"weight or layer")
        for table in (self._parameters, self._buffers):
            if info.key in table:
                items = [(new_key if k == info.key else k, v) for k, v in table.items()]
                table.clear()
                table.update(items)
        self.__dict__.pop(new_key, None)
        info.key = new_key

    def _sublayers(self):
        """Direct child layers (looking through nn containers such as ModuleList)."""
        found = []

        def visit(module):
            for child in module._modules.values():
                if isinstance(child, Layer):
                    found.append(child)
                elif child is not None:
                    visit(child)
        visit(self)
        return found

    def _plain_modules(self):
        """Direct nn.Module children that are not layers (their parameters count as weights)."""
        return [m for m in self._modules.values()
                if m is not None and not isinstance(m, (Layer, ModuleList))]

    def _own_weights(self, trainable):
        return [self._weight(i) for i in self._weight_infos if i.trainable == trainable]

    @property
    def weights(self):
        """All weights: this layer's trainable then non-trainable ones, then each sublayer's."""
        seen, out = set(), []
        for w in self._own_weights(True) + self._own_weights(False) + self._plain_weights(None):
            _append_once(out, seen, w)
        for layer in self._sublayers():
            for w in layer.weights:
                _append_once(out, seen, w)
        return out

    @property
    def trainable_weights(self):
        if not self._trainable:
            return []
        seen, out = set(), []
        for w in self._own_weights(True) + self._plain_weights(True):
            _append_once(out, seen, w)
        for layer in self._sublayers():
            for w in layer.trainable_weights:
                _append_once(out, seen, w)
        return out

    @property
    def non_trainable_weights(self):
        if not self._trainable:
            return self.weights
        seen, out = set(), []
        for w in self._own_weights(False) + self._plain_weights(False):
            _append_once(out, seen, w)
        for layer in self._sublayers():
            for w in layer.non_trainable_weights:
                _append_once(out, seen, w)
        return out

    def _plain_weights(self, trainable):
        """Weights of plain nn.Module children: parameters needing a gradient are trainable;
        frozen parameters and buffers are not (trainable=None: all of them)."""
        out = []
        for module in self._plain_modules():
            for param in module.parameters():
                if trainable is None or param.requires_grad == trainable:
                    out.append(param)
            if not trainable:
                out += list(module.buffers())
        return out

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        self.__dict__["_trainable"] = value
        for info in self._weight_infos:
            if info.trainable:
                weight = self._weight(info)
                weight.requires_grad_(value)
                self._register_weight(info.key, weight, value)
        for layer in self._sublayers():
            layer.trainable = value
        for module in self._plain_modules():
            module.requires_grad_(value)

    def get_weights(self):
        """The weights as NumPy arrays (copies), in `weights` order."""
        return [np.array(w.detach().cpu().numpy()) for w in self.weights]

    def set_weights(self, weights):
        """Copy NumPy arrays into the weights, in `weights` order (shapes must match)."""
        targets = self.weights
        weights = list(weights)
        if len(weights) != len(targets):
            raise ValueError(f"Layer '{self.name}' expects {len(targets)} weights, but "
                             f"set_weights received {len(weights)} arrays (shapes "
                             f"{[tuple(np.shape(w)) for w in weights]})")
        arrays = []
        for index, (target, value) in enumerate(zip(targets, weights)):
            value = value.detach().cpu().numpy() if isinstance(value, Tensor) else value
            array = np.asarray(value)
            if tuple(array.shape) != tuple(target.shape):
                raise ValueError(f"Layer '{self.name}' weight {index} has shape "
                                 f"{tuple(target.shape)}, but set_weights received an array of "
                                 f"shape {tuple(array.shape)}")
            arrays.append(array)
        with no_grad():
            for target, array in zip(targets, arrays):
                target.copy_(from_numpy(np.ascontiguousarray(array, dtype=target.dtype.np)))

    def count_params(self):
        if not self.built:
            raise ValueError(f"count_params was called on layer '{self.name}', which is not "
                             f"built yet: call it on data or call layer.build(input_shape) first")
        return int(sum(int(np.prod(w.shape, dtype=np.int64)) for w in self.weights))

    def weight_constraints(self):
        """(weight, constraint) pairs of every trainable weight that has a constraint (the
        optimizer step applies them after each update, as Keras does)."""
        pairs = [(self._weight(i), i.constraint) for i in self._weight_infos
                 if i.constraint is not None and i.trainable]
        for layer in self._sublayers():
            pairs += layer.weight_constraints()
        return pairs

    # ------------------------------------------------------------------ losses

    def add_loss(self, loss):
        """Add a scalar penalty to this layer's `losses` for the current forward pass."""
        self._losses.append(loss)
        _CONTEXT.loss_layers.append(self)

    @property
    def losses(self):
        """Losses added in the last forward pass plus the weight regularization penalties of
        this layer and its sublayers (recomputed on access, so they carry gradients)."""
        out = list(self._losses)
        if self._trainable:
            for info in self._weight_infos:
                if info.regularizer is not None and info.trainable:
                    out.append(info.regularizer(self._weight(info)))
        for layer in self._sublayers():
            out += layer.losses
        return out

    # ------------------------------------------------------------------ dtype, config, misc

    @property
    def dtype(self):
        return self._dtype_name

    @property
    def compute_dtype(self):
        return self._dtype_name

    @property
    def variable_dtype(self):
        return self._dtype_name

    def get_config(self):
        """Keras's base config keys; subclasses add their constructor arguments."""
        return {"name": self.name, "trainable": self.trainable,
                "dtype": {"module": "keras", "class_name": "DTypePolicy",
                          "config": {"name": self._dtype_name}, "registered_name": None}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_build_config(self):
        if self._build_shapes is not None:
            return dict(self._build_shapes)
        return None

    def build_from_config(self, config):
        if config:
            if "input_shape" in config:
                self.build(_tuplify(config["input_shape"]))
            else:
                self.build(**{k: _tuplify(v) for k, v in config.items()})
            self._build_shapes = dict(config)
            self.built = True

    @property
    def input(self):
        return self._node_attribute("input_tensors", "input")

    @property
    def output(self):
        return self._node_attribute("outputs", "output")

    def _node_attribute(self, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has no {what}: it has never been called "
                                 f"on a symbolic input (keras.Input)")
        values = getattr(self._inbound_nodes[0], attr)
        return values[0] if len(values) == 1 else values

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _mask_of(value):
    return getattr(value, "_keras_mask", None) if isinstance(value, Tensor) else None


def _is_tensor_argument(value):
    """A tensor, or a non-empty structure of tensors (and Nones): Keras's tensor arguments."""
    if isinstance(value, (Tensor, KerasTensor)):
        return True
    if isinstance(value, (list, tuple, dict)) and value:
        leaves = flatten(value)
        return (all(leaf is None or isinstance(leaf, (Tensor, KerasTensor)) for leaf in leaves)
                and any(leaf is not None for leaf in leaves))
    return False


def _populate_masks(call_names, args, kwargs):
    """Keras's rule for the mask arguments a call leaves at None: with one tensor argument,
    `mask` gets that argument's `_keras_mask`(s); with several, each `<arg>_mask` gets the mask
    of `<arg>`. Fills `kwargs` in place."""
    bound = dict(zip(call_names, args))
    bound.update(kwargs)
    tensors = [(name, value) for name, value in bound.items() if _is_tensor_argument(value)]
    if len(tensors) == 1:
        targets = [("mask", tensors[0][1])]
    else:
        targets = [(name + "_mask", value) for name, value in tensors]
    for key, value in targets:
        if key not in call_names or bound.get(key) is not None:
            continue
        mask = _mask_of(value) if isinstance(value, Tensor) else map_structure(_mask_of, value)
        if mask is not None and any(m is not None for m in flatten(mask)):
            kwargs[key] = mask


def _append_once(out, seen, weight):
    if weight is not None and id(weight) not in seen:
        seen.add(id(weight))
        out.append(weight)


def map_structure_shapes(shapes, dtype_name):
    """KerasTensors for a nested structure of shape tuples."""
    if isinstance(shapes, tuple) and all(d is None or isinstance(d, (int, np.integer))
                                         for d in shapes):
        return KerasTensor(shapes, dtype_name)
    if isinstance(shapes, (list, tuple)):
        return type(shapes)(map_structure_shapes(s, dtype_name) for s in shapes)
    if isinstance(shapes, dict):
        return {k: map_structure_shapes(s, dtype_name) for k, s in shapes.items()}
    raise ValueError(f"compute_output_shape returned {shapes!r}: expected a shape tuple or a "
                     f"list/dict of them")


def _constraint(identifier):
    """None, a callable(weight) -> weight, or a name/config for `keras_api.constraints`."""
    if identifier is None or callable(identifier):
        return identifier
    try:
        from .. import constraints
    except ImportError:
        raise ValueError(f"constraint {identifier!r} is not callable, and keras_api has no "
                         f"constraints module to look the name up in") from None
    return constraints.get(identifier)


def _tuplify(shape):
    if isinstance(shape, list) and any(isinstance(s, list) for s in shape):
        return [_tuplify(s) for s in shape]
    return tuple(shape) if isinstance(shape, list) else shape
