"""Keras's merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum (elementwise over a
list of inputs, broadcasting as Keras does) and Concatenate, over dualnet's core ops.
"""
from ...core.creation import ones_like, zeros_like
from ...core.dtypes import bool_
from ...core.ops.elementwise.ops import maximum, minimum
from ...core.ops.shape.ops import cat
from .layer import Layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]


def _shape_list(layer, input_shape, minimum_count=1):
    """The list of input shapes a merge layer was given, or Keras's ValueError."""
    if (not isinstance(input_shape, (list, tuple)) or not input_shape
            or not all(isinstance(s, (list, tuple)) for s in input_shape)):
        raise ValueError(f'A merge layer ("{layer.name}", {type(layer).__name__}) should be '
                         f"called on a list of inputs. Received: input_shape={input_shape}")
    if len(input_shape) < minimum_count:
        raise ValueError(f'A merge layer ("{layer.name}", {type(layer).__name__}) should be '
                         f"called on a list of at least {minimum_count} inputs. Received "
                         f"{len(input_shape)} inputs: {list(input_shape)}")
    return [tuple(s) for s in input_shape]


def _broadcast(layer, shape1, shape2):
    """Keras's elementwise output shape of two (batch-less) shapes: the shorter one aligned
    to the end; dims must agree unless one is 1 (None stays None)."""
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    out = list(shape1[:len(shape1) - len(shape2)])
    for a, b in zip(shape1[len(shape1) - len(shape2):], shape2):
        if a is None or b is None:
            out.append(None)
        elif a == 1 or b == 1:
            out.append(b if a == 1 else a)
        elif a != b:
            raise ValueError(f'Layer "{layer.name}" ({type(layer).__name__}): inputs have '
                             f"incompatible shapes. Received shapes {shape1} and {shape2}")
        else:
            out.append(a)
    return tuple(out)


class _Merge(Layer):
    """Elementwise merge of a list of inputs; inputs of lower rank get unit dims inserted after
    the batch dim (Keras's rule), then shapes broadcast."""

    _min_inputs = 1
    _max_inputs = None

    def _output_shape(self, input_shape):
        shapes = _shape_list(self, input_shape, self._min_inputs)
        if self._max_inputs is not None and len(shapes) > self._max_inputs:
            raise ValueError(f'A {type(self).__name__} layer ("{self.name}") should be called on '
                             f"exactly {self._max_inputs} inputs. Received: "
                             f"input_shape={shapes}")
        batches = {s[0] for s in shapes if s} - {None}
        if len(batches) > 1:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}): cannot merge tensors '
                             f"with different batch sizes. Received tensors with shapes {shapes}")
        out = shapes[0][1:]
        for shape in shapes[1:]:
            out = _broadcast(self, out, shape[1:])
        batch = next(iter(batches)) if batches else None
        return (batch,) + tuple(out)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, input_shape):
        self._output_shape(input_shape)
        self.built = True

    def compute_mask(self, inputs, mask=None):
        """Keras's rule: the OR of the inputs' masks, None when any input has none."""
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) or len(
                mask) != len(inputs):
            raise ValueError(f'Layer "{self.name}": `mask` should be a list with one entry per '
                             f"input. Received: mask={mask}")
        if any(m is None for m in mask):
            return None
        output_mask = mask[0]
        for m in mask[1:]:
            output_mask = output_mask | m
        return output_mask

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f'A merge layer ("{self.name}", {type(self).__name__}) should be '
                             f"called on a list of inputs. Received: inputs of shape "
                             f"{tuple(getattr(inputs, 'shape', ()))} (not a list of tensors)")
        self._output_shape([tuple(x.shape) for x in inputs])
        rank = max(x.ndim for x in inputs)
        aligned = []
        for x in inputs:
            for _ in range(rank - x.ndim):
                x = x.unsqueeze(1)
            aligned.append(x)
        return self._merge(aligned)

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape)


class Add(_Merge):
    """Elementwise sum of a list of inputs.

    >>> import dualnet as dn
    >>> Add()([dn.ones(1, 2), dn.ones(1, 2)]).tolist()
    [[2.0, 2.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(_Merge):
    """inputs[0] - inputs[1] (exactly two inputs).

    >>> import dualnet as dn
    >>> Subtract()([dn.ones(1, 2), dn.ones(1, 2)]).tolist()
    [[0.0, 0.0]]
    """

    _min_inputs = _max_inputs = 2

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """Elementwise product of a list of inputs.

    >>> import dualnet as dn
    >>> Multiply()([dn.full((1, 2), 3.0), dn.full((1, 2), 2.0)]).tolist()
    [[6.0, 6.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Average(_Merge):
    """Elementwise mean of a list of inputs.

    >>> import dualnet as dn
    >>> Average()([dn.ones(1, 2), dn.full((1, 2), 3.0)]).tolist()
    [[2.0, 2.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


class Maximum(_Merge):
    """Elementwise maximum of a list of inputs.

    >>> import dualnet as dn
    >>> Maximum()([dn.tensor([[1.0, 5.0]]), dn.tensor([[3.0, 2.0]])]).tolist()
    [[3.0, 5.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = maximum(out, x)
        return out


class Minimum(_Merge):
    """Elementwise minimum of a list of inputs.

    >>> import dualnet as dn
    >>> Minimum()([dn.tensor([[1.0, 5.0]]), dn.tensor([[3.0, 2.0]])]).tolist()
    [[1.0, 2.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = minimum(out, x)
        return out


class Concatenate(Layer):
    """Concatenates a list of inputs along `axis` (default the last); every other dim must
    match.

    >>> import dualnet as dn
    >>> Concatenate()([dn.ones(2, 3), dn.zeros(2, 1)]).shape
    dualnet.Size([2, 4])
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        """Keras's rule: each input's mask (all True where it has none) widened to the input's
        rank, concatenated along `axis`, then any() over the last axis."""
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) or len(
                mask) != len(inputs):
            raise ValueError(f'Layer "{self.name}": `mask` should be a list with one entry per '
                             f"input. Received: mask={mask}")
        if all(m is None for m in mask):
            return None
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                m = ones_like(x, dtype=bool_)
            elif m.ndim < x.ndim:
                m = m.unsqueeze(-1) | zeros_like(x, dtype=bool_)
            masks.append(m)
        return cat(masks, self.axis).any(-1)

    def _output_shape(self, input_shape):
        shapes = _shape_list(self, input_shape)
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes) or not -rank <= self.axis < rank:
            raise ValueError(f'A Concatenate layer ("{self.name}") requires inputs of the same '
                             f"rank with axis={self.axis} inside it. Received: "
                             f"input_shape={shapes}")
        axis = self.axis % rank
        out = list(shapes[0])
        for shape in shapes[1:]:
            for dim in range(rank):
                if dim == axis:
                    out[dim] = None if out[dim] is None or shape[dim] is None \
                        else out[dim] + shape[dim]
                elif out[dim] is None:
                    out[dim] = shape[dim]
                elif shape[dim] is not None and shape[dim] != out[dim]:
                    raise ValueError(f'A Concatenate layer ("{self.name}") requires inputs with '
                                     f"matching shapes except for the concatenation axis "
                                     f"{self.axis}. Received: input_shape={shapes}")
        return tuple(out)

    def build(self, input_shape):
        self._output_shape(input_shape)
        self.built = True

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f'A Concatenate layer ("{self.name}") should be called on a list '
                             f"of inputs. Received: inputs of shape "
                             f"{tuple(getattr(inputs, 'shape', ()))}")
        self._output_shape([tuple(x.shape) for x in inputs])
        return cat(list(inputs), self.axis)

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
