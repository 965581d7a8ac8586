// The case page: Enter sends the reply (an Enter that confirms a kanji conversion does not);
// a quick reply puts its text into the reply box, to be edited and sent like any reply (never at one tap).
import { enterSends } from "/static/compose.js";

const form = document.querySelector("#reply-form");
if (form) {
  const box = form.querySelector("textarea");
  enterSends(box, () => form.requestSubmit());
  for (const chip of form.querySelectorAll(".quick-replies button")) {
    chip.addEventListener("click", () => insertQuickReply(box, chip.dataset.text));
  }
}

// An empty box takes the text; a box with words keeps them and gets the text on a new line.
function insertQuickReply(box, text) {
  const kept = box.value.trimEnd();
  box.value = kept ? `${kept}\n${text}` : text;
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
  box.scrollTop = box.scrollHeight;
}
