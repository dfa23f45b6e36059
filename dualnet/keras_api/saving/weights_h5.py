"""`save_weights` / `load_weights` in Keras 3's `.weights.h5` layout, so files move both ways
between dualnet and real Keras.

The layout (what Keras 3.15's saving library writes): every saveable object gets a group
``<path>/vars`` with an attribute ``name`` (its ``.name``) holding datasets ``"0"``, ``"1"``, ...
- its own variables, trainable ones first, then non-trainable ones, each in creation order. The
model itself is at the root (``vars``). A Sequential or functional model's layers sit under
``layers/<snake_case class name>``, numbered ``_1``, ``_2`` ... among equals in `model.layers`
order (never under the layers' names, which are not reproducible); a nested model repeats the
scheme under its own path; a layer's sub-layers sit under their attribute names, private
(``_``) ones last. The compiled optimizer's variables (iterations, learning rate, then its slots
in Keras's order) are under ``optimizer/vars``. An object already written is not written again
(shared layers). h5py is needed only here, and imported on first use.
"""
import os
import re
import tempfile
import warnings

import numpy as np

from ...core.autograd import no_grad
from ...core.creation import from_numpy
from ...core.tensor import Tensor
from ...nn.modules.module import Module
from .optimizer_state import optimizer_slots

__all__ = ["load_weights", "save_weights", "weight_entries"]

WEIGHTS_SUFFIX = ".weights.h5"


def import_h5py():
    """h5py, or an ImportError that says how to install it."""
    try:
        import h5py
    except ImportError as err:
        raise ImportError("Keras weight files (.weights.h5 and the weights inside .keras) need "
                          "h5py: pip install h5py") from err
    return h5py


def snake_case(class_name):
    """A class name as Keras names its saving groups: ``BatchNormalization`` ->
    ``batch_normalization``, ``Conv2D`` -> ``conv2d``, ``RMSprop`` -> ``rm_sprop``."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


# ----------------------------------------------------------------------------- the walk

def _is_graph_model(obj):
    """Sequential and functional models list their layers under ``layers`` (Keras's
    "Sequential"/"Functional" object types); other layers and subclassed models are walked
    by attribute."""
    names = {klass.__name__ for klass in type(obj).__mro__}
    if "Sequential" in names or "Functional" in names:
        return True
    return "Model" in names and getattr(obj, "_is_functional", False)


def _own_variables(obj, for_loading):
    """The object's own variables in Keras's saving order: those created trainable first, then
    those created non-trainable, each in creation order (for a plain nn.Module: parameters,
    then persistent buffers). A layer whose file entries are not its weights says so through
    `_saved_variables(for_loading)` (a LoRA layer saves its merged kernel, as Keras does)."""
    if "_weight_infos" in getattr(obj, "__dict__", {}):  # a keras_api Layer: creation flags
        saved = getattr(type(obj), "_saved_variables", None)
        if saved is not None:
            return saved(obj, for_loading)
        return obj._own_weights(True) + obj._own_weights(False)
    if isinstance(obj, Module):
        params = [p for p in obj._parameters.values() if p is not None]
        skip = obj._non_persistent_buffers_set
        buffers = [b for key, b in obj._buffers.items() if b is not None and key not in skip]
        return params + buffers
    return optimizer_slots(obj, for_loading=for_loading)


def _children(obj):
    """(attribute, child) pairs to visit after the object's own variables, as Keras orders them."""
    if _is_graph_model(obj):
        yield "layers", list(obj.layers)
        optimizer = getattr(obj, "optimizer", None)
        if optimizer is not None:
            yield "optimizer", optimizer
        return
    modules = obj._modules if isinstance(obj, Module) else {}
    attrs = dict(modules)
    optimizer = obj.__dict__.get("optimizer") if isinstance(obj, Module) else None
    if optimizer is not None and not isinstance(optimizer, Module):
        attrs["optimizer"] = optimizer
    for attr in sorted(attrs, key=lambda key: "~" + key if key.startswith("_") else key):
        child = attrs[attr]
        if child is None:
            continue
        if _is_container(child):
            yield attr, list(child.values() if hasattr(child, "values") else child)
        else:
            yield attr, child


