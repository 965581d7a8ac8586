// The case page: Enter sends the reply (an Enter that confirms a kanji conversion does not);
// a quick reply puts its text into the reply box, to be edited and sent like any reply (never at one tap).
import { enterSends } from "/static/compose.js";

const form = document.querySelector("#reply-form");
if (form) {
  const box = form.querySelector("textarea");
  enterSends(box, () => form.requestSubmit());
  box.addEventListener("input", () => fit(form, box));
  for (const chip of form.querySelectorAll(".quick-replies button")) {
    chip.addEventListener("click", () => insertQuickReply(form, box, chip.dataset.text));
  }
}

// An empty box takes the text; a box with words keeps them and gets the text on a new line.
function insertQuickReply(form, box, text) {
  const kept = box.value.trimEnd();
  box.value = kept ? `${kept}\n${text}` : text;
  fit(form, box);
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
}

// The box grows with its text (up to a third of the screen, then it scrolls), so the whole reply can be
// read before it is sent; the page keeps its end readable above the taller box.
function fit(form, box) {
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight + 2, Math.round(window.innerHeight / 3))}px`;
  box.scrollTop = box.scrollHeight;
  document.querySelector("main").style.paddingBottom = `${form.offsetHeight + 16}px`;
}
