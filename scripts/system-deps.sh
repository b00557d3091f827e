#!/usr/bin/env bash
# Debian packages the tests use: real Go / Google Benchmark / hyperfine output for the
# adapters, Chromium for rendering HTML reports, valgrind for the instruction pass (also used
# by `benchwatch run`; `system-deps.sh valgrind` installs only that). Installs what is missing with apt-get as root,
# or through passwordless sudo (GitHub's runners); otherwise says what is missing. The tests that
# need a missing tool skip - and under CI=true a skip fails the run (tests/conftest.py).
set -uo pipefail
needed=()
command -v go >/dev/null || needed+=(golang-go)
command -v hyperfine >/dev/null || needed+=(hyperfine)
command -v g++ >/dev/null || needed+=(g++)
[ -e /usr/include/benchmark/benchmark.h ] || needed+=(libbenchmark-dev)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null \
  || needed+=(chromium)
command -v valgrind >/dev/null || needed+=(valgrind)
if [ $# -gt 0 ]; then  # only the packages named on the command line
  wanted=()
  for package in "${needed[@]}"; do
    [[ " $* " == *" $package "* ]] && wanted+=("$package")
  done
  needed=("${wanted[@]}")
fi
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "note: missing ${needed[*]} (not root, no passwordless sudo); tests that need them will be skipped"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "note: missing ${needed[*]} (no apt-get); tests that need them will be skipped"
  exit 0
fi
echo "installing Debian packages: ${needed[*]}"
"${as_root[@]}" apt-get update -qq >/dev/null \
  && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null \
  || echo "warning: could not install ${needed[*]}; tests that need them will be skipped"
exit 0
