"""Generation, streaming, evaluation, sampling and chat on a generated model."""
import contextlib
import threading

import numpy as np
import pytest

import bitnet

PROMPT = 'The old lighthouse keeper'


def test_greedy_is_deterministic(model):
    with bitnet.Context(model, n_ctx=128) as a, bitnet.Context(model, n_ctx=128) as b:
        ta = a.generate(PROMPT, max_tokens=24, temperature=0)
        tb = b.generate(PROMPT, max_tokens=24, temperature=0)
        assert ta == tb and isinstance(ta, str) and ta
        a.reset()
        assert a.n_past == 0
        assert a.generate(PROMPT, max_tokens=24, temperature=0) == ta


def test_seeded_sampling_is_deterministic(ctx):
    a = ctx.generate(PROMPT, max_tokens=20, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=7)
    ctx.reset()
    b = ctx.generate(PROMPT, max_tokens=20, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=7)
    assert a == b


@pytest.mark.parametrize('kw', [
    dict(temperature=0),
    dict(temperature=0.9, seed=11, repeat_penalty=1.3),
    dict(temperature=0, stop=['e']),
    dict(temperature=0, stop=['the ', 'ke', 'zzz']),
])
def test_stream_equals_generate(model, kw):
    with bitnet.Context(model, n_ctx=128) as c:
        text = c.generate(PROMPT, max_tokens=32, **kw)
        n_past = c.n_past
        c.reset()
        pieces = list(c.stream(PROMPT, max_tokens=32, **kw))
        assert ''.join(pieces) == text
        assert c.n_past == n_past
    for s in kw.get('stop', ()):
        assert s not in text


def test_stream_pieces_are_incremental(ctx):
    """stream() evaluates the prompt at once, then one token at a time as the caller asks."""
    it = ctx.stream(PROMPT, max_tokens=16, temperature=0)
    n0 = ctx.n_past
    assert n0 == len(ctx.model.tokenize(PROMPT))
    first = next(it)
    assert isinstance(first, str) and first
    n1 = ctx.n_past
    rest = list(it)
    if rest:
        assert n0 <= n1 < ctx.n_past
    it2 = ctx.stream(' and', max_tokens=16, temperature=0)
    n2 = ctx.n_past
    next(it2, None)
    it2.close()  # stopping early keeps what was evaluated
    assert ctx.n_past >= n2


def test_generation_continues_the_sequence(ctx):
    ctx.generate(PROMPT, max_tokens=8, temperature=0)
    n = ctx.n_past
    ctx.generate(' and then', max_tokens=8, temperature=0)
    added = len(ctx.model.tokenize(' and then', add_special=False))
    assert ctx.n_past >= n + added


def test_callback_sees_every_piece_and_can_stop(ctx):
    seen = []
    text = ctx.generate(PROMPT, max_tokens=16, temperature=0, callback=lambda piece, tok: seen.append((piece, tok)))
    assert ''.join(p for p, _ in seen) == text
    assert all(0 <= t < ctx.model.n_vocab or t == -1 for _, t in seen)
    ctx.reset()
    calls = []
    short = ctx.generate(PROMPT, max_tokens=16, temperature=0, callback=lambda p, t: calls.append(p) or True)
    assert len(calls) == 1 and short == calls[0]


class Boom(Exception):
    pass


def test_callback_exception_propagates(ctx):
    calls = []

    def cb(piece, token):
        calls.append(token)
        if len(calls) == 3:
            raise Boom('from the callback')

    with pytest.raises(Boom, match='from the callback'):
        ctx.generate(PROMPT, max_tokens=64, temperature=0, callback=cb)
    assert len(calls) == 3  # generation stopped at once
    n_prompt = len(ctx.model.tokenize(PROMPT))
    assert ctx.n_past <= n_prompt + 3
    # The context is still usable afterwards.
    ctx.reset()
    assert isinstance(ctx.generate(PROMPT, max_tokens=4, temperature=0), str)


def test_keyboard_interrupt_in_callback_propagates(ctx):
    def cb(piece, token):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ctx.generate(PROMPT, max_tokens=8, temperature=0, callback=cb)


