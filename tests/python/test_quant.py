"""Round trips and hand-made blocks for tools/bitnet_quant.py."""
import struct

import numpy as np
import pytest

import bitnet_quant as bq


def ternary(rng, rows, cols):
    return rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=(rows, cols))


@pytest.mark.parametrize('rows,cols', [(1, 128), (3, 256), (5, 384), (2, 1024)])
def test_i2s_roundtrip(rows, cols):
    rng = np.random.default_rng(rows * cols)
    w = ternary(rng, rows, cols)
    data = bq.pack_i2s(w, 0.0625)
    assert len(data) == rows * cols // 4 + 32
    assert data[-28:] == b'\0' * 28
    w2, s = bq.unpack_i2s(data, rows, cols)
    assert s == 0.0625
    assert np.array_equal(w, w2)


def test_i2s_hand_block():
    w = np.zeros((1, 128), np.int8)
    w[0, 0] = 1      # byte 0, shift 6
    w[0, 33] = -1    # byte 1, shift 4
    w[0, 127] = 1    # byte 31, shift 0
    data = bq.pack_i2s(w, 2.0)
    b = bytearray(b'\x55' * 32)
    b[0] = (2 << 6) | (1 << 4) | (1 << 2) | 1
    b[1] = (1 << 6) | (0 << 4) | (1 << 2) | 1
    b[31] = (1 << 6) | (1 << 4) | (1 << 2) | 2
    assert data[:32] == bytes(b)
    assert data[32:36] == struct.pack('<f', 2.0)
    # code 3 reads as 0
    bad = bytearray(data)
    bad[5] = 0xFF
    w3, _ = bq.unpack_i2s(bytes(bad), 1, 128)
    assert (w3[0, [5, 37, 69, 101]] == 0).all()


@pytest.mark.parametrize('rows,cols', [(1, 256), (3, 512), (4, 768)])
def test_tq_roundtrip(rows, cols):
    rng = np.random.default_rng(7 + rows)
    w = ternary(rng, rows, cols)
    for pack, unpack, codes, nb in ((bq.pack_tq2_0, bq.unpack_tq2_0, bq.unpack_tq2_0_codes, 66),
                                    (bq.pack_tq1_0, bq.unpack_tq1_0, bq.unpack_tq1_0_codes, 54)):
        data = pack(w, 0.25)
        assert len(data) == rows * cols // 256 * nb
        wf = unpack(data, rows, cols)
        assert wf.dtype == np.float32
        assert np.array_equal(wf, w.astype(np.float32) * 0.25)
        w2, d = codes(data, rows, cols)
        assert np.array_equal(w2, w) and (d == 0.25).all()


def test_tq_per_block_d():
    rng = np.random.default_rng(3)
    w = ternary(rng, 2, 512)
    d = np.array([[0.5, 1.0], [2.0, 0.125]], np.float32)
    for pack, unpack in ((bq.pack_tq2_0, bq.unpack_tq2_0), (bq.pack_tq1_0, bq.unpack_tq1_0)):
        wf = unpack(pack(w, d), 2, 512)
        assert np.array_equal(wf, w * np.repeat(d, 256, axis=1))


def test_tq2_0_hand_block():
    w = np.zeros((1, 256), np.int8)
    w[0, 0] = 1        # half 0, byte 0, shift 0
    w[0, 32] = -1      # half 0, byte 0, shift 2
    w[0, 128 + 96 + 5] = 1  # half 1, byte 32 + 5, shift 6
    data = bq.pack_tq2_0(w, 1.0)
    exp = bytearray(b'\x55' * 64)
    exp[0] = 2 | (0 << 2) | (1 << 4) | (1 << 6)
    exp[37] = 1 | (1 << 2) | (1 << 4) | (2 << 6)
    assert data[:64] == bytes(exp)
    assert data[64:66] == np.float16(1.0).tobytes()


def test_tq1_0_hand_block():
    w = np.zeros((1, 256), np.int8)
    data = bq.pack_tq1_0(w, 1.0)
    # all trits 1: q = 121 -> ceil(121*256/243) = 128; qh: q = 40*3 = 120 -> 127
    assert data[:48] == b'\x80' * 48
    assert data[48:52] == b'\x7f' * 4
    w[0, 0] = 1    # qs[0], first (most significant) trit: q = 2*81+27+9+3+1 = 202 -> ceil(202*256/243) = 213
    w[0, 241] = -1  # qh[1], trit 0: q = (0*27+9+3+1)*3 = 39 -> ceil(39*256/243) = 42
    data = bq.pack_tq1_0(w, 1.0)
    assert data[0] == 213 and data[49] == 42
    w2, _ = bq.unpack_tq1_0_codes(data, 1, 256)
    assert np.array_equal(w, w2)


def test_tq1_0_all_trit_patterns():
    # every 5-trit pattern survives the ceil(q*256/243) encoding
    t = np.array(np.meshgrid(*[[0, 1, 2]] * 5, indexing='ij')).reshape(5, -1).T  # 243 x 5
    w = np.zeros((243, 256), np.int8)
    for n in range(5):
        w[:, n * 32] = t[:, n] - 1
    w2, _ = bq.unpack_tq1_0_codes(bq.pack_tq1_0(w, 1.0), 243, 256)
    assert np.array_equal(w, w2)


