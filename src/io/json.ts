// A small strict JSON parser (RFC 8259) for file headers. Unlike JSON.parse it rejects duplicate
// keys, keeps key order exactly (objects become Maps, so "__proto__" or "0" are ordinary keys),
// bounds nesting depth (no stack overflow on forged input) and reports the character position.

import { FormatError } from './errors.js';

export type Json = null | boolean | number | string | Json[] | Map<string, Json>;

const MAX_DEPTH = 32;

export function parseStrictJson(text: string, file: string, field = 'header'): Json {
  let i = 0;
  const n = text.length;
  const fail = (msg: string): never => {
    const found = i < n ? JSON.stringify(text.slice(i, i + 12)) : 'end of header';
    throw new FormatError(file, field, `invalid JSON at character ${i}: ${msg}, found ${found}`);
  };
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const str = (): string => {
    // at '"'
    i++;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            const h = text.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape');
            out += String.fromCharCode(parseInt(h, 16));
            i += 4;
            break;
          }
          default:
            fail('bad escape');
        }
        i += 2;
        start = i;
        continue;
      }
      i++;
    }
  };
  const num = (): number => {
    const m = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    m.lastIndex = i;
    const r = m.exec(text);
    if (!r || r[0] === '-' || r[0].length === 0) fail('expected a value');
    i += r![0].length;
    const v = Number(r![0]);
    if (!Number.isFinite(v)) fail('number out of range');
    return v;
  };
  const lit = (word: string, v: Json): Json => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return v;
    }
    return fail('expected a value');
  };
  const value = (depth: number): Json => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    ws();
    if (i >= n) fail('expected a value');
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = new Map<string, Json>();
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const keyPos = i;
        const k = str();
        if (obj.has(k)) {
          i = keyPos;
          throw new FormatError(file, k, `duplicate key ${JSON.stringify(k)} in ${field} (character ${keyPos})`);
        }
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        obj.set(k, value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const arr: Json[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    if (c === 't') return lit('true', true);
    if (c === 'f') return lit('false', false);
    if (c === 'n') return lit('null', null);
    return num();
  };
  const v = value(0);
  ws();
  if (i < n) fail('unexpected data after the JSON value');
  return v;
}
