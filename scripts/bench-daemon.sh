#!/usr/bin/env bash
# Measures the daemon as it runs for real (docs/performance.md, "The daemon"): a release
# `sesamed serve` started by socket activation (systemd-socket-activate passes the
# listening sockets, as systemd does), the sample card in a vpcd reader of a private
# pcscd, and the reference IdP. It reports
#   - the time from the first connection to the first answer (activation included),
#   - the daemon's RSS when idle, and after N logins (default 100),
#   - the median and 90th percentile of a whole login with curl (IdP /login to the IdP's
#     verified page: TLS, consent page, CAN, PACE, CA, reads, PA, assertion, verification),
#   - the median of a whole login in headless Chromium, by keyboard (tests/benches/),
#   - a counter's card-to-screen time with a 16 KB photo (tests/benches/counter.rs).
#   bash scripts/bench-daemon.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh
n=${1:-100}

sesame_install_packages curl ca-certificates systemd
echo "==> building (release)"
cargo build --locked -q --release -p sesame-daemon -p sesame-emulator -p sesame-idp --bins
bin="${CARGO_TARGET_DIR:-target}/release"
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sesame_stop_pcscd
    rm -rf "$work"
}
trap cleanup EXIT
sesame_start_pcscd
"$bin"/sesame-card run --vpcd "127.0.0.1:$SESAME_VPCD_PORT" --connect-timeout 10 >/dev/null 2>&1 &
pids+=($!)

port=24829
idp_port=18929
mkdir -p "$work/csca"
cp protocol/tests/data/pa/csca-ec.der "$work/csca/"
cat >"$work/sesamed.toml" <<TOML
developer_mode = true
csca_dir = "$work/csca"
readers = ["Sesame vpcd 00 00"]
[[idp]]
origin = "http://localhost:$idp_port"
name = "Bench IdP"
TOML
"$bin"/sesame-idp --csca "$work/csca" --listen "127.0.0.1:$idp_port" \
    --daemon "https://127.0.0.1:$port" >/dev/null 2>&1 &
pids+=($!)

# Make the state (keys, certificates) once, so activation measures a warm start.
"$bin"/sesamed --state-dir "$work/state" trust show >/dev/null
systemd-socket-activate -E PCSCLITE_CSOCK_NAME -l "127.0.0.1:$port" -l "[::1]:$port" \
    env SESAME_LOG=warn "$bin"/sesamed --config "$work/sesamed.toml" --state-dir "$work/state" serve \
    2>"$work/daemon.log" &
daemon_pid=$!
pids+=($daemon_pid)
for _ in $(seq 1 100); do ss -ltn | grep -q ":$port\b" && break; sleep 0.05; done
first=$(curl -sS -o /dev/null --cacert "$work/state/tls/ca.pem" -w '%{time_total}' \
    "https://127.0.0.1:$port/v1/status")
echo "first answer after socket activation: $(python3 -c "print(round($first * 1000, 1))") ms"
rss() { awk '/VmRSS/ {print $2}' "/proc/$daemon_pid/status"; }
# Wait for a card in the reader before the first login.
for _ in $(seq 1 100); do
    curl -sS --cacert "$work/state/tls/ca.pem" "https://127.0.0.1:$port/v1/status" | grep -q '"card_present":true' && break
    sleep 0.1
done
curl -sS --cacert "$work/state/tls/ca.pem" "https://127.0.0.1:$port/v1/status" | grep -q '"card_present":true' \
    || { echo "no card in the reader:"; curl -sS --cacert "$work/state/tls/ca.pem" "https://127.0.0.1:$port/v1/status"; cat "$work/daemon.log"; exit 1; }
sleep 1
idle=$(rss)
echo "RSS idle: $idle KiB"
: >"$work/times"
for i in $(seq 1 "$n"); do
    start=$(date +%s.%N)
    sesame_curl_login "http://localhost:$idp_port" "https://127.0.0.1:$port" "$work/state/tls/ca.pem" 123456 "$work"
    end=$(date +%s.%N)
    grep -q 'Identity verified' "$work/result.html" || { echo "login $i failed:"; sed 's/<[^>]*>//g' "$work/result.html"; cat "$work/daemon.log"; exit 1; }
    echo "$start $end" >>"$work/times"
done
after=$(rss)
echo "RSS after $n logins: $after KiB ($(( after - idle )) KiB more than idle)"
python3 - "$work/times" <<'PY'
import statistics, sys
t = sorted((float(b) - float(a)) * 1000 for a, b in (l.split() for l in open(sys.argv[1])))
print(f"login with curl: median {statistics.median(t):.1f} ms, p90 {t[int(len(t) * 0.9) - 1]:.1f} ms, n={len(t)}")
PY

# The whole login in headless Chromium, in its own daemon (in the bench's process) on the
# second vpcd reader.
sesame_install_packages chromium
export SESAME_TEST_VPCD_PORTS=$((SESAME_VPCD_PORT + 1))
cargo bench --locked -q -p sesame-tests --bench browser_flow 2>/dev/null | grep '^browser login'
cargo bench --locked -q -p sesame-tests --bench counter 2>/dev/null | grep '^counter card-to-screen'
