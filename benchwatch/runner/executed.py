"""Which distributions' code a benchmark's call executed (inside the worker of the instruction pass).

A count changes when the code it ran changes, and a dependency release
changes code the call may or may not run: a new ``idna`` cannot move a
DuckDB query that never executes a line of it.  So each benchmark records
the installed distributions whose code its call executed, with their
versions, and a comparison looks only at those (``benchwatch.compare.
instructions``).

Two sources, both outside the counted calls:

* Python code: the files of the code objects an extra, uncounted call
  entered (``sys.monitoring`` on 3.12+, ``sys.setprofile`` on 3.11; the
  calling thread only), and the modules of the C functions it called;
* native code: the objects (``ob=``) with costs in the counted calls'
  Callgrind dumps, which see every thread and the shared libraries that
  extension modules load.

Files map to distributions through the modules that loaded them
(``sys.modules``) or, for vendored libraries (``numpy.libs/...``), through
their top-level directory under a ``sys.path`` entry, then
``importlib.metadata.packages_distributions``.  The standard library and the
project's own (uninstalled) code map to none: the Python version covers the
first, and the second is the code under test.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

#: The Callgrind dump lines that name an object: ``ob=(3) /usr/lib/libc.so.6`` defines
#: id 3 (later lines say ``ob=(3)`` only); ``cob=`` names a callee's object the same way.
_OBJECT_LINE = re.compile(r"^(c?ob)=\((\d+)\)(?: (.*))?$")
#: Extension-module suffixes (``duckdb.cpython-311-x86_64-linux-gnu.so`` -> ``duckdb``).
_EXTENSION_SUFFIX = re.compile(r"(\.cpython-[^.]*|\.abi3|\.cp\d+[^.]*)?\.(so|pyd|dylib)(\.[\d.]+)?$")


def dump_objects(lines: Iterable[str]) -> set[str]:
    """The objects (files) that executed instructions in one Callgrind dump (its ``ob=`` lines)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for line in lines:
        if not line.startswith(("ob=", "cob=")):
            continue
        match = _OBJECT_LINE.match(line.rstrip("\n"))
        if match is None:
            continue
        kind, ident, name = match.groups()
        if name:
            names[ident] = name
        if kind == "ob":
            used.add(ident)
    return {names[ident] for ident in used if ident in names}


class CallTrace:
    """Records the code a call entered: code-object files and the modules of called C functions."""

    def __init__(self) -> None:
        self.files: set[str] = set()
        self.modules: set[str] = set()

    def run(self, call: Callable[[], Any]) -> Any:
        """``call()`` traced in this thread (sys.monitoring on 3.12+, else sys.setprofile)."""
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is not None:
            return self._run_monitored(call, monitoring)
        codes: set[Any] = set()
        modules = self.modules

        def profile(frame: Any, event: str, arg: Any) -> None:
            if event == "call":
                codes.add(frame.f_code)
            elif event == "c_call":
                _add_module(modules, arg)

        previous = sys.getprofile()
        sys.setprofile(profile)
        try:
            return call()
        finally:
            sys.setprofile(previous)
            self.files.update(code.co_filename for code in codes)

    def _run_monitored(self, call: Callable[[], Any], monitoring: Any) -> Any:  # pragma: no cover - 3.12+
        tool = monitoring.PROFILER_ID
        if monitoring.get_tool(tool) is not None:
            return call()  # another profiler holds the slot: Callgrind's objects still answer
        files, modules = self.files, self.modules
        events = monitoring.events

        def started(code: Any, _offset: int) -> Any:
            files.add(code.co_filename)
            return monitoring.DISABLE

        def called(_code: Any, _offset: int, target: Any, _arg0: Any) -> Any:
            _add_module(modules, target)
            return monitoring.DISABLE

        monitoring.restart_events()  # locations an earlier trace DISABLEd report again
        monitoring.use_tool_id(tool, "benchwatch")
        monitoring.register_callback(tool, events.PY_START, started)
        monitoring.register_callback(tool, events.CALL, called)
        monitoring.set_events(tool, events.PY_START | events.CALL)
        try:
            return call()
        finally:
            monitoring.set_events(tool, 0)
            monitoring.register_callback(tool, events.PY_START, None)
            monitoring.register_callback(tool, events.CALL, None)
            monitoring.free_tool_id(tool)


