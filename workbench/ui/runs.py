"""The finished runs the app keeps: each one's record (``Run``) and the collection
(``Runs``, the app's ``wb.runs``), which saves a run when it ends and keeps the trainers
of only the last few in memory, reloading older ones from their checkpoint on demand."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ConfigError
from .panels import Report
from .stack import load as load_stack

KEEP_IN_MEMORY = 8  # older runs keep only their checkpoint (reloaded from disk)


@dataclass
class Run:
    """A finished (or stopped, or failed) training run, kept for comparison and reload."""

    name: str
    data: object  # DataConfig
    model: object  # ModelConfig
    train: object  # TrainConfig
    history: list[dict]
    final: dict
    outcome: str
    params: int
    step: int
    seconds: float
    trainer: object | None = None  # the Trainer; None once only the checkpoint is kept
    path: str | None = None  # checkpoint directory under the runs directory
    notes: list[str] = field(default_factory=list)
    task: str = ""  # the data's task ('classify', 'lm', ...), the model's head

    @classmethod
    def of(cls, name: str, trainer, final: dict, outcome: str) -> Run:
        """The record of ``trainer`` as it ended."""
        from ..nn.models import count_params

        return cls(name, trainer.data.config, trainer.model_config, trainer.config,
                   list(trainer.history), final, outcome, count_params(trainer.model),
                   trainer.step, trainer.elapsed, trainer, task=trainer.data.task)


class Runs(dict):
    """The finished runs by name, in the order they ended. ``runs_dir``: where each is
    saved when it ends (None: in memory only); ``report`` shows a failed save."""

    def __init__(self, runs_dir: Path | None, report: Report):
        super().__init__()
        self.runs_dir, self.report = runs_dir, report

    def keep(self, run: Run, current) -> None:
        """Add ``run`` and save it; only the last ``KEEP_IN_MEMORY`` runs (and the
        ``current`` trainer) keep their trainer, older saved ones are reloaded later."""
        self[run.name] = run
        run.path = self._save(run)
        for old in list(self.values())[:-KEEP_IN_MEMORY]:
            if old.path and old.trainer is not current:
                old.trainer = None

    def _save(self, run: Run) -> str | None:
        if self.runs_dir is None:
            return None
        try:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            return str(run.trainer.save(self.runs_dir / f"{stamp}-{run.name}"))
        except Exception as err:  # noqa: BLE001 - the run stays in memory
            self.report(f"Saving {run.name} (the trained model is kept in memory: fix the "
                        f"folder, then save it with wb.runs[{run.name!r}].trainer.save(path), "
                        "or press Continue, which saves again when it ends)", err)
            return None

    def trainer_of(self, name: str):
        """Run ``name``'s trainer, reloaded from its checkpoint if only that was kept."""
        if name not in self:
            raise ConfigError(f"no run named {name!r}; finished runs: {', '.join(self)}")
        run = self[name]
        if run.trainer is None:
            load_stack()
            from ..train.trainer import Trainer

            run.trainer = Trainer.resume(run.path)
        return run.trainer
