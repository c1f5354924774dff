#!/usr/bin/env bash
# The whole test suite, including its set-up on a fresh Debian machine with Node 20:
# system packages the tests need (real nats-server), npm dependencies, the build, then every
# tier of tests with node:test. `npm test` runs this; so does CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v nats-server >/dev/null 2>&1 || need_pkgs+=(nats-server)
# SQL store tests: PostgreSQL and MariaDB servers that test/helpers/db.ts starts in temporary
# directories on free loopback ports (plus openssl for their TLS certificates).
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need_pkgs+=(postgresql)
{ command -v mariadbd || command -v mysqld || [ -x /usr/sbin/mariadbd ]; } >/dev/null 2>&1 || need_pkgs+=(mariadb-server)
command -v openssl >/dev/null 2>&1 || need_pkgs+=(openssl)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${need_pkgs[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  # Keep the packages from starting their system services (postgresql, mariadb) on the
  # default ports: the tests start their own instances.
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    policy_added=1
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  if [ -n "$policy_added" ]; then
    $SUDO rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
fi

echo "== build"
npx tsc -p tsconfig.json

# Tiers: unit (no I/O), int (real sockets/processes, one component), e2e (real clients,
# real servers). Files of a tier run in parallel processes; 2 cores, so keep it modest.
files=()
for tier in unit int e2e; do
  for f in test/$tier/*.test.ts; do [ -e "$f" ] && files+=("$f"); done
done
echo "== node --test (${#files[@]} files)"
exec node --import tsx --test --test-concurrency=2 --test-timeout=120000 "${files[@]}"
