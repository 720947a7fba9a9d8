"""Real-browser tests: the quickstart's app in JupyterLab and in Voila, driven through
Debian's headless Chromium with Python playwright (``executable_path``; never
``playwright install``).

What they prove beyond the headless widget tests (``test_app.py``, which click buttons
and read figure data in the kernel), in each front end:

- the notebook runs (JupyterLab: every cell, no error output; Voila: no traceback on the
  page, and no notebook prose: the app alone) and the app and its figures render, with no
  uncaught error in the page (an anywidget model that fails to load is one);
- the app answers at once: Run All of the quickstart runs nothing heavy, so a Train click
  is acknowledged within ``FIRST_CLICK_S`` of the notebook opening; a click while a cell
  keeps the kernel busy is met by the notice that says so, and takes effect after;
- the Live view is live: while a preset trains, the probe's caption ("Probe at step N")
  advances at least 5 times, and the replay buttons show the earlier frames again;
- the Start tab's Run trains a preset to its end;
- a value typed into the steps box reaches the kernel (the run is set to 1,000,000
  steps, so only Stop can end it and the status must say "stopped at step N/1000000");
- a click on Train reaches the training thread, and the figure updates it makes reach the
  browser while it trains: the loss curve's points grow and the hidden-state heatmap of
  the probe is drawn (read from plotly.js's own ``el.data`` and its heatmap image);
- Stop ends the run.

The servers run on 127.0.0.1 on a free port, serve a temporary copy of the quickstart
(its ``runs/`` stay there), and are killed with their kernels in teardown. Screenshots
go to ``build/screenshots/`` ('-app' is the tall view of the Live tab).
Without chromium the tests skip, except under ``CI``, where ``.ci/run`` installs it and
they fail instead. About 1-3 minutes each.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import psutil
import pytest

ROOT = pathlib.Path(__file__).parent.parent
NOTEBOOK = ROOT / "notebooks" / "00_quickstart.ipynb"
APP_NOTEBOOK = ROOT / "notebooks" / "app.ipynb"  # what Voila serves: the app alone
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = pathlib.Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1280, "height": 900}
STEPS = 1_000_000  # more than any test waits for: only Stop can end the run
SERVER_START_S, NOTEBOOK_RUN_S, TRAIN_S = 120, 600, 300
FIRST_CLICK_S = 15  # a Train click is taken within 15 s of the quickstart opening
# How long the test's busy cell sleeps: long enough that the click lands inside it even when
# the loaded machine makes the browser slow to click (a 25 s sleep may once have ended first).
BUSY_CELL_S = 60
PROBE_ADVANCES = 5  # distinct probe steps the Live view must show during one run
# JupyterLab's app settings: no news popup, and every cell rendered (no windowing), so
# the app's output exists in the DOM wherever the notebook is scrolled
OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                              "checkForUpdates": False},
             "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}


def require_chromium() -> None:
    """Skip without chromium, except under CI, where a missing browser is a bug."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run should have installed it "
                    "(apt-get install -y chromium) before `make test`")
    pytest.skip(f"no {CHROMIUM}: `apt-get install chromium` (Debian) to run the browser tests")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- servers -------------------------------------------------------------------------------
def server_env(home: pathlib.Path) -> dict:
    """The test's environment (offline, CPU, smoke size) with Jupyter's user directories
    moved into ``home``, so no user config or state leaks in or out."""
    env = {**os.environ, "WORKBENCH_SMOKE": "1", "HF_HUB_OFFLINE": "1", "JAX_PLATFORMS": "cpu",
           "JUPYTER_PLATFORM_DIRS": "1"}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(home / name.lower())
    return env


