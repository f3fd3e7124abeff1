#!/usr/bin/env bash
# The test command (README): on a fresh Debian machine it installs what the tests need,
# starts a private pcscd with the vsmartcard vpcd driver, checks formatting and lints,
# runs every test (those through pcscd included), and stops pcscd.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

# Headless Chromium for the browser tests of the redirect flow; systemd-analyze and
# systemd-socket-activate for the units and socket activation; certutil for
# `sesamed trust`; curl for the demo check and the activation test.
sesame_install_packages chromium systemd libnss3-tools curl ca-certificates
# axe-core, the accessibility checker the browser tests run in Chromium (pinned by
# tests/js/package-lock.json; integrity-checked by npm). This machine kind has Node.js;
# Debian's npm is the fallback.
command -v npm >/dev/null 2>&1 || sesame_install_packages nodejs npm
echo "==> npm ci (axe-core)"
npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
# Start it once before the tests: a fresh install's first launch sets up its caches, and
# a browser that cannot start at all is better reported here than in a test.
echo "==> chromium $(chromium --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1)"
chromium_probe_dir=$(mktemp -d)
timeout 60 chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
    --disable-dev-shm-usage --user-data-dir="$chromium_probe_dir" --dump-dom about:blank \
    </dev/null >/dev/null 2>&1 || echo "warning: chromium did not start once (the browser test will say why)"
rm -rf "$chromium_probe_dir"
trap sesame_stop_pcscd EXIT
sesame_start_pcscd
export SESAME_TEST_VPCD_PORTS="$SESAME_VPCD_PORT,$((SESAME_VPCD_PORT + 1))"
# Tests that need pcscd fail rather than skip when CI is set.
export CI="${CI:-true}"

echo "==> cargo fmt --check"
cargo fmt --all --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> fuzz targets build"
cargo check --manifest-path fuzz/Cargo.toml --locked --bins -q
echo "==> doc tests"
cargo test --workspace --locked --doc
echo "==> tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast --lib --bins --tests
fi
echo "==> the README's main job, checked: scripts/demo.sh --check"
bash scripts/demo.sh --check
