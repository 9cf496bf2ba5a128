"""Pages of the webhooks app (leaders): /settings/webhooks/."""

from django.urls import URLPattern, path

from webhooks import views

urlpatterns: list[URLPattern] = [
    path("settings/webhooks/", views.webhook_list, name="webhook-list"),
    path("settings/webhooks/<int:pk>/", views.webhook_detail, name="webhook-detail"),
    path("settings/webhooks/<int:pk>/pause/", views.webhook_pause, name="webhook-pause"),
    path("settings/webhooks/<int:pk>/resume/", views.webhook_resume, name="webhook-resume"),
    path("settings/webhooks/<int:pk>/ping/", views.webhook_ping, name="webhook-ping"),
    path("settings/webhooks/<int:pk>/rotate/", views.webhook_rotate, name="webhook-rotate"),
    path("settings/webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook-delete"),
    path(
        "settings/webhooks/<int:pk>/deliveries/<int:delivery_pk>/redeliver/",
        views.webhook_redeliver,
        name="webhook-redeliver",
    ),
]
