"""Recording: MIDI and audio takes, Qt-free (the UI drives it through ui/record_controller.py)."""
