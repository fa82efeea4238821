"""Run the real entry point, `strumspace_desktop.__main__`, as the main module."""

import runpy

runpy.run_module("strumspace_desktop", run_name="__main__", alter_sys=True)
