"""The audit log in words: who did what to which object, in Vietnamese and English.

An audit row holds codes (`meeting.opened`, `meeting:12`, user 7); a person reads "Bí thư Nguyễn Văn A
khai mạc buổi sinh hoạt «Sinh hoạt tháng 12» ngày 15/12/2026". The verbs are data here, grouped for
the log page's filter; an action without a verb (a new one) still reads, with its code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from meetings.decision import Text
from meetings.enums import Role

# action → (filter group, Vietnamese verb, English verb); the object follows the verb.
VERBS: dict[str, tuple[str, str, str]] = {
    "meeting.scheduled": ("meetings", "lên lịch", "scheduled"),
    "meeting.updated": ("meetings", "sửa thông tin", "changed"),
    "meeting.rescheduled": ("meetings", "dời lịch", "moved"),
    "meeting.cancelled": ("meetings", "hủy", "cancelled"),
    "meeting.invited": ("meetings", "gửi thư mời", "sent the invitation to"),
    "meeting.invitation_mailed": ("meetings", "gửi thư mời qua e-mail", "e-mailed the invitation to"),
    "meeting.opened": ("meetings", "khai mạc", "opened"),
    "meeting.closed": ("meetings", "bế mạc", "closed"),
    "agenda.replaced": ("meetings", "sửa chương trình", "changed the agenda of"),
    "agenda.current": ("meetings", "chuyển nội dung thảo luận trong", "moved to another item in"),
    "agenda_template.created": ("meetings", "tạo chương trình mẫu", "created the agenda template"),
    "floor.given": ("meetings", "mời phát biểu trong", "gave the floor in"),
    "breakout.started": ("meetings", "chia nhóm thảo luận trong", "split into groups"),
    "breakout.moved": ("meetings", "chuyển đảng viên sang nhóm khác trong", "moved a member between groups"),
    "breakout.notes": ("meetings", "lưu ghi chép của nhóm trong", "saved a group's notes in"),
    "breakout.broadcast": ("meetings", "gửi thông báo tới các nhóm trong", "messaged every group in"),
    "breakout.ended": ("meetings", "kết thúc thảo luận nhóm trong", "ended the groups in"),
    "vote.opened": ("votes", "mở", "opened"),
    "vote.closed": ("votes", "kết thúc", "closed"),
    "ballot.cast": ("votes", "biểu quyết về", "voted on"),
    "vote.opinion_reserved": ("votes", "bảo lưu ý kiến về", "reserved an opinion on"),
    "minutes.signed": ("minutes", "ký biên bản", "signed the minutes of"),
    "minutes.locked": ("minutes", "khóa biên bản", "locked the minutes of"),
    "minutes.adopted": ("minutes", "thông qua biên bản", "adopted the minutes of"),
    "minutes.addendum": ("minutes", "bổ sung biên bản", "added to the minutes of"),
    "presence.join": ("attendance", "vào phòng họp của", "joined the room of"),
    "presence.leave": ("attendance", "rời phòng họp của", "left the room of"),
    "presence.checkin": ("attendance", "điểm danh có mặt tại", "checked in at"),
    "presence.checkout": ("attendance", "điểm danh ra về khỏi", "checked out of"),
    "excuse.submitted": ("attendance", "xin vắng", "sent an excuse for"),
    "member.created": ("register", "thêm vào danh sách", "added to the register"),
    "member.updated": ("register", "sửa thông tin", "changed"),
    "members.imported": ("register", "nhập danh sách đảng viên của", "imported the register of"),
    "group.create": ("register", "lập", "created"),
    "group.update": ("register", "sửa", "changed"),
    "group.members": ("register", "chuyển đảng viên của", "moved members of"),
    "group.dissolve": ("register", "giải thể", "dissolved"),
    "group.officers_removed": ("register", "thôi giao chức vụ trong", "removed the officers of"),
    "org.created": ("register", "lập", "created"),
    "org.updated": ("register", "sửa thông tin", "changed"),
    "pilot.applied": ("pilot", "gửi", "sent"),
    "pilot.decided": ("pilot", "quyết định về", "decided on"),
    "pilot.revoked": ("pilot", "thu hồi quyết định về", "revoked the decision on"),
    "eligibility.flagged": ("pilot", "ghi nhận không còn đủ điều kiện:", "flagged as no longer qualifying:"),
    "eligibility.cleared": ("pilot", "bỏ cảnh báo điều kiện của", "cleared the flag of"),
    "grant.created": ("accounts", "giao quyền", "granted a role:"),
    "user.created": ("accounts", "tạo", "created"),
    "auth.login": ("accounts", "đăng nhập", "logged in"),
    "auth.login_unlocked": ("accounts", "mở khóa đăng nhập của", "unlocked the login of"),
    "auth.password_changed": ("accounts", "đổi mật khẩu", "changed the password"),
    "auth.reauth_failed": ("accounts", "nhập sai mật khẩu khi xác nhận", "failed to confirm the password"),
    "auth.email_changed": ("accounts", "đổi địa chỉ e-mail", "changed the e-mail address"),
    "auth.totp_enabled": ("accounts", "bật đăng nhập hai bước", "turned two-step login on"),
    "auth.token_created": ("accounts", "tạo mã truy cập", "created a script token"),
    "auth.token_revoked": ("accounts", "thu hồi mã truy cập", "revoked a script token"),
    "access.read": ("access", "xem", "read"),
    "access.refused": ("access", "bị từ chối truy cập", "was refused"),
    "access.refused.suppressed": ("access", "bị từ chối nhiều lần (gộp)", "was refused many times"),
}

# The filter's groups, in the order the page offers them.
GROUPS: dict[str, Text] = {
    "meetings": Text("Buổi sinh hoạt", "Meetings"),
    "votes": Text("Biểu quyết", "Votes"),
    "minutes": Text("Biên bản", "Minutes"),
    "attendance": Text("Điểm danh, vào/rời phòng họp", "Attendance"),
    "register": Text("Danh sách đảng viên, tổ đảng, tổ chức", "Register, groups, units"),
    "pilot": Text("Thí điểm trực tuyến", "Online pilot"),
    "accounts": Text("Tài khoản và quyền", "Accounts and roles"),
    "access": Text("Truy cập của cán bộ kiểm tra", "Auditors' reads and refusals"),
}

ROLE_NAMES: dict[str, Text] = {
    Role.SECRETARY.value: Text("Bí thư", "Secretary"),
    Role.DEPUTY_SECRETARY.value: Text("Phó Bí thư", "Deputy secretary"),
    Role.ADMIN.value: Text("Quản trị đơn vị", "Unit administrator"),
    Role.APPROVER.value: Text("Cán bộ phê duyệt", "Approver"),
    Role.AUDITOR.value: Text("Cán bộ kiểm tra", "Auditor"),
}
OPERATOR = Text("Quản trị hệ thống", "Operator")
MEMBER = Text("Đảng viên", "Member")
SYSTEM = Text("Hệ thống", "The system")

# The role a person is named by when they hold several: the one that acted, most likely.
ROLE_ORDER = (
    Role.SECRETARY.value,
    Role.DEPUTY_SECRETARY.value,
    Role.APPROVER.value,
    Role.ADMIN.value,
    Role.AUDITOR.value,
)


def actions_of(group: str) -> list[str]:
    return [action for action, (owner, _, _) in VERBS.items() if owner == group]


def group_of(action: str) -> str | None:
    known = VERBS.get(action)
    return known[0] if known else None


@dataclass(frozen=True)
class Actor:
    """Who acted, as the log page names them: a role (or None) and a name (None: the system)."""

    name: str | None
    role: Text | None


def who(actor: Actor) -> Text:
    if actor.name is None:
        return SYSTEM
    if actor.role is None:
        return Text(actor.name, actor.name)
    return Text(f"{actor.role.vi} {actor.name}", f"{actor.role.en} {actor.name}")


def sentence(action: str, actor: Actor, obj: Text | None) -> Text:
    """ "Bí thư Nguyễn Văn A khai mạc buổi sinh hoạt «…» ngày 15/12/2026"."""
    subject = who(actor)
    known = VERBS.get(action)
    verb = Text(known[1], known[2]) if known else Text(f"thực hiện «{action}»", f"did «{action}»")
    vi = f"{subject.vi} {verb.vi}" + (f" {obj.vi}" if obj else "")
    en = f"{subject.en} {verb.en}" + (f" {obj.en}" if obj else "")
    return Text(vi, en)


# --- what an auditor read ------------------------------------------------------------------------------

# A read's path (the route with its ids) → what was read; {meeting} is filled with the meeting's words.
_READS: tuple[tuple[re.Pattern[str], Text], ...] = tuple(
    (re.compile(pattern), text)
    for pattern, text in (
        (
            r"^/api/v1/meetings/(\d+)/minutes(\.docx|\.pdf|/.*)?$",
            Text("biên bản {meeting}", "the minutes of {meeting}"),
        ),
        (r"^/api/v1/meetings/(\d+)/attendance", Text("điểm danh {meeting}", "the attendance of {meeting}")),
        (r"^/api/v1/meetings/(\d+)/votes", Text("các biểu quyết của {meeting}", "the votes of {meeting}")),
        (r"^/api/v1/meetings/(\d+)/quorum", Text("số lượng dự họp của {meeting}", "the quorum of {meeting}")),
        (r"^/api/v1/meetings/(\d+)/agenda", Text("chương trình của {meeting}", "the agenda of {meeting}")),
        (r"^/(?:api/v1/)?meetings/(\d+)(/.*)?$", Text("{meeting}", "{meeting}")),
        (r"^/api/v1/orgs/\d+/members", Text("danh sách đảng viên", "the register of members")),
        (r"^/api/v1/orgs/\d+/eligibility", Text("điều kiện thí điểm", "the pilot eligibility")),
        (r"^/api/v1/orgs/\d+/applications", Text("các đơn đề nghị thí điểm", "the pilot applications")),
        (
            r"^/(?:api/v1/)?orgs/\d+/(?:monthly-)?record",
            Text("sổ theo dõi sinh hoạt hằng tháng", "the monthly record"),
        ),
        (r"^/api/v1/orgs/\d+/meetings", Text("danh sách buổi sinh hoạt", "the list of meetings")),
        (r"^/(?:api/v1/audit/usage|orgs/\d+/usage)", Text("số liệu thí điểm", "the pilot figures")),
        (r"^/(?:api/v1/)?orgs/\d+/audit", Text("nhật ký kiểm tra", "the audit log")),
        (r"^/(?:api/v1/)?orgs/\d+", Text("thông tin đơn vị", "the unit's details")),
    )
)


def read_object(path: str, meetings: Mapping[int, Text]) -> Text:
    """What a read of `path` showed, in words; the path itself when no pattern knows it."""
    bare = path.split("?", 1)[0]
    for pattern, text in _READS:
        found = pattern.match(bare)
        if found is None:
            continue
        if "{meeting}" not in text.vi:
            return text
        meeting_id = int(found.group(1))
        named = meetings.get(meeting_id, Text(f"buổi sinh hoạt số {meeting_id}", f"meeting {meeting_id}"))
        return Text(text.vi.replace("{meeting}", named.vi), text.en.replace("{meeting}", named.en))
    return Text(bare, bare)


def meeting_ids_read(paths: list[str]) -> set[int]:
    ids = set()
    for path in paths:
        found = re.match(r"^/(?:api/v1/)?meetings/(\d+)", path)
        if found and len(found.group(1)) < 10:
            ids.add(int(found.group(1)))
    return ids
