"""Metrics agree with the references that define them: seqeval (conlleval chunking) for
entities, sacrebleu for BLEU, and hand-computed numbers for classification."""

import math
import warnings

import numpy as np
import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval import metrics as seqeval
from seqeval.metrics.sequence_labeling import get_entities

from workbench.tasks.metrics import (
    bits_per_token,
    bleu,
    classification_report,
    confusion_matrix,
    entity_scores,
    entity_spans,
    exact_match,
    perplexity,
    token_accuracy,
)


def seqeval_scores(true_seqs, pred_seqs):
    """seqeval's default (non-strict, conlleval) micro scores and per-type report."""
    with warnings.catch_warnings():  # UndefinedMetricWarning on 0/0, from seqeval/sklearn
        warnings.simplefilter("ignore")
        micro = {name: fn(true_seqs, pred_seqs) for name, fn in (
            ("precision", seqeval.precision_score), ("recall", seqeval.recall_score),
            ("f1", seqeval.f1_score))}
        report = seqeval.classification_report(true_seqs, pred_seqs, output_dict=True)
    per_type = {k: v for k, v in report.items() if not k.endswith(" avg")}
    return micro, per_type


def assert_matches_seqeval(true_seqs, pred_seqs, scheme):
    ours = entity_scores(true_seqs, pred_seqs, scheme=scheme)
    micro, per_type = seqeval_scores(true_seqs, pred_seqs)
    for name, value in micro.items():
        assert ours[name] == pytest.approx(value), name
    assert set(ours["per_type"]) == set(per_type)
    for kind, theirs in per_type.items():
        mine = ours["per_type"][kind]
        assert mine["support"] == theirs["support"]
        for name in ("precision", "recall"):
            assert mine[name] == pytest.approx(theirs[name])
        assert mine["f1"] == pytest.approx(theirs["f1-score"])


# --- entity spans -----------------------------------------------------------------------

BIO_CASES = [
    (["O", "I-PER", "I-PER"], [("PER", 1, 3)]),                              # I- after O
    (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 3)]),           # type switch
    (["B-PER", "I-PER", "B-PER"], [("PER", 0, 2), ("PER", 2, 3)]),           # B- after I-
    (["B-PER", "B-PER", "I-LOC"], [("PER", 0, 1), ("PER", 1, 2), ("LOC", 2, 3)]),
    (["O", "O", "B-ORG", "I-ORG"], [("ORG", 2, 4)]),                         # at the end
    (["O", "O", "O"], []),
    ([], []),
    (["B", "I", "O"], [("_", 0, 2)]),                                        # untyped, as seqeval
]

# IOB1 as conlleval reads it: I- starts or continues; B- only splits same-type neighbours.
IOB1_CASES = [
    (["I-PER", "I-PER", "B-PER", "O"], [("PER", 0, 2), ("PER", 2, 3)]),
    (["O", "I-LOC", "I-LOC", "O", "I-ORG"], [("LOC", 1, 3), ("ORG", 4, 5)]),
    (["I-PER", "I-LOC", "B-LOC", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 2), ("LOC", 2, 4)]),
    (["I-MISC", "B-MISC", "B-MISC"], [("MISC", 0, 1), ("MISC", 1, 2), ("MISC", 2, 3)]),
    (["O", "B-PER"], [("PER", 1, 2)]),                    # a stray B- still starts an entity
]


@pytest.mark.parametrize("tags, spans", BIO_CASES)
def test_bio_spans(tags, spans):
    assert entity_spans(tags, "BIO") == spans


@pytest.mark.parametrize("tags, spans", IOB1_CASES)
def test_iob1_spans_are_conlleval(tags, spans):
    assert entity_spans(tags, "IOB1") == spans


@pytest.mark.parametrize("tags, spans", BIO_CASES + IOB1_CASES)
def test_spans_equal_seqeval_get_entities(tags, spans):
    assert [(k, s, e + 1) for k, s, e in get_entities(list(tags))] == spans


def test_unprefixed_tags_are_inside_tags():
    assert entity_spans(["PER", "PER", "O", "B-LOC", "LOC"]) == [("PER", 0, 2), ("LOC", 3, 5)]


