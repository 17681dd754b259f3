/**
 * The instrument definition engine: pure code with no I/O, shared by the server (validating
 * definitions and submissions), the web app (rendering, conditionals, measures) and third parties.
 * It runs unchanged in Node and in browsers.
 */
export type * from './instrument.types.js';
export { validateDefinition, isForm, isSeries, isValidDate, type ValidateDefinitionOptions } from './definition.validator.js';
export { validateSubmission, visibleFields, computeMeasures, measuresSoFar, checkAnswer, type SubmissionOptions } from './submission.validator.js';
export { validateRegistrationForm, validateRegistrationData, nestAnswers, checkDigitValid, type RegistrationDataResult, type RegistrationDataOptions } from './registration.validator.js';
export { localise } from './localise.js';
export { evaluate, checkExpression, truthy, ExpressionError, SUPPORTED_OPERATORS, type Shape } from './expression.engine.js';
export { compilePattern, matchesPattern, usePatternAccelerator, PatternError, type CompiledPattern, type PatternAccelerator } from './pattern.engine.js';
export { LIMITS } from './limits.js';
