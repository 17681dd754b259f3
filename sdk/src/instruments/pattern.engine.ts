/**
 * Text patterns for instrument fields. Patterns come from untrusted definitions, so they are
 * never handed to a backtracking engine: they are parsed into a small program and run as a
 * Thompson NFA (a set of states advanced one character at a time), which takes time linear in
 * the value's length times the program's size, whatever the pattern. Catastrophic backtracking
 * cannot happen because nothing backtracks.
 *
 * The syntax is a subset of JavaScript regular expressions (with the `u` flag): literals, `.`,
 * classes `[...]` with ranges and negation, `\d \D \w \W \s \S`, escapes of syntax characters,
 * `\t \n \r \f \v \0 \uXXXX \u{X}`, groups `( )` and `(?: )`, alternation, `* + ?`, `{n}`, `{n,}`,
 * `{n,m}` (lazy `?` accepted, meaningless for a yes/no match), and `^ $`. Refused: backreferences,
 * lookaround, named groups, `\b`, flags. A pattern matches the whole value, like HTML's `pattern`.
 *
 * As defence in depth for consumers that might feed a pattern to a native engine anyway (an
 * HTML `pattern` attribute, an export to another tool), definitions also refuse the shapes that
 * make backtracking engines blow up exponentially: a variable quantifier inside an unbounded
 * one (`(a+)+`) and alternation inside an unbounded quantifier (`(a|a)*`).
 */
import { LIMITS } from './limits.js';

type CharTest = (cp: number) => boolean;

/**
 * `variable`: can match different lengths; `unbounded`: contains * + or {n,}; `alt`: contains
 * alternation. These feed the lint below, not the matcher.
 */
type Flags = { variable: boolean; unbounded: boolean; alt: boolean };
type Node =
  | ({ t: 'char'; test: CharTest; literal?: number } & Flags)
  | ({ t: 'start' | 'end' } & Flags)
  | ({ t: 'seq'; items: Node[] } & Flags)
  | ({ t: 'alt'; options: Node[] } & Flags)
  | ({ t: 'repeat'; node: Node; min: number; max: number } & Flags);

const NO_FLAGS = { variable: false, unbounded: false, alt: false } as const;
const anyFlag = (nodes: Node[], k: keyof Flags) => nodes.some((n) => n[k]);

type Inst =
  | { op: 'char'; test: CharTest }
  | { op: 'split'; x: number; y: number }
  | { op: 'jmp'; x: number }
  | { op: 'start' }
  | { op: 'end' }
  | { op: 'match' };

export class PatternError extends Error {
  override readonly name = 'PatternError';
}

export interface CompiledPattern {
  readonly source: string;
  test(value: string): boolean;
}

const range = (lo: number, hi: number): CharTest => (c) => c >= lo && c <= hi;
const DIGIT: CharTest = range(0x30, 0x39);
const WORD: CharTest = (c) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || DIGIT(c) || c === 0x5f;
const SPACE_CHARS = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
]);
const SPACE: CharTest = (c) => SPACE_CHARS.has(c) || (c >= 0x2000 && c <= 0x200a);
const LINE_TERMINATOR: CharTest = (c) => c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
const not = (f: CharTest): CharTest => (c) => !f(c);
const SYNTAX = '^$\\.*+?()[]{}|/-';

class Parser {
  private pos = 0;
  private readonly cps: number[];
  constructor(private readonly src: string) {
    this.cps = Array.from(src, (ch) => ch.codePointAt(0)!);
  }

  parse(): Node {
    const node = this.alternation();
    if (this.pos < this.cps.length) this.fail(this.peekChar() === ')' ? 'unmatched ")"' : `unexpected "${this.peekChar()}"`);
    return node;
  }

  private fail(message: string): never {
    throw new PatternError(`${message} at position ${this.pos}`);
  }

  private peek(): number | undefined {
    return this.cps[this.pos];
  }

  private peekChar(): string {
    const c = this.peek();
    return c === undefined ? '' : String.fromCodePoint(c);
  }

  private eat(ch: string): boolean {
    if (this.peekChar() === ch) {
      this.pos += 1;
      return true;
    }
    return false;
  }

