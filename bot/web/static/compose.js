// Enter sends; Shift+Enter makes a new line. An Enter that confirms an input-method
// conversion (kana -> kanji) never sends: during composition the browser reports
// isComposing (or keyCode 229 on Safari, whose compositionend comes first).
export function enterSends(textarea, send) {
  let composing = false;
  textarea.addEventListener("compositionstart", () => { composing = true; });
  textarea.addEventListener("compositionend", () => { composing = false; });
  textarea.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey) return;
    if (composing || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    send();
  });
}
