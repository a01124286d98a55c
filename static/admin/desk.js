// The review screen's keyboard (templates/admin/articles/article/queue_place.html lists
// the keys). Progressive enhancement: each key presses a button or follows a link that
// is on the page anyway, so the desk works the same without JavaScript. A static file,
// as the admin's Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  const TYPING_INPUTS = new Set(["checkbox", "radio", "submit", "button", "reset", "file"]);

  function typingIn(element) {
    if (!element || element === document.body) return false;
    if (element.isContentEditable) return true;
    const tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    return tag === "INPUT" && !TYPING_INPUTS.has(element.type);
  }

  function press(name) {
    const button = document.querySelector('#article_form input[type="submit"][name="' + name + '"]');
    if (!button) return false;
    button.click();
    return true;
  }

  function follow(place) {
    const link = document.querySelector('a[data-desk="' + place + '"]');
    if (!link) return false;
    window.location.assign(link.href);
    return true;
  }

  function focus(id) {
    const field = document.getElementById(id);
    if (!field || field.disabled) return false;
    field.focus();
    if (field.select) field.select();
    return true;
  }

  // `a` accepts: it only ever ticks (pressed on an item whose strong suggestions are
  // ticked already, it must not take them away before `p`); `A` unticks them all.
  function tickSuggestions(tick) {
    const boxes = Array.from(document.querySelectorAll(".desk-suggestions input[type=checkbox]"));
    if (!boxes.length) return false;
    boxes.forEach((box) => { box.checked = tick; });
    return true;
  }

  function toggleHelp() {
    const help = document.getElementById("desk-keys");
    if (!help) return false;
    help.open = !help.open;
    if (help.open) help.querySelector("summary").focus();
    return true;
  }

  const KEYS = {
    j: () => follow("next"),
    k: () => follow("previous"),
    u: () => follow("list"),
    p: () => press("_publish_next"),
    r: () => press("_reject_next"),
    s: () => press("_save_next"),
    q: () => focus("id_quality"),
    h: () => focus("id_heat_pin"),
    a: () => tickSuggestions(true),
    A: () => tickSuggestions(false),
    "?": toggleHelp,
  };

  let submitted = false;  // one key press, one save: a held key does not post twice

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (typingIn(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    const action = KEYS[event.key];
    if (!action || submitted) return;
    if (action()) {
      event.preventDefault();
      if ("prsjku".includes(event.key)) submitted = true;
    }
  });
  // Names for what the admin's own scripts draw without one (axe-core's checks): the
  // autocomplete boxes take their select's label, the filter boxes' search icons are
  // images. Run after those scripts, which start on DOMContentLoaded too.
  function nameTheWidgets() {
    document.querySelectorAll("select.admin-autocomplete").forEach((select) => {
      const label = select.labels && select.labels.length ? select.labels[0].innerText : "";
      const name = (label || select.getAttribute("aria-label") || select.name).replace(/:\s*$/, "");
      const container = select.parentElement;
      const parts = '.select2-selection[role="combobox"], .select2-selection__rendered, .select2-search__field';
      container.querySelectorAll(parts).forEach((part) => {
        if (!part.hasAttribute("aria-label")) part.setAttribute("aria-label", name);
      });
    });
    const search = document.getElementById("searchbar");  // labelled by an icon alone
    if (search && !search.hasAttribute("aria-label")) search.setAttribute("aria-label", "Search");
    document.querySelectorAll(".help-tooltip[aria-label]:not([role])").forEach((icon) => {
      icon.setAttribute("role", "img");
    });
  }
  // The topic boxes (SelectFilter2) are drawn on "load", the autocompletes earlier.
  window.addEventListener("load", () => setTimeout(nameTheWidgets, 0));

  document.documentElement.dataset.deskKeys = "on";  // for the browser tests: keys listen
})();
