"""What each task family reads from a batch and how it is scored (``batches``).

Sits between the data (which builds the batches) and the code that trains or inspects
models on them, so both score a split the same way."""
