"""`edgenats device flash`: write a MicroPython image to a board.

ESP boards: the image's chip is read with `esptool image-info` and must match the board profile, then
esptool erases the flash and writes the image. Pico boards boot from a UF2 copied onto their BOOTSEL
drive: the image's UF2 family is checked and the copy step is explained, since no serial tool can do it.
"""

from __future__ import annotations

import re
import shlex
import struct
import subprocess
import sys
from pathlib import Path

from edgenats.device.boards import Board, DeviceError, check_port
from edgenats.device.tools import require_tools

UF2_MAGIC = (0x0A324655, 0x9E5D5157)
UF2_FAMILY_FLAG = 0x2000
ESPTOOL_TIMEOUT = 600


def esptool(*args: str) -> list[str]:
    return [sys.executable, "-m", "esptool", *args]


def image_chip(image: Path) -> str:
    """The chip an ESP image was built for, e.g. 'esp32' (from the image header, via esptool)."""
    done = subprocess.run(esptool("image-info", str(image)), capture_output=True, text=True, timeout=60)
    found = re.search(r"Detected image type: (\S+)", done.stdout + done.stderr)
    if done.returncode != 0 or not found:
        raise DeviceError(f"{image} is not an ESP firmware image esptool can read:\n"
                          f"{(done.stdout + done.stderr).strip()}")
    return found.group(1).lower().replace("-", "")


def uf2_family(image: Path) -> int | None:
    """The family id in the first UF2 block, or None if the file is not a UF2 image."""
    with open(image, "rb") as f:
        block = f.read(512)
    if len(block) < 512 or struct.unpack_from("<II", block) != UF2_MAGIC:
        return None
    flags, family = struct.unpack_from("<I", block, 8)[0], struct.unpack_from("<I", block, 28)[0]
    return family if flags & UF2_FAMILY_FLAG else 0


def write_command(board: Board, port: str, image: Path) -> list[list[str]]:
    fw = board.firmware
    common = ["--chip", fw["chip"], "--port", port, "--baud", str(fw["baud"])]
    return [esptool(*common, "erase-flash"), esptool(*common, "write-flash", fw["offset"], str(image))]


def flash(board: Board, port: str, image: Path, dry_run: bool = False, out=print) -> None:
    fw = board.firmware
    if not image.is_file():
        raise DeviceError(f"firmware image {image} does not exist; get {fw.get('image', 'one')} from "
                          f"{fw.get('url', 'micropython.org/download')}")
    if fw["format"] == "uf2":
        family = uf2_family(image)
        if family is None:
            raise DeviceError(f"{image} is not a UF2 image; board {board.name} needs {fw['image']}")
        if family != int(fw["uf2_family"], 16):
            raise DeviceError(f"{image} is for UF2 family {family:#010x}, board {board.name} needs "
                              f"{fw['uf2_family']} ({fw['image']})")
        out(f"board {board.name} is flashed by copying a UF2 file, not over serial:\n"
            f"  1. unplug the board, hold BOOTSEL, plug it in; a drive named {fw['volume']} appears\n"
            f"  2. cp {shlex.quote(str(image))} /media/$USER/{fw['volume']}/   (the board reboots into MicroPython)\n"
            f"  3. edgenats device provision --board {board.name} --port /dev/ttyACM0 ...")
        return
    if fw["format"] != "esp":
        raise DeviceError(f"board {board.name} has no firmware to flash")
    require_tools("esptool")
    if not dry_run:
        check_port(port)
    chip = image_chip(image)
    if chip != fw["chip"]:
        raise DeviceError(f"{image} is built for {chip}, but board {board.name} is {fw['chip']}: "
                          f"use {fw['image']} from {fw['url']}")
    commands = write_command(board, port, image)
    if dry_run:
        for command in commands:
            out(shlex.join(command))
        return
    for command in commands:
        if subprocess.run(command, timeout=ESPTOOL_TIMEOUT).returncode != 0:
            raise DeviceError(f"esptool failed: {shlex.join(command)}")
    out(f"flashed {image.name} to the {board.name} on {port}")