def workdir(tmp_path: pathlib.Path) -> pathlib.Path:
    """A folder holding a copy of the notebooks served (their runs/ are written there)."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for notebook in (NOTEBOOK, APP_NOTEBOOK):
        shutil.copy(notebook, folder / notebook.name)
    return folder


def wait_until_serving(proc: subprocess.Popen, url: str, log: pathlib.Path) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it dies or
    takes longer than SERVER_START_S."""
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode} before serving {url}:\n"
                        + log.read_text()[-3000:])
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the server did not serve {url} within {SERVER_START_S} s:\n"
                + log.read_text()[-3000:])


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate the server and every process it started (kernels run in their own
    sessions, so a process group kill would miss them), then kill what is left."""
    try:
        family = [proc.pid, *(p.pid for p in psutil.Process(proc.pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        family = [proc.pid]
    procs = []
    for pid in family:
        try:
            procs.append(psutil.Process(pid))
            procs[-1].terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=10)
    for p in alive:
        p.kill()
    psutil.wait_procs(alive, timeout=10)
    proc.wait(timeout=10)  # reaps it (psutil's wait does not set the Popen's returncode)


@contextlib.contextmanager
def serve(cmd: list[str], folder: pathlib.Path, ready_url: str):
    """Run ``cmd`` in ``folder`` until the block ends, once ``ready_url`` answers."""
    log = folder.parent / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=folder, env=server_env(folder.parent), stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        wait_until_serving(proc, ready_url, log)
        yield
    finally:
        stop_server(proc)


@pytest.fixture
def lab_url(tmp_path):
    """JupyterLab serving a copy of the quickstart; yields the notebook's URL."""
    require_chromium()
    folder, port, token = workdir(tmp_path), free_port(), uuid.uuid4().hex
    settings = tmp_path / "app-settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(json.dumps(OVERRIDES))
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
           f"--LabApp.app_settings_dir={settings}", "--LabApp.expose_app_in_browser=True",
           f"--LabApp.user_settings_dir={tmp_path / 'user-settings'}",
           f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    base = f"http://127.0.0.1:{port}"
    with serve(cmd, folder, f"{base}/api/status?token={token}"):
        yield f"{base}/lab/tree/{NOTEBOOK.name}?token={token}"


@pytest.fixture
def voila_url(tmp_path):
    """Voila serving a copy of the app notebook (what ``make voila`` serves); yields the
    app page's URL. (Voila runs no token by default and needs no flag as root.)"""
    require_chromium()
    folder, port = workdir(tmp_path), free_port()
    cmd = [sys.executable, "-m", "voila", APP_NOTEBOOK.name, "--no-browser", f"--port={port}",
           "--Voila.ip=127.0.0.1", "--show_tracebacks=True"]
    base = f"http://127.0.0.1:{port}"
    with serve(cmd, folder, f"{base}/voila/static/voila.js"):
        yield f"{base}/"


