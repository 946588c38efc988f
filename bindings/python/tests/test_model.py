"""Model metadata, tensors and the tokenizer."""
import pytest

import bitnet


def test_hyperparameters(model):
    assert model.arch == 'bitnet-b1.58'
    assert model.n_vocab == 512
    assert model.n_ctx_train == 512
    assert model.n_embd == 256
    assert model.n_layer == 2
    assert model.weight_bytes > 0
    assert model.cpu_level != bitnet.CpuLevel.AUTO
    assert 'bitnet-b1.58' in repr(model)


def test_metadata_mapping(model):
    meta = model.meta
    assert meta['general.architecture'] == 'bitnet-b1.58'
    assert meta['bitnet-b1.58.block_count'] == 2
    assert isinstance(meta['bitnet-b1.58.rope.freq_base'], float)
    tokens = meta['tokenizer.ggml.tokens']
    assert isinstance(tokens, bitnet.MetaArray) and len(tokens) == 512
    assert 'general.architecture' in meta and 'no.such.key' not in meta
    with pytest.raises(KeyError):
        meta['no.such.key']
    keys = list(meta)
    assert len(keys) == len(meta) and 'tokenizer.ggml.model' in keys
    assert dict(meta)['general.architecture'] == 'bitnet-b1.58'


def test_tensors(model):
    ts = model.tensors
    byname = {t.name: t for t in ts}
    emb = byname['token_embd.weight']
    assert emb.shape == (256, 512) and emb.type_name == 'F16' and emb.n_bytes == 256 * 512 * 2
    q = byname['blk.0.attn_q.weight']
    assert q.type_name == 'I2_S' and q.shape == (256, 256)
    assert len(ts) == len(byname)


def test_tokenize_roundtrip(model):
    text = 'The old lighthouse keeper climbed the stairs every evening.'
    toks = model.tokenize(text)
    assert toks[0] == model.bos and all(0 <= t < model.n_vocab for t in toks)
    assert model.tokenize(text, add_special=False) == toks[1:]
    assert model.detokenize(toks) == text
    assert model.detokenize(toks, special=True) == model.token_text(model.bos) + text
    assert b''.join(model.token_to_piece(t) for t in toks[1:]).decode() == text


def test_tokenize_special_and_unicode(model):
    eot = model.tokenize('<|eot_id|>', add_special=False, parse_special=True)
    assert eot == [model.eot]
    assert model.is_eog(model.eot) and model.is_eog(model.eos)
    assert not model.is_eog(model.tokenize('a', add_special=False)[0])
    plain = model.tokenize('<|eot_id|>', add_special=False)
    assert model.eot not in plain and model.detokenize(plain) == '<|eot_id|>'
    text = 'naïve café — 日本語 🙂'
    assert model.detokenize(model.tokenize(text, add_special=False)) == text
    assert model.tokenize('', add_special=False) == []


def test_long_text_grows_the_buffer(model):
    text = 'Numbers matter to a keeper: 1, 2, 3, 10, 42, 100, 2024. ' * 200
    toks = model.tokenize(text)
    assert len(toks) > 1000
    assert model.detokenize(toks) == text


def test_chat_format(model):
    msgs = [{'role': 'system', 'content': 'Be brief.'}, ('user', 'Hello there')]
    s = model.format_chat(msgs, template='llama3')
    assert 'Be brief.' in s and 'Hello there' in s
    assert 'assistant' in s[-40:]
    assert model.chat_template is None or isinstance(model.chat_template, str)
    long = [('user', 'x' * 5000)]
    assert 'x' * 5000 in model.format_chat(long, template='llama2')
