# Shared glue of the measurement scripts (sourced): the server binaries, a private work folder
# removed on exit, running PostgreSQL tools as the server user, and a `single` server that
# habench starts and stops.
bindir=${HABENCH_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p results
work=$(mktemp -d)
chmod 755 "$work"
trap 'kill -TERM ${topo_pid:-0} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi
# The pgbench script of the calibration INSERT (the statement habench's insert workload runs).
printf '\\set n 100\nINSERT INTO mbox.calib (payload) VALUES (repeat('"'"'x'"'"', :n));\n' > "$work/insert.sql"
chmod 644 "$work/insert.sql"

# start_single BIN [topology flags...]: sets topo_pid, port, pm (postmaster pid) and dsn.
start_single() {
  local bin=$1; shift
  rm -f "$work/topo.json"
  "$bin" topology up single "$@" > "$work/topo.json" 2>"$work/topo.err" &
  topo_pid=$!
  until [ -s "$work/topo.json" ]; do kill -0 $topo_pid || { cat "$work/topo.err"; exit 1; }; sleep 0.1; done
  read -r port pm < <(python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["nodes"][0]; print(n["port"], n["pid"])' "$work/topo.json")
  dsn="host=127.0.0.1 port=$port user=postgres dbname=postgres"
}

stop_single() {
  kill -TERM "$topo_pid"; wait "$topo_pid" || true
}
