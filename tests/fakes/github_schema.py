"""The part of GitHub's public GraphQL schema that Sextant reads, with GitHub's own type and field names.

The fake server validates and executes every query against it with graphql-core, so a query that asks
for a field GitHub does not have, or forgets a required argument, fails the tests the way it would fail
against GitHub.  Limits GitHub enforces (``first`` between 1 and 100 and required on connections) are
checked in the resolvers (``tests.fakes.github``).
"""

from __future__ import annotations

from graphql import GraphQLSchema, build_schema

SDL = """
scalar DateTime
scalar GitTimestamp
scalar URI
scalar GitObjectID

type Query {
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
  organization(login: String!): Organization
  node(id: ID!): Node
  rateLimit(dryRun: Boolean = false): RateLimit
}

type RateLimit { cost: Int! limit: Int! nodeCount: Int! remaining: Int! resetAt: DateTime! used: Int! }

interface Node { id: ID! }
interface Actor { avatarUrl: URI! login: String! resourcePath: URI! url: URI! }
type User implements Actor & Node {
  id: ID! login: String! name: String email: String! avatarUrl: URI! resourcePath: URI! url: URI!
}
type Bot implements Actor & Node { id: ID! login: String! avatarUrl: URI! resourcePath: URI! url: URI! }
type Mannequin implements Actor & Node {
  id: ID! login: String! avatarUrl: URI! resourcePath: URI! url: URI!
}

type PageInfo { endCursor: String hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String }
enum OrderDirection { ASC DESC }

type Organization implements Actor & Node {
  id: ID! login: String! name: String avatarUrl: URI! resourcePath: URI! url: URI!
  repositories(first: Int, after: String, last: Int, before: String, orderBy: RepositoryOrder,
               isFork: Boolean, isArchived: Boolean): RepositoryConnection!
}
input RepositoryOrder { field: RepositoryOrderField! direction: OrderDirection! }
enum RepositoryOrderField { CREATED_AT UPDATED_AT PUSHED_AT NAME STARGAZERS }
type RepositoryConnection { nodes: [Repository] pageInfo: PageInfo! totalCount: Int! }

type Ref implements Node { id: ID! name: String! prefix: String! }

type Repository implements Node {
  id: ID! name: String! nameWithOwner: String! url: URI! isArchived: Boolean! isFork: Boolean!
  defaultBranchRef: Ref
  pullRequests(first: Int, after: String, last: Int, before: String, orderBy: IssueOrder,
               states: [PullRequestState!], labels: [String!], baseRefName: String,
               headRefName: String): PullRequestConnection!
  deployments(first: Int, after: String, last: Int, before: String, environments: [String!],
              orderBy: DeploymentOrder = {field: CREATED_AT, direction: ASC}): DeploymentConnection!
}
input IssueOrder { field: IssueOrderField! direction: OrderDirection! }
enum IssueOrderField { CREATED_AT UPDATED_AT COMMENTS }
input DeploymentOrder { field: DeploymentOrderField! direction: OrderDirection! }
enum DeploymentOrderField { CREATED_AT }

enum PullRequestState { OPEN CLOSED MERGED }
type PullRequestConnection { nodes: [PullRequest] pageInfo: PageInfo! totalCount: Int! }
type PullRequest implements Node {
  id: ID! number: Int! title: String! body: String! state: PullRequestState! isDraft: Boolean!
  createdAt: DateTime! updatedAt: DateTime! mergedAt: DateTime closedAt: DateTime
  additions: Int! deletions: Int! changedFiles: Int! headRefName: String! baseRefName: String!
  author: Actor mergeCommit: Commit url: URI!
  labels(first: Int, after: String, last: Int, before: String): LabelConnection
  timelineItems(first: Int, after: String, last: Int, before: String, since: DateTime, skip: Int,
                itemTypes: [PullRequestTimelineItemsItemType!]): PullRequestTimelineItemsConnection!
  commits(first: Int, after: String, last: Int, before: String): PullRequestCommitConnection!
  reviews(first: Int, after: String, last: Int, before: String, author: String,
          states: [PullRequestReviewState!]): PullRequestReviewConnection
  comments(first: Int, after: String, last: Int, before: String): IssueCommentConnection!
}
type Label implements Node { id: ID! name: String! color: String! }
type LabelConnection { nodes: [Label] pageInfo: PageInfo! totalCount: Int! }

enum PullRequestTimelineItemsItemType {
  READY_FOR_REVIEW_EVENT CONVERT_TO_DRAFT_EVENT REVIEW_REQUESTED_EVENT MERGED_EVENT CLOSED_EVENT
}
type ReadyForReviewEvent implements Node { id: ID! actor: Actor createdAt: DateTime! }
type ConvertToDraftEvent implements Node { id: ID! actor: Actor createdAt: DateTime! }
union PullRequestTimelineItems = ReadyForReviewEvent | ConvertToDraftEvent
type PullRequestTimelineItemsConnection {
  nodes: [PullRequestTimelineItems] pageInfo: PageInfo! totalCount: Int! filteredCount: Int!
}

type PullRequestCommit implements Node { id: ID! commit: Commit! }
type PullRequestCommitConnection { nodes: [PullRequestCommit] pageInfo: PageInfo! totalCount: Int! }
type Commit implements Node {
  id: ID! oid: GitObjectID! message: String! messageHeadline: String! authoredDate: DateTime!
  committedDate: DateTime! additions: Int! deletions: Int! changedFilesIfAvailable: Int
  parents(first: Int, after: String, last: Int, before: String): CommitConnection!
  author: GitActor committer: GitActor
}
type CommitConnection { nodes: [Commit] pageInfo: PageInfo! totalCount: Int! }
type GitActor { name: String email: String date: GitTimestamp user: User }

enum PullRequestReviewState { PENDING COMMENTED APPROVED CHANGES_REQUESTED DISMISSED }
type PullRequestReview implements Node {
  id: ID! databaseId: Int fullDatabaseId: String state: PullRequestReviewState! submittedAt: DateTime
  createdAt: DateTime! author: Actor
}
type PullRequestReviewConnection { nodes: [PullRequestReview] pageInfo: PageInfo! totalCount: Int! }
type IssueComment implements Node { id: ID! databaseId: Int createdAt: DateTime! author: Actor }
type IssueCommentConnection { nodes: [IssueComment] pageInfo: PageInfo! totalCount: Int! }

enum DeploymentState {
  ABANDONED ACTIVE DESTROYED ERROR FAILURE INACTIVE PENDING QUEUED IN_PROGRESS WAITING SUCCESS
}
enum DeploymentStatusState { PENDING SUCCESS FAILURE INACTIVE ERROR QUEUED IN_PROGRESS WAITING }
type Deployment implements Node {
  id: ID! databaseId: Int environment: String originalEnvironment: String commitOid: String!
  createdAt: DateTime! updatedAt: DateTime! state: DeploymentState latestStatus: DeploymentStatus
  statuses(first: Int, after: String, last: Int, before: String): DeploymentStatusConnection
}
type DeploymentStatus implements Node { id: ID! state: DeploymentStatusState! createdAt: DateTime! }
type DeploymentStatusConnection { nodes: [DeploymentStatus] pageInfo: PageInfo! totalCount: Int! }
type DeploymentConnection { nodes: [Deployment] pageInfo: PageInfo! totalCount: Int! }
"""

SCHEMA: GraphQLSchema = build_schema(SDL)