# --- the browser ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Session:
    """One browser page with bounded waits: a failure names what was awaited and keeps a
    screenshot and the page's errors."""

    def __init__(self, browser, name: str):
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page, self.name = self.context.new_page(), name
        self.opened = 0.0  # monotonic time the notebook was open with its kernel ready
        self.errors, self.uncaught = [], []  # console errors and uncaught exceptions
        self.page.set_default_timeout(30_000)
        self.page.on("pageerror", lambda err: self.uncaught.append(str(err)))
        self.page.on("console", lambda m: self.errors.append(m.text)
                     if m.type == "error" else None)

    def shot(self, label: str) -> pathlib.Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{self.name}-{label}.png"
        self.page.screenshot(path=path)
        return path

    def fail(self, what: str):
        path = self.shot("failure")
        errors = "\n".join([*self.uncaught, *self.errors][-12:]) or "none"
        try:
            plots = "\n".join(self.page.evaluate(PLOTS_SUMMARY))
        except Exception as err:  # noqa: BLE001 - the page may be gone; say so
            plots = f"(could not read them: {err})"
        pytest.fail(f"{self.name}: {what}\nscreenshot: {path}\nbrowser errors:\n{errors}\n"
                    f"visible plotly figures (title: points per trace):\n{plots}")

    def wait(self, js: str, what: str, timeout_s: float, arg=None, detail: str = ""):
        """The truthy value of ``js(arg)`` once it has one (polled twice a second). On a
        time-out the failure adds what the page's ``detail()`` returns, if given."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            handle = self.page.wait_for_function(js, arg=arg, timeout=timeout_s * 1000,
                                                 polling=500)
        except PlaywrightTimeout:
            said = f"\n{self.page.evaluate(detail)}" if detail else ""
            self.fail(f"timed out after {timeout_s} s waiting for {what} (load average "
                      f"{os.getloadavg()[0]:.1f}){said}")
        return handle.json_value()

    def wait_visible(self, locator, what: str, timeout_s: float) -> None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            locator.first.wait_for(state="visible", timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            self.fail(f"timed out after {timeout_s} s waiting for {what}")

    def click(self, locator, what: str, timeout_s: float = 30) -> None:
        self.wait_visible(locator, what, timeout_s)
        locator.first.click()


@pytest.fixture
def session(browser, request):
    opened = Session(browser, request.node.name.removeprefix("test_"))
    yield opened
    opened.context.close()


# --- reading figures from plotly.js's own state (what the browser has drawn) --------------
# The visible plot whose title starts with `title`, inside the app's tabs (`app` true) or
# outside them (the notebook's own figures).
FIND_PLOT = """(title, app) => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(el => el.getClientRects().length > 0 && el.data
          && (el.closest('.widget-tab') !== null) === app && String(
              (el.layout && el.layout.title && el.layout.title.text) || '').startsWith(title))"""
# One line per visible figure, for failure messages.
PLOTS_SUMMARY = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .filter(el => el.getClientRects().length > 0).map(el => String(
        (el.layout && el.layout.title && el.layout.title.text) || '(no title)') + ': '
        + (el.data || []).map(t => (t.x || t.z || []).length).join(','))"""
# [the number of points of the loss curves drawn], once more than `least`.
CURVE_POINTS = f"""([least, app]) => {{
    const el = ({FIND_PLOT})('Training curves', app);
    if (!el) return false;
    const n = el.data.filter(t => t.visible !== false && t.type === 'scatter')
        .reduce((sum, t) => sum + (t.x ? Array.from(t.x).filter(v => v !== null).length : 0), 0);
    return n > least ? [n] : false;
}}"""
# [tokens, units] of the hidden-state heatmap, once plotly.js has drawn one bigger than
# the 1 x 1 placeholder.
HEATMAP = f"""() => {{
    const el = ({FIND_PLOT})('Hidden state', true);
    const heat = el && el.data.find(t => t.type === 'heatmap');
    const rows = heat && heat.z ? heat.z.length : 0, cols = rows ? heat.z[0].length : 0;
    return rows > 1 && cols > 1 && el.querySelector('.hm image') ? [rows, cols] : false;
}}"""


def widget_tab(session: Session, title: str):
    return session.page.locator(".widget-tab .lm-TabBar-tab",
                                has_text=re.compile(f"^{title}$"))


def button(session: Session, description: str):
    """An ipywidgets Button by its description."""
    return session.page.locator("button.widget-button",
                                has_text=re.compile(rf"^\s*{description}\s*$"))


def check_no_uncaught(session: Session) -> None:
    if session.uncaught:
        session.fail(f"uncaught errors in the page: {session.uncaught[:3]}")


def shoot_app(session: Session) -> None:
    """The app scrolled to its tabs: in the viewport, then (for the README) in a taller
    window that holds the curves and the hidden states together."""
    tabs = session.page.locator(".widget-tab").first
    tabs.evaluate("el => el.scrollIntoView({block: 'start'})")
    session.shot("training")
    session.page.set_viewport_size({"width": VIEWPORT["width"], "height": 1400})
    tabs.evaluate("el => el.scrollIntoView({block: 'start'})")
    session.shot("app")
    session.page.set_viewport_size(VIEWPORT)


