// Renders /openapi.json as a readable list of operations, each with its examples and a form to try it.
// Served from the gateway itself (no CDN); builds the page with DOM calls and textContent only, so no
// document text and no API answer is ever parsed as HTML.
(function () {
  'use strict';

  // The token lives in this tab only: sessionStorage, never localStorage or a cookie.
  var TOKEN_KEY = 'relais.docs.token';
  // Response headers worth showing after a request.
  var SHOWN_HEADERS = ['content-type', 'x-request-id', 'idempotent-replayed', 'retry-after', 'www-authenticate', 'allow', 'location'];
  var MAX_SHOWN = 200000;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }

  /** Text with `code` spans: the spans become <code> elements, everything stays a text node. */
  function rich(text) {
    return String(text)
      .split('`')
      .map(function (part, i, parts) {
        // An odd part is inside backticks, unless it is the tail after an unmatched one.
        if (i % 2 === 1 && i < parts.length - 1) return el('code', { text: part });
        return document.createTextNode(i % 2 === 1 ? '`' + part : part);
      });
  }

  function paragraphs(text, attrs) {
    return String(text)
      .split('\n\n')
      .map(function (p) {
        return el('p', attrs, rich(p));
      });
  }

  var doc;

  function resolve(schema) {
    var seen = 0;
    while (schema && schema.$ref && seen++ < 10) {
      var parts = schema.$ref.replace(/^#\//, '').split('/');
      schema = parts.reduce(function (o, p) {
        return o && o[p];
      }, doc);
    }
    return schema || {};
  }

  function typeOf(s) {
    s = resolve(s);
    if (s.enum)
      return s.enum
        .map(function (v) {
          return JSON.stringify(v);
        })
        .join(' | ');
    if (s.const !== undefined) return JSON.stringify(s.const);
    if (s.anyOf || s.oneOf) return (s.anyOf || s.oneOf).map(typeOf).join(' | ');
    if (s.type === 'array') return typeOf(s.items || {}) + '[]';
    var t = Array.isArray(s.type) ? s.type.join(' | ') : s.type || 'any';
    return s.format ? t + ' (' + s.format + ')' : t;
  }

  function constraints(s) {
    s = resolve(s);
    var out = [];
    ['minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minItems', 'maxItems'].forEach(function (k) {
      // zod's safe-integer bounds say nothing to a reader.
      if (s[k] !== undefined && Math.abs(s[k]) !== Number.MAX_SAFE_INTEGER) out.push(k + ' ' + s[k]);
    });
    if (s.pattern && !s.format) out.push('pattern ' + s.pattern);
    if (s.default !== undefined) out.push('default ' + JSON.stringify(s.default));
    return out.join(', ');
  }

  function schemaTree(schema, depth) {
    var s = resolve(schema);
    if (s.type === 'array' && s.items) s = resolve(s.items);
    var props = s.properties || {};
    var names = Object.keys(props);
    if (!names.length || depth > 5) return null;
    var required = s.required || [];
    return el(
      'ul',
      { class: 'schema' },
      names.map(function (name) {
        var p = props[name];
        var extra = constraints(p);
        var desc = resolve(p).description;
        return el('li', {}, [
          el('code', { text: name }),
          ' ',
          el('span', { class: 'muted', text: typeOf(p) }),
          required.indexOf(name) >= 0 ? el('span', { class: 'badge', text: 'required' }) : null,
          extra ? el('span', { class: 'muted', text: ' · ' + extra }) : null,
          desc ? el('div', { class: 'muted' }, rich(desc)) : null,
          schemaTree(p, depth + 1),
        ]);
      }),
    );
  }

  function rawSchema(schema) {
    return el('details', {}, [el('summary', { class: 'muted', text: 'JSON Schema' }), el('pre', { text: JSON.stringify(schema, null, 2) })]);
  }

  function example(value, label, open) {
    if (value === undefined) return null;
    var node = el('details', { class: 'example' }, [el('summary', { class: 'muted', text: label }), el('pre', { text: JSON.stringify(value, null, 2) })]);
    node.open = !!open;
    return node;
  }

  // ------------------------------------------------------------ token

  function storage() {
    try {
      return window.sessionStorage;
    } catch {
      return null; // storage disabled: the token then lasts as long as the page
    }
  }

  function setupToken() {
    var input = document.getElementById('token');
    var store = storage();
    if (store) input.value = store.getItem(TOKEN_KEY) || '';
    input.addEventListener('input', function () {
      var value = input.value.trim();
      if (!store) return;
      if (value) store.setItem(TOKEN_KEY, value);
      else store.removeItem(TOKEN_KEY);
    });
    document.getElementById('forget').addEventListener('click', function () {
      input.value = '';
      if (store) store.removeItem(TOKEN_KEY);
    });
  }

  function token() {
    return document.getElementById('token').value.trim();
  }

  // ------------------------------------------------------------ try it

  /** Where the API is: the document's first server, resolved against where the document came from. */
  function apiBase() {
    var server = (doc.servers && doc.servers[0] && doc.servers[0].url) || '/';
    return new URL(server, new URL('/openapi.json', location.href)).href.replace(/\/$/, '');
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return (b + 256).toString(16).slice(1);
      })
      .join('');
  }

  function paramInput(p) {
    var s = resolve(p.schema);
    if (s.enum) {
      var select = el(
        'select',
        { name: p.name },
        (p.required ? [] : [el('option', { value: '', text: '(not sent)' })]).concat(
          s.enum.map(function (v) {
            return el('option', { value: String(v), text: String(v) });
          }),
        ),
      );
      return select;
    }
    var hint = [typeOf(s), s.default !== undefined ? 'default ' + JSON.stringify(s.default) : ''].filter(Boolean).join(' · ');
    return el('input', { type: 'text', name: p.name, placeholder: hint, spellcheck: 'false', autocomplete: 'off' });
  }

  function showResponse(out, response, text, ms) {
    out.textContent = '';
    out.appendChild(
      el('p', {}, [
        el('strong', { class: response.ok ? 'ok' : 'ko', text: response.status + ' ' + response.statusText }),
        el('span', { class: 'muted', text: ' · ' + ms + ' ms' }),
      ]),
    );
    var headers = SHOWN_HEADERS.filter(function (h) {
      return response.headers.has(h);
    });
    if (headers.length) {
      out.appendChild(
        el(
          'table',
          { class: 'headers' },
          headers.map(function (h) {
            return el('tr', {}, [el('th', { text: h }), el('td', {}, [el('code', { text: response.headers.get(h) })])]);
          }),
        ),
      );
    }
    var shown = text;
    if (/json/.test(response.headers.get('content-type') || '')) {
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // Not JSON after all: shown as it came.
      }
    }
    if (shown.length > MAX_SHOWN) shown = shown.slice(0, MAX_SHOWN) + '\n… (' + (shown.length - MAX_SHOWN) + ' more characters)';
    if (shown) out.appendChild(el('pre', { text: shown }));
  }

  function tryIt(method, path, op) {
    var params = (op.parameters || []).filter(function (p) {
      return p.in === 'path' || p.in === 'query';
    });
    var idempotency = (op.parameters || []).some(function (p) {
      return p.in === 'header' && p.name === 'Idempotency-Key';
    });
    var media = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
    var open = op.security && op.security.length === 0;
    var box = el('div', { class: 'try-body' });
    var fields = [];

    if (params.length) {
      box.appendChild(
        el(
          'table',
          {},
          params.map(function (p) {
            var input = paramInput(p);
            fields.push({ param: p, input: input });
            return el('tr', {}, [
              el('th', {}, [
                el('code', { text: p.name }),
                ' ',
                el('span', { class: 'muted', text: p.in }),
                p.required ? el('span', { class: 'badge', text: 'required' }) : null,
              ]),
              el('td', {}, [input]),
            ]);
          }),
        ),
      );
    }
    var key;
    if (idempotency) {
      key = el('input', {
        type: 'text',
        name: 'Idempotency-Key',
        placeholder: 'optional: the same key replays the first answer',
        spellcheck: 'false',
        autocomplete: 'off',
      });
      var generate = el('button', { type: 'button', text: 'New key' });
      generate.addEventListener('click', function () {
        key.value = newKey();
      });
      box.appendChild(el('div', { class: 'row' }, [el('label', {}, [el('code', { text: 'Idempotency-Key' }), ' ', key]), generate]));
    }
    var textarea;
    if (media) {
      var initial = media.example === undefined ? '{}' : JSON.stringify(media.example, null, 2);
      textarea = el('textarea', { name: 'body', rows: String(Math.min(20, initial.split('\n').length + 1)), spellcheck: 'false' });
      textarea.value = initial;
      var reset = el('button', { type: 'button', text: 'Reset to the example' });
      reset.addEventListener('click', function () {
        textarea.value = initial;
      });
      box.appendChild(el('div', {}, [el('div', { class: 'muted', text: 'Body (application/json)' }), textarea, reset]));
    }
    var send = el('button', { type: 'button', class: 'send', text: 'Send ' + method.toUpperCase() });
    var out = el('div', { class: 'result', 'aria-live': 'polite' });
    box.appendChild(
      el('div', { class: 'row' }, [
        send,
        el('span', { class: 'muted', text: open ? 'Sent without credentials.' : 'Sent with Authorization: Bearer and the token above.' }),
      ]),
    );
    box.appendChild(out);

    send.addEventListener('click', function () {
      var missing = [];
      var query = new URLSearchParams();
      var url = path;
      fields.forEach(function (f) {
        var value = f.input.value.trim();
        if (f.param.in === 'path') {
          if (!value) missing.push(f.param.name);
          url = url.replace('{' + f.param.name + '}', encodeURIComponent(value));
        } else if (value !== '') {
          query.append(f.param.name, value);
        }
      });
      if (missing.length) {
        out.textContent = '';
        out.appendChild(el('p', { class: 'ko', text: 'Fill in ' + missing.join(', ') + '.' }));
        return;
      }
      var headers = {};
      if (!open && token()) headers.Authorization = 'Bearer ' + token();
      if (key && key.value.trim()) headers['Idempotency-Key'] = key.value.trim();
      var init = { method: method.toUpperCase(), headers: headers, cache: 'no-store', credentials: 'omit' };
      // Sent as typed, so a malformed body shows the API's own answer to it.
      if (textarea && textarea.value.trim()) {
        headers['Content-Type'] = 'application/json';
        init.body = textarea.value;
      }
      var qs = query.toString();
      var started = performance.now();
      send.disabled = true;
      out.textContent = 'Sending…';
      fetch(apiBase() + url + (qs ? '?' + qs : ''), init)
        .then(function (response) {
          return response.text().then(function (text) {
            showResponse(out, response, text, Math.round(performance.now() - started));
          });
        })
        .catch(function (err) {
          out.textContent = '';
          out.appendChild(el('p', { class: 'ko', text: 'The request failed: ' + err.message }));
        })
        .then(function () {
          send.disabled = false;
        });
    });

    return el('details', { class: 'try' }, [el('summary', { text: 'Try it' }), box]);
  }

  // ------------------------------------------------------------ operations

  function operation(method, path, op) {
    var body = el('div');
    // example() gives null when there is none (e.g. GET /openapi.json), which appendChild refuses.
    function add(node) {
      if (node) body.appendChild(node);
    }
    if (op.description)
      paragraphs(op.description).forEach(function (p) {
        body.appendChild(p);
      });
    var auth =
      op.security && op.security.length === 0
        ? 'No authentication.'
        : op.security
          ? 'Authentication: ' +
            op.security
              .map(function (s) {
                return Object.keys(s).join(', ');
              })
              .join(' or ') +
            '.'
          : 'Authentication: bearer API token.';
    body.appendChild(el('p', { class: 'muted', text: auth + ' Operation id: ' + op.operationId }));

    if (op.parameters && op.parameters.length) {
      body.appendChild(el('h4', { text: 'Parameters' }));
      body.appendChild(
        el(
          'table',
          {},
          [
            el(
              'tr',
              {},
              ['Name', 'In', 'Type', 'Notes'].map(function (h) {
                return el('th', { text: h });
              }),
            ),
          ].concat(
            op.parameters.map(function (p) {
              var notes = [constraints(p.schema), p.description].filter(Boolean).join(' · ');
              return el('tr', {}, [
                el('td', {}, [el('code', { text: p.name }), p.required ? el('span', { class: 'badge', text: 'required' }) : null]),
                el('td', { text: p.in }),
                el('td', { text: typeOf(p.schema) }),
                el('td', {}, rich(notes)),
              ]);
            }),
          ),
        ),
      );
    }
    if (op.requestBody) {
      var media = op.requestBody.content && op.requestBody.content['application/json'];
      body.appendChild(el('h4', { text: 'Request body (application/json)' }));
      if (media) {
        body.appendChild(schemaTree(media.schema, 0) || el('p', { class: 'muted', text: typeOf(media.schema) }));
        add(example(media.example, 'Example request', true));
        body.appendChild(rawSchema(media.schema));
      }
    }
    body.appendChild(el('h4', { text: 'Responses' }));
    Object.keys(op.responses || {}).forEach(function (code) {
      var r = resolve(op.responses[code]);
      var content = r.content || {};
      var type = Object.keys(content)[0];
      body.appendChild(
        el('div', { class: 'response' }, [
          el('strong', { text: code + ' ' }),
          el('span', {}, rich(r.description || '')),
          type ? el('span', { class: 'muted', text: ' — ' + type }) : null,
        ]),
      );
      if (!type) return;
      var success = /^2/.test(code);
      if (success && content[type].schema && Object.keys(content[type].schema).length) {
        body.appendChild(schemaTree(content[type].schema, 0) || el('div', { class: 'muted', text: typeOf(content[type].schema) }));
      }
      add(example(content[type].example, success ? 'Example response' : 'Example', false));
      if (success && content[type].schema && Object.keys(content[type].schema).length) body.appendChild(rawSchema(content[type].schema));
    });
    body.appendChild(tryIt(method, path, op));

    var roles = op['x-relais-roles'];
    return el('details', { class: 'op', id: op.operationId }, [
      el('summary', {}, [
        el('span', { class: 'method ' + method, text: method }),
        el('span', { class: 'path', text: path }),
        el('span', { class: 'muted' }, rich(op.summary || '')),
        roles ? el('span', { class: 'badge', text: roles.join(', ') }) : null,
      ]),
      body,
    ]);
  }

  function render() {
    document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
    var intro = document.getElementById('intro');
    intro.textContent = '';
    paragraphs(doc.info.description || '').forEach(function (p) {
      intro.appendChild(p);
    });
    var byTag = {};
    (doc.tags || []).forEach(function (t) {
      byTag[t.name] = [];
    });
    Object.keys(doc.paths).forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) {
        var op = doc.paths[path][method];
        var tag = (op.tags && op.tags[0]) || 'Other';
        (byTag[tag] = byTag[tag] || []).push(operation(method, path, op));
      });
    });
    var content = document.getElementById('content');
    content.textContent = '';
    var toggle = el('button', { type: 'button', text: 'Expand all' });
    toggle.addEventListener('click', function () {
      setAll(toggle.textContent === 'Expand all');
    });
    content.appendChild(toggle);
    Object.keys(byTag).forEach(function (tag) {
      content.appendChild(el('h2', { text: tag }));
      byTag[tag].forEach(function (node) {
        content.appendChild(node);
      });
    });
    function setAll(open) {
      Array.prototype.forEach.call(document.querySelectorAll('details.op'), function (d) {
        d.open = open;
      });
      toggle.textContent = open ? 'Collapse all' : 'Expand all';
    }
    // /docs#expand opens every operation (handy for printing or searching the page); #<operationId> opens that one.
    if (location.hash === '#expand') setAll(true);
    else if (location.hash.length > 1) {
      var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target && target.classList.contains('op')) {
        target.open = true;
        target.scrollIntoView();
      }
    }
  }

  setupToken();
  fetch('/openapi.json')
    .then(function (r) {
      if (!r.ok) throw new Error('GET /openapi.json answered ' + r.status);
      return r.json();
    })
    .then(function (json) {
      doc = json;
      render();
    })
    .catch(function (err) {
      document.getElementById('content').textContent = '';
      document.getElementById('error').textContent = 'Could not load the API description: ' + err.message;
    });
})();