  private alternation(): Node {
    const options = [this.sequence()];
    while (this.eat('|')) options.push(this.sequence());
    if (options.length === 1) return options[0]!;
    return { t: 'alt', options, variable: anyFlag(options, 'variable'), unbounded: anyFlag(options, 'unbounded'), alt: true };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.pos < this.cps.length && this.peekChar() !== '|' && this.peekChar() !== ')') {
      items.push(this.quantified(this.atom()));
    }
    return { t: 'seq', items, variable: anyFlag(items, 'variable'), unbounded: anyFlag(items, 'unbounded'), alt: anyFlag(items, 'alt') };
  }

  private quantified(node: Node): Node {
    let min: number;
    let max: number;
    const c = this.peekChar();
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(this.src.slice(this.offsetOf(this.pos)));
      if (!m) this.fail('"{" must start a quantifier {n}, {n,} or {n,m} (escape it as \\{)');
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (max < min) this.fail('quantifier {n,m} needs n <= m');
      if (min > LIMITS.patternRepeat || (max !== Infinity && max > LIMITS.patternRepeat)) {
        this.fail(`quantifier bounds must be at most ${LIMITS.patternRepeat}`);
      }
      this.pos += m[0].length - 1;
    } else return node;
    this.pos += 1;
    this.eat('?');
    if (node.t === 'start' || node.t === 'end') this.fail('an anchor cannot be repeated');
    const after = this.peekChar();
    if (after !== '' && '*+?{'.includes(after)) this.fail('nothing to repeat');
    if (max === Infinity && node.variable && !separatedBody(node)) {
      this.fail('a repeated part inside an unbounded repetition (like (a+)+) can backtrack catastrophically');
    }
    if (max === Infinity && node.alt) {
      this.fail('alternation inside an unbounded repetition (like (a|b)*) can backtrack catastrophically; use a class like [ab]*');
    }
    // (.*a){12}: each of the 12 copies can split the input anew, n^12 for a backtracking engine.
    if (max !== Infinity && max > 2 && node.unbounded && !separatedBody(node)) {
      this.fail('an unbounded part repeated more than twice (like (.*a){3}) can backtrack for a very long time');
    }
    return { t: 'repeat', node, min, max, variable: min !== max || node.variable, unbounded: max === Infinity || node.unbounded, alt: node.alt };
  }

  /** Offset in UTF-16 units of a code point index, for slicing the source. */
  private offsetOf(cpIndex: number): number {
    let off = 0;
    for (let i = 0; i < cpIndex; i++) off += this.cps[i]! > 0xffff ? 2 : 1;
    return off;
  }

  private atom(): Node {
    const c = this.peekChar();
    this.pos += 1;
    switch (c) {
      case '.':
        return char(not(LINE_TERMINATOR));
      case '^':
        return { t: 'start', ...NO_FLAGS };
      case '$':
        return { t: 'end', ...NO_FLAGS };
      case '[':
        return char(this.classBody());
      case '\\': {
        const e = this.peekChar();
        if (e !== '' && 'dDwWsS'.includes(e)) return char(this.escape(false));
        if (e === '') this.fail('pattern ends with a backslash');
        this.pos += 1;
        return literal(this.escapedCodePoint(e, false));
      }
      case '(': {
        if (this.eat('?')) {
          if (!this.eat(':')) this.fail('only non-capturing groups "(?:" are supported; lookaround and named groups are not');
        }
        const inner = this.alternation();
        if (!this.eat(')')) this.fail('missing ")"');
        return inner;
      }
      case ')':
        this.pos -= 1;
        return this.fail('unmatched ")"');
      case '*':
      case '+':
      case '?':
      case '{':
        this.pos -= 1;
        return this.fail('nothing to repeat');
      case ']':
      case '}':
        this.pos -= 1;
        return this.fail(`lone "${c}" (escape it)`);
      default: {
        return literal(c.codePointAt(0)!);
      }
    }
  }

  /** After a backslash. In a class, returns a test; class escapes also return tests. */
  private escape(inClass: boolean): CharTest {
    const c = this.peekChar();
    if (c === '') this.fail('pattern ends with a backslash');
    this.pos += 1;
    switch (c) {
      case 'd':
        return DIGIT;
      case 'D':
        return not(DIGIT);
      case 'w':
        return WORD;
      case 'W':
        return not(WORD);
      case 's':
        return SPACE;
      case 'S':
        return not(SPACE);
      default: {
        const cp = this.escapedCodePoint(c, inClass);
        return (x) => x === cp;
      }
    }
  }

  private escapedCodePoint(c: string, inClass: boolean): number {
    switch (c) {
      case 't':
        return 0x09;
      case 'n':
        return 0x0a;
      case 'r':
        return 0x0d;
      case 'f':
        return 0x0c;
      case 'v':
        return 0x0b;
      case '0':
        if (DIGIT(this.peek() ?? -1)) this.fail('octal escapes are not supported');
        return 0;
      case 'u': {
        const rest = this.src.slice(this.offsetOf(this.pos));
        const m = /^(?:([0-9a-fA-F]{4})|\{([0-9a-fA-F]{1,6})\})/.exec(rest);
        if (!m) this.fail('\\u needs four hex digits or \\u{...}');
        const cp = parseInt(m[1] ?? m[2]!, 16);
        if (cp > 0x10ffff) this.fail('code point out of range');
        this.pos += m[0].length;
        return cp;
      }
      default:
        if (SYNTAX.includes(c)) return c.codePointAt(0)!;
        if (c === 'b' && inClass) return 0x08;
        if (/[1-9]/.test(c)) this.fail('backreferences are not supported');
        if (c === 'b' || c === 'B') this.fail('word boundaries \\b \\B are not supported');
        this.fail(`unknown escape "\\${c}"`);
    }
  }

  private classBody(): CharTest {
    const negate = this.eat('^');
    const tests: CharTest[] = [];
    let first = true;
    while (true) {
      const c = this.peekChar();
      if (c === '') this.fail('missing "]"');
      if (c === ']' && !first) break;
      if (c === ']') this.fail('empty class "[]" matches nothing');
      first = false;
      const lo = this.classAtom();
      if (this.peekChar() === '-' && this.cps[this.pos + 1] !== undefined && this.cps[this.pos + 1] !== 0x5d) {
        this.pos += 1;
        const hi = this.classAtom();
        if (typeof lo !== 'number' || typeof hi !== 'number') this.fail('a class range needs single characters on both sides');
        if (hi < lo) this.fail('class range out of order');
        tests.push(range(lo, hi));
      } else {
        tests.push(typeof lo === 'number' ? (x) => x === lo : lo);
      }
    }
    this.pos += 1;
    const anyOf: CharTest = (x) => tests.some((t) => t(x));
    return negate ? not(anyOf) : anyOf;
  }

  /** A code point, or a test for class escapes such as \d. */
  private classAtom(): number | CharTest {
    const c = this.peekChar();
    this.pos += 1;
    if (c !== '\\') return c.codePointAt(0)!;
    const e = this.peekChar();
    if ('dDwWsS'.includes(e) && e !== '') return this.escape(true);
    this.pos += 1;
    return this.escapedCodePoint(e, true);
  }
}

