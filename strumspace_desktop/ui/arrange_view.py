"""Kept for imports of the old module: the arrangement now lives in ui/arrange/."""

from strumspace_desktop.ui.arrange import ArrangeView

__all__ = ["ArrangeView"]
