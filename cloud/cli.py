"""Command line for the StrumSpace cloud service (`strumspace-cloud`)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from cloud import __version__

# Usage errors exit 2, like argparse itself; failures of a command exit 1.
EXIT_USAGE = 2
EXIT_FAILED = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="strumspace-cloud",
        description=(
            "StrumSpace cloud service: accounts and auth, projects with live sync over "
            "WebSockets, blobs and chord analysis (the jam relay and the clip catalogue are "
            "to come). With no DATABASE_URL it runs its own PostgreSQL in "
            "STRUMSPACE_CLOUD_DATA."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config", type=Path, help="TOML settings file (also STRUMSPACE_CLOUD_CONFIG)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="run the server (migrates the database first)",
        description="Run the server; with no DATABASE_URL, on an embedded PostgreSQL.",
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8787)")
    worker = commands.add_parser(
        "worker", help="run the maintenance jobs periodically (expired tokens, idle uploads, "
        "orphaned blobs, compaction)",
        description="Run the maintenance jobs every worker_interval_s seconds, on the same "
        "database as serve. Several workers may run at once.",
    )
    worker.add_argument("--once", action="store_true", help="run every job once and exit")
    openapi = commands.add_parser("openapi", help="write the API's OpenAPI schema (JSON)")
    openapi.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    migrate = commands.add_parser("migrate", help="apply (or revert) database migrations")
    migrate.add_argument("revision", nargs="?", default="head", help="target (default: head)")
    migrate.add_argument("--down", action="store_true", help="downgrade to REVISION (e.g. base)")
    backup = commands.add_parser("backup", help="dump the database to a file (pg_dump)")
    backup.add_argument("file", type=Path)
    restore = commands.add_parser("restore", help="replace the database with a dump (pg_restore)")
    restore.add_argument("file", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    if args.command == "openapi":
        # Needs no settings or database: the schema comes from the code alone.
        from cloud import openapi as schema

        schema.write(args.output)
        return 0

    # Imported late: --help and --version stay fast and need no server dependencies.
    from cloud import logs, server
    from cloud.config import load_settings

    overrides = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    try:
        settings = load_settings(args.config, **overrides)
    except (FileNotFoundError, ValueError) as exc:
        print(f"strumspace-cloud: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logs.configure(settings.log_level)
    try:
        if args.command == "serve":
            server.serve(settings)
        elif args.command == "worker":
            server.worker(settings, args.once)
        elif args.command == "migrate":
            at = server.migrate(settings, args.revision, args.down)
            print(f"database at revision {at or 'base'}")
        elif args.command == "backup":
            server.backup(settings, args.file)
        elif args.command == "restore":
            if not args.file.is_file():
                print(f"strumspace-cloud: no such file: {args.file}", file=sys.stderr)
                return EXIT_USAGE
            server.restore(settings, args.file)
    except subprocess.CalledProcessError as exc:
        print(f"strumspace-cloud: {exc.cmd[0]} failed: {exc.stderr}", file=sys.stderr)
        return EXIT_FAILED
    except RuntimeError as exc:
        print(f"strumspace-cloud: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
