"""The Inspect panel on its own: it says what to do without a model, its views follow the
current model, typed text in a tagger has no right or wrong, seq2seq rows are the tokens
each decoder step produced, saliency reads as coloured text, and titles show quotes as
quotes. Models are small and barely trained: these tests check what is shown, not
what is learnt."""

import re

import numpy as np
import pytest

from workbench import DataConfig, ModelConfig, prepare
from workbench.config import ConfigError, TrainConfig
from workbench.data.tokenizer import EOS
from workbench.infer import analysis
from workbench.tasks.batches import model_inputs
from workbench.train.trainer import Trainer
from workbench.ui import app
from workbench.ui.inspect import InspectPanel
from workbench.ui.inspect_views import produced_ids, saliency_text_html, tags_html
from workbench.ui.trace_views import attention_entries

DATA = {
    "classify": DataConfig(dataset="sentiment", size=200, max_len=16, batch_size=16),
    "lm": DataConfig(dataset="prose", tokenizer="char", max_len=32, batch_size=16),
    "tag": DataConfig(dataset="brackets-depth", size=200, max_len=24, batch_size=16),
    "seq2seq": DataConfig(dataset="reverse", size=200, max_len=16, batch_size=16),
}
NO_MODEL = "train a model or make a run current in Compare first"


def trainer(task: str, steps: int = 0, seed: int = 0) -> Trainer:
    t = Trainer(prepare(DATA[task]), ModelConfig(arch="gru", hidden=16, embed=8),
                TrainConfig(steps=max(steps, 1), chunk=5, eval_every=0, lr=3e-3, seed=seed))
    if steps:
        t.fit()
    return t


class Harness:
    """A panel whose current model the test sets, and the errors it reported."""

    def __init__(self, current=None):
        self.model, self.errors = current, []
        self.panel = InspectPanel(lambda where, err: self.errors.append((where, err)),
                                  lambda: self.model)


def hidden(box) -> bool:
    return box.layout.display == "none"


def panel_text(panel: InspectPanel) -> str:
    return " ".join((panel.note.value, panel.result.value, panel.saliency_text.value,
                     panel.tags_text.value, panel.neuron_note.value, panel.views.caption.value))


@pytest.fixture(scope="module")
def classifiers():
    return trainer("classify"), trainer("classify", seed=1)


def test_no_model_says_what_to_do_without_a_traceback():
    wb = app.Workbench(precompile=False, runs_dir=None, smoke=True)
    p = wb.inspect_panel
    for button in (p.run_button, p.trajectory_button, p.search_button):
        button.click()
        assert NO_MODEL in p.note.value
    assert wb.error_messages == []
    shown_text = "".join(o.get("text", "") for o in wb.errors.outputs) + panel_text(p)
    assert "Traceback" not in shown_text and "Error" not in shown_text


def test_views_clear_when_the_model_changes(classifiers):
    first, second = classifiers
    h = Harness(first)
    p = h.panel
    p.run("the soup was not good")
    p.show_trajectory()
    p.search(r"\bnot\b")
    assert not hidden(p.trajectory_box) and not hidden(p.neurons_box)
    assert p.views.trace is not None and "Probabilities" in p.result.value

    h.model = second  # the app says so: everything goes
    p.model_changed()
    assert hidden(p.trajectory_box) and hidden(p.neurons_box)
    assert p.views.trace is None and p.result.value == "" and p.saliency_text.value == ""
    assert hidden(p.task_figs["saliency"]) and "changed" in p.note.value

    p.run("the soup was not good")
    p.show_trajectory()
    h.model = None  # Reset
    p.model_changed()
    assert hidden(p.trajectory_box) and p.views.trace is None and NO_MODEL in p.note.value
    assert h.errors == []


def test_the_panel_finds_a_changed_model_by_itself(classifiers):
    first, second = classifiers
    h = Harness(first)
    p = h.panel
    p.run("the soup was not good")
    p.show_trajectory()
    h.model = second  # nobody calls model_changed
    p.search(r"\bnot\b")
    assert hidden(p.trajectory_box), "the first model's PCA is gone"
    assert not hidden(p.neurons_box) and p.views.trace is None
    p.run()
    assert not hidden(p.neurons_box), "same model: the search follows the new text"
    h.model = None
    p.run()
    assert hidden(p.neurons_box) and p.views.trace is None and NO_MODEL in p.note.value
    assert h.errors == []


