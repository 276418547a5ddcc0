// The course chart in the style of Figure 2 of Tomomasa et al. 2021 (seed 000): drug swimlanes,
// respiratory support, marker panels, all on one axis of days from a chosen event. Data come
// from /api/patients/{id}/course; drawn with Apache ECharts (canvas; no eval, no inline style).
"use strict";
(function () {
  var SUPPORT = {
    room_air: "#f0f0f0", nasal_cannula: "#c6dbef", face_mask: "#9ecae1", hfnc: "#6baed6",
    niv: "#3182bd", imv: "#08519c", ecmo: "#08306b"
  };
  var DARK = { niv: 1, imv: 1, ecmo: 1 };
  var COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"];
  var chart = null;

  function fmt(v) { return Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en") : (+v.toPrecision(3)).toString(); }
  function dayText(d) { return "day " + (Math.round(d * 10) / 10); }

  function bars(gridIndex, rows, laneOf, colourOf, labelOf, tipOf) {
    return {
      type: "custom", xAxisIndex: gridIndex, yAxisIndex: gridIndex, clip: true,
      data: rows.map(function (r, i) { return [r.start, r.end, laneOf(r), i]; }),
      encode: { x: [0, 1], y: 2 },
      renderItem: function (params, api) {
        var r = rows[api.value(3)];
        var s = api.coord([api.value(0), api.value(2)]);
        var e = api.coord([api.value(1), api.value(2)]);
        var h = api.size([0, 1])[1] * 0.6;
        var rect = echarts.graphic.clipRectByRect(
          { x: s[0], y: s[1] - h / 2, width: Math.max(e[0] - s[0], 2), height: h },
          { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height });
        if (!rect) { return null; }
        var text = labelOf(r);
        return {
          type: "rect", shape: rect,
          style: { fill: colourOf(r), stroke: "#756bb1", lineWidth: 0.5 },
          textContent: { style: { text: rect.width > text.length * 6 ? text : "", fill: DARK[r.mode] ? "#fff" : "#111", fontSize: 11 } },
          textConfig: { position: "inside" }
        };
      },
      tooltip: { formatter: function (p) { return tipOf(rows[p.value[3]]); } }
    };
  }

  function draw(el, data) {
    var drugs = Array.from(new Set(data.drugs.map(function (d) { return d.drug; })));
    var panels = data.panels;
    var laneH = 26, top = 40, gap = 34;
    var heights = [Math.max(laneH * drugs.length, laneH), 34].concat(panels.map(function () { return 130; }));
    var grids = [], xAxes = [], yAxes = [], series = [];
    var y = top;
    var all = [];
    data.drugs.forEach(function (d) { all.push(d.start, d.end); });
    data.support.forEach(function (s) { all.push(s.start, s.end); });
    panels.forEach(function (p) { p.forEach(function (m) { m.points.forEach(function (pt) { all.push(pt[0]); }); }); });
    var lo = all.length ? Math.floor(Math.min.apply(null, all)) - 1 : 0;
    var hi = all.length ? Math.ceil(Math.max.apply(null, all)) + 1 : 30;
    heights.forEach(function (h, i) {
      grids.push({ left: 150, right: 150, top: y, height: h, containLabel: false });
      xAxes.push({ type: "value", gridIndex: i, min: lo, max: hi, axisLabel: { show: i === heights.length - 1 },
        name: i === heights.length - 1 ? "Days from " + data.anchor : "", nameLocation: "middle", nameGap: 28,
        splitLine: { show: i > 1, lineStyle: { color: "#eee" } } });
      y += h + gap;
    });
    el.style.height = (y + 30) + "px";
    yAxes.push({ type: "category", gridIndex: 0, data: drugs.map(function (d) { return d.replace(/_/g, " "); }), inverse: true, axisTick: { show: false } });
    yAxes.push({ type: "category", gridIndex: 1, data: ["O\u2082 support"], axisTick: { show: false } });
    series.push(bars(0, data.drugs, function (r) { return drugs.indexOf(r.drug); }, function () { return "#bcbddc"; },
      function (r) { return fmt(r.dose) + " " + r.unit + " " + r.frequency; },
      function (r) { return r.drug.replace(/_/g, " ") + ": " + fmt(r.dose) + " " + r.unit + " " + r.frequency + "<br>" + dayText(r.start) + " to " + (r.ongoing ? "ongoing" : dayText(r.end)); }));
    series.push(bars(1, data.support, function () { return 0; }, function (r) { return SUPPORT[r.mode] || "#ccc"; },
      function (r) { return r.mode.replace(/_/g, " ") + (r.fio2 ? " FiO\u2082 " + r.fio2 + "%" : ""); },
      function (r) { return r.mode.replace(/_/g, " ") + (r.fio2 ? ", FiO\u2082 " + r.fio2 + "%" : "") + "<br>" + dayText(r.start) + " to " + (r.ongoing ? "ongoing" : dayText(r.end)); }));
    var legends = [];
    panels.forEach(function (panel, pi) {
      var gi = pi + 2;
      var vals = [];
      panel.forEach(function (m) { m.points.forEach(function (pt) { vals.push(pt[1]); }); });
      var pos = vals.filter(function (v) { return v > 0; });
      var log = pos.length === vals.length && pos.length > 1 && Math.max.apply(null, pos) / Math.min.apply(null, pos) > 50;
      yAxes.push({ type: log ? "log" : "value", gridIndex: gi, scale: true, splitNumber: 3,
        axisLabel: { formatter: function (v) { return fmt(v); } } });
      panel.forEach(function (m, mi) {
        var name = m.name + (m.unit ? " (" + m.unit + ")" : "");
        legends.push({ name: name, top: grids[gi].top });
        series.push({ type: "line", name: name, xAxisIndex: gi, yAxisIndex: gi, data: m.points, symbolSize: 5,
          color: COLOURS[mi % COLOURS.length], connectNulls: true, lineStyle: { width: 1.5 } });
      });
    });
    // events: dashed verticals in every panel, labelled in the top one
    var marks = data.events.filter(function (e) { return e.day >= lo && e.day <= hi; });
    series.forEach(function (s, i) {
      var first = series.findIndex(function (t) { return t.xAxisIndex === s.xAxisIndex; }) === i;
      if (!first) { return; }
      s.markLine = { silent: true, symbol: "none", lineStyle: { color: "#555", type: "dashed", width: 1 },
        label: { show: s.xAxisIndex === 0, formatter: "{b}", position: "start", fontSize: 10 },
        data: marks.map(function (e) { return { xAxis: e.day, name: e.label }; }) };
    });
    var idx = xAxes.map(function (_, i) { return i; });
    var option = {
      animation: false,
      grid: grids, xAxis: xAxes, yAxis: yAxes, series: series,
      legend: { type: "scroll", orient: "vertical", right: 0, top: grids.length > 2 ? grids[2].top : 0, width: 140, textStyle: { fontSize: 11 } },
      tooltip: { trigger: "item", confine: true, valueFormatter: function (v) { return fmt(v); } },
      axisPointer: { link: [{ xAxisIndex: "all" }] },
      toolbox: { right: 10, top: 0, feature: { dataZoom: { xAxisIndex: idx, yAxisIndex: "none", title: { zoom: "Zoom (drag)", back: "Undo zoom" } }, restore: { title: "Reset" } } },
      dataZoom: [{ type: "inside", xAxisIndex: idx, filterMode: "none" },
                 { type: "slider", xAxisIndex: idx, filterMode: "none", top: 8, height: 18, left: 150, right: 150 }]
    };
    if (!chart) { chart = echarts.init(el, null, { renderer: "canvas" }); window.addEventListener("resize", function () { chart.resize(); }); }
    chart.clear();
    chart.setOption(option);
    chart.resize();
  }

  function load() {
    var el = document.getElementById("course-chart");
    var sel = document.getElementById("course-anchor");
    var status = document.getElementById("course-status");
    if (!el || typeof echarts === "undefined") { return; }
    var url = el.getAttribute("data-url") + (sel && sel.value ? "?anchor=" + encodeURIComponent(sel.value) : "");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (data) {
        draw(el, data);
        var n = data.panels.reduce(function (a, p) { return a + p.length; }, 0);
        status.textContent = data.drugs.length + " drug records, " + data.support.length + " support episodes, " + n + " markers; days from " + data.anchor + ".";
        el.setAttribute("data-ready", "1");
      })
      .catch(function (err) { status.textContent = "The course could not be loaded (" + err.message + ")."; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var sel = document.getElementById("course-anchor");
    if (sel) { sel.addEventListener("change", load); }
    load();
  });
})();
