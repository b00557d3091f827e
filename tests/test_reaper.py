"""The subreaper flag is per process, while passes run in threads: it stays on until the last one ends."""

from __future__ import annotations

import sys
import threading

import pytest

from benchwatch.runner import reaper

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl subreaper is Linux only")


def test_the_first_pass_to_end_does_not_switch_the_flag_off_under_another() -> None:
    assert not reaper.is_subreaper()
    first_in, second_in, first_out, second_may_leave = (threading.Event() for _ in range(4))
    seen: dict[str, bool] = {}

    def first() -> None:
        with reaper.subreaper() as enabled:
            seen["first enabled"] = enabled
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second() -> None:
        first_in.wait(10)
        with reaper.subreaper():
            second_in.set()
            first_out.wait(10)
            seen["flag after the first ended"] = reaper.is_subreaper()
            second_may_leave.wait(10)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_out.wait(10)
    second_may_leave.set()
    for thread in threads:
        thread.join(10)
    assert seen == {"first enabled": True, "flag after the first ended": True}
    assert not reaper.is_subreaper()  # switched off by the last one out, as it was before


def test_a_flag_set_by_someone_else_is_left_on() -> None:
    prctl = reaper._prctl()
    assert prctl is not None
    prctl(reaper._PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        with reaper.subreaper() as enabled:
            assert enabled
        assert reaper.is_subreaper()
    finally:
        prctl(reaper._PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
