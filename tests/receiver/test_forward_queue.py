"""The forward queue is bounded by bytes as well as by count: at the 16 MiB body limit, 1000
queued requests alone could hold ~16 GB."""

from __future__ import annotations

import logging
import threading

import pytest

from otel_cost.receiver.forward import DEFAULT_MAX_QUEUE_BYTES, Forwarder


def test_forward_queue_drops_the_oldest_payloads_over_its_byte_cap(caplog: pytest.LogCaptureFixture):
    sent: list[bytes] = []
    taken = threading.Event()
    gate = threading.Event()

    def held(payload: bytes) -> None:
        taken.set()
        gate.wait(10)
        sent.append(payload)

    forwarder = Forwarder(held, max_queue=100, max_queue_bytes=1000)
    forwarder.submit(b"0" * 400)
    assert taken.wait(10)  # the first payload is being sent: out of the queue
    with caplog.at_level(logging.WARNING, logger="otel_cost.receiver.forward"):
        forwarder.submit(b"a" * 400)
        forwarder.submit(b"b" * 400)
        assert (forwarder.queued_bytes, forwarder.dropped) == (800, 0)
        forwarder.submit(b"c" * 400)  # 1200 bytes would be over 1000: "a" goes
        assert (forwarder.queued_bytes, forwarder.dropped) == (800, 1)
        forwarder.submit(b"d" * 1001)  # over the cap alone: dropped itself, the queue kept
        assert (forwarder.queued_bytes, forwarder.dropped) == (800, 2)
    assert (
        "forward queue full (100 batches or 1000 bytes): dropped the oldest batch (1 dropped)" in caplog.text
    )
    assert "forward payload of 1001 bytes is over the queue's 1000 bytes: dropped (2 dropped)" in caplog.text
    gate.set()
    assert forwarder.flush(10)
    forwarder.close(5)
    assert sent == [b"0" * 400, b"b" * 400, b"c" * 400]
    assert (forwarder.sent, forwarder.dropped, forwarder.queued_bytes) == (3, 2, 0)
    assert DEFAULT_MAX_QUEUE_BYTES == 256 * 1024 * 1024
