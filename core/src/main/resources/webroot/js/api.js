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
