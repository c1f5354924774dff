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
# The console's browser tests (test/e2e/stan-console.e2e.test.ts) drive Debian's chromium.
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
# Clustering tests: a three-node MariaDB Galera cluster on loopback (test/helpers/galera.ts),
# whose joiners receive their state by rsync (wsrep_sst_method=rsync needs rsync and lsof).
[ -e /usr/lib/galera/libgalera_smm.so ] || need_pkgs+=(galera-4)
command -v rsync >/dev/null 2>&1 || need_pkgs+=(rsync)
command -v lsof >/dev/null 2>&1 || need_pkgs+=(lsof)
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
# A clean build: files left in dist/ by an older layout (e.g. dist/src/store/sql/dialect.js
# beside the newer dialect/ folder) would shadow the new modules.
npm run build --silent
# The console's browser script is plain JS (no build step), type-checked strictly as is.
npm run --silent typecheck:console

# Tiers: unit (no I/O), int (real sockets/processes, one component), e2e (real clients,
# real servers). Files of a tier run in parallel processes; 2 cores, so keep it modest.
#
# Matrix: everything once with the MEMORY store and the embedded NATS; then the STAN
# behaviour suite (test/e2e/stan-*) again against each persistent store (FILE = SQLite,
# PostgreSQL, MariaDB) and against a real external nats-server (-ns).
log_dir="$(mktemp -d)"
total_pass=0
total_fail=0
failed_runs=()

run() {
  local name="$1"
  shift
  echo "== $name"
  local out="$log_dir/$name.tap"
  set +e
  # The timeout also bounds a whole test file (node runs each file as one test of its own):
  # 300 s leaves room for files of many real-server starts on a busy 2-core machine.
  node --import tsx --test --test-reporter=tap --test-concurrency=2 --test-timeout=300000 "$@" 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  set -e
  local p f c
  p=$(grep -E '^# pass [0-9]+' "$out" | tail -1 | awk '{print $3}')
  f=$(grep -E '^# fail [0-9]+' "$out" | tail -1 | awk '{print $3}')
  # A test cut off by a timeout is reported as cancelled, not failed: it failed all the same.
  c=$(grep -E '^# cancelled [0-9]+' "$out" | tail -1 | awk '{print $3}')
  total_pass=$((total_pass + ${p:-0}))
  total_fail=$((total_fail + ${f:-0} + ${c:-0}))
  if [ "$rc" != 0 ]; then failed_runs+=("$name"); fi
}

# Static checks of src/, each counted as a run: no import cycles (madge), no copied code
# above the .jscpd.json threshold (jscpd). Both are pinned devDependencies.
static_check() {
  local name="$1"
  shift
  echo "== $name"
  if "$@"; then total_pass=$((total_pass + 1)); else total_fail=$((total_fail + 1)); failed_runs+=("$name"); fi
}
static_check "import-cycles" npx madge --circular --extensions ts --ts-config tsconfig.json src
static_check "copy-check" npx jscpd -c .jscpd.json
# The tests and scripts type-checked too (tsx runs them without checking types).
static_check "typecheck-tests" npx tsc -p tsconfig.test.json

all=()
for tier in unit int e2e; do
  for f in test/$tier/*.test.ts; do [ -e "$f" ] && all+=("$f"); done
done
behaviour=(test/e2e/stan-*.e2e.test.ts)

run "all-memory-embedded" "${all[@]}"
STAN_TEST_STORE=file run "stan-file" "${behaviour[@]}"
STAN_TEST_STORE=postgres run "stan-postgres" "${behaviour[@]}"
STAN_TEST_STORE=mysql run "stan-mariadb" "${behaviour[@]}"
# Warm followers on MariaDB too (the "all" run above takes PostgreSQL): about 40 s.
STAN_TEST_STORE=mysql run "clustered-warm-mariadb" test/e2e/clustered-warm.e2e.test.ts
STAN_TEST_NATS=external run "stan-external-nats" "${behaviour[@]}"

echo
if [ ${#failed_runs[@]} -gt 0 ]; then
  # CI keeps only the end of the log: repeat each failed test here, with its file, line and
  # error, so a failure on a CI machine can be found without the whole log.
  echo "== failed tests"
  for name in "${failed_runs[@]}"; do
    tap="$log_dir/$name.tap"
    [ -f "$tap" ] || continue
    echo "-- $name"
    # The test's line, then from its YAML block the location, the error (a multi-line error:
    # its first 3 lines) and the failure type.
    awk '/^ *not ok [0-9]+ /{print; n=14; e=0; next}
         n>0{n--; if (e>0){print; e--; next}
             if ($1=="location:" || $1=="failureType:") print
             else if ($1=="error:"){print; if ($2=="|-") e=3}}' "$tap" | head -80
  done
  echo "failed runs: ${failed_runs[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[ ${#failed_runs[@]} -eq 0 ] && [ "$total_fail" -eq 0 ]
