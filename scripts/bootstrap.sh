#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for loglane: system packages (as root), then a
# virtualenv in .venv with loglane and its test tools. Idempotent: re-running is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_MAJOR=$(sed -n 's/^POSTGRES_MAJOR=//p' loglane/stack/artifacts.env)
need=()
command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
[ -x "/usr/lib/postgresql/${PG_MAJOR}/bin/postgres" ] || need+=("postgresql-${PG_MAJOR}")
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing system packages: ${need[*]}; install them (sudo apt-get install ${need[*]}) and re-run" >&2
    exit 1
  fi
  # The stack runs its own PostgreSQL cluster; the package's default one would take port 5432.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/loglane.conf
  echo "bootstrap: apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.installed-from
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e '.[test]'
  echo "$want" > "$stamp"
fi
echo "bootstrap: ready (.venv/bin/loglane)"
