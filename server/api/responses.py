"""Schemas of the API's answers, for the OpenAPI document (each route names its own in `route(...)`).

Only what is always true of an answer: the keys always present, typed where the type never varies
(`T?`: T or null; `any`: present, any JSON value). Keys an answer only sometimes has are `optional`.
Nested records are typed as objects or arrays, not described further (yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.api.registry import Shape

_TYPES = ("string", "integer", "number", "boolean", "array", "object")


def _type(spec: str) -> dict[str, Any]:
    if spec == "any":
        return {}
    nullable = spec.endswith("?")
    name = spec.rstrip("?")
    assert name in _TYPES, spec
    return {"type": [name, "null"]} if nullable else {"type": name}


def obj(
    title: str, /, *shared: Mapping[str, str], optional: Mapping[str, str] | None = None, **fields: str
) -> Shape:
    """An object with these keys always present (`shared` mappings and keywords; a trailing `_` is dropped
    from a keyword that is a Python word) and `optional` ones sometimes, typed."""
    required = {key: spec for mapping in shared for key, spec in mapping.items()} | fields
    properties = {key.rstrip("_"): _type(spec) for key, spec in required.items()}
    properties.update({key: _type(spec) for key, spec in (optional or {}).items()})
    return Shape(
        title,
        {
            "type": "object",
            "required": sorted(key.rstrip("_") for key in required),
            "properties": dict(sorted(properties.items())),
        },
    )


def listing(title: str, key: str, /, **others: str) -> Shape:
    """`{key: [...]}`, with other keys always present."""
    return obj(title, {key: "array"}, others)


OK = obj("Ok", ok="boolean")

# -- organisations, members, groups --------------------------------------------------------
_ORG = dict(
    id="integer", name="string", kind="string", parent_id="integer?", timezone="string", rule_set="string"
)
ORG = obj("Org", _ORG)
ORG_DETAIL = obj("OrgDetail", _ORG, optional={"pilot": "object"})
ORGS = listing("OrgList", "orgs")
GRANT = obj("Grant", id="integer", org_id="integer", user_id="integer", role="string")
GRANTS = listing("GrantList", "grants")
MEMBER = obj(
    "Member",
    id="integer",
    org_id="integer",
    full_name="string",
    standing="string",
    activity="string",
    remote_reason="string?",
    group_id="integer?",
    user_id="integer?",
    external_id="string?",
)
MEMBERS = listing("MemberList", "members")
IMPORTED = obj("Imported", imported="integer")
GROUP = obj(
    "Group",
    id="integer",
    org_id="integer",
    name="string",
    leader="object?",
    deputy="object?",
    member_ids="array",
    member_count="integer",
)
GROUPS = obj("GroupList", org_id="integer", groups="array", unassigned_member_ids="array")
DISSOLVED = obj("DissolvedGroup", id="integer", org_id="integer", name="string", dissolved_at="string")
USER_CREATED = obj("UserCreated", id="integer")
UNLOCKED = obj("LoginUnlocked", user_id="integer", unlocked="any")

# -- decisions, pilot --------------------------------------------------------------------------
DECISION = obj(
    "Decision",
    optional={"details": "any", "rule_set": "any"},
    outcome="any",
    rule="string?",
    counts="object",
    explanation="string",
)
RULE_SET = obj("RuleSet", name="string", title="any", parameters="array")
_APPLICATION = dict(
    id="integer",
    org_id="integer",
    kind="string",
    status="string",
    applied_at="string",
    eligibility="object?",
    decided_on="string?",
    deciding_org_id="integer?",
    decision_no="string?",
    valid_from="string?",
    valid_to="string?",
    revoked_at="string?",
    revoke_reason="string?",
)
APPLICATION = obj("PilotApplication", _APPLICATION)
APPLICATIONS = listing("PilotApplicationList", "applications")
FLAGS = listing("EligibilityFlagList", "flags")

# -- meetings ------------------------------------------------------------------------------------
_MEETING = dict(
    id="integer",
    org_id="integer",
    kind="string",
    mode="string",
    status="string",
    title="string",
    starts_at="string",
    ends_at="string",
    starts_at_local="string",
    timezone="string",
    duration_minutes="integer",
    chair_id="integer?",
    minute_taker_id="integer?",
    agenda_template_id="integer?",
    place="string?",
    current_item="any",
    created_by="integer?",
    created_at="string",
    opened_at="string?",
    closed_at="string?",
    quorum_override_reason="string?",
    cancelled_at="string?",
    cancel_reason="string?",
)
_MEETING_EXTRAS = {"warnings": "array", "notified": "integer", "quorum": "object", "attendance": "object"}
MEETING = obj("Meeting", _MEETING, optional=_MEETING_EXTRAS)
MEETINGS = listing("MeetingList", "meetings")
INVITATIONS = obj(
    "InvitationsSent",
    optional={"mailed": "any"},
    meeting_id="integer",
    sent="integer",
    again="boolean",
    times_sent_before="integer",
)
AGENDA = obj("Agenda", meeting_id="integer", items="array")
CURRENT_ITEM = obj("CurrentItem", meeting_id="integer", current="any", items="array")
EXCUSE = obj(
    "Excuse",
    id="integer",
    meeting_id="integer",
    member_id="integer",
    reason="string",
    submitted_by="integer?",
    created_at="string",
)
EXCUSES = listing("ExcuseList", "excuses")
TEMPLATE = obj("AgendaTemplate", id="integer", builtin="boolean", kind="any", name="any", items="array")
TEMPLATES = listing("AgendaTemplateList", "templates")
FLOOR = obj("Floor", member_id="integer?", agenda_index="any", since="any")
SPEECHES = listing("SpeechList", "speeches")
MONTHLY_RECORD = obj(
    "MonthlyRecord",
    month="string",
    org="object",
    rule_set="string",
    meetings="array",
    groups="array",
)
JOIN_TICKET = obj(
    "JoinTicket", token="string", meeting_id="integer", member_id="integer", expires_at="string"
)
ICE_SERVERS = obj("IceServers", optional={"ttl_seconds": "integer?"}, ice_servers="array", expires_at="any")

# -- attendance, votes, minutes, breakout ----------------------------------------------------------
ON_SITE = obj(
    "OnSitePresence",
    meeting_id="integer",
    member_id="integer",
    kind="string",
    recorded="boolean",
    at="string",
    quorum="object",
)
ATTENDANCE = obj("Attendance", meeting_id="integer", members="array", counts="object")
VOTE = obj(
    "Vote",
    id="integer",
    meeting_id="integer",
    question="string",
    kind="string",
    mode="string",
    status="string",
    counts="object",
    opened_at="any",
    closed_at="any",
    result="object?",
)
VOTES = listing("VoteList", "votes")
MINUTES = obj("Minutes", meeting_id="integer", version="integer", status="string", document="any")
BREAKOUT = obj(
    "Breakout",
    id="integer",
    active="boolean",
    groups="array",
    started_at="string",
    ends_at="any",
    ended_at="string?",
)
BREAKOUT_STATE = obj("BreakoutState", breakout="object?")
BROADCAST = obj("BreakoutBroadcast", text="string", at="string")
NOTES = obj("BreakoutNotes", index="integer", notes="string", notes_version="integer")
ECHO = obj("EchoSession", type="string", sdp="string", session_id="string", expires_at="string")

# -- auth, audit ------------------------------------------------------------------------------------
LOGIN = obj("Login", csrf_token="string", user="object")
ME = obj("Me", csrf_token="string?", user="object", grants="array", member="object?")
TOTP_ENROL = obj("TotpEnrolment", secret="string", uri="string")
TOTP_ON = obj("TotpEnabled", totp_enabled="boolean")
PASSWORD_CHANGED = obj("PasswordChanged", changed="boolean", sessions_ended="integer")
_TOKEN = dict(id="string", name="string", created_at="string", expires_at="string", revoked_at="string?")
TOKEN = obj("ApiToken", _TOKEN)
TOKEN_CREATED = obj("ApiTokenCreated", _TOKEN, token="string")
TOKENS = listing("ApiTokenList", "tokens")
NOTICES = listing("NoticeList", "notices")
AUDIT_LOG = listing("AuditLog", "entries")
ACCESS_LOG = listing("AccessLog", "entries", org_id="integer")
PUBLIC_KEY = obj("AuditPublicKey", key_id="string", public_key="string")
CHECKPOINTS = listing("AuditCheckpointList", "checkpoints", key_id="string", public_key="string")
USAGE = obj(
    "UsageFigures",
    from_="string",
    to="string",
    org="object",
    rule_set="string",
    units="array",
    months="array",
    totals="object",
    flags="array",
    parameters="object",
    below_quorum="object",
)
