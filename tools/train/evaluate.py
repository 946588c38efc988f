#!/usr/bin/python3
"""Held-out perplexity, unigram baseline and samples of a checkpoint, at export precision.

  /usr/bin/python3 tools/train/evaluate.py [CKPT] [--n-ctx 256] [--json models/shakespeare.json]
      [--write-heldout FILE] [--samples 100]

The model runs the quantized forward pass (int8 activations per token, ternary
weights) with the roundings the GGUF files apply (F16 token_embd, fp16 weight
scales), so it computes what tools/train/export_gguf.py writes.
Perplexity follows llama.cpp's perplexity tool: the held-out text (characters
from the cut train.py uses to the end of tinyshakespeare.txt) is tokenized with
BOS prepended, cut into floor(n/n_ctx) non-overlapping chunks of n_ctx tokens, the
first token of each chunk replaced with BOS, and the logits at positions
n_ctx/2 .. n_ctx-2 score tokens n_ctx/2+1 .. n_ctx-1; PPL = exp(mean NLL).
shakespeare.json also gives the result for the token stream without the leading
BOS (chunk boundaries one token earlier), under "without_leading_bos".
The unigram baseline scores the same tokens with the add-one-smoothed unigram
distribution of the training tokens.
Run with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
import bpe  # noqa: E402
from model import load_checkpoint, perplexity, split_text, DATA  # noqa: E402


def generate(model, tok, prompt, n, temp, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = tok.encode(prompt, bos=True)
    n_ctx = model.c['n_ctx']
    with torch.no_grad():
        for _ in range(n):
            lg = model(torch.tensor([ids[-n_ctx:]]))[0, -1].double()
            if temp == 0:
                nxt = int(lg.argmax())
            else:
                nxt = int(torch.multinomial((lg / temp).softmax(-1), 1, generator=g))
            ids.append(nxt)
    return tok.decode(ids)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('ckpt', nargs='?', default=os.path.join(_HERE, 'run', 'ckpt.pt'))
    ap.add_argument('--n-ctx', type=int)
    ap.add_argument('--json')
    ap.add_argument('--write-heldout')
    ap.add_argument('--samples', type=int, default=100)
    ap.add_argument('--prompt', default='ROMEO:')
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    model, ck = load_checkpoint(args.ckpt, export_precision=True)
    tok = bpe.Tokenizer(ck['vocab'])
    train_text, held_text = split_text()
    if args.write_heldout:
        with open(args.write_heldout, 'w', encoding='utf-8') as f:
            f.write(held_text)
    n_ctx = args.n_ctx or ck['config']['n_ctx']
    held = tok.encode(held_text, bos=True)
    nll, ppl, chunks, count = perplexity(model, held, tok.bos, n_ctx)
    # the same without the leading BOS (chunk boundaries shift by one token)
    held_nb = held[1:]
    nll_nb, ppl_nb, chunks_nb, count_nb = perplexity(model, held_nb, tok.bos, n_ctx)
    # unigram baseline on exactly the scored tokens
    train = tok.encode(train_text)
    cnt = np.bincount(train, minlength=len(tok.tokens)).astype(np.float64) + 1.0
    logp = np.log(cnt / cnt.sum())
    first = n_ctx // 2
    scored = np.concatenate([np.array(held[c * n_ctx + first + 1:(c + 1) * n_ctx]) for c in range(chunks)])
    uni = float(-logp[scored].mean())
    res = dict(model='bitnet-shakespeare-i2s.gguf', checkpoint_step=ck.get('step'), n_ctx=n_ctx,
               ppl=round(ppl, 4), nll=round(nll, 6), chunks=chunks, scored_tokens=count,
               heldout_tokens_with_bos=len(held), unigram_ppl=round(math.exp(uni), 2),
               unigram_nll=round(uni, 6), bos=tok.bos,
               without_leading_bos=dict(ppl=round(ppl_nb, 4), nll=round(nll_nb, 6), chunks=chunks_nb,
                                        scored_tokens=count_nb, heldout_tokens=len(held_nb)),
               heldout=dict(file=os.path.basename(DATA), char_offset=len(train_text),
                            chars=len(held_text)),
               procedure='llama.cpp perplexity: text tokenized with BOS, non-overlapping chunks of n_ctx, '
                         'first token of each chunk set to BOS, positions n_ctx/2..n_ctx-2 predict '
                         'tokens n_ctx/2+1..n_ctx-1; ppl = exp(mean NLL)')
    print(json.dumps(res, indent=1))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1)
            f.write('\n')
    if args.samples:
        for temp in (0.0, 0.8):
            print('--- %s, %d tokens, %s' % (repr(args.prompt), args.samples,
                                           'greedy' if temp == 0 else 'temperature %.1f, seed 0' % temp))
            print(generate(model, tok, args.prompt, args.samples, temp))


if __name__ == '__main__':
    main()
