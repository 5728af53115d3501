"""Test-wide settings, read before any notebook kernel starts (kernels inherit the environment)."""
import os

# Notebooks under test run in the quick profile: seconds each, same code paths as the full runs.
os.environ.setdefault("GANCOURSE_PROFILE", "quick")
# Widgets need a live front end; headless runs show the static figures instead.
os.environ.setdefault("GANCOURSE_NO_WIDGETS", "1")
# A relative dataset root means the folder the tests start in; notebook kernels run in the notebook's
# own folder, so pass them the absolute path.
if os.environ.get("GANCOURSE_DATA"):
    os.environ["GANCOURSE_DATA"] = os.path.abspath(os.path.expanduser(os.environ["GANCOURSE_DATA"]))