# --- JupyterLab ------------------------------------------------------------------------------
NOTEBOOK_JS = "window.jupyterapp && window.jupyterapp.shell.currentWidget"
KERNEL_IDLE = f"""() => {{
    const nb = {NOTEBOOK_JS};
    return !!(nb && nb.sessionContext && nb.content && nb.content.widgets.length > 0
              && nb.sessionContext.kernelDisplayStatus === 'idle');
}}"""
# The number of code cells, once all have run and the kernel is idle again.
ALL_RAN = f"""() => {{
    const nb = {NOTEBOOK_JS};
    const cells = nb.content.widgets.filter(c => c.model.type === 'code');
    const ran = cells.every(c => c.model.executionCount !== null
                                 && c.model.executionState !== 'running');
    return ran && nb.sessionContext.kernelDisplayStatus === 'idle' ? cells.length : false;
}}"""
CELL_ERRORS = f"""() => ({NOTEBOOK_JS}).content.widgets
    .filter(c => c.model.type === 'code').flatMap(c => c.model.outputs.toJSON())
    .filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)"""


def run_all_cells_in_lab(session: Session, url: str) -> int:
    """Open the quickstart, wait for its kernel, run all cells; returns the cell count
    (``session.opened`` is when the notebook was open with its kernel ready)."""
    session.page.goto(url)
    session.wait(KERNEL_IDLE, "the quickstart to open with an idle kernel", SERVER_START_S)
    session.opened = time.monotonic()
    session.page.evaluate("""() => {
        window.jupyterapp.shell.collapseLeft();
        return window.jupyterapp.commands.execute('notebook:run-all-cells');
    }""")
    cells = session.wait(ALL_RAN, "every cell of the quickstart to run", NOTEBOOK_RUN_S)
    errors = session.page.evaluate(CELL_ERRORS)
    if errors:
        session.fail(f"quickstart cells raised: {errors}")
    return cells


# The probe steps the Live view's caption has shown so far (polled by `watch_probe`).
PROBE_STEPS = r"""() => {
    const m = document.body.innerText.match(/Probe at step (\d+)/);
    return m ? Number(m[1]) : null;
}"""
STATUS_TEXT = "() => document.body.innerText"


def status_says(session: Session, pattern: str, what: str, timeout_s: float) -> None:
    session.wait_visible(session.page.get_by_text(re.compile(pattern)), what, timeout_s)


def watch_probe(session: Session, seconds: float) -> list[int]:
    """The distinct probe steps the Live tab showed, in order, over ``seconds``."""
    seen, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline and len(seen) < 3 * PROBE_ADVANCES:
        step = session.page.evaluate(PROBE_STEPS)
        if step is not None and (not seen or step != seen[-1]):
            seen.append(step)
        time.sleep(0.25)
    return seen


