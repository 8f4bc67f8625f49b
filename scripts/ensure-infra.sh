#!/usr/bin/env bash
# Make sure RabbitMQ (with the management plugin nameko's test fixtures need) and,
# when asked, PostgreSQL are installed and running; "chromium" installs Debian's Chromium, its
# driver and npm for the console's browser tests. Safe to run again and again.
#   scripts/ensure-infra.sh rabbitmq postgres chromium
set -euo pipefail

want_rabbit=0; want_pg=0; want_chromium=0
for arg in "$@"; do
  case "$arg" in
    rabbitmq) want_rabbit=1 ;;
    postgres) want_pg=1 ;;
    chromium) want_chromium=1 ;;
    *) echo "unknown component: $arg" >&2; exit 2 ;;
  esac
done

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "$@"
}

if [ "$want_rabbit" = 1 ]; then
  if ! command -v rabbitmq-server >/dev/null 2>&1 && ! port_open 5672; then
    echo "RabbitMQ is missing: installing it"
    apt_install rabbitmq-server
  fi
  if command -v rabbitmq-plugins >/dev/null 2>&1; then
    # --offline writes the enabled-plugins file even when the node is down.
    as_root rabbitmq-plugins enable --offline rabbitmq_management >/dev/null 2>&1 || true
  fi
  if ! port_open 5672; then
    echo "RabbitMQ is stopped: starting it"
    as_root rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
  for _ in $(seq 1 90); do
    if port_open 5672 && port_open 15672; then break; fi
    # A node already running picks the plugin up without a restart.
    if port_open 5672 && command -v rabbitmq-plugins >/dev/null 2>&1; then
      as_root rabbitmq-plugins enable rabbitmq_management >/dev/null 2>&1 || true
    fi
    sleep 1
  done
  port_open 5672 || { echo "RabbitMQ did not come up on 127.0.0.1:5672" >&2; exit 1; }
  port_open 15672 || { echo "RabbitMQ management API did not come up on :15672" >&2; exit 1; }
fi

if [ "$want_pg" = 1 ]; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 && ! port_open 5432; then
    echo "PostgreSQL is missing: installing it"
    apt_install postgresql
  fi
  if ! port_open 5432; then
    echo "PostgreSQL is stopped: starting it"
    cluster_version=$(ls /etc/postgresql | sort -V | tail -n 1)
    as_root pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main start || true
  fi
  for _ in $(seq 1 60); do port_open 5432 && break; sleep 1; done
  port_open 5432 || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
  # The tests connect as "postgres" over TCP; a fresh Debian cluster asks for a password there.
  if ! psql "postgresql://postgres@127.0.0.1:5432/postgres" -Atc 'select 1' >/dev/null 2>&1; then
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf | tail -n 1)
    echo "Allowing local trust authentication for the test cluster ($hba)"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main reload
  fi
fi

if [ "$want_chromium" = 1 ]; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "Installing ${missing[*]} for the console's browser tests"
    apt_install "${missing[@]}"
  fi
fi
