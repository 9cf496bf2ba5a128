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
]
