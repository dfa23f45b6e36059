"""`keras.saving`: weights in Keras 3's `.weights.h5` layout and whole models as `.keras` zips,
readable by real Keras and from files it wrote (h5py is needed, imported on first use)."""
from .model_io import load_model, save_model
from .weights_h5 import load_weights, save_weights

__all__ = ["load_model", "load_weights", "save_model", "save_weights"]
