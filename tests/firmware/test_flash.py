"""`edgenats device flash`: esptool reads the image's chip, which must match the board profile; Pico
images are UF2 files of the right family, and the copy onto the BOOTSEL drive is explained."""

from __future__ import annotations

import struct

import pytest
from esptool.bin_image import ELFSection, ESP32FirmwareImage, ESP32S3FirmwareImage
from firmware_helpers import device_cli

RP2040_FAMILY = 0xE48BFF56


def esp_image(path, image_class):
    """A real, minimal ESP application image, made by esptool's own image writer."""
    image = image_class()
    image.entrypoint = 0x40080000
    image.segments = [ELFSection(b".dram0.data", 0x3FFB0000, b"\x01\x02\x03\x04" * 16, 0)]
    image.save(str(path))
    return path


def uf2_image(path, family, blocks=2):
    data = b""
    for n in range(blocks):
        header = struct.pack("<IIIIIIII", 0x0A324655, 0x9E5D5157, 0x2000, 0x10000000 + 256 * n, 256, n, blocks,
                             family)
        data += header + bytes(476) + struct.pack("<I", 0x0AB16F30)
    path.write_bytes(data)
    return path


@pytest.fixture
def esp32_image(tmp_path):
    return esp_image(tmp_path / "esp32.bin", ESP32FirmwareImage)


def test_dry_run_prints_the_esptool_commands(esp32_image):
    done = device_cli("flash", "--board", "esp32", "--port", "/dev/ttyUSB3", "--image", str(esp32_image),
                      "--dry-run")
    assert done.returncode == 0, done.stderr
    erase, write = done.stdout.splitlines()
    assert erase.endswith("-m esptool --chip esp32 --port /dev/ttyUSB3 --baud 460800 erase-flash")
    assert write.endswith(f"-m esptool --chip esp32 --port /dev/ttyUSB3 --baud 460800 write-flash 0x1000 {esp32_image}")


def test_missing_port_is_refused(esp32_image, tmp_path):
    done = device_cli("flash", "--board", "esp32", "--port", str(tmp_path / "ttyUSB0"), "--image", str(esp32_image))
    assert done.returncode == 1 and "does not exist: is the board plugged in?" in done.stderr


def test_image_for_another_chip_is_refused(esp32_image, tmp_path):
    s3 = esp_image(tmp_path / "s3.bin", ESP32S3FirmwareImage)
    wrong_chip = device_cli("flash", "--board", "esp32", "--port", "/dev/null", "--image", str(s3), "--dry-run")
    assert wrong_chip.returncode == 1
    assert "is built for esp32s3, but board esp32 is esp32" in wrong_chip.stderr
    wrong_board = device_cli("flash", "--board", "esp8266", "--port", "/dev/null", "--image", str(esp32_image),
                             "--dry-run")
    assert wrong_board.returncode == 1 and "but board esp8266 is esp8266" in wrong_board.stderr
    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_text("hello")
    junk = device_cli("flash", "--board", "esp32", "--port", "/dev/null", "--image", str(not_an_image))
    assert junk.returncode == 1 and "is not an ESP firmware image" in junk.stderr


def test_pico_uf2_is_checked_and_the_copy_explained(tmp_path):
    good = uf2_image(tmp_path / "RPI_PICO_W.uf2", RP2040_FAMILY)
    done = device_cli("flash", "--board", "picow", "--port", "/dev/ttyACM0", "--image", str(good))
    assert done.returncode == 0, done.stderr
    assert "hold BOOTSEL" in done.stdout and "RPI-RP2" in done.stdout and str(good) in done.stdout
    other = uf2_image(tmp_path / "esp32s2.uf2", 0xBFDD4EEE)
    refused = device_cli("flash", "--board", "picow", "--port", "/dev/ttyACM0", "--image", str(other))
    assert refused.returncode == 1 and "UF2 family 0xbfdd4eee, board picow needs 0xe48bff56" in refused.stderr
    bin_file = esp_image(tmp_path / "esp32.bin", ESP32FirmwareImage)
    not_uf2 = device_cli("flash", "--board", "picow", "--port", "/dev/ttyACM0", "--image", str(bin_file))
    assert not_uf2.returncode == 1 and "is not a UF2 image" in not_uf2.stderr
