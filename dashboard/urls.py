from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.index, name="dashboard"),
    path(
        "dashboard/worker-status/", views.worker_status, name="dashboard-worker-status"
    ),
    path("dashboard/changes/", views.changes, name="dashboard-changes"),
]