/**
 * The one nesting we allow under an unbounded repetition: a body that starts with a literal
 * separator no other part of the body accepts, with a single variable part, like `( [a-z]+)*`.
 * Iterations then begin exactly at the separators and each splits one way only, so even a
 * backtracking engine has nothing to try twice.
 */
function separatedBody(node: Node): boolean {
  if (node.t !== 'seq' || node.items.length < 2) return false;
  const first = node.items[0]!;
  if (first.t !== 'char' || first.literal === undefined) return false;
  const sep = first.literal;
  let variableParts = 0;
  for (const item of node.items.slice(1)) {
    if (item.t === 'char') {
      if (item.test(sep)) return false;
    } else if (item.t === 'repeat' && item.node.t === 'char') {
      if (item.node.test(sep)) return false;
      if (item.min !== item.max) variableParts += 1;
    } else return false;
  }
  return variableParts === 1;
}

function literal(cp: number): Node {
  return { t: 'char', test: (x) => x === cp, literal: cp, ...NO_FLAGS };
}

function char(test: CharTest): Node {
  return { t: 'char', test, ...NO_FLAGS };
}

function compile(node: Node): Inst[] {
  const prog: Inst[] = [];
  const emit = (i: Inst): number => {
    prog.push(i);
    if (prog.length > LIMITS.patternProgram) throw new PatternError(`pattern expands to more than ${LIMITS.patternProgram} steps`);
    return prog.length - 1;
  };
  const gen = (n: Node): void => {
    switch (n.t) {
      case 'char':
        emit({ op: 'char', test: n.test });
        return;
      case 'start':
      case 'end':
        emit({ op: n.t });
        return;
      case 'seq':
        n.items.forEach(gen);
        return;
      case 'alt': {
        const jumps: number[] = [];
        n.options.forEach((opt, i) => {
          if (i < n.options.length - 1) {
            const split = emit({ op: 'split', x: 0, y: 0 });
            (prog[split] as { x: number }).x = prog.length;
            gen(opt);
            jumps.push(emit({ op: 'jmp', x: 0 }));
            (prog[split] as { y: number }).y = prog.length;
          } else gen(opt);
        });
        for (const j of jumps) (prog[j] as { x: number }).x = prog.length;
        return;
      }
      case 'repeat': {
        for (let i = 0; i < n.min; i++) gen(n.node);
        if (n.max === Infinity) {
          const split = emit({ op: 'split', x: prog.length + 1, y: 0 });
          gen(n.node);
          emit({ op: 'jmp', x: split });
          (prog[split] as { y: number }).y = prog.length;
        } else {
          const splits: number[] = [];
          for (let i = n.min; i < n.max; i++) {
            splits.push(emit({ op: 'split', x: prog.length + 1, y: 0 }));
            gen(n.node);
          }
          for (const s of splits) (prog[s] as { y: number }).y = prog.length;
        }
        return;
      }
    }
  };
  gen(node);
  emit({ op: 'match' });
  return prog;
}

