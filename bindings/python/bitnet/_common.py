"""Helpers shared by the Model, Context and Sampler wrappers: enums, argument
conversion, status checks, generation parameters."""
from __future__ import annotations

import ctypes
import enum
from ctypes import byref, c_float, sizeof
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

from . import _lib as L
from ._errors import BitnetError, Status

try:
    import numpy as _np
except ImportError:  # numpy is optional: logits come back as lists without it
    _np = None

_lib = L.lib

Tokens = Union[Sequence[int], Any]  # a sequence of ints or a 1-D integer numpy array
Logits = Any                        # numpy.ndarray of float32 when numpy is importable, else list of float
StopStrings = Union[None, str, Sequence[str]]
Message = Union[Mapping[str, str], Tuple[str, str]]

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


class CpuLevel(enum.IntEnum):
    """``bn_cpu_level``: kernel instruction-set levels."""
    AUTO = 0
    SCALAR = 1
    AVX2 = 2
    AVX512 = 3
    NEON = 4
    DOTPROD = 5


class LogLevel(enum.IntEnum):
    """``bn_log_level``."""
    ERROR = 0
    WARN = 1
    INFO = 2
    DEBUG = 3


# ------------------------------------------------------------------- helpers

def _last_error() -> str:
    return _lib.bn_last_error().decode('utf-8', 'replace')


def _check(status: int) -> None:
    if status != 0:
        raise BitnetError(status, _last_error())


def _invalid(msg: str) -> BitnetError:
    return BitnetError(Status.INVALID_ARG, msg)


def _uint(name: str, value: Optional[int], bits: int) -> int:
    if value is None:
        return 0
    v = _int(name, value)
    if not 0 <= v < (1 << bits):
        raise _invalid('%s %d is outside 0..%d' % (name, v, (1 << bits) - 1))
    return v


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not hasattr(value, '__index__'):
        raise TypeError('%s must be an int, not %s' % (name, type(value).__name__))
    return value.__index__()


def _token(value: Any) -> int:
    """A token id as C's int32, never wrapped: out of range is INVALID_TOKEN."""
    t = _int('token', value)
    if not INT32_MIN <= t <= INT32_MAX:
        raise BitnetError(Status.INVALID_TOKEN, 'token %d is outside the int32 range' % t)
    return t


def _utf8(name: str, s: Union[str, bytes]) -> bytes:
    """str as UTF-8 (bytes as they are); a lone surrogate is INVALID_UTF8, as invalid bytes are."""
    try:
        return s.encode('utf-8') if isinstance(s, str) else bytes(s)
    except UnicodeEncodeError as e:
        raise BitnetError(Status.INVALID_UTF8, '%s is not valid UTF-8: %s' % (name, e)) from None


def _cstr(name: str, s: Union[str, bytes]) -> bytes:
    b = _utf8(name, s)
    if b'\0' in b:
        raise _invalid('%s contains a NUL character' % name)
    return b


def _cpu_level(level: Union[CpuLevel, int, str]) -> int:
    if isinstance(level, str):
        try:
            return CpuLevel[level.upper()]
        except KeyError:
            raise _invalid('unknown CPU level %r (one of %s)'
                           % (level, ', '.join(n.lower() for n in CpuLevel.__members__))) from None
    return _int('cpu_level', level)


def _token_array(tokens: Tokens) -> Tuple[Any, int]:
    """A ctypes int32 array (or a numpy buffer) for tokens, checked to fit int32."""
    if _np is not None and isinstance(tokens, _np.ndarray):
        if tokens.ndim != 1 or tokens.dtype.kind not in 'iu':
            raise TypeError('tokens must be a 1-D integer array, not %s of %s' % (tokens.shape, tokens.dtype))
        if tokens.size and (tokens.min() < INT32_MIN or tokens.max() > INT32_MAX):
            raise BitnetError(Status.INVALID_TOKEN, 'token id outside the int32 range')
        arr = _np.ascontiguousarray(tokens, dtype=_np.int32)
        return arr.ctypes.data_as(ctypes.POINTER(L.bn_token)), int(arr.size)
    if isinstance(tokens, (str, bytes)):
        raise TypeError('tokens must be a sequence of ints; tokenize text first')
    toks = [_int('token', t) for t in tokens]
    for i, t in enumerate(toks):
        if not INT32_MIN <= t <= INT32_MAX:
            raise BitnetError(Status.INVALID_TOKEN, 'token %d at index %d is outside the int32 range' % (t, i))
    return (L.bn_token * len(toks))(*toks), len(toks)


