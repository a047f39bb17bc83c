"""Webhook endpoints, mounted at /webhooks/: one view per host, each verifying its own signature scheme."""

from __future__ import annotations

from django.urls import path

from metrics.ingestion import delivery_webhooks, gitlab_webhooks, webhooks

urlpatterns = [
    path("github", webhooks.github_webhook, name="webhook-github"),  # X-Hub-Signature-256
    path("gitlab", gitlab_webhooks.gitlab_webhook, name="webhook-gitlab"),  # X-Gitlab-Token
    path("deployments", delivery_webhooks.deployments_webhook, name="webhook-deployments"),  # HMAC
    path("incidents", delivery_webhooks.incidents_webhook, name="webhook-incidents"),  # HMAC
]
