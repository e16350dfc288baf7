#!/usr/bin/env bash
# A bounded fuzz run of the webhook envelope (parsing, signature check, validation).
#
#   scripts/fuzz-short.sh            # 30 s
#   FUZZ_SECONDS=3600 scripts/fuzz-short.sh   # the longer run
#
# cargo-fuzz needs nightly compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept
# them (no nightly install needed). The first build takes several minutes (SQLite is compiled
# with the sanitizer). Inputs that crash are saved in fuzz/artifacts/envelope/; replay one with
# `RUSTC_BOOTSTRAP=1 cargo fuzz run envelope fuzz/artifacts/envelope/<file>` from fuzz/.
# ./test (and so CI) runs it for 20 s; its first build there takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p corpus/envelope
RUSTC_BOOTSTRAP=1 cargo fuzz run envelope corpus/envelope seeds -- \
    -max_total_time="${FUZZ_SECONDS:-30}"
