"""The generated built-in datasets: one row maker each, ``maker(rng, difficulty) -> row``,
registered with its name, task, labels and description by ``@generated`` (so a new one is
one decorated function here; ``builtin.py`` lists them after ``prose``). Each isolates
one thing a sequence model must do (remember, count, match brackets, align source and
target); each docstring says what its label means and why it is built the way it is.
Pure Python + NumPy, deterministic for a given rng.

Generated text is space-separated symbols, so a word-level tokenizer splits it cleanly.
Columns: classify ``text``/``label``; tag ``tokens``/``tags``; seq2seq ``source``/``target``.
Labels are ids into the names the registry gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

Row = dict[str, Any]
Maker = Callable[[np.random.Generator, int], Row]


class Generated(NamedTuple):
    """A generated built-in: its task, row maker, label names (or ``difficulty -> names``)
    and the description the app's dataset menu and ``python -m workbench datasets`` show."""

    task: str
    make: Maker | None  # None: not generated (``builtin``'s prose)
    labels: tuple[str, ...] | Callable[[int], tuple[str, ...]] | None
    description: str


GENERATED: dict[str, Generated] = {}  # name -> entry, in the menu's order


def generated(name: str, task: str, labels, description: str) -> Callable[[Maker], Maker]:
    """Register the decorated maker as the built-in dataset ``name``."""
    def register(make: Maker) -> Maker:
        GENERATED[name] = Generated(task, make, labels, description)
        return make
    return register


def _pick(rng: np.random.Generator, options: Sequence) -> Any:
    return options[int(rng.integers(len(options)))]


# --- sentiment: a tiny grammar whose meaning needs composition ---------------------------

_NOUNS = tuple("movie film plot acting ending soundtrack script cast director sequel "
               "pasta soup pizza coffee dessert salad burger curry service waiter menu "
               "hotel room staff view book novel album song concert game phone price".split())
_GOOD = tuple("good great excellent wonderful delightful superb charming brilliant tasty "
              "fresh friendly lovely enjoyable clever moving fantastic pleasant beautiful "
              "impressive memorable".split())
_BAD = tuple("bad awful terrible boring bland dull rude stale disappointing mediocre "
             "horrible weak messy forgettable annoying slow poor tedious greasy clumsy".split())
_LIKE = (("love", "loved"), ("enjoy", "enjoyed"), ("like", "liked"), ("adore", "adored"),
         ("appreciate", "appreciated"))
_DISLIKE = (("hate", "hated"), ("dislike", "disliked"), ("regret", "regretted"),
            ("despise", "despised"), ("resent", "resented"))
_INTENSIFIERS = ("very", "really", "extremely", "truly", "quite")
_DOUBT = (("i", "do", "n't", "think"), ("nobody", "would", "say"))   # flips the clause
_BELIEF = (("i", "think"), ("honestly", ","), ("i", "felt"))         # keeps it


def _clause(rng: np.random.Generator, polarity: int, difficulty: int) -> list[str]:
    """Words meaning `polarity` (+1 good / -1 bad): the sentiment word's own polarity times
    -1 for a negation ('not', "n't", 'never') and -1 for a doubting prefix (difficulty >= 2)."""
    negated = rng.random() < min(0.6, 0.2 + 0.1 * difficulty)
    prefix: tuple[str, ...] = ()
    if difficulty >= 2 and rng.random() < 0.4:
        prefix = _pick(rng, _DOUBT if rng.random() < 0.5 else _BELIEF)
    word_polarity = polarity * (-1 if negated else 1) * (-1 if prefix in _DOUBT else 1)
    noun = _pick(rng, _NOUNS)
    if rng.random() < 0.5:  # "the soup was not very tasty"
        adjective = _pick(rng, _GOOD if word_polarity > 0 else _BAD)
        negation = [_pick(rng, ("not", "n't", "never"))] if negated else []
        intensity = [_pick(rng, _INTENSIFIERS)] if rng.random() < 0.4 else []
        words = ["the", noun, _pick(rng, ("is", "was")), *negation, *intensity, adjective]
    else:  # "i never liked the soup"
        base, past = _pick(rng, _LIKE if word_polarity > 0 else _DISLIKE)
        if negated:
            verb = _pick(rng, (["never", past], ["did", "n't", base], ["did", "not", base]))
        else:
            verb = ["really", past] if rng.random() < 0.4 else [past]
        words = ["i", *verb, "the", noun]
    return [*prefix, *words]


@generated("sentiment", "classify", ("negative", "positive"), "Synthetic movie/food/product "
           "sentences with negation, intensifiers and 'but'.")
