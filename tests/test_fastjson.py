"""orjson and the standard library read and write the same values (benchwatch/fastjson.py)."""

from __future__ import annotations

import json

import pytest

from benchwatch import fastjson
from benchwatch.errors import InputError
from benchwatch.resultfile import parse_json_bytes

DOCUMENT = {
    "name": "tests/test_x.py::test_é[\u202e]",
    "samples": [0.1, 3.2e-06, 1e-320, 123456789.125, 0, 7],
    "nested": {"empty": [], "none": None, "flag": True, "count": 9007199254740993},
}


def strictly_equal(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(strictly_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strictly_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.fixture(params=["orjson", "standard library"])
def backend(request, monkeypatch):
    if request.param == "standard library":
        monkeypatch.setattr(fastjson, "_orjson", lambda: None)
    return request.param


def test_both_backends_parse_the_same_values(backend):
    raw = json.dumps(DOCUMENT, ensure_ascii=False).encode("utf-8")
    assert strictly_equal(fastjson.loads(raw), json.loads(raw.decode("utf-8")))


def test_documents_orjson_refuses_are_read_by_the_standard_library(backend):
    # NaN and lone surrogates are not strict JSON, but json.loads reads them: so do we, either way
    assert str(fastjson.loads(b'{"a": NaN}')["a"]) == "nan"
    assert fastjson.loads(b'["\\ud800"]') == ["\ud800"]


def test_errors_are_the_standard_librarys(backend, tmp_path):
    with pytest.raises(InputError, match="corrupt or truncated JSON at line 1 column 11: Expecting value"):
        parse_json_bytes(b'{"a": [1, }', tmp_path / "x.json")
    with pytest.raises(InputError, match="not UTF-8"):
        parse_json_bytes(b'{"a": "\xff"}', tmp_path / "x.json")


def test_both_backends_write_the_same_values_indented_by_two(backend):
    text = fastjson.dumps_indented(DOCUMENT)
    assert strictly_equal(json.loads(text), DOCUMENT)
    assert text.splitlines()[1].startswith('  "name": ')


def test_compact_dumps_match_the_standard_library_values() -> None:
    import json

    from benchwatch import fastjson

    document = [
        ["name <b> é", {"p50": {"u": "µs", "e": -3, "y": [1, None, 3], "s": 0.01234, "c": [[4, -0.1, 3.2e-06]]}}]
    ]
    raw = fastjson.dumps_compact(document)
    assert b" " not in raw.replace("name <b> é".encode(), b"")
    assert json.loads(raw) == document
