"use strict";
// The page's behaviour: two drawing pads, an upload, and the public JSON API (no other origin, no build step).

(() => {
  const KEY_STORAGE = "digit-service.api-key";
  const AUTO_CLASSIFY_MS = 700;
  const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const $ = (id) => document.getElementById(id);
  const percent = (p) => `${(100 * p).toFixed(p >= 0.995 || p < 0.005 ? 2 : 1)}%`;

  class ApiError extends Error {}
  class KeyNeeded extends ApiError {}

  let retryAfterKey = null;
  let modelThresholds = null;

  function showError(message) {
    $("error").textContent = message;
    $("error").hidden = false;
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  async function api(path, init = {}) {
    const headers = new Headers(init.headers);
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) headers.set("Authorization", `Bearer ${key}`);
    let response;
    try {
      response = await fetch(path, { ...init, headers });
    } catch (error) {
      throw new ApiError(`The service could not be reached (${error.message}).`);
    }
    if (response.status === 401) {
      throw new KeyNeeded(key ? "The service refused this API key: enter a valid one below."
                              : "This service needs an API key: enter it below.");
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const detail = body && (body.detail || body.error);
      throw new ApiError(`The service answered ${response.status}: ${detail || response.statusText || "no details"}`);
    }
    if (body === null) throw new ApiError(`The service answered ${response.status} without JSON.`);
    return body;
  }

  // Every action goes through here: its failure shows in the page, never as an uncaught error.
  async function run(action) {
    try {
      await action();
      clearError();
    } catch (error) {
      if (error instanceof KeyNeeded) {
        retryAfterKey = action;
        $("auth").hidden = false;
        $("api-key").focus();
      }
      showError(error instanceof ApiError ? error.message : `Something went wrong on this page: ${error.message}`);
    }
  }

  class Pad {
    constructor(canvas, penWidth, events) {
      this.canvas = canvas;
      this.context = canvas.getContext("2d");
      this.penWidth = penWidth;
      this.events = events;
      this.hasInk = false;
      this.last = null;
      canvas.addEventListener("pointerdown", (event) => this.down(event));
      canvas.addEventListener("pointermove", (event) => this.move(event));
      canvas.addEventListener("pointerup", () => this.up());
      canvas.addEventListener("pointercancel", () => this.up());
    }

    at(event) {
      return [event.offsetX * this.canvas.width / this.canvas.clientWidth,
              event.offsetY * this.canvas.height / this.canvas.clientHeight];
    }

    down(event) {
      if (event.pointerType === "mouse" && event.button !== 0) return;
      event.preventDefault();
      this.canvas.setPointerCapture(event.pointerId);
      this.last = this.at(event);
      this.events.start();
      this.stroke(this.last);
    }

    move(event) {
      if (this.last === null) return;
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      for (const each of events.length ? events : [event]) this.stroke(this.at(each));
    }

    up() {
      if (this.last === null) return;
      this.last = null;
      this.events.end();
    }

    stroke(to) {
      const context = this.context;
      context.strokeStyle = "#000000";
      context.lineWidth = this.penWidth;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.beginPath();
      context.moveTo(...this.last);
      context.lineTo(...to);
      context.stroke();
      this.last = to;
      this.hasInk = true;
    }

    clear() {
      this.context.clearRect(0, 0, this.canvas.width, this.canvas.height);
      this.hasInk = false;
    }

    // Dark ink on white, like a scan: the service inverts it and prepares it the MNIST way.
    pngBase64() {
      const page = document.createElement("canvas");
      page.width = this.canvas.width;
      page.height = this.canvas.height;
      const context = page.getContext("2d");
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, page.width, page.height);
      context.drawImage(this.canvas, 0, 0);
      return page.toDataURL("image/png").split(",", 2)[1];
    }
  }

  // One panel's requests: only the newest answer is shown; drawing or clearing cancels older ones.
  class Panel {
    constructor(classify) {
      this.classify = classify;
      this.ticket = 0;
      this.timer = null;
    }

    invalidate() {
      this.ticket += 1;
      clearTimeout(this.timer);
    }

    schedule() {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => run(this.classify), AUTO_CLASSIFY_MS);
    }

    async answer(request, render) {
      const ticket = ++this.ticket;
      const body = await request;
      if (ticket === this.ticket) render(body.predictions[0]);
    }
  }

  function makeBars(list, withThreshold) {
    for (const digit of DIGITS) {
      const item = document.createElement("li");
      item.dataset.label = String(digit);
      item.dataset.probability = "0";
      if (withThreshold) {
        item.dataset.threshold = "";
        item.dataset.flag = "false";
      }
      item.innerHTML = '<span class="name"></span><span class="track"><span class="fill"></span></span><span class="value">-</span>';
      item.querySelector(".name").textContent = String(digit);
      if (withThreshold) item.querySelector(".track").insertAdjacentHTML("beforeend", '<span class="mark" hidden></span>');
      list.append(item);
    }
  }

  function setBar(item, probability) {
    item.dataset.probability = String(probability);
    item.querySelector(".fill").style.width = `${100 * probability}%`;
    item.querySelector(".value").textContent = probability.toFixed(3);
  }

  function resetBars(list) {
    for (const item of list.children) {
      item.dataset.probability = "0";
      item.querySelector(".fill").style.width = "0";
      item.querySelector(".value").textContent = "-";
      item.classList.remove("top");
      if ("flag" in item.dataset) item.dataset.flag = "false";
    }
  }

  // ---- Panel "Which digit?" (softmax) ----

  const digitPanel = new Panel(classifyDigit);
  const digitPad = new Pad($("digit-pad"), 20, {
    start: () => { digitPanel.invalidate(); resetDigit(); },
    end: () => digitPanel.schedule(),
  });

  async function classifyDigit() {
    if (!digitPad.hasInk) {
      $("digit-summary").textContent = "Draw a digit first.";
      return;
    }
    const body = JSON.stringify({ instances: [{ b64: digitPad.pngBase64() }], explain: true });
    $("digit-summary").textContent = "Classifying...";
    await digitPanel.answer(
      api("predict/multiclass", { method: "POST", headers: { "Content-Type": "application/json" }, body }),
      renderDigit);
  }

  async function uploadDigit() {
    const file = $("upload").files[0];
    if (!file) return;
    digitPanel.invalidate();
    resetDigit();
    const form = new FormData();
    form.append("file", file);
    form.append("explain", "true");
    $("digit-summary").textContent = `Classifying ${file.name}...`;
    await digitPanel.answer(api("predict/multiclass", { method: "POST", body: form }), renderDigit);
  }

  function renderDigit(prediction) {
    const result = $("digit-result");
    result.textContent = String(prediction.label);
    result.dataset.label = String(prediction.label);
    $("digit-summary").textContent = `The model reads a ${prediction.label}, with probability ${percent(prediction.probability)}.`;
    $("not-digit").hidden = prediction.is_digit !== false;
    for (const item of $("digit-bars").children) {
      const digit = Number(item.dataset.label);
      setBar(item, prediction.probabilities[digit]);
      item.classList.toggle("top", digit === prediction.label);
    }
    $("digit-top3").textContent = prediction.top_k.slice(0, 3)
      .map((entry) => `${entry.label} (${percent(entry.probability)})`).join(", ");
    drawExplanation(prediction.input, prediction.explanation, prediction.label);
  }

  function resetDigit() {
    const result = $("digit-result");
    result.textContent = "?";
    delete result.dataset.label;
    $("digit-summary").textContent = "Draw a digit and press Classify.";
    $("not-digit").hidden = true;
    $("digit-top3").textContent = "none yet";
    resetBars($("digit-bars"));
    const canvas = $("explain-canvas");
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  }

  // The image the model saw in gray, red where covering lowers the answer's probability, blue where it raises it.
  function drawExplanation(input, explanation, label) {
    const canvas = $("explain-canvas");
    const context = canvas.getContext("2d");
    const image = context.createImageData(canvas.width, canvas.height);
    const values = explanation.flat();
    const peak = Math.max(...values.map(Math.abs)) || 1;
    input.flat().forEach((gray, index) => {
      const strength = values[index] / peak;
      const alpha = 0.85 * Math.min(1, Math.abs(strength));
      const tint = strength > 0 ? [255, 40, 40] : [60, 130, 255];
      for (let channel = 0; channel < 3; channel += 1) {
        image.data[4 * index + channel] = (1 - alpha) * gray + alpha * tint[channel];
      }
      image.data[4 * index + 3] = 255;
    });
    context.putImageData(image, 0, 0);
    const strongest = Math.max(...values);
    $("explain-caption").textContent =
      `The image the model saw (28 x 28 pixels). Red regions support the ${label}: covering the strongest ` +
      `lowers its probability by ${strongest.toFixed(4)} on average. Blue regions argue against it.`;
  }

  // ---- Panel "Which digits?" (sigmoid per label) ----

  const digitsPanel = new Panel(classifyDigits);
  const digitsPad = new Pad($("digits-pad"), 12, {
    start: () => { digitsPanel.invalidate(); resetDigits(); },
    end: () => digitsPanel.schedule(),
  });

  function thresholdOverride() {
    return $("threshold-override").checked ? Number($("threshold").value) : null;
  }

  async function classifyDigits() {
    if (!digitsPad.hasInk) {
      $("digits-summary").textContent = "Draw digits first.";
      return;
    }
    const override = thresholdOverride();
    const request = { instances: [{ b64: digitsPad.pngBase64() }] };
    if (override !== null) request.threshold = override;
    $("digits-summary").textContent = "Classifying...";
    await digitsPanel.answer(
      api("predict/multilabel", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request) }),
      (prediction) => renderDigits(prediction, override));
  }

  function renderDigits(prediction, override) {
    const result = $("digits-result");
    result.dataset.labels = prediction.labels.join(",");
    result.textContent = prediction.labels.length ? prediction.labels.join(" ") : "none";
    $("digits-summary").textContent = prediction.labels.length
      ? `Found ${prediction.labels.join(", ")}: each of these passed its own threshold.`
      : "No digit passed its threshold.";
    showThresholds(override);
    for (const item of $("digits-bars").children) {
      const digit = Number(item.dataset.label);
      setBar(item, prediction.probabilities[digit]);
      item.dataset.flag = String(prediction.flags[digit]);
    }
  }

  function showThresholds(override) {
    for (const item of $("digits-bars").children) {
      const threshold = override ?? (modelThresholds ? modelThresholds[Number(item.dataset.label)] : null);
      const mark = item.querySelector(".mark");
      item.dataset.threshold = threshold === null ? "" : String(threshold);
      mark.hidden = threshold === null;
      if (threshold !== null) mark.style.left = `${100 * threshold}%`;
    }
  }

  function resetDigits() {
    const result = $("digits-result");
    result.textContent = "?";
    delete result.dataset.labels;
    $("digits-summary").textContent = "Draw digits in the squares and press Classify.";
    resetBars($("digits-bars"));
  }

  // ---- Model cards ----

  function describe(card) {
    const metrics = card.metrics || {};
    const tested = metrics.test_size ? ` on ${metrics.test_size.toLocaleString("en")} test` : "";
    if (card.task === "multiclass") {
      return `Model ${card.name} ${card.version}: accuracy ${percent(metrics.accuracy ?? 0)}${tested} digits; ` +
        `expected calibration error ${percent(metrics.ece_after ?? 0)} after temperature scaling.`;
    }
    return `Model ${card.name} ${card.version}: micro-F1 ${(metrics.micro_f1 ?? 0).toFixed(4)}${tested} pictures; ` +
      `all ten answers right on ${percent(metrics.exact_match ?? 0)} of them.`;
  }

  async function loadModels() {
    const { models } = await api("models");
    for (const card of models) {
      $(`${card.task}-info`).textContent = describe(card);
      if (card.task === "multilabel") modelThresholds = card.thresholds;
    }
    showThresholds(thresholdOverride());
  }

  // ---- Wiring ----

  makeBars($("digit-bars"), false);
  makeBars($("digits-bars"), true);

  $("digit-classify").addEventListener("click", () => { digitPanel.invalidate(); run(classifyDigit); });
  $("digit-clear").addEventListener("click", () => { digitPanel.invalidate(); digitPad.clear(); resetDigit(); });
  $("upload").addEventListener("change", () => run(uploadDigit));
  $("digits-classify").addEventListener("click", () => { digitsPanel.invalidate(); run(classifyDigits); });
  $("digits-clear").addEventListener("click", () => { digitsPanel.invalidate(); digitsPad.clear(); resetDigits(); });

  const rerunDigits = () => {
    showThresholds(thresholdOverride());
    if ($("digits-result").dataset.labels !== undefined) run(classifyDigits);
  };
  $("threshold").addEventListener("input", () => { $("threshold-value").textContent = Number($("threshold").value).toFixed(2); });
  $("threshold").addEventListener("change", rerunDigits);
  $("threshold-override").addEventListener("change", () => {
    $("threshold").disabled = !$("threshold-override").checked;
    rerunDigits();
  });

  $("auth-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, $("api-key").value.trim());
    $("api-key").value = "";
    $("auth").hidden = true;
    clearError();
    const pending = retryAfterKey;
    retryAfterKey = null;
    run(async () => {
      await loadModels();
      if (pending && pending !== loadModels) await pending();
    });
  });

  window.addEventListener("unhandledrejection", (event) => showError(`Something went wrong on this page: ${event.reason}`));
  run(loadModels);
})();
