"""Statistics for comparing two sides (base, head) of a benchmark suite.

Every function here is a pure function of numpy arrays (plus an
``np.random.Generator`` where randomness is involved); nothing prints, reads
files or environment variables.

The process run is the unit of replication.  Samples inside one run share
that process's memory layout, hash seed, CPU frequency and neighbours, so
they describe the run but are not independent evidence about the code:

* :mod:`~benchwatch.stats.runlevel` - per-run statistics (vectorised) and the
  Welch t on log per-run statistics, the primary (gating) inference;
* :mod:`~benchwatch.stats.bootstrap` - a two-level (runs, then samples)
  bootstrap used as a cross-check and for display;
* :mod:`~benchwatch.stats.fdr` - Benjamini-Hochberg q-values across a suite;
* :mod:`~benchwatch.stats.permutation` - the exact permutation test that
  states a memory change's error rate;
* :mod:`~benchwatch.stats.instructions` - the spread of instruction counts.

Verdicts (what a change means against a threshold) live in :mod:`benchwatch.compare`.
* :mod:`~benchwatch.stats.diagnostics` - noise diagnostics per side.
"""

from benchwatch.stats.bootstrap import BootstrapResult, hierarchical_bootstrap
from benchwatch.stats.diagnostics import SideDiagnostics, diagnose_side, summarise_sides
from benchwatch.stats.fdr import bh_qvalues
from benchwatch.stats.runlevel import (
    RunTable,
    WelchResult,
    min_samples_for_quantile,
    run_table,
    welch_log_ratio,
)

__all__ = [
    "BootstrapResult",
    "RunTable",
    "SideDiagnostics",
    "WelchResult",
    "bh_qvalues",
    "diagnose_side",
    "hierarchical_bootstrap",
    "min_samples_for_quantile",
    "run_table",
    "summarise_sides",
    "welch_log_ratio",
]
