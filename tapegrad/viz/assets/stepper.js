// tapegrad step-through viewer: Prev/Next, slider, arrow keys, deep links #<id>-step-<k>.
(function () {
  "use strict";
  function setup(root) {
    var id = root.id;
    var frames = Array.prototype.slice.call(root.querySelectorAll(".frame"));
    var rows = root.querySelectorAll("table.tape tr[data-row]");
    var slider = root.querySelector(".slider");
    var counter = root.querySelector(".counter");
    var last = frames.length - 1;
    var current = 0;
    root.classList.add("js");
    // The window whose address holds the deep link: this one, or, inside an <iframe srcdoc>
    // (how the docs embed the viewer), the page around it when that page is same-origin.
    var host = window;
    try {
      if (location.protocol === "about:" && window.parent !== window &&
          typeof window.parent.location.hash === "string") { host = window.parent; }
    } catch (err) { host = window; /* a cross-origin parent: keep to this frame */ }

    function show(k, updateHash) {
      k = Math.max(0, Math.min(last, k));
      current = k;
      frames.forEach(function (f, i) { f.hidden = i !== k; });
      slider.value = String(k);
      counter.textContent = "Step " + k + " / " + last;
      var row = frames[k].getAttribute("data-row");
      Array.prototype.forEach.call(rows, function (r) {
        r.classList.toggle("current", row !== null && r.getAttribute("data-row") === row);
      });
      if (updateHash && host.history.replaceState) {
        // An absolute URL from the host's own address: inside an <iframe srcdoc> a bare
        // "#..." resolves against the parent's URL, which this frame's history refuses.
        try {
          var url = host.location.href.split("#")[0] + "#" + id + "-step-" + k;
          host.history.replaceState(null, "", url);
        } catch (err) { /* a sandboxed frame may refuse: the hash is only a convenience */ }
      }
    }

    function fromHash() {
      var m = new RegExp("^#" + id + "-step-(\\d+)$").exec(host.location.hash);
      return m ? parseInt(m[1], 10) : null;
    }

    root.querySelector(".prev").addEventListener("click", function () { show(current - 1, true); });
    root.querySelector(".next").addEventListener("click", function () { show(current + 1, true); });
    slider.addEventListener("input", function () { show(parseInt(slider.value, 10), true); });
    // Arrow keys act on this viewer when focus is inside it, or anywhere on a page that
    // holds only this one viewer (but never while typing in a form field).
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      if (t === slider || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName || "")) { return; }
      var mine = root.contains(t) ||
        (document.querySelectorAll(".tg-stepper").length === 1 &&
         (t === document.body || t === document.documentElement));
      if (!mine) { return; }
      if (e.key === "ArrowLeft") { show(current - 1, true); e.preventDefault(); }
      if (e.key === "ArrowRight") { show(current + 1, true); e.preventDefault(); }
    });
    host.addEventListener("hashchange", function () {
      var k = fromHash();
      if (k !== null) { show(k, false); }
    });
    var start = fromHash();
    show(start === null ? 0 : start, false);
    if (start !== null) {
      // after the browser's own jump to the (then hidden) figure: show the controls too
      root.scrollIntoView();
      window.addEventListener("load", function () { root.scrollIntoView(); });
    }
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
