"""The dashboard page, and the two parts of it that the page reloads alone."""

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from dashboard import page


def _user(request: HttpRequest) -> User:
    # login_required lets only signed-in users this far.
    assert isinstance(request.user, User)
    return request.user


@login_required
@ensure_csrf_cookie
def index(request: HttpRequest) -> HttpResponse:
    # The script sends the CSRF cookie back as a header on every change it
    # makes through the API, so the page makes sure the cookie is there.
    return render(request, "dashboard/index.html", page.dashboard(_user(request)))


@login_required
def worker_status(request: HttpRequest) -> HttpResponse:
    worker = page.worker_status(_user(request))
    return render(request, "dashboard/_worker_status.html", {"worker": worker})


@login_required
def changes(request: HttpRequest) -> HttpResponse:
    changes = page.pending_changes(_user(request))
    return render(request, "dashboard/_changes.html", {"changes": changes})
