"""A fast validator compiled from the shipped JSON Schema (``schemas/result.schema.json``).

``jsonschema`` spent half of ``compare``'s time on a 100,000-benchmark file.
This module reads the same schema file and compiles it, once, into nested
Python closures for the subset of JSON Schema the file uses (``type``,
``const``, ``enum``, ``required``, ``properties``, ``additionalProperties``,
``items``, ``minimum``, ``exclusiveMinimum``, ``minLength``, ``maxItems``
and local ``$ref``).  A keyword outside the subset is an error at compile
time, so the schema cannot silently grow a rule this validator ignores.

Arrays of plain numbers (the raw samples: millions of them) are collected
during the walk and checked together: one pass over all element types, then
numpy for the bounds; the element-wise check runs only when that fails, to
name the first violation.  tests/test_resultfile.py checks that this validator and
``jsonschema`` agree on the fixtures and on broken variants of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

import numpy as np

Path = tuple[str | int, ...]
Check = Callable[[Any, Path], "SchemaViolation | None"]

_SUPPORTED = {
    "$schema",
    "$id",
    "$defs",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "minimum",
    "exclusiveMinimum",
    "minLength",
    "maxItems",
    "$ref",
}


class SchemaViolation:
    """Where (path of keys and indices) and what, in jsonschema's wording."""

    __slots__ = ("message", "path")

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        self.message = message

    def where(self) -> str:
        return "/".join(str(part) for part in self.path) or "top level"


def _is_type(value: Any, name: str) -> bool:
    kind = type(value)
    if name == "number":
        return kind is float or kind is int
    if name == "integer":
        return kind is int or (kind is float and math.isfinite(value) and value.is_integer())
    if name == "string":
        return kind is str
    if name == "object":
        return kind is dict
    if name == "array":
        return kind is list
    if name == "boolean":
        return kind is bool
    if name == "null":
        return value is None
    raise ValueError(f"unsupported type {name!r} in the result schema")


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "number": (int, float),
    "integer": (int,),
    "string": (str,),
    "object": (dict,),
    "array": (list,),
    "boolean": (bool,),
    "null": (type(None),),
}


def _type_check(names: Sequence[str]) -> Check:
    shown = repr(names[0]) if len(names) == 1 else repr(list(names))
    for name in names:
        _is_type(None, name)  # rejects an unsupported type name now, at compile time
    # Exact Python types (bool is not a number): one set lookup per value on the hot path.
    exact = frozenset(kind for name in names for kind in _PYTHON_TYPES[name])
    integral_floats = "integer" in names and "number" not in names

    def check(value: Any, path: Path) -> SchemaViolation | None:
        if type(value) in exact or (integral_floats and _is_type(value, "integer")):
            return None
        return SchemaViolation(path, f"{value!r:.60} is not of type {shown}")

    return check


