#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (default 60):
#   bash fuzz/run.sh 300
# Uses cargo-fuzz (installed on first use) with the machine's stable toolchain
# (RUSTC_BOOTSTRAP=1 lets it pass the -Z flags libFuzzer builds need). Corpora stay in
# fuzz/corpus/<target>/ and crashes in fuzz/artifacts/<target>/ (both git-ignored);
# replay a crash with `cargo fuzz run <target> fuzz/artifacts/<target>/<file>`.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list); do
    echo "==> $target for ${seconds}s"
    cargo fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048
done