def test_the_same_model_trained_further_is_another_model():
    t = trainer("classify")
    h = Harness(t)
    h.panel.run("the soup was good")
    h.panel.show_trajectory()
    t.run(1)
    h.panel.search(r"\bgood\b")
    assert hidden(h.panel.trajectory_box) and not hidden(h.panel.neurons_box)


def test_saliency_as_coloured_text_one_span_per_token(classifiers):
    h = Harness(classifiers[0])
    h.panel.run("the soup was not good")
    text = h.panel.saliency_text.value
    assert len(re.findall(r'<span class="wb-token"', text)) == 5
    assert "background-color: rgba(" in text and "wb-saliency-legend" in text
    assert not hidden(h.panel.saliency_text.widget)
    assert len(h.panel.saliency.fig.data[0].y) == 5  # the bars are still there


def test_saliency_html_scale_separators_and_escaping():
    out = saliency_text_html(["<b>", "ok", "no"], np.array([0.5, 0.0, -1.0]), "pos")
    spans = re.findall(r'<span class="wb-token"[^>]*>([^<]*)</span>', out)
    assert spans == ["&lt;b&gt;", "ok", "no"]
    assert "rgba(214, 39, 40, 0.50)" in out and "rgba(31, 119, 180, 1.00)" in out
    assert "-1 away from pos" in out and "+1 toward pos" in out
    assert "</span> <span" in out
    joined = saliency_text_html(list("ab c"), np.ones(4), "x", joined=True)
    assert "</span><span" in joined and "pre-wrap" in joined
    with pytest.raises(ValueError):
        saliency_text_html(["a"], np.ones(2), "x")


def test_typed_text_in_a_tagger_shows_predictions_only():
    h = Harness(trainer("tag"))
    p = h.panel
    p.run("( ( ) )")
    assert hidden(p.tags_box) and not hidden(p.tags_text.widget)
    assert p.tags_text.value.count('class="wb-tagged"') == 4
    assert "wrong" not in panel_text(p) and "?" not in p.tags_text.value
    p.run("")  # a validation example has true tags: mistakes are counted
    assert not hidden(p.tags_box) and hidden(p.tags_text.widget)
    assert re.search(r"\d+ of \d+ wrong", p.tags.fig.layout.title.text)
    assert h.errors == []


def test_tags_html_escapes():
    out = tags_html(["<x>", "y"], ["B-PER", "O"])
    assert "&lt;x&gt;" in out and "B-PER" in out and out.count("wb-tagged") == 2


def test_produced_ids():
    assert produced_ids([7, 8], True, 3) == [7, 8, EOS]
    assert produced_ids([7, 8, 9], False, 3) == [7, 8, 9]
    assert produced_ids([7, 8], True, 2) == [7, 8]


def test_seq2seq_rows_are_the_tokens_each_step_produced():
    t = trainer("seq2seq", steps=40)
    h = Harness(t)
    p = h.panel
    p.run("")
    batch, views = p._batch, p.views
    steps = int(batch["dec_mask"][0].sum())
    logits, _ = analysis.probe(t.model, *model_inputs(batch))
    produced = logits[0, :steps].argmax(-1)  # greedy: row i's argmax is output token i
    assert views.dec == t.data.tokenizer.tokens(produced)
    assert views.dec[0] != "[BOS]"
    assert list(batch["dec_tokens"][0][1:steps]) == list(produced[: steps - 1])
    queries = attention_entries(views.trace, views.src, views.dec)["cross-attention"][1]
    assert queries == views.dec
    assert "each step produced" in p.result.value and h.errors == []


def test_generation_title_shows_quotes_as_quotes():
    h = Harness(trainer("lm"))
    h.panel.max_new.value = 5
    h.panel.run('he said "so')
    title = h.panel.generation.fig.layout.title.text
    assert '"' in title and "&quot;" not in title and "&#x27;" not in title
    assert h.errors == []


def test_a_bad_pattern_is_a_plain_message(classifiers):
    h = Harness(classifiers[0])
    with pytest.raises(ConfigError, match="not a regular expression"):
        h.panel.search("(")
    h.panel.pattern.value = "("
    h.panel.search_button.click()
    assert isinstance(h.errors[-1][1], ConfigError)
