"""Model: an opened GGUF file, its metadata, tensors, tokenizer and chat templates.

Handles are released deterministically by ``close()`` or a ``with`` block; a
``weakref.finalize`` frees whatever the program forgets. Closing a model closes
its contexts first (the C library requires every context to be freed before
its model).
"""
from __future__ import annotations

import ctypes
import dataclasses
import os
import weakref
from ctypes import byref, c_double, c_int64, c_size_t, c_uint64, c_void_p, sizeof
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

from . import _lib as L
from ._common import (CpuLevel, Message, Tokens, _check, _cpu_level, _cstr, _invalid, _last_error, _lib, _token,
                      _token_array, _uint, _utf8)
from ._errors import BitnetError, Status

if TYPE_CHECKING:
    from ._context import Context  # noqa: F401


# ------------------------------------------------------------------- model

@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """One tensor of the model file (``bn_tensor_info``)."""
    name: str
    type_name: str     #: "I2_S", "F16", ...
    type: int          #: GGUF type number
    shape: Tuple[int, ...]  #: ne[0] first: the innermost (contiguous) dimension
    n_bytes: int       #: bytes in the file


@dataclasses.dataclass(frozen=True)
class MetaArray:
    """A metadata array value; libbitnet exposes only its length."""
    length: int

    def __len__(self) -> int:
        return self.length


class Metadata(Mapping[str, Any]):
    """Read-only, dict-like view of a model's GGUF metadata.

    Strings come back as ``str``, integers and booleans as ``int``, floats as
    ``float`` and arrays as :class:`MetaArray` (their length).
    """

    def __init__(self, model: 'Model'):
        self._model = model

    def __len__(self) -> int:
        return int(_lib.bn_model_meta_count(self._model._h))

    def __iter__(self) -> Iterator[str]:
        for i in range(len(self)):
            k = _lib.bn_model_meta_key(self._model._h, i)  # the handle again each step: the model may close
            if k is not None:
                yield k.decode('utf-8', 'replace')

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __getitem__(self, key: str) -> Any:
        if not isinstance(key, str) or '\0' in key:
            raise KeyError(key)
        h, k = self._model._h, key.encode('utf-8', 'surrogatepass')
        ptr, n = c_void_p(), c_size_t()
        st = _lib.bn_model_meta_str(h, k, byref(ptr), byref(n))
        if st == 0:
            return ctypes.string_at(ptr.value, n.value).decode('utf-8', 'replace') if n.value else ''
        if st == Status.NOT_FOUND:
            raise KeyError(key)
        if st != Status.TYPE:
            _check(st)
        iv = c_int64()
        st = _lib.bn_model_meta_int(h, k, byref(iv))
        if st == 0:
            return iv.value
        if st != Status.TYPE:
            _check(st)
        fv = c_double()
        st = _lib.bn_model_meta_float(h, k, byref(fv))
        if st == 0:
            return fv.value
        if st != Status.TYPE:
            _check(st)
        av = c_uint64()
        _check(_lib.bn_model_meta_array_len(h, k, byref(av)))
        return MetaArray(av.value)

    def __repr__(self) -> str:
        return '<bitnet.Metadata of %d keys>' % len(self)


class _LogState:
    """What the C log callback needs, kept by the Model (bn_model_free never
    logs, and the model outlives its contexts, which log through it)."""

    def __init__(self, fn: Callable[[int, str], Any]):
        self.fn = fn
        self.opening = True
        self.error: Optional[BaseException] = None
        self.cfunc = L.bn_log_fn(self._call)

    def _call(self, user: Any, level: int, msg: Optional[bytes]) -> None:
        try:
            self.fn(level, (msg or b'').decode('utf-8', 'replace'))
        except BaseException as e:  # noqa: B902 - C cannot unwind a Python exception
            if not self.opening:
                raise  # ctypes passes it to sys.unraisablehook; none is kept
            if self.error is None:
                self.error = e


def _free_model(handle: int) -> None:
    _lib.bn_model_free(handle)


