"""Device: connect over TLS, verifying the server against a test CA (unats.extra.ca_context, PEM text), and
exchange a message; with a CA that did not sign the server's certificate, print the refusal."""

import sys

import unats
from unats.extra import ca_context

url, ca_pem = sys.argv[1:3]
with open(ca_pem) as f:
    ctx = ca_context(f.read())
try:
    nc = unats.connect(url, tls=ctx, reconnect=False)
except Exception as e:  # an ssl error (CPython) or a ValueError/OSError from mbedTLS (MicroPython)
    print("REFUSED", repr(e))
    sys.exit(0)
nc.subscribe("secure.echo", lambda msg: nc.publish(msg.reply, b"tls:" + msg.data))
nc.flush()
print("READY")
print("GOT", nc.wait_msg(10).data.decode())
nc.flush()
nc.close()
