"""Model runtimes shared by the desktop and the cloud: no Qt, no audio devices."""
