// The coordinator pages as a small installable app: register the service worker (bot/web/static/sw.js,
// served as /coordinator/sw.js so its scope is every coordinator page). It shows Web Push pages with
// the browser closed; linking this browser for them is on 「通知の 設定」 (push.js).
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/coordinator/sw.js", { scope: "/coordinator/" })
    .catch(() => { /* no worker here (a private window): pages still show on the queue page */ });
}
