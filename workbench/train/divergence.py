"""When training has diverged, and the error that says what happened and what to try.

The trainer checks each chunk once on the host (one transfer): every loss finite, none
above ``loss_limit``, every parameter finite (``params_finite``). Only then does it replay
the chunk step by step to find the step that went wrong (``Trainer._recover``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..errors import NonFiniteLoss

# A loss above this many times its expected scale has exploded (see ``loss_limit``): a
# uniform guess scores ln(outputs), and no run that is learning comes near 100x that.
DIVERGENCE_FACTOR = 100.0


class Diverged(NonFiniteLoss):
    """The loss stayed finite but exploded: above ``Trainer.loss_limit()``."""


@nnx.jit
def params_finite(model: nnx.Module) -> jax.Array:
    """True when every parameter is finite."""
    leaves = jax.tree.leaves(nnx.state(model, nnx.Param))
    return jnp.all(jnp.stack([jnp.isfinite(p).all() for p in leaves]))


def loss_limit(outputs: int, first_loss: float | None) -> float:
    """The loss above which training has diverged: ``DIVERGENCE_FACTOR`` times the larger
    of ln(outputs) (what a uniform guess scores: classes, tags or vocabulary) and the
    run's first chunk's mean loss."""
    return DIVERGENCE_FACTOR * max(math.log(max(outputs, 2)), first_loss or 0.0)


def divergence_error(loss: float, limit: float, lr: float, exploded_at: int,
                     kept: int) -> NonFiniteLoss:
    """The error for a replay that stopped at ``loss``: ``Diverged`` when it was finite
    but over ``limit`` (at step ``exploded_at``), else ``NonFiniteLoss`` (at step
    ``kept + 1``); ``kept`` is the step whose parameters were restored."""
    advice = (f"Likely cause: the learning rate {lr:g} is too high for this model; try "
              f"{lr / 10:g}")
    if np.isfinite(loss) and loss > limit:
        return Diverged(
            f"training diverged at step {exploded_at}: the loss jumped to {loss:.3g}, over "
            f"{DIVERGENCE_FACTOR:g}x its expected scale (limit {limit:.3g}); the parameters "
            f"after step {kept}, the last with a loss in range, were restored. {advice}")
    why = (f"the loss became {loss}" if not np.isfinite(loss)
           else f"the update made the parameters non-finite (loss {loss:.3g})")
    return NonFiniteLoss(
        f"training diverged at step {kept + 1}: {why}; the parameters after step {kept}, "
        f"the last finite ones, were restored. {advice}")
