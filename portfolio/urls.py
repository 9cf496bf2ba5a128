from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portfolio.api.urls import router

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include(router.urls)),
    path("", include("portfolio.urls_pages")),
    path("", include("portfolio.analytics.urls")),
    path("", include("products.urls")),
    path("", include("backlog.urls")),
    path("", include("metrics.urls")),
    path("", include("reviews.urls")),
    path("", include("portfolio.funding.urls")),
]