class Model:
    """A GGUF model opened with ``bn_model_open``: immutable and shareable by
    any number of contexts and threads.

    Args:
        path: the ``.gguf`` file.
        use_mmap: map the file (default) or read it into memory.
        cpu_level: ``"auto"`` (default), or a :class:`CpuLevel` / name such as
            ``"scalar"`` to force one; an unsupported level raises.
        quantize_head: convert the output head to int8 rows at load.
        log: ``None`` (library default: warnings and errors to stderr),
            ``False`` for silence (``bn_log_silent``), or a callable
            ``log(level: int, message: str)``. It is called on the thread that
            made the call which logs. An exception it raises while the model
            opens is re-raised by the constructor; later ones are ignored.
        log_level: the highest :class:`LogLevel` passed on (default WARN).

    Raises:
        BitnetError: ``IO`` (the message names the file), ``FORMAT``,
            ``UNSUPPORTED``, ``NOMEM``, ``INVALID_ARG``.
    """

    def __init__(self, path: Union[str, os.PathLike], *, use_mmap: bool = True,
                 cpu_level: Union[CpuLevel, int, str] = CpuLevel.AUTO, quantize_head: bool = False,
                 log: Union[None, bool, Callable[[int, str], Any]] = None, log_level: Optional[int] = None):
        self._handle: Optional[int] = None
        self._contexts: 'weakref.WeakSet[Context]' = weakref.WeakSet()
        self.path = os.fspath(path)
        p = L.bn_model_params()
        _lib.bn_model_params_init_sized(byref(p), sizeof(p))
        p.use_mmap = 1 if use_mmap else 0
        p.cpu_level = _uint('cpu_level', _cpu_level(cpu_level), 31)
        p.quantize_head = 1 if quantize_head else 0
        log_state = None
        if log is False:
            p.log_fn = ctypes.cast(_lib.bn_log_silent, c_void_p).value
        elif callable(log):
            log_state = _LogState(log)
            p.log_fn = ctypes.cast(log_state.cfunc, c_void_p).value
        elif log is not None and log is not True:
            raise TypeError('log must be None, False or a callable(level, message)')
        if log_level is not None:
            p.log_level = _uint('log_level', log_level, 31)
        h = c_void_p()
        st = _lib.bn_model_open(_cstr('path', os.fsencode(self.path)), byref(p), byref(h))
        if st != 0:
            err = BitnetError(st, _last_error())
            if log_state is not None and log_state.error is not None:
                raise log_state.error from err
            raise err
        # The callback lives as long as the handle: the finalizer runs before
        # the model's attributes go (and a context keeps its model alive).
        self._log_state = log_state
        self._finalizer = weakref.finalize(self, _free_model, h.value)
        self._handle = h.value
        if log_state is not None:
            log_state.opening = False
            if log_state.error is not None:
                e, log_state.error = log_state.error, None
                self.close()
                raise e

    # -- lifetime
    @property
    def _h(self) -> int:
        if self._handle is None:
            raise _invalid('the model is closed')
        return self._handle

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has released the model."""
        return self._handle is None

    def close(self) -> None:
        """Frees the model now, closing every context still open on it first. Idempotent.
        Raises ``INVALID_ARG`` from inside a callback of one of its contexts' calls."""
        if self._handle is None:
            return
        if any(c._busy for c in self._contexts):
            raise _invalid('a context of this model is generating: close the model after the call returns')
        for c in list(self._contexts):
            c.close()
        self._handle = None
        self._finalizer()

    def __enter__(self) -> 'Model':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._handle is None:
            return '<bitnet.Model %r (closed)>' % self.path
        return '<bitnet.Model %r arch=%s n_vocab=%d n_layer=%d>' % (self.path, self.arch, self.n_vocab, self.n_layer)

    # -- hyperparameters
    @property
    def arch(self) -> str:
        """``general.architecture``, e.g. ``"bitnet-b1.58"``."""
        return _lib.bn_model_arch(self._h).decode('utf-8', 'replace')

    @property
    def n_vocab(self) -> int:
        return _lib.bn_model_n_vocab(self._h)

    @property
    def n_ctx_train(self) -> int:
        return _lib.bn_model_n_ctx_train(self._h)

    @property
    def n_embd(self) -> int:
        return _lib.bn_model_n_embd(self._h)

    @property
    def n_layer(self) -> int:
        return _lib.bn_model_n_layer(self._h)

    @property
    def cpu_level(self) -> CpuLevel:
        """The kernel level this model's contexts use."""
        return CpuLevel(_lib.bn_model_cpu_level(self._h))

    @property
    def weight_bytes(self) -> int:
        """Bytes of weights one decoded token reads."""
        return _lib.bn_model_weight_bytes(self._h)

    @property
    def meta(self) -> Metadata:
        """The GGUF metadata, as a read-only mapping."""
        self._h
        return Metadata(self)

    @property
    def tensors(self) -> List[TensorInfo]:
        """Every tensor of the file, in file order."""
        h = self._h
        out = []
        for i in range(_lib.bn_model_n_tensors(h)):
            info = L.bn_tensor_info()
            info.size = ctypes.sizeof(info)
            _check(_lib.bn_model_tensor(h, i, byref(info)))
            out.append(TensorInfo(info.name.decode('utf-8', 'replace'), info.type_name.decode('ascii', 'replace'),
                                  info.type, tuple(info.ne[:info.n_dims]), info.n_bytes))
        return out

    # -- tokenizer
    @property
    def bos(self) -> int:
        """The beginning-of-sequence token, or -1."""
        return _lib.bn_token_bos(self._h)

    @property
    def eos(self) -> int:
        """The end-of-sequence token, or -1."""
        return _lib.bn_token_eos(self._h)

    @property
    def eot(self) -> int:
        """The end-of-turn token, or -1."""
        return _lib.bn_token_eot(self._h)

    def is_eog(self, token: int) -> bool:
        """Whether generation stops at this token (EOS, EOT and other end markers)."""
        return bool(_lib.bn_token_is_eog(self._h, _token(token)))

    def token_text(self, token: int) -> str:
        """The token's vocabulary entry as stored (e.g. ``"Ġthe"``); raises for an invalid id."""
        t = _token(token)
        s = _lib.bn_token_text(self._h, t)
        if s is None:
            raise BitnetError(Status.INVALID_TOKEN, 'token %d is outside the vocabulary (0..%d)'
                              % (t, self.n_vocab - 1))
        return s.decode('utf-8', 'replace')

    def token_to_piece(self, token: int, special: bool = False) -> bytes:
        """The bytes one token stands for (possibly part of a UTF-8 character)."""
        t = _token(token)
        flags = L.BN_DETOKENIZE_SPECIAL if special else 0
        cap = 64
        while True:
            buf = ctypes.create_string_buffer(cap)
            n = c_size_t()
            st = _lib.bn_token_to_piece(self._h, t, flags, buf, cap, byref(n))
            if st == Status.BUFFER_TOO_SMALL and n.value > cap:
                cap = n.value
                continue
            _check(st)
            return buf.raw[:n.value]

    def tokenize(self, text: Union[str, bytes], add_special: bool = True, parse_special: bool = False) -> List[int]:
        """Text to token ids with the model's tokenizer.

        ``add_special`` adds BOS (and EOS) as the model's metadata asks;
        ``parse_special`` turns special-token text such as ``<|eot_id|>`` into
        that token. ``bytes`` are passed through as they are (invalid UTF-8
        raises ``INVALID_UTF8``).
        """
        b = _utf8('text', text)
        flags = ((L.BN_TOKENIZE_ADD_SPECIAL if add_special else 0) |
                 (L.BN_TOKENIZE_PARSE_SPECIAL if parse_special else 0))
        return self._tokenize(b, flags)

    def _tokenize(self, b: bytes, flags: int) -> List[int]:
        h = self._h
        cap = len(b) + 8
        while True:
            buf = (L.bn_token * cap)()
            n = c_size_t()
            st = _lib.bn_tokenize(h, b, len(b), flags, buf, cap, byref(n))
            if st == Status.BUFFER_TOO_SMALL and n.value > cap:
                cap = n.value
                continue
            _check(st)
            return buf[:n.value]

    def detokenize(self, tokens: Tokens, special: bool = False) -> str:
        """Token ids to text (invalid UTF-8 becomes U+FFFD). ``special`` renders control tokens."""
        arr, n = _token_array(tokens)
        flags = L.BN_DETOKENIZE_SPECIAL if special else 0
        cap = 16 * n + 64
        while True:
            buf = ctypes.create_string_buffer(cap)
            ln = c_size_t()
            st = _lib.bn_detokenize(self._h, arr, n, flags, buf, cap, byref(ln))
            if st == Status.BUFFER_TOO_SMALL and ln.value >= cap:
                cap = ln.value + 1
                continue
            _check(st)
            return buf.raw[:ln.value].decode('utf-8', 'replace')

    # -- chat
    @property
    def chat_template(self) -> Optional[str]:
        """The name of the chat template the model's metadata selects, or None if unknown."""
        s = _lib.bn_chat_template_name(self._h)
        return None if s is None else s.decode('ascii', 'replace')

    def format_chat(self, messages: Iterable[Message], template: Optional[str] = None,
                    add_assistant: bool = True) -> str:
        """Formats a conversation with a chat template (``bn_chat_apply``).

        ``messages`` are ``{"role": ..., "content": ...}`` mappings or
        ``(role, content)`` pairs, roles ``"system"``, ``"user"``,
        ``"assistant"``. ``template`` None uses the model's own; otherwise
        ``"bitnet"``, ``"llama3"``, ``"falcon3"`` or ``"llama2"``.
        """
        msgs = []
        for i, m in enumerate(messages):
            role, content = (m['role'], m['content']) if isinstance(m, Mapping) else m
            msgs.append((_cstr('role of message %d' % i, role), _cstr('content of message %d' % i, content)))
        arr = (L.bn_chat_message * len(msgs))(*[L.bn_chat_message(r, c) for r, c in msgs])
        tmpl = _cstr('template', template) if template is not None else None
        cap = sum(len(r) + len(c) for r, c in msgs) + 256
        while True:
            buf = ctypes.create_string_buffer(cap)
            need = c_size_t()
            st = _lib.bn_chat_apply(self._h, tmpl, arr, len(msgs), 1 if add_assistant else 0, buf, cap,
                                    byref(need))
            if st == Status.BUFFER_TOO_SMALL and need.value >= cap:
                cap = need.value + 1
                continue
            _check(st)
            return buf.raw[:need.value].decode('utf-8', 'replace')
