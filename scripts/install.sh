#!/usr/bin/env bash
# Quick start, step one: install what wharf needs on a fresh Debian 12 (as root), link the `wharf` command and
# start `wharf serve` with its embedded defaults (SQLite + filesystem under /var/lib/wharf, registry on
# 127.0.0.1:5000, engine on /run/wharf/wharf.sock). Safe to run again: it restarts the server.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/install-deps.sh
ln -sf "$PWD/bin/wharf" /usr/local/bin/wharf

root=${WHARF_ROOT:-/var/lib/wharf}
mkdir -p "$root" /run/wharf
pidfile=/run/wharf/wharf.pid
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  kill -TERM "$(cat "$pidfile")"
  # The supervisor stops the engine (up to 20 s), then the registry (up to 15 s).
  for _ in $(seq 400); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
fi
nohup bin/wharf serve --root "$root" >>/var/log/wharf.log 2>&1 &
echo $! >"$pidfile"

for _ in $(seq 100); do
  if curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
    echo "wharf is running: registry http://127.0.0.1:5000, engine unix:///run/wharf/wharf.sock, logs /var/log/wharf.log"
    exit 0
  fi
  sleep 0.2
done
echo "wharf did not come up; see /var/log/wharf.log" >&2
tail -n 20 /var/log/wharf.log >&2
exit 1