# --- entity scores vs seqeval -----------------------------------------------------------

TRICKY = [
    # (true, pred): I- after O, type switch, B- after I-, entity at the end, all O
    ([["O", "B-PER", "I-PER", "O"]], [["O", "I-PER", "I-PER", "O"]]),
    ([["B-PER", "I-PER", "I-PER"]], [["B-PER", "I-LOC", "I-PER"]]),
    ([["B-LOC", "I-LOC", "B-LOC"]], [["B-LOC", "I-LOC", "I-LOC"]]),
    ([["O", "O", "B-ORG"], ["B-PER", "O"]], [["O", "O", "B-ORG"], ["O", "B-PER"]]),
    ([["O", "O"], ["O"]], [["O", "O"], ["O"]]),
    ([["O", "O"]], [["B-PER", "O"]]),
    ([["B-MISC", "O"]], [["O", "O"]]),
]


@pytest.mark.parametrize("true_seqs, pred_seqs", TRICKY)
def test_bio_scores_match_seqeval(true_seqs, pred_seqs):
    assert_matches_seqeval(true_seqs, pred_seqs, "BIO")


@pytest.mark.parametrize("true_seqs, pred_seqs", [([t], [p]) for t, _ in IOB1_CASES
                                                  for p, _ in IOB1_CASES if len(t) == len(p)])
def test_iob1_scores_match_seqeval_default_mode(true_seqs, pred_seqs):
    # seqeval's default mode is conlleval's chunker, which reads IOB1 and IOB2 alike.
    assert_matches_seqeval(true_seqs, pred_seqs, "IOB1")


def test_entity_scores_hand_counted():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-PER"], ["O", "O"]]
    scores = entity_scores(true, pred)  # 1 hit, 2 predicted, 3 true
    assert scores["precision"] == 0.5 and scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(0.4)
    assert scores["per_type"]["PER"] == {"precision": 0.5, "recall": 1.0,
                                         "f1": pytest.approx(2 / 3), "support": 1}
    assert scores["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                         "support": 1}


TAGS = st.sampled_from(["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-MISC"])


@st.composite
def tagged_pairs(draw):
    """Pairs of tag sequences; each predicted tag is often the true one, so spans match."""
    lengths = draw(st.lists(st.integers(0, 8), min_size=1, max_size=4))  # seqeval needs >= 1
    true = [draw(st.lists(TAGS, min_size=n, max_size=n)) for n in lengths]
    pred = [[draw(st.one_of(st.just(t), TAGS)) for t in seq] for seq in true]
    return true, pred


@settings(max_examples=200, deadline=None)
@given(tagged_pairs(), st.sampled_from(["BIO", "IOB1"]))
def test_random_sequences_match_seqeval(pair, scheme):
    true_seqs, pred_seqs = pair
    assert_matches_seqeval(true_seqs, pred_seqs, scheme)
    for seq in true_seqs:
        assert entity_spans(seq, "BIO") == entity_spans(seq, "IOB1")


def test_token_accuracy():
    assert token_accuracy([["O", "B-PER"], ["I-PER"]], [["O", "B-LOC"], ["I-PER"]]) == 2 / 3
    assert token_accuracy([], []) == 0.0


# --- classification ---------------------------------------------------------------------

Y_TRUE = [0, 0, 0, 1, 1, 2, 2, 2]
Y_PRED = [0, 0, 2, 0, 2, 2, 2, 0]  # class 1 is never predicted: its precision is 0/0 -> 0


def test_confusion_matrix_hand_computed():
    cm = confusion_matrix(Y_TRUE, Y_PRED, 3)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, [[2, 0, 1], [1, 0, 1], [1, 0, 2]])
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(Y_TRUE))
    np.testing.assert_array_equal(confusion_matrix([], [], 2), np.zeros((2, 2)))


