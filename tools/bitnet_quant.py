"""Packing and quantization of the tensor types libbitnet reads, in numpy.

Ternary types (weights w in {-1, 0, +1}, int8 arrays of shape (rows, cols)):
  pack_i2s(w, scale) / unpack_i2s(data, rows, cols) -> (w, scale)
  pack_tq2_0(w, d)   / unpack_tq2_0(data, rows, cols) -> float32 weights
  pack_tq1_0(w, d)   / unpack_tq1_0(data, rows, cols) -> float32 weights
  unpack_tq2_0_codes / unpack_tq1_0_codes -> (w int8, d float32 per 256-block)
Float types (x float32 of shape (rows, cols)):
  quantize_<t>(x) -> bytes, dequantize_<t>(data, rows, cols) -> float32
  for t in f32, f16, bf16, q8_0, q4_k, q6_k.
Dequantizers follow ggml's block formats and formulas in float32, so they give
the same bits as ggml's dequantize_row_* (no fused multiply-add). Quantizers are
valid but not tuned for accuracy.
Run with /usr/bin/python3 (Debian's numpy).
"""
import numpy as np

QK_I2S = 128
QK_K = 256


def _as_u8(data):
    if isinstance(data, np.ndarray):
        return data.reshape(-1).view(np.uint8)
    return np.frombuffer(bytes(data), dtype=np.uint8)


def _check_ternary(w, block):
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError('weights must be 2-D (rows, cols)')
    if w.shape[1] % block:
        raise ValueError('cols %d not a multiple of %d' % (w.shape[1], block))
    if w.size and (w.min() < -1 or w.max() > 1):
        raise ValueError('weights must be in {-1, 0, 1}')
    return w.astype(np.int8)


def _fp16_bytes(x):
    return np.asarray(x, dtype=np.float32).astype('<f2')


# ------------------------------------------------------------------- I2_S

def pack_i2s(w, scale):
    """bitnet.cpp's x86 I2_S: blocks of 128 weights (row-major over the whole
    tensor) in 32 bytes; weight j of a block in byte j%32 at shift 6-2*(j//32);
    code = w+1; then the float32 scale and 28 zero bytes."""
    w = _check_ternary(w, QK_I2S)
    codes = (w.reshape(-1, 4, 32) + 1).astype(np.uint8)   # [block, j//32, j%32]
    packed = (codes[:, 0] << 6) | (codes[:, 1] << 4) | (codes[:, 2] << 2) | codes[:, 3]
    return packed.tobytes() + np.float32(scale).astype('<f4').tobytes() + b'\0' * 28


def unpack_i2s(data, rows, cols):
    """-> (w int8 (rows, cols), scale float). Code 3 reads as 0, as bitnet.cpp does."""
    if cols % QK_I2S:
        raise ValueError('cols %d not a multiple of 128' % cols)
    b = _as_u8(data)
    n = rows * cols // 4
    if len(b) < n + 4:
        raise ValueError('I2_S data too short')
    p = b[:n].reshape(-1, 32)
    codes = np.stack([(p >> 6) & 3, (p >> 4) & 3, (p >> 2) & 3, p & 3], axis=1)  # [block, 4, 32]
    w = codes.astype(np.int8) - 1
    w[codes == 3] = 0
    scale = float(b[n:n + 4].view('<f4')[0])
    return w.reshape(rows, cols), scale


# ------------------------------------------------------------------ TQ2_0

