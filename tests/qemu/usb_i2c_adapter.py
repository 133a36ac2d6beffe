"""A simulated USB I2C adapter with a BME280 and an SHT31 behind it, for the emulated edge node.

The same kind of stand-in as the virtual board's simulated Wi-Fi radio: a small, faithful model of
hardware the test machine does not have. The guest's kernel sees a real USB device on QEMU's xHCI
controller and binds its own drivers to it (`i2c-tiny-usb`, then `i2c-dev` for /dev/i2c-N); every I2C
message Blinka sends goes through the kernel's driver as USB control transfers, and this module answers
them as the hardware would.

Three layers, each as the documents describe it:
- `UsbRedirHost`: the "usb-host" side of the usbredir protocol (spice usbredir's
  usb-redirection-protocol), on the unix socket of QEMU's `-chardev socket` behind `-device usb-redir`.
  It says hello with its capabilities, announces the device (ep_info, interface_info, device_connect),
  then answers each packet QEMU sends: control packets, set/get configuration, set/get alt setting,
  reset. When QEMU closes the socket it connects again (QEMU listens for the whole boot).
- `TinyUsbI2c`: an i2c-tiny-usb adapter (USB id 0403:c631, as the kernel's i2c-tiny-usb.c drives it):
  its descriptors and its vendor requests CMD_ECHO, CMD_GET_FUNC (I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL),
  CMD_SET_DELAY, CMD_GET_STATUS (address acked or not) and CMD_I2C_IO (+BEGIN/+END; wValue the
  message's flags, I2C_M_RD for a read; wIndex the address).
- `Bme280` and `Sht31`: the chips' I2C interfaces from their datasheets (Bosch BME280: register map,
  register pointer auto-incremented on reads, register/value pairs on writes, soft reset, forced and
  normal mode filling the data registers; Sensirion SHT3x-DIS: 16-bit commands, single-shot
  measurements read back as words each followed by its CRC-8 (polynomial 0x31, init 0xFF), status
  register, heater, soft reset; a read with no result ready is not acknowledged). Each is loaded with
  the raw values a test chooses; an address with no chip, or one unplugged, does not acknowledge.
"""

from __future__ import annotations

import enum
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

# --- the chips ------------------------------------------------------------------------------------


class Bme280:
    """A BME280's I2C registers. `calibration` is the 26 bytes at 0x88..0xA1 and the 7 at 0xE1..0xE7;
    `adc` the raw (pressure, temperature, humidity) a measurement yields (20, 20 and 16 bits)."""

    CHIP_ID = 0x60
    RESET_WORD = 0xB6
    WRITABLE = {0xE0, 0xF2, 0xF4, 0xF5}

    def __init__(self, calibration_88: bytes, calibration_e1: bytes, adc: tuple[int, int, int]) -> None:
        assert len(calibration_88) == 26 and len(calibration_e1) == 7
        self.calibration = (calibration_88, calibration_e1)
        self.adc = adc
        self.pointer = 0
        self.reset()

    def reset(self) -> None:
        """Power-on state: the data registers hold their reset values until a measurement."""
        self.registers = bytearray(256)
        self.registers[0xD0] = self.CHIP_ID
        self.registers[0x88:0x88 + 26] = self.calibration[0]
        self.registers[0xE1:0xE1 + 7] = self.calibration[1]
        self.registers[0xF7:0xFF] = bytes([0x80, 0, 0, 0x80, 0, 0, 0x80, 0])
        self.ctrl_hum_latched = 0

    def write(self, data: bytes) -> bool:
        """(register, value) pairs; a lone register byte (or the last register of the message) sets the
        pointer the next read starts at."""
        if data:
            self.pointer = data[-2] if len(data) % 2 == 0 else data[-1]
            for register, value in zip(data[0::2], data[1::2], strict=False):
                self._store(register, value)
        return True

    def _store(self, register: int, value: int) -> None:
        if register not in self.WRITABLE:
            return
        if register == 0xE0:
            if value == self.RESET_WORD:
                self.reset()
            return
        self.registers[register] = value
        if register == 0xF4:  # ctrl_meas: ctrl_hum takes effect with it; a mode other than sleep measures
            self.ctrl_hum_latched = self.registers[0xF2] & 0x07
            if value & 0x03:
                self._measure(osrs_t=value >> 5, osrs_p=(value >> 2) & 0x07)
                if (value & 0x03) in (0x01, 0x02):  # forced mode: one measurement, then back to sleep
                    self.registers[0xF4] = value & ~0x03

    def _measure(self, osrs_t: int, osrs_p: int) -> None:
        pressure, temperature, humidity = self.adc
        if osrs_p:
            self.registers[0xF7:0xFA] = _twenty_bits(pressure)
        if osrs_t:
            self.registers[0xFA:0xFD] = _twenty_bits(temperature)
        if self.ctrl_hum_latched:
            self.registers[0xFD:0xFF] = humidity.to_bytes(2, "big")

    def read(self, length: int) -> bytes | None:
        out = bytes(self.registers[(self.pointer + i) & 0xFF] for i in range(length))
        self.pointer = (self.pointer + length) & 0xFF
        return out


