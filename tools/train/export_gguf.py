#!/usr/bin/python3
"""Exports a training checkpoint as bitnet-b1.58 GGUF files (I2_S, TQ2_0, TQ1_0).

  /usr/bin/python3 tools/train/export_gguf.py [CKPT] [--out-dir models] [--name bitnet-shakespeare]
      [--types i2_s,tq2_0,tq1_0] [--check]

CKPT defaults to tools/train/run/ckpt.pt; any checkpoint train.py writes works
(ckpt.pt, best.pt). Writes OUT_DIR/NAME-i2s.gguf, NAME-tq2_0.gguf, NAME-tq1_0.gguf.
Metadata keys, types and tensor names are those tools/gen_model.py writes (the
layout of bitnet.cpp's converter), plus general.description and general.license.
Each ternary matrix is quantized as in training: s_w = max(mean|W|, 1e-5),
codes = clamp(round(W / s_w), -1, 1). The stored scale is s_w rounded to fp16, so
the three files hold identical codes and identical scales (TQ types store fp16).
token_embd is F16, norms F32. --check runs tests/reference/bitnet_ref.py on the
I2_S file and compares its logits with the PyTorch model evaluated at export precision.
Run with /usr/bin/python3 (Debian's python3-torch and numpy).
"""
import argparse
import os
import sys

import numpy as np
import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(os.path.dirname(_HERE))
sys.path.insert(0, os.path.join(_ROOT, 'tools'))
sys.path.insert(0, _HERE)
import bitnet_quant as bq  # noqa: E402
import gguf_write as gw  # noqa: E402
from gen_model import FILE_TYPE  # noqa: E402
from model import load_checkpoint, weight_scale, ternarize  # noqa: E402

ARCH = 'bitnet-b1.58'
SUFFIX = {'i2_s': 'i2s', 'tq2_0': 'tq2_0', 'tq1_0': 'tq1_0'}
MATMULS = ('attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down')
DESCRIPTION = ('Tiny BitNet b1.58 (ternary) demo model trained from scratch on the first 90% of '
               'tinyshakespeare with tools/train/train.py; see models/README.md.')


def ternary(w):
    """float weight (out, in) -> (int8 codes, fp16-exact float scale)."""
    w = torch.as_tensor(w, dtype=torch.float32)
    s = weight_scale(w)
    codes = ternarize(w, s).to(torch.int8).numpy()
    return codes, float(np.float16(s.item()))


def pack(qtype, codes, scale):
    if qtype == 'i2_s':
        return bq.pack_i2s(codes, scale)
    if qtype == 'tq2_0':
        return bq.pack_tq2_0(codes, scale)
    return bq.pack_tq1_0(codes, scale)


