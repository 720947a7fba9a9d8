"""Data: every source the datasets library reads, column and task detection, tokenizers,
fixed-shape batches, caching, and a clear message for each kind of bad input."""

import json
import time

import datasets
import numpy as np
import pytest

from workbench.config import ConfigError, DataConfig
from workbench.data.columns import DataError, detect_columns
from workbench.data.load import load_splits, prepare
from workbench.data.prepared import encode_split
from workbench.data.tokenizer import BOS, EOS, PAD, TextTokenizer

REVIEWS = {"text": ["a good film", "a bad film", "great acting", "dull plot", "loved it",
                    "hated it", "fine", "awful"] * 5,
           "label": ["pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg"] * 5}


def _write(tmp_path, name, rows):
    path = tmp_path / name
    if name.endswith(".csv"):
        keys = list(rows)
        lines = [",".join(keys)] + [",".join(str(rows[k][i]) for k in keys)
                                    for i in range(len(rows[keys[0]]))]
        path.write_text("\n".join(lines) + "\n")
    elif name.endswith((".json", ".jsonl")):
        n = len(next(iter(rows.values())))
        path.write_text("\n".join(json.dumps({k: v[i] for k, v in rows.items()})
                                  for i in range(n)) + "\n")
    elif name.endswith(".parquet"):
        datasets.Dataset.from_dict(rows).to_parquet(str(path))
    else:
        path.write_text("\n".join(rows["text"]) + "\n")
    return str(path)


# --- sources -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["reviews.csv", "reviews.jsonl", "reviews.parquet"])
def test_local_files_load_with_string_labels_mapped(tmp_path, name):
    path = _write(tmp_path, name, REVIEWS)
    prepared = prepare(DataConfig(dataset=path, max_len=8, batch_size=4))
    assert prepared.task == "classify"
    assert prepared.label_names == ("neg", "pos")
    assert any("held out 10% of train" in n for n in prepared.notes)
    assert any("string labels mapped" in n for n in prepared.notes)
    assert prepared.stats["train"]["examples"] + prepared.stats["validation"]["examples"] == 40


def test_plain_text_file_is_a_language_model_dataset(tmp_path):
    path = _write(tmp_path, "story.txt", {"text": ["once upon a time", "the end"] * 20})
    prepared = prepare(DataConfig(dataset=path, tokenizer="char", max_len=8, batch_size=2))
    assert prepared.task == "lm"


def test_data_files_name_the_splits(tmp_path):
    train = _write(tmp_path, "train.jsonl", REVIEWS)
    dev = _write(tmp_path, "dev.jsonl", {k: v[:6] for k, v in REVIEWS.items()})
    splits, notes = load_splits(DataConfig(data_files=(("train", train), ("dev", dev))))
    assert set(splits) == {"train", "validation"} and len(splits["validation"]) == 6
    assert not notes  # the dataset's own validation split is used


def test_local_dataset_folder_with_a_card_and_a_saved_dataset(tmp_path):
    folder = tmp_path / "my_dataset"
    (folder / "data").mkdir(parents=True)
    _write(folder / "data", "train.jsonl", REVIEWS)
    _write(folder / "data", "test.jsonl", {k: v[:8] for k, v in REVIEWS.items()})
    (folder / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
        "    path: data/train.jsonl\n  - split: test\n    path: data/test.jsonl\n---\n"
        "# Reviews\n")
    splits, _ = load_splits(DataConfig(dataset=str(folder)))
    assert {"train", "validation", "test"} <= set(splits) and len(splits["test"]) == 8
    only, notes = load_splits(DataConfig(dataset=str(folder), split="train[:20]"))
    assert len(only["train"]) == 18 and len(only["validation"]) == 2
    assert "held out" in notes[0]
    saved = tmp_path / "saved"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(REVIEWS)}).save_to_disk(saved)
    assert len(load_splits(DataConfig(dataset=str(saved)))[0]["train"]) == 36


def test_held_out_validation_is_seeded_and_deterministic(tmp_path):
    path = _write(tmp_path, "r.jsonl", {"text": [f"s {i}" for i in range(100)],
                                        "label": [i % 2 for i in range(100)]})
    a = load_splits(DataConfig(dataset=path, seed=1))[0]["validation"]["text"][:]
    b = load_splits(DataConfig(dataset=path, seed=1))[0]["validation"]["text"][:]
    c = load_splits(DataConfig(dataset=path, seed=2))[0]["validation"]["text"][:]
    assert a == b and a != c and len(a) == 10


