"""The `strumspace` command: alone it opens the app; subcommands work without Qt.

Qt is imported only inside the function that opens the app, so that command-line
work (and the engine process, which runs as its own interpreter) never loads it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from strumspace_desktop import __version__


def _cmd_devices(args: argparse.Namespace) -> int:
    """List audio devices and MIDI input ports, as the app would see them."""
    import rtmidi

    from strumspace_desktop.audio import devices
    from strumspace_desktop.midi.ports import api_name, list_input_ports, preferred_api

    audio = [d.as_dict() for d in devices.list_devices()]
    api = preferred_api(args.midi_api_for)
    try:
        probe = rtmidi.MidiIn(rtapi=api, name="StrumSpace-list")
        midi = [p.stable_name for p in list_input_ports(probe)]
        probe.delete()
    except rtmidi.SystemError as exc:
        midi = []
        print(f"MIDI is unavailable: {exc}", file=sys.stderr)
    if args.json:
        print(json.dumps({"audio": audio, "midi_api": api_name(api), "midi_inputs": midi}))
        return 0
    print("Audio devices:")
    for d in audio:
        print(f"  [{d['index']}] {d['name']} ({d['host_api']}): "
              f"{d['max_input_channels']} in, {d['max_output_channels']} out, "
              f"{d['default_sample_rate']:.0f} Hz")
    print(f"MIDI inputs ({api_name(api)}):")
    for name in midi or ["(none)"]:
        print(f"  {name}")
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    from strumspace_desktop.ui.app import run_app

    return run_app(screenshot=getattr(args, "screenshot", None))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="strumspace", description="StrumSpace: play, record and write music.")
    parser.add_argument("--version", action="version", version=f"StrumSpace {__version__}")
    parser.set_defaults(func=_cmd_app)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    app = sub.add_parser("app", help="open the app (the default)")
    app.add_argument("--screenshot", metavar="PNG",
                     help="save a screenshot of the main window once it is up, then quit")
    app.set_defaults(func=_cmd_app)
    dev = sub.add_parser("devices", help="list audio devices and MIDI inputs")
    dev.add_argument("--json", action="store_true", help="print JSON")
    dev.add_argument("--midi-api-for", default="JACK Audio Connection Kit",
                     help="the audio host API whose MIDI API to list (default: JACK)")
    dev.set_defaults(func=_cmd_devices)
    _register_optional(sub)
    return parser


def _register_optional(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Subcommands owned by other layers register themselves here."""
    try:
        from strumspace_desktop.core.document import convert_cli
    except ImportError:
        return
    convert_cli.add_parser(sub)
    from strumspace_desktop.analysis import cli as analysis_cli

    analysis_cli.add_parser(sub)
    from strumspace_desktop.generate import cli as generate_cli

    generate_cli.add_parser(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
