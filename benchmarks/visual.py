"""What the Live view costs: chunks of training with the app's own trainer observer
(progress every chunk; curves, and every ``refresh_every`` chunks a probe forward pass
that captures the trace and redraws the hidden-state, gate and attention figures, while
they have cost at most the app's ``visual_share`` of the training time) against
the same chunks with no observer. Runs headless: the widgets and figures are updated in
memory exactly as in a notebook, but no browser receives them.
"""

from __future__ import annotations

import statistics
import time


def measure(rounds: int = 5, refresh_every: int = 2) -> dict:
    """Interleaved plain / observed chunks of the app's default setup; returns the share
    of tokens/s the visuals cost, ``1 - plain_time / observed_time`` (median rounds)."""
    from workbench.data.load import prepare
    from workbench.train.trainer import Trainer
    from workbench.ui import app
    from workbench.ui.setup_presets import DEFAULT

    data = prepare(DEFAULT.data)
    workbench = app.Workbench(runs_dir=None, refresh_every=refresh_every)
    workbench._run_name = "benchmark"  # what the app sets when a run starts
    trainer = Trainer(data, DEFAULT.model, DEFAULT.train)
    chunk = DEFAULT.train.chunk
    trainer.run(chunk)  # compile the step
    workbench.live.refresh(trainer)  # compile the probe, build the figures
    plain, observed = [], []
    for _ in range(rounds):
        for observers, times in (((), plain), ((workbench._observe,), observed)):
            trainer.observers = list(observers)
            start, elapsed = time.perf_counter(), trainer.elapsed
            for _ in range(2 * refresh_every):
                trainer.run(chunk)
            times.append(time.perf_counter() - start)
            if not observers:  # the app budgets its drawing against the observed run only
                trainer.elapsed = elapsed
    ratios = [p / o for p, o in zip(plain, observed, strict=True)]
    return {"visual_overhead": 1.0 - statistics.median(plain) / statistics.median(observed),
            "visual_overhead_low": 1.0 - max(ratios), "visual_overhead_high": 1.0 - min(ratios),
            "visual_refresh_every": refresh_every, "visual_chunk_steps": chunk,
            "visual_plain_ms_per_step": 1e3 * statistics.median(plain) / (2 * refresh_every
                                                                           * chunk)}
