"""Word lists, names and fixed catalogues for the demo organization (see :mod:`connectors.demo`)."""
from __future__ import annotations

from connectors.records import IdentityRecord

TEAM_POOL = (
    ("Platform", "Infrastructure", "infra"), ("Product", "Checkout", "web"),
    ("Platform", "Data", "data-pipeline"), ("Product", "Search", "api"),
    ("Platform", "Developer Experience", "infra"), ("Product", "Mobile", "mobile"),
    ("Platform", "Security", "api"), ("Product", "Growth", "web"),
    ("Platform", "Observability", "infra"), ("Product", "Payments", "api"),
    ("Platform", "Storage", "data-pipeline"), ("Product", "Onboarding", "web"),
)
REPOS = ("web", "api", "mobile", "infra", "data-pipeline")
# Names only; none may look like an AI tool (no Claude, Devin, Jules, ...) or detection would misfire.
FIRST = (
    "Maria", "James", "Priya", "Wei", "Fatima", "Lucas", "Aisha", "Noah", "Elena", "Kenji", "Sofia", "Omar",
    "Hannah", "Mateo", "Chloe", "Ravi", "Ingrid", "Diego", "Amara", "Tomasz", "Yuki", "Samuel", "Leila",
    "Viktor", "Grace", "Arjun", "Nadia", "Felix", "Zara", "Emeka", "Olivia", "Pedro", "Mei", "Jonas", "Ana",
)
LAST = (
    "Garcia", "Smith", "Patel", "Zhang", "Khan", "Silva", "Okafor", "Muller", "Rossi", "Tanaka", "Novak",
    "Haddad", "Johansson", "Fernandez", "Dubois", "Iyer", "Larsen", "Moreno", "Mensah", "Kowalski", "Sato",
    "Brown", "Nasser", "Petrov", "Kim", "Sharma", "Ali", "Weber", "Ahmed", "Eze", "Walker", "Costa", "Lin",
)
VERBS = ("Add", "Fix", "Refactor", "Improve", "Remove", "Speed up", "Harden", "Document", "Migrate",
         "Simplify", "Support", "Clean up")
OBJECTS = (
    "checkout form", "login flow", "search index", "rate limiter", "billing webhook", "user settings page",
    "feature flags", "audit log", "CSV export", "email templates", "session cache", "retry policy",
    "notification service", "image uploads", "pagination", "API client", "health checks", "query planner",
    "onboarding wizard", "permissions model", "metrics dashboard", "build pipeline", "error reporting",
    "order history", "cart totals", "deploy scripts", "schema migrations", "background jobs",
    "password reset", "push notifications",
)
QUALIFIERS = ("", "", "", " for guest users", " on slow networks", " in the admin", " for large accounts",
              " behind a flag", " in dark mode", " for EU customers", " on Android", " under load")
LABELS = {"Fix": "bug", "Add": "enhancement", "Support": "enhancement", "Refactor": "refactor",
          "Simplify": "refactor", "Clean up": "tech-debt", "Remove": "tech-debt", "Speed up": "performance",
          "Document": "documentation"}
FOLLOW_UPS = ("Address review comments", "Fix failing test", "Tidy up", "Add tests", "Handle empty input",
              "Rename for clarity", "Update docs", "Fix lint", "Apply suggestions from code review")
TRAILERS = {
    "Claude Code": "Co-authored-by: Claude <noreply@anthropic.com>",
    "GitHub Copilot": "Co-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>",
    "Cursor": "Co-authored-by: Cursor Agent <cursoragent@cursor.com>",
}
BRANCH_PREFIXES = {"GitHub Copilot": "copilot/", "Cursor": "cursor/"}
BOTS = (
    IdentityRecord("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com", "dependabot[bot]"),
    IdentityRecord("renovate[bot]", "29139614+renovate[bot]@users.noreply.github.com", "renovate[bot]"),
)
PACKAGES = {
    "web": ("react", "webpack", "eslint", "typescript", "axios"),
    "api": ("django", "celery", "requests", "boto3"),
    "mobile": ("okhttp", "retrofit", "lottie", "kotlinx-coroutines"),
    "infra": ("hashicorp/aws", "actions/checkout", "helm/chart-testing"),
    "data-pipeline": ("pandas", "pyarrow", "apache-airflow", "dbt-core"),
}
TZ_OFFSETS = ((-8, 0), (-5, 0), (0, 0), (1, 0), (2, 0), (5, 30))
