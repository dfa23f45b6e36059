"""`keras.callbacks`: the Callback base, CallbackList, History, ProgbarLogger and the other
callbacks of Keras 3 (each helper adds one import line per file it owns)."""
from .callback import *  # noqa: F401,F403
from .history import *  # noqa: F401,F403
from .progbar_logger import *  # noqa: F401,F403
from .csv_logger import *  # noqa: F401,F403
from .early_stopping import *  # noqa: F401,F403
from .lambda_callback import *  # noqa: F401,F403
from .learning_rate_scheduler import *  # noqa: F401,F403
from .model_checkpoint import *  # noqa: F401,F403
from .monitor_callback import MonitorCallback  # noqa: F401
from .reduce_lr_on_plateau import *  # noqa: F401,F403
from .tensorboard import *  # noqa: F401,F403
from .terminate_on_nan import *  # noqa: F401,F403

__all__ = sorted(name for name, value in dict(globals()).items()
                 if isinstance(value, type) and not name.startswith("_"))
