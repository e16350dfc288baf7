#!/usr/bin/env bash
# Rollcall for Windows, built and proved on Linux: cross-builds the headless rollcall.exe
# (x86_64-pc-windows-gnu, MinGW-w64) and runs it under Wine in a throwaway Wine prefix, as a
# school office PC would: `serve` in its default data folder (Local AppData), signed
# webhooks sent from Linux answered and stored, a duplicate recognised, the live stream
# delivering, Ctrl-C finishing and committing, a restart keeping everything, and `export`
# giving byte for byte the CSV the Linux build gives for the same 1,000 deliveries.
# Any difference stops the script with a sentence and a non-zero exit.
#
#   scripts/windows.sh                 the build and the proof (a step of ./test)
#   scripts/windows.sh --desktop       also `cargo check` the desktop app for Windows
#   scripts/windows.sh --installer     also build the installer (scripts/windows/installer.nsi)
#   scripts/windows.sh --no-proof      build only
#
# Wine proves that Rollcall starts, serves, stores and stops on the Windows API; it says
# nothing about NTFS durability, real Windows file sharing or the desktop window (Wine has
# no WebView2). Those need a Windows PC.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

desktop=false installer=false proof=true
for arg in "$@"; do
  case "$arg" in
    --desktop) desktop=true ;;
    --installer) installer=true ;;
    --no-proof) proof=false ;;
    *) echo "windows.sh: unknown option $arg (use --desktop, --installer or --no-proof)" >&2; exit 2 ;;
  esac
done

ensure_packages "${WINDOWS_PACKAGES[@]}"
$installer && ensure_packages nsis
if ! ensure_windows_target; then
  exit 0
fi

target_dir=${CARGO_TARGET_DIR:-$ROLLCALL_ROOT/target}
# The development profile: the proof needs a working program, not a fast one, and a cold
# release build of the same crates takes several times longer on two cores.
win_exe="$target_dir/$WINDOWS_TARGET/debug/rollcall.exe"
linux_exe="$target_dir/debug/rollcall"
wine=/usr/lib/wine/wine64
shim_dir="$target_dir/windows-shim"

# Installs `$1` silently under Wine in a throwaway prefix, checks what it put where, then
# uninstalls it silently and checks that the programs are gone and the data folder stays.
check_installer() {
  local prefix
  prefix=$(mktemp -d "${TMPDIR:-/tmp}/rollcall-installer.XXXXXX")
  (
    export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
    trap '/usr/lib/wine/wineserver -k 2>/dev/null || true; rm -rf "$WINEPREFIX"' EXIT
    local user_dir programs
    "$wine" wineboot --init > /dev/null 2>&1
    "$wine" "$1" /S
    /usr/lib/wine/wineserver -w
    user_dir=$(find "$prefix/drive_c/users" -mindepth 1 -maxdepth 1 -type d ! -name Public | head -1)
    programs="$user_dir/AppData/Local/Programs/Rollcall"
    for f in rollcall.exe rollcall-desktop.exe WebView2Loader.dll ui/index.html uninstall.exe; do
      [ -f "$programs/$f" ] || { echo "windows.sh: the installer did not install $f." >&2; exit 1; }
    done
    [ -f "$user_dir/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Rollcall.lnk" ] \
      || { echo "windows.sh: the installer made no Start-menu shortcut." >&2; exit 1; }
    mkdir -p "$user_dir/AppData/Local/rollcall" && echo kept > "$user_dir/AppData/Local/rollcall/keep"
    "$wine" "$programs/uninstall.exe" /S
    /usr/lib/wine/wineserver -w
    # The uninstaller copies itself to a temporary folder and removes the programs from there.
    local waited=0
    while [ -e "$programs/rollcall.exe" ] && [ $waited -lt 20 ]; do sleep 0.5; waited=$((waited + 1)); done
    [ ! -e "$programs/rollcall.exe" ] || { echo "windows.sh: the uninstaller left rollcall.exe behind." >&2; exit 1; }
    [ -f "$user_dir/AppData/Local/rollcall/keep" ] \
      || { echo "windows.sh: the uninstaller removed the data folder." >&2; exit 1; }
    echo "The installer installs silently under Wine, and the uninstaller removes the programs and keeps the data folder."
  )
}