def _twenty_bits(value: int) -> bytes:
    """msb, lsb, xlsb[7:4] of a 20-bit reading, as the BME280 lays it out."""
    return bytes([(value >> 12) & 0xFF, (value >> 4) & 0xFF, (value & 0x0F) << 4])


def crc8(data: bytes) -> int:
    """Sensirion's CRC-8: polynomial 0x31, initial value 0xFF, no reflection, no final XOR."""
    crc = 0xFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class Sht31:
    """An SHT31's command interface, single-shot mode. `raw` is the (temperature, humidity) words a
    measurement yields."""

    SOFT_RESET = 0x30A2
    BREAK = 0x3093
    READ_STATUS = 0xF32D
    CLEAR_STATUS = 0x3041
    HEATER_ON = 0x306D
    HEATER_OFF = 0x3066
    SINGLE_SHOT = {0x2400, 0x240B, 0x2416, 0x2C06, 0x2C0D, 0x2C10}  # repeatability x clock stretching
    STATUS_HEATER, STATUS_RESET, STATUS_COMMAND = 0x2000, 0x0010, 0x0002

    def __init__(self, raw: tuple[int, int]) -> None:
        self.raw = raw
        self.status = self.STATUS_RESET
        self.pending: bytes | None = None  # what the next read returns; None: the read is not acknowledged

    def write(self, data: bytes) -> bool:
        if len(data) < 2:
            return True  # an address probe, or half a command: nothing happens
        command = int.from_bytes(data[:2], "big")
        self.status &= ~self.STATUS_COMMAND
        if command in self.SINGLE_SHOT:
            self.pending = self._words(*self.raw)
        elif command == self.READ_STATUS:
            self.pending = self._words(self.status)
        elif command == self.CLEAR_STATUS:
            self.status &= ~self.STATUS_RESET
        elif command == self.SOFT_RESET:
            self.status, self.pending = self.STATUS_RESET, None
        elif command == self.HEATER_ON:
            self.status |= self.STATUS_HEATER
        elif command == self.HEATER_OFF:
            self.status &= ~self.STATUS_HEATER
        elif command != self.BREAK:
            self.status |= self.STATUS_COMMAND  # not processed
        return True

    @staticmethod
    def _words(*words: int) -> bytes:
        out = b""
        for word in words:
            pair = word.to_bytes(2, "big")
            out += pair + bytes([crc8(pair)])
        return out

    def read(self, length: int) -> bytes | None:
        if self.pending is None:
            return None
        out, self.pending = self.pending[:length].ljust(length, b"\xff"), None
        return out


# --- the adapter ------------------------------------------------------------------------------------

