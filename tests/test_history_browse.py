"""``benchwatch history list`` and ``history show``: plain text and JSON, change points marked, hostile text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchwatch.cli import main
from benchwatch.history import store
from benchwatch.render.history_text import terminal_text

HOSTILE = "evil\u202eknab\u200b\x1b[2J"


def _history(directory: Path, commits: int = 60) -> Path:
    rng = np.random.default_rng(7)
    batch = []
    for c in range(commits):
        step = 1.25 if c >= 30 else 1.0
        values = {"steady": 1e-3, "stepped": 2e-3 * step, HOSTILE: 5e-3}
        benchmarks = {
            name: {"unit": "seconds", "metrics": {"p50": [v * float(np.exp(rng.normal(0, 0.005))), v, v, 3]}}
            for name, v in values.items()
        }
        if c < 20:
            del benchmarks["steady"]
        batch.append(
            store.PendingRecord(
                benchmarks=benchmarks,
                commit=f"{c:02d}" + "ab" * 19,
                date=f"2024-05-{1 + c // 24:02d}T{c % 24:02d}:00:00Z",
                tags=("v1.0",) if c == 10 else ("v2.0\u202e",) if c == 50 else (),
                branch="main",
                source="pyperf",
                message=f"change {c}\nbody line\x1b[31m",
            )
        )
    store.append_batch(directory, batch)
    return directory


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return _history(tmp_path_factory.mktemp("browse") / "h")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_record_with_counts_tags_and_sources(history, capsys):
    code, out, _ = _run(capsys, "history", "list", "--history", str(history))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"history {history}: 60 records, 2024-05-01 … 2024-05-03")
    assert lines[1].split() == ["commit", "date", "benchmarks", "tags", "branch", "source", "message"]
    rows = lines[2:]
    assert len(rows) == 60
    assert rows[0].split()[:4] == ["00ababababab", "2024-05-01", "00:00", "2"]
    assert rows[25].split()[3] == "3"  # "steady" joins at record 20
    assert "v1.0" in rows[10] and "v2.0‹U+202E›" in rows[50]
    assert "\x1b" not in out and "\u202e" not in out and "body line" not in out  # first line of messages only


def test_list_json_holds_the_exact_text(history, capsys):
    code, out, _ = _run(capsys, "history", "list", "--history", str(history), "--format", "json")
    assert code == 0
    document = json.loads(out)
    records = document["records"]
    assert len(records) == 60
    assert records[50]["tags"] == ["v2.0\u202e"]
    assert records[3] == {
        "commit": "03" + "ab" * 19,
        "date": "2024-05-01T03:00:00Z",
        "tags": [],
        "branch": "main",
        "benchmarks": 2,
        "source": "pyperf",
        "message": "change 3\nbody line\x1b[31m",
    }


def test_show_marks_the_change_point_between_the_records(history, capsys):
    code, out, _ = _run(capsys, "history", "show", "stepped", "--history", str(history))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("stepped · p50 · 60 records") and lines[0].endswith("· 1 change point")
    marker = next(k for k, line in enumerate(lines) if "change point +" in line)
    assert lines[marker + 1].split()[0] == "30ababababab"  # the first record after the step
    assert lines[marker - 1].split()[0] == "29ababababab"
    change = float(lines[marker].split("change point ")[1].split("%")[0])
    assert change == pytest.approx(25.0, abs=2.0)
    assert lines[1 + 10].endswith("[v1.0]")  # tags beside their record


def test_show_json_lists_points_and_change_points(history, capsys):
    code, out, _ = _run(capsys, "history", "show", "stepped", "--history", str(history), "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["benchmark"] == "stepped" and document["metric"] == "p50" and len(document["points"]) == 60
    (point,) = document["change_points"]
    assert point["index"] == 30 and point["commit"] == "30" + "ab" * 19
    assert point["relative_change"] == pytest.approx(0.25, abs=0.02)
    # A benchmark that joined later: its series starts at its first record.
    _, out, _ = _run(capsys, "history", "show", "steady", "--history", str(history), "--format", "json")
    steady = json.loads(out)
    assert len(steady["points"]) == 40 and steady["points"][0]["commit"].startswith("20")
    assert steady["change_points"] == []


def test_show_escapes_a_hostile_name_and_json_keeps_it(history, capsys):
    code, out, _ = _run(capsys, "history", "show", HOSTILE, "--history", str(history))
    assert code == 0
    assert out.splitlines()[0].startswith("evil‹U+202E›knab‹U+200B›‹U+001B›[2J · p50")
    assert "\x1b" not in out and "\u202e" not in out
    _, out, _ = _run(capsys, "history", "show", HOSTILE, "--history", str(history), "--format", "json")
    assert json.loads(out)["benchmark"] == HOSTILE


def test_show_an_unknown_benchmark_is_one_line_with_a_suggestion(history, capsys):
    code, out, err = _run(capsys, "history", "show", "steped", "--history", str(history))
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"benchwatch: error: history {history} has no benchmark 'steped' (did you mean 'stepped', 'steady'?)"
    ]


def test_list_of_a_missing_history_is_an_input_error(tmp_path, capsys):
    code, _, err = _run(capsys, "history", "list", "--history", str(tmp_path / "missing"))
    assert code == 2 and "history directory not found" in err and "Traceback" not in err


def test_terminal_text_reveals_control_and_invisible_characters():
    assert terminal_text("a\u202eb\u200bc\x1b[0m\td") == "a‹U+202E›b‹U+200B›c‹U+001B›[0m‹U+0009›d"
    assert terminal_text("naïve 名前") == "naïve 名前"
