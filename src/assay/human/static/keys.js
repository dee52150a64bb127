// Keyboard shortcuts for the rating page. Everything also works with the mouse or Tab/Space/Enter,
// and without JavaScript: this file only adds shortcuts.
"use strict";
document.addEventListener("keydown", function (event) {
  const form = document.getElementById("rating-form");
  if (!form || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const typing = target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement && target.type !== "radio";
  if (typing) {
    if (event.key === "Escape") target.blur(); // leave the comment box so the shortcuts work again
    return;
  }
  const key = event.key.toLowerCase();
  if (key === "c") {
    event.preventDefault();
    document.getElementById("comment").focus();
    return;
  }
  if (/^[0-9]$/.test(key)) {
    const radio = form.querySelector('input[name="score"][value="' + (key === "0" ? "10" : key) + '"]');
    if (radio) { radio.checked = true; radio.focus(); event.preventDefault(); }
    return;
  }
  if (key === "enter") {
    // a focused button or link keeps its own Enter (e.g. "Switch annotator")
    if (target instanceof HTMLButtonElement || target instanceof HTMLAnchorElement) return;
    if (form.querySelector('input[name="score"]')) { event.preventDefault(); form.requestSubmit(); }
    return;
  }
  const button = form.querySelector('button[data-key="' + key + '"]');
  if (button) { event.preventDefault(); button.click(); }
});
