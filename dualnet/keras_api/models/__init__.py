"""`keras.models`: Model (subclassed or functional), Sequential, and `Model.from_module` for any
nn.Module."""
from .functional import Functional
from .from_module import ModuleModel
from .model import Model
from .sequential import Sequential
from ..saving import load_model

__all__ = ["Functional", "Model", "ModuleModel", "Sequential", "load_model"]
