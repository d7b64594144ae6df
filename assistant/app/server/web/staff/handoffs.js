// Staff page: hand-offs that lead somewhere (#/gap-can-bo). Open and handled hand-offs with the conversation,
// "mark handled" / "open again", and a reply to a Zalo citizen (queued in the Zalo outbox, delivered by the Zalo
// channel). Registers its view with staff.js (TTHC_STAFF_VIEWS) and builds DOM with TTHC_STAFF_KIT.h, so every
// text from the API is a text node. API: assistant/app/server/routers/staff_handoffs.py (admin token).
(function () {
  "use strict";

  const kit = window.TTHC_STAFF_KIT;
  const h = kit.h;
  const config = window.TTHC_STAFF_CONFIG || {};
  const $ = (id) => document.getElementById(id);
  const API = "/api/staff/handoff-cases";
  const MAX_REPLY = 2000;
  const CHANNELS = { rest: "Trò chuyện trên website", zalo: "Zalo" };
  const STATUSES = { open: "Đang chờ xử lý", handled: "Đã xử lý", all: "Tất cả" };
  const DELIVERY = {
    sent: "Đã gửi tới Zalo",
    waiting: "Đang chờ gửi (hệ thống Zalo gửi trong ít phút)",
    failed: "Không gửi được",
    unknown: "Chưa rõ trạng thái gửi",
  };

  async function sendJson(url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new Error("Không kết nối được máy chủ. Vui lòng kiểm tra mạng rồi thử lại.");
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new Error(kit.describeError(response.status, data));
    return data;
  }

  function currentStatus(params) {
    const value = params.get("trang-thai") || "open";
    return Object.prototype.hasOwnProperty.call(STATUSES, value) ? value : "open";
  }

  function contactsText() {
    const parts = [];
    if (config.hotline) parts.push("gọi đường dây nóng " + config.hotline);
    parts.push("đến " + (config.oneStopAddress || "bộ phận một cửa"));
    return parts.join(" hoặc ");
  }

  function transcript(record) {
    return h("ol", { className: "transcript" }, record.messages.map((message) =>
      h("li", { className: "turn turn-" + (message.sender === "user" ? "user" : "bot") },
        h("span", { className: "speaker" }, message.sender === "user" ? "Người dân: " : "Trợ lý: "),
        message.text)));
  }

  function repliesList(record) {
    if (!record.replies.length) return null;
    return h("div", { className: "staff-replies" },
      h("h3", {}, "Cán bộ đã trả lời"),
      h("ul", {}, record.replies.map((reply) => h("li", { className: "staff-reply delivery-" + reply.delivery },
        h("p", { className: "reply-meta" }, h("time", { datetime: reply.created_at }, kit.when(reply.created_at)),
          " · ", h("span", { className: "delivery" }, DELIVERY[reply.delivery] || reply.delivery),
          reply.delivery_error ? " (" + reply.delivery_error + ")" : null),
        h("p", { className: "reply-text" }, reply.text)))));
  }

  function replyForm(record, rerender) {
    const id = "reply-" + record.id;
    const text = h("textarea", { id: id, name: "text", rows: "3", maxlength: String(MAX_REPLY), required: true });
    const status = h("p", { className: "form-status", role: "status", "aria-live": "polite" });
    const button = h("button", { type: "submit" }, "Gửi qua Zalo");
    const form = h("form", { className: "reply-form", novalidate: true },
      h("label", { for: id }, "Trả lời người dân qua Zalo"),
      text,
      h("p", { className: "help" }, "Người dân nhận tin nhắn trong cuộc trò chuyện Zalo với Trang chính thức, "
        + "mở đầu bằng «Cán bộ tiếp nhận trả lời Anh/Chị». Tối đa " + MAX_REPLY + " ký tự."),
      h("div", { className: "form-actions" }, button),
      status);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!text.value.trim()) {
        status.textContent = "Vui lòng nhập nội dung trả lời.";
        text.focus();
        return;
      }
      button.disabled = true;
      status.textContent = "Đang gửi…";
      try {
        await sendJson(API + "/" + record.id + "/replies", { text: text.value });
      } catch (error) {
        status.textContent = error.message;
        button.disabled = false;
        return;
      }
      await rerender("Đã đưa câu trả lời vào hàng gửi Zalo.");
    });
    return form;
  }

  function markButton(record, rerender) {
    const handled = record.status === "handled";
    const button = h("button", { type: "button", className: "mark-handled secondary" },
      handled ? "Mở lại" : "Đánh dấu đã xử lý");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await sendJson(API + "/" + record.id + "/handled", { handled: !handled });
      } catch (error) {
        button.disabled = false;
        $("handoff-status-line").textContent = error.message;
        return;
      }
      await rerender(handled ? "Đã mở lại yêu cầu." : "Đã đánh dấu yêu cầu là đã xử lý.");
    });
    return button;
  }

  function card(record, rerender) {
    const handled = record.status === "handled";
    return h("li", { className: "card handoff-case", "data-id": String(record.id), "data-status": record.status },
      h("p", { className: "card-meta" },
        h("span", { className: "badge " + (handled ? "badge-handled" : "badge-open") },
          handled ? "Đã xử lý" : "Đang chờ"),
        " ", h("time", { datetime: record.created_at }, kit.when(record.created_at)),
        " · Kênh: " + (CHANNELS[record.channel] || record.channel || "không rõ"),
        " · Hội thoại: " + record.conversation,
        handled && record.handled_at ? " · Xử lý lúc " + kit.when(record.handled_at) : null),
      transcript(record),
      repliesList(record),
      record.can_reply
        ? replyForm(record, rerender)
        : h("p", { className: "note anonymous" }, "Hội thoại trên trang web là ẩn danh nên không nhắn trả lời được. "
          + "Trợ lý đã hướng dẫn người dân " + contactsText() + "."),
      h("div", { className: "card-actions" }, markButton(record, rerender)));
  }

  async function render(params) {
    const section = $("handoffs-view");
    const status = currentStatus(params);
    const select = h("select", { id: "handoff-filter", name: "trang-thai" },
      Object.entries(STATUSES).map(([value, label]) => h("option", { value: value }, label)));
    select.value = status;
    select.addEventListener("change", () => { window.location.hash = "#/gap-can-bo?trang-thai=" + select.value; });
    const line = h("p", { id: "handoff-status-line", className: "status", role: "status", "aria-live": "polite" },
      "Đang tải…");
    const list = h("div", { id: "handoff-list" });
    const heading = h("h1", { id: "handoffs-heading", tabindex: "-1" }, "Người dân cần gặp cán bộ");
    section.replaceChildren(
      heading,
      h("p", { className: "help" }, "Trên Zalo, cán bộ trả lời người dân ngay tại đây. Trò chuyện trên website là ẩn "
        + "danh: người dân được hướng dẫn gọi đường dây nóng hoặc đến bộ phận một cửa."),
      h("div", { className: "filter handoff-filter" }, h("label", { for: "handoff-filter" }, "Hiển thị"), select),
      line,
      list);
    heading.focus();

    async function load(message) {
      let records;
      try {
        records = await kit.getJson(API + "?status=" + encodeURIComponent(status));
      } catch (error) {
        line.textContent = error.message;
        list.replaceChildren();
        return;
      }
      const counted = records.length + " yêu cầu " + (status === "all" ? "" : STATUSES[status].toLowerCase()) + ".";
      line.textContent = (message ? message + " " : "") + counted.replace(" .", ".");
      list.replaceChildren(records.length
        ? h("ul", { className: "cards" }, records.map((record) => card(record, load)))
        : h("p", { className: "empty" }, status === "open" ? "Không có yêu cầu nào đang chờ xử lý."
          : "Không có yêu cầu nào."));
    }
    await load("");
  }

  window.TTHC_STAFF_VIEWS.push({
    name: "handoffs", path: "/gap-can-bo", section: "handoffs-view", title: "Người dân cần gặp cán bộ", render: render,
  });
})();
