import { describe, expect, it } from 'vitest';
import { ExpressionError, VALUE, checkExpression, evaluate, type Shape } from './expression.engine.js';
import type { DefinitionError, Expression } from './instrument.types.js';
import { LIMITS } from './limits.js';

const scope: Shape = {
  type: 'record',
  fields: {
    age: VALUE,
    smoker: VALUE,
    grid: { type: 'record', fields: { a: VALUE, b: VALUE } },
    kids: { type: 'list', element: { type: 'record', fields: { name: VALUE, age: VALUE } } },
    langs: { type: 'list', element: VALUE },
  },
};

function errorsOf(expr: unknown, s: Shape = scope): DefinitionError[] {
  const errors: DefinitionError[] = [];
  checkExpression(expr, s, '/x', errors);
  return errors;
}

describe('evaluate', () => {
  const data = { age: 42, name: 'Ana', grid: { a: 1, b: 3 }, kids: [{ name: 'Zoé', age: 3 }, { name: 'Lou', age: 9 }], langs: ['en', 'fr'] };

  it('reads variables by dotted path, with defaults for missing values', () => {
    expect(evaluate({ var: 'age' }, data)).toBe(42);
    expect(evaluate({ var: 'grid.b' }, data)).toBe(3);
    expect(evaluate({ var: 'kids.1.name' }, data)).toBe('Lou');
    expect(evaluate({ var: 'missing' }, data)).toBeNull();
    expect(evaluate({ var: ['missing', 7] }, data)).toBe(7);
    expect(evaluate({ var: 'age.more' }, data)).toBeNull();
    expect(evaluate({ var: '' }, 5)).toBe(5);
  });

  it('only reads own properties, never the prototype chain', () => {
    expect(evaluate({ var: 'constructor' }, {})).toBeNull();
    expect(evaluate({ var: 'toString' }, { a: 1 })).toBeNull();
    expect(evaluate({ var: 'kids.length' }, data)).toBeNull();
    expect(evaluate({ var: 'constructor' }, { constructor: 3 })).toBe(3);
  });

  it('implements logic and comparison with JSON Logic semantics', () => {
    expect(evaluate({ if: [{ '>': [{ var: 'age' }, 40] }, 'old', 'young'] }, data)).toBe('old');
    expect(evaluate({ if: [false, 1, false, 2, 3] }, {})).toBe(3);
    expect(evaluate({ if: [false, 1] }, {})).toBeNull();
    expect(evaluate({ '?:': [true, 'a', 'b'] }, {})).toBe('a');
    expect(evaluate({ or: [0, '', 'x'] }, {})).toBe('x');
    expect(evaluate({ and: [1, 0, 2] }, {})).toBe(0);
    expect(evaluate({ '!': [[]] }, {})).toBe(true);
    expect(evaluate({ '!!': [[0]] }, {})).toBe(true);
    expect(evaluate({ '==': [1, '1'] }, {})).toBe(true);
    expect(evaluate({ '===': [1, '1'] }, {})).toBe(false);
    expect(evaluate({ '!=': [null, 0] }, {})).toBe(true);
    expect(evaluate({ '!==': [2, 2] }, {})).toBe(false);
    expect(evaluate({ '<': [1, 2, 3] }, {})).toBe(true);
    expect(evaluate({ '<': [1, 3, 3] }, {})).toBe(false);
    expect(evaluate({ '<=': [1, 3, 3] }, {})).toBe(true);
    expect(evaluate({ '>=': ['2024-01-02', '2024-01-01'] }, {})).toBe(true);
  });

  it('compares objects by identity instead of coercing them', () => {
    // A hostile answer could shadow toString with data; coercion would throw a TypeError.
    expect(evaluate({ '==': [{ var: 'o' }, 'x'] }, { o: { toString: 1 } })).toBe(false);
    expect(evaluate({ cat: ['a', 1, true, null] }, {})).toBe('a1true');
    expect(() => evaluate({ cat: [{ var: 'o' }] }, { o: { toString: 1 } })).toThrow(ExpressionError);
  });

  it('refuses to compare mixed types rather than coercing', () => {
    expect(evaluate({ '<': ['1', 2] }, {})).toBe(false);
    expect(evaluate({ '>': [null, -1] }, {})).toBe(false);
  });

  it('does arithmetic on numbers only: missing answers give null, not 0', () => {
    expect(evaluate({ '+': [{ var: 'grid.a' }, { var: 'grid.b' }] }, data)).toBe(4);
    expect(evaluate({ '+': [{ var: 'grid.a' }, { var: 'grid.c' }] }, data)).toBeNull();
    expect(evaluate({ '-': [5] }, {})).toBe(-5);
    expect(evaluate({ '-': [5, 7] }, {})).toBe(-2);
    expect(evaluate({ '*': [2, 3, 4] }, {})).toBe(24);
    expect(evaluate({ '/': [1, 4] }, {})).toBe(0.25);
    expect(evaluate({ '/': [1, 0] }, {})).toBeNull();
    expect(evaluate({ '%': [7, 4] }, {})).toBe(3);
    expect(evaluate({ '%': [7, 0] }, {})).toBeNull();
    expect(evaluate({ max: [1, 9, 3] }, {})).toBe(9);
    expect(evaluate({ min: [1, 9, 3] }, {})).toBe(1);
    expect(evaluate({ min: [1, 'x'] }, {})).toBeNull();
    expect(evaluate({ '*': [1e308, 10] }, {})).toBeNull();
    expect(evaluate({ '+': ['1', 2] }, {})).toBeNull();
    expect(Object.is(evaluate({ '*': [-1, 0] }, {}), 0)).toBe(true);
  });

  it('handles strings and arrays', () => {
    expect(evaluate({ in: ['fr', { var: 'langs' }] }, data)).toBe(true);
    expect(evaluate({ in: ['de', { var: 'langs' }] }, data)).toBe(false);
    expect(evaluate({ in: ['na', 'Ana'] }, {})).toBe(true);
    expect(evaluate({ in: ['x', null] }, {})).toBe(false);
    expect(evaluate({ substr: ['Cairn', 1, 3] }, {})).toBe('air');
    expect(evaluate({ substr: ['Cairn', -2] }, {})).toBe('rn');
    expect(evaluate({ substr: ['Cairn', 0, -1] }, {})).toBe('Cair');
    expect(evaluate({ merge: [[1, 2], 3, [[4]]] }, {})).toEqual([1, 2, 3, [4]]);
  });

  it('iterates with element scopes, like JSON Logic', () => {
    expect(evaluate({ map: [{ var: 'kids' }, { var: 'age' }] }, data)).toEqual([3, 9]);
    expect(evaluate({ filter: [{ var: 'kids' }, { '>': [{ var: 'age' }, 5] }] }, data)).toEqual([{ name: 'Lou', age: 9 }]);
    expect(evaluate({ all: [{ var: 'kids' }, { '>': [{ var: 'age' }, 1] }] }, data)).toBe(true);
    expect(evaluate({ all: [[], true] }, {})).toBe(false);
    expect(evaluate({ some: [{ var: 'kids' }, { '>': [{ var: 'age' }, 8] }] }, data)).toBe(true);
    expect(evaluate({ none: [{ var: 'kids' }, { '>': [{ var: 'age' }, 8] }] }, data)).toBe(false);
    expect(evaluate({ reduce: [{ var: 'kids' }, { '+': [{ var: 'accumulator' }, { var: 'current.age' }] }, 0] }, data)).toBe(12);
    expect(evaluate({ reduce: [{ var: 'nothing' }, 1, 'init'] }, data)).toBe('init');
    expect(evaluate({ map: [{ var: 'nothing' }, 1] }, data)).toEqual([]);
  });

  it('treats a lone argument as a one-element list', () => {
    expect(evaluate({ '!': true }, {})).toBe(false);
    expect(evaluate({ var: 'age' }, data)).toBe(42);
  });

  it('refuses unknown operators even when validation was skipped', () => {
    expect(() => evaluate({ eval: ['1+1'] } as never, {})).toThrow(ExpressionError);
    expect(() => evaluate({ log: ['x'] } as never, {})).toThrow(/unknown operator/);
    expect(() => evaluate({ a: 1, b: 2 } as never, {})).toThrow(ExpressionError);
  });

  it('stops runaway evaluation with a step budget', () => {
    const list = Array.from({ length: 1000 }, (_, i) => i);
    // 1000 x 1000 x 1000 element visits if it were allowed to run.
    const expr: Expression = { map: [{ var: 'l' }, { map: [[...list], { map: [[...list], 1] }] }] };
    expect(() => evaluate(expr, { l: list })).toThrow(/steps/);
  });

  it('stops strings and arrays that double on every step', () => {
    const list = Array.from({ length: 100 }, (_, i) => i);
    const doubleString: Expression = { reduce: [{ var: 'l' }, { cat: [{ var: 'accumulator' }, { var: 'accumulator' }] }, 'ab'] };
    expect(() => evaluate(doubleString, { l: list })).toThrow(/too long/);
    const doubleArray: Expression = { reduce: [{ var: 'l' }, { merge: [{ var: 'accumulator' }, { var: 'accumulator' }] }, [1]] };
    expect(() => evaluate(doubleArray, { l: list })).toThrow(/too long/);
  });

  it('refuses nesting deeper than the limit even without validation', () => {
    let expr: unknown = 1;
    for (let i = 0; i < 200; i++) expr = { '!': [expr] };
    expect(() => evaluate(expr as never, {})).toThrow(/nested too deeply/);
  });
});