CMD_ECHO, CMD_GET_FUNC, CMD_SET_DELAY, CMD_GET_STATUS, CMD_I2C_IO = 0, 1, 2, 3, 4
CMD_I2C_IO_BEGIN, CMD_I2C_IO_END = 1, 2
STATUS_IDLE, STATUS_ADDRESS_ACK, STATUS_ADDRESS_NAK = 0, 1, 2
I2C_M_RD = 0x0001
I2C_FUNC_I2C = 0x00000001
I2C_FUNC_SMBUS_EMUL = 0x0EFF0008
VENDOR_ID, PRODUCT_ID, DEVICE_BCD = 0x0403, 0xC631, 0x0104
EP0_SIZE = 64
USB_DIR_IN = 0x80
USB_TYPE_MASK, USB_TYPE_STANDARD, USB_TYPE_VENDOR = 0x60, 0x00, 0x40
USB_REQ_GET_STATUS, USB_REQ_GET_DESCRIPTOR = 0, 6
USB_DT_DEVICE, USB_DT_CONFIG, USB_DT_STRING = 1, 2, 3
STRINGS = {1: "edgenats tests", 2: "i2c-tiny-usb (simulated)"}


class Stall(Exception):
    """The device stalls the request (one it does not support)."""


class TinyUsbI2c:
    """The i2c-tiny-usb adapter: USB descriptors and requests on one side, the I2C bus on the other.
    Thread-safe: the test plugs and unplugs chips while the redirector's thread answers the guest."""

    def __init__(self, chips: dict[int, Bme280 | Sht31]) -> None:
        self.chips = dict(chips)
        self.unplugged: set[int] = set()
        self.status = STATUS_IDLE
        self.delay_us: int | None = None
        self._lock = threading.Lock()

    def unplug(self, address: int) -> None:
        with self._lock:
            self.unplugged.add(address)

    def plug(self, address: int) -> None:
        with self._lock:
            self.unplugged.discard(address)

    # descriptors
    def device_descriptor(self) -> bytes:
        return struct.pack("<BBHBBBBHHHBBBB", 18, USB_DT_DEVICE, 0x0110, 0xFF, 0, 0, EP0_SIZE, VENDOR_ID,
                           PRODUCT_ID, DEVICE_BCD, 1, 2, 0, 1)

    def config_descriptor(self) -> bytes:
        interface = struct.pack("<BBBBBBBBB", 9, 4, 0, 0, 0, 0xFF, 0, 0, 0)  # no endpoint but ep0
        return struct.pack("<BBHBBBBB", 9, USB_DT_CONFIG, 9 + len(interface), 1, 1, 0, 0x80, 50) + interface

    def string_descriptor(self, index: int) -> bytes:
        if index == 0:
            body = struct.pack("<H", 0x0409)
        elif index in STRINGS:
            body = STRINGS[index].encode("utf-16-le")
        else:
            raise Stall
        return bytes([2 + len(body), USB_DT_STRING]) + body

    def control(self, requesttype: int, request: int, value: int, index: int, length: int, data: bytes) -> bytes:
        """One control transfer on endpoint 0: the data returned (IN) or b"" (OUT). Raises Stall."""
        kind = requesttype & USB_TYPE_MASK
        if kind == USB_TYPE_STANDARD and requesttype & USB_DIR_IN:
            if request == USB_REQ_GET_DESCRIPTOR:
                kinds = {USB_DT_DEVICE: self.device_descriptor, USB_DT_CONFIG: self.config_descriptor}
                descriptor_type, descriptor_index = value >> 8, value & 0xFF
                if descriptor_type == USB_DT_STRING:
                    return self.string_descriptor(descriptor_index)[:length]
                if descriptor_type in kinds and descriptor_index == 0:
                    return kinds[descriptor_type]()[:length]
            if request == USB_REQ_GET_STATUS:
                return b"\x00\x00"[:length]
            raise Stall
        if kind != USB_TYPE_VENDOR:
            raise Stall
        if request == CMD_ECHO:
            return struct.pack("<H", value)[:length]
        if request == CMD_GET_FUNC:
            return struct.pack("<I", I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL)[:length]
        if request == CMD_SET_DELAY:
            self.delay_us = value
            return b""
        if request == CMD_GET_STATUS:
            return bytes([self.status])[:length]
        if request & ~(CMD_I2C_IO_BEGIN | CMD_I2C_IO_END) == CMD_I2C_IO:
            return self._i2c_io(reading=bool(value & I2C_M_RD), address=index, length=length, data=data)
        raise Stall

    def _i2c_io(self, reading: bool, address: int, length: int, data: bytes) -> bytes:
        """One I2C message (a start or repeated start, the address, the bytes). The transfer itself
        always completes, as the adapter's firmware does; whether the address was acknowledged is in
        the status the driver asks for next (a nak becomes ENXIO in the guest)."""
        with self._lock:
            chip = None if address in self.unplugged else self.chips.get(address)
            if reading:
                out = chip.read(length) if chip is not None else None
                acked = out is not None
                out = out if out is not None else b"\xff" * length
            else:
                acked = chip is not None and chip.write(bytes(data))
                out = b""
            self.status = STATUS_ADDRESS_ACK if acked else STATUS_ADDRESS_NAK
            return out


