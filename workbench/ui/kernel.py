"""A notice that tells a person when their click is waiting for a busy Python kernel.

Widget events reach Python through the kernel's message queue; while a notebook cell runs
(a long training cell, a ``time.sleep``), a click on the app waits in that queue and
nothing on screen says so. ``KernelNotice`` fixes that in the browser: on every click or
change inside the app it pings the kernel, and when no answer comes back within
``wait_ms`` it says that the kernel is busy and the click will take effect when the cell
finishes; the answer clears it. The notice floats at the foot of the window, in view of
whoever just clicked, whichever tab they clicked in. Python only answers pings
(``on_msg``), so the notice is right in JupyterLab and Voila alike, and costs nothing while
the kernel is free.
"""

from __future__ import annotations

import anywidget
import traitlets

ESM = """
function render({ model, el }) {
  // The notice floats at the foot of the window, a child of <body>: the click may come from
  // any tab of the app, and the footer (where this widget sits) is then often below the
  // fold; no notebook container can clip it or move it off screen there either.
  const box = document.createElement("div");
  box.className = "wb-kernel-notice";
  box.title = "Click to hide this notice";
  box.style.cssText = "display:none;position:fixed;bottom:16px;left:50%;" +
    "transform:translateX(-50%);z-index:10000;max-width:min(640px,90vw);padding:8px 12px;" +
    "border-radius:4px;background:#fff3cd;color:#664d03;border:1px solid #ffe69c;" +
    "box-shadow:0 2px 8px rgba(0,0,0,.25);font-size:13px;cursor:pointer";
  document.body.appendChild(box);
  let sent = 0, answered = 0, timer = null;
  const say = (text) => { box.textContent = text; box.style.display = text ? "block" : "none"; };
  box.addEventListener("click", () => say(""));
  model.on("msg:custom", (msg) => {
    if (msg && msg.pong !== undefined) {
      answered = Math.max(answered, msg.pong);
      if (answered >= sent) { say(""); }
    }
  });
  const poke = (event) => {
    const app = el.closest(".wb-app");
    if (!app || !app.contains(event.target)) { return; }
    sent += 1;
    const mine = sent;
    model.send({ ping: mine });
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (answered < mine) { say(model.get("message")); }
    }, model.get("wait_ms"));
  };
  document.addEventListener("click", poke, true);
  document.addEventListener("change", poke, true);
  return () => {
    clearTimeout(timer);
    box.remove();
    document.removeEventListener("click", poke, true);
    document.removeEventListener("change", poke, true);
  };
}
export default { render };
"""

MESSAGE = ("The Python kernel has not answered your click yet: it is busy (a notebook cell "
           "is running, or the app is compiling a model). The click takes effect as soon as "
           "it is free; interrupt the kernel to stop a long cell.")


class KernelNotice(anywidget.AnyWidget):
    """Place it inside a container with the CSS class ``wb-app``; it watches that
    container's clicks and changes."""

    _esm = ESM
    wait_ms = traitlets.Int(2000).tag(sync=True)
    message = traitlets.Unicode(MESSAGE).tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.on_msg(self._answer)

    def _answer(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and "ping" in content:
            self.send({"pong": content["ping"]})
