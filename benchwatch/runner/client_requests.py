"""Callgrind's client requests (zero, start, stop, dump) with or without a C compiler.

The instruction pass switches Callgrind's counting on and off around the
benchmarked call through client requests: a fixed instruction sequence that
does nothing on a real CPU and that Valgrind recognises while it translates
the code.  Two ways to issue them:

* ``valgrind module``: the small ``valgrind`` module on PyPI (benchwatch's
  ``instructions`` extra), a C extension built from source, so it needs a C
  compiler; used whenever it is importable, so counts recorded with it keep
  their meaning;
* ``machine code``: on x86-64 Linux, the sequence from ``valgrind.h``
  (``rolq $3,$13,$61,$51 %rdi; xchgq %rbx,%rbx``, request block in ``%rax``,
  result in ``%rdx``) written into an executable page and called through
  ctypes: nothing to build, so the default install counts instructions.

The two cost a few hundred instructions more or less around the counted
call (a ctypes call against a C function call), a constant offset; the
count fingerprint names the way used so that counts of the two are never
compared.
"""

from __future__ import annotations

import ctypes
import mmap
import platform
import sys
from typing import Any

MODULE = "valgrind module"
MACHINE_CODE = "machine code"

#: ``VG_USERREQ_TOOL_BASE('C','T')``: Callgrind's requests, in callgrind.h's order.
_CALLGRIND_BASE = (ord("C") << 24) | (ord("T") << 16)
_ZERO_STATS = _CALLGRIND_BASE + 1
_DUMP_STATS_AT = _CALLGRIND_BASE + 3
_START_INSTRUMENTATION = _CALLGRIND_BASE + 4
_STOP_INSTRUMENTATION = _CALLGRIND_BASE + 5
#: ``VG_USERREQ__RUNNING_ON_VALGRIND``: 0 on a real CPU, the nesting depth under Valgrind.
_RUNNING_ON_VALGRIND = 0x1001
#: size_t request(size_t *block): the amd64 client request of valgrind.h, as a function.
_AMD64_REQUEST = bytes.fromhex(
    "4889f8"  # mov %rdi,%rax      the request block
    "31d2"  # xor %edx,%edx        the default result, 0
    "48c1c703"  # rol $3,%rdi      the preamble Valgrind looks for
    "48c1c70d"  # rol $13,%rdi
    "48c1c73d"  # rol $61,%rdi
    "48c1c733"  # rol $51,%rdi     (128 bits in all: %rdi is unchanged)
    "4887db"  # xchg %rbx,%rbx     %rdx = request(%rax)
    "4889d0"  # mov %rdx,%rax
    "c3"  # ret
)


class CounterUnavailable(RuntimeError):
    """No way to issue Callgrind client requests in this interpreter."""


def install_command(python: str = sys.executable) -> str:
    """The command that installs the ``valgrind`` module into ``python``'s environment."""
    return f"{python} -m pip install 'benchwatch[instructions]'"


def machine_code_supported() -> bool:
    """Whether this platform takes the machine-code client requests (x86-64 Linux)."""
    return sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64")


class MachineCodeRequests:
    """Callgrind's four requests through the x86-64 sequence, on the ``valgrind`` module's interface."""

    backend = MACHINE_CODE

    def __init__(self) -> None:
        try:
            page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        except (OSError, ValueError) as error:  # a hardened kernel may refuse writable code pages
            raise CounterUnavailable(f"cannot map an executable page for the client requests: {error}") from None
        page.write(_AMD64_REQUEST)
        self._page = page  # kept alive: the function lives in it
        address = ctypes.addressof(ctypes.c_char.from_buffer(page))
        self._request = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p)(address)
        # The blocks are made once: a request inside the counted region allocates nothing.
        self._blocks = {code: (ctypes.c_size_t * 6)(code, 0, 0, 0, 0, 0) for code in _FIXED_REQUESTS}
        self._addresses = {code: ctypes.addressof(block) for code, block in self._blocks.items()}

    def running_on_valgrind(self) -> int:
        return int(self._request(self._addresses[_RUNNING_ON_VALGRIND]))

    def callgrind_zero_stats(self) -> None:
        self._request(self._addresses[_ZERO_STATS])

    def callgrind_start_instrumentation(self) -> None:
        self._request(self._addresses[_START_INSTRUMENTATION])

    def callgrind_stop_instrumentation(self) -> None:
        self._request(self._addresses[_STOP_INSTRUMENTATION])

    def callgrind_dump_stats(self, reason: str) -> None:
        text = ctypes.create_string_buffer(reason.encode("utf-8", "replace"))
        block = (ctypes.c_size_t * 6)(_DUMP_STATS_AT, ctypes.addressof(text), 0, 0, 0, 0)
        self._request(ctypes.addressof(block))


_FIXED_REQUESTS = (_RUNNING_ON_VALGRIND, _ZERO_STATS, _START_INSTRUMENTATION, _STOP_INSTRUMENTATION)


def load_requests() -> tuple[str, Any]:
    """(the way used, an object with ``callgrind_zero_stats`` and the other three requests).

    Raises :class:`CounterUnavailable`, with the command that fixes it, when
    neither way works here.
    """
    try:
        import valgrind
    except ImportError as error:
        missing = str(error)
    else:
        return MODULE, valgrind
    if machine_code_supported():
        return MACHINE_CODE, MachineCodeRequests()
    raise CounterUnavailable(
        f"the 'valgrind' Python module (Callgrind client requests) is not installed in {sys.executable} "
        f"({missing}) and {platform.machine()} has no built-in alternative; "
        f"install it (needs a C compiler) with: {install_command()}"
    )


def main() -> int:
    """Print the way this interpreter would use, or why there is none (the instruction pass asks first)."""
    try:
        backend, _ = load_requests()
    except CounterUnavailable as error:
        print(f"unavailable: {error}")
        return 1
    print(backend)
    return 0
