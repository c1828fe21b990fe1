// confpay agent page: calls the daemon's API (/api/v1) and shows the agent's call and payment.
// With a per-agent token it shows that agent's own current call only; with the admin token (or
// none, on a loopback daemon) a list of calls to pick from. Callers are shown by number and name
// as FreeSWITCH knows them, never by channel UUID. The token lives in sessionStorage and goes out
// only as an Authorization header; it is never put in a URL. The page never receives or shows the
// customer's card digits.
'use strict';

const $ = (id) => document.getElementById(id);
const STEP_OF = {
  idle: 'hold', awaiting_agent_id: 'hold', moving: 'hold', holding: 'hold', masking: 'hold',
  dialling: 'join', answered: 'join', sending_agent_id: 'agentid', unholding: 'ready',
  ready: 'ready', arming: 'capturing', capturing: 'capturing', unwinding: 'done',
  suspended: null, done: 'done',
};
const ORDER = ['hold', 'join', 'agentid', 'ready', 'capturing', 'done'];
const POLL_MS = 2000;

// How a session ended, as what to do next (by outcome code).
const OUTCOME = {
  completed: 'The customer keyed the card and the capture service has it — check the result in your payment system.',
  cancelled: 'Payment cancelled. Start again when the customer is ready.',
  no_agent_id: 'Your agent ID did not reach the capture service — start the payment again.',
  capture_unavailable: 'The capture service did not answer — try again or take the payment another way.',
  capture_left_early: 'The capture service hung up before the customer keyed the card — try again.',
  capture_timeout: 'The customer took too long to key the card — check they are ready, then start again.',
  command_failed: 'The phone system refused a step — try again; if it happens again, tell your supervisor.',
  step_timeout: 'The phone system did not answer in time — try again.',
  customer_hung_up: 'The customer hung up.',
  agent_hung_up: 'Your line dropped, so the payment was stopped.',
  connection_lost: 'confpay lost its link to the phone system — wait a minute, then try again.',
};

// Why a request was refused, as what to do next (by API error code).
const REFUSAL = {
  unauthorized: 'Your access token was not accepted or has expired — enter a new one above.',
  forbidden: 'That call is not yours: your token reaches only your own calls.',
  busy: 'The payment line is busy — try again.',
  wrong_state: 'That step is not possible right now — wait for the status to change, then try again.',
  unknown_call: 'Your call could not be found — check the customer is connected to you, then try again.',
  unknown_session: 'That payment is already over — start a new one.',
  no_agent: 'Your line is not joined to this call — wait a moment, then try again.',
  not_in_conference: 'The customer is not connected yet — wait a moment, then try again.',
  bad_agent_id: 'The agent ID is not valid — tell your supervisor.',
  wrong_leg: 'confpay cannot tell the customer\'s line from yours — tell your supervisor.',
  ambiguous_roles: 'confpay cannot tell the customer\'s line from yours — tell your supervisor.',
  not_attachable: 'This call cannot take payments — tell your supervisor.',
  agent_id_on_several_calls: 'Your agent ID is on more than one call — end the other call, then try again.',
  switch_unavailable: 'The phone system did not answer — try again in a moment.',
  stopped: 'confpay is restarting — try again in a minute.',
  too_many_streams: 'Too many confpay pages are open — close the others, then reload this one.',
  node_unreachable: 'The confpay on the switch holding this call is not answering — try again in a minute; if it persists, tell your supervisor.',
  host_not_allowed: 'This page was opened under an address confpay does not accept — use the address you were given.',
  origin_not_allowed: 'This page was opened under an address confpay does not accept — use the address you were given.',
  bad_request: 'confpay did not understand the request — reload the page and try again.',
  not_found: 'confpay did not understand the request — reload the page and try again.',
  unsupported_media_type: 'confpay did not understand the request — reload the page and try again.',
};
const UNREACHABLE = 'confpay cannot be reached — check your connection, then try again.';

let me = null;           // {role, agent_id} from /whoami
let calls = [];          // last call list
let picked = null;       // customer UUID of the call shown (admin picks; an agent has one)
let session = null;      // last session JSON seen
let stream = null;       // AbortController of the open status stream
let talking = null;      // {base, at} for the talking timer
let elapsed = null;      // {base, at} for the capture timer
let reached = null;      // {id, idx}: the furthest step seen of a running session

