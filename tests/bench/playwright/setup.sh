#!/usr/bin/env bash
# setup.sh — install the Playwright baseline of tests/bench/browser_screenshot.py:
# playwright-core (pinned in package.json) into tests/bench/playwright/node_modules,
# and Node from Debian if the machine has none. playwright-core downloads no
# browser: the bench points it at Debian's Chromium, the binary the worker uses.
# Idempotent; prints nothing when all is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "bench setup: installing nodejs and npm from Debian" >&2
    sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
want=$(node -e 'console.log(require(process.argv[1]).dependencies["playwright-core"])' "$here/package.json")
have=$(node -e 'try { console.log(require(process.argv[1]).version) } catch (e) { console.log("") }' \
    "$here/node_modules/playwright-core/package.json")
if [ "$have" != "$want" ]; then
    echo "bench setup: npm install playwright-core@$want into $here/node_modules" >&2
    # No lockfile and no package-lock written: one pinned package, no dependencies of its own.
    (cd "$here" && npm install --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null)
fi
