// Opens a page in headless Chromium (the system's, through playwright-core; no browser download),
// waits until its #result element has a data-state, and prints #result's text (JSON) on stdout.
// Usage: node drive.mjs PAGE_URL [TIMEOUT_MS]; CHROMIUM names the browser (default /usr/bin/chromium).
// Exit status 0 when the page reports "done", 1 when it reports "error", 2 when it never finished.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [pageUrl, timeoutArg] = process.argv.slice(2);
if (!pageUrl) {
  process.stderr.write("usage: node drive.mjs PAGE_URL [TIMEOUT_MS]\n");
  process.exit(2);
}
const timeout = Number(timeoutArg ?? 30000);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
// A fresh profile each run, and nothing that phones home: the network here refuses all but 127.0.0.1.
const userDataDir = mkdtempSync(join(tmpdir(), "edgenats-chromium-"));
const args = [
  "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args, timeout });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (msg) => process.stderr.write(`console.${msg.type()}: ${msg.text()}\n`));
  page.on("pageerror", (err) => process.stderr.write(`pageerror: ${err}\n`));
  await page.goto(pageUrl, { timeout });
  const result = page.locator("#result[data-state]");
  try {
    await result.waitFor({ state: "attached", timeout });
  } catch (err) {
    process.stderr.write(`the page did not finish: ${err}\n`);
    process.exitCode = 2;
  }
  if (process.exitCode !== 2) {
    process.stdout.write(`${await result.textContent()}\n`);
    process.exitCode = (await result.getAttribute("data-state")) === "done" ? 0 : 1;
  }
} finally {
  await context?.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
