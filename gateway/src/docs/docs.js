// Renders /openapi.json as a readable list of operations. Served from the gateway itself
// (no CDN); builds the page with DOM calls and textContent only, so no document text is parsed as HTML.
(function () {
  'use strict';

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

  var doc;

  function resolve(schema) {
    var seen = 0;
    while (schema && schema.$ref && seen++ < 10) {
      var parts = schema.$ref.replace(/^#\//, '').split('/');
      schema = parts.reduce(function (o, p) { return o && o[p]; }, doc);
    }
    return schema || {};
  }

  function typeOf(s) {
    s = resolve(s);
    if (s.enum) return s.enum.map(function (v) { return JSON.stringify(v); }).join(' | ');
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
      if (s[k] !== undefined) out.push(k + ' ' + s[k]);
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
    return el('ul', { class: 'schema' }, names.map(function (name) {
      var p = props[name];
      var extra = constraints(p);
      var desc = resolve(p).description;
      return el('li', {}, [
        el('code', { text: name }),
        ' ',
        el('span', { class: 'muted', text: typeOf(p) }),
        required.indexOf(name) >= 0 ? el('span', { class: 'badge', text: 'required' }) : null,
        extra ? el('span', { class: 'muted', text: ' · ' + extra }) : null,
        desc ? el('div', { class: 'muted', text: desc }) : null,
        schemaTree(p, depth + 1),
      ]);
    }));
  }

  function rawSchema(schema) {
    return el('details', {}, [el('summary', { class: 'muted', text: 'JSON Schema' }), el('pre', { text: JSON.stringify(schema, null, 2) })]);
  }

  function operation(method, path, op) {
    var body = el('div');
    if (op.description) op.description.split('\n\n').forEach(function (p) { body.appendChild(el('p', { text: p })); });
    var auth = op.security && op.security.length === 0 ? 'No authentication.'
      : op.security ? 'Authentication: ' + op.security.map(function (s) { return Object.keys(s).join(', '); }).join(' or ') + '.'
      : 'Authentication: bearer API token.';
    body.appendChild(el('p', { class: 'muted', text: auth + ' Operation id: ' + op.operationId }));

    if (op.parameters && op.parameters.length) {
      body.appendChild(el('h4', { text: 'Parameters' }));
      body.appendChild(el('table', {}, [
        el('tr', {}, ['Name', 'In', 'Type', 'Notes'].map(function (h) { return el('th', { text: h }); })),
      ].concat(op.parameters.map(function (p) {
        return el('tr', {}, [
          el('td', {}, [el('code', { text: p.name }), p.required ? el('span', { class: 'badge', text: 'required' }) : null]),
          el('td', { text: p.in }),
          el('td', { text: typeOf(p.schema) }),
          el('td', { text: [constraints(p.schema), p.description].filter(Boolean).join(' · ') }),
        ]);
      }))));
    }
    if (op.requestBody) {
      var media = op.requestBody.content && op.requestBody.content['application/json'];
      body.appendChild(el('h4', { text: 'Request body (application/json)' }));
      if (media) {
        body.appendChild(schemaTree(media.schema, 0) || el('p', { class: 'muted', text: typeOf(media.schema) }));
        body.appendChild(rawSchema(media.schema));
      }
    }
    body.appendChild(el('h4', { text: 'Responses' }));
    Object.keys(op.responses || {}).forEach(function (code) {
      var r = resolve(op.responses[code]);
      var content = r.content || {};
      var type = Object.keys(content)[0];
      body.appendChild(el('div', {}, [
        el('strong', { text: code + ' ' }),
        el('span', { text: r.description || '' }),
        type ? el('span', { class: 'muted', text: ' — ' + type }) : null,
      ]));
      if (type && /^2/.test(code) && content[type].schema && Object.keys(content[type].schema).length) {
        body.appendChild(schemaTree(content[type].schema, 0) || el('div', { class: 'muted', text: typeOf(content[type].schema) }));
        body.appendChild(rawSchema(content[type].schema));
      }
    });

    var roles = op['x-relais-roles'];
    return el('details', { class: 'op' }, [
      el('summary', {}, [
        el('span', { class: 'method ' + method, text: method }),
        el('span', { class: 'path', text: path }),
        el('span', { class: 'muted', text: op.summary || '' }),
        roles ? el('span', { class: 'badge', text: roles.join(', ') }) : null,
      ]),
      body,
    ]);
  }

  function render() {
    document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
    document.getElementById('intro').textContent = doc.info.description || '';
    var byTag = {};
    (doc.tags || []).forEach(function (t) { byTag[t.name] = []; });
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
    toggle.addEventListener('click', function () { setAll(toggle.textContent === 'Expand all'); });
    content.appendChild(toggle);
    Object.keys(byTag).forEach(function (tag) {
      content.appendChild(el('h2', { text: tag }));
      byTag[tag].forEach(function (node) { content.appendChild(node); });
    });
    function setAll(open) {
      Array.prototype.forEach.call(document.querySelectorAll('details.op'), function (d) { d.open = open; });
      toggle.textContent = open ? 'Collapse all' : 'Expand all';
    }
    // /docs#expand opens every operation (handy for printing or searching the page).
    if (location.hash === '#expand') setAll(true);
  }

  fetch('/openapi.json')
    .then(function (r) {
      if (!r.ok) throw new Error('GET /openapi.json answered ' + r.status);
      return r.json();
    })
    .then(function (json) { doc = json; render(); })
    .catch(function (err) {
      document.getElementById('content').textContent = '';
      document.getElementById('error').textContent = 'Could not load the API description: ' + err.message;
    });
})();