def test_classification_report_hand_computed():
    report = classification_report(np.array(Y_TRUE), np.array(Y_PRED), ["neg", "neu", "pos"])
    assert report["accuracy"] == 0.5
    per = report["per_class"]
    # neg: 2 right of 4 predicted, of 3 true -> P 1/2, R 2/3, F1 4/7 (pos is the same)
    for name in ("neg", "pos"):
        assert per[name] == {"precision": 0.5, "recall": pytest.approx(2 / 3),
                             "f1": pytest.approx(4 / 7), "support": 3}
    assert per["neu"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert report["macro_f1"] == pytest.approx(8 / 21)
    assert report["confusion"] == [[2, 0, 1], [1, 0, 1], [1, 0, 2]]
    assert [sum(row) for row in report["confusion"]] == [s["support"] for s in per.values()]


# --- generation -------------------------------------------------------------------------

BLEU_CASES = [
    (["the cat sat on the mat", "a dog ran in the park today"],
     ["the cat is sitting on the mat", "a dog ran in the park"]),
    (["hello world , how are you ?"], ["hello world, how are you?"]),
    (["completely different words here"], ["nothing in common at all"]),
]


@pytest.mark.parametrize("hyps, refs", BLEU_CASES)
def test_bleu_is_sacrebleu(hyps, refs):
    assert bleu(hyps, refs) == sacrebleu.corpus_bleu(hyps, [refs]).score


def test_bleu_identical_text_is_100():
    text = ["the quick brown fox jumps over the lazy dog", "one two three four five"]
    assert bleu(text, text) == pytest.approx(100.0)
    assert bleu([], []) == 0.0


def test_exact_match_normalises_whitespace():
    hyps = ["  a  b\tc\n", "x y", "Case", ""]
    refs = ["a b c", "x  y ", "case", "   "]
    assert exact_match(hyps, refs) == 0.75
    assert exact_match([], []) == 0.0


# --- language models --------------------------------------------------------------------

def test_perplexity_and_bits():
    assert perplexity(math.log(5)) == pytest.approx(5.0)
    assert perplexity(0.0) == 1.0
    assert bits_per_token(math.log(2)) == pytest.approx(1.0)
    assert bits_per_token(np.float32(math.log(256))) == pytest.approx(8.0)


def test_huge_loss_gives_inf_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert perplexity(1e6) == math.inf
        assert perplexity(np.float64(1e4)) == math.inf
        assert perplexity(math.inf) == math.inf


# --- bad inputs -------------------------------------------------------------------------

@pytest.mark.parametrize("call, pattern", [
    (lambda: entity_scores([["O", "O"], ["O"]], [["O", "O"], ["O", "O"]]),
     r"sequence 1 has 1 true tags but 2 predicted tags"),
    (lambda: entity_scores([["O"]], []), r"true_seqs has 1 sequences but pred_seqs has 0"),
    (lambda: token_accuracy([["O"]], [["O", "O"]]), r"sequence 0 has 1 true .* 2 predicted"),
    (lambda: entity_spans(["O"], scheme="IOBES"),
     r"scheme='IOBES' is not supported; choose one of BIO, IOB1"),
    (lambda: entity_scores([["O"]], [["O"]], scheme="BILOU"), r"scheme='BILOU'.*BIO, IOB1"),
    (lambda: entity_spans(["O", "E-PER"]), r"'E-PER' at position 1 uses prefix E-"),
    (lambda: entity_spans(["O", 3]), r"tag 3 at position 1 is int, not a tag string"),
    (lambda: bleu(["a", "b", "c"], ["a", "b"]), r"hypotheses has 3 .* references has 2"),
    (lambda: exact_match(["a"], []), r"hypotheses has 1 .* references has 0"),
    (lambda: bleu("a b", "a b"), r"hypotheses must be a sequence of strings"),
    (lambda: confusion_matrix([0, 1], [0], 2), r"y_true has 2 labels but y_pred has 1"),
    (lambda: confusion_matrix([0, 3], [0, 1], 3), r"y_true holds class id 3, outside \[0, 3\)"),
    (lambda: confusion_matrix([0.5], [0], 2), r"y_true must be a flat sequence of integer"),
    (lambda: confusion_matrix([0], [0], 0), r"n_classes=0 must be an integer >= 1"),
    (lambda: classification_report([0], [0], ["a", "a"]), r"distinct; repeated: a"),
])
def test_bad_inputs_are_named(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
