#!/usr/bin/env bash
# Everything the tests need, on a bare machine: the Python packages (requirements-test.txt, into the
# active Python), onnxruntime-web for the browser page (npm ci in web/) and a Chromium for the app's real-browser test (Debian's package, as Playwright's own
# browser download is not reachable everywhere). The README's test command is
#     bash tests/install.sh && python -m pytest
# and .ci/run runs exactly that. Installing a system package needs root (or password-less sudo); without
# either, this says what to run and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet -r requirements-test.txt
if command -v npm >/dev/null; then  # onnxruntime-web for the browser page's test (web/package-lock.json)
    (cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
else
    echo "tests/install.sh: the browser page's test needs npm (Debian: apt-get install -y npm)" >&2
    exit 1
fi

browser="${FACEGAN_CHROMIUM:-/usr/bin/chromium}"  # where facegan.app.serve looks for it
if [ -x "$browser" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "tests/install.sh: no Chromium at $browser and no apt-get here: install Chromium and set FACEGAN_CHROMIUM" \
         "to its path (or run: python -m playwright install chromium, then point FACEGAN_CHROMIUM at it)" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "tests/install.sh: the browser test needs Chromium: run  sudo apt-get install -y chromium  and again" >&2
    exit 1
fi
echo "installing chromium (apt) for the app's browser test"
"${sudo[@]}" apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >/dev/null
