"""Teams and dated memberships; several identities in one membership row are one person."""

from __future__ import annotations

from django.db.models import Q
from django.utils.text import slugify

from connectors.records import IdentityRecord, TeamMembershipRecord
from metrics.core.models import Identity, Person, Team, TeamMembership
from metrics.ingestion.people import people_resolve


def team_get_or_create(*, name: str, parent: str = "") -> Team:
    parent_team = team_get_or_create(name=parent) if parent else None
    slug = slugify(name) or "team"
    team, created = Team.objects.get_or_create(slug=slug, defaults={"name": name, "parent": parent_team})
    if not created and parent_team is not None and team.parent_id != parent_team.pk:
        team.parent = parent_team
        team.save(update_fields=["parent"])
    return team


def team_find(*, name: str) -> Team | None:
    """A team by name or slug (case-insensitive), None when there is none."""
    return Team.objects.filter(Q(slug=slugify(name)) | Q(name__iexact=name)).first()


def people_merge(*, keep_id: int, other_ids: list[int]) -> None:
    """Fold people that turned out to be one person into ``keep_id`` (identities, memberships, work)."""
    from metrics.ingestion.models import Commit, PullRequest, Review

    others = [pk for pk in set(other_ids) if pk != keep_id]
    if not others:
        return
    Identity.objects.filter(person_id__in=others).update(person_id=keep_id)
    Commit.objects.filter(author_id__in=others).update(author_id=keep_id)
    PullRequest.objects.filter(author_id__in=others).update(author_id=keep_id)
    Review.objects.filter(reviewer_id__in=others).update(reviewer_id=keep_id)
    for membership in TeamMembership.objects.filter(person_id__in=others):
        duplicate = TeamMembership.objects.filter(
            person_id=keep_id, team_id=membership.team_id, start=membership.start
        ).exists()
        if duplicate:
            membership.delete()
        else:
            membership.person_id = keep_id
            membership.save(update_fields=["person"])
    Person.objects.filter(pk__in=others).delete()


def person_for(*, identities: tuple[IdentityRecord, ...], name: str = "") -> int:
    resolved = people_resolve(identities=identities)
    ids = list(dict.fromkeys(resolved[i.key] for i in identities if i.key in resolved))
    keep = ids[0]
    people_merge(keep_id=keep, other_ids=ids[1:])
    if name:
        Person.objects.filter(pk=keep).update(display_name=name[:300])
    return keep


def memberships_upsert(*, records: list[TeamMembershipRecord]) -> int:
    """Upsert memberships on (person, team, start); returns how many rows were written."""
    teams: dict[tuple[str, str], Team] = {}
    written = 0
    for record in records:
        key = (record.team, record.parent_team)
        if key not in teams:
            teams[key] = team_get_or_create(name=record.team, parent=record.parent_team)
        person_id = person_for(identities=record.identities, name=record.person_name)
        TeamMembership.objects.update_or_create(
            person_id=person_id, team=teams[key], start=record.start, defaults={"end": record.end}
        )
        written += 1
    return written
