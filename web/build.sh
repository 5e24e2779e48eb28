#!/usr/bin/env bash
# Builds the static page into web/dist: onnxruntime-web from the npm registry (package-lock.json pins it;
# fetched once, by tests/install.sh or here),
# the shipped generator's graphs and page.json (facegan export --web), and the page. Publish dist/ as a
# static Hugging Face Space, or serve it with any static server: python -m http.server -d web/dist
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules/onnxruntime-web ] || npm ci --no-audit --no-fund --loglevel=error  # tests/install.sh ran it
rm -rf dist && mkdir dist
cp node_modules/onnxruntime-web/dist/ort.wasm.min.js node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm \
   node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.mjs dist/
cp index.html main.js dist/
cp space-README.md dist/README.md  # the static Space's front matter (sdk: static)
(cd .. && python -m facegan export --web web/dist "$@")