def _block_d(d, rows, cols):
    d = np.asarray(d, dtype=np.float32)
    return np.broadcast_to(d, (rows, cols // QK_K)) if d.ndim < 2 else d.reshape(rows, cols // QK_K)


def pack_tq2_0(w, d):
    """llama.cpp TQ2_0: 256 weights in 66 bytes: qs[64], fp16 d. Within each
    128-half, byte m holds weights m, m+32, m+64, m+96 at shifts 0, 2, 4, 6.
    d: a scalar or one value per 256-block (rows, cols//256)."""
    w = _check_ternary(w, QK_K)
    rows, cols = w.shape
    codes = (w.reshape(-1, 2, 4, 32) + 1).astype(np.uint8)  # [block, half, l, m]
    qs = codes[:, :, 0] | (codes[:, :, 1] << 2) | (codes[:, :, 2] << 4) | (codes[:, :, 3] << 6)
    qs = qs.reshape(-1, 64)
    dd = _fp16_bytes(_block_d(d, rows, cols)).reshape(-1, 1).view(np.uint8)
    return np.concatenate([qs, dd], axis=1).tobytes()


def unpack_tq2_0_codes(data, rows, cols):
    """-> (w int8 (rows, cols) from codes 0..3 minus 1, d float32 (rows, cols//256))."""
    b = _as_u8(data)[: rows * cols // QK_K * 66].reshape(-1, 66)
    qs = b[:, :64].reshape(-1, 2, 1, 32)
    codes = (qs >> np.array([0, 2, 4, 6], dtype=np.uint8).reshape(1, 1, 4, 1)) & 3   # [block, half, l, m]
    w = codes.astype(np.int8).reshape(rows, cols) - 1
    d = b[:, 64:66].copy().view('<f2').astype(np.float32).reshape(rows, cols // QK_K)
    return w, d


def unpack_tq2_0(data, rows, cols):
    """-> float32 weights (code - 1) * d, as ggml's dequantize_row_tq2_0."""
    w, d = unpack_tq2_0_codes(data, rows, cols)
    return (w.reshape(rows, -1, QK_K).astype(np.float32) * d[:, :, None]).reshape(rows, cols)


# ------------------------------------------------------------------ TQ1_0

_POW3 = np.array([1, 3, 9, 27, 81, 243], dtype=np.uint16)


def _trits_to_byte(t):
    """t: [..., 5] trits 0..2, most significant first -> ceil(q*256/243)."""
    q = np.zeros(t.shape[:-1], dtype=np.uint16)
    for n in range(t.shape[-1]):
        q = q * 3 + t[..., n]
    return ((q * 256 + 242) // 243).astype(np.uint8)


def _byte_to_trits(b, count):
    """trit n of stored byte b is ((uint8)(b * 3^n) * 3) >> 8."""
    out = []
    for n in range(count):
        x = (b.astype(np.uint16) * _POW3[n]) & 0xFF
        out.append(((x * 3) >> 8).astype(np.int8))
    return np.stack(out, axis=-1)


def pack_tq1_0(w, d):
    """llama.cpp TQ1_0: 256 weights in 54 bytes: qs[48], qh[4], fp16 d.
    qs[m] (m < 32): weights m + 32n (n = 0..4); qs[32 + m] (m < 16): weights
    160 + m + 16n; qh[j]: weights 240 + j + 4n (n = 0..3) with a zero fifth trit."""
    w = _check_ternary(w, QK_K)
    rows, cols = w.shape
    t = (w.reshape(-1, QK_K) + 1).astype(np.uint16)
    a = t[:, :160].reshape(-1, 5, 32).transpose(0, 2, 1)           # [block, m, n]
    b = t[:, 160:240].reshape(-1, 5, 16).transpose(0, 2, 1)
    c = t[:, 240:].reshape(-1, 4, 4).transpose(0, 2, 1)            # [block, j, n]
    c = np.concatenate([c, np.zeros(c.shape[:-1] + (1,), np.uint16)], axis=-1)
    dd = _fp16_bytes(_block_d(d, rows, cols)).reshape(-1, 1).view(np.uint8)
    blk = np.concatenate([_trits_to_byte(a), _trits_to_byte(b), _trits_to_byte(c), dd], axis=1)
    return blk.tobytes()


def unpack_tq1_0_codes(data, rows, cols):
    """-> (w int8 (rows, cols) = trit - 1, d float32 (rows, cols//256))."""
    blk = _as_u8(data)[: rows * cols // QK_K * 54].reshape(-1, 54)
    a = _byte_to_trits(blk[:, :32], 5).transpose(0, 2, 1).reshape(-1, 160)
    b = _byte_to_trits(blk[:, 32:48], 5).transpose(0, 2, 1).reshape(-1, 80)
    c = _byte_to_trits(blk[:, 48:52], 4).transpose(0, 2, 1).reshape(-1, 16)
    w = np.concatenate([a, b, c], axis=1).reshape(rows, cols) - 1
    d = blk[:, 52:54].copy().view('<f2').astype(np.float32).reshape(rows, cols // QK_K)
    return w.astype(np.int8), d


def unpack_tq1_0(data, rows, cols):
    """-> float32 weights (trit - 1) * d, as ggml's dequantize_row_tq1_0."""
    w, d = unpack_tq1_0_codes(data, rows, cols)
    return (w.reshape(rows, -1, QK_K).astype(np.float32) * d[:, :, None]).reshape(rows, cols)


# ------------------------------------------------------- float / k-quants

def quantize_f32(x):
    return np.asarray(x, dtype='<f4').tobytes()


def dequantize_f32(data, rows, cols):
    return _as_u8(data)[: rows * cols * 4].copy().view('<f4').astype(np.float32).reshape(rows, cols)


def quantize_f16(x):
    return np.asarray(x, dtype=np.float32).astype('<f2').tobytes()


def dequantize_f16(data, rows, cols):
    return _as_u8(data)[: rows * cols * 2].copy().view('<f2').astype(np.float32).reshape(rows, cols)


def quantize_bf16(x):
    """Round to nearest even, as ggml's fp32_to_bf16 (NaN kept quiet)."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    r[nan] = ((u[nan] >> 16) | 64).astype(np.uint16)
    return r.astype('<u2').tobytes()


def dequantize_bf16(data, rows, cols):
    u = _as_u8(data)[: rows * cols * 2].copy().view('<u2').astype(np.uint32) << 16
    return u.view(np.float32).reshape(rows, cols)


def quantize_q8_0(x):
    """Q8_0 as ggml's reference quantizer (and libbitnet's quantize_head) does it:
    per 32 values d = max|x| / 127, q = roundf(x * (1/d)) (half away from zero),
    d stored as fp16."""
    x = np.asarray(x, dtype=np.float32)
    rows, cols = x.shape
    if cols % 32:
        raise ValueError('Q8_0 needs cols % 32 == 0')
    b = x.reshape(-1, 32)
    amax = np.abs(b).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    inv = np.divide(np.float32(1), d, out=np.zeros_like(d), where=d != 0).astype(np.float32)
    v = (b * inv[:, None]).astype(np.float32)
    a = np.abs(v)
    fl = np.floor(a)
    r = np.where(a - fl >= np.float32(0.5), fl + 1, fl) * np.sign(v)  # a - fl is exact in float32
    q = np.clip(r, -127, 127).astype(np.int8)
    dh = d.astype(np.float16)
    return np.concatenate([dh.astype('<f2').reshape(-1, 1).view(np.uint8), q.view(np.uint8)], axis=1).tobytes()


def dequantize_q8_0(data, rows, cols):
    blk = _as_u8(data)[: rows * cols // 32 * 34].reshape(-1, 34)
    d = blk[:, :2].copy().view('<f2').astype(np.float32)
    q = blk[:, 2:].view(np.int8).astype(np.float32)
    return (q * d).reshape(rows, cols)


def _pack_scale_min_k4(sc, mn):
    """sc, mn: [nb, 8] 6-bit values -> [nb, 12] bytes (inverse of get_scale_min_k4)."""
    sc = sc.astype(np.uint8)
    mn = mn.astype(np.uint8)
    s = np.zeros((sc.shape[0], 12), dtype=np.uint8)
    s[:, 0:4] = (sc[:, 0:4] & 63) | ((sc[:, 4:8] >> 4) << 6)
    s[:, 4:8] = (mn[:, 0:4] & 63) | ((mn[:, 4:8] >> 4) << 6)
    s[:, 8:12] = (sc[:, 4:8] & 0xF) | ((mn[:, 4:8] & 0xF) << 4)
    return s


def _unpack_scale_min_k4(s):
    """[nb, 12] -> (sc [nb, 8], mn [nb, 8]) as ggml's get_scale_min_k4."""
    sc = np.empty((s.shape[0], 8), dtype=np.uint8)
    mn = np.empty((s.shape[0], 8), dtype=np.uint8)
    sc[:, :4] = s[:, 0:4] & 63
    mn[:, :4] = s[:, 4:8] & 63
    sc[:, 4:] = (s[:, 8:12] & 0xF) | ((s[:, 0:4] >> 6) << 4)
    mn[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, mn


def quantize_q4_k(x):
    """Q4_K: 256 values in 144 bytes: fp16 d, fp16 dmin, 12 bytes of 6-bit
    scales/mins for 8 sub-blocks of 32, 128 bytes of nibbles. y = d*sc*q - dmin*m."""
    x = np.asarray(x, dtype=np.float32)
    rows, cols = x.shape
    if cols % QK_K:
        raise ValueError('Q4_K needs cols % 256 == 0')
    b = x.reshape(-1, 8, 32)
    mins = np.maximum(-b.min(axis=2), 0)                          # offsets >= 0
    scales = (b.max(axis=2) + mins) / 15
    d = (scales.max(axis=1) / 63).astype(np.float16)
    dmin = (mins.max(axis=1) / 63).astype(np.float16)
    df = d.astype(np.float32)[:, None]
    dminf = dmin.astype(np.float32)[:, None]
    sc = np.clip(np.ceil(np.divide(scales, df, out=np.zeros_like(scales), where=df != 0)), 0, 63)
    mn = np.clip(np.ceil(np.divide(mins, dminf, out=np.zeros_like(mins), where=dminf != 0)), 0, 63)
    d1 = (df * sc.astype(np.float32))[:, :, None]
    m1 = (dminf * mn.astype(np.float32))[:, :, None]
    q = np.clip(np.round(np.divide(b + m1, d1, out=np.zeros_like(b), where=d1 != 0)), 0, 15).astype(np.uint8)
    q = q.reshape(-1, 4, 2, 32)                                   # [block, chunk of 64, lo/hi, l]
    qs = (q[:, :, 0] | (q[:, :, 1] << 4)).reshape(-1, 128)
    head = np.stack([d.astype('<f2'), dmin.astype('<f2')], axis=1).view(np.uint8).reshape(-1, 4)
    return np.concatenate([head, _pack_scale_min_k4(sc, mn), qs], axis=1).tobytes()


def dequantize_q4_k(data, rows, cols):
    blk = _as_u8(data)[: rows * cols // QK_K * 144].reshape(-1, 144)
    d = blk[:, 0:2].copy().view('<f2').astype(np.float32)           # [nb, 1]
    dmin = blk[:, 2:4].copy().view('<f2').astype(np.float32)
    sc, mn = _unpack_scale_min_k4(blk[:, 4:16])
    d1 = d * sc.astype(np.float32)                                  # [nb, 8], float32 products
    m1 = dmin * mn.astype(np.float32)
    qs = blk[:, 16:].reshape(-1, 4, 1, 32)
    q = np.concatenate([qs & 0xF, qs >> 4], axis=2).reshape(-1, 8, 32).astype(np.float32)
    y = d1[:, :, None] * q - m1[:, :, None]
    return y.astype(np.float32).reshape(rows, cols)


def quantize_q6_k(x):
    """Q6_K: 256 values in 210 bytes: ql[128], qh[64], int8 scales[16], fp16 d.
    y = d * scale[sub-block of 16] * (q - 32), q 6-bit."""
    x = np.asarray(x, dtype=np.float32)
    rows, cols = x.shape
    if cols % QK_K:
        raise ValueError('Q6_K needs cols % 256 == 0')
    b = x.reshape(-1, 16, 16)
    scales = np.abs(b).max(axis=2) / 31                            # [nb, 16] (>= 0)
    d = (scales.max(axis=1) / 127).astype(np.float16)
    df = d.astype(np.float32)[:, None]
    sc = np.clip(np.ceil(np.divide(scales, df, out=np.zeros_like(scales), where=df != 0)), 0, 127).astype(np.int8)
    ds = (df * sc.astype(np.float32))[:, :, None]
    q = np.clip(np.round(np.divide(b, ds, out=np.zeros_like(b), where=ds != 0)), -32, 31).astype(np.int16) + 32
    q = q.astype(np.uint8).reshape(-1, 2, 4, 32)                   # [block, half, k, l]: element 32k + l
    lo = q & 0xF
    hi = q >> 4
    ql = np.concatenate([lo[:, :, 0] | (lo[:, :, 2] << 4), lo[:, :, 1] | (lo[:, :, 3] << 4)], axis=2)  # [nb, 2, 64]
    qh = hi[:, :, 0] | (hi[:, :, 1] << 2) | (hi[:, :, 2] << 4) | (hi[:, :, 3] << 6)                  # [nb, 2, 32]
    return np.concatenate([ql.reshape(-1, 128), qh.reshape(-1, 64), sc.view(np.uint8),
                           d.astype('<f2').reshape(-1, 1).view(np.uint8)], axis=1).tobytes()


def dequantize_q6_k(data, rows, cols):
    blk = _as_u8(data)[: rows * cols // QK_K * 210].reshape(-1, 210)
    ql = blk[:, :128].reshape(-1, 2, 64)
    qh = blk[:, 128:192].reshape(-1, 2, 32)
    sc = blk[:, 192:208].view(np.int8).astype(np.float32)          # [nb, 16]
    d = blk[:, 208:210].copy().view('<f2').astype(np.float32)       # [nb, 1]
    lo = np.stack([ql[:, :, :32] & 0xF, ql[:, :, 32:] & 0xF, ql[:, :, :32] >> 4, ql[:, :, 32:] >> 4], axis=2)
    hi = np.stack([(qh >> s) & 3 for s in (0, 2, 4, 6)], axis=2)
    q = ((lo | (hi << 4)).astype(np.int16) - 32).reshape(-1, 16, 16).astype(np.float32)  # [nb, sub, 16]
    y = (d * sc)[:, :, None] * q                                     # (d * sc) * q in float32
    return y.astype(np.float32).reshape(rows, cols)


# ------------------------------------------------------------- dispatch

GGML_TYPE = {'f32': 0, 'f16': 1, 'q8_0': 8, 'q4_k': 12, 'q6_k': 14, 'bf16': 30,
             'tq1_0': 34, 'tq2_0': 35, 'i2_s': 36}

QUANTIZE = {'f32': quantize_f32, 'f16': quantize_f16, 'bf16': quantize_bf16, 'q8_0': quantize_q8_0,
            'q4_k': quantize_q4_k, 'q6_k': quantize_q6_k}
DEQUANTIZE = {'f32': dequantize_f32, 'f16': dequantize_f16, 'bf16': dequantize_bf16,
              'q8_0': dequantize_q8_0, 'q4_k': dequantize_q4_k, 'q6_k': dequantize_q6_k,
              'tq1_0': unpack_tq1_0, 'tq2_0': unpack_tq2_0}
_BY_NUMBER = {v: k for k, v in GGML_TYPE.items()}


def type_name(ggml_type):
    return _BY_NUMBER[ggml_type]


def dequantize(ggml_type, data, rows, cols):
    """Any supported type number -> float32 (rows, cols); I2_S as w * scale."""
    name = _BY_NUMBER.get(ggml_type)
    if name is None:
        raise ValueError('unsupported ggml type %d' % ggml_type)
    if name == 'i2_s':
        w, s = unpack_i2s(data, rows, cols)
        return w.astype(np.float32) * np.float32(s)
    return DEQUANTIZE[name](data, rows, cols)


def ternary_codes(ggml_type, data, rows, cols):
    """Ternary tensor -> (w int8 (rows, cols), per-256/128-weight scale array
    broadcastable to (rows, n_blocks), block size)."""
    name = _BY_NUMBER.get(ggml_type)
    if name == 'i2_s':
        w, s = unpack_i2s(data, rows, cols)
        return w, np.full((rows, 1), s, dtype=np.float32), cols
    if name == 'tq2_0':
        w, d = unpack_tq2_0_codes(data, rows, cols)
        return w, d, QK_K
    if name == 'tq1_0':
        w, d = unpack_tq1_0_codes(data, rows, cols)
        return w, d, QK_K
    raise ValueError('not a ternary type: %r' % (name or ggml_type))
