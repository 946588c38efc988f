#!/usr/bin/python3
"""Trains the demo bitnet-b1.58 model on the first 90% of tinyshakespeare.

  /usr/bin/python3 tools/train/train.py [--run DIR] [--steps N] [--bench 5] [--resume]

DIR (default tools/train/run, not committed) receives vocab.json (the BPE, learned
on the training text only), tokens_{train,heldout}.npy, ckpt.pt (latest, written
every --save-every seconds and at the end), best.pt (lowest held-out loss seen)
and log.txt. Every checkpoint holds the config, the vocabulary and the weights,
so tools/train/export_gguf.py can export any of them. Training sequences are
[BOS] + 255 tokens from a random offset, predicting the 256 tokens that follow
BOS, so the model sees the BOS-first chunks that llama.cpp's perplexity tool feeds.
Run with /usr/bin/python3 (Debian's python3-torch, linked with OpenBLAS).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
from model import BitNet, here, perplexity, split_text  # noqa: E402

CONFIG = dict(n_vocab=2048, n_embd=256, n_layer=4, n_head=4, n_head_kv=2, n_ff=768, n_ctx=256,
              eps=1e-5, rope_base=500000.0)


def prepare(run, n_vocab):
    vpath = os.path.join(run, 'vocab.json')
    train_text, held_text = split_text()
    if not os.path.exists(vpath):
        t = time.time()
        v = bpe.build_vocab(bpe.learn(train_text, n_vocab))
        with open(vpath + '.tmp', 'w', encoding='utf-8') as f:
            json.dump(v, f, ensure_ascii=False)
        os.replace(vpath + '.tmp', vpath)
        print('bpe: %d tokens in %.1fs' % (len(v['tokens']), time.time() - t), flush=True)
    with open(vpath, encoding='utf-8') as f:
        vocab = json.load(f)
    out = {}
    for name, text in (('train', train_text), ('heldout', held_text)):
        p = os.path.join(run, 'tokens_%s.npy' % name)
        if not os.path.exists(p):
            tok = bpe.Tokenizer(vocab)
            np.save(p + '.tmp.npy', np.array(tok.encode(text), dtype=np.int32))
            os.replace(p + '.tmp.npy', p)
        out[name] = np.load(p)
        print('%s: %d chars, %d tokens (%.2f chars/token)' % (name, len(text), len(out[name]),
                                                              len(text) / len(out[name])), flush=True)
    return vocab, out['train'], out['heldout']


def unigram_nll(train, held, n_vocab):
    """Cross-entropy (nats/token) of the held-out tokens under the training unigram distribution
    (add-one smoothed)."""
    c = np.bincount(train, minlength=n_vocab).astype(np.float64) + 1.0
    p = c / c.sum()
    return float(-np.log(p[held]).mean())


def lr_at(step, steps, peak, warmup, final_frac):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * (final_frac + (1 - final_frac) * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def save(path, **obj):
    torch.save(obj, path + '.tmp')
    os.replace(path + '.tmp', path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--run', default=here('run'))
    ap.add_argument('--steps', type=int, default=4000)
    ap.add_argument('--batch', type=int, default=16, help='sequences of n_ctx tokens per step')
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--warmup', type=int, default=150)
    ap.add_argument('--wd', type=float, default=0.05)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--eval-every', type=int, default=250)
    ap.add_argument('--save-every', type=float, default=120.0, help='seconds between checkpoints')
    ap.add_argument('--bench', type=int, default=0, help='time this many steps and exit')
    ap.add_argument('--resume', action='store_true')
    for k, v in CONFIG.items():
        ap.add_argument('--' + k.replace('_', '-'), type=type(v), default=v)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.run, exist_ok=True)
    log = open(os.path.join(args.run, 'log.txt'), 'a')

    def say(msg):
        print(msg, flush=True)
        log.write(msg + '\n')
        log.flush()

    config = {k: getattr(args, k) for k in CONFIG}
    vocab, train, held = prepare(args.run, config['n_vocab'])
    config['n_vocab'] = len(vocab['tokens'])   # embedding rows = token count
    base = unigram_nll(train, held, config['n_vocab'])
    say('unigram baseline on held-out: %.4f nats/token (ppl %.1f)' % (base, math.exp(base)))

    model = BitNet(config)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and 'token_embd' not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() == 2 and 'token_embd' not in n)]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': args.wd},
                             {'params': other, 'weight_decay': 0.0}], lr=args.lr, betas=(0.9, 0.95))
    say('params: %d (%s)' % (sum(p.numel() for p in model.parameters()), json.dumps(config)))

    ckpt = os.path.join(args.run, 'ckpt.pt')
    step, best, elapsed = 0, float('inf'), 0.0
    if args.resume and os.path.exists(ckpt):
        ck = torch.load(ckpt, map_location='cpu')
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
        step, best, elapsed = ck['step'], ck.get('best', best), ck.get('elapsed', 0.0)
        say('resumed at step %d' % step)
    meta = dict(vocab=vocab, config=config, steps_total=args.steps, batch=args.batch, lr=args.lr,
                warmup=args.warmup, wd=args.wd, seed=args.seed, unigram_nll=base)

    rng = np.random.default_rng(args.seed + step)
    T = config['n_ctx']
    bos = vocab['bos']
    train_t = torch.from_numpy(train.astype(np.int64))

    def batch():
        off = rng.integers(0, len(train) - T, size=args.batch)
        y = torch.stack([train_t[o:o + T] for o in off])
        x = torch.cat([torch.full((args.batch, 1), bos, dtype=torch.long), y[:, :-1]], dim=1)
        return x, y

    def evaluate():
        model.eval()
        nll, ppl, chunks, _ = perplexity(model, held, bos, T)
        model.train()
        return nll, ppl

    model.train()
    t0 = time.time() - elapsed
    last_save = time.time()
    tok_seen = 0
    smooth = None
    while step < args.steps:
        lr = lr_at(step, args.steps, args.lr, args.warmup, 0.1)
        for g in opt.param_groups:
            g['lr'] = lr
        x, y = batch()
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tok_seen += x.numel()
        smooth = loss.item() if smooth is None else 0.95 * smooth + 0.05 * loss.item()
        if args.bench and step >= args.bench:
            dt = time.time() - t0
            say('bench: %d steps in %.1fs = %.2f s/step, %.0f tokens/s' % (step, dt, dt / step, tok_seen / dt))
            return
        if step % 25 == 0:
            say('step %d  loss %.4f  lr %.2e  %.0fs' % (step, smooth, lr, time.time() - t0))
        done = step == args.steps
        if step % args.eval_every == 0 or done:
            nll, ppl = evaluate()
            say('eval step %d  held-out nll %.4f ppl %.2f (unigram %.4f)' % (step, nll, ppl, base))
            if nll < best:
                best = nll
                save(os.path.join(args.run, 'best.pt'), model=model.state_dict(), step=step,
                     heldout_nll=nll, elapsed=time.time() - t0, **meta)
        if done or time.time() - last_save > args.save_every:
            save(ckpt, model=model.state_dict(), opt=opt.state_dict(), step=step, best=best,
                 elapsed=time.time() - t0, **meta)
            last_save = time.time()
    say('done: %d steps in %.0fs' % (step, time.time() - t0))


if __name__ == '__main__':
    main()
