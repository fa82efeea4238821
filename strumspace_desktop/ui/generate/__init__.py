"""The AI generation UI: the Generate panel (dock) and the chord lane's next-chord
hint, both driving the generation worker (strumspace_desktop/generate) through one
`GenerationBridge` per window."""

from strumspace_desktop.ui.generate.bridge import GenerationBridge
from strumspace_desktop.ui.generate.panel import GenerationDock, GenerationPanel
from strumspace_desktop.ui.generate.suggest import ChordSuggester

__all__ = ["ChordSuggester", "GenerationBridge", "GenerationDock", "GenerationPanel"]
