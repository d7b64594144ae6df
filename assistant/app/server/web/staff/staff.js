// Staff lookup page: search, filters, procedure detail with print checklist, and the bot's inbox.
// Every text from the catalogue, the API or the URL is set with textContent (never innerHTML).
(function () {
  "use strict";

  const config = window.TTHC_STAFF_CONFIG || {};
  const $ = (id) => document.getElementById(id);
  const views = { search: $("search-view"), detail: $("detail-view"), inbox: $("inbox-view") };
  const filterInputs = { level: $("f-level"), field: $("f-field"), agency: $("f-agency"), online: $("f-online") };
  const LAST_SEARCH_KEY = "tthc-staff-last-search";  // the back link returns to these results
  let lastOpenedCode = null;
  let searchSequence = 0; // a slower, older search must not overwrite a newer one's results
  // Views in their own script files (loaded after this one) register here:
  // TTHC_STAFF_VIEWS.push({ name, path: "/…", section: "<element id>", title, render(params) }).
  const extraViews = (window.TTHC_STAFF_VIEWS = window.TTHC_STAFF_VIEWS || []);

  // ---- DOM helpers: strings become text nodes, only absolute http(s) URLs become links (the one copy,
  // assistant/app/server/web/shared/safe_dom.js, is served in front of this file) ----
  const { h, safeHttpUrl } = window.TTHC_DOM;

  async function getJson(url) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" } });
    } catch (error) {
      throw new Error("Không kết nối được máy chủ. Vui lòng kiểm tra mạng rồi thử lại.");
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      throw new Error(describeError(response.status, body));
    }
    return body;
  }

  function describeError(status, body) {
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail) && detail.length) {
      const first = detail[0];
      if (first && first.loc && first.loc.includes("q") && first.type === "string_too_long") {
        return "Nội dung tìm kiếm quá dài, vui lòng rút gọn (tối đa 500 ký tự).";
      }
      return "Tham số không hợp lệ: " + (first.msg || "vui lòng kiểm tra lại.");
    }
    return "Máy chủ báo lỗi (" + status + "). Vui lòng thử lại sau.";
  }

  // ---- routing (hash): #/?q=…  |  #/thu-tuc/<code>  |  #/ho-tro ----
  function parseRoute() {
    const hash = window.location.hash.replace(/^#/, "") || "/";
    const [path, query] = hash.split("?");
    if (path.startsWith("/thu-tuc/")) {
      return { view: "detail", code: decodeURIComponent(path.slice("/thu-tuc/".length)) };
    }
    if (path === "/ho-tro") return { view: "inbox" };
    const extra = extraViews.find((view) => view.path === path);
    if (extra) return { view: extra.name, extra: extra, params: new URLSearchParams(query || "") };
    return { view: "search", params: new URLSearchParams(query || "") };
  }

  function showView(name) {
    for (const [key, section] of Object.entries(views)) section.hidden = key !== name;
    for (const view of extraViews) $(view.section).hidden = view.name !== name;
    for (const link of document.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === name) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  async function route() {
    const current = parseRoute();
    showView(current.view);
    if (current.extra) {
      document.title = current.extra.title + " – Tra cứu thủ tục hành chính";
      await current.extra.render(current.params);
    } else if (current.view === "detail") {
      document.title = "Chi tiết thủ tục – Tra cứu thủ tục hành chính";
      await renderDetail(current.code);
    } else if (current.view === "inbox") {
      document.title = "Yêu cầu hỗ trợ và góp ý – Tra cứu thủ tục hành chính";
      await renderInbox();
    } else {
      document.title = "Tra cứu thủ tục hành chính – Bộ phận một cửa";
      await renderSearch(current.params);
    }
  }

  // ---- search ----
  function searchHash() {
    const params = new URLSearchParams();
    const q = $("q").value.trim();
    if (q) params.set("q", q);
    for (const [name, input] of Object.entries(filterInputs)) {
      if (input.value) params.set(name, input.value);
    }
    return "#/?" + params.toString();
  }

  async function renderSearch(params) {
    const q = params.get("q") || "";
    $("q").value = q;
    for (const [name, input] of Object.entries(filterInputs)) input.value = params.get(name) || "";
    const results = $("results");
    const status = $("search-status");
    if (!q) {
      results.replaceChildren();
      status.textContent = "";
      $("q").focus();
      return;
    }
    status.textContent = "Đang tìm…";
    sessionStorage.setItem(LAST_SEARCH_KEY, window.location.hash);
    const apiParams = new URLSearchParams({ q: q, top: "20" });
    for (const [name, input] of Object.entries(filterInputs)) {
      if (input.value) apiParams.set(name, input.value);
    }
    const sequence = ++searchSequence;
    let data;
    try {
      data = await getJson("/api/search?" + apiParams.toString());
    } catch (error) {
      if (sequence !== searchSequence) return;
      results.replaceChildren();
      status.textContent = error.message;
      return;
    }
    if (sequence !== searchSequence) return;
    results.replaceChildren(...data.results.map(resultItem));
    results.dataset.search = apiParams.toString(); // which search these results answer (for tests, debugging)
    status.textContent = searchSummary(data);
    const reopened = lastOpenedCode && results.querySelector('a[data-code="' + CSS.escape(lastOpenedCode) + '"]');
    if (reopened) reopened.focus();
    lastOpenedCode = null;
  }

  function searchSummary(data) {
    if (!data.results.length) return "Không tìm thấy thủ tục phù hợp. Thử từ khóa khác hoặc bỏ bớt bộ lọc.";
    const count = "Tìm thấy " + data.results.length + " thủ tục.";
    if (data.decision === "abstain") return count + " Không có thủ tục nào khớp rõ với câu hỏi; đây là các kết quả gần nhất.";
    if (data.decision === "clarify") return count + " Có vài thủ tục gần giống nhau, vui lòng chọn đúng thủ tục.";
    return count;
  }

  function resultItem(result) {
    const levels = result.levels.map((level) => level.label).join(", ");
    return h("li", { className: "result" },
      h("a", { href: "#/thu-tuc/" + encodeURIComponent(result.code), "data-code": result.code, className: "result-link" },
        h("span", { className: "result-title" }, result.title)),
      h("p", { className: "result-meta" },
        h("span", {}, "Mã " + result.code),
        levels ? h("span", {}, levels) : null,
        result.field ? h("span", {}, result.field) : null,
        h("span", { className: "online online-" + result.online.value }, result.online.label),
        result.names_district_level ? reformBadge() : null,
        result.local_changes && result.local_changes.length ? localBadge() : null));
  }

  // The record still names the district level, abolished on 1 July 2025: the catalogue team corrects it.
  function reformBadge() {
    return h("span", { className: "badge badge-reform", title: "Bản ghi còn ghi cấp huyện (không còn từ 01/7/2025): cần cập nhật danh mục" },
      "Còn ghi cấp huyện");
  }

  // The province's facts file replaced some of the record's facts (local overrides): the staff see which, and from
  // which decision, so the counter and the assistant say the same.
  function localBadge() {
    return h("span", { className: "badge badge-local", title: "Bản ghi có thông tin của tỉnh thay cho danh mục quốc gia" },
      "Theo quy định của tỉnh");
  }

  function localFlag(data) {
    const local = data.procedure.local;
    if (!data.local_changes || !data.local_changes.length || !local) return null;
    return h("aside", { className: "local-flag no-print", role: "note", "aria-labelledby": "local-flag-title" },
      h("p", { id: "local-flag-title", className: "local-flag-title" }, localBadge(),
        local.sample ? " Dữ liệu mẫu của tỉnh (chưa phải quy định chính thức) thay cho danh mục quốc gia ở các mục:"
          : " Tỉnh đã thay thông tin của danh mục quốc gia ở các mục:"),
      h("ul", {}, data.local_changes.map((change) => h("li", {}, change))),
      h("p", { className: "local-source" },
        local.source ? "Căn cứ: " + local.source + ". " : "",
        "Phiên bản tệp thông tin của tỉnh: " + local.version + "."),
      data.local_note ? h("p", {}, "Trợ lý đang trả lời người dân kèm lưu ý: ", h("q", {}, data.local_note)) : null);
  }

  function reformFlag(data) {
    if (!data.district_mentions || !data.district_mentions.length) return null;
    return h("aside", { className: "reform-flag no-print", role: "note", "aria-labelledby": "reform-flag-title" },
      h("p", { id: "reform-flag-title", className: "reform-flag-title" }, reformBadge(),
        " Bản ghi còn ghi cấp huyện, không còn từ ngày 01/7/2025. Đề nghị bộ phận quản lý danh mục cập nhật:"),
      h("ul", {}, data.district_mentions.map((mention) => h("li", {}, mention))),
      data.reform_note ? h("p", {}, "Trợ lý đang trả lời người dân kèm lưu ý: ", h("q", {}, data.reform_note)) : null);
  }

  function onResultsKeydown(event) {
    const links = Array.from($("results").querySelectorAll("a.result-link"));
    const index = links.indexOf(document.activeElement);
    if (index < 0) return;
    if (event.key === "ArrowDown" && index < links.length - 1) {
      links[index + 1].focus();
      event.preventDefault();
    } else if (event.key === "ArrowUp") {
      (index > 0 ? links[index - 1] : $("q")).focus();
      event.preventDefault();
    } else if (event.key === "Home") {
      links[0].focus();
      event.preventDefault();
    } else if (event.key === "End") {
      links[links.length - 1].focus();
      event.preventDefault();
    }
  }

  function onQueryKeydown(event) {
    if (event.key !== "ArrowDown") return;
    const first = $("results").querySelector("a.result-link");
    if (first) {
      first.focus();
      event.preventDefault();
    }
  }

  async function loadFacets() {
    let facets;
    try {
      facets = await getJson("/api/facets");
    } catch (error) {
      $("search-status").textContent = error.message;
      return;
    }
    const fill = (select, options) => {
      const chosen = select.value;
      select.append(...options.map((option) => h("option", { value: option.value }, option.label)));
      select.value = chosen;
    };
    fill(filterInputs.level, facets.levels);
    fill(filterInputs.field, facets.fields.map((text) => ({ value: text, label: text })));
    // Hundreds of agencies in the full catalogue: a text box with suggestions, matched as a substring.
    $("agency-options").append(...facets.agencies.map((text) => h("option", { value: text })));
    fill(filterInputs.online, facets.online);
  }

  // ---- procedure detail (also the printed checklist) ----
  async function renderDetail(code) {
    const view = views.detail;
    lastOpenedCode = code;
    view.replaceChildren(h("p", { className: "status" }, "Đang tải thủ tục…"));
    let data;
    try {
      data = await getJson("/api/procedures/" + encodeURIComponent(code));
    } catch (error) {
      view.replaceChildren(backLink(), h("p", { className: "status", role: "alert" }, error.message));
      return;
    }
    const p = data.procedure;
    document.title = p.title + " – Tra cứu thủ tục hành chính";
    const heading = h("h1", { tabindex: "-1", id: "detail-title" }, p.title);
    view.replaceChildren(...[
      backLink(),
      printHeader(),
      heading,
      h("dl", { className: "facts" },
        fact("Mã thủ tục", p.code),
        fact("Cấp thực hiện", data.level_labels.join(", ")),
        fact("Lĩnh vực", p.field),
        fact("Cơ quan thực hiện", p.agencies.join("; ")),
        fact("Nộp trực tuyến", data.online_label)),
      reformFlag(data),
      localFlag(data),
      h("div", { className: "actions no-print" },
        h("button", { type: "button", id: "print-button" }, "In phiếu hướng dẫn cho người dân"),
        portalAnchor(data.links.portal, "Mở trên Cổng Dịch vụ công")),
      documentsSection(p.documents),
      channelsSection(p.channels, data.channel_cases || []),
      section("where", "Nơi nộp hồ sơ", paragraph(p.where_to_submit || p.agencies.join("; ") || "Danh mục không nêu.")),
      p.conditions ? section("conditions", "Điều kiện thực hiện", paragraph(p.conditions), "no-print") : null,
      p.result ? section("result", "Kết quả", paragraph(p.result)) : null,
      p.steps ? section("steps", "Trình tự thực hiện", paragraph(p.steps), "no-print") : null,
      legalSection(p.legal_basis),
      linkSection(p, data.links),
      h("p", { className: "print-only print-note" },
        "Phiếu này giúp Anh/Chị chuẩn bị hồ sơ. Thông tin đầy đủ, mới nhất xem tại đường dẫn hoặc mã QR ở trên."),
    ].filter(Boolean)); // sections the record does not have are null
    $("print-button").addEventListener("click", () => window.print());
    heading.focus();
  }

  function backLink() {
    const lastSearch = sessionStorage.getItem(LAST_SEARCH_KEY) || "#/";
    return h("a", { href: lastSearch, className: "back no-print" }, "← Quay lại kết quả tìm kiếm");
  }

  function printHeader() {
    return h("div", { className: "print-only print-header" },
      config.provinceName ? h("p", { className: "print-authority" }, "Ủy ban nhân dân tỉnh " + config.provinceName) : null,
      h("p", { className: "print-kind" }, "Phiếu hướng dẫn chuẩn bị hồ sơ thủ tục hành chính"),
      h("p", { className: "print-date" }, "Ngày in: " + new Date().toLocaleDateString("vi-VN")));
  }

  function fact(term, value) {
    if (!value) return null;
    return h("div", {}, h("dt", {}, term), h("dd", {}, value));
  }

  function section(id, title, body, extraClass) {
    return h("section", { className: "block" + (extraClass ? " " + extraClass : ""), "aria-labelledby": "h-" + id },
      h("h2", { id: "h-" + id }, title), body);
  }

  function paragraph(text) {
    return h("div", { className: "prose" }, String(text).split(/\n+/).filter(Boolean).map((line) => h("p", {}, line)));
  }

  function documentsSection(documents) {
    if (!documents.length) return section("documents", "Thành phần hồ sơ", paragraph("Danh mục không nêu thành phần hồ sơ."));
    const groups = new Map();
    for (const doc of documents) {
      const key = doc.group || "";
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(doc);
    }
    let counter = 0;
    const body = [];
    for (const [group, docs] of groups) {
      if (group) body.push(h("h3", {}, group));
      body.push(h("ul", { className: "checklist" }, docs.map((doc) => {
        counter += 1;
        const id = "doc-" + counter;
        return h("li", {},
          h("input", { type: "checkbox", id: id }),
          h("label", { for: id },
            h("span", { className: "doc-name" }, doc.name),
            doc.copies ? h("span", { className: "doc-copies" }, "Số lượng: " + doc.copies) : null,
            doc.form ? h("span", { className: "doc-form" }, "Mẫu: " + doc.form) : null));
      })));
    }
    return section("documents", "Thành phần hồ sơ (" + documents.length + " giấy tờ)", body);
  }

  // One row per published row; a "Trường hợp" column when the table is split by case (time or fee by case).
  function channelsSection(channels, cases) {
    if (!channels.length) return section("channels", "Thời hạn giải quyết và lệ phí", paragraph("Danh mục không nêu."));
    const labels = { truc_tiep: "Trực tiếp", truc_tuyen: "Trực tuyến", buu_chinh: "Dịch vụ bưu chính" };
    const feeText = (fee) => fee.text || (fee.free ? "Miễn phí" : fee.amount_vnd != null ? fee.amount_vnd.toLocaleString("vi-VN") + " đồng" : "Không nêu");
    const byCase = cases.some(Boolean);
    return section("channels", "Thời hạn giải quyết và lệ phí",
      h("table", { className: "channels" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Cách nộp"), byCase ? h("th", { scope: "col" }, "Trường hợp") : null,
          h("th", { scope: "col" }, "Thời hạn giải quyết"), h("th", { scope: "col" }, "Phí, lệ phí"))),
        h("tbody", {}, channels.map((channel, index) => h("tr", {},
          h("th", { scope: "row" }, labels[channel.kind] || channel.kind),
          byCase ? h("td", { className: "case" }, cases[index] || "Không nêu") : null,
          h("td", {}, channel.time.text || "Không nêu"),
          h("td", {}, feeText(channel.fee)))))));
  }

  function legalSection(laws) {
    if (!laws.length) return null;
    return section("legal", "Căn cứ pháp lý",
      h("ul", { className: "legal" }, laws.map((law) => h("li", {},
        law.number ? h("strong", {}, law.number) : null, law.number && law.title ? " – " : null, law.title || null))),
      "no-print");
  }

  function portalAnchor(url, text) {
    const safe = safeHttpUrl(url);
    if (!safe) return null;
    return h("a", { href: safe, target: "_blank", rel: "noopener noreferrer", className: "portal-link" }, text);
  }

  function linkSection(procedure, links) {
    const portal = safeHttpUrl(links.portal);
    return section("link", "Nộp hồ sơ trực tuyến, tra cứu thêm",
      h("div", { className: "link-box" },
        h("img", { src: links.qr_svg, alt: "Mã QR dẫn tới trang thủ tục " + procedure.code + " trên Cổng Dịch vụ công", className: "qr", width: "132", height: "132" }),
        h("div", {},
          portal ? h("p", {}, h("a", { href: portal, target: "_blank", rel: "noopener noreferrer", className: "portal-url" }, portal)) : null,
          links.province_portal && safeHttpUrl(links.province_portal)
            ? h("p", {}, "Cổng Dịch vụ công tỉnh: ", h("a", { href: safeHttpUrl(links.province_portal), target: "_blank", rel: "noopener noreferrer" }, links.province_portal))
            : null,
          config.hotline ? h("p", {}, "Đường dây hỗ trợ: " + config.hotline) : null)));
  }

  // ---- inbox: hand-offs and feedback from the bot ----
  async function renderInbox() {
    const status = $("inbox-status");
    status.textContent = "Đang tải…";
    $("inbox-heading").focus();
    let handoffs, feedback;
    try {
      [handoffs, feedback] = await Promise.all([getJson("/api/staff/handoffs"), getJson("/api/staff/feedback")]);
    } catch (error) {
      status.textContent = error.message;
      return;
    }
    status.textContent = handoffs.length + " yêu cầu gặp cán bộ, " + feedback.length + " góp ý.";
    $("handoffs").replaceChildren(handoffs.length
      ? h("ul", { className: "cards" }, handoffs.map(handoffCard))
      : h("p", { className: "empty" }, "Chưa có người dân nào yêu cầu gặp cán bộ."));
    $("feedback").replaceChildren(feedback.length ? feedbackTable(feedback) : h("p", { className: "empty" }, "Chưa có góp ý nào."));
  }

  function when(iso) {
    const date = new Date(iso);
    return isNaN(date) ? iso : date.toLocaleString("vi-VN");
  }

  function handoffCard(record) {
    return h("li", { className: "card" },
      h("p", { className: "card-meta" },
        h("time", { datetime: record.created_at }, when(record.created_at)),
        " · Kênh: " + (record.channel || "không rõ") + " · Mã hội thoại: " + record.conversation),
      h("ol", { className: "transcript" }, record.messages.map((message) =>
        h("li", { className: "turn turn-" + (message.sender === "user" ? "user" : "bot") },
          h("span", { className: "speaker" }, message.sender === "user" ? "Người dân: " : "Trợ lý: "),
          message.text))));
  }

  function feedbackTable(records) {
    return h("table", { className: "feedback" },
      h("thead", {}, h("tr", {}, ["Thời gian", "Đánh giá", "Câu hỏi", "Câu trả lời"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, records.map((record) => h("tr", {},
        h("td", {}, h("time", { datetime: record.created_at }, when(record.created_at))),
        h("td", { className: "rating-" + record.rating }, record.rating === "good" ? "Hài lòng" : "Chưa hài lòng"),
        h("td", {}, record.question),
        h("td", {}, record.answer)))));
  }

  // Shared with the views in other script files.
  window.TTHC_STAFF_KIT = { h: h, getJson: getJson, describeError: describeError, when: when };

  // ---- start ----
  document.addEventListener("DOMContentLoaded", () => {
    if (config.provinceName) $("brand-province").textContent = "Tỉnh " + config.provinceName;
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      if (!$("q").value.trim()) {
        $("search-status").textContent = "Vui lòng nhập tên thủ tục hoặc câu hỏi.";
        $("q").focus();
        return;
      }
      const target = searchHash();
      if (window.location.hash === target) route();
      else window.location.hash = target;
    });
    for (const input of Object.values(filterInputs)) {
      input.addEventListener("change", () => {
        if ($("q").value.trim()) window.location.hash = searchHash();
      });
    }
    $("q").addEventListener("keydown", onQueryKeydown);
    $("results").addEventListener("keydown", onResultsKeydown);
    window.addEventListener("hashchange", route);
    loadFacets().then(route);
  });
})();
