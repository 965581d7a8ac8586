// The case page: Enter sends the reply (an Enter that confirms a kanji conversion does not).
import { enterSends } from "/static/compose.js";

const form = document.querySelector("#reply-form");
if (form) enterSends(form.querySelector("textarea"), () => form.requestSubmit());
