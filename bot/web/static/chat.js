import { enterSends } from "/static/compose.js";

const root = document.querySelector("#chat");
const log = document.querySelector("#log");
const form = document.querySelector("#composer");
const box = form.querySelector("textarea");
const joined = document.querySelector("#joined");
const forgotten = document.querySelector("#forgotten");
// The element that scrolls: the page between the header and the composer (not the window, not #chat).
const scroller = document.querySelector("main");
const csrf = root.dataset.csrf;
const household = root.dataset.household || null;
const title = document.title;
let cursor = "";
let busy = false;
let unread = 0;

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The newest message is always in view: after new bubbles, and when the screen changes size
// (a phone's keyboard opening makes the page shorter).
function toNewest() {
  scroller.scrollTop = scroller.scrollHeight;
}

// A short, quiet chime when a reply comes while the tab is hidden. Browsers allow sound only
// after the person touched the page, so the audio is made ready on their first tap or send.
let audio = null;
function readyAudio() {
  const Audio = window.AudioContext || window.webkitAudioContext;
  if (!audio && Audio) audio = new Audio();
  if (audio && audio.state === "suspended") audio.resume().catch(() => { /* no sound on this device */ });
}
function chime() {
  if (!audio) return;
  const tone = audio.createOscillator();
  const volume = audio.createGain();
  const now = audio.currentTime;
  tone.frequency.value = 880;
  volume.gain.setValueAtTime(0.15, now);
  volume.gain.exponentialRampToValueAtTime(0.001, now + 0.35);
  tone.connect(volume).connect(audio.destination);
  tone.start(now);
  tone.stop(now + 0.35);
}

// While the tab is hidden, the title counts the replies that came; it is restored when the tab is seen.
function arrivedUnseen() {
  if (!document.hidden) return;
  unread += 1;
  document.title = `（${unread}）${root.dataset.newReply}・${title}`;
  chime();
}
document.addEventListener("visibilitychange", () => {
  if (document.hidden) return;
  unread = 0;
  document.title = title;
});

function show(messages) {
  // Nothing new (most polls): keep the quick-reply buttons that are showing.
  if (!messages.length) return;
  let fromThem = false;
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
    fromThem ||= m.who !== "me";
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
  toNewest();
  if (fromThem) arrivedUnseen();
}

// 「データを消して」 → 消す: nothing of the chat is kept any more, on the screen either; the
// confirmation stays in view until the page is left.
function showForgotten(messages) {
  log.replaceChildren();
  forgotten.textContent = messages.map((m) => m.text).join("\n");
  forgotten.hidden = false;
  joined.hidden = true;
  toNewest();
}

async function call(url, options = {}) {
  const response = await fetch(url, { ...options, headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" } });
  if (!response.ok) throw new Error(String(response.status));
  const body = await response.json();
  cursor = body.cursor;
  if (body.forgotten) {
    showForgotten(body.messages);
    return;
  }
  const wasJoined = !joined.hidden;
  joined.hidden = !body.joined;
  show(body.messages);
  if (wasJoined !== body.joined) toNewest();  // the sign took or gave back a line of the screen
}

async function post(text, choice = null) {
  readyAudio();
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
document.addEventListener("pointerdown", readyAudio, { once: true });
window.addEventListener("resize", toNewest);
poll();
setInterval(poll, 2000);

// 「この 端末から 消す」: this device forgets the chat (its cookie); the hub keeps the conversation.
const forget = document.querySelector("#forget");
forget?.addEventListener("click", async () => {
  if (!window.confirm(forget.dataset.confirm)) return;
  const response = await fetch("/chat/api/forget-device", { method: "POST", headers: { "X-CSRF-Token": csrf } });
  if (response.ok) window.location.replace("/chat/");
});
