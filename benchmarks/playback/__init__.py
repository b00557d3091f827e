"""Playback-analytics workload: the small service whose critical paths the
benchwatch suites in ``benchmarks/`` guard.

Modules (one concern each):

* :mod:`playback.generator`   - deterministic, seeded, vectorised event data + parquet cache
* :mod:`playback.queries`     - dashboard queries on DuckDB
* :mod:`playback.sync_server` - paginated JSON history API with failure injection
* :mod:`playback.sync_client` - paging / de-duplicating / upserting sync client
"""

__all__ = ["generator", "queries", "sync_client", "sync_server"]
