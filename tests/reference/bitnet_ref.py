"""Independent numpy (float64) reference for the architectures libbitnet runs.

Written from the architecture description in issue 3, not from the C code:

  x = token_embd[token]
  per layer:
    h = rmsnorm(x) * attn_norm
    q, k, v = Wq h, Wk h, Wv h            (ternary matmuls, see below)
    RoPE on q, k (NEOX: pairs (i, i + n_rot/2); llama: adjacent pairs (2i, 2i+1))
    a = causal GQA softmax(q k^T / sqrt(head_dim)) v
    a = rmsnorm(a) * attn_sub_norm        (bitnet-b1.58, bitnet only)
    x = x + Wo a
    h = rmsnorm(x) * ffn_norm
    g = relu(Wg h)^2 (bitnet-b1.58)  or  silu(Wg h) (bitnet, llama);  f = g * (Wu h)
    f = rmsnorm(f) * ffn_sub_norm         (bitnet-b1.58, bitnet only)
    x = x + Wd f
  logits = (output.weight or token_embd) (rmsnorm(x) * output_norm)

Ternary matmul (BitNet b1.58 numerics): per token, s = 127 / max(max|x|, 1e-5),
q = round_half_even(x * s) clamped to [-127, 127], y = (sum w*q) / s * scale
(I2_S: one float32 scale; TQ1_0/TQ2_0: the fp16 d of each 256-block).
Architecture `bitnet` may carry F32 `blk.N.<name>.scale` tensors of shape {1}
that multiply the matching matmul's output.

Everything runs in float64 (dtype=np.float32 is there to estimate what float32
arithmetic changes) with a full causal pass (no KV cache; logits_discard keeps
each layer's K and V rows to continue after some are forgotten). Optional
emulation of an engine's storage roundings: `emulate` may hold 'kv_f16' (K and V
rounded to f16, as an f16 KV cache stores them), 'q_f16' (queries), 'p_f16'
(softmax probabilities) and 'head_f16' (the output head's input).
Run with /usr/bin/python3 (Debian's numpy).
"""
import os
import sys

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(_HERE)), 'tools'))

import bitnet_quant as bq  # noqa: E402
from gguf_read import read_gguf  # noqa: E402

ARCHS = {
    # name: (ffn activation, sub-norms, tied output by default, default rope style)
    'bitnet-b1.58': ('relu2', True, True, 'neox'),
    'bitnet-25': ('relu2', True, True, 'neox'),
    'bitnet': ('silu', True, True, 'neox'),
    'llama': ('silu', False, True, 'norm'),
}
TERNARY_TYPES = (bq.GGML_TYPE['i2_s'], bq.GGML_TYPE['tq1_0'], bq.GGML_TYPE['tq2_0'])
MATMULS = ('attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down')


def f16_round(x):
    x = np.asarray(x)
    return x.astype(np.float16).astype(x.dtype)


class TernaryLinear:
    """Ternary weight (out, in) with per-block scales; BitNet activation quantization."""

    def __init__(self, ggml_type, data, n_out, n_in):
        self.w, d, self.block = bq.ternary_codes(ggml_type, data, n_out, n_in)
        self.d = d.astype(np.float64)
        self.n_out, self.n_in = n_out, n_in
        nz = self.d[self.d != 0]
        self.uniform = nz.size == 0 or bool((nz == nz.flat[0]).all())
        if self.uniform:
            self.wf = self.w.astype(np.float64)
            self.scale = float(nz.flat[0]) if nz.size else 0.0
        else:  # per-block scales folded into the weights (still exact integer sums per block)
            wd = self.w.reshape(n_out, -1, self.block).astype(np.float64) * self.d[:, :, None]
            self.wf = wd.reshape(n_out, n_in)
            self.scale = 1.0

    def __call__(self, x):
        dt = np.dtype(np.float32 if x.dtype == np.float32 else np.float64)
        x = np.asarray(x, dtype=dt)
        amax = np.maximum(np.abs(x).max(axis=-1, keepdims=True), dt.type(1e-5))
        s = dt.type(127.0) / amax
        q = np.clip(np.rint(x * s), -127, 127)
        isum = (q.astype(np.float64) @ self.wf.T).astype(dt)   # exact integer sums
        return isum / s * dt.type(self.scale)


