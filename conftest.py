"""Test-wide settings, read before any notebook kernel starts (kernels inherit the environment)."""
import os

# Notebooks under test run in the quick profile: seconds each, same code paths as the full runs.
os.environ.setdefault("GANCOURSE_PROFILE", "quick")
# Widgets need a live front end; headless runs show the static figures instead.
os.environ.setdefault("GANCOURSE_NO_WIDGETS", "1")
