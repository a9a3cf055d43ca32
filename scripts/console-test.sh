#!/usr/bin/env bash
# Every test of the staff console (internal/console/): npm ci from the
# committed lock file, unit tests of the front end's little logic, a fresh
# Vite build that must equal the committed dist/ byte for byte (the Go
# server embeds dist/), then playwright-core driving Debian's Chromium
# against the real server in its embedded default. Screenshots land in
# internal/console/test-artifacts/*.png.
set -euo pipefail
cd "$(dirname "$0")/../internal/console"
start=$(date +%s)

npm ci --no-audit --no-fund --loglevel=error

apt_install() { # packages…
  if ! command -v apt-get >/dev/null; then echo "console-test: need $* (no apt-get here)" >&2; return 1; fi
  apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "$@" >/dev/null; }
}
if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "console-test: installing chromium"
  apt_install chromium
fi
if command -v fc-list >/dev/null && ! fc-list | grep -qi 'CJK'; then
  echo "console-test: installing fonts-noto-cjk (Chinese renders as boxes without it)"
  apt_install fonts-noto-cjk
fi

node --test tests/unit/

# The committed build must be what the lock file builds.
npx vite build --logLevel error
if ! git diff --quiet --exit-code -- dist || [ -n "$(git ls-files --others --exclude-standard -- dist)" ]; then
  echo "console-test: internal/console/dist differs from a fresh build; run 'npm ci && npx vite build' in internal/console and commit dist/" >&2
  git status --short -- dist >&2
  exit 1
fi

node tests/browser/run.js
echo "console-test: passed in $(( $(date +%s) - start )) s"