def build(sd, config, vocab, qtype, name, ck):
    c = config
    E, F, V, H, HKV = c['n_embd'], c['n_ff'], c['n_vocab'], c['n_head'], c['n_head_kv']
    hd = E // H
    assert len(vocab['tokens']) == V == sd['token_embd.weight'].shape[0]
    w = gw.GGUFWriter()
    w.add_str('general.architecture', ARCH)
    w.add_str('general.name', name)
    w.add_str('general.description', DESCRIPTION + ' Checkpoint step %d.' % ck.get('step', 0))
    w.add_str('general.license', 'mit')
    w.add_u32('general.file_type', FILE_TYPE[qtype])
    w.add_u32(ARCH + '.vocab_size', V)
    w.add_u32(ARCH + '.context_length', c['n_ctx'])
    w.add_u32(ARCH + '.embedding_length', E)
    w.add_u32(ARCH + '.block_count', c['n_layer'])
    w.add_u32(ARCH + '.feed_forward_length', F)
    w.add_u32(ARCH + '.rope.dimension_count', hd)
    w.add_u32(ARCH + '.attention.head_count', H)
    w.add_u32(ARCH + '.attention.head_count_kv', HKV)
    w.add_f32(ARCH + '.attention.layer_norm_rms_epsilon', c['eps'])
    w.add_f32(ARCH + '.rope.freq_base', c['rope_base'])
    w.add_str('tokenizer.ggml.model', 'gpt2')
    w.add_str('tokenizer.ggml.pre', 'llama-bpe')
    w.add_arr('tokenizer.ggml.tokens', gw.STRING, vocab['tokens'])
    w.add_arr('tokenizer.ggml.token_type', gw.INT32, np.array(vocab['token_type'], np.int32))
    w.add_arr('tokenizer.ggml.merges', gw.STRING, vocab['merges'])
    w.add_u32('tokenizer.ggml.bos_token_id', vocab['bos'])
    w.add_u32('tokenizer.ggml.eos_token_id', vocab['eos'])
    w.add_u32('tokenizer.ggml.eot_token_id', vocab['eot'])
    w.add_bool('tokenizer.ggml.add_bos_token', True)

    def f32(key):
        return sd[key].float().numpy().astype(np.float32)

    emb = f32('token_embd.weight')
    w.add_tensor('token_embd.weight', [E, V], gw.F16, bq.quantize_f16(emb))
    w.add_tensor('output_norm.weight', [E], gw.F32, f32('output_norm.weight').tobytes())
    qt = bq.GGML_TYPE[qtype]
    for i in range(c['n_layer']):
        p = 'blk.%d.' % i
        src = 'blocks.%d.' % i

        def norm(n):
            x = f32(src + n + '.weight')
            w.add_tensor(p + n + '.weight', [x.shape[0]], gw.F32, x.tobytes())

        def tern(n):
            codes, scale = ternary(sd[src + n + '.weight'])
            n_out, n_in = codes.shape
            w.add_tensor(p + n + '.weight', [n_in, n_out], qt, pack(qtype, codes, scale))

        norm('attn_norm')
        tern('attn_q')
        tern('attn_k')
        tern('attn_v')
        tern('attn_output')
        norm('attn_sub_norm')
        norm('ffn_norm')
        tern('ffn_gate')
        tern('ffn_up')
        tern('ffn_down')
        norm('ffn_sub_norm')
    return w


def check(path, model, tokens):
    sys.path.insert(0, os.path.join(_ROOT, 'tests', 'reference'))
    import bitnet_ref
    ref = bitnet_ref.Reference(path).logits(tokens)
    with torch.no_grad():
        pt = model(torch.tensor([tokens])).double().numpy()[0]
    err = np.abs(ref - pt).max()
    agree = (ref.argmax(-1) == pt.argmax(-1)).mean()
    print('check %s: max |logit diff| %.2e (logit std %.2f), argmax agreement %.3f'
          % (os.path.basename(path), err, ref.std(), agree))
    return err


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('ckpt', nargs='?', default=os.path.join(_HERE, 'run', 'ckpt.pt'))
    ap.add_argument('--out-dir', default=os.path.join(_ROOT, 'models'))
    ap.add_argument('--name', default='bitnet-shakespeare')
    ap.add_argument('--types', default='i2_s,tq2_0,tq1_0')
    ap.add_argument('--check', action='store_true')
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    model, ck = load_checkpoint(args.ckpt, export_precision=True)
    sd = {k: v for k, v in ck['model'].items()}
    os.makedirs(args.out_dir, exist_ok=True)
    paths = []
    for qtype in args.types.split(','):
        path = os.path.join(args.out_dir, '%s-%s.gguf' % (args.name, SUFFIX[qtype]))
        build(sd, ck['config'], ck['vocab'], qtype, args.name, ck).write(path + '.tmp')
        os.replace(path + '.tmp', path)
        paths.append(path)
        print('wrote %s (%d bytes, step %d)' % (path, os.path.getsize(path), ck.get('step', 0)))
    if args.check:
        import bpe
        tok = bpe.Tokenizer(ck['vocab'])
        ids = tok.encode('ROMEO:\nWhat light through yonder window breaks? It is the east.', bos=True)
        for p in paths:
            check(p, model, ids)


if __name__ == '__main__':
    main()
