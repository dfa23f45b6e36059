"""Keras's config dicts of its pluggable objects (initializers, regularizers, losses, metrics):
one serializer and one deserializer, each module handing in its own name table."""


def serialize(obj, module=None):
    """{'module', 'class_name', 'config', 'registered_name'} as Keras 3 writes them (the module
    and registered name only where `module` is given, as Keras writes them for that kind)."""
    if module is None:
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    return {"module": module, "class_name": type(obj).__name__, "config": obj.get_config(),
            "registered_name": None}


def deserialize(config, kind, classes, get, custom_objects=None):
    """The object a config dict (or a name, through `get`) describes; `classes` maps the valid
    class names; an unknown one is a ValueError listing them."""
    if isinstance(config, str):
        return get(config)
    name = config.get("class_name")
    arguments = config.get("config", {})
    if custom_objects and name in custom_objects:
        return custom_objects[name](**arguments)
    if name not in classes:
        raise ValueError(f"Unknown {kind} {name!r}; the valid names are: "
                         f"{', '.join(sorted(classes))}")
    return classes[name].from_config(arguments)