def sentiment(rng: np.random.Generator, difficulty: int) -> Row:
    """1..difficulty+1 clauses joined by 'and' (same meaning) or 'but' (opposite); the
    clause after the last 'but' decides. Built backwards from the label, so classes are
    balanced and a bag of words cannot tell "not good" from "good"."""
    label = int(rng.integers(2))  # 0 negative, 1 positive
    polarity = 1 if label else -1
    words = _clause(rng, polarity, difficulty)
    for _ in range(int(rng.integers(difficulty + 1))):
        join = _pick(rng, ("and", "but"))
        polarity = -polarity if join == "but" else polarity
        words = [*_clause(rng, polarity, difficulty), join, *words]
    return {"text": " ".join(words), "label": label}


# --- classification: memory and counting -------------------------------------------------

KEYS = tuple("abcdefgh")
_DISTRACTORS = tuple("0123456789")
MIN_GAP = 5  # recall: the shortest gap; the longest is 10 * difficulty


@generated("recall", "classify", KEYS, "Synthetic: recall the first symbol (a-h) after 5 to "
           "10 x difficulty distractor digits.")
def recall(rng: np.random.Generator, difficulty: int) -> Row:
    """Key symbol, then 5..10 * difficulty digits (uniform; 5..10 at difficulty 1), then
    '?': the label is the key, so the model must carry one symbol across the whole gap,
    however long.

    The gap's length varies on purpose. Over a fixed gap an Elman network (orthogonal
    recurrence at the start) learns the task anyway: it can read the key from wherever
    a fixed number of steps has carried it. When the gap varies it has to hold the key
    still: an LSTM's forget gate learns to (watch the cell state stay flat), the short
    gaps teaching it what to keep, while an Elman network holds only a coarse version,
    a few groups of keys it cannot tell apart, at every gap length (presets
    lstm-recall / elman-recall, tests/test_demo_claim.py)."""
    label = int(rng.integers(len(KEYS)))
    gap = int(rng.integers(MIN_GAP, 10 * difficulty + 1))
    noise = [_DISTRACTORS[i] for i in rng.integers(len(_DISTRACTORS), size=gap)]
    return {"text": " ".join([KEYS[label], *noise, "?"]), "label": label}


@generated("parity", "classify", ("even", "odd"), "Synthetic: is the number of 1s in a bit "
           "string even or odd?")
