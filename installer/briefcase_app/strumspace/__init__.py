"""Briefcase launch package for StrumSpace.

Briefcase starts an app by running `python -m <app name>`, and it insists that the
app's sources contain a package of that name. Our app is called "strumspace" but
its code lives in `strumspace_desktop`; this tiny package bridges the two.
"""
