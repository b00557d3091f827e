"""The comparator's parts; :func:`benchwatch.compare.compare` runs them as one pipeline.

* :mod:`.results` - the comparison's records (metric, benchmark, suite) and
  the typed exclusion records strategies return;
* :mod:`.pairing` - which benchmarks are compared, and per-run figures as arrays;
* :mod:`.comparability` - whether latency can be compared at all (machine
  class, machine speed) before anything is estimated;
* :mod:`.latency` - the two latency strategies (Welch over runs; the
  speed-adjusted model where the sides shared a machine speed), each owning
  its run selection;
* :mod:`.memory` - the memory strategy (every run with memory data);
* :mod:`.suite` - the suite verdict, the headline and the warnings.

A metric family is a strategy: a callable from the compared benchmark pairs
to metric rows plus exclusion records (:class:`.results.StrategyResult`).
"""