def train_preset_live(session: Session, preset: str) -> list[int]:
    """Apply ``preset`` in the Training tab, make its run too long to end, Train, and
    watch the Live tab's probe advance; then Stop and replay the first frames. Returns the
    probe steps seen. Screenshots: '-training', '-app' (for the README), '-replay'."""
    page = session.page
    session.click(widget_tab(session, "Training"), "the app's Training tab")
    page.locator(".widget-tab .widget-dropdown", has=page.locator(
        "label", has_text=re.compile("^preset$"))).locator("select").select_option(preset)
    steps = page.locator(".widget-tab .widget-text",
                         has=page.locator("label", has_text=re.compile("^steps$")))
    steps.locator("input").fill(str(STEPS))
    steps.locator("input").press("Enter")
    session.click(widget_tab(session, "Live"), "the app's Live tab")
    session.click(button(session, "Train"), "the app's Train button")
    [first] = session.wait(CURVE_POINTS, "the first points of the loss curve after Train",
                           TRAIN_S, [0, True])
    session.wait(CURVE_POINTS, f"the loss curve to grow beyond {first} points", TRAIN_S,
                 [first, True])
    seen = watch_probe(session, 60)
    session.wait(HEATMAP, "the hidden-state heatmap of the probe to render", TRAIN_S)
    shoot_app(session)
    session.click(button(session, "Stop"), "the app's Stop button")
    status_says(session, rf"stopped at step \d+/{STEPS}\b",
                f"the status to say the run stopped at step N/{STEPS}", TRAIN_S)
    if len(seen) < PROBE_ADVANCES or seen != sorted(seen):
        session.fail(f"the probe should advance {PROBE_ADVANCES} times while training; "
                     f"its caption showed steps {seen}")
    page.locator("button.wb-replay-first").click()
    session.wait("() => /Probe at step 0:/.test(document.body.innerText)",
                 "the replay's first frame (step 0) to show", 30)
    page.locator("button.wb-replay-forward").click()
    second = session.wait("() => { const m = document.body.innerText.match("
                          "/Probe at step (\\d+):/); return m && Number(m[1]) > 0 "
                          "? Number(m[1]) : false; }", "the replay's second frame", 30)
    session.shot("replay")
    check_no_uncaught(session)
    return [*seen, second]


def test_quickstart_app_answers_at_once_and_shows_training_live_in_jupyterlab(session,
                                                                                lab_url):
    navigated = time.monotonic()
    run_all_cells_in_lab(session, lab_url)
    ran = time.monotonic() - session.opened
    session.click(button(session, "Train"), "the app's Train button", FIRST_CLICK_S)
    status_says(session, r"run1-\S+: (preparing|building|drawing|step)|background compile",
                "the status to acknowledge the Train click", 60)
    taken = time.monotonic() - session.opened
    print(f"the notebook opened {session.opened - navigated:.1f} s after the page was asked "
          f"for; Run All took {ran:.1f} s; the Train click was acknowledged {taken:.1f} s "
          f"after the notebook opened (load average {os.getloadavg()[0]:.1f})")
    status_says(session, r"run1-\S+ finished", "the first (smoke-size) run to finish", TRAIN_S)
    seen = train_preset_live(session, "attention-reverse")
    print(f"probe steps seen while training: {seen}")
    assert taken < FIRST_CLICK_S, f"the first Train click took {taken:.1f} s"


# Whether the shown busy-kernel notice lies inside the window.
NOTICE_IN_VIEW = """() => {
    const box = Array.from(document.querySelectorAll('.wb-kernel-notice'))
        .find(b => b.getClientRects().length > 0);
    if (!box) return false;
    const r = box.getBoundingClientRect();
    return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight
        && r.right <= window.innerWidth;
}"""
# Runs `time.sleep(seconds)` in the notebook's kernel as a cell would, and keeps what the
# kernel said about it (its iopub messages, the kernel's status changes, with the ms since
# the request) in `window.wbSleep`; `running` turns true when the kernel starts the code.
SLEEP_CELL = f"""(seconds) => {{
    const kernel = ({NOTEBOOK_JS}).sessionContext.session.kernel, t0 = performance.now();
    const state = window.wbSleep = {{running: false, log: []}};
    const note = (what) => state.log.push(`${{Math.round(performance.now() - t0)}} ms ${{what}}`);
    kernel.statusChanged.connect((_, status) => note(`kernel status ${{status}}`));
    const future = kernel.requestExecute({{code: `import time; time.sleep(${{seconds}})`}});
    note(`sent (connection ${{kernel.connectionStatus}}, status ${{kernel.status}})`);
    future.onIOPub = (msg) => {{
        const type = msg.header.msg_type;
        note(type === 'status' ? `status ${{msg.content.execution_state}}` : type);
        if (type === 'execute_input') {{ state.running = true; }}
    }};
    future.onReply = () => note('reply');
    return true;
}}"""


