"""A benchmark of almost nothing, so the timing machinery is all that is measured.

Not collected by the main job (the name does not start with ``test_``);
``bench_runner_overhead.py`` passes it explicitly.
"""


def noop():
    return None


def test_noop(benchmark):
    benchmark(noop)


def test_small_work(benchmark):
    benchmark(sum, range(100))
