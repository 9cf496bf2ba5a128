from django.urls import path

from products import views

urlpatterns = [
    path("products/", views.product_list, name="product-list"),
    path("products/new/", views.product_create, name="product-create"),
    path("products/suggest-model/", views.product_model_suggest, name="product-model-suggest"),
    path("products/<slug:slug>/", views.product_detail, name="product-detail"),
    path("products/<slug:slug>/edit/", views.product_edit, name="product-edit"),
    path("products/<slug:slug>/transition/", views.product_transition, name="product-transition"),
    path("products/<slug:slug>/plan-done/", views.product_plan_done, name="product-plan-done"),
    path("landscape/", views.landscape_page, name="landscape"),
    path("clusters/", views.cluster_list, name="cluster-list"),
    path("clusters/new/", views.cluster_create, name="cluster-create"),
    path("clusters/<slug:slug>/", views.cluster_detail, name="cluster-detail"),
    path("clusters/<slug:slug>/edit/", views.cluster_edit, name="cluster-edit"),
    path("clusters/<slug:slug>/members/", views.cluster_members, name="cluster-members"),
    path("people/", views.person_list, name="person-list"),
    path("people/new/", views.person_create, name="person-create"),
    path("people/<int:pk>/edit/", views.person_edit, name="person-edit"),
    path("people/<int:pk>/depart/", views.person_depart, name="person-depart"),
    path("teams/", views.team_list, name="team-list"),
    path("teams/new/", views.team_create, name="team-create"),
    path("teams/<slug:slug>/", views.team_detail, name="team-detail"),
    path("teams/<slug:slug>/edit/", views.team_edit, name="team-edit"),
]