def _type_names(schema: dict[str, Any]) -> list[str]:
    return schema["type"] if isinstance(schema["type"], list) else [schema["type"]]


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.compiled: dict[str, Check] = {}
        #: While set, plain-number arrays are collected here (with their item schema) instead of checked.
        self.deferred: list[tuple[list[Any], dict[str, Any]]] | None = None

    def ref(self, reference: str) -> Check:
        if not reference.startswith("#/$defs/"):
            raise ValueError(f"only local $defs references are supported, got {reference!r}")
        name = reference.removeprefix("#/$defs/")
        if name not in self.compiled:
            # Placeholder first so a recursive definition refers to itself lazily.
            def forward(value: Any, path: Path) -> SchemaViolation | None:
                return self.compiled[name](value, path)

            self.compiled[name] = forward
            self.compiled[name] = self.compile(self.root["$defs"][name])
        return self.compiled[name]

    def compile(self, schema: dict[str, Any]) -> Check:
        unknown = set(schema) - _SUPPORTED
        if unknown:
            raise ValueError(f"result schema uses keywords this validator does not implement: {sorted(unknown)}")
        if "$ref" in schema:
            return self.ref(schema["$ref"])
        checks: list[Check] = []
        if "type" in schema:
            checks.append(_type_check(_type_names(schema)))
        if "const" in schema:
            checks.append(_const(schema["const"]))
        if "enum" in schema:
            checks.append(_enum(schema["enum"]))
        checks.extend(_bounds(schema))
        if any(key in schema for key in ("required", "properties", "additionalProperties")):
            checks.append(self._object(schema))
        if "items" in schema or "maxItems" in schema:
            checks.append(self._array(schema))
        return _all_of(checks)

    def _object(self, schema: dict[str, Any]) -> Check:
        required = tuple(schema.get("required", ()))
        properties = {key: self.compile(value) for key, value in schema.get("properties", {}).items()}
        extra_schema = schema.get("additionalProperties", True)
        extra: Check | None = None
        forbid_extra = extra_schema is False
        if isinstance(extra_schema, dict):
            extra = self.compile(extra_schema)

        # Properties whose schema is a type and nothing else: an exact type match passes without a call.
        plain = {
            key: frozenset(kind for name in _type_names(value) for kind in _PYTHON_TYPES[name])
            for key, value in schema.get("properties", {}).items()
            if set(value) <= {"type", "description", "title"} and "type" in value
        }

        def check(value: Any, path: Path) -> SchemaViolation | None:
            if type(value) is not dict:
                return None
            for key in required:
                if key not in value:
                    return SchemaViolation(path, f"{key!r} is a required property")
            for key, item in value.items():
                kinds = plain.get(key)
                if kinds is not None and type(item) in kinds:
                    continue
                sub = properties.get(key)
                if sub is None:
                    if forbid_extra:
                        return SchemaViolation(path, f"Additional properties are not allowed ({key!r} was unexpected)")
                    sub = extra
                if sub is not None:
                    violation = sub(item, (*path, key))
                    if violation is not None:
                        return violation
            return None

        return check

    def _array(self, schema: dict[str, Any]) -> Check:
        max_items = schema.get("maxItems")
        items = schema.get("items")
        fast = items is not None and set(items) <= {"type", "minimum", "exclusiveMinimum"} and items["type"] == "number"
        item_check = self.compile(items) if items is not None else None

        def check(value: Any, path: Path) -> SchemaViolation | None:
            if type(value) is not list:
                return None
            if max_items is not None and len(value) > max_items:
                return SchemaViolation(path, f"{value!r:.60} is too long")
            if fast and items is not None:
                if self.deferred is not None:
                    self.deferred.append((value, items))
                    return None
                return _number_array(value, path, items)
            if item_check is not None:
                for index, item in enumerate(value):
                    violation = item_check(item, (*path, index))
                    if violation is not None:
                        return violation
            return None

        return check


def _number_array(values: list[Any], path: Path, items: dict[str, Any]) -> SchemaViolation | None:
    # One C-speed pass over the element types, then numpy for the bounds.
    if not set(map(type, values)) <= {float, int}:
        for index, value in enumerate(values):
            if type(value) is not float and type(value) is not int:
                return SchemaViolation((*path, index), f"{value!r:.60} is not of type 'number'")
    if not values or ("minimum" not in items and "exclusiveMinimum" not in items):
        return None
    array = np.asarray(values, dtype=np.float64)
    if "minimum" in items:
        bad = array < items["minimum"]
        if bad.any():
            index = int(np.argmax(bad))
            return SchemaViolation((*path, index), f"{values[index]!r} is less than the minimum of {items['minimum']}")
    if "exclusiveMinimum" in items:
        bad = array <= items["exclusiveMinimum"]
        if bad.any():
            index = int(np.argmax(bad))
            limit = items["exclusiveMinimum"]
            return SchemaViolation((*path, index), f"{values[index]!r} is less than or equal to the minimum of {limit}")
    return None


