#!/usr/bin/env bash
# Builds the Python package (the Rust engine inside it) into a virtualenv and runs the email
# example on the embedded SQLite engine, with a local greylisting SMTP server.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
venv="$CARGO_TARGET_DIR/venv-example"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q maturin==1.16.0 aiosmtpd==1.4.6
"$venv/bin/pip" install -q "$root/sdks/python"
cd "$here"
rm -f mailbox.txt
exec "$venv/bin/python" email_sending.py --serve-smtp "$@"
