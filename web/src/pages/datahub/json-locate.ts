/**
 * Where each JSON pointer of a document sits in its text, so the playground can select the exact
 * spot a definition error points at. A small recursive-descent walk over already-valid JSON
 * (JSON.parse succeeded first), recording [start, end) offsets per pointer.
 */
export function locatePointers(text: string): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (ptr: string): void => {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') i++;
      else
        for (;;) {
          ws();
          const keyStart = i;
          const key = str();
          ws();
          i++; // :
          const child = `${ptr}/${esc(key)}`;
          value(child);
          // Point at the key too: errors about a property read best with its name selected.
          const span = out.get(child)!;
          out.set(child, [keyStart, span[1]]);
          ws();
          if (text[i++] === '}') break;
        }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') i++;
      else
        for (let n = 0; ; n++) {
          value(`${ptr}/${n}`);
          ws();
          if (text[i++] === ']') break;
        }
    } else if (c === '"') str();
    else while (i < text.length && /[^\s,\]}]/.test(text[i]!)) i++;
    out.set(ptr, [start, i]);
  };
  value('');
  return out;
}

/** The nearest located ancestor of a pointer (an error may point at a property that is missing). */
export function findSpan(spans: Map<string, [number, number]>, pointer: string): [number, number] | undefined {
  let p = pointer;
  for (;;) {
    const s = spans.get(p);
    if (s) return s;
    if (!p) return undefined;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

export function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}
