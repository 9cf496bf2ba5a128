"""The root URL conf: every app's pages, the /api/v1/ router, login and the admin."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as accounts_views
from web import views
from web.api_urls import router

urlpatterns = [
    path("accounts/login/", accounts_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", accounts_views.SignOutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include(router.urls)),
    path("", RedirectView.as_view(pattern_name="dashboard", permanent=False), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("people/<int:pk>/", views.person_detail, name="person-detail"),
    path("settings/", views.settings_page, name="settings"),
    path("account/token/", views.api_token, name="api-token"),
    path("", include("accounts.urls")),
    path("", include("analytics.urls")),
    path("", include("products.urls")),
    path("", include("backlog.urls")),
    path("", include("metrics.urls")),
    path("", include("reviews.urls")),
    path("", include("funding.urls")),
]
