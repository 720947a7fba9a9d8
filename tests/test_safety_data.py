"""Fault injection at the doors data and setups come in by: hostile CSV, JSON and text
files made here, hostile setup JSON, and a machine without network. Each bad input must
end in one ``DataError`` / ``ConfigError`` that names the value, the count and the fix (in
words both the app and the CLI use: no ``--flag``), or in a note in ``data.notes`` that
counts what was dropped or converted; never a TypeError, never a silently other task."""

import json
import subprocess
import sys
import time

import pytest

from workbench.config import ConfigError, DataConfig
from workbench.data import hub
from workbench.data.columns import DataError
from workbench.data.load import prepare
from workbench.ui import app
from workbench.ui.setup import SetupForm
from workbench.ui.setup_json import parse_setup
from workbench.ui.setup_presets import preset_configs

N = 40  # rows per hostile file


def _csv(tmp_path, name, header, rows, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return str(path)


def _jsonl(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _load(path, **kwargs):
    """``prepare`` of a hostile file: a DataError (returned) or data; anything else fails."""
    try:
        return prepare(DataConfig(dataset=path, batch_size=4, max_len=8, **kwargs))
    except DataError as err:
        message = str(err)
        assert "--" not in message, f"a CLI flag in a message the app shows: {message}"
        return err


def _error(path, *patterns, **kwargs):
    result = _load(path, **kwargs)
    assert isinstance(result, DataError), f"expected a DataError, got task {result.task}"
    for pattern in patterns:
        assert pattern in str(result), f"{pattern!r} not in: {result}"
    return str(result)


def _notes(path, task, *patterns, **kwargs):
    result = _load(path, **kwargs)
    assert not isinstance(result, DataError), str(result)
    assert result.task == task
    notes = " | ".join(result.notes)
    for pattern in patterns:
        assert pattern in notes, f"{pattern!r} not in: {notes}"
    return result


# --- labels ------------------------------------------------------------------------------

def test_decimal_labels_are_refused_with_the_choices_not_turned_into_lm(tmp_path):
    path = _csv(tmp_path, "scores.csv", "text,label",
                [f"film {i},{i % 3 + 0.5}" for i in range(N)])
    message = _error(path, "column 'label' holds decimal numbers", "of train",
                     "(e.g. ", "0.5", "label_column=", "task='lm'", "regression")
    assert "36 of 36 rows" in message  # the count (10% held out for validation)
    # forcing classify: the same message (no TypeError), without the lm choice
    forced = _error(path, "decimal numbers", "label_column=", task="classify")
    assert "task='lm'" not in forced
    # choosing lm explicitly is honoured: the label column is then ignored
    assert _load(path, task="lm").task == "lm"


def test_blank_labels_are_dropped_and_counted_and_whole_floats_are_labels(tmp_path):
    ints = _csv(tmp_path, "ints.csv", "text,label",
                [f"film {i},{'' if i % 8 == 0 else i % 2}" for i in range(N)])
    prepared = _notes(ints, "classify", "whose label ('label') is blank")
    assert prepared.label_names == ("0", "1")
    dropped = sum(int(n.split("dropped ")[1].split(" of")[0]) for n in prepared.notes
                  if "label ('label') is blank" in n)
    assert dropped == 5  # rows 0, 8, 16, 24, 32: every one counted, in train or validation
    assert _load(ints, task="classify").task == "classify"  # no TypeError when forced
    names = _csv(tmp_path, "names.csv", "text,label",
                 [f"film {i},{'' if i % 8 == 0 else ['neg', 'pos'][i % 2]}" for i in range(N)])
    assert _notes(names, "classify", "is blank").label_names == ("neg", "pos")
    nulls = _jsonl(tmp_path, "nulls.jsonl",
                   [{"text": f"t {i}", "label": None if i % 8 == 0 else i % 2} for i in range(N)])
    _notes(nulls, "classify", "whose label ('label') is blank")
    unlabelled = _jsonl(tmp_path, "test.jsonl", [{"text": "t", "label": None}] * 5)
    prepared = prepare(DataConfig(data_files=(("train", nulls), ("validation", nulls),
                                              ("test", unlabelled)), batch_size=4))
    assert "test" not in prepared.splits and "test: left out, no usable rows" in prepared.notes


def test_labels_outside_the_named_classes_are_named_and_counted(tmp_path):
    train = _jsonl(tmp_path, "train.jsonl",
                   [{"text": f"t {i}", "label": ["x", "y"][i % 2]} for i in range(N)])
    dev = _jsonl(tmp_path, "dev.jsonl", [{"text": "a", "label": "x"}, {"text": "b", "label": "z"},
                                         {"text": "c", "label": "w"}])
    result = prepare_error(DataConfig(data_files=(("train", train), ("validation", dev))))
    assert "label 'z' in column 'label' is not one of the 2 labels (x, y)" in result
    assert "2 of 3 labels are outside them" in result and "'w'" in result
    assert result.startswith("validation:") and "fix or drop those rows" in result
    negative = _jsonl(tmp_path, "neg.jsonl",
                      [{"text": f"t {i}", "label": -3 if i == 5 else i % 2} for i in range(N)])
    _error(negative, "label -3 in column 'label' is not one of", "1 of ")
    # ints without names: a stray value is visible in the notes, not silently 8 classes
    stray = _jsonl(tmp_path, "stray.jsonl",
                   [{"text": f"t {i}", "label": 7 if i == 3 else i % 2} for i in range(N)])
    config = DataConfig(data_files=(("train", stray), ("validation", stray)), batch_size=4)
    notes = " | ".join(prepare(config).notes)
    assert "no examples of labels '2', '3', '4'" in notes
    assert "label '7' occurs in only one of 40 rows" in notes


def prepare_error(config) -> str:
    with pytest.raises(DataError) as err:
        prepare(config)
    assert "--" not in str(err.value)
    return str(err.value)


def test_a_single_class_is_refused_instead_of_scoring_100_percent(tmp_path):
    path = _csv(tmp_path, "one.csv", "text,label", [f"film {i},pos" for i in range(N)])
    _error(path, "every training row has the same label ('pos', 36 of 36 rows)",
           "at least 2 classes", "label_column=")
    tags = _jsonl(tmp_path, "o.jsonl", [{"tokens": ["a", "b"], "tags": ["O", "O"]}] * N)
    _error(tags, "every training word has the same tag ('O'", "at least 2 classes")


def test_a_label_like_numeric_column_asks_which_task(tmp_path):
    path = _csv(tmp_path, "stars.csv", "text,stars", [f"film {i},{i % 5 + 1}" for i in range(N)])
    _error(path, "cannot tell the task", "'stars' could be its label",
           "label_column='stars'", "task='lm'")
    assert _load(path, label_column="stars").task == "classify"
    assert _load(path, task="lm").task == "lm"
    verdicts = _csv(tmp_path, "verdicts.csv", "review,verdict",
                    [f"film {i},{['liked', 'disliked'][i % 2]}" for i in range(N)])
    _notes(verdicts, "lm", "task lm detected from 'review' alone", "'verdict' has 2 distinct",
           "label_column='verdict'")  # a name detection does not know: kept as lm, said so
    multi = _jsonl(tmp_path, "multi.jsonl", [{"text": "a b", "labels": [0, 1]}] * N)
    _error(multi, "column 'labels' holds a list of labels per row", "task='tag'",
           "multi-label")


def test_mixed_names_and_numbers_are_read_as_names_with_a_note(tmp_path):
    path = _jsonl(tmp_path, "mixed.jsonl", [{"text": f"t {i}", "label": "pos" if i % 2 else 0}
                                            for i in range(N)])
    prepared = _notes(path, "classify", "mixes names and numbers", "read as names")
    assert prepared.label_names == ("0", "pos")


# --- text cells ---------------------------------------------------------------------------

def test_blank_text_cells_are_dropped_and_counted_not_crashing_the_tokenizer(tmp_path):
    path = _csv(tmp_path, "blank.csv", "text,label",
                [f"{'' if i % 5 == 0 else 'a film'},{['neg', 'pos'][i % 2]}" for i in range(N)])
    prepared = _notes(path, "classify", "whose text ('text') is blank")
    kept = sum(s["examples"] for s in prepared.stats.values())
    assert kept == N - N // 5
    spaces = _jsonl(tmp_path, "spaces.jsonl", [{"text": "   " if i % 5 == 0 else f"t {i}",
                                                "label": i % 2} for i in range(N)])
    _notes(spaces, "classify", "whose text ('text') is blank")


def test_numbers_in_a_text_column_are_read_as_text_and_lists_are_refused(tmp_path):
    numbers = _jsonl(tmp_path, "numbers.jsonl", [{"text": i if i % 4 == 0 else f"t {i}",
                                                  "label": i % 2} for i in range(N)])
    _notes(numbers, "classify", "cells of 'text' were numbers, read as text")
    lists = _jsonl(tmp_path, "lists.jsonl", [{"text": ["a", "b"] if i % 4 == 0 else f"t {i}",
                                              "label": i % 2} for i in range(N)])
    _error(lists, "column 'text'", "holds lists, not text", "e.g. ['a', 'b']", "task='tag'")
    digits = _csv(tmp_path, "digits.csv", "text,label", [f"{i},{i % 2}" for i in range(N)])
    _error(digits, "no text column found", "text: int64 values", "text_column=")


def test_empty_targets_are_dropped_and_counted(tmp_path):
    path = _jsonl(tmp_path, "pairs.jsonl", [{"source": f"a b {i}",
                                             "target": "" if i % 4 == 0 else f"b a {i}"}
                                            for i in range(N)])
    prepared = _notes(path, "seq2seq", "whose target ('target') is blank")
    assert sum(s["examples"] for s in prepared.stats.values()) == N - N // 4


# --- files --------------------------------------------------------------------------------

def test_a_header_only_file_and_blank_files_say_so(tmp_path):
    _error(_csv(tmp_path, "header.csv", "text,label", []),
           "holds only a header line ('text,label') and no rows")
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n\n")
    _error(str(blank), "holds only blank lines")
    empty_lines = tmp_path / "empty.txt"
    empty_lines.write_text("\n\n\n\n")
    _error(str(empty_lines), "text", "empty")


def test_a_non_utf8_file_names_the_line_and_the_encoding(tmp_path):
    rows = [f"caf\u00e9 {i},{['neg', 'pos'][i % 2]}" for i in range(N)]
    for name in ("latin.csv", "latin.txt"):
        path = _csv(tmp_path, name, "text,label", rows, encoding="latin-1")
        _error(path, "is not UTF-8 text", "byte 0xe9 on line 2", "cp1252", "UTF-8")
    utf16 = _csv(tmp_path, "wide.csv", "text,label", rows, encoding="utf-16")
    _error(utf16, "is not UTF-8 text", "utf-16")


def test_a_malformed_json_line_is_named_by_its_number(tmp_path):
    good = [json.dumps({"text": f"t {i}", "label": i % 2}) for i in range(N)]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(good[:10] + ['{"text": "oops", label: 1}'] + good[10:]) + "\n")
    _error(str(path), "line 11 is not valid JSON", "oops", "fix or delete that line")
    scalar = tmp_path / "scalar.jsonl"
    scalar.write_text("\n".join(good[:3] + ['"just a string"'] + good[3:]) + "\n")
    _error(str(scalar), "line 4 holds a str", "not an object")
    array = tmp_path / "array.json"
    array.write_text(json.dumps([json.loads(g) for g in good], indent=1)[:-3])
    _error(str(array), "is not valid JSON", "line ")


def test_a_one_line_text_file_for_language_modelling(tmp_path):
    long = tmp_path / "book.txt"
    long.write_text(" ".join(f"word{i % 50}" for i in range(2000)) + "\n")
    prepared = _notes(str(long), "lm", "one line of text", "held out its last")
    assert prepared.stats["validation"]["tokens"] > 8
    short = tmp_path / "line.txt"
    short.write_text("just one line of text\n")
    _error(str(short), "tokens", "fewer than one window of max_len + 1 = 9", "max_len=")
    single = _jsonl(tmp_path, "one.jsonl", [{"text": "a film", "label": 1}])
    _error(single, "a single example", "validation")


def test_conll_style_json_of_word_and_tag_lists_is_tagging_without_task(tmp_path):
    rows = [{"tokens": ["John", "lives", "in", "Paris"], "tags": ["B-PER", "O", "O", "B-LOC"]},
            {"tokens": ["Ann", "left"], "tags": ["B-PER", "O"]}] * 20
    prepared = _notes(_jsonl(tmp_path, "ner.jsonl", rows), "tag", "string labels mapped")
    assert prepared.columns.text == "tokens" and prepared.columns.label == "tags"
    assert prepared.label_names == ("B-LOC", "B-PER", "O")
    ints = [{"words": ["a", "b"], "ner_tags": [0, 1]}] * N
    assert _load(_jsonl(tmp_path, "ints.jsonl", ints)).task == "tag"
    odd = rows + [{"tokens": ["x", "y"], "tags": ["O"]}]
    _error(_jsonl(tmp_path, "odd.jsonl", odd), "2 words in 'tokens' but 1 tags",
           "align with words")


def test_detection_never_leaves_a_named_label_column_unused(tmp_path):
    """A column named like a label makes the task classify (or an error) whatever its
    type: floats, blanks, booleans, mixed values."""
    cases = {
        "floats": [0.5, 1.5], "blank ints": [None, 1, 0], "bools": [True, False],
        "mixed": ["a", 1], "whole floats": [0.0, 1.0],
    }
    for name, values in cases.items():
        path = _jsonl(tmp_path, f"{name}.jsonl",
                      [{"text": f"t {i}", "label": values[i % len(values)]} for i in range(N)])
        result = _load(path)
        assert isinstance(result, DataError) or result.task == "classify", name


# --- the same message in the app and the CLI -----------------------------------------------

def test_the_app_and_the_cli_show_the_same_data_message(tmp_path):
    path = _csv(tmp_path, "scores.csv", "text,label", [f"film {i},{i % 3 + 0.5}" for i in range(N)])
    expected = prepare_error(DataConfig(dataset=path))
    wb = app.Workbench(runs_dir=None, precompile=False)
    wb.dataset.value = path
    assert wb.task.value == "auto"
    wb.load_button.click()
    assert wb.wait(60)
    assert wb.error_messages and expected in wb.error_messages[-1]
    cli = subprocess.run([sys.executable, "-m", "workbench", "data", "--dataset", path],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and expected in cli.stderr and "Traceback" not in cli.stderr


# --- offline without an environment variable ----------------------------------------------

def test_offline_without_the_env_variable_presets_use_their_stand_in(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    calls = []

    def unreachable():
        calls.append(1)
        return False

    monkeypatch.setattr(hub, "reachable", unreachable)
    assert hub.hub_offline() and "no network" in hub.offline_reason()
    model_data, _, _, description = preset_configs("bigru-trec")
    assert model_data.dataset == "sentiment" and "Offline (no network" in description
    preset_configs("bigru-trec")
    assert len(calls) == 1, "the probe is remembered, not repeated on every preset"
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"'someone/x'.*no network.*built-in"):
        prepare(DataConfig(dataset="someone/x"))
    assert time.perf_counter() - start < 5
    monkeypatch.setattr(hub, "reachable", lambda: True)
    assert not hub.hub_offline()
    assert preset_configs("bigru-trec")[0].dataset == "trec"


def test_the_reachability_probe_is_bounded_even_if_the_resolver_hangs(monkeypatch):
    def hang(*args, **kwargs):
        time.sleep(3)
        raise OSError("timed out")

    monkeypatch.setattr(hub.socket, "create_connection", hang)
    start = time.perf_counter()
    assert hub.reachable(timeout=0.2) is False
    assert time.perf_counter() - start < 2


# --- setup JSON: all or nothing -----------------------------------------------------------

def _form():
    form = SetupForm()
    form.fields["hidden"].value, form.fields["dataset"].value = 48, "parity"
    return form


@pytest.mark.parametrize("text, names", [
    ('{"workbench_setup": 1, "modle": {"hidden": 8}}', ["'modle'", "did you mean 'model'"]),
    ('{"workbench_setup": 1, "model": {"hiden": 8}}', ["'hiden'", "did you mean 'hidden'"]),
    ('{"workbench_setup": 1, "model": {"hidden": "big"}, "train": {"lr": "fast"}}',
     ["hidden='big': expected a whole number", "lr='fast': expected a number"]),
    ('{"workbench_setup": 1, "model": {"bidirectional": 1}}', ["bidirectional=1", "true or false"]),
    ('{"workbench_setup": 1, "data": {"dataset": "sentiment", "max_len": 8.5}}', ["max_len=8.5"]),
    ('{"workbench_setup": 1, "data": {"data_files": "a.csv"}}',
     ["data_files='a.csv'", "[split, path]"]),
    ('{"workbench_setup": 1, "train": {"lr": Infinity}}', ["lr=inf", "finite"]),
    ('{"workbench_setup": 1, "model": {"arch": "lstn"}}', ["arch='lstn'", "elman, lstm"]),
    ('{"workbench_setup": 1, "model": {"hidden": 30, "heads": 4, "arch": "transformer"}}',
     ["heads=4 must divide hidden=30"]),
    ('{"workbench_setup": 1, "data": [1, 2]}', ["DataConfig section must be an object"]),
    ('{"workbench_setup": 2}', ["not a workbench setup"]),
    ("{'workbench_setup': 1}", ["not valid JSON", "line 1"]),
])
def test_a_bad_setup_json_changes_nothing_and_names_the_field(text, names):
    form = _form()
    before, note = form.values(), form.setup_note.value
    with pytest.raises(ConfigError) as err:
        form.load_json(text)
    for name in names:
        assert name in str(err.value)
    assert "nothing was changed" in str(err.value)
    assert form.values() == before and form.setup_note.value == note
    with pytest.raises(ConfigError):
        parse_setup(text)  # the module function refuses the same text


def test_every_clamp_is_reported_in_the_panel():
    form = _form()
    notes = form.load_json(json.dumps({"workbench_setup": 1,
                                       "data": {"max_len": 100000, "dataset": "parity"},
                                       "train": {"lr": 1e6}}))
    assert form.fields["max_len"].value == 2048 and form.fields["lr"].value == 1.0
    assert any("max_len=100000" in n and "1..2048" in n and "set to 2048" in n for n in notes)
    assert any("lr=1000000.0" in n and "set to 1.0" in n for n in notes)
    assert "max_len=100000" in form.setup_note.value and "lr=" in form.setup_note.value
    form.load_json('{"workbench_setup": 1, "train": {"lr": 0.01}}')
    assert form.setup_note.value == ""  # a clean fill clears the note


def test_a_partial_setup_keeps_the_rest_of_the_form():
    form = _form()
    form.load_json('{"workbench_setup": 1, "train": {"steps": 77}}')
    assert form.fields["steps"].value == 77
    assert form.fields["hidden"].value == 48 and form.fields["dataset"].value == "parity"


def test_a_setup_exported_with_the_task_under_model_still_imports():
    """Setups exported while ModelConfig held the task named it under 'model' (the task
    the data had); it becomes the data's task, unless the data names its own."""
    data, model, _ = parse_setup('{"workbench_setup": 1, "data": {"dataset": "prose"}, '
                                 '"model": {"task": "lm", "hidden": 24}}')
    assert data.task == "lm" and model.hidden == 24
    data, _, _ = parse_setup('{"workbench_setup": 1, "data": {"task": "classify"}, '
                             '"model": {"task": "lm"}}')
    assert data.task == "classify"


def test_fill_restores_the_form_when_a_widget_refuses_a_value():
    form = _form()
    before = form.values()
    data_config, model, train = parse_setup('{"workbench_setup": 1}')
    object.__setattr__(train, "optimizer", "bogus")  # past validation: a widget refuses it
    with pytest.raises(Exception):  # noqa: B017 - the widget's own TraitError
        form.fill(data_config, model, train)
    assert form.values() == before and not form.filling


def test_the_app_refuses_a_misspelt_section_without_touching_the_form():
    wb = app.Workbench(runs_dir=None, precompile=False)
    before = wb.form.values()
    assert not wb.load_setup_json('{"workbench_setup": 1, "modle": {"hidden": 8}}')
    assert "'modle'" in wb.error_messages[-1] and wb.form.values() == before
    assert not wb.load_setup_json('{"workbench_setup": 1, "model": {"hidden": "x"}}')
    assert "hidden='x'" in wb.error_messages[-1] and wb.form.values() == before


# --- the form follows the user ------------------------------------------------------------

def test_changing_the_dataset_resets_the_task_and_columns():
    form = SetupForm()
    form.fields["dataset"].value = "sentiment"
    form.fields["task"].value, form.fields["label_column"].value = "classify", "stars"
    form.fields["dataset"].value = "reverse"
    assert form.fields["task"].value == "auto" and form.fields["label_column"].value == ""
    form.fill(*parse_setup('{"workbench_setup": 1, "data": {"dataset": "sentiment", '
                           '"task": "classify"}}'))
    assert form.fields["task"].value == "classify"  # a fill sets both, and keeps both


@pytest.mark.parametrize("arch, task, dataset, off, on", [
    ("transformer", "classify", "sentiment", {"bidirectional", "attention", "tie_weights",
                                              "label_column"}, {"heads", "pooling"}),
    ("gru", "seq2seq", "reverse", {"heads", "pooling", "tie_weights"},
     {"attention", "bidirectional", "difficulty"}),
    ("lstm", "lm", "prose", {"bidirectional", "difficulty", "attention", "pooling"},
     {"tie_weights", "size"}),
    ("lstm", None, "my.csv", {"difficulty", "size", "heads"},
     {"label_column", "target_column", "hub_config", "pooling"}),
])
def test_controls_that_do_not_apply_are_greyed_with_a_reason(arch, task, dataset, off, on):
    form = SetupForm()
    form.fields["dataset"].value, form.fields["arch"].value = dataset, arch
    form.sync_enabled(task)
    for name in off:
        assert form.fields[name].disabled and form.fields[name].tooltip, name
    for name in on:
        assert not form.fields[name].disabled, name
    form.fields["label_column"].value = "stale"  # a name that is read stays editable
    form.sync_enabled(task)
    assert not form.fields["label_column"].disabled


def test_a_greyed_bidirectional_box_does_not_break_the_model():
    form = SetupForm()
    form.fields["bidirectional"].value = True
    form.fields["arch"].value = "transformer"
    assert not form.model_config("classify").bidirectional
    assert not form.model_config("lm").bidirectional
    form.fields["arch"].value = "gru"
    assert form.model_config("classify").bidirectional  # the value was kept
    assert not form.setup("lm")["model"]["bidirectional"]  # and exports a valid setup
