"""The mixer: channel strips with faders, pan, mute/solo, meters and insert effects,
and the master strip (panel.py); small widgets and mappings in the other modules."""

from strumspace_desktop.ui.mixer.panel import MixerDock, MixerPanel

__all__ = ["MixerDock", "MixerPanel"]