def parity(rng: np.random.Generator, difficulty: int) -> Row:
    """Bits of length about 8 * difficulty; label is the parity of the number of 1s. Every
    bit matters to the end, so one flipped bit flips the answer: the state must toggle at
    every 1, and no single token or bag of tokens gives the label away."""
    length = 8 * difficulty
    n = int(rng.integers(length - length // 4, length + length // 4 + 1))
    bits = rng.integers(2, size=n)
    return {"text": " ".join(str(b) for b in bits), "label": int(bits.sum() % 2)}


@generated("counting", "classify", ("a", "b"), "Synthetic: which of a / b occurs more often "
           "(never a tie)?")
def counting(rng: np.random.Generator, difficulty: int) -> Row:
    """An odd number (7..15 at difficulty 1) of fair a/b draws; label is the majority.
    Margins are often one symbol, so the state must count, not just notice."""
    n = 2 * int(rng.integers(3 * difficulty, 7 * difficulty + 1)) + 1
    draws = rng.integers(2, size=n)
    return {"text": " ".join("ab"[d] for d in draws), "label": int(2 * draws.sum() > n)}


# --- brackets: a stack in disguise -------------------------------------------------------

_OPEN, _CLOSE = "([", ")]"
_FLIP = {"(": "[", "[": "(", ")": "]", "]": ")"}


def _balanced(rng: np.random.Generator, pairs: int, max_depth: int) -> list[str]:
    """A random balanced string of ( ) [ ] with `pairs` pairs, nesting at most `max_depth`."""
    out: list[str] = []
    stack: list[int] = []
    for remaining in range(2 * pairs, 0, -1):
        must_close = len(stack) in (max_depth, remaining)
        if stack and (must_close or rng.random() < 0.5):
            out.append(_CLOSE[stack.pop()])
        else:
            stack.append(int(rng.integers(2)))
            out.append(_OPEN[stack[-1]])
    return out


def _is_balanced(tokens: Sequence[str]) -> bool:
    stack: list[str] = []
    for token in tokens:
        if token in _OPEN:
            stack.append(_CLOSE[_OPEN.index(token)])
        elif not stack or stack.pop() != token:
            return False
    return not stack


def _bracket_tokens(rng: np.random.Generator, difficulty: int) -> list[str]:
    """2..3*difficulty+3 pairs, nested at most difficulty + 2 deep."""
    return _balanced(rng, int(rng.integers(2, 3 * difficulty + 4)), difficulty + 2)


def _near_miss(rng: np.random.Generator, tokens: list[str]) -> list[str]:
    """One edit that unbalances: swap two brackets (2/3; every count is kept) or change one
    bracket's type (1/3; open/close counts kept). Lengths match the balanced strings, so
    neither length nor counting open vs close brackets tells the classes apart."""
    while True:
        bad = list(tokens)
        i, j = (int(k) for k in rng.choice(len(bad), size=2, replace=False))
        if rng.random() < 2 / 3:
            bad[i], bad[j] = bad[j], bad[i]
        else:
            bad[i] = _FLIP[bad[i]]
        if not _is_balanced(bad):
            return bad


@generated("brackets", "classify", ("balanced", "unbalanced"), "Synthetic: is a ( ) [ ] "
           "string balanced? Unbalanced ones are one-edit near misses.")
def brackets(rng: np.random.Generator, difficulty: int) -> Row:
    """Half balanced, half near-misses; deciding needs a stack of open bracket types."""
    tokens = _bracket_tokens(rng, difficulty)
    label = int(rng.integers(2))  # 0 balanced, 1 unbalanced
    if label:
        tokens = _near_miss(rng, tokens)
    return {"text": " ".join(tokens), "label": label}


def _depth_names(difficulty: int) -> tuple[str, ...]:
    return tuple(f"d{k}" for k in range(difficulty + 3))  # depths 0..max (difficulty + 2)


@generated("brackets-depth", "tag", _depth_names, "Synthetic: tag each bracket with the "
           "nesting depth after reading it.")
def brackets_depth(rng: np.random.Generator, difficulty: int) -> Row:
    """Tag each bracket with the nesting depth after reading it: a counter the hidden state
    must hold, readable unit by unit in the trace."""
    tokens = _bracket_tokens(rng, difficulty)
    depths = np.cumsum([1 if token in _OPEN else -1 for token in tokens])
    return {"tokens": tokens, "tags": [int(d) for d in depths]}


# --- seq2seq: alignment you can see in the attention map ---------------------------------

_SYMBOLS = tuple("0123456789abcdef")


def transduce(transform: Callable[[list[str]], list[str]]) -> Maker:
    """Source is 3..5+5*difficulty random symbols; target is ``transform(source)``. The
    cross-attention should come out diagonal for copy, anti-diagonal for reverse, and
    pointing at each symbol's sorted place for sort. Varying lengths exercise padding."""

    def make(rng: np.random.Generator, difficulty: int) -> Row:
        n = int(rng.integers(3, 6 + 5 * difficulty))
        seq = [_SYMBOLS[i] for i in rng.integers(len(_SYMBOLS), size=n)]
        return {"source": " ".join(seq), "target": " ".join(transform(seq))}

    return make


generated("copy", "seq2seq", None, "Synthetic: copy a symbol sequence (attention comes out "
          "diagonal).")(transduce(lambda s: s))
generated("reverse", "seq2seq", None, "Synthetic: reverse a symbol sequence (attention comes "
          "out anti-diagonal).")(transduce(lambda s: s[::-1]))
generated("sort", "seq2seq", None, "Synthetic: sort a symbol sequence (digits before "
          "letters).")(transduce(sorted))


def _number(rng: np.random.Generator, max_digits: int) -> str:
    """A random natural number with 1..max_digits digits, no leading zeros, as a string."""
    k = int(rng.integers(1, max_digits + 1))
    first = int(rng.integers(1 if k > 1 else 0, 10))
    return str(first) + "".join(str(d) for d in rng.integers(10, size=k - 1))


@generated("addition", "seq2seq", None, "Synthetic: add two numbers written digit by "
           "digit.")
def addition(rng: np.random.Generator, difficulty: int) -> Row:
    """Source "3 4 7 + 5 9", target "4 0 6"; operands have up to 2 * difficulty + 1 digits.
    The carry runs right to left while the output is written left to right, so the decoder
    must attend to the aligned digits of both operands at once."""
    a, b = _number(rng, 2 * difficulty + 1), _number(rng, 2 * difficulty + 1)
    return {"source": " ".join([*a, "+", *b]), "target": " ".join(str(int(a) + int(b)))}
