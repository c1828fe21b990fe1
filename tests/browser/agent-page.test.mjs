// End-to-end test of the agent page in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) on the real stack: runs `confpayd demo --serve` (the simulator as FreeSWITCH, and
// the daemon's real parts — inbound ESL client, engine, outbound socket server, HTTP API — connected
// to it over loopback TCP) with an admin token and per-agent tokens, and walks the page through
// each state an agent sees: no call, the supervisor's list, the agent's own call (caller name and
// number as the switch knows them, talking time ticking), payment starting, ready, capturing (the
// capture time ticking), completed, and a failure read as what to do next (the customer hangs up:
// a real `uuid_kill` on the simulator's ESL). A PNG per state lands in docs/agent-page/ (committed,
// shown in README); the card number is never on the page or in what the API sent it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR || join(root, 'target');
const confpayd = process.env.CONFPAYD_BIN || join(targetDir, 'debug', 'confpayd');
const shots = process.env.AGENT_PAGE_SHOTS || join(root, 'docs', 'agent-page');
const ADMIN = 'browser-test-token';
const SECRET = 'browser-test-platform-secret-of-32-bytes-or-more';
const AGENT_ID = '4711';       // the demo's dialplan puts this agent ID on its calls
const CARD = '4111111111111111';
const PRE_READY = ['idle', 'awaiting_agent_id', 'moving', 'holding', 'dialling', 'answered',
  'sending_agent_id', 'unholding'];

const b64 = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

// What the call-centre platform does: an HS256 JWT naming one agent, valid for ten minutes.
function agentToken(agentId) {
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ agent_id: agentId, exp: Math.floor(Date.now() / 1000) + 600 });
  const sig = createHmac('sha256', SECRET).update(head + '.' + body).digest('base64url');
  return head + '.' + body + '.' + sig;
}

// `confpayd demo --serve` plays its scripted call (both payments must complete), then prints
// `DEMO_READY url=... customer=... agent=...` once a fresh call is up for the browser.
function startDemo() {
  const child = spawn(confpayd, ['demo', '--serve', '--token', ADMIN, '--agent-secret', SECRET,
    '--speed', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('demo did not get ready: ' + out)), 90000);
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error('demo exited ' + code + ': ' + out)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/DEMO_READY url=(\S+) customer=(\S+) agent=(\S+)/);
      const esl = out.match(/simulated FreeSWITCH on (\S+):(\d+) \(ESL\)/);
      if (m && esl) {
        clearTimeout(timer);
        resolve({ child, out, url: m[1], customer: m[2], agent: m[3], esl: { host: esl[1], port: +esl[2] } });
      }
    });
  });
}

// One `api` command over the (simulated) switch's inbound ESL, as an operator's fs_cli would.
function eslApi(esl, command) {
  return new Promise((resolve, reject) => {
    const sock = connect(esl.port, esl.host);
    let buf = '';
    let sent = 0;
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('ESL: no answer: ' + buf)); }, 5000);
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf += d;
      if (sent === 0 && buf.includes('auth/request')) { sent = 1; buf = ''; sock.write('auth ClueCon\n\n'); }
      else if (sent === 1 && buf.includes('Reply-Text: +OK')) { sent = 2; buf = ''; sock.write('api ' + command + '\n\n'); }
      else if (sent === 2 && buf.includes('api/response') && /\n\n.+/s.test(buf)) {
        clearTimeout(timer);
        sock.end('exit\n\n');
        resolve(buf);
      }
    });
  });
}

async function useToken(page, token) {
  await page.getByLabel('Your access token').fill(token);
  await page.getByRole('button', { name: 'Use token' }).click();
}

