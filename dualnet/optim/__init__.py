"""Optimizers and learning-rate schedulers (torch's names, signatures and state_dict format),
shared by both frontends: each optimizer takes `rule="torch"` or `rule="keras"` for the update
arithmetic (SPEC's conventions table)."""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .nadam import NAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "NAdam",
           "lr_scheduler"]
