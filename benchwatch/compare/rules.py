"""Every constant that decides a verdict, in one frozen record with its rationale.

``CompareSettings`` holds what a user configures (threshold, alpha, gate);
``CompareRules`` holds how benchwatch judges evidence.  Rules are not user
configuration: they change only with a new ``RULES_VERSION``, which every
comparison JSON records, so that two reports made under different rules are
never mistaken for each other.  ``benchmarks/ablation.py`` varies them one
at a time to show what each earns (docs/statistics.md has the table).

Rules version history:
    1  the rules before versioning (CPU-wait run cuts at 10% and 20%, slow-run
       MAD exclusion in two places, canary ANCOVA with residual dropping,
       load-average disturbance).
    2  comparability before estimation (machine class, overlapping machine
       speeds), no outcome-dependent run selection, one-side-busy rule from
       measured CPU wait, thin-data stand-in, this record.
    3  tails (p95, p99) are not judged for a benchmark one of whose runs
       waited more than 5% for a CPU (``tail_contention_wait``); latency that
       moved suite-wide while the instruction counts did not is not compared
       (``benchwatch.compare.counts_shift``).
    4  a memory regression or improvement also needs every run of one side
       beyond every run of the other (``benchwatch.compare.memory``).
    5  a memory change also needs an exact permutation test on the per-run
       values, Benjamini-Hochberg per memory metric, and enough memory runs
       for a lone change to reach alpha; a peak_rss change that memray and the
       instruction counts do not confirm needs twice the tolerance
       (``benchwatch.compare.memory``).
    6  where runs waited for a CPU, latency is fitted on side and
       each run's CPU wait with a slope that only adds time
       (``contention_adjust``); interleaved sides are checked for machine
       speed by neighbouring runs and are comparable by construction
       (``pair_interleaved``); files without machine evidence whose whole
       suite moved by one factor get no latency estimate
       (``shift_not_comparable``, ``--assume-same-machine``).
"""

from __future__ import annotations

from dataclasses import dataclass

from benchwatch.stats.runlevel import min_samples_for_quantile

RULES_VERSION = 6


