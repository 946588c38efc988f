#!/usr/bin/python3
"""Writes tokenizer-only GGUF files (no tensors) for the tokenizer tests.

  /usr/bin/python3 tools/make_vocab.py OUT_DIR [--tiktoken ../shared/tokenizer/llama3.tiktoken]

Writes into OUT_DIR:
  bpe-small.gguf    byte-level BPE learned from tools/gen_model.py's text (gpt2 model,
                    pre 'llama-bpe'), 3 control tokens and a user-defined one
  bpe-nopre.gguf    the same vocabulary without tokenizer.ggml.pre
  spm-small.gguf    SentencePiece style: <unk> <s> </s>, <0xNN> byte tokens, scored pieces
  spm-nobyte.gguf   the same without the byte tokens of '€' (an unknown character)
  llama3.gguf       the Llama 3 vocabulary from llama3.tiktoken, built as
                    ../shared/tokenizer/README.md describes (only with --tiktoken
                    and when that file exists)
Run with /usr/bin/python3 (Debian's numpy).
"""
import argparse
import base64
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_model as gm  # noqa: E402
import gguf_write as gw  # noqa: E402

LLAMA3_SPECIAL = ['<|begin_of_text|>', '<|end_of_text|>', '<|reserved_special_token_0|>',
                  '<|reserved_special_token_1|>', '<|finetune_right_pad_id|>', '<|step_id|>',
                  '<|start_header_id|>', '<|end_header_id|>', '<|eom_id|>', '<|eot_id|>', '<|python_tag|>',
                  '<|image|>']


def write(path, voc, extra=()):
    w = gw.GGUFWriter()
    w.add_str('general.architecture', 'tokenizer-only')
    w.add_str('tokenizer.ggml.model', voc['model'])
    if voc.get('pre') is not None:
        w.add_str('tokenizer.ggml.pre', voc['pre'])
    w.add_arr('tokenizer.ggml.tokens', gw.STRING, voc['tokens'])
    if 'scores' in voc:
        w.add_arr('tokenizer.ggml.scores', gw.FLOAT32, np.array(voc['scores'], np.float32))
    w.add_arr('tokenizer.ggml.token_type', gw.INT32, np.array(voc['token_type'], np.int32))
    if 'merges' in voc:
        w.add_arr('tokenizer.ggml.merges', gw.STRING, voc['merges'])
    for key in ('bos', 'eos', 'eot', 'unk'):
        if key in voc:
            name = 'unknown' if key == 'unk' else key
            w.add_u32('tokenizer.ggml.%s_token_id' % name, voc[key])
    for key, vtype, value in extra:
        w.add(key, vtype, value)
    tmp = path + '.tmp'
    w.write(tmp)
    os.replace(tmp, path)


def small_bpe():
    voc = gm.gpt2_vocab(1024, 1)
    # a user-defined token: split out of text even without special parsing
    voc['tokens'].append('<tool>')
    voc['token_type'].append(4)
    return voc


def llama3_sized():
    """Byte tokens and fillers up to Llama 3's 128256 tokens, without a pre-tokenizer key."""
    b2u = gm.bytes_to_unicode()
    tokens = [b2u[b] for b in range(256)] + ['filler%d' % i for i in range(128256 - 258)]
    tokens += ['<|begin_of_text|>', '<|end_of_text|>']
    return dict(model='gpt2', pre=None, tokens=tokens, token_type=[1] * (len(tokens) - 2) + [3, 3],
                merges=['f i'], bos=128254, eos=128255)


def llama3(tiktoken_path):
    ranks = []
    with open(tiktoken_path, 'rb') as f:
        for line in f:
            if line.strip():
                tok, rank = line.split()
                assert int(rank) == len(ranks)
                ranks.append(base64.b64decode(tok))
    b2u = gm.bytes_to_unicode()
    rank_of = {t: i for i, t in enumerate(ranks)}
    merges = []
    for t in ranks:
        if len(t) < 2:
            continue
        splits = [(rank_of[t[:i]], rank_of[t[i:]]) for i in range(1, len(t)) if t[:i] in rank_of and t[i:] in rank_of]
        merges.extend(sorted(splits))
    enc = [''.join(b2u[b] for b in t) for t in ranks]
    special = LLAMA3_SPECIAL + ['<|reserved_special_token_%d|>' % i for i in range(2, 256 - len(LLAMA3_SPECIAL) + 2)]
    assert len(special) == 256
    return dict(model='gpt2', pre='llama-bpe', tokens=enc + special,
                token_type=[1] * len(enc) + [3] * len(special),
                merges=['%s %s' % (enc[a], enc[b]) for a, b in merges],
                bos=128000, eos=128001, eot=128009)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out_dir')
    ap.add_argument('--tiktoken')
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    voc = small_bpe()
    write(os.path.join(args.out_dir, 'bpe-small.gguf'), voc,
          [('tokenizer.ggml.add_bos_token', gw.BOOL, True), ('tokenizer.chat_template', gw.STRING, gm.CHAT_TEMPLATES['bitnet'])])
    voc_nopre = dict(voc, pre=None)
    write(os.path.join(args.out_dir, 'bpe-nopre.gguf'), voc_nopre)
    write(os.path.join(args.out_dir, 'spm-small.gguf'), gm.spm_vocab(1024, 1),
          [('tokenizer.ggml.add_bos_token', gw.BOOL, True), ('tokenizer.ggml.add_eos_token', gw.BOOL, False)])
    # without the byte tokens of '€' (E2 82 AC): the character is unknown
    nobyte = gm.spm_vocab(1024, 1)
    for b in (0xE2, 0x82, 0xAC):
        i = nobyte['tokens'].index('<0x%02X>' % b)
        nobyte['tokens'][i], nobyte['token_type'][i] = '<unused%02X>' % b, 5
    write(os.path.join(args.out_dir, 'spm-nobyte.gguf'), nobyte)
    write(os.path.join(args.out_dir, 'bpe-128256-nopre.gguf'), llama3_sized())
    out = os.path.join(args.out_dir, 'llama3.gguf')
    if args.tiktoken and os.path.exists(args.tiktoken):
        v = llama3(args.tiktoken)
        if len(v['merges']) != 280147:
            raise SystemExit('llama3: %d merges, expected 280147' % len(v['merges']))
        write(out, v, [('tokenizer.ggml.add_bos_token', gw.BOOL, True)])
    elif os.path.exists(out):
        os.remove(out)


if __name__ == '__main__':
    main()