def _is_container(obj):
    return type(obj).__name__ in ("ModuleList", "ModuleDict", "list", "tuple", "dict") and \
        not hasattr(obj, "name")


def _join(path, name):
    return f"{path}/{name}" if path else name


def weight_entries(model, for_loading=False):
    """The saveable objects of ``model`` as ``(path, name, variables)`` triples in Keras's layout
    (``name`` None when the object has none; variables a list of Tensors, or of optimizer slots
    with ``shape``/``numpy()``/``assign``). ``for_loading`` gives a built optimizer that has not
    stepped yet its zero state, to be filled from a file."""
    entries, visited = [], set()

    def visit(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        name = getattr(obj, "name", None)
        entries.append((path, name if isinstance(name, str) else None,
                        _own_variables(obj, for_loading)))
        for attr, child in _children(obj):
            if isinstance(child, list):
                visit_container(child, _join(path, attr))
            else:
                visit(child, _join(path, attr))

    def visit_container(items, path):
        used = {}
        for item in items:
            base = "container" if isinstance(item, (list, tuple)) else snake_case(type(item).__name__)
            count = used.get(base)
            used[base] = 0 if count is None else count + 1
            key = base if count is None else f"{base}_{count + 1}"
            if isinstance(item, (list, tuple)):
                visit_container(list(item), _join(path, key))
            elif isinstance(item, Module) or hasattr(item, "variables"):
                visit(item, _join(path, key))

    visit(model, "")
    return entries


# ----------------------------------------------------------------------------- writing

def _as_array(variable):
    if isinstance(variable, Tensor):
        return variable.detach().cpu().numpy()
    if hasattr(variable, "numpy"):
        return np.asarray(variable.numpy())
    return np.asarray(variable)


def write_entries(h5file, model):
    """Write every saveable of ``model`` into the open h5py file (or group) ``h5file``."""
    for path, name, variables in weight_entries(model):
        if name is None and not variables:
            continue  # Keras creates a group only for a named object or one with variables
        group = h5file.create_group(_join(path, "vars"))
        if name is not None:
            group.attrs["name"] = name
        for index, variable in enumerate(variables):
            group.create_dataset(str(index), data=_as_array(variable))


def _confirm_overwrite(filepath):
    answer = input(f"[WARNING] {filepath} already exists - overwrite? [y/n] ").strip().lower()
    while answer not in ("y", "n"):
        answer = input('Enter "y" (overwrite) or "n" (cancel): ').strip().lower()
    return answer == "y"


def atomic_write(filepath, write):
    """Call ``write(temp_path)`` then move the finished file onto ``filepath``: the temporary
    file lives in the same folder (so `os.replace` is atomic), and a failure midway removes it,
    leaving any earlier file at ``filepath`` untouched."""
    folder = os.path.dirname(os.path.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    handle, temp_path = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(filepath)}.",
                                         suffix=".tmp")
    os.close(handle)
    try:
        write(temp_path)
        os.replace(temp_path, filepath)
    except BaseException:
        try:
            os.unlink(temp_path)
        except FileNotFoundError:
            pass
        raise


