// tapegrad step-through viewer. The graph is drawn once; each step only changes classes
// (active, changed, lit) and the gradient rows, from the JSON of changes in .tg-data.
// Prev/Next, slider, arrow keys, deep links #<id>-step-<k>; zoom and pan (wheel, drag,
// pinch, keys); focus mode; AccumulateGrad steps folded or shown; node details; quiz mode
// (the gradients hidden until the reader types them).
(function () {
  "use strict";
  var READABLE_PX = 11;  // the smallest node text the default view allows

  function setup(root) {
    var id = root.id;
    var data = JSON.parse(root.querySelector("script.tg-data").textContent);
    var viewport = root.querySelector(".viewport");
    var canvas = root.querySelector(".canvas");
    var svg = canvas.querySelector("svg");
    var slider = root.querySelector(".slider");
    var counter = root.querySelector(".counter");
    var details = root.querySelector(".details");
    var tapebox = root.querySelector(".tapebox");
    var rows = root.querySelectorAll("table.tape tr[data-row]");
    var focusBox = root.querySelector(".focus-toggle");
    var accBox = root.querySelector(".acc-toggle");
    var mode = data.start;
    var current = 0;
    var texts = {};  // node id -> [short, full] at the current step
    root.classList.add("js");

    // Graph nodes and edges by their DOT names (node ids carry the page's prefix).
    var nodeEl = {};
    Array.prototype.forEach.call(svg.querySelectorAll("g.node"), function (g) {
      nodeEl[g.id.slice(id.length + 1)] = g;
    });
    var edges = Array.prototype.map.call(svg.querySelectorAll("g.edge"), function (g) {
      var t = g.querySelector("title");
      var ends = (t ? t.textContent : "").split("->");
      return { el: g, a: ends[0], b: ends[1] };
    });

    // ---------------------------------------------------------------- the host window
    // The window whose address holds the deep link: this one, or, inside an <iframe
    // srcdoc> (how the docs embed the viewer), the page around it when same-origin.
    var host = window;
    try {
      if (location.protocol === "about:" && window.parent !== window &&
          typeof window.parent.location.hash === "string") { host = window.parent; }
    } catch (err) { host = window; /* a cross-origin parent: keep to this frame */ }

    // ---------------------------------------------------------------- zoom and pan
    var view = { s: 1, x: 0, y: 0 };
    var natural = { w: svg.getBoundingClientRect().width, h: svg.getBoundingClientRect().height };
    if (!natural.w || !natural.h) {  // laid out while hidden: Graphviz's size in pt
      natural = { w: parseFloat(svg.getAttribute("width")) * 4 / 3 || 800,
                  h: parseFloat(svg.getAttribute("height")) * 4 / 3 || 600 };
    }
    var fontPx = (function () {  // the smallest node text at scale 1, in CSS px
      var m = Infinity;
      Array.prototype.forEach.call(svg.querySelectorAll("g.node text"), function (t) {
        var f = parseFloat(t.getAttribute("font-size") || "14");
        var ctm = t.getScreenCTM();
        m = Math.min(m, f * (ctm ? Math.abs(ctm.a) : 1));
      });
      return m === Infinity ? 14 : m;
    })();

    function apply() {
      canvas.style.transform = "translate(" + view.x + "px," + view.y + "px) scale(" + view.s + ")";
    }
    function zoomAt(factor, px, py) {
      var s = Math.max(0.05, Math.min(8, view.s * factor));
      view.x = px - (px - view.x) * s / view.s;
      view.y = py - (py - view.y) * s / view.s;
      view.s = s;
      apply();
    }
    function zoomCentre(factor) {
      zoomAt(factor, viewport.clientWidth / 2, viewport.clientHeight / 2);
    }
    function fitScale() {
      return Math.min(viewport.clientWidth / natural.w, viewport.clientHeight / natural.h);
    }
    function fit() {
      view.s = Math.min(fitScale(), 2);
      view.x = (viewport.clientWidth - natural.w * view.s) / 2;
      view.y = Math.max(0, (viewport.clientHeight - natural.h * view.s) / 2);
      apply();
    }
    function actual() {  // 100%: centred on the current node when there is one
      view.s = 1;
      view.x = (viewport.clientWidth - natural.w) / 2;
      view.y = 0;
      apply();
      follow(true);
    }
    function pan(dx, dy) { view.x += dx; view.y += dy; apply(); }
    // Bring the current step into view: the node that acts with its inputs and outputs
    // when they fit, else the node alone (always with force, else only when something
    // of it is outside the viewport).
    function follow(force) {
      var step = data.modes[mode][current];
      var target = step && step.a ? step.a : data.home;  // before backward: the output
      var el = target ? nodeEl[target] : null;
      if (!el) { return; }
      var v = viewport.getBoundingClientRect();
      var margin = 30;
      function box(ids) {
        var b = null;
        ids.forEach(function (n) {
          var e = nodeEl[n];
          if (!e) { return; }
          var r = e.getBoundingClientRect();
          b = b ? { left: Math.min(b.left, r.left), top: Math.min(b.top, r.top),
                    right: Math.max(b.right, r.right), bottom: Math.max(b.bottom, r.bottom) }
            : { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
        });
        return b;
      }
      var r = box([target].concat(step && step.a ? step.lit : []));
      if (r.right - r.left > v.width - 2 * margin || r.bottom - r.top > v.height - 2 * margin) {
        r = box([target]);
      }
      var inside = r.left >= v.left + margin && r.right <= v.right - margin &&
        r.top >= v.top + margin && r.bottom <= v.bottom - margin;
      if (force || !inside) {
        pan(v.left + v.width / 2 - (r.left + r.right) / 2, v.top + v.height / 2 - (r.top + r.bottom) / 2);
      }
    }

    // ---------------------------------------------------------------- steps
    function steps() { return data.modes[mode]; }
    function last() { return steps().length - 1; }

    function setText(nid, pair) {
      var el = nodeEl[nid];
      if (!el) { return; }  // drawn inside a collapsed module, or cut by max_depth
      var t = el.querySelector("text.g");
      if (t) { t.textContent = pair[0]; }
    }

    function show(k, updateHash) {
      k = Math.max(0, Math.min(last(), k));
      current = k;
      var list = steps();
      // the gradient rows: the forward state, then every change up to step k
      texts = {};
      Object.keys(data.base).forEach(function (nid) { texts[nid] = data.base[nid]; });
      for (var i = 0; i <= k; i++) {
        var d = list[i].d;
        var hidden = quiz ? unanswered(list[i]) : {};
        Object.keys(d).forEach(function (nid) {
          texts[nid] = hidden[nid] ? ["grad ?", "grad ? (asked at step " + i + ")"] : d[nid];
        });
      }
      Object.keys(texts).forEach(function (nid) { setText(nid, texts[nid]); });
      var step = list[k];
      var lit = {};
      step.lit.forEach(function (n) { lit[n] = true; });
      var changed = {};
      step.ch.forEach(function (n) { changed[n] = true; });
      Object.keys(nodeEl).forEach(function (nid) {
        var el = nodeEl[nid];
        el.classList.toggle("active", nid === step.a);
        el.classList.toggle("changed", !!changed[nid]);
        el.classList.toggle("lit", !!lit[nid]);
      });
      edges.forEach(function (e) { e.el.classList.toggle("lit", !!(lit[e.a] && lit[e.b])); });
      root.classList.toggle("has-active", !!step.a && !!nodeEl[step.a]);
      // captions: only this mode's list, only this step
      Array.prototype.forEach.call(root.querySelectorAll(".steps"), function (box) {
        var mine = box.classList.contains(mode);
        box.classList.toggle("shown", mine);
        Array.prototype.forEach.call(box.querySelectorAll(".frame"), function (f) {
          f.hidden = !mine || parseInt(f.getAttribute("data-step"), 10) !== k;
        });
      });
      root.querySelector(".captions").scrollTop = 0;
      slider.max = String(last());
      slider.value = String(k);
      root.setAttribute("data-steps", String(last()));
      counter.textContent = "Step " + k + " / " + last();
      // the tape: highlight this step's row and scroll it into the panel's view
      var row = step.r === null ? null : String(step.r);
      Array.prototype.forEach.call(rows, function (r) {
        var on = row !== null && r.getAttribute("data-row") === row;
        r.classList.toggle("current", on);
        if (on) {
          var top = r.offsetTop, bottom = top + r.offsetHeight;
          if (top < tapebox.scrollTop + 20 || bottom > tapebox.scrollTop + tapebox.clientHeight) {
            tapebox.scrollTop = Math.max(0, top - tapebox.clientHeight / 2);
          }
        }
      });
      if (quiz) { renderQuiz(k); }
      if (focusBox.checked) { follow(false); }
      if (picked) { describe(picked); }
      if (updateHash && host.history.replaceState) {
        // An absolute URL from the host's own address: inside an <iframe srcdoc> a bare
        // "#..." resolves against the parent's URL, which this frame's history refuses.
        try {
          var url = host.location.href.split("#")[0] + "#" + id + "-step-" + k;
          host.history.replaceState(null, "", url);
        } catch (err) { /* a sandboxed frame may refuse: the hash is only a convenience */ }
      }
    }

    // ---------------------------------------------------------------- quiz mode
    // Each step asks for the gradients it changed; an answer is checked here against the
    // engine's numbers (within 0.5% or 1e-4), a wrong try unlocks the hint (the local
    // rule), Reveal shows the caption. Answered and revealed gradients appear on the graph.
    var quiz = data.quiz ? { done: {}, tried: {}, revealed: {} } : null;
    var panel = root.querySelector(".quiz-panel");

    function unanswered(step) {
      var out = {};
      (step.q || []).forEach(function (q) { if (!quiz.done[q.k]) { out[q.n] = true; } });
      return out;
    }
    function parseNumbers(text) {
      var cleaned = text.replace(/\u2212/g, "-").replace(/[\[\]()]/g, " ").trim();
      if (!cleaned) { return []; }
      return cleaned.split(/[\s,;]+/).map(Number);
    }
    function matches(got, want) {
      if (got.length !== want.length) { return false; }
      for (var i = 0; i < want.length; i++) {
        var off = Math.abs(got[i] - want[i]);
        if (!isFinite(got[i]) || off > 5e-3 * Math.abs(want[i]) + 1e-4) {
          return false;
        }
      }
      return true;
    }
    function shown(v) {
      return Math.abs(v) < 1e-4 && v !== 0 ? v.toExponential(3) : String(+v.toPrecision(6));
    }
    function stepFrames(k) {
      return root.querySelectorAll(".steps." + mode + ' .frame[data-step="' + k + '"]');
    }
    function renderQuiz(k) {
      var step = steps()[k];
      var qs = step.q || [];
      var revealed = quiz.revealed[mode + k] || qs.every(function (q) { return quiz.done[q.k]; });
      Array.prototype.forEach.call(stepFrames(k), function (f) {
        f.classList.toggle("revealed", revealed);
      });
      var total = 0, done = 0;
      steps().forEach(function (s) {
        (s.q || []).forEach(function (q) { total += 1; if (quiz.done[q.k]) { done += 1; } });
      });
      panel.textContent = "";
      var head = document.createElement("div");
      head.className = "quiz-score";
      head.textContent = "Quiz: " + done + " / " + total + " gradients found";
      panel.appendChild(head);
      if (!qs.length) {
        var none = document.createElement("p");
        none.textContent = k === 0 ? "Press Next: backward starts at the output."
                                   : "Nothing to find at this step.";
        panel.appendChild(none);
        return;
      }
      qs.forEach(function (q) {
        var row = document.createElement("div");
        row.className = "quiz-q";
        row.setAttribute("data-node", q.n);
        var label = document.createElement("label");
        label.textContent = q.q + (q.w.length > 1 ? " (" + q.w.length + " numbers)" : "") + " = ";
        var input = document.createElement("input");
        input.type = "text";
        input.className = "quiz-answer";
        input.setAttribute("aria-label", q.q);
        var check = document.createElement("button");
        check.type = "button"; check.className = "quiz-check"; check.textContent = "Check";
        var hint = document.createElement("button");
        hint.type = "button"; hint.className = "quiz-hint"; hint.textContent = "Hint";
        hint.disabled = !quiz.tried[q.k];
        var reveal = document.createElement("button");
        reveal.type = "button"; reveal.className = "quiz-reveal"; reveal.textContent = "Reveal";
        var said = document.createElement("div");
        said.className = "quiz-feedback";
        if (quiz.done[q.k]) {
          input.value = q.w.map(shown).join(", ");
          input.disabled = true; check.disabled = true;
          said.textContent = "\u2713 " + q.w.map(shown).join(", ");
        }
        function grade() {
          if (matches(parseNumbers(input.value), q.w)) {
            quiz.done[q.k] = true;
            show(current, false);
            return;
          }
          quiz.tried[q.k] = true;
          hint.disabled = false;
          said.textContent = "Not yet" +
            (q.w.length > 1 ? " (" + q.w.length + " numbers, in order)" : "") + ".";
        }
        check.addEventListener("click", grade);
        input.addEventListener("keydown", function (e) { if (e.key === "Enter") { grade(); } });
        hint.addEventListener("click", function () { said.textContent = "Hint: " + q.h; });
        reveal.addEventListener("click", function () {  // the caption answers them all
          qs.forEach(function (other) { quiz.done[other.k] = true; });
          quiz.revealed[mode + k] = true;
          show(current, false);
        });
        label.appendChild(input);
        row.appendChild(label);
        row.appendChild(check); row.appendChild(hint); row.appendChild(reveal);
        row.appendChild(said);
        panel.appendChild(row);
      });
    }

    function setMode(full) {
      var frame = steps()[current].m[0];  // stay on the same engine step
      mode = full ? "full" : "folded";
      accBox.checked = full;
      var list = steps(), k = 0;
      for (var i = 0; i < list.length; i++) { if (list[i].m.indexOf(frame) >= 0) { k = i; } }
      show(k, true);
    }

    // ---------------------------------------------------------------- node details
    var picked = null;
    function describe(nid) {
      var info = data.nodes[nid];
      if (!info) { return; }
      var lines = [info[0] + "  " + info[1]];
      if (info[2]) { lines.push("data " + info[2]); }
      if (texts[nid]) { lines.push(texts[nid][1]); }
      details.textContent = lines.join("\n");
    }
    Object.keys(nodeEl).forEach(function (nid) {
      nodeEl[nid].addEventListener("mouseenter", function () { describe(nid); });
      nodeEl[nid].addEventListener("mouseleave", function () { if (picked) { describe(picked); } });
    });

    // ---------------------------------------------------------------- pointer: pan, pinch, click
    var pointers = {};
    var moved = 0;
    function vpPoint(e) {
      var v = viewport.getBoundingClientRect();
      return { x: e.clientX - v.left, y: e.clientY - v.top };
    }
    viewport.addEventListener("pointerdown", function (e) {
      pointers[e.pointerId] = vpPoint(e);
      moved = 0;
      try { viewport.setPointerCapture(e.pointerId); } catch (err) { /* a synthetic pointer */ }
      viewport.classList.add("dragging");
    });
    viewport.addEventListener("pointermove", function (e) {
      var prev = pointers[e.pointerId];
      if (!prev) { return; }
      var p = vpPoint(e);
      var ids = Object.keys(pointers);
      if (ids.length === 1) {
        pan(p.x - prev.x, p.y - prev.y);
        moved += Math.abs(p.x - prev.x) + Math.abs(p.y - prev.y);
      } else if (ids.length === 2) {  // pinch: zoom by the change of the fingers' distance
        var other = pointers[ids[0] === String(e.pointerId) ? ids[1] : ids[0]];
        var before = Math.hypot(prev.x - other.x, prev.y - other.y);
        var after = Math.hypot(p.x - other.x, p.y - other.y);
        if (before > 0) { zoomAt(after / before, (p.x + other.x) / 2, (p.y + other.y) / 2); }
        moved += 10;
      }
      pointers[e.pointerId] = p;
    });
    function release(e) {
      if (!pointers[e.pointerId]) { return; }
      delete pointers[e.pointerId];
      if (!Object.keys(pointers).length) { viewport.classList.remove("dragging"); }
      if (e.type === "pointerup" && moved < 4) {  // a click, not a drag: pick the node
        var hit = document.elementFromPoint(e.clientX, e.clientY);
        var g = hit && hit.closest ? hit.closest("g.node") : null;
        if (picked && nodeEl[picked]) { nodeEl[picked].classList.remove("picked"); }
        picked = g ? g.id.slice(id.length + 1) : null;
        if (picked) { g.classList.add("picked"); describe(picked); }
      }
    }
    viewport.addEventListener("pointerup", release);
    viewport.addEventListener("pointercancel", release);
    viewport.addEventListener("wheel", function (e) {
      e.preventDefault();
      var p = vpPoint(e);
      zoomAt(Math.exp(-e.deltaY * 0.0015), p.x, p.y);
    }, { passive: false });

    // ---------------------------------------------------------------- controls and keys
    root.querySelector(".prev").addEventListener("click", function () { show(current - 1, true); });
    root.querySelector(".next").addEventListener("click", function () { show(current + 1, true); });
    root.querySelector(".fit").addEventListener("click", fit);
    root.querySelector(".actual").addEventListener("click", actual);
    root.querySelector(".zoom-in").addEventListener("click", function () { zoomCentre(1.25); });
    root.querySelector(".zoom-out").addEventListener("click", function () { zoomCentre(0.8); });
    slider.addEventListener("input", function () { show(parseInt(slider.value, 10), true); });
    focusBox.addEventListener("change", function () {
      root.classList.toggle("focus", focusBox.checked);
      if (focusBox.checked) { follow(false); }
    });
    accBox.addEventListener("change", function () { setMode(accBox.checked); });
    // Keys act on this viewer when focus is inside it, or anywhere on a page that holds
    // only this one viewer (but never while typing in a form field).
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      if (t === slider || /^(TEXTAREA|SELECT)$/.test(t.tagName || "") ||
          (t.tagName === "INPUT" && t.type !== "checkbox")) { return; }
      var mine = root.contains(t) ||
        (document.querySelectorAll(".tg-stepper").length === 1 &&
         (t === document.body || t === document.documentElement));
      if (!mine || e.ctrlKey || e.metaKey || e.altKey) { return; }
      var handled = true;
      if (e.shiftKey && e.key === "ArrowLeft") { pan(80, 0); }
      else if (e.shiftKey && e.key === "ArrowRight") { pan(-80, 0); }
      else if (e.shiftKey && e.key === "ArrowUp") { pan(0, 80); }
      else if (e.shiftKey && e.key === "ArrowDown") { pan(0, -80); }
      else if (e.key === "ArrowLeft") { show(current - 1, true); }
      else if (e.key === "ArrowRight") { show(current + 1, true); }
      else if (e.key === "+" || e.key === "=") { zoomCentre(1.25); }
      else if (e.key === "-") { zoomCentre(0.8); }
      else if (e.key === "0") { fit(); }
      else if (e.key === "1") { actual(); }
      else if (e.key === "f") { focusBox.click(); }
      else if (e.key === "a") { accBox.click(); }
      else { handled = false; }
      if (handled) { e.preventDefault(); }
    });

    function fromHash() {
      var m = new RegExp("^#" + id + "-step-(\\d+)$").exec(host.location.hash);
      return m ? parseInt(m[1], 10) : null;
    }
    host.addEventListener("hashchange", function () {
      var k = fromHash();
      if (k !== null) { show(k, false); }
    });

    // ---------------------------------------------------------------- the first view
    // The whole graph when its text stays readable there, else 100% following the
    // current node (node text is then Graphviz's size: 10 pt, about 13 px).
    root.classList.toggle("focus", focusBox.checked);
    var start = fromHash();
    show(start === null ? 0 : start, false);
    if (fitScale() * fontPx >= READABLE_PX) { fit(); } else { actual(); }
    if (start !== null) {
      // after the browser's own jump to the (then hidden) caption: show the controls too
      root.scrollIntoView();
      window.addEventListener("load", function () { root.scrollIntoView(); });
    }
    root.tgView = function () { return { s: view.s, x: view.x, y: view.y, fit: fitScale() }; };
  }
  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".tg-stepper"), setup);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
