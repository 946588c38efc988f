"""Every failure raises bitnet.BitnetError with the library's status and message."""
import os

import numpy as np
import pytest

import bitnet
from bitnet import Status

PROMPT = 'The old lighthouse keeper'


def test_missing_file_names_the_path(tmp_path):
    path = str(tmp_path / 'does-not-exist.gguf')
    with pytest.raises(bitnet.BitnetError) as e:
        bitnet.Model(path, log=False)
    assert e.value.status == Status.IO
    assert 'does-not-exist.gguf' in e.value.message and 'does-not-exist.gguf' in str(e.value)


def test_not_a_gguf_file(tmp_path):
    path = tmp_path / 'garbage.gguf'
    path.write_bytes(b'this is not a model file' * 10)
    with pytest.raises(bitnet.BitnetError) as e:
        bitnet.Model(path, log=False)
    assert e.value.status == Status.FORMAT and e.value.message


def test_truncated_file(tmp_path, model_path):
    data = open(model_path, 'rb').read()
    path = tmp_path / 'truncated.gguf'
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(bitnet.BitnetError) as e:
        bitnet.Model(str(path), log=False)
    assert e.value.status in (Status.FORMAT, Status.IO)


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises(bitnet.BitnetError) as e:
        bitnet.Model(str(tmp_path), log=False)
    assert e.value.status in (Status.IO, Status.FORMAT)


def test_bad_model_arguments(model_path):
    with pytest.raises(bitnet.BitnetError) as e:
        bitnet.Model(model_path, cpu_level='bogus', log=False)
    assert e.value.status == Status.INVALID_ARG and 'bogus' in e.value.message
    x86 = bitnet.cpu_best() in (bitnet.CpuLevel.AVX2, bitnet.CpuLevel.AVX512) or not bitnet.cpu_supported('neon')
    foreign = bitnet.CpuLevel.NEON if x86 else bitnet.CpuLevel.AVX2
    if not bitnet.cpu_supported(foreign):
        with pytest.raises(bitnet.BitnetError) as e:
            bitnet.Model(model_path, cpu_level=foreign, log=False)
        assert e.value.status == Status.UNSUPPORTED
    with pytest.raises(TypeError):
        bitnet.Model(model_path, log='loud')


def test_bad_context_arguments(model):
    for kw in (dict(n_ctx=-1), dict(n_threads=-2), dict(n_batch=1 << 40)):
        with pytest.raises(bitnet.BitnetError) as e:
            bitnet.Context(model, **kw)
        assert e.value.status == Status.INVALID_ARG
    with pytest.raises(TypeError):
        bitnet.Context(model, n_ctx='big')
    with pytest.raises(TypeError):
        bitnet.Context('model.gguf')


@pytest.mark.parametrize('kw, word', [
    (dict(temperature=-1), 'temperature'),
    (dict(temperature=float('nan')), 'temperature'),
    (dict(top_p=0), 'top_p'),
    (dict(min_p=2), 'min_p'),
    (dict(top_k=-3), 'top_k'),
    (dict(repeat_penalty=0), 'repeat_penalty'),
    (dict(stop=['']), 'stop'),
    (dict(seed=-1), 'seed'),
    (dict(max_tokens=1 << 40), 'max_tokens'),
])
def test_bad_generation_arguments(ctx, kw, word):
    for call in (lambda: ctx.generate(PROMPT, **kw), lambda: ctx.stream(PROMPT, **kw)):
        with pytest.raises(bitnet.BitnetError) as e:
            call()
        assert e.value.status == Status.INVALID_ARG and word in e.value.message
    assert ctx.n_past == 0  # nothing was evaluated


def test_prompt_with_nul(ctx):
    with pytest.raises(bitnet.BitnetError) as e:
        ctx.generate('a\0b')
    assert e.value.status == Status.INVALID_ARG


