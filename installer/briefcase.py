"""`python -m installer.briefcase <briefcase arguments>`: run Briefcase on our app.

Writes build/briefcase/ (see installer/briefcase_config.py) and runs
`briefcase <arguments>` there, so for example

    .venv/bin/python -m installer.briefcase create linux system
    .venv/bin/python -m installer.briefcase build linux system
    .venv/bin/python -m installer.briefcase package linux system

Briefcase's own output lands in build/briefcase/build/ and build/briefcase/dist/.
With no arguments it only writes the staging folder and prints where it is.
"""

from __future__ import annotations

import subprocess
import sys

from installer.briefcase_config import BriefcaseConfigError, stage


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
    # The same interpreter, so Briefcase comes from the environment that ran us.
    return subprocess.call([sys.executable, "-m", "briefcase", *args], cwd=staged.staging_dir)


if __name__ == "__main__":
    raise SystemExit(main())
