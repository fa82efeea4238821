#!/usr/bin/env bash
# Makes sure the app has an audio server: if none is usable (no JACK server running,
# no sound card, no PulseAudio/PipeWire), start JACK with the dummy driver, which
# keeps real-time pacing without hardware. It stays running after the app exits;
# stop it with `kill <pid>` (the PID is printed and written to the pid file).
set -euo pipefail

RATE=${STRUMSPACE_JACK_RATE:-48000}
PERIOD=${STRUMSPACE_JACK_PERIOD:-256}
RUN_DIR=${XDG_RUNTIME_DIR:-/tmp}
LOG="$RUN_DIR/strumspace-jackd.log"
PID_FILE="$RUN_DIR/strumspace-jackd.pid"

jack_running() {
    # jack_wait -c never starts a server; it prints "running" or "not running".
    [[ $(jack_wait -c 2>/dev/null) == running ]]
}

has_sound_card() {
    [[ -r /proc/asound/cards ]] && grep -q '^ *[0-9]' /proc/asound/cards
}

has_sound_server() {
    local dir=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}
    [[ -S $dir/pulse/native || -S $dir/pipewire-0 ]]
}

if ! command -v jackd >/dev/null 2>&1; then
    echo "start-jack: jackd is not installed (run installer/setup-system.sh)." >&2
    exit 1
fi
if jack_running; then
    echo "start-jack: a JACK server is already running; using it."
    exit 0
fi
if has_sound_card || has_sound_server; then
    echo "start-jack: a sound card or sound server is available; not starting JACK."
    exit 0
fi

echo "start-jack: no audio hardware or server; starting JACK (dummy driver, $RATE Hz, $PERIOD frames)."
# setsid + nohup: the server outlives this shell and make, and ignores its hang-up.
setsid nohup jackd -R -P 70 -d dummy -r "$RATE" -p "$PERIOD" >"$LOG" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PID_FILE"
if ! jack_wait -w -t 10 >/dev/null; then
    echo "start-jack: JACK did not start within 10 s; its log ($LOG):" >&2
    tail -n 20 "$LOG" >&2 || true
    kill "$pid" 2>/dev/null || true
    exit 1
fi
echo "start-jack: JACK is running (pid $pid, log $LOG); stop it with: kill $pid"
