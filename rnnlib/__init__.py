"""rnnlib: recurrent networks and backpropagation through time, in the book's notation.

Submodules load on first use, so ``import rnnlib as rl`` stays light and the
math modules never pull in matplotlib or ipywidgets::

    import rnnlib as rl
    p = rl.rnn.init(1, 4, 1, seed=0)
    tr = rl.rnn.forward(p, xs)
    g = rl.rnn.bptt(p, tr, ds)
"""

from importlib import import_module

from .engine import NonFiniteWarning

__version__ = "0.1.0"

_MODULES = (
    "activations",
    "engine",
    "rnn",
    "lstm",
    "gru",
    "jacobians",
    "clipping",
    "truncation",
    "checkpoint",
    "gradcheck",
    "symbolic",
    "terms",
    "cliff",
    "tasks",
    "sequences",
    "train",
    "plots",
    "diagrams",
    "widgets",
)

__all__ = [*_MODULES, "NonFiniteWarning"]


def __getattr__(name):
    if name in _MODULES:
        module = import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'rnnlib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MODULES))
