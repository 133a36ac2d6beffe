#!/bin/bash
# Run nats.py's own WebSocket tests with edgenats in place of nats-server.
#
#   tests/websocket/run_nats_py_suite.sh /path/to/nats.py [python]
#
# nats.py's test harness starts `nats-server` from PATH on fixed ports (4222, 8222, 8080, 8081), so
# those must be free. Its WebSocket-over-TLS class also passes TCP TLS flags (--tls, --tlscert, ...),
# which edgenats does not implement (it has no TLS on the TCP client port); the stand-in drops them,
# and the wss listener comes from the test's own config file (its `websocket { tls { ... } }` block).
set -euo pipefail
checkout=$(cd "$1" && pwd)
python=${2:-python3}
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cat > "$bin/nats-server" <<SHIM
#!/bin/bash
args=()
while [ \$# -gt 0 ]; do
  case "\$1" in
    --tls|--tlsverify) ;;
    --tlscert|--tlskey|--tlscacert) shift ;;
    *) args+=("\$1") ;;
  esac
  shift
done
PYTHONPATH="$repo/server" exec "$python" -m edgenats "\${args[@]}"
SHIM
chmod +x "$bin/nats-server"
cd "$checkout"
PATH="$bin:$PATH" PYTHONPATH="nats/src:nats" "$python" -m pytest -q -p no:cacheprovider \
  nats/tests/test_client_websocket.py nats/tests/test_custom_headers_websocket.py
