"""`dualnet.onnx`: export a `dualnet.nn` or keras_api model to an ONNX file.

    import dualnet.onnx
    dualnet.onnx.export(model, example_input, "model.onnx")

The `onnx` package is an optional dependency (`pip install onnx`), imported only by `export`.
"""
from .export import DEFAULT_OPSET, export, supported_layers
from .graph import ExportError

__all__ = ["export", "supported_layers", "DEFAULT_OPSET", "ExportError"]
