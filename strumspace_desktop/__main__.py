"""`python -m strumspace_desktop`: the app's entry point (also Briefcase's)."""

from strumspace_desktop.cli import main

raise SystemExit(main())
