#!/usr/bin/python3
"""Writes a checkpoint as a Hugging Face-style model directory (not committed).

  /usr/bin/python3 tools/train/export_hf.py OUT_DIR [CKPT]

OUT_DIR gets config.json (BitNet config, model_type "bitnet", hidden_act relu2,
tied embeddings), model.safetensors, tokenizer.json (byte-level BPE with the
Llama 3 split regex), tokenizer_config.json and generation_config.json.
Tensors follow the Llama/BitNet naming (model.layers.N.self_attn.q_proj.weight,
...attn_sub_norm, ...mlp.ffn_sub_norm, ...). The linear weights are the trained
full-precision master weights, F32; config.json's quantization_config asks for
online BitNet quantization (ternary weights with s_w = mean|W|, int8 activations
per token), which is how they were trained. safetensors is written by hand: 8-byte little-endian header
length, JSON header, raw little-endian tensor data.
Run with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
from bpe import LLAMA3_PAT  # noqa: E402

HF_NAMES = {'attn_q': 'self_attn.q_proj', 'attn_k': 'self_attn.k_proj', 'attn_v': 'self_attn.v_proj',
            'attn_output': 'self_attn.o_proj', 'attn_sub_norm': 'self_attn.attn_sub_norm',
            'attn_norm': 'input_layernorm', 'ffn_norm': 'post_attention_layernorm',
            'ffn_gate': 'mlp.gate_proj', 'ffn_up': 'mlp.up_proj', 'ffn_down': 'mlp.down_proj',
            'ffn_sub_norm': 'mlp.ffn_sub_norm'}


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, float32 numpy array)."""
    header = {}
    off = 0
    blobs = []
    for name, a in tensors:
        a = np.ascontiguousarray(a, dtype='<f4')
        b = a.tobytes()
        header[name] = dict(dtype='F32', shape=list(a.shape), data_offsets=[off, off + len(b)])
        off += len(b)
        blobs.append(b)
    if metadata:
        header['__metadata__'] = metadata
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def tokenizer_json(vocab):
    toks = vocab['tokens']
    ctrl = [i for i, t in enumerate(vocab['token_type']) if t == 3]
    bos = toks[vocab['bos']]
    return {
        'version': '1.0', 'truncation': None, 'padding': None,
        'added_tokens': [dict(id=i, content=toks[i], single_word=False, lstrip=False, rstrip=False,
                              normalized=False, special=True) for i in ctrl],
        'normalizer': None,
        'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [
            {'type': 'Split', 'pattern': {'Regex': LLAMA3_PAT}, 'behavior': 'Isolated', 'invert': False},
            {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False}]},
        'post_processor': {'type': 'TemplateProcessing',
                           'single': [{'SpecialToken': {'id': bos, 'type_id': 0}},
                                      {'Sequence': {'id': 'A', 'type_id': 0}}],
                           'pair': [{'SpecialToken': {'id': bos, 'type_id': 0}},
                                    {'Sequence': {'id': 'A', 'type_id': 0}},
                                    {'SpecialToken': {'id': bos, 'type_id': 1}},
                                    {'Sequence': {'id': 'B', 'type_id': 1}}],
                           'special_tokens': {bos: {'id': bos, 'ids': [vocab['bos']], 'tokens': [bos]}}},
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
                  'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False,
                  'ignore_merges': True,
                  'vocab': {t: i for i, t in enumerate(toks)},
                  'merges': list(vocab['merges'])},
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('out_dir')
    ap.add_argument('ckpt', nargs='?', default=os.path.join(_HERE, 'run', 'ckpt.pt'))
    args = ap.parse_args(argv)
    ck = torch.load(args.ckpt, map_location='cpu')
    c, vocab, sd = ck['config'], ck['vocab'], ck['model']
    os.makedirs(args.out_dir, exist_ok=True)
    tensors = [('model.embed_tokens.weight', sd['token_embd.weight'].numpy())]
    for i in range(c['n_layer']):
        for n, hf in HF_NAMES.items():
            w = sd['blocks.%d.%s.weight' % (i, n)].float()
            tensors.append(('model.layers.%d.%s.weight' % (i, hf), w.numpy()))
    tensors.append(('model.norm.weight', sd['output_norm.weight'].numpy()))
    write_safetensors(os.path.join(args.out_dir, 'model.safetensors'), tensors, {'format': 'pt'})
    config = {
        'architectures': ['BitNetForCausalLM'], 'model_type': 'bitnet',
        'vocab_size': c['n_vocab'], 'hidden_size': c['n_embd'], 'intermediate_size': c['n_ff'],
        'num_hidden_layers': c['n_layer'], 'num_attention_heads': c['n_head'],
        'num_key_value_heads': c['n_head_kv'], 'head_dim': c['n_embd'] // c['n_head'],
        'max_position_embeddings': c['n_ctx'], 'rms_norm_eps': c['eps'], 'rope_theta': c['rope_base'],
        'hidden_act': 'relu2', 'tie_word_embeddings': True, 'attention_bias': False, 'attention_dropout': 0.0,
        'initializer_range': 0.02, 'use_cache': True, 'torch_dtype': 'float32',
        'bos_token_id': vocab['bos'], 'eos_token_id': vocab['eos'],
        'quantization_config': {'quant_method': 'bitnet', 'linear_class': 'autobitlinear',
                                'quantization_mode': 'online'},
        'training_step': ck.get('step'),
    }
    with open(os.path.join(args.out_dir, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(args.out_dir, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(tokenizer_json(vocab), f, ensure_ascii=False)
    toks = vocab['tokens']
    with open(os.path.join(args.out_dir, 'tokenizer_config.json'), 'w') as f:
        json.dump({'tokenizer_class': 'PreTrainedTokenizerFast', 'bos_token': toks[vocab['bos']],
                   'eos_token': toks[vocab['eos']], 'add_bos_token': True, 'model_max_length': c['n_ctx'],
                   'clean_up_tokenization_spaces': False}, f, indent=2)
    with open(os.path.join(args.out_dir, 'generation_config.json'), 'w') as f:
        json.dump({'bos_token_id': vocab['bos'], 'eos_token_id': [vocab['eos'], vocab['eot']],
                   'do_sample': True, 'temperature': 0.8}, f, indent=2)
    print('wrote %s (%d tensors, step %s)' % (args.out_dir, len(tensors), ck.get('step')))


if __name__ == '__main__':
    main()
