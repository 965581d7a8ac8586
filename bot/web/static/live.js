// Live pages: the server says when something changed (Server-Sent Events), and the page
// reloads the part marked data-live. Pages for this coordinator also raise a notification.
const target = document.querySelector("[data-live]");
if (target) {
  const url = target.dataset.live;
  let last = null;
  const refresh = async () => {
    const response = await fetch(url, { headers: { "X-Requested-With": "live" } });
    if (response.ok) {
      const focused = document.activeElement && target.contains(document.activeElement);
      if (!focused) {
        // Keep opened <details> (the case's events) open across the reload.
        const opened = [...target.querySelectorAll("details")].map((node) => node.open);
        target.innerHTML = await response.text();
        target.querySelectorAll("details").forEach((node, i) => { if (opened[i]) node.open = true; });
      }
      const alert = target.querySelector("[data-page-alert]");
      if (alert && alert.dataset.pageAlert !== last && "Notification" in window && Notification.permission === "granted") {
        // Chrome on Android has no Notification constructor (it throws): the red alert on the page stays.
        try { new Notification(alert.textContent.trim()); } catch (error) { /* no pop-up here */ }
      }
      last = alert ? alert.dataset.pageAlert : last;
    }
  };
  const update = () => refresh().catch(() => { /* offline for a moment: the next change tries again */ });
  const events = new EventSource("/coordinator/stream");
  events.addEventListener("change", update);
  // The stream only reports changes after it (re)connected: after a lost connection (a phone
  // changing networks), catch up on what changed meanwhile.
  let opened = false;
  events.addEventListener("open", () => { if (opened) update(); opened = true; });
  document.querySelector("#notify")?.addEventListener("click", () => Notification.requestPermission());
}
