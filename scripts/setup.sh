# Installs what Rollcall needs and is missing. Sourced by ./run and ./test; each function is
# quick when everything is already there.
#
# Debian 12 / Ubuntu 22.04+ with the Rust toolchain, Node.js and npm. System packages come from
# apt-get (as root, or through sudo).

ROLLCALL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Build: the desktop shell's WebKitGTK, GTK, tray and keyring libraries.
BUILD_PACKAGES=(build-essential pkg-config libwebkit2gtk-4.1-dev libgtk-3-dev
  libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev libdbus-1-dev)
# Tests: a virtual display, the desktop WebDriver, Chromium and its driver, sqlite3 for
# comparisons, screenshots, PostgreSQL's server and psql (the district server's tests
# start throwaway clusters of their own: crates/rollcall-store-postgres/src/cluster.rs) and
# openssl for their TLS certificates.
TEST_PACKAGES=(xvfb xauth xdotool webkit2gtk-driver chromium chromium-driver sqlite3 imagemagick
  postgresql openssl)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the given Debian packages that are not installed yet.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "Installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

ensure_rust_components() {
  if command -v rustup >/dev/null 2>&1; then
    for c in rustfmt clippy; do
      rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
    done
  fi
}

ensure_tauri_driver() {
  if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
    say "Installing tauri-driver (desktop WebDriver bridge)"
    cargo install tauri-driver --locked --version '^2'
  fi
  export PATH="$HOME/.cargo/bin:$PATH"
}

# The daily digest's tests send to a real SMTP server: Python's aiosmtpd (from PyPI), started
# by crates/rollcall-server/tests/it/smtp_sink.py. Installed for this user; quick when present.
ensure_aiosmtpd() {
  local python
  python=$(command -v python3) || { ensure_packages python3 python3-pip; python=$(command -v python3); }
  "$python" -c 'import aiosmtpd' 2>/dev/null && return 0
  say "Installing aiosmtpd (the digest tests' SMTP server)"
  "$python" -m pip --version >/dev/null 2>&1 || ensure_packages python3-pip
  "$python" -m pip install --user --quiet aiosmtpd 2>/dev/null ||
    "$python" -m pip install --user --quiet --break-system-packages aiosmtpd
}

# The web UI's packages (exactly as locked) and its build in ui/dist, when out of date.
ensure_ui_built() {
  local ui="$ROLLCALL_ROOT/ui"
  if [ ! -d "$ui/node_modules" ] || [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
    say "Installing the interface's packages"
    (cd "$ui" && npm ci --no-audit --no-fund)
  fi
  if [ ! -f "$ui/dist/index.html" ] || [ -n "$(find "$ui/src" "$ui/index.html" "$ui/package.json" -newer "$ui/dist/index.html" -print -quit 2>/dev/null)" ]; then
    say "Building the interface"
    (cd "$ui" && npm run build)
  fi
}

# ---- Windows (scripts/windows.sh) ----------------------------------------------------------
# The Windows build is cross-compiled with MinGW-w64 and proved under Wine; sqlite3 and curl
# read and feed it from the Linux side. NSIS (makensis) only for the installer.
WINDOWS_PACKAGES=(gcc-mingw-w64-x86-64 wine64 sqlite3 curl)
WINDOWS_TARGET=x86_64-pc-windows-gnu

# Adds Rust's Windows target; returns 1 with a sentence when it cannot be fetched.
ensure_windows_target() {
  if ! command -v rustup >/dev/null 2>&1; then
    echo "The Windows build is skipped: rustup is not installed, so the $WINDOWS_TARGET target cannot be added." >&2
    return 1
  fi
  rustup target list --installed 2>/dev/null | grep -qx "$WINDOWS_TARGET" && return 0
  say "Adding Rust's Windows target ($WINDOWS_TARGET)"
  if ! rustup target add "$WINDOWS_TARGET"; then
    echo "The Windows build is skipped: rustup could not fetch the $WINDOWS_TARGET target (no access to the Rust download server?)." >&2
    return 1
  fi
}
