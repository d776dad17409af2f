/*
 * rag-extract chat widget. Plain JavaScript: no dependencies, no build step, no CDN.
 *
 * Embed it in any page (the server must list the page's origin in RAG_CORS_ORIGINS):
 *   <script src="https://host/widget.js" data-endpoint="https://host"></script>
 * Attributes (all optional):
 *   data-endpoint  the API's base URL (default: where this script was loaded from)
 *   data-mode      "floating" (a chat button in the corner, the default) or "page" (fills the page)
 *   data-target    CSS selector of the element to mount into (default: the end of <body>)
 *   data-title     the heading (default: "Ask the documents")
 *   data-k         passages to retrieve per question, 1-50 (default: 5)
 *   data-key       a read key (`rag keys add NAME --groups A,B`): the widget then also answers from
 *                  those groups' documents. Safe to publish: it reads only its groups and public,
 *                  and writes nothing. Without it, only public documents are searched.
 *   data-where     a JSON filter, as /ask's "where": e.g. '{"lang": "en"}' (ignored if not JSON)
 *
 * Everything from the server is put on the page with textContent / text nodes, never parsed as
 * HTML: documents are untrusted input.
 */
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var data = (script && script.dataset) || {};
  var scriptOrigin = script && script.src ? new URL(script.src, document.baseURI).origin : location.origin;
  var endpoint = (data.endpoint || scriptOrigin).replace(/\/+$/, "");
  var mode = data.mode === "page" ? "page" : "floating";
  var title = data.title || "Ask the documents";
  var k = Math.min(50, Math.max(1, parseInt(data.k || "5", 10) || 5));
  var key = (data.key || "").trim();
  var where = parseWhere(data.where);
  var REQUEST_TIMEOUT_MS = 30000;
  var MAX_QUESTION = 2000;
  var EXTRA_ANSWERS_SHOWN = 2;

  function parseWhere(text) {
    if (!text) return null;
    try {
      var value = JSON.parse(text);
      return value && typeof value === "object" && !Array.isArray(value) ? value : null;
    } catch (error) {
      if (window.console) console.warn("rag widget: data-where is not a JSON object; ignored");
      return null;
    }
  }

  // ---- tiny DOM helpers (no innerHTML anywhere) ----

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) return;
        if (name === "text") node.textContent = value;
        else if (name === "className") node.className = value;
        else node.setAttribute(name, value === true ? "" : String(value));
      });
    }
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function svgIcon(pathData) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "24");
    svg.setAttribute("height", "24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathData);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function srOnly(text) {
    return el("span", { className: "sr-only", text: text });
  }

  // Offsets from the server count Unicode code points (Python str indices); JavaScript strings
  // index UTF-16 code units. Convert, so characters outside the BMP (emoji...) don't shift spans.
  function codePointsToIndex(text, codePoints) {
    var i = 0;
    while (codePoints > 0 && i < text.length) {
      var c = text.charCodeAt(i);
      i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
      codePoints -= 1;
    }
    return i;
  }

  // Text with [start, end) (UTF-16 indices) wrapped in <mark>, as DOM nodes.
  function highlighted(text, start, end, markClass) {
    var frag = document.createDocumentFragment();
    frag.appendChild(document.createTextNode(text.slice(0, start)));
    var mark = el("mark", { className: markClass || null }, [text.slice(start, end)]);
    frag.appendChild(mark);
    frag.appendChild(document.createTextNode(text.slice(end)));
    return { fragment: frag, mark: mark };
  }

  // Where the answer lies inside its sentence, preferring the offsets and checking them.
  function answerRange(answer) {
    var sentence = answer.sentence || "";
    var text = answer.text || "";
    var citation = answer.citation || {};
    if (typeof citation.char_start === "number" && typeof answer.sentence_start === "number") {
      var start = codePointsToIndex(sentence, citation.char_start - answer.sentence_start);
      if (sentence.substr(start, text.length) === text) return [start, start + text.length];
    }
    var found = sentence.indexOf(text);
    return found >= 0 && text ? [found, found + text.length] : null;
  }

  function chipLabel(citation) {
    return (citation.title || citation.source || "source") + (citation.page ? " \u00b7 p. " + citation.page : "");
  }

  // ---- talking to the API ----

  function request(path, options) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    var init = Object.assign({}, options || {});
    init.headers = Object.assign({ Accept: "application/json" }, init.headers || {});
    if (key) init.headers.Authorization = "Bearer " + key;
    if (controller) init.signal = controller.signal;
    return fetch(endpoint + path, init).then(
      function (response) {
        if (timer) clearTimeout(timer);
        return response.json().catch(function () { return null; }).then(function (body) {
          if (response.ok && body) return body;
          var message = body && body.error && body.error.message ? body.error.message
            : "the server answered " + response.status;
          var failure = new Error(message);
          failure.code = body && body.error ? body.error.code : "http_" + response.status;
          throw failure;
        });
      },
      function (error) {
        if (timer) clearTimeout(timer);
        var failure = new Error(error && error.name === "AbortError"
          ? "the server took too long to answer" : "cannot reach the server");
        failure.code = "network";
        throw failure;
      }
    );
  }

  // ---- the widget ----

  var selectionOf = function () { return document.getSelection(); };

  function mount() {
    var host = el("div", { className: "rag-chat-host", "data-mode": mode });
    host.style.visibility = "hidden"; // until the stylesheet is in, to avoid a flash of unstyled widget
    var target = data.target ? document.querySelector(data.target) : null;
    (target || document.body).appendChild(host);
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    // Where the person's text selection is read from: the shadow root's own, where the browser has one.
    selectionOf = function () { return (root.getSelection && root.getSelection()) || document.getSelection(); };

    var stylesheet = el("link", { rel: "stylesheet", href: endpoint + "/widget.css" });
    var show = function () { host.style.visibility = ""; };
    stylesheet.addEventListener("load", show);
    stylesheet.addEventListener("error", show);
    setTimeout(show, 3000);
    root.appendChild(stylesheet);

    var ui = build();
    root.appendChild(ui.container);
    wire(ui);
  }

  function build() {
    var ui = {};
    ui.container = el("div", { className: "rag-chat rag-" + mode });

    if (mode === "floating") {
      ui.launcher = el("button", {
        type: "button", className: "launcher", "aria-label": title, title: title,
        "aria-expanded": "false", "aria-controls": "rag-panel", "aria-haspopup": "dialog",
      }, [svgIcon("M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z")]);
      ui.container.appendChild(ui.launcher);
    }

    ui.panel = el("section", {
      id: "rag-panel", className: "panel", "aria-labelledby": "rag-title",
      role: mode === "floating" ? "dialog" : "region", hidden: mode === "floating",
    });
    var header = el("header", { className: "header" }, [el("h2", { id: "rag-title", text: title })]);
    if (mode === "floating") {
      ui.close = el("button", { type: "button", className: "icon-button close", "aria-label": "Close chat" },
        [svgIcon("M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z")]);
      header.appendChild(ui.close);
    }
    ui.panel.appendChild(header);

    ui.log = el("div", {
      className: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0",
    });
    ui.log.appendChild(el("div", { className: "msg bot intro" }, [
      "Ask a question about the documents. Answers are quoted from them, with a link to where each quote is.",
    ]));
    ui.panel.appendChild(ui.log);

    ui.input = el("textarea", {
      id: "rag-question", className: "question", rows: "1", maxlength: String(MAX_QUESTION),
      placeholder: "Ask a question\u2026", autocomplete: "off", "aria-describedby": "rag-hint",
    });
    ui.send = el("button", { type: "submit", className: "send", "aria-label": "Send question" },
      [svgIcon("M3 20.5 21 12 3 3.5 3 10l12 2-12 2z")]);
    ui.form = el("form", { className: "composer", "aria-label": "Ask a question" }, [
      el("label", { className: "sr-only", for: "rag-question", text: "Your question" }),
      ui.input,
      ui.send,
      el("span", { id: "rag-hint", className: "sr-only", text: "Press Enter to send, Shift+Enter for a new line." }),
    ]);
    ui.panel.appendChild(ui.form);

    ui.viewer = el("section", {
      className: "viewer", role: "dialog", "aria-modal": "false", "aria-labelledby": "rag-source-title",
      hidden: true,
    });
    ui.viewerBack = el("button", { type: "button", className: "back", "aria-label": "Close the source, back to answers" },
      ["\u2190 Back"]);
    ui.viewerTitle = el("h3", { id: "rag-source-title", className: "source-title" });
    ui.viewerMeta = el("p", { className: "source-meta" });
    ui.viewerText = el("div", { className: "source-text", tabindex: "0", "aria-label": "Document text" });
    ui.viewer.appendChild(el("div", { className: "viewer-header" }, [ui.viewerBack, ui.viewerTitle]));
    ui.viewer.appendChild(ui.viewerMeta);
    // After a 👎: the person shows the right words in the document, or says the documents don't say.
    ui.sendSelection = el("button", { type: "button", className: "correct-send", "aria-describedby": "rag-correct-hint" },
      ["Send the selected words"]);
    ui.notInDocs = el("button", { type: "button", className: "correct-none" }, ["The documents don\u2019t say this"]);
    ui.correctStatus = el("p", { className: "correct-status", role: "status" });
    ui.correct = el("div", { className: "correct-bar", role: "group", "aria-label": "Show the right answer", hidden: true }, [
      el("p", { id: "rag-correct-hint", className: "correct-hint",
        text: "Select the words in the document that answer the question, then send them." }),
      el("div", { className: "correct-actions" }, [ui.sendSelection, ui.notInDocs]),
      ui.correctStatus,
    ]);
    ui.viewer.appendChild(ui.correct);
    ui.viewer.appendChild(ui.viewerText);
    ui.panel.appendChild(ui.viewer);

    ui.container.appendChild(ui.panel);
    return ui;
  }

  function wire(ui) {
    var busy = false;
    var documents = {}; // doc_id -> Promise of the document
    var openedFrom = null;
    var correcting = null; // { question, docId, text, done } while the source view collects the right words

    function setOpen(open) {
      if (!ui.launcher) return;
      ui.panel.hidden = !open;
      ui.launcher.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) ui.input.focus();
      else ui.launcher.focus();
    }

    if (ui.launcher) {
      ui.launcher.addEventListener("click", function () { setOpen(ui.panel.hidden); });
      ui.close.addEventListener("click", function () { setOpen(false); });
    }

    function scrollToEnd() {
      ui.log.scrollTop = ui.log.scrollHeight;
    }

    function add(node) {
      ui.log.appendChild(node);
      scrollToEnd();
      return node;
    }

    function autosize() {
      ui.input.style.height = "auto";
      ui.input.style.height = Math.min(ui.input.scrollHeight, 160) + "px";
    }

    ui.input.addEventListener("input", autosize);
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (typeof ui.form.requestSubmit === "function") ui.form.requestSubmit();
        else ui.form.dispatchEvent(new Event("submit", { cancelable: true }));
      }
    });

    ui.form.addEventListener("submit", function (event) {
      event.preventDefault();
      var question = ui.input.value.trim();
      if (busy) return;
      if (!question) {
        ui.input.focus();
        return;
      }
      ask(question);
    });

    function ask(question) {
      busy = true;
      ui.send.disabled = true;
      ui.form.setAttribute("aria-busy", "true");
      add(el("div", { className: "msg user" }, [srOnly("You asked: "), question]));
      ui.input.value = "";
      autosize();
      var pending = add(el("div", { className: "msg bot loading", role: "status" }, [
        el("span", { className: "dots", "aria-hidden": "true" }), "Searching the documents\u2026",
      ]));
      request("/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(where ? { question: question, k: k, where: where } : { question: question, k: k }),
      }).then(function (result) {
        pending.replaceWith(renderResult(result));
      }, function (error) {
        pending.replaceWith(el("div", { className: "msg bot error", role: "alert" }, [
          "Sorry, no answer this time: " + error.message + ".",
        ]));
      }).then(function () {
        busy = false;
        ui.send.disabled = false;
        ui.form.removeAttribute("aria-busy");
        scrollToEnd();
        ui.input.focus();
      });
    }

    function renderResult(result) {
      if (result.no_answer || !result.answers || !result.answers.length) {
        return el("div", { className: "msg bot no-answer" }, [
          srOnly("Answer: "),
          "The documents don\u2019t contain an answer to that.",
          feedbackBar(result, null),
        ]);
      }
      var message = el("div", { className: "msg bot answer" }, [srOnly("Answer: ")]);
      var best = result.answers[0];
      message.appendChild(renderAnswer(best, true));
      var more = result.answers.slice(1, 1 + EXTRA_ANSWERS_SHOWN);
      if (more.length) {
        var details = el("details", { className: "more" }, [
          el("summary", { text: more.length === 1 ? "1 more extract" : more.length + " more extracts" }),
        ]);
        more.forEach(function (answer) { details.appendChild(renderAnswer(answer, false)); });
        message.appendChild(details);
      }
      message.appendChild(feedbackBar(result, best));
      return message;
    }

    // ---- feedback: 👍 / 👎 under each answer ----

    function sendFeedback(body) {
      return request("/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
    }

    function feedbackBar(result, best) {
      var status = el("span", { className: "feedback-status", role: "status" });
      var up = el("button", { type: "button", className: "vote up",
        "aria-label": best ? "Yes, this answer is right" : "Yes, the documents don\u2019t say" }, ["\ud83d\udc4d"]);
      var down = el("button", { type: "button", className: "vote down",
        "aria-label": best ? "No, this answer is wrong: show the right words" : "No, the documents do say" },
        ["\ud83d\udc4e"]);
      var bar = el("div", { className: "feedback", role: "group", "aria-label": "Was this right?" }, [
        el("span", { className: "feedback-ask", "aria-hidden": "true", text: "Right?" }), up, down, status,
      ]);
      function finish(message) {
        up.disabled = true;
        down.disabled = true;
        status.textContent = message;
      }
      function send(body) {
        up.disabled = true;
        down.disabled = true;
        return sendFeedback(body).then(function () { finish("Thanks, noted."); }, function (error) {
          up.disabled = false;
          down.disabled = false;
          status.textContent = "Not sent: " + error.message + ".";
        });
      }
      up.addEventListener("click", function () {
        if (!best) return send({ question: result.question, verdict: "no_answer" });
        var c = best.citation;
        send({ question: result.question, verdict: "correct",
               answer: { doc_id: c.doc_id, char_start: c.char_start, char_end: c.char_end } });
      });
      down.addEventListener("click", function () {
        if (!best) return send({ question: result.question, verdict: "wrong" });
        var context = typeof best.sentence_start === "number"
          ? { start: best.sentence_start, end: best.sentence_end } : null;
        openSource(best.citation, down, context, { question: result.question, done: finish });
      });
      return bar;
    }

    // The selection inside the document's text, as code-point offsets into it (spaces at its ends left out).
    function selectedRange(text) {
      var selection = selectionOf();
      if (!selection || !selection.rangeCount || selection.isCollapsed) return null;
      var range = selection.getRangeAt(0);
      if (!ui.viewerText.contains(range.startContainer) || !ui.viewerText.contains(range.endContainer)) return null;
      var before = document.createRange();
      before.selectNodeContents(ui.viewerText);
      before.setEnd(range.startContainer, range.startOffset);
      var start = before.toString().length;
      var end = start + range.toString().length;
      while (start < end && /\s/.test(text.charAt(start))) start++;
      while (end > start && /\s/.test(text.charAt(end - 1))) end--;
      if (start >= end) return null;
      return [Array.from(text.slice(0, start)).length, Array.from(text.slice(0, end)).length];
    }

    function sendCorrection(verdict) {
      var current = correcting;
      if (!current) return;
      var body = { question: current.question, verdict: verdict };
      if (verdict === "wrong") {
        var range = selectedRange(current.text);
        if (!range) {
          ui.correctStatus.textContent = "Select some words of the document first.";
          return;
        }
        body.answer = { doc_id: current.docId, char_start: range[0], char_end: range[1] };
      }
      ui.sendSelection.disabled = true;
      ui.notInDocs.disabled = true;
      ui.correctStatus.textContent = "Sending\u2026";
      sendFeedback(body).then(function () {
        current.done(verdict === "wrong" ? "Thanks: the right words are noted." : "Thanks, noted.");
        closeSource();
      }, function (error) {
        ui.correctStatus.textContent = "Not sent: " + error.message + ".";
      }).then(function () {
        ui.sendSelection.disabled = false;
        ui.notInDocs.disabled = false;
      });
    }

    ui.sendSelection.addEventListener("click", function () { sendCorrection("wrong"); });
    ui.notInDocs.addEventListener("click", function () { sendCorrection("no_answer"); });

    function renderAnswer(answer, primary) {
      var block = el("div", { className: primary ? "extract primary" : "extract" });
      var range = answerRange(answer);
      var sentence = answer.sentence || answer.text;
      // The short answer on its own line, when it is shorter than its sentence.
      if (primary && answer.text && answer.text !== sentence) {
        block.appendChild(el("p", { className: "answer-text", text: answer.text }));
      }
      var quote = el("blockquote", { className: "answer-sentence" });
      if (range) quote.appendChild(highlighted(sentence, range[0], range[1], "answer-mark").fragment);
      else quote.appendChild(el("mark", { className: "answer-mark", text: answer.text }));
      block.appendChild(quote);
      var citation = answer.citation || {};
      var chip = el("button", {
        type: "button", className: "chip",
        "aria-label": "Open the source: " + chipLabel(citation).replace(" \u00b7 p. ", ", page ") +
          ", characters " + citation.char_start + " to " + citation.char_end,
      }, [svgIcon("M6 2h9l5 5v15H6zM14 3v5h5"), el("span", { text: chipLabel(citation) })]);
      var context = typeof answer.sentence_start === "number"
        ? { start: answer.sentence_start, end: answer.sentence_end } : null;
      chip.addEventListener("click", function () { openSource(citation, chip, context); });
      block.appendChild(el("div", { className: "citations" }, [chip]));
      return block;
    }

    // ---- the source view ----

    function fetchDocument(docId) {
      if (!documents[docId]) {
        documents[docId] = request("/documents/" + encodeURIComponent(docId));
        documents[docId].catch(function () { delete documents[docId]; });
      }
      return documents[docId];
    }

    // The document as text nodes: the cited characters in a <mark>, inside a softer highlight of
    // their sentence when there is one. Offsets are code points; `context` may be null.
    function sourceNodes(text, citation, context) {
      var span = [codePointsToIndex(text, citation.char_start), codePointsToIndex(text, citation.char_end)];
      var outer = span;
      if (context && context.start <= citation.char_start && citation.char_end <= context.end) {
        outer = [codePointsToIndex(text, context.start), codePointsToIndex(text, context.end)];
      }
      var fragment = document.createDocumentFragment();
      fragment.appendChild(document.createTextNode(text.slice(0, outer[0])));
      var holder = fragment;
      if (outer !== span) {
        holder = el("span", { className: "cited-context" });
        fragment.appendChild(holder);
      }
      holder.appendChild(document.createTextNode(text.slice(outer[0], span[0])));
      var mark = el("mark", { className: "cited", tabindex: "-1", "aria-label": "Cited passage" },
        [text.slice(span[0], span[1])]);
      holder.appendChild(mark);
      holder.appendChild(document.createTextNode(text.slice(span[1], outer[1])));
      fragment.appendChild(document.createTextNode(text.slice(outer[1])));
      return { fragment: fragment, mark: mark };
    }

    function openSource(citation, opener, context, correction) {
      openedFrom = opener;
      correcting = null;
      ui.correct.hidden = !correction;
      ui.correctStatus.textContent = "";
      ui.viewer.hidden = false;
      ui.viewerTitle.textContent = citation.title || citation.source || "Source";
      ui.viewerMeta.textContent = "Loading the document\u2026";
      ui.viewerText.textContent = "";
      ui.viewer.setAttribute("aria-busy", "true");
      ui.viewerBack.focus();
      fetchDocument(citation.doc_id).then(function (doc) {
        var parts = sourceNodes(doc.text || "", citation, context);
        if (correction) correcting = { question: correction.question, docId: citation.doc_id, text: doc.text || "",
                                       done: correction.done };
        ui.viewerText.textContent = "";
        ui.viewerText.appendChild(parts.fragment);
        ui.viewerMeta.textContent = (doc.source || "") + (citation.page ? " \u00b7 page " + citation.page : "") +
          " \u00b7 characters " + citation.char_start + "\u2013" + citation.char_end;
        ui.viewer.removeAttribute("aria-busy");
        parts.mark.scrollIntoView({ block: "center" });
        parts.mark.focus({ preventScroll: true });
      }, function (error) {
        ui.viewer.removeAttribute("aria-busy");
        ui.viewerMeta.textContent = "";
        ui.viewerText.appendChild(el("p", { className: "error", role: "alert",
          text: "Cannot open the document: " + error.message + "." }));
      });
    }

    function closeSource() {
      ui.viewer.hidden = true;
      ui.correct.hidden = true;
      correcting = null;
      ui.viewerText.textContent = "";
      if (openedFrom && openedFrom.isConnected) openedFrom.focus();
      openedFrom = null;
    }

    ui.viewerBack.addEventListener("click", closeSource);
    ui.container.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      if (!ui.viewer.hidden) {
        event.stopPropagation();
        closeSource();
      } else if (ui.launcher && !ui.panel.hidden) {
        event.stopPropagation();
        setOpen(false);
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
