"""The JetStream scenarios' request window against both servers: a responder that answers only once the
whole window is waiting sees exactly the window, never more, round after round."""

from __future__ import annotations

import threading

from edgenats.bench.frames import pub_frame, sub_frame
from edgenats.bench.js_flow import RequestWindow
from edgenats.bench.js_wire import FrameReader
from edgenats.bench.settings import BenchSettings
from edgenats.bench.wire import Endpoint, open_connection

SUBJECT = "bench.window"
WINDOW = 8
ROUNDS = 3


class HoldingResponder(threading.Thread):
    """Answers nothing until `window` requests wait, then all of them; records how many waited each time."""

    def __init__(self, endpoint: Endpoint, window: int, total: int) -> None:
        super().__init__(daemon=True)
        self.reader = FrameReader(open_connection(endpoint, "responder", sub_frame(SUBJECT, 1)), 5.0)
        self.window, self.total = window, total
        self.waiting_when_answered: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        waiting: list[bytes] = []
        received = 0
        try:
            while received < self.total:
                for frame in self.reader.read():
                    received += 1
                    waiting.append(frame.reply)
                if len(waiting) >= self.window:
                    self.waiting_when_answered.append(len(waiting))
                    self.reader.sock.sendall(b"".join(pub_frame(reply.decode(), b"ok") for reply in waiting))
                    waiting.clear()
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            self.reader.sock.close()


def test_a_request_window_keeps_exactly_its_size_unanswered(server):
    endpoint = Endpoint("127.0.0.1", server.port)
    total = WINDOW * ROUNDS
    responder = HoldingResponder(endpoint, WINDOW, total)
    window = RequestWindow(endpoint, "requester", BenchSettings(stall_timeout_s=5.0), WINDOW)
    try:
        responder.start()
        sent = window.run(lambda index, reply: pub_frame(SUBJECT, b"%d" % index, reply), total, None)
    finally:
        window.close()
    responder.join(5.0)

    assert responder.error is None
    assert sent == window.answered == total and not window.failures
    assert responder.waiting_when_answered == [WINDOW] * ROUNDS
