"""The errors whose message names the bad value and its fix, which the app and the CLI
show as a message rather than a traceback.

They live apart from the code that raises them so the app can name them without
importing JAX or ``datasets`` (it shows its widgets before either is loaded; see
``ui/stack.py``). Import them from here; ``config``, ``data.columns`` (and so
``data.load``) and ``train.checkpoint_files`` also hold the one each raises, as before."""


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the value and the fix."""


class DataError(ValueError):
    """The data cannot be used as asked; the message names the value and the fix."""


class CheckpointError(ValueError):
    """A checkpoint cannot be written or read; the message names the path and the fix."""


class NonFiniteLoss(RuntimeError):
    """Training diverged: the loss became NaN or infinite, or exploded (``Diverged``); the
    last good parameters were restored."""
