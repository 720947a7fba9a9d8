"""Encoder-decoder models: a recurrent one with attention, and a Transformer.

Both take source tokens ``[B, S]`` and teacher-forced decoder inputs ``[B, T]`` (the target
shifted right, starting with BOS) and return ``(logits [B, T, V_target], trace)``, where
``trace.attention['cross']`` holds the target x source alignment and ``trace.source``
the encoder's trace.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from ..config import ModelConfig
from .cells import CELLS
from .heads import pool_last, project
from .rnn import RecurrentStack
from .scan import scan
from .trace import Trace
from .transformer import TransformerStack, masked_softmax


class AttentionScore(nnx.Module):
    """Scores of a decoder state against encoder outputs.

    additive (Bahdanau et al. 2015): ``v . tanh(q W_q + m W_m)``
    dot      (Luong et al. 2015, "general"): ``(q W_q) . m``
    """

    def __init__(self, kind: str, query: int, memory: int, *, rngs: nnx.Rngs):
        self.kind = kind
        width = query if kind == "additive" else memory
        self.wq = nnx.Linear(query, width, use_bias=False, rngs=rngs)
        if kind == "additive":
            self.wm = nnx.Linear(memory, width, rngs=rngs)
            self.v = nnx.Linear(width, 1, use_bias=False, rngs=rngs)

    def keys(self, memory: jax.Array) -> jax.Array:
        """Per-source work done once, outside the time loop."""
        return self.wm(memory) if self.kind == "additive" else memory

    def __call__(self, q: jax.Array, keys: jax.Array) -> jax.Array:
        """``q`` ``[B, Hq]``, ``keys`` ``[B, S, A]`` -> scores ``[B, S]``."""
        if self.kind == "additive":
            return self.v(jnp.tanh(self.wq(q)[:, None, :] + keys))[..., 0]
        return jnp.einsum("ba,bsa->bs", self.wq(q), keys)


class AttentionDecoder(nnx.Module):
    """Stacked recurrent decoder with attention and input feeding (Luong et al. 2015).

    Per step: ``h_t`` = stacked cells on ``[y_{t-1}; a_{t-1}]``; ``w_t`` = softmax of
    scores of ``h_t`` against the source; ``c_t = sum_s w_ts m_s``;
    ``a_t = tanh([c_t; h_t] W_c)`` is the step's output and is fed to the next step.
    """

    def __init__(self, arch: str, embed: int, hidden: int, memory: int, layers: int,
                 attention: str, unroll: int, *, rngs: nnx.Rngs):
        cell_type = CELLS[arch]
        self.hidden, self.unroll, self.gate_names = hidden, unroll, cell_type.gates
        self.cells = nnx.List([cell_type(embed + hidden if layer == 0 else hidden, hidden,
                                         rngs=rngs) for layer in range(layers)])
        self.score = AttentionScore(attention, hidden, memory, rngs=rngs)
        self.combine = nnx.Linear(memory + hidden, hidden, rngs=rngs)

    def _step(self, keys, memory, memory_mask):
        def step(carry, x):
            states, feed = carry
            inp, new_states, layer_outs = jnp.concatenate([x, feed], axis=-1), [], []
            for cell, state in zip(self.cells, states, strict=True):
                state, out = cell(state, inp)
                new_states.append(state)
                layer_outs.append(out)
                inp = out["h"]
            w = masked_softmax(self.score(inp, keys), memory_mask)
            context = jnp.einsum("bs,bsm->bm", w, memory)
            a = jnp.tanh(self.combine(jnp.concatenate([context, inp], axis=-1)))
            return (new_states, a), {"layers": layer_outs, "w": w, "a": a}
        return step

    def __call__(self, x, mask, memory, memory_mask, init_hidden):
        """``init_hidden``: ``[layers, B, H]`` initial hidden states (from the bridge)."""
        states = [cell.carry_from_hidden(h) for cell, h in zip(self.cells, init_hidden,
                                                                strict=True)]
        feed = jnp.zeros((x.shape[0], self.hidden))
        step = self._step(self.score.keys(memory), memory, memory_mask)
        _, outs = scan(step, (states, feed), x, mask, self.unroll)
        layers = outs["layers"]
        trace = Trace(
            hidden=jnp.stack([o["h"] for o in layers])[:, None],
            gates={n: jnp.stack([o[n] for o in layers])[:, None] for n in self.gate_names},
            attention={"cross": outs["w"][None, :, None]},
            mask=mask,
        )
        return outs["a"], trace


class RecurrentSeq2Seq(nnx.Module):
    """Recurrent encoder (optionally bidirectional) + attention decoder.

    The bridge sets each decoder layer's initial hidden state from the encoder's summary
    (forward state at the last real token, backward state at the first):
    ``h0_l = tanh(summary W_l)``.
    """

    def __init__(self, config: ModelConfig, vocab_size: int, target_vocab_size: int,
                 *, rngs: nnx.Rngs):
        c = config
        self.layers, self.hidden = c.layers, c.hidden
        self.src_embed = nnx.Embed(vocab_size, c.embed, rngs=rngs)
        self.tgt_embed = nnx.Embed(target_vocab_size, c.embed, rngs=rngs)
        self.encoder = RecurrentStack(c.arch, c.embed, c.hidden, c.layers, c.bidirectional,
                                      c.dropout, c.unroll, remat=c.remat, rngs=rngs)
        memory = c.directions * c.hidden
        self.bridge = nnx.Linear(memory, c.layers * c.hidden, rngs=rngs)
        self.decoder = AttentionDecoder(c.arch, c.embed, c.hidden, memory, c.layers,
                                        c.attention, c.unroll, rngs=rngs)
        self.dropout = nnx.Dropout(c.dropout, rngs=rngs)
        self.head = nnx.Linear(c.hidden, target_vocab_size, rngs=rngs)

    def input_embeddings(self, tokens: jax.Array) -> jax.Array:
        """The source embeddings ``[B, S, E]`` (``embedded=`` replaces them in a call)."""
        return self.src_embed(tokens)

    def __call__(self, tokens, mask, dec_tokens, dec_mask, embedded=None):
        x = self.input_embeddings(tokens) if embedded is None else embedded
        memory, source = self.encoder(self.dropout(x), mask)
        summary = pool_last(memory, mask, self.encoder_directions)
        h0 = jnp.tanh(self.bridge(summary)).reshape(-1, self.layers, self.hidden)
        y, trace = self.decoder(self.dropout(self.tgt_embed(dec_tokens)), dec_mask,
                                memory, mask, h0.transpose(1, 0, 2))
        return project(self.head, self.dropout(y)), trace.replace(source=source)

    @property
    def encoder_directions(self) -> int:
        return len(self.encoder.cells[0])


class TransformerSeq2Seq(nnx.Module):
    """Transformer encoder + causal Transformer decoder with cross-attention."""

    def __init__(self, config: ModelConfig, vocab_size: int, target_vocab_size: int,
                 *, rngs: nnx.Rngs):
        c = config
        self.src_embed = nnx.Embed(vocab_size, c.embed, rngs=rngs)
        self.tgt_embed = nnx.Embed(target_vocab_size, c.embed, rngs=rngs)
        self.encoder = TransformerStack(c.embed, c.hidden, c.heads, c.layers, c.ff_mult,
                                        c.dropout, rngs=rngs)
        self.decoder = TransformerStack(c.embed, c.hidden, c.heads, c.layers, c.ff_mult,
                                        c.dropout, causal=True, cross=True, rngs=rngs)
        self.head = nnx.Linear(c.hidden, target_vocab_size, rngs=rngs)

    def input_embeddings(self, tokens: jax.Array) -> jax.Array:
        """The source embeddings ``[B, S, E]`` (``embedded=`` replaces them in a call)."""
        return self.src_embed(tokens)

    def __call__(self, tokens, mask, dec_tokens, dec_mask, embedded=None):
        x = self.input_embeddings(tokens) if embedded is None else embedded
        memory, source = self.encoder(x, mask)
        y, trace = self.decoder(self.tgt_embed(dec_tokens), dec_mask, memory, mask)
        return project(self.head, y), trace.replace(source=source)
