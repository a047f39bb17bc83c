/* Sextant pages: draw charts from their JSON specs, sort tables, live sync progress.  No framework. */
(function () {
  "use strict";

  var PHONE = 600;

  function isoDay(date) {
    return date.toISOString().slice(0, 10);
  }

  // The last day of the week or month starting on `start` (YYYY-MM-DD), for "the PRs of this period".
  function periodEnd(start, period) {
    var d = new Date(start + "T00:00:00Z");
    if (period === "month") {
      return isoDay(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)));
    }
    return isoDay(new Date(d.getTime() + 6 * 86400000));
  }

  function phoneLayout(layout, data) {
    if (window.innerWidth > PHONE) return layout;
    // On a phone the legend wraps one entry a line: give each entry beyond three its own room, or a
    // seven-entry legend leaves the plot a sliver.
    var entries = (data || []).filter(function (t) { return t.showlegend !== false; }).length;
    layout.height = Math.min(layout.height || 300, 280) + 20 * Math.max(0, entries - 3);
    layout.margin = Object.assign({}, layout.margin, { l: Math.min((layout.margin || {}).l || 40, 44), r: 12 });
    layout.font = Object.assign({}, layout.font, { size: 11 });
    layout.title = Object.assign({}, layout.title, { font: { size: 13 } });
    if (layout.yaxis2) { layout.yaxis2.title = ""; layout.margin.r = 34; }
    return layout;
  }

  function drawCharts() {
    if (!window.Plotly) return;
    document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source) return;
      var spec = JSON.parse(source.textContent);
      var config = { displaylogo: false, responsive: true, displayModeBar: false };
      window.Plotly.newPlot(el, spec.data, phoneLayout(spec.layout, spec.data), config);
      var url = el.dataset.clickUrl;
      if (url) {
        el.classList.add("clickable");
        el.on("plotly_click", function (event) {
          var x = event.points && event.points[0] && String(event.points[0].x).slice(0, 10);
          if (!/^\d{4}-\d{2}-\d{2}$/.test(x)) return;
          var sep = url.indexOf("?") < 0 ? "?" : "&";
          window.location.href = url + sep + "merged_from=" + x + "&merged_to=" + periodEnd(x, el.dataset.period);
        });
      }
    });
  }

  // Client-side sort of a table's rows by the clicked column (data-sort values; blanks last).  Sorted by a
  // figure, the rows are a ranking, not a tree: the indentation goes ("flat"), or teams would seem to sit
  // under the wrong parent.  The sort is kept in the URL (?sort=&dir=) and in the filter form, so a
  // reload, a shared link or another period keeps it.
  function sortable(table) {
    var body = table.querySelector("tbody[data-sort-body]");
    if (!body) return;
    var headers = Array.prototype.slice.call(table.querySelectorAll("th[data-sort-key]"));

    function apply(th, ascending) {
      var index = headers.indexOf(th);
      headers.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      table.classList.toggle("flat", th.dataset.sortKey !== "order");
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var raw = index === 0 ? row.dataset.order : row.cells[index] && row.cells[index].dataset.sort;
        return raw === undefined || raw === "" ? null : parseFloat(raw);
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null && y === null) return 0;
        if (x === null) return 1;
        if (y === null) return -1;
        return ascending ? x - y : y - x;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    }

    function remember(sortKey, ascending) {
      var tree = sortKey === "order" && ascending;
      var url = new URL(window.location.href);
      if (tree) { url.searchParams.delete("sort"); url.searchParams.delete("dir"); }
      else { url.searchParams.set("sort", sortKey); url.searchParams.set("dir", ascending ? "asc" : "desc"); }
      window.history.replaceState(null, "", url.toString());
      document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
        [["sort", sortKey], ["dir", ascending ? "asc" : "desc"]].forEach(function (pair) {
          var input = form.querySelector("input[type=hidden][name=" + pair[0] + "]");
          if (!input) {
            input = document.createElement("input");
            input.type = "hidden";
            input.name = pair[0];
            form.appendChild(input);
          }
          input.value = pair[1];
          input.disabled = tree;
        });
      });
    }

    headers.forEach(function (th) {
      var button = th.querySelector("button.sort");
      if (!button) return;
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        if (th.dataset.sortKey !== "order" && th.getAttribute("aria-sort") === "none") ascending = false;
        apply(th, ascending);
        remember(th.dataset.sortKey, ascending);
      });
    });
    var initial = table.dataset.sortInitial;
    var chosen = headers.filter(function (th) { return th.dataset.sortKey === initial; })[0];
    if (chosen && !(initial === "order" && table.dataset.sortDir !== "desc")) {
      apply(chosen, table.dataset.sortDir === "asc");
    }
  }

  function renderRun(row, run) {
    var status = row.querySelector("[data-run-status]");
    var stage = row.querySelector("[data-run-stage]");
    var bar = row.querySelector("[data-run-progress]");
    var counts = row.querySelector("[data-run-counts]");
    if (!run) return;
    if (status) { status.textContent = run.status; status.className = "run-status status-" + run.status; }
    if (stage) stage.textContent = run.status === "running" ? (run.stage || "starting") : (run.finished_ago || "");
    if (bar) {
      bar.classList.toggle("hidden", run.status !== "running");
      bar.classList.toggle("indeterminate", run.percent === null);
      bar.firstElementChild.style.width = (run.percent || 0) + "%";
    }
    if (counts) {
      var parts = [];
      if (run.total) parts.push(run.done + " of " + run.total);
      if (run.counts && run.counts.records !== undefined) parts.push(run.counts.records + " records");
      counts.textContent = parts.join(" · ");
    }
  }

  function poll(row, untilDone) {
    var url = row.dataset.statusUrl;
    var timer = window.setInterval(function () {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          renderRun(row, data.run);
          if (untilDone && data.run && data.run.status !== "running") {
            window.clearInterval(timer);
            window.location.reload();
          }
        })
        .catch(function () { window.clearInterval(timer); });
    }, 1000);
    return timer;
  }

  function liveSync(form) {
    form.addEventListener("submit", function (event) {
      if (!window.fetch) return;
      event.preventDefault();
      var row = form.closest("tr");
      var button = form.querySelector("button");
      button.disabled = true;
      button.textContent = "Syncing…";
      renderRun(row, { status: "running", stage: "starting", percent: null, counts: {} });
      var timer = poll(row, false);
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                           headers: { Accept: "application/json" } })
        .then(function () {
          window.clearInterval(timer);
          poll(row, true);  // queued: follow it to the end; embedded: it is done, the next poll reloads
        })
        .catch(function () { window.location.reload(); });
    });
  }

  function kindFields(form) {
    var select = form.querySelector("select[name=kind]");
    var update = function () {
      form.querySelectorAll("[data-kinds]").forEach(function (label) {
        label.classList.toggle("hidden", label.dataset.kinds.split(" ").indexOf(select.value) < 0);
      });
    };
    select.addEventListener("change", update);
    update();
  }

  // The status bar's "metrics computed … ago" and "AI impact computed … ago", kept current without a
  // reload: every 5 s while a recompute is pending or running, every 60 s otherwise.
  function liveFreshness(bar) {
    var field = function (name) { return bar.querySelector("[data-freshness-field=" + name + "]"); };
    var tick = function () {
      if (document.hidden) { window.setTimeout(tick, 5000); return; }
      fetch(bar.dataset.freshnessUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (status) {
          if (!status) return;
          [["computed", status.computed, status.computed_ago], ["models", status.models, status.models_ago]]
            .forEach(function (item) {
              var el = field(item[0]);
              if (!el || !item[1]) return;
              el.textContent = item[2];
              el.title = item[1].slice(0, 16).replace("T", " ") + " UTC";
              el.dataset.at = item[1];
            });
          var updating = field("updating");
          if (updating) updating.hidden = !status.updating;
          window.setTimeout(tick, status.updating ? 5000 : 60000);
        })
        .catch(function () { window.setTimeout(tick, 60000); });
    };
    window.setTimeout(tick, 5000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    document.querySelectorAll("[data-freshness][data-freshness-url]").forEach(liveFreshness);
    document.querySelectorAll("table[data-sortable]").forEach(sortable);
    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      form.querySelectorAll("select").forEach(function (s) {
        s.addEventListener("change", function () {
          // Another period length has other period starts: drop the chosen one.
          if (s.name === "period" && form.elements.at) form.elements.at.disabled = true;
          form.submit();
        });
      });
    });
    document.querySelectorAll("form[data-live-sync]").forEach(liveSync);
    if (window.innerWidth <= PHONE) {
      // On a phone the filters fold away unless some are in use: the list comes first.
      document.querySelectorAll("details[data-collapse-on-phone]:not([data-active])").forEach(function (d) {
        d.removeAttribute("open");
      });
    }
    document.querySelectorAll("form[data-kind-form]").forEach(kindFields);
    document.querySelectorAll("tr[data-running][data-status-url]").forEach(function (row) { poll(row, true); });
  });
})();
