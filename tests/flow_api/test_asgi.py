"""The ASGI application that daphne serves."""

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

from flow_api.asgi import application


def get(path):
    async def request():
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1")],
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
        }
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(timeout=10)
        body = b""
        while True:
            message = await communicator.receive_output(timeout=10)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.lower(): value for name, value in start["headers"]}
        return start["status"], headers, body

    return async_to_sync(request)()


def test_it_serves_the_admin_stylesheet():
    status, headers, body = get("/static/admin/css/base.css")

    assert status == 200
    assert headers[b"content-type"].startswith(b"text/css")
    assert b"body" in body


def test_it_answers_an_unknown_static_file_with_404():
    status, _, _ = get("/static/admin/css/no-such-file.css")

    assert status == 404
