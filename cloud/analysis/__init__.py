"""Chord analysis on the cloud side: the JSON schema shared with `strumspace analyze`."""
