#!/usr/bin/env bash
# Installs the real HA engines habench can drive: etcd (Debian's etcd-server) and Patroni with
# its etcd3 extra and psycopg, in a virtual environment made with Debian's /usr/bin/python3 so
# that the servers' OS user can run it (a pyenv python under /root is closed to it); and
# pg_auto_failover (Debian's postgresql-15-auto-failover: the monitor's extension, and
# pg-auto-failover-cli: pg_autoctl); and nftables, for the network shapes of hosts in network
# namespaces (`habench::netns`).
#   scripts/install-ha-engines.sh            # venv in /opt/habench-ha (or $HABENCH_HA_VENV)
# Idempotent: what is there already is kept.
set -euo pipefail
venv=${HABENCH_HA_VENV:-/opt/habench-ha}
if ! command -v etcd >/dev/null 2>&1 && ! [ -x /usr/bin/etcd ]; then
  apt-get update -q
  # policy-rc.d keeps apt from starting etcd on the default ports where it is set; habench
  # starts its own members on leased ports either way.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server etcd-client
fi
if ! [ -x /usr/bin/pg_autoctl ] || ! [ -f /usr/share/postgresql/15/extension/pgautofailover.control ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15-auto-failover pg-auto-failover-cli
fi
if ! command -v nft >/dev/null 2>&1 && ! [ -x /usr/sbin/nft ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nftables
fi
if ! [ -x /usr/bin/python3 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv
fi
if ! [ -x "$venv/bin/patroni" ]; then
  if ! /usr/bin/python3 -m venv "$venv" 2>/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
    /usr/bin/python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q "patroni[etcd3]" "psycopg[binary]"
fi
chmod -R a+rX "$venv"
echo "etcd: $(command -v etcd || echo /usr/bin/etcd) ($(/usr/bin/etcd --version 2>/dev/null | head -1))"
echo "patroni: $venv/bin/patroni ($("$venv/bin/patroni" --version 2>/dev/null))"
echo "pg_auto_failover: /usr/bin/pg_autoctl ($(/usr/bin/pg_autoctl version 2>/dev/null | head -1))"
echo "nftables: $(command -v nft || echo /usr/sbin/nft) ($(/usr/sbin/nft --version 2>/dev/null))"
