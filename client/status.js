// The browser client: status.svg loads this script.
//
// It reads the badge's parameters from the SVG's own URL and its
// configuration from status-config.json beside this script; takes the
// mirrors from the registry's signed list, verified with WebCrypto Ed25519
// against the pinned keys (or from the bootstrap list when no list can be
// verified); asks them in a shuffled, staggered race; and paints the first
// valid answer with the server badge's messages and colours.
//
// Parameters reach the badge only as text nodes (textContent) and the
// mirrors only URL-encoded. The root element tells what happened:
// data-state (pending, a state, "no repository", "unknown"), data-list
// ("bootstrap" or "signed:<version>") and data-mirror (who answered).
//
// Loaded by a page that is not the badge, it paints nothing and only
// offers its verifier as globalThis.dockerhubBuildStatus (for tests).

(() => {
  "use strict";

  const PAYLOAD_TYPE =
    "application/vnd.dockerhub-build-status.mirrors+json; version=1";
  const MAX_ENVELOPE_BYTES = 64 * 1024;
  const MAX_MIRRORS = 100;
  const MAX_CLOCK_AHEAD_MS = 10 * 60 * 1000;

  const LIST_TIMEOUT_MS = 800;
  const LIST_STAGGER_MS = 150;
  const MAX_LIST_SOURCES = 5;
  const REQUEST_TIMEOUT_MS = 3000;
  const STAGGER_MS = 300;
  const MAX_ASKED = 10;
  const MAX_ANSWER_BYTES = 16 * 1024;

  const MAX_TEXT = 64;
  const NAME_LIMIT = 300;
  const PADDING = 5;
  const FALLBACK_CHAR_WIDTH = 7;
  const STORAGE_PREFIX = "dockerhub-build-status:highest-version:";

  const DEFAULTS = {organization: "library", tag: "latest", text: "Docker"};

  // The server badge's messages and colours (STATES in mirror/badge.py).
  const STATES = {
    "success": ["passing", "#4c1"],
    "failed": ["failing", "#e05d44"],
    "building": ["building", "#007ec6"],
    "queued": ["building", "#007ec6"],
    "cancelled": ["cancelled", "#9f9f9f"],
    "published": ["published", "#97ca00"],
    "not found": ["not found", "#9f9f9f"],
    "unavailable": ["unavailable", "#9f9f9f"],
    "invalid name": ["invalid name", "#9f9f9f"],
    "unknown": ["unknown", "#9f9f9f"],
  };
  const NO_REPOSITORY = ["repository?", "#9f9f9f"];

  // -- the signed list ---------------------------------------------------

  // A refused signed list; `reason` names the rule, in the Python
  // verifier's terms (registry/envelope.py).
  class Refusal extends Error {
    constructor(reason, detail) {
      super(`${reason}: ${detail}`);
      this.reason = reason;
    }
  }

  const refuse = (reason, detail) => {
    throw new Refusal(reason, detail);
  };

  const ASCII = new TextEncoder();

  // Standard base64 decoded as strictly as Python's
  // base64.b64decode(text, validate=True); null where it would fail.
  function strictBase64(text) {
    const match = typeof text === "string" &&
      /^([A-Za-z0-9+/]*)(={0,2})$/.exec(text);
    if (!match) {
      return null;
    }
    const [, data, padding] = match;
    const tail = data.length % 4;
    const padded = tail === 0 ? data.length > 0 || padding === ""
      : tail === 2 ? padding.length === 2
      : tail === 3 ? padding.length === 1
      : false;
    if (!padded) {
      return null;
    }
    return Uint8Array.from(atob(data), (char) => char.charCodeAt(0));
  }

  function utf8(bytes) {
    try {
      return new TextDecoder("utf-8", {fatal: true}).decode(bytes);
    } catch (error) {
      return null;
    }
  }

  function parseJSON(text) {
    try {
      return {value: JSON.parse(text)};
    } catch (error) {
      return null;
    }
  }

  // JSON.parse that also reports whether each object's "version" was
  // written as an integer (1, not 1.0 or 1e0), as Python's json tells.
  function parsePayloadJSON(text) {
    const integral = new WeakMap();
    try {
      const value = JSON.parse(text, function (key, item, context) {
        if (key === "version" && context && "source" in context) {
          integral.set(this, /^-?(?:0|[1-9][0-9]*)$/.test(context.source));
        }
        return item;
      });
      return {value, integral};
    } catch (error) {
      return null;
    }
  }

  function pae(type, body) {
    const kind = ASCII.encode(type);
    const head = ASCII.encode(`DSSEv1 ${kind.length} `);
    const middle = ASCII.encode(` ${body.length} `);
    const out = new Uint8Array(
      head.length + kind.length + middle.length + body.length);
    let at = 0;
    for (const part of [head, kind, middle, body]) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  async function keyid(raw) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
    return Array.from(digest.slice(0, 8),
      (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  // The pinned keys as a Map of keyid to CryptoKey. Throws where
  // WebCrypto or its Ed25519 is missing; skips keys that are not base64
  // of 32 bytes (the bundle writer refuses those already).
  async function importTrustedKeys(texts) {
    const pinned = new Map();
    for (const text of texts) {
      const raw = strictBase64(typeof text === "string" ? text.trim() : "");
      if (!raw || raw.length !== 32) {
        console.warn("status.js: ignoring a trusted key that is not " +
          "base64 of a raw 32-byte Ed25519 public key");
        continue;
      }
      const key = await crypto.subtle.importKey(
        "raw", raw, {name: "Ed25519"}, false, ["verify"]);
      pinned.set(await keyid(raw), key);
    }
    return pinned;
  }

  function envelopeFields(data) {
    const text = utf8(data);
    const parsed = text === null ? null : parseJSON(text);
    if (!parsed) {
      refuse("malformed", "the signed list is not JSON");
    }
    const envelope = parsed.value;
    if (!isObject(envelope)) {
      refuse("malformed", "the signed list is not a JSON object");
    }
    const kinds = [["payloadType", "string"], ["payload", "string"],
      ["signatures", "array"]];
    for (const [name, kind] of kinds) {
      const value = envelope[name];
      const fits = kind === "array" ? Array.isArray(value)
        : typeof value === kind;
      if (!Object.hasOwn(envelope, name) || !fits) {
        refuse("malformed", `the envelope has no valid '${name}' field`);
      }
    }
    return envelope;
  }

  function isObject(value) {
    return typeof value === "object" && value !== null &&
      !Array.isArray(value);
  }

  async function checkSignatures(signatures, payload, pinned) {
    const message = pae(PAYLOAD_TYPE, payload);
    let tried = false;
    for (const entry of signatures) {
      if (!isObject(entry) || entry.alg !== "ed25519") {
        continue;
      }
      const key = typeof entry.keyid === "string" &&
        pinned.get(entry.keyid);
      if (!key || typeof entry.sig !== "string") {
        continue;
      }
      tried = true;
      if (await signatureHolds(key, entry.sig, message)) {
        return entry.keyid;
      }
    }
    if (tried) {
      refuse("signature", "the signature by the pinned key is not valid");
    }
    refuse("signature",
      "the signed list carries no signature from a pinned key");
  }

  async function signatureHolds(key, sig, message) {
    const raw = strictBase64(sig);
    if (!raw) {
      return false;
    }
    try {
      return await crypto.subtle.verify({name: "Ed25519"}, key, raw, message);
    } catch (error) {
      return false;
    }
  }

  // `YYYY-MM-DDTHH:MM:SSZ` as milliseconds, or null if it is not a time.
  function parseTime(text) {
    const match = typeof text === "string" &&
      /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$/.exec(text);
    if (!match) {
      return null;
    }
    const [year, month, day, hour, minute, second] =
      match.slice(1).map(Number);
    const moment = new Date(0);
    moment.setUTCFullYear(year, month - 1, day);
    moment.setUTCHours(hour, minute, second);
    const same = year >= 1 && moment.getUTCFullYear() === year &&
      moment.getUTCMonth() === month - 1 && moment.getUTCDate() === day &&
      moment.getUTCHours() === hour && moment.getUTCMinutes() === minute &&
      moment.getUTCSeconds() === second;
    return same ? moment.getTime() : null;
  }

  function payloadFields(payload) {
    const text = utf8(payload);
    const parsed = text === null ? null : parsePayloadJSON(text);
    if (!parsed) {
      refuse("malformed", "the payload is not JSON");
    }
    const fields = parsed.value;
    if (!isObject(fields)) {
      refuse("malformed", "the payload is not a JSON object");
    }
    const version = fields.version;
    if (!Number.isSafeInteger(version) ||
        parsed.integral.get(fields) === false) {
      refuse("malformed", "the payload has no integer version");
    }
    if (typeof fields.registry !== "string") {
      refuse("malformed", "the payload names no registry");
    }
    if (!Array.isArray(fields.mirrors)) {
      refuse("malformed", "the payload has no mirrors list");
    }
    const issued = parseTime(fields.issued);
    const expires = parseTime(fields.expires);
    if (issued === null || expires === null) {
      refuse("malformed", "the payload has a bad time");
    }
    return {registry: fields.registry, version, issued, expires,
      mirrors: fields.mirrors};
  }

  function checkClaims(fields, issuer, highest, now) {
    const expected = issuer.replace(/\/+$/, "");
    if (fields.registry !== expected) {
      refuse("issuer", `the list is issued by ${fields.registry}, ` +
        `not ${expected}`);
    }
    if (highest !== null && fields.version < highest) {
      refuse("rollback", `version ${fields.version} is older than ` +
        `${highest}, the highest accepted`);
    }
    if (highest !== null && fields.version === highest) {
      refuse("same-version", `version ${fields.version} is already accepted`);
    }
    if (fields.expires <= now) {
      refuse("expired", "the list has expired");
    }
    if (fields.issued - now > MAX_CLOCK_AHEAD_MS) {
      refuse("future", "the list is issued more than 10 minutes ahead");
    }
  }

  function checkedMirrors(entries, allowPrivate) {
    const urls = entries.map((entry) => {
      const url = isObject(entry) ? entry.url : undefined;
      if (!isCanonicalMirrorURL(url, allowPrivate)) {
        refuse("mirror-url", "a mirror URL is not https://host[:port]");
      }
      return url;
    });
    if (urls.length === 0) {
      refuse("empty", "the signed list holds no mirror");
    }
    if (new Set(urls).size !== urls.length) {
      refuse("mirror-url", "the signed list names a mirror twice");
    }
    if (urls.length > MAX_MIRRORS) {
      refuse("mirror-url", `the signed list holds over ${MAX_MIRRORS}`);
    }
    return urls;
  }

  // Verify a signed list (bytes) the way registry/envelope.py does, the
  // rules in the same order; returns {version, mirrors, keyid} or throws
  // a Refusal. `pinned` comes from importTrustedKeys, `highest` is the
  // highest version accepted (or null), `now` milliseconds.
  async function verifySignedList(data, pinned, issuer, highest, now,
                                  allowPrivate) {
    if (data.length > MAX_ENVELOPE_BYTES) {
      refuse("oversize", `the signed list is ${data.length} bytes`);
    }
    const envelope = envelopeFields(data);
    if (envelope.payloadType !== PAYLOAD_TYPE) {
      refuse("payload-type", "payloadType is not " + PAYLOAD_TYPE);
    }
    const payload = strictBase64(envelope.payload);
    if (!payload) {
      refuse("malformed", "payload is not base64");
    }
    if (pinned.size === 0) {
      refuse("signature", "no trusted key is configured");
    }
    const signer = await checkSignatures(envelope.signatures, payload, pinned);

    const fields = payloadFields(payload);
    checkClaims(fields, issuer, highest, now);
    const mirrors = checkedMirrors(fields.mirrors, allowPrivate);
    return {version: fields.version, mirrors, keyid: signer};
  }

  // -- mirror URLs -------------------------------------------------------

  const MIRROR_URL =
    /^(https?):\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([1-9][0-9]{0,4}))?$/;
  const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

  // The canonical form of a mirror URL as registry.envelope.mirror_url
  // gives it, or null where it refuses the URL. A URL in a signed list
  // must already be canonical, so the forms it would tidy up (case, a
  // trailing slash, spaces) are simply not accepted here.
  function canonicalMirrorURL(url, allowPrivate) {
    const match = typeof url === "string" && MIRROR_URL.exec(url);
    if (!match) {
      return null;
    }
    const [, scheme, host, port] = match;
    if (scheme === "http" && !allowPrivate) {
      return null;
    }
    const shownHost = canonicalHost(host, allowPrivate);
    if (shownHost === null) {
      return null;
    }
    const number = port === undefined ? null : Number(port);
    if (number !== null && number > 65535) {
      return null;
    }
    const isDefault = number === (scheme === "https" ? 443 : 80);
    const shownPort = number === null || isDefault ? "" : `:${number}`;
    return `${scheme}://${shownHost}${shownPort}`;
  }

  // True if a signed list may name `url` as it is written.
  function isCanonicalMirrorURL(url, allowPrivate) {
    return typeof url === "string" &&
      canonicalMirrorURL(url, allowPrivate) === url;
  }

  function canonicalHost(host, allowPrivate) {
    if (host.startsWith("[")) {
      const hextets = parseIPv6(host.slice(1, -1));
      if (!hextets || refusedIPv6(hextets, allowPrivate)) {
        return null;
      }
      return `[${compressIPv6(hextets)}]`;
    }
    const ipv4 = parseIPv4(host);
    if (ipv4 !== null) {
      return refusedIPv4(ipv4, allowPrivate) ? null : host;
    }
    const labels = host.split(".");
    const last = labels[labels.length - 1];
    if (host.length > 253 || !labels.every((label) => LABEL.test(label)) ||
        /^[0-9]+$/.test(last) || (last === "localhost" && !allowPrivate)) {
      return null;
    }
    return host;
  }

  // Four decimal octets without leading zeros, as a 32-bit number.
  function parseIPv4(text) {
    const parts = text.split(".");
    if (parts.length !== 4 ||
        !parts.every((part) => /^(?:0|[1-9][0-9]{0,2})$/.test(part) &&
          Number(part) <= 255)) {
      return null;
    }
    return parts.reduce((total, part) => total * 256 + Number(part), 0);
  }

  // Eight 16-bit groups, or null; the last group may be dotted IPv4.
  function parseIPv6(text) {
    const halves = text.split("::");
    if (halves.length > 2) {
      return null;
    }
    const groups = (half) => (half === "" ? [] : half.split(":"));
    const parts = [groups(halves[0]), groups(halves[1] ?? "")];
    const last = parts[1].length ? parts[1] : parts[0];
    const words = parts.map((list) => list.flatMap((part, index) => {
      if (/^[0-9a-f]{1,4}$/.test(part)) {
        return [parseInt(part, 16)];
      }
      const ipv4 = list === last && index === list.length - 1 &&
        parseIPv4(part);
      return typeof ipv4 === "number"
        ? [Math.floor(ipv4 / 65536), ipv4 % 65536] : [NaN];
    }));
    const count = words[0].length + words[1].length;
    if (words.flat().some(Number.isNaN) ||
        (halves.length === 1 ? count !== 8 : count > 7)) {
      return null;
    }
    return [...words[0], ...new Array(8 - count).fill(0), ...words[1]];
  }

  // Python's ipaddress compressed form: the longest run of two or more
  // zero groups (the first of equals) becomes "::".
  function compressIPv6(hextets) {
    let best = {start: -1, length: 0};
    let run = {start: -1, length: 0};
    hextets.forEach((word, index) => {
      if (word === 0) {
        run = run.length ? {start: run.start, length: run.length + 1}
          : {start: index, length: 1};
        if (run.length > best.length) {
          best = run;
        }
      } else {
        run = {start: -1, length: 0};
      }
    });
    const hex = hextets.map((word) => word.toString(16));
    if (best.length < 2) {
      return hex.join(":");
    }
    const before = hex.slice(0, best.start).join(":");
    const after = hex.slice(best.start + best.length).join(":");
    return `${before}::${after}`;
  }

  // [first address, prefix length, refused even on a private network]
  const IPV4_REFUSED = [
    ["0.0.0.0", 8, true], ["127.0.0.0", 8], ["10.0.0.0", 8],
    ["172.16.0.0", 12], ["192.168.0.0", 16], ["169.254.0.0", 16],
    ["100.64.0.0", 10], ["224.0.0.0", 4, true],
    ["255.255.255.255", 32, true], ["240.0.0.0", 4], ["192.0.0.0", 24],
    ["192.0.2.0", 24], ["198.51.100.0", 24], ["203.0.113.0", 24],
    ["198.18.0.0", 15], ["192.88.99.0", 24],
  ];

  const IPV6_REFUSED = [
    ["::", 128, true], ["::1", 128], ["::ffff:0:0", 96],
    ["::ffff:0:0:0", 96], ["::", 96], ["64:ff9b::", 96],
    ["64:ff9b:1::", 48], ["2002::", 16], ["2001::", 23],
    ["2001:db8::", 32], ["100::", 64], ["fc00::", 7], ["fe80::", 10],
    ["fec0::", 10], ["ff00::", 8, true],
  ];

  function refusedIPv4(address, allowPrivate) {
    return IPV4_REFUSED.some(([first, bits, always]) => {
      const size = 2 ** (32 - bits);
      const inside = Math.floor(address / size) ===
        Math.floor(parseIPv4(first) / size);
      return inside && (always || !allowPrivate);
    });
  }

  function refusedIPv6(hextets, allowPrivate) {
    return IPV6_REFUSED.some(([first, bits, always]) => {
      const network = parseIPv6(first);
      let left = bits;
      const inside = hextets.every((word, index) => {
        const take = Math.max(0, Math.min(16, left));
        left -= 16;
        const shift = 16 - take;
        return take === 0 || (word >> shift) === (network[index] >> shift);
      });
      return inside && (always || !allowPrivate);
    });
  }

  // -- the highest accepted version --------------------------------------

  // localStorage where the browser allows it (it may throw, for instance
  // in a sandboxed or storage-blocked frame); this page's memory else.
  const memory = new Map();

  function storedVersion(registry) {
    let text = memory.get(registry);
    try {
      text = window.localStorage.getItem(STORAGE_PREFIX + registry) ?? text;
    } catch (error) {
      // No storage here: the version lives as long as the page.
    }
    const version = Number(text);
    return text != null && Number.isSafeInteger(version) ? version : null;
  }

  function storeVersion(registry, version) {
    const highest = storedVersion(registry);
    if (highest !== null && highest >= version) {
      return;
    }
    memory.set(registry, String(version));
    try {
      window.localStorage.setItem(STORAGE_PREFIX + registry,
        String(version));
    } catch (error) {
      // As above: memory only.
    }
  }

  // -- fetching ----------------------------------------------------------

  // GET url; resolves {status, bytes} (at most `limit` + 1 bytes read) or
  // null on any failure, never later than `timeout` milliseconds.
  async function fetchBytes(url, limit, timeout, signal) {
    const controller = new AbortController();
    const abort = () => controller.abort();
    const timer = setTimeout(abort, timeout);
    signal?.addEventListener("abort", abort);
    try {
      const response = await fetch(url, {
        signal: controller.signal, mode: "cors", credentials: "omit",
        redirect: "error", referrerPolicy: "no-referrer",
      });
      const bytes = await readCapped(response, limit);
      return {status: response.status, bytes};
    } catch (error) {
      return null;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
    }
  }

  // The body, read as a stream that stops past `limit` bytes (a length
  // header would not do: it counts the bytes before decompression).
  async function readCapped(response, limit) {
    const reader = response.body.getReader();
    const chunks = [];
    let size = 0;
    while (size <= limit) {
      const {done, value} = await reader.read();
      if (done) {
        break;
      }
      chunks.push(value);
      size += value.length;
    }
    reader.cancel().catch(() => {});
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return bytes.slice(0, limit + 1);
  }

  // Try `items` one after another: the next after `delay` ms, or at once
  // when the one before gives up. `attempt(item, signal)` resolves a
  // result or null; the first result that `wins` ends the rest (their
  // requests are aborted). Resolves {winner, results}: the winning result
  // (or null) and every result seen.
  function staggered(items, attempt, delay, wins) {
    const queue = [...items];
    const stop = new AbortController();
    const results = [];
    let running = 0;
    let timer = null;
    let done = false;

    return new Promise((resolve) => {
      const finish = (winner) => {
        done = true;
        clearTimeout(timer);
        stop.abort();
        resolve({winner, results});
      };
      const next = () => {
        clearTimeout(timer);
        if (done) {
          return;
        }
        if (queue.length === 0) {
          if (running === 0) {
            finish(null);
          }
          return;
        }
        const item = queue.shift();
        running += 1;
        const tried = Promise.resolve().then(() => attempt(item, stop.signal));
        tried.catch(() => null).then((result) => {
          running -= 1;
          if (done) {
            return;
          }
          results.push(result);
          if (result && wins(result)) {
            finish(result);
          } else {
            next();
          }
        });
        timer = setTimeout(next, delay);
      };
      next();
    });
  }

  // -- choosing the mirrors ------------------------------------------------

  function bootstrapOrigins(urls) {
    const origins = [];
    for (const text of Array.isArray(urls) ? urls : []) {
      try {
        const url = new URL(text);
        if (/^https?:$/.test(url.protocol) && !origins.includes(url.origin)) {
          origins.push(url.origin);
        }
      } catch (error) {
        console.warn("status.js: ignoring a bootstrap URL that is no URL");
      }
    }
    return origins;
  }

  // The mirrors to ask: those of the first signed list that verifies
  // (from the registry or a bootstrap mirror), else the bootstrap list.
  async function chooseMirrors(config, bootstrap) {
    const fallback = {list: "bootstrap", mirrors: bootstrap};
    if (!config.registry || !config.trusted_keys.length) {
      return fallback;
    }
    if (!globalThis.crypto?.subtle) {
      console.info("status.js: no WebCrypto here; using the bootstrap list");
      return fallback;
    }
    const pinned = importTrustedKeys(config.trusted_keys);
    pinned.catch(() => {
      console.info("status.js: no Ed25519 in this browser's WebCrypto; " +
        "using the bootstrap list");
    });
    const signed = await firstSignedList(config, bootstrap, pinned);
    if (!signed) {
      return fallback;
    }
    storeVersion(config.registry, signed.version);
    return {list: `signed:${signed.version}`, mirrors: signed.mirrors};
  }

  // The first list that verifies: the registry's, else (after a short
  // delay, or at once when the registry fails) a bootstrap mirror's.
  async function firstSignedList(config, bootstrap, pinned) {
    const sources = [config.registry, ...bootstrap]
      .filter((url, index, all) => all.indexOf(url) === index)
      .slice(0, MAX_LIST_SOURCES);
    const attempt = (source, signal) =>
      signedListFrom(source, config, pinned, signal);
    const {winner} = await staggered(sources, attempt, LIST_STAGGER_MS,
      () => true);
    return winner;
  }

  // The verified list a source serves, or null; a refusal is logged.
  // `pinned` is the promise of importTrustedKeys, imported meanwhile.
  async function signedListFrom(source, config, pinned, signal) {
    const answer = await fetchBytes(`${source}/v1/mirrors.json`,
      MAX_ENVELOPE_BYTES, LIST_TIMEOUT_MS, signal);
    if (!answer || answer.status !== 200) {
      return null;
    }
    const keys = await pinned.catch(() => null);
    if (!keys) {
      return null;
    }
    const highest = storedVersion(config.registry);
    try {
      return await verifySignedList(answer.bytes, keys, config.registry,
        highest, Date.now(), config.allow_private === true);
    } catch (error) {
      if (error.reason === "same-version") {
        // The list already accepted: check it again without the version.
        return verifySignedList(answer.bytes, keys, config.registry, null,
          Date.now(), config.allow_private === true).catch(() => null);
      }
      console.warn(`status.js: signed list from ${source} refused ` +
        `(${error.reason || "error"}): ${error.message}`);
      return null;
    }
  }

  // -- asking the mirrors ------------------------------------------------

  function shuffled(items) {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i -= 1) {
      const j = Math.floor(Math.random() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  function statusPath(image) {
    const encode = encodeURIComponent;
    return `/build/${encode(image.organization)}/` +
      `${encode(image.repository)}?tag=${encode(image.tag)}`;
  }

  // What one mirror said: {state} for an answer to paint, {upstream: true}
  // when it could not reach Docker Hub, or null for no usable answer.
  async function ask(mirror, image, signal) {
    const answer = await fetchBytes(mirror + statusPath(image),
      MAX_ANSWER_BYTES, REQUEST_TIMEOUT_MS, signal);
    const text = answer && answer.bytes.length <= MAX_ANSWER_BYTES &&
      utf8(answer.bytes);
    const parsed = text ? parseJSON(text) : null;
    const body = parsed && isObject(parsed.value) ? parsed.value : null;
    if (!body) {
      return null;
    }
    if (answer.status === 200 && body.request === "ok" &&
        Number.isInteger(body.status)) {
      return {state: stateOf(body)};
    }
    if (body.request !== "error") {
      return null;
    }
    if (answer.status === 404) {
      return {state: "not found"};
    }
    if (answer.status === 400) {
      return {state: "invalid name"};
    }
    return answer.status >= 502 && answer.status <= 504
      ? {upstream: true} : null;
  }

  // The answer's state, or one read from the status integer for mirrors
  // that send only the seed's fields.
  function stateOf(body) {
    if (Object.hasOwn(STATES, body.state) && body.state !== "unknown") {
      return body.state;
    }
    const known = {10: "success", 1: "published", 0: "queued",
      3: "building", [-4]: "cancelled"};
    return known[body.status] ??
      (body.status < 0 ? "failed" : "building");
  }

  // Ask the mirrors in a shuffled, staggered race; resolve with the first
  // answer, else {state} "unavailable" (a mirror answered but could not
  // reach Docker Hub) or "unknown" (no mirror answered).
  async function race(mirrors, image) {
    const queue = shuffled(mirrors).slice(0, MAX_ASKED);
    const attempt = async (mirror, signal) => {
      const answer = await ask(mirror, image, signal);
      return answer && {...answer, mirror};
    };
    const {winner, results} = await staggered(queue, attempt, STAGGER_MS,
      (result) => Boolean(result.state));
    if (winner) {
      return winner;
    }
    const upstream = results.some((result) => result?.upstream);
    return {state: upstream ? "unavailable" : "unknown"};
  }

  // -- painting ------------------------------------------------------------

  function shortened(text) {
    const chars = Array.from(text.replace(/[\t\n\r]/g, " "));
    return chars.length <= MAX_TEXT ? chars.join("")
      : chars.slice(0, MAX_TEXT - 1).join("") + "\u2026";
  }

  function textWidth(element) {
    let width = 0;
    try {
      width = element.getComputedTextLength() / 10;
    } catch (error) {
      width = 0;
    }
    return width > 0 ? width
      : Array.from(element.textContent).length * FALLBACK_CHAR_WIDTH;
  }

  function paint(root, label, [message, color]) {
    const part = (name) => root.getElementById(name);
    const texts = {label, message};
    for (const name of ["label", "message"]) {
      part(name).textContent = texts[name];
      part(`${name}-shadow`).textContent = texts[name];
    }
    const left = label ? Math.ceil(textWidth(part("label"))) + 2 * PADDING
      : 0;
    const right = Math.ceil(textWidth(part("message"))) + 2 * PADDING;
    const width = left + right;

    for (const name of ["label", "label-shadow"]) {
      part(name).setAttribute("x", String(left * 5));
      part(name).setAttribute("display", label ? "inline" : "none");
    }
    for (const name of ["message", "message-shadow"]) {
      part(name).setAttribute("x", String(left * 10 + right * 5));
    }
    part("label-part").setAttribute("width", String(left));
    part("message-part").setAttribute("x", String(left));
    part("message-part").setAttribute("width", String(right));
    part("message-part").setAttribute("fill", color);
    for (const name of ["outline", "shine"]) {
      part(name).setAttribute("width", String(width));
    }
    const svg = root.documentElement;
    svg.setAttribute("width", String(width));
    const title = label ? `${label}: ${message}` : message;
    part("title").textContent = title;
    svg.setAttribute("aria-label", title);
  }

  function badgeParameters(url) {
    const query = new URL(url).searchParams;
    const name = (key) => (query.get(key) ?? "").slice(0, NAME_LIMIT);
    return {
      organization: name("organization") || DEFAULTS.organization,
      repository: name("repository"),
      tag: name("tag") || DEFAULTS.tag,
      label: shortened(query.get("text") ?? DEFAULTS.text),
    };
  }

  // Where this script came from (document.currentScript is only set
  // while it first runs).
  function scriptURL() {
    const script = document.currentScript ||
      document.querySelector("script");
    const href = script && (script.getAttribute("href") ||
      script.getAttribute("src"));
    return new URL(href || "status.js", document.baseURI);
  }

  async function loadConfig(url) {
    const answer = await fetchBytes(url, MAX_ENVELOPE_BYTES,
      REQUEST_TIMEOUT_MS);
    const text = answer && answer.status === 200 && utf8(answer.bytes);
    const parsed = text ? parseJSON(text) : null;
    const config = parsed && isObject(parsed.value) ? parsed.value : {};
    return {
      trusted_keys: Array.isArray(config.trusted_keys)
        ? config.trusted_keys : [],
      registry: typeof config.registry === "string" ? config.registry : null,
      bootstrap: Array.isArray(config.bootstrap) ? config.bootstrap : [],
      allow_private: config.allow_private === true,
    };
  }

  async function main() {
    const configURL = new URL("status-config.json", scriptURL());
    const svg = document.documentElement;
    const image = badgeParameters(document.URL);
    const mark = (name, value) => svg.setAttribute(`data-${name}`, value);

    if (!image.repository) {
      paint(document, image.label, NO_REPOSITORY);
      mark("list", "none");
      mark("state", "no repository");
      return;
    }
    paint(document, image.label, ["\u2026", "#9f9f9f"]);
    const config = await loadConfig(configURL);
    const bootstrap = bootstrapOrigins(config.bootstrap);
    const chosen = await chooseMirrors(config, bootstrap);
    mark("list", chosen.list);

    const outcome = await race(chosen.mirrors, image);
    paint(document, image.label, STATES[outcome.state]);
    if (outcome.mirror) {
      mark("mirror", outcome.mirror);
    }
    mark("state", outcome.state);
  }

  globalThis.dockerhubBuildStatus = Object.freeze({
    verifySignedList, importTrustedKeys, isCanonicalMirrorURL, STATES,
  });

  if (document.documentElement?.localName === "svg" &&
      document.getElementById("message-part")) {
    main().catch((error) => {
      console.error("status.js:", error);
      paint(document, badgeParameters(document.URL).label,
        STATES.unknown);
      document.documentElement.setAttribute("data-state", "unknown");
    });
  }
})();
