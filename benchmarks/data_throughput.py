"""Tokenization + batching throughput against the training step, on real data.

    python benchmarks/data_throughput.py [SHARED_DATA_DIR]

Loads Tiny Shakespeare (character LM) and TREC (word-level classification) as local
json files the way a user would, and prints, per dataset: the time to read the files,
the time of the whole ``prepare`` (read, train the tokenizer, encode every split) and its
tokens/s without the reading, tokens/s of the trained tokenizer encoding the training
texts, tokens/s of drawing every training batch, and
tokens/s of the jitted training step of the default LSTM on those batches. Tokenization
and batching must be at least 10x faster than the step so they never bound training; a
prepared dataset is cached, so retraining on it skips all of this.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time

import numpy as np
from flax import nnx

from workbench import ModelConfig, build_model
from workbench.config import DataConfig
from workbench.data import load as wd
from workbench.train.step import make_optimizer, train_step

SHARED = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")


def measure(name: str, config: DataConfig, model_config: ModelConfig) -> dict:
    wd._CACHE.clear()
    start = time.perf_counter()
    wd.load_splits(config)  # reading the files alone (datasets caches the arrow tables)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    prepared = wd.prepare(config)
    prepare_s = time.perf_counter() - start
    tokens = sum(s["tokens"] for s in prepared.stats.values())
    texts = wd.load_splits(config)[0]["train"][prepared.columns.text][:]
    start = time.perf_counter()
    encode_tokens = sum(len(ids) for ids in prepared.tokenizer.encode(texts))
    encode_tps = encode_tokens / (time.perf_counter() - start)
    start, batch_tokens = time.perf_counter(), 0
    for batch in prepared.batches("train"):
        batch_tokens += int(batch["mask"].sum())
    batch_s = time.perf_counter() - start
    model = build_model(model_config, prepared.vocab_size,
                        n_classes=len(prepared.label_names or ()) or None,
                        task=prepared.task)
    optimizer = nnx.Optimizer(model, make_optimizer(1e-3), wrt=nnx.Param)
    batches = list(prepared.batches("train"))[:30]
    float(train_step(model, optimizer, batches[0])[0])  # compile
    start = time.perf_counter()
    for batch in batches[1:]:
        loss, _ = train_step(model, optimizer, batch)
    float(loss)
    step_s = (time.perf_counter() - start) / (len(batches) - 1)
    step_tps = config.batch_size * config.max_len / step_s
    prepare_tps, batch_tps = tokens / (prepare_s - load_s), batch_tokens / batch_s
    return {"dataset": name, "tokens": tokens, "load_s": round(load_s, 2),
            "prepare_s": round(prepare_s, 2),
            "prepare_tokens_per_s": round(prepare_tps), "encode_tokens_per_s": round(encode_tps),
            "batch_tokens_per_s": round(batch_tps),
            "train_step_tokens_per_s": round(step_tps),
            "prepare_vs_step": round(prepare_tps / step_tps, 1),
            "encode_vs_step": round(encode_tps / step_tps, 1),
            "batch_vs_step": round(batch_tps / step_tps, 1)}


def main() -> None:
    shakespeare = DataConfig(
        dataset="tinyshakespeare", tokenizer="char", max_len=128, batch_size=32,
        data_files=(("train", str(SHARED / "tinyshakespeare/train.jsonl")),
                    ("validation", str(SHARED / "tinyshakespeare/val.jsonl"))))
    trec = DataConfig(dataset="trec", tokenizer="word", max_len=32, batch_size=32,
                      data_files=(("train", str(SHARED / "trec/train.jsonl")),
                                  ("test", str(SHARED / "trec/test.jsonl"))))
    results = [
        measure("tinyshakespeare", shakespeare, ModelConfig(arch="lstm")),
        measure("trec", trec, ModelConfig(arch="lstm")),
    ]
    for r in results:
        print(json.dumps(r))
    print(json.dumps({r["dataset"]: min(r["encode_vs_step"], r["batch_vs_step"])
                      for r in results}))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