def test_hub_id_fails_fast_offline_with_advice():
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"'someone/missing-dataset'.*built-in.*local files"):
        prepare(DataConfig(dataset="someone/missing-dataset"))
    assert time.perf_counter() - start < 10


def test_missing_local_path_is_named():
    with pytest.raises(DataError, match=r"local path './nope.csv' does not exist"):
        prepare(DataConfig(dataset="./nope.csv"))


# --- columns and task detection -----------------------------------------------------------

def _features(**kinds):
    return datasets.Features(kinds)


S, INT = datasets.Value("string"), datasets.Value("int64")


@pytest.mark.parametrize("features, expected", [
    (_features(sentence=S, label=datasets.ClassLabel(names=["neg", "pos"]), idx=INT),
     ("classify", "sentence", "label", None)),
    (_features(text=S, coarse_label=datasets.ClassLabel(names=["A", "B"]),
               fine_label=datasets.ClassLabel(names=["x", "y"])),
     ("classify", "text", "coarse_label", None)),
    (_features(review=S, sentiment=S), ("classify", "review", "sentiment", None)),
    (_features(tokens=datasets.List(S), pos_tags=datasets.List(INT),
               ner_tags=datasets.List(datasets.ClassLabel(names=["O", "B-PER"]))),
     ("tag", "tokens", "ner_tags", None)),
    (_features(id=S, translation=datasets.Translation(languages=["en", "fr"])),
     ("seq2seq", "translation.en", None, "translation.fr")),
    (_features(en=S, de=S), ("seq2seq", "en", None, "de")),
    (_features(source=S, target=S, id=INT), ("seq2seq", "source", None, "target")),
    (_features(text=S), ("lm", "text", None, None)),
])
def test_columns_and_task_are_detected_from_features(features, expected):
    c = detect_columns(features)
    assert (c.task, c.text, c.label, c.target) == expected


def test_explicit_columns_override_detection():
    features = _features(title=S, body=S, topic=datasets.ClassLabel(names=["a", "b"]))
    c = detect_columns(features, text="title")
    assert (c.task, c.text, c.label, c.label_names) == ("classify", "title", "topic", ("a", "b"))
    assert detect_columns(features, task="lm", text="body").task == "lm"


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(text="missing"), r"column 'missing' does not exist; the columns are .*title"),
    (dict(), r"several columns could be the text \(title, body\).*text_column="),
    (dict(text="score"), r"column 'score' holds int64 values, not text"),
])
def test_bad_column_choices_list_what_exists(kwargs, pattern):
    features = _features(title=S, body=S, score=INT, label=datasets.ClassLabel(names=["a"]))
    with pytest.raises(DataError, match=pattern):
        detect_columns(features, **kwargs)


# --- tokenizers ---------------------------------------------------------------------------

TEXTS = ["The cat sat on the mat.", "Dogs bark;\nbirds sing!", "naïve café, 3 €"]


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_char_and_bpe_decode_round_trip_exactly(kind):
    tok = TextTokenizer.train(kind, TEXTS, 300)
    for text in TEXTS:
        assert tok.decode(tok.encode([text])[0]) == text


def test_word_tokenizer_splits_punctuation_and_rejoins_with_spaces():
    tok = TextTokenizer.train("word", TEXTS, 100)
    ids = tok.encode(["The cat sat on the mat."])[0]
    assert tok.tokens(ids) == ["The", "cat", "sat", "on", "the", "mat", "."]
    assert tok.decode(ids) == "The cat sat on the mat ."
    assert tok.tokens(tok.encode(["zebra"])[0]) == ["[UNK]"]


def test_special_tokens_have_fixed_ids_and_the_vocabulary_is_capped():
    tok = TextTokenizer.train("bpe", TEXTS * 10, 270)
    assert tok.vocab_size <= 270
    assert [tok.hf.token_to_id(t) for t in ("[PAD]", "[UNK]", "[BOS]", "[EOS]")] == [
        PAD, 1, BOS, EOS]
    restored = TextTokenizer.from_json(tok.to_json())
    assert restored.encode(TEXTS) == tok.encode(TEXTS) and restored.kind == "bpe"


