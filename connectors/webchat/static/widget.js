/*
 * Trợ lý TTHC website chat widget: no build step, no dependencies.
 * Talks to Rasa's REST channel: POST {rasaUrl}/webhooks/rest/webhook {"sender", "message"}.
 *
 * Embed:  <script src="https://APP/webchat/widget.js" data-rasa-url="https://RASA" data-title="…"></script>
 * Options (data-* on the script tag, else window.TTHC_CHAT_CONFIG, else defaults):
 *   data-rasa-url, data-title, data-max-message-chars,
 *   data-mode="launcher" (button + floating panel, default) | "inline" (fills data-container),
 *   data-container="element id" (inline mode).
 * Every text from the server or the user is inserted as text nodes; links are built as elements and
 * only http(s) URLs become links, so a reply can never inject markup or script.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  const pageConfig = window.TTHC_CHAT_CONFIG || {};
  const data = (script && script.dataset) || {};
  const config = {
    rasaUrl: String(data.rasaUrl || pageConfig.rasaUrl || "").replace(/\/+$/, ""),
    title: data.title || pageConfig.title || "Trợ lý thủ tục hành chính",
    maxChars: parseInt(data.maxMessageChars || pageConfig.maxMessageChars || "1000", 10) || 1000,
    mode: data.mode === "inline" ? "inline" : "launcher",
    container: data.container || "",
    timeoutMs: 20000,
  };
  const STORAGE_KEY = "tthc-webchat:" + config.rasaUrl;
  const MAX_KEPT_MESSAGES = 200; // history kept across reloads
  const uid = () => (window.crypto && crypto.randomUUID ? crypto.randomUUID()
    : "web-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10));

  // ---- persistent state: sender id, history, unsent draft ----
  function loadState() {
    try {
      const saved = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "null");
      if (saved && typeof saved.senderId === "string" && Array.isArray(saved.messages)) {
        return { senderId: saved.senderId, messages: saved.messages, draft: String(saved.draft || ""), open: !!saved.open };
      }
    } catch (error) { /* unreadable storage: start fresh */ }
    return { senderId: uid(), messages: [], draft: "", open: false };
  }
  const state = loadState();
  function saveState() {
    state.messages = state.messages.slice(-MAX_KEPT_MESSAGES);
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch (error) { /* storage full or disabled: the chat still works for this page view */ }
  }

  // ---- DOM helpers: strings become text nodes, only absolute http(s) URLs become links (the one copy,
  // assistant/app/server/web/shared/safe_dom.js, is served in front of this file as /webchat/widget.js) ----
  const { h, safeHttpUrl } = window.TTHC_DOM;

  // A link to a page of the app server ("/checklist/<code>") opens on the server that served this widget,
  // wherever the widget is embedded; anything else must be an absolute http(s) URL.
  const appOrigin = (() => {
    try { return new URL(script && script.src ? script.src : window.location.href).origin; } catch (error) { return window.location.origin; }
  })();
  function pageUrl(url) {
    const text = String(url);
    if (/^\/[A-Za-z0-9]/.test(text)) return safeHttpUrl(appOrigin + text);
    return safeHttpUrl(text);
  }

  // ---- rich text: paragraphs, "- " / "1. " lists, [title](url), bare URLs, **bold** ----
  const INLINE = /\[([^\]\n]{1,200})\]\((https?:\/\/[^\s)]+)\)|(https?:\/\/[^\s<>"']+)|\*\*([^*\n]{1,200})\*\*/g;

  function inline(text) {
    const parts = [];
    let last = 0;
    for (const match of text.matchAll(INLINE)) {
      if (match.index > last) parts.push(text.slice(last, match.index));
      const [whole, label, labelUrl, bareUrl, bold] = match;
      if (bold !== undefined) {
        parts.push(h("strong", {}, bold));
      } else {
        let url = labelUrl || bareUrl;
        let trailing = "";
        if (bareUrl) { // "xem tại https://….," — the punctuation ends the sentence, not the URL
          const cut = url.match(/[.,;:!?)\]]+$/);
          if (cut) { trailing = cut[0]; url = url.slice(0, -trailing.length); }
        }
        const safe = safeHttpUrl(url);
        parts.push(safe ? h("a", { href: safe, target: "_blank", rel: "noopener noreferrer" }, label || url) : whole);
        if (trailing) parts.push(trailing);
      }
      last = match.index + whole.length;
    }
    if (last < text.length) parts.push(text.slice(last));
    return parts;
  }

  function richText(text) {
    const blocks = [];
    let list = null;
    for (const rawLine of String(text).split("\n")) {
      const line = rawLine.trimEnd();
      const bullet = line.match(/^\s*(?:[-•*+])\s+(.*)$/);
      const numbered = line.match(/^\s*(\d{1,2})[.)]\s+(.*)$/);
      if (bullet || numbered) {
        const kind = bullet ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== kind) {
          list = h(kind, numbered ? { start: numbered[1] } : {});
          blocks.push(list);
        }
        list.append(h("li", {}, inline(bullet ? bullet[1] : numbered[2])));
      } else if (line.trim()) {
        list = null;
        blocks.push(h("p", {}, inline(line)));
      } else {
        list = null;
      }
    }
    return blocks;
  }

  // ---- widget DOM ----
  const ids = { panel: "tthc-chat-panel", title: "tthc-chat-title", input: "tthc-chat-input", note: "tthc-chat-note" };
  const launcher = h("button", { type: "button", className: "tthc-launcher", "aria-expanded": "false", "aria-controls": ids.panel },
    h("span", { "aria-hidden": "true", className: "tthc-launcher-icon" }, "💬"), " Hỏi trợ lý");
  const closeButton = h("button", { type: "button", className: "tthc-icon-button", "aria-label": "Đóng cửa sổ trò chuyện" }, "×");
  const newButton = h("button", { type: "button", className: "tthc-text-button" }, "Trò chuyện mới");
  const log = h("div", { className: "tthc-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
    "aria-label": "Nội dung trò chuyện", tabindex: "0" });
  const typing = h("p", { className: "tthc-typing", hidden: true }, "Trợ lý đang trả lời…");
  const alertText = h("span", {});
  const retryButton = h("button", { type: "button", className: "tthc-retry" }, "Thử lại");
  const alertBox = h("div", { className: "tthc-alert", role: "alert", hidden: true }, alertText, " ", retryButton);
  const input = h("textarea", { id: ids.input, className: "tthc-input", rows: "2", "aria-describedby": ids.note,
    autocomplete: "off", placeholder: "Ví dụ: làm căn cước cần giấy tờ gì?" });
  const sendButton = h("button", { type: "submit", className: "tthc-send" }, "Gửi");
  const note = h("p", { id: ids.note, className: "tthc-note", "aria-live": "polite" });
  const form = h("form", { className: "tthc-form", novalidate: true },
    h("label", { for: ids.input, className: "tthc-label" }, "Câu hỏi của Anh/Chị"),
    h("div", { className: "tthc-row" }, input, sendButton), note);
  const panel = h("section", { id: ids.panel, className: "tthc-panel", "aria-labelledby": ids.title },
    h("header", { className: "tthc-header" },
      h("h2", { id: ids.title, className: "tthc-title" }, config.title),
      newButton, config.mode === "launcher" ? closeButton : null),
    log, typing, alertBox, form);
  const root = h("div", { className: "tthc-chat tthc-chat--" + config.mode, lang: "vi" });

  // ---- messages ----
  function renderMessage(message) {
    const mine = message.from === "user";
    const item = h("div", { className: "tthc-msg " + (mine ? "tthc-msg--user" : "tthc-msg--bot"), "data-id": message.id },
      h("span", { className: "tthc-sr" }, mine ? "Anh/Chị: " : "Trợ lý: "));
    const bubble = h("div", { className: "tthc-bubble" });
    if (message.text) bubble.append(...(mine ? [h("p", {}, message.text)] : richText(message.text)));
    const image = message.image && safeHttpUrl(message.image);
    if (image) bubble.append(h("img", { src: image, alt: "Hình ảnh từ trợ lý", className: "tthc-image" }));
    const attachment = message.attachment && safeHttpUrl(message.attachment);
    if (attachment) bubble.append(h("p", {}, h("a", { href: attachment, target: "_blank", rel: "noopener noreferrer" }, "Tệp đính kèm")));
    item.append(bubble);
    if (message.buttons && message.buttons.length) {
      const group = h("div", { className: "tthc-buttons", role: "group", "aria-label": "Các lựa chọn" });
      for (const button of message.buttons) {
        const href = button.url ? pageUrl(button.url) : null;
        if (button.url) { // a link button (e.g. the printable checklist): opens the page, sends nothing
          if (href) group.append(h("a", { className: "tthc-choice tthc-choice--link", href: href, target: "_blank", rel: "noopener noreferrer" }, button.title));
          continue;
        }
        const choice = h("button", { type: "button", className: "tthc-choice" }, button.title);
        choice.addEventListener("click", () => send(button.payload || button.title, button.title));
        group.append(choice);
      }
      item.append(group);
    }
    if (mine && message.status === "failed") {
      const resend = h("button", { type: "button", className: "tthc-resend" }, "Gửi lại");
      resend.addEventListener("click", () => deliver(message));
      item.append(h("p", { className: "tthc-failed" }, "Chưa gửi được. ", resend));
    }
    return item;
  }

  function addMessage(message) {
    message.id = message.id || uid();
    state.messages.push(message);
    saveState();
    log.append(renderMessage(message));
    log.scrollTop = log.scrollHeight;
    return message;
  }

  function refreshMessage(message) {
    const old = log.querySelector('[data-id="' + CSS.escape(message.id) + '"]');
    if (old) old.replaceWith(renderMessage(message));
  }

  function fromRasa(reply) {
    return {
      from: "bot",
      text: typeof reply.text === "string" ? reply.text : "",
      buttons: Array.isArray(reply.buttons)
        ? reply.buttons.filter((b) => b && typeof b.title === "string").map((b) => (typeof b.url === "string" && b.url
          ? { title: b.title, url: b.url } : { title: b.title, payload: String(b.payload || "") }))
        : [],
      image: typeof reply.image === "string" ? reply.image : "",
      attachment: typeof reply.attachment === "string" ? reply.attachment : "",
    };
  }

  // ---- talking to Rasa ----
  class ChatError extends Error {}

  // A 502 or 503 comes from the proxy: the Rasa server that had the message died (502) or none could take
  // it (503). The widget sends the message once more after a second, as the citizen would by pressing
  // "Thử lại", and another Rasa answers it. Rasa stores a turn just before it answers, so a server that
  // dies in that last moment leaves the question stored: the resend then stores it a second time (rare;
  // the same as a manual resend). Never after a 504 (the turn may still be running) or a lost connection.
  const RETRY_STATUSES = [502, 503];
  const RETRY_DELAY_MS = 1000;

  async function postToRasa(text) {
    let response = await postOnce(text);
    if (RETRY_STATUSES.includes(response.status)) {
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      response = await postOnce(text);
    }
    if (response.status === 429) throw new ChatError("Anh/Chị gửi hơi nhanh, vui lòng đợi giây lát rồi bấm Thử lại.");
    if (!response.ok) throw new ChatError("Không kết nối được máy chủ (lỗi " + response.status + "). Anh/Chị vui lòng bấm Thử lại sau giây lát.");
    const body = await response.json().catch(() => null);
    if (!Array.isArray(body)) throw new ChatError("Máy chủ trả lời không đúng định dạng. Anh/Chị vui lòng bấm Thử lại.");
    return body;
  }

  async function postOnce(text) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), config.timeoutMs);
    let response;
    try {
      response = await fetch(config.rasaUrl + "/webhooks/rest/webhook", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: state.senderId, message: text }),
        signal: controller.signal,
      });
    } catch (error) {
      throw new ChatError("Không kết nối được máy chủ. Anh/Chị vui lòng kiểm tra mạng rồi bấm Thử lại.");
    } finally {
      clearTimeout(timer);
    }
    return response;
  }

  let pendingRetry = null;
  let busy = false;

  function setBusy(value) {
    busy = value;
    typing.hidden = !value;
    sendButton.disabled = value;
    log.setAttribute("aria-busy", value ? "true" : "false");
  }

  function showAlert(text, message) {
    alertText.textContent = text;
    alertBox.hidden = false;
    pendingRetry = message;
  }

  function hideAlert() {
    alertBox.hidden = true;
    pendingRetry = null;
  }

  async function deliver(message) {
    if (busy) return;
    setBusy(true);
    hideAlert();
    if (message.status === "failed") {
      message.status = "sending";
      refreshMessage(message);
    }
    try {
      const replies = await postToRasa(message.payload || message.text);
      message.status = "sent";
      saveState();
      refreshMessage(message);
      for (const reply of replies) addMessage(fromRasa(reply));
      if (!replies.length) { // Rasa answered nothing (e.g. its action server is down): never leave silence
        addMessage({ from: "bot", text: "Dạ, xin lỗi Anh/Chị, tôi chưa trả lời được tin nhắn này. " +
          "Anh/Chị vui lòng hỏi lại theo cách khác hoặc thử lại sau ít phút." });
      }
    } catch (error) {
      message.status = "failed";
      saveState();
      refreshMessage(message);
      showAlert(error instanceof ChatError ? error.message : "Đã có lỗi. Anh/Chị vui lòng bấm Thử lại.", message);
    } finally {
      setBusy(false);
    }
  }

  function send(payload, shownText) {
    if (busy) return;
    const message = addMessage({ from: "user", text: shownText || payload, payload: payload, status: "sending" });
    deliver(message);
  }

  // ---- input: length cap with a polite note, Enter sends, Shift+Enter new line, draft kept ----
  function checkLength() {
    const length = input.value.length;
    if (length > config.maxChars) {
      note.textContent = "Tin nhắn dài " + length + " ký tự, vượt quá " + config.maxChars +
        " ký tự. Anh/Chị vui lòng rút gọn hoặc chia thành nhiều tin.";
      input.setAttribute("aria-invalid", "true");
      return false;
    }
    input.removeAttribute("aria-invalid");
    note.textContent = "";
    return true;
  }

  function submit() {
    const text = input.value.trim();
    if (!text) {
      note.textContent = "Anh/Chị vui lòng nhập câu hỏi trước khi gửi.";
      input.focus();
      return;
    }
    if (!checkLength() || busy) return;
    input.value = "";
    state.draft = "";
    note.textContent = "";
    send(text);
    input.focus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", () => {
    state.draft = input.value;
    saveState();
    if (input.getAttribute("aria-invalid") || input.value.length > config.maxChars) checkLength();
  });
  retryButton.addEventListener("click", () => {
    if (pendingRetry) deliver(pendingRetry);
  });
  newButton.addEventListener("click", () => {
    state.senderId = uid();
    state.messages = [];
    saveState();
    log.replaceChildren();
    hideAlert();
    greet();
    input.focus();
  });

  // ---- open / close (launcher mode) ----
  function setOpen(open) {
    state.open = open;
    saveState();
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    launcher.hidden = open;
    if (open) {
      log.scrollTop = log.scrollHeight;
      input.focus();
    }
  }
  launcher.addEventListener("click", () => setOpen(true));
  closeButton.addEventListener("click", () => {
    setOpen(false);
    launcher.focus();
  });
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && config.mode === "launcher") {
      setOpen(false);
      launcher.focus();
    }
  });

  function greet() {
    if (!state.messages.length) {
      addMessage({ from: "bot", text: "Dạ, xin chào Anh/Chị! Tôi là trợ lý thủ tục hành chính. " +
        "Anh/Chị cần làm thủ tục gì? Ví dụ: \"làm căn cước cần giấy tờ gì\", \"đăng ký khai sinh cho con\"." });
    }
  }

  function mount() {
    const stylesheet = script && script.src ? new URL("widget.css", script.src).href : "";
    if (stylesheet && !document.querySelector('link[data-tthc-chat]')) {
      document.head.append(h("link", { rel: "stylesheet", href: stylesheet, "data-tthc-chat": "1" }));
    }
    if (config.mode === "inline") {
      const host = document.getElementById(config.container) || document.body;
      root.append(panel);
      host.append(root);
    } else {
      root.append(launcher, panel);
      document.body.append(root);
    }
    for (const message of state.messages) log.append(renderMessage(message));
    const unsent = state.messages.filter((m) => m.from === "user" && m.status !== "sent");
    for (const message of unsent) { // a reload interrupted these: offer to send them again
      message.status = "failed";
      refreshMessage(message);
    }
    if (unsent.length) showAlert("Tin nhắn trước chưa gửi được. Anh/Chị bấm Thử lại để gửi.", unsent[unsent.length - 1]);
    input.value = state.draft;
    checkLength();
    if (!config.rasaUrl) showAlert("Chưa cấu hình địa chỉ máy chủ trò chuyện (data-rasa-url).", null);
    greet();
    if (config.mode === "inline") {
      log.scrollTop = log.scrollHeight;
      input.focus();
    } else {
      setOpen(state.open);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