class Reference:
    def __init__(self, model, emulate=(), rope=None, dtype=np.float64):
        self.dt = np.dtype(dtype)
        g = model if hasattr(model, 'tensors') else read_gguf(model)
        self.g = g
        self.arch = g.get('general.architecture')
        if self.arch not in ARCHS:
            raise ValueError('unknown architecture %r' % self.arch)
        self.act, self.sub_norms, _, rope_default = ARCHS[self.arch]
        self.rope = rope or rope_default
        self.emulate = set(emulate)
        a = self.arch

        def hp(key, default=None):
            v = g.get('%s.%s' % (a, key), default)
            if v is None:
                raise KeyError('%s.%s missing' % (a, key))
            return v
        self.n_embd = int(hp('embedding_length'))
        self.n_layer = int(hp('block_count'))
        self.n_head = int(hp('attention.head_count'))
        self.n_head_kv = int(hp('attention.head_count_kv', self.n_head))
        self.n_ff = int(hp('feed_forward_length'))
        self.eps = float(hp('attention.layer_norm_rms_epsilon', 1e-5))
        self.base = float(hp('rope.freq_base', 10000.0))
        self.head_dim = self.n_embd // self.n_head
        self.n_rot = int(hp('rope.dimension_count', self.head_dim))
        emb = self.tensor('token_embd.weight')
        self.n_vocab = emb.shape[0]
        self.tok_embd = emb
        self.output = self.tensor('output.weight') if 'output.weight' in g.tensors else emb
        self.output_norm = self.tensor('output_norm.weight')
        self.layers = []
        for i in range(self.n_layer):
            L = {}
            for n in ('attn_norm', 'ffn_norm') + (('attn_sub_norm', 'ffn_sub_norm') if self.sub_norms else ()):
                L[n] = self.tensor('blk.%d.%s.weight' % (i, n))
            for n in MATMULS:
                L[n] = self.linear('blk.%d.%s.weight' % (i, n))
                sname = 'blk.%d.%s.scale' % (i, n)
                L[n + '.scale'] = float(self.tensor(sname).ravel()[0]) if sname in g.tensors else 1.0
            self.layers.append(L)

    def tensor(self, name):
        t = self.g.tensors[name]
        cols = int(t.ne[0])
        rows = int(np.prod(t.ne[1:])) if len(t.ne) > 1 else 1
        x = bq.dequantize(t.type, t.data, rows, cols).astype(self.dt)
        return x.ravel() if len(t.ne) == 1 else x

    def linear(self, name):
        t = self.g.tensors[name]
        n_in, n_out = int(t.ne[0]), int(t.ne[1])
        if t.type in TERNARY_TYPES:
            return TernaryLinear(t.type, t.data, n_out, n_in)
        w = self.tensor(name)
        return lambda x: np.asarray(x, self.dt) @ w.T

    def rmsnorm(self, x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.dt.type(self.eps)) * w

    def apply_rope(self, x, pos):
        """x: (T, heads, head_dim); rotates the first n_rot dims."""
        d = self.n_rot
        i = np.arange(d // 2, dtype=np.float64)
        theta = pos[:, None].astype(np.float64) * self.base ** (-2.0 * i / d)   # (T, d/2)
        cos = np.cos(theta)[:, None, :].astype(self.dt)
        sin = np.sin(theta)[:, None, :].astype(self.dt)
        out = x.copy()
        if self.rope == 'neox':
            a, b = x[..., :d // 2], x[..., d // 2:d]
            out[..., :d // 2] = a * cos - b * sin
            out[..., d // 2:d] = a * sin + b * cos
        else:
            a, b = x[..., 0:d:2], x[..., 1:d:2]
            out[..., 0:d:2] = a * cos - b * sin
            out[..., 1:d:2] = a * sin + b * cos
        return out

    def attention(self, q, k, v):
        """q: (T, n_head, hd) for the last T of the P + T positions of k, v."""
        T, P = q.shape[0], k.shape[0] - q.shape[0]
        hd = self.head_dim
        group = self.n_head // self.n_head_kv
        out = np.zeros((T, self.n_head, hd), self.dt)
        mask = np.triu(np.ones((T, P + T), dtype=bool), P + 1)
        for h in range(self.n_head):
            kh = h // group
            sc = q[:, h, :] @ k[:, kh, :].T / self.dt.type(np.sqrt(hd))
            sc[mask] = -np.inf
            sc -= sc.max(axis=1, keepdims=True)
            p = np.exp(sc)
            p /= p.sum(axis=1, keepdims=True)
            if 'p_f16' in self.emulate:
                p = f16_round(p)
            out[:, h, :] = p @ v[:, kh, :]
        return out.reshape(T, self.n_head * hd)

    def ffn_act(self, g):
        if self.act == 'relu2':
            r = np.maximum(g, 0)
            return r * r
        return g / (self.dt.type(1.0) + np.exp(-g))

    def hidden(self, tokens, pos=None, past=None):
        """Final hidden states of tokens at positions pos (default 0..), after
        the K and V rows of past (a list of (k, v) a layer, as this returns in
        cache) when given; the rows of every layer, past and new, are appended
        to self.cache."""
        tokens = np.asarray(tokens, dtype=np.int64)
        T = len(tokens)
        pos = np.arange(T) if pos is None else np.asarray(pos)
        x = self.tok_embd[tokens].copy()
        hd = self.head_dim
        self.cache = []
        for il, L in enumerate(self.layers):
            h = self.rmsnorm(x, L['attn_norm'])
            q = (L['attn_q'](h) * L['attn_q.scale']).reshape(T, self.n_head, hd)
            k = (L['attn_k'](h) * L['attn_k.scale']).reshape(T, self.n_head_kv, hd)
            v = (L['attn_v'](h) * L['attn_v.scale']).reshape(T, self.n_head_kv, hd)
            q = self.apply_rope(q, pos)
            k = self.apply_rope(k, pos)
            if 'q_f16' in self.emulate:
                q = f16_round(q)
            if 'kv_f16' in self.emulate:
                k, v = f16_round(k), f16_round(v)
            if past is not None:
                k, v = np.concatenate([past[il][0], k]), np.concatenate([past[il][1], v])
            self.cache.append((k, v))
            a = self.attention(q, k, v)
            if self.sub_norms:
                a = self.rmsnorm(a, L['attn_sub_norm'])
            x = x + L['attn_output'](a) * L['attn_output.scale']
            h = self.rmsnorm(x, L['ffn_norm'])
            f = self.ffn_act(L['ffn_gate'](h) * L['ffn_gate.scale']) * (L['ffn_up'](h) * L['ffn_up.scale'])
            if self.sub_norms:
                f = self.rmsnorm(f, L['ffn_sub_norm'])
            x = x + L['ffn_down'](f) * L['ffn_down.scale']
        return self.rmsnorm(x, self.output_norm)

    def logits(self, tokens, pos=None, past=None):
        """(len(tokens), n_vocab) float64 logits, row i after tokens[:i+1]
        (after past's rows too, when given: see hidden)."""
        h = self.hidden(tokens, pos, past)
        if 'head_f16' in self.emulate:
            h = f16_round(h)
        return h @ self.output.T

    def logits_discard(self, tokens, at, first, n):
        """Logits of tokens[:at], then of tokens[at:] after the n cached
        positions from first are forgotten: the later rows move down by n, their
        keys rotated back by n positions (and stored as f16 again, under
        kv_f16), and the rest of the tokens go on at position at - n."""
        head = self.logits(tokens[:at])
        past = []
        for k, v in self.cache:
            moved = self.apply_rope(k[first + n:], np.full(len(k) - first - n, -n))
            if 'kv_f16' in self.emulate:
                moved = f16_round(moved)
            past.append((np.concatenate([k[:first], moved]), np.concatenate([v[:first], v[first + n:]])))
        rest = self.logits(tokens[at:], pos=np.arange(at - n, len(tokens) - n), past=past)
        return np.concatenate([head, rest])


def load(path, **kw):
    return Reference(path, **kw)


if __name__ == '__main__':
    import argparse
    ap = argparse.ArgumentParser(description='print the reference top-5 after each token')
    ap.add_argument('model')
    ap.add_argument('tokens', type=int, nargs='+')
    args = ap.parse_args()
    r = Reference(args.model)
    lg = r.logits(args.tokens)
    for i, row in enumerate(lg):
        top = np.argsort(-row)[:5]
        print(i, ' '.join('%d:%.4f' % (t, row[t]) for t in top))
