"""Minimal GGUF v3 writer used by the project's model generator, exporter and tests.

Values are typed explicitly, so files carry exactly the metadata types real
models use (u32 for hyperparameters, f32 for eps and rope base, ...).
Run with /usr/bin/python3 (Debian's numpy).
"""
import struct

import numpy as np

UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)

_SCALAR = {UINT8: '<B', INT8: '<b', UINT16: '<H', INT16: '<h', UINT32: '<I', INT32: '<i',
           FLOAT32: '<f', BOOL: '<?', UINT64: '<Q', INT64: '<q', FLOAT64: '<d'}

# ggml type numbers
F32, F16, Q8_0, Q4_K, Q6_K, BF16, TQ1_0, TQ2_0, I2_S = 0, 1, 8, 12, 14, 30, 34, 35, 36


def _str(s):
    b = s.encode('utf-8') if isinstance(s, str) else bytes(s)
    return struct.pack('<Q', len(b)) + b


def _value(vtype, v):
    if vtype == STRING:
        return _str(v)
    if vtype == ARRAY:
        etype, items = v
        out = struct.pack('<IQ', etype, len(items))
        if etype in _SCALAR and not isinstance(items, list):
            return out + np.asarray(items, dtype=np.dtype(_SCALAR[etype])).tobytes()
        return out + b''.join(_value(etype, x) for x in items)
    return struct.pack(_SCALAR[vtype], v)


class GGUFWriter:
    """Collects key/values and tensors, then writes them with write(path)."""

    def __init__(self, alignment=32):
        self.kv = []          # (key, vtype, value)
        self.tensors = []     # (name, shape ne0-first, ggml type, raw bytes)
        self.alignment = alignment

    def add(self, key, vtype, value):
        self.kv.append((key, vtype, value))

    def add_u32(self, key, v): self.add(key, UINT32, int(v))
    def add_i32(self, key, v): self.add(key, INT32, int(v))
    def add_f32(self, key, v): self.add(key, FLOAT32, float(v))
    def add_bool(self, key, v): self.add(key, BOOL, bool(v))
    def add_str(self, key, v): self.add(key, STRING, v)
    def add_arr(self, key, etype, items): self.add(key, ARRAY, (etype, items))

    def add_tensor(self, name, ne, ggml_type, data):
        """ne: dimensions innermost first (ne[0] = row length), as GGUF stores them."""
        self.tensors.append((name, [int(x) for x in ne], ggml_type, bytes(data)))

    def _header(self):
        out = bytearray(b'GGUF')
        kv = list(self.kv)
        if self.alignment != 32:
            kv.append(('general.alignment', UINT32, self.alignment))
        out += struct.pack('<IQQ', 3, len(self.tensors), len(kv))
        for key, vtype, v in kv:
            out += _str(key) + struct.pack('<I', vtype) + _value(vtype, v)
        offset = 0
        for name, ne, t, data in self.tensors:
            out += _str(name) + struct.pack('<I', len(ne)) + struct.pack('<%dQ' % len(ne), *ne)
            out += struct.pack('<IQ', t, offset)
            offset += len(data)
            offset = (offset + self.alignment - 1) // self.alignment * self.alignment
        out += b'\0' * (-len(out) % self.alignment)
        return bytes(out)

    def to_bytes(self):
        out = bytearray(self._header())
        for name, ne, t, data in self.tensors:
            out += data
            out += b'\0' * (-len(data) % self.alignment)
        return bytes(out)

    def write(self, path):
        # streamed, so a full-size model is not held twice in memory
        with open(path, 'wb') as f:
            f.write(self._header())
            for name, ne, t, data in self.tensors:
                f.write(data)
                f.write(b'\0' * (-len(data) % self.alignment))
