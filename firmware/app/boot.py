"""Runs first at every reset: makes the precompiled client and app importable from lib/.

Real boards already search /lib; the Unix port (the virtual board) only searches the working directory.
"""

import sys

if "/lib" not in sys.path and "lib" not in sys.path:
    sys.path.append("lib")