describe('checkExpression', () => {
  it('accepts known operators over known variables', () => {
    expect(errorsOf({ and: [{ '>': [{ var: 'age' }, 18] }, { '==': [{ var: 'grid.a' }, 1] }] })).toEqual([]);
    expect(errorsOf({ in: ['fr', { var: 'langs' }] })).toEqual([]);
    expect(errorsOf({ var: ['kids.0.name', 'none'] })).toEqual([]);
    expect(errorsOf([1, 'two', null, true, { var: 'age' }])).toEqual([]);
  });

  it('points at unknown operators', () => {
    expect(errorsOf({ and: [true, { eval: ['x'] }] })).toEqual([{ pointer: '/x/and/1/eval', message: 'unknown operator "eval"' }]);
    expect(errorsOf({ log: 'x' })[0]!.pointer).toBe('/x/log');
    expect(errorsOf({ constructor: [1] })[0]!.message).toMatch(/unknown operator/);
    expect(errorsOf(JSON.parse('{"__proto__": [1]}'))).toEqual([{ pointer: '/x/__proto__', message: 'unknown operator "__proto__"' }]);
  });

  it('points at unknown variables', () => {
    expect(errorsOf({ '==': [{ var: 'agee' }, 1] })).toEqual([{ pointer: '/x/==/0/var', message: 'unknown variable "agee"' }]);
    expect(errorsOf({ var: 'grid.z' })[0]!.message).toMatch(/unknown variable "grid.z"/);
    expect(errorsOf({ var: 'age.x' })[0]!.message).toMatch(/inside a single value/);
    expect(errorsOf({ var: 'kids.x.name' })[0]!.message).toMatch(/not a list index/);
    expect(errorsOf({ var: 'toString' })[0]!.message).toMatch(/unknown variable/);
  });

  it('refuses computed variable paths, which could not be checked', () => {
    expect(errorsOf({ var: { cat: ['a', 'ge'] } })[0]).toEqual({ pointer: '/x/var', message: 'a variable path must be a literal string' });
    expect(errorsOf({ var: [1] })[0]!.pointer).toBe('/x/var/0');
  });

  it('checks the number of arguments', () => {
    expect(errorsOf({ '==': [1] })[0]!.message).toBe('"==" takes 2 arguments, got 1');
    expect(errorsOf({ '!': [1, 2] })[0]!.message).toBe('"!" takes 1 argument, got 2');
    expect(errorsOf({ substr: ['a'] })[0]!.message).toBe('"substr" takes 2 to 3 arguments, got 1');
  });

  it('refuses objects that are not a single operator', () => {
    expect(errorsOf({})[0]!.message).toMatch(/exactly one key/);
    expect(errorsOf({ var: 'age', '+': [1] })[0]!.message).toMatch(/exactly one key/);
  });

  it('gives iterating operators the element as scope', () => {
    expect(errorsOf({ some: [{ var: 'kids' }, { '>': [{ var: 'age' }, 5] }] })).toEqual([]);
    expect(errorsOf({ some: [{ var: 'kids' }, { var: 'smoker' }] })[0]!.pointer).toBe('/x/some/1/var');
    expect(errorsOf({ some: [{ var: 'langs' }, { '==': [{ var: '' }, 'fr'] }] })).toEqual([]);
    expect(errorsOf({ map: [{ filter: [{ var: 'kids' }, { var: 'age' }] }, { var: 'name' }] })).toEqual([]);
    expect(errorsOf({ reduce: [{ var: 'kids' }, { '+': [{ var: 'accumulator' }, { var: 'current.age' }] }, 0] })).toEqual([]);
    expect(errorsOf({ reduce: [{ var: 'kids' }, { var: 'current.height' }, 0] })[0]!.message).toMatch(/current.height/);
    // The initial value is outside the iteration, so it sees the outer scope.
    expect(errorsOf({ reduce: [{ var: 'kids' }, { var: 'accumulator' }, { var: 'age' }] })).toEqual([]);
  });

  it('limits depth and size', () => {
    let deep: unknown = { var: 'age' };
    for (let i = 0; i < LIMITS.expressionDepth + 5; i++) deep = { '!': [deep] };
    expect(errorsOf(deep).some((e) => /nested more than/.test(e.message))).toBe(true);
    const wide = { '+': Array.from({ length: 99 }, () => ({ '+': Array.from({ length: 10 }, () => ({ var: 'age' })) })) };
    expect(errorsOf(wide).some((e) => /more than 500 operations/.test(e.message))).toBe(true);
  });

  it('refuses non-finite numbers and non-JSON values', () => {
    expect(errorsOf(Infinity)[0]!.message).toMatch(/finite/);
    expect(errorsOf({ '+': [new Date(), 1] })[0]!.message).toMatch(/not a JSON value/);
  });
});
