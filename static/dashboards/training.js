// The live pages of a training run and of a refresh. The page embeds the run's state
// (<script id="live-state" type="application/json">) and the URL of the same state as
// JSON (#live[data-status-url]); every poll (data-poll-ms) updates the elements marked
// data-field / data-note, the progress bar, and for training the table of epochs, the
// chart (loss and validation NDCG@10 on two axes, vendored Chart.js) and the log. Polling
// stops once the run has ended. Cancel posts the form with its CSRF token and shows the
// answer at once.
(function () {
  "use strict";

  function setText(root, state) {
    root.querySelectorAll("[data-field]").forEach(function (el) {
      var value = state[el.dataset.field];
      el.textContent = value === null || value === undefined || value === "" ? (el.dataset.field === "max_epochs" ? "?" : "") : value;
    });
    root.querySelectorAll("[data-note]").forEach(function (el) {
      var note = state[el.dataset.note];
      el.textContent = note || "";
      el.hidden = !note;
    });
    var stop = document.getElementById("run-stop-note");
    if (stop) stop.className = state.stop_warning ? "errornote" : "help";
    var errorBox = document.getElementById("run-error-box");
    if (errorBox) errorBox.hidden = !state.error;
  }

  function setProgress(state) {
    var bar = document.querySelector("progress.dash-progress");
    if (!bar) return;
    if (state.progress === null || state.progress === undefined) bar.removeAttribute("value");
    else bar.value = state.progress;
  }

  function setVersion(state) {
    var holder = document.querySelector("[data-version]");
    var note = document.querySelector("[data-version-note]");
    var version = state.model_version;
    if (!holder || !version) return;
    var link = document.createElement("a");
    link.href = version.url;
    link.textContent = "v" + version.id;
    holder.replaceChildren(link);
    if (note) note.textContent = "holdout NDCG@10 " + version.holdout_ndcg + (version.is_active ? ", served" : "");
  }

  function fixed(value, digits) {
    return value === null || value === undefined ? "n/a" : Number(value).toFixed(digits);
  }

  function setHistory(state) {
    var body = document.querySelector("#run-history-table tbody");
    if (!body) return;
    body.replaceChildren.apply(body, state.history.map(function (entry) {
      var row = document.createElement("tr");
      var head = document.createElement("th");
      head.scope = "row";
      head.textContent = entry.epoch;
      row.appendChild(head);
      [fixed(entry.loss, 4), fixed(entry.val_ndcg, 4), fixed(entry.elapsed, 0) + " s"].forEach(function (text) {
        var cell = document.createElement("td");
        cell.className = "num";
        cell.textContent = text;
        row.appendChild(cell);
      });
      return row;
    }));
  }

  function setLog(state) {
    var log = document.getElementById("run-log");
    if (!log) return;
    var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.textContent = state.log.join("\n");
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  var chart = null;
  function setChart(state) {
    var canvas = document.getElementById("run-chart");
    if (!canvas || typeof Chart === "undefined") return;
    var labels = state.history.map(function (e) { return e.epoch; });
    var loss = state.history.map(function (e) { return e.loss; });
    var ndcg = state.history.map(function (e) { return e.val_ndcg; });
    if (chart === null) {
      chart = new Chart(canvas, {
        type: "line",
        data: { labels: labels, datasets: [
          { label: "loss", data: loss, yAxisID: "loss", borderColor: "#417690", backgroundColor: "#41769033", tension: 0.2 },
          { label: "validation NDCG@10", data: ndcg, yAxisID: "ndcg", borderColor: "#e08a2c", backgroundColor: "#e08a2c33", tension: 0.2, spanGaps: true }
        ] },
        options: {
          animation: false, maintainAspectRatio: false,
          interaction: { mode: "index", intersect: false },
          scales: {
            x: { title: { display: true, text: "epoch" } },
            loss: { type: "linear", position: "left", title: { display: true, text: "loss" } },
            ndcg: { type: "linear", position: "right", beginAtZero: true, title: { display: true, text: "validation NDCG@10" }, grid: { drawOnChartArea: false } }
          },
          plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + fixed(c.raw, 4); } } } }
        }
      });
      return;
    }
    chart.data.labels = labels;
    chart.data.datasets[0].data = loss;
    chart.data.datasets[1].data = ndcg;
    chart.update();
  }

  function show(state) {
    var root = document.getElementById("live");
    setText(root, state);
    setProgress(state);
    setVersion(state);
    if (root.dataset.kind === "training") {
      setHistory(state);
      setLog(state);
      setChart(state);
    }
    var cancel = document.getElementById("run-cancel");
    if (cancel) cancel.hidden = !state.can_cancel;
    if (state.message !== undefined) document.getElementById("run-message").textContent = state.message;
    else if (state.is_finished) document.getElementById("run-message").textContent = "";
  }

  function poll(root) {
    var every = Number(root.dataset.pollMs) || 1500;
    var timer = null;
    function tick() {
      fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
        .then(function (state) { show(state); if (!state.is_finished) timer = setTimeout(tick, every); })
        .catch(function () { timer = setTimeout(tick, every * 2); });  // a hiccup: try again later
    }
    timer = setTimeout(tick, every);
    return function () { clearTimeout(timer); };
  }

  function cancelling(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
      fetch(form.action, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": token, Accept: "application/json" } })
        .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
        .then(show)
        .catch(function (error) { document.getElementById("run-message").textContent = "Could not cancel (" + error.message + ")."; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("live");
    if (!root) return;
    var state = JSON.parse(document.getElementById("live-state").textContent);
    show(state);
    var form = document.getElementById("run-cancel");
    if (form) cancelling(form);
    if (!state.is_finished) poll(root);
  });
})();
