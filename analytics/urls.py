from django.urls import path

from analytics import views

urlpatterns = [
    path("dashboard/recompute/", views.recompute, name="analytics-recompute"),
    path("analytics/runs/<int:pk>/", views.run_status, name="analytics-run"),
    path("analytics/owners/", views.owner_load_list, name="owner-load-list"),
    path("signals/", views.signal_list, name="split-signal-list"),
    path("signals/<int:pk>/", views.signal_detail, name="split-signal"),
    path("signals/<int:pk>/split/", views.signal_split, name="split-signal-split"),
    path("signals/<int:pk>/dismiss/", views.signal_dismiss, name="split-signal-dismiss"),
]
