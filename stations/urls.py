from django.urls import path

from stations import views

app_name = "stations"

urlpatterns = [
    path("", views.catalogue_home, name="catalogue_home"),
    path("firmware/<int:pk>/download/", views.firmware_download, name="firmware_download"),
    path("<slug:slug>/", views.object_list, name="object_list"),
    path("<slug:slug>/new/", views.object_create, name="object_create"),
    path("<slug:slug>/<int:pk>/", views.object_detail, name="object_detail"),
    path("<slug:slug>/<int:pk>/edit/", views.object_edit, name="object_edit"),
]
