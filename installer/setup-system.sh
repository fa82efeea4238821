#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages StrumSpace needs: JACK, ALSA and PortAudio for
# audio, FluidSynth and a General MIDI SoundFont for the instrument, the X11/xcb
# libraries Qt loads, Xvfb for running without a display, Redis for the cloud tests,
# zam-plugins: free VST3 effects for the mixer (the tests load them, and ZamVerb's
# hang on load exercises the plugin timeout), TiMidity++ with the FreePats patches,
# which render one of the chord model's training sets, and Csound, which sings the
# tune of the voice sets (both renderers have tests).
# Quick and silent when everything is already installed (one dpkg-query call), so
# `make run` / `make test` can call it every time.
set -euo pipefail

PACKAGES=(
    jackd2 libportaudio2 libasound2 libasound2-plugins alsa-utils
    fluidsynth libfluidsynth3 fluid-soundfont-gm
    xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xkb1
    libxkbcommon-x11-0 libxcb-cursor0 libegl1 libgl1 libfontconfig1 libdbus-1-3
    redis-server zam-plugins timidity freepats csound
)
# Extra packages for one target (e.g. `make briefcase-dev`: the headers Briefcase checks;
# rendering the chord data, models/chords/DATA.md: `bash installer/setup-system.sh
# timgm6mb-soundfont csound-soundfont opl3-soundfont fluidr3mono-gm-soundfont
# musescore-general-soundfont-small`).
PACKAGES+=("$@")
APT_LINE="apt-get update && apt-get install -y --no-install-recommends ${PACKAGES[*]}"

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-system: this is not a Debian/Ubuntu system (no dpkg-query/apt-get)." >&2
    echo "Install the equivalents of these Debian packages yourself:" >&2
    echo "  ${PACKAGES[*]}" >&2
    exit 1
fi

# Which packages are missing? Debian 13 and Ubuntu 24.04 renamed some libraries with
# a "t64" suffix (libasound2 -> libasound2t64), so either name counts.
candidates=()
for p in "${PACKAGES[@]}"; do candidates+=("$p" "${p}t64"); done
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${candidates[@]}" 2>/dev/null \
    | awk '$2 == "installed" { print $1 }' || true)
missing=()
for p in "${PACKAGES[@]}"; do
    if ! grep -qxF -e "$p" -e "${p}t64" <<<"$installed"; then
        missing+=("$p")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi
echo "setup-system: missing system packages: ${missing[*]}"

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [[ -t 0 ]]; }; then
    # Without a password cached, sudo asks only when someone is at the terminal.
    SUDO=(sudo)
else
    echo "setup-system: need root to install them. Run this, then try again:" >&2
    echo "  sudo sh -c '$APT_LINE'" >&2
    exit 1
fi

# noninteractive: jackd2 otherwise stops to ask about real-time priority.
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
