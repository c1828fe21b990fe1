// confpay agent page: calls the daemon's API (/api/v1) and shows a session's live status.
// The token (if any) lives in sessionStorage and goes out only as an Authorization header; it is
// never put in a URL. The page never receives or shows the customer's card digits.
'use strict';

const $ = (id) => document.getElementById(id);
const STEP_OF = {
  idle: 'hold', awaiting_agent_id: 'hold', moving: 'hold', holding: 'hold', masking: 'hold',
  dialling: 'join', answered: 'join', sending_agent_id: 'agentid', unholding: 'ready',
  ready: 'ready', arming: 'capturing', capturing: 'capturing', unwinding: 'done',
  suspended: null, done: 'done',
};
const ORDER = ['hold', 'join', 'agentid', 'ready', 'capturing', 'done'];

let session = null;      // last session JSON seen
let stream = null;       // AbortController of the open status stream
let elapsed = null;      // {base, at} for the capture timer
let ticker = null;

function token() { return sessionStorage.getItem('confpay.token') || ''; }

function headers(json) {
  const h = {};
  if (token()) h['Authorization'] = 'Bearer ' + token();
  if (json) h['Content-Type'] = 'application/json';
  return h;
}

async function api(method, path, body) {
  const res = await fetch('/api/v1' + path, {
    method, headers: headers(body !== undefined), cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  if (!res.ok) {
    const msg = data && data.error ? data.error.message + ' (' + data.error.code + ')' : 'HTTP ' + res.status;
    throw new Error(msg);
  }
  return data;
}

function showError(text) { $('error').textContent = text || ''; }

function fmt(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
}

function tick() {
  if (!elapsed) return;
  $('elapsed').textContent = fmt(elapsed.base + (Date.now() - elapsed.at));
}

function render(s) {
  session = s;
  const status = $('status');
  status.dataset.state = s.state;
  status.className = s.outcome ? s.outcome.kind : '';
  let text = s.status;
  if (s.state === 'done' && s.outcome) {
    const word = { completed: 'Completed', cancelled: 'Cancelled', failed: 'Failed' }[s.outcome.kind];
    text = word + ': ' + s.outcome.message;
  }
  if (status.textContent !== text) status.textContent = text;
  $('session-line').textContent = 'Session ' + s.id + (s.agent_id ? ' · agent ID ' + s.agent_id : '');

  const step = STEP_OF[s.state];
  const idx = step ? ORDER.indexOf(step) : -1;
  document.querySelectorAll('#steps li').forEach((li, i) => {
    li.className = '';
    if (idx < 0) return;
    if (i < idx || (s.state === 'done' && i === idx)) li.className = 'done';
    else if (i === idx) li.className = 'current';
    if (s.state === 'done' && i === idx && s.outcome && s.outcome.kind !== 'completed') li.className = 'failed';
  });

  if (s.capture_elapsed_ms !== null && s.capture_elapsed_ms !== undefined) {
    $('elapsed-line').hidden = false;
    elapsed = s.state === 'capturing' ? { base: s.capture_elapsed_ms, at: Date.now() } : null;
    $('elapsed').textContent = fmt(s.capture_elapsed_ms);
    $('elapsed-label').textContent = s.state === 'capturing' ? 'Capturing for' : 'Capture took';
    if (elapsed && !ticker) ticker = setInterval(tick, 1000);
  }
  if (!elapsed && ticker) { clearInterval(ticker); ticker = null; }

  const running = s.state !== 'done';
  $('capture').disabled = s.state !== 'ready';
  $('cancel').disabled = !running;
  $('take').disabled = running;
}

// Server-Sent Events over fetch (EventSource cannot send an Authorization header).
async function follow(id) {
  if (stream) stream.abort();
  const ctl = new AbortController();
  stream = ctl;
  try {
    const res = await fetch('/api/v1/events?session=' + encodeURIComponent(id), {
      headers: headers(false), signal: ctl.signal, cache: 'no-store',
    });
    if (!res.ok || !res.body) throw new Error('status stream: HTTP ' + res.status);
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true }).replace(/\r\n/g, '\n');
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        let name = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (name === 'session' && data.length) render(JSON.parse(data.join('\n')));
      }
    }
  } catch (e) {
    if (e.name !== 'AbortError') showError(e.message);
  } finally {
    if (stream === ctl) stream = null;
  }
}

async function refreshCalls() {
  showError('');
  try {
    const data = await api('GET', '/calls');
    const sel = $('calls');
    const keep = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    for (const c of data.calls) {
      const o = document.createElement('option');
      o.value = c.customer;
      o.textContent = 'customer ' + c.customer + (c.agent_id ? ' · agent ID ' + c.agent_id : '') +
        (c.session ? ' · payment ' + c.session.state : '');
      sel.appendChild(o);
    }
    sel.value = keep;
    if (data.calls.length === 1 && !$('target-id').value) {
      sel.value = data.calls[0].customer;
      pickCall();
    }
  } catch (e) { showError(e.message); }
}

function pickCall() {
  const v = $('calls').value;
  if (!v) return;
  $('target-type').value = 'customer';
  $('target-id').value = v;
}

async function take() {
  showError('');
  const id = $('target-id').value.trim();
  if (!id) { showError('Pick or enter the call first.'); $('target-id').focus(); return; }
  const body = { target: { type: $('target-type').value, id } };
  const agentId = $('agent-id').value.trim();
  if (agentId) body.agent_id = agentId;
  $('take').disabled = true;
  try {
    const s = await api('POST', '/sessions', body);
    render(s);
    follow(s.id);
  } catch (e) {
    showError(e.message);
    $('take').disabled = false;
  }
}

async function act(op) {
  if (!session) return;
  showError('');
  try { await api('POST', '/sessions/' + encodeURIComponent(session.id) + '/' + op); }
  catch (e) { showError(e.message); }
}

document.addEventListener('DOMContentLoaded', () => {
  $('token').value = token();
  $('save-token').addEventListener('click', () => {
    sessionStorage.setItem('confpay.token', $('token').value);
    refreshCalls();
  });
  $('refresh').addEventListener('click', refreshCalls);
  $('calls').addEventListener('change', pickCall);
  $('take').addEventListener('click', take);
  $('capture').addEventListener('click', () => act('capture'));
  $('cancel').addEventListener('click', () => act('cancel'));
  refreshCalls();
});
