/* A scene document as YAML text and back, in the browser, for the camera page's zone editor:
   the drawing edits the document as data and the YAML box shows the same document as text.

   No library and no build step (the service runs on a LAN without internet), so this reads the
   YAML that scene files are written in, not all of YAML: block and flow mappings and sequences,
   plain, quoted and block (| >) scalars, comments. Scalars resolve as the server's PyYAML
   safe_load resolves them (YAML 1.1: yes/no/on/off are booleans, 010 is octal), except that a
   timestamp stays its text (the scene model reads it from text just as well). Anchors, aliases,
   tags and complex keys are refused with the line, so the drawing never shows a document other
   than the one the server will read. The writer lays the document out as the server's own
   yaml.safe_dump does (block style, collections of scalars in flow style) and quotes every
   string PyYAML would read as something else. */
(function (root) {
  'use strict';

  function YamlError(message, line) {
    this.message = (line ? 'line ' + line + ': ' : '') + message;
    this.line = line || null;
  }
  YamlError.prototype = Object.create(Error.prototype);
  YamlError.prototype.name = 'YamlError';

  /* ---- scalars: PyYAML's implicit resolvers (yaml/resolver.py) ---- */
  var BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
  var TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
  var NULL = /^(?:~|null|Null|NULL|)$/;
  var INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
  var FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
  var TIMESTAMP = /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/;

  function sexagesimal(text) {
    var sign = 1;
    if (text[0] === '-' || text[0] === '+') { if (text[0] === '-') sign = -1; text = text.slice(1); }
    var value = 0;
    text.split(':').forEach(function (part) { value = value * 60 + Number(part); });
    return sign * value;
  }

  function resolve(text) {
    if (NULL.test(text)) return null;
    if (BOOL.test(text)) return TRUE.test(text);
    if (INT.test(text)) {
      var t = text.replace(/_/g, ''), sign = 1;
      if (t.indexOf(':') >= 0) return sexagesimal(t);
      if (t[0] === '-' || t[0] === '+') { if (t[0] === '-') sign = -1; t = t.slice(1); }
      if (t === '0') return 0;
      if (t.slice(0, 2) === '0b') return sign * parseInt(t.slice(2), 2);
      if (t.slice(0, 2) === '0x') return sign * parseInt(t.slice(2), 16);
      if (t[0] === '0') return sign * parseInt(t, 8);
      return sign * parseInt(t, 10);
    }
    if (FLOAT.test(text)) {
      var f = text.replace(/_/g, '').toLowerCase();
      if (f.indexOf('.nan') >= 0) return NaN;
      if (f.indexOf('.inf') >= 0) return f[0] === '-' ? -Infinity : Infinity;
      if (f.indexOf(':') >= 0) return sexagesimal(f);
      return Number(f);
    }
    return text;  /* timestamps included: kept as written */
  }

  /* ---- reader ---- */
  /* A key named __proto__ is data here, not the object's prototype. */
  function put(obj, key, v) {
    Object.defineProperty(obj, key, {value: v, enumerable: true, writable: true, configurable: true});
  }

  function load(text) {
    if (typeof text !== 'string') throw new YamlError('not text');
    var lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
    var i = 0;

    function blank(line) { return /^[ \t]*(#.*)?$/.test(line); }
    function indentOf(n) {
      var m = /^( *)(\t?)/.exec(lines[n]);
      if (m[2] && !blank(lines[n])) throw new YamlError('a tab in the indentation; indent with spaces', n + 1);
      return m[1].length;
    }
    function skipBlank() { while (i < lines.length && blank(lines[i])) i++; }
    function docEnd() { return /^(?:---|\.\.\.)(?:[ \t]|$)/.test(lines[i]); }
    function seqItem(content) { return /^-( |$)/.test(content); }

    /* The key of a "key: value" line and the rest of the line, or null when it is no such line. */
    function splitKey(content, n) {
      var c = content[0], end;
      if (c === '?' && /^\?( |$)/.test(content)) throw new YamlError('complex keys ("? ") are not supported here', n + 1);
      if (c === '"' || c === "'") {
        var sc = scanner(content, n, 0), key;
        try { key = sc.quoted(); } catch (e) { return null; }  /* a quoted text going on to the next line */
        var pos = sc.pos();
        while (content[pos] === ' ' || content[pos] === '\t') pos++;
        if (content[pos] === ':' && (pos + 1 === content.length || /[ \t]/.test(content[pos + 1]))) {
          return {key: key, rest: content.slice(pos + 1)};
        }
        return null;
      }
      if ('[{'.indexOf(c) >= 0) return null;
      for (end = 0; end < content.length; end++) {
        if (content[end] === '#' && end > 0 && /[ \t]/.test(content[end - 1])) return null;
        if (content[end] === ':' && (end + 1 === content.length || /[ \t]/.test(content[end + 1]))) break;
      }
      if (end >= content.length) return null;
      var plain = content.slice(0, end).replace(/[ \t]+$/, '');
      checkPlainStart(plain, n);
      var value = resolve(plain);
      return {key: value === null ? 'null' : String(value), rest: content.slice(end + 1)};
    }

    function checkPlainStart(text, n) {
      if (/^[&*!]/.test(text)) throw new YamlError('anchors, aliases and tags (&, *, !) are not supported here', n + 1);
      if (/^[|>%@`]/.test(text)) throw new YamlError('unexpected character ' + JSON.stringify(text[0]), n + 1);
    }

    function node(minIndent) {
      skipBlank();
      if (i >= lines.length || docEnd()) return null;
      var ind = indentOf(i);
      if (ind < minIndent) return null;
      var content = lines[i].slice(ind);
      if (seqItem(content)) return sequence(ind);
      if (splitKey(content, i)) return mapping(ind);
      var n = i;
      i++;
      return inline(content, n, ind, ind - 1);
    }

    function mapping(ind) {
      var out = {};
      for (;;) {
        skipBlank();
        if (i >= lines.length || docEnd()) break;
        var cur = indentOf(i);
        if (cur < ind) break;
        if (cur > ind) throw new YamlError('unexpected indentation', i + 1);
        var content = lines[i].slice(ind);
        var kv = splitKey(content, i);
        if (!kv) {
          if (seqItem(content)) break;  /* an indentless sequence item ends this mapping */
          throw new YamlError('expected "key: value"', i + 1);
        }
        var n = i;
        i++;
        put(out, kv.key, value(kv.rest, n, ind + content.length - kv.rest.length, ind, true));
      }
      return out;
    }

    function sequence(ind) {
      var out = [];
      for (;;) {
        skipBlank();
        if (i >= lines.length || docEnd()) break;
        var cur = indentOf(i);
        if (cur < ind) break;
        if (cur > ind) throw new YamlError('unexpected indentation', i + 1);
        var content = lines[i].slice(ind);
        if (!seqItem(content)) break;
        var rest = content.slice(1);
        var lead = rest.length - rest.replace(/^ +/, '').length;
        var body = rest.slice(lead);
        if (body === '' || body[0] === '#') {
          i++;
          skipBlank();
          out.push(i < lines.length && indentOf(i) > ind ? node(ind + 1) : null);
        } else if (body[0] === '|' || body[0] === '>') {
          i++;
          out.push(blockScalar(body, i - 1, ind));
        } else if (seqItem(body) || splitKey(body, i)) {
          /* "- key: v" / "- - v": the item is a block node starting at the text's own column */
          var col = ind + 1 + lead;
          lines[i] = new Array(col + 1).join(' ') + body;
          out.push(node(col));
        } else {
          var n = i;
          i++;
          out.push(inline(body, n, ind + 1 + lead, ind));
        }
      }
      return out;
    }

    /* What follows "key:" (or a sequence's "-"): nothing (a nested block), a block scalar, or an
       inline value that may continue on more-indented lines. */
    function value(rest, n, col, parentIndent, inMapping) {
      var body = rest.replace(/^[ \t]+/, '');
      if (body === '' || body[0] === '#') {
        skipBlank();
        if (i >= lines.length) return null;
        var ind = indentOf(i);
        if (ind > parentIndent) return node(ind);
        if (inMapping && ind === parentIndent && seqItem(lines[i].slice(ind))) return sequence(ind);
        return null;
      }
      if (body[0] === '|' || body[0] === '>') return blockScalar(body, n, parentIndent);
      return inline(body, n, col + rest.length - body.length, parentIndent);
    }

    function inline(first, n, col, parentIndent) {
      var parts = [first];
      var end = i;
      /* continuation lines: more indented than the parent, or blank (kept only between others) */
      while (end < lines.length && (/^[ \t]*$/.test(lines[end]) || indentOf(end) > parentIndent)) end++;
      while (end > i && /^[ \t]*$/.test(lines[end - 1])) end--;
      for (var k = i; k < end; k++) parts.push(lines[k]);
      var sc = scanner(parts.join('\n'), n, col);
      var v = sc.value(false, parentIndent);
      sc.finish();
      i = n + 1 + sc.linesUsed();
      return v;
    }

    function blockScalar(header, n, parentIndent) {
      var m = /^([|>])([+-]?)([1-9]?)([+-]?)[ \t]*(#.*)?$/.exec(header);
      if (!m) throw new YamlError('a block scalar header (| or >) with unexpected text', n + 1);
      var folded = m[1] === '>', chomp = m[2] || m[4], explicit = m[3] ? parentIndent + Number(m[3]) : null;
      if (explicit !== null && parentIndent < 0) explicit = Number(m[3]);
      var body = [], contentIndent = explicit;
      while (i < lines.length) {
        var line = lines[i];
        if (/^ *$/.test(line)) { body.push(''); i++; continue; }
        var ind = line.length - line.replace(/^ +/, '').length;
        if (contentIndent === null) {
          if (ind <= parentIndent) break;
          contentIndent = ind;
        }
        if (ind < contentIndent) break;
        body.push(line.slice(contentIndent));
        i++;
      }
      var trailing = 0;
      while (body.length && body[body.length - 1] === '') { body.pop(); trailing++; }
      var out;
      if (!folded) out = body.join('\n');
      else {
        /* folded: a break between two ordinary lines is a space, each empty line a newline, and
           more-indented lines keep their breaks */
        out = '';
        body.forEach(function (line, k) {
          if (k === 0) { out = line; return; }
          var prev = body[k - 1];
          if (line === '') out += '\n';
          else if (prev === '') {
            var last = body.slice(0, k).filter(function (l) { return l !== ''; }).pop();
            out += (last === undefined || /^[ \t]/.test(last) || /^[ \t]/.test(line) ? '\n' : '') + line;
          } else out += (/^[ \t]/.test(line) || /^[ \t]/.test(prev) ? '\n' : ' ') + line;
        });
      }
      if (!body.length) return chomp === '+' ? new Array(trailing + 1).join('\n') : '';
      if (chomp === '-') return out;
      if (chomp === '+') return out + '\n' + new Array(trailing + 1).join('\n');
      return out + '\n';
    }

    skipBlank();
    if (i < lines.length && /^---( |$)/.test(lines[i])) {
      var after = lines[i].slice(3).replace(/^[ \t]+/, '');
      if (after && after[0] !== '#') throw new YamlError('text after "---" is not supported here', i + 1);
      i++;
    }
    var doc = node(0);
    skipBlank();
    if (i < lines.length && /^\.\.\.( |$)/.test(lines[i])) { i++; skipBlank(); }
    if (i < lines.length) {
      if (/^---( |$)/.test(lines[i])) throw new YamlError('more than one document', i + 1);
      throw new YamlError('unexpected text (check the indentation)', i + 1);
    }
    return doc;
  }

  /* Scans one inline value (a scalar or a flow collection, maybe over several lines) in ``src``,
     whose first line is document line ``line0`` (0-based) starting at column ``col0``. */
  function scanner(src, line0, col0) {
    var p = 0;

    function where() {
      return line0 + 1 + (src.slice(0, p).match(/\n/g) || []).length;
    }
    function fail(msg) { throw new YamlError(msg, where()); }
    function space(flow) {
      for (;;) {
        var c = src[p];
        if (c === ' ' || c === '\t' || (flow && c === '\n')) p++;
        else if (c === '#' && (p === 0 || /[ \t\n]/.test(src[p - 1]))) { while (p < src.length && src[p] !== '\n') p++; }
        else if (c === '\n' && !flow) p++;
        else break;
      }
    }

    /* Line folding inside quoted and plain scalars: one break is a space, n+1 breaks are n newlines. */
    function fold() {
      var breaks = 0;
      while (p < src.length && /[ \t\n]/.test(src[p])) { if (src[p] === '\n') breaks++; p++; }
      return breaks > 1 ? new Array(breaks).join('\n') : ' ';
    }

    function quoted() {
      var q = src[p], out = '';
      p++;
      for (;;) {
        if (p >= src.length) fail('a quoted text is not closed (missing ' + q + ')');
        var c = src[p];
        if (q === "'" && c === "'") {
          if (src[p + 1] === "'") { out += "'"; p += 2; continue; }
          p++;
          return out;
        }
        if (q === '"' && c === '"') { p++; return out; }
        if (c === '\n' || ((c === ' ' || c === '\t') && /^[ \t]*\n/.test(src.slice(p)))) {
          out += fold();
          continue;
        }
        if (q === '"' && c === '\\') {
          var e = src[p + 1];
          var simple = {'0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
            ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\x85', _: '\xa0', L: '\u2028', P: '\u2029'};
          if (Object.prototype.hasOwnProperty.call(simple, e)) { out += simple[e]; p += 2; continue; }
          var len = {x: 2, u: 4, U: 8}[e];
          if (len) {
            var hex = src.slice(p + 2, p + 2 + len);
            if (!new RegExp('^[0-9a-fA-F]{' + len + '}$').test(hex)) fail('a bad \\' + e + ' escape');
            out += String.fromCodePoint(parseInt(hex, 16));
            p += 2 + len;
            continue;
          }
          if (e === '\n') {  /* an escaped line break joins the lines without a space */
            p += 2;
            while (src[p] === ' ' || src[p] === '\t') p++;
            continue;
          }
          fail('an unknown escape \\' + (e || ''));
        }
        out += c;
        p++;
      }
    }

    function plain(flow) {
      var start = p, out = '', line = '';
      checkStart();
      for (;;) {
        var c = src[p];
        if (p >= src.length) break;
        if (c === ':' && (p + 1 >= src.length || /[ \t\n]/.test(src[p + 1]) || (flow && /[,\[\]{}]/.test(src[p + 1])))) break;
        if (c === '#' && p > start && /[ \t]/.test(src[p - 1])) break;
        if (flow && /[,\[\]{}]/.test(c)) break;
        if (c === '\n') {
          var save = p, folded = fold();
          var next = src[p];
          if (p >= src.length || next === '#' || (flow && /[,\[\]{}]/.test(next)) ||
              (next === ':' && (p + 1 >= src.length || /[ \t\n]/.test(src[p + 1])))) { p = save; break; }
          out += line.replace(/[ \t]+$/, '') + folded;
          line = '';
          continue;
        }
        line += c;
        p++;
      }
      out += line.replace(/[ \t]+$/, '');
      return resolve(out);
    }

    function checkStart() {
      var c = src[p], next = src[p + 1];
      if (/[&*!]/.test(c)) fail('anchors, aliases and tags (&, *, !) are not supported here');
      if (/[|>]/.test(c)) fail('a block scalar (| or >) cannot be written here');
      if (/[%@`,\]}]/.test(c)) fail('unexpected character ' + JSON.stringify(c));
      if (c === '?' && (next === undefined || /[ \t\n]/.test(next))) fail('complex keys ("? ") are not supported here');
      if ((c === '-' || c === ':') && (next === undefined || /[ \t\n]/.test(next))) {
        fail('unexpected "' + c + ' " (check the indentation)');
      }
    }

    function flowSeq() {
      var out = [];
      p++;
      for (;;) {
        space(true);
        if (p >= src.length) fail('a [ list is not closed');
        if (src[p] === ']') { p++; return out; }
        out.push(item(true));
        space(true);
        if (src[p] === ',') { p++; continue; }
        if (src[p] === ']') { p++; return out; }
        if (src[p] === ':') fail('"key: value" pairs inside [ ] are not supported here');
        fail(p >= src.length ? 'a [ list is not closed' : 'expected "," or "]"');
      }
    }

    function flowMap() {
      var out = {};
      p++;
      for (;;) {
        space(true);
        if (p >= src.length) fail('a { mapping is not closed');
        if (src[p] === '}') { p++; return out; }
        var key = item(true);
        if (key !== null && typeof key === 'object') fail('a list or mapping as a key is not supported');
        space(true);
        var v = null;
        if (src[p] === ':') {
          p++;
          space(true);
          if (src[p] !== ',' && src[p] !== '}') v = item(true);
          space(true);
        }
        put(out, key === null ? 'null' : String(key), v);
        if (src[p] === ',') { p++; continue; }
        if (src[p] === '}') { p++; return out; }
        fail(p >= src.length ? 'a { mapping is not closed' : 'expected "," or "}"');
      }
    }

    function item(flow) {
      var c = src[p];
      if (c === '[') return flowSeq();
      if (c === '{') return flowMap();
      if (c === '"' || c === "'") return quoted();
      return plain(flow);
    }

    return {
      quoted: quoted,
      pos: function () { return p; },
      value: function () { space(false); return item(false); },
      finish: function () {
        space(false);
        if (p < src.length) {
          if (src[p] === ':') fail('"key: value" cannot follow a value on the same line (check the indentation)');
          fail('unexpected text after the value');
        }
      },
      /* how many lines after the first this value took */
      linesUsed: function () { return (src.slice(0, src.replace(/[ \t\n]+$/, '').length).match(/\n/g) || []).length; }
    };
  }

  /* ---- writer ---- */
  var PLAIN = /^[A-Za-z_\u3400-\u9fff\uf900-\ufaff][A-Za-z0-9_ .\/()\-\u3000-\u9fff\uf900-\ufaff\uff01-\uffee]*$/;

  function isScalar(v) { return v === null || v === undefined || typeof v !== 'object'; }
  function isLeaf(v) { return (Array.isArray(v) ? v : Object.keys(v).map(function (k) { return v[k]; })).every(isScalar); }

  function number(v) {
    if (Number.isNaN(v)) return '.nan';
    if (v === Infinity) return '.inf';
    if (v === -Infinity) return '-.inf';
    var text = String(v);
    /* PyYAML (YAML 1.1) reads 1e+21 as text: an exponent needs a decimal point before it */
    var m = /^(-?\d+)(e[-+]\d+)$/.exec(text);
    return m ? m[1] + '.0' + m[2] : text;
  }

  function string(v) {
    var plain = PLAIN.test(v) && !/ $/.test(v) && !/ #|: /.test(v) && resolve(v) === v && !TIMESTAMP.test(v);
    if (plain) return v;
    /* JSON's string escapes are YAML's; characters PyYAML refuses raw or reads as line breaks
       (DEL, C1 controls, NEL, U+2028/9, U+FFFE/F) are escaped as well */
    return JSON.stringify(v).replace(/[\x7f-\x9f\u2028\u2029\ufffe\uffff]/g, function (c) {
      return '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4);
    });
  }

  function scalar(v) {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return number(v);
    return string(String(v));
  }

  function flow(v) {
    if (isScalar(v)) return scalar(v);
    if (Array.isArray(v)) return '[' + v.map(flow).join(', ') + ']';
    return '{' + Object.keys(v).map(function (k) { return string(k) + ': ' + flow(v[k]); }).join(', ') + '}';
  }

  function pad(n) { return new Array(n + 1).join(' '); }

  function writeMapping(v, indent, out) {
    Object.keys(v).forEach(function (k) {
      var val = v[k], head = pad(indent) + string(k) + ':';
      if (isScalar(val) || isLeaf(val)) out.push(head + ' ' + flow(val));
      else if (Array.isArray(val)) { out.push(head); writeSequence(val, indent, out); }
      else { out.push(head); writeMapping(val, indent + 2, out); }
    });
  }

  function writeSequence(v, indent, out) {
    v.forEach(function (item) {
      if (isScalar(item) || isLeaf(item)) { out.push(pad(indent) + '- ' + flow(item)); return; }
      var inner = [];
      if (Array.isArray(item)) writeSequence(item, indent + 2, inner);
      else writeMapping(item, indent + 2, inner);
      out.push(pad(indent) + '- ' + inner[0].slice(indent + 2));
      for (var k = 1; k < inner.length; k++) out.push(inner[k]);
    });
  }

  function dump(doc) {
    var out = [];
    if (isScalar(doc)) return scalar(doc) + '\n';
    if (Array.isArray(doc)) {
      if (!doc.length) return '[]\n';
      writeSequence(doc, 0, out);
    } else {
      if (!Object.keys(doc).length) return '{}\n';
      writeMapping(doc, 0, out);
    }
    return out.join('\n') + '\n';
  }

  root.CWYaml = {load: load, dump: dump, YamlError: YamlError};
})(typeof window !== 'undefined' ? window : globalThis);
