"""Stands in for the board's Wi-Fi radio on the virtual board, whose Unix port has no network module.

The test plays the access point through files in the board's folder: `radio-ap` holds the access point's
{"ssid", "password", "session"} while it is on and is absent while it is off; each time it comes back on
it starts a new session. connect() asks to join the session that is on, if the credentials match, by
writing it to `radio-link`; as on a real radio the join completes later, when the access point has routed
the station (it writes the session to `radio-routed`). The link is lost when that session ends, and stays
lost until the app calls connect() again. Every connect() is appended to `radio-connects` ("ssid password").
"""

import json

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202


def _access_point():
    try:
        with open("radio-ap") as f:
            return json.load(f)
    except (OSError, ValueError):  # off, or being rewritten by the test at this instant
        return None


def _routed():
    try:
        with open("radio-routed") as f:
            return f.read()
    except OSError:
        return ""


def _record_link(session):
    with open("radio-link", "w") as f:
        f.write("" if session is None else str(session))


class WLAN:
    def __init__(self, interface=STA_IF):
        if interface != STA_IF:
            raise ValueError("only the station interface is simulated")
        self._active = False
        self._session = None
        self._status = STAT_IDLE

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)
        if not self._active:
            self.disconnect()

    def connect(self, ssid, key=""):
        if not self._active:
            raise OSError("Wifi Not Started")
        with open("radio-connects", "a") as f:
            f.write(ssid + " " + key + "\n")
        ap = _access_point()
        if ap is None or ap["ssid"] != ssid:
            self._session, self._status = None, STAT_NO_AP_FOUND
        elif ap["password"] != key:
            self._session, self._status = None, STAT_WRONG_PASSWORD
        else:
            self._session, self._status = ap["session"], STAT_CONNECTING
        _record_link(self._session)

    def isconnected(self):
        if self._session is not None:
            ap = _access_point()
            if ap is None or ap["session"] != self._session:  # the access point went away: link lost
                self._session, self._status = None, STAT_IDLE
                _record_link(None)
            elif self._status == STAT_CONNECTING and _routed() == str(self._session):
                self._status = STAT_GOT_IP
        return self._status == STAT_GOT_IP

    def disconnect(self):
        self._session, self._status = None, STAT_IDLE
        _record_link(None)

    def status(self, param=None):
        if param is not None:
            raise ValueError("status(param) is not simulated")
        return self._status

    def ifconfig(self):
        if self._status == STAT_GOT_IP:
            return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")
        return ("0.0.0.0",) * 4