def _json_equal(value: Any, expected: Any) -> bool:
    # JSON Schema: 3 equals 3.0, but true is not 1.
    if type(value) is bool or type(expected) is bool:
        return type(value) is type(expected) and value == expected
    return bool(value == expected)


def _const(expected: Any) -> Check:
    def check(value: Any, path: Path) -> SchemaViolation | None:
        if _json_equal(value, expected):
            return None
        return SchemaViolation(path, f"{expected!r} was expected")

    return check


def _enum(options: list[Any]) -> Check:
    strings = frozenset(option for option in options if type(option) is str)

    def check(value: Any, path: Path) -> SchemaViolation | None:
        if type(value) is str and value in strings:
            return None
        if any(_json_equal(value, option) for option in options):
            return None
        return SchemaViolation(path, f"{value!r:.60} is not one of {options!r}")

    return check


def _bounds(schema: dict[str, Any]) -> list[Check]:
    checks: list[Check] = []
    if "minimum" in schema:
        low = schema["minimum"]
        checks.append(_numeric(lambda v: v >= low, f"is less than the minimum of {low}"))
    if "exclusiveMinimum" in schema:
        low_exclusive = schema["exclusiveMinimum"]
        checks.append(_numeric(lambda v: v > low_exclusive, f"is less than or equal to the minimum of {low_exclusive}"))
    if "minLength" in schema:
        length = schema["minLength"]

        def min_length(value: Any, path: Path) -> SchemaViolation | None:
            if type(value) is str and len(value) < length:
                return SchemaViolation(
                    path, f"{value!r} should be non-empty" if length == 1 else f"{value!r} is too short"
                )
            return None

        checks.append(min_length)
    return checks


def _numeric(ok: Callable[[float], bool], problem: str) -> Check:
    def check(value: Any, path: Path) -> SchemaViolation | None:
        if (type(value) is int or type(value) is float) and not ok(value):
            return SchemaViolation(path, f"{value!r} {problem}")
        return None

    return check


def _all_of(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def check(value: Any, path: Path) -> SchemaViolation | None:
        for one in checks:
            violation = one(value, path)
            if violation is not None:
                return violation
        return None

    return check


def _numbers_pass(deferred: list[tuple[list[Any], dict[str, Any]]]) -> bool:
    """Whether every collected number array passes its item schema: one pass per schema over all of them."""
    groups: dict[int, tuple[dict[str, Any], list[list[Any]]]] = {}
    for values, items in deferred:
        groups.setdefault(id(items), (items, []))[1].append(values)
    for items, arrays in groups.values():
        if not set(map(type, chain.from_iterable(arrays))) <= {float, int}:
            return False
        if "minimum" not in items and "exclusiveMinimum" not in items:
            continue
        try:
            numbers = np.fromiter(chain.from_iterable(arrays), dtype=np.float64, count=sum(map(len, arrays)))
        except OverflowError:
            return False  # an integer beyond float range: the element-wise path reports it as before
        if "minimum" in items and (numbers < items["minimum"]).any():
            return False
        if "exclusiveMinimum" in items and (numbers <= items["exclusiveMinimum"]).any():
            return False
    return True


def compile_schema(schema: dict[str, Any]) -> Callable[[Any], SchemaViolation | None]:
    """A function returning the first violation of ``schema`` in a document, or None.

    Number arrays (millions of samples) are checked together after the walk.
    Only when one of them fails is the document walked again element by
    element, so the violation reported is still the first in document order.
    """
    compiler = _Compiler(schema)
    check = compiler.compile(schema)

    def validate(document: Any) -> SchemaViolation | None:
        deferred: list[tuple[list[Any], dict[str, Any]]] = []
        compiler.deferred = deferred
        try:
            violation = check(document, ())
        finally:
            compiler.deferred = None
        if not _numbers_pass(deferred):
            violation = check(document, ())
        return violation

    return validate
