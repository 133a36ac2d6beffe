"""The monitor's HTTP behaviour as browsers, curl and probes see it, on edgenats and nats-server."""

from __future__ import annotations

import http.client
import json

from monitor_http import split_response, start_monitored


def test_unknown_path_is_404(monitored):
    reply = monitored.monitor.request("/no-such-endpoint")
    assert reply.status == 404


def test_json_endpoints_send_content_type_and_cors_header(monitored):
    for path in ("/varz", "/connz", "/subsz", "/healthz"):
        reply = monitored.monitor.request(path)
        assert reply.status == 200
        assert reply.headers["content-type"] == "application/json"
        assert reply.headers["access-control-allow-origin"] == "*"
        assert int(reply.headers["content-length"]) == len(reply.body)


def test_plain_http_1_0_request_like_curl_gets_a_whole_answer(monitored):
    data = monitored.monitor.raw(b"GET /varz HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8.5.0\r\n"
                                 b"Accept: */*\r\n\r\n")
    status_line, headers, body = split_response(data)
    assert status_line.startswith("HTTP/1.") and " 200 " in status_line + " "
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["server_id"]


def test_query_string_and_keep_alive_on_one_connection(monitored):
    connection = http.client.HTTPConnection("127.0.0.1", monitored.monitor.port, timeout=5)
    try:
        for path in ("/healthz", "/connz?limit=7&offset=0", "/varz"):
            connection.request("GET", path)
            response = connection.getresponse()
            assert response.status == 200
            document = json.loads(response.read())
        assert document["http_req_stats"]["/varz"] >= 1
        connection.request("GET", "/connz?limit=7")
        assert json.loads(connection.getresponse().read())["limit"] == 7
    finally:
        connection.close()


def test_head_answers_headers_without_a_body(monitored):
    reply = monitored.monitor.request("/varz", method="HEAD")
    assert reply.status == 200
    assert reply.body == b""
    assert int(reply.headers["content-length"]) > 0


def test_index_page_is_html_linking_the_endpoints(monitored):
    reply = monitored.monitor.request("/")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    page = reply.body.decode()
    for endpoint in ("varz", "connz", "jsz"):
        assert f"./{endpoint}" in page


def test_bad_query_value_is_400(monitored):
    assert monitored.monitor.request("/connz?sort=no-such-sort").status == 400
    assert monitored.monitor.request("/connz?limit=abc").status == 400
    assert monitored.monitor.request("/subsz?test=foo.*").status == 400


def test_other_methods_are_refused_with_405(server_factory):
    # nats-server answers any method, so this is edgenats' own contract (a read-only port).
    monitor = start_monitored(server_factory, "edgenats").monitor
    for method in ("POST", "PUT", "DELETE"):
        reply = monitor.request("/varz", method=method)
        assert reply.status == 405
        assert "GET" in reply.headers["allow"]
    assert monitor.request("/healthz").status == 200


def test_malformed_request_gets_400_and_the_monitor_keeps_serving(monitored):
    data = monitored.monitor.raw(b"NOT AN HTTP REQUEST\r\n\r\n")
    status_line, _, _ = split_response(data)
    assert " 400 " in status_line + " "
    assert monitored.monitor.request("/healthz").status == 200
