"""Hostile or careless inputs get one line and exit 2 (issue #11, items 2, 6, 12 and 13).

Each test is the probe of the issue: the exact command, the exit code and
the message, and that nothing was written or lost.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from benchwatch import resultfile
from benchwatch.cli import main
from benchwatch.errors import InputError
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run
from benchwatch.resultfile import save_result

FIXTURES = Path(__file__).parent / "fixtures"
V2 = FIXTURES / "results" / "v2_result.json"
GO = FIXTURES / "ecosystems" / "go-bench.txt"


def side(path: Path, level: float, seed: int, runs: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    samples = tuple(Run(samples=level * rng.lognormal(0, 0.05, 30)) for _ in range(runs))
    return save_result(
        ResultSet(benchmarks=(BenchmarkResult(name="alpha", runs=samples),), environment=Environment()), path
    )


def cli(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


# -- item 2: one file given several times ------------------------------------------------


def test_the_same_file_three_times_per_side_is_refused(tmp_path, capsys):
    a, b = side(tmp_path / "a.json", 1e-3, 1), side(tmp_path / "b.json", 1.2e-3, 2)
    code, err = cli(["compare", "--base", str(a), "--base", str(a), "--base", str(a)] + ["--head", str(b)] * 3, capsys)
    assert code == 2
    assert err == (
        f"benchwatch: error: {a}: is given twice: one run's file counted twice would pass for independent runs; "
        "give each file once\n"
    )


def test_a_byte_identical_copy_is_refused_too(tmp_path, capsys):
    a = side(tmp_path / "a.json", 1e-3, 1)
    copy = tmp_path / "copy.json"
    copy.write_bytes(a.read_bytes())
    code, err = cli(["compare", "--base", str(a), "--base", str(copy), "--head", str(a)], capsys)
    assert code == 2
    assert err.startswith(f"benchwatch: error: {copy}: has the same content as {a}: ")


def test_the_same_file_on_both_sides_is_an_a_a_comparison(tmp_path, capsys):
    a = side(tmp_path / "a.json", 1e-3, 1)
    assert main(["compare", str(a), str(a)]) == 0


def test_import_refuses_a_file_twice_and_writes_nothing(tmp_path, capsys):
    a = side(tmp_path / "a.json", 1e-3, 1)
    code, err = cli(["import", str(a), str(a), "-o", str(tmp_path / "merged.json")], capsys)
    assert code == 2 and "is given twice" in err
    assert not (tmp_path / "merged.json").exists()


# -- item 6: errors that used to escape as tracebacks (exit 1 = "regression") --------------


def test_a_file_nested_5000_levels_deep(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000)
    code, err = cli(["compare", str(deep), str(deep)], capsys)
    assert (code, err) == (
        2,
        f"benchwatch: error: {deep}: JSON nested too deeply to read (no result file nests like this)\n",
    )


def test_record_into_a_history_that_is_a_file(tmp_path, capsys):
    history = tmp_path / "history"
    history.write_text("not a directory")
    code, err = cli(["record", str(V2), "--history", str(history)], capsys)
    assert (code, err) == (2, f"benchwatch: error: {history}: is not a directory (a history is a directory)\n")
    assert history.read_text() == "not a directory"


def test_record_with_a_date_before_year_one_in_utc(tmp_path, capsys):
    code, err = cli(
        ["record", str(V2), "--history", str(tmp_path / "h"), "--date", "0001-01-01T00:00:00+14:00"], capsys
    )
    assert code == 2
    assert err == (
        "benchwatch: error: --date '0001-01-01T00:00:00+14:00': out of the representable range once converted to UTC\n"
    )
    assert not (tmp_path / "h").exists() or not any((tmp_path / "h").iterdir())


def test_an_unexpected_os_error_is_one_line_exit_two(monkeypatch, capsys):
    from benchwatch.cli import compare_command

    def broken(args):
        raise PermissionError(13, "Permission denied", "/somewhere/file")

    monkeypatch.setattr(compare_command, "handle", broken)
    code, err = cli(["compare", "a", "b"], capsys)
    assert (code, err) == (2, "benchwatch: error: /somewhere/file: Permission denied\n")


def test_an_unexpected_recursion_error_is_one_line_exit_two(monkeypatch, capsys):
    from benchwatch.cli import compare_command

    def broken(args):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(compare_command, "handle", broken)
    assert cli(["compare", "a", "b"], capsys) == (2, "benchwatch: error: input nested too deeply to process\n")


# -- item 12: size limits ------------------------------------------------------------------


def gzip_bomb(path: Path, megabytes: int) -> Path:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    with open(path, "wb") as stream:
        for _ in range(megabytes):
            stream.write(compressor.compress(block))
        stream.write(compressor.flush())
    return path


def test_a_gzip_bomb_is_refused_before_it_expands(tmp_path):
    bomb = gzip_bomb(tmp_path / "bomb.json.gz", 1100)  # 1.1 MB that expands to 1.1 GB
    assert bomb.stat().st_size < 2_000_000
    # In a child with a 1 GiB address-space cap beyond its start: expanding the bomb would fail with MemoryError.
    code = (
        "import resource, sys\n"
        "from benchwatch.cli import main\n"
        "import benchwatch.adapters.registry, benchwatch.compare, numpy\n"
        "used = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()\n"
        "resource.setrlimit(resource.RLIMIT_AS, (used + (400 << 20), resource.RLIM_INFINITY))\n"
        "sys.exit(main(['compare', sys.argv[1], sys.argv[1]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"benchwatch: error: {bomb}: gzip data expands more than 100 times (")
    assert done.stderr.endswith("MiB so far): refusing a likely gzip bomb\n")


def test_the_absolute_cap_applies_to_well_compressed_data(tmp_path, monkeypatch):
    monkeypatch.setattr(resultfile, "MAX_DECOMPRESSED_BYTES", 1 << 20)
    data = tmp_path / "big.json.gz"
    data.write_bytes(gzip.compress(os.urandom(3 << 19).hex().encode()))  # incompressible-ish: ratio ~2
    with pytest.raises(InputError, match="gzip data expands beyond 1 MiB; refusing to read it"):
        resultfile.read_input_bytes(data)


def test_several_gzip_members_and_padding_still_read(tmp_path):
    data = tmp_path / "two.json.gz"
    data.write_bytes(gzip.compress(b'{"a": ') + gzip.compress(b"1}") + b"\x00" * 8)
    assert resultfile.read_json_document(data) == {"a": 1}


# -- item 13: smaller ones -------------------------------------------------------------------


def test_an_empty_file(tmp_path, capsys):
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    assert cli(["compare", str(empty), str(V2)], capsys) == (
        2,
        f"benchwatch: error: {empty}: empty file, expected a result file\n",
    )


def test_a_directory(tmp_path, capsys):
    folder = tmp_path / "folder"
    folder.mkdir()
    assert cli(["compare", str(folder), str(V2)], capsys) == (
        2,
        f"benchwatch: error: {folder}: is a directory but not an asv results directory (expected a result file)\n",
    )


@pytest.mark.parametrize(
    ("samples", "shown"),
    [([True, False], "True"), (["0.1", "0.2"], "'0.1'"), ([[0.1], [0.2]], "[0.1]"), ([0.1, None], "None")],
)
def test_samples_must_be_numbers(tmp_path, capsys, samples, shown):
    document = json.loads(V2.read_text())
    document["benchmarks"][0]["runs"][0]["samples"] = samples
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    position = 1 if samples[0] == 0.1 else 0
    code, err = cli(["compare", str(bad), str(V2)], capsys)
    assert code == 2
    assert err == (
        f"benchwatch: error: {bad}: does not match the result schema at benchmarks/0/runs/0/samples/{position}: "
        f"{shown} is not of type 'number'\n"
    )


def test_a_run_with_no_samples(tmp_path, capsys):
    document = json.loads(V2.read_text())
    document["benchmarks"][0]["runs"][0]["samples"] = []
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    code, err = cli(["compare", str(bad), str(V2)], capsys)
    assert code == 2
    assert err.endswith("run 1: empty samples (a successful run needs at least one)\n")


def test_a_go_text_file_reads_from_a_pipe(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "benchwatch", "compare", "-", str(GO), "--format", "json"],
        input=GO.read_bytes(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verdict"]


def test_a_go_text_file_reads_from_process_substitution(tmp_path):
    # /dev/fd/N of a pipe: the bytes are read once, for detection and parsing alike.
    read, write = os.pipe()
    os.write(write, GO.read_bytes())
    os.close(write)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchwatch", "compare", f"/dev/fd/{read}", str(GO), "--format", "json"],
            capture_output=True,
            timeout=120,
            check=False,
            pass_fds=(read,),
        )
    finally:
        os.close(read)
    assert done.returncode == 0, done.stderr


def test_bootstrap_out_of_range_names_the_option(tmp_path, capsys):
    a = side(tmp_path / "a.json", 1e-3, 1)
    assert cli(["compare", str(a), str(a), "--bootstrap", "100000000"], capsys) == (
        2,
        "benchwatch: error: --bootstrap must be between 0 and 1000000, got 100000000\n",
    )


def test_bootstrap_in_scientific_notation_names_the_option(tmp_path, capsys):
    a = side(tmp_path / "a.json", 1e-3, 1)
    with pytest.raises(SystemExit) as stop:
        main(["compare", str(a), str(a), "--bootstrap", "1e8"])
    assert stop.value.code == 2
    assert "argument --bootstrap: invalid int value: '1e8'" in capsys.readouterr().err


def test_config_that_is_a_directory(tmp_path, capsys):
    a = side(tmp_path / "a.json", 1e-3, 1)
    assert cli(["compare", str(a), str(a), "--config", str(tmp_path)], capsys) == (
        2,
        f"benchwatch: error: {tmp_path}: is a directory, expected a pyproject.toml file\n",
    )
    assert cli(["run", "--config", str(tmp_path)], capsys) == (
        2,
        f"benchwatch: error: {tmp_path}: is a directory, expected a pyproject.toml file\n",
    )
