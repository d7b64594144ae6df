// Staff page: the province's dashboard (#/thong-ke). Figures from /api/staff/dashboard and the charts as SVG images
// drawn by the server (/api/staff/dashboard/<chart>.svg: no script, no CDN), each with its numbers in a table for
// screen readers. Registers its view with staff.js (TTHC_STAFF_VIEWS); DOM built with TTHC_STAFF_KIT.h (text nodes).
(function () {
  "use strict";

  const kit = window.TTHC_STAFF_KIT;
  const h = kit.h;
  const $ = (id) => document.getElementById(id);
  const CHANNELS = { "": "Tất cả kênh", rest: "Trang web", zalo: "Zalo" };
  const CHART_TITLES = {
    "questions-per-day": "Số câu hỏi mỗi ngày theo kênh",
    outcomes: "Kết quả trả lời",
    "top-procedures": "Thủ tục được hỏi nhiều nhất",
    "top-unanswered": "Câu hỏi chưa được trả lời nhiều nhất",
    feedback: "Đánh giá của người dân",
    latency: "Thời gian trả lời mỗi ngày",
  };

  const percent = (share) => (share === null || share === undefined ? "—" : Math.round(share * 100) + "%");
  const seconds = (ms) => (ms === null || ms === undefined ? "—" : (ms / 1000).toLocaleString("vi-VN", { maximumFractionDigits: 1 }) + " giây");
  const dayText = (iso) => iso.split("-").reverse().join("/");

  function table(headers, rows) {
    return h("table", { className: "figures" },
      h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))));
  }

  function figuresFor(name, data) {
    if (name === "questions-per-day") {
      const days = data.per_day.filter((row) => row.total);
      return table(["Ngày", "Số câu hỏi", ...data.channels.map((c) => c.label)],
        days.map((row) => [dayText(row.day), row.total, ...data.channels.map((c) => row.by_channel[c.channel] || 0)]));
    }
    if (name === "outcomes") return table(["Kết quả", "Số câu hỏi", "Tỉ lệ"], data.outcomes.map((row) => [row.label, row.count, percent(row.share)]));
    if (name === "top-procedures") return table(["Thủ tục", "Mã", "Số lần"], data.top_procedures.map((row) => [row.title || "(không còn trong danh mục)", row.code, row.count]));
    if (name === "top-unanswered") {
      return h("div", {},
        table(["Câu hỏi (đã ẩn thông tin cá nhân)", "Số lần"], data.top_unanswered.map((row) => [row.question, row.count])),
        data.unanswered_fields.length
          ? table(["Lĩnh vực của thủ tục gần nhất được gợi ý", "Số câu hỏi"], data.unanswered_fields.map((row) => [row.field, row.count]))
          : null);
    }
    if (name === "feedback") return table(["Hài lòng", "Chưa hài lòng", "Tỉ lệ hài lòng"], [[data.feedback.good, data.feedback.bad, percent(data.feedback.good_share)]]);
    if (name === "latency") return table(["Ngày", "Trung vị (p50)", "p95", "Số lượt"], data.latency_per_day.map((row) => [dayText(row.day), seconds(row.p50_ms), seconds(row.p95_ms), row.turns]));
    return null;
  }

  function chart(name, data) {
    const rows = figuresFor(name, data);
    return h("figure", { className: "chart", id: "chart-" + name, "data-chart": name },
      h("img", { src: data.charts[name], alt: CHART_TITLES[name] + " (số liệu trong bảng bên dưới)", width: "720", decoding: "async" }),
      h("details", {}, h("summary", {}, "Xem số liệu: " + CHART_TITLES[name]), rows));
  }

  function share(data, outcomes) {
    const count = data.outcomes.filter((row) => outcomes.includes(row.outcome)).reduce((sum, row) => sum + row.count, 0);
    return data.questions ? percent(count / data.questions) : "—";
  }

  function kpis(data) {
    const rated = data.feedback.good + data.feedback.bad;
    const item = (term, value, id) => h("div", { className: "kpi", id: id }, h("dt", {}, term), h("dd", {}, String(value)));
    return h("dl", { className: "kpis" },
      item("Câu hỏi", data.questions.toLocaleString("vi-VN"), "kpi-questions"),
      item("Trả lời được", share(data, ["answered"]), "kpi-answered"),
      item("Hỏi lại", share(data, ["asked_back"]), "kpi-asked-back"),
      item("Từ chối / không tìm được", share(data, ["not_in_catalogue", "off_topic", "abstained"]), "kpi-declined"),
      item("Hài lòng", rated ? percent(data.feedback.good_share) + " của " + rated + " đánh giá" : "chưa có đánh giá", "kpi-feedback"),
      item("Thời gian trả lời p50 / p95", seconds(data.latency.turn_p50_ms) + " / " + seconds(data.latency.turn_p95_ms), "kpi-latency"));
  }

  async function render(params) {
    const section = $("dashboard-view");
    const heading = h("h1", { id: "dashboard-heading", tabindex: "-1" }, "Thống kê trợ lý ảo");
    const since = h("input", { id: "dash-since", name: "since", type: "date", value: params.get("since") || "" });
    const until = h("input", { id: "dash-until", name: "until", type: "date", value: params.get("until") || "" });
    const channel = h("select", { id: "dash-channel", name: "channel" },
      Object.entries(CHANNELS).map(([value, label]) => h("option", { value: value }, label)));
    channel.value = params.get("channel") || "";
    const form = h("form", { id: "dashboard-form", className: "filters dashboard-filters", novalidate: true },
      h("div", { className: "filter" }, h("label", { for: "dash-since" }, "Từ ngày"), since),
      h("div", { className: "filter" }, h("label", { for: "dash-until" }, "Đến ngày"), until),
      h("div", { className: "filter" }, h("label", { for: "dash-channel" }, "Kênh"), channel),
      h("div", { className: "filter" }, h("button", { type: "submit" }, "Xem thống kê")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const query = new URLSearchParams();
      if (since.value) query.set("since", since.value);
      if (until.value) query.set("until", until.value);
      if (channel.value) query.set("channel", channel.value);
      window.location.hash = "#/thong-ke?" + query.toString();
    });
    const status = h("p", { id: "dashboard-status", className: "status", role: "status", "aria-live": "polite" }, "Đang tải…");
    const body = h("div", { id: "dashboard-body" });
    section.replaceChildren(heading, form, status, body);
    heading.focus();

    const query = new URLSearchParams();
    for (const name of ["since", "until", "channel"]) if (params.get(name)) query.set(name, params.get(name));
    let data;
    try {
      data = await kit.getJson("/api/staff/dashboard?" + query.toString());
    } catch (error) {
      status.textContent = error.message;
      return;
    }
    since.value = data.since;
    until.value = data.until;
    status.textContent = "Từ " + dayText(data.since) + " đến " + dayText(data.until) + " (" + (CHANNELS[data.channel || ""] || data.channel) + "): "
      + data.questions + " câu hỏi.";
    body.replaceChildren(kpis(data), h("div", { className: "charts" }, Object.keys(CHART_TITLES).map((name) => chart(name, data))));
  }

  window.TTHC_STAFF_VIEWS.push({ name: "dashboard", path: "/thong-ke", section: "dashboard-view", title: "Thống kê trợ lý ảo", render: render });
})();
