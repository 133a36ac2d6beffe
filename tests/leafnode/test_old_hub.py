"""The core interop scenarios against Debian's nats-server 2.9 as hub (edge sites meet old clusters).

Skipped, with the reason, when nats-server 2.9 is not installed (`apt-get install -y nats-server`,
or point EDGENATS_OLD_NATS_SERVER at a 2.9 binary).
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


@pytest.fixture(params=["old-hub"])
def topology(request) -> str:
    return request.param