class Refused extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

function token() { return sessionStorage.getItem('confpay.token') || ''; }

function headers(json) {
  const h = {};
  if (token()) h['Authorization'] = 'Bearer ' + token();
  if (json) h['Content-Type'] = 'application/json';
  return h;
}

async function api(method, path, body) {
  let res;
  try {
    res = await fetch('/api/v1' + path, {
      method, headers: headers(body !== undefined), cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (_) { throw new Refused('unreachable', UNREACHABLE); }
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  if (!res.ok) {
    const code = data && data.error ? data.error.code : 'http_' + res.status;
    throw new Refused(code, REFUSAL[code] || 'Something went wrong (' + code + ') — reload the page and try again.');
  }
  return data;
}

function showError(e) {
  const text = e ? (e instanceof Refused ? e.message : String(e.message || e)) : '';
  $('error').textContent = text;
  $('error').dataset.code = e && e.code ? e.code : '';
}

function fmt(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? h + ':' + String(m).padStart(2, '0') + ':' + ss : m + ':' + ss;
}

function tick() {
  if (talking) $('talking').textContent = fmt(talking.base + (Date.now() - talking.at));
  if (elapsed) $('elapsed').textContent = fmt(elapsed.base + (Date.now() - elapsed.at));
}

function callLabel(c) {
  const who = c.caller_name || c.caller_number || 'Unknown caller';
  const parts = [who];
  if (c.caller_name && c.caller_number) parts.push(c.caller_number);
  if (c.talking_ms !== null && c.talking_ms !== undefined) parts.push('talking ' + fmt(c.talking_ms));
  if (c.session) parts.push('payment: ' + c.session.state.replace(/_/g, ' '));
  return parts.join(' · ');
}

function currentCall() { return calls.find((c) => c.customer === picked) || null; }

function renderCall() {
  const c = currentCall();
  $('call-card').dataset.call = c ? 'shown' : 'none';
  $('no-call').hidden = !!c;
  $('caller').hidden = !c;
  if (c) {
    $('caller-name').textContent = c.caller_name || (c.caller_number ? 'Caller' : 'Unknown caller');
    $('caller-number').textContent = c.caller_number || '';
    const known = c.talking_ms !== null && c.talking_ms !== undefined;
    talking = known ? { base: c.talking_ms, at: Date.now() } : null;
    $('talking').textContent = known ? fmt(c.talking_ms) : '—';
  } else {
    talking = null;
  }
  const list = $('calls');
  if (me && me.role === 'admin') {
    $('call-list-row').hidden = false;
    // Rebuilt only when calls came or went (an open list stays open); labels update in place.
    const same = list.options.length === calls.length + 1 &&
      calls.every((x, i) => list.options[i + 1].value === x.customer);
    if (!same) {
      list.replaceChildren(document.createElement('option'));
      for (const x of calls) {
        const o = document.createElement('option');
        o.value = x.customer;
        list.appendChild(o);
      }
    }
    list.options[0].value = '';
    list.options[0].textContent = calls.length ? '(pick a call)' : '(no calls now)';
    calls.forEach((x, i) => { list.options[i + 1].textContent = callLabel(x); });
    list.value = c ? c.customer : '';
  } else {
    $('call-list-row').hidden = true;
  }
  buttons();
}

function buttons() {
  const running = session && session.state !== 'done';
  $('take').disabled = !!running || !currentCall();
  $('capture').disabled = !running || session.state !== 'ready';
  $('cancel').disabled = !running;
  // The next step stands out.
  $('take').classList.toggle('primary', !$('take').disabled || !running);
  $('capture').classList.toggle('primary', !$('capture').disabled);
}

function render(s) {
  session = s;
  const status = $('status');
  status.dataset.state = s.state;
  status.className = s.outcome ? s.outcome.kind : '';
  let text = s.status;
  let next = '';
  if (s.state === 'done' && s.outcome) {
    text = { completed: 'Completed', cancelled: 'Cancelled', failed: 'Failed' }[s.outcome.kind];
    next = OUTCOME[s.outcome.code] || s.outcome.message;
  }
  if (status.textContent !== text) status.textContent = text;
  $('next').textContent = next;
  $('next').dataset.code = s.outcome ? s.outcome.code : '';

  const step = STEP_OF[s.state];
  const idx = step ? ORDER.indexOf(step) : -1;
  const fin = ORDER.indexOf('done');
  if (s.state !== 'done' && idx >= 0 && idx !== fin) reached = { id: s.id, idx };
  // Steps before `through` are ticked. An ended session ticks only the steps it got through: all
  // up to capture if capture started, else those seen done here (Ready counts once reached).
  let through = idx;
  if (s.state === 'done') {
    const r = reached && reached.id === s.id ? reached.idx : 0;
    through = s.capture_started_ms ? fin : r + (ORDER[r] === 'ready' ? 1 : 0);
  }
  document.querySelectorAll('#steps li').forEach((li, i) => {
    li.className = '';
    if (idx < 0) return;
    if (s.state === 'done' && i === fin) {
      li.className = s.outcome && s.outcome.kind !== 'completed' ? 'failed' : 'done';
    } else if (i < through) {
      li.className = 'done';
    } else if (i === idx) {
      li.className = 'current';
    }
  });

  const known = s.capture_elapsed_ms !== null && s.capture_elapsed_ms !== undefined;
  $('elapsed-line').hidden = !known;
  elapsed = known && s.state === 'capturing' ? { base: s.capture_elapsed_ms, at: Date.now() } : null;
  if (known) {
    $('elapsed').textContent = fmt(s.capture_elapsed_ms);
    $('elapsed-label').textContent = s.state === 'capturing' ? 'Capturing for' : 'Capture took';
  }
  buttons();
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
    if (!res.ok || !res.body) throw new Refused('http_' + res.status, UNREACHABLE);
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
    if (e.name !== 'AbortError') showError(e);
  } finally {
    if (stream === ctl) stream = null;
  }
}

async function refresh() {
  try {
    if (!me) {
      me = await api('GET', '/whoami');
      $('who').textContent = me.role === 'agent'
        ? 'Signed in as agent ' + me.agent_id + '.'
        : 'Supervisor access: every call is listed.';
      $('call-h').textContent = me.role === 'agent' ? 'Your call' : 'Call';
    }
    const data = await api('GET', '/calls');
    // Newest call first: an agent's current call is the one answered last.
    calls = data.calls.slice().sort((a, b) => (b.answered_ms || 0) - (a.answered_ms || 0));
    if (me.role === 'agent' || (!currentCall() && calls.length === 1)) {
      picked = calls.length ? calls[0].customer : null;
    } else if (!currentCall()) {
      picked = null;
    }
    const c = currentCall();
    if (c && c.session && (!session || session.id !== c.session.id)) {
      render(c.session);
      follow(c.session.id);
    }
    renderCall();
    if ($('error').dataset.code === 'unauthorized' || $('error').dataset.code === 'unreachable') showError(null);
  } catch (e) {
    if (e.code === 'unauthorized') me = null;
    calls = [];
    renderCall();
    showError(e);
  }
}

async function take() {
  showError(null);
  const c = currentCall();
  if (!c) return;
  $('take').disabled = true;
  try {
    const s = await api('POST', '/sessions', { target: { type: 'customer', id: c.customer } });
    render(s);
    follow(s.id);
  } catch (e) {
    showError(e);
    buttons();
  }
}

async function act(op) {
  if (!session) return;
  showError(null);
  try { await api('POST', '/sessions/' + encodeURIComponent(session.id) + '/' + op); }
  catch (e) { showError(e); }
}

document.addEventListener('DOMContentLoaded', () => {
  $('token').value = token();
  $('save-token').addEventListener('click', () => {
    sessionStorage.setItem('confpay.token', $('token').value);
    me = null;
    showError(null);
    refresh();
  });
  $('calls').addEventListener('change', () => {
    picked = $('calls').value || null;
    renderCall();
  });
  $('take').addEventListener('click', take);
  $('capture').addEventListener('click', () => act('capture'));
  $('cancel').addEventListener('click', () => act('cancel'));
  setInterval(tick, 250);
  setInterval(refresh, POLL_MS);
  refresh();
});
