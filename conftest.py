"""Test-wide settings: strict JAX, CPU only, no hub access, notebooks at smoke size.

Lives at the repository root so it also covers ``pytest --nbmake notebooks`` (the
notebook kernels inherit this process's environment)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("WORKBENCH_SMOKE", "1")
os.environ.setdefault("WORKBENCH_XLA_CACHE", "off")  # hermetic: nothing read from ~/.cache

import jax  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
