"""``benchwatch import``: convert other tools' result files into one benchwatch result.

Each input file adds its runs (a pytest-benchmark file is one process run; a
pyperf file brings one run per worker process).  Formats are detected by
content; ``--format`` forces one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchwatch import resultfile
from benchwatch.adapters import registry
from benchwatch.errors import EXIT_OK
from benchwatch.output import is_stdout


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="read pytest-benchmark, pyperf, Go, ... output into one result",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", type=Path, help="result files to import (merged: each adds its runs)"
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="OUT", type=Path, help="result file to write (.json or .json.gz)"
    )
    parser.add_argument(
        "--format",
        dest="format_name",
        metavar="NAME",
        default=None,
        help="force the input format instead of detecting it by content "
        f"(one of: {', '.join(registry.format_names())})",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    result = registry.import_files(paths=list(args.files), format_name=args.format_name)
    resultfile.save_result(result=result, path=args.output)
    runs = sum(len(benchmark.runs) for benchmark in result.benchmarks)
    # With the result itself on stdout, the summary goes to stderr.
    stream = sys.stderr if is_stdout(args.output) else sys.stdout
    print(f"wrote {args.output}: {len(result.benchmarks)} benchmarks, {runs} runs", file=stream)
    return EXIT_OK
