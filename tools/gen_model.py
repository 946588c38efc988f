#!/usr/bin/python3
"""Writes GGUF models with random ternary weights in the layout of real BitNet files.

  /usr/bin/python3 tools/gen_model.py OUT.gguf [--arch bitnet-b1.58|bitnet-25|bitnet|llama]
      [--type i2_s|tq1_0|tq2_0] [--embd-type f32|f16|bf16|q8_0|q4_k|q6_k] [--head-type ...]
      [--n-embd N --n-layer N --n-head N --n-head-kv N --n-ff N --n-vocab N --n-ctx N]
      [--vocab gpt2|spm] [--scales] [--seed S] [--preset 2b4t|large]

Metadata keys, types and tensor names mirror the files bitnet.cpp's converter
writes (checked against ../shared/oracle/A.gguf and D.gguf). Every tensor draws
from its own generator seeded by (seed, tensor name), so the same seed gives the
same weights whatever the storage types: the ternary codes and the weight scale
(exactly representable in fp16) are identical as I2_S, TQ1_0 and TQ2_0.
Full-size presets take well under a minute; never commit their output.
"""
import argparse
import os
import re
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bitnet_quant as bq  # noqa: E402
import gguf_write as gw  # noqa: E402

ARCHS = ('bitnet-b1.58', 'bitnet-25', 'bitnet', 'llama')
TERNARY = ('i2_s', 'tq1_0', 'tq2_0')
FLOATS = ('f32', 'f16', 'bf16', 'q8_0', 'q4_k', 'q6_k')
# llama_ftype values as llama.cpp / bitnet.cpp write general.file_type
FILE_TYPE = {'i2_s': 40, 'tq1_0': 36, 'tq2_0': 37}
BLOCK = {'i2_s': 128, 'tq1_0': 256, 'tq2_0': 256, 'f32': 1, 'f16': 1, 'bf16': 1,
         'q8_0': 32, 'q4_k': 256, 'q6_k': 256}

PRESETS = {
    '2b4t': dict(arch='bitnet-b1.58', n_embd=2560, n_layer=30, n_head=20, n_head_kv=5, n_ff=6912,
                 n_vocab=128256, n_ctx=4096, embd_type='f16', type='i2_s', vocab='gpt2', rope_base=500000.0,
                 name='bitnet-b1.58-2B-4T-random'),
    'large': dict(arch='bitnet', n_embd=1536, n_layer=24, n_head=16, n_head_kv=16, n_ff=4096,
                  n_vocab=32002, n_ctx=2048, embd_type='f16', type='i2_s', vocab='spm', rope_base=10000.0,
                  name='bitnet_b1_58-large-random'),
}

TEXT = """\
The old lighthouse keeper climbed the stairs every evening, counting the steps as he went.
There were one hundred and twelve of them, and he knew each one by the sound it made under his boots.
At the top he trimmed the wick, wiped the great lens with a soft cloth, and watched the ships come in.
Some nights the sea was calm and the stars were bright; other nights the wind screamed around the tower
and the waves threw themselves against the rocks below. He did not mind the storms. He had a kettle,
a chair, a shelf of books, and a cat named Pepper who slept on the warm stones near the lamp.
In the morning he would walk down to the village to buy bread, milk and the newspaper, and the children
would ask him whether he had seen any whales. "Only three this week," he would say, "and one of them waved."
They laughed, but they always believed him a little. When he was young he had sailed to distant ports,
where the markets smelled of spices and the streets were full of music. Now he was content to stay
in one place and keep the light burning, so that others could find their way home through the dark.
Numbers matter to a keeper: 1, 2, 3, 10, 42, 100, 2024. The tide tables, the hours, the ships' names.
What is the time? It is half past nine. Where are you going? To the harbour, then back again.
"""

SPM_SPACE = '\u2581'


