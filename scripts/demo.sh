#!/usr/bin/env bash
# The main job on its embedded default (README): no hardware needed. It installs what it
# needs on a fresh Debian machine, builds Sésame, starts a private pcscd with the
# vsmartcard vpcd driver, plugs the sample identity card into it, and shows what a user
# sees: the reader list, a probe of the card, and the document read with its CAN
# (PACE, Chip Authentication, Passive Authentication against the sample's test CSCA).
#
# The browser flow (consent page, reference IdP) plugs into the same places as the later
# issues land.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

sesame_install_packages
echo "==> building"
cargo build --locked -q -p sesame-daemon -p sesame-emulator --bins
bin="${CARGO_TARGET_DIR:-target}/debug"
card_pid=
cleanup() {
    [ -n "$card_pid" ] && kill "$card_pid" 2>/dev/null || true
    sesame_stop_pcscd
}
trap cleanup EXIT
sesame_start_pcscd

echo "==> plugging the virtual card into vpcd (port $SESAME_VPCD_PORT)"
"$bin"/sesame-card run --vpcd "127.0.0.1:$SESAME_VPCD_PORT" --connect-timeout 10 &
card_pid=$!
for _ in $(seq 1 50); do
    "$bin"/sesamed readers 2>/dev/null | grep -q "card present" && break
    sleep 0.2
done

echo "==> sesamed readers"
"$bin"/sesamed readers
echo "==> sesamed probe"
"$bin"/sesamed probe --repeat 50
echo "==> sesamed read (CAN 123456 on standard input)"
echo 123456 | "$bin"/sesamed read --csca protocol/tests/data/pa/masterlist
