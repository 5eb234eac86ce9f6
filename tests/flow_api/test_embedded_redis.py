import socket

import pytest
import redis

from flow_api import embedded_redis


@pytest.fixture
def server():
    port = embedded_redis.free_port()
    process = embedded_redis.start(port)
    yield port, process
    embedded_redis.stop(process)


def test_a_started_server_answers_on_its_port(server):
    port, _ = server

    assert redis.Redis(port=port).ping()


def test_a_port_another_server_holds_is_reported_not_shared(server):
    port, _ = server

    with pytest.raises(embedded_redis.EmbeddedRedisError, match="Address already"):
        embedded_redis.start(port)


def test_a_stopped_server_has_exited(server):
    port, process = server

    embedded_redis.stop(process)

    assert process.returncode is not None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
