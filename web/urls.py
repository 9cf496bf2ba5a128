"""The root URL conf: every app's pages, the /api/v1/ router, login and the admin."""

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as accounts_views
from portfolio.headers import csp_report
from web import views
from web.api_urls import router

urlpatterns = [
    path("accounts/login/", accounts_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", accounts_views.SignOutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI: a login first (a page, so anonymous visitors go to the login page), and its
    # start-up script is a URL of its own (?script), not an inline script the CSP would block.
    path(
        "api/v1/docs/",
        login_required(
            SpectacularSwaggerSplitView.as_view(
                url_name="api-schema", template_name="api/swagger_ui.html"
            )
        ),
        name="api-docs",
    ),
    path("api/v1/", include(router.urls)),
    path("", views.home, name="home"),
    path("my-work/", views.my_work_page, name="my-work"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("csp-report/", csp_report, name="csp-report"),
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("people/<int:pk>/", views.person_detail, name="person-detail"),
    path("settings/", views.settings_page, name="settings"),
    # The single-token page of old: its links and bookmarks land on the tokens page.
    path(
        "account/token/",
        RedirectView.as_view(pattern_name="account-tokens", permanent=False),
        name="account-token-old",
    ),
    path("", include("accounts.urls")),
    path("", include("analytics.urls")),
    path("", include("products.urls")),
    path("", include("backlog.urls")),
    path("", include("metrics.urls")),
    path("", include("reviews.urls")),
    path("", include("funding.urls")),
    path("", include("webhooks.urls")),
]