def _add_module(modules: set[str], function: Any) -> None:
    """The module of a C function (or of its bound object's type: ``duckdb.DuckDBPyConnection.execute``)."""
    owner = getattr(function, "__self__", None)
    module = getattr(function, "__module__", None) or getattr(type(owner), "__module__", None)
    if isinstance(module, str):
        modules.add(module)


def _module_files() -> dict[str, str]:
    """Loaded modules' files -> their top-level import name."""
    files: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str):
            files.setdefault(path, name.partition(".")[0])
    return files


def _under_path(path: str, roots: list[str]) -> tuple[str, str | None]:
    """(the ``sys.path`` entry holding ``path``, ``path`` relative to it), or ("", None)."""
    for root in roots:
        if path.startswith(root + "/"):
            return root, path[len(root) + 1 :]
    return "", None


def _top_level(relative: str) -> str:
    """The import name of a path's first part (``numpy.libs/x.so`` -> ``numpy``, ``_duckdb.cpython-311-...so``)."""
    first = relative.split("/", 1)[0]
    return _EXTENSION_SUFFIX.sub("", first).removesuffix(".py").removesuffix(".libs")


def executed_distributions(*, files: Iterable[str], modules: Iterable[str], ignore: frozenset[str]) -> dict[str, str]:
    """Distribution -> version for the code in ``files`` and ``modules``, less the ``ignore``d tooling."""
    by_file = _module_files()
    roots = sorted({str(Path(p)) for p in sys.path if p and Path(p).is_dir()}, key=len, reverse=True)
    top_levels = {name.partition(".")[0] for name in modules}
    owners: set[str] = set()
    for path in files:
        root, relative = _under_path(path, roots)
        top = by_file.get(path) or (_top_level(relative) if relative else None)
        if not top:
            continue
        top_levels.add(top)
        if top not in _providers() and relative is not None:
            # An extension module alone at the top level (``_duckdb.cpython-311-...so``) or a
            # vendored library: packages_distributions() infers names from .py files only.
            owner = _files_owner(root).get(relative)
            if owner is not None:
                owners.add(owner)
    versions = distribution_versions(top_levels, ignore=ignore)
    for owner in owners:
        with contextlib.suppress(importlib_metadata.PackageNotFoundError):
            found = importlib_metadata.distribution(owner)
            name = found.metadata["Name"]
            if _canonical(name) not in ignore and name not in versions:
                versions[name] = found.version
    return dict(sorted(versions.items()))


def _canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them (``Pytest_Benchmark`` -> ``pytest-benchmark``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution_versions(top_levels: Iterable[str], *, ignore: frozenset[str]) -> dict[str, str]:
    """Installed distributions providing these top-level names (or so named), with versions."""
    providers = _providers()
    versions: dict[str, str] = {}
    for top in top_levels:
        for distribution in providers.get(top, ()):
            if _canonical(distribution) in ignore or distribution in versions:
                continue
            try:
                versions[distribution] = importlib_metadata.version(distribution)
            except importlib_metadata.PackageNotFoundError:
                continue
    return dict(sorted(versions.items()))


@functools.cache
def _providers() -> Mapping[str, list[str]]:
    # Scans every installed distribution's file list (0.1 s natively, several times that under
    # Valgrind): once per worker, which installs nothing while it runs.
    return importlib_metadata.packages_distributions()


@functools.cache
def _files_owner(root: str) -> Mapping[str, str]:
    """Every file the distributions installed under ``root`` lists (relative to it) -> that distribution.

    Read from their ``RECORD`` files directly: parsing every distribution's
    metadata through importlib.metadata took 0.4 s here, several seconds
    under Valgrind, in each worker.
    """
    owners: dict[str, str] = {}
    for record in Path(root).glob("*.dist-info/RECORD"):
        name = record.parent.name.removesuffix(".dist-info").rpartition("-")[0]
        with contextlib.suppress(OSError, UnicodeDecodeError):
            for line in record.read_text(encoding="utf-8").splitlines():
                owners.setdefault(line.partition(",")[0], name)
    return owners
