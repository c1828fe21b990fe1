// End-to-end test of the agent page in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) on the real stack: runs `confpayd demo --serve` (the simulator as FreeSWITCH, and
// the daemon's real parts — inbound ESL client, engine, outbound socket server, HTTP API — connected
// to it over loopback TCP), takes a payment on the demo's fresh call, starts capture with the
// keyboard, lets the scripted customer key a card and the capture service hang up, and checks the
// page shows "Completed". Screenshots: target/browser/agent-page.png (and agent-page-ready.png).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR || join(root, 'target');
const confpayd = process.env.CONFPAYD_BIN || join(targetDir, 'debug', 'confpayd');
const shots = join(targetDir, 'browser');
const TOKEN = 'browser-test-token';
const CARD = '4111111111111111';

// `confpayd demo --serve` plays its scripted call (both payments must complete), then prints
// `DEMO_READY url=... customer=... agent=...` once a fresh call is up for the browser.
function startDemo() {
  const child = spawn(confpayd, ['demo', '--serve', '--token', TOKEN, '--speed', '4'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('demo did not get ready: ' + out)), 60000);
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error('demo exited ' + code + ': ' + out)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/DEMO_READY url=(\S+) customer=(\S+) agent=(\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, out, url: m[1], customer: m[2], agent: m[3] });
      }
    });
  });
}

test('agent takes a payment with ACA and sees it complete', { timeout: 120000 }, async () => {
  mkdirSync(shots, { recursive: true });
  const h = await startDemo();
  // The scripted run before it completed both start methods and printed no card digits.
  assert.match(h.out, /outcome: Completed \(Keyphone\)/);
  assert.match(h.out, /outcome: Completed \(Aca\)/);
  assert.ok(!h.out.includes(CARD.slice(0, 6)), 'card digits in the demo output');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const seenBodies = [];
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
    page.on('response', async (r) => {
      if (r.url().includes('/api/v1/') && !r.url().includes('/events')) {
        try { seenBodies.push(await r.text()); } catch (_) { /* streamed or gone */ }
      }
    });
    await page.goto(h.url);
    assert.equal(await page.title(), 'confpay – take a payment');

    // Without the token the API refuses, and the page says so.
    await page.getByRole('alert').filter({ hasText: 'unauthorized' }).waitFor();

    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Use token' }).click();
    // The one active call is listed and picked.
    await page.waitForFunction((c) => document.getElementById('target-id').value === c, h.customer);
    assert.equal(await page.getByLabel('Find call by').inputValue(), 'customer');

    await page.getByRole('button', { name: 'Take payment' }).click();
    const status = page.locator('#status');
    await page.locator('#status[data-state="ready"]').waitFor({ timeout: 20000 });
    assert.match(await status.textContent(), /ready/i);
    assert.equal(await status.getAttribute('aria-live'), 'polite');
    assert.equal(await page.locator('#steps li[data-step="agentid"]').getAttribute('class'), 'done');
    assert.equal(await page.getByRole('button', { name: 'Start capture' }).isEnabled(), true);
    await page.screenshot({ path: join(shots, 'agent-page-ready.png'), fullPage: true });

    // Keyboard: focus Start capture and press Enter.
    await page.getByRole('button', { name: 'Start capture' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('#status[data-state="capturing"]').waitFor({ timeout: 20000 });
    assert.equal(await page.locator('#elapsed-line').isVisible(), true);
    assert.equal(await page.locator('#elapsed-label').textContent(), 'Capturing for');

    // The scripted customer keys the card; the capture service hangs up; the session unwinds.
    await page.locator('#status[data-state="done"]').waitFor({ timeout: 30000 });
    const text = await status.textContent();
    assert.match(text, /^Completed: payment capture completed \(started by the agent\)/);
    assert.equal(await page.locator('#steps li[data-step="done"]').getAttribute('class'), 'done');
    assert.match(await page.locator('#elapsed-line').textContent(), /^Capture took \d+:\d\d$/);
    assert.equal(await page.getByRole('button', { name: 'Take payment' }).isEnabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Cancel' }).isEnabled(), false);
    await page.screenshot({ path: join(shots, 'agent-page.png'), fullPage: true });

    // PCI: the card number is nowhere on the page or in what the API sent it.
    const pageText = await page.locator('body').innerText();
    assert.ok(!pageText.includes(CARD.slice(0, 6)), 'card digits on the page');
    assert.ok(seenBodies.length > 0);
    for (const b of seenBodies) assert.ok(!b.includes(CARD.slice(0, 6)), 'card digits in ' + b);

    // Ctrl-C ends `confpayd demo --serve` cleanly.
    h.child.removeAllListeners('exit');
    const exited = new Promise((resolve) => h.child.on('exit', (code, signal) => resolve({ code, signal })));
    h.child.kill('SIGINT');
    assert.deepEqual(await exited, { code: 0, signal: null });
  } finally {
    await browser.close();
    h.child.removeAllListeners('exit');
    if (h.child.exitCode === null) h.child.kill('SIGKILL');
  }
});
