"""The settings of a leaf link whose peer does not read: nats-server's `leafnodes { write_deadline,
write_timeout }` (accepted and refused as nats-server does), and edgenats' own `leafnodes { max_pending }`
(the bound on a link's pending output, which nats-server does not have and refuses as unknown).
"""

from __future__ import annotations

import pytest
from test_config import check_config

WRITE_TIMEOUT_ERROR = "write_timeout must be 'default', 'close' or 'retry'"


@pytest.mark.parametrize("kind", ["edgenats", "nats-server"])
@pytest.mark.parametrize("policy", ["default", "close", "retry"])
def test_leafnodes_write_deadline_and_write_timeout_accepted(tmp_path, kind, policy):
    path = tmp_path / "leaf.conf"
    path.write_text(f'leafnodes {{ write_deadline: "5s", write_timeout: {policy} }}\n')
    result = check_config(kind, path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["edgenats", "nats-server"])
def test_leafnodes_unknown_write_timeout_refused_with_nats_server_text(tmp_path, kind):
    path = tmp_path / "leaf.conf"
    path.write_text("leafnodes { write_timeout: sometimes }\n")
    result = check_config(kind, path)
    assert result.returncode == 1
    assert WRITE_TIMEOUT_ERROR in result.stdout + result.stderr


@pytest.mark.parametrize(("text", "accepted", "reason"), [
    ("leafnodes { max_pending: 4MB }", True, ""),
    ("max_payload: 2MB\nleafnodes { max_pending: 1MB }", False, "cannot exceed leafnodes max_pending"),
    ("leafnodes { max_pending: 0 }", False, "leafnodes.max_pending must be positive"),
])
def test_leafnodes_max_pending_is_edgenats_own(tmp_path, text, accepted, reason):
    path = tmp_path / "leaf.conf"
    path.write_text(text + "\n")
    result = check_config("edgenats", path)
    assert (result.returncode == 0) is accepted, result.stderr
    assert reason in result.stderr


def test_leafnodes_max_pending_unknown_to_nats_server(tmp_path):
    path = tmp_path / "leaf.conf"
    path.write_text("leafnodes { max_pending: 4MB }\n")
    result = check_config("nats-server", path)
    assert result.returncode == 1
    assert 'unknown field "max_pending"' in result.stdout + result.stderr