def test_bad_tokenizer_settings_are_named():
    with pytest.raises(ValueError, match="tokenizer='sentencepiece'"):
        TextTokenizer.train("sentencepiece", TEXTS, 100)
    with pytest.raises(ConfigError, match="vocab_size=2"):
        DataConfig(vocab_size=2)


def test_pretokenized_tags_stay_aligned_with_subword_tokens():
    names = ("O", "B-PER", "I-PER", "B-LOC")
    ds = datasets.Dataset.from_dict(
        {"tokens": [["Angela", "Merkel", "visited", "Paris"]] * 3, "ner_tags": [[1, 2, 0, 3]] * 3},
        features=_features(tokens=datasets.List(S),
                           ner_tags=datasets.List(datasets.ClassLabel(names=names))))
    columns = detect_columns(ds.features)
    assert columns.label_names == names
    tok = TextTokenizer.train("char", ["Angela Merkel visited Paris"], 100)
    arrays, _ = encode_split(columns, ds, tok, max_len=40)
    labels = arrays["labels"][0]
    # characters: 'Angela' (6) 'Merkel' (6) 'visited' (7) 'Paris' (5): tag on each first one
    assert labels[[0, 6, 12, 19]].tolist() == [1, 2, 0, 3]
    assert (labels[:24] == -1).sum() == 20 and (labels[24:] == -1).all()


# --- batches ------------------------------------------------------------------------------

def test_classification_batches_have_fixed_shapes_and_cover_validation_once():
    prepared = prepare(DataConfig(dataset="sentiment", size=300, max_len=16, batch_size=32))
    shapes = {tuple(b["tokens"].shape) for b in prepared.batches("train")}
    assert shapes == {(32, 16)}
    seen = 0
    for batch in prepared.batches("validation"):
        assert batch["tokens"].shape == (32, 16) and batch["labels"].shape == (32,)
        real = batch["mask"].any(axis=1)
        assert np.all(batch["tokens"][~real] == PAD)
        seen += int(real.sum())
    assert seen == prepared.stats["validation"]["examples"]


