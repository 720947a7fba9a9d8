"""Built-in datasets: every one loads offline with the agreed columns, is deterministic, and
its labels are right, recomputed here independently of the generator."""

import subprocess
import sys

import pytest

from workbench.data import synthetic
from workbench.data.builtin import NAMES, describe, load

COLUMNS = {"classify": {"text", "label"}, "lm": {"text"}, "tag": {"tokens", "tags"},
           "seq2seq": {"source", "target"}}
NEGATIONS = {"not", "n't", "never", "nobody"}


def rows(data, split="train"):
    columns = data.splits[split]
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(),
                                                                        strict=True)]


def stack_balanced(tokens):
    pairs, stack = {")": "(", "]": "["}, []
    for token in tokens:
        if token in "([":
            stack.append(token)
        elif not stack or stack.pop() != pairs[token]:
            return False
    return not stack


def running_depth(tokens):
    depth, depths = 0, []
    for token in tokens:
        depth += 1 if token in "([" else -1
        depths.append(depth)
    return depths


@pytest.mark.parametrize("name", NAMES)
def test_every_builtin_loads_with_its_task_columns(name):
    data = load(name, size=200)
    assert data.name == name and set(data.splits) == {"train", "validation"}
    for split, columns in data.splits.items():
        assert set(columns) == COLUMNS[data.task], split
        n = len(next(iter(columns.values())))
        assert all(len(values) == n for values in columns.values())
        if name != "prose":
            assert n == (200 if split == "train" else 50)
        for row in rows(data, split):
            for value in row.values():
                assert value != "" and value != []
            if data.task == "classify":
                assert 0 <= row["label"] < len(data.label_names) and row["text"].strip()
            if data.task == "tag":
                assert len(row["tags"]) == len(row["tokens"])
                assert all(0 <= t < len(data.label_names) for t in row["tags"])
    assert (data.label_names is None) == (data.task in ("lm", "seq2seq"))


def test_describe_lists_every_builtin_with_the_task_load_reports():
    assert [name for name, _, _ in describe()] == list(NAMES)
    for name, task, description in describe():
        assert task == load(name, size=50).task and description
        assert name == "prose" or "synthetic" in description.lower()


@pytest.mark.parametrize("name", [n for n in NAMES if n != "prose"])
def test_generation_is_deterministic_and_seeded(name):
    assert load(name, seed=3, size=100).splits == load(name, seed=3, size=100).splits
    assert load(name, seed=3, size=100).splits != load(name, seed=4, size=100).splits
    assert load(name, size=100).splits["train"] != load(name, size=100, difficulty=2).splits[
        "train"]


@pytest.mark.parametrize("name", ["recall", "sentiment", "copy", "brackets", "addition"])
def test_validation_is_mostly_unseen_in_train(name):
    data = load(name, size=400)
    train = {repr(row) for row in rows(data)}
    unseen = [repr(row) not in train for row in rows(data, "validation")]
    assert sum(unseen) >= 0.95 * len(unseen)


def test_default_size_is_4000_train_and_500_validation():
    data = load("reverse")
    assert len(data.splits["train"]["source"]) == 4000
    assert len(data.splits["validation"]["source"]) == 500


@pytest.mark.parametrize("difficulty", [1, 3, 6])
def test_recall_label_is_the_first_token_after_a_gap_that_varies_and_scales(difficulty):
    """Gaps of 5..10 * difficulty digits, every length drawn: a fixed gap would let a
    network read the key off a fixed delay instead of holding it."""
    data = load("recall", difficulty=difficulty, size=400)
    gaps = []
    for row in rows(data):
        tokens = row["text"].split()
        assert tokens[0] == data.label_names[row["label"]] and tokens[-1] == "?"
        assert set(tokens[1:-1]) <= set("0123456789")  # the key never reappears
        gaps.append(len(tokens) - 2)
    assert set(gaps) == set(range(5, 10 * difficulty + 1))
    assert len({row["label"] for row in rows(data)}) == 8


@pytest.mark.parametrize("difficulty", [1, 2])
def test_parity_and_counting_labels_are_recounted(difficulty):
    parity = load("parity", difficulty=difficulty, size=200)
    lengths = set()
    for row in rows(parity):
        bits = row["text"].split()
        lengths.add(len(bits))
        assert parity.label_names[row["label"]] == ("odd" if bits.count("1") % 2 else "even")
    assert len(lengths) > 2 and max(lengths) <= 10 * difficulty
    counting = load("counting", difficulty=difficulty, size=200)
    for row in rows(counting):
        symbols = row["text"].split()
        assert symbols.count("a") != symbols.count("b")
        majority = max("ab", key=symbols.count)
        assert counting.label_names[row["label"]] == majority


