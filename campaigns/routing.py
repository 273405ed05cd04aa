from django.urls import path

from campaigns import consumers

browser_urlpatterns = [
    path("attempts/<int:pk>/", consumers.AttemptConsumer.as_asgi()),
    path("campaigns/<int:pk>/run-all/", consumers.RunAllConsumer.as_asgi()),
]