def bytes_to_unicode():
    """GPT-2's reversible map from bytes to printable unicode characters."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('\xa1'), ord('\xac') + 1)) + \
        list(range(ord('\xae'), ord('\xff') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def learn_merges(words, n_merges):
    """Greedy BPE: words is {tuple of symbols: count}; returns [(a, b)] in merge order."""
    words = dict(words)
    merges = []
    while len(merges) < n_merges:
        pairs = {}
        for w, c in words.items():
            for i in range(len(w) - 1):
                pairs[(w[i], w[i + 1])] = pairs.get((w[i], w[i + 1]), 0) + c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        if best[1] < 2:
            break
        a, b = best[0]
        merges.append((a, b))
        new = {}
        for w, c in words.items():
            out = []
            i = 0
            while i < len(w):
                if i < len(w) - 1 and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        words = new
    return merges


def synthetic_merges(rng, tokens, n, is_word_start):
    """More valid merges (both halves are earlier tokens), joining letter-only pieces."""
    have = set(tokens)
    starts = [t for t in tokens if is_word_start(t)]
    conts = [t for t in tokens if t.isalpha() and t.isascii()]
    out = []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 50 * n + 1000:
            raise RuntimeError('cannot make %d synthetic merges' % n)
        # biased towards early (short) pieces, so tokens stay word-like
        pick = lambda pool: pool[int(len(pool) * rng.random() ** 3)]  # noqa: E731
        a = pick(starts) if rng.random() < 0.5 else pick(conts)
        b = pick(conts)
        t = a + b
        if t in have or len(t) > 16:
            continue
        have.add(t)
        out.append((a, b))
        (starts if is_word_start(t) else conts).append(t)
    return out


# tokenizer.chat_template as the real files carry it (Jinja text; libbitnet
# recognises the format by its markers, see lib/chat.c).
CHAT_TEMPLATES = {
    # microsoft/bitnet-b1.58-2B-4T
    'bitnet': ("{% for message in messages %}{% if message['role'] == 'user' %}{{ 'User: ' + "
               "message['content'] | trim + '<|eot_id|>' }}{% else %}{{ 'Assistant: ' + "
               "message['content'] | trim + '<|eot_id|>' }}{% endif %}{% endfor %}"
               "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}"),
    # Llama 3 instruct
    'llama3': ("{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' "
               "+ message['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}"
               "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"),
}
# Which template each architecture's files carry (1bitLLM's are base models: none).
ARCH_TEMPLATE = {'bitnet-b1.58': 'bitnet', 'bitnet-25': 'bitnet', 'llama': 'llama3'}


def gpt2_vocab(n_vocab, seed):
    """256 byte tokens, learned + synthetic merges, 3 control tokens at the end."""
    b2u = bytes_to_unicode()
    n_ctrl = 3
    n_merges = n_vocab - 256 - n_ctrl
    if n_merges < 0:
        raise SystemExit('--n-vocab must be at least %d for a gpt2 vocabulary' % (256 + n_ctrl))
    words = {}
    for w in re.findall(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+", TEXT):
        key = tuple(b2u[b] for b in w.encode('utf-8'))
        words[key] = words.get(key, 0) + 1
    merges = learn_merges(words, n_merges)
    tokens = [b2u[b] for b in range(256)] + [a + b for a, b in merges]
    if len(merges) < n_merges:
        G = b2u[ord(' ')]
        extra = synthetic_merges(np.random.default_rng([seed, 7]), tokens, n_merges - len(merges),
                                 lambda t: t.startswith(G) and t[1:].isalpha() and t[1:].isascii())
        merges += extra
        tokens += [a + b for a, b in extra]
    ctrl = ['<|begin_of_text|>', '<|end_of_text|>', '<|eot_id|>']
    tokens += ctrl
    ttype = [1] * (len(tokens) - n_ctrl) + [3] * n_ctrl
    return dict(model='gpt2', pre='llama-bpe', tokens=tokens, token_type=ttype,
                merges=['%s %s' % m for m in merges], bos=n_vocab - 3, eos=n_vocab - 2, eot=n_vocab - 1)


def spm_vocab(n_vocab, seed):
    """LLaMA SentencePiece style: <unk> <s> </s>, 256 <0xNN> byte tokens, pieces with scores."""
    n_pieces = n_vocab - 3 - 256
    text = TEXT.replace('\n', ' ')
    words = {}
    for w in re.findall(r" ?[^ ]+", ' ' + text):
        key = tuple(w.replace(' ', SPM_SPACE))
        words[key] = words.get(key, 0) + 1
    chars = sorted({ch for w in words for ch in w})
    if n_pieces < len(chars):
        raise SystemExit('--n-vocab must be at least %d for an spm vocabulary' % (259 + len(chars)))
    merges = learn_merges(words, n_pieces - len(chars))
    pieces = [a + b for a, b in merges]
    base = chars + pieces
    if len(pieces) + len(chars) < n_pieces:
        extra = synthetic_merges(np.random.default_rng([seed, 7]), base, n_pieces - len(pieces) - len(chars),
                                 lambda t: t.startswith(SPM_SPACE) and t[1:].isalpha() and t[1:].isascii())
        pieces += [a + b for a, b in extra]
    tokens = ['<unk>', '<s>', '</s>'] + ['<0x%02X>' % i for i in range(256)] + pieces + chars
    scores = [0.0] * 259 + [-float(i) for i in range(len(pieces) + len(chars))]
    ttype = [2, 3, 3] + [6] * 256 + [1] * (len(pieces) + len(chars))
    return dict(model='llama', pre='default', tokens=tokens, token_type=ttype, scores=scores,
                bos=1, eos=2, unk=0)


# ------------------------------------------------------------------ weights

def tensor_rng(seed, name):
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


# the 81 bytes whose four 2-bit fields are all ternary codes 0..2, for a uniform draw
_G = np.arange(81)
_C = np.stack([_G // 27 % 3, _G // 9 % 3, _G // 3 % 3, _G % 3], axis=1).astype(np.uint8)  # fields, high first
_LUT_I2S = (_C[:, 0] << 6) | (_C[:, 1] << 4) | (_C[:, 2] << 2) | _C[:, 3]
_LUT_TQ2 = _C[:, 0] | (_C[:, 1] << 2) | (_C[:, 2] << 4) | (_C[:, 3] << 6)


def ternary_tensor(seed, name, n_out, n_in, qtype, scale):
    """Uniform ternary codes (1/3 zeros) drawn four at a time; packed for qtype.
    Group g of a row-major 128-block holds weights g, g+32, g+64, g+96: I2_S's byte
    layout directly, and TQ2_0's with the opposite bit order."""
    g = tensor_rng(seed, name).integers(0, 81, size=n_out * n_in // 4, dtype=np.uint8)
    if qtype == 'i2_s':
        return _LUT_I2S[g].tobytes() + np.float32(scale).tobytes() + b'\0' * 28
    if qtype == 'tq2_0':
        qs = _LUT_TQ2[g].reshape(-1, 64)
        d = np.full((qs.shape[0], 1), scale, dtype='<f2').view(np.uint8)
        return np.concatenate([qs, d], axis=1).tobytes()
    return bq.pack_tq1_0(_codes_to_weights(g, n_out, n_in), scale)


def _codes_to_weights(g, n_out, n_in):
    # field k of group m in a 128-block is weight k*32 + m
    return (_C[g].reshape(-1, 32, 4).transpose(0, 2, 1).astype(np.int8) - 1).reshape(n_out, n_in)


def ternary_weights(seed, name, n_out, n_in):
    """The int8 weights ternary_tensor packs (for tests)."""
    g = tensor_rng(seed, name).integers(0, 81, size=n_out * n_in // 4, dtype=np.uint8)
    return _codes_to_weights(g, n_out, n_in)


def fp16_exact(x):
    return float(np.float16(x))


def float_tensor(x, ftype):
    x = np.ascontiguousarray(x, dtype=np.float32)
    return bq.QUANTIZE[ftype](x if x.ndim == 2 else x.reshape(1, -1))


def build(args):
    a = args.arch
    E, F, V = args.n_embd, args.n_ff, args.n_vocab
    H, HKV = args.n_head, args.n_head_kv
    if E % H:
        raise SystemExit('--n-embd must be a multiple of --n-head')
    hd = E // H
    if hd % 2:
        raise SystemExit('head dimension must be even')
    if H % HKV:
        raise SystemExit('--n-head must be a multiple of --n-head-kv')
    for what, n in (('--n-embd', E), ('--n-ff', F)):
        if n % BLOCK[args.type]:
            raise SystemExit('%s %d is not a multiple of %d, as %s needs' % (what, n, BLOCK[args.type], args.type))
    for t in (args.embd_type, args.head_type):
        if t and E % BLOCK[t]:
            raise SystemExit('--n-embd %d is not a multiple of %d, as %s needs' % (E, BLOCK[t], t))
    if args.head_type and a != 'llama':
        raise SystemExit('--head-type applies to llama (the BitNet architectures tie the head to token_embd)')
    if args.scales and a != 'bitnet':
        raise SystemExit('--scales applies to arch bitnet')
    if args.vocab == 'spm' and a not in ('bitnet', 'llama'):
        raise SystemExit('--vocab spm applies to arch bitnet or llama')

    voc = gpt2_vocab(V, args.seed) if args.vocab == 'gpt2' else spm_vocab(V, args.seed)
    assert len(voc['tokens']) == V, (len(voc['tokens']), V)

    w = gw.GGUFWriter()
    w.add_str('general.architecture', a)
    w.add_str('general.name', args.name or 'random-%s-l%d-e%d-s%d' % (a, args.n_layer, E, args.seed))
    w.add_u32('general.file_type', FILE_TYPE[args.type])
    w.add_u32(a + '.vocab_size', V)
    w.add_u32(a + '.context_length', args.n_ctx)
    w.add_u32(a + '.embedding_length', E)
    w.add_u32(a + '.block_count', args.n_layer)
    w.add_u32(a + '.feed_forward_length', F)
    w.add_u32(a + '.rope.dimension_count', hd)
    w.add_u32(a + '.attention.head_count', H)
    w.add_u32(a + '.attention.head_count_kv', HKV)
    w.add_f32(a + '.attention.layer_norm_rms_epsilon', 1e-5)
    w.add_f32(a + '.rope.freq_base', args.rope_base)
    w.add_str('tokenizer.ggml.model', voc['model'])
    w.add_str('tokenizer.ggml.pre', voc['pre'])
    w.add_arr('tokenizer.ggml.tokens', gw.STRING, voc['tokens'])
    if 'scores' in voc:
        w.add_arr('tokenizer.ggml.scores', gw.FLOAT32, np.array(voc['scores'], np.float32))
    w.add_arr('tokenizer.ggml.token_type', gw.INT32, np.array(voc['token_type'], np.int32))
    if 'merges' in voc:
        w.add_arr('tokenizer.ggml.merges', gw.STRING, voc['merges'])
    w.add_u32('tokenizer.ggml.bos_token_id', voc['bos'])
    w.add_u32('tokenizer.ggml.eos_token_id', voc['eos'])
    if 'eot' in voc:
        w.add_u32('tokenizer.ggml.eot_token_id', voc['eot'])
    if 'unk' in voc:
        w.add_u32('tokenizer.ggml.unknown_token_id', voc['unk'])
    w.add_bool('tokenizer.ggml.add_bos_token', True)
    tmpl = args.chat_template or (ARCH_TEMPLATE.get(args.arch) if voc['model'] == 'gpt2' else None)
    if tmpl and tmpl != 'none':
        w.add_str('tokenizer.chat_template', CHAT_TEMPLATES[tmpl])
    if voc['model'] == 'llama':
        w.add_bool('tokenizer.ggml.add_eos_token', False)

    s = args.seed
    embd_std = args.logit_std / np.sqrt(E)

    def norm(name, n):
        return (1.0 + 0.1 * tensor_rng(s, name).standard_normal(n)).astype(np.float32)

    emb = tensor_rng(s, 'token_embd.weight').standard_normal((V, E), dtype=np.float32) * np.float32(embd_std)
    w.add_tensor('token_embd.weight', [E, V], bq.GGML_TYPE[args.embd_type], float_tensor(emb, args.embd_type))
    del emb
    w.add_tensor('output_norm.weight', [E], gw.F32, norm('output_norm.weight', E).tobytes())
    if a == 'llama':
        ht = args.head_type or args.embd_type
        out = tensor_rng(s, 'output.weight').standard_normal((V, E), dtype=np.float32) * np.float32(embd_std)
        w.add_tensor('output.weight', [E, V], bq.GGML_TYPE[ht], float_tensor(out, ht))
        del out
    sub = a != 'llama'
    kv = HKV * hd
    qt = bq.GGML_TYPE[args.type]
    for i in range(args.n_layer):
        p = 'blk.%d.' % i

        def tern(n, n_out, n_in, gain):
            name = p + n + '.weight'
            jitter = 1.0 + 0.1 * tensor_rng(s, name + '#scale').standard_normal()
            scale = fp16_exact(gain * jitter / np.sqrt(n_in))
            w.add_tensor(name, [n_in, n_out], qt, ternary_tensor(s, name, n_out, n_in, args.type, scale))
            if args.scales:
                sv = fp16_exact(1.0 + 0.25 * tensor_rng(s, p + n + '.scale').standard_normal())
                scales.append((p + n + '.scale', sv))

        scales = []
        w.add_tensor(p + 'attn_norm.weight', [E], gw.F32, norm(p + 'attn_norm.weight', E).tobytes())
        tern('attn_q', E, E, 1.0)
        tern('attn_k', kv, E, 1.0)
        tern('attn_v', kv, E, 1.0)
        tern('attn_output', E, E, args.out_gain)
        if sub:
            w.add_tensor(p + 'attn_sub_norm.weight', [E], gw.F32, norm(p + 'attn_sub_norm.weight', E).tobytes())
        w.add_tensor(p + 'ffn_norm.weight', [E], gw.F32, norm(p + 'ffn_norm.weight', E).tobytes())
        tern('ffn_gate', F, E, 1.0)
        tern('ffn_up', F, E, 1.0)
        tern('ffn_down', E, F, args.out_gain)
        if sub:
            w.add_tensor(p + 'ffn_sub_norm.weight', [F], gw.F32, norm(p + 'ffn_sub_norm.weight', F).tobytes())
        for name, sv in scales:
            w.add_tensor(name, [1], gw.F32, np.float32(sv).tobytes())
    return w


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('out')
    ap.add_argument('--preset', choices=sorted(PRESETS))
    ap.add_argument('--arch', choices=ARCHS)
    ap.add_argument('--type', choices=TERNARY)
    ap.add_argument('--embd-type', choices=FLOATS)
    ap.add_argument('--head-type', choices=FLOATS, help='output.weight type (llama only)')
    ap.add_argument('--vocab', choices=('gpt2', 'spm'))
    ap.add_argument('--scales', action='store_true', help='per-tensor F32 *.scale tensors (arch bitnet)')
    for n in ('n-embd', 'n-layer', 'n-head', 'n-head-kv', 'n-ff', 'n-vocab', 'n-ctx'):
        ap.add_argument('--' + n, type=int)
    ap.add_argument('--rope-base', type=float)
    ap.add_argument('--chat-template', choices=sorted(CHAT_TEMPLATES) + ['none'],
                    help='tokenizer.chat_template to write (default: the architecture\'s)')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--name')
    ap.add_argument('--logit-std', type=float, default=5.0, help='std of the logits an O(1) hidden state gives')
    ap.add_argument('--out-gain', type=float, default=6.0, help='gain of attn_output/ffn_down scales')
    args = ap.parse_args(argv)
    d = dict(arch='bitnet-b1.58', type='i2_s', embd_type='f16', vocab='gpt2', n_embd=256, n_layer=2, n_head=4,
             n_head_kv=None, n_ff=768, n_vocab=512, n_ctx=512, rope_base=None, name=None)
    if args.preset:
        d.update(PRESETS[args.preset])
    for k, v in d.items():
        if getattr(args, k, None) is None:
            setattr(args, k, v)
    if args.n_head_kv is None:
        args.n_head_kv = args.n_head
    if args.rope_base is None:
        args.rope_base = 10000.0 if args.arch == 'bitnet' else 500000.0
    return args


def main(argv=None):
    args = parse(argv)
    build(args).write(args.out)


if __name__ == '__main__':
    main()
