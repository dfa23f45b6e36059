"""`keras.layers`: Keras's layers by their Keras names, one file per kind; each file's `__all__`
is exported. `Layer` and `InputSpec` are the base every layer (and model) builds on."""
# One `from .<file> import *` line per file, each added by the file's owner once it imports.
from .layer import *  # noqa: F401,F403
from .input_layer import *  # noqa: F401,F403
from .core import *  # noqa: F401,F403
from .convolutional import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .merging import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .rnn_cells import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403

# Every public class imported above (each file's __all__ decides what that is).
__all__ = sorted([name for name, obj in globals().items()
                  if isinstance(obj, type) and not name.startswith("_")] + ["Input"])