def test_a_click_while_a_cell_runs_is_met_by_the_busy_notice_in_jupyterlab(session,
                                                                             lab_url):
    """A click while a cell keeps the kernel busy is met by the notice, which goes away
    (and the click takes effect) once the kernel is free again. (A fresh kernel: once the
    app has trained, ipykernel answers widget messages even while a cell runs.)"""
    run_all_cells_in_lab(session, lab_url)
    # On a loaded 2-core machine the kernel can take many seconds to pick the cell up (the
    # app's background compile shares the CPU), so the wait for it to start is generous and
    # the cell sleeps long enough to still be running when the click's notice is due.
    session.page.evaluate(SLEEP_CELL, BUSY_CELL_S)
    said = "() => 'what the kernel said: ' + window.wbSleep.log.join('; ')"
    session.wait("() => window.wbSleep.running", "the kernel to run the sleeping cell", 120,
                 detail=said)
    if session.page.get_by_text("has not answered your click").count():
        session.fail("the busy-kernel notice shows before any click during the busy cell")
    busy_at = time.monotonic()
    session.click(widget_tab(session, "Start"), "the app's Start tab")
    session.page.locator("button.wb-start-run").first.click()
    clicked = time.monotonic() - busy_at
    status = session.page.evaluate(f"() => ({NOTEBOOK_JS}).sessionContext.kernelDisplayStatus")
    session.wait("() => document.body.innerText.includes('has not answered your click')",
                 f"the busy-kernel notice after a click during a running cell (clicked "
                 f"{clicked:.1f} s into the {BUSY_CELL_S} s cell; the kernel was {status!r} "
                 "just after the click)", 15)
    session.shot("kernel-busy")
    if not session.page.evaluate(NOTICE_IN_VIEW):
        session.fail("the busy-kernel notice is shown outside the window (the person who "
                     "clicked cannot see it)")
    session.wait("() => !document.body.innerText.includes('has not answered your click')",
                 "the notice to clear once the cell finished", BUSY_CELL_S + 60)
    status_says(session, r"run1-\S+ finished", "the Start tab's preset run to finish", TRAIN_S)
    check_no_uncaught(session)


# --- Voila -----------------------------------------------------------------------------------
def test_app_alone_in_voila_trains_a_preset_live(session, voila_url):
    # Voila runs the notebook before it sends the page; tracebacks are shown in it
    session.page.goto(voila_url, wait_until="commit", timeout=NOTEBOOK_RUN_S * 1000)
    session.wait_visible(button(session, "Train"), "Voila to show the app", NOTEBOOK_RUN_S)
    if session.page.get_by_text("Traceback (most recent call last)").count():
        session.fail("the app notebook raised (its traceback is on the page)")
    assert session.page.locator(".jp-MarkdownOutput, .jp-RenderedMarkdown").count() == 0
    seen = train_preset_live(session, "lstm-recall")
    assert len(seen) > PROBE_ADVANCES


# --- what a page opened later receives (no browser needed) ----------------------------------
def test_a_page_opened_after_an_update_gets_the_updated_figure():
    """Voila and a reloaded tab build each figure from the widget's state, not from the
    update messages sent before they connected (the Voila test's notebook curve)."""
    import numpy as np

    from workbench.ui import plots

    view = plots.CurvesView()
    view.fig._repr_mimebundle_()  # displayed: plotly stores the (empty) figure here
    view.update({"a": {"train_step": np.arange(3), "train_loss": np.ones(3),
                       "val_step": np.arange(1), "val_loss": np.ones(1)}})
    state = view.fig.get_state()
    assert list(state["_widget_data"][0]["x"]) == [0, 1, 2]
    assert state["_widget_data"][0]["name"] == "a train loss"
    assert view.fig.get_state("_widget_layout")["_widget_layout"]["title"]["text"].startswith(
        "Training curves")
