from django.urls import path

from funding import views

urlpatterns = [
    path("funding/", views.funding_portfolio, name="funding-portfolio"),
    path("funding/summary/", views.funding_summary, name="funding-summary"),
    path("funding/requests/", views.request_queue, name="funding-requests"),
    path("funding/requests/<int:pk>/", views.request_detail, name="funding-request"),
    path("funding/requests/<int:pk>/decide/", views.request_decide, name="funding-request-decide"),
    path("funding/requests/<int:pk>/submit/", views.request_submit, name="funding-request-submit"),
    path(
        "funding/requests/<int:pk>/withdraw/",
        views.request_withdraw,
        name="funding-request-withdraw",
    ),
    path("funding/units/<int:unit_id>/", views.unit_panel, name="funding-unit"),
    path("funding/units/<int:unit_id>/request/", views.unit_request, name="funding-unit-request"),
    path(
        "funding/units/<int:unit_id>/allocation/",
        views.unit_allocation,
        name="funding-unit-allocation",
    ),
]
