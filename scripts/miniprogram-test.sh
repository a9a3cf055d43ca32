#!/usr/bin/env bash
# Every test of the mini-program (miniprogram/): npm ci from the committed
# lock file, DevTools' "build npm" (scripts/build-npm.js), jest (pages and
# components in miniprogram-simulate, the request module, wcc/wcsc compile
# checks, the contract test against the real Go server, rendering every
# page), then Chromium screenshots with the elder-friendly checks.
# Screenshots land in miniprogram/test-artifacts/*.png.
set -euo pipefail
cd "$(dirname "$0")/../miniprogram"
start=$(date +%s)

npm ci --no-audit --no-fund --loglevel=error

apt_install() { # packages…
  if ! command -v apt-get >/dev/null; then echo "miniprogram-test: need $* (no apt-get here)" >&2; return 1; fi
  apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "$@" >/dev/null; }
}
if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "miniprogram-test: installing chromium"
  apt_install chromium
fi
if command -v fc-list >/dev/null && ! fc-list | grep -qi 'CJK'; then
  echo "miniprogram-test: installing fonts-noto-cjk (Chinese renders as boxes without it)"
  apt_install fonts-noto-cjk
fi

node scripts/build-npm.js
npx jest --runInBand
node scripts/seen.js
echo "miniprogram-test: passed in $(( $(date +%s) - start )) s"