def test_f16_bf16():
    x = np.array([[1.0, -2.5, 65504.0, 1e-8] * 8], np.float32)
    assert np.array_equal(bq.dequantize_f16(bq.quantize_f16(x), 1, 32), x.astype(np.float16).astype(np.float32))
    y = np.array([[1.0, 1.00390625, 1.01171875, -3.0]], np.float32)  # ties at bf16 precision: to even
    r = bq.dequantize_bf16(bq.quantize_bf16(y), 1, 4)
    assert r.tolist() == [[1.0, 1.0, 1.015625, -3.0]]
    assert struct.unpack('<H', bq.quantize_bf16(np.array([[1.0]], np.float32)))[0] == 0x3F80


def test_q8_0_hand_block():
    blk = np.float16(0.5).tobytes() + np.arange(-16, 16, dtype=np.int8).tobytes()
    y = bq.dequantize_q8_0(blk, 1, 32)
    assert np.array_equal(y[0], np.arange(-16, 16, dtype=np.float32) * 0.5)


def _q4k_loop(blk):
    """ggml's dequantize_row_q4_K, written as its loops (float32 at each step)."""
    f32 = np.float32
    d = f32(np.frombuffer(blk[0:2], '<f2')[0])
    mn = f32(np.frombuffer(blk[2:4], '<f2')[0])
    s = blk[4:16]
    q = blk[16:]

    def get(j):
        if j < 4:
            return s[j] & 63, s[j + 4] & 63
        return (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4)
    out = []
    is_ = 0
    for j in range(0, 256, 64):
        sc, m = get(is_)
        d1, m1 = d * f32(sc), mn * f32(m)
        sc, m = get(is_ + 1)
        d2, m2 = d * f32(sc), mn * f32(m)
        qq = q[j // 2: j // 2 + 32]
        out += [d1 * f32(x & 0xF) - m1 for x in qq]
        out += [d2 * f32(x >> 4) - m2 for x in qq]
        is_ += 2
    return np.array(out, np.float32)


def _q6k_loop(blk):
    f32 = np.float32
    ql, qh = blk[:128], blk[128:192]
    sc = np.frombuffer(blk[192:208], np.int8)
    d = f32(np.frombuffer(blk[208:210], '<f2')[0])
    y = np.zeros(256, np.float32)
    for n in range(2):
        for l in range(32):
            is_ = l // 16
            L, H, S = ql[64 * n:], qh[32 * n:], sc[8 * n:]
            q1 = ((L[l] & 0xF) | (((H[l] >> 0) & 3) << 4)) - 32
            q2 = ((L[l + 32] & 0xF) | (((H[l] >> 2) & 3) << 4)) - 32
            q3 = ((L[l] >> 4) | (((H[l] >> 4) & 3) << 4)) - 32
            q4 = ((L[l + 32] >> 4) | (((H[l] >> 6) & 3) << 4)) - 32
            y[128 * n + l] = d * f32(S[is_]) * f32(q1)
            y[128 * n + l + 32] = d * f32(S[is_ + 2]) * f32(q2)
            y[128 * n + l + 64] = d * f32(S[is_ + 4]) * f32(q3)
            y[128 * n + l + 96] = d * f32(S[is_ + 6]) * f32(q4)
    return y


def test_kquant_random_bytes_match_loops():
    # any bytes are a valid block (finite d): vectorised dequantizers == ggml's loops bit for bit
    rng = np.random.default_rng(11)
    for _ in range(4):
        b = bytearray(rng.integers(0, 256, 144, dtype=np.uint8).tobytes())
        b[0:4] = np.array([0.03125, 0.0078125], np.float16).tobytes()
        b = bytes(b)
        assert np.array_equal(bq.dequantize_q4_k(b, 1, 256)[0].view(np.uint32), _q4k_loop(b).view(np.uint32))
        c = bytearray(rng.integers(0, 256, 210, dtype=np.uint8).tobytes())
        c[208:210] = np.float16(0.01).tobytes()
        c = bytes(c)
        assert np.array_equal(bq.dequantize_q6_k(c, 1, 256)[0].view(np.uint32), _q6k_loop(c).view(np.uint32))


@pytest.mark.parametrize('name,tol', [('q8_0', 0.01), ('q4_k', 0.15), ('q6_k', 0.04)])
def test_quantize_roundtrip_error(name, tol):
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (4, 512)).astype(np.float32)
    data = bq.QUANTIZE[name](x)
    per_row = {'q8_0': 34 * 16, 'q4_k': 144 * 2, 'q6_k': 210 * 2}[name]
    assert len(data) == 4 * per_row
    y = bq.DEQUANTIZE[name](data, 4, 512)
    rel = np.abs(y - x).max() / np.abs(x).max()
    assert rel < tol, rel
    # requantizing the dequantized values is stable for q8_0
    if name == 'q8_0':
        assert np.array_equal(bq.dequantize_q8_0(bq.quantize_q8_0(y), 4, 512), y)


def test_q4k_scale_packing_roundtrip():
    rng = np.random.default_rng(2)
    sc = rng.integers(0, 64, (5, 8))
    mn = rng.integers(0, 64, (5, 8))
    sc2, mn2 = bq._unpack_scale_min_k4(bq._pack_scale_min_k4(sc, mn))
    assert np.array_equal(sc, sc2) and np.array_equal(mn, mn2)


def test_oracle_i2s_codes(oracle_dir):
    import os
    from gguf_read import read_gguf
    g = read_gguf(os.path.join(oracle_dir, 'A.gguf'))
    t = g.tensors['blk.0.attn_q.weight']
    w, s = bq.unpack_i2s(t.data, t.ne[1], t.ne[0])
    counts = np.bincount((w + 1).ravel(), minlength=3)
    assert counts.min() > 0.3 * w.size
    assert 0.01 < s < 10
    assert bq.pack_i2s(w, s) == bytes(t.data)
