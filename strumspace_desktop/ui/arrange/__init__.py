"""The arrangement: tracks by timeline with their clips, the chord lane, the ruler
with loop and punch ranges, and the playhead (view.ArrangeView is the widget)."""

from strumspace_desktop.ui.arrange.view import ArrangeView

__all__ = ["ArrangeView"]
