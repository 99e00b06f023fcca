// The dashboard in a real headless Chromium, driven through the DevTools protocol by
// playwright-core, against a real panelgate process.
//
//   node dashboard.mjs BASE_URL SCREENSHOT_DIR CHROMIUM
//
// Run by crates/panelgate-server/tests/browser.rs, which starts panelgate and reads the
// figures this prints (one JSON object per line). Any failed step throws: exit status 1.
import { chromium } from "playwright-core";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";

const [base, shots, executablePath] = process.argv.slice(2);
const UI = `${base}/_panelgate/ui`;
const PASSWORD = "Br0wser-S3cret!";
const report = (o) => console.log(JSON.stringify(o));
function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

async function plesk(packet) {
  const r = await fetch(`${base}/enterprise/control/agent.php`, {
    method: "POST",
    headers: { HTTP_AUTH_LOGIN: "admin", HTTP_AUTH_PASSWD: "changeme1Q**", "Content-Type": "text/xml" },
    body: packet,
  });
  return r.text();
}
const addPacket = (login) =>
  `<packet><customer><add><gen_info><pname>Bro Wser</pname><login>${login}</login>` +
  `<passwd>${PASSWORD}</passwd><email>${login}@example.com</email></gen_info></add></customer></packet>`;

mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
// The network log: every request any page makes, to check none leaves panelgate.
const requests = [];
context.on("request", (r) => requests.push(r.url()));
const page = await context.newPage();
page.setDefaultTimeout(20000);

