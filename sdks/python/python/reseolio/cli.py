"""The package's command line: ``reseolio ui`` serves the dashboard and /metrics of a database
(the engine inside the package, no separate download) until Ctrl-C or SIGTERM.

Exit codes: 0 stopped, 2 bad usage or input, 1 anything else."""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from typing import List, Optional

from . import _native
from .errors import InvalidArgumentError, ReseolioError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reseolio", description="Reseolio from the Python package.")
    commands = p.add_subparsers(dest="command", required=True)
    ui = commands.add_parser(
        "ui",
        help="serve the dashboard and /metrics of a database",
        description="Serves the Reseolio dashboard and /metrics on http://127.0.0.1:7780 over the "
        "database at --db. Any host but a loopback one needs --token.",
    )
    ui.add_argument(
        "--db",
        default=os.environ.get("RESEOLIO_DB", "sqlite://./reseolio.db"),
        help="a storage URL (sqlite://PATH, postgres://...) or a SQLite path "
        "(default: $RESEOLIO_DB or sqlite://./reseolio.db)",
    )
    ui.add_argument("--port", type=int, default=7780, help="the port (0 picks one)")
    ui.add_argument("--host", default="127.0.0.1", help="the IP address to listen on")
    ui.add_argument("--token", default=os.environ.get("RESEOLIO_UI_TOKEN"), help="require this token")
    ui.add_argument("--read-only", action="store_true", help="refuse every action")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the command line; returns the exit code (the console script exits with it)."""
    args = _parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(f"reseolio: --port must be from 0 to 65535, got {args.port}", file=sys.stderr)
        return 2
    stop = threading.Event()
    # Handlers first, so that a signal during start-up is not lost.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server = _native.ui_serve(args.db, args.host, args.port, args.token, args.read_only)
    except InvalidArgumentError as e:
        print(f"reseolio: {e}", file=sys.stderr)
        return 2
    except ReseolioError as e:
        print(f"reseolio: {e}", file=sys.stderr)
        return 1
    suffix = ", read-only" if args.read_only else ""
    shown = re.sub(r"^([a-z]+://[^:/@]+):[^@]*@", r"\1:***@", args.db, flags=re.IGNORECASE)
    print(f"reseolio dashboard on http://{server.address} (storage {shown}{suffix})", file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    server.close()
    return 0


def console() -> None:
    """The ``reseolio`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    console()
