// The coordinator pages' service worker: shows a page pushed to this browser (Web Push, sent by
// bot/channels/webpush.py) even when no coordinator page is open, and opens the case on a tap,
// where its claim button is. The push's data is JSON: {title, body, url, tag}.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let page = { title: "まどぐち", body: "", url: "/coordinator/", tag: "page" };
  try { page = { ...page, ...event.data.json() }; } catch (error) { /* no data: a plain call to the queue */ }
  event.waitUntil(self.registration.showNotification(page.title, {
    body: page.body,
    tag: page.tag,
    renotify: true,
    requireInteraction: true,  // stays until the coordinator answers it
    lang: "ja",
    icon: "/static/icon-192.png",
    data: { url: page.url },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || "/coordinator/", self.location.origin);
  if (url.origin !== self.location.origin) return;  // only our own pages
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const client of open) {
      if (new URL(client.url).pathname.startsWith("/coordinator/") && "navigate" in client) {
        await client.focus();
        return client.navigate(url.href);
      }
    }
    return self.clients.openWindow(url.href);
  })());
});
