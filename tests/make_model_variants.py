"""Writes a valid small model and variants of it that libbitnet must refuse
(or accept) at open, for tests/test_model.c. Usage: make_model_variants.py OUTDIR
Run with /usr/bin/python3 (Debian's numpy)."""
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
import gguf_read  # noqa: E402
from gguf_write import GGUFWriter, ARRAY  # noqa: E402


def rewrite(src, dst, drop=(), reshape=None, meta=None, data=None, retype=None, alignment=None, first=()):
    """Copies a GGUF with tensors dropped, reshaped or given new bytes, metadata
    changed, another alignment, and extra tensors (name, ne, type, bytes) first."""
    g = gguf_read.read_gguf(src)
    w = GGUFWriter(alignment=alignment or g.alignment)
    for t in first:
        w.add_tensor(*t)
    meta = meta or {}
    for key, (vtype, v) in g.meta.items():
        if key == 'general.alignment':
            continue
        if key in meta:
            vtype, v = meta[key]
            if v is None:
                continue
        if vtype == ARRAY:
            etype, items = v
            v = (etype, items if isinstance(items, list) else np.asarray(items))
        w.add(key, vtype, v)
    for name, t in g.tensors.items():
        if name in drop:
            continue
        ne = (reshape or {}).get(name, t.ne)
        raw = (data or {}).get(name, bytes(t.data))
        w.add_tensor(name, ne, (retype or {}).get(name, t.type), raw)
    w.write(dst)


def gen(out, *args):
    subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'gen_model.py'), *args, out], check=True,
                   stdout=subprocess.DEVNULL)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    p = lambda n: os.path.join(out, n)  # noqa: E731
    common = ['--n-embd', '256', '--n-layer', '2', '--n-head', '4', '--n-head-kv', '2', '--n-ff', '512',
              '--n-vocab', '300', '--n-ctx', '64', '--seed', '5']
    gen(p('valid.gguf'), '--arch', 'bitnet-b1.58', '--type', 'i2_s', *common)
    gen(p('valid-tq2.gguf'), '--arch', 'bitnet-b1.58', '--type', 'tq2_0', *common)
    # five K/V heads of two query heads (2B-4T has five of four): more K/V
    # heads than 2-4 threads, and not a multiple of them
    gen(p('kv5.gguf'), '--arch', 'bitnet-b1.58', '--type', 'i2_s', '--n-embd', '640', '--n-layer', '2',
        '--n-head', '10', '--n-head-kv', '5', '--n-ff', '512', '--n-vocab', '300', '--n-ctx', '64', '--seed', '6')
    v = p('valid.gguf')
    rewrite(v, p('missing-tensor.gguf'), drop={'blk.1.ffn_up.weight'})
    g = gguf_read.read_gguf(v)
    q = g.tensors['blk.0.attn_q.weight']
    rewrite(v, p('wrong-shape.gguf'), reshape={'blk.0.attn_k.weight': [256, 256]},
            data={'blk.0.attn_k.weight': bytes(q.data)})
    rewrite(v, p('unknown-arch.gguf'), meta={'general.architecture': (8, 'mamba-2')})
    rewrite(v, p('no-arch.gguf'), meta={'general.architecture': (8, None)})
    rewrite(v, p('missing-hparam.gguf'), meta={'bitnet-b1.58.block_count': (4, None)})
    rewrite(v, p('bad-heads.gguf'), meta={'bitnet-b1.58.attention.head_count': (4, 3)})
    # block_count against the layers the file holds, n_ff against the matrices
    rewrite(v, p('fewer-blocks.gguf'), meta={'bitnet-b1.58.block_count': (4, 1)})
    rewrite(v, p('huge-blocks.gguf'), meta={'bitnet-b1.58.block_count': (4, 1 << 30)})
    rewrite(v, p('huge-ff.gguf'), meta={'bitnet-b1.58.feed_forward_length': (4, 1 << 30)})
    rewrite(v, p('arch-int.gguf'), meta={'general.architecture': (4, 7)})
    rewrite(v, p('one-token.gguf'), reshape={'token_embd.weight': [256, 1]},
            data={'token_embd.weight': bytes(g.tensors['token_embd.weight'].data)[:512]})
    # general.alignment = 1 with the F32 norms at offsets that are not a
    # multiple of 4: loads (copying them), and gives the logits of valid.gguf
    for pad in range(1, 4):
        rewrite(v, p('align1.gguf'), alignment=1, first=[('pad', [pad], 24, bytes(pad))])
        a = gguf_read.read_gguf(p('align1.gguf'))
        if (a.data_offset + a.tensors['output_norm.weight'].offset) % 4:
            break
    rewrite(v, p('norm-q8.gguf'), retype={'output_norm.weight': 8},
            reshape={'output_norm.weight': [256]},
            data={'output_norm.weight': bytes(34 * 8)})
    # every I2_S weight code 1 (0) rewritten to 3: bitnet.cpp reads 3 as 0 too
    data = {}
    for name, t in g.tensors.items():
        if t.type == 36:
            raw = bytearray(t.data)
            n = len(raw) - 32
            codes = np.frombuffer(bytes(raw[:n]), dtype=np.uint8)
            out3 = codes.copy()
            for s in (0, 2, 4, 6):
                f = (codes >> s) & 3
                out3 = np.where(f == 1, out3 | (3 << s), out3).astype(np.uint8)
            raw[:n] = out3.tobytes()
            data[name] = bytes(raw)
    rewrite(v, p('code3.gguf'), data=data)
    # TQ2_0 with one block scale different from the rest
    g2 = gguf_read.read_gguf(p('valid-tq2.gguf'))
    t = g2.tensors['blk.0.ffn_gate.weight']
    raw = bytearray(t.data)
    d = np.frombuffer(bytes(raw[64:66]), dtype=np.float16)[0]
    raw[66 + 64:66 + 66] = np.array([d * 2], dtype=np.float16).tobytes()
    rewrite(p('valid-tq2.gguf'), p('tq2-mixed-scales.gguf'), data={t.name: bytes(raw)})
    # TQ2_0 with code 3 (weight +2) in the last field of block 3's last byte
    t = g2.tensors['blk.0.ffn_up.weight']
    raw = bytearray(t.data)
    raw[3 * 66 + 63] |= 0xc0
    rewrite(p('valid-tq2.gguf'), p('tq2-code3.gguf'), data={t.name: bytes(raw)})
    # every norm as F16 and as BF16, each next to an F32 copy of the same
    # (exactly representable) values: the pairs must give the same logits
    norms = {n: np.frombuffer(bytes(t.data), dtype=np.float32) for n, t in g.tensors.items() if 'norm' in n}
    f16 = {n: x.astype(np.float16) for n, x in norms.items()}
    rewrite(v, p('norm-f16.gguf'), retype={n: 1 for n in norms}, data={n: x.tobytes() for n, x in f16.items()})
    rewrite(v, p('norm-f16-as-f32.gguf'), data={n: x.astype(np.float32).tobytes() for n, x in f16.items()})
    bf16 = {n: (x.view(np.uint32) >> 16).astype(np.uint16) for n, x in norms.items()}  # truncated: exact
    rewrite(v, p('norm-bf16.gguf'), retype={n: 30 for n in norms}, data={n: x.tobytes() for n, x in bf16.items()})
    rewrite(v, p('norm-bf16-as-f32.gguf'),
            data={n: (x.astype(np.uint32) << 16).view(np.float32).tobytes() for n, x in bf16.items()})


if __name__ == '__main__':
    main()