say "Windows: building rollcall.exe ($WINDOWS_TARGET)"
cargo build --target "$WINDOWS_TARGET" -p rollcall-cli
if $proof; then
  # The server's unit tests, run under Wine below: among them the settings file replaced while
  # another program holds it (Windows-only behaviour).
  server_tests=$(cargo test --no-run --target "$WINDOWS_TARGET" -p rollcall-server --lib \
    --message-format=json | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
  [ -n "$server_tests" ] || { echo "windows.sh: the server's unit tests did not build for Windows." >&2; exit 1; }
fi

if $desktop; then
  say "Windows: checking the desktop app and the tests compile for Windows"
  cargo check --target "$WINDOWS_TARGET" -p rollcall-desktop
  cargo check --tests --target "$WINDOWS_TARGET" -p rollcall-cli -p rollcall-core -p rollcall-server
fi

if $installer; then
  ensure_ui_built
  say "Windows: building the programs the installer carries (release, without debugging information)"
  CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true \
    cargo build --release --target "$WINDOWS_TARGET" -p rollcall-cli -p rollcall-desktop
  release="$target_dir/$WINDOWS_TARGET/release"
  # A MinGW build of the desktop app loads WebView2Loader.dll at start; webview2-com-sys
  # ships Microsoft's and copies it into its build folder.
  loader=$(find "$release/build" -path '*webview2-com-sys-*/out/x64/WebView2Loader.dll' | head -1)
  [ -n "$loader" ] || { echo "windows.sh: WebView2Loader.dll was not found in $release/build." >&2; exit 1; }
  version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
  setup="$target_dir/windows-installer/Rollcall-$version-setup.exe"
  mkdir -p "$target_dir/windows-installer"
  say "Windows: building the installer"
  makensis -V2 -DVERSION="$version" -DROLLCALL_EXE="$release/rollcall.exe" \
    -DDESKTOP_EXE="$release/rollcall-desktop.exe" -DWEBVIEW2_LOADER="$loader" \
    -DUI_DIR="$ROLLCALL_ROOT/ui/dist" -DICON="$ROLLCALL_ROOT/src-tauri/icons/icon.ico" \
    -DOUTFILE="$setup" scripts/windows/installer.nsi
  check_installer "$setup"
  echo "Installer: $setup ($(( $(stat -c %s "$setup") / 1048576 )) MB)"
fi

$proof || exit 0

# ---------------------------------------------------------------------------------------------
say "Windows: proving rollcall.exe under Wine"
start=$(date +%s)
# The Linux build to compare with (./test has built it already; then this is a no-op).
cargo build -p rollcall-cli

work=$(mktemp -d "${TMPDIR:-/tmp}/rollcall-windows.XXXXXX")
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  [ -d "$WINEPREFIX" ] && /usr/lib/wine/wineserver -k 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo >&2
  echo "THE WINDOWS PROOF FAILED: $*" >&2
  for log in "$work"/*.out "$work"/*.err; do
    [ -s "$log" ] && { echo "--- ${log##*/} (last lines)" >&2; tail -15 "$log" >&2; }
  done
  exit 1
}

secret="windows-proof-$$-$RANDOM"

# Starts `serve` ($1: a name for its logs; the rest: the command line up to `serve` and its
# own options) and waits for its link. Sets pid, webhook_url, ui_base, token, data_folder.
start_serve() {
  local name=$1; shift
  "$@" --webhook-addr 127.0.0.1:0 --ui-addr 127.0.0.1:0 --secret "$secret" \
    > "$work/$name.out" 2> "$work/$name.err" &
  pid=$!
  pids+=("$pid")
  local waited=0
  until grep -q "Open Rollcall: " "$work/$name.out" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || fail "$name stopped before it was running."
    [ $waited -ge 120 ] && fail "$name did not print its link within 60 seconds."
    sleep 0.5; waited=$((waited + 1))
  done
  webhook_url=$(sed -n 's/.*(Settings > Integrations): //p' "$work/$name.out" | tr -d '\r')
  ui_base=$(sed -n 's|.*Open Rollcall: \(http://[^/]*\)/?token=.*|\1|p' "$work/$name.out" | tr -d '\r')
  token=$(sed -n 's|.*Open Rollcall: http://[^/]*/?token=||p' "$work/$name.out" | tr -d '\r')
  data_folder=$(sed -n 's/.*Data folder: //p' "$work/$name.out" | tr -d '\r')
}

# Stops the running `serve` as Ctrl-C does ($1: its name) and checks it finished cleanly.
stop_serve() {
  local name=$1 rc=0
  kill -INT "$pid"
  wait "$pid" || rc=$?
  [ $rc -eq 0 ] || fail "$name did not stop cleanly after Ctrl-C (exit code $rc)."
  grep -q "Stopped. Everything received was saved." "$work/$name.out" \
    || fail "$name stopped without saying that everything received was saved."
}