def test_eval_logits(ctx, model):
    toks = model.tokenize(PROMPT)
    logits = ctx.eval(toks)
    assert isinstance(logits, np.ndarray) and logits.dtype == np.float32
    assert logits.shape == (model.n_vocab,) and np.isfinite(logits).all()
    assert ctx.n_past == len(toks)
    assert ctx.eval([int(np.argmax(logits))], logits=False) is None
    assert ctx.n_past == len(toks) + 1


def test_eval_all_matches_eval(model):
    toks = model.tokenize(PROMPT)
    with bitnet.Context(model, n_ctx=64) as a, bitnet.Context(model, n_ctx=64) as b:
        rows = a.eval_all(toks)
        assert rows.shape == (len(toks), model.n_vocab) and np.isfinite(rows).all()
        last = b.eval(np.array(toks, dtype=np.int64))
        np.testing.assert_allclose(rows[-1], last, rtol=1e-5, atol=1e-5)
        for i in (0, len(toks) // 2):
            with bitnet.Context(model, n_ctx=64) as c:
                np.testing.assert_allclose(rows[i], c.eval(toks[:i + 1]), rtol=1e-5, atol=1e-5)


def test_truncate_rewinds(model):
    toks = model.tokenize(PROMPT)
    keep = len(toks) // 2
    with bitnet.Context(model, n_ctx=64) as a, bitnet.Context(model, n_ctx=64) as b:
        want = a.eval(toks[:keep] + [7, 8, 9])
        b.eval(toks)
        b.truncate(keep)
        assert b.n_past == keep
        assert np.array_equal(b.eval([7, 8, 9]), want)
        with pytest.raises(bitnet.BitnetError) as e:
            b.truncate(keep + 4)
        assert e.value.status == bitnet.Status.INVALID_ARG and 'holds %d' % (keep + 3) in e.value.message
        with pytest.raises(bitnet.BitnetError) as e:
            b.truncate(-1)
        assert e.value.status == bitnet.Status.INVALID_ARG
        assert b.n_past == keep + 3


def test_state_save_and_load(model):
    toks = model.tokenize(PROMPT)
    with bitnet.Context(model, n_ctx=64) as a, bitnet.Context(model, n_ctx=48, n_threads=2) as b:
        a.eval(toks, logits=False)
        state = a.save_state()
        want = a.eval([7, 8, 9])
        b.load_state(state)
        assert b.n_past == len(toks)
        assert np.array_equal(b.eval([7, 8, 9]), want)
        with pytest.raises(bitnet.BitnetError) as e:
            b.load_state(state[:-1])
        assert e.value.status == bitnet.Status.FORMAT
        assert b.n_past == len(toks) + 3
    with bitnet.Context(model, n_ctx=len(toks) - 1) as short:
        with pytest.raises(bitnet.BitnetError) as e:
            short.load_state(state)
        assert e.value.status == bitnet.Status.CONTEXT_FULL


def test_discard_makes_room(model):
    toks = model.tokenize(PROMPT)
    with bitnet.Context(model, n_ctx=len(toks) + 2) as c:
        c.eval(toks)
        with pytest.raises(bitnet.BitnetError) as e:
            c.eval([7, 8, 9])
        assert e.value.status == bitnet.Status.CONTEXT_FULL
        with pytest.raises(bitnet.BitnetError) as e:
            c.discard(1, len(toks))
        assert e.value.status == bitnet.Status.INVALID_ARG and 'holds %d' % len(toks) in e.value.message
        c.discard(1, 2)
        assert c.n_past == len(toks) - 2
        logits = c.eval([7, 8, 9])
        assert c.n_past == len(toks) + 1 and np.isfinite(logits).all()
        with bitnet.Context(model, n_ctx=64) as fresh:
            # the tokens after the gap were computed with it: not a fresh evaluation without it
            assert not np.array_equal(logits, fresh.eval(toks[:1] + toks[3:] + [7, 8, 9]))


@pytest.mark.parametrize('n_keep', [0, -1, 3])
def test_context_shift_goes_on(model, n_keep):
    kw = dict(max_tokens=48, temperature=0, context_shift=True, n_keep=n_keep)
    with bitnet.Context(model, n_ctx=24) as a, bitnet.Context(model, n_ctx=24) as b:
        pieces = []
        text = a.generate(PROMPT[:12], callback=lambda piece, tok: pieces.append(tok), **kw)
        assert len(pieces) == 48 and a.n_past <= 24  # 48 tokens through a 24-token context
        assert ''.join(b.stream(PROMPT[:12], **kw)) == text  # the step-wise path shifts alike
        a.reset()
        short = a.generate(PROMPT[:12], max_tokens=48, temperature=0)
        assert len(short) < len(text)  # without the shift the context ends it
    with pytest.raises(bitnet.BitnetError):
        bitnet.Context(model, n_ctx=24).generate('x', n_keep=-2)


def test_lists_without_numpy(ctx, model, monkeypatch):
    from bitnet import _common, _context
    monkeypatch.setattr(_common, '_np', None)
    monkeypatch.setattr(_context, '_np', None)
    toks = model.tokenize(PROMPT)
    logits = ctx.eval(toks[:2])
    assert isinstance(logits, list) and len(logits) == model.n_vocab
    rows = ctx.eval_all(toks[2:4])
    assert isinstance(rows, list) and len(rows) == 2 and len(rows[0]) == model.n_vocab
    with bitnet.Sampler(temperature=0) as s:
        assert s.sample(logits) == max(range(len(logits)), key=logits.__getitem__)


def test_stepwise_loop_equals_generate(model):
    """The game-frame loop of docs/embedding.md gives what bn_generate gives."""
    with bitnet.Context(model, n_ctx=128) as c:
        want = c.generate(PROMPT, max_tokens=20, temperature=0)
        c.reset()
        with bitnet.Sampler(temperature=0) as smp:
            toks = model.tokenize(PROMPT, parse_special=True)
            logits = c.eval(toks)
            for t in toks:
                smp.accept(t)
            out = []
            for _ in range(20):
                t = smp.sample(logits)
                if model.is_eog(t):
                    break
                smp.accept(t)
                out.append(c.token_text(t))
                logits = c.eval([t])
            out.append(c.flush_text())
        assert ''.join(out) == want


def test_sampler(model):
    logits = np.zeros(model.n_vocab, dtype=np.float32)
    logits[123] = 10
    with bitnet.Sampler(temperature=0) as s:
        assert s.sample(logits) == 123
        s.accept(123)
        s.reset()
    with bitnet.Sampler(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=5) as a, \
            bitnet.Sampler(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=5) as b:
        flat = np.zeros(model.n_vocab, dtype=np.float32)
        xs = [a.sample(flat) for _ in range(20)]
        assert xs == [b.sample(flat) for _ in range(20)]
        assert len(set(xs)) > 1
        a.reset()
        assert [a.sample(flat) for _ in range(20)] == xs


def test_chat(model):
    msgs = [{'role': 'system', 'content': 'You are terse.'}, {'role': 'user', 'content': 'Say something.'}]
    with bitnet.Context(model, n_ctx=256) as c:
        a = c.chat(msgs, template='llama3', max_tokens=12, temperature=0)
        b = c.chat(msgs, template='llama3', max_tokens=12, temperature=0)  # resets first
        assert a == b and isinstance(a, str)
        assert ''.join(c.chat_stream(msgs, template='llama3', max_tokens=12, temperature=0)) == a


@contextlib.contextmanager
def counting_evals(monkeypatch):
    """The token counts of the binding's bn_eval calls inside the block."""
    from bitnet import _context
    counts = []
    real_eval = _context._lib.bn_eval

    def counting_eval(h, arr, n, out):
        counts.append(n)
        return real_eval(h, arr, n, out)
    monkeypatch.setattr(_context._lib, 'bn_eval', counting_eval)
    try:
        yield counts
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize('kw', [dict(temperature=0), dict(temperature=0.9, seed=11, repeat_penalty=1.3)],
                         ids=['greedy', 'sampled'])
def test_chat_keeps_the_conversation(model, monkeypatch, kw):
    """Each turn evaluates only its new tokens, and replies as a cleared context would."""
    msgs = [{'role': 'system', 'content': 'You are terse.'}]
    with bitnet.Context(model, n_ctx=512) as kept:
        for turn, text in enumerate(['Say something.', 'And again?', 'Once more, please.']):
            msgs.append({'role': 'user', 'content': text})
            with bitnet.Context(model, n_ctx=512) as fresh:
                want = fresh.chat(msgs, template='llama3', max_tokens=10, **kw)
            prompt = model.tokenize(model.format_chat(msgs, 'llama3', add_assistant=True), parse_special=True)
            with counting_evals(monkeypatch) as evaluated:
                got = kept.chat(msgs, template='llama3', max_tokens=10, **kw)
            assert got == want, 'turn %d' % turn
            if turn:
                # the prompt's tokens were evaluated again only from the new turn on
                assert evaluated[0] < len(prompt) // 2, (evaluated[0], len(prompt))
            msgs.append({'role': 'assistant', 'content': got})
        # a changed history is evaluated again from where it differs
        msgs[1]['content'] = 'Say nothing.'
        with bitnet.Context(model, n_ctx=512) as fresh:
            assert kept.chat(msgs, template='llama3', max_tokens=10, **kw) == fresh.chat(msgs, template='llama3',
                                                                                      max_tokens=10, **kw)


def test_chat_callback_keeps_the_conversation(model, monkeypatch):
    """chat() with a callback: the pieces it is handed make the reply, and
    each turn still evaluates only its new tokens."""
    msgs = [{'role': 'system', 'content': 'You are terse.'}]
    with bitnet.Context(model, n_ctx=512) as kept:
        for turn, text in enumerate(['Say something.', 'And again?']):
            msgs.append({'role': 'user', 'content': text})
            with bitnet.Context(model, n_ctx=512) as fresh:
                want = fresh.chat(msgs, template='llama3', max_tokens=10, temperature=0)
            prompt = model.tokenize(model.format_chat(msgs, 'llama3', add_assistant=True), parse_special=True)
            seen = []
            with counting_evals(monkeypatch) as evaluated:
                got = kept.chat(msgs, template='llama3', max_tokens=10, temperature=0,
                                callback=lambda piece, token: seen.append((piece, token)))
            assert got == want and ''.join(p for p, _ in seen) == got, 'turn %d' % turn
            assert all(0 <= t < model.n_vocab for _, t in seen[:-1]) and -1 <= seen[-1][1] < model.n_vocab
            if turn:
                assert evaluated[0] < len(prompt) // 2, (evaluated[0], len(prompt))
            msgs.append({'role': 'assistant', 'content': got})
        # a true return stops after that piece; its token stays in the context
        prompt = model.tokenize(model.format_chat(msgs, 'llama3', add_assistant=True), parse_special=True)
        seen = []
        got = kept.chat(msgs, template='llama3', max_tokens=10, temperature=0,
                        callback=lambda piece, token: seen.append((piece, token)) or True)
        assert len(seen) == 1 and got == seen[0][0]
        assert kept.n_past == len(prompt) + 1


def test_contexts_share_a_model_across_threads(model):
    """One model, one context per thread: all give the single-threaded answer."""
    with bitnet.Context(model, n_ctx=128) as c:
        want = c.generate(PROMPT, max_tokens=16, temperature=0)
    results, errors = [], []

    def worker():
        try:
            with bitnet.Context(model, n_ctx=128, n_threads=1) as c:
                results.append(c.generate(PROMPT, max_tokens=16, temperature=0))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=worker) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors and results == [want] * 4


def test_threads_do_not_change_results(model):
    with bitnet.Context(model, n_ctx=128, n_threads=1) as a, bitnet.Context(model, n_ctx=128, n_threads=2) as b:
        assert a.generate(PROMPT, max_tokens=12, temperature=0) == b.generate(PROMPT, max_tokens=12, temperature=0)


def test_log_callback(model_path):
    lines = []
    with bitnet.Model(model_path, log=lambda level, msg: lines.append((level, msg)),
                      log_level=bitnet.LogLevel.DEBUG) as m:
        assert m.n_vocab == 512
    assert all(isinstance(l, int) and isinstance(s, str) for l, s in lines)
    if not lines:
        pytest.skip('the library logged nothing at DEBUG level while opening')

    def boom(level, msg):
        raise Boom(msg)

    with pytest.raises(Boom):
        bitnet.Model(model_path, log=boom, log_level=bitnet.LogLevel.DEBUG)
