"""OpenSSL in the broker process only once TLS is configured.

asyncio imports the `ssl` module when it is first imported, if it can: that maps libssl and libcrypto
(about 4.5 MB of RSS) into every broker, TLS or not. The server's entry point imports asyncio through
`import_asyncio_without_ssl()`, so asyncio starts with `ssl = None` as on a Python built without
OpenSSL; `load_ssl()` imports `ssl` and hands it to the asyncio modules that bound it at import. Every
use of `ssl` in the broker (building a context, naming its constants and errors) takes the module from
`load_ssl()`, so no TLS listener or TLS dial can exist without asyncio holding the real module.

In any other process (the operator CLI, tests) asyncio is imported the ordinary way, already has
`ssl`, and `load_ssl()` only returns it.
"""

from __future__ import annotations

import sys
from types import ModuleType

# The asyncio modules that do `try: import ssl except ImportError: ssl = None` at import (3.11 to 3.13).
_ASYNCIO_SSL_USERS = ("asyncio.base_events", "asyncio.selector_events", "asyncio.sslproto")


def import_asyncio_without_ssl() -> None:
    """Import asyncio with `ssl` held back, unless asyncio or ssl is imported already."""
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return
    sys.modules["ssl"] = None  # `import ssl` raises ImportError while this entry is None
    try:
        import asyncio  # noqa: F401
    finally:
        del sys.modules["ssl"]


def load_ssl() -> ModuleType:
    """The `ssl` module, imported now if it was not, and given to asyncio if asyncio was imported without it."""
    import ssl

    for name in _ASYNCIO_SSL_USERS:
        module = sys.modules.get(name)
        if module is not None and module.ssl is None:
            module.ssl = ssl
            if name == "asyncio.sslproto":
                module.SSLAgainErrors = (ssl.SSLWantReadError, ssl.SSLSyscallError)
    return ssl
