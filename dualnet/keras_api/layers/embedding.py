"""Keras's Embedding layer: rows of an `embeddings` weight (input_dim, output_dim), initialised
uniform(-0.05, 0.05), looked up by integer indices through the core embedding op; LoRA as in
Keras 3 (`lora_rank=` / `enable_lora`, shared with Dense in `lora.LoRA`)."""
import numbers

from ...core.dtypes import int64
from ...nn import functional as F
from .. import initializers, regularizers
from .core import _serialized
from .lora import LoRA
from . import quantization
from .layer import Layer

__all__ = ["Embedding"]


class Embedding(quantization.Quantizable, LoRA, Layer):
    """Turns indices into dense vectors: output shape = input shape + (output_dim,).

    mask_zero=True makes index 0 padding: `compute_mask(inputs)` is `inputs != 0`, which an RNN
    takes as its `mask=` argument (input_dim must then count the 0). `lora_rank=r` (or
    `enable_lora(r)` once built) freezes the table W and learns W + (A @ B) * (lora_alpha / r),
    A (input_dim, r), B (r, output_dim).

    >>> import dualnet as dn
    >>> Embedding(10, 3)(dn.tensor([[1, 2, 0]])).shape
    dualnet.Size([1, 3, 3])
    >>> lora = Embedding(10, 3, lora_rank=2)
    >>> lora.build()
    >>> [tuple(w.shape) for w in lora.trainable_weights]
    [(10, 2), (2, 3)]

    `quantize("int8")` stores the table as int8 plus a per-row `embeddings_scale`.
    """

    _lora_names = ("embeddings", "lora_embeddings_a", "lora_embeddings_b")
    _quant_names = ("embeddings", "embeddings_scale")
    _quant_axis = -1  # one scale per row (input_dim is usually the larger side, as Keras says)
    _quant_kind = "embedding"

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 **kwargs):
        # Keras's `input_length` of older versions is accepted and ignored, as Keras 3 does
        kwargs.pop("input_length", None)
        kwargs["dtype"], policy = quantization.split_policy(kwargs.get("dtype"))
        super().__init__(**kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding: {arg} must be a positive integer, got "
                                 f"{arg}={value!r}")
        self._init_quantization(policy, quantization_config)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = embeddings_constraint
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self._init_lora(lora_rank, lora_alpha)
        if weights is not None and not (isinstance(weights, list) and len(weights) == 1):
            weights = [weights]  # Keras takes the table alone or as a one-item list
        self._initial_weights = weights

    @property
    def embeddings(self):
        """The (input_dim, output_dim) table in use: the stored weight, plus the LoRA update once
        enabled (then a computed tensor, as Keras's `embeddings`)."""
        return self._with_lora("embeddings")

    def build(self, input_shape=None):
        if self.built:
            return
        # keyed "embeddings_1" by add_weight (the class has an `embeddings` property), renamed
        # "embeddings" by the assignment
        if self.quantization_mode:
            self._build_quantized((self.input_dim, self.output_dim))
        else:
            self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                              name="embeddings",
                                              initializer=self.embeddings_initializer,
                                              regularizer=self.embeddings_regularizer,
                                              constraint=self.embeddings_constraint)
        self.built = True
        self._lora_after_build()
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs):
        if self.__dict__["_is_quantized"]:
            return self.quantized_call(inputs)
        if not inputs.dtype.is_floating_point and inputs.dtype.name != "bool":
            indices = inputs
        else:
            indices = inputs.to(int64)  # Keras casts non-integer indices to int
        return F.embedding(indices, self.embeddings)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return inputs != 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": _serialized(initializers, self.embeddings_initializer),
            "embeddings_regularizer": _serialized(regularizers, self.embeddings_regularizer),
            "activity_regularizer": _serialized(regularizers, self.activity_regularizer),
            "embeddings_constraint": self.embeddings_constraint,
            "mask_zero": self.mask_zero,
        })
        self._quantization_config_entries(config)
        if self.lora_rank:
            config.update({"lora_rank": self.lora_rank, "lora_alpha": self.lora_alpha})
        return config