def test_shuffling_is_seeded_per_epoch():
    prepared = prepare(DataConfig(dataset="parity", size=200, batch_size=8, max_len=16))
    first = [b["tokens"] for b in prepared.batches("train", epoch=0)]
    again = [b["tokens"] for b in prepared.batches("train", epoch=0)]
    other = [b["tokens"] for b in prepared.batches("train", epoch=1)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_language_model_batches_are_contiguous_windows_of_the_stream():
    prepared = prepare(DataConfig(dataset="prose", tokenizer="char", max_len=32,
                                  batch_size=4))
    stream = prepared.arrays["validation"]["stream"]
    batches = list(prepared.batches("validation"))
    first = batches[0]
    assert first["mask"].all() and first["tokens"].shape == (4, 32)
    np.testing.assert_array_equal(first["tokens"].ravel(), stream[:128])
    np.testing.assert_array_equal(first["targets"].ravel(), stream[1:129])
    assert EOS in stream  # documents are joined with EOS
    offsets = {int(next(prepared.batches("train", epoch=e))["tokens"][0, 0]) for e in range(4)}
    assert len(offsets) > 1  # each epoch starts its windows somewhere else


def test_seq2seq_batches_teacher_force_the_target():
    prepared = prepare(DataConfig(dataset="reverse", size=100, max_len=24, batch_size=8))
    batch = next(prepared.batches("validation"))
    n = int(batch["dec_mask"][0].sum())
    assert batch["dec_tokens"][0, 0] == BOS
    np.testing.assert_array_equal(batch["dec_tokens"][0, 1:n], batch["targets"][0, : n - 1])
    assert batch["targets"][0, n - 1] == EOS
    source = prepared.tokenizer.decode(batch["tokens"][0]).split()
    target = prepared.tokenizer.decode(batch["targets"][0, : n - 1]).split()
    assert target == source[::-1]


def test_truncation_is_reported_not_hidden():
    prepared = prepare(DataConfig(dataset="recall", size=100, max_len=5, batch_size=4))
    assert prepared.stats["train"]["cut"] == 100
    assert any("100 of 100 sequences were longer than max_len=5" in n for n in prepared.notes)


def test_prepared_data_is_cached_per_config():
    config = DataConfig(dataset="counting", size=150, batch_size=4)
    start = time.perf_counter()
    first = prepare(config)
    assert prepare(config) is first
    assert prepare(config.replace(seed=1)) is not first
    assert time.perf_counter() - start < 30


# --- bad data -----------------------------------------------------------------------------

def test_bad_data_gets_a_clear_message(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(DataError, match=r"data file .*empty.jsonl.* \(train\) is empty"):
        prepare(DataConfig(dataset=str(empty)))
    numbers = _write(tmp_path, "n.jsonl", {"text": list(range(20)), "label": [0, 1] * 10})
    with pytest.raises(DataError, match=r"no text column found.*\(text: int64 values"):
        prepare(DataConfig(dataset=numbers))
    train = _write(tmp_path, "t.jsonl", {"text": ["a", "b"] * 10, "label": ["x", "y"] * 10})
    dev = _write(tmp_path, "d.jsonl", {"text": ["a", "b"], "label": ["x", "z"]})
    with pytest.raises(DataError, match=r"label 'z' in column 'label' is not one of the 2"):
        prepare(DataConfig(data_files=(("train", train), ("validation", dev))))
    tags = _write(tmp_path, "tags.jsonl", {"tokens": [["a", "b"], ["c"]] * 5,
                                          "tags": [[0, 1], [0, 1]] * 5})
    with pytest.raises(DataError, match=r"example \d+: 1 words in 'tokens' but 2 tags"):
        prepare(DataConfig(dataset=tags))
    with pytest.raises(ConfigError, match="max_len=0 must be an integer >= 1"):
        DataConfig(max_len=0)


def test_labels_out_of_range_and_unlabelled_examples(tmp_path):
    features = _features(text=S, label=datasets.ClassLabel(names=["a", "b"]))
    ds = datasets.Dataset.from_dict({"text": ["x y", "y z"] * 10, "label": [0, 1] * 10},
                                    features=features)
    test = datasets.Dataset.from_dict({"text": ["x", "y"], "label": [-1, -1]},
                                      features=features)
    path = tmp_path / "saved"
    datasets.DatasetDict({"train": ds, "validation": ds, "test": test}).save_to_disk(path)
    prepared = prepare(DataConfig(dataset=str(path), batch_size=4))
    assert "test" not in prepared.splits
    assert any("dropped 2 unlabelled" in n for n in prepared.notes)
    bad = _write(tmp_path, "bad.jsonl", {"text": ["x"] * 10 + ["y"], "label": [0] * 10 + [-3]})
    with pytest.raises(DataError, match=r"label -3 in column 'label' is not one of"):
        prepare(DataConfig(dataset=bad))


def test_huge_splits_are_capped_and_say_so(tmp_path):
    path = _write(tmp_path, "big.jsonl", {"text": [f"w{i}" for i in range(500)],
                                          "label": [i % 3 for i in range(500)]})
    prepared = prepare(DataConfig(dataset=path, max_examples=100, batch_size=4))
    assert prepared.stats["train"]["examples"] == 100
    assert any("capped at max_examples=100" in n for n in prepared.notes)
    both = prepare(DataConfig(data_files=(("train", path), ("validation", path)),
                              max_examples=100, batch_size=4))  # every split, not one
    assert both.stats["train"]["examples"] == both.stats["validation"]["examples"] == 100


def test_length_buckets_batch_similar_lengths_without_cutting_more():
    plain = prepare(DataConfig(dataset="reverse", size=400, max_len=24, batch_size=16))
    bucketed = prepare(plain.config.replace(buckets=4))
    widths = {b["tokens"].shape[1] for b in bucketed.batches("train")}
    assert widths <= {6, 12, 18, 24} and len(widths) > 1
    assert all(b["tokens"].shape[0] == 16 for b in bucketed.batches("train"))
    # validation: every example once, with the same tokens as without buckets
    def real_rows(prepared):
        rows = []
        for b in prepared.batches("validation"):
            for tokens, mask, dec in zip(b["tokens"], b["mask"], b["dec_mask"], strict=True):
                if mask.any():
                    rows.append((tuple(tokens[mask]), int(dec.sum())))
        return sorted(rows)
    assert real_rows(bucketed) == real_rows(plain)
    # train: each example at most once per epoch; only one ragged end (< a batch) is left
    drawn = sum(b["tokens"].shape[0] for b in bucketed.batches("train"))
    train_size = bucketed.stats["train"]["examples"]
    assert train_size - 16 < drawn <= train_size