function run(prog: Inst[], input: string): boolean {
  const cps = Array.from(input, (ch) => ch.codePointAt(0)!);
  const n = cps.length;
  // `mark[pc] === gen` means pc is already in the current list: each state is added once per step.
  const mark = new Int32Array(prog.length).fill(-1);
  let gen = 0;
  let current: number[] = [];
  let next: number[] = [];

  const add = (list: number[], start: number, pos: number): void => {
    const stack = [start];
    while (stack.length > 0) {
      const pc = stack.pop()!;
      if (mark[pc] === gen) continue;
      mark[pc] = gen;
      const inst = prog[pc]!;
      switch (inst.op) {
        case 'jmp':
          stack.push(inst.x);
          break;
        case 'split':
          stack.push(inst.y, inst.x);
          break;
        case 'start':
          if (pos === 0) stack.push(pc + 1);
          break;
        case 'end':
          if (pos === n) stack.push(pc + 1);
          break;
        default:
          list.push(pc);
      }
    }
  };

  add(current, 0, 0);
  for (let pos = 0; pos < n; pos++) {
    if (current.length === 0) return false;
    gen += 1;
    next = [];
    const cp = cps[pos]!;
    for (const pc of current) {
      const inst = prog[pc]!;
      if (inst.op === 'char' && inst.test(cp)) add(next, pc + 1, pos + 1);
    }
    [current, next] = [next, current];
  }
  return current.some((pc) => prog[pc]!.op === 'match');
}

/** Parses and compiles a pattern; throws PatternError with a readable message if refused. */
export function compilePattern(source: string): CompiledPattern {
  if (source.length > LIMITS.patternLength) throw new PatternError(`pattern is longer than ${LIMITS.patternLength} characters`);
  const prog = compile(new Parser(source).parse());
  return { source, test: (value: string) => run(prog, value) };
}

const cache = new Map<string, CompiledPattern>();

/**
 * A whole-value matcher for an accepted pattern, or undefined to keep this engine's. The engine
 * above is linear but interpreted, about 10 µs per character on a large pattern; a host with an
 * RE2-class engine (the server has re2js) plugs it in here so that a large answer costs
 * microseconds. Which patterns are accepted stays decided by compilePattern, in the browser and
 * on the server alike.
 */
export type PatternAccelerator = (source: string) => ((value: string) => boolean) | undefined;
let accelerator: PatternAccelerator | undefined;

export function usePatternAccelerator(a: PatternAccelerator | undefined): void {
  accelerator = a;
  cache.clear();
}

/** Whole-value match with a linear-time engine; compiled patterns are cached. */
export function matchesPattern(source: string, value: string): boolean {
  let compiled = cache.get(source);
  if (!compiled) {
    compiled = compilePattern(source);
    const fast = accelerator?.(source);
    if (fast) compiled = { source, test: fast };
    if (cache.size > 500) cache.clear();
    cache.set(source, compiled);
  }
  return compiled.test(value);
}
