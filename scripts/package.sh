#!/usr/bin/env bash
# Builds the installable desktop app: a .deb under target/package/release/bundle/deb/ (other
# formats Tauri makes, such as appimage, download their tools from GitHub while building). The web UI goes inside as a resource (src-tauri/tauri.bundle.json),
# so an installed Rollcall needs no checkout. Development builds (./run, ./test) do not carry
# it and serve ui/dist from the checkout instead.
#
#   scripts/package.sh              the .deb
#   scripts/package.sh deb,appimage also an AppImage (needs GitHub access)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

bundles=${1:-deb}
ensure_packages "${BUILD_PACKAGES[@]}" file
ensure_ui_built
say "Building the desktop app and its installers ($bundles)"
# Stripped of debugging information (an installer a fifth of the size), in a target folder
# of its own so the development builds of ./run and ./test are not rebuilt.
export CARGO_TARGET_DIR="$ROLLCALL_ROOT/target/package"
export CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true
# The Tauri command line matching the tauri crate's minor version.
npx --yes @tauri-apps/cli@~2.12 build --config src-tauri/tauri.bundle.json --bundles "$bundles"
say "Installers:"
find "$CARGO_TARGET_DIR/release/bundle" -maxdepth 2 -type f \( -name '*.deb' -o -name '*.AppImage' \) -print
