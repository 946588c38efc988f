"""Finds and loads libbitnet with ctypes, declares its functions, checks its version.

The search order is:

1. the ``BITNET_LIBRARY`` environment variable (a path to ``libbitnet.so*``);
2. a ``libbitnet.so.0`` / ``libbitnet.so`` next to this package (a wheel that
   bundles the library);
3. ``ctypes.util.find_library('bitnet')`` (the system's loader cache);
4. the ``libdir`` that ``pkg-config bitnet`` reports.

Only names from ``include/bitnet/bitnet.h`` are used. The struct mirrors here
must match the header field for field; ``tests/test_library.py`` compares them
with ``tests/abi/layout-lp64.txt``.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int, c_int32, c_int64,
                    c_size_t, c_uint32, c_uint64, c_void_p)
from typing import List, Optional

#: The ABI this binding was written for (``BN_ABI_VERSION``); the library must match it.
ABI_VERSION = 0
#: The oldest ``BN_VERSION_NUMBER`` that has every function declared below.
MIN_VERSION = 300  # 0.3.0: bn_ctx_truncate, bn_ctx_discard, bn_ctx_state_*

# ---------------------------------------------------------------- constants

BN_TOKENIZE_ADD_SPECIAL = 1
BN_TOKENIZE_PARSE_SPECIAL = 2
BN_DETOKENIZE_SPECIAL = 1

bn_token = c_int32
bn_status = c_int
bn_cpu_level = c_int
bn_log_fn = CFUNCTYPE(None, c_void_p, c_int, c_char_p)
bn_token_fn = CFUNCTYPE(c_int, c_void_p, bn_token, POINTER(c_char), c_size_t)


class bn_model_params(Structure):
    _fields_ = [
        ('size', c_size_t),
        ('use_mmap', c_int),
        ('cpu_level', bn_cpu_level),
        ('quantize_head', c_int),
        ('log_fn', c_void_p),   # a bn_log_fn, stored as a plain pointer so bn_log_silent fits too
        ('log_user', c_void_p),
        ('log_level', c_int),
    ]


class bn_tensor_info(Structure):
    _fields_ = [
        ('size', c_size_t),
        ('name', c_char_p),
        ('type_name', c_char_p),
        ('type', c_int),
        ('n_dims', c_int),
        ('ne', c_int64 * 4),
        ('n_bytes', c_uint64),
    ]


class bn_ctx_params(Structure):
    _fields_ = [
        ('size', c_size_t),
        ('n_ctx', c_uint32),
        ('n_threads', c_int),
        ('n_batch', c_uint32),
    ]


class bn_gen_params(Structure):
    _fields_ = [
        ('size', c_size_t),
        ('n_predict', c_int32),
        ('temperature', c_float),
        ('top_k', c_int32),
        ('top_p', c_float),
        ('min_p', c_float),
        ('repeat_penalty', c_float),
        ('repeat_last_n', c_int32),
        ('seed', c_uint64),
        ('stop', POINTER(c_char_p)),
        ('n_stop', c_size_t),
        ('tokenize_flags', c_uint32),
        ('context_shift', c_int32),  # 0.3.0
        ('n_keep', c_int32),
    ]


class bn_chat_message(Structure):
    _fields_ = [
        ('role', c_char_p),
        ('content', c_char_p),
    ]


STRUCTS = {
    'bn_model_params': bn_model_params,
    'bn_tensor_info': bn_tensor_info,
    'bn_ctx_params': bn_ctx_params,
    'bn_gen_params': bn_gen_params,
    'bn_chat_message': bn_chat_message,
}

_P = c_void_p  # opaque handles travel as void pointers
_SIG = {
    'bn_version': (c_int, []),
    'bn_version_string': (c_char_p, []),
    'bn_abi_version': (c_int, []),
    'bn_status_string': (c_char_p, [bn_status]),
    'bn_last_error': (c_char_p, []),
    'bn_cpu_best': (bn_cpu_level, []),
    'bn_cpu_supported': (c_int, [bn_cpu_level]),
    'bn_cpu_level_name': (c_char_p, [bn_cpu_level]),
    'bn_model_params_init': (None, [POINTER(bn_model_params)]),
    'bn_model_params_init_sized': (None, [POINTER(bn_model_params), c_size_t]),
    'bn_model_open': (bn_status, [c_char_p, POINTER(bn_model_params), POINTER(_P)]),
    'bn_model_free': (None, [_P]),
    'bn_model_n_vocab': (c_int32, [_P]),
    'bn_model_n_ctx_train': (c_int32, [_P]),
    'bn_model_n_embd': (c_int32, [_P]),
    'bn_model_n_layer': (c_int32, [_P]),
    'bn_model_arch': (c_char_p, [_P]),
    'bn_model_cpu_level': (bn_cpu_level, [_P]),
    'bn_model_weight_bytes': (c_uint64, [_P]),
    'bn_model_meta_count': (c_int64, [_P]),
    'bn_model_meta_key': (c_char_p, [_P, c_int64]),
    'bn_model_meta_str': (bn_status, [_P, c_char_p, POINTER(c_void_p), POINTER(c_size_t)]),
    'bn_model_meta_int': (bn_status, [_P, c_char_p, POINTER(c_int64)]),
    'bn_model_meta_float': (bn_status, [_P, c_char_p, POINTER(c_double)]),
    'bn_model_meta_array_len': (bn_status, [_P, c_char_p, POINTER(c_uint64)]),
    'bn_model_n_tensors': (c_int64, [_P]),
    'bn_model_tensor': (bn_status, [_P, c_int64, POINTER(bn_tensor_info)]),
    'bn_tokenize': (bn_status, [_P, c_char_p, c_size_t, c_uint32, POINTER(bn_token), c_size_t, POINTER(c_size_t)]),
    'bn_token_to_piece': (bn_status, [_P, bn_token, c_uint32, c_void_p, c_size_t, POINTER(c_size_t)]),
    'bn_detokenize': (bn_status, [_P, POINTER(bn_token), c_size_t, c_uint32, c_void_p, c_size_t,
                                  POINTER(c_size_t)]),
    'bn_token_bos': (bn_token, [_P]),
    'bn_token_eos': (bn_token, [_P]),
    'bn_token_eot': (bn_token, [_P]),
    'bn_token_is_eog': (c_int, [_P, bn_token]),
    'bn_token_text': (c_char_p, [_P, bn_token]),
    'bn_ctx_params_init': (None, [POINTER(bn_ctx_params)]),
    'bn_ctx_params_init_sized': (None, [POINTER(bn_ctx_params), c_size_t]),
    'bn_ctx_new': (bn_status, [_P, POINTER(bn_ctx_params), POINTER(_P)]),
    'bn_ctx_free': (None, [_P]),
    'bn_ctx_reset': (None, [_P]),
    'bn_ctx_truncate': (bn_status, [_P, c_uint32]),
    'bn_ctx_discard': (bn_status, [_P, c_uint32, c_uint32]),
    'bn_ctx_state_size': (c_size_t, [_P]),
    'bn_ctx_state_save': (bn_status, [_P, c_void_p, c_size_t, POINTER(c_size_t)]),
    'bn_ctx_state_load': (bn_status, [_P, c_void_p, c_size_t]),
    'bn_ctx_n_ctx': (c_uint32, [_P]),
    'bn_ctx_n_past': (c_uint32, [_P]),
    'bn_ctx_model': (_P, [_P]),
    'bn_eval': (bn_status, [_P, POINTER(bn_token), c_size_t, c_void_p]),
    'bn_eval_all': (bn_status, [_P, POINTER(bn_token), c_size_t, c_void_p]),
    'bn_gen_params_init': (None, [POINTER(bn_gen_params)]),
    'bn_gen_params_init_sized': (None, [POINTER(bn_gen_params), c_size_t]),
    'bn_sampler_new': (bn_status, [POINTER(bn_gen_params), POINTER(_P)]),
    'bn_sampler_free': (None, [_P]),
    'bn_sampler_sample': (bn_status, [_P, c_void_p, c_int32, POINTER(bn_token)]),
    'bn_sampler_accept': (None, [_P, bn_token]),
    'bn_sampler_reset': (None, [_P]),
    'bn_ctx_token_text': (bn_status, [_P, bn_token, c_void_p, c_size_t, POINTER(c_size_t)]),
    'bn_generate': (bn_status, [_P, c_char_p, POINTER(bn_gen_params), bn_token_fn, c_void_p]),
    'bn_chat_apply': (bn_status, [_P, c_char_p, POINTER(bn_chat_message), c_size_t, c_int, c_void_p, c_size_t,
                                  POINTER(c_size_t)]),
    'bn_chat_template_name': (c_char_p, [_P]),
}
# bn_log_silent is a callback, not something to call: its address goes into bn_model_params.log_fn.
FUNCTIONS = sorted(list(_SIG) + ['bn_log_silent'])


class LibraryError(ImportError):
    """libbitnet could not be found or is not a version this binding supports."""


def _candidates() -> List[str]:
    """Library paths and names to try, in order."""
    out = []
    env = os.environ.get('BITNET_LIBRARY')
    if env:
        return [env]  # an explicit choice is never silently replaced by another library
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ('libbitnet.so.%d' % ABI_VERSION, 'libbitnet.so', 'libbitnet.dylib', 'bitnet.dll'):
        p = os.path.join(here, name)
        if os.path.exists(p):
            out.append(p)
    found = ctypes.util.find_library('bitnet')
    if found:
        out.append(found)
    try:
        libdir = subprocess.run(['pkg-config', '--variable=libdir', 'bitnet'], capture_output=True, text=True,
                                timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        libdir = ''
    if libdir:
        for name in ('libbitnet.so.%d' % ABI_VERSION, 'libbitnet.so', 'libbitnet.dylib'):
            p = os.path.join(libdir, name)
            if os.path.exists(p):
                out.append(p)
                break
    return out


def _declare(lib: ctypes.CDLL, where: str) -> None:
    missing = [n for n in FUNCTIONS if not hasattr(lib, n)]
    if missing:
        raise LibraryError('%s lacks %s: it is not a libbitnet this binding supports' % (where, ', '.join(missing)))
    for name, (restype, argtypes) in _SIG.items():
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = argtypes


def _check_version(lib: ctypes.CDLL, where: str) -> None:
    abi = lib.bn_abi_version()
    ver = lib.bn_version()
    vs = lib.bn_version_string().decode('ascii', 'replace')
    if abi != ABI_VERSION:
        raise LibraryError('%s is libbitnet %s with ABI version %d; this binding needs ABI version %d '
                           '(install a matching libbitnet or point BITNET_LIBRARY at one)'
                           % (where, vs, abi, ABI_VERSION))
    if ver < MIN_VERSION:
        raise LibraryError('%s is libbitnet %s (%d); this binding needs %d or newer' % (where, vs, ver, MIN_VERSION))


def load(path: Optional[str] = None) -> ctypes.CDLL:
    """Loads libbitnet (from ``path``, or by the search order above), declares and checks it."""
    tried = []
    for cand in ([path] if path else _candidates()):
        try:
            lib = ctypes.CDLL(cand)
        except OSError as e:
            tried.append('%s (%s)' % (cand, e))
            continue
        where = getattr(lib, '_name', cand)
        if hasattr(lib, 'bn_abi_version') and hasattr(lib, 'bn_version') and hasattr(lib, 'bn_version_string'):
            for name, restype in (('bn_abi_version', c_int), ('bn_version', c_int), ('bn_version_string', c_char_p)):
                getattr(lib, name).restype = restype
                getattr(lib, name).argtypes = []
            _check_version(lib, where)
        _declare(lib, where)
        lib.bitnet_path = where  # type: ignore[attr-defined]
        return lib
    if not tried:
        raise LibraryError('libbitnet not found: set BITNET_LIBRARY to the path of libbitnet.so, install it where '
                           'the dynamic loader finds it, or make `pkg-config bitnet` find it')
    raise LibraryError('libbitnet could not be loaded; tried: ' + '; '.join(tried))


lib = load()
