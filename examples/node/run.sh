#!/usr/bin/env bash
# Builds the Node package (the Rust engine inside it) and runs the email example on the embedded
# SQLite engine, with a local greylisting SMTP server.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cd "$here"
# npm install runs reseolio's install script (allowed in package.json), which builds the addon
# with cargo.
npm install --no-audit --no-fund --loglevel=error
rm -f mailbox.txt
exec node email-sending.mjs --serve-smtp "$@"
