// emofuse report: draws the timeline (plain SVG), follows the film with a cursor, seeks on click.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var SVG = "http://www.w3.org/2000/svg";
  var W = 1000; // width of every lane's viewBox; time maps onto 0..W
  var duration = data.duration > 0 ? data.duration : 1;
  var segments = data.segments;
  var starts = segments.map(function (s) { return s[0]; });
  var media = null;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function pct(v) { return Math.round(v * 100) + "%"; }
  function clock(t) {
    var m = Math.floor(t / 60), s = t - 60 * m;
    return m ? m + ":" + (s < 10 ? "0" : "") + s.toFixed(1) : s.toFixed(1) + " s";
  }
  function x(t) { return (t / duration) * W; }
  function top(scores) {
    var best = 0;
    for (var i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
    return [data.labels[best], scores[best]];
  }
  function segmentAt(t) { // index of the segment holding time t, or -1
    var lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found >= 0 && t <= segments[found][1] ? found : -1;
  }

  // ------------------------------------------------------------------ the film
  function buildPlayer() {
    var box = document.getElementById("player");
    var m = data.media;
    if (!m) {
      box.appendChild(el("p", { "class": "note" }, "No film to play: the source was not at hand when the report was written."));
      return;
    }
    media = el(m.kind, { id: "media", controls: "", preload: "metadata" });
    if (m.data) {
      var bin = atob(m.data), bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      media.src = URL.createObjectURL(new Blob([bytes], { type: m.type }));
    } else {
      media.src = m.src;
    }
    media.addEventListener("error", function () {
      box.appendChild(el("p", { "class": "note" }, "The film cannot be played here" +
        (m.src ? " (is " + decodeURIComponent(m.src) + " beside the report, in a format this browser plays?)" : "") +
        "; the timeline still works."));
    });
    box.appendChild(media);
  }

  // ------------------------------------------------------------------ the timeline
  function legend() {
    var box = document.getElementById("legend");
    data.labels.forEach(function (label) {
      var item = el("span", {}, label);
      item.style.setProperty("--c", data.colors[label]);
      box.appendChild(item);
    });
    var gap = el("span", {}, "nothing to say");
    gap.style.setProperty("--c", "#e6e6e6");
    box.appendChild(gap);
    if (data.persons.length) {
      var talk = el("span", {}, "speaking");
      talk.style.setProperty("--c", "#222");
      box.appendChild(talk);
    }
  }

  function lane(spec) {
    var band = spec.speaking ? 7 : 0, height = spec.kind === "scene" ? 56 : 36, ribbon = spec.kind === "scene" ? 12 : 0;
    var total = band + height + ribbon;
    var root = svg("svg", { viewBox: "0 0 " + W + " " + total, preserveAspectRatio: "none", height: total,
                            "class": "lane lane-" + spec.kind, id: "lane-" + spec.name, "shape-rendering": "crispEdges" });
    var paths = data.labels.map(function () { return ""; });
    var gaps = "", talking = "";
    spec.scores.forEach(function (scores, j) {
      var x0 = x(segments[j][0]).toFixed(2), w = (x(segments[j][1]) - x(segments[j][0])).toFixed(2);
      if (spec.speaking && spec.speaking[j]) talking += "M" + x0 + " 0h" + w + "v" + (band - 1) + "h-" + w + "z";
      if (!scores) { gaps += "M" + x0 + " " + band + "h" + w + "v" + height + "h-" + w + "z"; return; }
      var y = band + height;
      scores.forEach(function (p, i) {
        var h = p * height;
        if (h > 0.05) paths[i] += "M" + x0 + " " + (y - h).toFixed(2) + "h" + w + "v" + h.toFixed(2) + "h-" + w + "z";
        y -= h;
      });
    });
    if (gaps) root.appendChild(svg("path", { d: gaps, fill: "#e6e6e6", "class": "gap" }));
    paths.forEach(function (d, i) {
      if (d) root.appendChild(svg("path", { d: d, fill: data.colors[data.labels[i]], "class": "area" }));
    });
    if (talking) root.appendChild(svg("path", { d: talking, fill: "#222", "class": "speaking" }));
    if (ribbon) { // the verdict of every segment, one rectangle each
      spec.scores.forEach(function (scores, j) {
        var t = top(scores || [0]), label = scores ? t[0] + " " + pct(t[1]) : "no verdict";
        var rect = svg("rect", { x: x(segments[j][0]), y: band + height + 2, width: x(segments[j][1]) - x(segments[j][0]),
                                 height: ribbon - 2, fill: scores ? data.colors[t[0]] : "#e6e6e6",
                                 "class": scores ? "seg" : "seg none", "data-index": j });
        var title = svg("title");
        title.textContent = clock(segments[j][0]) + " - " + clock(segments[j][1]) + ": " + label;
        rect.appendChild(title);
        root.appendChild(rect);
      });
    }
    return root;
  }

  function axis() {
    var box = document.getElementById("axis");
    var steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
    var step = steps.find(function (s) { return duration / s <= 10; }) || 7200;
    for (var t = 0; t <= duration + 1e-9; t += step) {
      var tick = el("span", {}, clock(t).replace(".0 s", " s"));
      tick.style.left = (t / duration) * 100 + "%";
      box.appendChild(tick);
    }
  }

  function buildTimeline() {
    legend();
    var names = document.getElementById("names"), plots = document.getElementById("plots");
    data.lanes.forEach(function (spec) {
      var drawn = lane(spec);
      plots.insertBefore(drawn, document.getElementById("cursor"));
      var name = el("div", { title: spec.kind === "person" ? "fused verdict of " + spec.name : spec.kind }, spec.name);
      name.style.height = drawn.getAttribute("height") + "px";
      names.appendChild(name);
    });
    axis();
    plots.addEventListener("click", function (event) { seek(timeAt(event)); });
    plots.addEventListener("mousemove", function (event) { readout(timeAt(event)); });
  }

  function timeAt(event) {
    var box = document.getElementById("plots").getBoundingClientRect();
    return Math.min(duration, Math.max(0, ((event.clientX - box.left) / box.width) * duration));
  }

  function readout(t) {
    var j = segmentAt(t), box = document.getElementById("readout");
    if (j < 0) { box.textContent = clock(t) + ": no segment"; return; }
    var parts = [clock(segments[j][0]) + " - " + clock(segments[j][1])];
    var order = data.lanes.filter(function (l) { return l.kind === "scene"; })
      .concat(data.lanes.filter(function (l) { return l.kind === "person"; }))
      .concat(data.lanes.filter(function (l) { return l.kind === "voice" || l.kind === "face"; }));
    order.forEach(function (spec) {
      var scores = spec.scores[j];
      if (!scores) return;
      var t2 = top(scores);
      parts.push(spec.name + ": " + t2[0] + " " + pct(t2[1]) + (spec.speaking && spec.speaking[j] ? " (speaking)" : ""));
    });
    if (data.errors[j].length) parts.push("errors: " + data.errors[j].join("; "));
    box.textContent = parts.join("  \u00b7  ");
  }

  // ------------------------------------------------------------------ cursor and seeking
  var cursor = document.getElementById("cursor");
  function place(t) {
    cursor.hidden = false;
    cursor.style.left = Math.min(100, Math.max(0, (t / duration) * 100)) + "%";
  }
  function seek(t) {
    if (media) media.currentTime = t;
    place(t);
    readout(t);
  }
  function follow() {
    if (!media) return;
    var playing = false;
    function frame() {
      place(media.currentTime);
      if (playing) window.requestAnimationFrame(frame);
    }
    media.addEventListener("play", function () { playing = true; window.requestAnimationFrame(frame); });
    media.addEventListener("pause", function () { playing = false; readout(media.currentTime); });
    media.addEventListener("ended", function () { playing = false; });
    ["timeupdate", "seeked", "loadedmetadata"].forEach(function (name) {
      media.addEventListener(name, function () { place(media.currentTime); if (playing) readout(media.currentTime); });
    });
  }

  // ------------------------------------------------------------------ persons, summary, settings
  function buildGallery() {
    var box = document.getElementById("gallery");
    if (!data.persons.length) {
      box.appendChild(el("p", { "class": "note" }, "No person was followed in this file (no faces, or --no-persons)."));
      return;
    }
    data.persons.forEach(function (p) {
      var card = el("div", { "class": "card", id: "person-" + p.id, title: "click: play from " + clock(p.first_seen) });
      card.appendChild(p.face ? el("img", { src: p.face, alt: "face of " + p.id }) : el("div", { "class": "noface" }, "no picture"));
      card.appendChild(el("b", {}, p.id));
      card.appendChild(el("small", {}, clock(p.first_seen) + " - " + clock(p.last_seen)));
      card.appendChild(el("small", {}, "seen " + Math.round(p.visible) + " s, speaking " + Math.round(p.speaking) + " s"));
      card.appendChild(el("small", {}, p.summary.map(function (s) { return s[0] + " " + pct(s[1]); }).join(", ") || "-"));
      card.addEventListener("click", function () { seek(p.first_seen); });
      box.appendChild(card);
    });
  }

  function row(table, key, value, colour) {
    var tr = el("tr"), th = el("th", {}, key), td = el("td", {}, value);
    if (colour) {
      var sw = el("span", { "class": "swatch" });
      sw.style.background = colour;
      td.insertBefore(sw, td.firstChild);
    }
    tr.appendChild(th); tr.appendChild(td); table.appendChild(tr);
  }

  function buildFacts() {
    var summary = document.getElementById("summary"), c = data.counts;
    row(summary, "length", clock(duration));
    row(summary, "segments", c.segments + " (face in " + c.face + ", voice in " + c.voice + ")");
    if (!data.summary.length) row(summary, "verdict", "no face and no voice: nothing to label");
    data.summary.forEach(function (s) { row(summary, s[0], pct(s[1]) + " of the labelled segments", data.colors[s[0]]); });
    data.persons.forEach(function (p) {
      row(summary, p.id, p.summary.map(function (s) { return s[0] + " " + pct(s[1]); }).join(", ") || "-");
    });
    var settings = document.getElementById("settings");
    Object.keys(data.settings).forEach(function (k) { row(settings, k, data.settings[k]); });
  }

  buildPlayer();
  buildTimeline();
  buildGallery();
  buildFacts();
  follow();
})();
