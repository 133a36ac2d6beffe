"""Real-looking nats-server config files shared by the reader tests and the nats-server cross-check."""

HUB = """\
# Hub broker: accounts, a system account and a leafnode port.
server_name: hub-1
listen: 127.0.0.1:4222
http: 127.0.0.1:8222
max_payload: 1MB
max_connections: 64K
max_control_line = 4KB
ping_interval: "2m"
ping_max: 2
write_deadline: "10s"
debug: false
trace: off
logtime: yes

accounts {
  SYS { users = [ {user: sys, password: "sys-secret"} ] }
  SENSORS: {
    users: [
      {user: pi, password: $2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.K..qlS}
      {user: gateway, password: "gw pass", permissions: {publish: ["sensors.>"], subscribe: ["_INBOX.>"]}}
    ]
    exports: [ {stream: "sensors.>"} ]
  }
  APP {
    users = [ {user: app, password: app} ]
    imports = [
      {stream: {account: SENSORS, subject: "sensors.>"}}
    ]
  }
}
system_account: SYS

leafnodes {
  listen: "127.0.0.1:7422"
  authorization {
    users = [
      {user: leaf, password: leafpass, account: SENSORS}
    ]
    timeout: 2
  }
}
"""

LEAF = """\
// Edge node: local clients, one remote to the hub, variables for the secrets.
LEAF_PASSWORD = "leaf pass"
LOCAL_USER: local

server_name = edge-7; listen = 127.0.0.1:4222
max_pending: 64MB
authorization {
  users = [
    {user: $LOCAL_USER, password: $LEAF_PASSWORD},
    {user: other, password: 'raw\\no-escape'}
    {user: sensor, password: "tab\\there", permissions: {publish: {allow: ["sensors.>"], deny: ["sensors.secret"]}}},
  ]
  timeout: 1.5
}
leafnodes {
  reconnect_interval: "5s"
  remotes = [
    {
      url: nats-leaf://leaf:leafpass@127.0.0.1:7422
      deny_imports: ["local.>"]
    }
    { urls: ["nats-leaf://127.0.0.1:7423", "nats://127.0.0.1:7424"], hub: false }
  ]
}
"""

JSON_STYLE = """\
{
  "server_name": "json-node",
  "port": 4333,
  "authorization": {"token": "s3cr3t", "timeout": 0.5},
  "max_payload": 65536
}
"""
