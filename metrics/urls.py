from django.urls import path

from metrics import views

urlpatterns = [
    path("metrics/", views.metric_list, name="metric-list"),
    path("metrics/upload/", views.readings_upload, name="metrics-upload"),
    path("metrics/upload/example.csv", views.upload_example, name="metrics-upload-example"),
    path("metrics/<int:pk>/", views.metric_detail, name="metric-detail"),
    path("metrics/<int:pk>/chart/", views.metric_chart_panel, name="metric-chart-panel"),
    path("metrics/<int:pk>/chart.svg", views.metric_chart_svg, name="metric-chart"),
    path("metrics/<int:pk>/edit/", views.metric_edit, name="metric-edit"),
    path("metrics/<int:pk>/delete/", views.metric_delete, name="metric-delete"),
    path("metrics/<int:pk>/readings/", views.reading_create, name="metric-reading-create"),
    path("metrics/readings/<int:pk>/delete/", views.reading_delete, name="reading-delete"),
    path("products/<slug:slug>/metrics/new/", views.metric_create, name="metric-create"),
]
