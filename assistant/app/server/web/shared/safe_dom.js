// DOM helpers shared by the citizens' chat widget and the staff page: the one copy. The app server puts
// this file in front of the page script it serves (/webchat/widget.js and /staff/assets/staff.js, see
// assistant/app/server/pages.py), so each page still loads one script and an embedding site one <script> tag.
// Strings become text nodes and only absolute http(s) URLs become links, so data from the catalogue, the
// API, the chat or the URL can never become markup or script.
window.TTHC_DOM = window.TTHC_DOM || (function () {
  "use strict";

  // Builds an element; children that are not nodes become text nodes, null/undefined/false are skipped.
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "hidden") node.hidden = true;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // The URL as a link target when it is an absolute http(s) URL, else null (javascript:, data:, relative
  // or unparsable): a page resolves its own relative links itself.
  function safeHttpUrl(url) {
    try {
      const parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (error) {
      return null;
    }
  }

  return Object.freeze({ h: h, safeHttpUrl: safeHttpUrl });
})();
