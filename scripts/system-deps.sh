#!/usr/bin/env bash
# Debian packages that some tests use when present: real Go / Google Benchmark /
# hyperfine output for the adapters, Chromium for rendering HTML reports.
# Installs only when running as root with apt-get and something is missing.
set -uo pipefail
needed=()
command -v go >/dev/null || needed+=(golang-go)
command -v hyperfine >/dev/null || needed+=(hyperfine)
command -v g++ >/dev/null || needed+=(g++)
[ -e /usr/include/benchmark/benchmark.h ] || needed+=(libbenchmark-dev)
command -v chromium >/dev/null || needed+=(chromium chromium-driver)
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${needed[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null \
    || echo "warning: could not install ${needed[*]}; tests that need them will be skipped"
else
  echo "note: missing ${needed[*]} (not root); tests that need them will be skipped"
fi
exit 0