@dataclass(frozen=True)
class CompareRules:
    """The verdict-deciding constants (see each field's comment for why it has its value)."""

    # -- latency verdicts -------------------------------------------------------
    #: Rules version 1 also required a regression's whole interval above
    #: (1 + t) ** share (share 0.5).  The ablation (docs/statistics.md) showed it
    #: earned nothing: +5% changes reported as >10% regressions stayed at 1.4%
    #: of rows without it, while +20% detection rose from 82.9% to 93.2%.  So the
    #: rule is off (0): a regression is q < alpha and an estimate >= 1 + t.  The
    #: switch stays so that the ablation can be rerun.
    min_effect_share: float = 0.0
    #: A per-run quantile needs this many samples beyond it in the tail to be
    #: stable (p50: 10 samples, p95: 100, p99: 500); with fewer it is close to
    #: the run's extreme and cannot be judged.
    tail_samples_needed: int = 5
    #: Process runs per side below which no between-run variance exists, so no
    #: interval (one process says nothing about the next).
    min_runs: int = 2

    # -- memory verdicts ----------------------------------------------------------
    #: A memory regression or improvement needs, besides the tolerance rule, an
    #: exact permutation test on the per-run values whose Benjamini-Hochberg
    #: q-value (one family per memory metric) is below alpha, and run counts at
    #: which a lone change in its family can reach that level at all.  Rules
    #: version 4 decided from 2 runs per side, where every run of one side lands
    #: beyond every run of the other by chance 1 time in 3: on 13 benchmarks
    #: identical code got a gated peak_rss regression in most comparisons.
    memory_test: bool = True
    #: The resident-set peak of a native engine lands on one of a few levels per
    #: process (DuckDB: 2.5 or 4.5 MiB; 9.2-10.7 MB).  When memray's peak and
    #: allocations say unchanged, and so do the instruction counts where
    #: measured, a peak_rss change must exceed this multiple of its tolerance:
    #: a level change of the process is not the code's.
    rss_only_margin: float = 2.0

    # -- comparability ------------------------------------------------------------
    #: Environment fields that define a machine class: latency measured on
    #: different CPUs, CPU counts or interpreters is not comparable.
    machine_fields: tuple[str, ...] = ("cpu_model", "cpu_count", "python_implementation", "python_minor")
    #: Quantiles of each side's per-run canary timings that bound its "speed
    #: range".  When the ranges of the two sides do not overlap *and* the
    #: medians differ by more than ``speed_tolerance``, the sides never shared a
    #: machine speed: latency is not comparable (a fit across them would
    #: extrapolate, which is how a stored baseline from a 1.5x faster machine
    #: gave +176% on unchanged code).
    speed_range: tuple[float, float] = (0.1, 0.9)
    #: Median canary ratio below which two sides count as one machine speed
    #: even with tight, disjoint ranges (run-to-run canary noise is ~2%).
    speed_tolerance: float = 1.10
    #: A run whose canary before and after its measurement differ by more than
    #: this ratio changed machine state meanwhile: its covariate is unknown and
    #: the speed-adjusted model leaves it out (while two steady runs remain).
    #: The canary is benchwatch's fixed code, so this never looks at the
    #: benchmark's own timings.
    unstable_canary: float = 1.12

    # -- busy machine -----------------------------------------------------------------
    #: A run that waited for a CPU more than this share of its measuring time
    #: ran on a busy machine (Linux schedstat run-queue wait).  Such runs are
    #: not dropped (which runs wait is not independent of how slow they were);
    #: they are counted for the "machine too busy" headline.
    busy_run_wait: float = 0.20
    #: Share of all runs that must be busy for the machine to count as busy:
    #: then the speed-adjusted model is not used (the canary measures the
    #: scheduler, not the CPU's speed state), and an inconclusive comparison's
    #: headline says "machine too busy".
    busy_share: float = 0.5
    #: On a busy machine, tail quantiles (p95, p99) are not judged: the tail of
    #: per-call times is made of the scheduler's time slices, and it moves with
    #: call length non-linearly (on the A/B harness with two CPU hogs beside
    #: both sides, +30% work moved p95 by 1.0x to 15x, and 13% of p50/p95
    #: intervals missed the work ratio; 3% without the tails).
    busy_tails_not_judged: bool = True
    #: Tails are not judged either for a benchmark any of whose runs (either
    #: side) waited more than this share of its time for a CPU, however few
    #: runs the machine-wide rule counts.  With 2 CPU hogs beside both sides
    #: on a quiet 2-vCPU machine, no run reached the 20% of the machine-wide
    #: rule in most benchmarks, yet p95 moved by only x1.22-1.29 under +30%
    #: work (the scheduler's slices add time, they do not scale with it): 14
    #: of 80 p95 intervals excluded x1.30.  76 of those 80 benchmarks had a
    #: run above 5%; on the quiet machine 0 of 160 did (max 3%), and our
    #: suite's runs wait 0-1.1% (the sync paths' server is a second process).
    tail_contention_wait: float = 0.05
    #: One side is "busy" for a benchmark when every one of its runs waited
    #: for a CPU more than every run of the other side, and the medians of the
    #: two differ by more than this share of wall time: CPU hogs beside one
    #: side, which slow that side's code (2 of 40 identical-code comparisons
    #: were called an improvement before this rule).  Interleaved runs under
    #: shared load almost never separate completely (5 vs 5: p = 0.8%).
    one_side_busy_wait: float = 0.10

    # -- suite-wide shift (files without canary) ----------------------------------
    #: With at least this many compared benchmarks, a shift in one direction
    #: beyond the threshold on ``shift_share`` of them reads like a machine
    #: change (every benchmark moving by one factor), not like code.
    shift_min_benchmarks: int = 5
    shift_share: float = 0.8
    #: Such a shift makes latency not comparable (no estimate; rules version 5):
    #: identical code with the base at half machine speed, plain
    #: pytest-benchmark files, got 71 of 160 latency rows called regression or
    #: improvement while only the headline flagged the pattern.  A genuine
    #: suite-wide change stays expressible with ``assume_same_machine``
    #: (CompareSettings, ``--assume-same-machine``).
    shift_not_comparable: bool = True

    # -- variance moderation (empirical Bayes) -----------------------------------
    #: Fewer side variances than this: no prior (plain Welch).
    min_variance_estimates: int = 8
    #: A prior weaker than this many degrees of freedom is not used (its test
    #: level is the least exact and it barely narrows intervals).
    min_prior_df: float = 4.0

    # -- gross outlier runs ---------------------------------------------------------
    #: Leave out a run whose residual (log statistic minus its side's fit) is
    #: more than ``slow_residual_mads`` robust SDs *and* ``slow_residual_floor``
    #: (log: 35%) slower than the row's median residual, then test once more.
    #: Side-blind (the fit contains the side effect) and one-sided (contention
    #: only slows code down).  It does select by the run's own timing, so it is
    #: allowed only because the coverage tests run with it on: at this size it
    #: never touches runs of the modelled noise (log-normal, bimodal x1.25,
    #: drift), only gross outliers such as a run 4.5x slower than its side's
    #: other runs under a load of 20 on 2 CPUs.  Rules version 1 used 3 SDs and
    #: 5% (the ablation: coverage fell to 92.5% under machine-speed drift).
    drop_slow_residuals: bool = True
    slow_residual_mads: float = 4.0
    slow_residual_floor: float = 0.3

    # -- layers the ablation switches off (all on in the shipped rules) ----------
    #: Adjust for machine speed with the canary (ANCOVA) where the sides share one.
    speed_adjust: bool = True
    #: Check machine class and speed overlap before estimating latency.
    check_comparability: bool = True
    #: Sides whose runs alternated on one machine (compare-refs, or files whose
    #: runs alternate in time) share its speed by construction: their speed
    #: check compares neighbouring runs (AB/BA pairs) and never says "not
    #: comparable" (rules version 5).  Off: the range rule of version 2.
    pair_interleaved: bool = True
    #: Apply the one-side-busy rule.
    check_one_side_busy: bool = True
    #: Where every run's CPU wait is known and a run waited more than
    #: ``tail_contention_wait``, fit latency on side and each run's CPU wait
    #: (log 1 / (1 - wait)), the slope constrained to add time only (rules
    #: version 5; :class:`benchwatch.compare.latency.ContentionAdjustedLatency`).
    contention_adjust: bool = True
    #: How a contended run's residual variance grows with its covariate c =
    #: log 1 / (1 - wait): sigma^2 (1 + k c^2), fitted by weighted least squares.
    contention_spread_growth: float = 2.0

    def min_samples_for_quantile(self, q: float) -> int:
        """Samples each run needs for quantile ``q``: ceil(tail_samples_needed / (1 - q))."""
        return min_samples_for_quantile(q, self.tail_samples_needed)


DEFAULT_RULES = CompareRules()
