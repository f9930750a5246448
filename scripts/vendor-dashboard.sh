#!/usr/bin/env bash
# Copies the dashboard's chart library, pinned in silo/vendor-npm/package-lock.json, from npm into
# silo/wwwroot/vendor. The copy is committed: running or testing the silo never needs npm or a
# network. Run this only to change the library's version (edit package.json, then run it).
set -euo pipefail
cd "$(dirname "$0")/../silo/vendor-npm"
npm ci --no-audit --no-fund
target=../wwwroot/vendor/uplot
rm -rf "$target"
mkdir -p "$target"
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css node_modules/uplot/LICENSE "$target/"
echo "uplot $(node -p 'require("./node_modules/uplot/package.json").version') copied to silo/wwwroot/vendor/uplot"
