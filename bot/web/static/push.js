// 「この 端末を 登録する」 on 「通知の 設定」: subscribe this browser to Web Push with the server's VAPID
// public key (data-key) and hand the subscription to the server, with the session's CSRF token.
const button = document.querySelector("[data-push-key]");
const status = document.querySelector("#push-status");
const say = (name) => { if (status) status.textContent = status.dataset[name] || ""; };

function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function link() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return say("unsupported");
  if ((await Notification.requestPermission()) !== "granted") return say("denied");
  const registration = await navigator.serviceWorker.register("/coordinator/sw.js", { scope: "/coordinator/" });
  await navigator.serviceWorker.ready;
  const subscription = (await registration.pushManager.getSubscription())
    || (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(button.dataset.pushKey) }));
  const response = await fetch("/coordinator/notify/webpush", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": button.dataset.csrf },
    body: JSON.stringify(subscription.toJSON()),
  });
  if (response.ok) window.location.assign("/coordinator/notify?m=push");
  else say("unsupported");
}

if (button) {
  if (!("PushManager" in window)) say("unsupported");
  button.addEventListener("click", () => link().catch(() => say("unsupported")));
}
