from django.urls import path

from reviews import views

urlpatterns = [
    path("reviews/", views.cycle_list, name="review-cycle-list"),
    path("reviews/schedule/", views.cycle_schedule, name="review-cycle-schedule"),
    path("reviews/cycles/<int:pk>/", views.cycle_detail, name="review-cycle"),
    path(
        "reviews/cycles/<int:pk>/packets/",
        views.cycle_generate_packets,
        name="review-cycle-packets",
    ),
    path("reviews/cycles/<int:pk>/progress/", views.cycle_progress, name="review-cycle-progress"),
    path("reviews/cycles/<int:pk>/close/", views.cycle_close, name="review-cycle-close"),
    path("reviews/cycles/<int:pk>/meeting/", views.meeting, name="review-meeting"),
    path(
        "reviews/cycles/<int:pk>/meeting/<int:review_pk>/",
        views.meeting,
        name="review-meeting-review",
    ),
    path("reviews/<int:pk>/", views.review_detail, name="review-detail"),
    path("reviews/<int:pk>/packets/", views.packet_request, name="review-packet-request"),
    path("reviews/<int:pk>/decisions/", views.decision_create, name="review-decision-create"),
    path("reviews/<int:pk>/actions/", views.action_create, name="review-action-create"),
    path("reviews/<int:pk>/close/", views.review_close, name="review-close"),
    path(
        "reviews/decisions/<int:pk>/delete/", views.decision_delete, name="review-decision-delete"
    ),
    path("reviews/actions/<int:pk>/done/", views.action_done, name="review-action-done"),
    path(
        "reviews/actions/<int:pk>/backlog/", views.action_to_backlog, name="review-action-backlog"
    ),
    path("reviews/actions/<int:pk>/delete/", views.action_delete, name="review-action-delete"),
    path("reviews/packets/<int:pk>/", views.packet_detail, name="packet-detail"),
    path("reviews/packets/<int:pk>/pdf/", views.packet_pdf, name="packet-pdf"),
]
