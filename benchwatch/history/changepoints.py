"""A change point of a benchmark's history: the record the segmentation finds and the trend report shows.

The segmentation itself is :mod:`benchwatch.history.segmentation`.  The E-divisive detector that
came before it (Otava's method) is kept as a reference in ``benchmarks/edivisive.py``, where the
change-point quality benchmark scores both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChangePoint:
    """A shift in a series at ``index``: ``values[index]`` is the first point after it.

    ``before_mean``/``after_mean`` are geometric means (the exp of the mean
    log) of the segments on either side, between the neighbouring change
    points, in the series' own unit (arithmetic means when the series was
    analysed without a log); ``relative_change`` is ``after/before - 1``
    (+0.25 = 25% higher, for a time: slower); ``p_value`` is the two-sided
    t-test between those segments (Bonferroni-corrected for the choice of
    the split position unless ``correct_for_selection=False``).  ``commit`` is the commit of
    ``values[index]`` when commits were given.
    """

    index: int
    commit: str | None
    before_mean: float
    after_mean: float
    relative_change: float
    p_value: float

    @property
    def magnitude(self) -> float:
        """Size of the shift regardless of direction: max(after/before, before/after) - 1."""
        if self.before_mean <= 0 or self.after_mean <= 0:
            return abs(self.relative_change)
        return max(self.after_mean / self.before_mean, self.before_mean / self.after_mean) - 1.0
