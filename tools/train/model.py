"""The bitnet-b1.58 model as libbitnet runs it, in PyTorch, trained quantization-aware.

  x = embed[tok]
  per layer:
    h = rmsnorm(x) * attn_norm
    q, k, v = BitLinear(h); RoPE (NEOX halves) on q, k; causal GQA attention, scale 1/sqrt(head_dim)
    x += BitLinear_o(rmsnorm(attn) * attn_sub_norm)
    h = rmsnorm(x) * ffn_norm
    f = relu(BitLinear_gate(h))^2 * BitLinear_up(h)
    x += BitLinear_down(rmsnorm(f) * ffn_sub_norm)
  logits = (rmsnorm(x) * output_norm) @ embed^T          (tied head)

BitLinear (BitNet b1.58): s_w = max(mean|W|, 1e-5), W_q = clamp(round(W / s_w), -1, 1);
per token s_x = 127 / max(max|x|, 1e-5), x_q = clamp(round(x * s_x), -127, 127);
y = (x_q @ W_q^T) / s_x * s_w. Straight-through estimator for both roundings.
round() is torch.round (half to even), as the engine's rint.
Also holds the data split shared by training, evaluation and export.
Run with /usr/bin/python3 (Debian's python3-torch).
"""
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = '/work/shared/data/tinyshakespeare.txt'


def split_text(path=DATA, frac=0.9):
    """-> (train, heldout): the first 90% of the characters, cut after a newline, and the rest."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    cut = text.rfind('\n', 0, int(len(text) * frac)) + 1
    return text[:cut], text[cut:]


def fp16_round(x):
    return float(torch.tensor(float(x), dtype=torch.float32).half().float())


def weight_scale(w):
    return w.abs().mean().clamp(min=1e-5)


def ternarize(w, scale):
    return (w / scale).round().clamp(-1, 1)


class BitLinear(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in))
        nn.init.normal_(self.weight, std=0.02)
        self.fp16_scale = False   # round s_w to fp16, as the exported TQ1_0/TQ2_0/I2_S files store it

    def forward(self, x):
        w = self.weight
        s_w = weight_scale(w)
        wq = ternarize(w, s_w)
        if self.fp16_scale:
            s_w = s_w.detach().half().float()
        s_x = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
        xq = (x * s_x).round().clamp(-127, 127)
        if self.training:
            # straight-through: forward value of the quantized op, gradient of the identity
            x_ste = x + (xq / s_x - x).detach()
            w_ste = w + (wq * s_w - w).detach()
            return F.linear(x_ste, w_ste)
        return F.linear(xq, wq) / s_x * s_w


class RMSNorm(nn.Module):
    def __init__(self, n, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        E, H, HKV, F_ = c['n_embd'], c['n_head'], c['n_head_kv'], c['n_ff']
        hd = E // H
        self.H, self.HKV, self.hd = H, HKV, hd
        self.attn_norm = RMSNorm(E, c['eps'])
        self.attn_q = BitLinear(E, H * hd)
        self.attn_k = BitLinear(E, HKV * hd)
        self.attn_v = BitLinear(E, HKV * hd)
        self.attn_sub_norm = RMSNorm(H * hd, c['eps'])
        self.attn_output = BitLinear(H * hd, E)
        self.ffn_norm = RMSNorm(E, c['eps'])
        self.ffn_gate = BitLinear(E, F_)
        self.ffn_up = BitLinear(E, F_)
        self.ffn_sub_norm = RMSNorm(F_, c['eps'])
        self.ffn_down = BitLinear(F_, E)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        h = self.attn_norm(x)
        q = self.attn_q(h).view(B, T, self.H, self.hd).transpose(1, 2)
        k = self.attn_k(h).view(B, T, self.HKV, self.hd).transpose(1, 2)
        v = self.attn_v(h).view(B, T, self.HKV, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        g = self.H // self.HKV
        if g > 1:   # head h reads kv head h // g
            k = k.repeat_interleave(g, dim=1)
            v = v.repeat_interleave(g, dim=1)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))
        att = att.masked_fill(mask[:T, :T], float('-inf')).softmax(-1)
        a = (att @ v).transpose(1, 2).reshape(B, T, self.H * self.hd)
        x = x + self.attn_output(self.attn_sub_norm(a))
        h = self.ffn_norm(x)
        f = F.relu(self.ffn_gate(h)).square() * self.ffn_up(h)
        return x + self.ffn_down(self.ffn_sub_norm(f))


def rope(x, cos, sin):
    """NEOX rotation: pairs (i, i + d/2)."""
    d = x.shape[-1] // 2
    a, b = x[..., :d], x[..., d:]
    T = x.shape[-2]
    c, s = cos[:T], sin[:T]
    return torch.cat([a * c - b * s, a * s + b * c], dim=-1)


class BitNet(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.token_embd = nn.Embedding(c['n_vocab'], c['n_embd'])
        nn.init.normal_(self.token_embd.weight, std=0.02)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c['n_layer']))
        self.output_norm = RMSNorm(c['n_embd'], c['eps'])
        hd = c['n_embd'] // c['n_head']
        n = c['n_ctx']
        i = torch.arange(hd // 2, dtype=torch.float64)
        theta = torch.arange(n, dtype=torch.float64)[:, None] * c['rope_base'] ** (-2.0 * i / hd)
        self.register_buffer('cos', theta.cos().float(), persistent=False)
        self.register_buffer('sin', theta.sin().float(), persistent=False)
        self.register_buffer('mask', torch.triu(torch.ones(n, n, dtype=torch.bool), 1), persistent=False)

    def forward(self, idx):
        x = self.token_embd(idx)
        for b in self.blocks:
            x = b(x, self.cos, self.sin, self.mask)
        return self.output_norm(x) @ self.token_embd.weight.t()

    def set_export_precision(self):
        """Evaluate as the GGUF files store the model: fp16 embedding, fp16-exact weight scales."""
        with torch.no_grad():
            self.token_embd.weight.copy_(self.token_embd.weight.half().float())
        for m in self.modules():
            if isinstance(m, BitLinear):
                m.fp16_scale = True


def load_checkpoint(path, export_precision=True):
    ck = torch.load(path, map_location='cpu')
    m = BitNet(ck['config'])
    m.load_state_dict(ck['model'])
    m.eval()
    if export_precision:
        m.set_export_precision()
    return m, ck


def perplexity(model, tokens, bos, n_ctx, batch=8):
    """llama.cpp's perplexity procedure: non-overlapping chunks of n_ctx tokens, the first token
    of each replaced with BOS; logits at positions n_ctx/2 .. n_ctx-2 score tokens n_ctx/2+1 ..
    n_ctx-1. -> (mean NLL, ppl, chunks, scored tokens)."""
    n_chunks = len(tokens) // n_ctx
    first = n_ctx // 2
    nll, count = 0.0, 0
    with torch.no_grad():
        for c0 in range(0, n_chunks, batch):
            rows = []
            for c in range(c0, min(n_chunks, c0 + batch)):
                r = list(tokens[c * n_ctx:(c + 1) * n_ctx])
                r[0] = bos
                rows.append(r)
            x = torch.tensor(rows, dtype=torch.long)
            lg = model(x).double()
            lp = lg[:, first:n_ctx - 1].log_softmax(-1)
            tgt = x[:, first + 1:n_ctx]
            nll -= lp.gather(-1, tgt[..., None]).sum().item()
            count += tgt.numel()
    mean = nll / max(count, 1)
    return mean, math.exp(mean), n_chunks, count


def here(*p):
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), *p)
