"""Handles are released deterministically and never leak."""
import gc
import os
import weakref

import pytest

import bitnet


def fd_count():
    return len(os.listdir('/proc/self/fd'))


def rss_kb():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1])
    return 0


def maps_count():
    with open('/proc/self/maps') as f:
        return sum(1 for _ in f)


def cycle(path, n, close):
    for _ in range(n):
        if close:
            with bitnet.Model(path, log=False) as m, bitnet.Context(m, n_ctx=32) as c:
                c.eval([1, 2, 3], logits=False)
        else:
            m = bitnet.Model(path, log=False)
            c = bitnet.Context(m, n_ctx=32)
            c.eval([1, 2, 3], logits=False)
            del m, c  # the finalizers free them


def test_no_leaks_over_1000_cycles(tiny_path):
    for close in (True, False):
        cycle(tiny_path, 50, close)  # warm up allocator arenas and caches
        gc.collect()
        fds, rss, maps = fd_count(), rss_kb(), maps_count()
        cycle(tiny_path, 1000, close)
        gc.collect()
        assert fd_count() == fds, 'file descriptors leaked'
        assert maps_count() <= maps + 4, 'mappings leaked'
        assert rss_kb() - rss < 16 * 1024, 'resident memory grew by %d kB' % (rss_kb() - rss)


def test_context_keeps_model_alive(model_path):
    m = bitnet.Model(model_path, log=False)
    ref = weakref.ref(m)
    c = bitnet.Context(m, n_ctx=64)
    del m
    gc.collect()
    assert ref() is not None and not ref().closed
    assert isinstance(c.generate('The keeper', max_tokens=4, temperature=0), str)
    c.close()
    del c
    gc.collect()
    assert ref() is None


def test_model_close_closes_contexts(model_path):
    m = bitnet.Model(model_path, log=False)
    cs = [bitnet.Context(m, n_ctx=32) for _ in range(3)]
    m.close()
    assert all(c.closed for c in cs)


def test_many_contexts_one_model(model_path):
    with bitnet.Model(model_path, log=False) as m:
        cs = [bitnet.Context(m, n_ctx=32) for _ in range(16)]
        outs = {c.generate('The keeper', max_tokens=6, temperature=0) for c in cs}
        assert len(outs) == 1
        for c in cs:
            c.close()


def test_abandoned_stream_frees_its_sampler(model_path):
    with bitnet.Model(model_path, log=False) as m, bitnet.Context(m, n_ctx=256) as c:
        for _ in range(200):
            it = c.stream('The keeper', max_tokens=4, temperature=0)
            next(it, None)
            del it
            c.reset()
        gc.collect()
        rss = rss_kb()
        for _ in range(500):
            it = c.stream('The keeper', max_tokens=4, temperature=0)
            next(it, None)
            del it
            c.reset()
        gc.collect()
        assert rss_kb() - rss < 8 * 1024


def test_close_inside_a_generate_callback_is_refused(model_path):
    """The C call still uses the context (and its model): closing them from
    its callback raises, and generation stops cleanly."""
    m = bitnet.Model(model_path, log=False)
    c = bitnet.Context(m, n_ctx=64)
    for close in (c.close, m.close):
        with pytest.raises(bitnet.BitnetError, match='generating'):
            c.generate('The keeper', max_tokens=8, temperature=0, callback=lambda piece, tok: close())
        assert not c.closed and not m.closed
        c.reset()
    assert isinstance(c.generate('The keeper', max_tokens=4, temperature=0), str)
    m.close()
    assert c.closed


def test_metadata_iterator_after_close(model_path):
    m = bitnet.Model(model_path, log=False)
    it = iter(m.meta)
    next(it)
    m.close()
    with pytest.raises(bitnet.BitnetError, match='closed'):
        next(it)


def test_stream_keeps_what_it_showed(model_path):
    """Leaving a stream keeps every token whose text it yielded, as a
    generate() callback that stops does (bn_generate's rule)."""
    with bitnet.Model(model_path, log=False) as m, bitnet.Context(m, n_ctx=128) as c:
        shown = []
        c.generate('The keeper', max_tokens=32, temperature=0,
                   callback=lambda piece, tok: (shown.append(piece) if piece else None) or len(shown) >= 3)
        n_past = c.n_past
        c.reset()
        it = c.stream('The keeper', max_tokens=32, temperature=0)
        got = [next(it) for _ in range(3)]
        it.close()
        assert got == shown
        assert c.n_past == n_past


class Owner:
    def __init__(self, path):
        self.model = bitnet.Model(path, log=self.on_log)

    def on_log(self, level, msg):
        raise RuntimeError(msg)


def test_log_callback_does_not_keep_the_model(model_path, monkeypatch):
    """A bound-method logger makes a cycle the collector frees, and an
    exception it raises after the open goes to sys.unraisablehook instead
    of being kept (with its frames) for ever."""
    import sys
    raised = []
    monkeypatch.setattr(sys, 'unraisablehook', lambda u: raised.append(u.exc_value))
    o = Owner(model_path)
    ref = weakref.ref(o.model)
    bitnet.Context(o.model, n_ctx=4096).close()  # longer than training: logs a warning
    assert raised and isinstance(raised[0], RuntimeError)
    del o, raised[:]
    gc.collect()
    assert ref() is None
