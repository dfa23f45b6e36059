"""`model.save("m.keras")` and `load_model`: Keras 3's `.keras` zip - `metadata.json`,
`config.json` (the model's architecture from `get_config`, plus its build and compile configs)
and `model.weights.h5` (the `.weights.h5` layout, optimizer state included). Loading rebuilds
the model from its config through the classes' `from_config`: no code is pickled or run from
the file.
"""
import datetime
import io
import json
import os
import zipfile

from .weights_h5 import atomic_write, import_h5py, read_entries, write_entries

__all__ = ["load_model", "save_model", "serialize_model"]

CONFIG_NAME = "config.json"
METADATA_NAME = "metadata.json"
WEIGHTS_NAME = "model.weights.h5"
# The version written in metadata.json: the Keras release whose format this follows.
KERAS_FORMAT_VERSION = "3.15.1"


def serialize_model(model):
    """The dict Keras writes to config.json for ``model``: module, class name, config, build
    config and, once compiled, the compile config."""
    from ..models.serialization import serialize_layer
    serialized = serialize_layer(model)
    compile_config = _compile_config(model)
    if compile_config is not None:
        serialized["compile_config"] = compile_config
    return serialized


def _serialize_specs(specs, serialize):
    if specs is None or isinstance(specs, str) or callable(specs) and not isinstance(specs, type):
        return None if specs is None else serialize(specs)
    if isinstance(specs, dict):
        return {key: _serialize_specs(value, serialize) for key, value in specs.items()}
    return [_serialize_specs(value, serialize) for value in specs]


def _compile_config(model):
    """Keras's compile_config: the optimizer, loss and metrics that `compile` was given."""
    if hasattr(model, "get_compile_config"):
        return model.get_compile_config()
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        return None
    from .. import losses, metrics, optimizers
    optimizer = {"module": "keras.optimizers", **optimizers.serialize(model.optimizer),
                 "registered_name": None}
    return {"optimizer": optimizer,
            "loss": _serialize_specs(model.loss, losses.serialize),
            "loss_weights": getattr(model, "loss_weights", None),
            "metrics": _serialize_specs(getattr(model, "_metric_specs", None),
                                        metrics.serialize),
            "weighted_metrics": _serialize_specs(getattr(model, "_weighted_metric_specs", None),
                                                 metrics.serialize),
            "run_eagerly": getattr(model, "run_eagerly", False),
            "steps_per_execution": getattr(model, "steps_per_execution", 1),
            "jit_compile": False}


def _deserialize_specs(specs, deserialize):
    if specs is None or isinstance(specs, str):
        return specs  # compile resolves names itself ('accuracy' depends on the labels)
    if isinstance(specs, dict) and "class_name" in specs:
        return deserialize(specs)
    if isinstance(specs, dict):
        return {key: _deserialize_specs(value, deserialize) for key, value in specs.items()}
    return [_deserialize_specs(value, deserialize) for value in specs]


def _compile_from_config(model, config):
    """`model.compile(...)` with what a compile_config holds."""
    if hasattr(model, "compile_from_config"):
        model.compile_from_config(config)
        return
    from .. import losses, metrics, optimizers
    optimizer = config.get("optimizer") or "rmsprop"
    if isinstance(optimizer, dict):
        optimizer = optimizers.deserialize(optimizer)
    model.compile(optimizer=optimizer,
                  loss=_deserialize_specs(config.get("loss"), losses.deserialize),
                  loss_weights=config.get("loss_weights"),
                  metrics=_deserialize_specs(config.get("metrics"), metrics.deserialize),
                  weighted_metrics=_deserialize_specs(config.get("weighted_metrics"),
                                                      metrics.deserialize))


def save_model(model, filepath, overwrite=True):
    """Write ``model`` to ``filepath`` (must end in ``.keras``) as Keras 3's zip; the file
    appears whole or not at all."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError(f"save: the file name must end in `.keras` (the Keras 3 model format; "
                         f"use save_weights for `.weights.h5`), got filepath={filepath!r}")
    h5py = import_h5py()
    if not overwrite and os.path.exists(filepath):
        from .weights_h5 import _confirm_overwrite
        if not _confirm_overwrite(filepath):
            return
    config_json = json.dumps(serialize_model(model), default=_json_default)
    metadata_json = json.dumps({
        "keras_version": KERAS_FORMAT_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    weights = io.BytesIO()
    with h5py.File(weights, "w") as h5file:
        write_entries(h5file, model)

    def write(temp_path):
        with zipfile.ZipFile(temp_path, "w") as archive:
            archive.writestr(METADATA_NAME, metadata_json)
            archive.writestr(CONFIG_NAME, config_json)
            archive.writestr(WEIGHTS_NAME, weights.getvalue())

    atomic_write(filepath, write)


def _json_default(value):
    """NumPy scalars and tuples inside configs, written as plain JSON values."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "get_config"):
        return {"class_name": type(value).__name__, "config": value.get_config()}
    raise TypeError(f"save: cannot write {value!r} (a {type(value).__name__}) into config.json")


def deserialize_model(serialized, custom_objects=None):
    """Rebuild (and build) the model a config.json dict describes: its class from
    dualnet.keras_api's models and layers, or from ``custom_objects``."""
    from ..models.serialization import deserialize_layer
    return deserialize_layer(serialized, custom_objects)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a ``.keras`` file written by `model.save` (dualnet's or Keras 3's, for the layers
    dualnet has): architecture, weights, and - with ``compile`` - the compile settings and the
    optimizer's state. ``safe_mode`` is accepted for Keras's signature; nothing in the file is
    ever executed as code."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError(f"load_model: the file name must end in `.keras`, got {filepath!r}")
    h5py = import_h5py()
    try:
        with zipfile.ZipFile(filepath, "r") as archive:
            names = set(archive.namelist())
            missing = {CONFIG_NAME, WEIGHTS_NAME} - names
            if missing:
                raise ValueError(f"load_model: {filepath} is not a Keras 3 model file: it lacks "
                                 f"{', '.join(sorted(missing))}")
            serialized = json.loads(archive.read(CONFIG_NAME))
            weights = io.BytesIO(archive.read(WEIGHTS_NAME))
    except (zipfile.BadZipFile, EOFError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"load_model: {filepath!r} is not a readable .keras file (truncated or "
                         f"corrupt: {type(err).__name__}: {err})") from None
    model = deserialize_model(serialized, custom_objects)
    compile_config = serialized.get("compile_config")
    if compile and compile_config and hasattr(model, "compile"):
        _compile_from_config(model, compile_config)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and not getattr(optimizer, "built", True):
            # Keras builds the optimizer on load so that its saved state has a place to go.
            optimizer.build(model.trainable_weights)
    try:
        h5file = h5py.File(weights, "r")
    except OSError as err:
        raise ValueError(f"load_model: the {WEIGHTS_NAME} inside {filepath!r} is not readable "
                         f"HDF5 ({err})") from None
    with h5file:
        read_entries(h5file, model, source=f"{filepath!r} ({WEIGHTS_NAME})")
    return model
