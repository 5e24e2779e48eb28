#!/usr/bin/env bash
# Everything the tests need, on a bare machine: the Python packages (requirements-test.txt, into the
# active Python), Debian's Chromium and npm where they are
# missing (Playwright's own browser download is not reachable everywhere), then onnxruntime-web for the
# browser page (npm ci in web/). The README's test command is
#     bash tests/install.sh && python -m pytest
# and .ci/run runs exactly that. Installing a system package needs root (or password-less sudo); without
# either, this says what to run and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet -r requirements-test.txt

# System packages the tests need: Chromium (where facegan.app.serve looks for it) and npm (for web/)
browser="${FACEGAN_CHROMIUM:-/usr/bin/chromium}"
missing=()
[ -x "$browser" ] || missing+=(chromium)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null; then
        echo "tests/install.sh: the tests need ${missing[*]} and there is no apt-get here: install them (for" \
             "Chromium set FACEGAN_CHROMIUM to its path, e.g. after python -m playwright install chromium)" >&2
        exit 1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        sudo=()
    elif sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        echo "tests/install.sh: the tests need ${missing[*]}: run  sudo apt-get install -y ${missing[*]}  and again" >&2
        exit 1
    fi
    echo "installing ${missing[*]} (apt) for the browser tests"
    "${sudo[@]}" apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# onnxruntime-web for the browser page's test, exactly as web/package-lock.json pins it
(cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
