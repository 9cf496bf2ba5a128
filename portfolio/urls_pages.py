from django.urls import path
from django.views.generic import RedirectView

from portfolio import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard", permanent=False), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("clusters/", views.cluster_list, name="cluster-list"),
    path("clusters/new/", views.cluster_create, name="cluster-create"),
    path("clusters/<slug:slug>/", views.cluster_detail, name="cluster-detail"),
    path("clusters/<slug:slug>/edit/", views.cluster_edit, name="cluster-edit"),
    path("clusters/<slug:slug>/members/", views.cluster_members, name="cluster-members"),
    path("people/", views.person_list, name="person-list"),
    path("people/new/", views.person_create, name="person-create"),
    path("people/<int:pk>/", views.person_detail, name="person-detail"),
    path("people/<int:pk>/edit/", views.person_edit, name="person-edit"),
    path("people/<int:pk>/depart/", views.person_depart, name="person-depart"),
    path("teams/", views.team_list, name="team-list"),
    path("teams/new/", views.team_create, name="team-create"),
    path("teams/<slug:slug>/", views.team_detail, name="team-detail"),
    path("teams/<slug:slug>/edit/", views.team_edit, name="team-edit"),
    path("settings/", views.settings_page, name="settings"),
    path("account/token/", views.api_token, name="api-token"),
]
