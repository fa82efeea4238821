"""The service's OpenAPI schema, as committed in docs/openapi.json.

Regenerate with `strumspace-cloud openapi -o docs/openapi.json` (or
`python -m cloud.openapi -o docs/openapi.json`); a test fails while the file is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REGENERATE = "strumspace-cloud openapi -o docs/openapi.json"


def schema() -> dict[str, Any]:
    from cloud.app import create_app
    from cloud.config import Settings

    # The schema depends on the code only: the app is built but never started, so this
    # URL is never connected to and the data dir is never written.
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url="postgresql://openapi@127.0.0.1:9/none",
                            data_dir=Path(tmp), redis_url=None)
        return create_app(settings).openapi()


def render() -> str:
    # Stable text (fixed indentation, trailing newline) so diffs show real changes only.
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cloud.openapi",
                                     description="Write the OpenAPI schema of the cloud API.")
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    write(args.output)
    return 0


def write(output: Path | None) -> None:
    text = render()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
