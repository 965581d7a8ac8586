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
      if (!focused) target.innerHTML = await response.text();
      const alert = target.querySelector("[data-page-alert]");
      if (alert && alert.dataset.pageAlert !== last && "Notification" in window && Notification.permission === "granted") {
        new Notification(alert.textContent.trim());
      }
      last = alert ? alert.dataset.pageAlert : last;
    }
  };
  const events = new EventSource("/coordinator/stream");
  events.addEventListener("change", refresh);
  document.querySelector("#notify")?.addEventListener("click", () => Notification.requestPermission());
}
