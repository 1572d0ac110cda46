/**
 * A JSON Schema (draft-04) validator for the keywords the SARIF 2.1.0 schema uses: `$ref` to
 * `#/definitions/…`, `type`, `properties`, `additionalProperties` (boolean or schema),
 * `required`, `items`, `minItems`, `uniqueItems`, `enum`, `minimum`, `maximum`, `pattern`,
 * `anyOf`, `oneOf`, and `format` (`uri`, `uri-reference`, `date-time`). Anything else in a schema
 * is an error, so a keyword it does not know cannot pass silently.
 */

type Schema = Record<string, unknown>;

const annotations = new Set(['$schema', 'id', 'title', 'description', 'default', 'definitions']);
const known = new Set([
  ...annotations,
  '$ref',
  'type',
  'properties',
  'additionalProperties',
  'required',
  'items',
  'minItems',
  'uniqueItems',
  'enum',
  'minimum',
  'maximum',
  'pattern',
  'anyOf',
  'oneOf',
  'format',
]);

/** Every violation of `schema` by `value`, as `path: problem` lines (empty: valid). */
export function validateJson(value: unknown, schema: Schema): string[] {
  const errors: string[] = [];
  check(value, schema, schema, '$', errors);
  return errors;
}

function check(value: unknown, schema: Schema, root: Schema, at: string, errors: string[]): void {
  for (const keyword of Object.keys(schema))
    if (!known.has(keyword)) throw new Error(`json-schema: unsupported keyword ${keyword} at ${at}`);
  if (typeof schema.$ref === 'string') {
    check(value, resolveRef(schema.$ref, root), root, at, errors);
    return;
  }
  if (schema.type !== undefined && !hasType(value, schema.type as string)) {
    errors.push(`${at}: expected ${String(schema.type)}`);
    return;
  }
  if (schema.enum !== undefined && !(schema.enum as unknown[]).some((option) => deepEqual(option, value)))
    errors.push(`${at}: not one of ${JSON.stringify(schema.enum)}`);
  checkNumber(value, schema, at, errors);
  checkString(value, schema, at, errors);
  if (Array.isArray(value)) checkArray(value, schema, root, at, errors);
  else if (isObject(value)) checkObject(value, schema, root, at, errors);
  checkCombinators(value, schema, root, at, errors);
}

function resolveRef(ref: string, root: Schema): Schema {
  if (!ref.startsWith('#/definitions/')) throw new Error(`json-schema: unsupported $ref ${ref}`);
  const target = (root.definitions as Record<string, Schema> | undefined)?.[ref.slice('#/definitions/'.length)];
  if (target === undefined) throw new Error(`json-schema: no definition for ${ref}`);
  return target;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    default:
      throw new Error(`json-schema: unsupported type ${type}`);
  }
}

function checkNumber(value: unknown, schema: Schema, at: string, errors: string[]): void {
  if (typeof value !== 'number') return;
  if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
  if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${at}: above ${schema.maximum}`);
}

function checkString(value: unknown, schema: Schema, at: string, errors: string[]): void {
  if (typeof value !== 'string') return;
  if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value))
    errors.push(`${at}: does not match ${schema.pattern}`);
  if (schema.format === 'uri' && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) errors.push(`${at}: not an absolute URI`);
  if (schema.format === 'uri-reference' && /\s/.test(value)) errors.push(`${at}: not a URI reference`);
  if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) errors.push(`${at}: not a date-time`);
}

function checkArray(value: unknown[], schema: Schema, root: Schema, at: string, errors: string[]): void {
  if (typeof schema.minItems === 'number' && value.length < schema.minItems)
    errors.push(`${at}: fewer than ${schema.minItems} items`);
  if (schema.uniqueItems === true && value.some((item, index) => value.slice(0, index).some((o) => deepEqual(o, item))))
    errors.push(`${at}: items not unique`);
  const items = schema.items;
  if (isObject(items)) for (const [index, item] of value.entries()) check(item, items, root, `${at}[${index}]`, errors);
}

function checkObject(value: Record<string, unknown>, schema: Schema, root: Schema, at: string, errors: string[]): void {
  for (const name of (schema.required as string[] | undefined) ?? [])
    if (!(name in value)) errors.push(`${at}: missing required ${name}`);
  const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
  for (const [name, item] of Object.entries(value)) {
    const where = `${at}.${name}`;
    if (properties[name] !== undefined) check(item, properties[name], root, where, errors);
    else if (schema.additionalProperties === false) errors.push(`${where}: not allowed`);
    else if (isObject(schema.additionalProperties)) check(item, schema.additionalProperties, root, where, errors);
  }
}

function checkCombinators(value: unknown, schema: Schema, root: Schema, at: string, errors: string[]): void {
  const passing = (options: unknown) =>
    (options as Schema[]).filter((option) => {
      const inner: string[] = [];
      check(value, option, root, at, inner);
      return inner.length === 0;
    }).length;
  if (Array.isArray(schema.anyOf) && passing(schema.anyOf) === 0) errors.push(`${at}: matches none of anyOf`);
  if (Array.isArray(schema.oneOf) && passing(schema.oneOf) !== 1)
    errors.push(`${at}: does not match exactly one of oneOf`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
