"""Answer NATS service discovery (ADR-32, "micro"): $SRV.PING / $SRV.INFO / $SRV.STATS for one service.

Endpoints are queue subscriptions whose handler returns the reply payload; raising ServiceError sends
the Nats-Service-Error headers instead, so `nats micro ls`-style tools see and call the device.
"""

import json
import random
import time

from unats import ticks_diff, ticks_ms

PREFIX = "$SRV"


class ServiceError(Exception):
    def __init__(self, code, description):
        super().__init__(description)
        self.code = code
        self.description = description


class Service:
    def __init__(self, nc, name, version, description="", metadata=None):
        self.nc = nc
        self.name = name
        self.version = version
        self.description = description
        self.metadata = metadata or {}
        self.id = "".join("%08x" % random.getrandbits(32) for _ in range(3))[:22]  # noqa: UP031
        self.started = "%04d-%02d-%02dT%02d:%02d:%02d.000000Z" % time.gmtime()[:6]  # noqa: UP031
        self._endpoints = []  # [name, subject, queue, metadata, requests, errors, last_error, total_ms]
        for verb in ("PING", "INFO", "STATS"):
            for subject in (PREFIX + "." + verb, PREFIX + "." + verb + "." + name,
                            PREFIX + "." + verb + "." + name + "." + self.id):
                nc.subscribe(subject, self._discovery)

    def add_endpoint(self, name, handler, subject=None, queue="q", metadata=None):
        """handler(msg) -> reply bytes; it runs for requests on subject (default: the endpoint name)."""
        ep = [name, subject or name, queue, metadata, 0, 0, "", 0]
        self._endpoints.append(ep)

        def serve(msg):
            start = ticks_ms()
            headers = None
            try:
                data = handler(msg)
            except Exception as e:  # any failure becomes a service error reply, as ADR-32 asks
                code, text = (e.code, e.description) if isinstance(e, ServiceError) else (500, str(e))
                ep[5] += 1
                ep[6] = "%d:%s" % (code, text)  # noqa: UP031
                data, headers = b"", {"Nats-Service-Error": text, "Nats-Service-Error-Code": str(code)}
            ep[4] += 1
            ep[7] += ticks_diff(ticks_ms(), start)
            if msg.reply:
                self.nc.publish(msg.reply, data, headers=headers)

        self.nc.subscribe(ep[1], serve, queue=queue)

    def _discovery(self, msg):
        verb = msg.subject.split(".")[1]
        reply = {"type": "io.nats.micro.v1.%s_response" % verb.lower(), "name": self.name,  # noqa: UP031
                 "id": self.id, "version": self.version, "metadata": self.metadata}
        if verb == "INFO":
            reply["description"] = self.description
            reply["endpoints"] = [{"name": e[0], "subject": e[1], "queue_group": e[2], "metadata": e[3]}
                                  for e in self._endpoints]
        elif verb == "STATS":
            reply["started"] = self.started
            reply["endpoints"] = [{"name": e[0], "subject": e[1], "queue_group": e[2], "num_requests": e[4],
                                   "num_errors": e[5], "last_error": e[6], "data": None,
                                   "processing_time": e[7] * 1000000,
                                   "average_processing_time": e[7] * 1000000 // max(e[4], 1)}
                                  for e in self._endpoints]
        if msg.reply:
            self.nc.publish(msg.reply, json.dumps(reply))
