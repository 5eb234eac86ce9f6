"""The test session runs against a live Redis, and Django's settings know it."""

from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings


def test_the_session_redis_answers(redis_url):
    client = redis.Redis.from_url(redis_url)

    assert client.ping()

    client.close()


def test_the_broker_and_the_channel_layer_use_the_session_redis(redis_url):
    assert redis_url == settings.REDIS_URL
    assert redis_url == settings.CELERY_BROKER_URL
    layer: Any = settings.CHANNEL_LAYERS["default"]
    assert layer["CONFIG"]["hosts"] == [redis_url]


def test_a_message_travels_through_the_channel_layer(redis_url):
    layer = get_channel_layer()

    async def send_and_receive():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "greeting", "text": "hello"})
        return await layer.receive(channel)

    assert async_to_sync(send_and_receive)() == {"type": "greeting", "text": "hello"}
