"""The console speaks Vietnamese and English: `?lang=vi|en` on every page, Vietnamese unless English is asked for.
Every label is here in both languages; templates and the page's script name them by key, so a label missing in one
language is a unit test's failure, not a blank on a page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")
DEFAULT: Language = "vi"

LABELS: dict[str, dict[Language, str]] = {
    # every page
    "console": {"vi": "Bảng điều khiển một cửa liên thông", "en": "One-stop shop console"},
    "nav.events": {"vi": "Sự kiện trực tiếp", "en": "Live events"},
    "nav.board": {"vi": "Bảng đánh giá cơ quan", "en": "Accountability board"},
    "nav.operations": {"vi": "Sự kiện lỗi và hồ sơ bị chặn", "en": "Dead letters and blocked dossiers"},
    "signed_in_as": {"vi": "Cán bộ {staff_id}, cơ quan {agency}, vai trò {role}",
                     "en": "Staff {staff_id}, agency {agency}, role {role}"},
    "logout": {"vi": "Đăng xuất", "en": "Log out"},
    "role.reception": {"vi": "tiếp nhận", "en": "reception"},
    "role.processing": {"vi": "xử lý", "en": "processing"},
    "role.head": {"vi": "lãnh đạo", "en": "head"},
    "role.admin": {"vi": "quản trị", "en": "admin"},
    "forbidden": {"vi": "Không được phép", "en": "Not allowed"},
    "admins_only": {"vi": "Trang này chỉ dành cho quản trị viên.", "en": "This page is for admins only."},
    "none": {"vi": "Không có", "en": "None"},
    # the login page
    "login": {"vi": "Đăng nhập", "en": "Log in"},
    "login.token": {"vi": "Token của cán bộ", "en": "Staff token"},
    "login.help": {"vi": "Dán token cán bộ (JWT) mà đơn vị cấp cho bạn. Token được giữ trong cookie của phiên này và "
                         "được gửi kèm mỗi lời gọi tới các dịch vụ.",
                   "en": "Paste the staff token (JWT) your agency gave you. It is kept in this session's cookie and "
                         "sent with every call to the services."},
    "login.refused": {"vi": "Token bị từ chối: {reason}", "en": "The token was refused: {reason}"},
    "login.expired": {"vi": "Phiên đăng nhập đã hết hạn hoặc token không còn hợp lệ: hãy đăng nhập lại.",
                      "en": "Your session ended or its token is no longer valid: log in again."},
    # the live events
    "events.title": {"vi": "Sự kiện trực tiếp", "en": "Live events"},
    "events.scope.agency": {"vi": "Bạn thấy sự kiện của các hồ sơ thuộc cơ quan {agency}, từ bây giờ.",
                            "en": "You see the events of agency {agency}'s dossiers, from now on."},
    "events.scope.admin": {"vi": "Bạn thấy sự kiện của mọi cơ quan, từ bây giờ.",
                           "en": "You see every agency's events, from now on."},
    "events.type": {"vi": "Loại sự kiện", "en": "Event type"},
    "events.any_type": {"vi": "Mọi loại", "en": "Every type"},
    "events.dossier": {"vi": "Mã hồ sơ", "en": "Dossier code"},
    "events.filter": {"vi": "Lọc", "en": "Filter"},
    "events.clear": {"vi": "Bỏ lọc", "en": "Clear"},
    "events.connecting": {"vi": "Đang kết nối…", "en": "Connecting…"},
    "events.live": {"vi": "Đang theo dõi trực tiếp", "en": "Live"},
    "events.waiting": {"vi": "Đang chờ máy chủ Kafka…", "en": "Waiting for the broker…"},
    "events.reconnecting": {"vi": "Mất kết nối, đang kết nối lại…", "en": "Connection lost, reconnecting…"},
    "events.ended": {"vi": "Phiên đã hết hạn: hãy đăng nhập lại.", "en": "Your session ended: log in again."},
    "events.dropped": {"vi": "{count} dòng cũ đã bị bỏ vì trang không theo kịp luồng sự kiện.",
                       "en": "{count} older lines were dropped: this page could not keep up with the stream."},
    "events.empty": {"vi": "Chưa có sự kiện nào.", "en": "No event yet."},
    # the accountability board
    "board.title": {"vi": "Bảng đánh giá giải quyết hồ sơ theo cơ quan", "en": "Accountability board per agency"},
    "board.from": {"vi": "Từ ngày", "en": "From"},
    "board.to": {"vi": "Đến ngày", "en": "To"},
    "board.show": {"vi": "Xem", "en": "Show"},
    "board.agency": {"vi": "Cơ quan", "en": "Agency"},
    "board.received": {"vi": "Đã tiếp nhận", "en": "Received"},
    "board.in_progress": {"vi": "Đang xử lý", "en": "In progress"},
    "board.not_yet_due": {"vi": "Trong hạn", "en": "Not yet due"},
    "board.near_late": {"vi": "Sắp trễ hạn", "en": "Near-late"},
    "board.late": {"vi": "Trễ hạn", "en": "Late"},
    "board.finished": {"vi": "Đã giải quyết", "en": "Finished"},
    "board.on_time_rate": {"vi": "Tỷ lệ đúng hạn", "en": "On-time rate"},
    "board.apologies": {"vi": "Thư xin lỗi", "en": "Apologies"},
    "board.satisfaction": {"vi": "Mức độ hài lòng (766)", "en": "Satisfaction (766)"},
    "board.empty": {"vi": "Không có số liệu trong kỳ này.", "en": "No figures for this period."},
    "board.no_rate": {"vi": "chưa có", "en": "n/a"},
    # dead letters and blocked dossiers
    "operations.title": {"vi": "Sự kiện lỗi và hồ sơ bị chặn của từng dịch vụ",
                         "en": "Each service's dead letters and blocked dossiers"},
    "operations.dead_letters": {"vi": "Sự kiện lỗi", "en": "Dead letters"},
    "operations.blocked": {"vi": "Hồ sơ bị chặn", "en": "Blocked dossiers"},
    "operations.dossier": {"vi": "Hồ sơ", "en": "Dossier"},
    "operations.event": {"vi": "Sự kiện", "en": "Event"},
    "operations.where": {"vi": "Vị trí", "en": "Where"},
    "operations.error": {"vi": "Lỗi", "en": "Error"},
    "operations.attempts": {"vi": "Số lần thử", "en": "Attempts"},
    "operations.since": {"vi": "Từ lúc", "en": "Since"},
    "operations.parked": {"vi": "Sự kiện đang chờ", "en": "Parked events"},
    "operations.replay": {"vi": "Chạy lại", "en": "Replay"},
    "operations.replayed": {"vi": "Đã chạy lại sự kiện lỗi #{id} trong nhóm {group}: {outcome}.",
                            "en": "Dead letter #{id} replayed in group {group}: {outcome}."},
    "operations.refused": {"vi": "{service} từ chối ({status}): {detail}",
                           "en": "{service} refused ({status}): {detail}"},
    "operations.unreachable": {"vi": "{service} không phản hồi: {detail}",
                               "en": "{service} does not answer: {detail}"},
}  # fmt: skip


def choose_language(asked: str | None) -> Language:
    """The language of `?lang=`: English when asked for, else Vietnamese (a value we do not speak included)."""
    wanted = (asked or "").strip().lower()
    return "en" if wanted == "en" else DEFAULT


@dataclass(frozen=True)
class Labels:
    """The labels of one language, as the templates call them: `t("board.late")`, `t("login.refused", reason=...)`."""

    language: Language

    def __call__(self, key: str, **values: object) -> str:
        return LABELS[key][self.language].format(**values)

    def prefixed(self, prefix: str) -> dict[str, str]:
        """Every label under `prefix.`, by the rest of its key: what the page's script is given."""
        return {key.removeprefix(prefix + "."): text[self.language] for key, text in LABELS.items()
                if key.startswith(prefix + ".")}  # fmt: skip
