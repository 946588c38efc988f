"""Status codes and the exception that carries them."""
from __future__ import annotations

import enum
from typing import Union


class Status(enum.IntEnum):
    """``bn_status`` values (include/bitnet/bitnet.h). Unknown negative values are errors too."""
    OK = 0
    INVALID_ARG = -1
    NOMEM = -2
    IO = -3
    FORMAT = -4
    UNSUPPORTED = -5
    CONTEXT_FULL = -6
    BUFFER_TOO_SMALL = -7
    INVALID_UTF8 = -8
    INVALID_TOKEN = -9
    NOT_FOUND = -10
    TYPE = -11
    THREAD = -12
    INTERNAL = -13


class BitnetError(Exception):
    """A libbitnet call failed.

    ``status`` is the :class:`Status` (or the plain int for a code newer than
    this binding); ``message`` is the library's ``bn_last_error()`` text, which
    names the problem (the file, the token, the field...).
    """

    def __init__(self, status: Union[Status, int], message: str):
        try:
            status = Status(status)
        except ValueError:
            pass
        self.status = status
        self.message = message
        name = status.name if isinstance(status, Status) else str(int(status))
        super().__init__('%s (%s)' % (message, name) if message else name)
