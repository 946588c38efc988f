"""Minimal GGUF (v2, v3) reader for the project's Python tools and tests.

read_gguf(path) -> GGUF with
  .version, .alignment
  .meta:    {key: (vtype, value)}; arrays are (ARRAY, (etype, list-or-ndarray))
  .tensors: {name: Tensor(name, ne, type, offset, data)}; data is a numpy uint8
            view of the tensor's bytes in the (memory-mapped) file.
Run as a script to print every key, type and tensor:
  /usr/bin/python3 tools/gguf_read.py MODEL.gguf
Run with /usr/bin/python3 (Debian's numpy).
"""
import struct
import sys
from collections import OrderedDict, namedtuple

import numpy as np

UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
VTYPE_NAMES = ['UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'FLOAT32', 'BOOL', 'STRING',
               'ARRAY', 'UINT64', 'INT64', 'FLOAT64']
_SCALAR = {UINT8: '<u1', INT8: '<i1', UINT16: '<u2', INT16: '<i2', UINT32: '<u4', INT32: '<i4',
           FLOAT32: '<f4', BOOL: '<u1', UINT64: '<u8', INT64: '<i8', FLOAT64: '<f8'}

# ggml type numbers -> (name, block size, block bytes)
GGML_TYPES = {
    0: ('F32', 1, 4), 1: ('F16', 1, 2), 2: ('Q4_0', 32, 18), 3: ('Q4_1', 32, 20),
    6: ('Q5_0', 32, 22), 7: ('Q5_1', 32, 24), 8: ('Q8_0', 32, 34), 9: ('Q8_1', 32, 36),
    10: ('Q2_K', 256, 84), 11: ('Q3_K', 256, 110), 12: ('Q4_K', 256, 144), 13: ('Q5_K', 256, 176),
    14: ('Q6_K', 256, 210), 15: ('Q8_K', 256, 292), 24: ('I8', 1, 1), 25: ('I16', 1, 2),
    26: ('I32', 1, 4), 27: ('I64', 1, 8), 28: ('F64', 1, 8), 30: ('BF16', 1, 2),
    34: ('TQ1_0', 256, 54), 35: ('TQ2_0', 256, 66), 36: ('I2_S', 128, 32),
}
TYPE_BY_NAME = {v[0]: k for k, v in GGML_TYPES.items()}

Tensor = namedtuple('Tensor', 'name ne type offset data')


def tensor_nbytes(ggml_type, ne):
    name, bs, bb = GGML_TYPES[ggml_type]
    if ne[0] % bs:
        raise ValueError('row length %d not a multiple of block size %d for %s' % (ne[0], bs, name))
    rows = 1
    for x in ne[1:]:
        rows *= int(x)
    n = rows * (int(ne[0]) // bs) * bb
    if name == 'I2_S':
        n += 32  # float32 scale + 28 padding bytes
    return n


class GGUF:
    def __init__(self, version, alignment, meta, tensors, data_offset, buf):
        self.version = version
        self.alignment = alignment
        self.meta = meta
        self.tensors = tensors
        self.data_offset = data_offset
        self.buf = buf

    def get(self, key, default=None):
        """The plain value of a key (arrays as their list/ndarray), or default."""
        if key not in self.meta:
            return default
        vtype, v = self.meta[key]
        if vtype == ARRAY:
            return v[1]
        return v

    def vtype(self, key):
        return self.meta[key][0]

    @property
    def arch(self):
        return self.get('general.architecture')


class _Cursor:
    def __init__(self, buf, version):
        self.buf = buf
        self.pos = 0
        self.version = version

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise ValueError('truncated GGUF at offset %d' % self.pos)
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt):
        return struct.unpack(fmt, bytes(self.take(struct.calcsize(fmt))))[0]

    def count(self):
        # v1 used 32-bit counts; v2 and v3 use 64-bit
        return self.unpack('<I' if self.version == 1 else '<Q')

    def string(self):
        n = self.count()
        return bytes(self.take(n)).decode('utf-8', errors='surrogateescape')

    def value(self, vtype):
        if vtype == STRING:
            return self.string()
        if vtype == ARRAY:
            etype = self.unpack('<I')
            n = self.count()
            if etype in _SCALAR:
                dt = np.dtype(_SCALAR[etype])
                arr = np.frombuffer(bytes(self.take(n * dt.itemsize)), dtype=dt)
                if etype == BOOL:
                    arr = arr.astype(bool)
                return (etype, arr)
            return (etype, [self.value(etype) for _ in range(n)])
        if vtype in _SCALAR:
            dt = np.dtype(_SCALAR[vtype])
            v = np.frombuffer(bytes(self.take(dt.itemsize)), dtype=dt)[0]
            if vtype == BOOL:
                return bool(v)
            if vtype in (FLOAT32, FLOAT64):
                return float(v)
            return int(v)
        raise ValueError('unknown GGUF value type %d' % vtype)


def read_gguf(path_or_bytes):
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        buf = np.frombuffer(path_or_bytes, dtype=np.uint8)
    else:
        buf = np.memmap(path_or_bytes, dtype=np.uint8, mode='r')
    if bytes(buf[:4]) != b'GGUF':
        raise ValueError('not a GGUF file')
    version = struct.unpack('<I', bytes(buf[4:8]))[0]
    if version not in (2, 3):
        raise ValueError('unsupported GGUF version %d' % version)
    c = _Cursor(buf, version)
    c.pos = 8
    n_tensors = c.count()
    n_kv = c.count()
    meta = OrderedDict()
    for _ in range(n_kv):
        key = c.string()
        vtype = c.unpack('<I')
        meta[key] = (vtype, c.value(vtype))
    alignment = 32
    if 'general.alignment' in meta:
        alignment = int(meta['general.alignment'][1])
    infos = []
    for _ in range(n_tensors):
        name = c.string()
        n_dims = c.unpack('<I')
        ne = [c.count() for _ in range(n_dims)]
        t = c.unpack('<I')
        off = c.unpack('<Q')
        infos.append((name, ne, t, off))
    data_offset = (c.pos + alignment - 1) // alignment * alignment
    tensors = OrderedDict()
    for name, ne, t, off in infos:
        nb = tensor_nbytes(t, ne)
        start = data_offset + off
        if start + nb > len(buf):
            raise ValueError('tensor %s runs past the end of the file' % name)
        tensors[name] = Tensor(name, ne, t, off, buf[start:start + nb])
    return GGUF(version, alignment, meta, tensors, data_offset, buf)


def _fmt_value(vtype, v):
    if vtype == ARRAY:
        etype, items = v
        head = list(items[:5])
        return '%s[%d] %r%s' % (VTYPE_NAMES[etype], len(items), head, '...' if len(items) > 5 else '')
    if vtype == STRING and len(v) > 80:
        return repr(v[:80]) + '...'
    return repr(v)


def dump(g, out=sys.stdout):
    print('GGUF v%d, alignment %d, %d keys, %d tensors' % (g.version, g.alignment, len(g.meta), len(g.tensors)),
          file=out)
    for k, (vt, v) in g.meta.items():
        print('  %-45s %-8s %s' % (k, VTYPE_NAMES[vt], _fmt_value(vt, v)), file=out)
    for t in g.tensors.values():
        print('  %-30s %-6s ne=%s bytes=%d' % (t.name, GGML_TYPES[t.type][0], t.ne, len(t.data)), file=out)


if __name__ == '__main__':
    for p in sys.argv[1:]:
        print(p)
        dump(read_gguf(p))
