"""Training: the pure jitted step, the stateful ``Trainer``, metrics and evaluation,
checkpoints and run folders (with their locks)."""
