"""Resolving connector identities to people: one person, many e-mails and logins."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, Max, Min, OuterRef

from connectors.records import IdentityRecord
from metrics.analytics.ai_detection import is_bot_identity
from metrics.core.models import Identity, Person
from metrics.ingestion.bulk import among
from metrics.ingestion.models import AISeat, AIUsageDay, Commit, PullRequest, Review

CHUNK = 500
LOOKUP_CHUNK = 900  # keys per lookup query (under any SQLite's limit of bound parameters)


def _keys_of(record: IdentityRecord) -> list[tuple[str, str, str]]:
    """All (key, kind, value) under which this identity may already be known."""
    keys = []
    if record.email:
        keys.append(("email:" + record.email.strip().lower(), "email", record.email.strip()))
    if record.login:
        keys.append(("login:" + record.login.strip().lower(), "login", record.login.strip()))
    if not keys and record.name.strip():
        keys.append(("name:" + record.name.strip().lower(), "name", record.name.strip()))
    return keys


def identities_existing(keys: Iterable[str]) -> dict[str, int]:
    """Map identity key -> person id for the keys already stored (one plain query per chunk of keys: the
    ORM's ``key__in`` prepares every value on its own, which showed in a sync of thousands of people)."""
    keys = list(keys)
    found: dict[str, int] = {}
    qn = connection.ops.quote_name
    table, key, person = qn(Identity._meta.db_table), qn("key"), qn(Identity._meta.get_field("person").column)
    with connection.cursor() as cursor:
        for i in range(0, len(keys), LOOKUP_CHUNK):
            condition, params = among(key, keys[i : i + LOOKUP_CHUNK])
            # Names from model metadata (quoted); the keys are parameters.
            cursor.execute(f"SELECT {key}, {person} FROM {table} WHERE {condition}", params)  # noqa: S608
            found.update(cursor.fetchall())
    return found


def people_resolve(*, identities: Iterable[IdentityRecord | None]) -> dict[str, int]:
    """Person id for every identity's ``key``, creating people and identities that are new.

    An identity known by e-mail that now also shows a login (or the reverse) gains the other key,
    so the same person is found whichever one a later source uses.  Of records with the same key the
    last one counts (its name names a new person, its other key is added).
    """
    # Each identity object's keys, once: found by ``id`` (no hashing of its fields; the list holds the
    # objects, so no id is reused).  Records of one identity usually share one object.
    keys_of: dict[int, list[tuple[str, str, str]]] = {}
    records: dict[str, tuple[IdentityRecord, list[tuple[str, str, str]]]] = {}
    for r in list(identities):
        if r is None:
            continue
        keys = keys_of.get(id(r))
        if keys is None:
            keys = keys_of[id(r)] = _keys_of(r)
        if keys:
            records[keys[0][0]] = (r, keys)  # keys[0][0] is r.key
    known = identities_existing({k for _, keys in records.values() for k, _, _ in keys})
    result: dict[str, int] = {}
    new_identities: list[Identity] = []
    pending: list[tuple[IdentityRecord, list[tuple[str, str, str]], Person]] = []
    for key, (record, keys) in records.items():
        person_id = next((known[k] for k, _, _ in keys if k in known), None)
        if person_id is None:
            person = Person(
                display_name=(record.name or record.login or record.email)[:300],
                is_bot=is_bot_identity(record.name, record.email, record.login),
            )
            pending.append((record, keys, person))
            continue
        result[key] = person_id
        for k, kind, value in keys:
            if k not in known:
                known[k] = person_id
                new_identities.append(Identity(person_id=person_id, key=k, kind=kind, value=value[:320]))
    Person.objects.bulk_create([p for _, _, p in pending], batch_size=CHUNK)
    for _record, keys, person in pending:
        result[keys[0][0]] = person.pk
        for k, kind, value in keys:
            if k not in known:
                known[k] = person.pk
                new_identities.append(Identity(person_id=person.pk, key=k, kind=kind, value=value[:320]))
    Identity.objects.bulk_create(new_identities, batch_size=CHUNK, ignore_conflicts=True)
    return result


def tool_identities_unmatched() -> list[dict[str, object]]:
    """People known only from AI-tool data (usage days, seats, per-model days, line attribution): no
    commit, pull request or review of theirs is stored, so their tool use joins no engineering work.
    One row each: the person, their identity keys, the tools and days seen."""
    worked = (
        Exists(Commit.objects.filter(author=OuterRef("pk")))
        | Exists(PullRequest.objects.filter(author=OuterRef("pk")))
        | Exists(Review.objects.filter(reviewer=OuterRef("pk")))
    )
    used = Exists(AIUsageDay.objects.filter(person=OuterRef("pk"))) | Exists(
        AISeat.objects.filter(person=OuterRef("pk"))
    )
    people = Person.objects.filter(used).exclude(worked).order_by("display_name", "pk")
    usage = {
        row["person"]: row
        for row in AIUsageDay.objects.filter(person__in=people)
        .values("person")
        .annotate(days=Count("id"), first=Min("day"), last=Max("day"))
    }
    tools: dict[int, set[str]] = {}
    for person_id, tool in (
        AIUsageDay.objects.filter(person__in=people).values_list("person", "tool").distinct()
    ):
        tools.setdefault(person_id, set()).add(tool)
    for person_id, tool in AISeat.objects.filter(person__in=people).values_list("person", "tool").distinct():
        tools.setdefault(person_id, set()).add(tool)
    keys: dict[int, list[str]] = {}
    for person_id, key in (
        Identity.objects.filter(person__in=people).values_list("person", "key").order_by("key")
    ):
        keys.setdefault(person_id, []).append(key)
    return [
        {
            "person": person,
            "identities": keys.get(person.pk, []),
            "tools": sorted(tools.get(person.pk, set())),
            "days": usage.get(person.pk, {}).get("days", 0),
            "first": usage.get(person.pk, {}).get("first"),
            "last": usage.get(person.pk, {}).get("last"),
        }
        for person in people
    ]


def person_merge(*, source: Person, target: Person) -> int:
    """Link ``source`` (a tool identity's person) to ``target``: every identity, usage day, seat, commit,
    pull request, review and membership of ``source`` becomes ``target``'s, and ``source`` is deleted.
    One transaction; returns how many rows moved.  A membership ``target`` already has is dropped."""
    if source.pk == target.pk:
        raise ValueError("a person cannot be linked to themselves")
    moved = 0
    with transaction.atomic():
        # include_hidden: relations without a reverse name (related_name="+") must move too
        for relation in Person._meta.get_fields(include_hidden=True):
            if not (relation.auto_created and relation.one_to_many) or relation.related_model is Person:
                continue
            manager = relation.related_model._default_manager
            rows = manager.filter(**{relation.field.name: source})
            try:
                with transaction.atomic():
                    moved += rows.update(**{relation.field.name: target})
            except IntegrityError:  # a unique row target already has (a membership of the same start)
                for row in rows:
                    try:
                        with transaction.atomic():
                            moved += manager.filter(pk=row.pk).update(**{relation.field.name: target})
                    except IntegrityError:
                        row.delete()
        source.delete()
    return moved
