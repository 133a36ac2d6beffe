"""Device: rejected credentials raise AuthError; the right ones (as options or in the URL) connect."""

import sys

import unats

mode, url = sys.argv[1], sys.argv[2]
host = url.split("://")[1]
if mode == "user":
    bad, good, in_url = {"user": "dev", "password": "wrong"}, {"user": "dev", "password": "s3cret"}, "dev:s3cret@"
else:
    bad, good, in_url = {"token": "wrong"}, {"token": "t0k3n"}, "t0k3n@"
try:
    unats.connect(url, reconnect=False, **bad)
    print("CONNECTED with bad credentials")
except unats.AuthError as e:
    print("AUTHERROR", e)
for args, kwargs in ((url, good), ("nats://" + in_url + host, {})):
    nc = unats.connect(args, **kwargs)
    nc.flush()
    print("OK")
    nc.close()
    nc = None  # let the next client reuse this one's buffer on a small heap
