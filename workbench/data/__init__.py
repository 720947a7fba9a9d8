"""Data: loading (built-ins, catalog, hub ids, local files), column and task detection,
row validation, tokenizers and fixed-shape batches (``load.prepare`` is the entry point).

Imports no model, training or UI code."""
