"""Layer configs in Keras 3's structure ({"module", "class_name", "config", "registered_name",
"build_config"}) and back: what Sequential and Functional configs are made of."""
import inspect

__all__ = ["serialize_layer", "deserialize_layer"]


def _module_of(cls):
    from .. import layers as layers_module
    from .functional import Functional
    from .model import Model
    from .sequential import Sequential
    from ..ops import Operation
    if issubclass(cls, Operation):
        return cls._keras_module, cls.__name__
    if getattr(layers_module, cls.__name__, None) is cls:
        return "keras.layers", None
    if cls is Functional:  # Keras files it under its own module (Model / Sequential: "keras")
        return "keras.src.models.functional", "Functional"
    if cls in (Model, Sequential):
        return "keras", None
    return cls.__module__, cls.__name__


def serialize_layer(layer):
    """`{"module", "class_name", "config", "registered_name"[, "build_config"]}` of a layer."""
    from ..layers.input_layer import InputLayer
    module, registered = _module_of(type(layer))
    entry = {"module": module, "class_name": type(layer).__name__,
             "config": layer.get_config(), "registered_name": registered}
    if layer.built and not isinstance(layer, InputLayer):
        build_config = layer.get_build_config()
        if build_config:
            entry["build_config"] = build_config
    return entry


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def _lookup(class_name, registered_name, custom_objects):
    from .. import layers as layers_module
    from ..layers.layer import Layer
    from .functional import Functional
    from .model import Model
    from .sequential import Sequential
    custom_objects = custom_objects or {}
    for key in (registered_name, class_name):
        if key and key in custom_objects:
            return custom_objects[key]
    builtin = {"Model": Model, "Sequential": Sequential, "Functional": Functional}
    if class_name in builtin:
        return builtin[class_name]
    found = getattr(layers_module, class_name, None)
    if isinstance(found, type) and issubclass(found, Layer):
        return found
    # a user's Layer subclass that has been imported (Keras would need it registered)
    matches = [cls for cls in _all_subclasses(Layer) if cls.__name__ == class_name]
    if matches:
        return matches[-1]
    known = sorted(name for name in getattr(layers_module, "__all__", []))
    raise ValueError(f"Unknown layer class '{class_name}': pass it in custom_objects, or use one "
                     f"of the built-in layers {known}")


def deserialize_layer(entry, custom_objects=None):
    """The layer an entry of `serialize_layer` describes, built again when it was built."""
    if str(entry.get("module", "")).startswith("keras.src.ops"):
        from ..ops import OPERATIONS  # an operation node of KerasTensor arithmetic
        if entry["class_name"] not in OPERATIONS:
            raise ValueError(f"Unknown operation '{entry['class_name']}' (module "
                             f"{entry['module']}); dualnet knows {sorted(OPERATIONS)}")
        return OPERATIONS[entry["class_name"]].from_config(dict(entry.get("config", {})))
    cls = _lookup(entry["class_name"], entry.get("registered_name"), custom_objects)
    config = dict(entry.get("config", {}))
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        layer = cls.from_config(config, custom_objects=custom_objects)
    else:
        layer = cls.from_config(config)
    build_config = entry.get("build_config")
    if build_config and not layer.built:
        layer.build_from_config(build_config)
    return layer
