"""`python -m installer.briefcase <briefcase arguments>`: run Briefcase on our app.

Writes build/briefcase/ (see installer/briefcase_config.py) and runs
`briefcase <arguments>` there, so for example

    .venv/bin/python -m installer.briefcase dev --no-isolation   # the app, from this venv
    .venv/bin/python -m installer.briefcase create linux system
    .venv/bin/python -m installer.briefcase build linux system
    .venv/bin/python -m installer.briefcase package linux system

Briefcase's own output lands in build/briefcase/build/ and build/briefcase/dist/.
With no arguments it only writes the staging folder and prints where it is.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from installer.briefcase_config import BriefcaseConfigError, stage

# `briefcase dev` installs the requirements with `pip install --upgrade`, which would
# replace the CPU build of torch we install (torch==2.13.0) with the newest CUDA build.
PINNED_IN_DEV = ("torch",)


def _dev_constraints(staging_dir: Path) -> Path | None:
    """A pip constraints file that keeps the installed builds of PINNED_IN_DEV."""
    pins = []
    for name in PINNED_IN_DEV:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    if not pins:
        return None
    path = staging_dir / "dev-constraints.txt"
    path.write_text("\n".join(pins) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        staged = stage()
    except (BriefcaseConfigError, OSError) as exc:
        print(f"installer.briefcase: {exc}", file=sys.stderr)
        return 2
    if not args:
        print(f"Wrote {staged.pyproject}; pass Briefcase arguments to run it there.")
        return 0
    env = dict(os.environ)
    if args[0] == "dev":
        constraints = _dev_constraints(staged.staging_dir)
        if constraints is not None:
            env["PIP_CONSTRAINT"] = str(constraints)
    # The same interpreter, so Briefcase comes from the environment that ran us.
    return subprocess.call([sys.executable, "-m", "briefcase", *args],
                           cwd=staged.staging_dir, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
