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


def get(identifier, kind, base, functions, classes, deserialize, aliases=None, valid=None):
    """Keras's `get()` of losses and metrics: None or a `base` instance as is, a config dict
    deserialized, a string as a function name, a class name (instantiated with defaults) or an
    alias (`aliases`: name -> class instantiated with that name), a callable as is. An unknown
    string is a ValueError listing the `valid` names."""
    if identifier is None or isinstance(identifier, base):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in functions:
            return functions[identifier]
        if identifier in classes:
            return classes[identifier]()
        if aliases and identifier in aliases:
            return aliases[identifier](name=identifier)
        names = valid if valid is not None else sorted(set(functions) | set(classes))
        raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}; valid names "
                         f"are {', '.join(names)}")
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}")
