from __future__ import annotations

# Webhook endpoints (issue 8) are added here.
urlpatterns: list = []
