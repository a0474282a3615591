"""Display names of the API's enumerations, as Babel messages with a context (msgctxt) per enumeration.

The message ids are English; the Vietnamese catalogue gives the terms of `glossary.md` (and, for
standing, activity and remote reason, exactly the labels the register import accepts:
`server.imports.members_file.*_LABELS_VI`, which a unit test keeps in step).
Extract with `pybabel extract -k _label:1c,2` (see web/locale/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from gettext import NullTranslations
from typing import NamedTuple

from meetings.enums import Activity, ApplicationKind, ApplicationStatus, OrgKind, RemoteReason, Role, Standing


class Label(NamedTuple):
    context: str
    message: str


def _label(context: str, message: str) -> Label:
    """Marks a message for extraction; it is translated when a page is rendered."""
    return Label(context, message)


ORG_KIND: Mapping[str, Label] = {
    OrgKind.PROVINCE: _label("org kind", "provincial committee"),
    OrgKind.COMMITTEE: _label("org kind", "committee above the grassroots"),
    OrgKind.GRASSROOTS: _label("org kind", "grassroots party committee"),
    OrgKind.CELL: _label("org kind", "party cell"),
    OrgKind.GROUP: _label("org kind", "party group"),
}

STANDING: Mapping[str, Label] = {
    Standing.OFFICIAL: _label("standing", "official"),
    Standing.PROBATIONARY: _label("standing", "probationary"),
}

ACTIVITY: Mapping[str, Label] = {
    Activity.ACTIVE: _label("activity", "active"),
    Activity.EXEMPT: _label("activity", "exempt from party work and meetings"),
    Activity.SUSPENDED: _label("activity", "suspended from party activity"),
    Activity.AWAY_TEMPORARILY: _label("activity", "temporarily attached elsewhere"),
    Activity.UNDER_PROSECUTION: _label("activity", "under prosecution"),
}

REMOTE_REASON: Mapping[str, Label] = {
    RemoteReason.ABROAD: _label("remote reason", "abroad"),
    RemoteReason.MULTI_PROVINCE: _label("remote reason", "agency spread over several provinces"),
    RemoteReason.FAR_FROM_HOME: _label("remote reason", "working far from home"),
    RemoteReason.STUDENT_SUMMER: _label("remote reason", "student on summer break"),
    RemoteReason.ARMED_FORCES: _label("remote reason", "armed forces"),
    RemoteReason.HEALTH: _label("remote reason", "health services"),
    RemoteReason.FOREST_RANGER: _label("remote reason", "forest ranger"),
    RemoteReason.SEAFARER_OFFSHORE_ISLAND: _label("remote reason", "seafarer / offshore rig / island"),
    RemoteReason.DISASTER: _label("remote reason", "natural disaster"),
    RemoteReason.EPIDEMIC: _label("remote reason", "epidemic"),
    RemoteReason.OTHER_CIRCUMSTANCE: _label("remote reason", "other special circumstance"),
}

ROLE: Mapping[str, Label] = {
    Role.ADMIN: _label("role", "administrator"),
    Role.SECRETARY: _label("role", "secretary"),
    Role.DEPUTY_SECRETARY: _label("role", "deputy secretary"),
    Role.APPROVER: _label("role", "approving committee"),
    Role.AUDITOR: _label("role", "auditor (organisation board)"),
}

APPLICATION_KIND: Mapping[str, Label] = {
    ApplicationKind.ONLINE: _label("application kind", "online meetings"),
    ApplicationKind.GROUP: _label("application kind", "meetings by party group"),
}

APPLICATION_STATUS: Mapping[str, Label] = {
    ApplicationStatus.PENDING: _label("application status", "awaiting decision"),
    ApplicationStatus.APPROVED: _label("application status", "approved"),
    ApplicationStatus.REJECTED: _label("application status", "rejected"),
    ApplicationStatus.REVOKED: _label("application status", "revoked"),
}

TABLES: Mapping[str, Mapping[str, Label]] = {
    "org_kind": ORG_KIND,
    "standing": STANDING,
    "activity": ACTIVITY,
    "remote_reason": REMOTE_REASON,
    "role": ROLE,
    "application_kind": APPLICATION_KIND,
    "application_status": APPLICATION_STATUS,
}


def translated_tables(translations: NullTranslations) -> dict[str, dict[str, str]]:
    """Every table in one language, keyed by the wire value: what templates and page scripts show."""
    return {
        name: {
            str(value): translations.pgettext(label.context, label.message) for value, label in table.items()
        }
        for name, table in TABLES.items()
    }
