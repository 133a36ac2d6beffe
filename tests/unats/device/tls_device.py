"""Device: connect over TLS, verifying the server against a test CA, and exchange a message."""

import ssl
import sys

import unats

url, ca_pem, ca_der = sys.argv[1:4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
if hasattr(ssl, "create_default_context"):  # CPython
    ctx.load_verify_locations(cafile=ca_pem)
else:  # MicroPython (mbedTLS) takes the CA as DER bytes
    ctx.verify_mode = ssl.CERT_REQUIRED
    with open(ca_der, "rb") as f:
        ctx.load_verify_locations(cadata=f.read())
nc = unats.connect(url, tls=ctx)
nc.subscribe("secure.echo", lambda msg: nc.publish(msg.reply, b"tls:" + msg.data))
nc.flush()
print("READY")
print("GOT", nc.wait_msg(10).data.decode())
nc.flush()
nc.close()
