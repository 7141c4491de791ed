/* The search box as a WAI-ARIA 1.2 combobox with a listbox popup: completions from
 * the shop's autocomplete endpoint (debounced), chosen with the mouse or with
 * Up/Down, Enter and Escape. Without this script the form submits as a plain search.
 * Also: on a phone the results page's filter panel starts collapsed. */
(function () {
  "use strict";
  var DEBOUNCE_MS = 150;

  var filters = document.querySelector("details.filters[data-collapse-on-phone]");
  if (filters && window.matchMedia("(max-width: 768px)").matches) {
    filters.open = false;
  }

  var form = document.querySelector("form.search-box[data-autocomplete]");
  if (!form || !window.fetch) return;
  var input = form.querySelector("input[name=q]");
  var listbox = form.querySelector("[role=listbox]");
  var status = form.querySelector("[data-suggestions-status]");
  var endpoint = form.getAttribute("data-autocomplete");
  var options = [];
  var active = -1;
  var timer = null;
  var latest = 0;

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", listbox.id);
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("autocomplete", "off");

  var KIND_LABELS = { recent: "Recent search", brand: "Brand", category: "Category", product: "Product" };

  function render(suggestions) {
    listbox.textContent = "";
    options = suggestions;
    active = -1;
    input.removeAttribute("aria-activedescendant");
    suggestions.forEach(function (s, i) {
      var option = document.createElement("div");
      option.id = "search-suggestion-" + i;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.className = "search-suggestion kind-" + s.kind;
      var label = document.createElement("span");
      label.textContent = s.label;
      option.appendChild(label);
      if (KIND_LABELS[s.kind]) {
        var kind = document.createElement("small");
        kind.textContent = KIND_LABELS[s.kind];
        option.appendChild(kind);
      }
      // mousedown, not click: the input keeps focus.
      option.addEventListener("mousedown", function (event) {
        event.preventDefault();
        choose(i);
      });
      listbox.appendChild(option);
    });
    var open = suggestions.length > 0;
    listbox.hidden = !open;
    input.setAttribute("aria-expanded", String(open));
    status.textContent = open
      ? suggestions.length + " suggestion" + (suggestions.length === 1 ? "" : "s") + ", use up and down to choose"
      : "";
  }

  function close() {
    render([]);
  }

  function highlight(index) {
    var nodes = listbox.children;
    if (active >= 0 && nodes[active]) nodes[active].setAttribute("aria-selected", "false");
    active = index;
    if (index < 0) {
      input.removeAttribute("aria-activedescendant");
      return;
    }
    nodes[index].setAttribute("aria-selected", "true");
    input.setAttribute("aria-activedescendant", nodes[index].id);
    nodes[index].scrollIntoView({ block: "nearest" });
  }

  function choose(index) {
    var s = options[index];
    if (!s) return;
    close();
    if (s.kind === "query" || s.kind === "recent") {
      input.value = s.label;
      form.submit();
    } else {
      window.location.assign(s.url);
    }
  }

  function fetchSuggestions() {
    var ticket = ++latest;
    var url = endpoint + "?q=" + encodeURIComponent(input.value);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : { suggestions: [] };
      })
      .then(function (data) {
        // An older answer arriving late must not replace a newer one.
        if (ticket === latest && document.activeElement === input) render(data.suggestions || []);
      })
      .catch(function () {
        if (ticket === latest) close();
      });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(fetchSuggestions, DEBOUNCE_MS);
  }

  input.addEventListener("input", schedule);
  input.addEventListener("focus", function () {
    if (!input.value) schedule(); // recent searches
  });
  input.addEventListener("blur", function () {
    clearTimeout(timer);
    latest++;
    close();
  });
  input.addEventListener("keydown", function (event) {
    var open = options.length > 0;
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (!open) return fetchSuggestions();
        highlight(active + 1 < options.length ? active + 1 : 0);
        break;
      case "ArrowUp":
        event.preventDefault();
        if (open) highlight(active > 0 ? active - 1 : options.length - 1);
        break;
      case "Enter":
        if (open && active >= 0) {
          event.preventDefault();
          choose(active);
        }
        break; // otherwise the form submits what was typed
      case "Escape":
        if (open) {
          event.preventDefault();
          clearTimeout(timer);
          latest++;
          close();
        }
        break;
      default:
        break;
    }
  });
})();
