#!/usr/bin/env bash
# The main job: set up, run both suites (several fresh process runs per benchmark
# plus a memray pass), compare with the committed baseline, write the reports.
# Extra arguments go to `benchwatch run` (e.g. --runs 3 --scale 100000 -k daily).
# Exit: 0 no gated regression; 1 a gated regression; 2 usage/input error;
# 3 some benchmarks failed (results and reports are still written).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh valgrind  # the instruction pass: counts that hold on any machine
bash scripts/setup-main.sh || exit 2  # the pinned packages of requirements/benchmarks.lock, no test tools
# No .pyc files written by the workers: the baseline was counted that way (docs/instructions.md).
export PYTHONDONTWRITEBYTECODE=1
BASELINE="${BENCHWATCH_BASELINE:-baselines/main.json.gz}"
mkdir -p results reports
# Adaptive: a benchmark stops at the first planned look (2, 3, 5, 7 runs) where every gated metric has a
# verdict: on a machine whose latency is not comparable with the baseline's, the counts and the memory
# rows decide at 2 runs. Four looks split the error budget as compare-refs' default schedule does.
# A budget of 270 s for the runs (the job's 5 minutes less set-up and reports): at a look, benchmarks still
# undecided stop there if the next look's runs would pass it, and their latency rows stay inconclusive.
.venv/bin/benchwatch run --against "$BASELINE" --looks 2,3,5,7 --max-time "${BENCHWATCH_MAX_TIME:-270}" \
  -o results/latest.json.gz "$@"
run_status=$?
[ "$run_status" -eq 0 ] || [ "$run_status" -eq 3 ] || exit "$run_status"
.venv/bin/benchwatch compare "$BASELINE" results/latest.json.gz \
  --write markdown:reports/comparison.md --write json:reports/comparison.json --write html:reports/comparison.html
compare_status=$?
echo "results: results/latest.json.gz  reports: reports/comparison.md reports/comparison.json reports/comparison.html"
[ "$compare_status" -ne 0 ] && exit "$compare_status"
exit "$run_status"