api() { curl -sf -H "Authorization: Bearer $token" "$ui_base$1"; }
json_number() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

# 1. The Linux build receives a simulated school day of 1,000 signed deliveries (duplicates,
#    late and out-of-order ones included); its delivery log keeps each body as it came.
start_serve linux "$linux_exe" serve --data-dir "$work/linux"
"$linux_exe" simulate --url "$webhook_url" --secret "$secret" --events 1000 \
  > "$work/simulate.out" 2>&1 || fail "rollcall simulate could not send its deliveries."
"$linux_exe" export attendance --data-dir "$work/linux" --output "$work/linux-attendance.csv"
"$linux_exe" export changes --data-dir "$work/linux" --output "$work/linux-changes.csv"
stop_serve linux
linux_db="$work/linux/rollcall.db"
deliveries=$(sqlite3 "$linux_db" "SELECT count(*) FROM deliveries WHERE body IS NOT NULL")
[ "$deliveries" = 1000 ] || fail "the Linux build kept $deliveries delivery bodies, not 1000."
changes=$(sqlite3 "$linux_db" "SELECT count(*) FROM changes")
[ "$changes" -gt 0 ] || fail "the Linux build stored no change from the simulated day."
mkdir "$work/bodies"
sqlite3 "$linux_db" "SELECT writefile('$work/bodies/' || printf('%05d', seq) || '.json', body)
                     FROM deliveries ORDER BY seq" > /dev/null
sqlite3 "$linux_db" "SELECT status FROM deliveries ORDER BY seq" > "$work/linux-statuses.txt"

# 2. rollcall.exe under Wine, in its default data folder. The shim stands in for a DLL that
#    Debian's Wine lacks (scripts/windows/bcryptprimitives.c); it goes into the Wine prefix,
#    never beside the program.
mkdir -p "$shim_dir"
x86_64-w64-mingw32-gcc -O2 -shared -o "$shim_dir/bcryptprimitives.dll" \
  scripts/windows/bcryptprimitives.c scripts/windows/bcryptprimitives.def -ladvapi32
"$wine" wineboot --init > "$work/prefix.out" 2> "$work/prefix.err" \
  || fail "Wine could not make its prefix (a fresh C: drive) in $WINEPREFIX."
cp "$shim_dir/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
"$wine" "$win_exe" --version > "$work/version.out" 2>> "$work/prefix.err" \
  || fail "rollcall.exe does not start under Wine."

"$wine" "$server_tests" > "$work/unit-tests.out" 2>&1 \
  || fail "the server's unit tests fail on Windows (see unit-tests.out)."
unit_tests=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$work/unit-tests.out")

start_serve windows "$wine" "$win_exe" serve
case "$data_folder" in
  *'\AppData\Local\rollcall') ;;
  *) fail "rollcall.exe keeps its data in $data_folder, not in Local AppData." ;;