def test_invalid_tokens(ctx, model):
    for bad in ([model.n_vocab], [-1], [0, 5, 100000], np.array([model.n_vocab + 7])):
        with pytest.raises(bitnet.BitnetError) as e:
            ctx.eval(bad)
        assert e.value.status == Status.INVALID_TOKEN and e.value.message
        assert ctx.n_past == 0
    with pytest.raises(bitnet.BitnetError) as e:
        ctx.eval([1 << 40])
    assert e.value.status == Status.INVALID_TOKEN
    with pytest.raises(bitnet.BitnetError) as e:
        model.detokenize([model.n_vocab])
    assert e.value.status == Status.INVALID_TOKEN
    with pytest.raises(bitnet.BitnetError) as e:
        model.token_to_piece(-5)
    assert e.value.status == Status.INVALID_TOKEN
    with pytest.raises(bitnet.BitnetError):
        model.token_text(model.n_vocab)
    # ids past int32 are refused, never wrapped onto a real token
    for call in (lambda t: model.is_eog(t), lambda t: model.token_text(t), lambda t: ctx.token_text(t)):
        with pytest.raises(bitnet.BitnetError) as e:
            call((1 << 32) + model.eos)
        assert e.value.status == Status.INVALID_TOKEN
    with bitnet.Sampler() as s, pytest.raises(bitnet.BitnetError) as e:
        s.accept((1 << 32) + 7)
    assert e.value.status == Status.INVALID_TOKEN
    with pytest.raises(TypeError):
        ctx.eval('hello')
    with pytest.raises(TypeError):
        ctx.eval([1.5])


def test_eval_nothing(ctx):
    with pytest.raises(bitnet.BitnetError) as e:
        ctx.eval([])
    assert e.value.status == Status.INVALID_ARG
    assert ctx.eval([], logits=False) is None
    assert ctx.eval_all([]).shape == (0, ctx.model.n_vocab)
    assert ctx.n_past == 0


def test_invalid_utf8(model):
    with pytest.raises(bitnet.BitnetError) as e:
        model.tokenize(b'abc\xff\xfe')
    assert e.value.status == Status.INVALID_UTF8
    with pytest.raises(bitnet.BitnetError) as e:  # a lone surrogate cannot be UTF-8
        model.tokenize('abc\udc80')
    assert e.value.status == Status.INVALID_UTF8


def test_nul_in_path_and_keys(model_path, model):
    with pytest.raises(bitnet.BitnetError) as e:  # not the file before the NUL
        bitnet.Model(model_path + '\0junk', log=False)
    assert e.value.status == Status.INVALID_ARG
    assert 'general.architecture' in model.meta
    assert 'general.architecture\0junk' not in model.meta
    with pytest.raises(KeyError):
        model.meta['general.architecture\0junk']


def test_context_overflow(model):
    with bitnet.Context(model, n_ctx=16) as c:
        assert c.n_ctx == 16
        with pytest.raises(bitnet.BitnetError) as e:
            c.eval(list(range(17)))
        assert e.value.status == Status.CONTEXT_FULL and e.value.message
        assert c.n_past == 0
        c.eval(list(range(10)))
        with pytest.raises(bitnet.BitnetError) as e:
            c.eval(list(range(7)))
        assert e.value.status == Status.CONTEXT_FULL and c.n_past == 10
        long_prompt = ' '.join(['keeper'] * 40)
        for call in (c.generate, c.stream):
            with pytest.raises(bitnet.BitnetError) as e:
                call(long_prompt)
            assert e.value.status == Status.CONTEXT_FULL
        # Filling the context during generation ends it normally.
        c.reset()
        text = c.generate(PROMPT, max_tokens=-1, temperature=0)
        assert isinstance(text, str) and c.n_past == c.n_ctx
        c.reset()
        assert ''.join(c.stream(PROMPT, max_tokens=-1, temperature=0)) == text


def test_use_after_close(model_path):
    m = bitnet.Model(model_path, log=False)
    c = bitnet.Context(m, n_ctx=32)
    m.close()
    assert c.closed and m.closed
    for call in (lambda: m.n_vocab, lambda: m.tokenize('x'), lambda: c.eval([1]), lambda: c.generate('x'),
                 lambda: bitnet.Context(m)):
        with pytest.raises(bitnet.BitnetError) as e:
            call()
        assert e.value.status == Status.INVALID_ARG and 'closed' in e.value.message
    m.close()
    c.close()  # idempotent


def test_error_carries_status_and_message():
    e = bitnet.BitnetError(-6, 'full')
    assert e.status is Status.CONTEXT_FULL and e.message == 'full' and 'CONTEXT_FULL' in str(e)
    assert bitnet.BitnetError(-99, 'new').status == -99  # codes newer than the binding stay ints


def test_bad_library_path_env(tmp_path):
    from bitnet import _lib
    with pytest.raises(bitnet.LibraryError):
        _lib.load(os.path.join(str(tmp_path), 'libnothing.so'))
