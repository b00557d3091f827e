"""Keeping secrets (the GitHub token) out of messages, logs and reprs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NoReturn

REDACTED = "***"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every occurrence of each non-empty secret replaced by ``***``.

    Longer secrets are replaced first, so a secret that contains another is
    not left half-visible.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


class Secret:
    """A string that does not show itself in ``repr``/``str``/f-strings.

    ``reveal()`` is the only way to get the value, so accidental logging of
    an object that holds a token (``vars(client)``, a traceback's locals,
    a dataclass repr) prints ``Secret('***')``.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> NoReturn:  # never pickled into a file by accident
        raise TypeError("a Secret cannot be pickled")
