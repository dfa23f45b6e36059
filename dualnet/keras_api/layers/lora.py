"""Keras 3's LoRA (low-rank adaptation) for the layers built around one big weight: Dense's
kernel and Embedding's embeddings (`lora_rank=` / `enable_lora`), and how such a layer saves."""
import numbers
import warnings

import numpy as np

from ...core.autograd import no_grad
from ...core.creation import from_numpy
from ...core.ops.matmul import ops as _matmul

__all__ = ["LoRA"]

class LoRA:
    """Keras 3's LoRA (low-rank adaptation) for a layer built around one big weight W (Dense's
    kernel, Embedding's embeddings): `enable_lora(rank)` freezes W and adds two trainable
    float32 weights A (rows, rank) and B (rank, cols), B starting at zero, so that the layer uses

        W + (A @ B) * (lora_alpha / rank)

    from then on (read back as `layer.kernel` / `layer.embeddings`, as in Keras).

    Freezing W is Keras's per-variable `trainable = False`: W keeps its place in `weights` (and
    get_weights), leaves `trainable_weights`, `parameters()` and the regularization losses, and
    setting `layer.trainable` again makes it trainable as it does in Keras. Weights files hold W
    with the update folded in and no A, B (see `_saved_variables`).

    A subclass names its (W, A, B) weights in `_lora_names`, calls `_init_lora` in __init__ and
    `_lora_after_build` at the end of build, and keeps W's constraint and regularizer in
    `<W>_constraint` / `<W>_regularizer`.
    """

    _lora_names = ()

    def _init_lora(self, lora_rank, lora_alpha):
        if lora_rank is not None and (not isinstance(lora_rank, numbers.Integral)
                                      or isinstance(lora_rank, bool) or lora_rank < 0):
            raise ValueError(f"{type(self).__name__}: `lora_rank` must be None or a non-negative "
                             f"integer (0 and None mean no LoRA). Received: "
                             f"lora_rank={lora_rank!r}")
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False

    def _lora_after_build(self):
        # As Keras 3.15 does, build enables LoRA without an alpha: the constructor's lora_alpha
        # gives way to lora_rank (so a model built here scales its update as Keras's does)
        if not self.lora_rank:
            return
        if self.lora_alpha != self.lora_rank:
            warnings.warn(f"{type(self).__name__} '{self.name}': lora_alpha={self.lora_alpha} "
                          f"given to the constructor is replaced by lora_rank={self.lora_rank} "
                          f"when the layer builds, as in Keras 3.15; for another alpha, build "
                          f"the layer without lora_rank, then call "
                          f"enable_lora(rank, lora_alpha=...)", stacklevel=3)
        self.enable_lora(self.lora_rank)

    def _stored(self, key):
        """The weight registered under `key` (a parameter, or a buffer once frozen)."""
        weight = self.__dict__["_parameters"].get(key)
        return weight if weight is not None else self.__dict__["_buffers"].get(key)

    def _lora_weights(self):
        """(A, B)."""
        _, a_name, b_name = self._lora_names
        return self._stored(a_name), self._stored(b_name)

    def _lora_delta(self):
        """The scaled update (A @ B) * (lora_alpha / rank)."""
        return _matmul.matmul(*self._lora_weights()) * (self.lora_alpha / self.lora_rank)

    def _lora_base(self, key):
        """The W that `_with_lora` reads (a quantized layer may unpack its stored form)."""
        return self._stored(key)

    def _with_lora(self, key):
        """The weight under `key`, plus the scaled LoRA update once LoRA is enabled."""
        # (a quantized layer may hold W under other names: GPTQ's calibrated quantized_kernel)
        if self._stored(key) is None and not self.__dict__.get("_is_quantized"):
            raise AttributeError(f"{type(self).__name__} '{self.name}': `{key}` exists once the "
                                 f"layer is built")
        base = self._lora_base(key)
        if not self.__dict__.get("lora_enabled"):
            return base
        merged = base + self._lora_delta()
        # Keras casts to the compute dtype: an int8-quantized W gives a float sum
        target = base.dtype if base.dtype.is_floating_point else self._dtype
        return merged if merged.dtype is target else merged.to(target)

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform",
                    b_initializer="zeros"):
        """Freeze the layer's main weight W and learn a rank-`rank` update A @ B in its place:
        the layer then uses W + (A @ B) * (lora_alpha / rank), lora_alpha defaulting to rank.
        Once per layer, after build; not with a constraint on W.

        >>> import dualnet as dn
        >>> from dualnet.keras_api.layers import Dense
        >>> layer = Dense(4)
        >>> _ = layer(dn.ones(2, 3))
        >>> layer.enable_lora(2)
        >>> [tuple(w.shape) for w in layer.trainable_weights]
        [(4,), (3, 2), (2, 4)]
        """
        cls = type(self).__name__
        base_name, a_name, b_name = self._lora_names
        if getattr(self, f"{base_name}_constraint") is not None:
            raise ValueError(f"{cls} '{self.name}': LoRA is incompatible with a constraint on "
                             f"`{base_name}`; remove the `{base_name}_constraint` argument to "
                             f"enable it")
        if not self.built:
            raise ValueError(f"{cls} '{self.name}': cannot enable LoRA on a layer that is not "
                             f"built yet; call it on data or call build(input_shape) first")
        if self.lora_enabled:
            raise ValueError(f"{cls} '{self.name}': LoRA is already enabled (rank "
                             f"{self.lora_rank}); it can be enabled only once per layer")
        if getattr(self, "quantization_mode", None) == "gptq":
            raise NotImplementedError(f"lora is not currently supported with GPTQ quantization "
                                      f"(layer '{self.name}').")
        if not isinstance(rank, numbers.Integral) or isinstance(rank, bool) or rank <= 0:
            raise ValueError(f"{cls} '{self.name}': enable_lora's `rank` must be a positive "
                             f"integer. Received: rank={rank!r}")
        base = self._stored(base_name)
        # W's logical shape: an int4-quantized W is stored packed, two values a byte
        rows, cols = self._lora_base(base_name).shape
        regularizer = getattr(self, f"{base_name}_regularizer")
        # float32 whatever the layer's dtype, as Keras: the update is learned at full precision
        self.add_weight(shape=(rows, rank), name=a_name, initializer=a_initializer,
                        dtype="float32", regularizer=regularizer)
        self.add_weight(shape=(rank, cols), name=b_name, initializer=b_initializer,
                        dtype="float32", regularizer=regularizer)
        base.requires_grad_(False)
        self._register_weight(base_name, base, False)
        self.lora_enabled = True
        self.lora_rank = int(rank)
        self.lora_alpha = lora_alpha if lora_alpha is not None else int(rank)

    # Keras filters on each variable's own `trainable`, which freezing W turned off
    @property
    def trainable_weights(self):
        weights = super().trainable_weights
        return [w for w in weights if w.requires_grad] if self.lora_enabled else weights

    @property
    def non_trainable_weights(self):
        if not self.lora_enabled or not self.trainable:
            return super().non_trainable_weights
        return [w for w in self.weights if not w.requires_grad]

    @property
    def losses(self):
        if not self.lora_enabled:
            return super().losses
        # Keras regularizes trainable weights only: W's penalty stops while it is frozen
        losses = list(self._losses)
        if self.trainable:
            for info in self._weight_infos:
                weight = self._weight(info)
                if info.regularizer is not None and info.trainable and weight.requires_grad:
                    losses.append(info.regularizer(weight))
        return losses

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def _saved_variables(self, for_loading):
        """This layer's entries in a weights file (the saving module's hook), as Keras's
        save_own_variables: once LoRA is on, W with the update folded in, and no A, B. Loading
        one sets W and restarts A and B from zero (Keras's load_own_variables)."""
        weights = self._own_weights(True) + self._own_weights(False)
        if not self.lora_enabled:
            return weights
        base_name = self._lora_names[0]
        base, lora = self._stored(base_name), self._lora_weights()
        if for_loading:
            merged = LoadSlot(base, lora)
        else:
            with no_grad():
                merged = self._with_lora(base_name).detach()
        return [merged if w is base else w for w in weights if all(w is not m for m in lora)]


class LoadSlot:
    """A weight's place in a weights file being loaded: assigning the saved array sets the
    weight, zeroes the LoRA weights given (a saved LoRA layer holds W with the update merged
    in), then runs `after` (a quantized layer marking itself calibrated)."""

    def __init__(self, base, lora=(), after=None):
        self.base, self.lora, self.after = base, lora, after

    @property
    def shape(self):
        return self.base.shape

    def assign(self, array):
        with no_grad():
            self.base.copy_(from_numpy(np.ascontiguousarray(array, dtype=self.base.dtype.np)))
            for weight in self.lora:
                weight.zero_()
        if self.after is not None:
            self.after()
