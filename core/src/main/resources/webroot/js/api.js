// The JSON API client. Every failure becomes an ApiError carrying the server's own message
// ({"error": "..."} bodies), so pages can show exactly what the server said.

/** An API call that failed: HTTP status (0 when the server could not be reached) and message. */
export class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.status = status;
    this.path = path;
  }
}

const TOKEN_KEY = 'loupe.token';

/**
 * The access token, when the node needs one (bound beyond localhost): opened as
 * http://HOST:PORT/?token=TOKEN, the UI keeps it for the tab and sends it as a Bearer header
 * (and as ?token= where a header cannot be set: event streams, images, downloads).
 */
export function accessToken() {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

/** {@code path} with the access token as a query parameter, for URLs the browser fetches itself. */
export function withToken(path) {
  const t = accessToken();
  if (!t) return path;
  return path + (path.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(t);
}

async function call(method, path, body) {
  const headers = {Accept: 'application/json'};
  const t = accessToken();
  if (t) headers.Authorization = 'Bearer ' + t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (e) {
    throw new ApiError(0, `cannot reach the Loupe node (${e.message}); is \`loupe serve\` still running?`, path);
  }
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch (e) {
      if (res.ok) throw new ApiError(res.status, `${method} ${path}: the answer is not JSON`, path);
    }
  }
  if (!res.ok) {
    let msg = json && typeof json.error === 'string' ? json.error : `${res.status} ${res.statusText}`;
    if (res.status === 401 && !(json && json.error)) {
      msg = 'this node needs an access token: open the UI as /?token=TOKEN (printed by `loupe serve`)';
    }
    throw new ApiError(res.status, msg, path);
  }
  return json;
}

export const get = path => call('GET', path);
export const post = (path, body) => call('POST', path, body === undefined ? {} : body);
export const del = path => call('DELETE', path);

/** Encodes one path segment (ids may hold characters such as ':' or '/'). */
export const seg = s => encodeURIComponent(String(s));

/**
 * Follows a job's server-sent events (progress, metrics, status, results). handlers maps event
 * names to functions of the parsed data; onerror gets a message. Returns the EventSource (close it).
 */
export function jobEvents(jobId, handlers, onerror) {
  const es = new EventSource(withToken(`/api/jobs/${seg(jobId)}/events`));
  let ended = false;
  const names = new Set([...Object.keys(handlers), 'status']);
  for (const name of names) {
    es.addEventListener(name, ev => {
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (name === 'status' && FINAL_STATES.has(data.state)) ended = true;
      if (handlers[name]) handlers[name](data);
    });
  }
  es.onerror = () => {
    // The server ends the stream once the job has ended; the browser would reconnect forever.
    es.close();
    if (!ended && onerror) onerror('the job\'s event stream was interrupted; reload to follow it again');
  };
  return es;
}

export const FINAL_STATES = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** The WebSocket's URL (/api/ws, with the access token). */
function wsUrl() {
  const url = new URL(withToken('/api/ws'), location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

/**
 * Follows a job over the WebSocket (/api/ws): its stored metrics rows from row {@code since} on,
 * then live metrics, progress, results and status until the job ends. handlers: metrics(row,
 * index) once per row in order, progress(p), status(s), results(frame), reset(). A dropped
 * connection is opened again a few times, subscribing from the next row, so no row is missed or
 * repeated; if a WebSocket cannot be opened at all, the job's server-sent events are followed
 * instead (live rows only). onerror gets a message. Returns {close(), next()} (next: the index
 * of the next row).
 */
export function followJob(jobId, handlers, onerror, since = 0) {
  let next = since;
  let socket = null;
  let fallback = null;
  let closed = false;
  let ended = false;
  let opened = false;
  let retries = 0;
  const call = (name, ...args) => handlers[name] && handlers[name](...args);

  function connect() {
    let ws;
    try {
      ws = new WebSocket(wsUrl());
    } catch (e) {
      useEvents();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      opened = true;
      ws.send(JSON.stringify({op: 'subscribe', job: String(jobId), since: next}));
    };
    ws.onmessage = ev => {
      let f;
      try {
        f = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      switch (f.type) {
        case 'subscribed':
          retries = 0;
          if (f.status) call('status', f.status);
          break;
        case 'metrics':
          // Rows come in order from f.from; after a reconnect, skip any already handled.
          f.rows.forEach((row, i) => {
            const index = f.from + i;
            if (index < next) return;
            next = index + 1;
            if (row) call('metrics', row, index);
          });
          break;
        case 'progress':
          call('progress', f.progress);
          break;
        case 'result':
          call('results', f);
          break;
        case 'reset':
          next = 0;
          call('reset');
          break;
        case 'status':
          if (FINAL_STATES.has(f.status.state)) ended = true;
          call('status', f.status);
          if (ended) close();
          break;
        case 'error':
          if (onerror) onerror(f.error);
          break;
        default:
      }
    };
    ws.onclose = () => {
      if (closed || ended || socket !== ws) return;
      if (!opened) {
        useEvents(); // no WebSocket here (a proxy, an old browser): server-sent events instead
      } else if (retries < 5) {
        retries++;
        setTimeout(() => !closed && connect(), 500 * retries);
      } else if (onerror) {
        onerror('the connection to the node was lost; reload to follow the job again');
      }
    };
  }

  function useEvents() {
    socket = null;
    fallback = jobEvents(jobId, {
      progress: p => call('progress', p),
      metrics: m => call('metrics', m, next++),
      status: s => call('status', s),
      results: r => call('results', r),
    }, onerror);
  }

  function close() {
    closed = true;
    if (socket) socket.close();
    if (fallback) fallback.close();
  }

  connect();
  return {close, next: () => next};
}

/**
 * A session's interactive commands over one WebSocket (/api/ws), opened at the first command.
 * query(op, body): op 'run' or 'lens' with the body of POST /api/sessions/S/run or /logit-lens;
 * resolves to {result, via} (via: 'ws' or 'http') or rejects with an ApiError holding the
 * server's status and message, as the HTTP calls do (and via). When no WebSocket opens, commands go over
 * HTTP POST; when it closes with commands unanswered, those are sent again over HTTP (the next
 * command opens a new WebSocket). Returns {query, close} (close: the page is gone).
 */
export function sessionQueries(sessionId) {
  const paths = {run: 'run', lens: 'logit-lens'};
  const pending = new Map(); // id -> {op, body, resolve, reject}
  let ready = null; // a promise of the open WebSocket, or of null: use HTTP
  let socket = null;
  let ids = 0;
  let closed = false;

  const failed = (e, via) => Object.assign(e, {via});
  const viaHttp = (op, body) => post(`/api/sessions/${seg(sessionId)}/${paths[op]}`, body)
    .then(result => ({result, via: 'http'}), e => Promise.reject(failed(e, 'http')));

  function open() {
    return new Promise(resolve => {
      let ws;
      try {
        ws = new WebSocket(wsUrl());
      } catch (e) {
        resolve(null);
        return;
      }
      let opened = false;
      socket = ws;
      ws.onopen = () => {
        opened = true;
        resolve(ws);
      };
      ws.onmessage = ev => {
        let f;
        try {
          f = JSON.parse(ev.data);
        } catch (e) {
          return;
        }
        const p = pending.get(f.id);
        if (!p) return;
        pending.delete(f.id);
        if (f.type === 'error') p.reject(failed(new ApiError(f.status, f.error, '/api/ws'), 'ws'));
        else p.resolve({result: f.result, via: 'ws'});
      };
      ws.onclose = () => {
        resolve(null);
        if (closed || socket !== ws) return;
        socket = null;
        if (opened) ready = null; // it worked once: the next command opens a new one
        for (const [id, p] of pending) {
          pending.delete(id);
          viaHttp(p.op, p.body).then(p.resolve, p.reject);
        }
      };
    });
  }

  async function query(op, body) {
    if (!ready) ready = open();
    const ws = await ready;
    if (!ws || ws.readyState !== WebSocket.OPEN) return viaHttp(op, body);
    const id = ++ids;
    return new Promise((resolve, reject) => {
      pending.set(id, {op, body, resolve, reject});
      ws.send(JSON.stringify({...body, op, id, session: String(sessionId)}));
    });
  }

  function close() {
    closed = true;
    pending.clear();
    if (socket) socket.close();
  }

  return {query, close};
}
