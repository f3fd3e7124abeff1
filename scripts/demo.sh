#!/usr/bin/env bash
# The main job on its embedded default (README): no hardware needed. It installs what it
# needs on a fresh Debian machine, builds Sésame and runs `sesamed demo`: the daemon on
# https://127.0.0.1:24729, an in-process virtual identity card on a virtual reader, and
# the reference IdP on http://localhost:8080, in one process. Open the IdP in a browser,
# log in, type the CAN it prints (123456). Ctrl-C stops it.
#
#   bash scripts/demo.sh            run the demo (arguments after `--` go to `sesamed demo`)
#   bash scripts/demo.sh --check    run it on free ports, log in once with curl through the
#                                   real HTTPS flow (consent page, CAN, card, IdP), and stop
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

check=
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
[ "${1:-}" = "--" ] && shift

sesame_install_packages curl ca-certificates
echo "==> building"
cargo build --locked -q -p sesame-daemon --bin sesamed
bin="${CARGO_TARGET_DIR:-target}/debug"

if [ -z "$check" ]; then
    exec "$bin"/sesamed demo "$@"
fi

work=$(mktemp -d)
demo_pid=
cleanup() {
    [ -n "$demo_pid" ] && kill "$demo_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
"$bin"/sesamed --state-dir "$work/state" demo --port 0 --idp-port 0 >"$work/out" 2>"$work/log" &
demo_pid=$!
for _ in $(seq 1 100); do grep -q "^  stop" "$work/out" 2>/dev/null && break; sleep 0.1; done
cat "$work/out"
idp=$(sed -n 's/^  open *\(http[^ ]*\)\/ .*/\1/p' "$work/out")
daemon=$(sed -n 's/^  daemon *\(https[^ ]*\)$/\1/p' "$work/out")
can=$(sed -n 's/^  CAN *\([0-9]*\).*/\1/p' "$work/out")
[ -n "$idp" ] && [ -n "$daemon" ] || { echo "the demo did not start:"; cat "$work/log"; exit 1; }
echo "==> log in at $idp with curl"
sesame_curl_login "$idp" "$daemon" "$work/state/tls/ca.pem" "$can" "$work"
grep '^data: {"percent"' "$work/events" | sed 's/^data: /  progress /'
if grep -q 'Identity verified' "$work/result.html"; then
    sed -n 's/.*<dd data-claim="\([a-z_]*\)">\([^<]*\)<.*/  \1: \2/p' "$work/result.html"
    echo "==> demo check passed: logged in through the daemon's HTTPS flow"
else
    echo "demo check failed; the IdP said:"; sed 's/<[^>]*>//g' "$work/result.html" | grep -v '^\s*$'
    echo "daemon log:"; cat "$work/log"
    exit 1
fi
