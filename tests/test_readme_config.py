"""The README's configuration table and the code agree: every documented key is accepted, and vice versa."""

from __future__ import annotations

import re
from pathlib import Path

from benchwatch.compare.settings import CompareSettings
from benchwatch.config import RUN_KEYS, compare_settings, load_config

README = Path(__file__).resolve().parents[1] / "README.md"


def documented_keys() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## Configuration: `[tool.benchwatch]`", 1)[1]
    table = section.split("\n## ", 1)[0]
    keys = []
    for line in table.splitlines():
        if line.startswith("| `"):
            keys.extend(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return keys


def test_every_documented_key_is_accepted_and_every_key_is_documented(tmp_path: Path) -> None:
    keys = documented_keys()
    assert len(keys) == len(set(keys)), "a key appears twice in the configuration table"
    assert set(keys) == set(RUN_KEYS) | set(CompareSettings.MAPPING_KEYS) - {"bootstrap_resamples", "seed"}
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[tool.benchwatch]\n"
        'suites = ["perf"]\nruns = 3\ntimeout = 60\npytest_args = []\nscale_option = "--n"\nmemory = false\n'
        'results_dir = "out"\nbaseline = "b.json"\nthreshold = 0.2\ngate = ["p50"]\nthresholds = { p99 = 0.3 }\n'
        "alpha = 0.01\nmemory_bytes_tolerance = 1024\nallocation_tolerance = 5\nmemory_percent_tolerance = 0.2\n"
        "fail_on_inconclusive = true\nmoderate_variances = false\ngate_failures = false\n"
    )
    config = load_config(pyproject)
    settings = compare_settings(config, pyproject)
    assert config.get("runs", 5) == 3 and settings.threshold == 0.2 and settings.moderate_variances is False
    assert settings.gate_failures is False  # accepted at the top level too, not only in [tool.benchwatch.compare]
    assert settings.gating_metrics == ("p50",) and settings.metric_thresholds == {"p99": 0.3}
