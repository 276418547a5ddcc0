#!/usr/bin/env bash
# Vendor the web app's JavaScript from npm into the Python package (no CDN at run time:
# ward networks block them). Run after changing package.json; commit the copied files so that
# `pip install` needs no npm.
#
#   scripts/vendor_assets.sh          # npm ci (package-lock.json), then copy
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
out=src/ruxtrack/web/static/vendor
mkdir -p "$out" tests/web/assets
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx.min.js"
cp node_modules/echarts/dist/echarts.min.js "$out/echarts.min.js"
cp node_modules/htmx.org/LICENSE "$out/htmx.LICENSE"
cp node_modules/echarts/LICENSE "$out/echarts.LICENSE"
# axe-core is for the accessibility tests only; it is not served by the app.
cp node_modules/axe-core/axe.min.js tests/web/assets/axe.min.js
{
  echo "# Vendored by scripts/vendor_assets.sh from package-lock.json"
  node -e 'const l=require("./package-lock.json");for(const n of ["htmx.org","echarts","axe-core"]){console.log(n+" "+l.packages["node_modules/"+n].version)}'
} > "$out/VERSIONS.txt"
echo "vendored into $out"
