"""The fixed enumerations of the public interface (api.md); values are the wire values."""

from __future__ import annotations

from enum import StrEnum


class OrgKind(StrEnum):
    """Kind of Party organisation (tổ chức đảng)."""

    PROVINCE = "province"
    COMMITTEE = "committee"
    GRASSROOTS = "grassroots"
    CELL = "cell"
    GROUP = "group"


class Standing(StrEnum):
    """Chính thức / dự bị."""

    OFFICIAL = "official"
    PROBATIONARY = "probationary"


class Activity(StrEnum):
    """A member's activity status in the register."""

    ACTIVE = "active"
    EXEMPT = "exempt"
    SUSPENDED = "suspended"
    AWAY_TEMPORARILY = "away_temporarily"
    UNDER_PROSECUTION = "under_prosecution"


class RemoteReason(StrEnum):
    """Why a member cannot meet in person (lý do không thể sinh hoạt trực tiếp), R-ELIG-3/4."""

    ABROAD = "abroad"
    MULTI_PROVINCE = "multi_province"
    FAR_FROM_HOME = "far_from_home"
    STUDENT_SUMMER = "student_summer"
    ARMED_FORCES = "armed_forces"
    HEALTH = "health"
    FOREST_RANGER = "forest_ranger"
    SEAFARER_OFFSHORE_ISLAND = "seafarer_offshore_island"
    DISASTER = "disaster"
    EPIDEMIC = "epidemic"
    OTHER_CIRCUMSTANCE = "other_circumstance"


class Role(StrEnum):
    """A grant's role; it holds for the granted organisation's whole subtree."""

    ADMIN = "admin"
    SECRETARY = "secretary"
    DEPUTY_SECRETARY = "deputy_secretary"
    APPROVER = "approver"
    AUDITOR = "auditor"


class MeetingKind(StrEnum):
    REGULAR = "regular"
    THEMATIC = "thematic"
    EXTRAORDINARY = "extraordinary"
    GROUP = "group"


class MeetingMode(StrEnum):
    ONLINE = "online"
    HYBRID = "hybrid"
    IN_PERSON = "in_person"


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    # Called off before it opened (POST /meetings/{id}/cancel, with a reason); never opens.
    CANCELLED = "cancelled"


class ItemType(StrEnum):
    """Agenda item type; some are barred from online meetings (R-CONTENT-1)."""

    ORDINARY = "ordinary"
    PERSONNEL = "personnel"
    ELECTION = "election"
    DISCIPLINE = "discipline"
    ADMISSION = "admission"
    STATE_SECRET = "state_secret"


class VoteKind(StrEnum):
    ORDINARY = "ordinary"
    ADMISSION = "admission"
    RECOGNITION = "recognition"
    MINUTES_ADOPTION = "minutes_adoption"


class VoteMode(StrEnum):
    """How a vote is taken (issue 30): a show of hands counted by the chair, named electronic ballots in
    the room, or a paper ballot whose result the counting committee gives afterwards."""

    SHOW_OF_HANDS = "show_of_hands"
    ELECTRONIC = "electronic"
    PAPER_BALLOT = "paper_ballot"


class Choice(StrEnum):
    """Tán thành / không tán thành / không biểu quyết."""

    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


class VoteOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    LATE = "late"
    LEFT_EARLY = "left_early"
    ABSENT_EXCUSED = "absent_excused"
    ABSENT_UNEXCUSED = "absent_unexcused"


class ApplicationKind(StrEnum):
    """What a pilot application asks for: online meetings, or meetings by party group."""

    ONLINE = "online"
    GROUP = "group"


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


class GroupRole(StrEnum):
    """An officer of a party group: its leader (tổ trưởng) or deputy (tổ phó), R-GROUP-1."""

    LEADER = "leader"
    DEPUTY = "deputy"


class NoticeKind(StrEnum):
    """What a notice to a member's account tells about a meeting."""

    INVITATION = "invitation"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"
