"""Workloads for the A/A and A/B harness (not part of the main suites).

Each benchmark does real work scaled by ``BENCHWATCH_AB_FACTOR`` (default
1.0): a factor of 1.2 means 20% more iterations, rows or bytes, so a
"slowdown" is extra work on the CPU, never a sleep.  The file name does not
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


def scaled(n: int) -> int:
    return max(1, round(n * FACTOR))


def checksum(n):
    total = 0
    for value in range(n):
        total = (total * 31 + value) % 1_000_003
    return total


RANDOM = random.Random(42)
WORDS = ["".join(RANDOM.choice("abcdefghij") for _ in range(RANDOM.randint(3, 9))) for _ in range(5000)]
TEXT = " ".join(WORDS)
RECORDS = [{"id": i, "name": WORDS[i % len(WORDS)], "tags": WORDS[i % 7: i % 7 + 3], "score": i * 0.5}
           for i in range(4000)]
NUMBERS = [RANDOM.random() for _ in range(20000)]
PAYLOAD = bytes(RANDOM.getrandbits(8) for _ in range(1 << 16))
PATTERN = re.compile(r"\b([a-e]+)([f-j]*)\b")


@pytest.fixture(scope="module")
def duck():
    con = duckdb.connect(config={"threads": 1})
    rows = scaled(200_000)
    con.execute(
        f"CREATE TABLE t AS SELECT i, i % 97 AS k, (i * 7919) % 1000 AS v FROM range({rows}) r(i)"
    )
    yield con
    con.close()


@pytest.mark.parametrize("size", [6_000, 12_000])
def test_python_loop(benchmark, size):
    benchmark(checksum, scaled(size))


@pytest.mark.parametrize("count", [300, 900])
def test_json_roundtrip(benchmark, count):
    records = RECORDS[: scaled(count)] if scaled(count) <= len(RECORDS) else RECORDS * 2
    benchmark(lambda: json.loads(json.dumps(records)))


@pytest.mark.parametrize("count", [4000, 12000])
def test_sort_floats(benchmark, count):
    data = (NUMBERS * 2)[: scaled(count)]
    benchmark(sorted, data)


@pytest.mark.parametrize("words", [1500, 4000])
def test_regex_scan(benchmark, words):
    text = " ".join((WORDS * 2)[: scaled(words)])
    benchmark(lambda: len(PATTERN.findall(text)))


@pytest.mark.parametrize("words", [3000, 5000])
def test_counter(benchmark, words):
    data = (WORDS * 2)[: scaled(words)]
    benchmark(lambda: len(Counter(data)))


@pytest.mark.parametrize("kib", [16, 64])
def test_sha256(benchmark, kib):
    blob = PAYLOAD[: kib * 1024]
    rounds = scaled(40)  # many rounds, so that a 5% factor still adds whole rounds
    benchmark(lambda: [hashlib.sha256(blob).digest() for _ in range(rounds)])


def test_decimal_sum(benchmark):
    values = [decimal.Decimal(str(x)) for x in NUMBERS[: scaled(6000)]]
    benchmark(sum, values)


def test_string_format(benchmark):
    rows = RECORDS[: min(len(RECORDS), scaled(800))]
    benchmark(lambda: "\n".join(f"{r['id']:>6} {r['name']:<10} {r['score']:8.2f}" for r in rows))


def test_duckdb_group_by(benchmark, duck):
    benchmark(lambda: duck.execute("SELECT k, sum(v), avg(v) FROM t GROUP BY k").fetchall())


WINDOW_ROWS = scaled(16_000)


def test_duckdb_window(benchmark, duck):
    benchmark(lambda: duck.execute(
        f"SELECT max(s) FROM (SELECT sum(v) OVER (PARTITION BY k ORDER BY i ROWS 10 PRECEDING) s FROM t WHERE i < {WINDOW_ROWS})"
    ).fetchall())