esac
# C:\users\<name>\AppData\Local\rollcall, seen from Linux.
win_data="$WINEPREFIX/drive_c/$(printf '%s' "${data_folder#?:\\}" | tr '\\' '/')"
[ -d "$win_data" ] || fail "the data folder $data_folder was not made ($win_data)."

# The live stream, held from before the first delivery.
curl -sN -H "Authorization: Bearer $token" "$ui_base/api/stream?after=0" > "$work/stream.txt" &
pids+=("$!")

# 3. The same bodies, in the order the Linux build stored them, one at a time.
bodies=("$work"/bodies/*.json)
config="$work/deliveries.curl"
: > "$config"
for body in "${bodies[@]}"; do
  [ -s "$config" ] && echo next >> "$config"
  printf 'url = "%s"\ndata-binary = "@%s"\nheader = "Content-Type: application/json"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
    "$webhook_url" "$body" >> "$config"
done
curl -s -K "$config" > "$work/windows-statuses.txt" || true
cmp -s "$work/linux-statuses.txt" "$work/windows-statuses.txt" \
  || fail "rollcall.exe answered the 1,000 deliveries differently from the Linux build (compare linux-statuses.txt and windows-statuses.txt: $(diff "$work/linux-statuses.txt" "$work/windows-statuses.txt" | head -4 | tr '\n' ' '))."
accepted=$(grep -c '^200$' "$work/windows-statuses.txt" || true)

# 4. A duplicate: the first delivery again is answered 200 and counted as a duplicate.
duplicates_before=$(api /api/status | sed -n 's/.*"duplicate":\([0-9]*\).*/\1/p')
first_body=${bodies[0]}
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary "@$first_body" "$webhook_url")
[ "$code" = 200 ] || fail "rollcall.exe answered $code to a delivery it already had (200 expected)."
duplicates_after=$(api /api/status | sed -n 's/.*"duplicate":\([0-9]*\).*/\1/p')
[ "${duplicates_after:-0}" -eq $(( ${duplicates_before:-0} + 1 )) ] \
  || fail "rollcall.exe did not recognise a delivery it already had as a duplicate (duplicates: ${duplicates_before:-0} before, ${duplicates_after:-0} after)."

# 5. The stream delivered every change, in order.
last_seq=$(api /api/status | json_number lastChangeSeq)
[ "$last_seq" = "$changes" ] \
  || fail "rollcall.exe stored $last_seq changes where the Linux build stored $changes."
waited=0
until [ "$(grep -c '^event: change' "$work/stream.txt" || true)" -ge "$changes" ]; do
  [ $waited -ge 60 ] && fail "the live stream delivered $(grep -c '^event: change' "$work/stream.txt" || true) of $changes changes within 30 seconds."
  sleep 0.5; waited=$((waited + 1))
done
seq 1 "$changes" > "$work/expected-ids.txt"
grep '^id: ' "$work/stream.txt" | sed 's/^id: //' | tr -d '\r' > "$work/stream-ids.txt"
cmp -s "$work/expected-ids.txt" "$work/stream-ids.txt" \
  || fail "the live stream did not deliver the changes 1 to $changes exactly once and in order."

# 6. Ctrl-C finishes and commits; a restart finds everything.
stop_serve windows
start_serve windows-restart "$wine" "$win_exe" serve
status=$(api /api/status)
[ "$(printf '%s' "$status" | json_number lastChangeSeq)" = "$changes" ] \
  || fail "after a restart rollcall.exe has $(printf '%s' "$status" | json_number lastChangeSeq) changes, not $changes."
[ "$(printf '%s' "$status" | sed -n 's/.*"duplicate":\([0-9]*\).*/\1/p')" = "$duplicates_after" ] \
  || fail "after a restart rollcall.exe counts other duplicates than before it stopped."
stop_serve windows-restart

# 7. The exports: byte for byte the Linux build's. In the change log only `recorded_at`, the
#    time each computer received a delivery, may differ. Wine's own processes of the stopped
#    server wind down after it exits; the exports start once they have (wineserver -w).
/usr/lib/wine/wineserver -w
rc=0
"$wine" "$win_exe" export attendance --output 'C:\attendance.csv' > "$work/export.out" 2> "$work/export.err" \
  || rc=$?
[ $rc -eq 0 ] || fail "rollcall.exe could not export attendance (exit code $rc)."
"$wine" "$win_exe" export changes --output 'C:\changes.csv' >> "$work/export.out" 2>> "$work/export.err" \
  || rc=$?
[ $rc -eq 0 ] || fail "rollcall.exe could not export the change log (exit code $rc)."
cp "$WINEPREFIX/drive_c/attendance.csv" "$work/windows-attendance.csv"
cp "$WINEPREFIX/drive_c/changes.csv" "$work/windows-changes.csv"
rows=$(( $(wc -l < "$work/linux-attendance.csv") - 1 ))
[ "$rows" -gt 0 ] || fail "the Linux build exported no attendance row."
cmp "$work/linux-attendance.csv" "$work/windows-attendance.csv" \
  || fail "the attendance CSV from rollcall.exe differs from the Linux build's."
without_receive_time() {
  sed -E 's/^([0-9]+),[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z,/\1,,/' "$1"
}
cmp <(without_receive_time "$work/linux-changes.csv") <(without_receive_time "$work/windows-changes.csv") \
  || fail "the change log CSV from rollcall.exe differs from the Linux build's (beyond the receive times)."
# The database Windows wrote reads on Linux too, and exports the same.
"$linux_exe" export attendance --data-dir "$win_data" --output "$work/crossed-attendance.csv"
cmp "$work/linux-attendance.csv" "$work/crossed-attendance.csv" \
  || fail "the Linux build exports other attendance from the database rollcall.exe wrote."

echo "Under Wine: the server's $unit_tests unit tests passed; rollcall.exe answered the 1000 deliveries as the Linux build did ($accepted with 200)," \
  "a duplicate recognised, $changes changes streamed in order, a clean stop and restart," \
  "and $rows attendance rows exported byte for byte as on Linux ($(( $(date +%s) - start )) s)."
