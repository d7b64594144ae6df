// Staff page: the questions the assistant did not answer (#/chua-tra-loi) and the catalogue team's labels (#/nhan).
// Registers two views with staff.js (TTHC_STAFF_VIEWS) and uses its DOM helper (TTHC_STAFF_KIT.h): every text
// from the API becomes a text node, never markup. API: assistant/app/server/routers/learning.py (admin token).
(function () {
  "use strict";

  const kit = window.TTHC_STAFF_KIT;
  const h = kit.h;
  const $ = (id) => document.getElementById(id);

  const REASONS = {
    declined: "Từ chối: không có trong danh mục",
    abstained: "Không tìm thấy thủ tục phù hợp",
    abandoned: "Hỏi lại nhưng người dân bỏ dở",
    rated_bad: "Người dân chưa hài lòng",
  };
  const CHANNELS = { rest: "Trò chuyện trên website", zalo: "Zalo" };
  const KINDS = {
    procedure: "Thuộc thủ tục",
    not_in_catalogue: "Không có trong danh mục",
    not_procedure: "Không phải câu hỏi thủ tục",
  };
  const VERDICTS = {
    correct: "Đúng nhãn",
    asks_back: "Hỏi lại, có thủ tục đúng",
    declines: "Chưa trả lời",
    wrong: "Khác nhãn",
  };
  let formCounter = 0; // unique ids for the label forms' controls
  const LABELS_SHOWN = 100; // the labels view searches each one: the most recently changed only

  async function sendJson(method, url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: method,
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new Error("Không kết nối được máy chủ. Vui lòng kiểm tra mạng rồi thử lại.");
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new Error(kit.describeError(response.status, data));
    return data;
  }

  function day(iso) {
    const date = new Date(iso);
    return isNaN(date) ? iso : date.toLocaleDateString("vi-VN");
  }

  function labelText(label) {
    if (!label) return "";
    if (label.kind === "procedure") {
      return KINDS.procedure + ": " + (label.title || "(không còn trong danh mục)") + " (mã " + label.code + ")";
    }
    return KINDS[label.kind] || label.kind;
  }

  // ---- the label form: kind, and the procedure picked with the catalogue search ----
  function labelForm(options) {
    const prefix = "lf" + (++formCounter);
    const status = h("p", { className: "status label-status", role: "status", "aria-live": "polite" });
    const kindInputs = Object.entries(KINDS).map(([value, text]) =>
      h("label", { className: "kind-option" },
        h("input", { type: "radio", name: prefix + "-kind", value: value, checked: value === (options.kind || "procedure") }),
        " " + text));
    const query = h("input", { type: "search", id: prefix + "-q", autocomplete: "off", value: options.query || "" });
    const findButton = h("button", { type: "button", className: "secondary" }, "Tìm thủ tục");
    const results = h("ul", { className: "picker-results", "aria-label": "Thủ tục tìm được" });
    const picker = h("div", { className: "picker" },
      h("label", { for: prefix + "-q" }, "Tìm thủ tục trong danh mục"),
      h("div", { className: "search-row" }, query, findButton),
      results);
    let chosen = options.code || null;

    function showPicker() {
      const kind = form.querySelector("input[name='" + prefix + "-kind']:checked").value;
      picker.hidden = kind !== "procedure";
    }

    function option(code, title, checked) {
      const id = prefix + "-c-" + code.replace(/[^0-9A-Za-z]/g, "_");
      const input = h("input", { type: "radio", name: prefix + "-code", id: id, value: code, checked: checked });
      input.addEventListener("change", () => { chosen = code; });
      return h("li", {}, input, h("label", { for: id }, title + " (mã " + code + ")"));
    }

    async function find() {
      const q = query.value.trim();
      if (!q) {
        status.textContent = "Vui lòng nhập tên thủ tục để tìm.";
        query.focus();
        return;
      }
      status.textContent = "Đang tìm…";
      let data;
      try {
        data = await kit.getJson("/api/search?" + new URLSearchParams({ q: q, top: "8" }).toString());
      } catch (error) {
        status.textContent = error.message;
        return;
      }
      const items = data.results.map((result) => option(result.code, result.title, result.code === chosen));
      if (chosen && options.title && !data.results.some((result) => result.code === chosen)) {
        items.unshift(option(chosen, options.title, true));
      }
      results.replaceChildren(...items);
      status.textContent = data.results.length ? "Chọn một thủ tục trong danh sách." : "Không tìm thấy thủ tục nào; thử từ khóa khác.";
    }

    const save = h("button", { type: "submit" }, options.saveText || "Lưu nhãn");
    const form = h("form", { className: "label-form", novalidate: true },
      h("fieldset", { className: "kinds" }, h("legend", {}, "Câu hỏi này"), kindInputs),
      picker,
      h("div", { className: "form-actions" }, save, options.extraButtons || null),
      status);
    form.addEventListener("change", (event) => {
      if (event.target.name === prefix + "-kind") showPicker();
    });
    findButton.addEventListener("click", find);
    query.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        find();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const kind = form.querySelector("input[name='" + prefix + "-kind']:checked").value;
      if (kind === "procedure" && !chosen) {
        status.textContent = "Vui lòng tìm và chọn thủ tục trước khi lưu.";
        query.focus();
        return;
      }
      save.disabled = true;
      status.textContent = "Đang lưu…";
      try {
        await options.onSave(kind, kind === "procedure" ? chosen : null, status);
      } catch (error) {
        status.textContent = error.message;
      } finally {
        save.disabled = false;
      }
    });
    if (chosen && options.title) results.replaceChildren(option(chosen, options.title, true));
    showPicker();
    return form;
  }

  // ---- #/chua-tra-loi: the unanswered questions, grouped ----
  function filterParams(params) {
    const kept = new URLSearchParams();
    for (const name of ["since", "until", "channel", "reason", "unlabelled"]) {
      const value = params.get(name);
      if (value) kept.set(name, value);
    }
    return kept;
  }

  function unansweredFilters(params) {
    const select = (id, name, choices) => {
      const node = h("select", { id: id, name: name }, h("option", { value: "" }, "Tất cả"),
        Object.entries(choices).map(([value, text]) => h("option", { value: value }, text)));
      node.value = params.get(name) || "";
      return node;
    };
    const form = h("form", { id: "unanswered-filters", className: "filters", novalidate: true },
      h("div", { className: "filter" }, h("label", { for: "u-since" }, "Từ ngày"),
        h("input", { type: "date", id: "u-since", name: "since", value: params.get("since") || "" })),
      h("div", { className: "filter" }, h("label", { for: "u-until" }, "Đến ngày"),
        h("input", { type: "date", id: "u-until", name: "until", value: params.get("until") || "" })),
      h("div", { className: "filter" }, h("label", { for: "u-channel" }, "Kênh"), select("u-channel", "channel", CHANNELS)),
      h("div", { className: "filter" }, h("label", { for: "u-reason" }, "Lý do"), select("u-reason", "reason", REASONS)),
      h("div", { className: "filter filter-check" },
        h("input", { type: "checkbox", id: "u-unlabelled", name: "unlabelled", value: "true", checked: params.get("unlabelled") === "true" }),
        h("label", { for: "u-unlabelled" }, "Chỉ nhóm còn câu hỏi chưa gán nhãn")),
      h("div", { className: "filter" }, h("button", { type: "submit" }, "Lọc")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      for (const [name, value] of new FormData(form).entries()) if (value) next.set(name, value);
      const target = "#/chua-tra-loi" + (next.toString() ? "?" + next.toString() : "");
      if (window.location.hash === target) renderUnanswered(next);
      else window.location.hash = target;
    });
    return form;
  }

  function reasonList(reasons) {
    return Object.entries(reasons).map(([reason, count]) =>
      h("span", { className: "reason reason-" + reason }, (REASONS[reason] || reason) + ": " + count));
  }

  function groupCard(group, index) {
    const headingId = "ug-" + index;
    const boxes = group.variants.map((variant, n) => {
      const id = headingId + "-v" + n;
      return h("li", { className: "variant" },
        h("input", { type: "checkbox", id: id, checked: !variant.label, "data-question": variant.question }),
        h("label", { for: id },
          h("span", { className: "variant-text" }, variant.question),
          h("span", { className: "variant-count" }, " · " + variant.count + " lần"),
          variant.label ? h("span", { className: "badge badge-label" }, labelText(variant.label)) : null));
    });
    const list = h("ul", { className: "variants" }, boxes);
    const form = labelForm({
      query: group.question,
      onSave: async (kind, code, status) => {
        const questions = Array.from(list.querySelectorAll("input[type=checkbox]:checked")).map((box) => box.dataset.question);
        if (!questions.length) throw new Error("Vui lòng đánh dấu ít nhất một câu hỏi để gán nhãn.");
        const saved = await sendJson("POST", "/api/staff/labels", { questions: questions, kind: kind, code: code });
        const byQuestion = new Map(saved.map((label) => [label.question, label]));
        for (const box of list.querySelectorAll("input[type=checkbox]")) {
          const label = byQuestion.get(box.dataset.question);
          if (!label) continue;
          const text = box.parentElement.querySelector("label");
          const old = text.querySelector(".badge-label");
          if (old) old.remove();
          text.append(h("span", { className: "badge badge-label" }, labelText(label)));
          box.checked = false;
        }
        status.textContent = "Đã lưu nhãn cho " + saved.length + " câu hỏi.";
      },
    });
    return h("li", { className: "card group-card", "data-group": group.id },
      h("h2", { id: headingId, className: "group-question" }, group.question),
      h("p", { className: "card-meta" },
        h("strong", { className: "group-count" }, group.count + " lần"),
        " · " + group.variants.length + " cách hỏi · từ " + day(group.first_at) + " đến " + day(group.last_at)
          + " · Kênh: " + Object.entries(group.channels).map(([name, n]) => (CHANNELS[name] || name) + " " + n).join(", ")
          + (group.labelled ? " · Đã gán nhãn " + group.labelled + "/" + group.variants.length : "")),
      h("p", { className: "reasons" }, reasonList(group.reasons)),
      group.codes.length ? h("p", { className: "card-meta" }, "Thủ tục trợ lý đã gợi ý: ",
        group.codes.flatMap((code, n) => [n ? ", " : null, h("a", { href: "#/thu-tuc/" + encodeURIComponent(code) }, code)])) : null,
      h("details", { className: "label-box" },
        h("summary", {}, "Gán nhãn"),
        h("p", { className: "help" }, "Đánh dấu các câu hỏi cùng ý trong nhóm:"),
        list,
        form));
  }

  async function renderUnanswered(params) {
    const view = $("unanswered-view");
    const kept = filterParams(params);
    const status = h("p", { id: "unanswered-status", className: "status", role: "status", "aria-live": "polite" }, "Đang tải…");
    const csv = h("a", { href: "/api/staff/unanswered.csv" + (kept.toString() ? "?" + kept.toString() : ""),
      className: "csv-link", download: "" }, "Tải về CSV (mở bằng Excel)");
    const heading = h("h1", { id: "unanswered-heading", tabindex: "-1" }, "Câu hỏi chưa được trả lời");
    const groups = h("ol", { id: "unanswered-groups", className: "cards groups", "aria-label": "Nhóm câu hỏi" });
    view.replaceChildren(heading,
      h("p", { className: "help" }, "Câu hỏi trợ lý từ chối vì không có trong danh mục, không tìm thấy thủ tục, hỏi lại "
        + "mà người dân bỏ dở, hoặc người dân chưa hài lòng; các câu hỏi giống nhau được gộp thành nhóm. "
        + "Gán nhãn giúp trợ lý trả lời đúng ở lần huấn luyện sau."),
      unansweredFilters(kept), h("p", { className: "no-print" }, csv), status, groups);
    heading.focus();
    let report;
    try {
      report = await kit.getJson("/api/staff/unanswered?" + kept.toString());
    } catch (error) {
      status.textContent = error.message;
      return;
    }
    status.textContent = report.groups.length
      ? report.questions + " lượt hỏi chưa được trả lời, " + report.distinct + " câu hỏi khác nhau, " + report.groups.length
        + " nhóm" + (report.truncated ? " (chỉ hiện các nhóm lớn nhất)" : "") + "."
      : "Không có câu hỏi chưa được trả lời trong khoảng thời gian này.";
    groups.dataset.loaded = kept.toString();
    groups.replaceChildren(...report.groups.map(groupCard));
  }

  // ---- #/nhan: labelled questions and how the assistant answers them now ----
  function nowCell(now) {
    if (!now) return h("td", {}, "Chưa xem được (danh mục chưa sẵn sàng).");
    const names = now.results.map((result) => result.title + " (mã " + result.code + ")");
    let text;
    if (now.decision === "answer") text = "Trả lời: " + names.join("");
    else if (now.decision === "clarify") text = "Hỏi lại, gợi ý: " + names.join("; ");
    else if (now.scope === "off_topic") text = "Không trả lời: ngoài phạm vi thủ tục hành chính";
    else if (now.scope === "administrative") text = "Không trả lời: thủ tục không có trong danh mục";
    else text = "Không trả lời: không tìm thấy thủ tục phù hợp";
    return h("td", { className: "now" },
      h("span", { className: "badge verdict verdict-" + now.verdict }, VERDICTS[now.verdict] || now.verdict), " ", text);
  }

  function labelRow(label) {
    const remove = h("button", { type: "button", className: "secondary danger" }, "Xóa nhãn");
    const row = h("tr", { "data-label": String(label.id) });
    const form = labelForm({
      kind: label.kind, code: label.code, title: label.title, query: label.title || label.question, saveText: "Lưu sửa đổi",
      extraButtons: remove,
      onSave: async (kind, code) => {
        const saved = await sendJson("PUT", "/api/staff/labels/" + label.id, { kind: kind, code: code });
        row.replaceWith(labelRow(saved));
      },
    });
    remove.addEventListener("click", async () => {
      const status = form.querySelector(".label-status");
      try {
        await sendJson("DELETE", "/api/staff/labels/" + label.id);
      } catch (error) {
        status.textContent = error.message;
        return;
      }
      row.replaceWith(h("tr", {}, h("td", { colspan: "4" }, "Đã xóa nhãn của câu hỏi: ", h("q", {}, label.question))));
    });
    row.append(
      h("td", { className: "question" }, label.question),
      h("td", { className: "label-kind" }, labelText(label)),
      nowCell(label.now),
      h("td", {}, h("details", { className: "label-box" }, h("summary", {}, "Sửa nhãn"), form)));
    return row;
  }

  async function renderLabels() {
    const view = $("labels-view");
    const heading = h("h1", { id: "labels-heading", tabindex: "-1" }, "Câu hỏi đã gán nhãn");
    const status = h("p", { id: "labels-status", className: "status", role: "status", "aria-live": "polite" }, "Đang tải…");
    const body = h("tbody", {});
    view.replaceChildren(heading,
      h("p", { className: "help" }, "Các nhãn được dùng để huấn luyện lại trợ lý (tthc kb train) và làm bộ câu hỏi đánh giá "
        + "(tthc kb eval --labelled). Cột «Trợ lý trả lời hiện nay» cho biết trợ lý sẽ trả lời câu hỏi đó thế nào nếu "
        + "người dân hỏi lại bây giờ."),
      h("p", { className: "no-print" }, h("a", { href: "/api/staff/labels.jsonl", download: "" }, "Tải tệp câu hỏi đã gán nhãn (JSONL)")),
      status,
      h("table", { id: "labels-table", className: "labels" },
        h("thead", {}, h("tr", {}, ["Câu hỏi", "Nhãn", "Trợ lý trả lời hiện nay", "Sửa"].map((t) => h("th", { scope: "col" }, t)))),
        body));
    heading.focus();
    let labels, total;
    try {
      const response = await fetch("/api/staff/labels?limit=" + LABELS_SHOWN, { headers: { Accept: "application/json" } });
      const data = await response.json().catch(() => null);
      if (!response.ok) throw new Error(kit.describeError(response.status, data));
      labels = data;
      total = Number(response.headers.get("X-Total-Count")) || labels.length;
    } catch (error) {
      status.textContent = error instanceof TypeError ? "Không kết nối được máy chủ. Vui lòng kiểm tra mạng rồi thử lại." : error.message;
      return;
    }
    status.textContent = !labels.length ? "Chưa có câu hỏi nào được gán nhãn."
      : total > labels.length ? total + " câu hỏi đã gán nhãn; đây là " + labels.length + " nhãn được sửa gần nhất."
        : labels.length + " câu hỏi đã gán nhãn.";
    body.replaceChildren(...labels.map(labelRow));
    body.dataset.loaded = "true";
  }

  window.TTHC_STAFF_VIEWS.push(
    { name: "unanswered", path: "/chua-tra-loi", section: "unanswered-view", title: "Câu hỏi chưa được trả lời", render: renderUnanswered },
    { name: "labels", path: "/nhan", section: "labels-view", title: "Câu hỏi đã gán nhãn", render: renderLabels });
})();
