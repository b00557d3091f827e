"""The compiled validator (benchwatch.schema_check) and jsonschema agree on the shipped schema.

benchwatch validates result files with a validator compiled from
``schemas/result.schema.json`` (jsonschema took half of ``compare``'s time on
large files).  Here both judge the fixtures and broken variants of them: the
same verdict, and our first violation is one jsonschema reports too.
"""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from benchwatch import resultfile
from benchwatch.schema_check import compile_schema

FIXTURES = Path(__file__).parent / "fixtures" / "results"


def documents() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(FIXTURES.glob("*.json")):
        found[path.name] = resultfile.migrate(json.loads(path.read_text()), path)
    return found


def mutate(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document = copy.deepcopy(documents()["v2_result.json"])
    change(document)
    return document


def run0(document: dict[str, Any]) -> dict[str, Any]:
    return document["benchmarks"][0]["runs"][0]


def setter(where: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda document: where(document).__setitem__(key, value)


def deleter(where: Callable[[dict[str, Any]], dict[str, Any]], key: str) -> Callable[[dict[str, Any]], None]:
    return lambda document: where(document).pop(key)


def top(document: dict[str, Any]) -> dict[str, Any]:
    return document


def bench0(document: dict[str, Any]) -> dict[str, Any]:
    return document["benchmarks"][0]


def environment(document: dict[str, Any]) -> dict[str, Any]:
    return document["environment"]


VARIANTS = {
    "sample is a boolean": setter(run0, "samples", [True, 0.1]),
    "sample is a string": setter(run0, "samples", [0.1, "0.2"]),
    "sample is a list": setter(run0, "samples", [[0.1]]),
    "sample is null": setter(run0, "samples", [0.1, None]),
    "sample is negative": setter(run0, "samples", [0.1, -0.5]),
    "sample is zero": setter(run0, "samples", [0.0, 0.1]),
    "samples missing": deleter(run0, "samples"),
    "samples empty": setter(run0, "samples", []),
    "samples not a list": setter(run0, "samples", {"a": 1}),
    "status unknown": setter(run0, "status", "exploded"),
    "iterations zero": setter(run0, "iterations", 0),
    "iterations fractional": setter(run0, "iterations", 1.5),
    "iterations integral float": setter(run0, "iterations", 2.0),
    "iterations boolean": setter(run0, "iterations", True),
    "memory extra key": setter(run0, "memory", {"peak_bytes": 1, "allocations": 1, "other": 1}),
    "memory missing key": setter(run0, "memory", {"peak_bytes": 1}),
    "memory negative": setter(run0, "memory", {"peak_bytes": -1, "allocations": 1}),
    "memory null": setter(run0, "memory", None),
    "canary zero": setter(run0, "canary_seconds", [0.0, 1.0]),
    "canary three": setter(run0, "canary_seconds", [1.0, 1.0, 1.0]),
    "canary version string": setter(run0, "canary_version", "1"),
    "summary string": setter(run0, "summary", {"median": "fast"}),
    "wall seconds string": setter(run0, "wall_seconds", "1"),
    "run not an object": lambda document: document["benchmarks"][0]["runs"].__setitem__(0, [1]),
    "name empty": setter(bench0, "name", ""),
    "name missing": deleter(bench0, "name"),
    "name number": setter(bench0, "name", 7),
    "has_raw_samples string": setter(bench0, "has_raw_samples", "yes"),
    "params list": setter(bench0, "params", [1]),
    "unknown benchmark key": setter(bench0, "whatever", {"any": "thing"}),
    "schema_version 2": setter(top, "schema_version", 2),
    "schema_version 3.0": setter(top, "schema_version", 3.0),
    "schema_version true": setter(top, "schema_version", True),
    "benchmarks missing": deleter(top, "benchmarks"),
    "benchmarks object": setter(top, "benchmarks", {}),
    "source number": setter(top, "source", 1),
    "settings list": setter(top, "settings", []),
    "environment null": setter(top, "environment", None),
    "environment list": setter(top, "environment", []),
    "cpu_count float": setter(environment, "cpu_count", 2.5),
    "packages value number": setter(environment, "packages", {"numpy": 2}),
    "load_average string": setter(environment, "load_average", ["1"]),
    "git_dirty string": setter(environment, "git_dirty", "no"),
    "extra list": setter(environment, "extra", []),
}


@pytest.fixture(scope="module")
def validators() -> tuple[Callable[[Any], Any], jsonschema.protocols.Validator]:
    schema = resultfile.result_schema()
    return compile_schema(schema), jsonschema.Draft202012Validator(schema)


def agree(document: dict[str, Any], validators) -> bool:
    ours, theirs = validators
    violation = ours(document)
    errors = list(theirs.iter_errors(document))
    assert (violation is None) == (not errors)
    if violation is not None:
        assert list(violation.path) in [list(error.absolute_path) for error in errors]
    return violation is None


@pytest.mark.parametrize("name", sorted(documents()))
def test_fixtures_are_valid_for_both(name, validators):
    assert agree(documents()[name], validators)


def test_a_saved_file_is_valid_for_both(tmp_path, validators):
    from test_resultfile import awkward_result

    saved = resultfile.save_result(awkward_result(), tmp_path / "r.json.gz")
    assert agree(json.loads(gzip.decompress(saved.read_bytes())), validators)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_broken_variants_get_the_same_verdict(variant, validators):
    agree(mutate(VARIANTS[variant]), validators)


def test_the_variants_cover_both_verdicts(validators):
    verdicts = {agree(mutate(change), validators) for change in VARIANTS.values()}
    assert verdicts == {True, False}


def test_an_unknown_schema_keyword_is_refused_at_compile_time():
    with pytest.raises(ValueError, match="does not implement: \\['pattern'\\]"):
        compile_schema({"type": "string", "pattern": "^a"})