def test_brackets_labels_match_a_stack_and_misses_keep_the_counts():
    data = load("brackets", difficulty=2, size=400)
    labels = [data.label_names[row["label"]] for row in rows(data)]
    assert 0.3 < labels.count("balanced") / len(labels) < 0.7
    for row, label in zip(rows(data), labels, strict=True):
        tokens = row["text"].split()
        assert set(tokens) <= set("()[]")
        assert stack_balanced(tokens) == (label == "balanced")
        # near misses: as many openers as closers, so counting alone cannot decide
        assert sum(t in "([" for t in tokens) == sum(t in ")]" for t in tokens)


@pytest.mark.parametrize("difficulty", [1, 3])
def test_bracket_depth_tags_are_the_running_depth(difficulty):
    data = load("brackets-depth", difficulty=difficulty, size=200)
    assert data.label_names == tuple(f"d{k}" for k in range(difficulty + 3))
    assert load("brackets-depth", difficulty=difficulty, seed=9, size=50).label_names == \
        data.label_names
    for row in rows(data):
        assert stack_balanced(row["tokens"])
        assert [data.label_names[t] for t in row["tags"]] == \
            [f"d{d}" for d in running_depth(row["tokens"])]
    assert max(max(row["tags"]) for row in rows(data)) >= 2


@pytest.mark.parametrize("name, transform", [("copy", lambda s: s),
                                             ("reverse", lambda s: s[::-1]),
                                             ("sort", sorted)])
def test_copy_reverse_sort_targets(name, transform):
    for difficulty in (1, 2):
        lengths = set()
        for row in rows(load(name, difficulty=difficulty, size=200)):
            source = row["source"].split()
            lengths.add(len(source))
            assert row["target"].split() == transform(source)
        assert min(lengths) >= 3 and max(lengths) <= 5 + 5 * difficulty and len(lengths) > 4


def test_addition_target_is_the_integer_sum():
    data = load("addition", difficulty=2, size=300)
    widths = []
    for row in rows(data):
        a, b = row["source"].split(" + ")
        widths += [len(a.split()), len(b.split())]
        total = int(a.replace(" ", "")) + int(b.replace(" ", ""))
        assert row["target"] == " ".join(str(total))
    assert max(widths) == 5 and min(widths) == 1


def clause_polarity(words):
    """The grammar's meaning, read off the words: the sentiment word, flipped per negation."""
    good = set(synthetic._GOOD) | {past for _, past in synthetic._LIKE} | {
        base for base, _ in synthetic._LIKE}
    bad = set(synthetic._BAD) | {w for pair in synthetic._DISLIKE for w in pair}
    [word] = [w for w in words if w in good | bad]
    sign = 1 if word in good else -1
    return sign * (-1) ** sum(w in NEGATIONS for w in words)


@pytest.mark.parametrize("difficulty", [1, 3])
def test_sentiment_is_balanced_negated_and_means_what_it_says(difficulty):
    data = load("sentiment", difficulty=difficulty, size=400)
    labels = data.splits["train"]["label"]
    assert 0.3 < sum(labels) / len(labels) < 0.7
    words = {w for text in data.splits["train"]["text"] for w in text.split()}
    assert {"not", "n't", "never", "but", "very"} <= words
    for row in rows(data):
        after_but = " ".join(row["text"].split()).split(" but ")[-1]
        for clause in after_but.split(" and "):
            expected = "positive" if clause_polarity(clause.split()) > 0 else "negative"
            assert data.label_names[row["label"]] == expected, row["text"]


def test_prose_is_real_english_split_by_document():
    data = load("prose")
    train, validation = data.splits["train"]["text"], data.splits["validation"]["text"]
    assert len(train) > 5 * len(validation) > 0
    assert not set(train) & set(validation)
    assert sum(" the " in doc for doc in train) > 0.9 * len(train)
    assert load("prose", size=10).splits["train"]["text"] == train[:10]
    assert load("prose", difficulty=4, seed=2).splits == data.splits


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(name="wikitext"), r"'wikitext'.*recall"),
    (dict(name="parity", difficulty=0), r"difficulty=0"),
    (dict(name="parity", size=0), r"size=0"),
    (dict(name="parity", seed=-1), r"seed=-1"),
])
def test_bad_input_is_named(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        load(**kwargs)


def test_builtin_imports_only_numpy_and_the_stdlib():
    """The registry and its row makers (``synthetic``) load without the heavy libraries."""
    code = ("import sys, workbench.data.builtin\n"
            "print(sorted({m.split('.')[0] for m in sys.modules}))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout
    assert "'workbench'" in loaded
    for banned in ("datasets", "tokenizers", "jax", "flax", "ipywidgets", "plotly"):
        assert f"'{banned}'" not in loaded
