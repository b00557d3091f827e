"""Reports never drop a regression and never let a name deceive (issue #11, items 10 and 11)."""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import pytest
from test_pr_comment import LABELS, synthetic

from benchwatch.render.html_templates import script_json, template_environment
from benchwatch.render.invisible import INVISIBLE, reveal_invisible
from benchwatch.render.markdown_report import escape_markdown, render_markdown
from benchwatch.render.pr_comment import MAX_CHARS, render_pr_comment

# -- item 10: every regression is listed ---------------------------------------------------


def regressions(count: int, name_length: int) -> tuple[list[str], list[tuple[str, str, float]]]:
    names = []
    for index in range(count):
        stem = f"benchmarks/test_module_{index % 40:02d}.py::test_case_{index:05d}"
        names.append((stem + "_" + "x" * name_length)[: max(len(stem), name_length)])
    specs = [(name, "regression", 1.2 + (index % 97) / 100) for index, name in enumerate(names)]
    return names, specs


def listed_benchmarks(text: str, names: list[str]) -> int:
    # A name is listed in full, or (grouped form) as its test part on its file's line.
    count = 0
    for name in names:
        module, _, test = name.rpartition("::")
        line = next((line for line in text.splitlines() if line.startswith(f"- {module} :: ")), "")
        if name in text or re.search(rf"(?:: |, ){re.escape(test)}(?:,|$)", line):
            count += 1
    return count


def test_1500_regressions_are_all_listed_in_the_pr_comment():
    names, specs = regressions(1500, 0)
    comparison = synthetic(specs + [(f"other_{i}", "unchanged", 1.0) for i in range(3000)])
    text = render_pr_comment(comparison, **LABELS, report_url="https://ci.example/run/1")
    assert len(text) <= MAX_CHARS
    assert text.startswith("**benchwatch: 1,500 regressions** in 4,500 benchmarks")
    assert listed_benchmarks(text, names) == 1500
    assert "more regressions" not in text


def test_when_even_names_do_not_fit_the_comment_says_so_and_links_the_report():
    names, specs = regressions(3000, 180)  # ~600 KB of names: no comment can hold them
    text = render_pr_comment(synthetic(specs), **LABELS, report_url="https://ci.example/run/1")
    assert len(text) <= MAX_CHARS
    listed = listed_benchmarks(text, names)
    assert 0 < listed < 3000
    assert (
        f"- **… and {3000 - listed:,} more regressions** (less severe): too many for one comment "
        f"(GitHub's 65,536-character limit), all listed in the [HTML report](https://ci.example/run/1)"
    ) in text


def test_readme_promise_matches_the_comment():
    readme = " ".join(
        (Path(__file__).resolve().parents[1] / "docs" / "commands.md").read_text(encoding="utf-8").split()
    )
    assert "never drops a regression" not in readme
    assert (
        "lists every regression (one line each, then names only, grouped by file); only if even the names pass "
        "the limit does it list the most severe that fit and say how many more the linked report holds"
    ) in readme


# -- item 11: hostile names ------------------------------------------------------------------


def test_every_unicode_format_character_is_revealed():
    missing = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) == "Cf" and not INVISIBLE.match(chr(code))
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("test_\u202egnp.exe", "test\\_‹U+202E›gnp.exe"),
        ("a\u2066b\u2069c", "a‹U+2066›b‹U+2069›c"),
        ("zero\u200bwidth", "zero‹U+200B›width"),
        ("bom\ufeff", "bom‹U+FEFF›"),
    ],
)
def test_bidi_and_zero_width_characters_are_shown_in_markdown(name, shown):
    assert escape_markdown(name) == shown


def test_issue_references_do_not_autolink():
    text = escape_markdown("fixes #123 and GH-45 and owner/repo#7 and gh-8")
    assert re.search(r"#\d", text) is None
    assert re.search(r"(?i)GH-\d", text) is None
    assert "\\#\u200d123" in text and "GH-\u200d45" in text and "gh-\u200d8" in text


def test_mentions_still_do_not_notify():
    assert "@\u200doctocat" in escape_markdown("@octocat")


def test_names_in_the_pr_comment_and_markdown_are_neutralised():
    hostile = "bench_\u202eevil #12 GH-3 @team"
    comparison = synthetic([(hostile, "regression", 1.5)])
    for text in (render_pr_comment(comparison, **LABELS), render_markdown(comparison)):
        assert "\u202e" not in text
        assert "‹U+202E›" in text
        assert re.search(r"#\d|GH-\d|@team", text) is None


def test_html_text_and_script_json_show_invisible_characters():
    environment = template_environment()
    page = environment.from_string("<p>{{ name }}</p>").render(name="a\u202eb")
    assert page == "<p>a‹U+202E›b</p>"
    assert str(script_json({"name": "a\u202eb\u200d"})) == '{"name":"a‹U+202E›b‹U+200D›"}'


def test_reveal_keeps_ordinary_text():
    text = "tests/test_x.py::test_parse[size=10-é-漢字-🙂]"
    assert reveal_invisible(text) == text
