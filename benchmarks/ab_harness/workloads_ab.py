"""Workloads for the A/A and A/B harness (not part of the main suites).

Each benchmark call repeats a fixed unit of real work; ``BENCHWATCH_AB_FACTOR``
(default 1.0) scales how many times, so a factor of 1.2 means 20% more of the
same work on the CPU, never a sleep.  The file name does not
start with ``test_`` so the main job's collection of ``benchmarks/`` skips it;
the harness passes it to pytest explicitly.
"""

import decimal
import hashlib
import json
import os
import random
import re
from collections import Counter

import duckdb
import pytest

FACTOR = float(os.environ.get("BENCHWATCH_AB_FACTOR", "1.0"))


#: Units of work per benchmark call.  A slowdown repeats the *same* unit more
#: often (20 -> 21, 24, 30 for +5%, +20%, +50%), so the extra time is exactly
#: the stated share whatever the unit's cost curve: growing an input instead
#: made sorting 4,000 floats 58% slower at "+20%" (cache effects) and a DuckDB
#: query only 14% slower (fixed per-query costs).
UNITS = int(os.environ.get("BENCHWATCH_AB_UNITS", "20"))  # 100 gives +1%/+2% steps (instruction targets)
REPS = max(1, round(UNITS * FACTOR))


def repeated(unit):
    def call():
        for _ in range(REPS):
            unit()

    return call


def checksum(n):
    total = 0
    for value in range(n):
        total = (total * 31 + value) % 1_000_003
    return total


RANDOM = random.Random(42)
WORDS = ["".join(RANDOM.choice("abcdefghij") for _ in range(RANDOM.randint(3, 9))) for _ in range(5000)]
RECORDS = [
    {"id": i, "name": WORDS[i % len(WORDS)], "tags": WORDS[i % 7 : i % 7 + 3], "score": i * 0.5} for i in range(4000)
]
NUMBERS = [RANDOM.random() for _ in range(20000)]
PAYLOAD = bytes(RANDOM.getrandbits(8) for _ in range(1 << 16))
PATTERN = re.compile(r"\b([a-e]+)([f-j]*)\b")


@pytest.fixture(scope="module")
def duck():
    # async_threads=0 as in playback.queries.connect: exact instruction counts
    con = duckdb.connect(config={"threads": 1, "async_threads": 0})
    con.execute("CREATE TABLE t AS SELECT i, i % 97 AS k, (i * 7919) % 1000 AS v FROM range(4000) r(i)")
    yield con
    con.close()


@pytest.mark.parametrize("size", [300, 600])
def test_python_loop(benchmark, size):
    benchmark(repeated(lambda: checksum(size)))


@pytest.mark.parametrize("count", [15, 45])
def test_json_roundtrip(benchmark, count):
    records = RECORDS[:count]
    benchmark(repeated(lambda: json.loads(json.dumps(records))))


@pytest.mark.parametrize("count", [200, 600])
def test_sort_floats(benchmark, count):
    data = NUMBERS[:count]
    benchmark(repeated(lambda: sorted(data)))


@pytest.mark.parametrize("words", [75, 200])
def test_regex_scan(benchmark, words):
    text = " ".join(WORDS[:words])
    benchmark(repeated(lambda: len(PATTERN.findall(text))))


@pytest.mark.parametrize("words", [150, 250])
def test_counter(benchmark, words):
    data = WORDS[:words]
    benchmark(repeated(lambda: len(Counter(data))))


@pytest.mark.parametrize("kib", [16, 64])
def test_sha256(benchmark, kib):
    blob = PAYLOAD[: kib * 1024]
    benchmark(repeated(lambda: (hashlib.sha256(blob).digest(), hashlib.sha256(blob).digest())))


def test_decimal_sum(benchmark):
    values = [decimal.Decimal(str(x)) for x in NUMBERS[:300]]
    benchmark(repeated(lambda: sum(values)))


def test_string_format(benchmark):
    rows = RECORDS[:40]
    benchmark(repeated(lambda: "\n".join(f"{r['id']:>6} {r['name']:<10} {r['score']:8.2f}" for r in rows)))


def test_duckdb_group_by(benchmark, duck):
    benchmark(repeated(lambda: duck.execute("SELECT k, sum(v), avg(v) FROM t GROUP BY k").fetchall()))


def test_duckdb_filtered_sum(benchmark, duck):
    benchmark(repeated(lambda: duck.execute("SELECT sum(v) FROM t WHERE k = 3").fetchall()))
