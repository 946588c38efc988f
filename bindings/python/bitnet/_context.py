"""Context and Sampler: evaluation, sampling and generation on one sequence.

A Context keeps its Model alive; handles are released by ``close()``, a
``with`` block or, as a backstop, a ``weakref.finalize``.
"""
from __future__ import annotations

import ctypes
import weakref
from ctypes import byref, c_float, c_size_t, c_void_p, sizeof
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple

from . import _lib as L
from ._common import (INT32_MAX, Logits, Message, StopStrings, Tokens, _check, _cstr, _find_stop, _float_buffer,
                      _gen_params, _int, _invalid, _lib, _logits_out, _np, _stop_holdback, _token, _token_array,
                      _uint)
from ._errors import BitnetError, Status
from ._model import Model


def _free_sampler(handle: int) -> None:
    _lib.bn_sampler_free(handle)


def _texts(pieces: Iterator[Tuple[bytes, int]]) -> Iterator[str]:
    """The non-empty pieces of Context._stream as text."""
    return (b.decode('utf-8', 'replace') for b, _ in pieces if b)


class Sampler:
    """A token sampler (``bn_sampler``) for driving generation step by step.

    Arguments are those of :meth:`Context.generate` that concern sampling;
    None keeps the library default (temperature 0.8, top_k 40, top_p 0.95,
    min_p 0.05, repeat_penalty 1.0, repeat_last_n 64, seed 0x5eed).
    ``temperature=0`` is greedy.
    """

    def __init__(self, *, temperature: Optional[float] = None, top_k: Optional[int] = None,
                 top_p: Optional[float] = None, min_p: Optional[float] = None,
                 repeat_penalty: Optional[float] = None, repeat_last_n: Optional[int] = None,
                 seed: Optional[int] = None):
        self._handle: Optional[int] = None
        gp, _, _ = _gen_params(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                               repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed)
        self._init(gp)

    @classmethod
    def _from_params(cls, gp: L.bn_gen_params) -> 'Sampler':
        s = cls.__new__(cls)
        s._handle = None
        s._init(gp)
        return s

    def _init(self, gp: L.bn_gen_params) -> None:
        h = c_void_p()
        _check(_lib.bn_sampler_new(byref(gp), byref(h)))
        self._finalizer = weakref.finalize(self, _free_sampler, h.value)
        self._handle = h.value

    @property
    def _h(self) -> int:
        if self._handle is None:
            raise _invalid('the sampler is closed')
        return self._handle

    def close(self) -> None:
        """Frees the sampler now. Idempotent."""
        if self._handle is not None:
            self._handle = None
            self._finalizer()

    def __enter__(self) -> 'Sampler':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def sample(self, logits: Logits) -> int:
        """Picks a token from one row of logits (numpy float32 array or a sequence of floats)."""
        if _np is not None:
            a = _np.ascontiguousarray(logits, dtype=_np.float32)
            if a.ndim != 1:
                raise TypeError('logits must be 1-D, not of shape %s' % (a.shape,))
            n, addr = a.size, a.ctypes.data
        else:
            a = (c_float * len(logits))(*logits)
            n, addr = len(logits), ctypes.addressof(a)
        if n > INT32_MAX:
            raise _invalid('%d logits are too many' % n)
        t = L.bn_token()
        _check(_lib.bn_sampler_sample(self._h, addr, n, byref(t)))
        return t.value

    def accept(self, token: int) -> None:
        """Records a token in the repetition history (prompt tokens and sampled ones)."""
        _lib.bn_sampler_accept(self._h, _token(token))

    def reset(self) -> None:
        """Clears the history and restarts the random sequence from the seed."""
        _lib.bn_sampler_reset(self._h)


# ----------------------------------------------------------------- context

def _free_ctx(handle: int, model: Model) -> None:
    # `model` is only held so that it cannot be freed before this context.
    _lib.bn_ctx_free(handle)


