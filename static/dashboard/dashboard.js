/* The dashboard's script. Changes go through the REST API; news arrives over
   the websocket. Whatever came from the CRM or from the model is written with
   textContent or as attribute values, never parsed as markup. */
(function () {
  "use strict";

  const config = JSON.parse(
    document.getElementById("dashboard-config").textContent,
  );
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) =>
    Array.from(root.querySelectorAll(selector));

  /* Talking to the server */

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function withId(url, id) {
    return url.replace(config.idPlaceholder, encodeURIComponent(id));
  }

  async function send(method, url, body) {
    const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
    const options = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    const data = await response.json().catch(() => null);
    if (response.status === 403 && data && data.code === "not_authenticated") {
      signedOut();
    }
    return { response, data };
  }

  /* A part of the page rendered again by the server, from the same template
     as the first time, and put in place of the old one. */
  async function refreshPart(url, selector) {
    let response;
    try {
      response = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
    } catch (error) {
      return null;
    }
    if (response.redirected) {
      signedOut();
      return null;
    }
    if (!response.ok) return null;
    const parsed = new DOMParser().parseFromString(
      await response.text(),
      "text/html",
    );
    const fresh = $(selector, parsed);
    const current = $(selector);
    if (!fresh || !current) return null;
    current.replaceWith(document.adoptNode(fresh));
    renderTimes(fresh);
    return fresh;
  }

  function flatten(messages) {
    if (Array.isArray(messages)) return messages.flatMap(flatten);
    if (messages && typeof messages === "object") {
      return Object.values(messages).flatMap(flatten);
    }
    return [String(messages)];
  }

  function errorText(data, fallback) {
    return (data && data.error) || fallback;
  }

  let toastTimer = 0;
  function toast(message) {
    const box = $("[data-toast]");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      box.hidden = true;
    }, 6000);
  }

  function unreachable() {
    toast("The server could not be reached. Check the connection and try again.");
  }

  function say(element, message, isError = false) {
    element.textContent = message;
    element.classList.toggle("is-error", isError);
  }

  /* Times and amounts, written as the server writes them */

  const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  const UNITS = [
    ["year", 31536000],
    ["month", 2592000],
    ["week", 604800],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];

  function describeTime(date, isFuture) {
    const seconds = (date.getTime() - Date.now()) / 1000;
    if (isFuture && seconds <= 0) return "any moment now";
    if (Math.abs(seconds) < 45) return isFuture ? "in a moment" : "just now";
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size) {
        return relative.format(Math.round(seconds / size), unit);
      }
    }
    return relative.format(Math.round(seconds / 60), "minute");
  }

  function renderTime(element) {
    const iso = element.getAttribute("datetime");
    if (!iso) return;
    const date = new Date(iso);
    element.textContent = describeTime(date, element.dataset.relative === "future");
    element.title = date.toLocaleString();
  }

  function renderTimes(root = document) {
    $$("time[data-relative]", root).forEach(renderTime);
  }

  const whole = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  function money(value) {
    const number = Number(value);
    return Number.isFinite(number) ? whole.format(number) : String(value);
  }

  /* Rows made from the <template> copies of the server's own row markup */

  function fromTemplate(selector, id, fields, attributes) {
    const row = $(selector).content.firstElementChild.cloneNode(true);
    row.dataset.id = id;
    Object.assign(row.dataset, attributes);
    for (const slot of $$("[data-field]", row)) {
      const value = fields[slot.dataset.field];
      if (slot.tagName === "TIME") {
        slot.setAttribute("datetime", value || "");
        renderTime(slot);
      } else {
        slot.textContent = value == null ? "" : String(value);
      }
    }
    row.classList.add("is-new");
    return row;
  }

  function findRow(list, id) {
    return Array.from(list.children).find((row) => row.dataset.id === id);
  }

  /* Action items */

  const itemList = $("[data-items]");

  function countItems() {
    const count = itemList.children.length;
    $("[data-item-count]").textContent = String(count);
    $("[data-items-empty]").hidden = count > 0;
  }

  function addItem(item) {
    if (findRow(itemList, item.id)) return;
    const label = config.itemTypes[item.item_type] || item.item_type;
    const row = fromTemplate(
      "[data-item-template]",
      item.id,
      { ...item, item_type_label: label },
      { type: item.item_type },
    );
    itemList.prepend(row);
    countItems();
  }

  function removeItem(id) {
    const row = findRow(itemList, id);
    if (row) {
      row.remove();
      countItems();
    }
  }

  itemList.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-action='dismiss']");
    if (!button) return;
    const id = button.closest("li").dataset.id;
    button.disabled = true;
    try {
      const { response, data } = await send(
        "POST",
        withId(config.urls.itemDismiss, id),
      );
      // An item that is gone already needs no dismissing either.
      if (response.ok || response.status === 404) {
        removeItem(id);
        return;
      }
      toast(errorText(data, "The item could not be dismissed."));
    } catch (error) {
      unreachable();
    }
    button.disabled = false;
  });

  /* Notifications */

  const noteList = $("[data-notifications]");
  const badge = $("[data-unread-count]");
  const readAll = $("[data-read-all]");
  const MAX_NOTES = 50;
  const pageTitle = document.title;
  let unread = Number(badge.textContent) || 0;

  function showUnread() {
    unread = Math.max(unread, 0);
    badge.textContent = String(unread);
    badge.hidden = unread === 0;
    readAll.hidden = unread === 0;
    document.title = unread ? `(${unread}) ${pageTitle}` : pageTitle;
    $("[data-notifications-empty]").hidden = noteList.children.length > 0;
  }

  function addNotification(note) {
    if (findRow(noteList, note.id)) return;
    const row = fromTemplate(
      "[data-notification-template]",
      note.id,
      {
        ...note,
        type_label: config.notificationTypes[note.type] || note.type,
        priority_label: config.priorities[note.priority] || note.priority,
      },
      { priority: note.priority },
    );
    if (note.read_at) {
      $("[data-action='read']", row).hidden = true;
    } else {
      row.classList.add("is-unread");
      unread += 1;
    }
    noteList.prepend(row);
    while (noteList.children.length > MAX_NOTES) noteList.lastElementChild.remove();
    showUnread();
  }

  function markRead(row) {
    if (!row.classList.contains("is-unread")) return;
    row.classList.remove("is-unread");
    $("[data-action='read']", row).hidden = true;
    unread -= 1;
    showUnread();
  }

  noteList.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-action='read']");
    if (!button) return;
    const row = button.closest("li");
    button.disabled = true;
    try {
      const { response, data } = await send(
        "POST",
        withId(config.urls.notificationRead, row.dataset.id),
      );
      if (response.ok) markRead(row);
      else toast(errorText(data, "The notification could not be marked as read."));
    } catch (error) {
      unreachable();
    }
    button.disabled = false;
  });

  readAll.addEventListener("click", async () => {
    readAll.disabled = true;
    try {
      const { response, data } = await send("POST", config.urls.notificationsReadAll);
      if (response.ok) {
        $$(".note.is-unread", noteList).forEach(markRead);
        unread = 0;
        showUnread();
      } else {
        toast(errorText(data, "The notifications could not be marked as read."));
      }
    } catch (error) {
      unreachable();
    }
    readAll.disabled = false;
  });

  /* The forecast and its chart */

  const SVG = "http://www.w3.org/2000/svg";
  const CHART = { width: 320, height: 120, top: 14, bottom: 98 };
  const shortDate = new Intl.DateTimeFormat("en", { month: "short", day: "numeric" });

  function svg(name, attributes, text) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) {
      element.setAttribute(key, String(value));
    }
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function drawChart(snapshots) {
    const chart = $("[data-chart]");
    const { width, height, top, bottom } = CHART;
    chart.replaceChildren();
    const empty = snapshots.length < 2;
    chart.toggleAttribute("hidden", empty);
    $("[data-chart-empty]").hidden = !empty;
    $("[data-chart-caption]").hidden = empty;
    if (empty) return;

    // The axis starts near the lowest value rather than at zero, so that a
    // forecast that moves by a few percent still shows it.
    const values = snapshots.map((snapshot) => Number(snapshot.weighted_forecast));
    const low = Math.min(...values);
    const high = Math.max(...values);
    const pad = (high - low) * 0.15 || high * 0.1 || 1;
    const floor = Math.max(low - pad, 0);
    const ceiling = high + pad;
    const x = (index) => (index / (values.length - 1)) * width;
    const y = (value) => bottom - ((value - floor) / (ceiling - floor)) * (bottom - top);
    const points = values.map((value, index) => [x(index), y(value)]);
    const line = points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ");

    for (const level of [top, (top + bottom) / 2, bottom]) {
      chart.append(svg("line", { x1: 0, x2: width, y1: level, y2: level, class: "chart-grid" }));
    }
    chart.append(svg("path", { d: `M0,${bottom} L${line} L${width},${bottom} Z`, class: "chart-area" }));
    chart.append(svg("polyline", { points: line, class: "chart-weighted" }));
    const [lastX, lastY] = points[points.length - 1];
    chart.append(svg("circle", { cx: lastX, cy: lastY, r: 4, class: "chart-point" }));
    chart.append(
      svg("text", { x: 0, y: height - 4, class: "chart-label" },
        shortDate.format(new Date(snapshots[0].created_at))),
      svg("text", { x: width, y: height - 4, "text-anchor": "end", class: "chart-label" },
        shortDate.format(new Date(snapshots[snapshots.length - 1].created_at))),
      svg("text", { x: 0, y: top - 4, class: "chart-label" }, money(high)),
    );
  }

  async function refreshChart() {
    try {
      const { response, data } = await send("GET", config.urls.forecast);
      if (response.ok) drawChart(data.snapshots);
    } catch (error) {
      // The chart is history; it catches up with the next update.
    }
  }

  function showForecast(figures, reason) {
    for (const slot of $$("[data-figure]")) {
      const name = slot.dataset.figure;
      if (!(name in figures)) continue;
      const isCount = name === "open_deals" || name.endsWith("_count");
      slot.textContent = isCount ? String(figures[name]) : money(figures[name]);
    }
    for (const figure of $$(".figure")) {
      figure.classList.remove("is-fresh");
      void figure.offsetWidth;
      figure.classList.add("is-fresh");
    }
    if (reason) $("[data-forecast-reason]").textContent = reason;
  }

  /* The worker panel */

  const toggle = $("[data-worker-toggle]");
  const toggleMessage = $("[data-toggle-message]");
  const form = $("[data-config-form]");
  const configMessage = $("[data-config-message]");
  const runNow = $("[data-run-now]");
  const runMessage = $("[data-run-now-message]");
  let awaitingRun = false;
  // A fast worker can finish the run before the request that queued it has
  // answered; the run's end is kept here until the answer says it was ours.
  let askingForRun = false;
  let finishedWhileAsking = null;

  function configValues() {
    const cooldown = form.elements.cooldown_period.value.trim();
    return {
      // An empty field is sent as null, so that the API says it is missing.
      cooldown_period: cooldown === "" ? null : Number(cooldown),
      observers: $$("input[name='observers']:checked", form).map((box) => box.value),
    };
  }

  function clearFieldErrors() {
    for (const slot of $$("[data-error-for]", form)) {
      slot.textContent = "";
      slot.hidden = true;
    }
    form.elements.cooldown_period.removeAttribute("aria-invalid");
  }

  function showFieldErrors(data) {
    const slots = $$("[data-error-for]", form);
    const general = slots.find((slot) => slot.dataset.errorFor === "non_field_errors");
    for (const [name, messages] of Object.entries((data && data.fields) || {})) {
      const slot = slots.find((candidate) => candidate.dataset.errorFor === name) || general;
      slot.textContent = flatten(messages).join(" ");
      slot.hidden = false;
      if (name === "cooldown_period") {
        form.elements.cooldown_period.setAttribute("aria-invalid", "true");
      }
    }
  }

  async function refreshWorker() {
    const status = await refreshPart(config.urls.workerStatus, "[data-worker-status]");
    if (status) toggle.checked = status.dataset.enabled === "true";
  }

  const refreshChanges = () => refreshPart(config.urls.changes, "[data-changes]");

  toggle.addEventListener("change", async () => {
    const on = toggle.checked;
    toggle.disabled = true;
    say(toggleMessage, "");
    clearFieldErrors();
    try {
      // Turning the worker on takes the settings as the form shows them.
      const { response, data } = on
        ? await send("POST", config.urls.enable, configValues())
        : await send("POST", config.urls.disable);
      if (response.ok) {
        await Promise.all([refreshWorker(), refreshChanges()]);
      } else {
        toggle.checked = !on;
        showFieldErrors(data);
        const fallback = on ? "The worker could not be turned on." : "The worker could not be turned off.";
        say(toggleMessage, response.status === 400 ? "Check the settings below first." : errorText(data, fallback), true);
      }
    } catch (error) {
      toggle.checked = !on;
      unreachable();
    }
    toggle.disabled = false;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("button[type='submit']", form);
    button.disabled = true;
    clearFieldErrors();
    say(configMessage, "");
    try {
      const { response, data } = await send("PATCH", config.urls.config, configValues());
      if (response.ok) {
        say(configMessage, "Saved.");
        await refreshWorker();
      } else if (response.status === 400) {
        showFieldErrors(data);
      } else if (response.status === 404) {
        say(configMessage, "Turn the worker on first; these settings apply from then.", true);
      } else {
        say(configMessage, errorText(data, "The settings could not be saved."), true);
      }
    } catch (error) {
      unreachable();
    }
    button.disabled = false;
  });

  let retryTimer = 0;
  function waitBeforeRunning(seconds) {
    const until = Date.now() + seconds * 1000;
    clearTimeout(retryTimer);
    const tick = () => {
      const left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) {
        retryTimer = 0;
        runNow.disabled = false;
        say(runMessage, "");
        return;
      }
      runNow.disabled = true;
      say(runMessage, `Run now was used just now. Try again in ${left} s.`, true);
      retryTimer = setTimeout(tick, 1000);
    };
    tick();
  }

  runNow.addEventListener("click", async () => {
    runNow.disabled = true;
    say(runMessage, "Starting…");
    askingForRun = true;
    finishedWhileAsking = null;
    try {
      const { response, data } = await send("POST", config.urls.runNow);
      askingForRun = false;
      if (response.status === 429) {
        waitBeforeRunning(Number(response.headers.get("Retry-After")) || 60);
        return;
      }
      if (response.ok && data.queued) {
        awaitingRun = true;
        say(runMessage, "Running. The results show here when it finishes.");
        if (finishedWhileAsking) {
          runFinished(finishedWhileAsking);
        }
      } else if (response.ok) {
        say(runMessage, "A run is already under way; its results show here when it finishes.");
      } else if (response.status === 404 || response.status === 409) {
        say(runMessage, "Turn the worker on to run it.", true);
      } else {
        say(runMessage, errorText(data, "The run could not be started."), true);
      }
    } catch (error) {
      askingForRun = false;
      say(runMessage, "");
      unreachable();
    }
    finishedWhileAsking = null;
    runNow.disabled = false;
  });

  function runFinished(run) {
    if (askingForRun) {
      finishedWhileAsking = run;
    }
    if (awaitingRun) {
      awaitingRun = false;
      const failed = run.outcome === "failed";
      // While the button waits out the limit, its countdown keeps the word.
      if (!retryTimer) {
        say(runMessage, failed ? "The run failed; the error is shown above." : "The run finished.", failed);
      }
    }
    refreshWorker();
    refreshChanges();
  }

  /* The live connection */

  const BASE_DELAY = 1000;
  const MAX_DELAY = 30000;
  // A connection that stayed up this long was a good one: after it drops,
  // the backoff starts again from the shortest delay.
  const STABLE_AFTER = 10000;
  const LIVE_LABELS = {
    live: "Live",
    connecting: "Connecting",
    reconnecting: "Reconnecting",
    "signed-out": "Signed out",
  };
  const live = {
    socket: null,
    lastId: Number(config.lastEventId) || 0,
    attempts: 0,
    openedAt: 0,
    timer: 0,
    over: false,
  };

  function setLive(state, detail) {
    const indicator = $("[data-live]");
    indicator.dataset.state = state;
    $("[data-live-label]", indicator).textContent = LIVE_LABELS[state];
    indicator.title = detail || "";
  }

  function signedOut() {
    if (live.over) return;
    live.over = true;
    clearTimeout(live.timer);
    if (live.socket) live.socket.close();
    setLive("signed-out", "Your session ended. Sign in again to see live updates.");
    const link = document.createElement("a");
    link.href = `${config.urls.login}?next=${encodeURIComponent(location.pathname)}`;
    link.textContent = "Sign in again";
    const label = $("[data-live-label]");
    label.replaceChildren(document.createTextNode("Signed out · "), link);
  }

  const handlers = {
    notification: addNotification,
    action_items_changed(change) {
      (change.removed || []).forEach(removeItem);
      (change.added || []).forEach(addItem);
    },
    forecast_updated(update) {
      showForecast(update.forecast || {}, update.reason);
      refreshChart();
    },
    run_finished: runFinished,
  };

  function receive(message) {
    if (message.event === "replay_truncated") {
      // More was missed than the server replays at once: start afresh.
      location.reload();
      return;
    }
    if (typeof message.id === "number") {
      // Ids only grow, so anything at or below the last one was shown.
      if (message.id <= live.lastId) return;
      live.lastId = message.id;
    }
    const handle = handlers[message.event];
    if (handle) handle(message.data || {});
  }

  function connect() {
    clearTimeout(live.timer);
    if (live.over) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(
      `${scheme}//${location.host}${config.urls.events}?since=${live.lastId}`,
    );
    live.socket = socket;
    setLive(live.attempts ? "reconnecting" : "connecting");
    socket.addEventListener("open", () => {
      live.openedAt = Date.now();
      setLive("live");
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      receive(message);
    });
    socket.addEventListener("close", (event) => {
      if (live.socket !== socket) return;
      live.socket = null;
      if (event.code === 4401) {
        signedOut();
        return;
      }
      if (live.openedAt && Date.now() - live.openedAt > STABLE_AFTER) live.attempts = 0;
      live.openedAt = 0;
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    // Exponential backoff, capped, with jitter, so that the tabs of everyone
    // who lost the same server do not all come back in the same instant.
    const ceiling = Math.min(MAX_DELAY, BASE_DELAY * 2 ** live.attempts);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    live.attempts += 1;
    setLive("reconnecting", `Trying again in ${Math.ceil(delay / 1000)} s`);
    live.timer = setTimeout(() => {
      connect();
      // What changed while the page was away is not in the event log.
      refreshChanges();
    }, delay);
  }

  function reconnectNow() {
    if (live.over || live.socket) return;
    live.attempts = 0;
    connect();
  }

  /* Start */

  drawChart(config.history);
  renderTimes();
  connect();
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    renderTimes();
    reconnectNow();
    refreshChanges();
  });
  setInterval(renderTimes, 30000);
  // The CRM's own edits are not events, so the pending changes are asked
  // for again now and then while the page is in view.
  setInterval(() => {
    if (!document.hidden && !live.over) refreshChanges();
  }, 30000);
})();