def _float_buffer(n: int) -> Tuple[Any, int]:
    """An n-float output buffer and its address."""
    if _np is not None:
        a = _np.empty(n, dtype=_np.float32)
        return a, a.ctypes.data
    a = (c_float * n)()
    return a, ctypes.addressof(a)


def _logits_out(buf: Any, rows: Optional[int] = None, cols: int = 0) -> Logits:
    if _np is not None:
        return buf if rows is None else buf.reshape(rows, cols)
    flat = list(buf)
    return flat if rows is None else [flat[r * cols:(r + 1) * cols] for r in range(rows)]


def version() -> int:
    """The library's ``BN_VERSION_NUMBER`` (major*10000 + minor*100 + patch)."""
    return _lib.bn_version()


def version_string() -> str:
    """The library's version, e.g. ``"0.1.0"``."""
    return _lib.bn_version_string().decode('ascii', 'replace')


def abi_version() -> int:
    """The library's ``BN_ABI_VERSION`` (changes only together with the SONAME)."""
    return _lib.bn_abi_version()


def library_path() -> str:
    """The path or name the shared library was loaded from."""
    return _lib.bitnet_path


def status_string(status: int) -> str:
    """The library's fixed description of a status code."""
    return _lib.bn_status_string(int(status)).decode('ascii', 'replace')


def cpu_best() -> CpuLevel:
    """The best kernel level the running CPU and OS support (ignoring ``BN_CPU``)."""
    return CpuLevel(_lib.bn_cpu_best())


def cpu_supported(level: Union[CpuLevel, int, str]) -> bool:
    """Whether the running CPU supports a kernel level."""
    return bool(_lib.bn_cpu_supported(_cpu_level(level)))


# -------------------------------------------------------------- gen params

def _gen_params(max_tokens: Optional[int] = None, temperature: Optional[float] = None, top_k: Optional[int] = None,
                top_p: Optional[float] = None, min_p: Optional[float] = None, repeat_penalty: Optional[float] = None,
                repeat_last_n: Optional[int] = None, seed: Optional[int] = None, stop: StopStrings = None,
                add_special: bool = True, parse_special: bool = True, context_shift: bool = False,
                n_keep: int = 0) -> Tuple[L.bn_gen_params, List[bytes], Any]:
    """A bn_gen_params from keyword arguments (None keeps the library's default),
    the encoded stop strings, and the array that must outlive the call."""
    gp = L.bn_gen_params()
    _lib.bn_gen_params_init_sized(byref(gp), sizeof(gp))
    if max_tokens is not None:
        n = _int('max_tokens', max_tokens)
        if not INT32_MIN <= n <= INT32_MAX:
            raise _invalid('max_tokens %d does not fit an int32' % n)
        gp.n_predict = n
    for name, v in (('temperature', temperature), ('top_p', top_p), ('min_p', min_p),
                    ('repeat_penalty', repeat_penalty)):
        if v is not None:
            setattr(gp, name, float(v))
    for name, v in (('top_k', top_k), ('repeat_last_n', repeat_last_n)):
        if v is not None:
            n = _int(name, v)
            if not INT32_MIN <= n <= INT32_MAX:
                raise _invalid('%s %d does not fit an int32' % (name, n))
            setattr(gp, name, n)
    if seed is not None:
        gp.seed = _uint('seed', seed, 64)
    if isinstance(stop, (str, bytes)):
        stop = [stop]
    stops = [_cstr('stop string', s) for s in (stop or ())]
    keep = None
    if stops:
        keep = (ctypes.c_char_p * len(stops))(*stops)
        gp.stop = ctypes.cast(keep, ctypes.POINTER(ctypes.c_char_p))
        gp.n_stop = len(stops)
    gp.tokenize_flags = ((L.BN_TOKENIZE_ADD_SPECIAL if add_special else 0) |
                         (L.BN_TOKENIZE_PARSE_SPECIAL if parse_special else 0))
    gp.context_shift = 1 if context_shift else 0
    n_keep = _int('n_keep', n_keep)
    if not -1 <= n_keep <= INT32_MAX:
        raise _invalid('n_keep %d must be -1 (the prompt), 0 (BOS) or a token count' % n_keep)
    gp.n_keep = n_keep
    return gp, stops, keep


def _find_stop(text: bytes, stops: List[bytes]) -> int:
    """Position of the first stop string in text, or len(text)."""
    first = len(text)
    for s in stops:
        i = text.find(s)
        if 0 <= i < first:
            first = i
    return first


def _stop_holdback(text: bytes, stops: List[bytes]) -> int:
    """Length of the longest suffix of text that is a proper prefix of a stop string."""
    hold = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), hold, -1):
            if text.endswith(s[:k]):
                hold = k
                break
    return hold

