"""tools/gen_model.py writes files shaped like the real ones (checked against the oracle's)."""
import os

import numpy as np
import pytest

import bitnet_quant as bq
import gen_model
from gguf_read import read_gguf, GGML_TYPES


def gen(tmp_path, *args):
    p = os.path.join(str(tmp_path), 'm.gguf')
    gen_model.main([p] + [str(a) for a in args])
    return read_gguf(p)


@pytest.mark.parametrize('name,arch,extra', [
    ('A', 'bitnet-b1.58', ['--n-head-kv', '2', '--n-ff', '768', '--rope-base', '500000']),
    ('D', 'bitnet', ['--n-ff', '512']),
])
def test_mirrors_oracle_layout(oracle_dir, tmp_path, name, arch, extra):
    o = read_gguf(os.path.join(oracle_dir, name + '.gguf'))
    g = gen(tmp_path, '--arch', arch, '--n-embd', 256, '--n-layer', 2, '--n-head', 4, '--n-vocab', 512,
            '--n-ctx', 512, '--chat-template', 'none', *extra)
    assert list(g.meta) == list(o.meta)
    for k in o.meta:
        assert g.vtype(k) == o.vtype(k), k
        if g.vtype(k) == 9:
            assert g.meta[k][1][0] == o.meta[k][1][0], k
    for k in ('general.architecture', 'general.file_type', 'tokenizer.ggml.model', 'tokenizer.ggml.pre',
              'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.eot_token_id'):
        assert g.get(k) == o.get(k), k
    for k in o.meta:
        if k.startswith(arch + '.'):
            assert g.get(k) == o.get(k), k
    assert list(g.tensors) == list(o.tensors)
    for n, t in o.tensors.items():
        assert (g.tensors[n].type, g.tensors[n].ne) == (t.type, t.ne), n
    assert list(g.get('tokenizer.ggml.tokens')[:256]) == list(o.get('tokenizer.ggml.tokens')[:256])
    assert list(g.get('tokenizer.ggml.token_type')[-4:]) == [1, 3, 3, 3]


@pytest.mark.parametrize('qtype', ['i2_s', 'tq1_0', 'tq2_0'])
def test_ternary_codes_and_scale(tmp_path, qtype):
    g = gen(tmp_path, '--type', qtype, '--seed', 4)
    t = g.tensors['blk.1.ffn_down.weight']
    n_in, n_out = t.ne
    w, d, _ = bq.ternary_codes(t.type, t.data, n_out, n_in)
    assert np.array_equal(w, gen_model.ternary_weights(4, 'blk.1.ffn_down.weight', n_out, n_in))
    assert len(np.unique(d)) == 1 and float(np.float16(d.flat[0])) == float(d.flat[0])
    frac0 = float((w == 0).mean())
    assert 0.3 < frac0 < 0.37
    assert bq.GGML_TYPE[qtype] == t.type


def test_llama_and_scales(tmp_path):
    g = gen(tmp_path, '--arch', 'llama', '--embd-type', 'q4_k', '--head-type', 'q6_k', '--n-head-kv', 2)
    assert 'output.weight' in g.tensors and g.tensors['output.weight'].type == 14
    assert g.tensors['token_embd.weight'].type == 12
    assert not any('sub_norm' in n for n in g.tensors)
    g = gen(tmp_path, '--arch', 'bitnet', '--scales', '--n-ff', 512)
    sc = [n for n in g.tensors if n.endswith('.scale')]
    assert len(sc) == 2 * 7 and 'blk.0.attn_q.scale' in sc
    t = g.tensors['blk.1.ffn_down.scale']
    assert t.type == 0 and t.ne == [1]


def test_bpe_merges_are_valid(tmp_path):
    g = gen(tmp_path, '--n-vocab', 3000)
    toks = list(g.get('tokenizer.ggml.tokens'))
    idx = {t: i for i, t in enumerate(toks)}
    assert len(idx) == len(toks) == 3000
    for k, m in enumerate(g.get('tokenizer.ggml.merges')):
        a, b = m.split(' ')
        assert idx[a] < idx[a + b] and idx[b] < idx[a + b] and idx[a + b] == 256 + k


def test_spm_vocab(tmp_path):
    g = gen(tmp_path, '--arch', 'bitnet', '--vocab', 'spm', '--n-vocab', 1000, '--n-ff', 512)
    toks = list(g.get('tokenizer.ggml.tokens'))
    tt = g.get('tokenizer.ggml.token_type')
    assert toks[:4] == ['<unk>', '<s>', '</s>', '<0x00>'] and toks[258] == '<0xFF>'
    assert list(tt[:4]) == [2, 3, 3, 6] and (tt[3:259] == 6).all() and (tt[259:] == 1).all()
    assert g.vtype('tokenizer.ggml.scores') == 9 and len(g.get('tokenizer.ggml.scores')) == 1000
    assert g.get('tokenizer.ggml.model') == 'llama' and g.get('tokenizer.ggml.bos_token_id') == 1
    assert '\u2581the' in toks and len(set(toks)) == 1000


@pytest.mark.parametrize('embd', ['f32', 'f16', 'bf16', 'q8_0', 'q4_k', 'q6_k'])
def test_embedding_types(tmp_path, embd):
    g = gen(tmp_path, '--embd-type', embd, '--seed', 2)
    t = g.tensors['token_embd.weight']
    assert GGML_TYPES[t.type][0].lower() == embd
    x = bq.dequantize(t.type, t.data, t.ne[1], t.ne[0])
    ref = gen_model.tensor_rng(2, 'token_embd.weight').standard_normal((512, 256), dtype=np.float32) \
        * np.float32(5.0 / 16)
    assert np.abs(x - ref).max() < 0.2 * np.abs(ref).max()


@pytest.mark.parametrize('args', [
    ['--type', 'tq2_0', '--n-embd', '384', '--n-head', '6'],   # TQ needs multiples of 256
    ['--n-embd', '200', '--n-head', '4'],                      # I2_S needs multiples of 128
    ['--arch', 'bitnet-b1.58', '--scales'],
    ['--n-head', '4', '--n-head-kv', '3'],
])
def test_bad_sizes_refused(tmp_path, args):
    with pytest.raises(SystemExit):
        gen(tmp_path, *args)