def save_weights(model, filepath, overwrite=True):
    """Write ``model``'s weights (and its compiled optimizer's variables) to ``filepath``, which
    must end in ``.weights.h5``, in Keras 3's layout. The file appears whole or not at all."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"save_weights: the file name must end in `{WEIGHTS_SUFFIX}`, "
                         f"got filepath={filepath!r}")
    h5py = import_h5py()
    if not overwrite and os.path.exists(filepath) and not _confirm_overwrite(filepath):
        return

    def write(temp_path):
        with h5py.File(temp_path, "w") as h5file:
            write_entries(h5file, model)

    atomic_write(filepath, write)


# ----------------------------------------------------------------------------- reading

def _describe(path, name):
    if path.split("/")[-1] == "optimizer":
        return f"optimizer '{name}'"
    return f"layer '{name}'" if name else f"object at '{path or '/'}'"


def _assign(variable, array):
    if isinstance(variable, Tensor):
        with no_grad():
            variable.copy_(from_numpy(np.ascontiguousarray(array)))
    else:
        variable.assign(array)


def read_entries(h5file, model, skip_mismatch=False, source="the file"):
    """Load every saveable of ``model`` from the open h5py file (or group) ``h5file``: all
    arrays are read and checked first, then assigned, so a bad file changes nothing.
    ``source`` names the file in messages."""
    assignments, used = [], set()
    for path, name, variables in weight_entries(model, for_loading=True):
        key = _join(path, "vars")
        used.add(key)
        group = h5file[key] if key in h5file else {}
        count = len(group.keys())
        is_optimizer = path.split("/")[-1] == "optimizer"
        what = _describe(path, name)
        if count != len(variables):
            if is_optimizer:
                # Keras's rule: an optimizer that is not built yet (or differs) is skipped.
                warnings.warn(f"load_weights: skipping the variables of {what}: it has "
                              f"{len(variables)} variables, the file holds {count}"
                              + (" (it is built by the first training step)" if not variables
                                 else ""), stacklevel=3)
                continue
            message = (f"load_weights: {what} expects {len(variables)} variables, but "
                       f"{source} holds {count} at '{key}'")
            if not variables:
                message += ("; the layer has no weights yet: build the model first (call it on "
                            "a batch, or give it an Input)")
            if skip_mismatch:
                warnings.warn(message + "; skipped", stacklevel=3)
                continue
            raise ValueError(message)
        for index, variable in enumerate(variables):
            if str(index) not in group:
                raise ValueError(f"load_weights: {what}: {source} has no variable '{index}' at "
                                 f"'{key}' (it holds {sorted(group.keys())})")
            array = np.asarray(group[str(index)])
            expected = tuple(variable.shape)
            if array.shape != expected:
                message = (f"load_weights: {what}, variable {index}: {source} holds shape "
                           f"{array.shape} at '{key}/{index}', the model's variable has shape "
                           f"{expected}")
                if skip_mismatch:
                    warnings.warn(message + "; skipped", stacklevel=3)
                    break
                raise ValueError(message)
        else:
            assignments.extend((variable, np.asarray(group[str(index)]))
                               for index, variable in enumerate(variables))
    unused = [key for key in _vars_groups(h5file) if key not in used
              and not key.startswith("optimizer/")]
    if unused:  # Keras ignores them silently; a port that lost a layer should hear of it
        warnings.warn(f"load_weights: {source} holds weights the model has no place for, "
                      f"ignored: {', '.join(unused)}", stacklevel=3)
    for variable, array in assignments:
        _assign(variable, array)


def _vars_groups(h5file):
    """Paths of the ``vars`` groups holding datasets in the file, as ``weight_entries`` keys."""
    found = []

    def visit(name, item):
        if name.split("/")[-1] == "vars" and hasattr(item, "keys") and len(item.keys()):
            found.append(name)
    h5file.visititems(visit)
    return found


def load_weights(model, filepath, skip_mismatch=False):
    """Load a ``.weights.h5`` file (written by dualnet or by Keras 3) into ``model``, whose
    layers must be built. Optimizer variables in the file are loaded when the model's optimizer
    has the same number of them (else skipped with a warning, as Keras does)."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"load_weights: the file name must end in `{WEIGHTS_SUFFIX}`, "
                         f"got filepath={filepath!r}")
    h5py = import_h5py()
    try:
        h5file = h5py.File(filepath, "r")
    except OSError as err:
        raise OSError(f"load_weights: can't read {filepath!r} as a Keras weights file (HDF5): "
                      f"{err}") from None
    with h5file:
        read_entries(h5file, model, skip_mismatch=skip_mismatch, source=repr(filepath))
