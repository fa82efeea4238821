"""Command line for the StrumSpace cloud service (`strumspace-cloud`).

Only the skeleton exists so far: the server itself arrives with the cloud
issue. `serve` says so plainly instead of pretending to run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cloud import __version__

# Usage errors and "not available" both exit 2, like argparse itself.
EXIT_UNAVAILABLE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="strumspace-cloud",
        description="StrumSpace cloud service: relay, projects, catalogue and analysis API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "serve",
        help="run the cloud server (not implemented yet)",
        description="Run the cloud server. Not implemented yet.",
    )
    return parser


def _serve() -> int:
    print(
        "strumspace-cloud serve: the cloud server is not implemented yet; "
        "it will arrive with the cloud work. Nothing was started.",
        file=sys.stderr,
    )
    return EXIT_UNAVAILABLE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve()
    parser.print_help(sys.stderr)
    return EXIT_UNAVAILABLE


if __name__ == "__main__":
    raise SystemExit(main())