try {
  // 1. A customer created through the Plesk API, on the customers page with four renderings.
  const added = await plesk(addPacket("browserbob"));
  check(added.includes("<status>ok</status>"), `Plesk customer/add: ${added}`);
  const id = added.match(/<id>(\d+)<\/id>/)[1];
  await page.goto(`${UI}/customers`);
  await page.getByLabel("Search login, e-mail, name, company or owner").fill("browserbob");
  await page.getByRole("button", { name: "Search" }).click();
  const row = page.locator("tbody tr", { hasText: "browserbob" });
  await row.waitFor();
  check((await row.innerText()).includes("Plesk"), "the customer is marked as created through Plesk");
  await row.getByRole("link", { name: "browserbob" }).click();
  await page.waitForURL(`${UI}/customers/${id}`);
  const views = {};
  for (const panel of ["froxlor", "plesk", "ispsystem", "httpapi"]) {
    views[panel] = await page.locator(`[data-panel="${panel}"] pre`).innerText();
  }
  check(views.froxlor.includes('"loginname": "browserbob"'), `Froxlor view: ${views.froxlor}`);
  check(views.plesk.includes("<login>browserbob</login>"), `Plesk view: ${views.plesk}`);
  check(views.ispsystem.includes("<login>browserbob</login>"), `ISPsystem view: ${views.ispsystem}`);
  check(views.httpapi.includes('"useremail": "browserbob@example.com"'), `httpapi view: ${views.httpapi}`);
  report({ step: "customer with four renderings", customer: Number(id) });

  // 2. A backup started from the page; the task reaches `finished` without a reload.
  await page.getByRole("button", { name: "Back up this customer" }).click();
  await page.waitForURL(/\/_panelgate\/ui\/backups\?done=backup\+task\+\d+/);
  const task = new URL(page.url()).searchParams.get("done").match(/task (\d+)/)[1];
  let navigations = 0;
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) navigations += 1;
  });
  const started = Date.now();
  const finished = page.locator(`tr[data-task="${task}"][data-state="finished"]`);
  await finished.waitFor({ timeout: 30000 });
  check(navigations === 0, `the page reloaded ${navigations} times while the task ran`);
  report({ step: "backup finished without reload", task: Number(task), waited_ms: Date.now() - started });

  // 3. The archive downloaded from the page has the SHA-256 the page shows.
  const link = finished.getByRole("link", { name: /archive \d+/ });
  const archive = (await link.innerText()).match(/\d+/)[0];
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  const path = `${shots}/archive-${archive}.bin`;
  await download.saveAs(path);
  const got = createHash("sha256").update(readFileSync(path)).digest("hex");
  await page.reload();
  const shown = await page.locator(`tr[data-archive="${archive}"] [data-sha256]`).getAttribute("data-sha256");
  check(got === shown, `downloaded SHA-256 ${got} is the page's ${shown}`);
  report({ step: "archive downloaded", archive: Number(archive), sha256: got });

  // 4. The Plesk request in the journal, its password redacted.
  await page.goto(`${UI}/journal`);
  await page.getByLabel("Protocol").selectOption("plesk");
  await page.getByLabel("Call").fill("customer/add");
  await page.getByRole("button", { name: "Filter" }).click();
  const entry = page.locator("article.entry", { hasText: "customer/add" }).first();
  await entry.locator("summary").click();
  const text = await entry.innerText();
  check(text.includes("<passwd>***</passwd>"), `the journal entry shows the redacted password: ${text}`);
  check(!(await page.content()).includes(PASSWORD), "the password is nowhere on the journal page");
  report({ step: "journal shows the Plesk request redacted" });

  // 5. A fault rule added from the page fails the next API call.
  await page.goto(`${UI}/faults`);
  await page.getByLabel("Protocol").selectOption("plesk");
  await page.getByLabel("Call (* matches any run)").fill("customer/add");
  await page.getByLabel("Effect").selectOption("error");
  await page.getByLabel("Times (empty: no end)").fill("1");
  await page.getByLabel("Error message").fill("Browser fault");
  await page.getByLabel("Error code (Plesk errcode)").fill("1013");
  await page.getByRole("button", { name: "Add rule" }).click();
  await page.getByRole("status").filter({ hasText: "fault rule" }).waitFor();
  const failed = await plesk(addPacket("browserfail"));
  check(failed.includes("<errcode>1013</errcode>") && failed.includes("Browser fault"), `the next call fails: ${failed}`);
  const after = await plesk(addPacket("browserok"));
  check(after.includes("<status>ok</status>"), `the one after succeeds: ${after}`);
  report({ step: "fault from the page fails the next call" });

  // 6. Reset from the page brings the demo data back.
  await page.goto(`${UI}/snapshots`);
  await page.getByRole("button", { name: "Reset to the seed data" }).click();
  await page.getByRole("status").filter({ hasText: "store reset" }).waitFor();
  await page.goto(`${UI}/customers`);
  const logins = await page.locator("tbody tr td:nth-child(2)").allInnerTexts();
  check(logins.includes("customer1") && logins.includes("customer2"), `demo customers back: ${logins}`);
  check(!logins.includes("browserbob") && !logins.includes("browserok"), `created customers gone: ${logins}`);
  report({ step: "reset brings the demo data back", customers: logins.length });

  // Keyboard: the first Tab reaches the skip link, which leads to the content; the overview
  // names the listener as bound.
  await page.goto(UI);
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement.textContent);
  check(first === "Skip to content", `the first Tab reaches ${first}`);
  await page.keyboard.press("Enter");
  check(page.url().endsWith("#main"), `the skip link leads to the content: ${page.url()}`);
  await page.locator("dd code", { hasText: base }).waitFor();
  // Without JavaScript the pages still read and their forms still work.
  const plain = await browser.newContext({ javaScriptEnabled: false });
  plain.on("request", (r) => requests.push(r.url()));
  const np = await plain.newPage();
  await np.goto(`${UI}/customers?q=customer1`);
  check((await np.locator("tbody tr").count()) >= 1, "the customers table without JavaScript");
  await np.goto(`${UI}/faults`);
  await np.getByRole("button", { name: "Advance" }).click();
  await np.getByRole("status").filter({ hasText: "clock advanced" }).waitFor();
  await plain.close();
  report({ step: "keyboard and no-JavaScript checks" });

  // Screenshots and page weights of every page at desktop and phone width. A fresh customer
  // and backup give the customer and backups pages something to show.
  const again = await plesk(addPacket("screenshot"));
  const shotId = again.match(/<id>(\d+)<\/id>/)[1];
  await fetch(`${base}/_panelgate/backups?scope=customer:${shotId}`, { method: "POST" });
  await new Promise((r) => setTimeout(r, 1500));
  const pages = {
    overview: "",
    customers: "/customers",
    customer: `/customers/${shotId}`,
    backups: "/backups",
    journal: "/journal",
    faults: "/faults",
    snapshots: "/snapshots",
  };
  for (const [name, path] of Object.entries(pages)) {
    // Weight: every byte a fresh load of the page fetches until it has loaded.
    const p = await context.newPage();
    const bodies = [];
    p.on("response", (r) => bodies.push(r.body().then((b) => b.length, () => 0)));
    await p.goto(`${UI}${path}`, { waitUntil: "load" });
    const bytes = (await Promise.all(bodies)).reduce((a, b) => a + b, 0);
    check(bytes < 200 * 1024, `${name} weighs ${bytes} bytes`);
    for (const [width, height, label] of [[1280, 900, "desktop"], [390, 844, "phone"]]) {
      await p.setViewportSize({ width, height });
      await p.screenshot({ path: `${shots}/${name}-${label}.png`, fullPage: true });
    }
    // At phone width nothing is wider than the screen but the scrolling tables.
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `${name} is ${overflow}px wider than a phone`);
    await p.close();
    report({ page: name, bytes, screenshots: [`${name}-desktop.png`, `${name}-phone.png`] });
  }

  const outside = requests.filter((u) => !u.startsWith(`${base}/`) && !u.startsWith("data:"));
  check(outside.length === 0, `requests outside panelgate: ${outside}`);
  report({ step: "network log", requests: requests.length, outside: outside.length });
} catch (e) {
  await page.screenshot({ path: `${shots}/failure.png`, fullPage: true }).catch(() => {});
  console.error(e.stack || String(e));
  process.exitCode = 1;
} finally {
  await browser.close();
}
