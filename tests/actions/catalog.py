"""A handful of procedures for the action tests, built into a real KnowledgeBase (BM25, no model).

Written for the tests (codes start with "TEST."), shaped like real records: several civil-status
variants ("đăng ký … lưu động" is ambiguous), one record without a published fee
(so the bot must say it is not stated), and full/none online availability.
"""

from __future__ import annotations

from knowledge_base.schema import (
    ChannelKind,
    DossierDocument,
    Fee,
    Level,
    OnlineAvailability,
    Procedure,
    ProcessingTime,
    SubmissionChannel,
)

# Real records carry long step texts; the knowledge base's out-of-domain signal (share of known
# words) needs that ordinary vocabulary, so every test record gets a typical one.
STEPS = (
    "Bước 1: Người yêu cầu chuẩn bị hồ sơ, giấy tờ theo quy định và nộp tại bộ phận một cửa hoặc trên "
    "Cổng Dịch vụ công. Bước 2: Cán bộ tiếp nhận kiểm tra; hồ sơ đầy đủ thì viết giấy tiếp nhận, hẹn ngày "
    "trả kết quả; chưa đầy đủ thì hướng dẫn bổ sung. Bước 3: Cơ quan có thẩm quyền giải quyết, ghi vào sổ "
    "và trả kết quả cho người yêu cầu; thông báo qua số điện thoại hoặc địa chỉ của công dân đã cung cấp."
)


def _channel(kind, days=None, time_text="", fee=None):
    return SubmissionChannel(kind=kind, time=ProcessingTime(text=time_text, working_days=days), fee=fee or Fee())


IDENTITY_CARD = Procedure(
    code="TEST.CC1",
    title="Cấp thẻ căn cước cho công dân từ đủ 14 tuổi trở lên",
    steps=STEPS,
    levels=[Level.province],
    field="Cấp, quản lý căn cước",
    agencies=["Công an cấp tỉnh"],
    channels=[
        _channel(ChannelKind.in_person, 7, "7 ngày làm việc", Fee(text="30.000 đồng", amount_vnd=30000)),
        _channel(ChannelKind.online, 7, "7 ngày làm việc", Fee(text="15.000 đồng", amount_vnd=15000)),
    ],
    documents=[
        DossierDocument(name="Tờ khai thay đổi thông tin căn cước", copies="1 bản chính", form="Mẫu CC01"),
        DossierDocument(name="Giấy tờ chứng minh nội dung thay đổi", copies="1 bản sao"),
    ],
    result="Thẻ căn cước",
    online=OnlineAvailability.full,
    source_url="https://dichvucong.gov.vn/thu-tuc-hanh-chinh/test-cc1",
)

BIRTH = Procedure(
    code="TEST.KS1",
    title="Đăng ký khai sinh",
    steps=STEPS,
    levels=[Level.commune],
    field="Hộ tịch",
    agencies=["Ủy ban nhân dân cấp xã"],
    channels=[_channel(ChannelKind.in_person, 1, "1 ngày làm việc", Fee(text="Miễn phí", free=True))],
    documents=[
        DossierDocument(name="Tờ khai đăng ký khai sinh", copies="1 bản chính"),
        DossierDocument(name="Giấy chứng sinh", copies="1 bản chính"),
    ],
    online=OnlineAvailability.partial,
    source_url="https://dichvucong.gov.vn/thu-tuc-hanh-chinh/test-ks1",
)

BIRTH_FOREIGN = BIRTH.model_copy(
    update={
        "code": "TEST.KS2",
        "title": "Đăng ký khai sinh có yếu tố nước ngoài",
        "source_url": "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/test-ks2",
        "channels": [_channel(ChannelKind.in_person, 15, "15 ngày", Fee(text="100.000 đồng", amount_vnd=100000))],
    }
)

BIRTH_MOBILE = BIRTH.model_copy(
    update={
        "code": "TEST.KS3",
        "title": "Đăng ký khai sinh lưu động",
        "source_url": "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/test-ks3",
    }
)

MARRIAGE = Procedure(
    code="TEST.KH1",
    title="Đăng ký kết hôn",
    steps=STEPS,
    levels=[Level.commune],
    field="Hộ tịch",
    agencies=["Ủy ban nhân dân cấp xã"],
    channels=[_channel(ChannelKind.in_person, 5, "5 ngày làm việc")],  # no fee published
    documents=[DossierDocument(name="Tờ khai đăng ký kết hôn", copies="1 bản chính")],
    online=OnlineAvailability.none,
    source_url="https://dichvucong.gov.vn/thu-tuc-hanh-chinh/test-kh1",
)

MARRIAGE_MOBILE = MARRIAGE.model_copy(
    update={
        "code": "TEST.KH2",
        "title": "Đăng ký kết hôn lưu động",
        "source_url": "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/test-kh2",
    }
)

DEATH_MOBILE = BIRTH_MOBILE.model_copy(
    update={
        "code": "TEST.KT3",
        "title": "Đăng ký khai tử lưu động",
        "source_url": "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/test-kt3",
    }
)

CRIMINAL_RECORD = Procedure(
    code="TEST.LL1",
    title="Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
    steps=STEPS,
    levels=[Level.province],
    field="Lý lịch tư pháp",
    agencies=["Sở Tư pháp"],
    channels=[_channel(ChannelKind.online, 10, "10 ngày", Fee(text="200.000 đồng/lần/người", amount_vnd=200000))],
    documents=[DossierDocument(name="Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp", copies="1 bản chính", form="Mẫu 03")],
    online=OnlineAvailability.full,
    source_url="https://dichvucong.gov.vn/thu-tuc-hanh-chinh/test-ll1",
)

# Contact details the tests configure through settings (env overrides), to find them in replies.
HOTLINE = "0276 3 822 111"
ONE_STOP_ADDRESS = "Trung tâm Phục vụ hành chính công tỉnh, 83 Phạm Tung, Tây Ninh"

PROCEDURES = [
    IDENTITY_CARD,
    BIRTH,
    BIRTH_FOREIGN,
    BIRTH_MOBILE,
    MARRIAGE,
    MARRIAGE_MOBILE,
    DEATH_MOBILE,
    CRIMINAL_RECORD,
]