# --- usbredir ---------------------------------------------------------------------------------------

HELLO, DEVICE_CONNECT, RESET, INTERFACE_INFO, EP_INFO = 0, 1, 3, 4, 5
SET_CONFIGURATION, GET_CONFIGURATION, CONFIGURATION_STATUS = 6, 7, 8
SET_ALT_SETTING, GET_ALT_SETTING, ALT_SETTING_STATUS = 9, 10, 11
CANCEL_DATA_PACKET, CONTROL_PACKET = 21, 100
REDIR_SUCCESS, REDIR_INVAL, REDIR_STALL = 0, 2, 4
CAP_CONNECT_DEVICE_VERSION, CAP_EP_INFO_MAX_PACKET_SIZE, CAP_64BITS_IDS, CAP_32BITS_BULK_LENGTH = 1, 4, 5, 6
# QEMU's xHCI ports take a redirected device only from a usb-host with these three capabilities;
# 32-bit bulk lengths change nothing here (the adapter has no bulk endpoint).
OUR_CAPS = (1 << CAP_CONNECT_DEVICE_VERSION) | (1 << CAP_EP_INFO_MAX_PACKET_SIZE) | (1 << CAP_64BITS_IDS) | (
    1 << CAP_32BITS_BULK_LENGTH)
SPEED_FULL = 1
TYPE_CONTROL, TYPE_INVALID = 0, 255


def qemu_args(path: str) -> list[str]:
    """QEMU's side of the adapter: an xHCI controller and a usb-redir device on a chardev socket that QEMU
    listens on at `path` (for the whole boot, without waiting for us: UsbRedirHost connects to it)."""
    return ["-device", "qemu-xhci,id=xhci", "-chardev", f"socket,id=i2cusb,path={path},server=on,wait=off",
            "-device", "usb-redir,chardev=i2cusb,bus=xhci.0"]


class RedirState(enum.Enum):
    CONNECTING = "connecting"  # waiting for QEMU's socket
    GREETING = "greeting"  # our hello sent, QEMU's awaited
    ATTACHED = "attached"  # the device announced; answering QEMU's packets
    STOPPED = "stopped"


