import { enterSends } from "/static/compose.js";

const root = document.querySelector("#chat");
const log = document.querySelector("#log");
const form = document.querySelector("#composer");
const box = form.querySelector("textarea");
const csrf = root.dataset.csrf;
const household = root.dataset.household || null;
let cursor = "";
let busy = false;

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function show(messages) {
  // Nothing new (most polls): keep the quick-reply buttons that are showing.
  if (!messages.length) return;
  for (const m of messages) {
    if (document.querySelector(`[data-id="${m.id}"]`)) continue;
    const bubble = document.createElement("div");
    bubble.className = `bubble ${m.who}`;
    bubble.dataset.id = m.id;
    bubble.textContent = m.text;
    if (m.who === "coordinator") {
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = "相談員";
      bubble.prepend(meta);
    }
    log.append(bubble);
  }
  const last = [...log.querySelectorAll(".bubble")].pop();
  document.querySelectorAll(".choices").forEach((node) => node.remove());
  const lastMessage = messages[messages.length - 1];
  if (lastMessage.choices.length && last && last.dataset.id == lastMessage.id) {
    const row = document.createElement("div");
    row.className = "choices";
    for (const choice of lastMessage.choices) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = choice.label;
      button.addEventListener("click", () => post(choice.label, choice.value));
      row.append(button);
    }
    log.append(row);
  }
  log.parentElement.scrollTop = log.parentElement.scrollHeight;
}

async function call(url, options = {}) {
  const response = await fetch(url, { ...options, headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" } });
  if (!response.ok) throw new Error(String(response.status));
  const body = await response.json();
  cursor = body.cursor;
  show(body.messages);
}

async function post(text, choice = null) {
  if (busy || (!text.trim() && !choice)) return;
  busy = true;
  const body = JSON.stringify({ text, choice, client_id: newId(), cursor, household });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await call("/chat/api/messages", { method: "POST", body });
      box.value = "";
      break;
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 800 * (attempt + 1)));
    }
  }
  busy = false;
  box.focus();
}

async function poll() {
  try { await call(`/chat/api/messages?cursor=${encodeURIComponent(cursor)}`); } catch (error) { /* next time */ }
}

form.addEventListener("submit", (event) => { event.preventDefault(); post(box.value); });
enterSends(box, () => post(box.value));
poll();
setInterval(poll, 2000);

// 「この 端末から 消す」: this device forgets the chat (its cookie); the hub keeps the conversation.
const forget = document.querySelector("#forget");
forget?.addEventListener("click", async () => {
  if (!window.confirm(forget.dataset.confirm)) return;
  const response = await fetch("/chat/api/forget-device", { method: "POST", headers: { "X-CSRF-Token": csrf } });
  if (response.ok) window.location.replace("/chat/");
});
