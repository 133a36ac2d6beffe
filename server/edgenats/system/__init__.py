"""The system account: requests the server answers there (`$SYS.REQ.SERVER...`) and the events it
publishes there (client CONNECT/DISCONNECT, the periodic STATSZ), in nats-server's JSON shapes."""

from edgenats.system.events import SystemAccount

__all__ = ["SystemAccount"]
