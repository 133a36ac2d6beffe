"""/metrics: the Prometheus text exposition of a running site, read with prometheus_client's own
parser. Names, help strings and label sets are those prometheus-nats-exporter produces for the same
fields (the lists below are the exporter's, from its collectors for -connz_detailed, -leafz and
-jsz=all, and the /varz numbers a Grafana NATS dashboard reads), and every value matches the JSON
endpoint it comes from.

nats-server has no /metrics (it answers 404): there the same checks run on what the exporter's rules
(edgenats' converter, monitor/metrics.py) make of nats-server's own JSON documents, so the converter
is held to real nats-server output and edgenats' documents to nats-server's fields. /varz's
`jetstream.store_disk` (edgenats' own) is checked against the file system.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime

from edgenats.monitor.metrics import build_metrics
from prometheus_client.parser import text_string_to_metric_families
from site_scene import ACKED, DEVICES, FETCHED, READINGS, running_site

CONNZ_NAMES = {f"gnatsd_connz_{name}" for name in (
    "num_connections", "total", "offset", "limit", "pending_bytes", "subscriptions", "in_bytes", "out_bytes",
    "in_msgs", "out_msgs", "start", "last_activity", "rtt", "uptime", "idle")}
LEAFZ_NAMES = {f"gnatsd_leafz_{name}" for name in (
    "conn_nodes_total", "info", "conn_rtt", "conn_in_msgs", "conn_out_msgs", "conn_in_bytes", "conn_out_bytes",
    "conn_subscriptions_total", "conn_subscriptions")}
JETSTREAM_NAMES = {f"jetstream_{name}" for name in (
    "server_jetstream_disabled", "server_total_streams", "server_total_consumers", "server_total_messages",
    "server_total_message_bytes", "server_max_memory", "server_max_storage", "account_max_memory",
    "account_max_storage", "account_storage_used", "account_memory_used", "stream_total_messages",
    "stream_total_bytes", "stream_first_seq", "stream_last_seq", "stream_consumer_count", "stream_subject_count",
    "stream_limit_bytes", "stream_limit_messages", "consumer_delivered_consumer_seq",
    "consumer_delivered_stream_seq", "consumer_last_delivery_seconds", "consumer_last_ack_seconds",
    "consumer_num_ack_pending", "consumer_num_redelivered", "consumer_num_waiting", "consumer_num_pending",
    "consumer_ack_floor_stream_seq", "consumer_ack_floor_consumer_seq", "stream_source_lag",
    "stream_source_active_duration_ns", "stream_mirror_lag", "stream_mirror_active_duration_ns")}
# What the NATS server dashboards for the exporter plot from /varz.
VARZ_NAMES = {f"gnatsd_varz_{name}" for name in (
    "cpu", "mem", "connections", "total_connections", "subscriptions", "slow_consumers", "in_msgs", "out_msgs",
    "in_bytes", "out_bytes", "leafnodes", "routes", "remotes", "max_payload", "max_connections", "start",
    "server_id", "server_name", "version", "jetstream_config_max_memory", "jetstream_config_max_storage",
    "jetstream_stats_storage", "jetstream_stats_api_total", "slow_consumer_stats_clients")}
SERVER_LABELS = {"server_id", "server_name", "cluster", "domain", "meta_leader", "is_meta_leader"}
STREAM_LABELS = SERVER_LABELS | {"account", "account_name", "account_id", "stream_name", "stream_leader",
                                 "is_stream_leader", "stream_raft_group"}
CONSUMER_LABELS = STREAM_LABELS | {"consumer_name", "consumer_leader", "is_consumer_leader", "consumer_desc"}
CONNECTION_LABELS = {"server_id", "cid", "kind", "type", "ip", "port", "name", "name_tag", "account", "account_id",
                     "lang", "version", "tls_version", "tls_cipher_suite"}


def families_of(monitor) -> dict:
    reply = monitor.request("/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(reply.body)


def parse(exposition: bytes) -> dict:
    return {family.name: family for family in text_string_to_metric_families(exposition.decode())}


def exported(monitor, kind: str) -> dict:
    """edgenats' /metrics; for nats-server, the exporter's view of its documents."""
    if kind == "edgenats":
        return families_of(monitor)
    assert monitor.request("/metrics").status == 404
    varz = monitor.get("/varz")
    return parse(build_metrics(varz["server_id"], varz, monitor.get("/connz?auth=true"), monitor.get("/leafz"),
                               monitor.get("/jsz?consumers=true&config=true")))


def samples(families: dict, family: str, **labels) -> list:
    return [sample for sample in families[family].samples
            if all(sample.labels.get(key) == value for key, value in labels.items())]


def value(families: dict, family: str, **labels) -> float:
    (sample,) = samples(families, family, **labels)
    return sample.value


async def test_metrics_match_the_exporter_and_the_json_endpoints(server_kind, server_factory, tmp_path):
    async with running_site(server_factory, tmp_path, server_kind) as site:
        monitor = site.broker.monitor
        families, varz, connz, leafz, jsz = await asyncio.to_thread(lambda: (
            exported(monitor, server_kind), monitor.get("/varz"), monitor.get("/connz"), monitor.get("/leafz"),
            monitor.get("/jsz?consumers=true&config=true")))
        names = set(families)
        server_id = varz["server_id"]

        # The exporter's names, and no connz, leafz or jetstream name it does not have.
        assert {name for name in names if name.startswith("gnatsd_connz_")} == CONNZ_NAMES
        assert {name for name in names if name.startswith("gnatsd_leafz_")} <= LEAFZ_NAMES
        assert LEAFZ_NAMES - {"gnatsd_leafz_conn_subscriptions"} <= names
        assert {name for name in names if name.startswith("jetstream_")} <= JETSTREAM_NAMES
        assert {name for name in JETSTREAM_NAMES if "source" not in name and "mirror" not in name} <= names
        assert VARZ_NAMES <= names
        assert families["gnatsd_varz_in_msgs"].documentation == "in_msgs"
        assert families["jetstream_stream_total_messages"].documentation == "Total number of messages from a stream"

        # /varz: numbers as they are, identity as labels, start in epoch milliseconds.
        assert value(families, "gnatsd_varz_connections", server_id=server_id) == varz["connections"] == 2
        assert value(families, "gnatsd_varz_max_payload") == varz["max_payload"]
        assert samples(families, "gnatsd_varz_server_name", value="site-pi")[0].value == 1
        assert value(families, "gnatsd_varz_leafnodes") == 1

        # /connz: one series per device by its name, the exporter's labels, totals under server_id alone.
        devices = [connection for connection in connz["connections"] if connection["kind"] == "Client"]
        for connection in devices:
            labels = samples(families, "gnatsd_connz_in_msgs", name=connection["name"])[0].labels
            assert set(labels) == CONNECTION_LABELS
            assert labels["lang"] == "python3" and labels["port"] == str(connection["port"])
            for key in ("in_msgs", "out_msgs", "in_bytes", "out_bytes", "subscriptions"):
                assert value(families, f"gnatsd_connz_{key}", cid=str(connection["cid"])) == connection[key]
            # Times as epoch milliseconds, as the exporter converts them.
            started = datetime.fromisoformat(connection["start"][:19] + "+00:00").timestamp()
            assert value(families, "gnatsd_connz_start", cid=str(connection["cid"])) // 1000 == started
        assert sorted(connection["name"] for connection in devices) == sorted(DEVICES)
        assert value(families, "gnatsd_connz_num_connections", server_id=server_id) == 2 + leafz["leafnodes"]
        total = [s for s in families["gnatsd_connz_in_msgs"].samples if set(s.labels) == {"server_id"}]
        assert total[0].value == sum(c["in_msgs"] for c in connz["connections"])

        # /leafz: the hub link.
        (leaf,) = leafz["leafs"]
        assert value(families, "gnatsd_leafz_conn_nodes_total") == 1
        assert samples(families, "gnatsd_leafz_info", name="hub")[0].labels["port"] == str(leaf["port"])
        assert value(families, "gnatsd_leafz_conn_out_msgs", name="hub") == leaf["out_msgs"]

        # /jsz: the stream and its consumer.
        (account,) = jsz["account_details"]
        (stream,) = account["stream_detail"]
        stream_sample = samples(families, "jetstream_stream_total_messages", stream_name="READINGS")[0]
        assert set(stream_sample.labels) == STREAM_LABELS
        assert stream_sample.value == stream["state"]["messages"] == READINGS
        assert value(families, "jetstream_stream_total_bytes") == stream["state"]["bytes"]
        assert value(families, "jetstream_stream_limit_messages") == -1
        consumer = samples(families, "jetstream_consumer_num_ack_pending", consumer_name="uplink")[0]
        assert set(consumer.labels) == CONSUMER_LABELS
        assert consumer.value == FETCHED - ACKED
        assert value(families, "jetstream_consumer_ack_floor_stream_seq") == ACKED
        assert value(families, "jetstream_consumer_num_pending") == READINGS - FETCHED
        assert 0 <= value(families, "jetstream_consumer_last_ack_seconds") < 60
        assert 0 <= value(families, "jetstream_consumer_last_delivery_seconds") < 60
        assert value(families, "jetstream_server_total_messages") == jsz["messages"] == READINGS
        assert value(families, "jetstream_server_jetstream_disabled") == 0

        if server_kind != "edgenats":
            return
        # edgenats' own /varz field: the store folder's disk, which the dashboard shows.
        disk = varz["jetstream"]["store_disk"]
        assert disk["path"] == str(tmp_path / "store" / "jetstream")
        assert disk["total"] == shutil.disk_usage(disk["path"]).total
        assert disk["used"] + disk["free"] <= disk["total"]
        assert value(families, "gnatsd_varz_jetstream_store_disk_total") == disk["total"]


def test_metrics_without_jetstream_or_leafs_say_so(server_factory):
    from monitor_http import start_monitored

    monitor = start_monitored(server_factory, "edgenats").monitor
    families = families_of(monitor)
    assert value(families, "jetstream_server_jetstream_disabled") == 1
    assert value(families, "gnatsd_leafz_conn_nodes_total") == 0
    assert "jetstream_stream_total_messages" not in families
    assert "gnatsd_leafz_info" not in families
    assert monitor.get("/varz")["http_req_stats"]["/metrics"] == 1
