#!/bin/sh
# Opens a run's report.html in headless Chromium (Debian's `chromium`) and saves a screenshot.
#   scripts/screenshot-report.sh RUN_DIR [OUT.png] [HEIGHT]
# Needs: apt-get install chromium. The flags keep Chromium off the network (this machine has
# none) and out of any profile.
set -eu
dir=${1:?usage: scripts/screenshot-report.sh RUN_DIR [OUT.png] [HEIGHT]}
out=${2:-$dir/report-screenshot.png}
height=${3:-3000}
page="$(realpath "$dir")/report.html"
[ -f "$page" ] || { echo "no report.html in $dir (habench report $dir writes one)" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1100,"$height" \
  --screenshot="$(realpath -m "$out")" "file://$page" 2>/dev/null
echo "$out"
