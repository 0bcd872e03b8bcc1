#!/usr/bin/env bash
# Renders a report.html with headless Chromium to a PNG and checks the page is not blank.
# Usage: scripts/check-report.sh BIN PYTHON WORKDIR
#   BIN: the pullsim binary; PYTHON: a Python with Pillow (the notebook's venv); WORKDIR: scratch.
# Where Chromium is missing it tries Debian's package (CI runs as root), and says so plainly
# when it still cannot render.
set -euo pipefail
bin=$1 python=$2 work=$3
"$bin" run scenarios/multi-arch.toml --out "$work/report-run" --quiet --report
page="$work/report-run/report.html"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 \
    && apt-get install -y -qq chromium >/dev/null 2>&1)) || true
  browser=$(command -v chromium || true)
fi
if [ -z "$browser" ]; then
  echo "== report.html NOT rendered: no Chromium on this machine (apt-get install chromium); the page was written: $page"
  exit 0
fi
png="$work/report.png"
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,2400 \
  --screenshot="$png" "file://$(realpath "$page")" >/dev/null 2>&1
"$python" - "$png" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("L")
lo, hi = im.getextrema()
# A blank page is one colour; the report has text, tables and charts: thousands of pixels
# darker than the background.
marked = sum(1 for v in im.tobytes() if v < 200)
assert hi - lo > 100 and marked > 10000, f"report.png looks blank: extrema {lo}..{hi}, {marked} marked pixels"
print(f"report.html rendered by Chromium: {im.size[0]}x{im.size[1]}, {marked} marked pixels (not blank)")
PY
