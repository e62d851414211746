#!/usr/bin/env bash
# Installs what nodus needs on Debian 12 (when missing) and builds it into
# build/. Safe to run again: it only installs what is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config     # the C build
  libuv1-dev libssl-dev zlib1g-dev     # libnodus's dependencies
  libc-ares-dev libpq-dev              # discovery's dns and postgres strategies
  erlang-base erlang-dev elixir        # real BEAM peers (erl, erlc, epmd) for interop tests
  coreutils                            # timeout, for the tests' deadlines
  clang libclang-rt-14-dev llvm        # libFuzzer targets and symbolizer
  iproute2 nftables                    # the test kit's namespaces and faults
  iptables libnetfilter-queue-dev      # the kit's NFQUEUE delay (no netem here)
  faketime                             # the kit's clock skew (libfaketime)
  dnsmasq postgresql                   # the DNS and database servers of the discovery tests
  dpkg-dev                             # cpack -G DEB's dpkg-shlibdeps (tests/package)
  tzdata                               # the zones of cron schedules (/usr/share/zoneinfo)
)

# The tests need nothing else (no python3: their helpers are bash or small
# C programs built with them). A test that lacks something exits 77
# (skipped); under scripts/test.sh (NODUS_REQUIRE_ALL=1) that is a failure.

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install packages (or install them yourself)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# BEAM reads the cookie from here; create one the way erl would.
if [ ! -f "$HOME/.erlang.cookie" ]; then
  head -c 15 /dev/urandom | base64 | tr -dc 'A-Z' | head -c 20 > "$HOME/.erlang.cookie" || true
  [ -s "$HOME/.erlang.cookie" ] || echo NODUSDEFAULTCOOKIE > "$HOME/.erlang.cookie"
  chmod 400 "$HOME/.erlang.cookie"
fi

build_type=${NODUS_BUILD_TYPE:-RelWithDebInfo}
cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type" -DNODUS_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