class Context:
    """One sequence (KV cache, scratch, worker threads) on a :class:`Model`.

    Make one per conversation, user or game character; they can all share one
    model. A context is used by one thread at a time.

    Args:
        model: the model; the context keeps it alive.
        n_ctx: KV cache length in tokens; 0 = min(training length, 4096).
        n_threads: worker threads including the caller; 0 = 1.
        n_batch: prompt tokens per weight pass; 0 = 64.
    """

    def __init__(self, model: Model, *, n_ctx: int = 0, n_threads: int = 0, n_batch: int = 0):
        self._handle: Optional[int] = None
        self._busy = 0  # inside bn_generate, whose callback may try to close us
        # The tokens the context holds, as far as this object knows them (None:
        # unknown, after bn_generate or a loaded state), for chat()'s reuse.
        self._tokens: Optional[List[int]] = []
        if not isinstance(model, Model):
            raise TypeError('model must be a bitnet.Model, not %s' % type(model).__name__)
        p = L.bn_ctx_params()
        _lib.bn_ctx_params_init_sized(byref(p), sizeof(p))
        p.n_ctx = _uint('n_ctx', n_ctx, 32)
        p.n_threads = _uint('n_threads', n_threads, 31)
        p.n_batch = _uint('n_batch', n_batch, 32)
        h = c_void_p()
        _check(_lib.bn_ctx_new(model._h, byref(p), byref(h)))
        self._model = model
        self._n_vocab = model.n_vocab
        self._finalizer = weakref.finalize(self, _free_ctx, h.value, model)
        self._handle = h.value
        model._contexts.add(self)

    # -- lifetime
    @property
    def _h(self) -> int:
        if self._handle is None:
            raise _invalid('the context is closed')
        return self._handle

    @property
    def closed(self) -> bool:
        return self._handle is None

    def close(self) -> None:
        """Frees the context now. Idempotent. Raises ``INVALID_ARG`` from inside
        a :meth:`generate` callback (the call still uses the context)."""
        if self._busy:
            raise _invalid('the context is generating: close it after generate returns')
        if self._handle is not None:
            self._handle = None
            self._finalizer()

    def __enter__(self) -> 'Context':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._handle is None:
            return '<bitnet.Context (closed)>'
        return '<bitnet.Context n_ctx=%d n_past=%d>' % (self.n_ctx, self.n_past)

    # -- state
    @property
    def model(self) -> Model:
        return self._model

    @property
    def n_ctx(self) -> int:
        """The context length in tokens."""
        return _lib.bn_ctx_n_ctx(self._h)

    @property
    def n_past(self) -> int:
        """Tokens in the KV cache."""
        return _lib.bn_ctx_n_past(self._h)

    def reset(self) -> None:
        """Forgets every token evaluated so far (keeps the memory)."""
        _lib.bn_ctx_reset(self._h)
        self._tokens = []

    def truncate(self, n_keep: int) -> None:
        """Keeps the first ``n_keep`` tokens evaluated and forgets the rest, so
        that evaluation goes on from position ``n_keep`` (rewinding, or reusing
        a prompt's prefix). Raises ``INVALID_ARG`` if ``n_keep`` is negative or
        more than ``n_past``."""
        n_keep = _uint('n_keep', _int('n_keep', n_keep), 32)
        _check(_lib.bn_ctx_truncate(self._h, n_keep))
        if self._tokens is not None:
            del self._tokens[n_keep:]

    def save_state(self) -> bytes:
        """The context's state (its tokens' K/V cache and position) as bytes,
        for ``load_state`` on any context of the same model."""
        n = _lib.bn_ctx_state_size(self._h)
        buf = ctypes.create_string_buffer(n)
        size = c_size_t()
        _check(_lib.bn_ctx_state_save(self._h, buf, n, byref(size)))
        return buf.raw[:size.value]

    def load_state(self, data: bytes) -> None:
        """Restores a state from ``save_state``: evaluation goes on exactly as
        in the saved context. Raises ``FORMAT`` for bytes that are not a whole
        state, ``INVALID_ARG`` for another model's, ``CONTEXT_FULL`` when it
        holds more tokens than ``n_ctx``."""
        data = bytes(data)
        _check(_lib.bn_ctx_state_load(self._h, data, len(data)))
        self._tokens = None

    def discard(self, first: int, n: int) -> None:
        """Forgets the ``n`` tokens from position ``first``; the later ones move
        down by ``n`` (a context shift: keep the start and the latest text when
        the context is full). Their keys are rotated to the new positions in
        f16, so what follows is close to, not bit for bit, a fresh evaluation.
        Raises ``INVALID_ARG`` if ``first + n`` is more than ``n_past``."""
        first, n = _uint('first', _int('first', first), 32), _uint('n', _int('n', n), 32)
        _check(_lib.bn_ctx_discard(self._h, first, n))
        self._tokens = None  # the moved keys are no longer those of a fresh evaluation

    # -- evaluation
    def eval(self, tokens: Tokens, logits: bool = True) -> Optional[Logits]:
        """Appends tokens to the context; returns the last token's ``n_vocab``
        logits (numpy float32 array, or a list without numpy), or None when
        ``logits`` is False.

        Raises ``CONTEXT_FULL`` (nothing evaluated) when the tokens do not fit,
        ``INVALID_TOKEN`` for an id outside the vocabulary, and
        ``INVALID_ARG`` for no tokens when logits are asked for.
        """
        arr, n = _token_array(tokens)
        if n == 0 and logits:
            raise _invalid('eval: no tokens, so no logits to return')
        buf, addr = _float_buffer(self._n_vocab) if logits else (None, None)
        self._evaluated(_lib.bn_eval(self._h, arr, n, addr), arr, n)
        return _logits_out(buf) if logits else None

    def eval_all(self, tokens: Tokens) -> Logits:
        """As :meth:`eval`, returning ``len(tokens) x n_vocab`` logits: row i for tokens[i]."""
        arr, n = _token_array(tokens)
        buf, addr = _float_buffer(max(n, 1) * self._n_vocab)
        self._evaluated(_lib.bn_eval_all(self._h, arr, n, addr), arr, n)
        if _np is not None:
            return buf[:n * self._n_vocab].reshape(n, self._n_vocab)
        return _logits_out(buf, n, self._n_vocab)

    def _evaluated(self, status: int, arr: Any, n: int) -> None:
        """Records the n tokens of arr as held when status is BN_OK (a refusal
        evaluates nothing), then raises for an error."""
        if status == Status.OK and self._tokens is not None:
            self._tokens.extend(int(arr[i]) for i in range(n))
        elif status != Status.OK:
            if self._tokens is not None and len(self._tokens) != self.n_past:
                self._tokens = None
        _check(status)

    def token_text(self, token: int) -> str:
        """Streaming text for a step-wise loop (``bn_ctx_token_text``): feeds a
        token's bytes and returns the complete UTF-8 text they finish (maybe "")."""
        return self._token_text(_token(token)).decode('utf-8', 'replace')

    def flush_text(self) -> str:
        """Returns what :meth:`token_text` still holds back (incomplete UTF-8 becomes U+FFFD)."""
        return self._token_text(-1).decode('utf-8', 'replace')

    def _token_text(self, token: int) -> bytes:
        cap = 512
        while True:
            buf = ctypes.create_string_buffer(cap)
            n = c_size_t()
            st = _lib.bn_ctx_token_text(self._h, token, buf, cap, byref(n))
            if st == Status.BUFFER_TOO_SMALL and n.value > cap:
                cap = n.value
                continue
            _check(st)
            return buf.raw[:n.value]

    # -- generation
    def generate(self, prompt: str, *, max_tokens: Optional[int] = None, temperature: Optional[float] = None,
                 top_k: Optional[int] = None, top_p: Optional[float] = None, min_p: Optional[float] = None,
                 repeat_penalty: Optional[float] = None, repeat_last_n: Optional[int] = None,
                 seed: Optional[int] = None, stop: StopStrings = None, add_special: bool = True,
                 parse_special: bool = True, callback: Optional[Callable[[str, int], Any]] = None,
                 context_shift: bool = False, n_keep: int = 0) -> str:
        """Evaluates ``prompt`` after what the context holds and generates text (``bn_generate``).

        Generation ends at an end-of-generation token, ``max_tokens`` tokens
        (library default 128; negative = until the context is full), the first
        ``stop`` string (not included in the result), a full context, or the
        callback returning a true value. None for a sampling argument keeps
        the library default (see :class:`Sampler`); ``temperature=0`` is greedy.

        With ``context_shift`` a full context does not end generation: the
        older half of what follows the first ``n_keep`` tokens is forgotten
        (:meth:`discard`) and generation goes on; ``n_keep`` 0 keeps BOS, -1
        everything the context held when sampling began.

        ``callback(piece, token)`` is called with each piece of text as it is
        produced (complete UTF-8; may be ""). An exception it raises stops
        generation and propagates out of ``generate``.

        Returns the generated text. The context keeps the tokens, so another
        call continues the same sequence. Raises ``CONTEXT_FULL`` if the prompt
        itself does not fit.
        """
        gp, _, keep = _gen_params(max_tokens, temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n,
                                  seed, stop, add_special, parse_special, context_shift, n_keep)
        pb = _cstr('prompt', prompt)
        pieces: List[bytes] = []
        raised: List[BaseException] = []

        def on_token(user: Any, token: int, piece: Any, n: int) -> int:
            try:
                b = ctypes.string_at(piece, n) if n else b''
                pieces.append(b)
                if callback is not None and callback(b.decode('utf-8', 'replace'), token):
                    return 1
                return 0
            except BaseException as e:  # noqa: B902 - re-raised after bn_generate returns
                raised.append(e)
                return 1

        cb = L.bn_token_fn(on_token)
        h = self._h
        self._busy += 1
        try:
            st = _lib.bn_generate(h, pb, byref(gp), cb, None)
        finally:
            self._busy -= 1
            self._tokens = None  # the library tokenized the prompt
        del keep
        if raised:
            raise raised[0]
        _check(st)
        return b''.join(pieces).decode('utf-8', 'replace')

    def stream(self, prompt: str, *, max_tokens: Optional[int] = None, temperature: Optional[float] = None,
               top_k: Optional[int] = None, top_p: Optional[float] = None, min_p: Optional[float] = None,
               repeat_penalty: Optional[float] = None, repeat_last_n: Optional[int] = None,
               seed: Optional[int] = None, stop: StopStrings = None, add_special: bool = True,
               parse_special: bool = True, context_shift: bool = False, n_keep: int = 0) -> Iterator[str]:
        """As :meth:`generate`, but returns an iterator over the pieces of text.

        The prompt is checked and evaluated by this call (errors raise here);
        each ``next()`` then samples and evaluates one token, so the caller
        controls the pace and may stop at any time (the tokens produced so far
        stay in the context). With the same arguments, the pieces joined equal
        what :meth:`generate` returns.
        """
        return _texts(self._stream_text(prompt, False, _gen_params(max_tokens, temperature, top_k, top_p, min_p,
                                                                   repeat_penalty, repeat_last_n, seed, stop,
                                                                   add_special, parse_special, context_shift,
                                                                   n_keep)))

    def _stream_text(self, prompt: str, reuse: bool, params: Any) -> Iterator[Tuple[bytes, int]]:
        """_stream() of prompt after what the context holds; with reuse, of
        prompt from an empty context instead, keeping the longest start of
        its tokens that the context already holds (never the last token,
        whose logits start sampling): the same tokens, the same logits (a
        context's results do not depend on how its tokens were batched) and
        so the same text as after reset(), without evaluating them again."""
        gp, stops, _ = params
        smp = Sampler._from_params(gp)
        try:
            flags = gp.tokenize_flags
            known = self._tokens is not None and len(self._tokens) == self.n_past
            if reuse and not known:
                self.reset()
            if self.n_past > 0 and not reuse:
                flags &= ~L.BN_TOKENIZE_ADD_SPECIAL  # BOS only starts a sequence
            toks = self._model._tokenize(_cstr('prompt', prompt), flags)
            if not toks:
                raise _invalid('the prompt gives no tokens')
            held = 0
            if reuse:
                held_toks = self._tokens or []
                while held < len(toks) - 1 and held < len(held_toks) and held_toks[held] == toks[held]:
                    held += 1
                self.truncate(held)
            free = self.n_ctx - self.n_past
            if len(toks) - held > free:
                raise BitnetError(Status.CONTEXT_FULL, "the prompt's %d tokens do not fit: the context holds %d of %d"
                                  % (len(toks) - held, self.n_past, self.n_ctx))
            logits = self.eval(toks[held:])
            for t in toks:
                smp.accept(t)
            self._token_text(-1)  # drop bytes an abandoned stream left pending
        except BaseException:
            smp.close()
            raise
        keep = self.n_past if gp.n_keep < 0 else gp.n_keep if gp.n_keep > 0 else int(self._model.bos >= 0)
        return self._stream(smp, logits, gp.n_predict, stops, keep if gp.context_shift else None)

    def _stream(self, smp: Sampler, logits: Logits, n_predict: int, stops: List[bytes],
                shift_keep: Optional[int]) -> Iterator[Tuple[bytes, int]]:
        """Each generated token's text (complete UTF-8, b'' while held back)
        and the token, as bn_generate hands them to its callback; then the
        held-back rest, if any, with token -1."""
        model, pending, stopped = self._model, b'', False

        def emit(final: bool) -> bytes:
            nonlocal pending, stopped
            stop_at = _find_stop(pending, stops)
            n = stop_at
            if stop_at == len(pending) and not final:
                n -= _stop_holdback(pending, stops)
            if stop_at < len(pending):
                stopped = True
            out, pending = pending[:n], pending[n:]
            return out

        with smp:
            i = 0
            while n_predict < 0 or i < n_predict:
                tok = smp.sample(logits)
                if model.is_eog(tok):
                    break
                smp.accept(tok)
                pending += self._token_text(tok)
                out = emit(False)
                i += 1
                # The context keeps every token shown (bn_generate's rule), so
                # it is evaluated before its text is handed out; the last one
                # needs no logits.
                full = self.n_past >= self.n_ctx
                if full and shift_keep is not None and shift_keep < self.n_past - 1:
                    # bn_generate's context shift: the older half after the kept start
                    self.discard(shift_keep, (self.n_past - shift_keep) // 2)
                    full = False
                last = stopped or full or (0 <= n_predict <= i)
                if not full:
                    logits = self.eval([tok], logits=not last)
                yield out, tok
                if last:
                    break
            if not stopped:
                pending += self._token_text(-1)
                if pending:
                    out = emit(True)
                    if out:
                        yield out, -1

    # -- chat
    def _chat_prompt(self, messages: Iterable[Message], template: Optional[str], kw: dict) -> str:
        prompt = self._model.format_chat(messages, template, add_assistant=True)
        kw.setdefault('parse_special', True)
        if 'add_special' not in kw:
            # Templates that spell out BOS themselves must not get a second one.
            bos = self._model.bos
            kw['add_special'] = not (bos >= 0 and prompt.startswith(self._model.token_text(bos)))
        return prompt

    def chat(self, messages: Iterable[Message], *, template: Optional[str] = None, reset: bool = True,
             **kwargs: Any) -> str:
        """Formats ``messages`` with the chat template (:meth:`Model.format_chat`)
        and generates the assistant's reply; keyword arguments are those of
        :meth:`generate`.

        With ``reset`` (default) the reply is the one a cleared context would
        give for the whole conversation, so pass the full message list each
        time. The conversation's tokens that the context already holds from
        the previous call (its longest common start: the earlier turns, and
        the last reply where the template writes it back as it was
        generated) are kept rather than evaluated again, so a turn costs
        about its new tokens, not the whole conversation. ``callback`` is
        called as :meth:`generate` calls it.
        """
        prompt = self._chat_prompt(messages, template, kwargs)
        if not reset:
            return self.generate(prompt, **kwargs)
        callback = kwargs.pop('callback', None)
        pieces = self._stream_text(prompt, True, _gen_params(**kwargs))
        text: List[str] = []
        try:
            for b, token in pieces:
                text.append(b.decode('utf-8', 'replace'))
                if callback is not None and callback(text[-1], token):
                    break
        finally:
            pieces.close()
        return ''.join(text)

    def chat_stream(self, messages: Iterable[Message], *, template: Optional[str] = None, reset: bool = True,
                    **kwargs: Any) -> Iterator[str]:
        """As :meth:`chat`, yielding the reply in pieces (see :meth:`stream`)."""
        prompt = self._chat_prompt(messages, template, kwargs)
        return _texts(self._stream_text(prompt, reset, _gen_params(**kwargs)))
