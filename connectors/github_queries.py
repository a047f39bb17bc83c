"""GraphQL documents of the GitHub connector (GitHub's public schema, also served by Enterprise Server).

One ``PullRequests`` request brings up to 100 pull requests with their commits (100), reviews (100),
first comments, labels and ready-for-review event; the rare pull request with more is completed by
``PullRequestRest``.  ``Freshness`` tells, for up to 100 repositories per request, when their newest
pull request and newest production deployment last changed, so a re-sync with nothing new costs one
request per hundred repositories.
"""

from __future__ import annotations

ACTOR = """
fragment ActorFields on Actor { __typename login ... on User { name } }
"""

COMMIT = """
fragment CommitFields on Commit {
  oid message authoredDate committedDate additions deletions
  parents(first: 2) { totalCount nodes { oid } }
  author { name email date user { login } }
  committer { name email date user { login } }
}
"""

PULL_REQUEST = """
fragment PullRequestFields on PullRequest {
  id number title body state isDraft createdAt updatedAt mergedAt closedAt
  additions deletions changedFiles headRefName baseRefName
  author { ...ActorFields }
  mergeCommit { ...CommitFields }
  labels(first: 50) { nodes { name } }
  timelineItems(first: 1, itemTypes: [READY_FOR_REVIEW_EVENT]) {
    nodes { ... on ReadyForReviewEvent { createdAt } }
  }
  commits(first: 100) {
    totalCount pageInfo { hasNextPage endCursor } nodes { commit { ...CommitFields } }
  }
  reviews(first: 100) {
    pageInfo { hasNextPage endCursor }
    nodes { databaseId state submittedAt author { ...ActorFields } }
  }
  comments(first: 10) {
    pageInfo { hasNextPage endCursor } nodes { createdAt author { ...ActorFields } }
  }
}
"""

REPOSITORY = """
fragment RepositoryFields on Repository {
  nameWithOwner url isArchived defaultBranchRef { name }
  pullRequests(first: 1, orderBy: {field: UPDATED_AT, direction: DESC}) { nodes { updatedAt } }
  deployments(first: 1, environments: $environments, orderBy: {field: CREATED_AT, direction: DESC}) {
    nodes { createdAt latestStatus { createdAt } }
  }
}
"""

PULL_REQUESTS = (
    """
query PullRequests($owner: String!, $name: String!, $first: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    nameWithOwner
    pullRequests(first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { ...PullRequestFields }
    }
  }
}
"""
    + PULL_REQUEST
    + ACTOR
    + COMMIT
)

PULL_REQUEST_REST = (
    """
query PullRequestRest(
  $id: ID!, $commitsAfter: String, $reviewsAfter: String, $commentsAfter: String,
  $commits: Boolean!, $reviews: Boolean!, $comments: Boolean!
) {
  node(id: $id) {
    ... on PullRequest {
      commits(first: 100, after: $commitsAfter) @include(if: $commits) {
        pageInfo { hasNextPage endCursor } nodes { commit { ...CommitFields } }
      }
      reviews(first: 100, after: $reviewsAfter) @include(if: $reviews) {
        pageInfo { hasNextPage endCursor }
        nodes { databaseId state submittedAt author { ...ActorFields } }
      }
      comments(first: 100, after: $commentsAfter) @include(if: $comments) {
        pageInfo { hasNextPage endCursor } nodes { createdAt author { ...ActorFields } }
      }
    }
  }
}
"""
    + ACTOR
    + COMMIT
)

DEPLOYMENTS = """
query Deployments($owner: String!, $name: String!, $after: String, $environments: [String!]) {
  repository(owner: $owner, name: $name) {
    deployments(first: 100, after: $after, environments: $environments,
                orderBy: {field: CREATED_AT, direction: DESC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        databaseId environment commitOid createdAt state
        latestStatus { state createdAt }
        statuses(first: 20) { nodes { state createdAt } }
      }
    }
  }
}
"""

ORGANIZATION_REPOSITORIES = (
    """
query OrganizationRepositories($org: String!, $after: String, $environments: [String!]) {
  organization(login: $org) {
    repositories(first: 100, after: $after, orderBy: {field: NAME, direction: ASC}) {
      pageInfo { hasNextPage endCursor }
      nodes { ...RepositoryFields }
    }
  }
}
"""
    + REPOSITORY
)


def named_repositories_query(count: int) -> str:
    """``Freshness`` of ``count`` named repositories in one request (aliases r0, r1, ...)."""
    params = ", ".join(f"$o{i}: String!, $n{i}: String!" for i in range(count))
    fields = "\n".join(
        f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{ ...RepositoryFields }}" for i in range(count)
    )
    return f"query Repositories({params}, $environments: [String!]) {{\n{fields}\n}}\n" + REPOSITORY
