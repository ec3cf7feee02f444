// Drives the metlog web UI in headless Chromium with playwright-core. The
// Go test (browser_test.go) starts the router, feeds it and runs this with
// BASE (the router's URL), OUT (the screenshot directory), PLAYWRIGHT (the
// playwright-core directory), CHROMIUM and CHROMIUM_FLAGS. It prints "live"
// when it wants live messages, and its result as one JSON line last.
"use strict";
const path = require("path");
const fs = require("fs");
const os = require("os");
const { chromium } = require(process.env.PLAYWRIGHT);

const base = process.env.BASE;
const out = process.env.OUT;
const failures = [];
const checks = {};

function check(name, ok, detail) {
  checks[name] = ok ? true : detail || false;
  if (!ok) failures.push(`${name}: ${detail || "failed"}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(out, name + ".png"), fullPage: true });
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "metlog-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: process.env.CHROMIUM_FLAGS.split(" "),
    viewport: { width: 1440, height: 900 },
  });
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.setDefaultTimeout(15000);
  try {
    // With a token, the router asks the browser to sign in first; the
    // cookie it sets then carries every request (fetch, EventSource).
    if (process.env.TOKEN) {
      await page.goto(base + "/ui/overview");
      check("sign-in form", (await page.locator('input[name="token"]').count()) === 1);
      await page.fill('input[name="token"]', "wrong");
      await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
      check("wrong token refused", (await page.getByRole("alert").count()) === 1);
      await page.fill('input[name="token"]', process.env.TOKEN);
      await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
      check("signed in", page.url().endsWith("/ui/overview"), page.url());
    }
    // Overview: the first paint, then the rates once two polls are in.
    let t0 = Date.now();
    await page.goto(base + "/");
    await page.waitForSelector("#outputs tbody tr");
    checks.overview_ms = Date.now() - t0;
    check("overview redirect", page.url().endsWith("/ui/overview"), page.url());
    await page.waitForSelector("#types tbody tr");
    const types = await page.$$eval("#types tbody td:first-child", (tds) => tds.map((td) => td.textContent));
    check("overview types", types.includes("oldstyle") || types.length >= 2, JSON.stringify(types));
    await page.waitForFunction(() => !document.querySelector("#card-rate .value").textContent.includes("…"));
    await shot(page, "overview");

    // Messages: type a matcher, press Enter, see the rows; the URL carries it.
    await page.click("header nav a[data-page=messages]");
    await page.waitForSelector("#match");
    await page.keyboard.press("/");
    await page.fill("#match", 'Logger == "checkout" && Severity == 6');
    await page.fill("#q", "placed");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelectorAll("#results tbody tr.row").length === 20);
    const url = new URL(page.url());
    check("messages url", url.searchParams.get("match") === 'Logger == "checkout" && Severity == 6' && url.searchParams.get("q") === "placed", page.url());
    const first = await page.textContent("#results tbody tr.row td.payload");
    check("messages newest first", first === "order 19 placed", first);
    await page.focus("#results tbody tr.row");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#results tr.detail");
    const detail = await page.textContent("#results tr.detail");
    check("message detail", detail.includes("fields[customer]") && detail.includes("ada") && detail.includes("fields[order] integer"), detail.slice(0, 200));
    await shot(page, "messages");

    // A shared URL renders the same search; a bad matcher says why.
    await page.goto(base + "/ui/messages?" + new URLSearchParams({ match: 'Severity <= 4' }));
    await page.waitForFunction(() => document.querySelectorAll("#results tbody tr.row").length >= 2);
    const sevs = await page.$$eval("#results tbody tr.row td.payload", (tds) => tds.map((td) => td.textContent));
    check("shared url", sevs.includes("payment gateway slow"), JSON.stringify(sevs));
    const before = errors.length;
    await page.fill("#match", "Type ==");
    await page.keyboard.press("Enter");
    await page.waitForSelector(".error");
    check("bad matcher error", (await page.textContent(".error")).length > 0);
    errors.splice(before); // the 400 answer is the point of this step

    // A custom range in a shared URL: the future holds nothing, the last
    // hour everything.
    const hourAgo = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600e3);
    const future = new Date(Date.now() + 3600e3).toISOString();
    await page.goto(base + "/ui/messages?" + new URLSearchParams({ match: 'Logger == "checkout"', from: future }));
    await page.waitForSelector("#empty");
    check("custom range shown", (await page.inputValue("#range")) === "custom" && (await page.inputValue("#from")) !== "", await page.inputValue("#range"));
    await page.fill("#from", new Date(hourAgo.getTime() - hourAgo.getTimezoneOffset() * 60000).toISOString().slice(0, 19));
    await page.keyboard.press("Enter");
    await page.waitForSelector("#results tbody tr.row");
    check("custom range url", new URL(page.url()).searchParams.get("from") === hourAgo.toISOString(), page.url());

    // Live tail: rows arrive without a reload.
    await page.goto(base + "/ui/messages?" + new URLSearchParams({ match: 'Payload =~ /^live order/', live: "1" }));
    await page.waitForSelector("#live:checked");
    await page.waitForSelector("#live-state.live"); // the stream is open
    console.log("live");
    await page.waitForFunction(() => document.querySelectorAll("#results tbody tr.row").length >= 3, null, { timeout: 20000 });
    const liveRows = await page.$$eval("#results tbody tr.row td.payload", (tds) => tds.map((td) => td.textContent));
    check("live tail", liveRows.every((p) => p.startsWith("live order")), JSON.stringify(liveRows.slice(0, 5)));
    checks.live_rows = liveRows.length;
    const state = await page.textContent("#live-state");
    check("live state", state.startsWith("following"), state);
    await shot(page, "live");

    // Metrics: pick names, see charts with points.
    await page.goto(base + "/ui/metrics");
    await page.waitForSelector(".names input[value='counter:orders']");
    await page.check(".names input[value='counter:orders']");
    await page.check(".names input[value='timer:db.query']");
    await page.waitForSelector(".chart[data-metric='orders'] .plot[data-points]");
    await page.waitForSelector(".chart[data-metric='db.query'] .plot[data-points]");
    const points = await page.$$eval(".plot[data-points]", (els) => els.map((e) => Number(e.dataset.points)));
    check("chart points", points.length === 2 && points.every((n) => n > 0), JSON.stringify(points));
    check("chart canvas", (await page.$$(".chart canvas")).length === 2, "no canvas");
    const murl = new URL(page.url());
    check("metrics url", murl.searchParams.getAll("m").length === 2, page.url());
    await page.hover(".chart[data-metric='db.query'] .u-over");
    await shot(page, "metrics");

    // Exceptions: the group, its sparkline and its stack trace.
    await page.goto(base + "/ui/exceptions");
    await page.waitForSelector("#groups tbody tr.row");
    const title = await page.textContent("#groups tbody tr.row strong");
    check("exception group", title.includes("PathError"), title);
    check("sparkline", (await page.$$("#groups .spark canvas")).length >= 1, "no sparkline canvas");
    await page.click("#groups tbody tr.row");
    const stack = await page.textContent("#groups .stack");
    check("stack trace", stack.includes("browser_test.go"), stack.slice(0, 300));
    await shot(page, "exceptions");
    // Its sample opens on the Messages page: that one message.
    await Promise.all([page.waitForURL(/\/ui\/messages/), page.click("#groups tr.detail a")]);
    await page.waitForSelector("#results tbody tr.row");
    const sampleRows = await page.$$("#results tbody tr.row");
    const surl = new URL(page.url());
    check("sample message", sampleRows.length === 1 && surl.searchParams.get("to") !== null, `${sampleRows.length} rows at ${page.url()}`);

    // Router: plugins in effect and their health.
    t0 = Date.now();
    await page.goto(base + "/ui/router");
    await page.waitForSelector("#router-outputs tbody tr");
    checks.router_ms = Date.now() - t0;
    const health = await page.textContent("#router-outputs .badge");
    check("router health", health === "ok", health);
    await page.waitForSelector("#router-config");
    const conf = await page.textContent("#router-config");
    check("router config in effect", conf.includes("[output.store]") && conf.includes("batch_size"), conf.slice(0, 200));
    const stored = await page.textContent("#router-store tbody tr td:nth-child(2)");
    check("store totals", Number(stored.replace(/[^0-9]/g, "")) > 0, stored);
    await shot(page, "router");

    // A narrow laptop screen: the charts follow the window.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(base + "/ui/metrics?m=counter:orders");
    await page.waitForSelector(".chart canvas");
    await page.setViewportSize({ width: 1024, height: 768 });
    await page.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth &&
      document.querySelector(".chart .uplot").offsetWidth <= document.querySelector(".chart").clientWidth);
    await shot(page, "metrics-1024");
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(base + "/ui/messages?" + new URLSearchParams({ match: 'Logger == "checkout"' }));
    await page.waitForSelector("#results tbody tr.row");
    await shot(page, "messages-1280");
  } catch (e) {
    failures.push(String(e.stack || e));
    await shot(page, "failure").catch(() => {});
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  if (errors.length) failures.push("page errors: " + errors.join("; "));
  console.log(JSON.stringify({ ok: failures.length === 0, failures, checks }));
}

main().catch((e) => {
  console.log(JSON.stringify({ ok: false, failures: [String(e.stack || e)], checks }));
});
