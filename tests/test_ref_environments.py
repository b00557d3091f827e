"""What a per-ref environment installs: the project's test extras and PEP 735 dependency groups."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from benchwatch.config import load_config
from benchwatch.errors import ConfigError, InputError
from benchwatch.refs.environments import install_spec

PYPROJECT = textwrap.dedent(
    """
    [project]
    name = "lib"
    version = "1"
    [project.optional-dependencies]
    test = ["hypothesis>=6"]
    docs = ["sphinx"]
    [dependency-groups]
    lint = ["ruff"]
    bench = ["pytest-codspeed", {include-group = "testing"}]
    testing = ["pyyaml", "coverage"]
    """
)


def test_declared_test_extras_and_groups_are_chosen_by_default(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    spec = install_spec(tmp_path, extras=None, groups=None)
    assert spec.extras == ("test",)
    assert spec.groups == ("bench", "testing")
    # include-group is followed, so any pip version can install the group's requirements
    assert spec.group_requirements == ("pytest-codspeed", "pyyaml", "coverage")
    assert spec.installable


def test_configured_extras_and_groups_win(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    spec = install_spec(tmp_path, extras=["docs"], groups=["lint"])
    assert (spec.extras, spec.group_requirements) == (("docs",), ("ruff",))
    assert spec.key() != install_spec(tmp_path, extras=None, groups=None).key()
    with pytest.raises(InputError, match="no dependency group 'typo'"):
        install_spec(tmp_path, extras=None, groups=["typo"])


def test_a_tree_without_pyproject_installs_only_the_worker_needs(tmp_path: Path) -> None:
    spec = install_spec(tmp_path, extras=None, groups=None)
    assert (spec.extras, spec.groups, spec.installable) == ((), (), False)


def test_environment_key_is_validated(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.benchwatch]\nenvironment = "per-ref"\ndependency_groups = ["testing"]\n')
    assert load_config(config).get("environment", "current") == "per-ref"
    config.write_text('[tool.benchwatch]\nenvironment = "conda"\n')
    with pytest.raises(ConfigError, match="environment must be one of current, per-ref"):
        load_config(config)