@dataclass
class UsbRedirHost:
    """Presents `device` on QEMU's usb-redir chardev socket at `path`, in a thread of its own."""

    path: str
    device: TinyUsbI2c
    state: RedirState = RedirState.CONNECTING
    connections: int = 0
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.configuration = 0
        self._ids64 = False
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="usbredir", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # not connected
        self._thread.join(timeout=5)
        self.state = RedirState.STOPPED

    def _run(self) -> None:
        while not self._stop.is_set():
            self.state = RedirState.CONNECTING
            try:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._sock.connect(self.path)
            except OSError:  # QEMU not listening yet
                self._sock.close()
                time.sleep(0.2)
                continue
            self.connections += 1
            try:
                self._session()
            except (OSError, EOFError):
                pass  # QEMU closed the socket: connect again
            finally:
                self._sock.close()

    def _session(self) -> None:
        self._ids64 = False
        self.configuration = 0
        self._send(HELLO, 0, b"edgenats i2c-tiny-usb model".ljust(64, b"\0") + struct.pack("<I", OUR_CAPS))
        self.state = RedirState.GREETING
        kind, _, body = self._receive()
        if kind != HELLO or len(body) < 68:
            raise EOFError(f"expected QEMU's hello, got packet type {kind}")
        their_caps = struct.unpack_from("<I", body, 64)[0]
        self._ids64 = bool(their_caps & OUR_CAPS & (1 << CAP_64BITS_IDS))
        self._announce()
        self._send(DEVICE_CONNECT, 0, struct.pack("<BBBBHHH", SPEED_FULL, 0xFF, 0, 0, VENDOR_ID, PRODUCT_ID,
                                                  DEVICE_BCD))
        self.state = RedirState.ATTACHED
        while not self._stop.is_set():
            self._answer(*self._receive())

    def _announce(self) -> None:
        """ep_info then interface_info, as the protocol orders them: endpoint 0 both ways, one interface."""
        types, sizes = [TYPE_INVALID] * 32, [0] * 32
        for index in (0, 16):  # 0-15 are OUT endpoints, 16-31 IN
            types[index], sizes[index] = TYPE_CONTROL, EP0_SIZE
        self._send(EP_INFO, 0, bytes(types) + bytes(32) + bytes(32) + struct.pack("<32H", *sizes))
        self._send(INTERFACE_INFO, 0, struct.pack("<I", 1) + bytes([0] * 32) + bytes([0xFF] + [0] * 31)
                   + bytes(32) + bytes(32))

    def _answer(self, kind: int, packet_id: int, body: bytes) -> None:
        if kind == CONTROL_PACKET:
            self._control(packet_id, body)
        elif kind == SET_CONFIGURATION:
            wanted = body[0]
            ok = wanted in (0, 1)
            if ok:
                self.configuration = wanted
                self._announce()
            self._send(CONFIGURATION_STATUS, packet_id, bytes([REDIR_SUCCESS if ok else REDIR_STALL,
                                                               self.configuration]))
        elif kind == GET_CONFIGURATION:
            self._send(CONFIGURATION_STATUS, packet_id, bytes([REDIR_SUCCESS, self.configuration]))
        elif kind == SET_ALT_SETTING:
            interface, alt = body[0], body[1]
            ok = interface == 0 and alt == 0
            if ok:
                self._announce()
            self._send(ALT_SETTING_STATUS, packet_id, bytes([REDIR_SUCCESS if ok else REDIR_STALL, interface, 0]))
        elif kind == GET_ALT_SETTING:
            interface = body[0]
            self._send(ALT_SETTING_STATUS, packet_id, bytes([REDIR_SUCCESS if interface == 0 else REDIR_STALL,
                                                             interface, 0]))
        elif kind in (RESET, CANCEL_DATA_PACKET):
            pass  # a reset keeps the adapter as it is; every packet was answered before the next was read
        else:
            self.problems.append(f"unexpected usbredir packet type {kind}")

    def _control(self, packet_id: int, body: bytes) -> None:
        endpoint, request, requesttype, _, value, index, length = struct.unpack_from("<BBBBHHH", body)
        data = body[10:]
        try:
            out = self.device.control(requesttype, request, value, index, length, data)
            status, answered = REDIR_SUCCESS, len(out) if requesttype & USB_DIR_IN else len(data)
        except Stall:
            out, status, answered = b"", REDIR_STALL, 0
        header = struct.pack("<BBBBHHH", endpoint, request, requesttype, status, value, index, answered)
        self._send(CONTROL_PACKET, packet_id, header + (out if requesttype & USB_DIR_IN else b""))

    # framing: type, length, id (32 bits, or 64 once both hellos offered 64-bit ids)
    def _send(self, kind: int, packet_id: int, body: bytes) -> None:
        id_format = "<Q" if self._ids64 else "<I"
        self._sock.sendall(struct.pack("<II", kind, len(body)) + struct.pack(id_format, packet_id) + body)

    def _receive(self) -> tuple[int, int, bytes]:
        size = 16 if self._ids64 else 12
        header = self._exactly(size)
        kind, length = struct.unpack_from("<II", header)
        packet_id = struct.unpack_from("<Q" if self._ids64 else "<I", header, 8)[0]
        return kind, packet_id, self._exactly(length)

    def _exactly(self, count: int) -> bytes:
        chunks, wanted = [], count
        while wanted:
            chunk = self._sock.recv(wanted)
            if not chunk:
                raise EOFError("QEMU closed the usbredir socket")
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)
