from django.urls import path

from backlog import views

urlpatterns = [
    path("units/<int:unit_id>/backlog/", views.backlog_detail, name="backlog-detail"),
    path("units/<int:unit_id>/backlog/new/", views.backlog_item_create, name="backlog-create"),
    path("units/<int:unit_id>/backlog/bulk/", views.backlog_bulk, name="backlog-bulk"),
    path(
        "units/<int:unit_id>/backlog/components/",
        views.backlog_components,
        name="backlog-components",
    ),
    path("backlog/items/<int:item_id>/", views.backlog_item_row, name="backlog-item"),
    path("backlog/items/<int:item_id>/edit/", views.backlog_item_edit, name="backlog-edit"),
    path("backlog/items/<int:item_id>/move/", views.backlog_item_move, name="backlog-move"),
    path(
        "backlog/items/<int:item_id>/comments/",
        views.backlog_item_comment_add,
        name="backlog-comment-add",
    ),
    path(
        "backlog/comments/<int:comment_id>/delete/",
        views.backlog_item_comment_delete,
        name="backlog-comment-delete",
    ),
]