test('the agent page speaks to agents: each state, screenshots', { timeout: 180000 }, async () => {
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
  const shot = (name) => page.screenshot({ path: join(shots, name), fullPage: true });
  let page;
  try {
    page = await browser.newPage({ viewport: { width: 820, height: 900 } });
    page.on('response', async (r) => {
      if (r.url().includes('/api/v1/') && !r.url().includes('/events')) {
        try { seenBodies.push(await r.text()); } catch (_) { /* streamed or gone */ }
      }
    });
    await page.goto(h.url);
    assert.equal(await page.title(), 'confpay – take a payment');
    const alert = page.getByRole('alert');
    const status = page.locator('#status');
    const next = page.locator('#next');

    // Without a token the API refuses, and the page says what to do.
    await alert.filter({ hasText: 'Your access token was not accepted' }).waitFor();

    // An agent with no call: nothing to act on.
    await useToken(page, agentToken('9999'));
    await page.locator('#who').filter({ hasText: 'agent 9999' }).waitFor();
    assert.equal(await alert.textContent(), '');
    assert.equal(await page.locator('#no-call').isVisible(), true);
    assert.equal(await page.getByRole('button', { name: 'Start payment' }).isEnabled(), false);
    assert.equal(await page.locator('#call-list-row').isVisible(), false);
    await shot('1-no-call.png');

    // The supervisor (admin token): every call, by caller and talking time, no channel UUIDs.
    await useToken(page, ADMIN);
    await page.locator('#who').filter({ hasText: 'Supervisor' }).waitFor();
    const option = page.locator('#calls option', { hasText: 'Ada Lovelace' });
    await option.waitFor({ state: 'attached' });
    assert.match(await option.textContent(), /^Ada Lovelace · \+442079460018 · talking \d+:\d\d$/);
    assert.ok(!(await page.locator('body').innerText()).includes(h.customer), 'a channel UUID on the page');
    await shot('2-supervisor.png');

    // The agent's own token: their call, and nothing else.
    await useToken(page, agentToken(AGENT_ID));
    await page.locator('#who').filter({ hasText: 'agent ' + AGENT_ID }).waitFor();
    await page.locator('#call-card[data-call="shown"]').waitFor();
    assert.equal(await page.locator('#caller-name').textContent(), 'Ada Lovelace');
    assert.equal(await page.locator('#caller-number').textContent(), '+442079460018');
    assert.equal(await page.locator('#call-list-row').isVisible(), false);
    const talking0 = await page.locator('#talking').textContent();
    await page.waitForFunction((t) => document.getElementById('talking').textContent !== t, talking0,
      { timeout: 3000 });
    assert.ok(!(await page.locator('body').innerText()).includes(h.customer), 'a channel UUID on the page');
    assert.equal(await page.getByRole('button', { name: 'Start capture' }).isEnabled(), false);
    await shot('3-call.png');

    // Start payment: the steps go by until the capture service is ready.
    await page.getByRole('button', { name: 'Start payment' }).click();
    await page.locator('#status:not([data-state="none"])').waitFor();
    const early = await status.getAttribute('data-state');
    await shot('4-starting.png');
    assert.ok(PRE_READY.includes(early) || early === 'ready', 'state after start: ' + early);
    assert.equal(await page.getByRole('button', { name: 'Start payment' }).isEnabled(), false);
    await page.locator('#status[data-state="ready"]').waitFor({ timeout: 20000 });
    assert.match(await status.textContent(), /ready/i);
    assert.equal(await status.getAttribute('aria-live'), 'polite');
    assert.equal(await page.locator('#steps li[data-step="agentid"]').getAttribute('class'), 'done');
    assert.equal(await page.getByRole('button', { name: 'Start capture' }).isEnabled(), true);
    await shot('5-ready.png');

    // Keyboard: focus Start capture and press Enter. The capture time ticks.
    await page.getByRole('button', { name: 'Start capture' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('#status[data-state="capturing"]').waitFor({ timeout: 20000 });
    assert.equal(await page.locator('#elapsed-label').textContent(), 'Capturing for');
    await page.waitForFunction(() => document.getElementById('elapsed').textContent === '0:01',
      null, { timeout: 2500 });
    await shot('6-capturing.png');

    // The scripted customer keys the card; the capture service hangs up; the session unwinds.
    await page.locator('#status[data-state="done"]').waitFor({ timeout: 30000 });
    assert.equal(await status.textContent(), 'Completed');
    assert.match(await next.textContent(), /^The customer keyed the card and the capture service has it/);
    assert.equal(await page.locator('#steps li[data-step="done"]').getAttribute('class'), 'done');
    assert.match(await page.locator('#elapsed-line').textContent(), /^Capture took \d+:\d\d$/);
    assert.equal(await page.getByRole('button', { name: 'Start payment' }).isEnabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Cancel' }).isEnabled(), false);
    await shot('7-completed.png');

    // A failure: a second payment, and the customer hangs up while it waits for them.
    await page.getByRole('button', { name: 'Start payment' }).click();
    await page.locator('#status[data-state="ready"]').waitFor({ timeout: 20000 });
    const killed = await eslApi(h.esl, 'uuid_kill ' + h.customer);
    assert.match(killed, /\+OK/);
    await page.locator('#status[data-state="done"]').waitFor({ timeout: 20000 });
    assert.equal(await status.textContent(), 'Failed');
    assert.equal(await next.textContent(), 'The customer hung up.');
    assert.equal(await next.getAttribute('data-code'), 'customer_hung_up');
    // It failed while ready: the steps up to Ready are ticked, Capturing is not.
    assert.equal(await page.locator('#steps li[data-step="ready"]').getAttribute('class'), 'done');
    assert.equal(await page.locator('#steps li[data-step="capturing"]').getAttribute('class'), '');
    assert.equal(await page.locator('#steps li[data-step="done"]').getAttribute('class'), 'failed');
    await page.locator('#call-card[data-call="none"]').waitFor({ timeout: 5000 });
    assert.equal(await page.getByRole('button', { name: 'Start payment' }).isEnabled(), false);
    await shot('8-failed.png');

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
