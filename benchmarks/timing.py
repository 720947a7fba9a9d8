"""Interleaved timing: A B C A B C ..., so slow phases of a shared machine hit every
contestant alike. Each sample is ``steps`` back-to-back steps ended by one ``sync()``;
a contestant's figure is the median sample, its spread the lowest and highest.

Each sample also records the process's CPU time. On a machine other jobs share, wall
time mixes in their load; CPU seconds per step measure the work itself (threads that
spin while they wait count too), so tokens per CPU-second is a second, steadier view."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Timing:
    name: str
    tokens: int
    seconds: list[float]  # wall seconds per step, one entry per sample
    cpu: list[float] = field(default_factory=list)  # CPU seconds per step, per sample

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.median

    @property
    def cpu_tokens_per_s(self) -> float:
        return self.tokens / statistics.median(self.cpu)

    @property
    def spread(self) -> tuple[float, float]:
        """Lowest and highest tokens/s over the samples."""
        return self.tokens / max(self.seconds), self.tokens / min(self.seconds)

    def line(self) -> str:
        if self.name.startswith("matmul"):  # its "tokens" are FLOPs
            low, high = self.spread
            return (f"{self.name:28s} {self.tokens_per_s / 1e9:8.1f} GFLOP/s "
                    f"(samples {low / 1e9:.1f}..{high / 1e9:.1f})")
        low, high = self.spread
        return (f"{self.name:28s} {self.tokens_per_s / 1e3:8.1f}k tokens/s  "
                f"(samples {low / 1e3:.1f}k..{high / 1e3:.1f}k, n={len(self.seconds)}, "
                f"{1e3 * self.median:.1f} ms/step, "
                f"{self.cpu_tokens_per_s / 1e3:.1f}k tokens/CPU-s)")


def sample(step, steps: int) -> tuple[float, float]:
    """Wall and CPU seconds per step over ``steps`` consecutive steps."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step.run()
    step.sync()
    return (time.perf_counter() - start) / steps, (time.process_time() - cpu) / steps


def interleaved(contestants: list, rounds: int, steps: int) -> dict[str, Timing]:
    """Time every contestant ``rounds`` times, in turn; rotate the order each round."""
    timings = {c.name: Timing(c.name, c.tokens, []) for c in contestants}
    for r in range(rounds):
        order = contestants[r % len(contestants):] + contestants[:r % len(contestants)]
        for c in order:
            wall, cpu = sample(c, steps)
            timings[c.name].seconds.append(wall)
            timings[c.name].cpu.append(cpu)
    return timings


def ratio(ours: Timing, theirs: Timing) -> dict:
    """Speed of ours relative to theirs: the ratio of median tokens/s, the lowest and
    highest ratio of samples taken in the same round, and the ratio of tokens per CPU-s."""
    pairs = [b / a for a, b in zip(ours.seconds, theirs.seconds, strict=True)]
    return {"ratio": theirs.median / ours.median, "low": min(pairs), "high": max(pairs),
            "cpu_ratio": ours.cpu_tokens_per_s / theirs.cpu_tokens_per_s}
