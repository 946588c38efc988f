"""Handles are released deterministically and never leak."""
import gc
import os
import weakref

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
